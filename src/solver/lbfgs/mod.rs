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

use super::{converged, OrthogonalSolver, Problem, SolverOutput, Start, Termination};
use crate::error::{DsaError, Result};
use crate::linalg;

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
        if self.canonical {
            self.solve_canonical(problem, None)
        } else {
            self.solve_portfolio(problem, None, false)
        }
    }

    /// One local run from `c0` to the final tolerance: in the canonical bases (mapped there
    /// and back) unless [`RiemannianLbfgs::canonical`] is off.
    fn refine(&self, problem: &Problem<'_>, c0: MatRef<'_, f64>) -> Result<Option<SolverOutput>> {
        let n = problem.size();
        if c0.nrows() != n || c0.ncols() != n || !c0.is_all_finite() {
            return Err(DsaError::ShapeMismatch {
                what: format!("the start must be a finite {n} x {n} orthogonal matrix"),
            });
        }
        if n == 0 {
            return Ok(Some(SolverOutput::empty(self.name())));
        }
        self.check_settings()?;
        if self.canonical {
            self.solve_canonical(problem, Some(c0)).map(Some)
        } else {
            self.solve_problem_from(problem, c0).map(Some)
        }
    }
}

/// A distance within this of the certified bound, not meeting it, is retried on the exact
/// canonical pair (see [`RiemannianLbfgs::solve_canonical`]).
const NEAR_CERTIFIED: f64 = 1e-4;

impl RiemannianLbfgs {
    /// The portfolio in the operators' canonical bases (spec §4.4): it searches on the
    /// canonical operators rounded to a grid ([`crate::solver::Canonical::search`]), polishes
    /// its answer on the exact canonical operators, and maps it back, `C = Q_A C~ Q_B^T`.
    /// Everything it computes is a function of the two canonical operators, so two bases of the
    /// same pair give the same answer.
    /// `start`: one local run from it (given in the operators' own bases) instead of the
    /// portfolio.
    fn solve_canonical(
        &self,
        problem: &Problem<'_>,
        start: Option<MatRef<'_, f64>>,
    ) -> Result<SolverOutput> {
        // each operator's canonical form and the spectra of its bounds, side by side
        fn canonical(p: &crate::PreparedOperator) -> Result<&crate::solver::Canonical> {
            p.warm_bounds();
            p.canonical()
        }
        let (ca, cb) = rayon::join(|| canonical(problem.a()), || canonical(problem.b()));
        let (ca, cb) = (ca?, cb?);
        let search = Problem::new(ca.search(), cb.search())?;
        let exact = portfolio::Exact {
            a: ca.matrix(),
            b: cb.matrix(),
            bound: problem.lower_bound()?.best(),
        };
        let mut out = match start {
            None => self.solve_portfolio(&search, Some(&exact), false)?,
            Some(c0) => {
                let c0 = linalg::mul(linalg::mul(ca.basis().transpose(), c0).as_ref(), cb.basis());
                self.solve_problem_from(&search, c0.as_ref())?
            }
        };
        if out.report.termination != Termination::LowerBoundReached {
            // the rounded pair's minimum, polished on the exact pair (preconditioned on the
            // rounded B, which differs from the exact one by rounding)
            let n = problem.size();
            let mut own = None;
            let pc = portfolio::preconditioner(self.uses_gauss_newton(n), cb.search(), &mut own);
            let mut ws = Workspace::new(exact.b, self.memory, pc);
            ws.cap_first = true;
            let deadline = self.time_limit.and_then(|d| Instant::now().checked_add(d));
            let run = self.local(
                exact.a,
                out.c.as_ref(),
                &mut ws,
                deadline,
                self.max_iters,
                self.grad_rtol,
            );
            out.report.iterations += run.iters;
            if run.loss <= super::objective::loss(exact.a, exact.b, out.c.as_ref()) {
                out.c = run.c;
                if run.term == Termination::GradientTolerance
                    || out.report.termination != Termination::GradientTolerance
                {
                    out.report.termination = run.term;
                }
            }
        }
        // A near-conjugate pair whose answer came close to the certified bound without meeting
        // it: the phases of the portfolio that certify conjugate pairs (the structured starts
        // and the spectral start's run), on the exact canonical pair; their answer is taken
        // only if it is certified (the global optimum, whatever the bases). The search grid is
        // a relative change of about 1e-9 of each operator: where the spectrum is nearly
        // defective, enough to move the eigenvectors that the spectral start relies on by far
        // more.
        if out.report.termination != Termination::LowerBoundReached {
            let d = super::objective::loss(exact.a, exact.b, out.c.as_ref())
                .max(0.0)
                .sqrt();
            let gap = d - exact.bound;
            if gap <= self.bound_tol {
                // the polish on the exact pair met the bound
                out.report.termination = Termination::LowerBoundReached;
            } else if gap < NEAR_CERTIFIED {
                let direct = Problem::new(ca.exact(), cb.exact())?;
                let again = self.solve_portfolio(&direct, Some(&exact), true)?;
                if again.report.termination == Termination::LowerBoundReached {
                    let searched = out.report.iterations;
                    out = again;
                    out.report.iterations += searched;
                }
            }
        }
        // back to the operators' own bases
        let (a, b) = (problem.a().matrix(), problem.b().matrix());
        let c = linalg::mul(
            linalg::mul(ca.basis(), out.c.as_ref()).as_ref(),
            cb.basis().transpose(),
        );
        out.loss = super::objective::loss(a, b, c.as_ref());
        out.report.grad_norm = super::grad_norm_at(a, b, c.as_ref());
        out.report.converged = converged(out.report.termination, out.report.grad_norm);
        super::check_loss(out.loss)?;
        out.c = c;
        Ok(out)
    }
}
