//! An operator prepared once for many comparisons: normalized, with the work that depends on
//! it alone (spectra, eigenvectors and their Gram matrices, the Gauss–Newton preconditioner)
//! computed on first use and shared by every pair it takes part in.

use std::fmt;
use std::sync::OnceLock;

use faer::{Mat, MatRef};

use super::canonical::Canonical;
use super::precondition::GaussNewton;
use super::problem::{check_operator, normalize};
use crate::error::Result;
use crate::linalg::{self, c64};

/// A square operator normalized to unit Frobenius norm, with a cache of the per-operator work of
/// a comparison.
///
/// Comparing `M` operators pairwise asks for the same eigen-decompositions, singular values and
/// preconditioner of each operator `M - 1` times; [`crate::Procrustes::compare_prepared`] (and
/// [`crate::Dsa::pairwise`], [`crate::Dsa::bipartite`], [`crate::Dsa::one_to_many`], which use
/// it) computes them once per operator. The cache fills lazily and is shared between threads; what it holds depends only
/// on the operator, so results are the same bits as an unprepared comparison.
///
/// # Example
/// ```
/// use dsa::{PreparedOperator, Procrustes, Similarity};
/// # fn main() -> dsa::Result<()> {
/// let ops = [
///     faer::mat![[0.9, 0.2], [-0.2, 0.9]],
///     faer::mat![[0.9, -0.2], [0.2, 0.9]],
///     faer::mat![[0.5, 0.0], [0.0, -0.5]],
/// ];
/// let prepared = ops
///     .iter()
///     .map(|a| PreparedOperator::new(a.as_ref()))
///     .collect::<dsa::Result<Vec<_>>>()?;
/// let procrustes = Procrustes::default();
/// let d01 = procrustes.compare_prepared(&prepared[0], &prepared[1])?;
/// let d02 = procrustes.compare_prepared(&prepared[0], &prepared[2])?;
/// assert!(d01.angular < 1e-8 && d02.angular > 0.1);
/// assert_eq!(d01.angular, procrustes.compare(ops[0].as_ref(), ops[1].as_ref())?.angular);
/// # Ok(()) }
/// ```
pub struct PreparedOperator {
    matrix: Mat<f64>,
    norm: f64,
    cache_preconditioner: bool,
    cache: Cache,
}

/// Eigenvalues and unit eigenvectors (the columns, in the same order).
type Eigen = (Vec<c64>, Mat<c64>);

/// The per-operator work of a comparison, each item computed on first use (an error is kept
/// too, and returned again). Everything here depends on the operator alone. To cache another
/// item: a field here, and an accessor on [`PreparedOperator`] that fills it with [`cached`].
#[derive(Default)]
struct Cache {
    singular_values: OnceLock<Result<Vec<f64>>>,
    skew_singular_values: OnceLock<Result<Vec<f64>>>,
    sym_eigenvalues: OnceLock<Result<Vec<f64>>>,
    sym_eigen: OnceLock<Result<(Vec<f64>, Mat<f64>)>>,
    /// eigenvalues and eigenvectors of `A` and of `A^T`
    eigen: [OnceLock<Result<Eigen>>; 2],
    /// `V^H V` for the eigenvectors `V` of `A` and of `A^T`
    eigen_gram: [OnceLock<Result<Mat<c64>>>; 2],
    gauss_newton: OnceLock<Option<GaussNewton>>,
    canonical: OnceLock<Result<Canonical>>,
    hermitian_eigenvalues: OnceLock<Result<Vec<f64>>>,
}

impl fmt::Debug for PreparedOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedOperator")
            .field("n", &self.matrix.nrows())
            .field("norm", &self.norm)
            .finish_non_exhaustive()
    }
}

impl PreparedOperator {
    /// Checks and normalizes `a` (`A / ||A||_F`, as [`crate::Procrustes`] compares operators).
    ///
    /// # Errors
    /// [`crate::DsaError::ShapeMismatch`] for a non-square or empty operator,
    /// [`crate::DsaError::NonFinite`] for NaN or infinite entries,
    /// [`crate::DsaError::Degenerate`] for a zero operator.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let p = dsa::PreparedOperator::new(faer::mat![[3.0, 0.0], [0.0, 4.0]].as_ref())?;
    /// assert_eq!(p.norm(), 5.0);
    /// assert!((p.matrix()[(1, 1)] - 0.8).abs() < 1e-15);
    /// # Ok(()) }
    /// ```
    pub fn new(a: MatRef<'_, f64>) -> Result<Self> {
        check_operator(a, "A")?;
        Self::checked(a, "A")
    }

    /// As [`PreparedOperator::new`] for an operator already checked (square, finite), with
    /// `name` in error messages.
    pub(crate) fn checked(a: MatRef<'_, f64>, name: &str) -> Result<Self> {
        let (matrix, norm) = normalize(a, name)?;
        Ok(Self::with_norm(matrix, norm))
    }

    /// `a` as given (no check, no normalization, `norm` NaN), for a solver's own `solve`.
    pub(crate) fn as_given(a: MatRef<'_, f64>) -> Self {
        Self::with_norm(a.to_owned(), f64::NAN)
    }

    pub(crate) fn with_norm(matrix: Mat<f64>, norm: f64) -> Self {
        Self {
            matrix,
            norm,
            cache_preconditioner: true,
            cache: Cache::default(),
        }
    }

    /// Whether the Gauss–Newton preconditioner (about `n^4` bytes at size `n`) is kept once
    /// formed (default `true`); without it, every solve that uses it forms its own.
    pub(crate) fn cache_preconditioner(mut self, on: bool) -> Self {
        self.cache_preconditioner = on;
        self
    }

    /// The normalized operator `A / ||A||_F`.
    #[must_use]
    pub fn matrix(&self) -> MatRef<'_, f64> {
        self.matrix.as_ref()
    }

    /// `||A||_F` of the operator as given (before normalization).
    #[must_use]
    pub fn norm(&self) -> f64 {
        self.norm
    }

    /// Its size `n`.
    #[must_use]
    pub fn size(&self) -> usize {
        self.matrix.nrows()
    }

    /// Singular values, descending.
    ///
    /// # Errors
    /// [`crate::DsaError::NoConvergence`] if the decomposition fails.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let p = dsa::PreparedOperator::new(faer::mat![[0.0, 3.0], [-4.0, 0.0]].as_ref())?;
    /// let s = p.singular_values()?;
    /// assert!((s[0] - 0.8).abs() < 1e-15 && (s[1] - 0.6).abs() < 1e-15);
    /// # Ok(()) }
    /// ```
    pub fn singular_values(&self) -> Result<&[f64]> {
        cached(&self.cache.singular_values, || {
            linalg::singular_values(self.matrix.as_ref())
        })
        .map(Vec::as_slice)
    }

    /// Singular values of the skew part `(A - A^T) / 2`, descending.
    ///
    /// # Errors
    /// [`crate::DsaError::NoConvergence`] if the decomposition fails.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let p = dsa::PreparedOperator::new(faer::mat![[0.0, 3.0], [-4.0, 0.0]].as_ref())?;
    /// let s = p.skew_singular_values()?;
    /// assert!((s[0] - 0.7).abs() < 1e-15 && (s[1] - 0.7).abs() < 1e-15);
    /// # Ok(()) }
    /// ```
    pub fn skew_singular_values(&self) -> Result<&[f64]> {
        cached(&self.cache.skew_singular_values, || {
            let a = self.matrix.as_ref();
            let n = a.nrows();
            let k = Mat::from_fn(n, n, |i, j| 0.5 * (a[(i, j)] - a[(j, i)]));
            linalg::singular_values(k.as_ref())
        })
        .map(Vec::as_slice)
    }

    /// Eigenvalues of the symmetric part `(A + A^T) / 2`, ascending, computed without
    /// eigenvectors (for the lower bounds, which every comparison reports).
    ///
    /// # Errors
    /// [`crate::DsaError::NoConvergence`] if the decomposition fails.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let p = dsa::PreparedOperator::new(faer::mat![[0.0, 3.0], [-4.0, 0.0]].as_ref())?;
    /// let l = p.sym_eigenvalues()?;
    /// assert!((l[0] + 0.1).abs() < 1e-15 && (l[1] - 0.1).abs() < 1e-15);
    /// # Ok(()) }
    /// ```
    pub fn sym_eigenvalues(&self) -> Result<&[f64]> {
        cached(&self.cache.sym_eigenvalues, || {
            linalg::sym_eigenvalues(self.matrix.as_ref())
        })
        .map(Vec::as_slice)
    }

    /// Eigenvalues (ascending) and orthonormal eigenvectors (the columns, in the same order) of
    /// the symmetric part `(A + A^T) / 2`.
    ///
    /// # Errors
    /// [`crate::DsaError::NoConvergence`] if the decomposition fails.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let p = dsa::PreparedOperator::new(faer::mat![[2.0, 0.0], [0.0, 1.0]].as_ref())?;
    /// let (values, vectors) = p.sym_eigen()?;
    /// assert!(values[0] < values[1]);
    /// assert!((vectors[(1, 0)].abs() - 1.0).abs() < 1e-15); // e_1 for the smaller one
    /// # Ok(()) }
    /// ```
    pub fn sym_eigen(&self) -> Result<(&[f64], MatRef<'_, f64>)> {
        cached(&self.cache.sym_eigen, || {
            linalg::sym_eigen(self.matrix.as_ref())
        })
        .map(|(l, u)| (l.as_slice(), u.as_ref()))
    }

    /// Eigenvalues and unit eigenvectors (the columns, in the same order) of `A`.
    ///
    /// # Errors
    /// [`crate::DsaError::NoConvergence`] if the decomposition fails.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let p = dsa::PreparedOperator::new(faer::mat![[0.0, 1.0], [-1.0, 0.0]].as_ref())?;
    /// let (values, vectors) = p.eigen()?;
    /// assert!(values.iter().all(|l| l.re.abs() < 1e-15 && (l.im.abs() - 0.5f64.sqrt()).abs() < 1e-15));
    /// assert_eq!(vectors.ncols(), 2);
    /// # Ok(()) }
    /// ```
    pub fn eigen(&self) -> Result<(&[c64], MatRef<'_, c64>)> {
        self.eigen_of(false)
            .map(|(l, v)| (l.as_slice(), v.as_ref()))
    }

    /// Eigenvalues and unit eigenvectors of `A^T` (the spectral start of the transposed pair).
    ///
    /// # Errors
    /// [`crate::DsaError::NoConvergence`] if the decomposition fails.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let p = dsa::PreparedOperator::new(faer::mat![[1.0, 1.0], [0.0, 2.0]].as_ref())?;
    /// let (values, _) = p.transposed_eigen()?;
    /// assert_eq!(values.len(), 2);
    /// # Ok(()) }
    /// ```
    pub fn transposed_eigen(&self) -> Result<(&[c64], MatRef<'_, c64>)> {
        self.eigen_of(true).map(|(l, v)| (l.as_slice(), v.as_ref()))
    }

    /// The Gram matrix `V^H V` of the eigenvectors `V` of [`PreparedOperator::eigen`].
    ///
    /// # Errors
    /// [`crate::DsaError::NoConvergence`] if the decomposition fails.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let p = dsa::PreparedOperator::new(faer::mat![[1.0, 0.0], [0.0, 2.0]].as_ref())?;
    /// let g = p.eigen_gram()?;
    /// assert!((g[(0, 0)].re - 1.0).abs() < 1e-15 && g[(0, 1)].norm() < 1e-15);
    /// # Ok(()) }
    /// ```
    pub fn eigen_gram(&self) -> Result<MatRef<'_, c64>> {
        self.eigen_gram_of(false).map(Mat::as_ref)
    }

    /// The Gram matrix of the eigenvectors of [`PreparedOperator::transposed_eigen`].
    ///
    /// # Errors
    /// [`crate::DsaError::NoConvergence`] if the decomposition fails.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let p = dsa::PreparedOperator::new(faer::mat![[1.0, 1.0], [0.0, 2.0]].as_ref())?;
    /// assert_eq!(p.transposed_eigen_gram()?.nrows(), 2);
    /// # Ok(()) }
    /// ```
    pub fn transposed_eigen_gram(&self) -> Result<MatRef<'_, c64>> {
        self.eigen_gram_of(true).map(Mat::as_ref)
    }

    /// Eigenvalues and unit eigenvectors of `A` (`transposed`: of `A^T`).
    pub(crate) fn eigen_of(&self, transposed: bool) -> Result<&Eigen> {
        cached(&self.cache.eigen[usize::from(transposed)], || {
            if transposed {
                linalg::eigen(self.matrix.transpose())
            } else {
                linalg::eigen(self.matrix.as_ref())
            }
        })
    }

    /// The Gram matrix `V^H V` of the eigenvectors of [`PreparedOperator::eigen_of`].
    pub(crate) fn eigen_gram_of(&self, transposed: bool) -> Result<&Mat<c64>> {
        cached(&self.cache.eigen_gram[usize::from(transposed)], || {
            let (_, v) = self.eigen_of(transposed)?;
            Ok(super::starts::herm_gram(v.as_ref()))
        })
    }

    /// Computes what the default solver's starts need before it iterates (the eigenvectors and
    /// their Gram matrix for the spectral start, the symmetric-part eigenbasis), so that two
    /// operators can do it side by side; those of the transposed operator, needed only when the
    /// spectral start is not exact, are left to be computed on first use. Errors are cached
    /// and reported where the values are used.
    pub(crate) fn warm_starts(&self) {
        let _ = self.eigen_gram_of(false);
        let _ = self.sym_eigen();
    }

    /// Computes the spectra of the lower bounds (see [`PreparedOperator::warm_starts`]).
    pub(crate) fn warm_bounds(&self) {
        let _ = self.singular_values();
        let _ = self.skew_singular_values();
        let _ = self.sym_eigenvalues();
        let _ = self.hermitian_eigenvalues();
    }

    /// The eigenvalues, ascending, of the Hermitian matrix `E = A_s + i A_k` (symmetric and
    /// skew parts), for the lower bound (iv) of [`crate::LowerBound`]. Computed as every other
    /// eigenvalue of the real symmetric `[[A_s, -A_k], [A_k, A_s]]`, which has each of them
    /// twice.
    ///
    /// # Errors
    /// [`crate::DsaError::NoConvergence`] if the eigendecomposition fails.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// // a rotation by 90 degrees: A_s = 0, A_k = A, E = i A has eigenvalues -1 and 1 (scaled)
    /// let p = dsa::PreparedOperator::new(faer::mat![[0.0, -1.0], [1.0, 0.0]].as_ref())?;
    /// let l = p.hermitian_eigenvalues()?;
    /// let s = 1.0 / 2f64.sqrt();
    /// assert!((l[0] + s).abs() < 1e-15 && (l[1] - s).abs() < 1e-15);
    /// # Ok(()) }
    /// ```
    pub fn hermitian_eigenvalues(&self) -> Result<&[f64]> {
        cached(&self.cache.hermitian_eigenvalues, || {
            let a = self.matrix.as_ref();
            let n = a.nrows();
            let embed = Mat::from_fn(2 * n, 2 * n, |i, j| {
                let (bi, bj) = (i / n, j / n);
                let (r, c) = (i % n, j % n);
                let sym = 0.5 * (a[(r, c)] + a[(c, r)]);
                let skew = 0.5 * (a[(r, c)] - a[(c, r)]);
                match (bi, bj) {
                    (0, 0) | (1, 1) => sym,
                    (0, 1) => -skew,
                    _ => skew,
                }
            });
            let both = linalg::sym_eigenvalues(embed.as_ref())?;
            Ok(both.into_iter().step_by(2).collect())
        })
        .map(Vec::as_slice)
    }

    /// The operator in its canonical basis (spec §4.4; computed on first use): the basis,
    /// the operator written in it, and the same rounded to the grid the default solver searches
    /// on, prepared. Two operators conjugate by an orthogonal matrix have the same canonical
    /// operator (unless their symmetric parts have repeated eigenvalues: see
    /// `docs/solvers.md`).
    ///
    /// # Errors
    /// [`crate::DsaError::NoConvergence`] if the symmetric eigendecomposition fails.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let a = faer::mat![[0.9, 0.2], [-0.4, 0.1]];
    /// let q = faer::mat![[0.6, -0.8], [0.8, 0.6]];
    /// let b = &q * &a * q.transpose();
    /// let (pa, pb) = (dsa::PreparedOperator::new(a.as_ref())?, dsa::PreparedOperator::new(b.as_ref())?);
    /// let (ca, cb) = (pa.canonical()?, pb.canonical()?);
    /// assert!((ca.matrix() - cb.matrix()).norm_max() < 1e-14);
    /// # Ok(()) }
    /// ```
    pub fn canonical(&self) -> Result<&Canonical> {
        cached(&self.cache.canonical, || {
            Canonical::new(self.matrix.as_ref(), self.norm, self.cache_preconditioner)
        })
    }

    /// The Gauss–Newton preconditioner with this operator as `B` (formed on first use, about
    /// `n^4` bytes; see [`crate::Preconditioner`]): `None` if it cannot be formed (`n < 2`, a
    /// failed factorization), or if this operator does not keep one ([`crate::Dsa`]'s
    /// many-pair calls keep them within a memory budget; beyond it each solve forms its own).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let p = dsa::PreparedOperator::new(faer::mat![[0.9, 0.2, 0.0], [0.0, 0.5, 0.3], [0.1, 0.0, 0.2]].as_ref())?;
    /// let pc = p.gauss_newton().expect("formed");
    /// let x = faer::mat![[0.0, 1.0, 0.0], [-1.0, 0.0, 0.5], [0.0, -0.5, 0.0]];
    /// let y = pc.precondition(x.as_ref())?;
    /// assert!((&y + y.transpose()).norm_max() == 0.0); // a skew matrix again
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn gauss_newton(&self) -> Option<&GaussNewton> {
        self.cached_gauss_newton().ok().flatten()
    }

    /// The Gauss–Newton preconditioner with this operator as `B`: `Ok` with the cached one
    /// (`None` if it cannot be formed), `Err(())` if it is not cached (the caller forms its own).
    pub(crate) fn cached_gauss_newton(&self) -> std::result::Result<Option<&GaussNewton>, ()> {
        if !self.cache_preconditioner {
            return Err(());
        }
        Ok(self
            .cache
            .gauss_newton
            .get_or_init(|| GaussNewton::new(self.matrix.as_ref()))
            .as_ref())
    }
}

/// The cached value, computed on first use; an error is cached too, and cloned out.
fn cached<T>(cell: &OnceLock<Result<T>>, f: impl FnOnce() -> Result<T>) -> Result<&T> {
    cell.get_or_init(f).as_ref().map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::{OrthogonalSolver, RiemannianLbfgs};

    /// A solve that forms its own preconditioner (over the cache budget) gives the same bits
    /// as one that uses the cached preconditioner.
    #[test]
    fn uncached_preconditioner_gives_the_same_result() {
        let n = 8;
        let a = Mat::from_fn(n, n, |i, j| ((i * 7 + j * 3) as f64 * 0.37).sin());
        let b = Mat::from_fn(n, n, |i, j| ((i * 5 + j * 11) as f64 * 0.21).cos());
        let solver = RiemannianLbfgs::default();
        let run = |cache: bool| {
            let pa = PreparedOperator::new(a.as_ref()).unwrap();
            let pb = PreparedOperator::new(b.as_ref())
                .unwrap()
                .cache_preconditioner(cache);
            let out = solver
                .solve_problem(&crate::solver::Problem::new(&pa, &pb).unwrap())
                .unwrap();
            // the default solver searches on the canonical operators: theirs is the one kept
            let search = pb.canonical().unwrap().search();
            assert_eq!(search.cache.gauss_newton.get().is_some(), cache);
            out
        };
        let (cached, own) = (run(true), run(false));
        assert!(
            cached.report.iterations > 0,
            "the pair must need iterations"
        );
        assert_eq!(cached.loss.to_bits(), own.loss.to_bits());
        assert_eq!(cached.c, own.c);
        assert_eq!(cached.report.iterations, own.report.iterations);
    }
}
