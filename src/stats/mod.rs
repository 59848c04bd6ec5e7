//! Is the difference real? Resampling statistics for DSA distances.
//!
//! A distance alone does not say whether two systems differ: fits of the *same* system to
//! different data are never at distance 0. Three tools answer the questions users ask:
//!
//! * [`permutation_test`]: "do X and Y run the same dynamics?" Pool both systems' trials,
//!   re-split them at random into groups of the original sizes, refit, compare: the null
//!   distribution of the distance, and the p-value `(b + 1) / (m + 1)`.
//! * [`bootstrap`]: "how precisely is the distance estimated?" Resample each system's
//!   trials with replacement, refit, compare: a percentile (or BCa) confidence interval.
//! * [`noise_ceiling`]: "how large is a distance that noise alone produces?" Split each
//!   system's trials into halves, compare halves of one system, and halves of X with halves
//!   of Y: the ceiling, `d(X, Y)` beside it, and a normalized form.
//!
//! `docs/statistics.md` says when to use which, with a worked example, and what the p-value
//! means and does not.
//!
//! **Units.** Trials are resampled whole ([`Unit::Trials`]). For one long trajectory per
//! system ([`Unit::Blocks`], chosen automatically when each side is one trajectory) the
//! units are contiguous blocks of time: the permutation test and the noise ceiling cut each
//! trajectory into non-overlapping blocks, the bootstrap draws circular blocks; each block is
//! embedded and fitted as a trial of its own, so no regression pair crosses a cut. The
//! default length is [`default_block_len`].
//!
//! **The same procedure throughout.** The observed distance (the bootstrap's estimate) and
//! every resampled distance are computed by one procedure: the DMD settings of the `Dsa`
//! resolved once for the call (as [`Dsa::distance`] resolves them for `x` and `y`), the same
//! refit path ([`Refit`]), the same comparison (the `Dsa`'s score, solver and size policy).
//! In block mode the permutation test's observed distance is that of the blocks (the
//! identity split), not of the uncut trajectories.
//!
//! **Reuse.** Each trial is delay-embedded once per call; a resampled dataset (a set of
//! trials, or of blocks, some repeated) is the stack of its units' own rows of that
//! embedding, never re-embedded. Under the default [`Refit::Gram`], each unit's three Gram
//! matrices are formed once too, and a refit is a `p x p` eigendecomposition plus an `r x r`
//! regression on their sums (see [`Refit`] for when it hands a fit to the exact path).
//!
//! **Runs.** Resamples run in parallel on the `Dsa`'s pool (or rayon's global pool); each
//! resample's random draws come from a generator seeded by `(seed, method, resample index)`,
//! `seed` being [`Dsa::seed`] unless [`Resampling::seed`] overrides it, never from
//! thread-local state, so results are bit for bit the same for any number of threads. The `Dsa`'s progress callback is called after each resample with
//! `Progress { done, total, pair: (resample, 0) }` (the jobs of each method are listed on it);
//! [`ControlFlow::Break`](std::ops::ControlFlow::Break) cancels the call, which returns
//! [`DsaError::Cancelled`](crate::DsaError::Cancelled) and no partial result.

mod bootstrap;
mod ceiling;
mod normal;
mod permutation;
mod resample;
mod results;
mod settings;

pub use results::{Design, Interval, NoiseCeiling, PermutationTest, SplitHalf};
pub use settings::{IntervalMethod, Refit, Resampling, Unit};

use faer::Mat;

use crate::compare::Dsa;
use crate::error::Result;

/// The two-sample permutation test "same dynamics?" with the default [`Resampling`]: is the
/// distance between `x` and `y` (lists of trials) larger than random re-splits of their pooled
/// trials give?
///
/// The pooled units (trials, or blocks of one trajectory per side: [`Unit::Auto`]) are
/// re-split `permutations` times at random into groups of the original sizes; each split is
/// refitted and compared. The p-value is `(b + 1) / (m + 1)`, `b` the number of the `m`
/// null distances at least as large as the observed one. When the number of distinct splits
/// `C(K_x + K_y, K_x)` is at most `permutations`, every split is evaluated instead and the
/// test is exact ([`PermutationTest::exact`]). Seeded by [`Dsa::seed`]; progress jobs:
/// `permutations + 1` (job 0 the observed split), or one per split when exact.
///
/// Valid when, under the null, the units are exchangeable: independent trials of one process
/// (or blocks long enough to be nearly independent). Note that with `K` trials per side the
/// smallest p-value possible is `2 / C(2K, K)` (the swap of the two groups gives the same
/// distance): 0.33 for `K = 2`, 0.1 for 3, 0.029 for 4, 0.008 for 5.
///
/// # Errors
/// `permutations = 0` ([`DsaError::InvalidParameter`](crate::DsaError::InvalidParameter));
/// fewer than 2 units on a side ([`DsaError::TooFewUnits`](crate::DsaError::TooFewUnits));
/// blocks longer than a trial, or too short to fit (`block_len`); `x` and `y` with different
/// channels ([`DsaError::ShapeMismatch`](crate::DsaError::ShapeMismatch)) or resolving to
/// different DMD settings (units move between the sides); invalid data and the errors of
/// [`Dsa::distance`]; [`DsaError::Cancelled`](crate::DsaError::Cancelled).
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// use rand::{rngs::StdRng, Rng, SeedableRng};
/// // trials of a noisy damped rotation x_{t+1} = rho R(w) x_t + noise
/// let trial = |rho: f64, w: f64, seed: u64| {
///     let mut rng = StdRng::seed_from_u64(seed);
///     let (mut a, mut b) = (0.0f64, 0.0f64);
///     faer::Mat::from_fn(200, 2, |_, j| {
///         if j == 0 {
///             let n: (f64, f64) = (rng.random::<f64>() - 0.5, rng.random::<f64>() - 0.5);
///             (a, b) = (rho * (w.cos() * a - w.sin() * b) + n.0, rho * (w.sin() * a + w.cos() * b) + n.1);
///         }
///         if j == 0 { a } else { b }
///     })
/// };
/// let x: Vec<_> = (0..6).map(|k| trial(0.9, 0.3, k)).collect();
/// let same: Vec<_> = (6..12).map(|k| trial(0.9, 0.3, k)).collect();
/// let other: Vec<_> = (6..12).map(|k| trial(0.9, 0.8, k)).collect();
/// let dsa = dsa::Dsa::builder().n_delays(1).rank(2).build()?;
/// assert!(dsa::stats::permutation_test(&dsa, &x, &other, 199)?.p_value < 0.05);
/// let t = dsa::stats::permutation_test(&dsa, &x, &same, 199)?;
/// assert_eq!(t.null.len(), 199);
/// # Ok(()) }
/// ```
pub fn permutation_test(
    dsa: &Dsa,
    x: &[Mat<f64>],
    y: &[Mat<f64>],
    permutations: usize,
) -> Result<PermutationTest> {
    Resampling::new().permutation_test(dsa, x, y, permutations)
}

/// A bootstrap confidence interval at `level` (e.g. 0.95) for the distance between `x` and
/// `y` (lists of trials), with the default [`Resampling`]: BCa for trials, percentile for
/// blocks of one trajectory ([`IntervalMethod::Auto`]).
///
/// Each of `resamples` resamples draws every side's trials with replacement (as many as it
/// has), or, for one trajectory per side, circular blocks of it; both sides are refitted and
/// compared. The interval reads the replicates' quantiles, at levels that BCa corrects for
/// bias and skewness (see [`IntervalMethod`]). The estimate is the distance on all the data.
/// Seeded by [`Dsa::seed`]; progress jobs: `resamples` (plus `K_x + K_y` leave-one-trial-out
/// fits for BCa).
///
/// Coverage needs enough trials: with about 10 trials per side 95% intervals cover less than
/// 90% of the time (`docs/statistics.md`); use 20 or more.
///
/// An interval for a distance near 0 is unreliable (a distance cannot go below 0, and
/// estimation noise adds to it): test "same dynamics?" with [`permutation_test`] instead.
///
/// # Errors
/// `resamples = 0`, `level` outside `(0, 1)`
/// ([`DsaError::InvalidParameter`](crate::DsaError::InvalidParameter)); fewer than 2 units
/// per side ([`DsaError::TooFewUnits`](crate::DsaError::TooFewUnits)); bad block lengths;
/// the errors of [`Dsa::distance`]; [`DsaError::Cancelled`](crate::DsaError::Cancelled).
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let wave = |w: f64, k: usize| faer::Mat::from_fn(100, 2, |t, j| ((t as f64) * w + (j + k) as f64).sin() + 0.05 * (((t * 7 + j * 13 + k * 31) as f64).sin() * 43758.5453).fract());
/// let x: Vec<_> = (0..8).map(|k| wave(0.2, k)).collect();
/// let y: Vec<_> = (0..8).map(|k| wave(0.4, k)).collect();
/// let dsa = dsa::Dsa::builder().n_delays(2).rank(4).build()?;
/// let ci = dsa::stats::bootstrap(&dsa, &x, &y, 200, 0.95)?;
/// assert!(ci.lower <= ci.estimate && ci.estimate <= ci.upper);
/// # Ok(()) }
/// ```
pub fn bootstrap(
    dsa: &Dsa,
    x: &[Mat<f64>],
    y: &[Mat<f64>],
    resamples: usize,
    level: f64,
) -> Result<Interval> {
    Resampling::new().bootstrap(dsa, x, y, resamples, level)
}

/// The noise ceiling of the distance between `x` and `y` (lists of trials), from `splits`
/// random split halves of each system's units, with the default [`Resampling`].
///
/// Each split cuts each system's units (trials, or blocks of one trajectory) at random into
/// halves `a` and `b`, fits all four halves and reports `d(X_a, X_b)`, `d(Y_a, Y_b)` and the
/// four half-against-half distances between the systems; [`NoiseCeiling`] documents the
/// ceiling, the normalized form and the noise-corrected distance computed from them. Seeded
/// by [`Dsa::seed`]; progress jobs: `splits + 1` (job 0 the distance on all the data).
///
/// # Errors
/// `splits = 0` ([`DsaError::InvalidParameter`](crate::DsaError::InvalidParameter)); fewer
/// than 2 units per side ([`DsaError::TooFewUnits`](crate::DsaError::TooFewUnits)); bad
/// block lengths; the errors of [`Dsa::distance`];
/// [`DsaError::Cancelled`](crate::DsaError::Cancelled).
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let wave = |w: f64, k: usize| faer::Mat::from_fn(100, 2, |t, j| ((t as f64) * w + (j + k) as f64).sin() + 0.05 * (((t * 7 + j * 13 + k * 31) as f64).sin() * 43758.5453).fract());
/// let x: Vec<_> = (0..6).map(|k| wave(0.2, k)).collect();
/// let same: Vec<_> = (6..12).map(|k| wave(0.2, k)).collect();
/// let dsa = dsa::Dsa::builder().n_delays(2).rank(4).build()?;
/// let nc = dsa::stats::noise_ceiling(&dsa, &x, &same, 20)?;
/// assert!(nc.normalized < 2.0); // the same system: at the noise level
/// # Ok(()) }
/// ```
pub fn noise_ceiling(
    dsa: &Dsa,
    x: &[Mat<f64>],
    y: &[Mat<f64>],
    splits: usize,
) -> Result<NoiseCeiling> {
    Resampling::new().noise_ceiling(dsa, x, y, splits)
}

/// The default block length for one long trajectory per system:
/// `L = max(10 (w + s), ceil(T^(1/3)))`, with `w = (n_delays - 1) delay_interval` the
/// embedding window, `s = steps_ahead`, and `T` the shortest trajectory (both sides; the
/// larger `w + s` of the two sides).
///
/// Why: each block is fitted as a trial of its own, so its first `w` points serve only as
/// delays and its last `s` only as targets; `10 (w + s)` keeps at least 90% of every block's
/// points in the regression, and makes blocks much longer than the span the model looks
/// back over. `T^(1/3)` is the order of the block length that is optimal for block
/// resampling of a weakly dependent series (Hall, Horowitz & Jing 1995; Lahiri 2003); it
/// decides only when the window is tiny (no delays and `T > 1000`). Blocks must also be
/// longer than the system's correlation time, which no rule can see: for slow dynamics
/// (autocorrelation lasting longer than `L / 3`), set a longer block with
/// [`Resampling::block_len`]. The permutation test needs several blocks per side: with `B`
/// per side the smallest p-value is `2 / C(2B, B)` (0.029 for `B = 4`).
///
/// # Example
/// ```
/// // 10 delays, steps_ahead 1: window 9, so 100-point blocks (5000 points: 50 per side)
/// assert_eq!(dsa::stats::default_block_len(5000, 9, 1), 100);
/// // no delays: the T^(1/3) rule decides for long series
/// assert_eq!(dsa::stats::default_block_len(1_000_000, 0, 1), 100);
/// ```
#[must_use]
pub fn default_block_len(t_min: usize, window: usize, steps_ahead: usize) -> usize {
    resample::default_block_len(t_min, window, steps_ahead)
}
