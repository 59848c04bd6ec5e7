//! The delay (Hankel) embedding.

use faer::Mat;

use super::{Embedded, Embedding};
use crate::data::Dataset;
use crate::error::{DsaError, Result};

/// Delay embedding with `n_delays` blocks spaced `delay_interval` steps apart (spec §2).
///
/// # Example
/// ```
/// use dsa::{DelayEmbedding, Embedding};
/// # fn main() -> dsa::Result<()> {
/// let x = faer::Mat::from_fn(5, 1, |t, _| t as f64); // 0 1 2 3 4
/// let h = DelayEmbedding::new(2, 2)?.embed(&dsa::Dataset::from_trajectory(x.as_ref())?)?;
/// // rows: [x_{i+2}, x_i]
/// assert_eq!(h.matrix()[(0, 0)], 2.0);
/// assert_eq!(h.matrix()[(0, 1)], 0.0);
/// assert_eq!(h.nrows(), 3);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelayEmbedding {
    n_delays: usize,
    delay_interval: usize,
    steps_ahead: usize,
}

impl DelayEmbedding {
    /// `n_delays >= 1` blocks, `delay_interval >= 1` steps apart.
    ///
    /// # Errors
    /// [`DsaError::InvalidParameter`] if either is 0.
    pub fn new(n_delays: usize, delay_interval: usize) -> Result<Self> {
        if n_delays == 0 {
            return Err(DsaError::param(
                "n_delays",
                "must be at least 1 (1 means no delays: H is the data itself)",
            ));
        }
        if delay_interval == 0 {
            return Err(DsaError::param("delay_interval", "must be at least 1"));
        }
        Ok(Self {
            n_delays,
            delay_interval,
            steps_ahead: 0,
        })
    }

    /// Require at least `1 + steps_ahead` rows per trial (what the fit needs). Default: 1 row.
    #[must_use]
    pub fn with_steps_ahead(mut self, steps_ahead: usize) -> Self {
        self.steps_ahead = steps_ahead;
        self
    }

    /// Number of delays `d`.
    #[must_use]
    pub fn n_delays(&self) -> usize {
        self.n_delays
    }

    /// Delay interval `tau`.
    #[must_use]
    pub fn delay_interval(&self) -> usize {
        self.delay_interval
    }

    /// Time points a trial needs: `(d-1) tau + steps_ahead + 1` (`None` on overflow).
    fn needed(&self) -> Option<usize> {
        (self.n_delays - 1)
            .checked_mul(self.delay_interval)?
            .checked_add(self.steps_ahead)?
            .checked_add(1)
    }
}

impl Embedding for DelayEmbedding {
    fn embed(&self, data: &Dataset) -> Result<Embedded> {
        let n = data.n_channels();
        let (d, tau) = (self.n_delays, self.delay_interval);
        let needed = self.needed();
        let mut trial_rows = Vec::with_capacity(data.n_trials());
        for (k, x) in data.trials().iter().enumerate() {
            let t = x.nrows();
            match needed {
                Some(need) if t >= need => trial_rows.push(t - (d - 1) * tau),
                _ => {
                    return Err(DsaError::TrialTooShort {
                        trial: k,
                        len: t,
                        n_delays: d,
                        delay_interval: tau,
                        steps_ahead: self.steps_ahead,
                        needed: needed.unwrap_or(usize::MAX),
                        dataset: None,
                    })
                }
            }
        }
        let width = n.checked_mul(d).ok_or_else(|| {
            DsaError::param("n_delays", format!("{d} delays of {n} channels overflow"))
        })?;
        let rows: usize = trial_rows.iter().sum();
        let mut h = Mat::<f64>::zeros(rows, width);
        let mut r0 = 0;
        for (x, &tk) in data.trials().iter().zip(&trial_rows) {
            for b in 0..d {
                // block b holds x_{i + (d-1-b) tau}
                let off = (d - 1 - b) * tau;
                for c in 0..n {
                    let col = b * n + c;
                    for i in 0..tk {
                        h[(r0 + i, col)] = x[(i + off, c)];
                    }
                }
            }
            r0 += tk;
        }
        Ok(Embedded {
            h,
            trial_rows,
            n_channels: n,
            n_delays: d,
            delay_interval: tau,
        })
    }
}
