//! Deterministic train/test splits that never leak test samples into training.

use crate::data::{Dataset, ToDataset};
use crate::error::{DsaError, Result};

/// How to split a dataset into a training and a test part.
///
/// # Example
/// ```
/// use dsa::select::{Split, SplitBy, SplitKind};
/// # fn main() -> dsa::Result<()> {
/// let x = faer::Mat::from_fn(100, 2, |t, c| (t + c) as f64);
/// let tt = Split::new(0.8).by(SplitBy::Auto).apply(&x)?; // one trajectory: split by time
/// assert_eq!(tt.kind, SplitKind::Time { split_at: vec![80] });
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SplitBy {
    /// By trials when there are at least two, by time for a single trajectory (the default).
    #[default]
    Auto,
    /// Whole trials: the first ones train, the last ones test. Needs at least two trials.
    Trials,
    /// Within every trial: its first time points train, the rest test.
    Time,
}

/// The split that was made.
///
/// # Example
/// ```
/// use dsa::select::{Split, SplitBy, SplitKind};
/// # fn main() -> dsa::Result<()> {
/// let trials = vec![faer::Mat::<f64>::zeros(10, 1), faer::Mat::<f64>::zeros(20, 1)];
/// let tt = Split::new(0.5).by(SplitBy::Time).apply(&trials)?;
/// assert_eq!(tt.kind, SplitKind::Time { split_at: vec![5, 10] });
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitKind {
    /// Trials `0 .. n_train` train, trials `n_train .. K` test.
    Trials {
        /// Number of training trials.
        n_train: usize,
        /// Number of test trials.
        n_test: usize,
    },
    /// Trial `k` trains on time points `0 .. split_at[k]` and tests on `split_at[k] .. T_k`.
    Time {
        /// The first test time point of each trial.
        split_at: Vec<usize>,
    },
}

/// A training and a test dataset, and how they were made.
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let x = faer::Mat::from_fn(10, 1, |t, _| t as f64);
/// let tt = dsa::select::train_test_split(&x, 0.7)?;
/// assert_eq!(tt.train.trial(0)[(6, 0)], 6.0); // time points 0..7 train
/// assert_eq!(tt.test.trial(0)[(0, 0)], 7.0); // 7..10 test
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TrainTest {
    /// The training part.
    pub train: Dataset,
    /// The test part.
    pub test: Dataset,
    /// How the data was split.
    pub kind: SplitKind,
}

/// Split parameters: the fraction that trains, how to split, and the minimum length of every
/// trial of both parts. Deterministic (no shuffling).
///
/// - **By trials** (`K >= 2` trials under [`SplitBy::Auto`], or [`SplitBy::Trials`]): the first
///   `n_train = floor(train_fraction * K)` trials train, clamped to `1 ..= K-1` so that both
///   parts get at least one trial; the remaining `K - n_train` test. Trials are never cut.
/// - **By time** (one trajectory under [`SplitBy::Auto`], or [`SplitBy::Time`]): trial `k`
///   with `T_k` time points is cut at `split_at = floor(train_fraction * T_k)`; rows
///   `0 .. split_at` train and rows `split_at .. T_k` test. The test part is a separate trial:
///   its first `(d-1)*tau + s` time points serve as the initial condition of the forecast and are
///   not scored, so no training sample is ever scored and no test sample ever trains.
///
/// Every trial of both parts must have at least `min_len` time points (default 2, the least a
/// fit with `n_delays = 1`, `steps_ahead = 1` needs; a sweep sets it from its smallest
/// `n_delays`).
///
/// # Example
/// ```
/// use dsa::select::{Split, SplitKind};
/// # fn main() -> dsa::Result<()> {
/// let trials: Vec<faer::Mat<f64>> = (0..5).map(|k| faer::Mat::from_fn(10, 2, |t, c| (k * 100 + t + c) as f64)).collect();
/// let tt = Split::new(0.8).apply(&trials)?; // 5 trials: the first 4 train, the last tests
/// assert_eq!(tt.kind, SplitKind::Trials { n_train: 4, n_test: 1 });
/// assert_eq!(tt.test.trial(0)[(0, 0)], 400.0);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
    train_fraction: f64,
    by: SplitBy,
    min_len: usize,
}

impl Default for Split {
    /// `train_fraction = 0.8` (as the reference), [`SplitBy::Auto`], `min_len = 2`.
    fn default() -> Self {
        Self {
            train_fraction: 0.8,
            by: SplitBy::Auto,
            min_len: 2,
        }
    }
}

impl Split {
    /// A split that trains on the fraction `train_fraction` in `(0, 1)` (checked by
    /// [`Split::apply`]).
    #[must_use]
    pub fn new(train_fraction: f64) -> Self {
        Self {
            train_fraction,
            ..Self::default()
        }
    }

    /// By trials, by time, or automatic (default).
    #[must_use]
    pub fn by(mut self, by: SplitBy) -> Self {
        self.by = by;
        self
    }

    /// Minimum number of time points of every trial of both parts (default 2).
    #[must_use]
    pub fn min_len(mut self, min_len: usize) -> Self {
        self.min_len = min_len;
        self
    }

    /// The training fraction.
    #[must_use]
    pub fn train_fraction(&self) -> f64 {
        self.train_fraction
    }

    /// Split `data`.
    ///
    /// # Errors
    /// [`DsaError::InvalidParameter`] naming the parameter: `train_fraction` outside `(0, 1)`
    /// (or NaN), or a part whose trials would be shorter than `min_len` (named
    /// `train_fraction` for a time split, which a different fraction may fix, and `min_len` for
    /// a trial split); `split_by` for [`SplitBy::Trials`] on a single trial; `min_len` of 0.
    /// The errors of [`ToDataset::to_dataset`].
    ///
    /// # Example
    /// ```
    /// use dsa::select::Split;
    /// let x = faer::Mat::from_fn(10, 1, |t, _| t as f64);
    /// let err = Split::new(1.0).apply(&x).unwrap_err();
    /// assert!(matches!(err, dsa::DsaError::InvalidParameter { name: "train_fraction", .. }));
    /// // 10 points at 0.9: the test part would have 1 point, fewer than min_len = 2
    /// assert!(Split::new(0.9).apply(&x).is_err());
    /// ```
    pub fn apply<X: ToDataset + ?Sized>(&self, data: &X) -> Result<TrainTest> {
        let f = self.train_fraction;
        if !(f > 0.0 && f < 1.0) {
            return Err(DsaError::param(
                "train_fraction",
                format!("must be strictly between 0 and 1, got {f}"),
            ));
        }
        if self.min_len == 0 {
            return Err(DsaError::param("min_len", "must be at least 1"));
        }
        let data = data.to_dataset()?;
        let k = data.n_trials();
        let by = match self.by {
            SplitBy::Auto if k >= 2 => SplitBy::Trials,
            SplitBy::Auto => SplitBy::Time,
            b => b,
        };
        match by {
            SplitBy::Trials => {
                if k < 2 {
                    return Err(DsaError::param(
                        "split_by",
                        "a split by trials needs at least 2 trials; split one trajectory by time (SplitBy::Time or SplitBy::Auto)",
                    ));
                }
                let n_train = ((f * k as f64).floor() as usize).clamp(1, k - 1);
                for (i, len) in data.trial_lens().into_iter().enumerate() {
                    if len < self.min_len {
                        return Err(DsaError::param(
                            "min_len",
                            format!(
                                "trial {i} has {len} time points, fewer than the {} needed for the embedding; use fewer delays or drop short trials",
                                self.min_len
                            ),
                        ));
                    }
                }
                let trials = data.trials();
                let train = Dataset::from_trials(trials[..n_train].to_vec())?;
                let test = Dataset::from_trials(trials[n_train..].to_vec())?;
                Ok(TrainTest {
                    train,
                    test,
                    kind: SplitKind::Trials {
                        n_train,
                        n_test: k - n_train,
                    },
                })
            }
            _ => {
                let mut split_at = Vec::with_capacity(k);
                let mut train = Vec::with_capacity(k);
                let mut test = Vec::with_capacity(k);
                for (i, x) in data.trials().iter().enumerate() {
                    let t = x.nrows();
                    let at = (f * t as f64).floor() as usize;
                    if at < self.min_len || t - at < self.min_len {
                        return Err(DsaError::param(
                            "train_fraction",
                            format!(
                                "splitting trial {i} ({t} time points) at {at} leaves {at} for training and {} for testing, but each part needs at least {} (the embedding's length); use another fraction, fewer delays or longer data",
                                t - at,
                                self.min_len
                            ),
                        ));
                    }
                    split_at.push(at);
                    train.push(x.as_ref().subrows(0, at).to_owned());
                    test.push(x.as_ref().subrows(at, t - at).to_owned());
                }
                Ok(TrainTest {
                    train: Dataset::from_trials(train)?,
                    test: Dataset::from_trials(test)?,
                    kind: SplitKind::Time { split_at },
                })
            }
        }
    }
}

/// Shorthand for `Split::new(train_fraction).apply(data)`: by trials when there are several,
/// by time for one trajectory.
///
/// # Errors
/// The errors of [`Split::apply`].
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let x = faer::Mat::from_fn(50, 3, |t, c| (t * 3 + c) as f64);
/// let tt = dsa::select::train_test_split(&x, 0.6)?;
/// assert_eq!((tt.train.total_len(), tt.test.total_len()), (30, 20));
/// assert_eq!(tt.test.trial(0)[(0, 0)], 90.0); // time 30 onwards
/// # Ok(()) }
/// ```
pub fn train_test_split<X: ToDataset + ?Sized>(data: &X, train_fraction: f64) -> Result<TrainTest> {
    Split::new(train_fraction).apply(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    #[test]
    fn trial_split_counts() {
        let trials: Vec<Mat<f64>> = (0..3)
            .map(|k| Mat::from_fn(4, 1, |t, _| (k * 10 + t) as f64))
            .collect();
        let data = Dataset::from_trials(trials).unwrap();
        // floor(0.5 * 3) = 1
        let tt = Split::new(0.5).apply(&data).unwrap();
        assert_eq!(
            tt.kind,
            SplitKind::Trials {
                n_train: 1,
                n_test: 2
            }
        );
        // floor(0.1 * 3) = 0 -> clamped to 1; floor(0.99 * 3) = 2
        assert_eq!(
            Split::new(0.1).apply(&data).unwrap().kind,
            SplitKind::Trials {
                n_train: 1,
                n_test: 2
            }
        );
        assert_eq!(
            Split::new(0.99).apply(&data).unwrap().kind,
            SplitKind::Trials {
                n_train: 2,
                n_test: 1
            }
        );
        // by time on several trials
        let tt = Split::new(0.5).by(SplitBy::Time).apply(&data).unwrap();
        assert_eq!(
            tt.kind,
            SplitKind::Time {
                split_at: vec![2, 2, 2]
            }
        );
        assert_eq!(tt.test.trial(2)[(0, 0)], 22.0);
    }

    #[test]
    fn errors_name_the_parameter() {
        let x = Mat::from_fn(10, 1, |t, _| t as f64);
        for f in [0.0, 1.0, -0.5, f64::NAN] {
            let e = Split::new(f).apply(&x).unwrap_err();
            assert!(
                matches!(
                    e,
                    DsaError::InvalidParameter {
                        name: "train_fraction",
                        ..
                    }
                ),
                "{f}"
            );
        }
        let e = Split::new(0.5).by(SplitBy::Trials).apply(&x).unwrap_err();
        assert!(matches!(
            e,
            DsaError::InvalidParameter {
                name: "split_by",
                ..
            }
        ));
        let e = Split::new(0.5).min_len(6).apply(&x).unwrap_err();
        assert!(matches!(
            e,
            DsaError::InvalidParameter {
                name: "train_fraction",
                ..
            }
        ));
        let e = Split::new(0.5).min_len(0).apply(&x).unwrap_err();
        assert!(matches!(
            e,
            DsaError::InvalidParameter {
                name: "min_len",
                ..
            }
        ));
        let trials = vec![Mat::<f64>::zeros(3, 1), Mat::<f64>::zeros(8, 1)];
        let e = Split::new(0.5).min_len(4).apply(&trials).unwrap_err();
        assert!(matches!(
            e,
            DsaError::InvalidParameter {
                name: "min_len",
                ..
            }
        ));
    }
}
