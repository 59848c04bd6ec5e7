//! States and inputs of one driven system: the same trials, the same time points.

use crate::data::{Dataset, ToDataset};
use crate::error::{DsaError, Result};

/// Check that `inputs` has one row per row of `states`, trial by trial.
///
/// `u_t` is the input applied at time `t` (it drives `x_{t+1}`), so every state sample needs
/// its input sample: the same number of trials and the same length per trial. Fewer or more
/// input samples than state samples is an error rather than a silent truncation.
pub(crate) fn check_pair(states: &Dataset, inputs: &Dataset) -> Result<()> {
    if states.n_trials() != inputs.n_trials() {
        return Err(DsaError::ShapeMismatch {
            what: format!(
                "the states have {} trials but the inputs have {}; give one input trial per state trial",
                states.n_trials(),
                inputs.n_trials()
            ),
        });
    }
    for (k, (x, u)) in states.trials().iter().zip(inputs.trials()).enumerate() {
        if x.nrows() != u.nrows() {
            let which = if u.nrows() < x.nrows() {
                "fewer"
            } else {
                "more"
            };
            return Err(DsaError::ShapeMismatch {
                what: format!(
                    "trial {k}: the inputs have {which} time points ({}) than the states ({}); \
                     row t of the inputs is the input applied at time t, so both need the same \
                     rows (trim or pad the inputs to the states' time points)",
                    u.nrows(),
                    x.nrows()
                ),
            });
        }
    }
    Ok(())
}

/// Convert and check one system; errors name it (`name` for both parts, e.g. `x`, or
/// `systems[2]`).
pub(crate) fn driven<X, U>(x: &X, u: &U, name: &str) -> Result<(Dataset, Dataset)>
where
    X: ToDataset + ?Sized,
    U: ToDataset + ?Sized,
{
    let states = x
        .to_dataset()
        .map_err(|e| e.in_dataset(Some(format!("the states of {name}"))))?;
    let inputs = u
        .to_dataset()
        .map_err(|e| e.in_dataset(Some(format!("the inputs of {name}"))))?;
    check_pair(&states, &inputs).map_err(|e| e.in_dataset(Some(name.to_string())))?;
    Ok((states, inputs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    #[test]
    fn fewer_inputs_is_an_error_that_says_so() {
        let x = Mat::<f64>::zeros(10, 2);
        let u = Mat::<f64>::zeros(9, 1);
        let err = driven(&x, &u, "x").unwrap_err();
        assert!(matches!(err, DsaError::ShapeMismatch { .. }));
        let msg = err.to_string();
        assert!(msg.contains("fewer") && msg.contains("x:"), "{msg}");
    }

    #[test]
    fn nan_in_inputs_is_named() {
        let x = Mat::<f64>::zeros(10, 2);
        let mut u = Mat::<f64>::zeros(10, 1);
        u[(3, 0)] = f64::NAN;
        let err = driven(&x, &u, "y").unwrap_err();
        assert!(matches!(err, DsaError::NonFinite { .. }));
        assert!(err.to_string().contains("inputs of y"), "{err}");
    }
}
