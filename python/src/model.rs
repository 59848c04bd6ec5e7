//! `dsa_rs.Model`: a fitted DMD model.

use dsa::{DmdModel, RankRule, Regression};
use numpy::ndarray::Array1;
use numpy::{IntoPyArray, PyArray1, PyArray2};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::data::{to_numpy, trials_to_py, Input};
use crate::errors::{param, to_py};

/// A fitted DMD model (from `dsa_rs.fit`): the operator, its spectrum, the singular values of
/// the embedding, how the rank was chosen, and forecasts.
///
/// Models pickle (as the crate's byte format, every number with its exact bits), so Dask and
/// Ray can ship them.
#[pyclass(module = "dsa_rs", name = "Model", frozen)]
pub(crate) struct Model {
    pub(crate) inner: DmdModel,
}

fn rule_name(rule: RankRule) -> String {
    match rule {
        RankRule::Full => "full".into(),
        RankRule::Fixed(r) => format!("rank={r}"),
        RankRule::Threshold(t) => format!("rank_thresh={t}"),
        RankRule::ExplainedVariance(q) => format!("rank_explained_variance={q}"),
        RankRule::OptimalHardThreshold => "optimal_hard_threshold".into(),
    }
}

#[pymethods]
impl Model {
    /// The operator `A` (r x r), with `v[t + steps_ahead] ~ A v[t]` in the reduced coordinates.
    #[getter]
    fn operator<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        to_numpy(py, &self.inner.operator().to_owned())
    }

    /// The DMD spectrum: the eigenvalues of the operator (complex128), sorted by real then
    /// imaginary part.
    #[getter]
    fn eigenvalues<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<numpy::Complex64>> {
        let v: Vec<numpy::Complex64> = self
            .inner
            .eigenvalues()
            .iter()
            .map(|l| numpy::Complex64::new(l.re, l.im))
            .collect();
        Array1::from_vec(v).into_pyarray(py)
    }

    /// All singular values of the delay embedding, descending.
    #[getter]
    fn singular_values<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        Array1::from_vec(self.inner.singular_values().to_vec()).into_pyarray(py)
    }

    /// The rank used (the operator's size for principal-component regression).
    #[getter]
    fn rank(&self) -> usize {
        self.inner.rank()
    }

    /// How the rank was chosen: a dict with `rule`, `requested`, `used`, `available` (number
    /// of singular values), `numerical_rank` and `capped` (`used < requested`).
    #[getter]
    fn rank_info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let r = self.inner.rank_info();
        let d = PyDict::new(py);
        d.set_item("rule", rule_name(r.rule))?;
        d.set_item("requested", r.requested)?;
        d.set_item("used", r.used)?;
        d.set_item("available", r.available)?;
        d.set_item("numerical_rank", r.numerical_rank)?;
        d.set_item("capped", r.capped)?;
        Ok(d)
    }

    /// Number of delays of the embedding.
    #[getter]
    fn n_delays(&self) -> usize {
        self.inner.params().n_delays()
    }

    /// Delay interval of the embedding.
    #[getter]
    fn delay_interval(&self) -> usize {
        self.inner.params().delay_interval()
    }

    /// Forecast shift of the regression.
    #[getter]
    fn steps_ahead(&self) -> usize {
        self.inner.params().steps_ahead()
    }

    /// Ridge parameter.
    #[getter]
    fn lamb(&self) -> f64 {
        self.inner.params().lambda()
    }

    /// Whether reduced-rank regression was used.
    #[getter]
    fn reduced_rank_reg(&self) -> bool {
        self.inner.regression() == Regression::ReducedRank
    }

    /// Channels of the data the model was fitted on.
    #[getter]
    fn n_channels(&self) -> usize {
        self.inner.n_channels()
    }

    /// The full-space operator `U_r S_r A S_r^-1 U_r^T` ((N d) x (N d)), mapping an embedded
    /// row to the one `steps_ahead` later.
    fn full_operator<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        let m = py.detach(|| self.inner.full_operator());
        to_numpy(py, &m)
    }

    /// Forecast `x` (same channels as the training data): start from the true embedded state,
    /// apply the operator step after step, restart from the data every `reseed` steps
    /// (`reseed=1`: one-step-ahead; `None`: never). Returns the same form as `x` (a 2-D array,
    /// a 3-D array or a list); the first `(n_delays - 1) * delay_interval + steps_ahead` time
    /// points of each trial are copies of the data.
    #[pyo3(signature = (x, reseed = Some(1)))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        reseed: Option<usize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let input = Input::new(x, "x")?;
        let reseed = reseed.unwrap_or(usize::MAX);
        if reseed == 0 {
            return Err(param(
                "reseed",
                "must be at least 1 (1 = one-step-ahead; None = never reseed)",
            ));
        }
        let views = input.views();
        let trials = py
            .detach(|| self.inner.predict(&views, reseed))
            .map_err(to_py)?;
        trials_to_py(py, &trials, &input.shape())
    }

    /// The model as bytes (the crate's format; `dsa_rs.Model.from_bytes` reads them).
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.to_bytes())
    }

    /// A model from the bytes of `to_bytes`.
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Self> {
        Ok(Self {
            inner: DmdModel::from_bytes(data).map_err(to_py)?,
        })
    }

    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let load = py.import("dsa_rs")?.getattr("_model_from_bytes")?;
        Ok((load, (self.to_bytes(py),)))
    }

    fn __repr__(&self) -> String {
        format!(
            "Model(rank={}, n_delays={}, n_channels={}, rule={})",
            self.inner.rank(),
            self.inner.params().n_delays(),
            self.inner.n_channels(),
            rule_name(self.inner.rank_info().rule)
        )
    }
}
