//! What the resampling methods share: each side embedded once, its resampling units, the
//! refit of a resampled dataset from its units' rows (or their Gram matrices), the seeded
//! random draws, and the parallel, cancellable run of the resamples.
//!
//! **Reuse.** A resampled dataset is a list of row ranges ([`Piece`]s) of the side's one
//! embedding: the delay embedding of a trial, or of a block of a trajectory, is a contiguous
//! run of rows of the trial's own embedding, and a set of trials is embedded as the stack of
//! its trials' rows. Nothing is re-embedded. Under [`Refit::Gram`] each unit's three Gram
//! matrices are also formed once, and a resample's are their sums.

use std::sync::atomic::{AtomicUsize, Ordering};

use faer::{Mat, MatRef};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use super::settings::{Refit, Unit};
use crate::compare::Dsa;
use crate::data::Dataset;
use crate::embedding::{DelayEmbedding, Embedded, Embedding};
use crate::error::{DsaError, Result};
use crate::linalg;
use crate::operator::{decompose, fit_decomposed, DmdValidParams, RankRule, Regression};

/// Gram path: a dataset is fitted from its Gram matrix only when every retained eigenvalue is
/// at least this share of the largest (singular values at least `1e-3` of the largest). The
/// eigendecomposition of `G = H^T H` resolves `lambda_j` to about `eps * lambda_1`, so the
/// retained coordinates carry a relative error of at most about `eps * 1e6 ~ 2e-10`; below
/// it the exact path (a QR of `H`, accurate to `eps * s_1 / s_j`) takes over.
const GRAM_MIN_EIGEN_RATIO: f64 = 1e-6;

/// Gram path: memory for the units' Gram matrices of one call (three `p x p` matrices per
/// unit); beyond it the call takes the exact path.
const GRAM_BYTES: usize = 1 << 30;

/// Gram path: the data's largest magnitude must lie in this range, so that sums of squares
/// neither overflow nor underflow (the exact path scales the data before its SVD instead).
const GRAM_RANGE: (f64, f64) = (1e-100, 1e100);

/// A run of consecutive embedded rows of one trial: part of a dataset to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Piece {
    /// First row, in the side's stacked embedding.
    pub start: usize,
    /// Number of rows (always more than `steps_ahead`).
    pub rows: usize,
    /// The resampling unit this piece is, if it is one (its Gram matrices are cached).
    pub unit: Option<usize>,
}

/// The three Gram matrices of a run of rows `H` (`p x p` each): `H^T H`, `H-^T H-` and
/// `H-^T H+` with `H-` the rows but the last `s`, `H+` the rows but the first `s`.
struct Grams {
    g: Mat<f64>,
    m: Mat<f64>,
    c: Mat<f64>,
}

/// One side's data, embedded once with its DMD parameters, and its resampling units.
pub(crate) struct Source {
    pub params: DmdValidParams,
    /// All trials' embedded rows, stacked (`R x p`).
    h: Mat<f64>,
    n_channels: usize,
    /// Each trial's whole rows, in trial order (what `Dsa::distance` fits).
    pub trials: Vec<Piece>,
    /// Time points of each trial.
    pub trial_lens: Vec<usize>,
    /// The resampling units: whole trials, or non-overlapping blocks.
    pub units: Vec<Piece>,
    /// Per-unit Gram matrices under the Gram path.
    grams: Option<Vec<Grams>>,
}

/// The default block length for trajectories of at least `t_min` points, an embedding window
/// `(n_delays - 1) * delay_interval` and a shift `steps_ahead` (see
/// [`crate::stats::default_block_len`]).
pub(crate) fn default_block_len(t_min: usize, window: usize, steps_ahead: usize) -> usize {
    let lost = window.saturating_add(steps_ahead);
    lost.saturating_mul(10).max(cube_root_ceil(t_min))
}

/// `ceil(t^(1/3))`, exactly.
fn cube_root_ceil(t: usize) -> usize {
    let mut k = (t as f64).cbrt().round() as usize;
    while k.saturating_mul(k).saturating_mul(k) < t {
        k += 1;
    }
    while k > 0 && (k - 1) * (k - 1) * (k - 1) >= t {
        k -= 1;
    }
    k
}

/// Cut `t` time points into `floor(t / len)` blocks of nearly equal lengths (each at least
/// `len`): the block lengths, in order.
pub(crate) fn block_lengths(t: usize, len: usize) -> Vec<usize> {
    let b = t / len;
    if b == 0 {
        return Vec::new();
    }
    let (base, extra) = (t / b, t % b);
    (0..b).map(|i| base + usize::from(i < extra)).collect()
}

impl Source {
    /// Embed `data` once with `params`; units are its trials (`block_len = None`) or its
    /// blocks. `name` names the side in errors.
    pub(crate) fn new(
        data: &Dataset,
        params: DmdValidParams,
        block_len: Option<usize>,
        name: &str,
    ) -> Result<Self> {
        let emb = DelayEmbedding::new(params.n_delays, params.delay_interval)?
            .with_steps_ahead(params.steps_ahead)
            .embed(data)
            .map_err(|e| e.in_dataset(Some(name.to_string())))?;
        let window = (params.n_delays - 1) * params.delay_interval;
        let trial_lens = data.trial_lens();
        let mut trials = Vec::with_capacity(trial_lens.len());
        let mut start = 0;
        for (k, &rows) in emb.trial_rows().iter().enumerate() {
            trials.push(Piece {
                start,
                rows,
                // whole trials are the units, unless blocks are
                unit: block_len.is_none().then_some(k),
            });
            start += rows;
        }
        let units = match block_len {
            None => trials.clone(),
            Some(len) => {
                let mut units = Vec::new();
                for (t, &t_len) in trials.iter().zip(&trial_lens) {
                    let mut a = 0;
                    for b_len in block_lengths(t_len, len) {
                        units.push(Piece {
                            start: t.start + a,
                            rows: b_len - window,
                            unit: Some(units.len()),
                        });
                        a += b_len;
                    }
                }
                units
            }
        };
        Ok(Self {
            params,
            h: emb.h,
            n_channels: data.n_channels(),
            trials,
            trial_lens,
            units,
            grams: None,
        })
    }

    /// Both sides' units, `a`'s first, as one source (the permutation test's pool); the
    /// parameters must be equal.
    pub(crate) fn pooled(a: &Source, b: &Source) -> Self {
        let offset = a.h.nrows();
        let h = Mat::from_fn(offset + b.h.nrows(), a.h.ncols(), |i, j| {
            if i < offset {
                a.h[(i, j)]
            } else {
                b.h[(i - offset, j)]
            }
        });
        let shift = |p: &Piece, units_before: usize| Piece {
            start: p.start + offset,
            rows: p.rows,
            unit: p.unit.map(|u| u + units_before),
        };
        let mut units = a.units.clone();
        units.extend(b.units.iter().map(|p| shift(p, a.units.len())));
        let mut trials = a.trials.clone();
        trials.extend(b.trials.iter().map(|p| shift(p, a.units.len())));
        let mut trial_lens = a.trial_lens.clone();
        trial_lens.extend(&b.trial_lens);
        Self {
            params: a.params.clone(),
            h,
            n_channels: a.n_channels,
            trials,
            trial_lens,
            units,
            grams: None,
        }
    }

    /// Width `p = N d` of the embedding.
    fn width(&self) -> usize {
        self.h.ncols()
    }

    /// Whether the Gram path applies to this source at all.
    fn gram_applies(&self) -> bool {
        let max = self.h.norm_max();
        self.params.regression == Regression::PrincipalComponents
            && max >= GRAM_RANGE.0
            && max <= GRAM_RANGE.1
    }

    /// Bytes of this source's unit Gram matrices.
    fn gram_bytes(&self) -> usize {
        let p = self.width();
        p.saturating_mul(p)
            .saturating_mul(3 * std::mem::size_of::<f64>())
            .saturating_mul(self.units.len())
    }

    /// The three Gram matrices of a piece, formed from its rows.
    fn piece_grams(&self, piece: &Piece) -> Grams {
        let s = self.params.steps_ahead;
        let rows = self.h.as_ref().subrows(piece.start, piece.rows);
        let p = self.width();
        let mut g = Mat::zeros(p, p);
        linalg::mm(g.as_mut(), rows.transpose(), rows, 1.0);
        let mut m = g.clone();
        let tail = rows.subrows(piece.rows - s, s);
        linalg::mm_add(m.as_mut(), tail.transpose(), tail, -1.0);
        let mut c = Mat::zeros(p, p);
        let minus = rows.subrows(0, piece.rows - s);
        let plus = rows.subrows(s, piece.rows - s);
        linalg::mm(c.as_mut(), minus.transpose(), plus, 1.0);
        Grams { g, m, c }
    }
}

/// Fits a resampled dataset by the call's refit path and counts the fits.
pub(crate) struct Fitter {
    refit: Refit,
    fits: AtomicUsize,
    exact_fits: AtomicUsize,
}

impl Fitter {
    /// Choose the call's path: `requested`, unless Gram matrices do not apply to one of the
    /// sources (then [`Refit::Exact`]); under the Gram path, form every unit's Gram matrices
    /// (in parallel, on `dsa`'s pool).
    pub(crate) fn prepare(dsa: &Dsa, requested: Refit, sources: &mut [&mut Source]) -> Self {
        let bytes = sources
            .iter()
            .fold(0usize, |acc, s| acc.saturating_add(s.gram_bytes()));
        let refit = if requested == Refit::Gram
            && bytes <= GRAM_BYTES
            && sources.iter().all(|s| s.gram_applies())
        {
            Refit::Gram
        } else {
            Refit::Exact
        };
        if refit == Refit::Gram {
            for s in sources.iter_mut() {
                let src: &Source = s;
                let grams = dsa.run_in_pool(|| {
                    src.units
                        .par_iter()
                        .map(|u| src.piece_grams(u))
                        .collect::<Vec<_>>()
                });
                s.grams = Some(grams);
            }
        }
        Self {
            refit,
            fits: AtomicUsize::new(0),
            exact_fits: AtomicUsize::new(0),
        }
    }

    /// The path in force.
    pub(crate) fn refit(&self) -> Refit {
        self.refit
    }

    /// Fits so far, and of those, exact fits under the Gram path.
    pub(crate) fn counts(&self) -> (usize, usize) {
        (
            self.fits.load(Ordering::Acquire),
            self.exact_fits.load(Ordering::Acquire),
        )
    }

    /// The operator of the dataset made of `pieces` (rows of `src`), in order.
    pub(crate) fn fit(&self, src: &Source, pieces: &[Piece]) -> Result<Mat<f64>> {
        self.fits.fetch_add(1, Ordering::AcqRel);
        if self.refit == Refit::Gram {
            if let Some(a) = fit_gram(src, pieces)? {
                return Ok(a);
            }
            self.exact_fits.fetch_add(1, Ordering::AcqRel);
        }
        fit_exact(src, pieces)
    }
}

/// The exact path: stack the pieces' rows into an embedding and run the crate's fit
/// (`decompose`, then `fit_decomposed`), as [`Dsa::fit`] does on the trials themselves.
fn fit_exact(src: &Source, pieces: &[Piece]) -> Result<Mat<f64>> {
    let rows: usize = pieces.iter().map(|p| p.rows).sum();
    let p = src.width();
    let mut h = Mat::zeros(rows, p);
    let mut r0 = 0;
    for piece in pieces {
        h.as_mut()
            .submatrix_mut(r0, 0, piece.rows, p)
            .copy_from(src.h.as_ref().subrows(piece.start, piece.rows));
        r0 += piece.rows;
    }
    let emb = Embedded {
        h,
        trial_rows: pieces.iter().map(|p| p.rows).collect(),
        n_channels: src.n_channels,
        n_delays: src.params.n_delays,
        delay_interval: src.params.delay_interval,
    };
    let dec = decompose(&emb)?;
    Ok(fit_decomposed(&src.params, &emb, dec)?.a)
}

/// The Gram path (principal-component regression): from `G = sum H_k^T H_k` its eigenvalues
/// `s_j^2` and eigenvectors (the spec's `U`), the rank as the exact fit chooses it, then with
/// `W = U_r S_r^-1` the regression `B = (W^T M W + lambda I)^-1 W^T C W`, `A = B^T` (the same
/// normal equations as the exact fit's `V-^T V-` and `V-^T V+`, since `V = H W`).
///
/// `Ok(None)`: this dataset is too ill-conditioned for its Gram matrix (a retained
/// eigenvalue below [`GRAM_MIN_EIGEN_RATIO`] of the largest, or normal equations that
/// Cholesky rejects by the exact fit's criterion): fit it exactly.
fn fit_gram(src: &Source, pieces: &[Piece]) -> Result<Option<Mat<f64>>> {
    let Some(cache) = &src.grams else {
        return Ok(None);
    };
    let p = src.width();
    let params = &src.params;
    let mut g = Mat::<f64>::zeros(p, p);
    let mut m = Mat::<f64>::zeros(p, p);
    let mut c = Mat::<f64>::zeros(p, p);
    let mut rows = 0;
    for piece in pieces {
        rows += piece.rows;
        let owned;
        let grams = match piece.unit.and_then(|u| cache.get(u)) {
            Some(grams) => grams,
            None => {
                owned = src.piece_grams(piece);
                &owned
            }
        };
        add(g.as_mut(), grams.g.as_ref());
        add(m.as_mut(), grams.m.as_ref());
        add(c.as_mut(), grams.c.as_ref());
    }
    let (values, vectors) = linalg::sym_eigen(g.as_ref())?;
    // descending; as many as the exact fit's SVD has (p = min(R, N d))
    let avail = rows.min(p);
    let lambda: Vec<f64> = values.iter().rev().take(avail).copied().collect();
    let Some(&l1) = lambda.first() else {
        return Ok(None);
    };
    if !(l1 > 0.0 && l1.is_finite()) {
        return Ok(None);
    }
    let s: Vec<f64> = lambda.iter().map(|l| l.max(0.0).sqrt()).collect();
    let requested = match params.rank_rule {
        RankRule::Fixed(r) => r,
        rule => rule.select(&s, (rows, p)),
    };
    let used = requested.min(avail);
    let reliable = lambda
        .iter()
        .take_while(|&&l| l >= GRAM_MIN_EIGEN_RATIO * l1)
        .count();
    if used > reliable || used == 0 {
        return Ok(None);
    }
    // W = U_r S_r^-1, column j from the eigenvector of the j-th largest eigenvalue
    let w = Mat::from_fn(p, used, |i, j| vectors[(i, p - 1 - j)] / s[j]);
    let xtx = sandwich(w.as_ref(), m.as_ref());
    let mut rhs = sandwich(w.as_ref(), c.as_ref());
    let mut l = xtx.clone();
    for i in 0..used {
        l[(i, i)] += params.lambda;
    }
    let gmax = (0..used).map(|i| l[(i, i)]).fold(0.0f64, f64::max);
    let ok = linalg::cholesky_in_place(l.as_mut());
    let minpiv = (0..used)
        .map(|i| l[(i, i)] * l[(i, i)])
        .fold(f64::INFINITY, f64::min);
    // the exact fit's criterion for its Cholesky solve; otherwise it takes a pseudo-inverse
    if !(ok && minpiv > 1e-10 * gmax) {
        return Ok(None);
    }
    linalg::cholesky_solve_in_place(l.as_ref(), rhs.as_mut());
    let a = rhs.transpose().to_owned();
    if a.as_ref()
        .col_iter()
        .any(|col| col.iter().any(|v| !v.is_finite()))
    {
        return Ok(None);
    }
    Ok(Some(a))
}

/// `dst += src`.
fn add(mut dst: faer::MatMut<'_, f64>, src: MatRef<'_, f64>) {
    for j in 0..dst.ncols() {
        for i in 0..dst.nrows() {
            dst[(i, j)] += src[(i, j)];
        }
    }
}

/// `W^T X W`.
fn sandwich(w: MatRef<'_, f64>, x: MatRef<'_, f64>) -> Mat<f64> {
    let xw = linalg::mul(x, w);
    linalg::mul(w.transpose(), xw.as_ref())
}

/// Which random draws a generator serves: the same resample index gives independent draws
/// for different methods.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    Permutation = 1,
    Bootstrap = 2,
    Ceiling = 3,
}

/// SplitMix64's finalizer: a bijective mix of 64 bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The generator of resample `index` of a method: a function of `(seed, stream, index)`
/// only, so that draws do not depend on which thread runs the resample, or when.
pub(crate) fn rng(seed: u64, stream: Stream, index: usize) -> StdRng {
    let key = mix(mix(seed ^ mix(stream as u64)).wrapping_add(index as u64));
    StdRng::seed_from_u64(key)
}

/// A uniformly random permutation of `0..n` (Fisher–Yates).
pub(crate) fn permutation(rng: &mut StdRng, n: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
    v
}

/// `k` draws from `0..n` with replacement, sorted.
pub(crate) fn with_replacement(rng: &mut StdRng, n: usize, k: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..k).map(|_| rng.random_range(0..n)).collect();
    v.sort_unstable();
    v
}

/// A circular block bootstrap resample of `src` (Politis & Romano 1992): blocks of `len`
/// time points (the last one cut so that the total is the side's number of time points)
/// starting at uniformly random time points of the side, wrapping around the end of their
/// trial. A wrapped block is two pieces (its trial's end, then its start), never joined: no
/// regression pair crosses the wrap. A piece too short to give a regression pair (at most
/// window + steps_ahead points) is dropped.
pub(crate) fn circular_blocks(rng: &mut StdRng, src: &Source, len: usize) -> Vec<Piece> {
    let total: usize = src.trial_lens.iter().sum();
    let window = (src.params.n_delays - 1) * src.params.delay_interval;
    let lost = window + src.params.steps_ahead;
    let mut pieces = Vec::new();
    let mut remaining = total;
    while remaining > 0 {
        let l = len.min(remaining);
        remaining -= l;
        let mut u = rng.random_range(0..total);
        let mut k = 0;
        while u >= src.trial_lens[k] {
            u -= src.trial_lens[k];
            k += 1;
        }
        let t_k = src.trial_lens[k];
        let end = u + l;
        let segments = if end <= t_k {
            [(u, end), (0, 0)]
        } else {
            [(u, t_k), (0, end - t_k)]
        };
        for (a, b) in segments {
            if b > a + lost {
                pieces.push(Piece {
                    start: src.trials[k].start + a,
                    rows: b - a - window,
                    unit: None,
                });
            }
        }
    }
    pieces
}

/// The pieces of units `idx` (in the given order).
pub(crate) fn unit_pieces(src: &Source, idx: &[usize]) -> Vec<Piece> {
    idx.iter().map(|&u| src.units[u]).collect()
}

/// Validate both sides' trials; errors name the side.
pub(crate) fn datasets(x: &[Mat<f64>], y: &[Mat<f64>]) -> Result<(Dataset, Dataset)> {
    let dx = Dataset::from_trials(x.to_vec()).map_err(|e| e.in_dataset(Some("x".into())))?;
    let dy = Dataset::from_trials(y.to_vec()).map_err(|e| e.in_dataset(Some("y".into())))?;
    Ok((dx, dy))
}

/// The resolved unit of a call: `None` for trials, `Some(L)` for blocks of `L` points.
///
/// `Unit::Auto` picks trials when both sides have at least 2, blocks when both have exactly
/// one. A default block length follows [`default_block_len`] from the shortest trial of
/// both sides and the larger window plus shift of the two sides.
pub(crate) fn resolve_unit(
    unit: Unit,
    x: &Dataset,
    y: &Dataset,
    params: &[DmdValidParams; 2],
) -> Result<Option<usize>> {
    let (kx, ky) = (x.n_trials(), y.n_trials());
    let blocks = match unit {
        Unit::Trials => None,
        Unit::Blocks(len) => Some(len),
        Unit::Auto => match (kx, ky) {
            (1, 1) => Some(None),
            (a, b) if a >= 2 && b >= 2 => None,
            _ => {
                return Err(DsaError::TooFewUnits {
                    what: format!(
                        "x has {kx} trial(s) and y has {ky}: resampling trials needs at least 2 \
                         on each side, and resampling blocks of one trajectory (the automatic \
                         choice) needs one trajectory on each side; choose Unit::Blocks to cut \
                         every trial into blocks, or give more trials"
                    ),
                })
            }
        },
    };
    let Some(len) = blocks else {
        for (name, k) in [("x", kx), ("y", ky)] {
            if k < 2 {
                return Err(DsaError::TooFewUnits {
                    what: format!(
                        "{name} has {k} trial; resampling trials needs at least 2 on each side \
                         (for one long trajectory, resample blocks of it: Unit::Blocks)"
                    ),
                });
            }
        }
        return Ok(None);
    };
    // the larger window and shift of the two sides
    let window = params
        .iter()
        .map(|p| (p.n_delays - 1) * p.delay_interval)
        .max()
        .unwrap_or(0);
    let steps = params.iter().map(|p| p.steps_ahead).max().unwrap_or(1);
    let lost = window + steps;
    let t_min = x
        .trial_lens()
        .into_iter()
        .chain(y.trial_lens())
        .min()
        .unwrap_or(0);
    let len = len.unwrap_or_else(|| default_block_len(t_min, window, steps));
    if len <= lost {
        return Err(DsaError::param(
            "block_len",
            format!(
                "blocks of {len} time points leave no regression pair: the embedding window \
                 plus steps_ahead takes {lost} points of each block; use blocks of at least \
                 {} points (about {} keeps 90% of each block)",
                lost + 1,
                10 * lost
            ),
        ));
    }
    for (name, d) in [("x", x), ("y", y)] {
        for (k, t) in d.trial_lens().into_iter().enumerate() {
            if t < len {
                return Err(DsaError::param(
                    "block_len",
                    format!(
                        "blocks of {len} time points are longer than trial {k} of {name} ({t} \
                         points); use blocks of at most {t} points (several blocks per side are \
                         needed to resample)"
                    ),
                ));
            }
        }
    }
    for (name, d) in [("x", x), ("y", y)] {
        let units: usize = d.trial_lens().iter().map(|&t| t / len).sum();
        if units < 2 {
            return Err(DsaError::TooFewUnits {
                what: format!(
                    "{name} makes {units} block(s) of {len} time points; resampling needs at \
                     least 2 per side (and many more for a useful test): use shorter blocks \
                     (at least {} points) or more data",
                    lost + 1
                ),
            });
        }
    }
    Ok(Some(len))
}

/// Run `total` jobs in parallel on `dsa`'s pool, results in job order
/// ([`crate::parallel::run_jobs`]; the progress callback sees `pair: (job, 0)`).
pub(crate) fn run_jobs<T: Send>(
    dsa: &Dsa,
    total: usize,
    job: impl Fn(usize) -> Result<T> + Sync + Send,
) -> Result<Vec<T>> {
    let progress = dsa.progress_callback();
    dsa.run_in_pool(|| crate::parallel::run_jobs(total, progress, |k| (k, 0), job))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cube_roots() {
        for t in 0..3000usize {
            let k = cube_root_ceil(t);
            assert!(k * k * k >= t, "{t}");
            assert!(k == 0 || (k - 1) * (k - 1) * (k - 1) < t, "{t}");
        }
        assert_eq!(cube_root_ceil(1_000_000), 100);
        assert_eq!(cube_root_ceil(1_000_001), 101);
    }

    #[test]
    fn blocks_cover_every_point() {
        for t in 1..400 {
            for len in 1..=t {
                let b = block_lengths(t, len);
                assert_eq!(b.len(), t / len);
                assert_eq!(b.iter().sum::<usize>(), t);
                assert!(b.iter().all(|&l| l >= len && l <= b[0] && b[0] - l <= 1));
            }
            assert!(block_lengths(t, t + 1).is_empty());
        }
    }

    #[test]
    fn streams_and_indices_draw_differently() {
        let draw = |s: Stream, i: usize| rng(7, s, i).random::<u64>();
        assert_ne!(draw(Stream::Permutation, 0), draw(Stream::Permutation, 1));
        assert_ne!(draw(Stream::Permutation, 0), draw(Stream::Bootstrap, 0));
        assert_eq!(draw(Stream::Ceiling, 5), draw(Stream::Ceiling, 5));
        let p = permutation(&mut rng(1, Stream::Permutation, 0), 10);
        let mut sorted = p.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        let w = with_replacement(&mut rng(1, Stream::Bootstrap, 0), 5, 5);
        assert!(w.windows(2).all(|a| a[0] <= a[1]) && w.iter().all(|&i| i < 5));
    }
}
