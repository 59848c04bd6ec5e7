//! The closed form for symmetric operators (spec §4.1 (iii)).

use super::{starts, OrthogonalSolver, Problem, SolverOutput, Start, Termination};
use crate::error::Result;

/// `C = U_A U_B^T` from the eigenvectors of the symmetric parts, sorted alike: the exact
/// optimum when `A` and `B` are symmetric (then the distance equals the lower bound
/// `||lambda(A) - lambda(B)||`). For non-symmetric operators it is only a heuristic, and the
/// report says `converged = false` unless the gradient vanishes.
///
/// # Example
/// ```
/// use dsa::{OrthogonalSolver, SymmetricClosedForm};
/// # fn main() -> dsa::Result<()> {
/// let a: faer::Mat<f64> = faer::mat![[2.0, 1.0], [1.0, 0.0]];
/// let a = &a * (1.0 / a.norm_l2());
/// let q = faer::mat![[0.6, -0.8], [0.8, 0.6]];
/// let b = &q * &a * q.transpose();
/// let out = SymmetricClosedForm.solve(a.as_ref(), b.as_ref())?;
/// assert!(out.loss < 1e-26);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SymmetricClosedForm;

impl OrthogonalSolver for SymmetricClosedForm {
    fn name(&self) -> &'static str {
        "symmetric-closed-form"
    }

    fn solve_problem(&self, problem: &Problem<'_>) -> Result<SolverOutput> {
        if problem.size() == 0 {
            return Ok(SolverOutput::empty(self.name()));
        }
        let (a, b) = (problem.a().matrix(), problem.b().matrix());
        let c = starts::symmetric_alignment(problem)?;
        let loss = super::objective::loss(a, b, c.as_ref());
        SolverOutput::one_start(
            self.name(),
            a,
            b,
            c,
            loss,
            Start::ClosedForm,
            0,
            Termination::ClosedForm,
            |gn| gn <= 1e-8,
        )
    }
}
