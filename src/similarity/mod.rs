//! Stage 3 of the pipeline: comparing two fitted operators (spec §4).
//!
//! * [`Procrustes`]: Procrustes analysis over vector fields. Normalize `Ah = A/||A||_F`,
//!   `Bh = B/||B||_F`, find `C* = argmin_{C in O(n)} ||Ah - C Bh C^T||_F` with an
//!   [`OrthogonalSolver`], report
//!   `euclidean = ||Ah - C* Bh C*^T||_F` and `angular = 2 asin(euclidean / 2)`
//!   (`= arccos <Ah, C* Bh C*^T>`, computed in the form that stays accurate near 0),
//!   with certified lower bounds.
//! * [`SpectralDistance`]: the Wasserstein distance between spectra.

pub(crate) mod bounds;
mod spectral;

pub use bounds::LowerBound;
pub use spectral::{SpectralComparison, SpectralDistance};

use std::sync::Arc;

use faer::prelude::*;

use crate::error::{DsaError, Result};
use crate::solver::{OrthogonalSolver, PreparedOperator, RiemannianLbfgs, SolverReport};

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
}

impl Default for Procrustes {
    fn default() -> Self {
        Self {
            solver: Arc::new(RiemannianLbfgs::default()),
            sizes: SizeMismatch::Error,
        }
    }
}

impl Procrustes {
    /// With the default solver.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// With a given solver.
    #[must_use]
    pub fn with_solver<S: OrthogonalSolver + 'static>(solver: S) -> Self {
        Self {
            solver: Arc::new(solver),
            sizes: SizeMismatch::Error,
        }
    }

    /// With a shared solver.
    #[must_use]
    pub fn with_shared_solver(solver: Arc<dyn OrthogonalSolver>) -> Self {
        Self {
            solver,
            sizes: SizeMismatch::Error,
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

/// Validate an operator: square, finite.
pub(crate) fn check_operator(a: MatRef<'_, f64>, name: &str) -> Result<()> {
    if a.nrows() != a.ncols() {
        return Err(DsaError::ShapeMismatch {
            what: format!(
                "operator {name} must be square, got {} x {}",
                a.nrows(),
                a.ncols()
            ),
        });
    }
    if a.nrows() == 0 {
        return Err(DsaError::ShapeMismatch {
            what: format!(
                "operator {name} is 0 x 0; an operator must be at least 1 x 1 (fit with rank >= 1)"
            ),
        });
    }
    check_operator_entries(a, name)
}

/// Validate an operator's entries: finite.
pub(crate) fn check_operator_entries(a: MatRef<'_, f64>, name: &str) -> Result<()> {
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            let v = a[(i, j)];
            if !v.is_finite() {
                return Err(DsaError::NonFinite {
                    input: format!("operator {name}"),
                    location: format!("entry ({i}, {j})"),
                    value: v,
                });
            }
        }
    }
    Ok(())
}

/// `(a / ||a||_F, ||a||_F)`, overflow-safe; error for a zero operator.
pub(crate) fn normalize(a: MatRef<'_, f64>, name: &str) -> Result<(Mat<f64>, f64)> {
    let m = a.norm_max();
    if m == 0.0 {
        return Err(DsaError::Degenerate {
            what: format!("operator {name} is zero; a zero operator has no direction to compare (Procrustes needs ||{name}||_F > 0)"),
        });
    }
    let scaled = Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)] / m);
    let nrm = scaled.norm_l2();
    // ||a|| = m ||a / m||
    Ok((
        Mat::from_fn(a.nrows(), a.ncols(), |i, j| scaled[(i, j)] / nrm),
        m * nrm,
    ))
}

fn pad(a: MatRef<'_, f64>, n: usize) -> Mat<f64> {
    let k = a.nrows();
    Mat::from_fn(n, n, |i, j| if i < k && j < k { a[(i, j)] } else { 0.0 })
}

impl Similarity for Procrustes {
    type Output = Comparison;

    fn compare(&self, a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Result<Comparison> {
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
        if a.size() != b.size() {
            return match self.sizes {
                SizeMismatch::ZeroPad => {
                    let n = a.size().max(b.size());
                    let pa = PreparedOperator::as_given(pad(a.matrix(), n).as_ref());
                    let pb = PreparedOperator::as_given(pad(b.matrix(), n).as_ref());
                    let mut out = self.compare_normalized(&pa, &pb)?;
                    out.padded = true;
                    Ok(out)
                }
                _ => Err(DsaError::SizeMismatch {
                    a: a.size(),
                    b: b.size(),
                }),
            };
        }
        self.compare_normalized(a, b)
    }

    /// Compare operators of the same size, already normalized.
    fn compare_normalized(&self, a: &PreparedOperator, b: &PreparedOperator) -> Result<Comparison> {
        let out = self.solver.solve_prepared(a, b)?;
        let lower_bound = bounds::lower_bound_prepared(a, b)?;
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
