//! Python exceptions for `dsa::DsaError`: one class per variant, all subclasses of
//! `dsa_rs.DsaError`, itself a `ValueError`. The message is the crate's, unchanged.

use pyo3::create_exception;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

create_exception!(
    dsa_rs,
    DsaError,
    PyValueError,
    "Any error of the dsa crate (a ValueError); the message says what is wrong and how to fix it."
);
create_exception!(
    dsa_rs,
    EmptyDataError,
    DsaError,
    "The data holds nothing usable (no trials, time points or channels)."
);
create_exception!(
    dsa_rs,
    NonFiniteError,
    DsaError,
    "A value is NaN or infinite."
);
create_exception!(
    dsa_rs,
    ShapeMismatchError,
    DsaError,
    "Arrays that must agree in shape do not, or an array has the wrong number of dimensions."
);
create_exception!(
    dsa_rs,
    TrialTooShortError,
    DsaError,
    "A trial is too short for the requested embedding and shift."
);
create_exception!(
    dsa_rs,
    InvalidParameterError,
    DsaError,
    "A parameter is outside its valid range, or parameters conflict."
);
create_exception!(
    dsa_rs,
    DegenerateError,
    DsaError,
    "The data cannot support the requested fit (e.g. it is numerically zero)."
);
create_exception!(
    dsa_rs,
    SizeMismatchError,
    DsaError,
    "Operators of different sizes were compared with a score that needs equal sizes."
);
create_exception!(
    dsa_rs,
    NoConvergenceError,
    DsaError,
    "A numerical routine did not converge."
);
create_exception!(
    dsa_rs,
    CancelledError,
    DsaError,
    "The computation was cancelled by the progress callback; no partial result is returned."
);

/// The Python exception for a crate error, with the crate's message.
pub(crate) fn to_py(e: dsa::DsaError) -> PyErr {
    use dsa::DsaError as E;
    let msg = e.to_string();
    match e {
        E::EmptyData { .. } => EmptyDataError::new_err(msg),
        E::NonFinite { .. } => NonFiniteError::new_err(msg),
        E::ShapeMismatch { .. } => ShapeMismatchError::new_err(msg),
        E::TrialTooShort { .. } => TrialTooShortError::new_err(msg),
        E::InvalidParameter { .. } => InvalidParameterError::new_err(msg),
        E::Degenerate { .. } => DegenerateError::new_err(msg),
        E::SizeMismatch { .. } => SizeMismatchError::new_err(msg),
        E::NoConvergence { .. } => NoConvergenceError::new_err(msg),
        E::Cancelled { .. } => CancelledError::new_err(msg),
        _ => DsaError::new_err(msg),
    }
}

/// `InvalidParameterError` for a value the bindings reject before the crate sees it, worded as
/// the crate words its own.
pub(crate) fn param(name: &str, reason: impl std::fmt::Display) -> PyErr {
    InvalidParameterError::new_err(format!("invalid parameter `{name}`: {reason}"))
}

/// `TypeError` for an argument of the wrong Python type.
pub(crate) fn type_error(msg: impl Into<String>) -> PyErr {
    PyTypeError::new_err(msg.into())
}

/// Adds the exception classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("DsaError", py.get_type::<DsaError>())?;
    m.add("EmptyDataError", py.get_type::<EmptyDataError>())?;
    m.add("NonFiniteError", py.get_type::<NonFiniteError>())?;
    m.add("ShapeMismatchError", py.get_type::<ShapeMismatchError>())?;
    m.add("TrialTooShortError", py.get_type::<TrialTooShortError>())?;
    m.add(
        "InvalidParameterError",
        py.get_type::<InvalidParameterError>(),
    )?;
    m.add("DegenerateError", py.get_type::<DegenerateError>())?;
    m.add("SizeMismatchError", py.get_type::<SizeMismatchError>())?;
    m.add("NoConvergenceError", py.get_type::<NoConvergenceError>())?;
    m.add("CancelledError", py.get_type::<CancelledError>())?;
    Ok(())
}
