//! The Procrustes-over-vector-fields objective and its gradients, evaluated in preallocated
//! workspaces (no allocation per evaluation).
//!
//! `L(C) = ||A - C B C^T||_F^2` for orthogonal `C`. With `R = C B C^T - A`:
//!
//! * Euclidean gradient: `G = 2 R C B^T + 2 R^T C B`;
//! * Riemannian gradient (left-trivialized, in the Lie algebra of skew matrices):
//!   `g = skew(C^T G)`, so that `d/dt L(C exp(t X)) = <g, X>` at `t = 0`.
//!
//! For orthogonal `C`, `C^T R C = B - C^T A C =: Rt`, so `L = ||Rt||^2` and
//! `C^T G = 2 (Rt B^T + Rt^T B) = 2 [Rt, Rt^T] [B^T; B]`: two `n x n` products for the loss
//! and one `n x 2n` by `2n x n` product for the gradient.

use faer::prelude::*;

use super::flat::{dot, nonfinite, Flat};
use crate::linalg::mm;

/// `||A - C B C^T||_F^2`, computed directly (accurate near 0).
pub fn loss(a: MatRef<'_, f64>, b: MatRef<'_, f64>, c: MatRef<'_, f64>) -> f64 {
    let n = a.nrows();
    let mut cb = Mat::zeros(n, n);
    mm(cb.as_mut(), c, b, 1.0);
    let mut m = Mat::zeros(n, n);
    mm(m.as_mut(), cb.as_ref(), c.transpose(), 1.0);
    let mut s = 0.0;
    for j in 0..n {
        for i in 0..n {
            let d = a[(i, j)] - m[(i, j)];
            s += d * d;
        }
    }
    s
}

/// Euclidean gradient `dL/dC = 2 (C B C^T - A) C B^T + 2 (C B C^T - A)^T C B` (spec §4.1).
pub fn euclidean_gradient(a: MatRef<'_, f64>, b: MatRef<'_, f64>, c: MatRef<'_, f64>) -> Mat<f64> {
    let n = a.nrows();
    let mut cb = Mat::zeros(n, n);
    mm(cb.as_mut(), c, b, 1.0);
    let mut r = Mat::zeros(n, n);
    mm(r.as_mut(), cb.as_ref(), c.transpose(), 1.0);
    r -= a;
    let mut rc = Mat::zeros(n, n);
    mm(rc.as_mut(), r.as_ref(), c, 1.0);
    let mut g = Mat::zeros(n, n);
    mm(g.as_mut(), rc.as_ref(), b.transpose(), 2.0);
    crate::linalg::mm_add(g.as_mut(), r.transpose(), cb.as_ref(), 2.0);
    g
}

/// Riemannian gradient on O(n) in the embedded form `C skew(C^T G)`.
pub fn riemannian_gradient(a: MatRef<'_, f64>, b: MatRef<'_, f64>, c: MatRef<'_, f64>) -> Mat<f64> {
    let g = euclidean_gradient(a, b, c);
    let n = a.nrows();
    let mut ctg = Mat::zeros(n, n);
    mm(ctg.as_mut(), c.transpose(), g.as_ref(), 1.0);
    let sk = Mat::from_fn(n, n, |i, j| 0.5 * (ctg[(i, j)] - ctg[(j, i)]));
    let mut out = Mat::zeros(n, n);
    mm(out.as_mut(), c, sk.as_ref(), 1.0);
    out
}

/// Workspace for repeated evaluations of `L` and its trivialized gradient at orthogonal `C`,
/// for one pair `(A, B)`.
pub(crate) struct Evaluator {
    pub n: usize,
    ac: Mat<f64>,
    cac: Mat<f64>,
    /// `[Rt, Rt^T]` with `Rt = B - C^T A C` (`n x 2n`)
    rr: Mat<f64>,
    /// `[B^T; B]` (`2n x n`), so that `Rt B^T + Rt^T B` is one product
    bstack: Mat<f64>,
    t1: Mat<f64>,
}

impl Evaluator {
    pub fn new(b: MatRef<'_, f64>) -> Self {
        let n = b.nrows();
        let bstack = Mat::from_fn(
            2 * n,
            n,
            |i, j| {
                if i < n {
                    b[(j, i)]
                } else {
                    b[(i - n, j)]
                }
            },
        );
        Self {
            n,
            ac: Mat::zeros(n, n),
            cac: Mat::zeros(n, n),
            rr: Mat::zeros(n, 2 * n),
            bstack,
            t1: Mat::zeros(n, n),
        }
    }

    /// Loss at orthogonal `c`; leaves `Rt` in the workspace for [`Evaluator::gradient`].
    pub fn loss(&mut self, a: MatRef<'_, f64>, c: MatRef<'_, f64>) -> f64 {
        let n = self.n;
        mm(self.ac.as_mut(), a, c, 1.0);
        mm(self.cac.as_mut(), c.transpose(), self.ac.as_ref(), 1.0);
        let mut s = 0.0;
        for j in 0..n {
            let bcol = &self.bstack.col_as_slice(j)[n..];
            let ccol = self.cac.col_as_slice(j);
            let rcol = self.rr.col_as_slice_mut(j);
            for ((r, bv), cv) in rcol.iter_mut().zip(bcol).zip(ccol) {
                *r = bv - cv;
            }
            // each column's squares in the partial sums of `dot` (independent chains)
            s += dot(rcol, rcol);
        }
        // the right half is the transpose of the left
        let (left, mut right) = self.rr.as_mut().split_at_col_mut(n);
        right.copy_from(left.rb().transpose());
        s
    }

    /// `C^T G` (`G` the Euclidean gradient) at the point of the last `loss` call:
    /// `2 (Rt B^T + Rt^T B) = 2 [Rt, Rt^T] [B^T; B]`.
    pub fn ctg(&mut self) -> MatRef<'_, f64> {
        mm(
            self.t1.as_mut(),
            self.rr.as_ref(),
            self.bstack.as_ref(),
            2.0,
        );
        self.t1.as_ref()
    }

    /// Trivialized Riemannian gradient `g = skew(C^T G)` at the point of the last `loss` call,
    /// packed (`sqrt(2)` times the entries above the diagonal, column by column).
    pub fn gradient(&mut self, g: &mut [f64]) {
        self.ctg();
        // packed skew part: sqrt(2) (t_pq - t_qp) / 2
        let h = std::f64::consts::FRAC_1_SQRT_2;
        let mut k = 0;
        for q in 1..self.n {
            for p in 0..q {
                g[k] = h * (self.t1[(p, q)] - self.t1[(q, p)]);
                k += 1;
            }
        }
    }
}

/// The Cayley retraction `C -> C Cay(t X)`, `Cay(X) = (I - X/2)^-1 (I + X/2)`, by one LU
/// factorization and a solve (no explicit inverse), in preallocated buffers.
pub(crate) struct Retraction {
    lu: Lu,
}

impl Retraction {
    pub fn new(n: usize) -> Self {
        Self { lu: Lu::new(n) }
    }

    /// `out = C Cay(t X) = C (I - tX/2)^-1 (I + tX/2) = 2 C (I - tX/2)^-1 - C`; `false` if
    /// the solve fails or the result is not finite.
    pub fn retract(&mut self, c: &Mat<f64>, x: &Flat, t: f64, out: &mut Mat<f64>) -> bool {
        let n = self.lu.n;
        let st = self.lu.stride;
        let xs = x.as_slice();
        let h = 0.5 * t;
        let (m, r) = self.lu.buffers_mut();
        for j in 0..n {
            let (col, xc) = (&mut m[j * st..j * st + n], &xs[j * n..(j + 1) * n]);
            for (u, v) in col.iter_mut().zip(xc) {
                *u = 0.0 - h * v;
            }
            col[j] = 1.0 - h * xc[j];
            r[j * st..j * st + n].copy_from_slice(c.col_as_slice(j));
        }
        // Z = C (I - tX/2)^-1
        if !self.lu.right_divide() {
            return false;
        }
        let z = self.lu.result();
        let mut bad = 0u64;
        for j in 0..n {
            let (oc, cc) = (out.col_as_slice_mut(j), c.col_as_slice(j));
            for ((u, v), zz) in oc.iter_mut().zip(cc).zip(&z[j * st..j * st + n]) {
                *u = 2.0 * zz - v;
                bad |= nonfinite(*u);
            }
        }
        bad == 0
    }
}

/// Buffers for `R <- R M^-1` and `M^-1` with small dense `n x n` matrices (see
/// [`super::small_solve`]), reused between calls.
pub(crate) struct Lu {
    n: usize,
    /// the column stride of `M` and `R` (whatever their padding rows hold never enters the
    /// true entries)
    pub stride: usize,
    m: Vec<f64>,
    r: Vec<f64>,
    perm: Vec<usize>,
    inv_perm: Vec<usize>,
}

impl Lu {
    pub fn new(n: usize) -> Self {
        let stride = super::small_solve::r_stride(n);
        Self {
            n,
            stride,
            m: vec![0.0; n * stride],
            r: vec![0.0; n * stride],
            perm: vec![0; n],
            inv_perm: vec![0; n],
        }
    }

    /// `M` and `R`, column-major with column stride `self.stride` (fill only the first `n`
    /// entries of each column), to fill before [`Lu::right_divide`].
    pub fn buffers_mut(&mut self) -> (&mut [f64], &mut [f64]) {
        (&mut self.m, &mut self.r)
    }

    /// `R <- R M^-1` (`M` is overwritten); `false` if `M` is singular or the result is not
    /// finite.
    pub fn right_divide(&mut self) -> bool {
        super::small_solve::right_divide(&mut self.m, &mut self.r, &mut self.perm, self.n)
    }

    /// For `M = I + S` as filled (`R` is not read): `Y = M^-1 = (I + S)^-1` and
    /// `C = 2Y - I = (I - S)(I + S)^-1` into the given buffers (the end of both Cayley maps).
    /// `false` (leaving `C` and `Y` as they were) if `M` cannot be inverted.
    pub fn cayley_out(&mut self, y: &mut Mat<f64>, c: &mut Mat<f64>) -> bool {
        if !super::small_solve::inverse(&mut self.m, &mut self.r, &mut self.perm, self.n) {
            return false;
        }
        let (n, st) = (self.n, self.stride);
        // Y[perm[k], i] = r[i st + k]: column i of Y gathered from row i of `r` through the
        // inverse permutation
        let inv = &mut self.inv_perm;
        for (k, &p) in self.perm.iter().enumerate() {
            inv[p] = k;
        }
        for i in 0..n {
            let rc = &self.r[i * st..i * st + n];
            let (yc, cc) = (y.col_as_slice_mut(i), c.col_as_slice_mut(i));
            for ((yv, cv), &k) in yc.iter_mut().zip(cc.iter_mut()).zip(inv.iter()) {
                let v = rc[k];
                *yv = v;
                // `2y - 0`, as `2Y - I` off the diagonal (the same signed zeros)
                *cv = 2.0 * v - 0.0;
            }
            cc[i] = 2.0 * yc[i] - 1.0;
        }
        true
    }

    /// `R` after [`Lu::right_divide`], column-major with column stride `self.stride`.
    pub fn result(&self) -> &[f64] {
        &self.r
    }
}

/// The Cayley map `C = (I + S)^-1 (I - S)` for `S = W - W^T`.
///
/// Returns a matrix of NaN if `W` is not finite (`I + S` is invertible for every finite skew `S`).
pub fn cayley(w: MatRef<'_, f64>) -> Mat<f64> {
    let n = w.nrows();
    let (mut y, mut c) = (Mat::zeros(n, n), Mat::zeros(n, n));
    if !cayley_into(&w.to_owned(), &mut Lu::new(n), &mut y, &mut c) {
        return Mat::from_fn(n, n, |_, _| f64::NAN);
    }
    c
}

/// Gradient of `L(Cayley(W - W^T))` with respect to `W` (spec §4.1):
/// `K = -(I + S)^-T G (I + C)^T`, `dL/dW = K - K^T`, with `G` the Euclidean gradient at `C`.
pub fn cayley_gradient(a: MatRef<'_, f64>, b: MatRef<'_, f64>, w: MatRef<'_, f64>) -> Mat<f64> {
    let n = w.nrows();
    let (mut y, mut c) = (Mat::zeros(n, n), Mat::zeros(n, n));
    if !cayley_into(&w.to_owned(), &mut Lu::new(n), &mut y, &mut c) {
        return Mat::from_fn(n, n, |_, _| f64::NAN);
    }
    let g = euclidean_gradient(a, b, c.as_ref());
    // K = -(I+S)^-T G (I+C)^T, with Y = (I+S)^-1
    let ipc = Mat::from_fn(n, n, |i, j| c[(i, j)] + if i == j { 1.0 } else { 0.0 });
    let mut t = Mat::zeros(n, n);
    mm(t.as_mut(), y.transpose(), g.as_ref(), -1.0);
    let mut k = Mat::zeros(n, n);
    mm(k.as_mut(), t.as_ref(), ipc.transpose(), 1.0);
    Mat::from_fn(n, n, |i, j| k[(i, j)] - k[(j, i)])
}

/// `Y = (I + S)^-1` and `C = 2Y - I = (I + S)^-1 (I - S)` for `S = W - W^T`, into the given
/// buffers. Returns `false` (leaving `C` as it was) if `I + S` cannot be inverted.
pub(crate) fn cayley_into(w: &Mat<f64>, lu: &mut Lu, y: &mut Mat<f64>, c: &mut Mat<f64>) -> bool {
    // one inversion: Y = (I + S)^-1, then C = 2Y - I
    let n = w.nrows();
    let st = lu.stride;
    let (m, _) = lu.buffers_mut();
    for j in 0..n {
        for i in 0..n {
            let s = w[(i, j)] - w[(j, i)];
            let e = if i == j { 1.0 } else { 0.0 };
            m[j * st + i] = e + s;
        }
    }
    lu.cayley_out(y, c)
}
