//! The public face of the crate (issue 4): `dsa::distance`, `Dsa` and its builder, pairwise /
//! bipartite / one-to-many, per-dataset hyperparameters, threads, progress and cancellation.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::common::*;
use dsa::{Dataset, Dsa, DsaComparison, DsaError, PerDataset, RankRule, Score, SizeMismatch};
use faer::Mat;

/// Four datasets: two systems, two noise realizations each.
fn four_datasets() -> Vec<Mat<f64>> {
    let mut r = rng(11);
    let m1 = stable(&mut r, 3, 0.95);
    let m2 = stable(&mut r, 3, 0.9);
    vec![
        simulate(&mut r, &m1, 400, 0.2),
        simulate(&mut r, &m2, 400, 0.2),
        simulate(&mut r, &m1, 400, 0.2),
        simulate(&mut r, &m2, 350, 0.2),
    ]
}

fn small_dsa() -> dsa::DsaBuilder {
    Dsa::builder().n_delays(4).rank(8)
}

fn bitwise_eq(a: &Mat<f64>, b: &Mat<f64>) -> bool {
    a.nrows() == b.nrows()
        && a.ncols() == b.ncols()
        && (0..a.nrows())
            .all(|i| (0..a.ncols()).all(|j| a[(i, j)].to_bits() == b[(i, j)].to_bits()))
}

#[test]
fn rotated_copy_is_at_zero() {
    let mut r = rng(1);
    let m = stable(&mut r, 4, 0.9);
    let x = simulate(&mut r, &m, 1000, 0.3);
    let q = haar(&mut r, 4);
    let y = &x * &q;
    let d = dsa::distance(&x, &y).unwrap();
    println!("X vs X Q: {d:.3e}");
    assert!(d < 1e-8, "{d}");
    // the defaults: 10 delays, rank 30 (of 40)
    let report = Dsa::default().compare(&x, &y).unwrap();
    assert_eq!(report.model_x.params().n_delays(), 10);
    assert_eq!((report.model_x.rank(), report.model_y.rank()), (30, 30));
    assert_eq!(report.score, Score::Angular);
    assert_eq!(report.value.to_bits(), d.to_bits());
}

#[test]
fn conjugate_linear_systems_are_at_zero() {
    let mut r = rng(2);
    let n = 5;
    let m = stable(&mut r, n, 0.95);
    let q = haar(&mut r, n);
    let qmq = &q * &m * q.transpose();
    let e = randn(&mut r, 800, n);
    let x = simulate_with(&m, &e, 0.5);
    // the same noise, rotated: y_t = Q x_t up to rounding, but simulated with Q M Q^T
    let e_rot = &e * q.transpose();
    let y = simulate_with(&qmq, &e_rot, 0.5);
    let d = dsa::distance(&x, &y).unwrap();
    println!("conjugate systems: {d:.3e}");
    assert!(d < 1e-6, "{d}");
}

#[test]
fn different_systems_are_apart() {
    let mut r = rng(3);
    let m1 = stable(&mut r, 3, 0.95);
    let m2 = stable(&mut r, 3, 0.6);
    let x = simulate(&mut r, &m1, 1000, 0.2);
    let y = simulate(&mut r, &m2, 1000, 0.2);
    let d = dsa::distance(&x, &y).unwrap();
    println!("different systems: {d:.4}");
    assert!(d > 0.1, "{d}");
    assert!(d <= std::f64::consts::PI);
}

#[test]
fn pairwise_is_symmetric_with_zero_diagonal_and_matches_distance() {
    let xs = four_datasets();
    let dsa = small_dsa().build().unwrap();
    let d = dsa.pairwise(&xs).unwrap();
    assert_eq!((d.nrows(), d.ncols()), (4, 4));
    for i in 0..4 {
        assert_eq!(d[(i, i)].to_bits(), 0.0f64.to_bits());
        for j in 0..4 {
            assert_eq!(d[(i, j)].to_bits(), d[(j, i)].to_bits());
        }
        for j in i + 1..4 {
            let single = dsa.distance(&xs[i], &xs[j]).unwrap();
            assert_eq!(
                d[(i, j)].to_bits(),
                single.to_bits(),
                "({i}, {j}): {} vs {single}",
                d[(i, j)]
            );
        }
    }
    // same system (0, 2) closer than different systems (0, 1)
    println!("pairwise:\n{d:?}");
    assert!(d[(0, 2)] < d[(0, 1)] && d[(1, 3)] < d[(1, 2)]);
}

#[test]
fn bipartite_and_one_to_many_match_distance() {
    let xs = four_datasets();
    let dsa = small_dsa().build().unwrap();
    let b = dsa.bipartite(&xs[..2], &xs[1..]).unwrap();
    assert_eq!((b.nrows(), b.ncols()), (2, 3));
    for i in 0..2 {
        for k in 0..3 {
            let single = dsa.distance(&xs[i], &xs[1 + k]).unwrap();
            assert_eq!(b[(i, k)].to_bits(), single.to_bits());
        }
        let row = dsa.one_to_many(&xs[i], &xs[1..]).unwrap();
        for k in 0..3 {
            assert_eq!(row[k].to_bits(), b[(i, k)].to_bits());
        }
    }
    // the same dataset on both sides: exactly zero after Procrustes
    assert!(b[(1, 0)] < 1e-10, "{}", b[(1, 0)]);
    // and consistent with pairwise where the orientation agrees (i < j)
    let p = dsa.pairwise(&xs).unwrap();
    assert_eq!(b[(0, 0)].to_bits(), p[(0, 1)].to_bits());
    assert_eq!(b[(1, 2)].to_bits(), p[(1, 3)].to_bits());
    // empty sides
    assert_eq!(dsa.bipartite(&xs[..2], &xs[..0]).unwrap().ncols(), 0);
    assert!(dsa.one_to_many(&xs[0], &xs[..0]).unwrap().is_empty());
    assert_eq!(dsa.pairwise(&xs[..1]).unwrap()[(0, 0)], 0.0);
}

#[test]
fn thread_count_does_not_change_results() {
    let mut r = rng(5);
    let xs: Vec<Mat<f64>> = (0..6)
        .map(|k| {
            let m = stable(&mut r, 3, 0.7 + 0.04 * k as f64);
            simulate(&mut r, &m, 300, 0.3)
        })
        .collect();
    let one = small_dsa().threads(1).build().unwrap();
    let four = small_dsa().threads(4).build().unwrap();
    let global = small_dsa().build().unwrap();
    assert_eq!(
        (one.threads(), four.threads(), global.threads()),
        (Some(1), Some(4), None)
    );
    let d1 = one.pairwise(&xs).unwrap();
    let d4 = four.pairwise(&xs).unwrap();
    let dg = global.pairwise(&xs).unwrap();
    assert!(bitwise_eq(&d1, &d4) && bitwise_eq(&d1, &dg));
    let b1 = one.bipartite(&xs[..2], &xs[2..]).unwrap();
    let b4 = four.bipartite(&xs[..2], &xs[2..]).unwrap();
    assert!(bitwise_eq(&b1, &b4));
    // reproducible from the seed: another seed gives the same optimum here up to rounding
    let s7 = small_dsa()
        .seed(7)
        .threads(4)
        .build()
        .unwrap()
        .pairwise(&xs)
        .unwrap();
    let s7b = small_dsa()
        .seed(7)
        .threads(1)
        .build()
        .unwrap()
        .pairwise(&xs)
        .unwrap();
    assert!(bitwise_eq(&s7, &s7b));
}

#[test]
fn per_dataset_hyperparameters_reach_their_datasets() {
    let xs = four_datasets();
    // compare: X then Y
    let report = Dsa::builder()
        .n_delays_per_dataset(vec![2, 3])
        .rank(5)
        .build()
        .unwrap()
        .compare(&xs[0], &xs[1])
        .unwrap();
    assert_eq!(
        (
            report.model_x.params().n_delays(),
            report.model_y.params().n_delays()
        ),
        (2, 3)
    );
    // per side, the same
    let report = Dsa::builder()
        .n_delays_per_dataset((3, 2))
        .rank(5)
        .build()
        .unwrap()
        .compare(&xs[0], &xs[1])
        .unwrap();
    assert_eq!(
        (
            report.model_x.params().n_delays(),
            report.model_y.params().n_delays()
        ),
        (3, 2)
    );
    // fit_all: one value per dataset
    let models = Dsa::builder()
        .n_delays_per_dataset(vec![1, 2, 3, 4])
        .lambda_per_dataset(vec![0.0, 0.1, 0.0, 0.2])
        .build()
        .unwrap()
        .fit_all(&xs)
        .unwrap();
    let got: Vec<(usize, f64)> = models
        .iter()
        .map(|m| (m.params().n_delays(), m.params().lambda()))
        .collect();
    assert_eq!(got, vec![(1, 0.0), (2, 0.1), (3, 0.0), (4, 0.2)]);
    // full rank with 3 channels: 3 d
    assert_eq!(
        models.iter().map(|m| m.rank()).collect::<Vec<_>>(),
        vec![3, 6, 9, 12]
    );

    // bipartite: X side first, then Y side (length M + K)
    let ranks = vec![4, 6, 4];
    let b = Dsa::builder()
        .n_delays(3)
        .rank_per_dataset(ranks)
        .size_mismatch(SizeMismatch::Spectral)
        .build()
        .unwrap()
        .bipartite(&xs[..2], &xs[2..3])
        .unwrap();
    let same_rank = Dsa::builder()
        .n_delays(3)
        .rank(4)
        .build()
        .unwrap()
        .distance(&xs[0], &xs[2])
        .unwrap();
    let mixed = Dsa::builder()
        .n_delays(3)
        .rank_per_dataset((6, 4))
        .size_mismatch(SizeMismatch::Spectral)
        .build()
        .unwrap()
        .compare(&xs[1], &xs[2])
        .unwrap();
    assert_eq!(b[(0, 0)].to_bits(), same_rank.to_bits());
    assert_eq!(mixed.score, Score::Wasserstein);
    assert!(matches!(mixed.comparison, DsaComparison::Spectral(_)));
    assert_eq!(b[(1, 0)].to_bits(), mixed.value.to_bits());

    // one_to_many: x then ys (length 1 + K)
    let row = Dsa::builder()
        .n_delays(3)
        .rank_per_dataset(vec![4, 4, 6, 4])
        .size_mismatch(SizeMismatch::Spectral)
        .build()
        .unwrap()
        .one_to_many(&xs[0], &xs[1..])
        .unwrap();
    assert_eq!(
        row[2].to_bits(),
        Dsa::builder()
            .n_delays(3)
            .rank(4)
            .build()
            .unwrap()
            .distance(&xs[0], &xs[3])
            .unwrap()
            .to_bits()
    );
}

#[test]
fn per_dataset_lists_of_the_wrong_length_are_errors() {
    let xs = four_datasets();
    let dsa = Dsa::builder()
        .n_delays_per_dataset(vec![2, 3, 4])
        .rank(4)
        .build()
        .unwrap();
    let err = dsa.pairwise(&xs).unwrap_err();
    assert!(
        matches!(
            err,
            DsaError::InvalidParameter {
                name: "n_delays",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("3 value(s)"), "{err}");
    // M + K = 2 + 2 = 4 is needed for bipartite
    let err = dsa.bipartite(&xs[..2], &xs[2..]).unwrap_err();
    assert!(
        matches!(
            err,
            DsaError::InvalidParameter {
                name: "n_delays",
                ..
            }
        ),
        "{err}"
    );
    assert!(dsa.bipartite(&xs[..1], &xs[2..]).is_ok());
    let err = Dsa::builder()
        .rank_per_dataset(vec![3, 4])
        .build()
        .unwrap()
        .fit(&xs[0])
        .unwrap_err();
    assert!(
        matches!(err, DsaError::InvalidParameter { name: "rank", .. }),
        "{err}"
    );
    // a per-side value in a one-sided call
    let err = Dsa::builder()
        .lambda_per_dataset((0.0, 0.1))
        .build()
        .unwrap()
        .pairwise(&xs)
        .unwrap_err();
    assert!(
        matches!(err, DsaError::InvalidParameter { name: "lambda", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("per-side"), "{err}");
}

#[test]
fn invalid_settings_name_the_parameter() {
    let name = |b: dsa::DsaBuilder| match b.build() {
        Err(DsaError::InvalidParameter { name, .. }) => name,
        other => panic!("expected InvalidParameter, got {other:?}"),
    };
    assert_eq!(name(Dsa::builder().n_delays(0)), "n_delays");
    assert_eq!(name(Dsa::builder().delay_interval(0)), "delay_interval");
    assert_eq!(name(Dsa::builder().steps_ahead(0)), "steps_ahead");
    assert_eq!(name(Dsa::builder().rank(0)), "rank");
    assert_eq!(name(Dsa::builder().rank_per_dataset(vec![2, 0])), "rank");
    assert_eq!(name(Dsa::builder().rank_thresh(-1.0)), "rank_thresh");
    assert_eq!(
        name(Dsa::builder().explained_variance(1.5)),
        "explained_variance"
    );
    assert_eq!(name(Dsa::builder().lambda(f64::NAN)), "lambda");
    assert_eq!(
        name(Dsa::builder().lambda_per_dataset(PerDataset::Each(vec![]))),
        "lambda"
    );
    assert_eq!(name(Dsa::builder().rank(3).rank_thresh(0.1)), "rank");
    assert_eq!(
        name(Dsa::builder().rank_rule(RankRule::Fixed(0))),
        "rank_rule"
    );
    assert_eq!(name(Dsa::builder().threads(0)), "threads");
    assert_eq!(
        name(Dsa::builder().solver(dsa::CayleyAdam::default()).seed(3)),
        "seed"
    );
    // rank_rule replaces earlier rank settings
    assert!(Dsa::builder()
        .rank(3)
        .rank_rule(RankRule::Full)
        .build()
        .is_ok());
    assert!(Dsa::builder()
        .solver(dsa::CayleyAdam::default())
        .build()
        .is_ok());
}

#[test]
fn progress_counts_every_pair() {
    let xs = four_datasets();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let dsa = small_dsa()
        .threads(2)
        .progress(move |p| {
            log.lock().unwrap().push((p.done, p.total));
            ControlFlow::Continue(())
        })
        .build()
        .unwrap();
    dsa.pairwise(&xs).unwrap();
    let mut got = seen.lock().unwrap().clone();
    got.sort_unstable();
    assert_eq!(got, (1..=6).map(|k| (k, 6)).collect::<Vec<_>>());
    seen.lock().unwrap().clear();
    dsa.bipartite(&xs[..2], &xs[..3]).unwrap();
    assert_eq!(seen.lock().unwrap().len(), 6);
}

#[test]
fn cancellation_returns_an_error_not_a_partial_matrix() {
    let xs = four_datasets();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let dsa = small_dsa()
        .threads(1)
        .progress(move |p| {
            c.fetch_add(1, Ordering::SeqCst);
            if p.done >= 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .build()
        .unwrap();
    let err = dsa.pairwise(&xs).unwrap_err();
    assert_eq!(err, DsaError::Cancelled { done: 2, total: 6 });
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "no pair runs after the cancellation (one thread)"
    );
    // with several threads: still an error, never a matrix
    let many = small_dsa()
        .threads(4)
        .progress(|p| {
            if p.done >= 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .build()
        .unwrap();
    match many.bipartite(&xs, &xs) {
        Err(DsaError::Cancelled { done, total }) => assert!(done >= 3 && total == 16),
        other => panic!("expected Cancelled, got {other:?}"),
    }
    // compare reports one pair
    let err = small_dsa()
        .progress(|_| ControlFlow::Break(()))
        .build()
        .unwrap()
        .compare(&xs[0], &xs[1])
        .unwrap_err();
    assert_eq!(err, DsaError::Cancelled { done: 1, total: 1 });
}

#[test]
fn nalgebra_and_trial_inputs() {
    let mut r = rng(6);
    let m = stable(&mut r, 3, 0.9);
    let x = simulate(&mut r, &m, 500, 0.3);
    let y = simulate(&mut r, &m, 500, 0.3);
    let dsa = small_dsa().build().unwrap();
    let faer_d = dsa.distance(&x, &y).unwrap();
    let xn = nalgebra::DMatrix::from_fn(500, 3, |i, j| x[(i, j)]);
    let yn = nalgebra::DMatrix::from_fn(500, 3, |i, j| y[(i, j)]);
    assert_eq!(dsa.distance(&xn, &yn).unwrap().to_bits(), faer_d.to_bits());
    assert_eq!(dsa.distance(&xn, &y).unwrap().to_bits(), faer_d.to_bits());
    assert_eq!(
        dsa.pairwise(&[xn.clone(), yn.clone()]).unwrap()[(0, 1)].to_bits(),
        faer_d.to_bits()
    );
    // trials of different lengths, and their rotated copies
    let trials: Vec<Mat<f64>> = [300, 250, 400]
        .iter()
        .map(|&t| simulate(&mut r, &m, t, 0.3))
        .collect();
    let q = haar(&mut r, 3);
    let rotated: Vec<Mat<f64>> = trials.iter().map(|t| t * &q).collect();
    let d = dsa::distance(&trials, &rotated).unwrap();
    assert!(d < 1e-8, "{d}");
    let d = dsa
        .pairwise(&[trials.clone(), rotated, vec![x.clone()]])
        .unwrap();
    assert!(d[(0, 1)] < 1e-8);
    // a Dataset and slices work too
    let data = Dataset::from_trials(trials.clone()).unwrap();
    assert!(dsa.distance(&data, &trials[..]).unwrap() < 1e-10);
}

#[test]
fn defaults_handle_short_and_low_dimensional_inputs() {
    let mut r = rng(7);
    let m = stable(&mut r, 2, 0.9);
    // 12 time points: 7 delays instead of 10
    let short = simulate(&mut r, &m, 12, 0.5);
    let model = Dsa::default().fit(&short).unwrap();
    assert_eq!(model.params().n_delays(), 7);
    let q = haar(&mut r, 2);
    assert!(dsa::distance(&short, &(&short * &q)).unwrap() < 1e-8);
    // one channel: 10 delays give a 10 x 10 operator
    let scalar = Mat::from_fn(200, 1, |t, _| {
        (0.3 * t as f64).sin() + 0.05 * ((t * 7919 % 101) as f64 / 101.0 - 0.5)
    });
    assert_eq!(Dsa::default().fit(&scalar).unwrap().operator().nrows(), 10);
    // an explicit n_delays is not shortened
    let err = Dsa::builder()
        .n_delays(20)
        .build()
        .unwrap()
        .fit(&short)
        .unwrap_err();
    assert!(matches!(err, DsaError::TrialTooShort { .. }), "{err}");
}

/// The operator versions of `pairwise` and `bipartite` give the same bits as the dataset
/// versions, under every score, and reject bad operators.
#[test]
fn pairwise_and_bipartite_on_fitted_operators() {
    let mut r = rng(12);
    let xs: Vec<Mat<f64>> = (0..4)
        .map(|k| {
            let m = stable(&mut r, 3, 0.8 + 0.04 * k as f64);
            simulate(&mut r, &m, 300, 0.3)
        })
        .collect();
    for score in [Score::Angular, Score::Euclidean, Score::Wasserstein] {
        let dsa = small_dsa().score(score).build().unwrap();
        let models = dsa.fit_all(&xs).unwrap();
        let ops: Vec<faer::MatRef<'_, f64>> = models.iter().map(|m| m.operator()).collect();
        let from_data = dsa.pairwise(&xs).unwrap();
        let from_ops = dsa.pairwise_operators(&ops).unwrap();
        assert_eq!(from_data, from_ops, "{score:?}");
        let bi = dsa.bipartite_operators(&ops[..1], &ops[1..]).unwrap();
        assert_eq!(bi, dsa.bipartite(&xs[..1], &xs[1..]).unwrap(), "{score:?}");
        for k in 0..3 {
            assert_eq!(bi[(0, k)].to_bits(), from_ops[(0, k + 1)].to_bits());
        }
    }
    let dsa = small_dsa().build().unwrap();
    let good = Mat::from_fn(3, 3, |i, j| if i == j { 0.5 } else { 0.1 });
    let zero = Mat::<f64>::zeros(3, 3);
    let nan = Mat::from_fn(3, 3, |i, _| if i == 1 { f64::NAN } else { 0.2 });
    let err = dsa
        .pairwise_operators(&[good.as_ref(), zero.as_ref()])
        .unwrap_err();
    assert!(matches!(err, DsaError::Degenerate { .. }), "{err}");
    let err = dsa
        .bipartite_operators(&[good.as_ref()], &[nan.as_ref()])
        .unwrap_err();
    assert!(matches!(err, DsaError::NonFinite { .. }), "{err}");
    assert_eq!(dsa.pairwise_operators(&[]).unwrap().nrows(), 0);
}

/// Errors in calls on many datasets say which dataset failed; a single dataset is not named.
#[test]
fn errors_name_the_failing_dataset() {
    let mut r = rng(11);
    let m = stable(&mut r, 2, 0.9);
    let good: Vec<Mat<f64>> = (0..3).map(|_| simulate(&mut r, &m, 200, 0.3)).collect();
    let mut bad = good[0].clone();
    bad[(5, 1)] = f64::NAN;
    let short = simulate(&mut r, &m, 8, 0.3);
    let dsa = Dsa::builder().n_delays(10).rank(4).build().unwrap();

    // conversion errors
    let err = dsa
        .pairwise(&[good[0].clone(), good[1].clone(), bad.clone()])
        .unwrap_err();
    assert!(matches!(err, DsaError::NonFinite { .. }), "{err}");
    assert!(err.to_string().contains("of dataset 2"), "{err}");
    let err = dsa.distance(&good[0], &bad).unwrap_err();
    assert!(err.to_string().contains("of y"), "{err}");
    let err = dsa
        .bipartite(&[good[0].clone()], &[good[1].clone(), bad.clone()])
        .unwrap_err();
    assert!(err.to_string().contains("of ys[1]"), "{err}");

    // fitting errors: the first failing dataset in list order
    let err = dsa
        .pairwise(&[
            good[0].clone(),
            short.clone(),
            good[1].clone(),
            short.clone(),
        ])
        .unwrap_err();
    match &err {
        DsaError::TrialTooShort {
            trial: 0, dataset, ..
        } => {
            assert_eq!(dataset.as_deref(), Some("dataset 1"));
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(
        err.to_string().contains("trial 0 of dataset 1 has 8"),
        "{err}"
    );
    let err = dsa
        .one_to_many(&good[0], &[good[1].clone(), short.clone()])
        .unwrap_err();
    assert!(err.to_string().contains("of ys[1]"), "{err}");
    let err = dsa
        .bipartite(std::slice::from_ref(&short), std::slice::from_ref(&good[1]))
        .unwrap_err();
    assert!(err.to_string().contains("of xs[0]"), "{err}");
    let err = dsa.fit_all(&[good[0].clone(), short.clone()]).unwrap_err();
    assert!(err.to_string().contains("of dataset 1"), "{err}");
    let err = dsa.distance(&short, &good[0]).unwrap_err();
    assert!(err.to_string().contains("trial 0 of x has"), "{err}");
    // one dataset: no name
    match dsa.fit(&short).unwrap_err() {
        DsaError::TrialTooShort { dataset: None, .. } => {}
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn size_policies() {
    let mut r = rng(8);
    let m2 = stable(&mut r, 2, 0.9);
    let two = simulate(&mut r, &m2, 500, 0.3);
    let m5 = stable(&mut r, 5, 0.9);
    let five = simulate(&mut r, &m5, 500, 0.3);
    // default: rank 30 is capped at 20 for two channels
    let err = dsa::distance(&two, &five).unwrap_err();
    assert_eq!(err, DsaError::SizeMismatch { a: 20, b: 30 });
    let err = Dsa::default()
        .pairwise(&[two.clone(), five.clone()])
        .unwrap_err();
    assert_eq!(err, DsaError::SizeMismatch { a: 20, b: 30 });
    let spectral = Dsa::builder()
        .size_mismatch(SizeMismatch::Spectral)
        .build()
        .unwrap()
        .compare(&two, &five)
        .unwrap();
    assert_eq!(spectral.score, Score::Wasserstein);
    let padded = Dsa::builder()
        .size_mismatch(SizeMismatch::ZeroPad)
        .build()
        .unwrap()
        .compare(&two, &five)
        .unwrap();
    assert!(padded.comparison.procrustes().unwrap().padded);
    assert_eq!(padded.score, Score::Angular);
    // a common rank fixes it
    assert!(Dsa::builder()
        .rank(20)
        .build()
        .unwrap()
        .distance(&two, &five)
        .is_ok());
    // Wasserstein needs no equal sizes
    let w = Dsa::builder().score(Score::Wasserstein).build().unwrap();
    let d = w.pairwise(&[two.clone(), five.clone()]).unwrap();
    assert_eq!(d[(0, 1)].to_bits(), spectral.value.to_bits());
}

#[test]
fn scores_agree_with_operator_distance() {
    let xs = four_datasets();
    let models = small_dsa().build().unwrap().fit_all(&xs[..2]).unwrap();
    let (a, b) = (models[0].operator(), models[1].operator());
    for score in [Score::Angular, Score::Euclidean, Score::Wasserstein] {
        let d = small_dsa()
            .score(score)
            .build()
            .unwrap()
            .distance(&xs[0], &xs[1])
            .unwrap();
        let direct = dsa::operator_distance(a, b, score).unwrap();
        assert_eq!(d.to_bits(), direct.to_bits(), "{score:?}");
    }
    let e = small_dsa()
        .score(Score::Euclidean)
        .build()
        .unwrap()
        .distance(&xs[0], &xs[1])
        .unwrap();
    let ang = small_dsa()
        .build()
        .unwrap()
        .distance(&xs[0], &xs[1])
        .unwrap();
    assert!((2.0 * (e / 2.0).asin() - ang).abs() < 1e-12);
}

#[test]
fn bad_data_is_an_error() {
    let mut x = Mat::from_fn(100, 2, |t, j| ((t + j) as f64 * 0.1).sin());
    x[(5, 1)] = f64::NAN;
    let y = Mat::from_fn(100, 2, |t, j| ((t + j) as f64 * 0.2).sin());
    assert!(matches!(
        dsa::distance(&x, &y),
        Err(DsaError::NonFinite { .. })
    ));
    assert!(matches!(
        Dsa::default().pairwise(&[y.clone(), x]),
        Err(DsaError::NonFinite { .. })
    ));
    let zero = Mat::<f64>::zeros(100, 2);
    assert!(matches!(
        dsa::distance(&zero, &y),
        Err(DsaError::Degenerate { .. })
    ));
}

struct AnchorStats {
    above: Vec<(usize, usize, f64, f64)>,
    below: usize,
}

fn anchor_stats(solver: dsa::RiemannianLbfgs) -> AnchorStats {
    let (shape, data) = read_npy("pairwise_anchor", "data.npy");
    let (m, t, n) = (shape[0], shape[1], shape[2]);
    let systems: Vec<Dataset> = (0..m)
        .map(|k| Dataset::from_row_major(&data[k * t * n..(k + 1) * t * n], [1, t, n]).unwrap())
        .collect();
    let reference = json_mat(&read_json("pairwise_anchor", "result.json")["matrix"]);
    let case = read_json("pairwise_anchor", "case.json");
    assert_eq!(case["dmd"]["n_delays"], 10);
    assert_eq!(case["dmd"]["rank"], 30);
    let dsa = Dsa::builder()
        .n_delays(10)
        .rank(30)
        .score(Score::Angular)
        .solver(solver)
        .build()
        .unwrap();
    let start = Instant::now();
    let ours = dsa.pairwise(&systems).unwrap();
    let elapsed = start.elapsed();
    let (mut above, mut below, mut worst, mut best) = (Vec::new(), 0, f64::NEG_INFINITY, 0.0f64);
    for i in 0..m {
        assert_eq!(ours[(i, i)], 0.0);
        for j in i + 1..m {
            assert_eq!(ours[(i, j)], ours[(j, i)]);
            let diff = ours[(i, j)] - reference[(i, j)];
            worst = worst.max(diff);
            best = best.min(diff);
            if diff > 1e-3 {
                above.push((i, j, ours[(i, j)], reference[(i, j)]));
            }
            if diff < -1e-3 {
                below += 1;
            }
        }
    }
    println!(
        "pairwise anchor: {} pairs in {elapsed:.2?}; {below} entries clearly below the reference (< -1e-3), \
         {} above (> +1e-3); max(ours - ref) = {worst:.3e}, min(ours - ref) = {best:.3e}",
        m * (m - 1) / 2,
        above.len()
    );
    for (i, j, o, r) in &above {
        println!("  above: ({i}, {j}) ours {o:.6} reference {r:.6}");
    }
    AnchorStats { above, below }
}

/// The reference's pairwise benchmark: 20 systems (10 noisy stable linear, 10 leaky tanh RNNs),
/// T = 1000, N = 10, n_delays 10, rank 30, angular score. The reference (float32, Cayley + Adam,
/// 1000 iterations) only approaches the optimum over O(n), so no entry of ours should exceed its
/// entry by more than 1e-3; entries clearly below it are where the reference's optimizer stopped
/// short.
///
/// Measured with the default solver over seeds 0 to 5: no entry above, 81 to 83 of 190 clearly
/// below (81 at seed 0, the default, in this test's build), the largest excess +5.4e-4. The problem is not convex and
/// no affordable start set guarantees the global optimum for systems that are not conjugate:
/// pair (10, 15) has a basin at 0.0934 that about 40% of random starts find, and a shallower one
/// at 0.0964, 1.7e-3 above the reference, where the portfolio ended before it ran the identity
/// and the reflection on the reversed pair too (see `RiemannianLbfgs`). Which pairs sit near
/// the margin can change with any change to the solver's arithmetic.
#[test]
fn pairwise_anchor_against_the_reference() {
    check_anchor(dsa::RiemannianLbfgs::default(), 75);
}

/// The same with the lighter portfolio `RiemannianLbfgs::fast()` (at most six structured
/// starts, no sign-pattern or random start): measured, no entry above the reference + 1e-3 and
/// 76 clearly below it (81 with the default).
#[test]
fn pairwise_anchor_against_the_reference_fast() {
    check_anchor(dsa::RiemannianLbfgs::fast(), 70);
}

/// No entry above the reference's by more than 1e-3, and at least `min_below` entries more
/// than 1e-3 below it.
fn check_anchor(solver: dsa::RiemannianLbfgs, min_below: usize) {
    let stats = anchor_stats(solver);
    assert!(
        stats.above.is_empty(),
        "{} entries exceed the reference by more than 1e-3",
        stats.above.len()
    );
    assert!(
        stats.below >= min_below,
        "only {} entries clearly below the reference",
        stats.below
    );
}
