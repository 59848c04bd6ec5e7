//! Choosing `n_delays` and rank: forecast metrics, train/test splits and hyperparameter sweeps
//! (spec §3.7, §6).
