//! The one parallel loop behind every many-job call (the pairs of [`crate::Dsa`] and
//! [`crate::InputDsa`], the resamples of [`crate::stats`]): jobs in parallel, results in job
//! order, the progress callback after each job, and cancellation.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use rayon::prelude::*;

use crate::compare::Progress;
use crate::error::{DsaError, Result};

/// The progress callback: called from worker threads after each job; return
/// [`ControlFlow::Break`] to cancel.
pub(crate) type ProgressFn = Arc<dyn Fn(Progress) -> ControlFlow<()> + Send + Sync>;

/// Run jobs `0..total` in parallel (on the caller's pool), results in job order. After each
/// job the callback (if any) gets `Progress { done, total, pair: pair(job) }`; a
/// [`ControlFlow::Break`] skips the jobs not yet started and returns
/// [`DsaError::Cancelled`], never a partial result. The error of a failing job is returned,
/// the first in job order (jobs after a failed one may be skipped).
pub(crate) fn run_jobs<T: Send>(
    total: usize,
    progress: Option<&ProgressFn>,
    pair: impl Fn(usize) -> (usize, usize) + Sync,
    job: impl Fn(usize) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let done = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let cancelled_at = AtomicUsize::new(usize::MAX);
    let first_error = AtomicUsize::new(usize::MAX);
    let results: Vec<Option<Result<T>>> = (0..total)
        .into_par_iter()
        .map(|k| {
            if stop.load(Ordering::Acquire) || k > first_error.load(Ordering::Acquire) {
                return None;
            }
            let r = job(k);
            if r.is_err() {
                first_error.fetch_min(k, Ordering::AcqRel);
            }
            let d = done.fetch_add(1, Ordering::AcqRel) + 1;
            if let Some(cb) = progress {
                if !stop.load(Ordering::Acquire)
                    && cb(Progress {
                        done: d,
                        total,
                        pair: pair(k),
                    }) == ControlFlow::Break(())
                {
                    cancelled_at.fetch_min(d, Ordering::AcqRel);
                    stop.store(true, Ordering::Release);
                }
            }
            Some(r)
        })
        .collect();
    let at = cancelled_at.load(Ordering::Acquire);
    if at != usize::MAX {
        return Err(DsaError::Cancelled { done: at, total });
    }
    let mut out = Vec::with_capacity(total);
    for r in results {
        match r {
            Some(Ok(v)) => out.push(v),
            Some(Err(e)) => return Err(e),
            // skipped: only after an error at a smaller index, returned above in order
            None => break,
        }
    }
    if out.len() == total {
        Ok(out)
    } else {
        Err(DsaError::Cancelled {
            done: out.len(),
            total,
        })
    }
}
