//! `dsa_rs._core`: the Python bindings of the `dsa` crate.
//!
//! Thin by design: numpy arrays are borrowed and copied once into the crate's matrices,
//! keyword arguments become a `dsa::DsaBuilder`, the crate computes without the interpreter
//! lock, results come back as numpy arrays, and every `dsa::DsaError` becomes a `ValueError`
//! subclass with the crate's message. No numerics live here. The Python package `dsa_rs`
//! (progress bars, Dask, the drop-in `DSA` class) is built on these functions.

mod data;
mod errors;
mod model;
mod params;
mod watch;

use std::sync::Arc;

use faer::{Mat, MatRef};
use numpy::{PyArray1, PyArray2};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use data::{inputs, matrices, matrix, to_numpy, vec_to_numpy, Input, Views};
use errors::to_py;
use model::Model;
use watch::Watch;

/// The angular (default), euclidean or wasserstein DSA distance between two datasets.
///
/// `x` and `y` are each a 2-D array (time x channels), a 3-D array (trials x time x channels)
/// or a list of 2-D arrays (trials of different lengths), float64 or float32.
#[pyfunction]
#[pyo3(signature = (x, y, **params))]
fn distance(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    params: Option<&Bound<'_, PyDict>>,
) -> PyResult<f64> {
    let p = params::parse(params)?;
    let watch = Arc::new(Watch::default());
    let dsa = watch.hook(p.builder).build().map_err(to_py)?;
    let (x, y) = (Input::new(x, "x")?, Input::new(y, "y")?);
    let (vx, vy) = (x.views(), y.views());
    watch::run(py, &watch, p.progress, || dsa.distance(&vx, &vy))
}

/// The `M x M` matrix of distances between all pairs of a list of datasets (symmetric, zero
/// diagonal; each dataset fitted once, each pair compared once, in parallel).
#[pyfunction]
#[pyo3(signature = (datasets, **params))]
fn pairwise<'py>(
    py: Python<'py>,
    datasets: &Bound<'py, PyAny>,
    params: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let p = params::parse(params)?;
    let watch = Arc::new(Watch::default());
    let dsa = watch.hook(p.builder).build().map_err(to_py)?;
    let data = inputs(datasets, "datasets")?;
    let views: Vec<Views<'_>> = data.iter().map(Input::views).collect();
    let out = watch::run(py, &watch, p.progress, || dsa.pairwise(&views))?;
    Ok(to_numpy(py, &out))
}

/// The `M x K` matrix of distances between every dataset of `xs` and every dataset of `ys`.
#[pyfunction]
#[pyo3(signature = (xs, ys, **params))]
fn bipartite<'py>(
    py: Python<'py>,
    xs: &Bound<'py, PyAny>,
    ys: &Bound<'py, PyAny>,
    params: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let p = params::parse(params)?;
    let watch = Arc::new(Watch::default());
    let dsa = watch.hook(p.builder).build().map_err(to_py)?;
    let (dx, dy) = (inputs(xs, "xs")?, inputs(ys, "ys")?);
    let vx: Vec<Views<'_>> = dx.iter().map(Input::views).collect();
    let vy: Vec<Views<'_>> = dy.iter().map(Input::views).collect();
    let out = watch::run(py, &watch, p.progress, || dsa.bipartite(&vx, &vy))?;
    Ok(to_numpy(py, &out))
}

/// The distance between two fitted operators (square arrays of the same size, or any sizes
/// for `score="wasserstein"` or a `size_mismatch` policy).
#[pyfunction]
#[pyo3(signature = (a, b, score = None, **params))]
fn operator_distance(
    py: Python<'_>,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
    score: Option<&Bound<'_, PyAny>>,
    params: Option<&Bound<'_, PyDict>>,
) -> PyResult<f64> {
    let mut p = params::parse(params)?;
    if let Some(s) = score {
        p.builder = p.builder.score(params::score(s)?);
    }
    let (dsa, _) = p.build()?;
    let (a, b) = (matrix(a, "a")?, matrix(b, "b")?);
    let d = py
        .detach(|| dsa.bipartite_operators(&[a.as_ref()], &[b.as_ref()]))
        .map_err(to_py)?;
    Ok(d[(0, 0)])
}

/// Fit one dataset: a `Model`.
#[pyfunction]
#[pyo3(signature = (x, **params))]
fn fit(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    params: Option<&Bound<'_, PyDict>>,
) -> PyResult<Model> {
    let (dsa, _) = params::parse(params)?.build()?;
    let x = Input::new(x, "x")?;
    let views = x.views();
    let inner = py.detach(|| dsa.fit(&views)).map_err(to_py)?;
    Ok(Model { inner })
}

/// Fit several datasets in parallel (per-dataset parameters as lists): a list of `Model`s.
#[pyfunction]
#[pyo3(signature = (datasets, **params))]
fn fit_all<'py>(
    py: Python<'py>,
    datasets: &Bound<'py, PyAny>,
    params: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyList>> {
    let (dsa, _) = params::parse(params)?.build()?;
    let data = inputs(datasets, "datasets")?;
    let views: Vec<Views<'_>> = data.iter().map(Input::views).collect();
    let models = py.detach(|| dsa.fit_all(&views)).map_err(to_py)?;
    let list = PyList::empty(py);
    for inner in models {
        list.append(Bound::new(py, Model { inner })?)?;
    }
    Ok(list)
}

fn refs(ops: &[Mat<f64>]) -> Vec<MatRef<'_, f64>> {
    ops.iter().map(Mat::as_ref).collect()
}

/// `pairwise` on fitted operators: the `M x M` matrix of the chosen score.
#[pyfunction]
#[pyo3(signature = (operators, **params))]
fn pairwise_operators<'py>(
    py: Python<'py>,
    operators: &Bound<'py, PyAny>,
    params: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let p = params::parse(params)?;
    let watch = Arc::new(Watch::default());
    let dsa = watch.hook(p.builder).build().map_err(to_py)?;
    let ops = matrices(operators, "operators")?;
    let out = watch::run(py, &watch, p.progress, || {
        dsa.pairwise_operators(&refs(&ops))
    })?;
    Ok(to_numpy(py, &out))
}

/// `bipartite` on fitted operators: the `M x K` matrix of the chosen score.
#[pyfunction]
#[pyo3(signature = (a, b, **params))]
fn bipartite_operators<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
    params: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let p = params::parse(params)?;
    let watch = Arc::new(Watch::default());
    let dsa = watch.hook(p.builder).build().map_err(to_py)?;
    let (a, b) = (matrices(a, "a")?, matrices(b, "b")?);
    let out = watch::run(py, &watch, p.progress, || {
        dsa.bipartite_operators(&refs(&a), &refs(&b))
    })?;
    Ok(to_numpy(py, &out))
}

/// The values of the pairs `pairs` (a list of `(i, j)`, `i < j`) of
/// `pairwise_operators(operators)`, the same bits as those entries: one block of a
/// distributed run.
#[pyfunction]
#[pyo3(signature = (operators, pairs, **params))]
fn pairwise_block<'py>(
    py: Python<'py>,
    operators: &Bound<'py, PyAny>,
    pairs: Vec<(usize, usize)>,
    params: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let p = params::parse(params)?;
    let watch = Arc::new(Watch::default());
    let dsa = watch.hook(p.builder).build().map_err(to_py)?;
    let ops = matrices(operators, "operators")?;
    let out = watch::run(py, &watch, p.progress, || {
        dsa.pairwise_block(&refs(&ops), &pairs)
    })?;
    Ok(vec_to_numpy(py, out))
}

/// The post-pass of a distributed run: the `M x M` matrix with each pair's value at `(i, j)`,
/// `i < j`, made into what `pairwise_operators(operators)` returns.
#[pyfunction]
#[pyo3(signature = (operators, values, **params))]
fn pairwise_finish<'py>(
    py: Python<'py>,
    operators: &Bound<'py, PyAny>,
    values: &Bound<'py, PyAny>,
    params: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let (dsa, _) = params::parse(params)?.build()?;
    let ops = matrices(operators, "operators")?;
    let values = matrix(values, "values")?;
    let out = py
        .detach(|| dsa.pairwise_finish(&refs(&ops), values))
        .map_err(to_py)?;
    Ok(to_numpy(py, &out))
}

/// The keyword arguments every function accepts.
#[pyfunction]
fn parameter_names() -> Vec<&'static str> {
    params::KEYS.to_vec()
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<Model>()?;
    m.add_function(wrap_pyfunction!(distance, m)?)?;
    m.add_function(wrap_pyfunction!(pairwise, m)?)?;
    m.add_function(wrap_pyfunction!(bipartite, m)?)?;
    m.add_function(wrap_pyfunction!(operator_distance, m)?)?;
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(fit_all, m)?)?;
    m.add_function(wrap_pyfunction!(pairwise_operators, m)?)?;
    m.add_function(wrap_pyfunction!(bipartite_operators, m)?)?;
    m.add_function(wrap_pyfunction!(pairwise_block, m)?)?;
    m.add_function(wrap_pyfunction!(pairwise_finish, m)?)?;
    m.add_function(wrap_pyfunction!(parameter_names, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
