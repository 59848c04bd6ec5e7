//! The data model (spec §1): one trajectory, trials of equal length, or trials of different
//! lengths. Rows are time, columns are channels.

use faer::{Mat, MatRef};

use crate::error::{DsaError, Result};

/// Validated time series: one or more trials, each `T_k x N` (rows are time points, columns are
/// channels), all with the same number of channels `N`, all values finite.
///
/// Trials are never joined across their boundaries: embedding and fitting treat each trial as a
/// separate stretch of time.
///
/// # Example
/// ```
/// use faer::Mat;
/// # fn main() -> dsa::Result<()> {
/// let x = Mat::from_fn(100, 3, |t, j| ((t + j) as f64 * 0.1).sin());
/// let data = dsa::Dataset::from_trajectory(x.as_ref())?;
/// assert_eq!((data.n_trials(), data.n_channels(), data.total_len()), (1, 3, 100));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    trials: Vec<Mat<f64>>,
    n_channels: usize,
}

impl Dataset {
    /// One trajectory, `T x N`.
    ///
    /// # Errors
    /// [`DsaError::EmptyData`] if `T = 0` or `N = 0`; [`DsaError::NonFinite`] on NaN or infinity.
    pub fn from_trajectory(x: MatRef<'_, f64>) -> Result<Self> {
        Self::from_trials(vec![x.to_owned()])
    }

    /// Trials, one matrix per trial (`T_k x N`, lengths may differ).
    ///
    /// # Errors
    /// [`DsaError::EmptyData`] for no trials or an empty trial, [`DsaError::ShapeMismatch`] if the
    /// channel counts differ, [`DsaError::NonFinite`] on NaN or infinity.
    ///
    /// # Example
    /// ```
    /// use faer::Mat;
    /// # fn main() -> dsa::Result<()> {
    /// let trials = vec![Mat::<f64>::identity(10, 2), Mat::<f64>::identity(7, 2)];
    /// let data = dsa::Dataset::from_trials(trials)?;
    /// assert_eq!(data.trial_lens(), vec![10, 7]);
    /// # Ok(()) }
    /// ```
    pub fn from_trials(trials: Vec<Mat<f64>>) -> Result<Self> {
        if trials.is_empty() {
            return Err(DsaError::EmptyData {
                what: "no trials were given".into(),
            });
        }
        let n_channels = trials[0].ncols();
        for (k, t) in trials.iter().enumerate() {
            if t.nrows() == 0 {
                return Err(DsaError::EmptyData {
                    what: format!("trial {k} has no time points (0 rows)"),
                });
            }
            if t.ncols() == 0 {
                return Err(DsaError::EmptyData {
                    what: format!("trial {k} has no channels (0 columns)"),
                });
            }
            if t.ncols() != n_channels {
                return Err(DsaError::ShapeMismatch {
                    what: format!(
                        "trial {k} has {} channels but trial 0 has {n_channels}; every trial must have the same channels (columns)",
                        t.ncols()
                    ),
                });
            }
            for j in 0..t.ncols() {
                for i in 0..t.nrows() {
                    let v = t[(i, j)];
                    if !v.is_finite() {
                        return Err(DsaError::NonFinite {
                            input: "data".into(),
                            location: format!("trial {k}, time {i}, channel {j}"),
                            value: v,
                        });
                    }
                }
            }
        }
        Ok(Self { trials, n_channels })
    }

    /// Trials of equal length from a `K x T x N` array stored row-major (C order, as numpy
    /// stores it): element `(k, t, n)` is at `k*T*N + t*N + n`.
    ///
    /// # Errors
    /// [`DsaError::ShapeMismatch`] if `data.len() != K*T*N`, plus the errors of
    /// [`Dataset::from_trials`].
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let flat: Vec<f64> = (0..2 * 5 * 3).map(|i| i as f64).collect();
    /// let data = dsa::Dataset::from_row_major(&flat, [2, 5, 3])?;
    /// assert_eq!(data.trial(1)[(0, 0)], 15.0);
    /// # Ok(()) }
    /// ```
    pub fn from_row_major(data: &[f64], shape: [usize; 3]) -> Result<Self> {
        let [k, t, n] = shape;
        if k.checked_mul(t).and_then(|x| x.checked_mul(n)) != Some(data.len()) {
            return Err(DsaError::ShapeMismatch {
                what: format!(
                    "a {k} x {t} x {n} array needs {} values but {} were given",
                    k.saturating_mul(t).saturating_mul(n),
                    data.len()
                ),
            });
        }
        let trials = (0..k)
            .map(|kk| Mat::from_fn(t, n, |i, j| data[kk * t * n + i * n + j]))
            .collect();
        Self::from_trials(trials)
    }

    /// Number of trials `K`.
    #[must_use]
    pub fn n_trials(&self) -> usize {
        self.trials.len()
    }

    /// Number of channels `N`.
    #[must_use]
    pub fn n_channels(&self) -> usize {
        self.n_channels
    }

    /// Number of time points of each trial.
    #[must_use]
    pub fn trial_lens(&self) -> Vec<usize> {
        self.trials.iter().map(|t| t.nrows()).collect()
    }

    /// Total number of time points over all trials.
    #[must_use]
    pub fn total_len(&self) -> usize {
        self.trials.iter().map(|t| t.nrows()).sum()
    }

    /// Trial `k` as a `T_k x N` view. Panics if `k >= n_trials()` (like slice indexing).
    #[must_use]
    pub fn trial(&self, k: usize) -> MatRef<'_, f64> {
        self.trials[k].as_ref()
    }

    /// All trials.
    #[must_use]
    pub fn trials(&self) -> &[Mat<f64>] {
        &self.trials
    }

    /// Right-multiply every trial by `m` (`N x N'`): `X -> X M`. Useful to rotate channels.
    ///
    /// # Errors
    /// [`DsaError::ShapeMismatch`] if `m` has not `N` rows; [`DsaError::NonFinite`] if the
    /// product overflows.
    pub fn map_channels(&self, m: MatRef<'_, f64>) -> Result<Self> {
        if m.nrows() != self.n_channels {
            return Err(DsaError::ShapeMismatch {
                what: format!(
                    "the channel map has {} rows but the data has {} channels",
                    m.nrows(),
                    self.n_channels
                ),
            });
        }
        Self::from_trials(self.trials.iter().map(|t| t * m).collect())
    }
}

/// Anything that can be read as a [`Dataset`]: `faer::Mat<f64>`, `faer::MatRef<f64>`,
/// `nalgebra::DMatrix<f64>` (one trajectory, `T x N`), and `Vec`s or slices of those (one matrix
/// per trial), and `Dataset` itself.
///
/// # Example
/// ```
/// use dsa::ToDataset;
/// # fn main() -> dsa::Result<()> {
/// let x = nalgebra::DMatrix::<f64>::from_fn(50, 2, |t, j| (t * (j + 1)) as f64);
/// assert_eq!(x.to_dataset()?.total_len(), 50);
/// # Ok(()) }
/// ```
pub trait ToDataset {
    /// Validate and convert.
    ///
    /// # Errors
    /// The errors of [`Dataset::from_trials`].
    fn to_dataset(&self) -> Result<Dataset>;

    /// Append the trials, not yet validated, so that a list of inputs is validated once, as a
    /// whole, and errors name the trial's index in the whole list. The default validates
    /// `self` first.
    #[doc(hidden)]
    fn append_trials(&self, out: &mut Vec<Mat<f64>>) -> Result<()> {
        out.extend(self.to_dataset()?.trials);
        Ok(())
    }
}

impl ToDataset for Dataset {
    fn to_dataset(&self) -> Result<Dataset> {
        Ok(self.clone())
    }
}

impl ToDataset for Mat<f64> {
    fn to_dataset(&self) -> Result<Dataset> {
        Dataset::from_trajectory(self.as_ref())
    }
    fn append_trials(&self, out: &mut Vec<Mat<f64>>) -> Result<()> {
        out.push(self.clone());
        Ok(())
    }
}

impl ToDataset for MatRef<'_, f64> {
    fn to_dataset(&self) -> Result<Dataset> {
        Dataset::from_trajectory(*self)
    }
    fn append_trials(&self, out: &mut Vec<Mat<f64>>) -> Result<()> {
        out.push(self.to_owned());
        Ok(())
    }
}

impl ToDataset for nalgebra::DMatrix<f64> {
    fn to_dataset(&self) -> Result<Dataset> {
        Dataset::from_trials(vec![crate::linalg::from_nalgebra(self)])
    }
    fn append_trials(&self, out: &mut Vec<Mat<f64>>) -> Result<()> {
        out.push(crate::linalg::from_nalgebra(self));
        Ok(())
    }
}

impl<T: ToDataset> ToDataset for [T] {
    fn to_dataset(&self) -> Result<Dataset> {
        let mut trials = Vec::with_capacity(self.len());
        self.append_trials(&mut trials)?;
        Dataset::from_trials(trials)
    }
    fn append_trials(&self, out: &mut Vec<Mat<f64>>) -> Result<()> {
        for x in self {
            x.append_trials(out)?;
        }
        Ok(())
    }
}

impl<T: ToDataset> ToDataset for Vec<T> {
    fn to_dataset(&self) -> Result<Dataset> {
        self.as_slice().to_dataset()
    }
    fn append_trials(&self, out: &mut Vec<Mat<f64>>) -> Result<()> {
        self.as_slice().append_trials(out)
    }
}

impl<T: ToDataset + ?Sized> ToDataset for &T {
    fn to_dataset(&self) -> Result<Dataset> {
        (**self).to_dataset()
    }
    fn append_trials(&self, out: &mut Vec<Mat<f64>>) -> Result<()> {
        (**self).append_trials(out)
    }
}
