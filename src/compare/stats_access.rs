//! What [`crate::stats`] needs from a [`Dsa`]: its seed, its DMD settings, its pool, its
//! comparison and its progress callback. Accessors only; the pipeline itself is unchanged.

use faer::MatRef;

use super::builder::ProgressFn;
use super::per_dataset::Layout;
use super::Dsa;
use crate::data::Dataset;
use crate::error::{DsaError, Result};
use crate::operator::DmdValidParams;

impl Dsa {
    /// The seed set with [`DsaBuilder::seed`](crate::DsaBuilder::seed), 0 if unset (also with a
    /// custom solver). It seeds the default solver's random starts and the resampling of
    /// [`crate::stats`].
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// assert_eq!(dsa::Dsa::builder().seed(7).build()?.seed(), 7);
    /// assert_eq!(dsa::Dsa::default().seed(), 0);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The DMD parameters of `x` and `y` exactly as [`Dsa::distance`] resolves them (the
    /// automatic `n_delays` from each dataset's shortest trial; per-side and per-dataset
    /// values as for a pair).
    pub(crate) fn pair_params(&self, x: &Dataset, y: &Dataset) -> Result<[DmdValidParams; 2]> {
        let params = self.dmd.resolve(Layout::two_sided(1, 1), &[x, y])?;
        params
            .try_into()
            .map_err(|p: Vec<DmdValidParams>| DsaError::ShapeMismatch {
                what: format!("expected two parameter sets, got {}", p.len()),
            })
    }

    /// Run `f` on this `Dsa`'s pool (its dedicated pool, or the caller's).
    pub(crate) fn run_in_pool<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.install(f)
    }

    /// The distance between two fitted operators, exactly as [`Dsa::compare`] computes it once
    /// both models are fitted: the size check, then this `Dsa`'s score, solver and size policy.
    pub(crate) fn operator_value(&self, a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Result<f64> {
        self.check_sizes(&[(0, 0)], &[a], &[b])?;
        Ok(self.score_pair(&self.procrustes(), a, b, None)?.value)
    }

    /// The progress callback, if any.
    pub(crate) fn progress_callback(&self) -> Option<&ProgressFn> {
        self.progress.as_ref()
    }
}
