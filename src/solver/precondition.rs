//! The Gauss–Newton preconditioner of the Procrustes objective on `O(n)`.
//!
//! Tangent vectors at `C` are skew matrices `X` (the point moves as `C -> C Cay(X)`), stored
//! packed: the entries above the diagonal, column by column, times `sqrt(2)`, so that the
//! Euclidean inner product of packed vectors is the Frobenius inner product of the matrices.
//!
//! Near a minimum, `C^T A C ~ B`, and the loss `||C^T A C - Cay(X) B Cay(X)^T||^2` is close to
//! `||R + [B, X]||^2` with `[B, X] = BX - XB`: its Hessian is close to the Gauss–Newton matrix
//! `P = 2 ad_B^T ad_B` restricted to skew matrices. `P` depends on `B` only, so it is formed and
//! inverted once per operator. In the skew basis `E_ab = (e_a e_b^T - e_b e_a^T) / sqrt(2)`,
//! `a < b`, with `S = B^T B + B B^T`:
//!
//! `P_(ab),(cd) = d_bd S_ac + d_ac S_bd - d_bc S_ad - d_ad S_bc
//!               + 2 (B_da B_cb - B_ca B_db + B_ad B_bc - B_ac B_bd)`.
//!
//! The operators of DMD fits have clustered eigenvalues, which makes the Hessian ill-conditioned
//! (condition numbers in the hundreds on the reference's pairwise anchor at `n = 30`); `P + mu I`
//! brings that to about 13, and L-BFGS with `H_0 = (P + mu I)^-1` needs four to five times fewer
//! iterations. The price is the inverse of a dense matrix of size `n (n - 1) / 2` per operator
//! (a Cholesky factorization and the inverse from it, `n^6 / 8` flops) and a matrix product per
//! iteration, which pays off for small `n` only.

use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::linalg::cholesky::llt::factor::{cholesky_in_place, cholesky_in_place_scratch};
use faer::linalg::cholesky::llt::inverse::{inverse, inverse_scratch};
use faer::linalg::matmul::matmul;
use faer::prelude::*;
use faer::{Accum, Par};

/// Packed length of an `n x n` skew matrix.
pub(crate) fn packed_len(n: usize) -> usize {
    n * n.saturating_sub(1) / 2
}

/// `(P + mu I)^-1` (see the module documentation), stored explicitly in single precision and
/// scaled by a power of two: applying it is a matrix product, which streams through half as
/// many bytes as the two triangular solves of a Cholesky factor and runs at the speed of faer's
/// matrix multiplication (measured at `n = 30`, `m = 435`: 11 us per vector four at a time,
/// against 50 us for the solves in double precision). A preconditioner only shapes the
/// step; the line search and the curvature pairs stay in double precision. The rounding of the
/// inverse (about the condition number times `6e-8`, relative) changes the path a little: the
/// run still converges to a stationary point to the same tolerance, though on a nonconvex
/// objective a different path can end in a different local minimum. An inverse that single
/// precision got badly wrong (an entry beyond the largest possible one) is recomputed in
/// double precision.
pub(crate) struct GaussNewton {
    m: usize,
    /// `(P + mu I)^-1 / scale`, symmetric, all of it (column-major)
    inv: Mat<f32>,
    /// the power of two by which `inv` was divided
    scale: f64,
}

/// The buffers of [`GaussNewton::apply`], reused between calls ([`GaussNewton::scratch`]
/// allocates them once, at full width).
pub(crate) struct Scratch {
    x: Mat<f32>,
    y: Mat<f32>,
}

impl Default for Scratch {
    fn default() -> Self {
        Self {
            x: Mat::zeros(0, 0),
            y: Mat::zeros(0, 0),
        }
    }
}

/// A power of two `p` with `x / p` in `[1, 2)` for finite `x > 0` (`1` otherwise), kept a
/// normal number.
fn pow2_floor(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return 1.0;
    }
    let k = (x.log2().floor() as i64).clamp(-1022, 1023);
    f64::from_bits(((k + 1023) as u64) << 52)
}

impl GaussNewton {
    /// Forms, factorizes and inverts the preconditioner for `B`; `None` if the factorization
    /// fails (the solver then runs without it).
    pub fn new(b: MatRef<'_, f64>) -> Option<Self> {
        let n = b.nrows();
        let m = packed_len(n);
        if m == 0 {
            return None;
        }
        let mut s = Mat::<f64>::zeros(n, n);
        crate::linalg::mm(s.as_mut(), b.transpose(), b, 1.0);
        crate::linalg::mm_add(s.as_mut(), b, b.transpose(), 1.0);
        let idx: Vec<(usize, usize)> = (1..n).flat_map(|q| (0..q).map(move |p| (p, q))).collect();
        // P_(ab),(cd), see the module documentation
        let entry = |(a, bb): (usize, usize), (c, d): (usize, usize)| -> f64 {
            let mut v = 2.0
                * (b[(d, a)] * b[(c, bb)] - b[(c, a)] * b[(d, bb)] + b[(a, d)] * b[(bb, c)]
                    - b[(a, c)] * b[(bb, d)]);
            if bb == d {
                v += s[(a, c)];
            }
            if a == c {
                v += s[(bb, d)];
            }
            if bb == c {
                v -= s[(a, d)];
            }
            if a == d {
                v -= s[(bb, c)];
            }
            v
        };
        let max_diag = idx.iter().map(|&p| entry(p, p)).fold(0.0f64, f64::max);
        if !(max_diag > 0.0 && max_diag.is_finite()) {
            return None;
        }
        let mu = 1e-4 * max_diag;
        // the lower triangle of (P + mu I) / pscale
        let pscale = pow2_floor(max_diag + mu);
        let lower = |i: usize, j: usize| -> f64 {
            if i < j {
                0.0
            } else {
                (entry(idx[i], idx[j]) + if i == j { mu } else { 0.0 }) / pscale
            }
        };
        // In single precision, where the largest diagonal entry is about 1; in double precision
        // if that fails (the condition number can reach 1e4 m, beyond what single precision
        // resolves, though on DMD operators it is far less).
        // Every eigenvalue of the scaled matrix is at least mu / pscale, so no entry of its
        // inverse exceeds pscale / mu; one beyond twice that means single precision failed.
        let limit = 2.0 * pscale / mu;
        let single = invert_spd(Mat::<f32>::from_fn(m, m, |i, j| lower(i, j) as f32))
            .filter(|&(_, biggest)| biggest <= limit);
        let (mut inv, scale) = match single {
            Some((inv, biggest)) => (inv, pow2_floor(biggest)),
            None => {
                // entries at most 2e4 here (the smallest eigenvalue of the scaled matrix is at
                // least mu / pscale >= 5e-5): within the range of f32
                let (inv, biggest) = invert_spd(Mat::<f64>::from_fn(m, m, lower))?;
                (
                    Mat::<f32>::from_fn(m, m, |i, j| inv[(i, j)] as f32),
                    pow2_floor(biggest),
                )
            }
        };
        // the whole symmetric matrix from its lower triangle, divided by `scale` (exact: a
        // power of two, far from the exponent limits of f32 after the scaling above)
        let inv_s = (1.0 / scale) as f32;
        for j in 0..m {
            for i in j..m {
                let x = inv[(i, j)] * inv_s;
                inv[(i, j)] = x;
                inv[(j, i)] = x;
            }
        }
        Some(Self {
            m,
            inv,
            scale: scale / pscale,
        })
    }

    /// Buffers for [`GaussNewton::apply`].
    pub fn scratch(&self) -> Scratch {
        Scratch {
            x: Mat::zeros(self.m, WIDTH),
            y: Mat::zeros(self.m, WIDTH),
        }
    }

    /// `v <- (P + mu I)^-1 v` for every `v` in `vs`, four at a time (one product with four
    /// columns; a lone vector takes a one-column product, whose rounding may differ in the last
    /// bits: which path a run takes is fixed by the algorithm, not by timing or threads). Each
    /// vector is scaled by a power of two before it is rounded to single precision, so that
    /// no entry overflows or underflows.
    pub fn apply<'v>(&self, vs: impl IntoIterator<Item = &'v mut [f64]>, scratch: &mut Scratch) {
        let m = self.m;
        let mut vs = vs.into_iter().peekable();
        while vs.peek().is_some() {
            // the next group of up to WIDTH vectors, without allocating
            let mut group: [Option<&mut [f64]>; WIDTH] = Default::default();
            for slot in group.iter_mut() {
                *slot = vs.next();
            }
            let width = if group[1].is_none() { 1 } else { WIDTH };
            if scratch.x.nrows() != m || scratch.x.ncols() != WIDTH {
                *scratch = self.scratch();
            }
            let mut scales = [1.0f64; WIDTH];
            for (r, v) in group.iter().enumerate().take(width) {
                let mut col = scratch.x.col_mut(r);
                match v {
                    Some(v) => {
                        let big = v.iter().fold(0.0f64, |acc, x| acc.max(x.abs()));
                        scales[r] = pow2_floor(big);
                        let inv_s = 1.0 / scales[r];
                        for (x, &y) in col.iter_mut().zip(v.iter()) {
                            *x = (y * inv_s) as f32;
                        }
                    }
                    None => col.fill(0.0),
                }
            }
            matmul(
                scratch.y.as_mut().subcols_mut(0, width),
                Accum::Replace,
                self.inv.as_ref(),
                scratch.x.as_ref().subcols(0, width),
                1.0f32,
                Par::Seq,
            );
            for (r, v) in group.iter_mut().enumerate().take(width) {
                if let Some(v) = v {
                    let (s, t) = (scales[r], self.scale);
                    let y = scratch.y.col(r);
                    for (i, x) in v.iter_mut().enumerate() {
                        *x = (y[i] as f64 * s) * t;
                    }
                }
            }
        }
    }
}

/// The inverse of the symmetric positive definite matrix whose lower triangle is `l` (the lower
/// triangle of the result is filled), with its largest entry in absolute value; `None` if a
/// pivot is not positive or an entry is not finite.
fn invert_spd<T: faer::traits::RealField + Copy + Into<f64>>(
    mut l: Mat<T>,
) -> Option<(Mat<T>, f64)> {
    let m = l.nrows();
    let mut mem = MemBuffer::new(StackReq::any_of(&[
        cholesky_in_place_scratch::<T>(m, Par::Seq, default()),
        inverse_scratch::<T>(m, Par::Seq),
    ]));
    let stack = MemStack::new(&mut mem);
    cholesky_in_place(l.as_mut(), default(), Par::Seq, stack, default()).ok()?;
    if (0..m).any(|j| {
        let d: f64 = l[(j, j)].into();
        !(d > 0.0 && d.is_finite())
    }) {
        return None;
    }
    let mut inv = Mat::<T>::zeros(m, m);
    inverse(inv.as_mut(), l.as_ref(), Par::Seq, stack);
    let mut biggest = 0.0f64;
    for j in 0..m {
        for i in j..m {
            let x: f64 = inv[(i, j)].into();
            biggest = biggest.max(x.abs());
        }
    }
    (biggest.is_finite() && biggest > 0.0).then_some((inv, biggest))
}

/// Vectors preconditioned together by [`GaussNewton::apply`].
const WIDTH: usize = 4;

#[cfg(test)]
mod tests {
    use super::*;

    /// `P` applied through its definition, `2 P_skew(ad_B^T ad_B X)`, in packed coordinates.
    fn gn_apply(b: &Mat<f64>, v: &[f64]) -> Vec<f64> {
        let n = b.nrows();
        let mut x = super::super::flat::Flat::zeros(n);
        super::super::flat::unpack_skew(v, &mut x);
        let x = x.as_ref().to_owned();
        let z = b * &x - &x * b;
        let y = b.transpose() * &z - &z * b.transpose();
        let y = Mat::from_fn(n, n, |i, j| y[(i, j)] - y[(j, i)]);
        let mut out = vec![0.0; packed_len(n)];
        let mut yf = super::super::flat::Flat::zeros(n);
        yf.as_mut().copy_from(y.as_ref());
        super::super::flat::pack_skew(&yf, &mut out);
        out
    }

    #[test]
    fn preconditioner_inverts_the_gauss_newton_matrix() {
        let n = 6;
        let b = Mat::from_fn(n, n, |i, j| ((i * 7 + j * 3) as f64 * 0.37).sin());
        let pc = GaussNewton::new(b.as_ref()).unwrap();
        let m = packed_len(n);
        let mu = {
            // recompute the damping the constructor used
            let mut max_diag = 0.0f64;
            for k in 0..m {
                let mut e = vec![0.0; m];
                e[k] = 1.0;
                max_diag = max_diag.max(gn_apply(&b, &e)[k]);
            }
            1e-4 * max_diag
        };
        let v: Vec<f64> = (0..m).map(|k| (k as f64 * 0.9).cos()).collect();
        let mut w = v.clone();
        let mut other: Vec<f64> = v.iter().map(|x| 2.0 * x).collect();
        pc.apply(
            [w.as_mut_slice(), other.as_mut_slice()],
            &mut Scratch::default(),
        );
        // the same arithmetic for each vector of a batch, and scaling by a power of two is
        // exact: linear to the last bit for 2 v
        for (x, y) in other.iter().zip(&w) {
            assert_eq!(*x, 2.0 * y);
        }
        // a lone vector takes a one-column product: the same up to single-precision rounding
        let wmax = w.iter().fold(0.0f64, |a, x| a.max(x.abs()));
        let mut alone = v.clone();
        pc.apply([alone.as_mut_slice()], &mut Scratch::default());
        for (x, y) in alone.iter().zip(&w) {
            assert!((x - y).abs() < 1e-5 * wmax, "{x} vs {y}");
        }
        // huge and tiny vectors are scaled, not overflowed or flushed to zero
        for k in [1e-200, 1e200] {
            let mut big: Vec<f64> = v.iter().map(|x| k * x).collect();
            pc.apply([big.as_mut_slice()], &mut Scratch::default());
            for (x, y) in big.iter().zip(&alone) {
                assert!((x / k - y).abs() < 1e-5 * wmax, "{x} vs {k} {y}");
            }
        }
        let back: Vec<f64> = gn_apply(&b, &w)
            .iter()
            .zip(&w)
            .map(|(p, x)| p + mu * x)
            .collect();
        // single precision: the residual is a few rounding errors of f32 times the condition
        // number, far below the O(1) error of a wrong formula
        for (x, y) in back.iter().zip(&v) {
            assert!((x - y).abs() < 1e-3, "{x} vs {y}");
        }
    }

    #[test]
    fn invert_spd_in_both_precisions() {
        let m = 7;
        let g = Mat::from_fn(m, m, |i, j| ((i * 5 + j * 3) as f64 * 0.41).sin());
        let p = &g * g.transpose() + Mat::<f64>::identity(m, m) * 0.5;
        let check = |inv: &dyn Fn(usize, usize) -> f64, tol: f64| {
            // only the lower triangle is filled
            let full = Mat::from_fn(m, m, |i, j| if i >= j { inv(i, j) } else { inv(j, i) });
            let err = (&full * &p - Mat::<f64>::identity(m, m)).norm_max();
            assert!(err < tol, "residual {err:e}");
        };
        let (i64_, big) = invert_spd(p.clone()).unwrap();
        check(&|i, j| i64_[(i, j)], 1e-12);
        assert!(big > 0.0);
        let p32 = Mat::<f32>::from_fn(m, m, |i, j| p[(i, j)] as f32);
        let (i32_, _) = invert_spd(p32).unwrap();
        check(&|i, j| i32_[(i, j)] as f64, 1e-4);
        // not positive definite: no inverse
        let mut q = p.clone();
        q[(2, 2)] = -1.0;
        assert!(invert_spd(q).is_none());
    }
}
