//! The whole pipeline for one pair or many systems (spec §5): [`distance`] for one call with
//! the defaults, [`Dsa`] for everything else.
//!
//! ```text
//! each dataset --embed, fit (once, in parallel)--> A_i
//! each pair (i, j) --Procrustes over vector fields or spectral score (in parallel)--> d_ij
//! ```
//!
//! * [`Dsa::distance`] / [`Dsa::compare`]: one pair (`compare` also returns both fitted models
//!   and the comparison's details);
//! * [`Dsa::one_to_many`]: one dataset against a list;
//! * [`Dsa::pairwise`]: all unordered pairs of a list, as a symmetric `M x M` matrix with an
//!   exactly zero diagonal, each pair computed once;
//! * [`Dsa::bipartite`]: every dataset of one list against every dataset of another (`M x K`).
//!
//! Each dataset's operator is fitted once and reused for all its pairs. Fits and pairs run in
//! parallel on rayon (the global pool, or a dedicated one with
//! [`DsaBuilder::threads`]); every faer call inside runs sequentially, so only the distribution
//! of work is parallel and the results are bitwise identical for every number of threads.

mod block;
mod builder;
mod per_dataset;
mod report;
mod schedule;
mod score;
mod stats_access;
mod triangle;

pub use builder::DsaBuilder;
pub use per_dataset::PerDataset;
pub use report::{DsaComparison, DsaReport, Progress};

use std::fmt;
use std::sync::Arc;

use faer::{Mat, MatRef};
use rayon::prelude::*;

use builder::{DmdSettings, ProgressFn};
use per_dataset::Layout;

use crate::data::{Dataset, ToDataset};
use crate::error::{DsaError, Result};
use crate::operator::{DmdModel, DmdValidParams, OperatorFit};
use crate::similarity::{Score, SizeMismatch};
use crate::solver::OrthogonalSolver;

/// The default number of delays (before the cap for short trials): see [`Dsa`].
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let x = faer::Mat::from_fn(500, 2, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
/// assert_eq!(dsa::Dsa::default().fit(&x)?.params().n_delays(), dsa::compare::DEFAULT_N_DELAYS);
/// # Ok(()) }
/// ```
pub const DEFAULT_N_DELAYS: usize = 10;

/// The default rank (capped at what each dataset allows): see [`Dsa`].
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let x = faer::Mat::from_fn(500, 4, |t, j| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract());
/// assert_eq!(dsa::Dsa::default().fit(&x)?.rank(), dsa::compare::DEFAULT_RANK); // of 40
/// # Ok(()) }
/// ```
pub const DEFAULT_RANK: usize = 30;

/// The angular DSA distance between two datasets, with the crate's default settings.
///
/// Each input is a `T x N` matrix (rows are time points, columns are channels) — `faer::Mat`,
/// `faer::MatRef`, `nalgebra::DMatrix` — or a `Vec`/slice of them (trials, lengths may differ),
/// or a [`Dataset`]. The two inputs may have different types, lengths and numbers of trials.
///
/// The result is in `[0, pi]`: ~0 when one system's dynamics is an orthogonal change of
/// coordinates of the other's. Equivalent to `Dsa::default().distance(x, y)`; the defaults
/// (10 delays, capped for short trials; rank 30, capped at what the data allow; angular score;
/// the Riemannian L-BFGS solver with seed 0) are listed and justified on [`Dsa`].
///
/// # Errors
/// Invalid data ([`DsaError::EmptyData`], [`DsaError::NonFinite`], [`DsaError::ShapeMismatch`]
/// between trials), a trial too short to fit ([`DsaError::TrialTooShort`]: only a trial of a
/// single time point, since the default number of delays adapts), numerically zero data ([`DsaError::Degenerate`]), and operators of
/// different sizes ([`DsaError::SizeMismatch`]: e.g. different channel counts whose ranks stay
/// below 30, or exactly low-dimensional data; set a common rank with [`Dsa::builder`]).
///
/// # Example
/// ```
/// use faer::Mat;
/// # fn main() -> dsa::Result<()> {
/// // an oscillation in 2 channels with pseudo-random wiggles, and the same data in rotated
/// // coordinates
/// let wiggle = |t: usize, j: usize| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract();
/// let x = Mat::from_fn(300, 2, |t, j| (0.2 * t as f64 + j as f64).sin() + 0.1 * wiggle(t, j));
/// let (c, s) = (0.6, 0.8);
/// let q = faer::mat![[c, -s], [s, c]];
/// let y = &x * &q;
/// assert!(dsa::distance(&x, &y)? < 1e-6);
/// # Ok(()) }
/// ```
pub fn distance<X, Y>(x: &X, y: &Y) -> Result<f64>
where
    X: ToDataset + ?Sized,
    Y: ToDataset + ?Sized,
{
    Dsa::default().distance(x, y)
}

/// Dynamical Similarity Analysis with fixed settings: fit each dataset's operator, compare
/// operators, for one pair or many.
///
/// Build one with [`Dsa::builder`] (or take [`Dsa::default`]); it is cheap to clone, `Send`
/// and `Sync`, and can be reused for any number of calls.
///
/// # Example
/// ```
/// use dsa::Dsa;
/// # fn main() -> dsa::Result<()> {
/// let sys = |w: f64, phase: f64| {
///     faer::Mat::from_fn(400, 2, |t, j| {
///         let t = t as f64;
///         (-0.003 * t).exp() * (w * t + phase + 1.3 * j as f64).sin()
///     })
/// };
/// let xs = vec![sys(0.2, 0.0), sys(0.2, 1.0), sys(0.5, 0.0)];
/// let dsa = Dsa::builder().n_delays(4).rank(4).build()?;
/// let d = dsa.pairwise(&xs)?;
/// assert_eq!(d[(0, 0)], 0.0);
/// assert_eq!(d[(0, 2)], d[(2, 0)]);
/// assert!(d[(0, 1)] < 1e-6 && d[(0, 2)] > 0.1); // same frequency vs a different one
/// # Ok(()) }
/// ```
///
#[doc = include_str!("../../docs/defaults.md")]
#[derive(Clone)]
pub struct Dsa {
    dmd: DmdSettings,
    score: Score,
    solver: Arc<dyn OrthogonalSolver>,
    size_mismatch: SizeMismatch,
    threads: Option<usize>,
    pool: Option<Arc<rayon::ThreadPool>>,
    progress: Option<ProgressFn>,
    /// The builder's seed (0 if unset): the default solver's, and `crate::stats`' resampling.
    seed: u64,
}

impl fmt::Debug for Dsa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dsa")
            .field("dmd", &self.dmd)
            .field("score", &self.score)
            .field("solver", &self.solver)
            .field("size_mismatch", &self.size_mismatch)
            .field("threads", &self.threads)
            .field("progress", &self.progress.as_ref().map(|_| "Fn(Progress)"))
            .field("seed", &self.seed)
            .finish()
    }
}

impl Default for Dsa {
    /// The defaults listed above; equivalent to `Dsa::builder().build()`, which cannot fail.
    fn default() -> Self {
        DsaBuilder::default()
            .build()
            .expect("the default settings are valid") // ok: no user input; defaults tested in tests/suite/api.rs
    }
}

/// How a many-dataset call names dataset `k` of its list in errors (`None`: a single dataset).
type Names<'a> = &'a (dyn Fn(usize) -> Option<String> + Sync);

/// `dataset k`: the names of a one-list call (`pairwise`, `fit_all`).
fn list_name(k: usize) -> Option<String> {
    Some(format!("dataset {k}"))
}

impl Dsa {
    /// Start a [`DsaBuilder`] with the defaults.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let dsa = dsa::Dsa::builder().n_delays(10).rank(30).seed(1).build()?;
    /// assert_eq!(dsa.score(), dsa::Score::Angular);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn builder() -> DsaBuilder {
        DsaBuilder::default()
    }

    /// The score reported.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// assert_eq!(dsa::Dsa::builder().score(dsa::Score::Wasserstein).build()?.score(), dsa::Score::Wasserstein);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn score(&self) -> Score {
        self.score
    }

    /// The size policy.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let dsa = dsa::Dsa::builder().size_mismatch(dsa::SizeMismatch::ZeroPad).build()?;
    /// assert_eq!(dsa.size_mismatch(), dsa::SizeMismatch::ZeroPad);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn size_mismatch(&self) -> SizeMismatch {
        self.size_mismatch
    }

    /// The dedicated pool's thread count, or `None` for rayon's global pool.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// assert_eq!(dsa::Dsa::builder().threads(3).build()?.threads(), Some(3));
    /// assert_eq!(dsa::Dsa::default().threads(), None);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn threads(&self) -> Option<usize> {
        self.threads
    }

    /// The solver in use for the Procrustes scores.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let default = dsa::RiemannianLbfgs::default();
    /// assert_eq!(dsa::Dsa::default().solver().name(), dsa::OrthogonalSolver::name(&default));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn solver(&self) -> &dyn OrthogonalSolver {
        &*self.solver
    }

    /// Run `f` on the dedicated pool, or on the caller's (global) pool.
    fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }

    /// Convert inputs (sequentially: a copy and a finiteness check each); an error names the
    /// dataset (`names(k)` for `xs[k]`).
    fn datasets<X: ToDataset>(
        xs: &[X],
        names: impl Fn(usize) -> Option<String>,
    ) -> Result<Vec<Dataset>> {
        xs.iter()
            .enumerate()
            .map(|(k, x)| x.to_dataset().map_err(|e| e.in_dataset(names(k))))
            .collect()
    }

    /// Fit every dataset with its parameters, in parallel; the first error in call order wins
    /// and names its dataset.
    fn fit_many(
        &self,
        data: &[&Dataset],
        params: &[DmdValidParams],
        names: Names<'_>,
    ) -> Result<Vec<DmdModel>> {
        let fits: Vec<Result<DmdModel>> = self.install(|| {
            data.par_iter()
                .zip(params.par_iter())
                .map(|(d, p)| p.fit(d))
                .collect()
        });
        fits.into_iter()
            .enumerate()
            .map(|(k, r)| r.map_err(|e| e.in_dataset(names(k))))
            .collect()
    }

    /// Resolve the parameters of a call and fit.
    fn fit_layout(
        &self,
        layout: Layout,
        data: &[&Dataset],
        names: Names<'_>,
    ) -> Result<Vec<DmdModel>> {
        let params = self.dmd.resolve(layout, data)?;
        self.fit_many(data, &params, names)
    }

    /// The DMD model of one dataset, with this `Dsa`'s settings (per-dataset lists must have one
    /// value).
    ///
    /// # Errors
    /// Invalid data, a trial too short for the embedding ([`DsaError::TrialTooShort`]),
    /// numerically zero data ([`DsaError::Degenerate`]), a per-dataset list whose length is not 1
    /// or a per-side value ([`DsaError::InvalidParameter`]).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(500, 3, |t, j| ((t as f64) * 0.05 * (j + 1) as f64).sin());
    /// let model = dsa::Dsa::default().fit(&x)?;
    /// assert_eq!(model.params().n_delays(), 10);
    /// assert!(model.rank() <= 30);
    /// # Ok(()) }
    /// ```
    pub fn fit<X: ToDataset + ?Sized>(&self, x: &X) -> Result<DmdModel> {
        let d = x.to_dataset()?;
        let mut models = self.fit_layout(Layout::one_sided(1), &[&d], &|_| None)?;
        Ok(models.remove(0))
    }

    /// The DMD models of several datasets, fitted in parallel (per-dataset lists have one value
    /// per dataset).
    ///
    /// # Errors
    /// As [`Dsa::fit`], for the first failing dataset in list order; a per-dataset list whose
    /// length is not `xs.len()`.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// // pseudo-random wiggles make the data full rank
    /// let wiggle = |t: usize, j: usize| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract();
    /// let xs: Vec<_> = (1..=3)
    ///     .map(|k| faer::Mat::from_fn(100, 2, |t, j| ((t * k + j) as f64 * 0.1).sin() + 0.1 * wiggle(t, j)))
    ///     .collect();
    /// let models = dsa::Dsa::builder().n_delays(2).rank_per_dataset(vec![1, 2, 3]).build()?.fit_all(&xs)?;
    /// assert_eq!(models.iter().map(|m| m.rank()).collect::<Vec<_>>(), vec![1, 2, 3]);
    /// # Ok(()) }
    /// ```
    pub fn fit_all<X: ToDataset>(&self, xs: &[X]) -> Result<Vec<DmdModel>> {
        let data = Self::datasets(xs, list_name)?;
        let refs: Vec<&Dataset> = data.iter().collect();
        self.fit_layout(Layout::one_sided(refs.len()), &refs, &list_name)
    }

    /// The distance between two datasets (the value of [`Dsa::compare`]).
    ///
    /// # Errors
    /// As [`Dsa::compare`].
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(300, 2, |t, j| ((t as f64) * 0.2 + j as f64).sin());
    /// let y = nalgebra::DMatrix::from_fn(300, 2, |t, j| ((t as f64) * 0.2 + j as f64).sin());
    /// let dsa = dsa::Dsa::builder().n_delays(3).rank(4).build()?;
    /// assert!(dsa.distance(&x, &y)? < 1e-8);
    /// # Ok(()) }
    /// ```
    pub fn distance<X, Y>(&self, x: &X, y: &Y) -> Result<f64>
    where
        X: ToDataset + ?Sized,
        Y: ToDataset + ?Sized,
    {
        Ok(self.compare(x, y)?.value)
    }

    /// Fit both datasets and compare their operators, keeping everything: both models, the
    /// comparison's details (the orthogonal `C`, lower bounds and solver report, or the spectral
    /// matching) and the score.
    ///
    /// Per-dataset lists have 2 values (`x`, then `y`); a per-side value gives `x` the first.
    /// The progress callback, if any, is called once (`total = 1`).
    ///
    /// # Errors
    /// Invalid data, a trial too short ([`DsaError::TrialTooShort`]), numerically zero data
    /// ([`DsaError::Degenerate`]), operators of different sizes under
    /// [`SizeMismatch::Error`] ([`DsaError::SizeMismatch`]), a per-dataset list of the wrong
    /// length ([`DsaError::InvalidParameter`]), a solver that does not converge
    /// ([`DsaError::NoConvergence`]), [`DsaError::Cancelled`] from the progress callback.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let wiggle = |t: usize, j: usize| (((t * 7 + j * 13) as f64).sin() * 43758.5453).fract();
    /// let x = faer::Mat::from_fn(300, 2, |t, j| ((t as f64) * 0.2 + j as f64).sin() + 0.1 * wiggle(t, j));
    /// let y = faer::Mat::from_fn(300, 2, |t, j| ((t as f64) * 0.3 + j as f64).sin() + 0.1 * wiggle(t + 1, j));
    /// let report = dsa::Dsa::builder().n_delays(3).rank(4).build()?.compare(&x, &y)?;
    /// assert_eq!(report.model_x.rank(), 4);
    /// let c = report.comparison.procrustes().unwrap();
    /// assert!(c.lower_bound.best() <= c.euclidean + 1e-12);
    /// assert!(report.value > 0.05);
    /// # Ok(()) }
    /// ```
    pub fn compare<X, Y>(&self, x: &X, y: &Y) -> Result<DsaReport>
    where
        X: ToDataset + ?Sized,
        Y: ToDataset + ?Sized,
    {
        let names = |k: usize| Some(if k == 0 { "x" } else { "y" }.to_string());
        let dx = x.to_dataset().map_err(|e| e.in_dataset(names(0)))?;
        let dy = y.to_dataset().map_err(|e| e.in_dataset(names(1)))?;
        let models = self.fit_layout(Layout::two_sided(1, 1), &[&dx, &dy], &names)?;
        let [model_x, model_y]: [DmdModel; 2] =
            models
                .try_into()
                .map_err(|m: Vec<DmdModel>| DsaError::ShapeMismatch {
                    what: format!("expected two fitted models, got {}", m.len()),
                })?;
        self.check_sizes(&[(0, 0)], &[model_x.operator()], &[model_y.operator()])?;
        let scored = self.install(|| {
            self.score_pair(
                &self.procrustes(),
                model_x.operator(),
                model_y.operator(),
                None,
            )
        })?;
        if let Some(cb) = &self.progress {
            if cb(Progress {
                done: 1,
                total: 1,
                pair: (0, 0),
            })
            .is_break()
            {
                return Err(DsaError::Cancelled { done: 1, total: 1 });
            }
        }
        Ok(DsaReport {
            model_x,
            model_y,
            comparison: scored.comparison,
            score: scored.score,
            value: scored.value,
        })
    }

    /// One dataset against each of a list: `out[k] = distance(x, ys[k])`, with `x` fitted once.
    ///
    /// Per-dataset lists have `1 + K` values (`x`, then `ys`); a per-side value gives `x` the
    /// first and every `ys[k]` the second.
    ///
    /// # Errors
    /// As [`Dsa::pairwise`].
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let wave = |w: f64| faer::Mat::from_fn(300, 2, |t, j| ((t as f64) * w + j as f64).sin());
    /// let dsa = dsa::Dsa::builder().n_delays(3).rank(4).build()?;
    /// let d = dsa.one_to_many(&wave(0.2), &[wave(0.2), wave(0.4)])?;
    /// assert!(d[0] < 1e-8 && d[1] > 0.05);
    /// # Ok(()) }
    /// ```
    pub fn one_to_many<X, Y>(&self, x: &X, ys: &[Y]) -> Result<Vec<f64>>
    where
        X: ToDataset + ?Sized,
        Y: ToDataset,
    {
        let names = |k: usize| {
            Some(if k == 0 {
                "x".to_string()
            } else {
                format!("ys[{}]", k - 1)
            })
        };
        let dx = x.to_dataset().map_err(|e| e.in_dataset(names(0)))?;
        let dys = Self::datasets(ys, |k| names(k + 1))?;
        let mut refs = vec![&dx];
        refs.extend(dys.iter());
        let models = self.fit_layout(Layout::two_sided(1, dys.len()), &refs, &names)?;
        let ops: Vec<MatRef<'_, f64>> = models.iter().map(DmdModel::operator).collect();
        let pairs: Vec<(usize, usize)> = (0..dys.len()).map(|k| (0, k)).collect();
        self.run_pairs(&pairs, &ops[..1], &ops[1..], false)
    }

    /// All unordered pairs of a list: the `M x M` matrix of distances, symmetric, with an
    /// exactly zero diagonal. Each dataset is fitted once, each unordered pair `i < j` is
    /// compared once (`M (M - 1) / 2` comparisons), in parallel; entry `(i, j)` equals
    /// `self.distance(&xs[i], &xs[j])` bitwise, whatever the number of threads.
    ///
    /// Per-dataset lists have `M` values; per-side values are an error.
    ///
    /// # Errors
    /// Invalid data or a failed fit (the first failing dataset in list order), a per-dataset
    /// list of the wrong length ([`DsaError::InvalidParameter`]), operators of different sizes
    /// under [`SizeMismatch::Error`] (the first such pair in row order,
    /// [`DsaError::SizeMismatch`]), a solver failure ([`DsaError::NoConvergence`]), or
    /// [`DsaError::Cancelled`] when the progress callback asks to stop: no partial matrix is
    /// ever returned.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let wave = |w: f64| faer::Mat::from_fn(300, 2, |t, j| ((t as f64) * w + j as f64).sin());
    /// let xs = vec![wave(0.2), wave(0.3), wave(0.4)];
    /// let d = dsa::Dsa::builder().n_delays(3).rank(4).build()?.pairwise(&xs)?;
    /// assert_eq!((d.nrows(), d.ncols()), (3, 3));
    /// assert!((0..3).all(|i| d[(i, i)] == 0.0));
    /// assert_eq!(d[(1, 2)], d[(2, 1)]);
    /// # Ok(()) }
    /// ```
    pub fn pairwise<X: ToDataset>(&self, xs: &[X]) -> Result<Mat<f64>> {
        let data = Self::datasets(xs, list_name)?;
        let refs: Vec<&Dataset> = data.iter().collect();
        let m = refs.len();
        let models = self.fit_layout(Layout::one_sided(m), &refs, &list_name)?;
        let ops: Vec<MatRef<'_, f64>> = models.iter().map(DmdModel::operator).collect();
        self.pairwise_operators(&ops)
    }

    /// [`Dsa::pairwise`] on already-fitted operators (for instance the operators of
    /// [`Dsa::fit_all`]'s models, to compare them under several scores without refitting): the
    /// `M x M` matrix of this `Dsa`'s score, symmetric with an exactly zero diagonal, each
    /// unordered pair compared once, in parallel, with each operator prepared once
    /// ([`crate::PreparedOperator`]). Entry `(i, j)` is the comparison of `ops[i]` with
    /// `ops[j]` under this `Dsa`'s score, solver and size policy, the same bits whatever the
    /// number of threads.
    ///
    /// # Errors
    /// A non-square, non-finite or zero operator (the first failing pair in row order),
    /// operators of different sizes under [`SizeMismatch::Error`], a solver failure, or
    /// [`DsaError::Cancelled`].
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let wave = |w: f64| faer::Mat::from_fn(300, 2, |t, j| ((t as f64) * w + j as f64).sin());
    /// let dsa = dsa::Dsa::builder().n_delays(3).rank(4).build()?;
    /// let models = dsa.fit_all(&[wave(0.2), wave(0.3), wave(0.4)])?;
    /// let ops: Vec<_> = models.iter().map(|m| m.operator()).collect();
    /// let d = dsa.pairwise_operators(&ops)?;
    /// assert_eq!(d[(0, 2)], dsa.pairwise(&[wave(0.2), wave(0.3), wave(0.4)])?[(0, 2)]);
    /// # Ok(()) }
    /// ```
    pub fn pairwise_operators(&self, ops: &[MatRef<'_, f64>]) -> Result<Mat<f64>> {
        let m = ops.len();
        let pairs: Vec<(usize, usize)> = (0..m)
            .flat_map(|i| (i + 1..m).map(move |j| (i, j)))
            .collect();
        let values = self.run_pairs(&pairs, ops, ops, true)?;
        let mut out = Mat::zeros(m, m);
        for (&(i, j), v) in pairs.iter().zip(values) {
            out[(i, j)] = v;
        }
        // mirrored, and its triangles repaired: the same post-pass as a distributed run's
        self.pairwise_finish(ops, out)
    }

    /// [`Dsa::bipartite`] on already-fitted operators: the `M x K` matrix of this `Dsa`'s
    /// score between every operator of `a` and every operator of `b`.
    ///
    /// # Errors
    /// As [`Dsa::pairwise_operators`].
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let a = faer::mat![[0.9, 0.2], [-0.2, 0.9]];
    /// let b = faer::mat![[0.9, -0.2], [0.2, 0.9]]; // a conjugate of `a`
    /// let c = faer::mat![[0.5, 0.0], [0.0, -0.5]];
    /// let dsa = dsa::Dsa::default();
    /// let d = dsa.bipartite_operators(&[a.as_ref()], &[b.as_ref(), c.as_ref()])?;
    /// assert!(d[(0, 0)] < 1e-8 && d[(0, 1)] > 0.1);
    /// # Ok(()) }
    /// ```
    pub fn bipartite_operators(
        &self,
        a: &[MatRef<'_, f64>],
        b: &[MatRef<'_, f64>],
    ) -> Result<Mat<f64>> {
        let (m, k) = (a.len(), b.len());
        let pairs: Vec<(usize, usize)> = (0..m).flat_map(|i| (0..k).map(move |j| (i, j))).collect();
        let values = self.run_pairs(&pairs, a, b, false)?;
        let mut out = Mat::zeros(m, k);
        for (&(i, j), v) in pairs.iter().zip(values) {
            out[(i, j)] = v;
        }
        self.repair_bipartite(a, b, &mut out)?;
        Ok(out)
    }

    /// Every dataset of `xs` against every dataset of `ys`: the `M x K` matrix with
    /// `out[(i, k)] = distance(xs[i], ys[k])`. Each dataset is fitted once.
    ///
    /// Per-dataset lists have `M + K` values: `xs` first, then `ys`; a per-side value gives
    /// every `xs[i]` the first and every `ys[k]` the second.
    ///
    /// # Errors
    /// As [`Dsa::pairwise`].
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let wave = |w: f64| faer::Mat::from_fn(300, 2, |t, j| ((t as f64) * w + j as f64).sin());
    /// let dsa = dsa::Dsa::builder().n_delays(3).rank(4).build()?;
    /// let d = dsa.bipartite(&[wave(0.2), wave(0.4)], &[wave(0.2), wave(0.3), wave(0.4)])?;
    /// assert_eq!((d.nrows(), d.ncols()), (2, 3));
    /// assert!(d[(0, 0)] < 1e-8 && d[(1, 2)] < 1e-8 && d[(0, 2)] > 0.05);
    /// # Ok(()) }
    /// ```
    pub fn bipartite<X: ToDataset, Y: ToDataset>(&self, xs: &[X], ys: &[Y]) -> Result<Mat<f64>> {
        let dxs = Self::datasets(xs, |i| Some(format!("xs[{i}]")))?;
        let dys = Self::datasets(ys, |i| Some(format!("ys[{i}]")))?;
        let (m, k) = (dxs.len(), dys.len());
        let names = |i: usize| {
            Some(if i < m {
                format!("xs[{i}]")
            } else {
                format!("ys[{}]", i - m)
            })
        };
        let refs: Vec<&Dataset> = dxs.iter().chain(dys.iter()).collect();
        let models = self.fit_layout(Layout::two_sided(m, k), &refs, &names)?;
        let ops: Vec<MatRef<'_, f64>> = models.iter().map(DmdModel::operator).collect();
        self.bipartite_operators(&ops[..m], &ops[m..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_sync_clone() {
        fn check<T: Send + Sync + Clone + fmt::Debug>() {}
        check::<Dsa>();
        check::<DsaBuilder>();
        check::<DsaReport>();
        check::<PerDataset<usize>>();
        check::<Progress>();
    }

    #[test]
    fn default_builds() {
        let d = Dsa::default();
        assert_eq!(d.score(), Score::Angular);
        assert_eq!(d.size_mismatch(), SizeMismatch::Error);
        assert_eq!(d.threads(), None);
    }
}
