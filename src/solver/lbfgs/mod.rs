//! Riemannian L-BFGS on `O(n)` with several starts: the crate's default solver.
//!
//! * [`settings`]: [`RiemannianLbfgs`], its builder, presets and checks;
//! * [`portfolio`]: the multi-start portfolio, phase by phase;
//! * [`local`]: one local run (or several in lockstep) and its workspace;
//! * [`memory`]: the ring of curvature pairs and the warm state handed to the polish.

mod local;
mod memory;
mod portfolio;
mod settings;

pub use settings::RiemannianLbfgs;

use std::time::Instant;

use faer::prelude::*;

use local::Workspace;

use super::precondition::GaussNewton;
use super::PreparedOperator;
use super::{OrthogonalSolver, SolverOutput, Start, Termination};
use crate::error::{DsaError, Result};

impl RiemannianLbfgs {
    /// One local run from the given start `c0`, none of the portfolio's: for benchmarking and
    /// tests.
    ///
    /// # Errors
    /// As [`OrthogonalSolver::solve`].
    pub fn solve_from(
        &self,
        a: MatRef<'_, f64>,
        b: MatRef<'_, f64>,
        c0: MatRef<'_, f64>,
    ) -> Result<SolverOutput> {
        self.check_settings()?;
        if let Some(trivial) = super::validate(self.name(), a, b)? {
            return Ok(trivial);
        }
        if c0.nrows() != a.nrows() || c0.ncols() != a.ncols() || !c0.is_all_finite() {
            return Err(DsaError::ShapeMismatch {
                what: format!(
                    "the start must be a finite {} x {} orthogonal matrix",
                    a.nrows(),
                    a.nrows()
                ),
            });
        }
        let pc = self
            .uses_gauss_newton(b.nrows())
            .then(|| GaussNewton::new(b))
            .flatten();
        let mut ws = Workspace::new(b, self.memory, pc.as_ref());
        let deadline = self.time_limit.and_then(|d| Instant::now().checked_add(d));
        let run = self.local(a, c0, &mut ws, deadline, self.max_iters, self.grad_rtol);
        let loss = super::objective::loss(a, b, run.c.as_ref());
        SolverOutput::one_start(
            self.name(),
            a,
            b,
            run.c,
            loss,
            Start::Given,
            run.iters,
            run.term,
            |gn| converged(run.term, gn),
        )
    }
}

/// Whether a run that ended with `term` and a gradient norm `grad_norm` reached what it was
/// after: a stationary point, the certified optimum or a closed form.
fn converged(term: Termination, grad_norm: f64) -> bool {
    match term {
        Termination::GradientTolerance
        | Termination::LowerBoundReached
        | Termination::ClosedForm => true,
        // no descent possible at machine precision and a gradient at rounding level
        Termination::Stagnated => grad_norm <= 1e-8,
        Termination::MaxIterations | Termination::TimeLimit => false,
    }
}

impl OrthogonalSolver for RiemannianLbfgs {
    fn name(&self) -> &'static str {
        "riemannian-lbfgs"
    }

    fn solve(&self, a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Result<SolverOutput> {
        self.solve_prepared(
            &PreparedOperator::as_given(a),
            &PreparedOperator::as_given(b),
        )
    }

    fn solve_prepared(&self, pa: &PreparedOperator, pb: &PreparedOperator) -> Result<SolverOutput> {
        if let Some(trivial) = super::validate(self.name(), pa.matrix(), pb.matrix())? {
            return Ok(trivial);
        }
        self.check_settings()?;
        self.solve_portfolio(pa, pb)
    }
}
