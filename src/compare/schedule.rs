//! The pair scheduler of [`Dsa`]'s many-pair calls: operators prepared once, pairs compared in
//! parallel with results in order, progress and cancellation.

use faer::MatRef;
use rayon::prelude::*;

use super::Dsa;
use crate::error::Result;
use crate::similarity::Score;
use crate::solver::PreparedOperator;

/// Memory for the Gauss–Newton preconditioners that [`Dsa::pairwise`], [`Dsa::bipartite`] and
/// [`Dsa::one_to_many`] keep between pairs (all operators of a call together; about `n^4`
/// bytes each at size `n`); beyond it, each pair forms its own.
const PRECONDITIONER_CACHE_BYTES: usize = 1 << 30;

impl Dsa {
    /// Every operator of `ops` prepared for Procrustes comparisons (`None` for the spectral
    /// score, or where preparing fails: that pair then takes the unprepared path, which
    /// reports the error); `cache`: keep their Gauss–Newton preconditioners.
    fn prepare_all(&self, ops: &[MatRef<'_, f64>], cache: bool) -> Vec<Option<PreparedOperator>> {
        if self.score == Score::Wasserstein {
            return ops.iter().map(|_| None).collect();
        }
        ops.par_iter()
            .map(|a| {
                PreparedOperator::new(*a)
                    .ok()
                    .map(|p| p.cache_preconditioner(cache))
            })
            .collect()
    }

    /// Whether the preconditioners of all of `ops` fit in [`PRECONDITIONER_CACHE_BYTES`].
    fn fits_cache<'a>(ops: impl Iterator<Item = &'a MatRef<'a, f64>>) -> bool {
        let bytes = ops.fold(0usize, |acc, a| {
            let m = a.nrows().saturating_mul(a.nrows().saturating_sub(1)) / 2;
            acc.saturating_add(m.saturating_mul(m).saturating_mul(4))
        });
        bytes <= PRECONDITIONER_CACHE_BYTES
    }

    /// Compare `a[i]` with `b[j]` for every `(i, j)` of `pairs`, in parallel, results in order.
    /// `shared`: `a` and `b` are the same list (pairwise), prepared once.
    ///
    /// Every pair call of [`Dsa`] on more than one pair comes here: sizes are checked first
    /// (in pair order), each operator is prepared once, each pair is scored by
    /// [`Dsa::score_pair`], the progress callback is called after each pair, and a
    /// cancellation returns [`DsaError::Cancelled`], never a partial result.
    pub(super) fn run_pairs(
        &self,
        pairs: &[(usize, usize)],
        a: &[MatRef<'_, f64>],
        b: &[MatRef<'_, f64>],
        shared: bool,
    ) -> Result<Vec<f64>> {
        self.check_sizes(pairs, a, b)?;
        // one budget for the preconditioners of both lists
        let cache = if shared {
            Self::fits_cache(a.iter())
        } else {
            Self::fits_cache(a.iter().chain(b.iter()))
        };
        let (prepared_a, prepared_b) = self.install(|| {
            let pa = self.prepare_all(a, cache);
            let pb = if shared {
                Vec::new()
            } else {
                self.prepare_all(b, cache)
            };
            (pa, pb)
        });
        let prepared_b = if shared { &prepared_a } else { &prepared_b };
        let procrustes = self.procrustes();
        let score = |i: usize, j: usize| -> Result<f64> {
            let prepared = match (&prepared_a[i], &prepared_b[j]) {
                (Some(x), Some(y)) => Some((x, y)),
                _ => None,
            };
            self.score_pair(&procrustes, a[i], b[j], prepared)
                .map(|s| s.value)
        };
        self.install(|| {
            crate::parallel::run_jobs(
                pairs.len(),
                self.progress.as_ref(),
                |k| pairs[k],
                |k| score(pairs[k].0, pairs[k].1),
            )
        })
    }
}
