//! `DsaBuilder`: every setting of a [`Dsa`], validated by [`DsaBuilder::build`].

use std::fmt;
use std::ops::ControlFlow;
use std::sync::Arc;

use super::per_dataset::{Layout, PerDataset};
use super::{Dsa, Progress, DEFAULT_N_DELAYS, DEFAULT_RANK};
use crate::data::Dataset;
use crate::error::{DsaError, Result};
use crate::operator::{Dmd, DmdParams, DmdValidParams, RankRule, Regression};
use crate::similarity::{Score, SizeMismatch};
use crate::solver::{OrthogonalSolver, RiemannianLbfgs};

pub(crate) use crate::parallel::ProgressFn;

/// The DMD settings of a [`Dsa`], each one broadcast, per side or per dataset.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DmdSettings {
    /// `None`: the automatic default (10, capped by the shortest trial).
    pub n_delays: Option<PerDataset<usize>>,
    pub delay_interval: PerDataset<usize>,
    pub rank: Option<PerDataset<usize>>,
    pub rank_thresh: Option<PerDataset<f64>>,
    pub explained_variance: Option<PerDataset<f64>>,
    pub rank_rule: Option<PerDataset<RankRule>>,
    pub lambda: PerDataset<f64>,
    pub steps_ahead: PerDataset<usize>,
    pub regression: Regression,
}

impl Default for DmdSettings {
    fn default() -> Self {
        Self {
            n_delays: None,
            delay_interval: PerDataset::All(1),
            rank: None,
            rank_thresh: None,
            explained_variance: None,
            rank_rule: None,
            lambda: PerDataset::All(0.0),
            steps_ahead: PerDataset::All(1),
            regression: Regression::PrincipalComponents,
        }
    }
}

/// The automatic number of delays for a dataset whose shortest trial has `t_min` points:
/// [`DEFAULT_N_DELAYS`], reduced so that the delay window `(d-1)*tau` spans at most half of the
/// shortest trial and every trial keeps at least `1 + steps_ahead` embedded rows. At least 1.
pub(crate) fn auto_n_delays(t_min: usize, tau: usize, steps_ahead: usize) -> usize {
    let half = t_min / (2 * tau);
    let fit = if t_min > steps_ahead {
        (t_min - 1 - steps_ahead) / tau
    } else {
        0
    };
    (1 + half.min(fit)).min(DEFAULT_N_DELAYS)
}

impl DmdSettings {
    /// Validate every value (at build time). Errors name the parameter; for a list, the
    /// message names the entry.
    fn validate(&self) -> Result<()> {
        fn each<T: Clone>(
            name: &'static str,
            setting: &PerDataset<T>,
            check: impl Fn(T) -> DmdParams,
        ) -> Result<()> {
            if setting.is_empty_list() {
                return Err(DsaError::param(
                    name,
                    "the per-dataset list is empty; give at least one value",
                ));
            }
            for (idx, v) in setting.values() {
                if let Err(e) = check(v).check() {
                    return Err(match (e, idx) {
                        (DsaError::InvalidParameter { reason, .. }, Some(i)) => {
                            DsaError::param(name, format!("entry {i}: {reason}"))
                        }
                        (DsaError::InvalidParameter { reason, .. }, None) => {
                            DsaError::param(name, reason)
                        }
                        (other, _) => other,
                    });
                }
            }
            Ok(())
        }
        if let Some(d) = &self.n_delays {
            each("n_delays", d, |v| Dmd::params().n_delays(v))?;
        }
        each("delay_interval", &self.delay_interval, |v| {
            Dmd::params().delay_interval(v)
        })?;
        each("lambda", &self.lambda, |v| Dmd::params().lambda(v))?;
        each("steps_ahead", &self.steps_ahead, |v| {
            Dmd::params().steps_ahead(v)
        })?;
        let n_rules = usize::from(self.rank.is_some())
            + usize::from(self.rank_thresh.is_some())
            + usize::from(self.explained_variance.is_some())
            + usize::from(self.rank_rule.is_some());
        if n_rules > 1 {
            return Err(DsaError::param(
                "rank",
                "set only one of rank, rank_thresh, explained_variance and rank_rule",
            ));
        }
        if let Some(r) = &self.rank {
            each("rank", r, |v| Dmd::params().rank(v))?;
        }
        if let Some(t) = &self.rank_thresh {
            each("rank_thresh", t, |v| Dmd::params().rank_thresh(v))?;
        }
        if let Some(q) = &self.explained_variance {
            each("explained_variance", q, |v| {
                Dmd::params().explained_variance(v)
            })?;
        }
        if let Some(rule) = &self.rank_rule {
            each("rank_rule", rule, |v| Dmd::params().rank_rule(v))?;
        }
        Ok(())
    }

    /// The DMD parameters of every dataset of a call (`data` in call order, X side first).
    pub(crate) fn resolve(&self, layout: Layout, data: &[&Dataset]) -> Result<Vec<DmdValidParams>> {
        debug_assert_eq!(layout.len(), data.len());
        let tau = self.delay_interval.resolve("delay_interval", layout)?;
        let lambda = self.lambda.resolve("lambda", layout)?;
        let steps = self.steps_ahead.resolve("steps_ahead", layout)?;
        let n_delays = match &self.n_delays {
            Some(d) => d.resolve("n_delays", layout)?,
            None => data
                .iter()
                .zip(tau.iter().zip(&steps))
                .map(|(x, (&tau, &s))| {
                    let t_min = x.trial_lens().into_iter().min().unwrap_or(0);
                    auto_n_delays(t_min, tau, s)
                })
                .collect(),
        };
        let rank = self
            .rank
            .as_ref()
            .map(|r| r.resolve("rank", layout))
            .transpose()?;
        let thresh = self
            .rank_thresh
            .as_ref()
            .map(|r| r.resolve("rank_thresh", layout))
            .transpose()?;
        let ev = self
            .explained_variance
            .as_ref()
            .map(|r| r.resolve("explained_variance", layout))
            .transpose()?;
        let rule = self
            .rank_rule
            .as_ref()
            .map(|r| r.resolve("rank_rule", layout))
            .transpose()?;
        (0..layout.len())
            .map(|i| {
                let p = Dmd::params()
                    .n_delays(n_delays[i])
                    .delay_interval(tau[i])
                    .lambda(lambda[i])
                    .steps_ahead(steps[i])
                    .regression(self.regression);
                let p = if let Some(r) = &rank {
                    p.rank(r[i])
                } else if let Some(t) = &thresh {
                    p.rank_thresh(t[i])
                } else if let Some(q) = &ev {
                    p.explained_variance(q[i])
                } else if let Some(rule) = &rule {
                    p.rank_rule(rule[i])
                } else {
                    p.rank(DEFAULT_RANK)
                };
                p.check()
            })
            .collect()
    }
}

/// Settings for a [`Dsa`]; start with [`Dsa::builder`], finish with [`DsaBuilder::build`].
///
/// Every setter consumes and returns the builder. Nothing is checked until
/// [`build`](DsaBuilder::build), which reports the first invalid setting as
/// [`DsaError::InvalidParameter`] naming it. The defaults, and why they were chosen, are listed
/// on [`Dsa`] and in `docs/defaults.md`.
///
/// DMD settings (`n_delays`, `delay_interval`, `rank`, `rank_thresh`, `explained_variance`,
/// `rank_rule`, `lambda`, `steps_ahead`) have a `_per_dataset` variant that takes a
/// [`PerDataset`]: one value for all, one per side, or one per dataset (X side first, then Y
/// side; see [`PerDataset`] for how each call numbers its datasets).
///
/// # Example
/// ```
/// use dsa::{Dsa, Score};
/// # fn main() -> dsa::Result<()> {
/// let dsa = Dsa::builder()
///     .n_delays(5)
///     .rank(8)
///     .score(Score::Euclidean)
///     .threads(2)
///     .build()?;
/// assert_eq!(dsa.score(), Score::Euclidean);
/// assert_eq!(dsa.threads(), Some(2));
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct DsaBuilder {
    dmd: DmdSettings,
    score: Score,
    solver: Option<Arc<dyn OrthogonalSolver>>,
    seed: Option<u64>,
    threads: Option<usize>,
    size_mismatch: SizeMismatch,
    progress: Option<ProgressFn>,
}

impl fmt::Debug for DsaBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DsaBuilder")
            .field("dmd", &self.dmd)
            .field("score", &self.score)
            .field("solver", &self.solver)
            .field("seed", &self.seed)
            .field("threads", &self.threads)
            .field("size_mismatch", &self.size_mismatch)
            .field("progress", &self.progress.as_ref().map(|_| "Fn(Progress)"))
            .finish()
    }
}

impl DsaBuilder {
    /// Number of delays `d >= 1` for every dataset. Default: automatic, 10 reduced for short
    /// trials (see [`Dsa`]).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 3, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
    /// let model = dsa::Dsa::builder().n_delays(4).build()?.fit(&x)?;
    /// assert_eq!((model.params().n_delays(), model.rank()), (4, 12));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn n_delays(self, d: usize) -> Self {
        self.n_delays_per_dataset(d)
    }
    /// Number of delays per dataset: a value, `(x_side, y_side)`, or a list.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 2, |t, j| ((t as f64) * (0.1 + 0.1 * j as f64)).sin());
    /// let dsa = dsa::Dsa::builder().n_delays_per_dataset(vec![2, 4]).rank(4).build()?;
    /// let models = dsa.fit_all(&[&x, &x])?;
    /// assert_eq!((models[0].params().n_delays(), models[1].params().n_delays()), (2, 4));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn n_delays_per_dataset(mut self, d: impl Into<PerDataset<usize>>) -> Self {
        self.dmd.n_delays = Some(d.into());
        self
    }
    /// Delay interval `tau >= 1` (default 1).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 3, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
    /// let model = dsa::Dsa::builder().n_delays(3).delay_interval(5).build()?.fit(&x)?;
    /// assert_eq!(model.hankel_shape(), (200 - 2 * 5, 9));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn delay_interval(self, tau: usize) -> Self {
        self.delay_interval_per_dataset(tau)
    }
    /// Delay interval per dataset.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 3, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
    /// let dsa = dsa::Dsa::builder().n_delays(3).delay_interval_per_dataset(vec![1, 2]).build()?;
    /// let m = dsa.fit_all(&[&x, &x])?;
    /// assert_eq!((m[0].params().delay_interval(), m[1].params().delay_interval()), (1, 2));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn delay_interval_per_dataset(mut self, tau: impl Into<PerDataset<usize>>) -> Self {
        self.dmd.delay_interval = tau.into();
        self
    }
    /// Fixed rank `r >= 1`, capped at what each dataset allows (default 30).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 3, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
    /// let model = dsa::Dsa::builder().n_delays(4).rank(5).build()?.fit(&x)?;
    /// assert_eq!(model.operator().nrows(), 5);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn rank(self, r: usize) -> Self {
        self.rank_per_dataset(r)
    }
    /// Fixed rank per dataset.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 3, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
    /// let m = dsa::Dsa::builder().n_delays(4).rank_per_dataset(vec![5, 7]).build()?.fit_all(&[&x, &x])?;
    /// assert_eq!((m[0].rank(), m[1].rank()), (5, 7));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn rank_per_dataset(mut self, r: impl Into<PerDataset<usize>>) -> Self {
        self.dmd.rank = Some(r.into());
        self
    }
    /// Rank = number of singular values above `thresh` (at least 1).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 3, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
    /// let model = dsa::Dsa::builder().n_delays(4).rank_thresh(0.0).build()?.fit(&x)?;
    /// assert_eq!(model.rank(), 12); // every singular value is above 0
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn rank_thresh(self, thresh: f64) -> Self {
        self.rank_thresh_per_dataset(thresh)
    }
    /// Singular-value threshold per dataset.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 3, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
    /// let dsa = dsa::Dsa::builder().n_delays(4).rank_thresh_per_dataset(vec![0.0, 1e9]).build()?;
    /// let m = dsa.fit_all(&[&x, &x])?;
    /// assert_eq!((m[0].rank(), m[1].rank()), (12, 1));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn rank_thresh_per_dataset(mut self, thresh: impl Into<PerDataset<f64>>) -> Self {
        self.dmd.rank_thresh = Some(thresh.into());
        self
    }
    /// Smallest rank whose cumulative explained variance reaches `q` in `(0, 1]`.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 3, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
    /// let model = dsa::Dsa::builder().n_delays(4).explained_variance(1.0).build()?.fit(&x)?;
    /// assert_eq!(model.rank(), 12);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn explained_variance(self, q: f64) -> Self {
        self.explained_variance_per_dataset(q)
    }
    /// Explained-variance target per dataset.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 3, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
    /// let dsa = dsa::Dsa::builder().n_delays(4).explained_variance_per_dataset((0.5, 1.0)).build()?;
    /// let report = dsa.compare(&x, &x);
    /// // ranks differ, so Procrustes refuses the pair by default
    /// assert!(matches!(report, Err(dsa::DsaError::SizeMismatch { .. })));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn explained_variance_per_dataset(mut self, q: impl Into<PerDataset<f64>>) -> Self {
        self.dmd.explained_variance = Some(q.into());
        self
    }
    /// Set the rank rule directly, e.g. [`RankRule::Full`] or
    /// [`RankRule::OptimalHardThreshold`]; replaces any rank setting made before.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 3, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
    /// let model = dsa::Dsa::builder().n_delays(20).rank_rule(dsa::RankRule::Full).build()?.fit(&x)?;
    /// assert_eq!(model.rank(), 60); // the default would cap it at 30
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn rank_rule(self, rule: RankRule) -> Self {
        self.rank_rule_per_dataset(rule)
    }
    /// Rank rule per dataset; replaces any rank setting made before.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 3, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
    /// use dsa::RankRule;
    /// let dsa = dsa::Dsa::builder().n_delays(4).rank_rule_per_dataset(vec![RankRule::Full, RankRule::Fixed(2)]).build()?;
    /// let m = dsa.fit_all(&[&x, &x])?;
    /// assert_eq!((m[0].rank(), m[1].rank()), (12, 2));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn rank_rule_per_dataset(mut self, rule: impl Into<PerDataset<RankRule>>) -> Self {
        self.dmd.rank = None;
        self.dmd.rank_thresh = None;
        self.dmd.explained_variance = None;
        self.dmd.rank_rule = Some(rule.into());
        self
    }
    /// Ridge parameter `lambda >= 0` (default 0).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 3, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
    /// let plain = dsa::Dsa::builder().n_delays(2).build()?.fit(&x)?;
    /// let ridge = dsa::Dsa::builder().n_delays(2).lambda(1.0).build()?.fit(&x)?;
    /// assert!(ridge.operator().norm_l2() < plain.operator().norm_l2());
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn lambda(self, lambda: f64) -> Self {
        self.lambda_per_dataset(lambda)
    }
    /// Ridge parameter per dataset.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 3, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
    /// let m = dsa::Dsa::builder().n_delays(2).lambda_per_dataset(vec![0.0, 0.5]).build()?.fit_all(&[&x, &x])?;
    /// assert_eq!((m[0].params().lambda(), m[1].params().lambda()), (0.0, 0.5));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn lambda_per_dataset(mut self, lambda: impl Into<PerDataset<f64>>) -> Self {
        self.dmd.lambda = lambda.into();
        self
    }
    /// Reduced-rank regression instead of principal-component regression (default false).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 3, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
    /// let model = dsa::Dsa::builder().n_delays(2).rank(3).reduced_rank(true).build()?.fit(&x)?;
    /// assert_eq!(model.regression(), dsa::Regression::ReducedRank);
    /// assert_eq!(model.operator().nrows(), 6); // p x p, of rank <= 3
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn reduced_rank(mut self, on: bool) -> Self {
        self.dmd.regression = if on {
            Regression::ReducedRank
        } else {
            Regression::PrincipalComponents
        };
        self
    }
    /// Forecast shift `s >= 1` of the regression (default 1).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 3, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
    /// let model = dsa::Dsa::builder().n_delays(2).steps_ahead(3).build()?.fit(&x)?;
    /// assert_eq!(model.params().steps_ahead(), 3);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn steps_ahead(self, s: usize) -> Self {
        self.steps_ahead_per_dataset(s)
    }
    /// Forecast shift per dataset.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 3, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
    /// let m = dsa::Dsa::builder().n_delays(2).steps_ahead_per_dataset(vec![1, 2]).build()?.fit_all(&[&x, &x])?;
    /// assert_eq!((m[0].params().steps_ahead(), m[1].params().steps_ahead()), (1, 2));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn steps_ahead_per_dataset(mut self, s: impl Into<PerDataset<usize>>) -> Self {
        self.dmd.steps_ahead = s.into();
        self
    }
    /// Take every DMD setting from a [`DmdParams`] (for all datasets), replacing the DMD
    /// settings made before. The explicit `n_delays` of `params` replaces the automatic default.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let dsa = dsa::Dsa::builder().dmd(dsa::Dmd::params().n_delays(3).rank(5)).build()?;
    /// let x = faer::Mat::from_fn(100, 2, |t, j| ((t as f64) * (0.2 + 0.1 * j as f64)).cos());
    /// assert_eq!(dsa.fit(&x)?.params().n_delays(), 3);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn dmd(mut self, params: DmdParams) -> Self {
        self.dmd = DmdSettings {
            n_delays: Some(PerDataset::All(params.n_delays)),
            delay_interval: PerDataset::All(params.delay_interval),
            rank: params.rank.map(PerDataset::All),
            rank_thresh: params.rank_thresh.map(PerDataset::All),
            explained_variance: params.explained_variance.map(PerDataset::All),
            rank_rule: if params.optimal_hard_threshold {
                Some(PerDataset::All(RankRule::OptimalHardThreshold))
            } else if params.rank.is_none()
                && params.rank_thresh.is_none()
                && params.explained_variance.is_none()
            {
                // DmdParams without a rank rule means full rank, not the DSA default rank.
                Some(PerDataset::All(RankRule::Full))
            } else {
                None
            },
            lambda: PerDataset::All(params.lambda),
            steps_ahead: PerDataset::All(params.steps_ahead),
            regression: params.regression,
        };
        self
    }
    /// Which number the comparison reports (default [`Score::Angular`]).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 3, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
    /// let dsa = dsa::Dsa::builder().n_delays(3).rank(6).score(dsa::Score::Euclidean).build()?;
    /// assert!(dsa.distance(&x, &x)? < 1e-10);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn score(mut self, score: Score) -> Self {
        self.score = score;
        self
    }
    /// The optimizer over `O(n)` for the Procrustes scores (default
    /// [`RiemannianLbfgs::default`]). One solver is shared by all pairs and threads.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 3, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
    /// let paper = dsa::Dsa::builder().n_delays(2).rank(4).solver(dsa::CayleyAdam::default()).build()?;
    /// assert_eq!(paper.solver().name(), dsa::OrthogonalSolver::name(&dsa::CayleyAdam::default()));
    /// let y = faer::Mat::from_fn(200, 3, |t, j| x[(t, (j + 1) % 3)]); // channels permuted
    /// let exact = dsa::Dsa::builder().n_delays(2).rank(4).build()?;
    /// assert!(exact.distance(&x, &y)? < 1e-8); // the default solver finds the permutation
    /// assert!(paper.distance(&x, &y)? >= 0.0); // the paper's solver may stop short of it
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn solver<S: OrthogonalSolver + 'static>(self, solver: S) -> Self {
        self.shared_solver(Arc::new(solver))
    }
    /// A solver that is already shared.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// use std::sync::Arc;
    /// let solver: Arc<dyn dsa::OrthogonalSolver> = Arc::new(dsa::RiemannianLbfgs::default().seed(3));
    /// let a = dsa::Dsa::builder().shared_solver(solver.clone()).build()?;
    /// let b = dsa::Dsa::builder().shared_solver(solver).score(dsa::Score::Euclidean).build()?;
    /// assert_eq!(a.solver().name(), b.solver().name());
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn shared_solver(mut self, solver: Arc<dyn OrthogonalSolver>) -> Self {
        self.solver = Some(solver);
        self
    }
    /// Seed of the default solver's random starts (default 0). Every pair is solved with the
    /// same seed, so a pair's distance depends neither on the other datasets of a call nor on
    /// the number of threads. With a custom [`solver`](Self::solver), set its seed on the solver
    /// itself (setting both is an error). The seed also drives the resampling of
    /// [`crate::stats`] (0 when unset, including with a custom solver).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 3, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
    /// let y = faer::Mat::from_fn(200, 3, |t, j| (((t * 11 + j * 5) as f64).sin() * 43758.5453).fract());
    /// let a = dsa::Dsa::builder().n_delays(2).seed(42).build()?.distance(&x, &y)?;
    /// let b = dsa::Dsa::builder().n_delays(2).seed(42).threads(1).build()?.distance(&x, &y)?;
    /// assert_eq!(a.to_bits(), b.to_bits());
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
    /// Worker threads: `None` (the default) runs on rayon's global pool; `Some(k)` builds a
    /// dedicated pool of `k` threads in [`build`](Self::build). Accepts `k` or `Some(k)`/`None`.
    /// Results are bitwise identical for every thread count.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 3, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
    /// let xs = vec![x.clone(), x.clone(), x];
    /// let one = dsa::Dsa::builder().n_delays(2).threads(1).build()?.pairwise(&xs)?;
    /// let two = dsa::Dsa::builder().n_delays(2).threads(Some(2)).build()?.pairwise(&xs)?;
    /// assert_eq!(one, two);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn threads(mut self, threads: impl Into<Option<usize>>) -> Self {
        self.threads = threads.into();
        self
    }
    /// What to do when two operators have different sizes (default
    /// [`SizeMismatch::Error`]). [`SizeMismatch::Spectral`] reports the squared Wasserstein
    /// distance between spectra for such pairs (the reference's silent behaviour).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 3, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
    /// let dsa = dsa::Dsa::builder()
    ///     .n_delays(2)
    ///     .rank_per_dataset((4, 6))
    ///     .size_mismatch(dsa::SizeMismatch::Spectral)
    ///     .build()?;
    /// let report = dsa.compare(&x, &x)?;
    /// assert_eq!(report.score, dsa::Score::Wasserstein);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn size_mismatch(mut self, policy: SizeMismatch) -> Self {
        self.size_mismatch = policy;
        self
    }
    /// A progress callback, called from worker threads after each pair with the number of pairs
    /// done and the total. Return [`ControlFlow::Break`] to cancel: the remaining pairs are
    /// skipped and the call returns [`DsaError::Cancelled`] (never a partial result).
    ///
    /// `done` counts up from 1 to `total`; calls can arrive out of order across threads (two
    /// threads may report 5 and 6 in either order), each value is reported once, and no call is
    /// made after a cancellation has been seen.
    ///
    /// # Example
    /// ```
    /// use std::ops::ControlFlow;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// # fn main() -> dsa::Result<()> {
    /// let calls = Arc::new(AtomicUsize::new(0));
    /// let seen = calls.clone();
    /// let dsa = dsa::Dsa::builder()
    ///     .n_delays(2)
    ///     .rank(4)
    ///     .progress(move |p| {
    ///         seen.fetch_add(1, Ordering::Relaxed);
    ///         assert!(p.done >= 1 && p.done <= p.total);
    ///         ControlFlow::Continue(())
    ///     })
    ///     .build()?;
    /// let xs: Vec<_> = (0..3)
    ///     .map(|k| faer::Mat::from_fn(100, 2, |t, j| ((t as f64) * 0.1 * (k + j + 1) as f64).sin()))
    ///     .collect();
    /// dsa.pairwise(&xs)?;
    /// assert_eq!(calls.load(Ordering::Relaxed), 3); // 3 pairs
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn progress<F>(mut self, f: F) -> Self
    where
        F: Fn(Progress) -> ControlFlow<()> + Send + Sync + 'static,
    {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Validate every setting and build the [`Dsa`] (and its thread pool, if requested).
    ///
    /// # Errors
    /// [`DsaError::InvalidParameter`] naming the first invalid setting: `n_delays`,
    /// `delay_interval` or `steps_ahead` of 0; `rank` of 0; a negative or non-finite
    /// `rank_thresh` or `lambda`; an `explained_variance` outside `(0, 1]`; more than one rank
    /// rule (`rank`); an empty per-dataset list; `threads(0)` or a pool that cannot be built
    /// (`threads`); `seed` together with a custom solver (`seed`); the solver's own invalid
    /// settings ([`OrthogonalSolver::check`], named by the solver's setter).
    ///
    /// # Example
    /// ```
    /// let err = dsa::Dsa::builder().n_delays_per_dataset(vec![3, 0]).build().unwrap_err();
    /// assert!(matches!(err, dsa::DsaError::InvalidParameter { name: "n_delays", .. }));
    /// assert!(err.to_string().contains("entry 1"));
    /// ```
    pub fn build(self) -> Result<Dsa> {
        self.dmd.validate()?;
        let solver: Arc<dyn OrthogonalSolver> = match (self.solver, self.seed) {
            (Some(_), Some(_)) => {
                return Err(DsaError::param(
                    "seed",
                    "a custom solver was given: set the seed on the solver itself (e.g. \
                     RiemannianLbfgs::default().seed(..)) and leave the builder's seed unset",
                ))
            }
            (Some(s), None) => s,
            (None, seed) => Arc::new(RiemannianLbfgs::default().seed(seed.unwrap_or(0))),
        };
        // once here rather than at every pair
        solver.check()?;
        let pool = match self.threads {
            None => None,
            Some(0) => {
                return Err(DsaError::param(
                    "threads",
                    "must be at least 1 (use None for rayon's global pool)",
                ))
            }
            Some(k) => Some(Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(k)
                    .thread_name(|i| format!("dsa-worker-{i}"))
                    .build()
                    .map_err(|e| {
                        DsaError::param(
                            "threads",
                            format!("cannot build a pool of {k} threads: {e}"),
                        )
                    })?,
            )),
        };
        Ok(Dsa {
            dmd: self.dmd,
            score: self.score,
            solver,
            size_mismatch: self.size_mismatch,
            threads: self.threads,
            pool,
            progress: self.progress,
            seed: self.seed.unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_delays() {
        assert_eq!(auto_n_delays(1000, 1, 1), 10);
        assert_eq!(auto_n_delays(12, 1, 1), 7);
        assert_eq!(auto_n_delays(4, 1, 1), 3);
        assert_eq!(auto_n_delays(2, 1, 1), 1);
        assert_eq!(auto_n_delays(1, 1, 1), 1);
        assert_eq!(auto_n_delays(20, 3, 1), 4);
        // the embedding always leaves 1 + steps_ahead rows when that is possible
        for t in 2..40 {
            for tau in 1..4 {
                for s in 1..4 {
                    let d = auto_n_delays(t, tau, s);
                    assert!((1..=DEFAULT_N_DELAYS).contains(&d));
                    if t > s {
                        assert!(t - (d - 1) * tau > s, "t {t} tau {tau} s {s} d {d}");
                        assert!((d - 1) * tau <= t / 2);
                    }
                }
            }
        }
    }
}
