//! Long calls without the interpreter lock, with Ctrl-C and progress.
//!
//! The computation runs on a scoped thread (and from there on rayon); the calling thread waits
//! for it without the interpreter lock and, every [`POLL`], takes the lock briefly to run
//! pending signal handlers and report progress. The waiting is done on the calling thread
//! because CPython runs signal handlers only on the main thread: `PyErr_CheckSignals` from a
//! rayon worker would never see a Ctrl-C.
//!
//! A `KeyboardInterrupt` (or an exception from the progress callable) sets the cancel flag that
//! the crate's progress callback returns as `ControlFlow::Break`; the crate then skips the
//! remaining pairs and returns `DsaError::Cancelled`, and the call raises the interrupt, never a
//! partial result. Cancellation is seen after the pair each worker is on: within a second for
//! operators of size 30.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use dsa::DsaBuilder;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::errors::to_py;

/// How often the waiting thread checks for signals and reports progress.
const POLL: Duration = Duration::from_millis(100);

/// Shared between the crate's progress callback (on worker threads) and the waiting thread.
#[derive(Default)]
pub(crate) struct Watch {
    cancel: AtomicBool,
    done: AtomicUsize,
    total: AtomicUsize,
}

impl Watch {
    /// `builder` with a progress callback that records progress and returns `Break` once the
    /// call is cancelled.
    pub(crate) fn hook(self: &Arc<Self>, builder: DsaBuilder) -> DsaBuilder {
        let w = Arc::clone(self);
        builder.progress(move |p| {
            w.total.store(p.total, Ordering::Relaxed);
            w.done.fetch_max(p.done, Ordering::Relaxed);
            if w.cancel.load(Ordering::Acquire) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
    }

    /// Reports progress to `callback` if it moved since `*reported`; `Ok(false)` when the
    /// callback returned `False` (cancel).
    fn report(
        &self,
        py: Python<'_>,
        callback: Option<&Py<PyAny>>,
        reported: &mut usize,
    ) -> PyResult<bool> {
        let Some(cb) = callback else {
            return Ok(true);
        };
        let done = self.done.load(Ordering::Relaxed);
        if done == *reported {
            return Ok(true);
        }
        *reported = done;
        let total = self.total.load(Ordering::Relaxed);
        let answer = cb.call1(py, (done, total))?;
        let answer = answer.bind(py);
        // `None` (no answer) continues; `False` cancels
        Ok(answer.is_none() || answer.is_truthy()?)
    }
}

/// Runs `job` without the interpreter lock while the calling thread handles signals and
/// progress (see the module docs). `watch` must be the one hooked into the job's `Dsa`.
pub(crate) fn run<T: Send>(
    py: Python<'_>,
    watch: &Arc<Watch>,
    callback: Option<Py<PyAny>>,
    job: impl FnOnce() -> dsa::Result<T> + Send,
) -> PyResult<T> {
    let mut reported = 0usize;
    let (outcome, interrupt) = py.detach(|| {
        std::thread::scope(|s| {
            let (tx, rx) = mpsc::channel::<()>();
            let worker = s.spawn(move || {
                let out = job();
                // the receiver outlives the worker (it is joined below)
                let _ = tx.send(());
                out
            });
            let mut interrupt: Option<PyErr> = None;
            // until the job reports (or its thread ends): `Ok` or `Disconnected`
            while let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(POLL) {
                if interrupt.is_some() || watch.cancel.load(Ordering::Acquire) {
                    continue; // cancelled: wait for the job to notice
                }
                let polled = Python::attach(|py| -> PyResult<bool> {
                    py.check_signals()?;
                    watch.report(py, callback.as_ref(), &mut reported)
                });
                match polled {
                    Ok(true) => {}
                    Ok(false) => watch.cancel.store(true, Ordering::Release),
                    Err(e) => {
                        watch.cancel.store(true, Ordering::Release);
                        interrupt = Some(e);
                    }
                }
            }
            (worker.join(), interrupt)
        })
    });
    if let Some(e) = interrupt {
        return Err(e);
    }
    let value = outcome
        .map_err(|_| {
            PyRuntimeError::new_err(
                "dsa_rs: internal error (a panic in the computation); please report it",
            )
        })?
        .map_err(to_py)?;
    // the last report (a short call may finish before the first poll)
    watch.report(py, callback.as_ref(), &mut reported)?;
    Ok(value)
}
