//! Controllability matrices with the powers of `A` and of `A^T` interleaved (spec-input §c).

use faer::{Mat, MatRef};

use crate::error::{DsaError, Result};
use crate::linalg::mm;

/// How the powers in a controllability matrix are scaled.
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// use dsa::input::{controllability_matrix, Controllability};
/// let a = faer::mat![[4.0, 0.0], [0.0, 2.0]];
/// let b = faer::mat![[1.0], [1.0]];
/// let raw = controllability_matrix(a.as_ref(), b.as_ref(), Controllability::Unscaled)?;
/// assert_eq!(raw[(0, 1)], 4.0); // A B
/// let scaled = controllability_matrix(a.as_ref(), b.as_ref(), Controllability::Scaled)?;
/// assert!(scaled.norm_max() <= 1.0); // powers of A / ||A||_F cannot grow
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub enum Controllability {
    /// Built from `A / ||A||_F` and `B / ||B||_F` (the default): `||A / ||A||_F||_2 <= 1`, so no
    /// power can overflow, every block is at most as large as `B`'s, and the matrix does not
    /// depend on the overall scale of `A` or `B`. The comparison then normalizes `K` itself, so
    /// the Euclidean score is in `[0, 2]`.
    #[default]
    Scaled,
    /// The reference's matrix from `A` and `B` as fitted: `||K||` grows like
    /// `rho(A)^(n-1)`, the top powers dominate the score, and large `n` or unstable fits
    /// overflow (reported as [`DsaError::Degenerate`]). The Euclidean score is
    /// `||K1 - C K2||_F` unnormalized, as in the reference (with the correct minimiser).
    Unscaled,
}

/// `K(A, B) = [B, A B, A^T B, A^2 B, (A^T)^2 B, ..., A^{n-1} B, (A^T)^{n-1} B]`
/// (`n x m (2n - 1)`) for `A` (`n x n`) and `B` (`n x m`); with [`Controllability::Scaled`],
/// of `A / ||A||_F` and `B / ||B||_F` (a zero `A` or `B` is kept as zero).
///
/// Both powers appear so that `K` is equivariant under orthogonal changes of basis only:
/// `K(Q A Q^T, Q B) = Q K(A, B)`, since `(Q A Q^T)^T = Q A^T Q^T`.
///
/// # Errors
/// [`DsaError::ShapeMismatch`] if `A` is not square or `B` has not `n` rows,
/// [`DsaError::NonFinite`] for NaN or infinite entries, [`DsaError::Degenerate`] if the unscaled
/// powers overflow.
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// use dsa::input::{controllability_matrix, Controllability};
/// let a = faer::mat![[0.0, 1.0], [0.0, 0.0]];
/// let b = faer::mat![[0.0], [1.0]];
/// let k = controllability_matrix(a.as_ref(), b.as_ref(), Controllability::Unscaled)?;
/// assert_eq!(k.ncols(), 3); // [B, A B, A^T B]
/// assert_eq!((k[(0, 1)], k[(1, 1)]), (1.0, 0.0));
/// assert_eq!((k[(0, 2)], k[(1, 2)]), (0.0, 0.0));
/// # Ok(()) }
/// ```
pub fn controllability_matrix(
    a: MatRef<'_, f64>,
    b: MatRef<'_, f64>,
    scaling: Controllability,
) -> Result<Mat<f64>> {
    let n = a.nrows();
    if a.ncols() != n || b.nrows() != n {
        return Err(DsaError::ShapeMismatch {
            what: format!(
                "a controllability matrix needs A square and B with as many rows: got A {} x {} and B {} x {}",
                a.nrows(),
                a.ncols(),
                b.nrows(),
                b.ncols()
            ),
        });
    }
    for (m, name) in [(a, "A"), (b, "B")] {
        if !m.is_all_finite() {
            return Err(DsaError::NonFinite {
                input: format!("operator {name}"),
                location: "some entry".into(),
                value: f64::NAN,
            });
        }
    }
    let (a, b) = match scaling {
        Controllability::Scaled => (unit(a), unit(b)),
        Controllability::Unscaled => (a.to_owned(), b.to_owned()),
    };
    let m = b.ncols();
    let width = m * (2 * n).saturating_sub(1);
    let mut k = Mat::<f64>::zeros(n, width);
    if n == 0 {
        return Ok(k);
    }
    k.as_mut().subcols_mut(0, m).copy_from(b.as_ref());
    let mut fwd = b.clone();
    let mut bwd = b;
    let mut tmp = Mat::<f64>::zeros(n, m);
    for i in 1..n {
        mm(tmp.as_mut(), a.as_ref(), fwd.as_ref(), 1.0);
        std::mem::swap(&mut fwd, &mut tmp);
        mm(tmp.as_mut(), a.transpose(), bwd.as_ref(), 1.0);
        std::mem::swap(&mut bwd, &mut tmp);
        let c0 = m * (2 * i - 1);
        k.as_mut().subcols_mut(c0, m).copy_from(fwd.as_ref());
        k.as_mut().subcols_mut(c0 + m, m).copy_from(bwd.as_ref());
    }
    if !k.is_all_finite() {
        return Err(DsaError::Degenerate {
            what: format!(
                "the unscaled controllability matrix overflows (powers of A up to A^{}, ||A||_F = {:e}); use Controllability::Scaled",
                n - 1,
                a.norm_l2()
            ),
        });
    }
    Ok(k)
}

/// `m / ||m||_F` (overflow-safe), or `m` itself when it is zero.
pub(crate) fn unit(m: MatRef<'_, f64>) -> Mat<f64> {
    let big = m.norm_max();
    if big == 0.0 || !big.is_finite() {
        return m.to_owned();
    }
    let scaled = Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)] / big);
    let nrm = scaled.norm_l2();
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| scaled[(i, j)] / nrm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equivariant_under_orthogonal_change_of_basis() {
        let a = faer::mat![[0.5, 1.0, 0.2], [-0.3, 0.1, 0.7], [0.0, 0.4, -0.6]];
        let b = faer::mat![[1.0, 0.0], [0.5, -1.0], [0.2, 0.3]];
        // a rotation times a reflection: not symmetric
        let (c, s) = (0.6, 0.8);
        let q = faer::mat![[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, -1.0]];
        let a2 = &q * &a * q.transpose();
        let b2 = &q * &b;
        for scaling in [Controllability::Scaled, Controllability::Unscaled] {
            let k1 = controllability_matrix(a.as_ref(), b.as_ref(), scaling).unwrap();
            let k2 = controllability_matrix(a2.as_ref(), b2.as_ref(), scaling).unwrap();
            assert!((&(&q * &k1) - &k2).norm_max() < 1e-14);
        }
    }

    #[test]
    fn unscaled_overflow_is_an_error() {
        let a = Mat::from_fn(60, 60, |i, j| if i == j { 1e10 } else { 0.0 });
        let b = Mat::from_fn(60, 1, |_, _| 1.0);
        let err =
            controllability_matrix(a.as_ref(), b.as_ref(), Controllability::Unscaled).unwrap_err();
        assert!(err.to_string().contains("Controllability::Scaled"));
        let k = controllability_matrix(a.as_ref(), b.as_ref(), Controllability::Scaled).unwrap();
        assert!(k.is_all_finite());
    }
}
