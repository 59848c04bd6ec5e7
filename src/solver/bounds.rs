//! Certified lower bounds on `min_{C in O(n)} ||A - C B C^T||_F` (spec §4.1 (i), (ii), §4.4 (iv)).

use faer::prelude::*;

use super::problem::check_operator_entries;
use super::PreparedOperator;
use crate::error::Result;

/// Lower bounds that hold for every orthogonal `C`; the gap between a solver's distance and
/// [`LowerBound::best`] bounds how far it can be from the global optimum.
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let a = faer::mat![[1.0, 0.0], [0.0, 0.0]];
/// let b = faer::mat![[0.0, 0.0], [0.0, 0.5]];
/// let lb = dsa::LowerBound::new(a.as_ref(), b.as_ref())?;
/// assert!((lb.best() - 0.5).abs() < 1e-15); // symmetric: attained by a permutation
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct LowerBound {
    /// Mirsky: `||sigma(A) - sigma(B)||_2`, singular values sorted descending.
    pub mirsky: f64,
    /// Symmetric/skew split: `sqrt(||lambda(A_s) - lambda(B_s)||^2 + ||sigma(A_k) - sigma(B_k)||^2)`.
    pub sym_skew: f64,
    /// Hermitian (Umeyama's trick, spec §4.4 (iv)): `||lambda(E_A) - lambda(E_B)||_2` with
    /// `E_X = X_s + i X_k` Hermitian and its real eigenvalues sorted. For a real orthogonal
    /// `C`, `C E_B C^T = E_{C B C^T}` and `||E_A - E_{C B C^T}||_F = ||A - C B C^T||_F`; the
    /// Hoffman–Wielandt inequality over all unitaries bounds it below.
    pub hermitian: f64,
}

impl LowerBound {
    /// Both bounds zero (the `0 x 0` problem).
    pub(crate) const ZERO: Self = Self {
        mirsky: 0.0,
        sym_skew: 0.0,
        hermitian: 0.0,
    };

    /// The three bounds for square `A`, `B` of the same size (as given: normalize first if the
    /// distance you compare with is on normalized operators).
    ///
    /// # Errors
    /// [`crate::DsaError::ShapeMismatch`] for non-square or different sizes;
    /// [`crate::DsaError::NonFinite`] for NaN or infinite entries;
    /// [`crate::DsaError::Degenerate`] if a bound exceeds `f64::MAX`;
    /// [`crate::DsaError::NoConvergence`] if a decomposition fails.
    pub fn new(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Result<Self> {
        if a.nrows() != a.ncols() || b.nrows() != b.ncols() || a.nrows() != b.nrows() {
            return Err(crate::DsaError::ShapeMismatch {
                what: format!(
                    "lower bounds need two square operators of the same size, got {} x {} and {} x {}",
                    a.nrows(),
                    a.ncols(),
                    b.nrows(),
                    b.ncols()
                ),
            });
        }
        check_operator_entries(a, "A")?;
        check_operator_entries(b, "B")?;
        // The bounds are homogeneous of degree 1: compute them on both operators scaled by one
        // factor (a power of two, exact) to max-abs ~1, so that entries near the overflow limit
        // do not overflow the sums of squares.
        let m = a.norm_max().max(b.norm_max());
        if m == 0.0 {
            return Ok(Self::ZERO);
        }
        let scale = crate::linalg::pow2_scale(m);
        let n = a.nrows();
        let as_ = Mat::from_fn(n, n, |i, j| a[(i, j)] * scale);
        let bs = Mat::from_fn(n, n, |i, j| b[(i, j)] * scale);
        let lb = lower_bound(as_.as_ref(), bs.as_ref())?;
        let out = Self {
            mirsky: lb.mirsky / scale,
            sym_skew: lb.sym_skew / scale,
            hermitian: lb.hermitian / scale,
        };
        if !(out.mirsky.is_finite() && out.sym_skew.is_finite() && out.hermitian.is_finite()) {
            return Err(crate::DsaError::Degenerate {
                what: format!(
                    "the lower bounds exceed f64::MAX (operators with entries up to {m:e}); normalize the operators first (divide each by its Frobenius norm)"
                ),
            });
        }
        Ok(out)
    }

    /// The largest of the three (none of them implies another).
    #[must_use]
    pub fn best(&self) -> f64 {
        self.mirsky.max(self.sym_skew).max(self.hermitian)
    }
}

fn l2_diff(x: &[f64], y: &[f64]) -> f64 {
    x.iter()
        .zip(y)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt()
}

fn lower_bound(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Result<LowerBound> {
    lower_bound_prepared(
        &PreparedOperator::as_given(a),
        &PreparedOperator::as_given(b),
    )
}

/// The three bounds from the operators' cached spectra (what [`super::Problem::lower_bound`]
/// computes once per problem).
pub(crate) fn lower_bound_prepared(
    a: &PreparedOperator,
    b: &PreparedOperator,
) -> Result<LowerBound> {
    let mirsky = l2_diff(a.singular_values()?, b.singular_values()?);
    let sym = l2_diff(a.sym_eigenvalues()?, b.sym_eigenvalues()?);
    let skew = l2_diff(a.skew_singular_values()?, b.skew_singular_values()?);
    let hermitian = l2_diff(a.hermitian_eigenvalues()?, b.hermitian_eigenvalues()?);
    Ok(LowerBound {
        mirsky,
        sym_skew: (sym * sym + skew * skew).sqrt(),
        hermitian,
    })
}
