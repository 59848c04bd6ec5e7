//! Stage 3 of the pipeline: comparing two fitted operators (spec §4).
//!
//! * [`Procrustes`]: Procrustes analysis over vector fields. Normalize `Ah = A/||A||_F`,
//!   `Bh = B/||B||_F`, find `C* = argmin_{C in O(n)} ||Ah - C Bh C^T||_F` with an
//!   [`OrthogonalSolver`], report
//!   `euclidean = ||Ah - C* Bh C*^T||_F` and `angular = 2 asin(euclidean / 2)`
//!   (`= arccos <Ah, C* Bh C*^T>`, computed in the form that stays accurate near 0),
//!   with certified lower bounds.
//! * [`SpectralDistance`]: the Wasserstein distance between spectra.

mod spectral;

pub use crate::solver::LowerBound;
pub use spectral::{SpectralComparison, SpectralDistance};

use std::sync::Arc;

use faer::prelude::*;

use crate::error::{DsaError, Result};
use crate::solver::problem::check_operator;
use crate::solver::{
    OrthogonalSolver, PreparedOperator, Problem, RiemannianLbfgs, SolverOutput, SolverReport,
};

/// Compare two operators.
///
/// # Example
/// ```
/// use dsa::{Procrustes, Similarity};
/// # fn main() -> dsa::Result<()> {
/// let a = faer::mat![[0.9, 0.2], [-0.2, 0.9]];
/// let cmp = Procrustes::default().compare(a.as_ref(), a.transpose())?;
/// assert!(cmp.angular < 1e-8); // a rotation and its inverse are conjugate by a reflection
/// # Ok(()) }
/// ```
pub trait Similarity {
    /// What a comparison returns.
    type Output;

    /// Compare `a` with `b`.
    ///
    /// # Errors
    /// Non-square, non-finite or zero operators; sizes the method cannot handle.
    fn compare(&self, a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Result<Self::Output>;
}

/// Which number a comparison reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub enum Score {
    /// Angular Procrustes distance in `[0, pi]` (the paper's metric; the default).
    #[default]
    Angular,
    /// Euclidean Procrustes distance `||Ah - C Bh C^T||_F` in `[0, 2]`.
    Euclidean,
    /// Squared 2-Wasserstein distance between spectra (the reference's Wasserstein score).
    Wasserstein,
}

/// What to do when two operators have different sizes (spec §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub enum SizeMismatch {
    /// Return [`DsaError::SizeMismatch`] (the default).
    #[default]
    Error,
    /// Zero-pad the smaller operator to the larger size, then compare.
    ZeroPad,
    /// Use the spectral (Wasserstein) score for that pair, as the reference does silently.
    Spectral,
}

/// Procrustes analysis over vector fields with a pluggable solver (default:
/// [`RiemannianLbfgs`]).
///
/// # Example
/// ```
/// use dsa::{CayleyAdam, Procrustes, Similarity};
/// # fn main() -> dsa::Result<()> {
/// let a = faer::mat![[0.5, 1.0, 0.0], [0.0, 0.5, 1.0], [0.3, 0.0, 0.2]];
/// let paper = Procrustes::with_solver(CayleyAdam::default()).compare(a.as_ref(), a.as_ref())?;
/// let exact = Procrustes::default().compare(a.as_ref(), a.as_ref())?;
/// assert!(exact.euclidean <= paper.euclidean + 1e-12);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Procrustes {
    solver: Arc<dyn OrthogonalSolver>,
    sizes: SizeMismatch,
    /// the solver's settings, checked once when this was built ([`OrthogonalSolver::check`]):
    /// an error is returned by every comparison
    solver_check: Result<()>,
}

impl Default for Procrustes {
    fn default() -> Self {
        Self::with_shared_solver(Arc::new(RiemannianLbfgs::default()))
    }
}

impl Procrustes {
    /// With the default solver.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// With a given solver. Its settings are checked here, once ([`OrthogonalSolver::check`]);
    /// invalid ones make every comparison return that error.
    ///
    /// # Example
    /// ```
    /// use dsa::{CayleyAdam, Procrustes, Similarity};
    /// let bad = Procrustes::with_solver(CayleyAdam::default().lr(-1.0));
    /// let a = faer::mat![[1.0, 0.0], [0.0, 2.0]];
    /// let err = bad.compare(a.as_ref(), a.as_ref()).unwrap_err();
    /// assert!(matches!(err, dsa::DsaError::InvalidParameter { name: "lr", .. }));
    /// ```
    #[must_use]
    pub fn with_solver<S: OrthogonalSolver + 'static>(solver: S) -> Self {
        Self::with_shared_solver(Arc::new(solver))
    }

    /// With a shared solver (its settings checked once, as for [`Procrustes::with_solver`]).
    #[must_use]
    pub fn with_shared_solver(solver: Arc<dyn OrthogonalSolver>) -> Self {
        let solver_check = solver.check();
        Self {
            solver,
            sizes: SizeMismatch::Error,
            solver_check,
        }
    }

    /// Size policy: only [`SizeMismatch::Error`] and [`SizeMismatch::ZeroPad`] apply here
    /// ([`SizeMismatch::Spectral`] is handled by [`crate::Dsa`] and [`crate::operator_distance`]
    /// and behaves as `Error` in `Procrustes` itself).
    #[must_use]
    pub fn size_mismatch(mut self, policy: SizeMismatch) -> Self {
        self.sizes = policy;
        self
    }

    /// The solver in use.
    #[must_use]
    pub fn solver(&self) -> &dyn OrthogonalSolver {
        &*self.solver
    }
}

/// The result of a Procrustes comparison.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Comparison {
    /// `2 asin(euclidean / 2)`, in `[0, pi]`.
    pub angular: f64,
    /// `||Ah - C Bh C^T||_F`, in `[0, 2]`.
    pub euclidean: f64,
    /// The orthogonal `C` found.
    pub c: Mat<f64>,
    /// `euclidean^2`, the solver's objective.
    pub loss: f64,
    /// Certified lower bounds on the Euclidean distance.
    pub lower_bound: LowerBound,
    /// `euclidean - lower_bound.best()` (>= 0 up to rounding): how far the answer can be from
    /// the global optimum.
    pub gap: f64,
    /// The solver's report.
    pub report: SolverReport,
    /// Whether the smaller operator was zero-padded.
    pub padded: bool,
}

impl Comparison {
    /// The requested score (`Wasserstein` is not part of a Procrustes comparison: it returns
    /// the Euclidean distance's spectral counterpart computed on the normalized operators is
    /// *not* attempted; use [`SpectralDistance`]). Returns `None` for `Score::Wasserstein`.
    #[must_use]
    pub fn score(&self, score: Score) -> Option<f64> {
        match score {
            Score::Angular => Some(self.angular),
            Score::Euclidean => Some(self.euclidean),
            Score::Wasserstein => None,
        }
    }
}

fn pad(a: MatRef<'_, f64>, n: usize) -> Mat<f64> {
    let k = a.nrows();
    Mat::from_fn(n, n, |i, j| if i < k && j < k { a[(i, j)] } else { 0.0 })
}

impl Similarity for Procrustes {
    type Output = Comparison;

    fn compare(&self, a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Result<Comparison> {
        self.solver_check.clone()?;
        // shape and finiteness of both before either is found degenerate
        check_operator(a, "A")?;
        check_operator(b, "B")?;
        let pa = PreparedOperator::checked(a, "A")?;
        let pb = PreparedOperator::checked(b, "B")?;
        self.compare_prepared(&pa, &pb)
    }
}

impl Procrustes {
    /// [`Similarity::compare`] on prepared operators: the per-operator work (spectra,
    /// eigenvectors, preconditioner) is computed once per operator and reused by every
    /// comparison it takes part in. Same result as `compare` on the original operators.
    ///
    /// # Errors
    /// [`DsaError::SizeMismatch`] for different sizes (unless zero-padding is on), and the
    /// solver's errors.
    ///
    /// # Example
    /// ```
    /// use dsa::{PreparedOperator, Procrustes};
    /// # fn main() -> dsa::Result<()> {
    /// let a = PreparedOperator::new(faer::mat![[0.9, 0.2], [-0.2, 0.9]].as_ref())?;
    /// let b = PreparedOperator::new(faer::mat![[0.9, -0.2], [0.2, 0.9]].as_ref())?;
    /// assert!(Procrustes::default().compare_prepared(&a, &b)?.angular < 1e-8);
    /// # Ok(()) }
    /// ```
    pub fn compare_prepared(
        &self,
        a: &PreparedOperator,
        b: &PreparedOperator,
    ) -> Result<Comparison> {
        self.solver_check.clone()?;
        if a.size() != b.size() {
            return match self.sizes {
                SizeMismatch::ZeroPad => {
                    let n = a.size().max(b.size());
                    let problem = Problem::from_prepared(
                        PreparedOperator::as_given(pad(a.matrix(), n).as_ref()),
                        PreparedOperator::as_given(pad(b.matrix(), n).as_ref()),
                    )?;
                    let mut out = self.compare_problem(&problem)?;
                    out.padded = true;
                    Ok(out)
                }
                _ => Err(DsaError::SizeMismatch {
                    a: a.size(),
                    b: b.size(),
                }),
            };
        }
        self.compare_problem(&Problem::new(a, b)?)
    }

    /// A local descent from `c0` on two prepared operators of the same size (for a start known
    /// to be good, such as a composition of two alignments: [`crate::Dsa`] repairs the
    /// triangle inequalities of its matrices this way). `Ok(None)` when the solver has no
    /// warm start ([`OrthogonalSolver::refine`]).
    ///
    /// # Errors
    /// [`DsaError::SizeMismatch`] for operators of different sizes, a start that is not
    /// `n x n`, and the solver's errors.
    ///
    /// # Example
    /// ```
    /// use dsa::{PreparedOperator, Procrustes};
    /// # fn main() -> dsa::Result<()> {
    /// let a = PreparedOperator::new(faer::mat![[0.9, 0.2], [-0.2, 0.9]].as_ref())?;
    /// let b = PreparedOperator::new(faer::mat![[0.9, -0.2], [0.2, 0.9]].as_ref())?;
    /// let swap = faer::mat![[0.0, 1.0], [1.0, 0.0]];
    /// let cmp = Procrustes::default().refine_prepared(&a, &b, swap.as_ref())?.expect("warm start");
    /// assert!(cmp.angular < 1e-8);
    /// # Ok(()) }
    /// ```
    pub fn refine_prepared(
        &self,
        a: &PreparedOperator,
        b: &PreparedOperator,
        c0: MatRef<'_, f64>,
    ) -> Result<Option<Comparison>> {
        self.solver_check.clone()?;
        let problem = Problem::new(a, b)?;
        match self.solver.refine(&problem, c0)? {
            Some(out) => self.comparison(&problem, out).map(Some),
            None => Ok(None),
        }
    }

    /// Compare the operators of a problem (normalized): the solver's answer, the distances, and
    /// the certified bound, computed once per problem.
    fn compare_problem(&self, problem: &Problem<'_>) -> Result<Comparison> {
        let out = self.solver.solve_problem(problem)?;
        self.comparison(problem, out)
    }

    /// The comparison a solver's answer on `problem` gives.
    fn comparison(&self, problem: &Problem<'_>, out: SolverOutput) -> Result<Comparison> {
        let lower_bound = problem.lower_bound()?;
        // ||Ah - C Bh C^T|| <= ||Ah|| + ||Bh|| = 2: a loss of 4 + rounding (B = -A) reports 2
        let euclidean = out.loss.max(0.0).sqrt().min(2.0);
        let angular = 2.0 * (euclidean / 2.0).min(1.0).asin();
        Ok(Comparison {
            angular,
            euclidean,
            gap: euclidean - lower_bound.best(),
            c: out.c,
            loss: out.loss,
            lower_bound,
            report: out.report,
            padded: false,
        })
    }
}

/// Compare two already-fitted operators with the default solver and size policy
/// (different sizes are an error).
///
/// `Score::Angular` / `Score::Euclidean`: Procrustes over vector fields;
/// `Score::Wasserstein`: the reference's Wasserstein score (squared 2-Wasserstein distance
/// between spectra), for which sizes may differ.
///
/// # Errors
/// [`DsaError::ShapeMismatch`] for a non-square operator, [`DsaError::NonFinite`],
/// [`DsaError::Degenerate`] for a zero operator (Procrustes scores),
/// [`DsaError::SizeMismatch`] for different sizes (Procrustes scores).
///
/// # Example
/// ```
/// use dsa::Score;
/// # fn main() -> dsa::Result<()> {
/// let a = faer::mat![[0.9, -0.3], [0.3, 0.9]];
/// let q = faer::mat![[0.0, 1.0], [1.0, 0.0]];
/// let b = &q * &a * q.transpose();
/// assert!(dsa::operator_distance(a.as_ref(), b.as_ref(), Score::Angular)? < 1e-10);
/// assert!(dsa::operator_distance(a.as_ref(), b.as_ref(), Score::Wasserstein)? < 1e-20);
/// # Ok(()) }
/// ```
pub fn operator_distance(a: MatRef<'_, f64>, b: MatRef<'_, f64>, score: Score) -> Result<f64> {
    match score {
        Score::Wasserstein => Ok(SpectralDistance.compare(a, b)?.w2_squared),
        s => {
            let cmp = Procrustes::default().compare(a, b)?;
            Ok(cmp.score(s).unwrap_or(cmp.angular))
        }
    }
}
