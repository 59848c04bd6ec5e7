//! The crate's error type.
//!
//! Every public function returns [`Result<T>`](crate::Result). Each variant's message says what
//! is wrong and how to fix it, so that a user can act on it without reading the source.

use std::fmt;

/// What went wrong, as one enum for the whole crate.
///
/// The enum is `#[non_exhaustive]`: match the variants you care about and keep a catch-all arm.
///
/// # Example
/// ```
/// use faer::Mat;
/// let empty = Mat::<f64>::zeros(0, 3);
/// let err = dsa::Dataset::from_trajectory(empty.as_ref()).unwrap_err();
/// assert!(matches!(err, dsa::DsaError::EmptyData { .. }));
/// assert!(err.to_string().contains("no time points"));
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DsaError {
    /// The data holds nothing usable (no trials, no time points or no channels).
    #[error(
        "empty data: {what}; pass at least one trial with at least one time point and one channel"
    )]
    EmptyData {
        /// What was empty.
        what: String,
    },
    /// A value is NaN or infinite.
    #[error("non-finite value {value} in {input} at {location}; remove or interpolate NaN/inf samples before calling dsa")]
    NonFinite {
        /// Which input held it.
        input: String,
        /// Where (trial, row, column).
        location: String,
        /// The offending value.
        value: f64,
    },
    /// Two arrays that must agree in shape do not.
    #[error("shape mismatch: {what}")]
    ShapeMismatch {
        /// A description of both shapes and of what would fix it.
        what: String,
    },
    /// A trial is too short for the requested embedding and shift.
    #[error("trial {trial}{} has {len} time points, but n_delays = {n_delays}, delay_interval = {delay_interval} and steps_ahead = {steps_ahead} need at least {needed}; use fewer delays, a smaller delay_interval, or longer trials", of_dataset(dataset))]
    TrialTooShort {
        /// Index of the trial.
        trial: usize,
        /// Its number of time points.
        len: usize,
        /// Requested number of delays.
        n_delays: usize,
        /// Requested delay interval.
        delay_interval: usize,
        /// Requested forecast shift.
        steps_ahead: usize,
        /// The minimum number of time points.
        needed: usize,
        /// Which dataset of a many-dataset call the trial belongs to (`dataset 3`, `xs[0]`,
        /// `ys[2]`, `x`, `y`), `None` for a single dataset.
        dataset: Option<String>,
    },
    /// A parameter is outside its valid range, or parameters conflict.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter's name, as spelled by its setter.
        name: &'static str,
        /// What is wrong and what values are allowed.
        reason: String,
    },
    /// The data cannot support the requested fit (e.g. it is numerically zero).
    #[error("degenerate data: {what}")]
    Degenerate {
        /// What is degenerate and what to do.
        what: String,
    },
    /// Two operators of different sizes were compared with a score that needs equal sizes.
    #[error("operators have different sizes ({a} x {a} and {b} x {b}); Procrustes over vector fields needs equal sizes: fit both with the same rank, or choose `SizeMismatch::ZeroPad` or `Score::Wasserstein`")]
    SizeMismatch {
        /// Size of the first operator.
        a: usize,
        /// Size of the second operator.
        b: usize,
    },
    /// Two driven systems ([`crate::InputDsa`]) whose input or latent-state dimensions differ
    /// were compared with a mode that needs them equal.
    #[error("the two systems have {a} and {b} {dimension}; {mode} needs them equal: {fix}")]
    DimensionMismatch {
        /// Which dimension differs: `"inputs"` or `"latent states"`.
        dimension: &'static str,
        /// Its value for the first system.
        a: usize,
        /// Its value for the second system.
        b: usize,
        /// The comparison mode that needs them equal, and which pair of systems.
        mode: String,
        /// The way out.
        fix: &'static str,
    },
    /// A numerical routine did not converge.
    #[error("{routine} did not converge on this input; check the input for extreme values or near-duplicate channels")]
    NoConvergence {
        /// Which routine.
        routine: &'static str,
    },
    /// A resampling method of [`crate::stats`] has too few units (trials, or blocks of a
    /// trajectory) on one side to resample.
    #[error("too few resampling units: {what}")]
    TooFewUnits {
        /// Which side, how many units it has, how many are needed, and what to do.
        what: String,
    },
    /// A long computation was cancelled through its progress callback.
    #[error("cancelled by the progress callback after {done} of {total} pairs; no partial result is returned")]
    Cancelled {
        /// Pairs finished when the cancellation was seen.
        done: usize,
        /// Pairs in total.
        total: usize,
    },
    /// Reading input from a file failed.
    #[error("cannot read {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, DsaError>;

impl From<faer::linalg::solvers::SvdError> for DsaError {
    fn from(_: faer::linalg::solvers::SvdError) -> Self {
        DsaError::NoConvergence {
            routine: "singular value decomposition",
        }
    }
}

impl From<faer::linalg::solvers::EvdError> for DsaError {
    fn from(_: faer::linalg::solvers::EvdError) -> Self {
        DsaError::NoConvergence {
            routine: "eigendecomposition",
        }
    }
}

/// ` of <dataset>` when the dataset is named.
fn of_dataset(dataset: &Option<String>) -> String {
    dataset
        .as_ref()
        .map_or_else(String::new, |d| format!(" of {d}"))
}

impl DsaError {
    /// The error with the dataset it came from named in its message (`None`: unchanged), for
    /// calls on many datasets. Variants without a description are returned as they are.
    pub(crate) fn in_dataset(mut self, name: Option<String>) -> Self {
        let Some(name) = name else {
            return self;
        };
        match &mut self {
            DsaError::EmptyData { what }
            | DsaError::ShapeMismatch { what }
            | DsaError::Degenerate { what } => *what = format!("{name}: {what}"),
            DsaError::NonFinite { input, .. } => *input = format!("{input} of {name}"),
            DsaError::TrialTooShort { dataset, .. } => {
                dataset.get_or_insert(name);
            }
            _ => {}
        }
        self
    }

    pub(crate) fn param(name: &'static str, reason: impl fmt::Display) -> Self {
        DsaError::InvalidParameter {
            name,
            reason: reason.to_string(),
        }
    }
}
