//! `R <- R M^-1` for small dense square matrices, the one linear solve of every iteration
//! (the Cayley retraction `C (I - S)^-1`, the Cayley map `(I - S)(I + S)^-1`).
//!
//! faer's partial-pivoting LU and solve are built for large matrices; at `n = 30` they take
//! about 20 us, the time of five matrix products of that size (this solver: 12 us). Here the
//! same algorithm (LU with partial pivoting, then forward and back substitution) runs on whole
//! contiguous rows: with `M` and `R` column-major, `X = R M^-1` is `X^T = M^-T R^T`, a solve
//! whose matrix and right-hand sides are the *rows* of `M^T` and `R^T`, that is the columns of
//! `M` and `R` as stored. The elimination is a sequence of `axpy`s on contiguous slices; the
//! substitutions update one row of the right-hand side at a time, eight entries held in
//! registers while all earlier rows are subtracted. Compiled for AVX2 by [`simd`] (separate
//! multiplies and adds, no fused multiply-add, like the rest of the crate's vector loops).

use super::flat::{simd, VectorOp};

/// `r <- r m^-1` for `n x n` column-major `m` (overwritten by its LU factors) and `r`
/// (`r.len() == n * n`). `false` if `m` is singular (a zero pivot) or the result is not finite.
pub(crate) fn right_divide(m: &mut [f64], r: &mut [f64], n: usize) -> bool {
    debug_assert!(m.len() == n * n && r.len() == n * n);
    simd(RightDivide { m, r, n })
}

struct RightDivide<'a> {
    m: &'a mut [f64],
    r: &'a mut [f64],
    n: usize,
}

/// `y -= a x` over the common length.
#[inline(always)]
fn axpy_neg(y: &mut [f64], a: f64, x: &[f64]) {
    let len = y.len().min(x.len());
    let (y, x) = (&mut y[..len], &x[..len]);
    for i in 0..len {
        y[i] -= a * x[i];
    }
}

/// `xi -= sum_j coef[j] xs[j n .. j n + n]` (`xi.len() == n`), the terms added in order of
/// `j`, with `xi` held in registers eight (then four, then one) entries at a time.
#[inline(always)]
fn row_update(xi: &mut [f64], coef: &[f64], xs: &[f64], n: usize) {
    let mut off = 0;
    while off + 8 <= n {
        row_block::<8>(xi, coef, xs, n, off);
        off += 8;
    }
    if off + 4 <= n {
        row_block::<4>(xi, coef, xs, n, off);
        off += 4;
    }
    while off < n {
        row_block::<1>(xi, coef, xs, n, off);
        off += 1;
    }
}

/// [`row_update`] on the `W` entries `off .. off + W` of `xi`, accumulated in registers.
#[inline(always)]
fn row_block<const W: usize>(xi: &mut [f64], coef: &[f64], xs: &[f64], n: usize, off: usize) {
    let mut acc = [0.0f64; W];
    acc.copy_from_slice(&xi[off..off + W]);
    for (j, &c) in coef.iter().enumerate() {
        let x = &xs[j * n + off..j * n + off + W];
        for l in 0..W {
            acc[l] -= c * x[l];
        }
    }
    xi[off..off + W].copy_from_slice(&acc);
}

impl VectorOp for RightDivide<'_> {
    type Output = bool;

    #[inline(always)]
    fn run(self) -> bool {
        let (m, r, n) = (self.m, self.r, self.n);
        // Rows of the system: row i of the matrix is m[i n .. (i + 1) n] (column i of `m`),
        // row i of the right-hand side is r[i n .. (i + 1) n].
        // LU with partial pivoting, the row swaps applied to the right-hand side too
        for k in 0..n {
            // the largest |entry| of column k at or below the diagonal
            let mut p = k;
            let mut big = m[k * n + k].abs();
            for i in k + 1..n {
                let v = m[i * n + k].abs();
                if v > big {
                    big = v;
                    p = i;
                }
            }
            if !(big > 0.0 && big.is_finite()) {
                return false;
            }
            if p != k {
                let (lo, hi) = m.split_at_mut(p * n);
                lo[k * n..(k + 1) * n].swap_with_slice(&mut hi[..n]);
                let (lo, hi) = r.split_at_mut(p * n);
                lo[k * n..(k + 1) * n].swap_with_slice(&mut hi[..n]);
            }
            let inv = 1.0 / m[k * n + k];
            let (upper, lower) = m.split_at_mut((k + 1) * n);
            let pivot_row = &upper[k * n + k + 1..(k + 1) * n];
            for row in lower.chunks_exact_mut(n) {
                let l = row[k] * inv;
                row[k] = l;
                axpy_neg(&mut row[k + 1..], l, pivot_row);
            }
        }
        // forward substitution with the unit lower factor: z_i = r_i - sum_{k < i} L_ik z_k
        for i in 1..n {
            let (head, tail) = r.split_at_mut(i * n);
            row_update(&mut tail[..n], &m[i * n..i * n + i], head, n);
        }
        // back substitution: x_i = (z_i - sum_{j > i} U_ij x_j) / U_ii
        for i in (0..n).rev() {
            let (head, tail) = r.split_at_mut((i + 1) * n);
            let xi = &mut head[i * n..];
            row_update(xi, &m[i * n + i + 1..(i + 1) * n], tail, n);
            let inv = 1.0 / m[i * n + i];
            for v in xi.iter_mut() {
                *v *= inv;
            }
        }
        r.iter().all(|v| v.is_finite())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    #[test]
    fn right_divide_matches_the_inverse() {
        for n in [1usize, 2, 5, 13, 30] {
            // a matrix that needs pivoting (small leading entries) and a general right side
            let m = Mat::from_fn(n, n, |i, j| {
                ((i * 7 + j * 13) as f64 * 0.31).sin()
                    + if i + 1 == j { 2.0 } else { 0.0 }
                    + if i == j { 0.3 } else { 0.0 }
            });
            let r = Mat::from_fn(n, n, |i, j| ((i * 3 + j * 5) as f64 * 0.17).cos());
            let mut mm: Vec<f64> = (0..n * n).map(|k| m[(k % n, k / n)]).collect();
            let mut rr: Vec<f64> = (0..n * n).map(|k| r[(k % n, k / n)]).collect();
            assert!(right_divide(&mut mm, &mut rr, n));
            let x = Mat::from_fn(n, n, |i, j| rr[j * n + i]);
            // X M = R
            let back = &x * &m;
            let err = (&back - &r).norm_max();
            assert!(err < 1e-11, "n = {n}: residual {err:e}");
        }
        // singular
        let mut m = vec![1.0, 2.0, 2.0, 4.0];
        let mut r = vec![1.0, 0.0, 0.0, 1.0];
        assert!(!right_divide(&mut m, &mut r, 2));
        let mut m = vec![0.0; 4];
        assert!(!right_divide(&mut m, &mut r, 2));
    }
}
