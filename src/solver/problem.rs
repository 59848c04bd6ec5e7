//! One instance of `min_{C in O(n)} ||A - C B C^T||_F^2`: the pair, the per-operator caches,
//! and the certified lower bound, computed once. Every solver works on a [`Problem`]; the
//! comparison stage ([`crate::Procrustes`]) builds them.
//!
//! Also here: the checks and the normalization of an operator, shared by
//! [`PreparedOperator::new`], the comparisons and the spectral score.

use std::sync::OnceLock;

use faer::{Mat, MatRef};

use super::bounds::{lower_bound_prepared, LowerBound};
use super::{objective, PreparedOperator};
use crate::error::{DsaError, Result};

/// A pair of square operators of the same size `n` to align over `O(n)`, with everything a
/// solver may reuse: each operator's cached spectra, eigenvectors, their Gram matrices,
/// symmetric-part eigenbasis and preconditioner ([`PreparedOperator`]), and the certified
/// [`LowerBound`] on the distance, computed once per problem on first use.
///
/// A problem borrows its operators ([`Problem::new`]: the many-pair calls of [`crate::Dsa`]
/// prepare each operator once and build one problem per pair) or owns them
/// ([`Problem::normalized`], [`Problem::from_matrices`], [`Problem::from_prepared`]).
///
/// # Example
/// ```
/// use dsa::solver::{starts, Problem};
/// use dsa::{OrthogonalSolver, RiemannianLbfgs};
/// # fn main() -> dsa::Result<()> {
/// let a = faer::mat![[0.9, 0.2, 0.0], [-0.2, 0.9, 0.1], [0.0, 0.3, 0.5]];
/// let q = faer::mat![[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]];
/// let b = &q * &a * q.transpose();
/// let problem = Problem::normalized(a.as_ref(), b.as_ref())?;
/// // a conjugate pair: the certified bound is 0, and the spectral start is exact
/// assert!(problem.lower_bound()?.best() < 1e-12);
/// let c0 = starts::spectral(&problem)?.expect("distinct eigenvalues");
/// assert!(problem.loss(c0.as_ref())? < 1e-24);
/// let out = RiemannianLbfgs::default().solve_problem(&problem)?;
/// assert!(out.loss < 1e-24);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Problem<'a> {
    a: Operand<'a>,
    b: Operand<'a>,
    bound: OnceLock<Result<LowerBound>>,
}

/// An operator of a problem, borrowed or owned (boxed: the cache is large).
#[derive(Debug)]
enum Operand<'a> {
    Borrowed(&'a PreparedOperator),
    Owned(Box<PreparedOperator>),
}

impl std::ops::Deref for Operand<'_> {
    type Target = PreparedOperator;
    fn deref(&self) -> &PreparedOperator {
        match self {
            Operand::Borrowed(p) => p,
            Operand::Owned(p) => p,
        }
    }
}

impl<'a> Problem<'a> {
    /// The problem of two prepared operators, borrowed (their caches are shared with every
    /// other problem they take part in).
    ///
    /// # Errors
    /// [`DsaError::SizeMismatch`] for operators of different sizes.
    ///
    /// # Example
    /// ```
    /// use dsa::solver::Problem;
    /// use dsa::PreparedOperator;
    /// # fn main() -> dsa::Result<()> {
    /// let a = PreparedOperator::new(faer::mat![[0.9, 0.2], [-0.2, 0.9]].as_ref())?;
    /// let b = PreparedOperator::new(faer::mat![[0.9, -0.2], [0.2, 0.9]].as_ref())?;
    /// let problem = Problem::new(&a, &b)?;
    /// assert_eq!(problem.size(), 2);
    /// # Ok(()) }
    /// ```
    pub fn new(a: &'a PreparedOperator, b: &'a PreparedOperator) -> Result<Self> {
        Self::with(Operand::Borrowed(a), Operand::Borrowed(b))
    }

    fn with(a: Operand<'a>, b: Operand<'a>) -> Result<Self> {
        if a.size() != b.size() {
            return Err(DsaError::SizeMismatch {
                a: a.size(),
                b: b.size(),
            });
        }
        Ok(Self {
            a,
            b,
            bound: OnceLock::new(),
        })
    }

    /// The operator `A`.
    #[must_use]
    pub fn a(&self) -> &PreparedOperator {
        &self.a
    }

    /// The operator `B`.
    #[must_use]
    pub fn b(&self) -> &PreparedOperator {
        &self.b
    }

    /// The size `n` of both operators.
    #[must_use]
    pub fn size(&self) -> usize {
        self.a.size()
    }

    /// The certified lower bounds on `min_C ||A - C B C^T||_F` for these operators (as held:
    /// normalized when the problem was built from normalized operators), computed once per
    /// problem from the operators' cached spectra.
    ///
    /// # Errors
    /// [`DsaError::NoConvergence`] if a decomposition fails (the error is kept and returned
    /// again on later calls).
    pub fn lower_bound(&self) -> Result<LowerBound> {
        if self.size() == 0 {
            return Ok(LowerBound::ZERO);
        }
        self.bound
            .get_or_init(|| lower_bound_prepared(&self.a, &self.b))
            .clone()
    }

    /// `||A - C B C^T||_F^2` at `c` (an `n x n` matrix, orthogonal for the problem's loss).
    ///
    /// # Errors
    /// [`DsaError::ShapeMismatch`] if `c` is not `n x n`.
    pub fn loss(&self, c: MatRef<'_, f64>) -> Result<f64> {
        let n = self.size();
        if c.nrows() != n || c.ncols() != n {
            return Err(DsaError::ShapeMismatch {
                what: format!(
                    "the orthogonal matrix must be {n} x {n} like the operators, got {} x {}",
                    c.nrows(),
                    c.ncols()
                ),
            });
        }
        Ok(objective::loss(self.a.matrix(), self.b.matrix(), c))
    }
}

impl Problem<'static> {
    /// The problem of two operators as [`crate::Procrustes`] compares them: each checked
    /// (square, at least `1 x 1`, finite, not zero) and normalized to unit Frobenius norm.
    ///
    /// # Errors
    /// [`DsaError::ShapeMismatch`] for a non-square or empty operator,
    /// [`DsaError::NonFinite`], [`DsaError::Degenerate`] for a zero operator,
    /// [`DsaError::SizeMismatch`] for operators of different sizes.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let a = faer::mat![[3.0, 0.0], [0.0, 4.0]];
    /// let problem = dsa::solver::Problem::normalized(a.as_ref(), a.as_ref())?;
    /// assert_eq!(problem.a().norm(), 5.0);
    /// assert!((problem.a().matrix()[(1, 1)] - 0.8).abs() < 1e-15);
    /// # Ok(()) }
    /// ```
    pub fn normalized(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Result<Self> {
        // shape and finiteness of both before either is found degenerate
        check_operator(a, "A")?;
        check_operator(b, "B")?;
        Self::from_prepared(
            PreparedOperator::checked(a, "A")?,
            PreparedOperator::checked(b, "B")?,
        )
    }

    /// The problem of two operators taken as given (not normalized, as
    /// [`OrthogonalSolver::solve`](super::OrthogonalSolver::solve) takes them): square, of the
    /// same size (`0 x 0` included) and finite.
    ///
    /// # Errors
    /// [`DsaError::ShapeMismatch`] for a non-square operator or different sizes,
    /// [`DsaError::NonFinite`] for NaN or infinite entries.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let a = faer::mat![[3.0, 0.0], [0.0, 4.0]];
    /// let problem = dsa::solver::Problem::from_matrices(a.as_ref(), a.as_ref())?;
    /// assert_eq!(problem.a().matrix()[(1, 1)], 4.0);
    /// # Ok(()) }
    /// ```
    pub fn from_matrices(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Result<Self> {
        check_pair(a, b)?;
        Self::from_prepared(PreparedOperator::as_given(a), PreparedOperator::as_given(b))
    }

    /// The problem of two prepared operators, owned.
    ///
    /// # Errors
    /// [`DsaError::SizeMismatch`] for operators of different sizes.
    ///
    /// # Example
    /// ```
    /// use dsa::{solver::Problem, PreparedOperator};
    /// # fn main() -> dsa::Result<()> {
    /// let a = PreparedOperator::new(faer::mat![[0.5, 1.0], [0.0, 0.5]].as_ref())?;
    /// let b = PreparedOperator::new(faer::mat![[0.5, 0.0], [1.0, 0.5]].as_ref())?;
    /// let problem = Problem::from_prepared(a, b)?;
    /// assert!(problem.lower_bound()?.best() < 1e-12); // transposes of each other
    /// # Ok(()) }
    /// ```
    pub fn from_prepared(a: PreparedOperator, b: PreparedOperator) -> Result<Self> {
        Self::with(Operand::Owned(Box::new(a)), Operand::Owned(Box::new(b)))
    }
}

/// Two operators a solver can take: square, of the same size, finite.
fn check_pair(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Result<()> {
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
    Ok(())
}

/// Validate an operator: square, at least `1 x 1`, finite.
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
