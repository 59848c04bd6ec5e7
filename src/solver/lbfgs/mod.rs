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

use super::{converged, OrthogonalSolver, Problem, SolverOutput, Start};
use crate::error::{DsaError, Result};

impl RiemannianLbfgs {
    /// One local run from the given start `c0`, none of the portfolio's: for benchmarking and
    /// tests. `a` and `b` as given (see [`OrthogonalSolver::solve`]).
    ///
    /// # Errors
    /// As [`OrthogonalSolver::solve`]; [`DsaError::ShapeMismatch`] for a start that is not a
    /// finite `n x n` matrix.
    ///
    /// # Example
    /// ```
    /// use dsa::RiemannianLbfgs;
    /// # fn main() -> dsa::Result<()> {
    /// let a: faer::Mat<f64> = faer::mat![[0.5, 1.0, 0.0], [0.0, 0.3, 1.0], [0.2, 0.0, 0.1]];
    /// let a = &a * (1.0 / a.norm_l2());
    /// let c0 = faer::Mat::<f64>::identity(3, 3);
    /// let out = RiemannianLbfgs::default().solve_from(a.as_ref(), a.as_ref(), c0.as_ref())?;
    /// assert_eq!(out.report.best_start, dsa::Start::Given);
    /// # Ok(()) }
    /// ```
    pub fn solve_from(
        &self,
        a: MatRef<'_, f64>,
        b: MatRef<'_, f64>,
        c0: MatRef<'_, f64>,
    ) -> Result<SolverOutput> {
        self.check_settings()?;
        self.solve_problem_from(&Problem::from_matrices(a, b)?, c0)
    }

    /// One local run from the given start `c0` on `problem` (its cached preconditioner reused):
    /// for benchmarking, and for heavy searches from many starts.
    ///
    /// # Errors
    /// As [`OrthogonalSolver::solve_problem`]; [`DsaError::ShapeMismatch`] for a start that is
    /// not a finite `n x n` matrix.
    ///
    /// # Example
    /// ```
    /// use dsa::solver::{starts, Problem};
    /// use dsa::RiemannianLbfgs;
    /// # fn main() -> dsa::Result<()> {
    /// let a = faer::mat![[0.5, 1.0, 0.0], [0.0, 0.3, 1.0], [0.2, 0.0, 0.1]];
    /// let b = faer::mat![[0.1, 0.0, 0.4], [1.0, 0.2, 0.0], [0.0, 1.0, 0.3]];
    /// let problem = Problem::normalized(a.as_ref(), b.as_ref())?;
    /// let solver = RiemannianLbfgs::default();
    /// let best = (0..8)
    ///     .map(|k| solver.solve_problem_from(&problem, starts::haar(&problem, 1, k).as_ref()))
    ///     .map(|out| out.map(|o| o.loss))
    ///     .collect::<dsa::Result<Vec<f64>>>()?
    ///     .into_iter()
    ///     .fold(f64::INFINITY, f64::min);
    /// assert!(best.sqrt() >= problem.lower_bound()?.best() - 1e-12);
    /// # Ok(()) }
    /// ```
    pub fn solve_problem_from(
        &self,
        problem: &Problem<'_>,
        c0: MatRef<'_, f64>,
    ) -> Result<SolverOutput> {
        self.check_settings()?;
        let n = problem.size();
        if c0.nrows() != n || c0.ncols() != n || !c0.is_all_finite() {
            return Err(DsaError::ShapeMismatch {
                what: format!("the start must be a finite {n} x {n} orthogonal matrix"),
            });
        }
        if n == 0 {
            return Ok(SolverOutput::empty(self.name()));
        }
        let (a, b) = (problem.a().matrix(), problem.b().matrix());
        let mut own = None;
        let pc = portfolio::preconditioner(self.uses_gauss_newton(n), problem.b(), &mut own);
        let mut ws = Workspace::new(b, self.memory, pc);
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

impl OrthogonalSolver for RiemannianLbfgs {
    fn name(&self) -> &'static str {
        "riemannian-lbfgs"
    }

    fn check(&self) -> Result<()> {
        self.check_settings()
    }

    /// Settings are checked again here (a few comparisons): a direct call with invalid
    /// settings is an error, not a panic.
    fn solve_problem(&self, problem: &Problem<'_>) -> Result<SolverOutput> {
        if problem.size() == 0 {
            return Ok(SolverOutput::empty(self.name()));
        }
        self.check_settings()?;
        self.solve_portfolio(problem)
    }
}
