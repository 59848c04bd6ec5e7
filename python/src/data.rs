//! numpy arrays in, numpy arrays out.
//!
//! A dataset is a 2-D array (time x channels), a 3-D array (trials x time x channels) or a list
//! of 2-D arrays (trials of different lengths), float64 or float32, in any memory order. The
//! arrays are borrowed read-only for the duration of a call and copied exactly once, into the
//! crate's `faer` matrices, when the crate asks for the dataset (float32 is widened to float64
//! in that same pass).

use dsa::{Dataset, ToDataset};
use faer::Mat;
use numpy::ndarray::{Array1, Array2, ArrayView2, Axis, Ix2};
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn,
    PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::errors::{to_py, type_error};

/// A numpy array borrowed read-only, float64 or float32.
pub(crate) enum Borrowed<'py> {
    F64(PyReadonlyArrayDyn<'py, f64>),
    F32(PyReadonlyArrayDyn<'py, f32>),
}

/// A 2-D view of one trial.
#[derive(Clone)]
pub(crate) enum Trial<'a> {
    F64(ArrayView2<'a, f64>),
    F32(ArrayView2<'a, f32>),
}

impl Trial<'_> {
    /// The one copy: into a column-major `faer` matrix, widening float32.
    fn to_mat(&self) -> Mat<f64> {
        match self {
            Trial::F64(v) => Mat::from_fn(v.nrows(), v.ncols(), |i, j| v[[i, j]]),
            Trial::F32(v) => Mat::from_fn(v.nrows(), v.ncols(), |i, j| f64::from(v[[i, j]])),
        }
    }
}

/// One dataset's arrays, borrowed for a call.
pub(crate) struct Input<'py> {
    arrays: Vec<Borrowed<'py>>,
    /// Given as a list of trials (rather than one array).
    list: bool,
}

/// One dataset as views into numpy memory: what the crate converts (`ToDataset`).
pub(crate) struct Views<'a> {
    trials: Vec<Trial<'a>>,
}

impl ToDataset for Views<'_> {
    fn to_dataset(&self) -> dsa::Result<Dataset> {
        Dataset::from_trials(self.trials.iter().map(Trial::to_mat).collect())
    }
}

/// `x` borrowed as a float64/float32 numpy array (any number of dimensions), or `None` if it
/// is not a numpy array.
fn borrow_array<'py>(x: &Bound<'py, PyAny>, name: &str) -> PyResult<Option<Borrowed<'py>>> {
    let Ok(untyped) = x.cast::<PyUntypedArray>() else {
        return Ok(None);
    };
    if let Ok(a) = x.cast::<PyArrayDyn<f64>>() {
        return Ok(Some(Borrowed::F64(a.try_readonly().map_err(|e| {
            type_error(format!("{name}: cannot borrow the array ({e})"))
        })?)));
    }
    if let Ok(a) = x.cast::<PyArrayDyn<f32>>() {
        return Ok(Some(Borrowed::F32(a.try_readonly().map_err(|e| {
            type_error(format!("{name}: cannot borrow the array ({e})"))
        })?)));
    }
    Err(type_error(format!(
        "{name} has dtype {}; dsa_rs takes float64 or float32 arrays in native byte order \
         (convert with {name}.astype(numpy.float64))",
        untyped.dtype()
    )))
}

fn dims_error(name: &str, ndim: usize) -> PyErr {
    to_py(dsa::DsaError::ShapeMismatch {
        what: format!(
            "{name} is a {ndim}-D array; pass a 2-D array (time x channels), a 3-D array \
             (trials x time x channels), or a list of 2-D arrays (trials of different lengths)"
        ),
    })
}

impl<'py> Input<'py> {
    /// A dataset from a Python object: a 2-D or 3-D array, or a list/tuple of 2-D arrays.
    /// `name` names it in error messages (`x`, `datasets[3]`).
    pub(crate) fn new(x: &Bound<'py, PyAny>, name: &str) -> PyResult<Self> {
        if let Some(a) = borrow_array(x, name)? {
            let ndim = a.ndim();
            if ndim != 2 && ndim != 3 {
                return Err(dims_error(name, ndim));
            }
            return Ok(Self {
                arrays: vec![a],
                list: false,
            });
        }
        if x.is_instance_of::<PyList>() || x.is_instance_of::<PyTuple>() {
            let mut arrays = Vec::new();
            for (k, t) in x.try_iter()?.enumerate() {
                let t = t?;
                let tname = format!("{name}[{k}]");
                let a = borrow_array(&t, &tname)?.ok_or_else(|| {
                    type_error(format!(
                        "{tname} is a {}, not a numpy array; a list dataset holds one 2-D \
                         array (time x channels) per trial",
                        type_name(&t)
                    ))
                })?;
                if a.ndim() != 2 {
                    return Err(to_py(dsa::DsaError::ShapeMismatch {
                        what: format!(
                            "{tname} is a {}-D array; each trial of a list dataset must be 2-D \
                             (time x channels)",
                            a.ndim()
                        ),
                    }));
                }
                arrays.push(a);
            }
            return Ok(Self { arrays, list: true });
        }
        Err(type_error(format!(
            "{name} is a {}; pass a numpy array (2-D time x channels or 3-D trials x time x \
             channels) or a list of 2-D arrays",
            type_name(x)
        )))
    }

    /// Views of every trial (axis 0 of a 3-D array; each array of a list).
    pub(crate) fn views(&self) -> Views<'_> {
        let mut trials = Vec::new();
        for a in &self.arrays {
            match a {
                Borrowed::F64(r) => split(r.as_array(), &mut trials, Trial::F64),
                Borrowed::F32(r) => split(r.as_array(), &mut trials, Trial::F32),
            }
        }
        Views { trials }
    }
}

impl Borrowed<'_> {
    fn ndim(&self) -> usize {
        match self {
            Borrowed::F64(r) => r.as_array().ndim(),
            Borrowed::F32(r) => r.as_array().ndim(),
        }
    }
}

/// The 2-D trials of a 2-D or 3-D view (checked by [`Input::new`]).
fn split<'a, T>(
    v: numpy::ndarray::ArrayViewD<'a, T>,
    out: &mut Vec<Trial<'a>>,
    wrap: impl Fn(ArrayView2<'a, T>) -> Trial<'a>,
) {
    if v.ndim() == 3 {
        for k in 0..v.len_of(Axis(0)) {
            if let Ok(t) = v
                .clone()
                .index_axis_move(Axis(0), k)
                .into_dimensionality::<Ix2>()
            {
                out.push(wrap(t));
            }
        }
    } else if let Ok(t) = v.into_dimensionality::<Ix2>() {
        out.push(wrap(t));
    }
}

fn type_name(x: &Bound<'_, PyAny>) -> String {
    x.get_type()
        .name()
        .map_or_else(|_| "object".to_string(), |n| n.to_string())
}

/// Datasets from a Python sequence (a list, a tuple, or a 3-D array whose first axis lists
/// them); `side` names the argument in errors (`datasets`, `xs`).
pub(crate) fn inputs<'py>(xs: &Bound<'py, PyAny>, side: &str) -> PyResult<Vec<Input<'py>>> {
    if let Ok(a) = xs.cast::<PyUntypedArray>() {
        if a.ndim() != 3 {
            return Err(to_py(dsa::DsaError::ShapeMismatch {
                what: format!(
                    "{side} is a {}-D array; pass a list of datasets (or a 3-D array whose \
                     first axis lists 2-D datasets)",
                    a.ndim()
                ),
            }));
        }
    } else if !(xs.is_instance_of::<PyList>() || xs.is_instance_of::<PyTuple>()) {
        return Err(type_error(format!(
            "{side} is a {}; pass a list of datasets",
            type_name(xs)
        )));
    }
    xs.try_iter()?
        .enumerate()
        .map(|(k, x)| Input::new(&x?, &format!("{side}[{k}]")))
        .collect()
}

/// A square operator (or any matrix) as an owned `faer` matrix; float64 or float32, 2-D.
pub(crate) fn matrix(x: &Bound<'_, PyAny>, name: &str) -> PyResult<Mat<f64>> {
    let a = borrow_array(x, name)?.ok_or_else(|| {
        type_error(format!(
            "{name} is a {}; pass a 2-D numpy array",
            type_name(x)
        ))
    })?;
    if a.ndim() != 2 {
        return Err(to_py(dsa::DsaError::ShapeMismatch {
            what: format!("{name} is a {}-D array; pass a 2-D array", a.ndim()),
        }));
    }
    let mut trials = Vec::with_capacity(1);
    match &a {
        Borrowed::F64(r) => split(r.as_array(), &mut trials, Trial::F64),
        Borrowed::F32(r) => split(r.as_array(), &mut trials, Trial::F32),
    }
    Ok(trials
        .first()
        .map(Trial::to_mat)
        .unwrap_or_else(|| Mat::zeros(0, 0)))
}

/// Matrices from a Python sequence of 2-D arrays.
pub(crate) fn matrices(xs: &Bound<'_, PyAny>, side: &str) -> PyResult<Vec<Mat<f64>>> {
    if !(xs.is_instance_of::<PyList>()
        || xs.is_instance_of::<PyTuple>()
        || xs.cast::<PyUntypedArray>().is_ok())
    {
        return Err(type_error(format!(
            "{side} is a {}; pass a list of 2-D arrays",
            type_name(xs)
        )));
    }
    xs.try_iter()?
        .enumerate()
        .map(|(k, x)| matrix(&x?, &format!("{side}[{k}]")))
        .collect()
}

/// A `faer` matrix as a new numpy array (C order).
pub(crate) fn to_numpy<'py>(py: Python<'py>, m: &Mat<f64>) -> Bound<'py, PyArray2<f64>> {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)]).into_pyarray(py)
}

/// A vector as a new 1-D numpy array.
pub(crate) fn vec_to_numpy<'py>(py: Python<'py>, v: Vec<f64>) -> Bound<'py, PyArray1<f64>> {
    Array1::from_vec(v).into_pyarray(py)
}

/// Trials as numpy arrays: one 2-D array, a 3-D array when the input was one, or a list.
pub(crate) fn trials_to_py<'py>(
    py: Python<'py>,
    trials: &[Mat<f64>],
    shape: &Shape,
) -> PyResult<Bound<'py, PyAny>> {
    match shape {
        Shape::Matrix => match trials {
            [t] => Ok(to_numpy(py, t).into_any()),
            _ => Err(type_error("internal: expected one trial")),
        },
        Shape::Stacked => {
            let (k, t, n) = (
                trials.len(),
                trials.first().map_or(0, Mat::nrows),
                trials.first().map_or(0, Mat::ncols),
            );
            let arr =
                numpy::ndarray::Array3::from_shape_fn((k, t, n), |(a, i, j)| trials[a][(i, j)]);
            Ok(arr.into_pyarray(py).into_any())
        }
        Shape::List => {
            let list = PyList::empty(py);
            for t in trials {
                list.append(to_numpy(py, t))?;
            }
            Ok(list.into_any())
        }
    }
}

/// How a dataset was given, so that a forecast comes back in the same form.
pub(crate) enum Shape {
    Matrix,
    Stacked,
    List,
}

impl Input<'_> {
    pub(crate) fn shape(&self) -> Shape {
        match self.arrays.as_slice() {
            _ if self.list => Shape::List,
            [a] if a.ndim() == 3 => Shape::Stacked,
            _ => Shape::Matrix,
        }
    }
}
