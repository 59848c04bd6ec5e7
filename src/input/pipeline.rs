//! `InputDsa`: fit every driven system once, compare pairs, in parallel.

use std::fmt;
use std::sync::Arc;

use faer::{Mat, MatRef};
use rayon::prelude::*;

use super::builder::{FitParams, InputDsaBuilder, ProgressFn};
use super::compare::{Comparer, InputComparison, PreparedSystem};
use super::data::driven;
use super::model::InputModel;
use super::{InputCompare, InputFit};
use crate::data::{Dataset, ToDataset};
use crate::error::{DsaError, Result};
use crate::similarity::Score;

/// Dynamical similarity analysis of systems driven by known inputs: fit `x_{t+1} = A x_t + B
/// u_t` to each system's states and inputs, and compare systems up to an orthogonal change of
/// latent coordinates (see [`crate::input`]).
///
/// Build one with [`InputDsa::builder`] (defaults listed on [`InputDsaBuilder`]); it is cheap to
/// clone, `Send` and `Sync`. States and inputs are anything [`crate::Dsa`] accepts (a
/// `faer::Mat<f64>`, an nalgebra matrix, a `Vec` of trials, a [`Dataset`]); the inputs of a
/// system have the same trials and time points as its states (row `t` is the input applied at
/// time `t`).
///
/// # Example
/// ```
/// use dsa::{InputCompare, InputDsa};
/// # fn main() -> dsa::Result<()> {
/// let (x, u) = dsa::input::simulate_example(400, 0);
/// let (y, v) = dsa::input::simulate_example(400, 1); // the same system, other inputs
/// let dsa = InputDsa::builder().rank(3).compare(InputCompare::JointDynamics).build()?;
/// let d = dsa.distance(&x, &u, &y, &v)?;
/// assert!(d < 1e-8);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct InputDsa {
    pub(crate) fit: FitParams,
    pub(crate) comparer: Comparer,
    pub(crate) threads: Option<usize>,
    pub(crate) pool: Option<Arc<rayon::ThreadPool>>,
    pub(crate) progress: Option<ProgressFn>,
}

impl fmt::Debug for InputDsa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InputDsa")
            .field("fit", &self.fit)
            .field("comparer", &self.comparer)
            .field("threads", &self.threads)
            .field("progress", &self.progress.as_ref().map(|_| "Fn(Progress)"))
            .finish()
    }
}

impl Default for InputDsa {
    /// The defaults of [`InputDsaBuilder`]; equivalent to `InputDsa::builder().build()`.
    fn default() -> Self {
        InputDsaBuilder::default()
            .build()
            .expect("the default settings are valid") // ok: no user input; tested in tests/input.rs
    }
}

/// Everything [`InputDsa::compare`] computed for one pair.
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let (x, u) = dsa::input::simulate_example(300, 0);
/// let report = dsa::InputDsa::builder().rank(3).build()?.compare(&x, &u, &x, &u)?;
/// assert_eq!(report.model_x.rank(), 3);
/// assert!(report.value < 1e-10 && report.comparison.c.is_some());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InputReport {
    /// The model fitted to `(x, u)`.
    pub model_x: InputModel,
    /// The model fitted to `(y, v)`.
    pub model_y: InputModel,
    /// The comparison, with its components and `C`.
    pub comparison: InputComparison,
    /// The distance (what [`InputDsa::distance`] returns).
    pub value: f64,
}

impl InputDsa {
    /// Start an [`InputDsaBuilder`] with the defaults.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let dsa = dsa::InputDsa::builder().n_delays(2).rank(4).build()?;
    /// assert_eq!(dsa.compare_kind(), dsa::InputCompare::Joint);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn builder() -> InputDsaBuilder {
        InputDsaBuilder::default()
    }

    /// The fit in use.
    ///
    /// # Example
    /// ```
    /// assert_eq!(dsa::InputDsa::default().fit_kind(), dsa::InputFit::Subspace);
    /// ```
    #[must_use]
    pub fn fit_kind(&self) -> InputFit {
        self.fit.kind()
    }

    /// The comparison mode.
    ///
    /// # Example
    /// ```
    /// assert_eq!(dsa::InputDsa::default().compare_kind(), dsa::InputCompare::Joint);
    /// ```
    #[must_use]
    pub fn compare_kind(&self) -> InputCompare {
        self.comparer.compare
    }

    /// The score reported.
    ///
    /// # Example
    /// ```
    /// assert_eq!(dsa::InputDsa::default().score(), dsa::Score::Angular);
    /// ```
    #[must_use]
    pub fn score(&self) -> Score {
        self.comparer.score
    }

    /// The weight `w` of the input term of [`InputCompare::JointDynamics`].
    ///
    /// # Example
    /// ```
    /// assert_eq!(dsa::InputDsa::default().control_weight(), 1.0);
    /// ```
    #[must_use]
    pub fn control_weight(&self) -> f64 {
        self.comparer.joint.weight_value()
    }

    /// The dedicated pool's thread count, or `None` for rayon's global pool.
    ///
    /// # Example
    /// ```
    /// assert_eq!(dsa::InputDsa::default().threads(), None);
    /// ```
    #[must_use]
    pub fn threads(&self) -> Option<usize> {
        self.threads
    }

    fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }

    /// Fit one system.
    ///
    /// # Errors
    /// Invalid data ([`DsaError::EmptyData`], [`DsaError::NonFinite`]), inputs that do not
    /// match the states trial by trial ([`DsaError::ShapeMismatch`]), trials too short
    /// ([`DsaError::TrialTooShort`]), numerically zero states ([`DsaError::Degenerate`]).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let (x, u) = dsa::input::simulate_example(300, 0);
    /// let model = dsa::InputDsa::builder().rank(3).build()?.fit(&x, &u)?;
    /// assert_eq!((model.rank(), model.n_inputs()), (3, 2));
    /// # Ok(()) }
    /// ```
    pub fn fit<X, U>(&self, x: &X, u: &U) -> Result<InputModel>
    where
        X: ToDataset + ?Sized,
        U: ToDataset + ?Sized,
    {
        let (states, inputs) = driven(x, u, "x")?;
        self.fit
            .fit(&states, &inputs)
            .map_err(|e| e.in_dataset(Some("x".into())))
    }

    /// Fit every system of a list, in parallel; the first error in list order wins and names
    /// its system (`systems[k]`).
    ///
    /// # Errors
    /// As [`InputDsa::fit`].
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let systems: Vec<_> = (0..3).map(|k| dsa::input::simulate_example(200, k)).collect();
    /// let models = dsa::InputDsa::builder().rank(3).build()?.fit_all(&systems)?;
    /// assert_eq!(models.len(), 3);
    /// # Ok(()) }
    /// ```
    pub fn fit_all<X: ToDataset + Sync, U: ToDataset + Sync>(
        &self,
        systems: &[(X, U)],
    ) -> Result<Vec<InputModel>> {
        self.fit_named(systems, |k| format!("systems[{k}]"))
    }

    fn fit_named<X: ToDataset + Sync, U: ToDataset + Sync>(
        &self,
        systems: &[(X, U)],
        name: impl Fn(usize) -> String + Sync,
    ) -> Result<Vec<InputModel>> {
        let data: Vec<(Dataset, Dataset)> = systems
            .iter()
            .enumerate()
            .map(|(k, (x, u))| driven(x, u, &name(k)))
            .collect::<Result<_>>()?;
        let fits: Vec<Result<InputModel>> =
            self.install(|| data.par_iter().map(|(x, u)| self.fit.fit(x, u)).collect());
        fits.into_iter()
            .enumerate()
            .map(|(k, r)| r.map_err(|e| e.in_dataset(Some(name(k)))))
            .collect()
    }

    /// The distance between system `(x, u)` and system `(y, v)`.
    ///
    /// # Errors
    /// The errors of [`InputDsa::fit`] for either system (named `x` or `y`); different latent
    /// or input dimensions for a mode that needs them equal ([`DsaError::DimensionMismatch`],
    /// whose message names the way out); a zero input operator for a mode that compares `B`
    /// ([`DsaError::Degenerate`]); a solver failure ([`DsaError::NoConvergence`]).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let (x, u) = dsa::input::simulate_example(300, 0);
    /// let y = &x * faer::mat![[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]];
    /// let d = dsa::InputDsa::builder().rank(3).build()?.distance(&x, &u, &y, &u)?;
    /// assert!(d < 1e-10);
    /// # Ok(()) }
    /// ```
    pub fn distance<X, U, Y, V>(&self, x: &X, u: &U, y: &Y, v: &V) -> Result<f64>
    where
        X: ToDataset + ?Sized,
        U: ToDataset + ?Sized,
        Y: ToDataset + ?Sized,
        V: ToDataset + ?Sized,
    {
        Ok(self.compare(x, u, y, v)?.value)
    }

    /// Fit both systems and compare them: the models, the components and `C`.
    ///
    /// # Errors
    /// As [`InputDsa::distance`].
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// use dsa::{InputCompare, InputDsa, Score};
    /// let (x, u) = dsa::input::simulate_example(300, 0);
    /// let dsa = InputDsa::builder().rank(3).compare(InputCompare::Joint).score(Score::Euclidean).build()?;
    /// let r = dsa.compare(&x, &u, &x, &u)?;
    /// let c = r.comparison;
    /// assert!(c.joint.unwrap() < 1e-10 && c.state.unwrap() < 1e-10 && c.control.unwrap() < 1e-10);
    /// # Ok(()) }
    /// ```
    pub fn compare<X, U, Y, V>(&self, x: &X, u: &U, y: &Y, v: &V) -> Result<InputReport>
    where
        X: ToDataset + ?Sized,
        U: ToDataset + ?Sized,
        Y: ToDataset + ?Sized,
        V: ToDataset + ?Sized,
    {
        let (dx, du) = driven(x, u, "x")?;
        let (dy, dv) = driven(y, v, "y")?;
        let (mx, my) =
            self.install(|| rayon::join(|| self.fit.fit(&dx, &du), || self.fit.fit(&dy, &dv)));
        let model_x = mx.map_err(|e| e.in_dataset(Some("x".into())))?;
        let model_y = my.map_err(|e| e.in_dataset(Some("y".into())))?;
        let comparison = self.install(|| self.compare_labelled(&model_x, "x", &model_y, "y"))?;
        Ok(InputReport {
            value: comparison.value,
            model_x,
            model_y,
            comparison,
        })
    }

    /// Compare two fitted models.
    ///
    /// # Errors
    /// As [`InputDsa::distance`], without the fit errors.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let dsa = dsa::InputDsa::builder().rank(3).build()?;
    /// let (x, u) = dsa::input::simulate_example(300, 0);
    /// let m = dsa.fit(&x, &u)?;
    /// assert!(dsa.compare_models(&m, &m)?.value < 1e-10);
    /// # Ok(()) }
    /// ```
    pub fn compare_models(&self, a: &InputModel, b: &InputModel) -> Result<InputComparison> {
        self.install(|| self.compare_labelled(a, "x", b, "y"))
    }

    fn compare_labelled(
        &self,
        a: &InputModel,
        la: &str,
        b: &InputModel,
        lb: &str,
    ) -> Result<InputComparison> {
        let pa = self.prepare(a, la);
        let pb = self.prepare(b, lb);
        self.comparer
            .check_pair(&pa, &pb, &format!("{la} vs {lb}"))?;
        self.comparer.compare(&pa, &pb)
    }

    fn prepare(&self, m: &InputModel, label: &str) -> PreparedSystem {
        self.comparer
            .prepare(m.state_operator(), m.input_operator(), label)
    }

    /// Compare two systems given by their operators: `A1` (`n x n`) with `B1` (`n x m`)
    /// against `A2`, `B2`, under this `InputDsa`'s comparison settings.
    ///
    /// # Errors
    /// [`DsaError::ShapeMismatch`] for a non-square `A` or a `B` whose rows differ from `A`'s,
    /// [`DsaError::NonFinite`], and the comparison errors of [`InputDsa::distance`].
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let a = faer::mat![[0.9, 0.1], [0.0, 0.5]];
    /// let b = faer::mat![[1.0], [1.0]];
    /// let d = faer::mat![[1.0, 0.0], [0.0, -1.0]]; // a latent sign flip
    /// let (a2, b2) = (&d * &a * &d, &d * &b);
    /// let cmp = dsa::InputDsa::default().compare_operators(a.as_ref(), b.as_ref(), a2.as_ref(), b2.as_ref())?;
    /// assert!(cmp.value < 1e-12);
    /// # Ok(()) }
    /// ```
    pub fn compare_operators(
        &self,
        a1: MatRef<'_, f64>,
        b1: MatRef<'_, f64>,
        a2: MatRef<'_, f64>,
        b2: MatRef<'_, f64>,
    ) -> Result<InputComparison> {
        for (a, b, name) in [(a1, b1, "first"), (a2, b2, "second")] {
            if a.nrows() != a.ncols() || b.nrows() != a.nrows() || a.nrows() == 0 {
                return Err(DsaError::ShapeMismatch {
                    what: format!(
                        "the {name} system needs A square (n x n, n >= 1) and B with n rows; got A {} x {} and B {} x {}",
                        a.nrows(),
                        a.ncols(),
                        b.nrows(),
                        b.ncols()
                    ),
                });
            }
            for (m, label) in [(a, "A"), (b, "B")] {
                if !m.is_all_finite() {
                    return Err(DsaError::NonFinite {
                        input: format!("operator {label} of the {name} system"),
                        location: "some entry".into(),
                        value: f64::NAN,
                    });
                }
            }
        }
        self.install(|| {
            let pa = self.comparer.prepare(a1, b1, "the first system");
            let pb = self.comparer.prepare(a2, b2, "the second system");
            self.comparer.check_pair(&pa, &pb, "first vs second")?;
            self.comparer.compare(&pa, &pb)
        })
    }

    /// All unordered pairs of a list of systems `(states, inputs)`: the `M x M` matrix of
    /// distances, symmetric with an exactly zero diagonal. Each system is fitted once and each
    /// pair `i < j` compared once, in parallel; entry `(i, j)` is the same number as
    /// `distance` on systems `i` and `j`, whatever the number of threads.
    ///
    /// # Errors
    /// The first failing system in list order (named `systems[k]`), the first pair in row order
    /// with different dimensions ([`DsaError::DimensionMismatch`], naming the pair), a
    /// comparison error, or [`DsaError::Cancelled`] when the progress callback asks to stop.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let systems: Vec<_> = (0..3).map(|k| dsa::input::simulate_example(300, k)).collect();
    /// let d = dsa::InputDsa::builder().rank(3).build()?.pairwise(&systems)?;
    /// assert_eq!((d.nrows(), d[(1, 1)]), (3, 0.0));
    /// assert_eq!(d[(0, 2)], d[(2, 0)]);
    /// # Ok(()) }
    /// ```
    pub fn pairwise<X: ToDataset + Sync, U: ToDataset + Sync>(
        &self,
        systems: &[(X, U)],
    ) -> Result<Mat<f64>> {
        let models = self.fit_all(systems)?;
        self.pairwise_labelled(&models, |k| format!("systems[{k}]"))
    }

    /// [`InputDsa::pairwise`] on fitted models.
    ///
    /// # Errors
    /// As [`InputDsa::pairwise`], without the fit errors.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let dsa = dsa::InputDsa::builder().rank(3).build()?;
    /// let systems: Vec<_> = (0..3).map(|k| dsa::input::simulate_example(300, k)).collect();
    /// let models = dsa.fit_all(&systems)?;
    /// assert_eq!(dsa.pairwise_models(&models)?, dsa.pairwise(&systems)?);
    /// # Ok(()) }
    /// ```
    pub fn pairwise_models(&self, models: &[InputModel]) -> Result<Mat<f64>> {
        self.pairwise_labelled(models, |k| format!("systems[{k}]"))
    }

    fn pairwise_labelled(
        &self,
        models: &[InputModel],
        name: impl Fn(usize) -> String + Sync,
    ) -> Result<Mat<f64>> {
        let m = models.len();
        let prepared: Vec<PreparedSystem> = self.install(|| {
            models
                .par_iter()
                .enumerate()
                .map(|(k, md)| self.prepare(md, &name(k)))
                .collect()
        });
        let pairs: Vec<(usize, usize)> = (0..m)
            .flat_map(|i| (i + 1..m).map(move |j| (i, j)))
            .collect();
        let values = self.run_pairs(&pairs, &prepared, &prepared, &name, &name)?;
        let mut out = Mat::zeros(m, m);
        for (&(i, j), v) in pairs.iter().zip(values) {
            out[(i, j)] = v;
            out[(j, i)] = v;
        }
        Ok(out)
    }

    /// Every system of `xs` against every system of `ys`: the `M x K` matrix with
    /// `out[(i, k)] = distance(xs[i], ys[k])`. Each system is fitted once.
    ///
    /// # Errors
    /// As [`InputDsa::pairwise`] (systems named `xs[i]` and `ys[k]`).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let xs: Vec<_> = (0..2).map(|k| dsa::input::simulate_example(300, k)).collect();
    /// let ys: Vec<_> = (2..5).map(|k| dsa::input::simulate_example(300, k)).collect();
    /// let d = dsa::InputDsa::builder().rank(3).build()?.bipartite(&xs, &ys)?;
    /// assert_eq!((d.nrows(), d.ncols()), (2, 3));
    /// # Ok(()) }
    /// ```
    pub fn bipartite<X, U, Y, V>(&self, xs: &[(X, U)], ys: &[(Y, V)]) -> Result<Mat<f64>>
    where
        X: ToDataset + Sync,
        U: ToDataset + Sync,
        Y: ToDataset + Sync,
        V: ToDataset + Sync,
    {
        let name_x = |i: usize| format!("xs[{i}]");
        let name_y = |k: usize| format!("ys[{k}]");
        let mx = self.fit_named(xs, name_x)?;
        let my = self.fit_named(ys, name_y)?;
        let (px, py) = self.install(|| {
            let px: Vec<PreparedSystem> = mx
                .par_iter()
                .enumerate()
                .map(|(k, m)| self.prepare(m, &name_x(k)))
                .collect();
            let py: Vec<PreparedSystem> = my
                .par_iter()
                .enumerate()
                .map(|(k, m)| self.prepare(m, &name_y(k)))
                .collect();
            (px, py)
        });
        let (m, k) = (px.len(), py.len());
        let pairs: Vec<(usize, usize)> = (0..m).flat_map(|i| (0..k).map(move |j| (i, j))).collect();
        let values = self.run_pairs(&pairs, &px, &py, &name_x, &name_y)?;
        let mut out = Mat::zeros(m, k);
        for (&(i, j), v) in pairs.iter().zip(values) {
            out[(i, j)] = v;
        }
        Ok(out)
    }

    /// Compare `a[i]` with `b[j]` for every pair, in parallel, results in pair order;
    /// dimension errors are found first, in pair order, so that the error does not depend on
    /// scheduling.
    fn run_pairs(
        &self,
        pairs: &[(usize, usize)],
        a: &[PreparedSystem],
        b: &[PreparedSystem],
        name_a: &(dyn Fn(usize) -> String + Sync),
        name_b: &(dyn Fn(usize) -> String + Sync),
    ) -> Result<Vec<f64>> {
        for &(i, j) in pairs {
            self.comparer
                .check_pair(&a[i], &b[j], &format!("{} vs {}", name_a(i), name_b(j)))?;
        }
        self.install(|| {
            crate::parallel::run_jobs(
                pairs.len(),
                self.progress.as_ref(),
                |k| pairs[k],
                |k| {
                    let (i, j) = pairs[k];
                    self.comparer.compare(&a[i], &b[j]).map(|c| c.value)
                },
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_sync_clone() {
        fn check<T: Send + Sync + Clone + fmt::Debug>() {}
        check::<InputDsa>();
        check::<InputDsaBuilder>();
        check::<InputReport>();
        check::<InputModel>();
        check::<InputComparison>();
    }
}
