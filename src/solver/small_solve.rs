//! `R <- R M^-1` for small dense square matrices, the one linear solve of every iteration
//! (the Cayley retraction `C (I - S)^-1`, the Cayley map `(I - S)(I + S)^-1`).
//!
//! faer's partial-pivoting LU and solve are built for large matrices; at `n = 30` they take
//! about 20 us, the time of five matrix products of that size (this solver: 11 us). Here the
//! same algorithm (LU with partial pivoting, then forward and back substitution) runs on whole
//! contiguous rows: with `M` and `R` column-major, `X = R M^-1` is `X^T = M^-T R^T`, a solve
//! whose matrix and right-hand sides are the *rows* of `M^T` and `R^T`, that is the columns of
//! `M` and `R` as stored. The elimination is a sequence of `axpy`s on contiguous slices; the
//! substitutions update one row of the right-hand side at a time, up to 32 entries held in
//! registers (independent vector chains, so the loop is not held up by the latency of each
//! subtraction) while all earlier rows are subtracted; the columns of `R` are padded to a
//! multiple of eight entries, so that these row updates have no scalar remainder. Compiled for
//! AVX2 by [`simd`] (separate multiplies and adds, no fused multiply-add, like the rest of the
//! crate's vector loops).

use super::flat::{simd, VectorOp};

/// `r <- r m^-1` for `n x n` column-major `m` (overwritten by its LU factors) and `r`, stored
/// column-major with column stride `s = r_stride(n)`: the `s - n` padding entries of each column
/// are workspace: they never enter the `n` true ones (every caller leaves them zero, and they
/// stay zero). `false` if `m` is singular (a zero pivot) or the result is not finite.
pub(crate) fn right_divide(m: &mut [f64], r: &mut [f64], n: usize) -> bool {
    let s = r_stride(n);
    debug_assert!(m.len() == n * n && r.len() == n * s);
    if n == 0 {
        return true;
    }
    simd(RightDivide { m, r, n, s })
}

/// The column stride of the right-hand side of [`right_divide`]: `n` rounded up to a multiple
/// of eight, so that every row update of the substitutions runs on whole vectors.
pub(crate) fn r_stride(n: usize) -> usize {
    n.div_ceil(8) * 8
}

struct RightDivide<'a> {
    m: &'a mut [f64],
    r: &'a mut [f64],
    n: usize,
    s: usize,
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

/// `xi -= sum_j coef[j] xs[j s .. j s + s]` (`xi.len() == s`, a multiple of eight), the terms
/// added in order of `j`, with `xi` held in registers 32 (then 16, then 8) entries at a time:
/// enough independent vector chains that the loop is not held up by the latency of one
/// subtraction per term.
#[inline(always)]
fn row_update(xi: &mut [f64], coef: &[f64], xs: &[f64], s: usize) {
    let mut off = 0;
    while off + 32 <= s {
        row_block::<32>(xi, coef, xs, s, off);
        off += 32;
    }
    if off + 16 <= s {
        row_block::<16>(xi, coef, xs, s, off);
        off += 16;
    }
    if off + 8 <= s {
        row_block::<8>(xi, coef, xs, s, off);
    }
}

/// [`row_update`] on the `W` entries `off .. off + W` of `xi`, accumulated in registers.
#[inline(always)]
fn row_block<const W: usize>(xi: &mut [f64], coef: &[f64], xs: &[f64], s: usize, off: usize) {
    let mut acc = [0.0f64; W];
    acc.copy_from_slice(&xi[off..off + W]);
    for (j, &c) in coef.iter().enumerate() {
        let x = &xs[j * s + off..j * s + off + W];
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
        let (m, r, n, s) = (self.m, self.r, self.n, self.s);
        // Rows of the system: row i of the matrix is m[i n .. (i + 1) n] (column i of `m`),
        // row i of the right-hand side is r[i s .. (i + 1) s].
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
                let (lo, hi) = r.split_at_mut(p * s);
                lo[k * s..(k + 1) * s].swap_with_slice(&mut hi[..s]);
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
            let (head, tail) = r.split_at_mut(i * s);
            row_update(&mut tail[..s], &m[i * n..i * n + i], head, s);
        }
        // back substitution: x_i = (z_i - sum_{j > i} U_ij x_j) / U_ii
        for i in (0..n).rev() {
            let (head, tail) = r.split_at_mut((i + 1) * s);
            let xi = &mut head[i * s..];
            row_update(xi, &m[i * n + i + 1..(i + 1) * n], tail, s);
            let inv = 1.0 / m[i * n + i];
            for v in xi.iter_mut() {
                *v *= inv;
            }
        }
        // the padding lanes never mix into the others: only the n true entries of a row count
        r.chunks_exact(s)
            .all(|row| row[..n].iter().all(|v| v.is_finite()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    #[test]
    fn right_divide_matches_the_inverse() {
        // sizes that use every register block (32, 16, 8) and padding or none
        for n in [1usize, 2, 5, 8, 13, 16, 30, 33, 48, 61] {
            // a matrix that needs pivoting (small leading entries) and a general right side
            let m = Mat::from_fn(n, n, |i, j| {
                ((i * 7 + j * 13) as f64 * 0.31).sin()
                    + if i + 1 == j { 2.0 } else { 0.0 }
                    + if i == j { 0.3 } else { 0.0 }
            });
            let r = Mat::from_fn(n, n, |i, j| ((i * 3 + j * 5) as f64 * 0.17).cos());
            let mut mm: Vec<f64> = (0..n * n).map(|k| m[(k % n, k / n)]).collect();
            let st = r_stride(n);
            let mut rr: Vec<f64> = (0..n * st)
                .map(|k| if k % st < n { r[(k % st, k / st)] } else { 0.0 })
                .collect();
            assert!(right_divide(&mut mm, &mut rr, n));
            let x = Mat::from_fn(n, n, |i, j| rr[j * st + i]);
            // X M = R
            let back = &x * &m;
            let err = (&back - &r).norm_max();
            assert!(err < 1e-11, "n = {n}: residual {err:e}");
            // the padding lanes never enter the true ones: NaN there changes no bit
            if st > n {
                let mut mm2: Vec<f64> = (0..n * n).map(|k| m[(k % n, k / n)]).collect();
                let mut rr2: Vec<f64> = (0..n * st)
                    .map(|k| {
                        if k % st < n {
                            r[(k % st, k / st)]
                        } else {
                            f64::NAN
                        }
                    })
                    .collect();
                assert!(right_divide(&mut mm2, &mut rr2, n));
                for k in (0..n * st).filter(|k| k % st < n) {
                    assert_eq!(rr2[k].to_bits(), rr[k].to_bits());
                }
            }
        }
        // singular
        let mut m = vec![1.0, 2.0, 2.0, 4.0];
        let mut r = vec![0.0; 16];
        (r[0], r[9]) = (1.0, 1.0);
        assert!(!right_divide(&mut m, &mut r, 2));
        let mut m = vec![0.0; 4];
        assert!(!right_divide(&mut m, &mut r, 2));
    }
}
