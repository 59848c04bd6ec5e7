//! What the resampling methods return.

use super::settings::{IntervalMethod, Refit};

/// How a call resampled, as resolved from its [`Resampling`](super::Resampling) settings
/// and its data.
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let wave = |w: f64| faer::Mat::from_fn(900, 2, |t, j| ((t as f64) * w + j as f64).sin() + 0.05 * (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
/// let dsa = dsa::Dsa::builder().n_delays(2).rank(4).build()?;
/// // one trajectory per side: blocks of the default length, 10 * (window + steps_ahead) = 20
/// let test = dsa::stats::permutation_test(&dsa, &[wave(0.2)], &[wave(0.3)], 20)?;
/// assert_eq!(test.design.block_len, Some(20));
/// assert_eq!(test.design.units, (45, 45));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Design {
    /// `None`: whole trials were resampled; `Some(L)`: blocks of `L` (or `L + 1`) time
    /// points (the permutation test, the noise ceiling and the jackknife), or circular
    /// blocks of exactly `L` points (the bootstrap).
    pub block_len: Option<usize>,
    /// Units (trials or blocks) of `x` and of `y`.
    pub units: (usize, usize),
    /// The refit path the call used ([`Refit::Exact`] when Gram matrices did not apply).
    pub refit: Refit,
    /// Fits in the call, the observed one(s) included.
    pub fits: usize,
    /// Of those, fits that the Gram path handed to the exact path (ill-conditioned datasets;
    /// 0 under [`Refit::Exact`], where every fit is exact).
    pub exact_fits: usize,
}

/// The result of [`permutation_test`](super::permutation_test): is the distance between `x`
/// and `y` larger than re-splitting their pooled trials at random gives?
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let wave = |w: f64, k: usize| faer::Mat::from_fn(100, 2, |t, j| ((t as f64) * w + (j + k) as f64).sin() + 0.01 * (((t * 7 + j * 13 + k * 31) as f64).sin() * 43758.5453).fract());
/// let x: Vec<_> = (0..5).map(|k| wave(0.2, k)).collect();
/// let y: Vec<_> = (0..5).map(|k| wave(0.6, k)).collect();
/// let dsa = dsa::Dsa::builder().n_delays(2).rank(4).build()?;
/// let test = dsa::stats::permutation_test(&dsa, &x, &y, 99)?;
/// assert!(test.p_value < 0.05);
/// assert_eq!(test.p_value, (1 + test.null.iter().filter(|&&d| d >= test.observed).count()) as f64 / 100.0);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PermutationTest {
    /// The distance between `x` and `y`, computed by the same procedure as the null.
    pub observed: f64,
    /// `(b + 1) / (m + 1)`, with `b` the number of the `m` null distances at least as large as
    /// `observed`; when every split was enumerated ([`PermutationTest::exact`]), `b / M` over
    /// all `M` splits (the observed split among them).
    pub p_value: f64,
    /// The null distribution: the distance of each random re-split of the pooled units, in
    /// the order of the resample indices (or of every split, when `exact`).
    pub null: Vec<f64>,
    /// Whether every split was enumerated: when the number of distinct splits
    /// `C(K_x + K_y, K_x)` is at most `permutations`, the test is exact and `null` has
    /// one entry per split.
    pub exact: bool,
    /// How the call resampled.
    pub design: Design,
}

/// The result of [`bootstrap`](super::bootstrap): an interval for the distance between `x`
/// and `y`.
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let wave = |w: f64, k: usize| faer::Mat::from_fn(100, 2, |t, j| ((t as f64) * w + (j + k) as f64).sin() + 0.05 * (((t * 7 + j * 13 + k * 31) as f64).sin() * 43758.5453).fract());
/// let x: Vec<_> = (0..6).map(|k| wave(0.2, k)).collect();
/// let y: Vec<_> = (0..6).map(|k| wave(0.4, k)).collect();
/// let dsa = dsa::Dsa::builder().n_delays(2).rank(4).build()?;
/// let ci = dsa::stats::bootstrap(&dsa, &x, &y, 200, 0.9)?;
/// assert!(ci.lower <= ci.upper && ci.replicates.len() == 200);
/// assert_eq!(ci.level, 0.9);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Interval {
    /// The distance between `x` and `y` on all their data.
    pub estimate: f64,
    /// Lower end of the interval.
    pub lower: f64,
    /// Upper end of the interval.
    pub upper: f64,
    /// The requested coverage, in `(0, 1)`.
    pub level: f64,
    /// How the interval was formed from the replicates (BCa or percentile, never `Auto`).
    pub method: IntervalMethod,
    /// The bootstrap replicates, in resample order.
    pub replicates: Vec<f64>,
    /// BCa's bias correction `z0` (`None` for the percentile interval).
    pub bias_correction: Option<f64>,
    /// BCa's acceleration `a` (`None` for the percentile interval).
    pub acceleration: Option<f64>,
    /// How the call resampled.
    pub design: Design,
}

/// One split of [`NoiseCeiling`]: each system's units cut at random into two halves `a`, `b`.
///
/// # Example
/// ```
/// let s = dsa::stats::SplitHalf { within_x: 0.02, within_y: 0.03, between: 0.4 };
/// assert!(s.between > s.within_x.max(s.within_y));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitHalf {
    /// `d(X_a, X_b)`.
    pub within_x: f64,
    /// `d(Y_a, Y_b)`.
    pub within_y: f64,
    /// The mean of `d(X_a, Y_a)`, `d(X_a, Y_b)`, `d(X_b, Y_a)` and `d(X_b, Y_b)`: halves
    /// against halves, so with as much data per fit as the within-system distances.
    pub between: f64,
}

/// The result of [`noise_ceiling`](super::noise_ceiling): how much distance estimation noise
/// alone produces, beside the distance between the two systems.
///
/// With `within_x`, `within_y` and `between` the means over splits of the fields of
/// [`SplitHalf`], and `ms(.)` the mean of the squared distances over splits (for `between`,
/// over the four half-against-half distances of every split):
///
/// ```text
/// ceiling    = (within_x + within_y) / 2
/// normalized = between / ceiling
/// corrected  = sqrt( max(0, ms(between) - (ms(within_x) + ms(within_y)) / 2) )
/// ```
///
/// * `normalized` compares like with like: every distance in it is between fits to half of a
///   system's units. It assumes that the trials (or blocks) of a system are exchangeable
///   repeats (same dynamics, same noise), so that two halves of one system differ only by
///   estimation noise, and that X's and Y's noise are comparable (their mean is the noise of
///   a between-system comparison). About 1: the systems differ no more than two halves of
///   one system do; well above 1: a difference beyond estimation noise. It is a descriptive
///   ratio, not a test (use [`permutation_test`](super::permutation_test)).
/// * `corrected` estimates the distance without estimation noise, under an additive model:
///   each fitted operator is the system's plus independent noise, noise adds in quadrature
///   to a distance (so `E d_between^2 = d^2 + s_x^2 + s_y^2` and `E d_within,x^2 = 2 s_x^2`),
///   which holds for the Euclidean score and, for small angles, for the angular one. It
///   ignores that the minimum over orthogonal `C` also absorbs part of the noise, so it
///   leans low when the distance is at the noise level.
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let wave = |w: f64, k: usize| faer::Mat::from_fn(100, 2, |t, j| ((t as f64) * w + (j + k) as f64).sin() + 0.05 * (((t * 7 + j * 13 + k * 31) as f64).sin() * 43758.5453).fract());
/// let x: Vec<_> = (0..6).map(|k| wave(0.2, k)).collect();
/// let y: Vec<_> = (0..6).map(|k| wave(0.5, k)).collect();
/// let dsa = dsa::Dsa::builder().n_delays(2).rank(4).build()?;
/// let nc = dsa::stats::noise_ceiling(&dsa, &x, &y, 10)?;
/// assert!(nc.normalized > 2.0); // far beyond estimation noise
/// assert_eq!(nc.splits.len(), 10);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NoiseCeiling {
    /// `d(X, Y)` on all the data (what [`Dsa::distance`](crate::Dsa::distance) reports).
    pub distance: f64,
    /// Mean over splits of `d(X_a, X_b)`.
    pub within_x: f64,
    /// Mean over splits of `d(Y_a, Y_b)`.
    pub within_y: f64,
    /// Mean over splits of the half-against-half distances between X and Y.
    pub between: f64,
    /// `(within_x + within_y) / 2`: the distance estimation noise alone produces at half the
    /// data.
    pub ceiling: f64,
    /// `between / ceiling` (see above; infinite if `ceiling` is 0).
    pub normalized: f64,
    /// The noise-corrected distance (see above).
    pub corrected: f64,
    /// Every split, in split order.
    pub splits: Vec<SplitHalf>,
    /// How the call resampled.
    pub design: Design,
}
