//! Stage 2 of the pipeline: fitting a linear operator to the embedded dynamics (spec §3),
//! HAVOK / eigen-time-delay DMD.
//!
//! With the thin SVD `H^T = U S V^T`, row `t` of `V` is the reduced coordinate `v_t` of time
//! point `t`. Within each trial, pair `v_t` with `v_{t+s}` (`s = steps_ahead`), keep the first
//! `r` coordinates, and regress:
//!
//! ```text
//! A = ( (V-_r^T V-_r + lambda I)^-1 V-_r^T V+_r )^T        so that  v_{t+s} ~ A v_t
//! ```
//!
//! The fitted [`DmdModel`] holds `A`, the SVD factors, the rank and why it was chosen, the DMD
//! spectrum (eigenvalues of `A`), and can forecast ([`DmdModel::predict`]).

mod bytes;
mod dmd;
mod model;
mod params;
mod predict;
mod rank;

pub use model::{DmdModel, RankInfo};
pub use params::{DmdParams, DmdValidParams, Regression};
pub use rank::RankRule;

pub(crate) use dmd::{decompose, fit_decomposed, ridge};

use crate::data::Dataset;
use crate::error::Result;

/// Fit a model to a dataset. The parameters and the fitted model are different types.
///
/// # Example
/// ```
/// use dsa::{Dmd, OperatorFit};
/// # fn main() -> dsa::Result<()> {
/// // two frequencies: each sinusoid spans two dimensions of the embedding, four in all
/// let x = faer::Mat::from_fn(200, 2, |t, j| ((t as f64) * (0.1 + 0.2 * j as f64)).sin());
/// let model = Dmd::params().n_delays(4).rank(4).fit(&dsa::Dataset::from_trajectory(x.as_ref())?)?;
/// assert_eq!(model.operator().nrows(), 4);
/// # Ok(()) }
/// ```
pub trait OperatorFit {
    /// The fitted model.
    type Model;

    /// Fit to `data`.
    ///
    /// # Errors
    /// Invalid parameters, data too short for the embedding, numerically zero data.
    fn fit(&self, data: &Dataset) -> Result<Self::Model>;
}

/// Namespace for the DMD fit: `Dmd::params()` starts a [`DmdParams`] builder.
#[derive(Debug, Clone, Copy, Default)]
pub struct Dmd;

impl Dmd {
    /// Default parameters: `n_delays = 1`, `delay_interval = 1`, full rank, `lambda = 0`,
    /// `steps_ahead = 1`, principal-component regression.
    ///
    /// # Example
    /// ```
    /// let p = dsa::Dmd::params().n_delays(10).rank(30);
    /// assert!(p.check().is_ok());
    /// ```
    #[must_use]
    pub fn params() -> DmdParams {
        DmdParams::default()
    }
}
