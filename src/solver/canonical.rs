//! The canonical basis of an operator (spec §4.4): an orthonormal basis computed from the
//! operator alone, so that a solver working in it sees the same matrices whatever basis the
//! operator was written in.
//!
//! The rule: the eigenvectors of the symmetric part `(A + A^T) / 2`, eigenvalues ascending,
//! each signed so that the skew part `(A - A^T) / 2`, written in that basis, is positive along a
//! maximum spanning tree of its magnitudes (Prim's algorithm from the first vector; the first
//! vector of each connected component keeps the sign the eigensolver gave it, which changes
//! nothing: entries linking components are zero). If `A' = R A R^T` with `R` orthogonal, the
//! symmetric part's eigenvectors are those of `A` turned by `R` up to their signs, and the rule
//! fixes the signs: `Q'^T A' Q' = Q^T A Q`.
//!
//! What is left to chance are ties: equal eigenvalues of the symmetric part (their eigenvectors
//! are any basis of the eigenspace), and eigenvalues so close that rounding turns the
//! eigenvectors by more than the search grid below (a relative gap below about `1e-6`).
//!
//! The solver searches on the canonical operator rounded to a grid of `2^-30` times its norm
//! ([`Canonical::search`]): the canonical operators computed from two bases of the same operator
//! agree to rounding (about `1e-16` over the eigenvector gaps), and a local run of L-BFGS is
//! chaotic enough that such a difference can end it in another basin (measured: 1 to 12% of
//! runs from random starts at `n = 20..30` move to another minimum under a relative change of
//! `1e-15`). On the grid both become the same bits (unless an entry lies within rounding of a
//! grid point), and so does everything the solver computes from them. The answer is then
//! polished on the exact canonical operators.

use faer::{Mat, MatRef};

use super::PreparedOperator;
use crate::error::Result;
use crate::linalg;

/// Grid of [`Canonical::search`], relative to the operator's Frobenius norm: `2^-SNAP_BITS`.
const SNAP_BITS: i32 = 30;

/// The grid step for a normalized operator.
pub(crate) const GRID: f64 = 1.0 / (1u64 << SNAP_BITS) as f64;

/// An operator in its canonical basis: `Q`, `Q^T A Q`, and the same rounded to the search grid,
/// prepared (its own spectra, eigenvectors and preconditioner cached).
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let a = faer::mat![[0.9, 0.3, 0.0], [-0.2, 0.5, 0.4], [0.1, -0.3, 0.2]];
/// let p = dsa::PreparedOperator::new(a.as_ref())?;
/// let canon = p.canonical()?;
/// // Q is orthogonal and Q^T A Q is the canonical operator
/// let q = canon.basis();
/// let qtaq = q.transpose() * p.matrix() * q;
/// assert!((&qtaq - canon.matrix()).norm_max() < 1e-15);
/// // its symmetric part is diagonal, eigenvalues ascending
/// let m = canon.matrix();
/// assert!((m[(0, 1)] + m[(1, 0)]).abs() < 1e-15 && m[(0, 0)] <= m[(1, 1)]);
/// # Ok(()) }
/// ```
pub struct Canonical {
    basis: Mat<f64>,
    /// `Q^T A Q`, prepared
    exact: Box<PreparedOperator>,
    search: Box<PreparedOperator>,
}

impl std::fmt::Debug for Canonical {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Canonical")
            .field("n", &self.basis.nrows())
            .finish_non_exhaustive()
    }
}

impl Canonical {
    /// The canonical form of `a` (square, finite); `norm` is carried to the search operator.
    pub(crate) fn new(a: MatRef<'_, f64>, norm: f64, cache_preconditioner: bool) -> Result<Self> {
        let (basis, matrix) = canonical_basis(a)?;
        let snapped = snap(matrix.as_ref());
        let search =
            PreparedOperator::with_norm(snapped, norm).cache_preconditioner(cache_preconditioner);
        let exact =
            PreparedOperator::with_norm(matrix, norm).cache_preconditioner(cache_preconditioner);
        Ok(Self {
            basis,
            exact: Box::new(exact),
            search: Box::new(search),
        })
    }

    /// The orthogonal `Q` whose columns are the canonical basis.
    #[must_use]
    pub fn basis(&self) -> MatRef<'_, f64> {
        self.basis.as_ref()
    }

    /// `Q^T A Q`: the operator in its canonical basis.
    #[must_use]
    pub fn matrix(&self) -> MatRef<'_, f64> {
        self.exact.matrix()
    }

    /// [`Canonical::matrix`], prepared (its own spectra and eigenvectors cached).
    #[must_use]
    pub fn exact(&self) -> &PreparedOperator {
        &self.exact
    }

    /// [`Canonical::matrix`] rounded to a grid of `2^-30` times its Frobenius norm, prepared:
    /// what the default solver searches on.
    #[must_use]
    pub fn search(&self) -> &PreparedOperator {
        &self.search
    }
}

/// `(Q, Q^T A Q)` by the rule of the module's documentation.
fn canonical_basis(a: MatRef<'_, f64>) -> Result<(Mat<f64>, Mat<f64>)> {
    let n = a.nrows();
    let (_, u) = linalg::sym_eigen(a)?;
    let at = linalg::mul(linalg::mul(u.transpose(), a).as_ref(), u.as_ref());
    // twice the skew part in this basis; a sign flip of vector j flips its row and column
    let k = |i: usize, j: usize| at[(i, j)] - at[(j, i)];
    let mut sign = vec![1.0f64; n];
    let mut in_tree = vec![false; n];
    let mut weight = vec![0.0f64; n];
    let mut parent = vec![usize::MAX; n];
    for root in 0..n {
        if in_tree[root] {
            continue;
        }
        in_tree[root] = true;
        let mut last = root;
        loop {
            for j in 0..n {
                let w = k(last, j).abs();
                if !in_tree[j] && w > weight[j] {
                    weight[j] = w;
                    parent[j] = last;
                }
            }
            // the heaviest edge into the tree (the first of equal weights)
            let next = (0..n).filter(|&j| !in_tree[j] && weight[j] > 0.0).fold(
                None,
                |best: Option<usize>, j| match best {
                    Some(b) if weight[b] >= weight[j] => Some(b),
                    _ => Some(j),
                },
            );
            let Some(next) = next else { break };
            let p = parent[next];
            // (D at D)_{p, next} - (D at D)_{next, p} = d_p d_next k(p, next) > 0
            sign[next] = if sign[p] * k(p, next) >= 0.0 {
                1.0
            } else {
                -1.0
            };
            in_tree[next] = true;
            last = next;
        }
    }
    let q = Mat::from_fn(n, n, |i, j| u[(i, j)] * sign[j]);
    let m = Mat::from_fn(n, n, |i, j| sign[i] * at[(i, j)] * sign[j]);
    Ok((q, m))
}

/// `m` rounded to multiples of a power of two near `2^-SNAP_BITS ||m||_F`.
fn snap(m: MatRef<'_, f64>) -> Mat<f64> {
    let norm = m.norm_l2();
    if !(norm > 0.0 && norm.is_finite()) {
        return m.to_owned();
    }
    // the exponent of the norm, rounded to the nearest integer: normalized operators (norm 1 up
    // to rounding) are far from where it changes
    let grid = 2f64.powi(norm.log2().round() as i32 - SNAP_BITS);
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| {
        (m[(i, j)] / grid).round() * grid
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rotation(n: usize, seed: usize) -> Mat<f64> {
        // a product of plane rotations, one of them improper
        let mut q = Mat::<f64>::identity(n, n);
        for k in 0..3 * n {
            let (i, j) = ((k * 7 + seed) % n, (k * 3 + 1 + seed) % n);
            if i == j {
                continue;
            }
            let th = 0.37 * (k + seed) as f64;
            let (c, s) = (th.cos(), th.sin());
            for r in 0..n {
                let (x, y) = (q[(r, i)], q[(r, j)]);
                q[(r, i)] = c * x - s * y;
                q[(r, j)] = s * x + c * y;
            }
        }
        for r in 0..n {
            q[(r, 0)] = -q[(r, 0)];
        }
        q
    }

    /// The canonical operator does not depend on the basis the operator is written in.
    #[test]
    fn the_canonical_operator_is_basis_independent() {
        for n in [1, 2, 3, 7, 20] {
            // pseudo-random entries (a matrix of sines of i and j would have rank 2: ties)
            let a = Mat::from_fn(n, n, |i, j| {
                (((i * 31 + j * 17 + 1) as f64 * 12.9898).sin() * 43758.5453).fract()
            });
            let (q, m) = canonical_basis(a.as_ref()).unwrap();
            let r = rotation(n, n);
            let ra = &r * &a * r.transpose();
            let (q2, m2) = canonical_basis(ra.as_ref()).unwrap();
            assert!((&m - &m2).norm_max() < 1e-13, "n = {n}");
            // Q' = R Q up to the signs of the roots of the spanning forest (here one tree, or
            // n = 1): |Q'^T R Q| = I
            let d = q2.transpose() * &r * &q;
            let signs = Mat::from_fn(n, n, |i, j| d[(i, j)].abs());
            let err = (&signs - Mat::<f64>::identity(n, n)).norm_max();
            assert!(err < 1e-12, "n = {n}: {err:e}");
            // the snapped ones are the same bits
            assert_eq!(snap(m.as_ref()), snap(m2.as_ref()), "n = {n}");
            // the rule: the symmetric part is diagonal and ascending, Q orthogonal
            let qtq = q.transpose() * &q;
            assert!((&qtq - Mat::<f64>::identity(n, n)).norm_max() < 1e-14);
            for i in 0..n {
                for j in 0..n {
                    if i != j {
                        assert!((m[(i, j)] + m[(j, i)]).abs() < 1e-14);
                    }
                }
                if i > 0 {
                    assert!(m[(i - 1, i - 1)] <= m[(i, i)]);
                }
            }
        }
    }

    /// The signs follow the spanning tree: the heaviest skew entry from the first vector is
    /// positive above the diagonal.
    #[test]
    fn signs_make_the_tree_edges_positive() {
        let a = faer::mat![[1.0, 0.5, -0.2], [-0.5, 2.0, 0.1], [0.2, -0.1, 3.0]];
        let (_, m) = canonical_basis(a.as_ref()).unwrap();
        // tree from vector 0: the heavier edge (0, 1) first, then (0, 2) beats (1, 2)
        assert!(m[(0, 1)] > 0.0 && m[(0, 2)] > 0.0);
        // a symmetric operator: no skew part, every sign as the eigensolver gave it, and the
        // canonical operator is diagonal
        let s = faer::mat![[2.0, 1.0], [1.0, 2.0]];
        let (_, m) = canonical_basis(s.as_ref()).unwrap();
        assert!(m[(0, 1)].abs() < 1e-15 && (m[(0, 0)] - 1.0).abs() < 1e-15);
    }

    #[test]
    fn snapping_rounds_to_a_power_of_two_grid() {
        let m = faer::mat![[0.6, 0.0], [0.0, 0.8]];
        let s = snap(m.as_ref());
        let grid = 2f64.powi(-SNAP_BITS);
        assert!((s[(0, 0)] - 0.6).abs() <= grid / 2.0);
        assert_eq!((s[(0, 0)] / grid).fract(), 0.0);
        assert_eq!(
            snap(Mat::<f64>::zeros(2, 2).as_ref()),
            Mat::<f64>::zeros(2, 2)
        );
    }
}
