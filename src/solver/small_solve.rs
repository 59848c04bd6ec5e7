//! `R <- R M^-1` and `M^-1` for small dense square matrices, the one linear solve of every
//! iteration (the Cayley retraction `C (I - S)^-1`, the Cayley map `(I + S)^-1`).
//!
//! faer's partial-pivoting LU and solve are built for large matrices; at the sizes of this
//! crate's operators they cost as much as several matrix products (`docs/solvers.md`). Here the
//! same algorithm (LU with partial pivoting, then forward and back substitution) runs on whole
//! contiguous rows: with `M` and `R` column-major, `X = R M^-1` is `X^T = M^-T R^T`, a solve
//! whose matrix and right-hand sides are the *rows* of `M^T` and `R^T`, that is the columns of
//! `M` and `R` as stored. Both are stored with their columns padded to a multiple of eight
//! entries, so that every row operation runs on whole vectors.
//!
//! * The factorization goes by panels of eight columns: a panel is eliminated on its own
//!   columns (one eight-entry update per row and pivot, which subtracts zeros from the columns
//!   up to the pivot), then the rest of every row below is updated once for the whole panel.
//! * The substitutions update one row of the right-hand side at a time.
//!
//! Both row updates hold up to 32 entries in registers (independent vector chains, so the loop
//! is not held up by the latency of each subtraction) while all the terms are subtracted, in
//! order. Every entry thus sees the same operations in the same order as in the textbook
//! right-looking elimination, and gets the same value; the bits agree too, except that an
//! exact zero can come out with the other sign (a subtracted zero turns a multiplier -0.0 into
//! +0.0). Compiled for AVX2 by [`simd`] (separate multiplies and adds, no
//! fused multiply-add, like the rest of the crate's vector loops).

use super::flat::{nonfinite, simd, VectorOp};

/// `r <- r m^-1` for `n x n` matrices `m` (overwritten by its LU factors) and `r`, both stored
/// column-major with column stride `s = r_stride(n)`; `perm` (length `n`) is workspace. The
/// `s - n` padding entries of each column are workspace too: whatever they hold (NaN after a
/// non-finite input, for instance) never enters the `n` true ones. `false` if `m` is singular
/// (a zero pivot) or the result is not finite.
pub(crate) fn right_divide(m: &mut [f64], r: &mut [f64], perm: &mut [usize], n: usize) -> bool {
    solve(m, r, perm, n, false)
}

/// `m^-1` for an `n x n` matrix `m` stored as in [`right_divide`] (and overwritten), in a
/// scrambled form that saves carrying the row swaps through the right-hand side: on success,
/// `(m^-1)[perm[k], i] = r[i s + k]`. The contents of `r` on entry do not matter. With the
/// swaps left out, the forward substitution builds `L^-1`, which is unit lower triangular, so
/// its row `i` is computed on its first `i + 1` entries only (rounded up to eight). `false` if
/// `m` is singular or the result is not finite.
pub(crate) fn inverse(m: &mut [f64], r: &mut [f64], perm: &mut [usize], n: usize) -> bool {
    solve(m, r, perm, n, true)
}

fn solve(m: &mut [f64], r: &mut [f64], perm: &mut [usize], n: usize, identity: bool) -> bool {
    let s = r_stride(n);
    debug_assert!(m.len() == n * s && r.len() == n * s && perm.len() == n);
    if n == 0 {
        return true;
    }
    simd(Solve {
        m,
        r,
        perm,
        n,
        s,
        identity,
    })
}

/// The column stride of both matrices of [`right_divide`]: `n` rounded up to a multiple of
/// eight, so that every row operation runs on whole vectors.
pub(crate) fn r_stride(n: usize) -> usize {
    n.div_ceil(8) * 8
}

/// Columns per panel of the LU factorization (a multiple of eight, so that the updates beyond
/// a panel run on whole vectors).
const PANEL: usize = 8;

struct Solve<'a> {
    m: &'a mut [f64],
    r: &'a mut [f64],
    perm: &'a mut [usize],
    n: usize,
    s: usize,
    /// `R = I`: track the row swaps in `perm` instead of applying them to `r`
    identity: bool,
}

/// `xi -= sum_j coef[j] xs[j s .. j s + xi.len()]` (`xi.len()` a multiple of eight), the terms
/// subtracted in order of `j`, with `xi` held in registers 32 (then 16, then 8) entries at a
/// time: enough independent vector chains that the loop is not held up by the latency of one
/// subtraction per term.
#[inline(always)]
fn row_update(xi: &mut [f64], coef: &[f64], xs: &[f64], s: usize) {
    let w = xi.len();
    let mut off = 0;
    while off + 32 <= w {
        row_block::<32>(xi, coef, xs, s, off);
        off += 32;
    }
    if off + 16 <= w {
        row_block::<16>(xi, coef, xs, s, off);
        off += 16;
    }
    if off + 8 <= w {
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

/// Whether the first `n` entries of every row (stride `s`) are finite.
#[inline(always)]
fn all_finite(r: &[f64], n: usize, s: usize) -> bool {
    let mut bad = 0u64;
    for row in r.chunks_exact(s) {
        for &v in &row[..n] {
            bad |= nonfinite(v);
        }
    }
    bad == 0
}

impl VectorOp for Solve<'_> {
    type Output = bool;

    #[inline(always)]
    fn run(self) -> bool {
        let (m, r, perm, n, s) = (self.m, self.r, self.perm, self.n, self.s);
        // Rows of the system: row i of the matrix is m[i s .. (i + 1) s] (column i of `m`),
        // row i of the right-hand side is r[i s .. (i + 1) s].
        for (i, p) in perm.iter_mut().enumerate() {
            *p = i;
        }
        // LU with partial pivoting, by panels of PANEL columns
        let mut p0 = 0;
        while p0 < n {
            let pe = (p0 + PANEL).min(n);
            for k in p0..pe {
                // the largest |entry| of column k at or below the diagonal
                let mut p = k;
                let mut big = m[k * s + k].abs();
                for i in k + 1..n {
                    let v = m[i * s + k].abs();
                    if v > big {
                        big = v;
                        p = i;
                    }
                }
                if !(big > 0.0 && big.is_finite()) {
                    return false;
                }
                if p != k {
                    let (lo, hi) = m.split_at_mut(p * s);
                    lo[k * s..(k + 1) * s].swap_with_slice(&mut hi[..s]);
                    perm.swap(k, p);
                    if !self.identity {
                        let (lo, hi) = r.split_at_mut(p * s);
                        lo[k * s..(k + 1) * s].swap_with_slice(&mut hi[..s]);
                    }
                }
                let inv = 1.0 / m[k * s + k];
                let (upper, lower) = m.split_at_mut((k + 1) * s);
                // The pivot row's entries in the panel right of column k, zero elsewhere, so
                // that every row update is one whole-panel operation. On the columns up to k
                // (the multipliers) it subtracts a zero: the value stays, though a -0.0
                // multiplier becomes +0.0 when `l < 0` (the one way these bits can differ from
                // the textbook elimination's; keeping them measurably slowed the solve).
                let mut pivot = [0.0f64; PANEL];
                for j in k + 1..pe {
                    pivot[j - p0] = upper[k * s + j];
                }
                for row in lower.chunks_exact_mut(s).take(n - k - 1) {
                    let l = row[k] * inv;
                    let seg = &mut row[p0..p0 + PANEL];
                    for (x, p) in seg.iter_mut().zip(&pivot) {
                        *x -= l * p;
                    }
                    row[k] = l;
                }
            }
            if pe < n {
                // beyond the panel: each of its rows of U, row k -= sum_{p0 <= j < k} L_kj U_j,
                // then every row below it, row i -= sum_{p0 <= j < pe} L_ij U_j
                for i in p0 + 1..n {
                    let (head, tail) = m.split_at_mut(i * s);
                    let (left, right) = tail[..s].split_at_mut(pe);
                    row_update(right, &left[p0..i.min(pe)], &head[p0 * s + pe..], s);
                }
            }
            p0 = pe;
        }
        // forward substitution with the unit lower factor: z_i = r_i - sum_{k < i} L_ik z_k
        if self.identity {
            // R = I, unswapped: Z = L^-1, whose row i is zero beyond entry i
            r.fill(0.0);
            for i in 0..n {
                r[i * s + i] = 1.0;
            }
        }
        for i in 1..n {
            let (head, tail) = r.split_at_mut(i * s);
            // only as far as the row can be nonzero
            let w = if self.identity { r_stride(i + 1) } else { s };
            row_update(&mut tail[..w], &m[i * s..i * s + i], head, s);
        }
        // back substitution: x_i = (z_i - sum_{j > i} U_ij x_j) / U_ii
        for i in (0..n).rev() {
            let (head, tail) = r.split_at_mut((i + 1) * s);
            let xi = &mut head[i * s..];
            row_update(xi, &m[i * s + i + 1..i * s + n], tail, s);
            let inv = 1.0 / m[i * s + i];
            for v in xi.iter_mut() {
                *v *= inv;
            }
        }
        // the padding lanes never mix into the others: only the n true entries of a row count
        all_finite(r, n, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    #[test]
    fn right_divide_and_inverse_solve_their_systems() {
        // sizes that use every register block (32, 16, 8) and padding or none
        for n in [1usize, 2, 5, 8, 13, 16, 30, 33, 48, 61] {
            // a matrix that needs pivoting (small leading entries) and a general right side
            let m = Mat::from_fn(n, n, |i, j| {
                ((i * 7 + j * 13) as f64 * 0.31).sin()
                    + if i + 1 == j { 2.0 } else { 0.0 }
                    + if i == j { 0.3 } else { 0.0 }
            });
            let r = Mat::from_fn(n, n, |i, j| ((i * 3 + j * 5) as f64 * 0.17).cos());
            let st = r_stride(n);
            let mut mm: Vec<f64> = (0..n * st)
                .map(|k| if k % st < n { m[(k % st, k / st)] } else { 0.0 })
                .collect();
            let mut rr: Vec<f64> = (0..n * st)
                .map(|k| if k % st < n { r[(k % st, k / st)] } else { 0.0 })
                .collect();
            let mut perm = vec![0; n];
            let mut m_inv = mm.clone();
            assert!(right_divide(&mut mm, &mut rr, &mut perm, n));
            let x = Mat::from_fn(n, n, |i, j| rr[j * st + i]);
            // X M = R
            let back = &x * &m;
            let err = (&back - &r).norm_max();
            assert!(err < 1e-11, "n = {n}: residual {err:e}");
            // the inverse, from garbage in `r`: unscrambled, M^-1 M = I
            let mut ri = vec![f64::NAN; n * st];
            assert!(inverse(&mut m_inv, &mut ri, &mut perm, n));
            let mut inv = Mat::<f64>::zeros(n, n);
            for i in 0..n {
                for k in 0..n {
                    inv[(perm[k], i)] = ri[i * st + k];
                }
            }
            let err = (&inv * &m - Mat::<f64>::identity(n, n)).norm_max();
            assert!(err < 1e-11, "n = {n}: inverse residual {err:e}");
            // the same as dividing the identity (the same operations, apart from zeros)
            let mut mm3: Vec<f64> = (0..n * st)
                .map(|k| if k % st < n { m[(k % st, k / st)] } else { 0.0 })
                .collect();
            let mut eye: Vec<f64> = (0..n * st)
                .map(|k| if k % st == k / st { 1.0 } else { 0.0 })
                .collect();
            assert!(right_divide(&mut mm3, &mut eye, &mut perm.clone(), n));
            for j in 0..n {
                for i in 0..n {
                    assert_eq!(inv[(i, j)].to_bits(), eye[j * st + i].to_bits(), "n = {n}");
                }
            }
            // the padding lanes never enter the true ones: NaN there (in both matrices) changes
            // no bit
            if st > n {
                let nan_padded = || -> Vec<f64> {
                    (0..n * st)
                        .map(|k| {
                            if k % st < n {
                                m[(k % st, k / st)]
                            } else {
                                f64::NAN
                            }
                        })
                        .collect()
                };
                let mut mm2 = nan_padded();
                let mut rr2: Vec<f64> = (0..n * st)
                    .map(|k| {
                        if k % st < n {
                            r[(k % st, k / st)]
                        } else {
                            f64::NAN
                        }
                    })
                    .collect();
                assert!(right_divide(&mut mm2, &mut rr2, &mut perm, n));
                for k in (0..n * st).filter(|k| k % st < n) {
                    assert_eq!(rr2[k].to_bits(), rr[k].to_bits());
                }
                let mut ri2 = vec![f64::NAN; n * st];
                assert!(inverse(&mut nan_padded(), &mut ri2, &mut perm, n));
                for k in (0..n * st).filter(|k| k % st < n) {
                    assert_eq!(ri2[k].to_bits(), ri[k].to_bits());
                }
            }
        }
        // singular
        let mut m = vec![0.0; 16];
        (m[0], m[1], m[8], m[9]) = (1.0, 2.0, 2.0, 4.0);
        let mut r = vec![0.0; 16];
        (r[0], r[9]) = (1.0, 1.0);
        let mut perm = vec![0; 2];
        assert!(!right_divide(&mut m.clone(), &mut r, &mut perm, 2));
        assert!(!inverse(&mut m, &mut r, &mut perm, 2));
        let mut m = vec![0.0; 16];
        assert!(!right_divide(&mut m.clone(), &mut r, &mut perm, 2));
        assert!(!inverse(&mut m, &mut r, &mut perm, 2));
    }

    /// The textbook right-looking elimination and substitutions, one entry at a time, in the
    /// layout of [`right_divide`].
    fn textbook(m: &mut [f64], r: &mut [f64], n: usize, s: usize) {
        for k in 0..n {
            let mut p = k;
            for i in k + 1..n {
                if m[i * s + k].abs() > m[p * s + k].abs() {
                    p = i;
                }
            }
            for j in 0..s {
                m.swap(k * s + j, p * s + j);
                r.swap(k * s + j, p * s + j);
            }
            let inv = 1.0 / m[k * s + k];
            for i in k + 1..n {
                let l = m[i * s + k] * inv;
                m[i * s + k] = l;
                for j in k + 1..n {
                    m[i * s + j] -= l * m[k * s + j];
                }
            }
        }
        for i in 1..n {
            for c in 0..n {
                for j in 0..i {
                    r[i * s + c] -= m[i * s + j] * r[j * s + c];
                }
            }
        }
        for i in (0..n).rev() {
            let inv = 1.0 / m[i * s + i];
            for c in 0..n {
                for j in i + 1..n {
                    r[i * s + c] -= m[i * s + j] * r[j * s + c];
                }
                r[i * s + c] *= inv;
            }
        }
    }

    #[test]
    fn the_panels_give_the_values_of_the_textbook_elimination() {
        // signed zeros among the entries (multipliers -0.0 below negative pivots) and in the
        // right-hand side, sizes with one to six panels
        for n in [3usize, 8, 9, 13, 17, 30, 41] {
            let st = r_stride(n);
            for seed in 0..4u32 {
                let entry = |i: usize, j: usize, salt: f64| -> f64 {
                    let x = ((i * 31 + j * 17) as f64 * 0.61 + f64::from(seed) * 1.7 + salt).sin();
                    match (i * 7 + j * 3 + seed as usize) % 11 {
                        0 => 0.0,
                        1 => -0.0,
                        _ => x,
                    }
                };
                let mut m: Vec<f64> = (0..n * st)
                    .map(|k| {
                        if k % st < n {
                            entry(k % st, k / st, 0.0)
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let mut r: Vec<f64> = (0..n * st)
                    .map(|k| {
                        if k % st < n {
                            entry(k / st, k % st, 0.3)
                        } else {
                            0.0
                        }
                    })
                    .collect();
                if seed == 3 {
                    // nearly -I with a right-hand side of -0.0: every multiplier is a signed
                    // zero, and later pivots are negative
                    for k in 0..n * st {
                        let (i, j) = (k % st, k / st);
                        m[k] = if i >= n {
                            0.0
                        } else if i == j {
                            -1.0
                        } else if (i * 5 + j) % 13 == 0 {
                            0.25
                        } else {
                            0.0
                        };
                        r[k] = if i >= n {
                            0.0
                        } else if k % 7 == 0 {
                            1.0
                        } else {
                            -0.0
                        };
                    }
                }
                let (mut m2, mut r2) = (m.clone(), r.clone());
                let ok = right_divide(&mut m, &mut r, &mut vec![0; n], n);
                assert!(ok, "n = {n}, seed {seed}");
                textbook(&mut m2, &mut r2, n, st);
                // the same values; the same bits except the sign of an exact zero
                for k in (0..n * st).filter(|k| k % st < n) {
                    assert_eq!(r[k], r2[k], "n = {n}, seed {seed}");
                    if r2[k] != 0.0 {
                        assert_eq!(r[k].to_bits(), r2[k].to_bits(), "n = {n}, seed {seed}");
                    }
                }
            }
        }
    }
}
