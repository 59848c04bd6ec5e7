//! Stage 1 of the pipeline: delay (Hankel) embedding (spec §2).
//!
//! For one trial `x_0 .. x_{T-1}` with `d = n_delays` and `tau = delay_interval`, the embedding
//! has `T' = T - (d-1) tau` rows; row `i` is, newest block first,
//!
//! ```text
//! h_i = [ x_{i+(d-1)tau}, x_{i+(d-2)tau}, ..., x_{i+tau}, x_i ]      (width N*d)
//! ```
//!
//! Trials are embedded one by one and stacked; the per-trial row counts are kept so that the
//! operator fit never pairs rows across a trial boundary.

mod delay;

pub use delay::DelayEmbedding;

use faer::{Mat, MatRef};

use crate::data::Dataset;
use crate::error::Result;

/// A map from time series to the rows a linear operator is fitted on.
///
/// # Example
/// ```
/// use dsa::{Embedding, DelayEmbedding};
/// # fn main() -> dsa::Result<()> {
/// let x = faer::Mat::from_fn(20, 2, |t, j| (t * 10 + j) as f64);
/// let h = DelayEmbedding::new(3, 1)?.embed(&dsa::Dataset::from_trajectory(x.as_ref())?)?;
/// assert_eq!((h.nrows(), h.ncols()), (18, 6));
/// # Ok(()) }
/// ```
pub trait Embedding {
    /// Embed every trial and stack the rows.
    ///
    /// # Errors
    /// Whatever the embedding cannot handle, e.g. [`DsaError::TrialTooShort`](crate::DsaError).
    fn embed(&self, data: &Dataset) -> Result<Embedded>;
}

/// An embedded dataset: the stacked matrix `H` (`R x (N*d)`) and the rows each trial contributed.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedded {
    pub(crate) h: Mat<f64>,
    pub(crate) trial_rows: Vec<usize>,
    pub(crate) n_channels: usize,
    pub(crate) n_delays: usize,
    pub(crate) delay_interval: usize,
}

impl Embedded {
    /// The stacked embedding `H`.
    #[must_use]
    pub fn matrix(&self) -> MatRef<'_, f64> {
        self.h.as_ref()
    }

    /// Number of rows `R = sum_k T'_k`.
    #[must_use]
    pub fn nrows(&self) -> usize {
        self.h.nrows()
    }

    /// Number of columns `N * d`.
    #[must_use]
    pub fn ncols(&self) -> usize {
        self.h.ncols()
    }

    /// Rows contributed by each trial, `T'_k`.
    #[must_use]
    pub fn trial_rows(&self) -> &[usize] {
        &self.trial_rows
    }

    /// Channels of the original data, `N`.
    #[must_use]
    pub fn n_channels(&self) -> usize {
        self.n_channels
    }

    /// The number of delays `d`.
    #[must_use]
    pub fn n_delays(&self) -> usize {
        self.n_delays
    }

    /// The delay interval `tau`.
    #[must_use]
    pub fn delay_interval(&self) -> usize {
        self.delay_interval
    }

    /// Into the nalgebra type, for interop.
    #[must_use]
    pub fn to_nalgebra(&self) -> nalgebra::DMatrix<f64> {
        crate::linalg::to_nalgebra(self.h.as_ref())
    }
}
