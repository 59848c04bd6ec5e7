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

mod cayley_adam;
mod closed_form;
mod flat;
mod lbfgs;
/// The objective, its gradients and the Cayley map, public for tests and custom solvers.
pub mod objective;
mod precondition;
mod prepared;
mod small_solve;
pub(crate) mod starts;

pub use cayley_adam::CayleyAdam;
pub use closed_form::SymmetricClosedForm;
pub use lbfgs::RiemannianLbfgs;
pub use prepared::PreparedOperator;

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
/// Implementations receive `A` and `B` already normalized to unit Frobenius norm, square, of
/// the same size and finite; [`crate::Procrustes`] takes care of that.
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
pub trait OrthogonalSolver: fmt::Debug + Send + Sync {
    /// Minimize over `O(n)`.
    ///
    /// # Errors
    /// A decomposition that does not converge ([`crate::DsaError::NoConvergence`]).
    fn solve(&self, a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Result<SolverOutput>;

    /// [`OrthogonalSolver::solve`] on prepared operators, whose cached per-operator work
    /// (spectra, eigenvectors, preconditioner) a solver may reuse. The default ignores the
    /// cache and calls `solve` on [`PreparedOperator::matrix`]; the result must be the same as
    /// `solve`'s on those matrices.
    ///
    /// # Errors
    /// As [`OrthogonalSolver::solve`].
    fn solve_prepared(&self, a: &PreparedOperator, b: &PreparedOperator) -> Result<SolverOutput> {
        self.solve(a.matrix(), b.matrix())
    }

    /// A short name for reports and benchmarks.
    fn name(&self) -> &'static str;
}

/// What a solver returns: the orthogonal matrix, its loss, and how it got there.
#[derive(Debug, Clone, PartialEq)]
pub struct SolverOutput {
    /// The best orthogonal `C` found.
    pub c: Mat<f64>,
    /// `||A - C B C^T||_F^2` at `c` (normalized operators).
    pub loss: f64,
    /// How the solver ran.
    pub report: SolverReport,
}

impl SolverOutput {
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
            },
        })
    }
}

/// Why a solver stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// The answer of the paper's solver (Cayley + Adam), refined.
    Paper,
    /// A start given by the caller ([`RiemannianLbfgs::solve_from`]).
    Given,
}

/// One local run from one start.
#[derive(Debug, Clone, Copy, PartialEq)]
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

/// A solver's account of its run.
#[derive(Debug, Clone, PartialEq)]
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

/// Checks every solver runs first: square operators of the same size with finite entries.
/// Returns `Some(output)` for the trivial `0 x 0` problem.
pub(crate) fn validate(
    name: &'static str,
    a: MatRef<'_, f64>,
    b: MatRef<'_, f64>,
) -> Result<Option<SolverOutput>> {
    use crate::error::DsaError;
    if a.nrows() != a.ncols() || b.nrows() != b.ncols() || a.nrows() != b.nrows() {
        return Err(DsaError::ShapeMismatch {
            what: format!(
                "a solver needs two square operators of the same size, got {} x {} and {} x {}",
                a.nrows(),
                a.ncols(),
                b.nrows(),
                b.ncols()
            ),
        });
    }
    for (m, label) in [(a, "A"), (b, "B")] {
        if !m.is_all_finite() {
            return Err(DsaError::NonFinite {
                input: format!("operator {label}"),
                location: "some entry".into(),
                value: f64::NAN,
            });
        }
    }
    if a.nrows() == 0 {
        return Ok(Some(SolverOutput {
            c: Mat::zeros(0, 0),
            loss: 0.0,
            report: SolverReport {
                solver: name,
                iterations: 0,
                termination: Termination::ClosedForm,
                converged: true,
                grad_norm: 0.0,
                best_start: Start::ClosedForm,
                starts: Vec::new(),
            },
        }));
    }
    Ok(None)
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
