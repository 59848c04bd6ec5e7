//! The grid sweep over `n_delays x rank` (spec §6) and the rule that suggests a grid point.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use super::metrics::{forecast_metrics, ForecastMetrics};
use super::split::{Split, SplitBy, SplitKind};
use crate::data::{Dataset, ToDataset};
use crate::embedding::{DelayEmbedding, Embedding};
use crate::error::{DsaError, Result};
use crate::linalg::c64;
use crate::operator::{decompose, fit_decomposed, Dmd, Regression};

/// A sweep over a grid of `n_delays x rank` (spec §6): fit on a training split, forecast the
/// test split, and score every grid point with [`ForecastMetrics`].
///
/// Per `n_delays` the training data is embedded and decomposed (thin SVD) **once**; every rank
/// at that `n_delays` reuses the decomposition ([`SweepResult::n_decompositions`] counts them).
/// Grid points run in parallel on the current rayon pool and are collected in grid order
/// (`n_delays` outer, `rank` inner, in the order given); every linear-algebra call is
/// sequential, so the table is bit-for-bit the same whatever the number of threads.
///
/// Invalid grid points are skipped and reported in [`SweepResult::skipped`], not errors: a rank
/// above the number of singular values `min(R, N*d)` or above the numerical rank, an
/// `n_delays` whose embedding does not fit in the training or the test trials, or a fit or
/// forecast that fails.
///
/// Defaults (those of the reference `sweep_ranks_delays`): `train_fraction = 0.8`,
/// [`SplitBy::Auto`], `reseed = 5`, `delay_interval = 1`, `lambda = 0`, `steps_ahead = 1`,
/// principal-component regression.
///
/// # Example
/// ```
/// use dsa::select::{Sweep, SelectionRule};
/// # fn main() -> dsa::Result<()> {
/// use faer::stats::prelude::*;
/// // a noisy oscillation observed in 2 channels
/// let (mut rng, noise) = (StdRng::seed_from_u64(0), Normal::new(0.0, 0.01).unwrap());
/// let x = faer::Mat::from_fn(400, 2, |t, c| (0.3 * t as f64 + c as f64).sin() + noise.sample(&mut rng));
/// let result = Sweep::new([1, 2, 4], [1, 2, 4, 6]).reseed(1).run(&x)?;
/// assert_eq!(result.n_decompositions, 3); // one SVD per n_delays
/// assert_eq!(result.skipped.len(), 3);    // ranks 4 and 6 at d = 1 (2 channels), 6 at d = 2
/// let best = result.suggest(SelectionRule::default())?;
/// println!("{result}");
/// assert_eq!(best.rank, 2); // a sinusoid needs two dimensions
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    n_delays: Vec<usize>,
    ranks: Vec<usize>,
    train_fraction: f64,
    split_by: SplitBy,
    reseed: usize,
    delay_interval: usize,
    lambda: f64,
    steps_ahead: usize,
    regression: Regression,
}

/// One evaluated grid point.
///
/// # Example
/// ```
/// use faer::stats::prelude::*;
/// # fn main() -> dsa::Result<()> {
/// let (mut rng, noise) = (StdRng::seed_from_u64(3), Normal::new(0.0, 0.01).unwrap());
/// let x = faer::Mat::from_fn(300, 2, |t, c| (0.3 * t as f64 + c as f64).sin() + noise.sample(&mut rng));
/// let result = dsa::select::Sweep::new([1, 3], [2, 3]).run(&x)?;
/// let row = &result.rows[0];
/// assert_eq!((row.n_delays, row.rank), (1, 2));
/// assert_eq!(row.eigenvalues.len(), 2);
/// assert!(row.eigenvalues.iter().all(|l| (l.norm() - 1.0).abs() < 0.05)); // an oscillation
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRow {
    /// Number of delays `d`.
    pub n_delays: usize,
    /// Rank `r` of the fit.
    pub rank: usize,
    /// Forecast metrics on the test split.
    pub metrics: ForecastMetrics,
    /// The fitted DMD spectrum, eigenvalues of `A` sorted by real then imaginary part.
    pub eigenvalues: Vec<c64>,
}

/// A grid point that could not be evaluated, and why.
///
/// # Example
/// ```
/// use faer::stats::prelude::*;
/// # fn main() -> dsa::Result<()> {
/// let (mut rng, noise) = (StdRng::seed_from_u64(3), Normal::new(0.0, 0.01).unwrap());
/// let x = faer::Mat::from_fn(300, 2, |t, c| (0.3 * t as f64 + c as f64).sin() + noise.sample(&mut rng));
/// let result = dsa::select::Sweep::new([1, 3], [2, 3]).run(&x)?;
/// // 2 channels and 1 delay: only 2 singular values, so rank 3 is skipped
/// let s = &result.skipped[0];
/// assert_eq!((s.n_delays, s.rank, s.stage), (1, 3, "rank"));
/// assert!(matches!(s.error, dsa::DsaError::InvalidParameter { name: "ranks", .. }));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedPoint {
    /// Number of delays `d`.
    pub n_delays: usize,
    /// Rank `r`.
    pub rank: usize,
    /// What was being done: `"train embedding"`, `"test embedding"`, `"decomposition"`,
    /// `"rank"`, `"fit"` or `"forecast"`.
    pub stage: &'static str,
    /// Why it was skipped.
    pub error: DsaError,
}

/// The result of a [`Sweep`]: one row per evaluated grid point, in grid order, and the skipped
/// points. `Display` prints it as a table.
///
/// # Example
/// ```
/// use faer::stats::prelude::*;
/// # fn main() -> dsa::Result<()> {
/// let (mut rng, noise) = (StdRng::seed_from_u64(3), Normal::new(0.0, 0.01).unwrap());
/// let x = faer::Mat::from_fn(300, 2, |t, c| (0.3 * t as f64 + c as f64).sin() + noise.sample(&mut rng));
/// let result = dsa::select::Sweep::new([1, 3], [2, 3]).run(&x)?;
/// assert_eq!((result.rows.len(), result.skipped.len(), result.n_decompositions), (3, 1, 2));
/// let table = result.to_string();
/// assert!(table.starts_with("n_delays"));
/// assert!(table.contains("skipped (1)"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SweepResult {
    /// Evaluated grid points, `n_delays` outer and `rank` inner, in the order given.
    pub rows: Vec<SweepRow>,
    /// Grid points that were skipped, in grid order.
    pub skipped: Vec<SkippedPoint>,
    /// Number of thin SVDs computed: one per `n_delays` whose training embedding exists,
    /// however many ranks share it.
    pub n_decompositions: usize,
    /// How the data was split (`None` for [`Sweep::run_on`], where the caller split it).
    pub split: Option<SplitKind>,
    /// The `reseed` the forecasts used.
    pub reseed: usize,
}

/// How [`SweepResult::suggest`] picks a grid point. Rows whose criterion is not finite are
/// ignored. "Simplest" orders grid points by rank first (the operator has `r^2` parameters),
/// then by `n_delays`.
///
/// # Example
/// ```
/// use dsa::select::SelectionRule;
/// assert_eq!(SelectionRule::default(), SelectionRule::MaseWithin(0.01));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SelectionRule {
    /// The simplest grid point whose MASE is at most `(1 + tol) * best MASE` (the default,
    /// `tol = 0.01`: within 1% of the best forecast).
    MaseWithin(f64),
    /// The grid point with the smallest MASE (ties: the simplest).
    MinMase,
    /// The grid point with the smallest AIC (ties: the simplest). AIC trades the forecast error
    /// against the `r^2 + 1` parameters.
    MinAic,
}

impl Default for SelectionRule {
    fn default() -> Self {
        SelectionRule::MaseWithin(0.01)
    }
}

impl Sweep {
    /// A sweep over every `(d, r)` with `d` in `n_delays` and `r` in `ranks`, with the default
    /// settings (see [`Sweep`]). Lists are checked by [`Sweep::run`].
    ///
    /// # Example
    /// ```
    /// let sweep = dsa::select::Sweep::new(1..=10, (2..=20).step_by(2)).reseed(1).train_fraction(0.75);
    /// assert_eq!(sweep.grid_len(), 100);
    /// ```
    #[must_use]
    pub fn new(
        n_delays: impl IntoIterator<Item = usize>,
        ranks: impl IntoIterator<Item = usize>,
    ) -> Self {
        Self {
            n_delays: n_delays.into_iter().collect(),
            ranks: ranks.into_iter().collect(),
            train_fraction: 0.8,
            split_by: SplitBy::Auto,
            reseed: 5,
            delay_interval: 1,
            lambda: 0.0,
            steps_ahead: 1,
            regression: Regression::PrincipalComponents,
        }
    }

    /// Fraction of the data that trains, in `(0, 1)` (default 0.8); see [`Split`].
    #[must_use]
    pub fn train_fraction(mut self, f: f64) -> Self {
        self.train_fraction = f;
        self
    }

    /// Split by trials, by time, or automatically (default); see [`Split`].
    #[must_use]
    pub fn split_by(mut self, by: SplitBy) -> Self {
        self.split_by = by;
        self
    }

    /// Restart the forecast from the true state every `reseed >= 1` steps (default 5;
    /// 1 = one-step-ahead; `usize::MAX` = never).
    #[must_use]
    pub fn reseed(mut self, reseed: usize) -> Self {
        self.reseed = reseed;
        self
    }

    /// Delay interval `tau >= 1` (default 1), the same at every grid point.
    #[must_use]
    pub fn delay_interval(mut self, tau: usize) -> Self {
        self.delay_interval = tau;
        self
    }

    /// Ridge parameter `lambda >= 0` (default 0).
    #[must_use]
    pub fn lambda(mut self, lambda: f64) -> Self {
        self.lambda = lambda;
        self
    }

    /// Forecast shift `s >= 1` of the fit (default 1).
    #[must_use]
    pub fn steps_ahead(mut self, s: usize) -> Self {
        self.steps_ahead = s;
        self
    }

    /// Principal-component (default) or reduced-rank regression.
    #[must_use]
    pub fn regression(mut self, r: Regression) -> Self {
        self.regression = r;
        self
    }

    /// Number of grid points, `n_delays.len() * ranks.len()`.
    #[must_use]
    pub fn grid_len(&self) -> usize {
        self.n_delays.len() * self.ranks.len()
    }

    fn validate(&self) -> Result<()> {
        check_list("n_delays", &self.n_delays)?;
        check_list("ranks", &self.ranks)?;
        if self.reseed == 0 {
            return Err(DsaError::param(
                "reseed",
                "must be at least 1 (1 = one-step-ahead; usize::MAX = never reseed)",
            ));
        }
        // the remaining checks are the fit's own
        Dmd::params()
            .delay_interval(self.delay_interval)
            .lambda(self.lambda)
            .steps_ahead(self.steps_ahead)
            .check()?;
        Ok(())
    }

    /// Time points a trial needs for `n_delays = d`: `(d-1) tau + s + 1`.
    fn needed(&self, d: usize) -> usize {
        (d - 1)
            .saturating_mul(self.delay_interval)
            .saturating_add(self.steps_ahead + 1)
    }

    /// Split `data` (see [`Split`], with `min_len` set by the smallest `n_delays`) and sweep.
    ///
    /// # Errors
    /// [`DsaError::InvalidParameter`] naming the parameter: an empty list, a 0 or a repeated
    /// value in `n_delays` or `ranks`, `reseed = 0`, `delay_interval = 0`, `steps_ahead = 0`,
    /// a negative or non-finite `lambda`; the errors of [`Split::apply`] (`train_fraction`
    /// outside `(0, 1)`, data too short to split for the smallest `n_delays`). Individual grid
    /// points that fail are skipped and reported, not errors.
    ///
    /// # Example
    /// ```
    /// use dsa::select::Sweep;
    /// let x = faer::Mat::from_fn(100, 1, |t, _| (0.1 * t as f64).sin());
    /// let err = Sweep::new([1, 2], [0, 1]).run(&x).unwrap_err();
    /// assert!(matches!(err, dsa::DsaError::InvalidParameter { name: "ranks", .. }));
    /// ```
    pub fn run<X: ToDataset + ?Sized>(&self, data: &X) -> Result<SweepResult> {
        self.validate()?;
        let d_min = self.n_delays.iter().copied().min().unwrap_or(1);
        let tt = Split::new(self.train_fraction)
            .by(self.split_by)
            .min_len(self.needed(d_min))
            .apply(data)?;
        Ok(self.sweep(&tt.train, &tt.test, Some(tt.kind)))
    }

    /// Sweep with a split made by the caller: fit on `train`, score forecasts of `test`.
    ///
    /// # Errors
    /// The parameter errors of [`Sweep::run`] (the split settings are unused); the errors of
    /// [`ToDataset::to_dataset`]; [`DsaError::ShapeMismatch`] if the two have different channel
    /// counts.
    ///
    /// # Example
    /// ```
    /// use dsa::select::Sweep;
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(300, 2, |t, c| (0.2 * t as f64 + c as f64).cos());
    /// let (train, test) = (x.as_ref().subrows(0, 200), x.as_ref().subrows(200, 100));
    /// let result = Sweep::new([1, 3], [2]).run_on(&train, &test)?;
    /// assert_eq!(result.rows.len(), 2);
    /// assert!(result.rows.iter().all(|r| r.metrics.mase < 1e-6));
    /// # Ok(()) }
    /// ```
    pub fn run_on<X: ToDataset + ?Sized, Y: ToDataset + ?Sized>(
        &self,
        train: &X,
        test: &Y,
    ) -> Result<SweepResult> {
        self.validate()?;
        let train = train.to_dataset()?;
        let test = test.to_dataset()?;
        if train.n_channels() != test.n_channels() {
            return Err(DsaError::ShapeMismatch {
                what: format!(
                    "the training data has {} channels but the test data has {}",
                    train.n_channels(),
                    test.n_channels()
                ),
            });
        }
        Ok(self.sweep(&train, &test, None))
    }

    fn sweep(&self, train: &Dataset, test: &Dataset, split: Option<SplitKind>) -> SweepResult {
        let n_dec = AtomicUsize::new(0);
        let per_delay: Vec<Vec<Point>> = self
            .n_delays
            .par_iter()
            .map(|&d| self.sweep_delay(d, train, test, &n_dec))
            .collect();
        let mut rows = Vec::new();
        let mut skipped = Vec::new();
        for p in per_delay.into_iter().flatten() {
            match p {
                Point::Row(r) => rows.push(r),
                Point::Skipped(s) => skipped.push(s),
            }
        }
        SweepResult {
            rows,
            skipped,
            n_decompositions: n_dec.into_inner(),
            split,
            reseed: self.reseed,
        }
    }

    fn sweep_delay(
        &self,
        d: usize,
        train: &Dataset,
        test: &Dataset,
        n_dec: &AtomicUsize,
    ) -> Vec<Point> {
        let skip_all = |stage: &'static str, error: DsaError| -> Vec<Point> {
            self.ranks
                .iter()
                .map(|&rank| {
                    Point::Skipped(SkippedPoint {
                        n_delays: d,
                        rank,
                        stage,
                        error: error.clone(),
                    })
                })
                .collect()
        };
        let embedding = match DelayEmbedding::new(d, self.delay_interval) {
            Ok(e) => e.with_steps_ahead(self.steps_ahead),
            Err(e) => return skip_all("train embedding", e),
        };
        let emb = match embedding.embed(train) {
            Ok(e) => e,
            Err(e) => return skip_all("train embedding", e),
        };
        if let Err(e) = embedding.embed(test) {
            return skip_all("test embedding", e);
        }
        n_dec.fetch_add(1, Ordering::Relaxed);
        let dec = match decompose(&emb) {
            Ok(x) => x,
            Err(e) => return skip_all("decomposition", e),
        };
        let p = dec.s.len();
        let nr = dec.numerical_rank;
        self.ranks
            .par_iter()
            .map(|&r| {
                let skip = |stage, error| Point::Skipped(SkippedPoint { n_delays: d, rank: r, stage, error });
                if r > p {
                    return skip(
                        "rank",
                        DsaError::param(
                            "ranks",
                            format!(
                                "rank {r} exceeds the {p} singular values available at n_delays = {d} (min(R, N*d) = min({}, {}))",
                                emb.nrows(),
                                emb.ncols()
                            ),
                        ),
                    );
                }
                if r > nr {
                    return skip(
                        "rank",
                        DsaError::param(
                            "ranks",
                            format!("rank {r} exceeds the numerical rank {nr} of the embedding at n_delays = {d}"),
                        ),
                    );
                }
                let params = match Dmd::params()
                    .n_delays(d)
                    .delay_interval(self.delay_interval)
                    .rank(r)
                    .lambda(self.lambda)
                    .steps_ahead(self.steps_ahead)
                    .regression(self.regression)
                    .check()
                {
                    Ok(p) => p,
                    Err(e) => return skip("fit", e),
                };
                let model = match fit_decomposed(&params, &emb, dec.clone()) {
                    Ok(m) => m,
                    Err(e) => return skip("fit", e),
                };
                match forecast_metrics(&model, test, self.reseed) {
                    Ok(metrics) => Point::Row(SweepRow {
                        n_delays: d,
                        rank: r,
                        metrics,
                        eigenvalues: model.eigenvalues().to_vec(),
                    }),
                    Err(e) => skip("forecast", e),
                }
            })
            .collect()
    }
}

enum Point {
    Row(SweepRow),
    Skipped(SkippedPoint),
}

fn check_list(name: &'static str, v: &[usize]) -> Result<()> {
    if v.is_empty() {
        return Err(DsaError::param(name, "give at least one value"));
    }
    if v.contains(&0) {
        return Err(DsaError::param(name, "every value must be at least 1"));
    }
    for (i, x) in v.iter().enumerate() {
        if v[..i].contains(x) {
            return Err(DsaError::param(name, format!("{x} is listed twice")));
        }
    }
    Ok(())
}

impl SweepResult {
    /// The row of grid point `(n_delays, rank)`, if it was evaluated.
    ///
    /// # Example
    /// ```
    /// use faer::stats::prelude::*;
    /// # fn main() -> dsa::Result<()> {
    /// let (mut rng, noise) = (StdRng::seed_from_u64(1), Normal::new(0.0, 0.01).unwrap());
    /// let x = faer::Mat::from_fn(200, 2, |t, c| (0.2 * t as f64 + c as f64).sin() + noise.sample(&mut rng));
    /// let result = dsa::select::Sweep::new([1, 2], [1, 2, 3]).run(&x)?;
    /// assert!(result.get(2, 3).is_some());
    /// assert!(result.get(1, 3).is_none()); // 2 channels, 1 delay: at most rank 2
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn get(&self, n_delays: usize, rank: usize) -> Option<&SweepRow> {
        self.rows
            .iter()
            .find(|r| r.n_delays == n_delays && r.rank == rank)
    }

    /// Suggest a grid point by `rule` (see [`SelectionRule`]). The default rule: among the rows
    /// whose MASE is within 1% of the best MASE, the one with the smallest rank, then the
    /// fewest delays.
    ///
    /// # Errors
    /// [`DsaError::InvalidParameter`] (`tol`) for a negative or non-finite tolerance;
    /// [`DsaError::EmptyData`] if no row has a finite value of the criterion (every grid point
    /// skipped, or every forecast diverged).
    ///
    /// # Example
    /// ```
    /// use dsa::select::{Sweep, SelectionRule};
    /// use faer::stats::prelude::*;
    /// # fn main() -> dsa::Result<()> {
    /// let (mut rng, noise) = (StdRng::seed_from_u64(2), Normal::new(0.0, 0.01).unwrap());
    /// let x = faer::Mat::from_fn(300, 3, |t, c| (0.25 * t as f64 + c as f64).sin() + noise.sample(&mut rng));
    /// let result = Sweep::new([1, 2], [1, 2, 3]).reseed(1).run(&x)?;
    /// let pick = result.suggest(SelectionRule::MaseWithin(0.01))?;
    /// assert_eq!(pick.rank, 2); // one oscillation: two dimensions
    /// let by_aic = result.suggest(SelectionRule::MinAic)?;
    /// assert!(by_aic.metrics.aic <= pick.metrics.aic);
    /// # Ok(()) }
    /// ```
    pub fn suggest(&self, rule: SelectionRule) -> Result<&SweepRow> {
        let simplest =
            |a: &&SweepRow, b: &&SweepRow| (a.rank, a.n_delays).cmp(&(b.rank, b.n_delays));
        let pick_min = |key: fn(&SweepRow) -> f64| -> Option<&SweepRow> {
            let best = self
                .rows
                .iter()
                .map(key)
                .filter(|x| x.is_finite())
                .fold(f64::INFINITY, f64::min);
            self.rows.iter().filter(|r| key(r) == best).min_by(simplest)
        };
        let found = match rule {
            SelectionRule::MaseWithin(tol) => {
                if !(tol >= 0.0 && tol.is_finite()) {
                    return Err(DsaError::param(
                        "tol",
                        format!("must be finite and >= 0, got {tol}"),
                    ));
                }
                let best = self
                    .rows
                    .iter()
                    .map(|r| r.metrics.mase)
                    .filter(|x| x.is_finite())
                    .fold(f64::INFINITY, f64::min);
                let limit = best * (1.0 + tol);
                self.rows
                    .iter()
                    .filter(|r| r.metrics.mase.is_finite() && r.metrics.mase <= limit)
                    .min_by(simplest)
            }
            SelectionRule::MinMase => pick_min(|r| r.metrics.mase),
            SelectionRule::MinAic => pick_min(|r| r.metrics.aic),
        };
        found.ok_or_else(|| DsaError::EmptyData {
            what: format!(
                "no grid point has a finite value of the selection criterion ({} evaluated, {} skipped; see SweepResult::skipped)",
                self.rows.len(),
                self.skipped.len()
            ),
        })
    }
}

impl fmt::Display for SweepResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>8} {:>5} {:>11} {:>11} {:>8} {:>8} {:>9} {:>10} {:>8}",
            "n_delays", "rank", "MSE", "MAE", "MASE", "R2", "AIC", "nonnormal", "max|eig|"
        )?;
        for r in &self.rows {
            let m = &r.metrics;
            let rho = r.eigenvalues.iter().map(|l| l.norm()).fold(0.0, f64::max);
            writeln!(
                f,
                "{:>8} {:>5} {:>11.4e} {:>11.4e} {:>8.4} {:>8.4} {:>9.4} {:>10.3e} {:>8.4}",
                r.n_delays, r.rank, m.mse, m.mae, m.mase, m.r2, m.aic, m.non_normality, rho
            )?;
        }
        if !self.skipped.is_empty() {
            writeln!(f, "skipped ({}):", self.skipped.len())?;
            for s in &self.skipped {
                writeln!(
                    f,
                    "  n_delays {:>3}, rank {:>3} [{}]: {}",
                    s.n_delays, s.rank, s.stage, s.error
                )?;
            }
        }
        write!(
            f,
            "{} decompositions, reseed {}",
            self.n_decompositions, self.reseed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    fn sine(t_len: usize, n: usize) -> Mat<f64> {
        Mat::from_fn(t_len, n, |t, c| {
            (0.21 * t as f64 + 0.7 * c as f64).sin()
                + 0.5 * (0.05 * t as f64 * (c + 1) as f64).cos()
        })
    }

    #[test]
    fn one_decomposition_per_n_delays() {
        let x = sine(300, 2);
        let res = Sweep::new([1, 2, 3, 5], [1, 2, 3, 4, 5, 6])
            .run(&x)
            .unwrap();
        assert_eq!(res.n_decompositions, 4);
        assert_eq!(res.rows.len() + res.skipped.len(), 24);
    }

    #[test]
    fn too_long_embedding_is_skipped_not_fatal() {
        // 40 points: test part has 8 points; n_delays = 10 needs 11
        let x = sine(40, 1);
        let res = Sweep::new([1, 10], [1]).run(&x).unwrap();
        assert_eq!(res.rows.len(), 1);
        assert_eq!(res.skipped.len(), 1);
        assert_eq!(res.skipped[0].stage, "test embedding");
        assert!(matches!(
            res.skipped[0].error,
            DsaError::TrialTooShort { .. }
        ));
        assert_eq!(res.n_decompositions, 1);
    }

    #[test]
    fn parameter_errors() {
        let x = sine(100, 1);
        let name = |s: Sweep| match s.run(&x).unwrap_err() {
            DsaError::InvalidParameter { name, .. } => name,
            e => panic!("{e}"),
        };
        assert_eq!(name(Sweep::new([], [1])), "n_delays");
        assert_eq!(name(Sweep::new([1, 1], [1])), "n_delays");
        assert_eq!(name(Sweep::new([1], [2, 2])), "ranks");
        assert_eq!(name(Sweep::new([1], [1]).reseed(0)), "reseed");
        assert_eq!(name(Sweep::new([1], [1]).lambda(-1.0)), "lambda");
        assert_eq!(
            name(Sweep::new([1], [1]).delay_interval(0)),
            "delay_interval"
        );
        assert_eq!(name(Sweep::new([1], [1]).steps_ahead(0)), "steps_ahead");
        assert_eq!(
            name(Sweep::new([1], [1]).train_fraction(1.5)),
            "train_fraction"
        );
        let r = Sweep::new([1], [1]).run(&x).unwrap();
        assert!(matches!(
            r.suggest(SelectionRule::MaseWithin(-0.1)),
            Err(DsaError::InvalidParameter { name: "tol", .. })
        ));
    }

    #[test]
    fn suggest_on_empty_result_is_an_error() {
        let r = SweepResult {
            rows: vec![],
            skipped: vec![],
            n_decompositions: 0,
            split: None,
            reseed: 1,
        };
        assert!(matches!(
            r.suggest(SelectionRule::default()),
            Err(DsaError::EmptyData { .. })
        ));
        assert!(matches!(
            r.suggest(SelectionRule::MinAic),
            Err(DsaError::EmptyData { .. })
        ));
    }
}
