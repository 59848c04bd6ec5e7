//! A pairwise matrix computed in blocks of pairs, for running [`Dsa::pairwise_operators`] on
//! many machines (the Python package's Dask path): fit every operator once, hand each worker
//! the operators and a block of pairs ([`Dsa::pairwise_block`]), assemble the values into the
//! upper triangle of an `M x M` matrix, and finish it on one machine ([`Dsa::pairwise_finish`]).
//!
//! Each pair's value is the same bits whatever the blocking, the order of the pairs in a block,
//! the machine's thread count or which other pairs share its block: a pair is compared exactly
//! as [`Dsa::pairwise_operators`] compares it (each operator prepared from itself alone, one
//! solver with one seed). Bits can differ between machines whose CPUs take different SIMD paths
//! in the linear algebra (see `docs/scale-out.md`).

use faer::{Mat, MatRef};

use super::Dsa;
use crate::error::{DsaError, Result};

impl Dsa {
    /// The values of some entries of [`Dsa::pairwise_operators`]`(ops)`: `out[k]` is entry
    /// `pairs[k] = (i, j)`, the same bits as that entry of the full matrix.
    ///
    /// Only the operators named in `pairs` are prepared (each once), so a worker that holds all
    /// `M` operators pays only for the ones its block uses. Pairs run in parallel on this
    /// `Dsa`'s pool; the progress callback, if any, counts the pairs of this block.
    ///
    /// # Errors
    /// [`DsaError::InvalidParameter`] (`pairs`) for a pair that is not `i < j < ops.len()`;
    /// otherwise as [`Dsa::pairwise_operators`] on these pairs: a non-square, non-finite or zero
    /// operator, operators of different sizes under [`crate::SizeMismatch::Error`] (the first
    /// such pair of `pairs`), a solver failure, or [`DsaError::Cancelled`] (never a partial
    /// block).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let wave = |w: f64| faer::Mat::from_fn(300, 2, |t, j| ((t as f64) * w + j as f64).sin());
    /// let dsa = dsa::Dsa::builder().n_delays(3).rank(4).build()?;
    /// let models = dsa.fit_all(&[wave(0.2), wave(0.3), wave(0.4)])?;
    /// let ops: Vec<_> = models.iter().map(|m| m.operator()).collect();
    /// let full = dsa.pairwise_operators(&ops)?;
    /// // two blocks of the upper triangle, in any order
    /// let first = dsa.pairwise_block(&ops, &[(1, 2)])?;
    /// let second = dsa.pairwise_block(&ops, &[(0, 2), (0, 1)])?;
    /// assert_eq!(first[0].to_bits(), full[(1, 2)].to_bits());
    /// assert_eq!(second[0].to_bits(), full[(0, 2)].to_bits());
    /// assert_eq!(second[1].to_bits(), full[(0, 1)].to_bits());
    /// # Ok(()) }
    /// ```
    pub fn pairwise_block(
        &self,
        ops: &[MatRef<'_, f64>],
        pairs: &[(usize, usize)],
    ) -> Result<Vec<f64>> {
        let m = ops.len();
        if let Some(&(i, j)) = pairs.iter().find(|&&(i, j)| !(i < j && j < m)) {
            return Err(DsaError::param(
                "pairs",
                format!(
                    "pair ({i}, {j}) is not an entry of the upper triangle of {m} operators; \
                     each pair must be (i, j) with i < j < {m}"
                ),
            ));
        }
        // The operators this block uses, in index order; `slot[i]` is operator i's position
        // among them. Preparing only these keeps a small block cheap on a worker that holds
        // every operator; a pair's value depends only on its two operators.
        let mut used: Vec<usize> = pairs.iter().flat_map(|&(i, j)| [i, j]).collect();
        used.sort_unstable();
        used.dedup();
        let mut slot = vec![usize::MAX; m];
        for (k, &i) in used.iter().enumerate() {
            slot[i] = k;
        }
        let sub: Vec<MatRef<'_, f64>> = used.iter().map(|&i| ops[i]).collect();
        let local: Vec<(usize, usize)> = pairs.iter().map(|&(i, j)| (slot[i], slot[j])).collect();
        self.run_pairs(&local, &sub, &sub, true)
    }

    /// The post-pass that turns an assembled matrix of pair values into what
    /// [`Dsa::pairwise_operators`]`(ops)` returns. Call it once, on one machine, after every
    /// block of [`Dsa::pairwise_block`] has been written into `values`.
    ///
    /// `values` is `M x M` (`M = ops.len()`) with entry `(i, j)`, `i < j`, holding that pair's
    /// value; the diagonal and the lower triangle are ignored. The result is symmetric with an
    /// exactly zero diagonal, and a metric: every triangle inequality violated beyond `1e-12`
    /// is repaired from the composed alignment of its detour (spec §4.4), as
    /// [`Dsa::pairwise_operators`] does (it ends with this call), so a distributed run must
    /// always end with it too.
    ///
    /// # Errors
    /// [`DsaError::ShapeMismatch`] when `values` is not `M x M`; [`DsaError::InvalidParameter`]
    /// (`values`) for a NaN, infinite or negative value in the upper triangle (a block that was
    /// never filled in, or filled with something other than a distance).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let wave = |w: f64| faer::Mat::from_fn(300, 2, |t, j| ((t as f64) * w + j as f64).sin());
    /// let dsa = dsa::Dsa::builder().n_delays(3).rank(4).build()?;
    /// let models = dsa.fit_all(&[wave(0.2), wave(0.3), wave(0.4)])?;
    /// let ops: Vec<_> = models.iter().map(|m| m.operator()).collect();
    /// let pairs = [(0, 1), (0, 2), (1, 2)];
    /// let mut values = faer::Mat::zeros(3, 3);
    /// for (&(i, j), v) in pairs.iter().zip(dsa.pairwise_block(&ops, &pairs)?) {
    ///     values[(i, j)] = v;
    /// }
    /// assert_eq!(dsa.pairwise_finish(&ops, values)?, dsa.pairwise_operators(&ops)?);
    /// # Ok(()) }
    /// ```
    pub fn pairwise_finish(&self, ops: &[MatRef<'_, f64>], values: Mat<f64>) -> Result<Mat<f64>> {
        let m = ops.len();
        if values.nrows() != m || values.ncols() != m {
            return Err(DsaError::ShapeMismatch {
                what: format!(
                    "the assembled matrix is {} x {} but there are {m} operators; pass an \
                     {m} x {m} matrix with each pair's value at (i, j), i < j",
                    values.nrows(),
                    values.ncols()
                ),
            });
        }
        let mut out = values;
        for j in 0..m {
            for i in 0..j {
                let v = out[(i, j)];
                if !v.is_finite() || v < 0.0 {
                    return Err(DsaError::param(
                        "values",
                        format!(
                            "entry ({i}, {j}) is {v}; every pair i < j needs its value, a \
                             finite number >= 0 (was a block left out?)"
                        ),
                    ));
                }
                out[(j, i)] = v;
            }
            out[(j, j)] = 0.0;
        }
        self.repair_pairwise(ops, &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops() -> Vec<Mat<f64>> {
        (0..4)
            .map(|k| {
                Mat::from_fn(3, 3, |i, j| {
                    (((i * 3 + j + 11 * k) as f64).sin() * 43758.5453).fract()
                })
            })
            .collect()
    }

    #[test]
    fn rejects_pairs_outside_the_upper_triangle() {
        let ops = ops();
        let refs: Vec<_> = ops.iter().map(|a| a.as_ref()).collect();
        let dsa = Dsa::default();
        for bad in [(1, 1), (2, 1), (0, 4), (4, 5)] {
            let err = dsa.pairwise_block(&refs, &[(0, 1), bad]).unwrap_err();
            assert!(
                matches!(err, DsaError::InvalidParameter { name: "pairs", .. }),
                "{bad:?}: {err}"
            );
        }
        assert_eq!(dsa.pairwise_block(&refs, &[]).unwrap(), Vec::<f64>::new());
    }

    #[test]
    fn finish_checks_shape_and_values() {
        let ops = ops();
        let refs: Vec<_> = ops.iter().map(|a| a.as_ref()).collect();
        let dsa = Dsa::default();
        assert!(matches!(
            dsa.pairwise_finish(&refs, Mat::zeros(4, 3)),
            Err(DsaError::ShapeMismatch { .. })
        ));
        for bad in [f64::NAN, f64::INFINITY, -1.0] {
            let mut v = Mat::zeros(4, 4);
            v[(1, 3)] = bad;
            assert!(matches!(
                dsa.pairwise_finish(&refs, v),
                Err(DsaError::InvalidParameter { name: "values", .. })
            ));
        }
        // the lower triangle and the diagonal are ignored
        let mut v = Mat::from_fn(4, 4, |i, j| if i < j { (i + j) as f64 } else { f64::NAN });
        v[(0, 0)] = 5.0;
        let out = dsa.pairwise_finish(&refs, v).unwrap();
        for i in 0..4 {
            assert_eq!(out[(i, i)], 0.0);
            for j in i + 1..4 {
                assert_eq!(out[(i, j)], (i + j) as f64);
                assert_eq!(out[(j, i)], (i + j) as f64);
            }
        }
    }
}
