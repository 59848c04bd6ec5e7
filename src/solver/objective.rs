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
//! `C^T G = 2 (Rt B^T + Rt^T B)`: four `n x n` products per evaluation instead of six.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::lu::partial_pivoting::{
    factor::lu_in_place, factor::lu_in_place_scratch, inverse,
};
use faer::prelude::*;
use faer::Par;

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

/// Workspace for repeated evaluations of `L` and its trivialized gradient at orthogonal `C`.
pub(crate) struct Evaluator {
    pub n: usize,
    ac: Mat<f64>,
    cac: Mat<f64>,
    /// `Rt = B - C^T A C`
    rt: Mat<f64>,
    t1: Mat<f64>,
}

impl Evaluator {
    pub fn new(n: usize) -> Self {
        Self {
            n,
            ac: Mat::zeros(n, n),
            cac: Mat::zeros(n, n),
            rt: Mat::zeros(n, n),
            t1: Mat::zeros(n, n),
        }
    }

    /// Loss at orthogonal `c`; leaves `Rt` in the workspace for [`Evaluator::gradient`].
    pub fn loss(&mut self, a: &Mat<f64>, b: &Mat<f64>, c: &Mat<f64>) -> f64 {
        mm(self.ac.as_mut(), a.as_ref(), c.as_ref(), 1.0);
        mm(self.cac.as_mut(), c.transpose(), self.ac.as_ref(), 1.0);
        let mut s = 0.0;
        for j in 0..self.n {
            let (bc, cc, rc) = (
                b.col_as_slice(j),
                self.cac.col_as_slice(j),
                self.rt.col_as_slice_mut(j),
            );
            for ((r, &x), &y) in rc.iter_mut().zip(bc).zip(cc) {
                let d = x - y;
                *r = d;
                s += d * d;
            }
        }
        s
    }

    /// Trivialized Riemannian gradient `g = skew(C^T G)` at the point of the last `loss` call.
    pub fn gradient(&mut self, b: &Mat<f64>, g: &mut Mat<f64>) {
        // C^T G = 2 (Rt B^T + Rt^T B)
        mm(self.t1.as_mut(), self.rt.as_ref(), b.transpose(), 2.0);
        crate::linalg::mm_add(self.t1.as_mut(), self.rt.transpose(), b.as_ref(), 2.0);
        skew_into(&self.t1, g);
    }
}

/// In-place inverse of small square matrices with a reusable LU workspace.
pub(crate) struct Inverter {
    lu: Mat<f64>,
    perm: Vec<usize>,
    perm_inv: Vec<usize>,
    mem: MemBuffer,
}

impl Inverter {
    pub fn new(n: usize) -> Self {
        let req = lu_in_place_scratch::<usize, f64>(n, n, Par::Seq, default())
            .or(inverse::inverse_scratch::<usize, f64>(n, Par::Seq));
        Self {
            lu: Mat::zeros(n, n),
            perm: vec![0; n],
            perm_inv: vec![0; n],
            mem: MemBuffer::new(req),
        }
    }

    /// `out = src^-1`. Returns `false` if `src` is singular or the result is not finite.
    pub fn invert(&mut self, src: MatRef<'_, f64>, mut out: MatMut<'_, f64>) -> bool {
        self.lu.copy_from(src);
        let stack = MemStack::new(&mut self.mem);
        let (_, perm) = lu_in_place(
            self.lu.as_mut(),
            &mut self.perm,
            &mut self.perm_inv,
            Par::Seq,
            stack,
            default(),
        );
        let n = self.lu.nrows();
        for i in 0..n {
            if self.lu[(i, i)] == 0.0 {
                return false;
            }
        }
        let stack = MemStack::new(&mut self.mem);
        inverse::inverse(
            out.rb_mut(),
            self.lu.as_ref(),
            self.lu.as_ref(),
            perm,
            Par::Seq,
            stack,
        );
        out.rb().is_all_finite()
    }
}

/// Cayley retraction factor `Q = (I - X/2)^-1 (I + X/2) = 2 (I - X/2)^-1 - I` for skew `X`
/// (always invertible: the eigenvalues of `I - X/2` have real part 1).
pub(crate) fn cayley_half(
    x: &Mat<f64>,
    t: f64,
    tmp: &mut Mat<f64>,
    inv: &mut Inverter,
    q: &mut Mat<f64>,
) -> bool {
    let n = x.nrows();
    for j in 0..n {
        for (u, v) in tmp.col_as_slice_mut(j).iter_mut().zip(x.col_as_slice(j)) {
            *u = -0.5 * t * v;
        }
        tmp[(j, j)] += 1.0;
    }
    if !inv.invert(tmp.as_ref(), q.as_mut()) {
        return false;
    }
    scale(q, 2.0);
    for j in 0..n {
        q[(j, j)] -= 1.0;
    }
    true
}

/// `g = (t - t^T) / 2`.
pub(crate) fn skew_into(t: &Mat<f64>, g: &mut Mat<f64>) {
    let n = t.nrows();
    for j in 0..n {
        let gc = g.col_as_slice_mut(j);
        let tc = t.col_as_slice(j);
        for i in 0..n {
            gc[i] = 0.5 * (tc[i] - t.col_as_slice(i)[j]);
        }
    }
}

/// Frobenius inner product.
pub(crate) fn dot(x: &Mat<f64>, y: &Mat<f64>) -> f64 {
    // four accumulators so that the compiler can vectorize
    let mut acc = [0.0f64; 4];
    for j in 0..x.ncols() {
        let (xs, ys) = (x.col_as_slice(j), y.col_as_slice(j));
        let mut xc = xs.chunks_exact(4);
        let mut yc = ys.chunks_exact(4);
        for (a, b) in (&mut xc).zip(&mut yc) {
            for k in 0..4 {
                acc[k] += a[k] * b[k];
            }
        }
        for (a, b) in xc.remainder().iter().zip(yc.remainder()) {
            acc[0] += a * b;
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// `y += a x`.
pub(crate) fn axpy(y: &mut Mat<f64>, a: f64, x: &Mat<f64>) {
    for j in 0..x.ncols() {
        for (u, v) in y.col_as_slice_mut(j).iter_mut().zip(x.col_as_slice(j)) {
            *u += a * v;
        }
    }
}

/// `y *= a`.
pub(crate) fn scale(y: &mut Mat<f64>, a: f64) {
    for j in 0..y.ncols() {
        for u in y.col_as_slice_mut(j) {
            *u *= a;
        }
    }
}

/// The Cayley map `C = (I + S)^-1 (I - S)` for `S = W - W^T`.
///
/// Returns a matrix of NaN if `W` is not finite (`I + S` is invertible for every finite skew `S`).
pub fn cayley(w: MatRef<'_, f64>) -> Mat<f64> {
    let n = w.nrows();
    let (mut ips, mut y, mut c) = (Mat::zeros(n, n), Mat::zeros(n, n), Mat::zeros(n, n));
    if !cayley_into(
        &w.to_owned(),
        &mut ips,
        &mut Inverter::new(n),
        &mut y,
        &mut c,
    ) {
        return Mat::from_fn(n, n, |_, _| f64::NAN);
    }
    c
}

/// Gradient of `L(Cayley(W - W^T))` with respect to `W` (spec §4.1):
/// `K = -(I + S)^-T G (I + C)^T`, `dL/dW = K - K^T`, with `G` the Euclidean gradient at `C`.
pub fn cayley_gradient(a: MatRef<'_, f64>, b: MatRef<'_, f64>, w: MatRef<'_, f64>) -> Mat<f64> {
    let n = w.nrows();
    let (mut ips, mut y, mut c) = (Mat::zeros(n, n), Mat::zeros(n, n), Mat::zeros(n, n));
    if !cayley_into(
        &w.to_owned(),
        &mut ips,
        &mut Inverter::new(n),
        &mut y,
        &mut c,
    ) {
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
pub(crate) fn cayley_into(
    w: &Mat<f64>,
    ips: &mut Mat<f64>,
    inv: &mut Inverter,
    y: &mut Mat<f64>,
    c: &mut Mat<f64>,
) -> bool {
    let n = w.nrows();
    for j in 0..n {
        for i in 0..n {
            ips[(i, j)] = if i == j { 1.0 } else { 0.0 } + w[(i, j)] - w[(j, i)];
        }
    }
    if !inv.invert(ips.as_ref(), y.as_mut()) {
        return false;
    }
    for j in 0..n {
        for i in 0..n {
            c[(i, j)] = 2.0 * y[(i, j)] - if i == j { 1.0 } else { 0.0 };
        }
    }
    true
}
