//! Choosing `n_delays` and rank: forecast metrics, train/test splits and hyperparameter sweeps
//! (spec §3.7, §6).
//!
//! - [`ForecastMetrics`] / [`forecast_metrics`]: MSE, MAE, MASE, R², AIC and the operator's
//!   non-normality, over the genuinely predicted samples of a held-out forecast.
//! - [`Split`] / [`train_test_split`]: deterministic train/test splits, by trials or by time.
//! - [`Sweep`]: a grid over `n_delays x rank`, one SVD per `n_delays`, parallel over grid
//!   points; [`SweepResult::suggest`] picks a grid point by a documented [`SelectionRule`].
//! - The rank can also be chosen from the singular values alone by the Gavish–Donoho optimal
//!   hard threshold, [`RankRule::OptimalHardThreshold`](crate::RankRule::OptimalHardThreshold).
//!
//! The page `docs/model-selection.md` of the repository describes the metrics, the split, the
//! sweep and the rules in more detail.
//!
//! # Example
//! ```
//! use dsa::select::{SelectionRule, Sweep};
//! use faer::stats::prelude::*;
//! # fn main() -> dsa::Result<()> {
//! // two oscillations in 2 noisy channels
//! let (mut rng, noise) = (StdRng::seed_from_u64(0), Normal::new(0.0, 0.01).unwrap());
//! let x = faer::Mat::from_fn(500, 2, |t, c| {
//!     (0.2 * t as f64 + c as f64).sin() + (0.05 * t as f64).cos() + noise.sample(&mut rng)
//! });
//! let result = Sweep::new([1, 2, 3], [2, 4, 6]).reseed(1).run(&x)?;
//! let pick = result.suggest(SelectionRule::default())?;
//! assert_eq!(pick.rank, 4); // two frequencies: four dimensions
//! # Ok(()) }
//! ```

mod metrics;
mod split;
mod sweep;

pub use metrics::{forecast_metrics, non_normality, ForecastMetrics};
pub use split::{train_test_split, Split, SplitBy, SplitKind, TrainTest};
pub use sweep::{SelectionRule, SkippedPoint, Sweep, SweepResult, SweepRow};

/// The examples of `docs/model-selection.md`, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/model-selection.md")]
struct ModelSelectionDoc;
