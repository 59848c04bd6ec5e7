//! `InputDsaBuilder`: every setting of an [`InputDsa`], validated by
//! [`InputDsaBuilder::build`].

use std::fmt;
use std::ops::ControlFlow;
use std::sync::Arc;

use super::compare::Comparer;
use super::dmdc::{Dmdc, DmdcValidParams, TrialShift};
use super::joint::{JointDynamics, DEFAULT_WEIGHT};
use super::model::{DrivenFit, InputModel};
use super::subspace::{Subspace, SubspaceBasis, SubspaceValidParams};
use super::{Controllability, InputCompare, InputDsa, InputFit};
use crate::compare::Progress;
use crate::data::Dataset;
use crate::error::{DsaError, Result};
use crate::operator::RankRule;
use crate::similarity::Score;
use crate::solver::{OrthogonalSolver, RiemannianLbfgs};

pub(crate) use crate::parallel::ProgressFn;

/// The validated fit of an [`InputDsa`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FitParams {
    Dmdc(DmdcValidParams),
    Subspace(SubspaceValidParams),
}

impl FitParams {
    pub(crate) fn fit(&self, states: &Dataset, inputs: &Dataset) -> Result<InputModel> {
        Ok(match self {
            FitParams::Dmdc(p) => InputModel::Dmdc(p.fit(states, inputs)?),
            FitParams::Subspace(p) => InputModel::Subspace(p.fit(states, inputs)?),
        })
    }

    pub(crate) fn kind(&self) -> InputFit {
        match self {
            FitParams::Dmdc(_) => InputFit::Dmdc,
            FitParams::Subspace(_) => InputFit::Subspace,
        }
    }
}

/// Settings for an [`InputDsa`]; start with [`InputDsa::builder`], finish with
/// [`InputDsaBuilder::build`].
///
/// Every setter consumes and returns the builder; nothing is checked until `build`, which
/// reports the first invalid setting as [`DsaError::InvalidParameter`] naming it.
///
/// Defaults (the reference's, except the score and the subspace basis): [`InputFit::Subspace`]
/// with [`SubspaceBasis::Orthonormal`], `n_delays = 1`, the order by the 0.999 energy rule
/// (subspace) or full ranks (DMDc), `lambda = 0`,
/// [`InputCompare::Joint`] with [`Controllability::Scaled`], [`Score::Angular`] (the crate's
/// default; the reference's is Euclidean), `control_weight = 1` for
/// [`InputCompare::JointDynamics`], the crate's default solver with seed 0, rayon's global
/// pool.
///
/// # Example
/// ```
/// use dsa::{InputCompare, InputDsa, InputFit, Score};
/// # fn main() -> dsa::Result<()> {
/// let dsa = InputDsa::builder()
///     .fit(InputFit::Dmdc)
///     .n_delays(3)
///     .rank(6)
///     .lambda(1e-6)
///     .compare(InputCompare::JointDynamics)
///     .score(Score::Euclidean)
///     .threads(2)
///     .build()?;
/// assert_eq!((dsa.fit_kind(), dsa.threads()), (InputFit::Dmdc, Some(2)));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct InputDsaBuilder {
    fit: InputFit,
    n_delays: usize,
    delay_interval: Option<usize>,
    n_control_delays: Option<usize>,
    steps_ahead: Option<usize>,
    rank: Option<RankRule>,
    input_rank: Option<RankRule>,
    lambda: f64,
    trial_shift: Option<TrialShift>,
    subspace_basis: Option<SubspaceBasis>,
    compare: InputCompare,
    score: Score,
    controllability: Controllability,
    control_weight: f64,
    solver: Option<Arc<dyn OrthogonalSolver>>,
    seed: Option<u64>,
    threads: Option<usize>,
    progress: Option<ProgressFn>,
}

impl Default for InputDsaBuilder {
    fn default() -> Self {
        Self {
            fit: InputFit::Subspace,
            n_delays: 1,
            delay_interval: None,
            n_control_delays: None,
            steps_ahead: None,
            rank: None,
            input_rank: None,
            lambda: 0.0,
            trial_shift: None,
            subspace_basis: None,
            compare: InputCompare::Joint,
            score: Score::Angular,
            controllability: Controllability::Scaled,
            control_weight: DEFAULT_WEIGHT,
            solver: None,
            seed: None,
            threads: None,
            progress: None,
        }
    }
}

impl fmt::Debug for InputDsaBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InputDsaBuilder")
            .field("fit", &self.fit)
            .field("n_delays", &self.n_delays)
            .field("rank", &self.rank)
            .field("lambda", &self.lambda)
            .field("compare", &self.compare)
            .field("score", &self.score)
            .field("threads", &self.threads)
            .field("progress", &self.progress.as_ref().map(|_| "Fn(Progress)"))
            .finish_non_exhaustive()
    }
}

impl InputDsaBuilder {
    /// The model fitted to each system (default [`InputFit::Subspace`]).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let (x, u) = dsa::input::simulate_example(200, 0);
    /// let model = dsa::InputDsa::builder().fit(dsa::InputFit::Dmdc).build()?.fit(&x, &u)?;
    /// assert!(model.dmdc().is_some());
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn fit(mut self, fit: InputFit) -> Self {
        self.fit = fit;
        self
    }
    /// `n_delays >= 1` (default 1): the delay blocks of the DMDc state embedding, or the past
    /// and future horizon of the subspace fit.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let (x, u) = dsa::input::simulate_example(200, 0);
    /// let model = dsa::InputDsa::builder().n_delays(3).rank(3).build()?.fit(&x, &u)?;
    /// assert_eq!(model.subspace().unwrap().observability().nrows(), 9); // 3 blocks of 3 channels
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn n_delays(mut self, d: usize) -> Self {
        self.n_delays = d;
        self
    }
    /// Fixed rank `r >= 1`: the model order (subspace) or the rank of the targets, i.e. the size
    /// of `A` (DMDc). Capped at the numerical rank.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let (x, u) = dsa::input::simulate_example(200, 0);
    /// assert_eq!(dsa::InputDsa::builder().rank(2).build()?.fit(&x, &u)?.rank(), 2);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn rank(self, r: usize) -> Self {
        self.rank_rule(RankRule::Fixed(r))
    }
    /// The rank rule for the order (subspace) or the size of `A` (DMDc).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let (x, u) = dsa::input::simulate_example(200, 0);
    /// let dsa = dsa::InputDsa::builder().rank_rule(dsa::RankRule::ExplainedVariance(0.9)).build()?;
    /// assert!(dsa.fit(&x, &u)?.rank() <= 3);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn rank_rule(mut self, rule: RankRule) -> Self {
        self.rank = Some(rule);
        self
    }
    /// Ridge parameter `lambda >= 0` (default 0): the Tikhonov filter of DMDc, the `[A B]`
    /// regression of the subspace fit.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let err = dsa::InputDsa::builder().lambda(-1.0).build().unwrap_err();
    /// assert!(matches!(err, dsa::DsaError::InvalidParameter { name: "lambda", .. }));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn lambda(mut self, lambda: f64) -> Self {
        self.lambda = lambda;
        self
    }
    /// DMDc only: steps `tau >= 1` between delay blocks (default 1).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let dsa = dsa::InputDsa::builder().fit(dsa::InputFit::Dmdc).n_delays(2).delay_interval(3).build()?;
    /// assert!(dsa::InputDsa::builder().delay_interval(3).build().is_err()); // subspace fit
    /// # let _ = dsa;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn delay_interval(mut self, tau: usize) -> Self {
        self.delay_interval = Some(tau);
        self
    }
    /// DMDc only: delay blocks of the inputs, `1..=n_delays` (default 1).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let (x, u) = dsa::input::simulate_example(200, 0);
    /// let dsa = dsa::InputDsa::builder().fit(dsa::InputFit::Dmdc).n_delays(2).n_control_delays(2).build()?;
    /// assert_eq!(dsa.fit(&x, &u)?.n_inputs(), 4); // 2 inputs x 2 blocks
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn n_control_delays(mut self, d: usize) -> Self {
        self.n_control_delays = Some(d);
        self
    }
    /// DMDc only: prediction horizon `s >= 1` of the regression (default 1).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let dsa = dsa::InputDsa::builder().fit(dsa::InputFit::Dmdc).steps_ahead(2).build()?;
    /// # let _ = dsa;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn steps_ahead(mut self, s: usize) -> Self {
        self.steps_ahead = Some(s);
        self
    }
    /// DMDc only: fixed rank `p >= 1` of the regressor `[X; U]` (default: full, capped at the
    /// numerical rank).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let (x, u) = dsa::input::simulate_example(200, 0);
    /// let dsa = dsa::InputDsa::builder().fit(dsa::InputFit::Dmdc).input_rank(4).build()?;
    /// assert_eq!(dsa.fit(&x, &u)?.dmdc().unwrap().input_rank_info().used, 4);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn input_rank(self, p: usize) -> Self {
        self.input_rank_rule(RankRule::Fixed(p))
    }
    /// DMDc only: the rank rule of the regressor `[X; U]`.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let dsa = dsa::InputDsa::builder()
    ///     .fit(dsa::InputFit::Dmdc)
    ///     .input_rank_rule(dsa::RankRule::Threshold(1e-8))
    ///     .build()?;
    /// # let _ = dsa;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn input_rank_rule(mut self, rule: RankRule) -> Self {
        self.input_rank = Some(rule);
        self
    }
    /// DMDc only: [`TrialShift::AcrossTrials`] reproduces the reference's regression, which
    /// pairs the end of each trial with the start of the next (default
    /// [`TrialShift::WithinTrials`]).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// use dsa::input::TrialShift;
    /// let dsa = dsa::InputDsa::builder().fit(dsa::InputFit::Dmdc).trial_shift(TrialShift::AcrossTrials).build()?;
    /// # let _ = dsa;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn trial_shift(mut self, shift: TrialShift) -> Self {
        self.trial_shift = Some(shift);
        self
    }
    /// Subspace fit only: the latent basis (default [`SubspaceBasis::Orthonormal`], which the
    /// system fixes up to an orthogonal transformation; [`SubspaceBasis::Reference`] is the
    /// reference's, which depends on the data).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// use dsa::input::SubspaceBasis;
    /// let dsa = dsa::InputDsa::builder().subspace_basis(SubspaceBasis::Reference).build()?;
    /// assert!(dsa::InputDsa::builder().fit(dsa::InputFit::Dmdc).subspace_basis(SubspaceBasis::Reference).build().is_err());
    /// # let _ = dsa;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn subspace_basis(mut self, basis: SubspaceBasis) -> Self {
        self.subspace_basis = Some(basis);
        self
    }
    /// The comparison (default [`InputCompare::Joint`]).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let dsa = dsa::InputDsa::builder().compare(dsa::InputCompare::Control).build()?;
    /// assert_eq!(dsa.compare_kind(), dsa::InputCompare::Control);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn compare(mut self, compare: InputCompare) -> Self {
        self.compare = compare;
        self
    }
    /// The unit of the distance (default [`Score::Angular`]); [`Score::Wasserstein`] only with
    /// [`InputCompare::State`].
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// use dsa::{InputCompare, InputDsa, Score};
    /// assert!(InputDsa::builder().score(Score::Wasserstein).build().is_err()); // Joint
    /// let spectral = InputDsa::builder().compare(InputCompare::State).score(Score::Wasserstein).build()?;
    /// assert_eq!(spectral.score(), Score::Wasserstein);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn score(mut self, score: Score) -> Self {
        self.score = score;
        self
    }
    /// How the controllability matrices of [`InputCompare::Joint`] are scaled (default
    /// [`Controllability::Scaled`]; [`Controllability::Unscaled`] is the reference's matrix).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let dsa = dsa::InputDsa::builder().controllability(dsa::input::Controllability::Unscaled).build()?;
    /// # let _ = dsa;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn controllability(mut self, scaling: Controllability) -> Self {
        self.controllability = scaling;
        self
    }
    /// The weight `w >= 0` of the input term of [`InputCompare::JointDynamics`] (default 1:
    /// state and input terms count equally on normalized operators; 0: the state comparison).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let dsa = dsa::InputDsa::builder().compare(dsa::InputCompare::JointDynamics).control_weight(0.5).build()?;
    /// assert_eq!(dsa.control_weight(), 0.5);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn control_weight(mut self, w: f64) -> Self {
        self.control_weight = w;
        self
    }
    /// The optimizer over `O(n)` for the state comparison (mode `State`, and the state start
    /// of `JointDynamics`); default [`RiemannianLbfgs::default`].
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let dsa = dsa::InputDsa::builder().solver(dsa::RiemannianLbfgs::fast()).build()?;
    /// # let _ = dsa;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn solver<S: OrthogonalSolver + 'static>(mut self, solver: S) -> Self {
        self.solver = Some(Arc::new(solver));
        self
    }
    /// Seed of the default solver's random starts and of `JointDynamics`' random starts
    /// (default 0). Every pair uses the same seed, so a pair's distance depends neither on the
    /// other systems of a call nor on the number of threads. With a custom
    /// [`solver`](Self::solver) the seed still seeds `JointDynamics`.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let dsa = dsa::InputDsa::builder().seed(7).build()?;
    /// # let _ = dsa;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
    /// Worker threads: `None` (default) runs on rayon's global pool, `Some(k)` on a dedicated
    /// pool of `k` threads. Results are bitwise identical for every thread count.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// assert_eq!(dsa::InputDsa::builder().threads(3).build()?.threads(), Some(3));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn threads(mut self, threads: impl Into<Option<usize>>) -> Self {
        self.threads = threads.into();
        self
    }
    /// A progress callback, called from worker threads after each pair of a many-pair call;
    /// return [`ControlFlow::Break`] to cancel ([`DsaError::Cancelled`], never a partial
    /// result). As [`crate::DsaBuilder::progress`].
    ///
    /// # Example
    /// ```
    /// use std::ops::ControlFlow;
    /// # fn main() -> dsa::Result<()> {
    /// let (x, u) = dsa::input::simulate_example(200, 0);
    /// let dsa = dsa::InputDsa::builder().rank(3).progress(|_| ControlFlow::Break(())).build()?;
    /// let err = dsa.pairwise(&[(x.clone(), u.clone()), (x, u)]).unwrap_err();
    /// assert!(matches!(err, dsa::DsaError::Cancelled { .. }));
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

    /// Validate every setting and build the [`InputDsa`] (and its thread pool, if requested).
    ///
    /// # Errors
    /// [`DsaError::InvalidParameter`] naming the first invalid setting: `n_delays` of 0, `rank`
    /// of 0, a negative or non-finite `lambda` or `control_weight`; a DMDc-only setting
    /// (`delay_interval`, `n_control_delays`, `steps_ahead`, `input_rank`, `trial_shift`) with
    /// the subspace fit, `subspace_basis` with the DMDc fit; `score` Wasserstein with a mode other than `State`; `seed` with a
    /// custom solver is allowed (it seeds `JointDynamics`); `threads(0)`.
    ///
    /// # Example
    /// ```
    /// let err = dsa::InputDsa::builder().n_delays(0).build().unwrap_err();
    /// assert!(matches!(err, dsa::DsaError::InvalidParameter { name: "n_delays", .. }));
    /// ```
    pub fn build(self) -> Result<InputDsa> {
        let fit = match self.fit {
            InputFit::Dmdc => {
                if self.subspace_basis.is_some() {
                    return Err(DsaError::param(
                        "subspace_basis",
                        "applies to the subspace fit only: choose .fit(InputFit::Subspace), or \
                         leave it unset for the DMDc fit (whose basis is the data's principal \
                         components)",
                    ));
                }
                let mut p = Dmdc::params()
                    .n_delays(self.n_delays)
                    .lambda(self.lambda)
                    .delay_interval(self.delay_interval.unwrap_or(1))
                    .n_control_delays(self.n_control_delays.unwrap_or(1))
                    .steps_ahead(self.steps_ahead.unwrap_or(1))
                    .trial_shift(self.trial_shift.unwrap_or_default());
                if let Some(r) = self.rank {
                    p = p.rank_rule(r);
                }
                if let Some(r) = self.input_rank {
                    p = p.input_rank_rule(r);
                }
                FitParams::Dmdc(p.check()?)
            }
            InputFit::Subspace => {
                let dmdc_only = [
                    ("delay_interval", self.delay_interval.is_some()),
                    ("n_control_delays", self.n_control_delays.is_some()),
                    ("steps_ahead", self.steps_ahead.is_some()),
                    ("input_rank", self.input_rank.is_some()),
                    ("trial_shift", self.trial_shift.is_some()),
                ];
                if let Some((name, _)) = dmdc_only.iter().find(|(_, set)| *set) {
                    return Err(DsaError::param(
                        name,
                        "applies to the DMDc fit only: choose .fit(InputFit::Dmdc), or leave it \
                         unset for the subspace fit",
                    ));
                }
                let mut p = Subspace::params()
                    .n_delays(self.n_delays)
                    .lambda(self.lambda)
                    .basis(self.subspace_basis.unwrap_or_default());
                if let Some(r) = self.rank {
                    p = p.rank_rule(r);
                }
                FitParams::Subspace(p.check()?)
            }
        };
        let seed = self.seed.unwrap_or(0);
        let solver: Arc<dyn OrthogonalSolver> = match self.solver {
            Some(s) => s,
            None => Arc::new(RiemannianLbfgs::default().seed(seed)),
        };
        let comparer = Comparer {
            compare: self.compare,
            score: self.score,
            controllability: self.controllability,
            joint: JointDynamics::default()
                .weight(self.control_weight)
                .seed(seed),
            solver,
        };
        comparer.check()?;
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
                    .thread_name(|i| format!("dsa-input-worker-{i}"))
                    .build()
                    .map_err(|e| {
                        DsaError::param(
                            "threads",
                            format!("cannot build a pool of {k} threads: {e}"),
                        )
                    })?,
            )),
        };
        Ok(InputDsa {
            fit,
            comparer,
            threads: self.threads,
            pool,
            progress: self.progress,
        })
    }
}
