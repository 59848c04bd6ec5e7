//! The fitted model of a driven system, whichever fit made it.

use faer::MatRef;

use super::{DmdcModel, SubspaceModel};
use crate::data::Dataset;
use crate::error::Result;
use crate::linalg::c64;

/// Fit a driven model to states and inputs (the driven counterpart of
/// [`crate::OperatorFit`]). The parameters and the fitted model are different types.
///
/// # Example
/// ```
/// use dsa::input::{DrivenFit, Subspace};
/// # fn main() -> dsa::Result<()> {
/// let (x, u) = dsa::input::simulate_example(300, 1);
/// let (x, u) = (dsa::Dataset::from_trajectory(x.as_ref())?, dsa::Dataset::from_trajectory(u.as_ref())?);
/// let model = Subspace::params().rank(3).fit(&x, &u)?;
/// assert_eq!(model.input_operator().ncols(), 2);
/// # Ok(()) }
/// ```
pub trait DrivenFit {
    /// The fitted model.
    type Model;

    /// Fit to `states` (`T_k x N` per trial) driven by `inputs` (`T_k x m` per trial, row `t`
    /// the input applied at time `t`).
    ///
    /// # Errors
    /// Invalid parameters, inputs that do not match the states trial by trial
    /// ([`crate::DsaError::ShapeMismatch`]), trials too short, numerically zero data.
    fn fit(&self, states: &Dataset, inputs: &Dataset) -> Result<Self::Model>;
}

/// A fitted driven model: `A` (`n x n`) and `B` (`n x m`) and how they were found.
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let (x, u) = dsa::input::simulate_example(300, 1);
/// let model = dsa::InputDsa::builder().rank(3).build()?.fit(&x, &u)?;
/// assert_eq!(model.state_operator().nrows(), 3);
/// assert!(model.subspace().is_some());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum InputModel {
    /// A DMD-with-control fit.
    Dmdc(DmdcModel),
    /// A subspace-identification fit.
    Subspace(SubspaceModel),
}

impl InputModel {
    /// The state operator `A` (`n x n`).
    #[must_use]
    pub fn state_operator(&self) -> MatRef<'_, f64> {
        match self {
            InputModel::Dmdc(m) => m.state_operator(),
            InputModel::Subspace(m) => m.state_operator(),
        }
    }

    /// The input operator `B` (`n x m`).
    #[must_use]
    pub fn input_operator(&self) -> MatRef<'_, f64> {
        match self {
            InputModel::Dmdc(m) => m.input_operator(),
            InputModel::Subspace(m) => m.input_operator(),
        }
    }

    /// Eigenvalues of `A`, sorted by real then imaginary part.
    #[must_use]
    pub fn eigenvalues(&self) -> &[c64] {
        match self {
            InputModel::Dmdc(m) => m.eigenvalues(),
            InputModel::Subspace(m) => m.eigenvalues(),
        }
    }

    /// The latent size `n`.
    #[must_use]
    pub fn rank(&self) -> usize {
        self.state_operator().nrows()
    }

    /// Number of input columns of `B` (`m`; `n_control_delays * m` for a DMDc fit with delayed
    /// inputs).
    #[must_use]
    pub fn n_inputs(&self) -> usize {
        self.input_operator().ncols()
    }

    /// The DMDc model, if this is one.
    #[must_use]
    pub fn dmdc(&self) -> Option<&DmdcModel> {
        match self {
            InputModel::Dmdc(m) => Some(m),
            InputModel::Subspace(_) => None,
        }
    }

    /// The subspace model, if this is one.
    #[must_use]
    pub fn subspace(&self) -> Option<&SubspaceModel> {
        match self {
            InputModel::Subspace(m) => Some(m),
            InputModel::Dmdc(_) => None,
        }
    }
}
