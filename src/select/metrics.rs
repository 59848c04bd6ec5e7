//! Forecast metrics (spec §3.7, §6): MSE, MAE, MASE, R², AIC and the non-normality of the
//! operator, counted only on genuinely predicted samples.

use std::fmt;

use faer::{Mat, MatRef};

use crate::data::{Dataset, ToDataset};
use crate::error::{DsaError, Result};
use crate::operator::DmdModel;

/// Forecast quality on held-out data, over the predicted samples only.
///
/// `DmdModel::predict` copies the first `lead = (d-1)*tau + s` rows of every test trial from
/// the data (there is nothing to predict them from). Those rows are **excluded**: every metric
/// below runs over the time points `t = lead .. T_k - 1` of every test trial `k` and over all
/// `N` channels. With `e = x - x_hat` the forecast error and `n` the number of predicted values
/// (time points x channels):
///
/// | field | definition |
/// |---|---|
/// | `mse` | `SSE / n`, `SSE = sum e^2` |
/// | `mae` | `sum |e| / n` |
/// | `mae_persistence` | `sum |x_t - x_{t-1}| / n`, over the same time points |
/// | `mase` | `mae / mae_persistence` |
/// | `r2` | `1 - SSE / SST`, `SST = sum (x - mean_c)^2` with `mean_c` the mean of channel `c` over the predicted samples |
/// | `aic` | `(n ln(SSE / n) + 2 (r^2 + 1)) / n` (spec §6), `r` the rank |
/// | `non_normality` | `||A^T A - A A^T||_F` of the fitted operator `A` |
///
/// The persistence forecast predicts `x_t` by `x_{t-1}` (one step back, whatever `steps_ahead`
/// and `reseed` are): MASE < 1 means the model beats "nothing changes"; the persistence
/// forecast itself has MASE exactly 1. On constant test data `mae_persistence = 0` and MASE
/// is infinite (NaN if the forecast is exact too); `r2` is then not finite either. A forecast
/// that diverges gives infinite metrics, not an error.
///
/// # Example
/// ```
/// use dsa::select::ForecastMetrics;
/// # fn main() -> dsa::Result<()> {
/// let truth = dsa::Dataset::from_trajectory(faer::mat![[1.0], [2.0], [4.0], [7.0]].as_ref())?;
/// let forecast = vec![faer::mat![[1.0], [2.5], [3.0], [7.5]]];
/// let a = faer::Mat::<f64>::identity(1, 1);
/// // row 0 is a copy of the data (skip = 1); errors -0.5, 1, -0.5; persistence errors 1, 2, 3
/// let m = ForecastMetrics::from_forecast(&truth, &forecast, 1, 1, a.as_ref())?;
/// assert_eq!(m.n_values, 3);
/// assert!((m.mse - 0.5).abs() < 1e-15);
/// assert!((m.mase - 1.0 / 3.0).abs() < 1e-15);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastMetrics {
    /// Mean squared error.
    pub mse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Mean absolute error of the persistence forecast `x_t <- x_{t-1}`.
    pub mae_persistence: f64,
    /// Mean absolute scaled error, `mae / mae_persistence`.
    pub mase: f64,
    /// Coefficient of determination `1 - SSE / SST` (channel means removed, pooled over channels).
    pub r2: f64,
    /// Akaike information criterion per predicted value, `ln(SSE / n) + 2 (r^2 + 1) / n`.
    pub aic: f64,
    /// `||A^T A - A A^T||_F` of the operator (0 for a normal operator).
    pub non_normality: f64,
    /// Sum of squared errors.
    pub sse: f64,
    /// Number of predicted values `n` (predicted time points x channels).
    pub n_values: usize,
    /// Number of predicted time points, over all test trials.
    pub n_time_points: usize,
}

impl ForecastMetrics {
    /// Metrics of a forecast against the truth, skipping the first `skip` rows of every trial.
    ///
    /// `forecast` holds one matrix per trial of `truth`, of the same shape (as returned by
    /// [`DmdModel::predict`]). `skip` is the number of leading rows per trial that are not
    /// predictions (`(d-1)*tau + s` for a DMD forecast); it must be at least 1, because the
    /// persistence forecast of the first scored time point needs the one before it. `rank` is
    /// the `r` of the AIC, `operator` the `A` whose non-normality is reported.
    ///
    /// # Errors
    /// [`DsaError::InvalidParameter`] (`skip`) if `skip = 0`; [`DsaError::ShapeMismatch`] if
    /// `forecast` does not have one matrix per trial of the truth's shape, or `operator` is not
    /// square; [`DsaError::EmptyData`] if no trial is longer than `skip`.
    ///
    /// # Example
    /// ```
    /// use dsa::select::ForecastMetrics;
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(20, 2, |t, c| ((t * (c + 1)) as f64 * 0.3).sin());
    /// let truth = dsa::Dataset::from_trajectory(x.as_ref())?;
    /// // the persistence forecast: x_hat_t = x_{t-1}
    /// let persistence = faer::Mat::from_fn(20, 2, |t, c| x[(t.saturating_sub(1), c)]);
    /// let a = faer::Mat::<f64>::identity(2, 2);
    /// let m = ForecastMetrics::from_forecast(&truth, &[persistence], 1, 2, a.as_ref())?;
    /// assert_eq!(m.mase, 1.0);
    /// assert_eq!(m.non_normality, 0.0);
    /// # Ok(()) }
    /// ```
    pub fn from_forecast(
        truth: &Dataset,
        forecast: &[Mat<f64>],
        skip: usize,
        rank: usize,
        operator: MatRef<'_, f64>,
    ) -> Result<Self> {
        if skip == 0 {
            return Err(DsaError::param(
                "skip",
                "must be at least 1: the persistence forecast of time t needs time t-1",
            ));
        }
        if forecast.len() != truth.n_trials() {
            return Err(DsaError::ShapeMismatch {
                what: format!(
                    "the forecast has {} trials but the truth has {}; pass one matrix per trial",
                    forecast.len(),
                    truth.n_trials()
                ),
            });
        }
        if operator.nrows() != operator.ncols() {
            return Err(DsaError::ShapeMismatch {
                what: format!(
                    "the operator must be square, got {} x {}",
                    operator.nrows(),
                    operator.ncols()
                ),
            });
        }
        let n_ch = truth.n_channels();
        for (k, (x, p)) in truth.trials().iter().zip(forecast).enumerate() {
            if x.shape() != p.shape() {
                return Err(DsaError::ShapeMismatch {
                    what: format!(
                        "trial {k}: the truth is {} x {} but the forecast is {} x {}",
                        x.nrows(),
                        x.ncols(),
                        p.nrows(),
                        p.ncols()
                    ),
                });
            }
        }
        let n_time_points: usize = truth
            .trials()
            .iter()
            .map(|x| x.nrows().saturating_sub(skip))
            .sum();
        if n_time_points == 0 {
            return Err(DsaError::EmptyData {
                what: format!("no predicted time points: every test trial has at most skip = {skip} time points"),
            });
        }
        let n_values = n_time_points * n_ch;
        let nf = n_values as f64;

        let (mut sse, mut sae, mut sae_p) = (0.0f64, 0.0f64, 0.0f64);
        let mut sum_c = vec![0.0f64; n_ch];
        for (x, p) in truth.trials().iter().zip(forecast) {
            for c in 0..n_ch {
                for t in skip..x.nrows() {
                    let v = x[(t, c)];
                    let e = v - p[(t, c)];
                    sse += e * e;
                    sae += e.abs();
                    sae_p += (v - x[(t - 1, c)]).abs();
                    sum_c[c] += v;
                }
            }
        }
        let mean_c: Vec<f64> = sum_c.iter().map(|s| s / n_time_points as f64).collect();
        let mut sst = 0.0f64;
        for x in truth.trials() {
            for (c, &m) in mean_c.iter().enumerate() {
                for t in skip..x.nrows() {
                    let d = x[(t, c)] - m;
                    sst += d * d;
                }
            }
        }
        let mse = sse / nf;
        let mae = sae / nf;
        let mae_persistence = sae_p / nf;
        let r = rank as f64;
        Ok(Self {
            mse,
            mae,
            mae_persistence,
            mase: mae / mae_persistence,
            r2: 1.0 - sse / sst,
            aic: (nf * mse.ln() + 2.0 * (r * r + 1.0)) / nf,
            non_normality: non_normality(operator),
            sse,
            n_values,
            n_time_points,
        })
    }
}

impl fmt::Display for ForecastMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MSE {:.4e}, MAE {:.4e}, MASE {:.4}, R2 {:.4}, AIC {:.4}, non-normality {:.3e} ({} values)",
            self.mse, self.mae, self.mase, self.r2, self.aic, self.non_normality, self.n_values
        )
    }
}

/// Forecast `test` with `model` (reseeding every `reseed` steps, see [`DmdModel::predict`]) and
/// score the forecast: [`ForecastMetrics`] over the predicted samples only, i.e. without the
/// first `(d-1)*tau + s` time points of every test trial, which the forecast copies from the data.
///
/// # Errors
/// The errors of [`DmdModel::predict`]: [`DsaError::InvalidParameter`] for `reseed = 0`,
/// [`DsaError::ShapeMismatch`] for a different channel count, [`DsaError::TrialTooShort`] for a
/// test trial shorter than `(d-1)*tau + s + 1`.
///
/// # Example
/// ```
/// use dsa::{Dmd, OperatorFit};
/// # fn main() -> dsa::Result<()> {
/// let x = faer::Mat::from_fn(300, 2, |t, c| (0.2 * t as f64 + c as f64).sin());
/// let train = dsa::Dataset::from_trajectory(x.as_ref().subrows(0, 200))?;
/// let test = dsa::Dataset::from_trajectory(x.as_ref().subrows(200, 100))?;
/// let model = Dmd::params().n_delays(3).rank(2).fit(&train)?;
/// let m = dsa::select::forecast_metrics(&model, &test, 1)?;
/// assert_eq!(m.n_time_points, 100 - 3); // (d-1)*tau + s = 3 rows are copies, not scored
/// assert!(m.mase < 1e-6 && m.r2 > 0.999);
/// # Ok(()) }
/// ```
pub fn forecast_metrics<X: ToDataset + ?Sized>(
    model: &DmdModel,
    test: &X,
    reseed: usize,
) -> Result<ForecastMetrics> {
    let test = test.to_dataset()?;
    let forecast = model.predict(&test, reseed)?;
    let p = model.params();
    let lead = (p.n_delays() - 1) * p.delay_interval() + p.steps_ahead();
    ForecastMetrics::from_forecast(&test, &forecast, lead, model.rank(), model.operator())
}

/// Non-normality `||A^T A - A A^T||_F` of a square matrix: 0 exactly when `A` is normal
/// (orthogonally diagonalizable over the complex numbers), large when the dynamics can grow
/// transiently although every eigenvalue is stable.
///
/// Infallible: a non-square `a` is measured on its leading `min(rows, cols)` square block.
///
/// # Example
/// ```
/// // a Jordan block [[0, 1], [0, 0]]: A^T A - A A^T = diag(-1, 1)
/// let a = faer::mat![[0.0, 1.0], [0.0, 0.0]];
/// assert!((dsa::select::non_normality(a.as_ref()) - 2f64.sqrt()).abs() < 1e-15);
/// ```
#[must_use]
pub fn non_normality(a: MatRef<'_, f64>) -> f64 {
    let n = a.nrows().min(a.ncols());
    let a = a.submatrix(0, 0, n, n);
    let mut s = 0.0f64;
    for i in 0..n {
        for j in 0..n {
            // (A^T A)_ij - (A A^T)_ij
            let mut v = 0.0;
            for k in 0..n {
                v += a[(k, i)] * a[(k, j)] - a[(i, k)] * a[(j, k)];
            }
            s += v * v;
        }
    }
    s.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_example_two_channels_two_trials() {
        // trial 0: 3 x 2, trial 1: 2 x 2; skip 1
        let t0 = faer::mat![[0.0, 1.0], [1.0, 1.0], [3.0, 0.0]];
        let t1 = faer::mat![[5.0, 2.0], [4.0, 4.0]];
        let truth = Dataset::from_trials(vec![t0.clone(), t1.clone()]).unwrap();
        let f0 = faer::mat![[0.0, 1.0], [2.0, 1.0], [3.0, 1.0]];
        let f1 = faer::mat![[5.0, 2.0], [4.0, 2.0]];
        let a = faer::mat![[1.0, 2.0], [0.0, 1.0]];
        let m = ForecastMetrics::from_forecast(&truth, &[f0, f1], 1, 2, a.as_ref()).unwrap();
        // scored values: t0 rows 1,2 and t1 row 1 -> 3 time points x 2 channels
        // errors: (1-2, 1-1), (3-3, 0-1), (4-4, 4-2) = -1, 0, 0, -1, 0, 2
        assert_eq!((m.n_time_points, m.n_values), (3, 6));
        assert_eq!(m.sse, 6.0);
        assert_eq!(m.mse, 1.0);
        assert!((m.mae - 4.0 / 6.0).abs() < 1e-15);
        // persistence: |1-0|,|1-1|,|3-1|,|0-1|,|4-5|,|4-2| = 1,0,2,1,1,2 -> 7
        assert!((m.mae_persistence - 7.0 / 6.0).abs() < 1e-15);
        assert!((m.mase - 4.0 / 7.0).abs() < 1e-15);
        // channel means over scored: c0 (1,3,4) = 8/3, c1 (1,0,4) = 5/3
        let sst = (1.0f64 - 8.0 / 3.0).powi(2)
            + (3.0f64 - 8.0 / 3.0).powi(2)
            + (4.0f64 - 8.0 / 3.0).powi(2)
            + (1.0f64 - 5.0 / 3.0).powi(2)
            + (0.0f64 - 5.0 / 3.0).powi(2)
            + (4.0f64 - 5.0 / 3.0).powi(2);
        assert!((m.r2 - (1.0 - 6.0 / sst)).abs() < 1e-14);
        assert!((m.aic - (1.0f64.ln() + 2.0 * 5.0 / 6.0)).abs() < 1e-15);
        // A^T A = [[1,2],[2,5]], A A^T = [[5,2],[2,1]]: difference diag(-4, 4)
        assert!((m.non_normality - 32f64.sqrt()).abs() < 1e-14);
    }

    #[test]
    fn errors() {
        let truth = Dataset::from_trajectory(faer::mat![[1.0], [2.0]].as_ref()).unwrap();
        let f = vec![faer::mat![[1.0], [2.0]]];
        let a = Mat::<f64>::identity(1, 1);
        let e = ForecastMetrics::from_forecast(&truth, &f, 0, 1, a.as_ref()).unwrap_err();
        assert!(matches!(e, DsaError::InvalidParameter { name: "skip", .. }));
        let e = ForecastMetrics::from_forecast(&truth, &f, 2, 1, a.as_ref()).unwrap_err();
        assert!(matches!(e, DsaError::EmptyData { .. }));
        let e = ForecastMetrics::from_forecast(&truth, &[], 1, 1, a.as_ref()).unwrap_err();
        assert!(matches!(e, DsaError::ShapeMismatch { .. }));
        let g = vec![faer::mat![[1.0, 0.0], [2.0, 0.0]]];
        let e = ForecastMetrics::from_forecast(&truth, &g, 1, 1, a.as_ref()).unwrap_err();
        assert!(matches!(e, DsaError::ShapeMismatch { .. }));
    }
}
