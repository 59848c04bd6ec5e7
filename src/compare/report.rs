//! What the pair calls of [`Dsa`] report: progress, and the details of one comparison.

use crate::operator::DmdModel;
use crate::similarity::{Comparison, Score, SpectralComparison};

#[cfg(doc)]
use super::{Dsa, DsaBuilder};
#[cfg(doc)]
use crate::similarity::SizeMismatch;

/// Progress of a many-pair call, passed to the callback of [`DsaBuilder::progress`].
///
/// # Example
/// ```
/// use std::ops::ControlFlow;
/// # fn main() -> dsa::Result<()> {
/// let x = faer::Mat::from_fn(200, 2, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
/// let dsa = dsa::Dsa::builder()
///     .n_delays(2)
///     .progress(|p: dsa::Progress| {
///         eprintln!("{}/{} pairs (last: {:?})", p.done, p.total, p.pair);
///         ControlFlow::Continue(())
///     })
///     .build()?;
/// dsa.one_to_many(&x, &[&x, &x])?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Pairs finished, counting this one (1 ..= total).
    pub done: usize,
    /// Pairs in the call.
    pub total: usize,
    /// The pair just finished, as (row, column) of the output (`(0, k)` for
    /// [`Dsa::one_to_many`] and for [`Dsa::compare`]).
    pub pair: (usize, usize),
}

/// The details of one comparison: Procrustes over vector fields, or the spectral score.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DsaComparison {
    /// Angular or Euclidean score: the Procrustes comparison (orthogonal `C`, lower bounds,
    /// solver report).
    Procrustes(Comparison),
    /// Wasserstein score, or a pair of different sizes under [`SizeMismatch::Spectral`].
    Spectral(SpectralComparison),
}

impl DsaComparison {
    /// The Procrustes comparison, if this was one.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 2, |t, j| ((t as f64) * (0.15 + 0.1 * j as f64)).sin());
    /// let report = dsa::Dsa::builder().n_delays(3).rank(6).build()?.compare(&x, &x)?;
    /// let procrustes = report.comparison.procrustes().expect("angular score");
    /// assert!(procrustes.report.converged);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn procrustes(&self) -> Option<&Comparison> {
        match self {
            DsaComparison::Procrustes(c) => Some(c),
            DsaComparison::Spectral(_) => None,
        }
    }

    /// The spectral comparison, if this was one.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 2, |t, j| ((t as f64) * (0.15 + 0.1 * j as f64)).sin());
    /// let dsa = dsa::Dsa::builder().n_delays(3).score(dsa::Score::Wasserstein).build()?;
    /// let spectral = dsa.compare(&x, &x)?.comparison.spectral().cloned().expect("wasserstein");
    /// assert!(spectral.w2 < 1e-8);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn spectral(&self) -> Option<&SpectralComparison> {
        match self {
            DsaComparison::Spectral(s) => Some(s),
            DsaComparison::Procrustes(_) => None,
        }
    }
}

/// Everything [`Dsa::compare`] computed for one pair.
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let x = faer::Mat::from_fn(300, 3, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
/// let report = dsa::Dsa::builder().n_delays(3).build()?.compare(&x, &x)?;
/// assert_eq!(report.model_x.operator().nrows(), 9);
/// assert_eq!(report.score, dsa::Score::Angular);
/// assert!(report.value < 1e-8);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DsaReport {
    /// The model fitted to `x`.
    pub model_x: DmdModel,
    /// The model fitted to `y`.
    pub model_y: DmdModel,
    /// The comparison of the two operators.
    pub comparison: DsaComparison,
    /// The score `value` is: the requested one, or [`Score::Wasserstein`] when the pair fell
    /// back to the spectral score ([`SizeMismatch::Spectral`]).
    pub score: Score,
    /// The distance (what [`Dsa::distance`] returns).
    pub value: f64,
}
