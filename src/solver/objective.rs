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

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::lu::partial_pivoting::{factor::lu_in_place, factor::lu_in_place_scratch};
use faer::prelude::*;
use faer::Par;

use super::flat::Flat;
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
            for i in 0..n {
                let d = self.bstack[(n + i, j)] - self.cac[(i, j)];
                self.rr[(i, j)] = d;
                self.rr[(j, n + i)] = d;
                s += d * d;
            }
        }
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
    rhs: Mat<f64>,
}

impl Retraction {
    pub fn new(n: usize) -> Self {
        Self {
            lu: Lu::new(n),
            rhs: Mat::zeros(n, n),
        }
    }

    /// `out = C Cay(t X) = 2 C M^-1 - C` with `M = I - t X / 2` (invertible for skew `X`:
    /// its eigenvalues have real part 1). Returns `false` if the result is not finite.
    pub fn retract(
        &mut self,
        c: MatRef<'_, f64>,
        x: &Flat,
        t: f64,
        mut out: MatMut<'_, f64>,
    ) -> bool {
        let n = self.rhs.nrows();
        let xs = x.as_slice();
        let m = self.lu.matrix_mut();
        for j in 0..n {
            let col = m.col_as_slice_mut(j);
            for (i, (u, v)) in col.iter_mut().zip(&xs[j * n..(j + 1) * n]).enumerate() {
                *u = if i == j { 1.0 } else { 0.0 } - 0.5 * t * v;
            }
        }
        // M^T Z^T = C^T gives Z = C M^-1
        self.rhs.copy_from(c.transpose());
        if !self.lu.solve_stored(self.rhs.as_mut(), true) {
            return false;
        }
        out.copy_from(self.rhs.transpose());
        for j in 0..n {
            for (u, v) in out.rb_mut().col_mut(j).iter_mut().zip(c.col(j).iter()) {
                *u = 2.0 * *u - v;
            }
        }
        out.rb().is_all_finite()
    }
}

/// Solves with small square matrices, with a reusable LU workspace.
pub(crate) struct Lu {
    lu: Mat<f64>,
    perm: Vec<usize>,
    perm_inv: Vec<usize>,
    mem: MemBuffer,
}

impl Lu {
    pub fn new(n: usize) -> Self {
        use faer::linalg::lu::partial_pivoting::solve::{
            solve_in_place_scratch, solve_transpose_in_place_scratch,
        };
        let req = lu_in_place_scratch::<usize, f64>(n, n, Par::Seq, default())
            .or(solve_in_place_scratch::<usize, f64>(n, n, Par::Seq))
            .or(solve_transpose_in_place_scratch::<usize, f64>(
                n,
                n,
                Par::Seq,
            ));
        Self {
            lu: Mat::zeros(n, n),
            perm: vec![0; n],
            perm_inv: vec![0; n],
            mem: MemBuffer::new(req),
        }
    }

    /// The matrix [`Lu::solve_stored`] factorizes: write it here.
    pub fn matrix_mut(&mut self) -> &mut Mat<f64> {
        &mut self.lu
    }

    /// `rhs <- src^-1 rhs`. Returns `false` if `src` is singular or the result is not finite.
    pub fn solve(&mut self, src: MatRef<'_, f64>, rhs: MatMut<'_, f64>) -> bool {
        self.lu.copy_from(src);
        self.solve_stored(rhs, false)
    }

    /// `rhs <- M^-1 rhs` (or `M^-T rhs` when `transpose`) for the matrix `M` written through
    /// [`Lu::matrix_mut`], which is overwritten by its factors. Returns `false` if `M` is
    /// singular or the result is not finite.
    pub fn solve_stored(&mut self, mut rhs: MatMut<'_, f64>, transpose: bool) -> bool {
        use faer::linalg::lu::partial_pivoting::solve::{solve_in_place, solve_transpose_in_place};
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
        if (0..n).any(|i| self.lu[(i, i)] == 0.0) {
            return false;
        }
        let stack = MemStack::new(&mut self.mem);
        let f = self.lu.as_ref();
        if transpose {
            solve_transpose_in_place(f, f, perm, rhs.rb_mut(), Par::Seq, stack);
        } else {
            solve_in_place(f, f, perm, rhs.rb_mut(), Par::Seq, stack);
        }
        rhs.rb().is_all_finite()
    }
}

/// The Cayley map `C = (I + S)^-1 (I - S)` for `S = W - W^T`.
///
/// Returns a matrix of NaN if `W` is not finite (`I + S` is invertible for every finite skew `S`).
pub fn cayley(w: MatRef<'_, f64>) -> Mat<f64> {
    let n = w.nrows();
    let (mut ips, mut y, mut c) = (Mat::zeros(n, n), Mat::zeros(n, n), Mat::zeros(n, n));
    if !cayley_into(&w.to_owned(), &mut ips, &mut Lu::new(n), &mut y, &mut c) {
        return Mat::from_fn(n, n, |_, _| f64::NAN);
    }
    c
}

/// Gradient of `L(Cayley(W - W^T))` with respect to `W` (spec §4.1):
/// `K = -(I + S)^-T G (I + C)^T`, `dL/dW = K - K^T`, with `G` the Euclidean gradient at `C`.
pub fn cayley_gradient(a: MatRef<'_, f64>, b: MatRef<'_, f64>, w: MatRef<'_, f64>) -> Mat<f64> {
    let n = w.nrows();
    let (mut ips, mut y, mut c) = (Mat::zeros(n, n), Mat::zeros(n, n), Mat::zeros(n, n));
    if !cayley_into(&w.to_owned(), &mut ips, &mut Lu::new(n), &mut y, &mut c) {
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
    inv: &mut Lu,
    y: &mut Mat<f64>,
    c: &mut Mat<f64>,
) -> bool {
    // C solves (I + S) C = I - S; then Y = (I + C) / 2 (one LU and one solve, no inverse)
    let n = w.nrows();
    for j in 0..n {
        for i in 0..n {
            let s = w[(i, j)] - w[(j, i)];
            let e = if i == j { 1.0 } else { 0.0 };
            ips[(i, j)] = e + s;
            y[(i, j)] = e - s;
        }
    }
    if !inv.solve(ips.as_ref(), y.as_mut()) {
        return false;
    }
    for j in 0..n {
        for i in 0..n {
            let cij = y[(i, j)];
            c[(i, j)] = cij;
            y[(i, j)] = 0.5 * (cij + if i == j { 1.0 } else { 0.0 });
        }
    }
    true
}
