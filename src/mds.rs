//! Classical multidimensional scaling (Torgerson–Gower): points in a few dimensions whose
//! pairwise distances reproduce a distance matrix, to look at a DSA distance matrix as a map.
//!
//! Given `n` items and their distances `d_ij`, classical MDS double-centres the squared
//! distances,
//!
//! ```text
//! B = -1/2 J D2 J,     D2_ij = d_ij^2,     J = I - 1 1^T / n,
//! ```
//!
//! and takes the leading eigenpairs `B = U diag(lambda) U^T` (`lambda` descending):
//! the coordinates of item `i` on axis `k` are `U_ik sqrt(lambda_k)`. When the distances are
//! Euclidean distances between points in `k` dimensions, `B` is their centred Gram matrix, it
//! has `k` positive eigenvalues and the rest zero, and the embedding gives back the points up to
//! a rigid motion (a rotation or reflection about their centroid): the distances are reproduced
//! exactly. A DSA distance matrix is not Euclidean in general: `B` then has negative
//! eigenvalues too, and the embedding is the best rank-`k` approximation of `B` (the "strain"
//! criterion). [`MdsEmbedding`] reports every eigenvalue and the embedding's Kruskal stress, so
//! that one can tell how faithful a 2-D picture is.
//!
//! # Example
//! ```
//! use faer::Mat;
//! # fn main() -> dsa::Result<()> {
//! // four points on a line: 0, 1, 3, 6
//! let x = [0.0_f64, 1.0, 3.0, 6.0];
//! let d = Mat::from_fn(4, 4, |i, j| (x[i] - x[j]).abs());
//! let emb = dsa::mds::classical_mds(d.as_ref(), 1)?;
//! for i in 0..4 {
//!     for j in 0..4 {
//!         let e = (emb.coords[(i, 0)] - emb.coords[(j, 0)]).abs();
//!         assert!((e - d[(i, j)]).abs() < 1e-12);
//!     }
//! }
//! assert!(emb.stress < 1e-12);
//! # Ok(()) }
//! ```

use faer::{Mat, MatRef};

use crate::error::{DsaError, Result};
use crate::linalg::sym_eigen;

/// Largest asymmetry `|d_ij - d_ji|`, and largest diagonal entry `|d_ii|`, accepted as rounding,
/// relative to the largest entry of the matrix. Distances computed once per pair and mirrored
/// (as `Dsa::pairwise` does) are exactly symmetric; anything beyond rounding is not a distance
/// matrix, and averaging it with its transpose is a decision the caller should make.
const SYMMETRY_RTOL: f64 = 1e-8;

/// A classical MDS embedding: the output of [`classical_mds`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MdsEmbedding {
    /// Coordinates, `n x dims`: row `i` is item `i`, column `k` the `k`-th axis (axes in order
    /// of decreasing eigenvalue). Centred: each column sums to zero. Each axis's sign is fixed
    /// so that its entry of largest magnitude is positive (the first such entry on a tie), so
    /// the same matrix always gives the same picture.
    pub coords: Mat<f64>,
    /// All `n` eigenvalues of the double-centred matrix `B`, in decreasing order. The first
    /// `dims` set the axes' scales (a negative or zero one gives an axis of zeros). Negative
    /// eigenvalues mean the distances are not Euclidean; their size next to the positive ones
    /// tells by how much.
    pub eigenvalues: Vec<f64>,
    /// Kruskal's stress-1 of the embedding, `sqrt(sum_{i<j} (d_ij - e_ij)^2 / sum_{i<j} d_ij^2)`
    /// with `e_ij` the distance between rows `i` and `j` of `coords`: 0 when the embedding
    /// reproduces every distance, about 0.1 or more when the picture distorts them visibly.
    /// 0 when every distance is 0.
    pub stress: f64,
}

/// Classical multidimensional scaling of a distance matrix into `dims` dimensions.
///
/// `d` is an `n x n` matrix of distances: square, finite, non-negative, symmetric and zero on
/// the diagonal, up to rounding (a relative `1e-8` of its largest entry; within that, the
/// matrix is averaged with its transpose and its diagonal read as zero). Any such matrix is
/// accepted, Euclidean or not: a DSA distance matrix (`Dsa::pairwise`) is the intended input.
/// See the [module documentation](self) for the method.
///
/// Deterministic: the same matrix gives the same coordinates, bit for bit, on any number of
/// threads.
///
/// # Errors
/// - [`DsaError::ShapeMismatch`] if `d` is not square;
/// - [`DsaError::EmptyData`] if it is `0 x 0`;
/// - [`DsaError::NonFinite`] if an entry is NaN or infinite;
/// - [`DsaError::InvalidParameter`] (`d`) if an entry is negative, the matrix is not symmetric
///   or its diagonal is not zero; (`dims`) if `dims` is 0 or more than `n - 1` (`n` centred
///   points span at most `n - 1` dimensions);
/// - [`DsaError::NoConvergence`] if the eigendecomposition fails.
///
/// # Example
/// The DSA distances of three systems as a 2-D map:
/// ```
/// use faer::Mat;
/// # fn main() -> dsa::Result<()> {
/// let sys = |f: f64| Mat::from_fn(300, 2, move |t, j| (f * t as f64 + j as f64).sin());
/// let systems = vec![sys(0.1), sys(0.2), sys(0.4)];
/// let d = dsa::Dsa::builder().n_delays(4).rank(4).build()?.pairwise(&systems)?;
/// let map = dsa::mds::classical_mds(d.as_ref(), 2)?;
/// assert_eq!((map.coords.nrows(), map.coords.ncols()), (3, 2));
/// assert_eq!(map.eigenvalues.len(), 3);
/// assert!(map.stress >= 0.0);
/// println!("{:.3?}, stress {:.1e}", map.coords, map.stress);
/// # Ok(()) }
/// ```
pub fn classical_mds(d: MatRef<'_, f64>, dims: usize) -> Result<MdsEmbedding> {
    let n = d.nrows();
    if d.ncols() != n {
        return Err(DsaError::ShapeMismatch {
            what: format!(
                "the distance matrix is {} x {}; classical MDS needs a square n x n matrix of \
                 distances between n items",
                n,
                d.ncols()
            ),
        });
    }
    if n == 0 {
        return Err(DsaError::EmptyData {
            what: "the distance matrix is 0 x 0".into(),
        });
    }
    let s = checked_symmetric(d)?;
    if dims == 0 || dims > n - 1 {
        return Err(DsaError::param(
            "dims",
            format!(
                "dims = {dims}, but {n} items span at most {} dimensions after centring; \
                 choose dims between 1 and {} (at least 2 items are needed)",
                n - 1,
                n - 1
            ),
        ));
    }

    // B = -1/2 J D2 J: with A = -1/2 D2 (symmetric), b_ij = a_ij - r_i - r_j + g, where r is
    // the row mean of A and g its grand mean.
    let a = Mat::from_fn(n, n, |i, j| -0.5 * s[(i, j)] * s[(i, j)]);
    let nf = n as f64;
    let r: Vec<f64> = (0..n)
        .map(|i| (0..n).map(|j| a[(i, j)]).sum::<f64>() / nf)
        .collect();
    let g = r.iter().sum::<f64>() / nf;
    let b = Mat::from_fn(n, n, |i, j| a[(i, j)] - r[i] - r[j] + g);

    // Ascending from the eigensolver; the axes are the largest.
    let (ascending, u) = sym_eigen(b.as_ref())?;
    let order: Vec<usize> = (0..n).rev().collect();
    let eigenvalues: Vec<f64> = order.iter().map(|&k| ascending[k]).collect();

    let mut coords = Mat::<f64>::zeros(n, dims);
    for (axis, &k) in order.iter().take(dims).enumerate() {
        let scale = eigenvalues[axis].max(0.0).sqrt();
        let col = u.col(k);
        // Sign: the entry of largest magnitude positive (first on a tie).
        let mut pivot = 0;
        for i in 1..n {
            if col[i].abs() > col[pivot].abs() {
                pivot = i;
            }
        }
        let sign = if col[pivot] < 0.0 { -1.0 } else { 1.0 };
        for i in 0..n {
            coords[(i, axis)] = sign * scale * col[i];
        }
    }

    let stress = kruskal_stress(s.as_ref(), coords.as_ref());
    Ok(MdsEmbedding {
        coords,
        eigenvalues,
        stress,
    })
}

/// The validated matrix, averaged with its transpose and with a zero diagonal.
fn checked_symmetric(d: MatRef<'_, f64>) -> Result<Mat<f64>> {
    let n = d.nrows();
    let mut largest = 0.0_f64;
    for j in 0..n {
        for i in 0..n {
            let v = d[(i, j)];
            if !v.is_finite() {
                return Err(DsaError::NonFinite {
                    input: "the distance matrix".into(),
                    location: format!("row {i}, column {j}"),
                    value: v,
                });
            }
            if v < 0.0 {
                return Err(DsaError::param(
                    "d",
                    format!(
                        "entry ({i}, {j}) is {v}; distances cannot be negative (pass distances, \
                         not similarities or signed scores)"
                    ),
                ));
            }
            largest = largest.max(v);
        }
    }
    let tol = SYMMETRY_RTOL * largest;
    for i in 0..n {
        if d[(i, i)] > tol {
            return Err(DsaError::param(
                "d",
                format!(
                    "diagonal entry ({i}, {i}) is {}, but the distance of an item to itself is \
                     0; set the diagonal to 0",
                    d[(i, i)]
                ),
            ));
        }
        for j in 0..i {
            if (d[(i, j)] - d[(j, i)]).abs() > tol {
                return Err(DsaError::param(
                    "d",
                    format!(
                        "not symmetric: entry ({i}, {j}) is {} but entry ({j}, {i}) is {} \
                         (more than a relative {SYMMETRY_RTOL:e} apart); pass a distance \
                         matrix, e.g. (d + d^T) / 2 if the two halves are estimates of the same \
                         distances",
                        d[(i, j)],
                        d[(j, i)]
                    ),
                ));
            }
        }
    }
    Ok(Mat::from_fn(n, n, |i, j| {
        if i == j {
            0.0
        } else {
            0.5 * (d[(i, j)] + d[(j, i)])
        }
    }))
}

/// Kruskal's stress-1 of `coords` against the distances `s` (0 when every distance is 0).
fn kruskal_stress(s: MatRef<'_, f64>, coords: MatRef<'_, f64>) -> f64 {
    let n = s.nrows();
    let (mut num, mut den) = (0.0, 0.0);
    for j in 0..n {
        for i in 0..j {
            let e = (0..coords.ncols())
                .map(|k| (coords[(i, k)] - coords[(j, k)]).powi(2))
                .sum::<f64>()
                .sqrt();
            num += (s[(i, j)] - e).powi(2);
            den += s[(i, j)] * s[(i, j)];
        }
    }
    if den == 0.0 {
        0.0
    } else {
        (num / den).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_points_lie_on_a_line_at_their_distance() {
        let d = faer::mat![[0.0, 2.5], [2.5, 0.0]];
        let emb = classical_mds(d.as_ref(), 1).unwrap();
        assert!(((emb.coords[(0, 0)] - emb.coords[(1, 0)]).abs() - 2.5).abs() < 1e-14);
        assert!((emb.coords[(0, 0)] + emb.coords[(1, 0)]).abs() < 1e-14);
        // sign rule: the larger-magnitude entry (the first, on this tie) is positive
        assert!(emb.coords[(0, 0)] > 0.0);
        assert_eq!(emb.eigenvalues.len(), 2);
    }

    #[test]
    fn stress_of_a_perfect_and_a_flattened_embedding() {
        let s = faer::mat![[0.0, 1.0], [1.0, 0.0]];
        let exact = faer::mat![[0.5], [-0.5]];
        assert_eq!(kruskal_stress(s.as_ref(), exact.as_ref()), 0.0);
        let collapsed = faer::mat![[0.0], [0.0]];
        assert_eq!(kruskal_stress(s.as_ref(), collapsed.as_ref()), 1.0);
        let zero = Mat::<f64>::zeros(2, 2);
        assert_eq!(kruskal_stress(zero.as_ref(), collapsed.as_ref()), 0.0);
    }
}
