//! Checked parameters for the DMD fit, in the style of linfa: `DmdParams` collects settings,
//! `check()` validates them into `DmdValidParams`.

use super::rank::RankRule;
use super::{DmdModel, OperatorFit};
use crate::data::Dataset;
use crate::embedding::{Embedded, Embedding};
use crate::error::{DsaError, Result};

/// How the operator is regressed (spec §3.4, §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Regression {
    /// Principal-component regression on the first `r` reduced coordinates (the default).
    #[default]
    PrincipalComponents,
    /// Reduced-rank regression: all coordinates, operator of rank at most `r`.
    ReducedRank,
}

/// DMD parameters, unchecked. Setters consume and return `self`; [`DmdParams::check`] validates.
///
/// # Example
/// ```
/// let bad = dsa::Dmd::params().rank(5).explained_variance(0.9);
/// let err = bad.check().unwrap_err();
/// assert!(err.to_string().contains("only one"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DmdParams {
    pub(crate) n_delays: usize,
    pub(crate) delay_interval: usize,
    pub(crate) rank: Option<usize>,
    pub(crate) rank_thresh: Option<f64>,
    pub(crate) explained_variance: Option<f64>,
    pub(crate) optimal_hard_threshold: bool,
    pub(crate) lambda: f64,
    pub(crate) steps_ahead: usize,
    pub(crate) regression: Regression,
}

impl Default for DmdParams {
    fn default() -> Self {
        Self {
            n_delays: 1,
            delay_interval: 1,
            rank: None,
            rank_thresh: None,
            explained_variance: None,
            optimal_hard_threshold: false,
            lambda: 0.0,
            steps_ahead: 1,
            regression: Regression::PrincipalComponents,
        }
    }
}

/// Validated DMD parameters; only [`DmdParams::check`] makes one.
#[derive(Debug, Clone, PartialEq)]
pub struct DmdValidParams {
    pub(crate) n_delays: usize,
    pub(crate) delay_interval: usize,
    pub(crate) rank_rule: RankRule,
    pub(crate) lambda: f64,
    pub(crate) steps_ahead: usize,
    pub(crate) regression: Regression,
}

impl DmdParams {
    /// Number of delays `d >= 1` (default 1: no delays).
    #[must_use]
    pub fn n_delays(mut self, d: usize) -> Self {
        self.n_delays = d;
        self
    }
    /// Delay interval `tau >= 1` (default 1).
    #[must_use]
    pub fn delay_interval(mut self, tau: usize) -> Self {
        self.delay_interval = tau;
        self
    }
    /// Fixed rank `r >= 1`, capped at the available and the numerical rank.
    #[must_use]
    pub fn rank(mut self, r: usize) -> Self {
        self.rank = Some(r);
        self
    }
    /// Keep the singular values larger than `thresh` (at least one).
    #[must_use]
    pub fn rank_thresh(mut self, thresh: f64) -> Self {
        self.rank_thresh = Some(thresh);
        self
    }
    /// Smallest rank whose cumulative explained variance reaches `q` in `(0, 1]`.
    #[must_use]
    pub fn explained_variance(mut self, q: f64) -> Self {
        self.explained_variance = Some(q);
        self
    }
    /// Choose the rank by the Gavish–Donoho optimal hard threshold for singular values.
    #[must_use]
    pub fn optimal_hard_threshold(mut self, on: bool) -> Self {
        self.optimal_hard_threshold = on;
        self
    }
    /// Set the rank rule directly (replaces any rank setting made before).
    #[must_use]
    pub fn rank_rule(mut self, rule: RankRule) -> Self {
        self.rank = None;
        self.rank_thresh = None;
        self.explained_variance = None;
        self.optimal_hard_threshold = false;
        match rule {
            RankRule::Full => {}
            RankRule::Fixed(r) => self.rank = Some(r),
            RankRule::Threshold(t) => self.rank_thresh = Some(t),
            RankRule::ExplainedVariance(q) => self.explained_variance = Some(q),
            RankRule::OptimalHardThreshold => self.optimal_hard_threshold = true,
        }
        self
    }
    /// Ridge parameter `lambda >= 0` (default 0).
    #[must_use]
    pub fn lambda(mut self, lambda: f64) -> Self {
        self.lambda = lambda;
        self
    }
    /// Forecast shift `s >= 1` (default 1).
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
    /// Shorthand for `regression(Regression::ReducedRank)` when `on`.
    #[must_use]
    pub fn reduced_rank(self, on: bool) -> Self {
        self.regression(if on {
            Regression::ReducedRank
        } else {
            Regression::PrincipalComponents
        })
    }

    /// Validate.
    ///
    /// # Errors
    /// [`DsaError::InvalidParameter`] naming the parameter: `n_delays`, `delay_interval` or
    /// `steps_ahead` of 0, `rank` of 0, a non-finite or negative `rank_thresh`, an
    /// `explained_variance` outside `(0, 1]`, a negative or non-finite `lambda`, or more than
    /// one rank rule.
    pub fn check(&self) -> Result<DmdValidParams> {
        if self.n_delays == 0 {
            return Err(DsaError::param(
                "n_delays",
                "must be at least 1 (1 means no delays)",
            ));
        }
        if self.delay_interval == 0 {
            return Err(DsaError::param("delay_interval", "must be at least 1"));
        }
        if self.steps_ahead == 0 {
            return Err(DsaError::param("steps_ahead", "must be at least 1"));
        }
        if !(self.lambda >= 0.0 && self.lambda.is_finite()) {
            return Err(DsaError::param(
                "lambda",
                format!("must be finite and >= 0, got {}", self.lambda),
            ));
        }
        let n_rules = usize::from(self.rank.is_some())
            + usize::from(self.rank_thresh.is_some())
            + usize::from(self.explained_variance.is_some())
            + usize::from(self.optimal_hard_threshold);
        if n_rules > 1 {
            return Err(DsaError::param(
                "rank",
                "set only one of rank, rank_thresh, explained_variance and optimal_hard_threshold",
            ));
        }
        let rank_rule = if let Some(r) = self.rank {
            if r == 0 {
                return Err(DsaError::param(
                    "rank",
                    "must be at least 1 (leave it unset for full rank)",
                ));
            }
            RankRule::Fixed(r)
        } else if let Some(t) = self.rank_thresh {
            if !(t >= 0.0 && t.is_finite()) {
                return Err(DsaError::param(
                    "rank_thresh",
                    format!("must be finite and >= 0, got {t}"),
                ));
            }
            RankRule::Threshold(t)
        } else if let Some(q) = self.explained_variance {
            if !(q > 0.0 && q <= 1.0) {
                return Err(DsaError::param(
                    "explained_variance",
                    format!("must be in (0, 1], got {q}"),
                ));
            }
            RankRule::ExplainedVariance(q)
        } else if self.optimal_hard_threshold {
            RankRule::OptimalHardThreshold
        } else {
            RankRule::Full
        };
        Ok(DmdValidParams {
            n_delays: self.n_delays,
            delay_interval: self.delay_interval,
            rank_rule,
            lambda: self.lambda,
            steps_ahead: self.steps_ahead,
            regression: self.regression,
        })
    }
}

impl DmdValidParams {
    /// Number of delays.
    #[must_use]
    pub fn n_delays(&self) -> usize {
        self.n_delays
    }
    /// Delay interval.
    #[must_use]
    pub fn delay_interval(&self) -> usize {
        self.delay_interval
    }
    /// The rank rule in force.
    #[must_use]
    pub fn rank_rule(&self) -> RankRule {
        self.rank_rule
    }
    /// Ridge parameter.
    #[must_use]
    pub fn lambda(&self) -> f64 {
        self.lambda
    }
    /// Forecast shift.
    #[must_use]
    pub fn steps_ahead(&self) -> usize {
        self.steps_ahead
    }
    /// Regression kind.
    #[must_use]
    pub fn regression(&self) -> Regression {
        self.regression
    }
}

impl DmdValidParams {
    /// Fit on the rows of any [`Embedding`] of `data` (the crate's own fit uses a
    /// [`crate::DelayEmbedding`] of `n_delays` and `delay_interval`, which are then not used):
    /// the SVD, the rank rule and the regression as for a delay embedding. The model records
    /// the embedding's channels, delays and interval ([`Embedded::new`]: its columns, one delay);
    /// [`DmdModel::predict`] re-embeds with a delay embedding of those, so for an embedding of
    /// another kind, forecast from [`DmdModel::operator`] yourself.
    ///
    /// # Errors
    /// The embedding's errors, and those of a fit ([`crate::DsaError::TrialTooShort`] for a
    /// trial with at most `steps_ahead` rows, [`crate::DsaError::Degenerate`] for numerically
    /// zero rows).
    ///
    /// # Example
    /// A custom embedding reaching the fit (another is on [`Embedded::new`]): every other time
    /// point of a delay embedding.
    /// ```
    /// use dsa::{Dataset, DelayEmbedding, Dmd, Embedded, Embedding};
    ///
    /// struct EveryOther(DelayEmbedding);
    ///
    /// impl Embedding for EveryOther {
    ///     fn embed(&self, data: &Dataset) -> dsa::Result<Embedded> {
    ///         let full = self.0.embed(data)?;
    ///         let keep: Vec<usize> = full.trial_rows().iter().map(|&r| r.div_ceil(2)).collect();
    ///         let (mut rows, mut start) = (Vec::new(), 0);
    ///         for &r in full.trial_rows() {
    ///             rows.extend((start..start + r).step_by(2));
    ///             start += r;
    ///         }
    ///         let h = full.matrix();
    ///         let thin = faer::Mat::from_fn(rows.len(), h.ncols(), |i, j| h[(rows[i], j)]);
    ///         Embedded::new(thin, keep)
    ///     }
    /// }
    ///
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(400, 2, |t, j| ((t as f64) * 0.05 + j as f64).sin());
    /// let data = Dataset::from_trajectory(x.as_ref())?;
    /// let params = Dmd::params().rank(2).check()?;
    /// let model = params.fit_with(&EveryOther(DelayEmbedding::new(3, 1)?), &data)?;
    /// let every = params.fit_with(&DelayEmbedding::new(3, 1)?, &data)?;
    /// // one step of the thinned fit is two of the full one: its eigenvalues are the squares
    /// for (l, m) in model.eigenvalues().iter().zip(every.eigenvalues()) {
    ///     assert!((l - m * m).norm() < 1e-8);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn fit_with<E: Embedding + ?Sized>(
        &self,
        embedding: &E,
        data: &Dataset,
    ) -> Result<DmdModel> {
        self.fit_embedded(&embedding.embed(data)?)
    }

    /// Fit on embedded rows computed already (see [`DmdValidParams::fit_with`]).
    ///
    /// # Errors
    /// As [`DmdValidParams::fit_with`].
    ///
    /// # Example
    /// ```
    /// use dsa::{Dataset, DelayEmbedding, Dmd, Embedding};
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 2, |t, j| ((t as f64) * 0.1 + j as f64).sin());
    /// let data = Dataset::from_trajectory(x.as_ref())?;
    /// let params = Dmd::params().n_delays(4).rank(4).check()?;
    /// let emb = DelayEmbedding::new(4, 1)?.embed(&data)?;
    /// let a = params.fit_embedded(&emb)?;
    /// let b = dsa::OperatorFit::fit(&params, &data)?;
    /// assert_eq!(a.operator(), b.operator());
    /// # Ok(()) }
    /// ```
    pub fn fit_embedded(&self, embedded: &Embedded) -> Result<DmdModel> {
        let mut params = self.clone();
        params.n_delays = embedded.n_delays();
        params.delay_interval = embedded.delay_interval();
        super::dmd::fit_embedded(&params, embedded)
    }
}

impl OperatorFit for DmdParams {
    type Model = DmdModel;
    fn fit(&self, data: &Dataset) -> Result<DmdModel> {
        self.check()?.fit(data)
    }
}

impl OperatorFit for DmdValidParams {
    type Model = DmdModel;
    fn fit(&self, data: &Dataset) -> Result<DmdModel> {
        super::dmd::fit(self, data)
    }
}
