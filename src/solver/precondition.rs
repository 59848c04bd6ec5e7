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

use faer::prelude::*;
use faer::traits::pulp::{Arch, Simd, WithSimd};

/// Packed length of an `n x n` skew matrix.
pub(crate) fn packed_len(n: usize) -> usize {
    n * n.saturating_sub(1) / 2
}

/// The Gauss–Newton preconditioner of the objective with a given operator as `B`: the inverse
/// of `P + mu I`, `P = 2 ad_B^T ad_B` on skew matrices (the Hessian of the loss near a
/// conjugate pair, see `docs/solvers.md`), damped by `mu = 1e-4 max(diag P)`. Cached per
/// operator ([`crate::PreparedOperator::gauss_newton`]); [`GaussNewton::precondition`] applies
/// it to a tangent direction.
///
/// Stored explicitly in single precision and scaled by a power of two: applying it is a matrix
/// product (`SymMatVec`), which streams through half as many bytes as the two triangular
/// solves of a Cholesky factor in double precision, and is faster for one vector as for four
/// (`docs/solvers.md` has the timings). A preconditioner only shapes the step; the line search
/// and the curvature pairs stay in double precision. The rounding of the inverse (about the
/// condition number times `6e-8`, relative) changes the path a little: the run still converges
/// to a stationary point to the same tolerance, though on a nonconvex objective a different
/// path can end in a different local minimum. An inverse that single precision got badly wrong
/// (an entry beyond the largest possible one) is recomputed in double precision.
pub struct GaussNewton {
    /// the size of `B`
    n: usize,
    m: usize,
    /// `m` rounded up to a multiple of [`LANES`]: the rows of `inv` (the padding rows are zero)
    ld: usize,
    /// `(P + mu I)^-1 / scale`, symmetric, all of it, with `ld` rows (the padding rows are
    /// zero) stored in tiles of [`TILE_ROWS`] rows, each tile column-major (see [`at`])
    inv: Vec<f32>,
    /// the power of two by which `inv` was divided
    scale: f64,
}

/// The buffers of [`GaussNewton::apply`], reused between calls ([`GaussNewton::scratch`]
/// allocates them once, at full width): the vectors in single precision, `m` entries each,
/// and the products, `ld` entries each.
#[derive(Default)]
pub(crate) struct Scratch {
    x: Vec<f32>,
    y: Vec<f32>,
}

/// The largest `|x_i|` (0 for an empty or all-NaN `x`), in eight partial maxima: independent
/// chains instead of one, and the same value (a maximum does not round).
fn max_abs(x: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let chunks = x.chunks_exact(8);
    for (k, v) in chunks.remainder().iter().enumerate() {
        acc[k] = acc[k].max(v.abs());
    }
    for c in chunks {
        for k in 0..8 {
            acc[k] = acc[k].max(c[k].abs());
        }
    }
    acc.iter().fold(0.0f64, |a, &b| a.max(b))
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

/// `S = B^T B + B B^T`.
fn gram_sum(b: MatRef<'_, f64>) -> Mat<f64> {
    let n = b.nrows();
    let mut s = Mat::<f64>::zeros(n, n);
    crate::linalg::mm(s.as_mut(), b.transpose(), b, 1.0);
    crate::linalg::mm_add(s.as_mut(), b, b.transpose(), 1.0);
    s
}

/// The skew basis in packed order: `(p, q)`, `p < q`, column by column (index
/// `q (q - 1) / 2 + p`).
fn packed_indices(n: usize) -> impl Iterator<Item = (usize, usize)> {
    (1..n).flat_map(|q| (0..q).map(move |p| (p, q)))
}

/// `P_(ab),(cd)` (see the module documentation), with `s` from [`gram_sum`].
fn gn_entry(
    b: MatRef<'_, f64>,
    s: &Mat<f64>,
    (a, bb): (usize, usize),
    (c, d): (usize, usize),
) -> f64 {
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
}

/// The lower triangle of `(P + mu I) / pscale`, given entry by entry to `put(row, column,
/// value)`, column by column: for the column `(c, d)`, the rows `(a, bb)` with `bb > d`, and
/// `a >= c` where `bb = d`. Each entry is [`gn_entry`]'s expression in its order of operations
/// (the same bits), with the four products read from contiguous columns of `B` and `B^T`,
/// which is faster than forming it entry by entry through `gn_entry`.
fn fill_lower(
    b: MatRef<'_, f64>,
    s: &Mat<f64>,
    mu: f64,
    pscale: f64,
    put: &mut dyn FnMut(usize, usize, f64),
) {
    let n = b.nrows();
    let bo = b.to_owned();
    let bt = b.transpose().to_owned();
    for (jj, (c, d)) in packed_indices(n).enumerate() {
        let (btd, btc) = (bt.col_as_slice(d), bt.col_as_slice(c));
        let (bd, bc) = (bo.col_as_slice(d), bo.col_as_slice(c));
        let (sc, sd) = (s.col_as_slice(c), s.col_as_slice(d));
        for bb in d..n {
            let base = bb * (bb - 1) / 2;
            let (bcb, bdb, bbc, bbd) = (bo[(c, bb)], bo[(d, bb)], bo[(bb, c)], bo[(bb, d)]);
            for a in if bb == d { c..bb } else { 0..bb } {
                // B_da B_c,bb - B_ca B_d,bb + B_ad B_bb,c - B_ac B_bb,d
                let mut v = 2.0 * (btd[a] * bcb - btc[a] * bdb + bd[a] * bbc - bc[a] * bbd);
                if bb == d {
                    v += sc[a];
                }
                if a == c {
                    v += s[(bb, d)];
                }
                if bb == c {
                    v -= sd[a];
                }
                if a == d {
                    v -= s[(bb, c)];
                }
                let ii = base + a;
                put(ii, jj, (v + if ii == jj { mu } else { 0.0 }) / pscale);
            }
        }
    }
}

impl GaussNewton {
    /// Forms, factorizes and inverts the preconditioner for `B`; `None` if the factorization
    /// fails (the solver then runs without it).
    pub(crate) fn new(b: MatRef<'_, f64>) -> Option<Self> {
        let n = b.nrows();
        let m = packed_len(n);
        if m == 0 {
            return None;
        }
        let s = gram_sum(b);
        let max_diag = packed_indices(n)
            .map(|p| gn_entry(b, &s, p, p))
            .fold(0.0f64, f64::max);
        if !(max_diag > 0.0 && max_diag.is_finite()) {
            return None;
        }
        let mu = 1e-4 * max_diag;
        let pscale = pow2_floor(max_diag + mu);
        let fill = |put: &mut dyn FnMut(usize, usize, f64)| fill_lower(b, &s, mu, pscale, put);
        // In single precision, where the largest diagonal entry is about 1; in double precision
        // if that fails (the condition number can reach 1e4 m, beyond what single precision
        // resolves, though on DMD operators it is far less).
        // Every eigenvalue of the scaled matrix is at least mu / pscale, so no entry of its
        // inverse exceeds pscale / mu; one beyond twice that means single precision failed.
        let limit = 2.0 * pscale / mu;
        let mut lower32 = Mat::<f32>::zeros(m, m);
        fill(&mut |i, j, v| lower32[(i, j)] = v as f32);
        let single = crate::linalg::invert_spd(lower32).filter(|&(_, biggest)| biggest <= limit);
        let (inv, scale) = match single {
            Some((inv, biggest)) => (inv, pow2_floor(biggest)),
            None => {
                // entries at most 2e4 here (the smallest eigenvalue of the scaled matrix is at
                // least mu / pscale >= 5e-5): within the range of f32
                let mut lower64 = Mat::<f64>::zeros(m, m);
                fill(&mut |i, j, v| lower64[(i, j)] = v);
                let (inv, biggest) = crate::linalg::invert_spd(lower64)?;
                (
                    Mat::<f32>::from_fn(m, m, |i, j| inv[(i, j)] as f32),
                    pow2_floor(biggest),
                )
            }
        };
        // the whole symmetric matrix from its lower triangle, divided by `scale` (exact: a
        // power of two, far from the exponent limits of f32 after the scaling above), in tiles
        // of TILE_ROWS rows (see `at`)
        let inv_s = (1.0 / scale) as f32;
        let ld = m.next_multiple_of(LANES);
        let mut tiled = vec![0.0f32; ld * m];
        for j in 0..m {
            for i in j..m {
                let x = inv[(i, j)] * inv_s;
                tiled[at(ld, m, i, j)] = x;
                tiled[at(ld, m, j, i)] = x;
            }
        }
        Some(Self {
            n,
            m,
            ld,
            inv: tiled,
            scale: scale / pscale,
        })
    }

    /// The size `n` of the operator `B` it was formed for.
    #[must_use]
    pub fn size(&self) -> usize {
        self.n
    }

    /// `(P + mu I)^-1 X` for a skew `n x n` direction `X` (only its strictly upper triangle is
    /// read): the preconditioned direction, skew too, as the default solver computes it (in the
    /// packed basis `E_ab = (e_a e_b^T - e_b e_a^T) / sqrt(2)`, the product in single
    /// precision).
    ///
    /// # Errors
    /// [`crate::DsaError::ShapeMismatch`] if `x` is not `n x n`; [`crate::DsaError::NonFinite`]
    /// for a NaN or infinite entry.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let b = dsa::PreparedOperator::new(faer::mat![[0.9, 0.2, 0.0], [0.0, 0.5, 0.3], [0.1, 0.0, 0.2]].as_ref())?;
    /// let pc = b.gauss_newton().expect("formed");
    /// let x = faer::mat![[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 0.0]];
    /// let y = pc.precondition(x.as_ref())?;
    /// // a descent direction stays one: <X, P^-1 X> > 0
    /// assert!((0..3).flat_map(|i| (0..3).map(move |j| (i, j))).map(|(i, j)| x[(i, j)] * y[(i, j)]).sum::<f64>() > 0.0);
    /// # Ok(()) }
    /// ```
    pub fn precondition(&self, x: MatRef<'_, f64>) -> crate::Result<Mat<f64>> {
        let n = self.n;
        if x.nrows() != n || x.ncols() != n {
            return Err(crate::DsaError::ShapeMismatch {
                what: format!(
                    "the direction must be {n} x {n} like the operator, got {} x {}",
                    x.nrows(),
                    x.ncols()
                ),
            });
        }
        crate::solver::problem::check_operator_entries(x, "direction")?;
        let mut v = Vec::with_capacity(self.m);
        for q in 1..n {
            for p in 0..q {
                v.push(std::f64::consts::SQRT_2 * x[(p, q)]);
            }
        }
        self.apply([v.as_mut_slice()], &mut self.scratch());
        let h = std::f64::consts::FRAC_1_SQRT_2;
        let mut y = Mat::zeros(n, n);
        let mut k = 0;
        for q in 1..n {
            for p in 0..q {
                y[(p, q)] = h * v[k];
                y[(q, p)] = -h * v[k];
                k += 1;
            }
        }
        Ok(y)
    }

    /// Buffers for [`GaussNewton::apply`].
    pub(crate) fn scratch(&self) -> Scratch {
        Scratch {
            x: vec![0.0; self.m * WIDTH],
            y: vec![0.0; self.ld * WIDTH],
        }
    }

    /// `v <- (P + mu I)^-1 v` for every `v` in `vs`, up to four at a time (one pass over the
    /// matrix for all of them); each vector gets the same bits alone or with others. Each
    /// vector is scaled by a power of two before it is rounded to single precision, so that
    /// no entry overflows or underflows.
    pub(crate) fn apply<'v>(
        &self,
        vs: impl IntoIterator<Item = &'v mut [f64]>,
        scratch: &mut Scratch,
    ) {
        let (m, ld) = (self.m, self.ld);
        let mut vs = vs.into_iter().peekable();
        while vs.peek().is_some() {
            // the next group of up to WIDTH vectors, without allocating
            let mut group: [Option<&mut [f64]>; WIDTH] = Default::default();
            for slot in group.iter_mut() {
                *slot = vs.next();
            }
            let width = group.iter().filter(|v| v.is_some()).count();
            if scratch.x.len() != m * WIDTH || scratch.y.len() != ld * WIDTH {
                *scratch = self.scratch();
            }
            let mut scales = [1.0f64; WIDTH];
            for (r, v) in group.iter().enumerate().take(width) {
                if let Some(v) = v {
                    let big = max_abs(v);
                    scales[r] = pow2_floor(big);
                    let inv_s = 1.0 / scales[r];
                    for (x, &y) in scratch.x[r * m..(r + 1) * m].iter_mut().zip(v.iter()) {
                        *x = (y * inv_s) as f32;
                    }
                }
            }
            Arch::new().dispatch(SymMatVec {
                a: &self.inv,
                ld,
                m,
                x: &scratch.x,
                y: &mut scratch.y,
                width,
            });
            for (r, v) in group.iter_mut().enumerate().take(width) {
                if let Some(v) = v {
                    let (s, t) = (scales[r], self.scale);
                    let y = &scratch.y[r * ld..r * ld + m];
                    for (x, &y) in v.iter_mut().zip(y) {
                        *x = (y as f64 * s) * t;
                    }
                }
            }
        }
    }
}

/// Rows of a vector register of single-precision lanes with AVX2; the columns of
/// [`GaussNewton::inv`] are padded to a multiple of it.
const LANES: usize = 8;

/// Vector registers of rows in a tile of [`GaussNewton::inv`], and its rows (the last tile
/// may have fewer, a multiple of [`LANES`]).
const TILE: usize = 3;
const TILE_ROWS: usize = TILE * LANES;

/// Where entry `(i, j)` of the `ld x m` matrix is in its tiled storage: the rows come in tiles
/// of [`TILE_ROWS`] (the last one shorter), one after the other; a tile's `h` rows are stored
/// column by column, `h` entries per column. A product then reads the matrix in the order it is
/// stored, a tile's columns one after the other, which measured faster for one to four vectors
/// than plain columns of stride `ld` with a block of rows read across all of them
/// (`docs/solvers.md`).
fn at(ld: usize, m: usize, i: usize, j: usize) -> usize {
    let t0 = i - i % TILE_ROWS;
    let h = TILE_ROWS.min(ld - t0);
    t0 * m + j * h + (i - t0)
}

/// `y_r = A x_r` for up to four vectors `x_r` (`m` entries each) and the symmetric `A` (`ld`
/// rows, zero padded, `m` columns, tiled as [`at`] says): entry `i` of `y_r` is
/// `sum_j A_ij x_rj` accumulated by fused multiply-adds in order of `j`, so each vector gets
/// the same bits whichever path computes it: a tile's rows held in vector registers (AVX2), the
/// portable loop (`f32::mul_add` is the same correctly rounded operation), alone or with other
/// vectors. A tile is read once for all the vectors, as in a matrix product's kernel.
///
/// Unlike the crate's double-precision loops this one fuses (on every path, so the bits still
/// do not depend on the instruction set): the preconditioner only shapes the step, and fusing
/// halves the arithmetic instructions.
struct SymMatVec<'a> {
    a: &'a [f32],
    ld: usize,
    m: usize,
    x: &'a [f32],
    y: &'a mut [f32],
    width: usize,
}

impl WithSimd for SymMatVec<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> Self::Output {
        if S::F32_LANES == LANES {
            // one vector: two tiles at a time, for six independent chains of fused
            // multiply-adds instead of three
            match self.width {
                1 => self.tiles::<S, 1, 2>(simd),
                2 => self.tiles::<S, 2, 1>(simd),
                3 => self.tiles::<S, 3, 1>(simd),
                _ => self.tiles::<S, 4, 1>(simd),
            }
        } else {
            self.portable();
        }
    }
}

impl SymMatVec<'_> {
    /// The reference loop (any instruction set).
    #[inline(always)]
    fn portable(self) {
        let (ld, m) = (self.ld, self.m);
        for r in 0..self.width {
            let x = &self.x[r * m..(r + 1) * m];
            let y = &mut self.y[r * ld..(r + 1) * ld];
            y.fill(0.0);
            for t0 in (0..ld).step_by(TILE_ROWS) {
                let h = TILE_ROWS.min(ld - t0);
                let tile = &self.a[t0 * m..(t0 + h) * m];
                for (j, &xj) in x.iter().enumerate() {
                    for (y, &a) in y[t0..t0 + h].iter_mut().zip(&tile[j * h..(j + 1) * h]) {
                        *y = a.mul_add(xj, *y);
                    }
                }
            }
        }
    }

    /// `V` vectors, `G` tiles at a time (then one): their [`TILE`] registers of rows held for
    /// all columns (one register at a time in a shorter last tile).
    #[inline(always)]
    fn tiles<S: Simd, const V: usize, const G: usize>(self, simd: S) {
        let (ld, m) = (self.ld, self.m);
        let a = S::as_simd_f32s(self.a).0;
        let regs = ld / LANES;
        let x: [&[f32]; V] = std::array::from_fn(|r| &self.x[r * m..(r + 1) * m]);
        let y = S::as_mut_simd_f32s(&mut self.y[..V * ld]).0;
        let mut t = 0;
        while G > 1 && t + G * TILE <= regs {
            full_tiles::<S, V, G>(simd, a, &x, y, regs, m, t);
            t += G * TILE;
        }
        while t + TILE <= regs {
            full_tiles::<S, V, 1>(simd, a, &x, y, regs, m, t);
            t += TILE;
        }
        // a shorter last tile, one register of its rows at a time
        let h = regs - t;
        let tile = &a[t * m..];
        for q in 0..h {
            let mut acc = [simd.splat_f32s(0.0); V];
            for j in 0..m {
                let col = tile[j * h + q];
                for r in 0..V {
                    acc[r] = simd.mul_add_f32s(col, simd.splat_f32s(x[r][j]), acc[r]);
                }
            }
            for (r, acc) in acc.iter().enumerate() {
                y[r * regs + t + q] = *acc;
            }
        }
    }
}

/// `y_r += A x_r` on the rows of the `G` full tiles from register row `t` (see
/// [`SymMatVec`]): their registers of rows held for all columns.
#[inline(always)]
fn full_tiles<S: Simd, const V: usize, const G: usize>(
    simd: S,
    a: &[S::f32s],
    x: &[&[f32]; V],
    y: &mut [S::f32s],
    regs: usize,
    m: usize,
    t: usize,
) {
    let zero = simd.splat_f32s(0.0);
    let tiles: [&[S::f32s]; G] =
        std::array::from_fn(|g| &a[(t + g * TILE) * m..(t + (g + 1) * TILE) * m]);
    let mut acc = [[[zero; TILE]; G]; V];
    for j in 0..m {
        // one broadcast register at a time: with four vectors the accumulators take twelve
        // of the sixteen registers, and four broadcasts held at once make the product spill
        for r in 0..V {
            let b = simd.splat_f32s(x[r][j]);
            for (g, tile) in tiles.iter().enumerate() {
                let col = &tile[j * TILE..(j + 1) * TILE];
                for q in 0..TILE {
                    acc[r][g][q] = simd.mul_add_f32s(col[q], b, acc[r][g][q]);
                }
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        for (g, acc) in acc.iter().enumerate() {
            let k = r * regs + t + g * TILE;
            y[k..k + TILE].copy_from_slice(acc);
        }
    }
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
        // m = 15 (one short tile), m = 36 (a full tile and a short one), m = 66 (two full
        // tiles read together by a lone vector, then a third)
        for n in [6, 9, 12] {
            inverts_at(n);
        }
    }

    fn inverts_at(n: usize) {
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
        // a lone vector gets the bits it gets in a batch
        let mut alone = v.clone();
        pc.apply([alone.as_mut_slice()], &mut Scratch::default());
        for (x, y) in alone.iter().zip(&w) {
            assert_eq!(x.to_bits(), y.to_bits());
        }
        let wmax = w.iter().fold(0.0f64, |a, x| a.max(x.abs()));
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
        // number (up to 1.6e-3 at n = 9), far below the O(1) error of a wrong formula or of an
        // entry stored in the wrong place
        for (x, y) in back.iter().zip(&v) {
            assert!((x - y).abs() < 5e-3, "n = {n}: {x} vs {y}");
        }
    }

    /// Every vector gets the same bits whichever path computes it: alone or in a group of any
    /// width (a short tile only at `n = 6`, a full tile and a shorter one at `n = 9`, three
    /// full tiles at `n = 12`, eighteen and a shorter one at `n = 30`; a lone vector reads
    /// full tiles two at a time), and in the
    /// portable loop.
    #[test]
    fn every_vector_gets_the_same_bits_on_every_path() {
        for n in [6usize, 9, 12, 30] {
            let b = Mat::from_fn(n, n, |i, j| {
                ((i * 7 + j * 3) as f64 * 0.37).sin() / n as f64
            });
            let pc = GaussNewton::new(b.as_ref()).unwrap();
            let m = packed_len(n);
            let vs: Vec<Vec<f64>> = (0..6)
                .map(|r| {
                    (0..m)
                        .map(|k| ((k * (r + 2)) as f64 * 0.61).cos())
                        .collect()
                })
                .collect();
            let alone: Vec<Vec<f64>> = vs
                .iter()
                .map(|v| {
                    let mut v = v.clone();
                    pc.apply([v.as_mut_slice()], &mut Scratch::default());
                    v
                })
                .collect();
            for width in 2..=6 {
                let mut group: Vec<Vec<f64>> = vs[..width].to_vec();
                let mut scratch = pc.scratch();
                pc.apply(group.iter_mut().map(|v| v.as_mut_slice()), &mut scratch);
                for (g, a) in group.iter().zip(&alone) {
                    assert!(
                        g.iter().zip(a).all(|(x, y)| x.to_bits() == y.to_bits()),
                        "n = {n}, width {width}"
                    );
                }
            }
            // the portable loop, on the single-precision vectors `apply` forms
            let mut x = vec![0.0f32; m * WIDTH];
            for (r, v) in vs.iter().take(WIDTH).enumerate() {
                let s = 1.0 / pow2_floor(v.iter().fold(0.0f64, |a, x| a.max(x.abs())));
                for (x, &y) in x[r * m..(r + 1) * m].iter_mut().zip(v) {
                    *x = (y * s) as f32;
                }
            }
            let mut y_simd = vec![0.0f32; pc.ld * WIDTH];
            let mut y_portable = vec![0.0f32; pc.ld * WIDTH];
            let op = |y| SymMatVec {
                a: &pc.inv,
                ld: pc.ld,
                m,
                x: &x,
                y,
                width: WIDTH,
            };
            Arch::new().dispatch(op(&mut y_simd));
            op(&mut y_portable).portable();
            for r in 0..WIDTH {
                for i in 0..m {
                    let (p, q) = (y_simd[r * pc.ld + i], y_portable[r * pc.ld + i]);
                    assert_eq!(p.to_bits(), q.to_bits(), "n = {n}, vector {r}, entry {i}");
                }
            }
        }
    }

    /// The column-by-column fill gives `gn_entry`'s values bit for bit, on the lower triangle
    /// and only there, each once.
    #[test]
    fn the_fill_gives_the_entries_bit_for_bit() {
        for n in [2usize, 3, 7, 12] {
            let b = Mat::from_fn(n, n, |i, j| ((i * 13 + j * 7) as f64 * 0.29).sin() - 0.1);
            let s = gram_sum(b.as_ref());
            let m = packed_len(n);
            let idx: Vec<(usize, usize)> = packed_indices(n).collect();
            let (mu, pscale) = (0.0123, 4.0);
            let mut got = Mat::<f64>::from_fn(m, m, |_, _| f64::NAN);
            let mut count = 0;
            fill_lower(b.as_ref(), &s, mu, pscale, &mut |i, j, v| {
                assert!(got[(i, j)].is_nan(), "({i}, {j}) twice");
                got[(i, j)] = v;
                count += 1;
            });
            assert_eq!(count, m * (m + 1) / 2, "n = {n}");
            for j in 0..m {
                for i in j..m {
                    let want = (gn_entry(b.as_ref(), &s, idx[i], idx[j])
                        + if i == j { mu } else { 0.0 })
                        / pscale;
                    assert_eq!(got[(i, j)].to_bits(), want.to_bits(), "n = {n}, ({i}, {j})");
                }
            }
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
        let (i64_, big) = crate::linalg::invert_spd(p.clone()).unwrap();
        check(&|i, j| i64_[(i, j)], 1e-12);
        assert!(big > 0.0);
        let p32 = Mat::<f32>::from_fn(m, m, |i, j| p[(i, j)] as f32);
        let (i32_, _) = crate::linalg::invert_spd(p32).unwrap();
        check(&|i, j| i32_[(i, j)] as f64, 1e-4);
        // not positive definite: no inverse
        let mut q = p.clone();
        q[(2, 2)] = -1.0;
        assert!(crate::linalg::invert_spd(q).is_none());
    }
}
