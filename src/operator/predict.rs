//! Forecasting with a fitted model (spec §3.7).

use faer::Mat;

use super::model::DmdModel;
use crate::data::ToDataset;
use crate::embedding::{DelayEmbedding, Embedding};
use crate::error::{DsaError, Result};
use crate::linalg::mm;

impl DmdModel {
    /// Forecast `test_data` (spec §3.7): embed it, start from the true embedded state, apply the
    /// full-space operator step after step, and restart from the true embedded state every
    /// `reseed` steps (`reseed = 1`: one-step-ahead prediction).
    ///
    /// Returns one matrix per test trial, the same shape as the trial. Its first
    /// `(d-1)*tau + s` rows are copies of the data (there is nothing to predict them from);
    /// the rest are predictions. Use `usize::MAX` for `reseed` to never restart.
    ///
    /// # Errors
    /// [`DsaError::InvalidParameter`] for `reseed = 0`; [`DsaError::ShapeMismatch`] if the
    /// test data has a different number of channels; [`DsaError::TrialTooShort`] if a trial is
    /// shorter than `(d-1)*tau + s + 1`; the errors of [`ToDataset::to_dataset`].
    ///
    /// # Example
    /// ```
    /// use dsa::{Dmd, OperatorFit};
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(100, 2, |t, j| (0.2 * t as f64 + j as f64).sin());
    /// let model = Dmd::params().n_delays(2).fit(&dsa::Dataset::from_trajectory(x.as_ref())?)?;
    /// let pred = model.predict(&x, 1)?;
    /// assert_eq!(pred[0].nrows(), 100);
    /// assert!((pred[0][(50, 0)] - x[(50, 0)]).abs() < 1e-8);
    /// # Ok(()) }
    /// ```
    pub fn predict<X: ToDataset + ?Sized>(&self, test_data: &X, reseed: usize) -> Result<Vec<Mat<f64>>> {
        if reseed == 0 {
            return Err(DsaError::param("reseed", "must be at least 1 (1 = one-step-ahead; usize::MAX = never reseed)"));
        }
        let data = test_data.to_dataset()?;
        if data.n_channels() != self.n_channels {
            return Err(DsaError::ShapeMismatch {
                what: format!(
                    "the model was fitted on {} channels but the test data has {}",
                    self.n_channels,
                    data.n_channels()
                ),
            });
        }
        let (d, tau, s) = (self.params.n_delays, self.params.delay_interval, self.params.steps_ahead);
        let emb = DelayEmbedding::new(d, tau)?.with_steps_ahead(s).embed(&data)?;
        let a_full = self.full_operator();
        let a_t = a_full.transpose();
        let w = emb.ncols();
        let n = self.n_channels;
        let lead = (d - 1) * tau + s;
        let mut out = Vec::with_capacity(data.n_trials());
        let mut r0 = 0;
        for (k, &tk) in emb.trial_rows().iter().enumerate() {
            let h = emb.matrix().subrows(r0, tk);
            r0 += tk;
            let x = data.trial(k);
            let mut pred = Mat::<f64>::zeros(tk, w);
            pred.as_mut().subrows_mut(0, s.min(tk)).copy_from(h.subrows(0, s.min(tk)));
            if reseed == 1 {
                // every row from the true state: one product
                if tk > s {
                    mm(pred.as_mut().subrows_mut(s, tk - s), h.subrows(0, tk - s), a_t, 1.0);
                }
            } else {
                let mut row = Mat::<f64>::zeros(1, w);
                for t in s..tk {
                    let src = if t % reseed == 0 { h.subrows(t - s, 1) } else { pred.as_ref().subrows(t - s, 1) };
                    mm(row.as_mut(), src, a_t, 1.0);
                    pred.as_mut().subrows_mut(t, 1).copy_from(row.as_ref());
                }
            }
            let mut y = Mat::<f64>::zeros(x.nrows(), n);
            y.as_mut().subrows_mut(0, lead).copy_from(x.subrows(0, lead));
            for t in s..tk {
                for c in 0..n {
                    y[((d - 1) * tau + t, c)] = pred[(t, c)];
                }
            }
            out.push(y);
        }
        Ok(out)
    }
}
