//! The Gauss–Newton preconditioner of the Procrustes objective on `O(n)`.
//!
//! Tangent vectors at `C` are skew matrices `X` (the point moves as `C -> C Cay(X)`), stored
//! packed: the entries above the diagonal, column by column, times `sqrt(2)`, so that the
//! Euclidean inner product of packed vectors is the Frobenius inner product of the matrices.
//!
//! Near a minimum, `C^T A C ~ B`, and the loss `||C^T A C - Cay(X) B Cay(X)^T||^2` is close to
//! `||R + [B, X]||^2` with `[B, X] = BX - XB`: its Hessian is close to the Gauss–Newton matrix
//! `P = 2 ad_B^T ad_B` restricted to skew matrices. `P` depends on `B` only, so it is formed and
//! factorized once per solve. In the skew basis `E_ab = (e_a e_b^T - e_b e_a^T) / sqrt(2)`,
//! `a < b`, with `S = B^T B + B B^T`:
//!
//! `P_(ab),(cd) = d_bd S_ac + d_ac S_bd - d_bc S_ad - d_ad S_bc
//!               + 2 (B_da B_cb - B_ca B_db + B_ad B_bc - B_ac B_bd)`.
//!
//! The operators of DMD fits have clustered eigenvalues, which makes the Hessian ill-conditioned
//! (condition numbers in the hundreds on the reference's pairwise anchor at `n = 30`); `P + mu I`
//! brings that to about 13, and L-BFGS with `H_0 = (P + mu I)^-1` needs four to five times fewer
//! iterations. The price is a dense Cholesky factorization of size `n (n - 1) / 2` per solve and
//! two triangular solves per iteration, which pays off for small `n` only.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{cholesky_in_place, cholesky_in_place_scratch};
use faer::prelude::*;
use faer::Par;

use super::flat::{dot_kernel, simd, VectorOp};

/// Packed length of an `n x n` skew matrix.
pub(crate) fn packed_len(n: usize) -> usize {
    n * n.saturating_sub(1) / 2
}

/// The Cholesky factor of `P + mu I` (see the module documentation), its lower triangle packed
/// column by column so that the two triangular solves stream through it once each.
pub(crate) struct GaussNewton {
    m: usize,
    /// `L` row by row (row `i` holds `L[i, 0..=i]`), for the forward solve
    rows: Vec<f64>,
    /// `L` column by column (column `j` holds `L[j..m, j]`), for the backward solve
    packed: Vec<f64>,
}

impl GaussNewton {
    /// Forms and factorizes the preconditioner for `B`; `None` if the factorization fails
    /// (the solver then runs without it).
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
        let mut l = Mat::<f64>::zeros(m, m);
        let mut max_diag = 0.0f64;
        for (col, &(c, d)) in idx.iter().enumerate() {
            for (row, &(a, bb)) in idx.iter().enumerate().skip(col) {
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
                l[(row, col)] = v;
            }
            max_diag = max_diag.max(l[(col, col)]);
        }
        if !(max_diag > 0.0 && max_diag.is_finite()) {
            return None;
        }
        let mu = 1e-4 * max_diag;
        for k in 0..m {
            l[(k, k)] += mu;
        }
        let mut mem = MemBuffer::new(cholesky_in_place_scratch::<f64>(m, Par::Seq, default()));
        let stack = MemStack::new(&mut mem);
        cholesky_in_place(l.as_mut(), default(), Par::Seq, stack, default()).ok()?;
        let mut packed = Vec::with_capacity(m * (m + 1) / 2);
        for j in 0..m {
            packed.extend_from_slice(&l.col_as_slice(j)[j..]);
        }
        let mut rows = Vec::with_capacity(m * (m + 1) / 2);
        for i in 0..m {
            rows.extend((0..=i).map(|j| l[(i, j)]));
        }
        if !packed.iter().all(|x| x.is_finite()) || (0..m).any(|j| !(l[(j, j)] > 0.0)) {
            return None;
        }
        Some(Self { m, rows, packed })
    }

    /// `v <- (P + mu I)^-1 v` for every `v` in `vs` (`L z = v`, then `L^T x = z`), four at a
    /// time: each entry of the factor is read once per four vectors, which makes the solve
    /// faster per vector. `scratch` is reused between calls. A single vector takes a
    /// one-vector path (rounding may differ in the last bits from the batched one; which path a
    /// run takes is fixed by the algorithm, not by timing or threads).
    pub fn apply<'v>(&self, vs: impl IntoIterator<Item = &'v mut [f64]>, scratch: &mut Vec<f64>) {
        let m = self.m;
        let mut vs = vs.into_iter().peekable();
        let mut first = true;
        while vs.peek().is_some() {
            // the next group of up to WIDTH vectors, without allocating
            let mut group: [Option<&mut [f64]>; WIDTH] = Default::default();
            for slot in group.iter_mut() {
                *slot = vs.next();
            }
            if first && group[1].is_none() {
                if let Some(v) = group[0].take() {
                    simd(CholeskySolveOne {
                        m,
                        rows: &self.rows,
                        cols: &self.packed,
                        v,
                    });
                }
                return;
            }
            first = false;
            scratch.resize(WIDTH * m, 0.0);
            for i in 0..m {
                for (r, v) in group.iter().enumerate() {
                    scratch[WIDTH * i + r] = v.as_ref().map_or(0.0, |v| v[i]);
                }
            }
            simd(CholeskySolve {
                m,
                rows: &self.rows,
                cols: &self.packed,
                z: scratch,
            });
            for (r, v) in group.iter_mut().enumerate() {
                if let Some(v) = v {
                    for i in 0..m {
                        v[i] = scratch[WIDTH * i + r];
                    }
                }
            }
        }
    }
}

/// Vectors solved together by [`GaussNewton::apply`].
const WIDTH: usize = 4;

/// Independent partial sums per lane in [`dot_lanes`] (measured fastest here; more chains
/// were slower).
const CHAINS: usize = 2;

/// `sum_k l_k z[WIDTH k + r]` for each lane `r`, two partial sums per lane summed in a fixed
/// order.
#[inline(always)]
fn dot_lanes(l: &[f64], z: &[f64]) -> [f64; WIDTH] {
    let mut acc = [[0.0f64; WIDTH]; CHAINS];
    let (lc, zc) = (l.chunks_exact(CHAINS), z.chunks_exact(CHAINS * WIDTH));
    let (lr, zr) = (lc.remainder(), zc.remainder());
    for (x, y) in lc.zip(zc) {
        for c in 0..CHAINS {
            for r in 0..WIDTH {
                acc[c][r] += x[c] * y[WIDTH * c + r];
            }
        }
    }
    for (c, x) in lr.iter().enumerate() {
        for r in 0..WIDTH {
            acc[c][r] += x * zr[WIDTH * c + r];
        }
    }
    let [mut a0, a1] = acc;
    for (x, y) in a0.iter_mut().zip(a1) {
        *x += y;
    }
    a0
}

struct CholeskySolveOne<'a> {
    m: usize,
    rows: &'a [f64],
    cols: &'a [f64],
    v: &'a mut [f64],
}

impl VectorOp for CholeskySolveOne<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let (m, rows, cols, v) = (self.m, self.rows, self.cols, self.v);
        let mut off = 0;
        for i in 0..m {
            let row = &rows[off..off + i + 1];
            let s = dot_kernel(&row[..i], &v[..i]);
            v[i] = (v[i] - s) / row[i];
            off += i + 1;
        }
        let mut off = cols.len();
        for j in (0..m).rev() {
            off -= m - j;
            let col = &cols[off..off + m - j];
            let s = dot_kernel(&col[1..], &v[j + 1..]);
            v[j] = (v[j] - s) / col[0];
        }
    }
}

struct CholeskySolve<'a> {
    m: usize,
    rows: &'a [f64],
    cols: &'a [f64],
    z: &'a mut [f64],
}

impl VectorOp for CholeskySolve<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let (m, rows, cols, z) = (self.m, self.rows, self.cols, self.z);
        // forward: z_i = (v_i - L[i, ..i] . z[..i]) / L_ii; row i is rows[off..off + i + 1]
        let mut off = 0;
        for i in 0..m {
            let row = &rows[off..off + i + 1];
            let s = dot_lanes(&row[..i], &z[..WIDTH * i]);
            for r in 0..WIDTH {
                z[WIDTH * i + r] = (z[WIDTH * i + r] - s[r]) / row[i];
            }
            off += i + 1;
        }
        // backward: x_j = (z_j - L[j+1.., j] . x[j+1..]) / L_jj; column j is
        // cols[off..off + m - j], diagonal first
        let mut off = cols.len();
        for j in (0..m).rev() {
            off -= m - j;
            let col = &cols[off..off + m - j];
            let s = dot_lanes(&col[1..], &z[WIDTH * (j + 1)..]);
            for r in 0..WIDTH {
                z[WIDTH * j + r] = (z[WIDTH * j + r] - s[r]) / col[0];
            }
        }
    }
}

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
        pc.apply([w.as_mut_slice(), other.as_mut_slice()], &mut Vec::new());
        // the same arithmetic for each vector of a batch, so linear up to rounding
        for (x, y) in other.iter().zip(&w) {
            assert!((x - 2.0 * y).abs() < 1e-12 * (1.0 + y.abs()));
        }
        let mut alone = v.clone();
        pc.apply([alone.as_mut_slice()], &mut Vec::new());
        for (x, y) in alone.iter().zip(&w) {
            assert!((x - y).abs() < 1e-12 * (1.0 + y.abs()));
        }
        let back: Vec<f64> = gn_apply(&b, &w)
            .iter()
            .zip(&w)
            .map(|(p, x)| p + mu * x)
            .collect();
        for (x, y) in back.iter().zip(&v) {
            assert!((x - y).abs() < 1e-9 * (1.0 + y.abs()), "{x} vs {y}");
        }
    }
}
