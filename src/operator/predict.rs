//! Forecasting with a fitted model (spec §3.7).

use faer::Mat;

use super::model::DmdModel;
use crate::data::ToDataset;
use crate::embedding::{DelayEmbedding, Embedding};
use crate::error::{DsaError, Result};
use crate::linalg::{mm, mul};

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
    /// shorter than `(d-1)*tau + s + 1`; [`DsaError::Degenerate`] if the forecast overflows
    /// (an unstable operator iterated for many steps); the errors of [`ToDataset::to_dataset`].
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
    pub fn predict<X: ToDataset + ?Sized>(
        &self,
        test_data: &X,
        reseed: usize,
    ) -> Result<Vec<Mat<f64>>> {
        if reseed == 0 {
            return Err(DsaError::param(
                "reseed",
                "must be at least 1 (1 = one-step-ahead; usize::MAX = never reseed)",
            ));
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
        let (d, tau, s) = (
            self.params.n_delays,
            self.params.delay_interval,
            self.params.steps_ahead,
        );
        let emb = DelayEmbedding::new(d, tau)?
            .with_steps_ahead(s)
            .embed(&data)?;
        let n = self.n_channels;
        let lead = (d - 1) * tau + s;
        // A_full = U_r S_r A S_r^-1 U_r^T, applied in the reduced space: z_t = S_r^-1 U_r^T h_t,
        // z <- A z, and only at the end the newest block of U_r S_r z. Predicted states stay in
        // span(U_r), where projecting again is the identity, so this is A_full step for step.
        let k = self.n_coords();
        let ur = self.u.as_ref().subcols(0, k);
        let into = Mat::from_fn(ur.nrows(), k, |i, j| ur[(i, j)] / self.s[j]); // U_r S_r^-1
        let out_of = Mat::from_fn(k, n, |j, c| ur[(c, j)] * self.s[j]); // (first N rows of U_r S_r)^T
        let a_t = self.a.transpose();
        // row g of `y`: the true state of embedded row g; of `z`: the predicted one (rows t >= s
        // of each trial)
        let y = mul(emb.matrix(), into.as_ref());
        let mut z = Mat::<f64>::zeros(emb.nrows(), k);
        if reseed == 1 {
            // every row from the true state: one product per trial
            let mut r0 = 0;
            for &tk in emb.trial_rows() {
                if tk > s {
                    mm(
                        z.as_mut().subrows_mut(r0 + s, tk - s),
                        y.as_ref().subrows(r0, tk - s),
                        a_t,
                        1.0,
                    );
                }
                r0 += tk;
            }
        } else {
            // Row t of a trial comes from row t - s: the true one when t is a multiple of
            // `reseed` or t - s < s (those rows are copies of the data), else the predicted one.
            // Group rows by their distance from the true state they start from: each group is
            // one product, groups in increasing order.
            let mut levels: Vec<Vec<(usize, usize)>> = Vec::new(); // (row, source row)
            let mut level = vec![0usize; emb.nrows()];
            let mut r0 = 0;
            for &tk in emb.trial_rows() {
                for t in s..tk {
                    let l = if t % reseed == 0 || t < 2 * s {
                        0
                    } else {
                        level[r0 + t - s] + 1
                    };
                    level[r0 + t] = l;
                    if levels.len() == l {
                        levels.push(Vec::new());
                    }
                    levels[l].push((r0 + t, r0 + t - s));
                }
                r0 += tk;
            }
            let mut dst = Mat::<f64>::zeros(0, k);
            for (l, rows) in levels.iter().enumerate() {
                let from = if l == 0 { &y } else { &z };
                let src = Mat::from_fn(rows.len(), k, |i, j| from[(rows[i].1, j)]);
                dst.resize_with(rows.len(), k, |_, _| 0.0);
                mm(dst.as_mut(), src.as_ref(), a_t, 1.0);
                for (i, &(g, _)) in rows.iter().enumerate() {
                    for j in 0..k {
                        z[(g, j)] = dst[(i, j)];
                    }
                }
            }
        }
        let newest = mul(z.as_ref(), out_of.as_ref());
        if newest
            .as_ref()
            .col_iter()
            .any(|c| c.iter().any(|x| !x.is_finite()))
        {
            return Err(DsaError::Degenerate {
                what: "the forecast overflowed f64 (an unstable operator iterated without reseeding, or test data near the overflow limit); reseed more often or rescale the data".into(),
            });
        }
        let mut out = Vec::with_capacity(data.n_trials());
        let mut r0 = 0;
        for (kk, &tk) in emb.trial_rows().iter().enumerate() {
            let x = data.trial(kk);
            let mut pred = Mat::<f64>::zeros(x.nrows(), n);
            pred.as_mut()
                .subrows_mut(0, lead)
                .copy_from(x.subrows(0, lead));
            for t in s..tk {
                for c in 0..n {
                    pred[((d - 1) * tau + t, c)] = newest[(r0 + t, c)];
                }
            }
            out.push(pred);
            r0 += tk;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use faer::Mat;

    use crate::data::Dataset;
    use crate::embedding::{DelayEmbedding, Embedding};
    use crate::operator::{Dmd, OperatorFit};

    /// The forecast as the spec states it: `A_full` applied to full embedded rows, one at a time.
    fn reference(
        model: &crate::operator::DmdModel,
        test: &Dataset,
        reseed: usize,
    ) -> Vec<Mat<f64>> {
        let p = model.params();
        let (d, tau, s) = (p.n_delays(), p.delay_interval(), p.steps_ahead());
        let emb = DelayEmbedding::new(d, tau)
            .unwrap()
            .with_steps_ahead(s)
            .embed(test)
            .unwrap();
        let a_full = model.full_operator();
        let (n, w) = (model.n_channels(), emb.ncols());
        let mut out = Vec::new();
        let mut r0 = 0;
        for (k, &tk) in emb.trial_rows().iter().enumerate() {
            let h = emb.matrix().subrows(r0, tk);
            r0 += tk;
            let mut pred = Mat::<f64>::zeros(tk, w);
            pred.as_mut().subrows_mut(0, s).copy_from(h.subrows(0, s));
            for t in s..tk {
                let src: Mat<f64> = if t % reseed == 0 {
                    h.subrows(t - s, 1).to_owned()
                } else {
                    pred.as_ref().subrows(t - s, 1).to_owned()
                };
                let row = crate::linalg::mul(src.as_ref(), a_full.transpose());
                pred.as_mut().subrows_mut(t, 1).copy_from(row.as_ref());
            }
            let x = test.trial(k);
            out.push(Mat::from_fn(x.nrows(), n, |i, c| {
                if i < (d - 1) * tau + s {
                    x[(i, c)]
                } else {
                    pred[(i - (d - 1) * tau, c)]
                }
            }));
        }
        out
    }

    #[test]
    fn reduced_space_recursion_equals_the_full_operator() {
        let series = |len: usize, phase: f64| {
            Mat::from_fn(len, 3, |t, j| {
                let t = t as f64 + phase;
                (0.2 * t + j as f64).sin()
                    + 0.6 * (0.07 * t * (j + 1) as f64).cos()
                    + 0.1 * ((1.7 * t + j as f64).sin() * 1e3).fract()
            })
        };
        let train = Dataset::from_trials(vec![series(300, 0.0), series(250, 40.0)]).unwrap();
        let test = Dataset::from_trials(vec![series(90, 7.0), series(41, 3.0)]).unwrap();
        for params in [
            Dmd::params().n_delays(3).rank(5),
            Dmd::params()
                .n_delays(4)
                .delay_interval(2)
                .steps_ahead(2)
                .rank(7)
                .lambda(0.01),
            Dmd::params()
                .n_delays(3)
                .steps_ahead(3)
                .rank(4)
                .reduced_rank(true),
        ] {
            let model = params.fit(&train).unwrap();
            for reseed in [1, 2, 5, 13, usize::MAX] {
                let got = model.predict(&test, reseed).unwrap();
                let want = reference(&model, &test, reseed);
                for (g, w) in got.iter().zip(&want) {
                    let scale = w.norm_max();
                    let diff = (0..g.nrows())
                        .flat_map(|i| (0..g.ncols()).map(move |c| (i, c)))
                        .map(|(i, c)| (g[(i, c)] - w[(i, c)]).abs())
                        .fold(0.0, f64::max);
                    assert!(
                        diff <= 1e-12 * scale,
                        "{params:?}, reseed {reseed}: differs by {diff} (scale {scale})"
                    );
                }
            }
        }
    }
}
