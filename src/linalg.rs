//! The one place that talks to faer's decompositions.
//!
//! Every call here runs with `Par::Seq`: parallelism in this crate lives one level up (over
//! datasets and pairs), which keeps every result bit-for-bit independent of the thread count.

use faer::diag::Diag;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::matmul::matmul;
use faer::prelude::*;
use faer::{Accum, Par};

use crate::error::{DsaError, Result};

/// Complex number used for spectra.
pub use faer::c64;

pub(crate) const SEQ: Par = Par::Seq;

/// `nalgebra` matrix to faer.
pub(crate) fn from_nalgebra(m: &nalgebra::DMatrix<f64>) -> Mat<f64> {
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)])
}

/// faer matrix to `nalgebra`.
pub(crate) fn to_nalgebra(m: MatRef<'_, f64>) -> nalgebra::DMatrix<f64> {
    nalgebra::DMatrix::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)])
}

/// `dst = alpha * a * b` (sequential).
pub(crate) fn mm(dst: MatMut<'_, f64>, a: MatRef<'_, f64>, b: MatRef<'_, f64>, alpha: f64) {
    matmul(dst, Accum::Replace, a, b, alpha, SEQ);
}

/// `dst += alpha * a * b` (sequential).
pub(crate) fn mm_add(dst: MatMut<'_, f64>, a: MatRef<'_, f64>, b: MatRef<'_, f64>, alpha: f64) {
    matmul(dst, Accum::Add, a, b, alpha, SEQ);
}

/// Owned product `a * b` (sequential).
pub(crate) fn mul(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Mat<f64> {
    let mut c = Mat::zeros(a.nrows(), b.ncols());
    mm(c.as_mut(), a, b, 1.0);
    c
}

/// Thin SVD `a = U diag(s) V^T`, `s` descending.
pub(crate) struct ThinSvd {
    pub u: Mat<f64>,
    pub s: Vec<f64>,
    pub v: Mat<f64>,
}

pub(crate) fn thin_svd(a: MatRef<'_, f64>) -> Result<ThinSvd> {
    svd_parts(a, true)
}

/// The thin SVD; without `want_u`, `U` is not computed and left `m x 0`.
fn svd_parts(a: MatRef<'_, f64>, want_u: bool) -> Result<ThinSvd> {
    use faer::linalg::svd::{svd, svd_scratch, ComputeSvdVectors};
    let (m, n) = a.shape();
    let k = m.min(n);
    let mut s = Diag::<f64>::zeros(k);
    let mut u = want_u.then(|| Mat::<f64>::zeros(m, k));
    let mut v = Mat::<f64>::zeros(n, k);
    let u_kind = if want_u {
        ComputeSvdVectors::Thin
    } else {
        ComputeSvdVectors::No
    };
    let mut mem = MemBuffer::new(svd_scratch::<f64>(
        m,
        n,
        u_kind,
        ComputeSvdVectors::Thin,
        SEQ,
        default(),
    ));
    svd(
        a,
        s.as_mut(),
        u.as_mut().map(|u| u.as_mut()),
        Some(v.as_mut()),
        SEQ,
        MemStack::new(&mut mem),
        default(),
    )?;
    let mut s: Vec<f64> = s.column_vector().iter().copied().collect();
    let mut u = u.unwrap_or_else(|| Mat::zeros(m, 0));
    sort_descending(&mut s, &mut [&mut u, &mut v]);
    Ok(ThinSvd { u, s, v })
}

/// Sort singular values descending, permuting the columns of the factors alike. faer returns
/// them sorted except, at times, values at rounding level after exact zeros (e.g. for a
/// constant matrix); the numerical-rank cut and the rank rules rely on the order.
fn sort_descending(s: &mut [f64], factors: &mut [&mut Mat<f64>]) {
    if s.windows(2).all(|w| w[0] >= w[1]) {
        return;
    }
    let mut order: Vec<usize> = (0..s.len()).collect();
    order.sort_by(|&i, &j| s[j].total_cmp(&s[i]));
    let sorted: Vec<f64> = order.iter().map(|&i| s[i]).collect();
    s.copy_from_slice(&sorted);
    // a factor that was not computed (0 columns) has nothing to permute
    for f in factors.iter_mut().filter(|f| f.ncols() >= order.len()) {
        let g = Mat::from_fn(f.nrows(), order.len(), |r, c| f[(r, order[c])]);
        f.as_mut().subcols_mut(0, order.len()).copy_from(g.as_ref());
    }
}

/// Singular values (descending) and the thin right factor `V` (`n x min(m, n)`) of
/// `a = U diag(s) V^T`, without forming `U`.
///
/// For a tall `a` faer reduces it by a Householder QR and decomposes the `n x n` triangular
/// factor; skipping `U` skips applying the `m x n` Householder sequence to it, which is most of
/// the cost of a thin SVD when `m >> n`.
pub(crate) fn svd_values_right(a: MatRef<'_, f64>) -> Result<(Vec<f64>, Mat<f64>)> {
    let svd = svd_parts(a, false)?;
    Ok((svd.s, svd.v))
}

/// Loss of orthonormality of the columns of `v`: `max_ij |(V^T V - I)_ij|` (one triangle of
/// the Gram matrix is formed).
pub(crate) fn orthonormality_defect(v: MatRef<'_, f64>) -> f64 {
    use faer::linalg::matmul::triangular::{matmul as tri_matmul, BlockStructure};
    let k = v.ncols();
    let mut g = Mat::<f64>::zeros(k, k);
    tri_matmul(
        g.as_mut(),
        BlockStructure::TriangularLower,
        Accum::Replace,
        v.transpose(),
        BlockStructure::Rectangular,
        v,
        BlockStructure::Rectangular,
        1.0,
        SEQ,
    );
    let mut worst = 0.0f64;
    for j in 0..k {
        worst = worst.max((g[(j, j)] - 1.0).abs());
        for i in j + 1..k {
            worst = worst.max(g[(i, j)].abs());
        }
    }
    worst
}

/// Singular values only, descending.
pub(crate) fn singular_values(a: MatRef<'_, f64>) -> Result<Vec<f64>> {
    use faer::linalg::svd::{svd, svd_scratch, ComputeSvdVectors};
    let (m, n) = a.shape();
    let k = m.min(n);
    let mut s = Diag::<f64>::zeros(k);
    let mut mem = MemBuffer::new(svd_scratch::<f64>(
        m,
        n,
        ComputeSvdVectors::No,
        ComputeSvdVectors::No,
        SEQ,
        default(),
    ));
    let (prepared, scale) = prepare(a);
    let a = prepared.as_ref().map_or(a, Mat::as_ref);
    if svd(
        a,
        s.as_mut(),
        None,
        None,
        SEQ,
        MemStack::new(&mut mem),
        default(),
    )
    .is_err()
    {
        return singular_values_symmetric(a).map(|s| s.into_iter().map(|x| x / scale).collect());
    }
    let mut s: Vec<f64> = s.column_vector().iter().map(|x| x / scale).collect();
    sort_descending(&mut s, &mut []);
    Ok(s)
}

/// Singular values, descending, as the `min(m, n)` largest eigenvalues of the symmetric
/// `[[0, A], [A^T, 0]]` (whose eigenvalues are `+-s_i` and zeros): the fallback for matrices on
/// which faer 0.24's SVD does not converge (seen on a 4 x 4 skew-symmetric matrix with paired
/// singular values, with and without vectors), to the same absolute accuracy `eps ||A||`.
fn singular_values_symmetric(a: MatRef<'_, f64>) -> Result<Vec<f64>> {
    let (m, n) = a.shape();
    let jw = Mat::from_fn(m + n, m + n, |i, j| match (i < m, j < m) {
        (true, false) => a[(i, j - m)],
        (false, true) => a[(j, i - m)],
        _ => 0.0,
    });
    let values = sym_eigenvalues(jw.as_ref())?;
    Ok(values
        .iter()
        .rev()
        .take(m.min(n))
        .map(|x| x.max(0.0))
        .collect())
}

/// Symmetric eigendecomposition of `(a + a^T)/2`: eigenvalues ascending, orthonormal eigenvectors.
pub(crate) fn sym_eigen(a: MatRef<'_, f64>) -> Result<(Vec<f64>, Mat<f64>)> {
    use faer::linalg::evd::{self_adjoint_evd, self_adjoint_evd_scratch, ComputeEigenvectors};
    let n = a.nrows();
    let sym = Mat::from_fn(n, n, |i, j| 0.5 * (a[(i, j)] + a[(j, i)]));
    let (prepared, scale) = prepare(sym.as_ref());
    let sym = prepared.unwrap_or(sym);
    let mut s = Diag::<f64>::zeros(n);
    let mut u = Mat::<f64>::zeros(n, n);
    let mut mem = MemBuffer::new(self_adjoint_evd_scratch::<f64>(
        n,
        ComputeEigenvectors::Yes,
        SEQ,
        default(),
    ));
    self_adjoint_evd(
        sym.as_ref(),
        s.as_mut(),
        Some(u.as_mut()),
        SEQ,
        MemStack::new(&mut mem),
        default(),
    )?;
    Ok((s.column_vector().iter().map(|x| x / scale).collect(), u))
}

/// Eigenvalues of a symmetric matrix `(a + a^T)/2`, ascending.
pub(crate) fn sym_eigenvalues(a: MatRef<'_, f64>) -> Result<Vec<f64>> {
    use faer::linalg::evd::{self_adjoint_evd, self_adjoint_evd_scratch, ComputeEigenvectors};
    let n = a.nrows();
    let sym = Mat::from_fn(n, n, |i, j| 0.5 * (a[(i, j)] + a[(j, i)]));
    let (prepared, scale) = prepare(sym.as_ref());
    let sym = prepared.unwrap_or(sym);
    let mut s = Diag::<f64>::zeros(n);
    let mut mem = MemBuffer::new(self_adjoint_evd_scratch::<f64>(
        n,
        ComputeEigenvectors::No,
        SEQ,
        default(),
    ));
    self_adjoint_evd(
        sym.as_ref(),
        s.as_mut(),
        None,
        SEQ,
        MemStack::new(&mut mem),
        default(),
    )?;
    Ok(s.column_vector().iter().map(|x| x / scale).collect())
}

/// Complex eigenvalues of a real square matrix (unspecified order; conjugate pairs adjacent).
pub(crate) fn eigenvalues(a: MatRef<'_, f64>) -> Result<Vec<c64>> {
    Ok(eigen_impl(a, false)?.0)
}

/// Complex eigenvalues and unit-norm right eigenvectors (as columns) of a real square matrix.
pub(crate) fn eigen(a: MatRef<'_, f64>) -> Result<(Vec<c64>, Mat<c64>)> {
    let (vals, vecs) = eigen_impl(a, true)?;
    Ok((vals, vecs.unwrap_or_else(|| Mat::zeros(0, 0))))
}

fn eigen_impl(a: MatRef<'_, f64>, vectors: bool) -> Result<(Vec<c64>, Option<Mat<c64>>)> {
    use faer::linalg::evd::{evd_real, evd_scratch, ComputeEigenvectors};
    let n = a.nrows();
    if n == 0 {
        return Ok((Vec::new(), vectors.then(|| Mat::zeros(0, 0))));
    }
    if a.ncols() != n {
        return Err(DsaError::ShapeMismatch {
            what: format!(
                "an operator must be square, got {} x {}",
                a.nrows(),
                a.ncols()
            ),
        });
    }
    // eigenvalues are scaled back, eigenvectors do not change (see `prepare`)
    let (prepared, scale) = prepare(a);
    let a = prepared.as_ref().map_or(a, Mat::as_ref);
    let mut s_re = Diag::<f64>::zeros(n);
    let mut s_im = Diag::<f64>::zeros(n);
    let mut ur = Mat::<f64>::zeros(if vectors { n } else { 0 }, if vectors { n } else { 0 });
    let compute = if vectors {
        ComputeEigenvectors::Yes
    } else {
        ComputeEigenvectors::No
    };
    let mut mem = MemBuffer::new(evd_scratch::<f64>(
        n,
        ComputeEigenvectors::No,
        compute,
        SEQ,
        default(),
    ));
    evd_real(
        a,
        s_re.as_mut(),
        s_im.as_mut(),
        None,
        if vectors { Some(ur.as_mut()) } else { None },
        SEQ,
        MemStack::new(&mut mem),
        default(),
    )?;
    let re: Vec<f64> = s_re.column_vector().iter().map(|x| x / scale).collect();
    let im: Vec<f64> = s_im.column_vector().iter().map(|x| x / scale).collect();
    if re.iter().chain(im.iter()).any(|x| !x.is_finite()) {
        return Err(DsaError::NoConvergence {
            routine: "eigendecomposition",
        });
    }
    let vals: Vec<c64> = re.iter().zip(&im).map(|(&r, &i)| c64::new(r, i)).collect();
    if !vectors {
        return Ok((vals, None));
    }
    let mut u = Mat::<c64>::zeros(n, n);
    let mut j = 0;
    while j < n {
        if im[j] == 0.0 || j + 1 == n {
            for i in 0..n {
                u[(i, j)] = c64::new(ur[(i, j)], 0.0);
            }
            j += 1;
        } else {
            for i in 0..n {
                u[(i, j)] = c64::new(ur[(i, j)], ur[(i, j + 1)]);
                u[(i, j + 1)] = c64::new(ur[(i, j)], -ur[(i, j + 1)]);
            }
            j += 2;
        }
    }
    for j in 0..n {
        let nrm = (0..n).map(|i| u[(i, j)].norm_sqr()).sum::<f64>().sqrt();
        if nrm > 0.0 {
            for i in 0..n {
                u[(i, j)] /= nrm;
            }
        }
    }
    Ok((vals, Some(u)))
}

/// The matrix a decomposition should run on, and the factor it was scaled by (`None`: `a`
/// itself, factor 1).
///
/// faer's decompositions do not converge on some matrices whose entries are far from 1, or
/// whose entries span the whole exponent range (all-subnormal matrices; a symmetric matrix with
/// entries 0.5 and 1e-300), and overflow near `f64::MAX`. So: a matrix whose largest entry is
/// outside `[1e-100, 1e100]` is scaled by a power of two (exact), and entries below `2^-500`
/// (~3e-151) of the largest are set to zero. That perturbs the matrix by far less than one
/// rounding error of its largest entry, the accuracy every decomposition here has anyway.
/// Values (eigenvalues, singular values) of the result are divided by the factor.
pub(crate) fn prepare(a: MatRef<'_, f64>) -> (Option<Mat<f64>>, f64) {
    let m = a.norm_max();
    if !m.is_finite() {
        return (None, 1.0);
    }
    let scale = pow2_scale(m);
    // 2^-500 of the largest entry, after scaling
    let tiny = m * scale * f64::from_bits((1023u64 - 500) << 52);
    let negligible = |x: f64| x != 0.0 && (x * scale).abs() < tiny;
    let any_tiny = (0..a.ncols()).any(|j| (0..a.nrows()).any(|i| negligible(a[(i, j)])));
    if scale == 1.0 && !any_tiny {
        return (None, 1.0);
    }
    let out = Mat::from_fn(a.nrows(), a.ncols(), |i, j| {
        let x = a[(i, j)];
        if negligible(x) {
            0.0
        } else {
            x * scale
        }
    });
    (Some(out), scale)
}

/// `1` for a max-abs entry `m` in `[1e-100, 1e100]` (or zero, or not finite); otherwise the
/// power of two `2^k` (`|k| <= 1022`) that brings `m` near `[1, 2)`. Multiplying by it is
/// exact unless the product underflows.
pub(crate) fn pow2_scale(m: f64) -> f64 {
    if !m.is_finite() || m <= 0.0 || (1e-100..=1e100).contains(&m) {
        return 1.0;
    }
    // m = f * 2^e with f in [1, 2); scale = 2^-e, kept a normal number (for subnormal m the
    // scaled maximum stays below 1, still far from underflow)
    let k = (-(m.log2().floor() as i64)).clamp(-1022, 1022);
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// Cholesky factorization in place of a symmetric positive definite `n x n` matrix (lower
/// triangle used). Returns `false` if a pivot is not positive.
pub(crate) fn cholesky_in_place(mut a: MatMut<'_, f64>) -> bool {
    let n = a.nrows();
    for j in 0..n {
        let mut d = a[(j, j)];
        for k in 0..j {
            d -= a[(j, k)] * a[(j, k)];
        }
        // NaN is not finite
        if !d.is_finite() || d <= 0.0 {
            return false;
        }
        let d = d.sqrt();
        a[(j, j)] = d;
        for i in j + 1..n {
            let mut s = a[(i, j)];
            for k in 0..j {
                s -= a[(i, k)] * a[(j, k)];
            }
            a[(i, j)] = s / d;
        }
    }
    true
}

/// Solve `L L^T x = b` in place for every column of `b`, with `l` from [`cholesky_in_place`].
pub(crate) fn cholesky_solve_in_place(l: MatRef<'_, f64>, mut b: MatMut<'_, f64>) {
    let n = l.nrows();
    for c in 0..b.ncols() {
        for i in 0..n {
            let mut s = b[(i, c)];
            for k in 0..i {
                s -= l[(i, k)] * b[(k, c)];
            }
            b[(i, c)] = s / l[(i, i)];
        }
        for i in (0..n).rev() {
            let mut s = b[(i, c)];
            for k in i + 1..n {
                s -= l[(k, i)] * b[(k, c)];
            }
            b[(i, c)] = s / l[(i, i)];
        }
    }
}

/// Nearest orthogonal matrix (polar factor `U V^T` of `a = U S V^T`).
pub(crate) fn polar(a: MatRef<'_, f64>) -> Result<Mat<f64>> {
    let svd = thin_svd(a)?;
    Ok(mul(svd.u.as_ref(), svd.v.transpose()))
}

/// Sort complex numbers by (re, im) so that spectra can be compared as lists.
pub(crate) fn sort_complex(v: &mut [c64]) {
    v.sort_by(|a, b| a.re.total_cmp(&b.re).then(a.im.total_cmp(&b.im)));
}

/// The inverse of the symmetric positive definite matrix whose lower triangle is `l` (the lower
/// triangle of the result is filled), with its largest entry in absolute value; `None` if a
/// pivot is not positive or an entry is not finite.
pub(crate) fn invert_spd<T: faer::traits::RealField + Copy + Into<f64>>(
    mut l: Mat<T>,
) -> Option<(Mat<T>, f64)> {
    use faer::dyn_stack::StackReq;
    use faer::linalg::cholesky::llt;
    let m = l.nrows();
    let mut mem = MemBuffer::new(StackReq::any_of(&[
        llt::factor::cholesky_in_place_scratch::<T>(m, SEQ, default()),
        llt::inverse::inverse_scratch::<T>(m, SEQ),
    ]));
    let stack = MemStack::new(&mut mem);
    llt::factor::cholesky_in_place(l.as_mut(), default(), SEQ, stack, default()).ok()?;
    if (0..m).any(|j| {
        let d: f64 = l[(j, j)].into();
        !(d > 0.0 && d.is_finite())
    }) {
        return None;
    }
    let mut inv = Mat::<T>::zeros(m, m);
    llt::inverse::inverse(inv.as_mut(), l.as_ref(), SEQ, stack);
    let mut biggest = 0.0f64;
    for j in 0..m {
        for i in j..m {
            let x: f64 = inv[(i, j)].into();
            biggest = biggest.max(x.abs());
        }
    }
    (biggest.is_finite() && biggest > 0.0).then_some((inv, biggest))
}

/// Sign of the determinant of an (orthogonal) matrix, from an LU factorization.
pub(crate) fn sign_of_det(q: MatRef<'_, f64>) -> f64 {
    let n = q.nrows();
    if n == 0 {
        return 1.0;
    }
    let mut lu = q.to_owned();
    let mut perm = vec![0usize; n];
    let mut perm_inv = vec![0usize; n];
    let mut mem = MemBuffer::new(
        faer::linalg::lu::partial_pivoting::factor::lu_in_place_scratch::<usize, f64>(
            n,
            n,
            SEQ,
            default(),
        ),
    );
    let (info, _) = faer::linalg::lu::partial_pivoting::factor::lu_in_place(
        lu.as_mut(),
        &mut perm,
        &mut perm_inv,
        SEQ,
        MemStack::new(&mut mem),
        default(),
    );
    let mut s = if info.transposition_count % 2 == 0 {
        1.0
    } else {
        -1.0
    };
    for i in 0..n {
        if lu[(i, i)] < 0.0 {
            s = -s;
        }
    }
    s
}

/// Solve `a x = b` for complex square `a` (partial-pivoting LU). `None` if singular.
pub(crate) fn solve_complex(a: MatRef<'_, c64>, b: MatRef<'_, c64>) -> Option<Mat<c64>> {
    use faer::linalg::lu::partial_pivoting::{factor, solve};
    let n = a.nrows();
    let mut lu = a.to_owned();
    let mut perm = vec![0usize; n];
    let mut perm_inv = vec![0usize; n];
    let mut mem = MemBuffer::new(
        factor::lu_in_place_scratch::<usize, c64>(n, n, SEQ, default()).or(
            solve::solve_in_place_scratch::<usize, c64>(n, b.ncols(), SEQ),
        ),
    );
    let (_, p) = factor::lu_in_place(
        lu.as_mut(),
        &mut perm,
        &mut perm_inv,
        SEQ,
        MemStack::new(&mut mem),
        default(),
    );
    let amax = (0..n).map(|i| lu[(i, i)].norm()).fold(0.0f64, f64::max);
    if (0..n).any(|i| lu[(i, i)].norm() <= 1e-13 * amax) || amax == 0.0 {
        return None;
    }
    let mut x = b.to_owned();
    solve::solve_in_place(
        lu.as_ref(),
        lu.as_ref(),
        p,
        x.as_mut(),
        SEQ,
        MemStack::new(&mut mem),
    );
    if (0..n).all(|j| (0..x.nrows()).all(|i| x[(i, j)].re.is_finite() && x[(i, j)].im.is_finite()))
    {
        Some(x)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singular_values_where_faer_does_not_converge() {
        // the skew-symmetric part of a normalized DMD operator (a bootstrap refit) on which
        // faer 0.24's SVD does not converge, with or without vectors
        let k = faer::mat![
            [
                0.0,
                -0.20302881485397378,
                -0.14093574193809505,
                0.04199061585982596
            ],
            [
                0.20302881485397378,
                0.0,
                -0.04745064123823675,
                -0.1453324938487351
            ],
            [
                0.14093574193809505,
                0.04745064123823675,
                0.0,
                0.011022919863923219
            ],
            [
                -0.04199061585982596,
                0.1453324938487351,
                -0.011022919863923219,
                0.0
            ],
        ];
        let s = singular_values(k.as_ref()).unwrap();
        // the transpose has the same singular values, and faer converges on it
        let t = singular_values(k.transpose()).unwrap();
        assert_eq!(s.len(), 4);
        for (a, b) in s.iter().zip(&t) {
            assert!((a - b).abs() < 1e-15, "{s:?} vs {t:?}");
        }
    }

    #[test]
    fn symmetric_fallback_agrees_with_the_svd() {
        for (m, n) in [(4, 4), (5, 3), (3, 6)] {
            let a = Mat::from_fn(m, n, |i, j| {
                (((i * 7 + j * 13 + m) as f64).sin() * 43758.5453).fract()
            });
            let s = singular_values(a.as_ref()).unwrap();
            let f = singular_values_symmetric(a.as_ref()).unwrap();
            assert_eq!(s.len(), f.len());
            for (x, y) in s.iter().zip(&f) {
                assert!((x - y).abs() < 1e-14, "{m}x{n}: {s:?} vs {f:?}");
            }
        }
    }
}
