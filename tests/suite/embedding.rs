//! The delay (Hankel) embedding against its definition (spec §2, issue 2).

use crate::common::*;
use dsa::{Dataset, DelayEmbedding, Dmd, DsaError, Embedding, OperatorFit};
use faer::Mat;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Shape, every entry, and the rows per trial follow the formula; too-short trials are a
    /// typed error that names the first short trial.
    #[test]
    fn embedding_matches_direct_formula(
        n in 1usize..5,
        d in 1usize..6,
        tau in 1usize..4,
        lens in proptest::collection::vec(1usize..30, 1..=4),
    ) {
        let data = Dataset::from_trials(tagged_trials(&lens, n)).unwrap();
        let emb = DelayEmbedding::new(d, tau).unwrap();
        prop_assert_eq!((emb.n_delays(), emb.delay_interval()), (d, tau));
        let span = (d - 1) * tau;
        let first_short = lens.iter().position(|&t| t < span + 1);
        match emb.embed(&data) {
            Err(DsaError::TrialTooShort { trial, len, n_delays, delay_interval, steps_ahead, needed, dataset: None }) => {
                let k = first_short.expect("error although every trial is long enough");
                prop_assert_eq!(trial, k);
                prop_assert_eq!(len, lens[k]);
                prop_assert_eq!((n_delays, delay_interval, steps_ahead), (d, tau, 0));
                prop_assert_eq!(needed, span + 1);
            }
            Err(e) => prop_assert!(false, "unexpected error {e:?}"),
            Ok(h) => {
                prop_assert!(first_short.is_none(), "a trial of {:?} is too short but no error", lens);
                let expected_rows: Vec<usize> = lens.iter().map(|&t| t - span).collect();
                prop_assert_eq!(h.trial_rows(), &expected_rows[..]);
                let total: usize = expected_rows.iter().sum();
                prop_assert_eq!((h.nrows(), h.ncols()), (total, n * d));
                prop_assert_eq!(h.matrix().shape(), (total, n * d));
                prop_assert_eq!((h.n_channels(), h.n_delays(), h.delay_interval()), (n, d, tau));
                let m = h.matrix();
                let mut r = 0;
                for (k, &tk) in expected_rows.iter().enumerate() {
                    for i in 0..tk {
                        for b in 0..d {
                            // block b is x_{i + (d-1-b) tau}: newest first
                            let t = i + (d - 1 - b) * tau;
                            for c in 0..n {
                                prop_assert_eq!(m[(r, b * n + c)], tag(k, t, c),
                                    "trial {} row {} block {} channel {}", k, i, b, c);
                            }
                        }
                        r += 1;
                    }
                }
                let na = h.to_nalgebra();
                prop_assert_eq!((na.nrows(), na.ncols()), (total, n * d));
                for j in 0..n * d {
                    for i in 0..total {
                        prop_assert_eq!(na[(i, j)], m[(i, j)]);
                    }
                }
            }
        }
    }

    /// With a forecast shift, a trial needs `(d-1) tau + 1 + s` points.
    #[test]
    fn steps_ahead_raises_the_minimum_length(
        n in 1usize..3,
        d in 1usize..5,
        tau in 1usize..4,
        s in 1usize..4,
        extra in 0usize..3,
    ) {
        let need = (d - 1) * tau + 1 + s;
        let ok = Dataset::from_trials(tagged_trials(&[need + extra, need], n)).unwrap();
        let emb = DelayEmbedding::new(d, tau).unwrap().with_steps_ahead(s);
        let h = emb.embed(&ok).unwrap();
        prop_assert_eq!(h.trial_rows(), &[1 + s + extra, 1 + s][..]);
        let short = Dataset::from_trials(tagged_trials(&[need + extra, need - 1], n)).unwrap();
        let err = emb.embed(&short).unwrap_err();
        prop_assert_eq!(err, DsaError::TrialTooShort {
            trial: 1, len: need - 1, n_delays: d, delay_interval: tau, steps_ahead: s, needed: need,
            dataset: None,
        });
    }

    /// One delay: H is the data, trials stacked.
    #[test]
    fn one_delay_is_the_data(
        n in 1usize..6,
        tau in 1usize..5,
        lens in proptest::collection::vec(1usize..25, 1..=4),
    ) {
        let trials = tagged_trials(&lens, n);
        let data = Dataset::from_trials(trials.clone()).unwrap();
        let h = DelayEmbedding::new(1, tau).unwrap().embed(&data).unwrap();
        prop_assert_eq!(h.trial_rows(), &lens[..]);
        let mut r = 0;
        for x in &trials {
            for i in 0..x.nrows() {
                for c in 0..n {
                    prop_assert_eq!(h.matrix()[(r, c)], x[(i, c)]);
                }
                r += 1;
            }
        }
        prop_assert_eq!(r, h.nrows());
    }
}

#[test]
fn zero_delays_or_interval_are_invalid_parameters() {
    match DelayEmbedding::new(0, 1) {
        Err(DsaError::InvalidParameter { name, .. }) => assert_eq!(name, "n_delays"),
        other => panic!("expected InvalidParameter(n_delays), got {other:?}"),
    }
    match DelayEmbedding::new(3, 0) {
        Err(DsaError::InvalidParameter { name, .. }) => assert_eq!(name, "delay_interval"),
        other => panic!("expected InvalidParameter(delay_interval), got {other:?}"),
    }
    // the same through the fit's parameters
    let x = Mat::from_fn(50, 2, |t, c| ((t + 3 * c) as f64 * 0.3).sin());
    let data = Dataset::from_trajectory(x.as_ref()).unwrap();
    for (params, want) in [
        (Dmd::params().n_delays(0), "n_delays"),
        (Dmd::params().delay_interval(0), "delay_interval"),
        (Dmd::params().steps_ahead(0), "steps_ahead"),
    ] {
        match params.fit(&data) {
            Err(DsaError::InvalidParameter { name, .. }) => assert_eq!(name, want),
            other => panic!("expected InvalidParameter({want}), got {other:?}"),
        }
    }
}

#[test]
fn fit_on_too_short_trial_is_an_error_not_a_panic() {
    // d = 4, tau = 2: the embedding needs 7 points, the fit (s = 1) needs 8.
    let data = Dataset::from_trials(tagged_trials(&[40, 7, 30], 2)).unwrap();
    let err = Dmd::params()
        .n_delays(4)
        .delay_interval(2)
        .fit(&data)
        .unwrap_err();
    assert_eq!(
        err,
        DsaError::TrialTooShort {
            trial: 1,
            len: 7,
            n_delays: 4,
            delay_interval: 2,
            steps_ahead: 1,
            needed: 8,
            dataset: None,
        }
    );
    assert!(err.to_string().contains("trial 1"), "{err}");
    // far too short for the embedding itself
    let data = Dataset::from_trials(tagged_trials(&[3], 2)).unwrap();
    assert!(matches!(
        Dmd::params().n_delays(10).fit(&data),
        Err(DsaError::TrialTooShort {
            trial: 0,
            len: 3,
            needed: 11,
            ..
        })
    ));
    // steps_ahead too large for an otherwise fine trial
    let data = Dataset::from_trials(tagged_trials(&[12], 2)).unwrap();
    assert!(matches!(
        Dmd::params().n_delays(3).steps_ahead(10).fit(&data),
        Err(DsaError::TrialTooShort {
            trial: 0,
            len: 12,
            needed: 13,
            ..
        })
    ));
}
