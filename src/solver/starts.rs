//! Starting points for local optimization over `O(n)`: the ones the default solver
//! ([`crate::RiemannianLbfgs`]) runs from, for any solver to use.
//!
//! * [`spectral`] and [`spectral_transposed`]: the spectral alignment start (spec §4.1), exact
//!   for conjugate pairs with distinct eigenvalues;
//! * [`symmetric_alignment`] and [`signed_symmetric_alignments`]: the eigenbases of the
//!   symmetric parts aligned, and its sign patterns chosen to align the skew parts (one is
//!   exact for conjugate pairs whose symmetric part has distinct eigenvalues);
//! * [`identity`] and [`reflection`]: one point of each component of `O(n)`;
//! * [`haar`]: seeded Haar-random orthogonal matrices, alternating between the two components.
//!
//! # Example
//! ```
//! use dsa::solver::{starts, Problem};
//! # fn main() -> dsa::Result<()> {
//! let a = faer::mat![[0.9, 0.2, 0.0], [-0.2, 0.9, 0.1], [0.0, 0.3, 0.5]];
//! let q = faer::mat![[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]];
//! let b = &q * &a * q.transpose();
//! let problem = Problem::normalized(a.as_ref(), b.as_ref())?;
//! let mut candidates = vec![starts::identity(&problem), starts::reflection(&problem)];
//! candidates.extend(starts::spectral(&problem)?);
//! candidates.extend(starts::signed_symmetric_alignments(&problem, 4, 0)?);
//! candidates.extend((0..4).map(|k| starts::haar(&problem, 7, k)));
//! let best = candidates
//!     .iter()
//!     .map(|c| problem.loss(c.as_ref()))
//!     .collect::<dsa::Result<Vec<f64>>>()?
//!     .into_iter()
//!     .fold(f64::INFINITY, f64::min);
//! assert!(best < 1e-20); // a conjugate pair: some start is exact
//! # Ok(()) }
//! ```

use faer::prelude::*;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use super::Problem;
use crate::linalg::{self, c64};
use crate::Result;

/// The identity of the problem's size.
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let a = faer::mat![[1.0, 2.0], [3.0, 4.0]];
/// let problem = dsa::solver::Problem::normalized(a.as_ref(), a.as_ref())?;
/// assert_eq!(problem.loss(dsa::solver::starts::identity(&problem).as_ref())?, 0.0);
/// # Ok(()) }
/// ```
#[must_use]
pub fn identity(problem: &Problem<'_>) -> Mat<f64> {
    let n = problem.size();
    Mat::identity(n, n)
}

/// `diag(-1, 1, ..., 1)`, in the other component of `O(n)` from the identity.
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let a = faer::mat![[1.0, 2.0], [3.0, 4.0]];
/// let problem = dsa::solver::Problem::normalized(a.as_ref(), a.as_ref())?;
/// let r = dsa::solver::starts::reflection(&problem);
/// assert_eq!((r[(0, 0)], r[(1, 1)]), (-1.0, 1.0));
/// # Ok(()) }
/// ```
#[must_use]
pub fn reflection(problem: &Problem<'_>) -> Mat<f64> {
    reflection_of_size(problem.size())
}

/// The `k`-th Haar-random orthogonal matrix of the stream `seed`: even `k` of determinant +1,
/// odd `k` of determinant -1, so that both components of `O(n)` are sampled. The default
/// solver's `Start::Random(k)` starts from it (on the reversed pair).
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let a = faer::mat![[1.0, 2.0, 0.0], [3.0, 4.0, 1.0], [0.0, 1.0, 1.0]];
/// let problem = dsa::solver::Problem::normalized(a.as_ref(), a.as_ref())?;
/// let q = dsa::solver::starts::haar(&problem, 42, 1);
/// let err = (q.transpose() * &q - faer::Mat::<f64>::identity(3, 3)).norm_max();
/// assert!(err < 1e-14);
/// assert_eq!(q, dsa::solver::starts::haar(&problem, 42, 1)); // seeded
/// # Ok(()) }
/// ```
#[must_use]
pub fn haar(problem: &Problem<'_>, seed: u64, k: usize) -> Mat<f64> {
    haar_of_size(problem.size(), seed, k)
}

/// The spectral alignment start (spec §4.1): eigenvalues of `A` and `B` matched by an
/// assignment, the phases of the matched eigenvectors recovered from their Gram matrices, and
/// the nearest orthogonal matrix to the resulting change of basis. For `B = Q A Q^T` with
/// distinct eigenvalues it is the optimum `Q^T` (up to rounding). `None` when the eigenvectors
/// are too ill-conditioned to use (a defective operator, for instance).
///
/// # Errors
/// [`crate::DsaError::NoConvergence`] if an eigen-decomposition fails.
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let a = faer::mat![[0.9, 0.2, 0.0], [-0.2, 0.9, 0.1], [0.0, 0.3, 0.5]];
/// let q = faer::mat![[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]];
/// let b = &q * &a * q.transpose();
/// let problem = dsa::solver::Problem::normalized(a.as_ref(), b.as_ref())?;
/// let c = dsa::solver::starts::spectral(&problem)?.expect("distinct eigenvalues");
/// assert!(problem.loss(c.as_ref())? < 1e-24);
/// # Ok(()) }
/// ```
pub fn spectral(problem: &Problem<'_>) -> Result<Option<Mat<f64>>> {
    spectral_alignment(problem, false)
}

/// The spectral alignment start of the transposed pair `(A^T, B^T)`, another start for the
/// same loss (`||A - C B C^T|| = ||A^T - C B^T C^T||`).
///
/// # Errors
/// [`crate::DsaError::NoConvergence`] if an eigen-decomposition fails.
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let a = faer::mat![[0.9, 0.2, 0.0], [-0.2, 0.9, 0.1], [0.0, 0.3, 0.5]];
/// let problem = dsa::solver::Problem::normalized(a.as_ref(), a.as_ref())?;
/// let c = dsa::solver::starts::spectral_transposed(&problem)?.expect("distinct eigenvalues");
/// assert!(problem.loss(c.as_ref())? < 1e-24);
/// # Ok(()) }
/// ```
pub fn spectral_transposed(problem: &Problem<'_>) -> Result<Option<Mat<f64>>> {
    spectral_alignment(problem, true)
}

/// `U_{A_s} U_{B_s}^T`, the eigenvectors of the symmetric parts sorted alike: the exact optimum
/// when both operators are symmetric (spec §4.1 (iii)), what [`crate::SymmetricClosedForm`]
/// returns.
///
/// # Errors
/// [`crate::DsaError::NoConvergence`] if an eigen-decomposition fails.
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let a = faer::mat![[2.0, 1.0], [1.0, 0.0]];
/// let q = faer::mat![[0.6, -0.8], [0.8, 0.6]];
/// let b = &q * &a * q.transpose();
/// let problem = dsa::solver::Problem::normalized(a.as_ref(), b.as_ref())?;
/// let c = dsa::solver::starts::symmetric_alignment(&problem)?;
/// assert!(problem.loss(c.as_ref())? < 1e-26);
/// # Ok(()) }
/// ```
pub fn symmetric_alignment(problem: &Problem<'_>) -> Result<Mat<f64>> {
    let (_, ua) = problem.a().sym_eigen()?;
    let (_, ub) = problem.b().sym_eigen()?;
    Ok(linalg::mul(ua, ub.transpose()))
}

/// `diag(-1, 1, ..., 1)` of size `n`.
pub(crate) fn reflection_of_size(n: usize) -> Mat<f64> {
    let mut m = Mat::identity(n, n);
    if n > 0 {
        m[(0, 0)] = -1.0;
    }
    m
}

/// The `k`-th Haar-random orthogonal matrix of size `n` of a seeded stream. Odd `k` get
/// determinant -1 (first column flipped) so that both components of `O(n)` are sampled.
pub(crate) fn haar_of_size(n: usize, seed: u64, k: usize) -> Mat<f64> {
    let mut rng =
        rand::rngs::StdRng::seed_from_u64(seed ^ (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut q = Mat::from_fn(n, n, |_, _| rng.sample::<f64, _>(StandardNormal));
    // modified Gram-Schmidt with positive R diagonal: Haar distributed
    for j in 0..n {
        for i in 0..j {
            let d: f64 = (0..n).map(|r| q[(r, i)] * q[(r, j)]).sum();
            for r in 0..n {
                q[(r, j)] -= d * q[(r, i)];
            }
        }
        let nrm = (0..n).map(|r| q[(r, j)] * q[(r, j)]).sum::<f64>().sqrt();
        for r in 0..n {
            q[(r, j)] /= nrm;
        }
    }
    let det_sign = linalg::sign_of_det(q.as_ref());
    let want = if k % 2 == 0 { 1.0 } else { -1.0 };
    if det_sign != want {
        for r in 0..n {
            q[(r, 0)] = -q[(r, 0)];
        }
    }
    q
}

/// The spectral alignment start (spec §4.1). Returns `None` when the eigenvectors are too
/// ill-conditioned to use (e.g. a defective operator).
///
/// `transposed`: the alignment of the transposed pair `(A^T, B^T)`, another start for the same
/// loss (`||A - C B C^T|| = ||A^T - C B^T C^T||`).
pub(crate) fn spectral_alignment(
    problem: &Problem<'_>,
    transposed: bool,
) -> Result<Option<Mat<f64>>> {
    let (a, b) = (problem.a(), problem.b());
    let n = a.size();
    if n == 0 {
        return Ok(None);
    }
    let (la, va) = a.eigen_of(transposed)?;
    let (lb, wb) = b.eigen_of(transposed)?;
    let (gv, gwb) = (a.eigen_gram_of(transposed)?, b.eigen_gram_of(transposed)?);
    // match eigenvalues: cost |l_i - m_j|
    let cost: Vec<f64> = (0..n)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .map(|(i, j)| (la[i] - lb[j]).norm())
        .collect();
    if cost.iter().any(|c| !c.is_finite()) {
        return Ok(None);
    }
    let perm = crate::assignment::min_cost_assignment(&cost, n);
    // W reordered so that column i matches V's column i
    let w = Mat::from_fn(n, n, |r, i| wb[(r, perm[i])]);
    // Gram matrices (those of W are those of B's eigenvectors, reordered)
    let gw = Mat::from_fn(n, n, |i, j| gwb[(perm[i], perm[j])]);
    // phases along a maximum spanning tree of |G_V|: conj(d_i) Gw_ij d_j = Gv_ij
    let mut d = vec![c64::new(1.0, 0.0); n];
    let mut in_tree = vec![false; n];
    let mut best_w = vec![-1.0f64; n];
    let mut parent = vec![usize::MAX; n];
    let tiny = 1e-10;
    // edge weight min(|Gv_ij|, |Gw_ij|): no ratio of tiny entries is used
    let relax = |i: usize, in_tree: &[bool], best_w: &mut [f64], parent: &mut [usize]| {
        for j in 0..n {
            if !in_tree[j] {
                let wgt = gv[(i, j)].norm().min(gw[(i, j)].norm());
                if wgt > best_w[j] {
                    best_w[j] = wgt;
                    parent[j] = i;
                }
            }
        }
    };
    // Prim's algorithm from every component root
    for root in 0..n {
        if in_tree[root] {
            continue;
        }
        in_tree[root] = true;
        relax(root, &in_tree, &mut best_w, &mut parent);
        loop {
            let mut next = usize::MAX;
            let mut bw = tiny;
            for j in 0..n {
                if !in_tree[j] && best_w[j] > bw {
                    bw = best_w[j];
                    next = j;
                }
            }
            if next == usize::MAX {
                break;
            }
            let i = parent[next];
            // conj(d_i) d_j = Gv_ij / Gw_ij  =>  d_j = d_i * ratio / |ratio|
            let ratio = gv[(i, next)] / gw[(i, next)];
            let nr = ratio.norm();
            d[next] = if nr > 0.0 && nr.is_finite() {
                d[i] * (ratio / nr)
            } else {
                d[i]
            };
            in_tree[next] = true;
            relax(next, &in_tree, &mut best_w, &mut parent);
        }
    }
    // X = W D V^-1  <=>  V^T X^T = (W D)^T
    let wd_t = Mat::from_fn(n, n, |i, r| w[(r, i)] * d[i]);
    let vt = Mat::from_fn(n, n, |i, j| va[(j, i)]);
    let xt = match linalg::solve_complex(vt.as_ref(), wd_t.as_ref()) {
        Some(x) => x,
        None => return Ok(None),
    };
    // X = e^{i phi} Q: take the larger of Re X, Im X
    let re = Mat::from_fn(n, n, |i, j| xt[(j, i)].re);
    let im = Mat::from_fn(n, n, |i, j| xt[(j, i)].im);
    let x = if re.norm_l2() >= im.norm_l2() { re } else { im };
    if !x.norm_l2().is_finite() || x.norm_l2() == 0.0 {
        return Ok(None);
    }
    let q = linalg::polar(x.as_ref())?;
    // B ~ Q A Q^T  =>  A ~ Q^T B Q: C0 = Q^T
    Ok(Some(q.transpose().to_owned()))
}

/// `V^H V`.
pub(crate) fn herm_gram(v: MatRef<'_, c64>) -> Mat<c64> {
    let n = v.ncols();
    Mat::from_fn(n, n, |i, j| {
        let mut s = c64::new(0.0, 0.0);
        for r in 0..v.nrows() {
            s += v[(r, i)].conj() * v[(r, j)];
        }
        s
    })
}

/// The `k`-th seeded random skew matrix of unit Frobenius norm.
pub(crate) fn random_skew(n: usize, seed: u64, k: usize) -> Mat<f64> {
    let mut rng =
        rand::rngs::StdRng::seed_from_u64(seed ^ (k as u64).wrapping_mul(0xD134_2543_DE82_EF95));
    let w = Mat::from_fn(n, n, |_, _| rng.sample::<f64, _>(StandardNormal));
    let x = Mat::from_fn(n, n, |i, j| w[(i, j)] - w[(j, i)]);
    let nrm = x.norm_l2();
    if nrm > 0.0 {
        &x * (1.0 / nrm)
    } else {
        x
    }
}

/// Symmetric-part alignments `U_A D U_B^T` (optimal for the symmetric parts for every sign
/// pattern `D`) with the signs chosen to align the skew parts: maximize
/// `sum_ij W_ij d_i d_j`, `W = (U_A^T A_k U_A) .* (U_B^T B_k U_B)`, by greedy single flips from
/// `k` seeded sign vectors (the first all ones). Distinct local maxima only (`D` and `-D` give
/// the same `C B C^T`), in the order found: at most `k`. For a conjugate pair whose symmetric
/// part has distinct eigenvalues, one of them is exact.
///
/// # Errors
/// [`crate::DsaError::NoConvergence`] if an eigen-decomposition fails.
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let a = faer::mat![[0.5, 1.0, 0.0], [0.0, 0.3, 1.0], [0.2, 0.0, 0.1]];
/// let q = faer::mat![[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]];
/// let b = &q * &a * q.transpose();
/// let problem = dsa::solver::Problem::normalized(a.as_ref(), b.as_ref())?;
/// let signed = dsa::solver::starts::signed_symmetric_alignments(&problem, 16, 0)?;
/// assert!(signed.len() <= 16);
/// let best = signed.iter().map(|c| problem.loss(c.as_ref())).collect::<dsa::Result<Vec<_>>>()?;
/// assert!(best.iter().any(|&l| l < 1e-24));
/// # Ok(()) }
/// ```
pub fn signed_symmetric_alignments(
    problem: &Problem<'_>,
    k: usize,
    seed: u64,
) -> Result<Vec<Mat<f64>>> {
    let (pa, pb) = (problem.a(), problem.b());
    let (a, b) = (pa.matrix(), pb.matrix());
    let n = a.nrows();
    let (_, ua) = pa.sym_eigen()?;
    let (_, ub) = pb.sym_eigen()?;
    let ak = Mat::from_fn(n, n, |i, j| 0.5 * (a[(i, j)] - a[(j, i)]));
    let bk = Mat::from_fn(n, n, |i, j| 0.5 * (b[(i, j)] - b[(j, i)]));
    let at = linalg::mul(linalg::mul(ua.transpose(), ak.as_ref()).as_ref(), ua);
    let bt = linalg::mul(linalg::mul(ub.transpose(), bk.as_ref()).as_ref(), ub);
    let w = Mat::from_fn(
        n,
        n,
        |i, j| if i == j { 0.0 } else { at[(i, j)] * bt[(i, j)] },
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x5151_7777);
    let mut seen: Vec<Vec<i8>> = Vec::new();
    let mut out = Vec::new();
    for trial in 0..k {
        let mut d: Vec<f64> = (0..n)
            .map(|_| {
                if trial == 0 || rng.random::<bool>() {
                    1.0
                } else {
                    -1.0
                }
            })
            .collect();
        // field h_i = sum_j W_ij d_j ; flipping i changes the objective by -4 d_i h_i
        let mut h: Vec<f64> = (0..n)
            .map(|i| (0..n).map(|j| w[(i, j)] * d[j]).sum())
            .collect();
        loop {
            let mut best = 0.0;
            let mut bi = usize::MAX;
            for i in 0..n {
                let gain = -4.0 * d[i] * h[i];
                if gain > best + 1e-15 {
                    best = gain;
                    bi = i;
                }
            }
            if bi == usize::MAX {
                break;
            }
            d[bi] = -d[bi];
            for i in 0..n {
                h[i] += 2.0 * w[(i, bi)] * d[bi];
            }
        }
        // canonical sign (D and -D give the same C B C^T)
        let s0 = if d[0] < 0.0 { -1.0 } else { 1.0 };
        let key: Vec<i8> = d
            .iter()
            .map(|&x| if x * s0 > 0.0 { 1 } else { -1 })
            .collect();
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let uad = Mat::from_fn(n, n, |i, j| ua[(i, j)] * d[j]);
        out.push(linalg::mul(uad.as_ref(), ub.transpose()));
    }
    Ok(out)
}

/// The `k`-th sign-flip kick of `c` (the kicks of [`crate::RiemannianLbfgs::kicks`]): `c` with
/// the signs of one to four seeded vectors of an orthonormal basis flipped, on the left (`H c`,
/// `H = I - 2 sum u_i u_i^T` over the chosen columns `u_i` of `left`) or on the right (`c H'`
/// with columns of `right`). Kick `k` flips `1 + k % 4` distinct vectors, on the left for
/// `k / 4` even and on the right for `k / 4` odd, chosen from `seed` and `k` alone. The
/// reflection depends on each `u_i u_i^T` only, not on the sign of `u_i`.
///
/// With `left` and `right` the symmetric-part eigenbases of `A` and `B`, a flip keeps the
/// alignment of the symmetric parts of `A` and `C B C^T` and changes only that of their skew
/// parts. `c`, `left` and `right` must be `n x n`.
///
/// # Example
/// ```
/// use dsa::solver::starts;
/// let c = faer::Mat::<f64>::identity(3, 3);
/// let e = faer::Mat::<f64>::identity(3, 3);
/// let kicked = starts::kick(c.as_ref(), e.as_ref(), e.as_ref(), 0, 0);
/// // one flip on the left of the identity in the standard basis: a diagonal of signs
/// let flipped = (0..3).filter(|&i| kicked[(i, i)] == -1.0).count();
/// assert_eq!(flipped, 1);
/// assert!((&kicked * kicked.transpose() - &e).norm_max() < 1e-15);
/// ```
#[must_use]
pub fn kick(
    c: MatRef<'_, f64>,
    left: MatRef<'_, f64>,
    right: MatRef<'_, f64>,
    seed: u64,
    k: usize,
) -> Mat<f64> {
    let n = c.nrows();
    let mut rng = rand::rngs::StdRng::seed_from_u64(
        seed ^ 0x4B1C_4B1C_0F1F_0F1F ^ (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    let flips = (1 + k % 4).min(n);
    let mut chosen: Vec<usize> = Vec::with_capacity(flips);
    while chosen.len() < flips {
        let i = rng.random_range(0..n);
        if !chosen.contains(&i) {
            chosen.push(i);
        }
    }
    let mut out = c.to_owned();
    let on_right = (k / 4) % 2 == 1;
    for &i in &chosen {
        if on_right {
            // out <- out (I - 2 w w^T)
            let w = right.col(i);
            let ow = &out * w;
            out -= (&ow * w.transpose()) * 2.0;
        } else {
            // out <- (I - 2 u u^T) out
            let u = left.col(i);
            let uo = u.transpose() * &out;
            out -= (u * &uo) * 2.0;
        }
    }
    out
}
