//! How a resampling method resamples: the unit, the refit path, the interval method.

use faer::Mat;

use super::results::{Interval, NoiseCeiling, PermutationTest};
use crate::compare::Dsa;
use crate::error::Result;

/// What is resampled.
///
/// # Example
/// ```
/// use dsa::stats::{Resampling, Unit};
/// let per_trial = Resampling::new().unit(Unit::Trials);
/// let blocks = Resampling::new().unit(Unit::Blocks(Some(200)));
/// assert_eq!(blocks, Resampling::new().block_len(200));
/// assert_ne!(per_trial, blocks);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Unit {
    /// Whole trials when both sides have at least 2 trials; blocks of the default length
    /// ([`Unit::Blocks`]`(None)`) when both sides are one trajectory each. Anything else (one
    /// trajectory on one side, several trials on the other) is [`DsaError::TooFewUnits`]
    /// (choose [`Unit::Blocks`] explicitly).
    ///
    /// [`DsaError::TooFewUnits`]: crate::DsaError::TooFewUnits
    #[default]
    Auto,
    /// Whole trials: the trials of a side are exchangeable, independent repeats (at least 2
    /// per side).
    Trials,
    /// Contiguous blocks of time: every trial is cut into `floor(T_k / L)` non-overlapping
    /// blocks of `L` or `L + 1` points (lengths as equal as possible, so that no point is
    /// dropped), and each block is embedded and fitted as a trial of its own (no regression
    /// pair crosses a cut). `None`: the default length of [`default_block_len`].
    ///
    /// [`default_block_len`]: crate::stats::default_block_len
    Blocks(Option<usize>),
}

/// How each resampled dataset is refitted. Both paths reuse each trial's delay embedding
/// (computed once per call); they differ in what a refit recomputes.
///
/// Whichever is chosen, the observed distance (or the bootstrap's estimate) and every
/// resampled distance are computed by the same procedure, so that the test is calibrated.
///
/// # Example
/// ```
/// use dsa::stats::{Refit, Resampling};
/// assert_eq!(Resampling::new().refit_path(), Refit::Gram);
/// assert_eq!(Resampling::new().refit(Refit::Exact).refit_path(), Refit::Exact);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Refit {
    /// Per-unit Gram matrices (the default). For each unit (trial or block), three `p x p`
    /// matrices are formed once: `H_k^T H_k`, `H-_k^T H-_k` and `H-_k^T H+_k` (`H-`, `H+`: the
    /// rows paired by the shift `steps_ahead`). A resampled dataset's are their sums, and its
    /// fit is a `p x p` symmetric eigendecomposition (the singular values and the spec's `U`)
    /// and an `r x r` regression, instead of a QR of all its rows. In exact arithmetic the
    /// operator is the same as [`Dsa::fit`]'s; in floating point the two agree to about
    /// `1e-12` on well-conditioned data (measured figures in `docs/statistics.md`).
    ///
    /// A dataset whose retained singular values fall below `1e-3` of its largest (the
    /// eigendecomposition of a Gram matrix resolves them to `eps * s_1^2 / s_r^2` only), or
    /// whose regression matrix is singular, is fitted by the exact path instead: that rule is
    /// part of the procedure, applied to the observed and the resampled datasets alike, and
    /// the result counts such fits ([`Design::exact_fits`]). The whole call uses the exact
    /// path when Gram matrices do not apply: reduced-rank regression, data with entries
    /// beyond `1e100` or below `1e-100` in magnitude, or more than 1 GiB of Gram matrices.
    ///
    /// [`Design::exact_fits`]: crate::stats::Design::exact_fits
    #[default]
    Gram,
    /// The crate's own fit (QR-based SVD of the stacked embedding, then the regression) on
    /// the stack of the units' embedded rows: the observed distance is then bit for bit
    /// [`Dsa::distance`] of the trials as given (in trial mode). About 2 fits and 1
    /// comparison per resample; slower than [`Refit::Gram`] when the embedding has many more
    /// rows than columns.
    Exact,
}

/// How [`Resampling::bootstrap`] turns the bootstrap replicates into an interval.
///
/// # Example
/// ```
/// use dsa::stats::{IntervalMethod, Resampling};
/// assert_eq!(Resampling::new().interval_method(), IntervalMethod::Auto);
/// let r = Resampling::new().interval(IntervalMethod::Percentile);
/// assert_eq!(r.interval_method(), IntervalMethod::Percentile);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IntervalMethod {
    /// [`IntervalMethod::Bca`] for trial units, [`IntervalMethod::Percentile`] for blocks of
    /// a trajectory (the default): BCa covered better in every configuration of the coverage
    /// simulations (`docs/statistics.md`), for `K_x + K_y` more fits, and is not defined for
    /// blocks.
    #[default]
    Auto,
    /// The `(1 - level)/2` and `(1 + level)/2` quantiles of the replicates (linear
    /// interpolation between order statistics).
    Percentile,
    /// Bias-corrected and accelerated (Efron 1987): the percentile interval at levels moved
    /// by the bias correction `z0` (from the share of replicates below the estimate) and the
    /// acceleration `a` (from a leave-one-trial-out jackknife over both sides, `K_x + K_y`
    /// more fits). Trial units only: for blocks of one trajectory the jackknife's
    /// acceleration has no comparable justification, and the call returns
    /// [`DsaError::InvalidParameter`](crate::DsaError::InvalidParameter).
    Bca,
}

/// Settings of the resampling methods; [`Resampling::new`] gives the defaults used by
/// [`permutation_test`](crate::stats::permutation_test), [`bootstrap`](crate::stats::bootstrap)
/// and [`noise_ceiling`](crate::stats::noise_ceiling).
///
/// # Example
/// ```
/// use dsa::stats::{Refit, Resampling, Unit};
/// # fn main() -> dsa::Result<()> {
/// let wave = |w: f64, k: usize| {
///     faer::Mat::from_fn(120, 2, |t, j| ((t as f64) * w + (j + k) as f64).sin() + 0.01 * (((t * 7 + j * 13 + k * 31) as f64).sin() * 43758.5453).fract())
/// };
/// let x: Vec<_> = (0..4).map(|k| wave(0.2, k)).collect();
/// let y: Vec<_> = (0..4).map(|k| wave(0.5, k)).collect();
/// let dsa = dsa::Dsa::builder().n_delays(2).rank(4).build()?;
/// let test = Resampling::new().unit(Unit::Trials).refit(Refit::Exact).permutation_test(&dsa, &x, &y, 100)?;
/// // 8 trials split 4 + 4 in C(8, 4) = 70 ways, fewer than 100: every split is evaluated
/// assert!(test.exact && test.null.len() == 70);
/// assert_eq!(test.observed, dsa.distance(&x, &y)?); // the exact path reproduces it bit for bit
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Resampling {
    unit: Unit,
    refit: Refit,
    interval: IntervalMethod,
    seed: Option<u64>,
}

impl Resampling {
    /// The defaults: [`Unit::Auto`], [`Refit::Gram`], [`IntervalMethod::Auto`], the `Dsa`'s
    /// seed.
    ///
    /// # Example
    /// ```
    /// use dsa::stats::{Resampling, Unit};
    /// assert_eq!(Resampling::new().unit_choice(), Unit::Auto);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// What to resample (default [`Unit::Auto`]).
    ///
    /// # Example
    /// ```
    /// use dsa::stats::{Resampling, Unit};
    /// assert_eq!(Resampling::new().unit(Unit::Trials).unit_choice(), Unit::Trials);
    /// ```
    #[must_use]
    pub fn unit(mut self, unit: Unit) -> Self {
        self.unit = unit;
        self
    }

    /// Blocks of `len` time points: `unit(Unit::Blocks(Some(len)))`.
    ///
    /// # Example
    /// ```
    /// use dsa::stats::{Resampling, Unit};
    /// assert_eq!(Resampling::new().block_len(300).unit_choice(), Unit::Blocks(Some(300)));
    /// ```
    #[must_use]
    pub fn block_len(self, len: usize) -> Self {
        self.unit(Unit::Blocks(Some(len)))
    }

    /// How datasets are refitted (default [`Refit::Gram`]).
    ///
    /// # Example
    /// ```
    /// use dsa::stats::{Refit, Resampling};
    /// assert_eq!(Resampling::new().refit(Refit::Exact).refit_path(), Refit::Exact);
    /// ```
    #[must_use]
    pub fn refit(mut self, refit: Refit) -> Self {
        self.refit = refit;
        self
    }

    /// The bootstrap interval's method (default [`IntervalMethod::Auto`]).
    ///
    /// # Example
    /// ```
    /// use dsa::stats::{IntervalMethod, Resampling};
    /// assert_eq!(Resampling::new().interval(IntervalMethod::Bca).interval_method(), IntervalMethod::Bca);
    /// ```
    #[must_use]
    pub fn interval(mut self, method: IntervalMethod) -> Self {
        self.interval = method;
        self
    }

    /// Seed the random draws with `seed` instead of [`Dsa::seed`] (the default). Useful
    /// where the `Dsa`'s seed cannot be set (a custom solver leaves it at 0), and in
    /// simulations: a p-value is uniform under the null over the data *and* the random
    /// splits, so simulations of many datasets should draw new splits for each.
    ///
    /// # Example
    /// ```
    /// use dsa::stats::Resampling;
    /// assert_eq!(Resampling::new().seed(3).seed_override(), Some(3));
    /// assert_eq!(Resampling::new().seed_override(), None);
    /// ```
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The seed set with [`Resampling::seed`], if any.
    ///
    /// # Example
    /// ```
    /// assert_eq!(dsa::stats::Resampling::new().seed(5).seed_override(), Some(5));
    /// ```
    #[must_use]
    pub fn seed_override(&self) -> Option<u64> {
        self.seed
    }

    /// The seed of a call's draws: the override, or the `Dsa`'s.
    pub(crate) fn seed_for(&self, dsa: &Dsa) -> u64 {
        self.seed.unwrap_or_else(|| dsa.seed())
    }

    /// The unit setting.
    ///
    /// # Example
    /// ```
    /// assert_eq!(dsa::stats::Resampling::new().unit_choice(), dsa::stats::Unit::Auto);
    /// ```
    #[must_use]
    pub fn unit_choice(&self) -> Unit {
        self.unit
    }

    /// The refit setting.
    ///
    /// # Example
    /// ```
    /// assert_eq!(dsa::stats::Resampling::new().refit_path(), dsa::stats::Refit::Gram);
    /// ```
    #[must_use]
    pub fn refit_path(&self) -> Refit {
        self.refit
    }

    /// The interval method.
    ///
    /// # Example
    /// ```
    /// use dsa::stats::{IntervalMethod, Resampling};
    /// assert_eq!(Resampling::new().interval_method(), IntervalMethod::Auto);
    /// ```
    #[must_use]
    pub fn interval_method(&self) -> IntervalMethod {
        self.interval
    }

    /// [`crate::stats::permutation_test`] with these settings.
    ///
    /// # Errors
    /// As [`crate::stats::permutation_test`].
    pub fn permutation_test(
        &self,
        dsa: &Dsa,
        x: &[Mat<f64>],
        y: &[Mat<f64>],
        permutations: usize,
    ) -> Result<PermutationTest> {
        super::permutation::run(self, dsa, x, y, permutations)
    }

    /// [`crate::stats::bootstrap`] with these settings.
    ///
    /// # Errors
    /// As [`crate::stats::bootstrap`]; [`IntervalMethod::Bca`] with block units is
    /// [`DsaError::InvalidParameter`](crate::DsaError::InvalidParameter).
    pub fn bootstrap(
        &self,
        dsa: &Dsa,
        x: &[Mat<f64>],
        y: &[Mat<f64>],
        resamples: usize,
        level: f64,
    ) -> Result<Interval> {
        super::bootstrap::run(self, dsa, x, y, resamples, level)
    }

    /// [`crate::stats::noise_ceiling`] with these settings.
    ///
    /// # Errors
    /// As [`crate::stats::noise_ceiling`].
    pub fn noise_ceiling(
        &self,
        dsa: &Dsa,
        x: &[Mat<f64>],
        y: &[Mat<f64>],
        splits: usize,
    ) -> Result<NoiseCeiling> {
        super::ceiling::run(self, dsa, x, y, splits)
    }
}
