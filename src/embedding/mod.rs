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
use crate::error::{DsaError, Result};

/// A map from time series to the rows a linear operator is fitted on.
///
/// The crate's stage is [`DelayEmbedding`]; any other reaches the DMD fit through
/// [`crate::DmdValidParams::fit_with`], its rows built with [`Embedded::new`].
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
    /// The rows of an embedding computed elsewhere (by an [`Embedding`] of one's own): `h`
    /// holds them trial after trial, `trial_rows[k]` of them for trial `k`. Read as
    /// `h.ncols()` channels without delays (`n_channels = h.ncols()`, `n_delays = 1`,
    /// `delay_interval = 1`), which is what a model fitted on it records.
    ///
    /// # Errors
    /// [`DsaError::EmptyData`] for no rows, no columns or no trials;
    /// [`DsaError::ShapeMismatch`] if `trial_rows` does not sum to `h.nrows()`;
    /// [`DsaError::NonFinite`] for a NaN or infinite entry.
    ///
    /// # Example
    /// A custom embedding, each channel with its square beside it, fitted by the crate's DMD:
    /// ```
    /// use dsa::{Dataset, Dmd, Embedded, Embedding};
    ///
    /// struct WithSquares;
    ///
    /// impl Embedding for WithSquares {
    ///     fn embed(&self, data: &Dataset) -> dsa::Result<Embedded> {
    ///         let n = data.n_channels();
    ///         let h = faer::Mat::from_fn(data.total_len(), 2 * n, |t, j| {
    ///             // the row of time point `t` of the stacked trials
    ///             let (mut k, mut i) = (0, t);
    ///             while i >= data.trial(k).nrows() {
    ///                 i -= data.trial(k).nrows();
    ///                 k += 1;
    ///             }
    ///             let x = data.trial(k)[(i, j % n)];
    ///             if j < n { x } else { x * x }
    ///         });
    ///         Embedded::new(h, data.trial_lens())
    ///     }
    /// }
    ///
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(300, 2, |t, j| ((t as f64) * 0.1 + j as f64).sin());
    /// let data = Dataset::from_trajectory(x.as_ref())?;
    /// let model = Dmd::params().rank(3).check()?.fit_with(&WithSquares, &data)?;
    /// assert_eq!(model.operator().nrows(), 3);
    /// assert_eq!(model.n_channels(), 4); // two channels and their squares
    /// # Ok(()) }
    /// ```
    pub fn new(h: Mat<f64>, trial_rows: Vec<usize>) -> Result<Self> {
        if h.nrows() == 0 || h.ncols() == 0 || trial_rows.is_empty() {
            return Err(DsaError::EmptyData {
                what: format!(
                    "an embedding of {} rows, {} columns and {} trials",
                    h.nrows(),
                    h.ncols(),
                    trial_rows.len()
                ),
            });
        }
        let total = trial_rows
            .iter()
            .try_fold(0usize, |acc, &r| acc.checked_add(r));
        if total != Some(h.nrows()) {
            return Err(DsaError::ShapeMismatch {
                what: format!(
                    "the trials' row counts {trial_rows:?} do not sum to the {} rows of the embedding; give one count per trial, in the order the rows are stacked",
                    h.nrows()
                ),
            });
        }
        for j in 0..h.ncols() {
            for i in 0..h.nrows() {
                let v = h[(i, j)];
                if !v.is_finite() {
                    return Err(DsaError::NonFinite {
                        input: "the embedding".into(),
                        location: format!("row {i}, column {j}"),
                        value: v,
                    });
                }
            }
        }
        let n_channels = h.ncols();
        Ok(Self {
            h,
            trial_rows,
            n_channels,
            n_delays: 1,
            delay_interval: 1,
        })
    }

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
