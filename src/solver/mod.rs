//! Optimizers over the orthogonal group `O(n)` for Procrustes over vector fields (spec §4.1):
//! find `C* = argmin_{C in O(n)} ||A - C B C^T||_F^2` for normalized `A`, `B`.
//!
//! Every solver implements [`OrthogonalSolver`], so they can be swapped and benchmarked
//! against each other:
//!
//! * [`RiemannianLbfgs`] (the default): L-BFGS on `O(n)` with a Cayley retraction and an
//!   Armijo line search, stopping on the Riemannian gradient norm, from several starts that
//!   cover both components of `O(n)`: the spectral alignment start, identity, a reflection,
//!   the symmetric-part alignment, and seeded Haar-random starts. The best start wins;
//!   it stops early once the loss meets the certified lower bound.
//! * [`CayleyAdam`]: the paper's method, `C = Cayley(W - W^T)` trained with Adam for a fixed
//!   number of iterations, with the reference's reflection restart.
//! * [`SymmetricClosedForm`]: the exact optimum for symmetric operators, `C = U_A U_B^T`.
//!
//! A solver works on a [`Problem`]: the two normalized operators with their cached
//! per-operator work ([`PreparedOperator`]: spectra, eigenvectors, the symmetric-part
//! eigenbasis, the Gauss–Newton preconditioner) and the certified [`LowerBound`], computed once
//! per problem. A solver written outside the crate gets the same: the caches, the default's
//! starting points ([`starts`]), the objective and its gradients ([`objective`]), and the
//! constructors of [`SolverOutput`] and [`SolverReport`]. `examples/custom_solver.rs` writes one
//! and runs it through the benchmark suite `dsa::bench` (`docs/benchmarking-solvers.md`).
//!
//! The layers: [`crate::similarity`] builds problems and calls solvers; nothing here calls back
//! up. The operator checks, the normalization and the bounds live here, where both use them.

mod bounds;
mod canonical;
mod cayley_adam;
mod closed_form;
mod flat;
mod lbfgs;
/// The objective, its gradients and the Cayley map, public for tests and custom solvers.
pub mod objective;
mod precondition;
mod prepared;
pub(crate) mod problem;
mod small_solve;
pub mod starts;

pub use bounds::LowerBound;
pub use canonical::Canonical;
pub use cayley_adam::CayleyAdam;
pub use closed_form::SymmetricClosedForm;
pub use lbfgs::RiemannianLbfgs;
pub use precondition::GaussNewton;
pub use prepared::PreparedOperator;
pub use problem::Problem;

/// How [`RiemannianLbfgs`] scales its steps.
///
/// The Gauss–Newton preconditioner (`2 ad_B^T ad_B` on skew matrices, damped, see
/// `docs/solvers.md`) cuts the number of iterations four- to fivefold on the ill-conditioned
/// operators DMD produces, at the price of inverting a dense matrix of size `n (n - 1) / 2`
/// once per operator `B` (Cholesky factorization and inverse, in single precision, `n^6 / 8`
/// flops; `docs/solvers.md` has the timings): worth it for small `n`.
///
/// # Example
/// ```
/// use dsa::{Preconditioner, RiemannianLbfgs};
/// let solver = RiemannianLbfgs::default().preconditioner(Preconditioner::Off);
/// # let _ = solver;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Preconditioner {
    /// Gauss–Newton for `n <= 40`, none above (the default).
    #[default]
    Auto,
    /// Gauss–Newton up to `n = 80`, none above. Each preconditioner takes about `3 n^4` bytes
    /// while it is formed (up to `6 n^4` on the rare double-precision fallback), then `n^4`
    /// bytes, and `n^6 / 8` flops (`docs/solvers.md` has the timings). A solve that is not
    /// conjugate forms two, one per operator (the reversed starts use `A`'s): peak about
    /// `4 n^4` bytes.
    GaussNewton,
    /// The usual scaled identity.
    Off,
}

impl Preconditioner {
    /// Largest `n` at which [`Preconditioner::Auto`] uses Gauss–Newton.
    pub const AUTO_MAX_N: usize = 40;
    /// Largest `n` at which [`Preconditioner::GaussNewton`] uses Gauss–Newton.
    pub const MAX_N: usize = 80;

    pub(crate) fn uses_gauss_newton(self, n: usize) -> bool {
        match self {
            Preconditioner::Auto => n <= Self::AUTO_MAX_N,
            Preconditioner::GaussNewton => n <= Self::MAX_N,
            Preconditioner::Off => false,
        }
    }
}

use std::fmt;

use faer::{Mat, MatRef};

use crate::error::Result;

/// An optimizer over `O(n)` for `min ||A - C B C^T||_F^2`.
///
/// One required method, [`OrthogonalSolver::solve_problem`], on a [`Problem`] (normalized
/// operators, square, of the same size and finite, with their caches and the certified bound;
/// [`crate::Procrustes`] builds it). [`OrthogonalSolver::solve`] is a convenience that builds
/// the problem of two matrices as given. Settings are checked by [`OrthogonalSolver::check`],
/// which [`crate::DsaBuilder::build`] and [`crate::Procrustes`] call once.
///
/// # Example
/// ```
/// use dsa::{OrthogonalSolver, RiemannianLbfgs};
/// # fn main() -> dsa::Result<()> {
/// let a: faer::Mat<f64> = faer::mat![[0.0, 1.0], [-1.0, 0.5]];
/// let a = &a * (1.0 / a.norm_l2());
/// let p = faer::mat![[0.0, 1.0], [1.0, 0.0]];
/// let b = &p * &a * p.transpose(); // a conjugate of `a` by a reflection
/// let out = RiemannianLbfgs::default().solve(a.as_ref(), b.as_ref())?;
/// assert!(out.loss < 1e-20);
/// # Ok(()) }
/// ```
///
/// A solver of one's own (`examples/custom_solver.rs` writes a complete one):
/// ```
/// use dsa::solver::{starts, Problem, SolverOutput, Start, Termination};
/// use dsa::{OrthogonalSolver, Similarity};
///
/// /// The better of the identity and the spectral start, without iterating.
/// #[derive(Debug)]
/// struct BestStart;
///
/// impl OrthogonalSolver for BestStart {
///     fn name(&self) -> &'static str {
///         "best-start"
///     }
///     fn solve_problem(&self, problem: &Problem<'_>) -> dsa::Result<SolverOutput> {
///         let mut c = starts::identity(problem);
///         let mut start = Start::Identity;
///         if let Some(s) = starts::spectral(problem)? {
///             if problem.loss(s.as_ref())? < problem.loss(c.as_ref())? {
///                 (c, start) = (s, Start::Spectral);
///             }
///         }
///         SolverOutput::from_run(self.name(), problem, c, start, 0, Termination::ClosedForm)
///     }
/// }
///
/// # fn main() -> dsa::Result<()> {
/// let a = faer::mat![[0.9, 0.2], [-0.2, 0.9]];
/// let cmp = dsa::Procrustes::with_solver(BestStart).compare(a.as_ref(), a.transpose())?;
/// assert!(cmp.angular < 1e-8 && cmp.report.best_start == Start::Spectral);
/// # Ok(()) }
/// ```
pub trait OrthogonalSolver: fmt::Debug + Send + Sync {
    /// A short name for reports and benchmarks.
    fn name(&self) -> &'static str;

    /// Minimize over `O(n)` on `problem` (of any size `n >= 0`).
    ///
    /// # Errors
    /// Invalid settings ([`crate::DsaError::InvalidParameter`]), a decomposition that does not
    /// converge ([`crate::DsaError::NoConvergence`]), a loss that overflows
    /// ([`crate::DsaError::Degenerate`]).
    fn solve_problem(&self, problem: &Problem<'_>) -> Result<SolverOutput>;

    /// Checks the settings (the default: nothing to check). [`crate::DsaBuilder::build`] and
    /// [`crate::Procrustes`] call it once, so that invalid settings are reported before any
    /// pair is compared.
    ///
    /// # Errors
    /// [`crate::DsaError::InvalidParameter`] naming the first invalid setting.
    fn check(&self) -> Result<()> {
        Ok(())
    }

    /// A local descent from `c0` on `problem` (to this solver's final tolerance), for callers
    /// that know a good start: [`crate::Dsa`] repairs a pairwise matrix's triangle
    /// inequalities with it, from composed alignments. The default returns `Ok(None)`: the
    /// solver has no warm start, and such repairs are skipped.
    ///
    /// # Errors
    /// As [`OrthogonalSolver::solve_problem`]; a start that is not `n x n`.
    ///
    /// # Example
    /// ```
    /// use dsa::solver::{OrthogonalSolver, Problem};
    /// # fn main() -> dsa::Result<()> {
    /// let a = faer::mat![[0.5, 1.0], [0.0, 0.3]];
    /// let problem = Problem::normalized(a.as_ref(), a.as_ref())?;
    /// let c0 = faer::Mat::<f64>::identity(2, 2);
    /// let out = dsa::RiemannianLbfgs::default().refine(&problem, c0.as_ref())?.expect("warm starts");
    /// assert!(out.loss < 1e-24);
    /// assert!(dsa::CayleyAdam::default().refine(&problem, c0.as_ref())?.is_none());
    /// # Ok(()) }
    /// ```
    fn refine(&self, problem: &Problem<'_>, c0: MatRef<'_, f64>) -> Result<Option<SolverOutput>> {
        let _ = (problem, c0);
        Ok(None)
    }

    /// Minimize over `O(n)` for two matrices as given (not normalized: normalize them first,
    /// or use [`Problem::normalized`] and [`OrthogonalSolver::solve_problem`]).
    ///
    /// # Errors
    /// Invalid settings, non-square or non-finite operators or operators of different sizes
    /// ([`crate::DsaError::ShapeMismatch`], [`crate::DsaError::NonFinite`]), and the errors of
    /// [`OrthogonalSolver::solve_problem`].
    fn solve(&self, a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Result<SolverOutput> {
        self.check()?;
        self.solve_problem(&Problem::from_matrices(a, b)?)
    }
}

/// What a solver returns: the orthogonal matrix, its loss, and how it got there.
///
/// # Example
/// ```
/// use dsa::solver::{Problem, SolverOutput, SolverReport, Start, Termination};
/// # fn main() -> dsa::Result<()> {
/// let a = faer::mat![[0.9, 0.2], [-0.2, 0.9]];
/// let problem = Problem::normalized(a.as_ref(), a.as_ref())?;
/// let c = faer::Mat::<f64>::identity(2, 2);
/// let mut report = SolverReport::new("mine", Start::Identity, Termination::ClosedForm);
/// report.converged = true;
/// let out = SolverOutput::new(c.clone(), problem.loss(c.as_ref())?, report);
/// assert_eq!(out.loss, 0.0);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SolverOutput {
    /// The best orthogonal `C` found.
    pub c: Mat<f64>,
    /// `||A - C B C^T||_F^2` at `c` (normalized operators).
    pub loss: f64,
    /// How the solver ran.
    pub report: SolverReport,
}

impl SolverOutput {
    /// An output from its parts.
    #[must_use]
    pub fn new(c: Mat<f64>, loss: f64, report: SolverReport) -> Self {
        Self { c, loss, report }
    }

    /// The output of a solver that ran from one start to `c`: the loss and the Riemannian
    /// gradient norm computed at `c`, `converged` as [`SolverReport::converged`] defines it from
    /// `termination` (for [`Termination::Stagnated`], a gradient norm at rounding level,
    /// `<= 1e-8`), one [`StartOutcome`].
    ///
    /// # Errors
    /// [`crate::DsaError::ShapeMismatch`] if `c` is not `n x n`;
    /// [`crate::DsaError::Degenerate`] if the loss overflows.
    ///
    /// # Example
    /// ```
    /// use dsa::solver::{starts, Problem, SolverOutput, Start, Termination};
    /// # fn main() -> dsa::Result<()> {
    /// let a = faer::mat![[0.9, 0.2], [-0.2, 0.9]];
    /// let problem = Problem::normalized(a.as_ref(), a.as_ref())?;
    /// let out = SolverOutput::from_run("mine", &problem, starts::identity(&problem), Start::Identity, 0, Termination::GradientTolerance)?;
    /// assert!(out.loss == 0.0 && out.report.converged && out.report.starts.len() == 1);
    /// # Ok(()) }
    /// ```
    pub fn from_run(
        solver: &'static str,
        problem: &Problem<'_>,
        c: Mat<f64>,
        start: Start,
        iterations: usize,
        termination: Termination,
    ) -> Result<Self> {
        let loss = problem.loss(c.as_ref())?;
        Self::one_start(
            solver,
            problem.a().matrix(),
            problem.b().matrix(),
            c,
            loss,
            start,
            iterations,
            termination,
            |gn| converged(termination, gn),
        )
    }

    /// The output of the `0 x 0` problem: nothing to optimize.
    pub(crate) fn empty(solver: &'static str) -> Self {
        Self {
            c: Mat::zeros(0, 0),
            loss: 0.0,
            report: SolverReport {
                solver,
                iterations: 0,
                termination: Termination::ClosedForm,
                converged: true,
                grad_norm: 0.0,
                best_start: Start::ClosedForm,
                starts: Vec::new(),
                kicks: 0,
                kicks_improved: 0,
            },
        }
    }

    /// The output of a solve that ran from one start and ended at `c` with `loss`:
    /// `converged` decides from the final Riemannian gradient norm.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn one_start(
        solver: &'static str,
        a: MatRef<'_, f64>,
        b: MatRef<'_, f64>,
        c: Mat<f64>,
        loss: f64,
        start: Start,
        iterations: usize,
        termination: Termination,
        converged: impl FnOnce(f64) -> bool,
    ) -> Result<Self> {
        let grad_norm = grad_norm_at(a, b, c.as_ref());
        check_loss(loss)?;
        Ok(Self {
            c,
            loss,
            report: SolverReport {
                solver,
                iterations,
                termination,
                converged: converged(grad_norm),
                grad_norm,
                best_start: start,
                starts: vec![StartOutcome {
                    start,
                    loss,
                    iterations,
                    termination,
                }],
                kicks: 0,
                kicks_improved: 0,
            },
        })
    }
}

/// Whether a run that ended with `term` at a point of Riemannian gradient norm `grad_norm`
/// reached what it was after: a stationary point, the certified optimum or a closed form.
pub(crate) fn converged(term: Termination, grad_norm: f64) -> bool {
    match term {
        Termination::GradientTolerance
        | Termination::LowerBoundReached
        | Termination::ClosedForm => true,
        // no descent possible at machine precision and a gradient at rounding level
        Termination::Stagnated => grad_norm <= 1e-8,
        Termination::MaxIterations | Termination::TimeLimit => false,
    }
}

/// Why a solver stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Termination {
    /// The Riemannian gradient norm fell below the tolerance: a stationary point.
    GradientTolerance,
    /// The loss met the certified lower bound: a global optimum.
    LowerBoundReached,
    /// The iteration limit was reached (the only way a fixed-iteration solver stops).
    MaxIterations,
    /// The loss stopped decreasing (no step along the search direction lowered it).
    Stagnated,
    /// The time limit was reached.
    TimeLimit,
    /// An exact closed form, no iterations.
    ClosedForm,
}

/// Where a local optimization started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Start {
    /// The spectral alignment start (spec §4.1): eigenvectors matched, phases from Gram matrices.
    Spectral,
    /// The spectral alignment start computed on the transposed operators.
    SpectralTransposed,
    /// The identity.
    Identity,
    /// `diag(-1, 1, ..., 1)`: the other component of `O(n)`.
    Reflection,
    /// The identity, run on the reversed pair `(B, A)` (the answer transposed): the same start
    /// as [`Start::Identity`] on another descent path.
    IdentityReversed,
    /// The reflection, run on the reversed pair `(B, A)` (the answer transposed).
    ReflectionReversed,
    /// Eigenvectors of the symmetric parts aligned, `U_{A_s} U_{B_s}^T`.
    SymmetricAlignment,
    /// `U_{A_s} D U_{B_s}^T` with the `k`-th sign pattern `D` aligning the skew parts.
    SignedSymmetric(usize),
    /// The `k`-th seeded Haar-random orthogonal matrix (run by [`RiemannianLbfgs`] on the
    /// reversed pair `(B, A)`, the answer transposed: in terms of `C` it starts from the
    /// transpose of that matrix).
    ///
    /// [`RiemannianLbfgs`]: crate::RiemannianLbfgs
    Random(usize),
    /// The identity with the first two coordinates of `B` swapped (the reference's restart).
    Swap,
    /// A closed form (no start).
    ClosedForm,
    /// The `k`-th perturbation hop from the best point so far.
    Hop(usize),
    /// The `k`-th sign-flip kick of the incumbent ([`RiemannianLbfgs::kicks`]).
    Kick(usize),
    /// The answer of the paper's solver (Cayley + Adam), refined.
    Paper,
    /// A start given by the caller ([`RiemannianLbfgs::solve_from`]).
    Given,
}

/// One local run from one start.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct StartOutcome {
    /// Where it started.
    pub start: Start,
    /// Its final loss.
    pub loss: f64,
    /// Its iterations.
    pub iterations: usize,
    /// Why it stopped.
    pub termination: Termination,
}

impl StartOutcome {
    /// The outcome of a run from `start` that ended with `loss` after `iterations`, for
    /// `termination`.
    ///
    /// # Example
    /// ```
    /// use dsa::solver::{Start, StartOutcome, Termination};
    /// let o = StartOutcome::new(Start::Random(3), 0.25, 40, Termination::GradientTolerance);
    /// assert_eq!(o.iterations, 40);
    /// ```
    #[must_use]
    pub fn new(start: Start, loss: f64, iterations: usize, termination: Termination) -> Self {
        Self {
            start,
            loss,
            iterations,
            termination,
        }
    }
}

/// A solver's account of its run.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SolverReport {
    /// The solver's name.
    pub solver: &'static str,
    /// Iterations over all starts (for [`RiemannianLbfgs`], its L-BFGS iterations; the paper
    /// start's Adam iterations appear in that start's [`StartOutcome`] only).
    pub iterations: usize,
    /// Why the winning run stopped.
    pub termination: Termination,
    /// True when the winning run reached a stationary point (gradient tolerance), the lower
    /// bound, or is a closed form; false when it was stopped by an iteration or time limit or
    /// stagnated with a gradient above tolerance.
    pub converged: bool,
    /// Frobenius norm of the Riemannian gradient `skew(C^T G)` at the returned `C`.
    pub grad_norm: f64,
    /// Which start won.
    pub best_start: Start,
    /// Every start's outcome, in the order they ran.
    pub starts: Vec<StartOutcome>,
    /// Sign-flip kicks of the incumbent that ran ([`RiemannianLbfgs::kicks`]; 0 for other
    /// solvers): with [`SolverReport::starts`], the effort the search spent.
    pub kicks: usize,
    /// Those of [`SolverReport::kicks`] that found a deeper minimum.
    pub kicks_improved: usize,
}

impl SolverReport {
    /// A report of `solver` whose winning run started from `best_start` and stopped for
    /// `termination`; the rest is set field by field (no iterations, not converged, a NaN
    /// gradient norm and no start outcomes until then).
    ///
    /// # Example
    /// ```
    /// use dsa::solver::{SolverReport, Start, StartOutcome, Termination};
    /// let mut report = SolverReport::new("mine", Start::Identity, Termination::MaxIterations);
    /// report.iterations = 100;
    /// report.starts.push(StartOutcome::new(Start::Identity, 0.5, 100, Termination::MaxIterations));
    /// assert!(!report.converged);
    /// ```
    #[must_use]
    pub fn new(solver: &'static str, best_start: Start, termination: Termination) -> Self {
        Self {
            solver,
            iterations: 0,
            termination,
            converged: false,
            grad_norm: f64::NAN,
            best_start,
            starts: Vec::new(),
            kicks: 0,
            kicks_improved: 0,
        }
    }
}

/// Frobenius norm of the trivialized Riemannian gradient at `c`.
pub(crate) fn grad_norm_at(a: MatRef<'_, f64>, b: MatRef<'_, f64>, c: MatRef<'_, f64>) -> f64 {
    let n = a.nrows();
    let mut ev = objective::Evaluator::new(b);
    ev.loss(a, c);
    let mut g = vec![0.0; precondition::packed_len(n)];
    ev.gradient(&mut g);
    flat::dot(&g, &g).sqrt()
}

/// A loss that overflowed means the operators were far from normalized.
pub(crate) fn check_loss(loss: f64) -> Result<()> {
    if loss.is_finite() {
        Ok(())
    } else {
        Err(crate::error::DsaError::Degenerate {
            what: "the loss overflowed: normalize the operators to unit Frobenius norm first (Procrustes does this)".into(),
        })
    }
}
