//! Reading data from files (feature `npy`).
//!
//! [`read_npy`] reads a numpy `.npy` array, the format the Python world hands over:
//! `np.save("x.npy", x)` with `x` of shape `(T, N)` (one trajectory) or `(K, T, N)` (`K` trials of
//! equal length), dtype `float64` (or `float32`, converted exactly to `f64`).

use std::path::Path;

use crate::data::Dataset;
use crate::error::{DsaError, Result};

/// Read a `.npy` file as a [`Dataset`].
///
/// * Shape `(T, N)`: one trajectory, rows are time. `(T,)`: one channel. `(K, T, N)`: `K`
///   trials of `T` time points each.
/// * dtype `float64` (`<f8` or `>f8`) is read as is; `float32` (`<f4`, `>f4`) is converted to
///   `f64` exactly (the values keep float32 precision, of course). Any other dtype is an error:
///   convert with `x.astype(np.float64)` first.
/// * C order and Fortran order are both read correctly.
///
/// # Errors
/// [`DsaError::Io`] (naming the file) if it cannot be opened or parsed, has another dtype, or
/// another number of dimensions; then the errors of [`Dataset::from_trials`] (empty arrays,
/// NaN or infinite values).
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pairwise_anchor/data.npy");
/// let data = dsa::io::read_npy(path)?; // (20, 1000, 10): 20 trials
/// assert_eq!((data.n_trials(), data.n_channels(), data.trial_lens()[0]), (20, 10, 1000));
/// # Ok(()) }
/// ```
pub fn read_npy(path: impl AsRef<Path>) -> Result<Dataset> {
    let path = path.as_ref();
    let io_err = |reason: String| DsaError::Io {
        path: path.display().to_string(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| io_err(e.to_string()))?;
    let npy = npyz::NpyFile::new(std::io::BufReader::new(file))
        .map_err(|e| io_err(format!("not a valid .npy file: {e}")))?;
    let shape: Vec<usize> = npy.shape().iter().map(|&x| x as usize).collect();
    let order = npy.order();
    let size = match npy.dtype() {
        npyz::DType::Plain(ts) if ts.type_char() == npyz::TypeChar::Float => ts.size_field(),
        other => {
            return Err(io_err(format!(
                "dtype {} is not supported; save the array as float64 (x.astype(np.float64)) or float32",
                other.descr()
            )))
        }
    };
    let flat: Vec<f64> = match size {
        8 => npy.into_vec::<f64>().map_err(|e| io_err(e.to_string()))?,
        4 => npy
            .into_vec::<f32>()
            .map_err(|e| io_err(e.to_string()))?
            .into_iter()
            .map(f64::from)
            .collect(),
        s => {
            return Err(io_err(format!(
                "float{} values are not supported; save the array as float64 or float32",
                8 * s
            )))
        }
    };
    let [k, t, n] = match shape.as_slice() {
        &[t] => [1, t, 1],
        &[t, n] => [1, t, n],
        &[k, t, n] => [k, t, n],
        s => {
            return Err(io_err(format!(
                "an array of shape {s:?} is not a dataset; expected (T, N) for one trajectory or (K, T, N) for K trials"
            )))
        }
    };
    if flat.len() != k * t * n {
        return Err(io_err(format!(
            "the header promises {} values but the file holds {}",
            k * t * n,
            flat.len()
        )));
    }
    let row_major = match order {
        npyz::Order::C => flat,
        npyz::Order::Fortran => {
            // element (kk, i, j) is at kk + k*(i + t*j)
            let mut out = vec![0.0; flat.len()];
            for kk in 0..k {
                for i in 0..t {
                    for j in 0..n {
                        out[kk * t * n + i * n + j] = flat[kk + k * (i + t * j)];
                    }
                }
            }
            out
        }
    };
    Dataset::from_row_major(&row_major, [k, t, n])
}
