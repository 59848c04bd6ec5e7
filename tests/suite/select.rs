//! Model selection (issue 6): forecast metrics, train/test splits, the n_delays x rank sweep and
//! the rank rules.

use crate::common::*;

use dsa::select::{
    forecast_metrics, train_test_split, ForecastMetrics, SelectionRule, Split, SplitBy, SplitKind,
    Sweep, SweepResult,
};
use dsa::{Dataset, Dmd, DsaError, OperatorFit, RankRule};
use faer::Mat;
use rand::Rng;

/// An exact linear system of dimension `k`, `x_{t+1} = M x_t (+ sigma_w w_t)`, observed through
/// `N = 3k` channels, `y_t = C x_t + sigma_e e_t`.
///
/// `M = Q B Q^T` with `Q` Haar-orthogonal and `B` block diagonal: 2 x 2 rotations of radius in
/// [0.85, 0.95] (and 0.9 for odd `k`), so the spectral radius is ~0.95 and every mode is
/// excited. `C = alpha * (first k columns of a Haar-orthogonal N x N matrix)`: a random linear
/// map with orthonormal columns, so that `C M C^+` does not amplify the observation noise by the
/// condition number of `C`.
struct Linear {
    k: usize,
    m: Mat<f64>,
    c: Mat<f64>,
}

impl Linear {
    fn new(k: usize, alpha: f64, seed: u64) -> Self {
        let mut r = rng(seed);
        let mut b = Mat::<f64>::zeros(k, k);
        let mut i = 0;
        while i + 1 < k {
            let rad: f64 = r.random_range(0.85..0.95);
            let th: f64 = r.random_range(0.3..1.5);
            b[(i, i)] = rad * th.cos();
            b[(i, i + 1)] = -rad * th.sin();
            b[(i + 1, i)] = rad * th.sin();
            b[(i + 1, i + 1)] = rad * th.cos();
            i += 2;
        }
        if i < k {
            b[(i, i)] = 0.9;
        }
        let q = haar(&mut r, k);
        let m = &q * &b * q.transpose();
        let n = 3 * k;
        let h = haar(&mut r, n);
        let c = Mat::from_fn(n, k, |i, j| alpha * h[(i, j)]);
        Self { k, m, c }
    }

    /// `n_trials` trials of `len` steps from `x_0 ~ N(0, I)`.
    fn simulate(
        &self,
        n_trials: usize,
        len: usize,
        sigma_w: f64,
        sigma_e: f64,
        seed: u64,
    ) -> Dataset {
        let mut r = rng(seed);
        let k = self.k;
        let trials = (0..n_trials)
            .map(|_| {
                let mut x = Mat::<f64>::zeros(len, k);
                let x0 = randn(&mut r, 1, k);
                x.as_mut().subrows_mut(0, 1).copy_from(&x0);
                let w = randn(&mut r, len, k);
                for t in 1..len {
                    for i in 0..k {
                        let mut v = sigma_w * w[(t, i)];
                        for j in 0..k {
                            v += self.m[(i, j)] * x[(t - 1, j)];
                        }
                        x[(t, i)] = v;
                    }
                }
                let e = randn(&mut r, len, 3 * k);
                let y = &x * self.c.transpose();
                Mat::from_fn(len, 3 * k, |t, c| y[(t, c)] + sigma_e * e[(t, c)])
            })
            .collect();
        Dataset::from_trials(trials).unwrap()
    }
}

#[test]
fn linear_system_trials_rank_is_k_and_mse_near_noise_floor() {
    let sigma_e = 0.1;
    for k in 3..=6 {
        let sys = Linear::new(k, 5.0, 100 + k as u64);
        let data = sys.simulate(20, 100, 0.0, sigma_e, 200 + k as u64);
        let n = 3 * k;
        let result = Sweep::new([1], 1..=n).reseed(1).run(&data).unwrap();
        assert_eq!(
            result.split,
            Some(SplitKind::Trials {
                n_train: 16,
                n_test: 4
            })
        );
        assert_eq!(
            result.rows.len(),
            n,
            "k = {k}: every rank up to N evaluates\n{result}"
        );
        let pick = result.suggest(SelectionRule::default()).unwrap();
        assert_eq!(
            (pick.n_delays, pick.rank),
            (1, k),
            "k = {k}: suggested\n{result}"
        );
        let mse = pick.metrics.mse;
        assert!(
            mse < 1.5 * sigma_e * sigma_e,
            "k = {k}: one-step MSE {mse} vs noise variance {}",
            sigma_e * sigma_e
        );
        // ranks below k miss a mode: clearly worse forecasts
        let below = result.get(1, k - 1).unwrap().metrics.mase;
        assert!(
            below > 1.1 * pick.metrics.mase,
            "k = {k}: MASE at k-1 {below} vs {}",
            pick.metrics.mase
        );

        // Gavish-Donoho on the training part picks k too
        let train = Split::new(0.8).apply(&data).unwrap().train;
        let model = Dmd::params()
            .optimal_hard_threshold(true)
            .fit(&train)
            .unwrap();
        assert_eq!(
            model.rank(),
            k,
            "k = {k}: optimal hard threshold, s = {:?}",
            model.singular_values()
        );
        assert_eq!(
            RankRule::OptimalHardThreshold.select(model.singular_values(), model.hankel_shape()),
            k
        );
    }
}

#[test]
fn linear_system_long_trajectory_with_process_noise() {
    // one trajectory, split by time; small process noise keeps every mode excited
    let (sigma_w, sigma_e) = (0.1, 0.05);
    for k in [3, 4] {
        let sys = Linear::new(k, 1.0, 300 + k as u64);
        let data = sys.simulate(1, 3000, sigma_w, sigma_e, 400 + k as u64);
        let n = 3 * k;
        let result = Sweep::new([1], 1..=n).reseed(1).run(&data).unwrap();
        assert_eq!(
            result.split,
            Some(SplitKind::Time {
                split_at: vec![2400]
            })
        );
        let pick = result.suggest(SelectionRule::default()).unwrap();
        assert_eq!(pick.rank, k, "k = {k}\n{result}");
        // irreducible one-step error per value: observation noise + the new process noise, seen
        // through C (orthonormal columns: k/N of sigma_w^2 per channel)
        let floor = sigma_e * sigma_e + sigma_w * sigma_w * k as f64 / n as f64;
        assert!(
            pick.metrics.mse < 1.5 * floor,
            "k = {k}: MSE {} vs floor {floor}",
            pick.metrics.mse
        );
        let train = Split::new(0.8).apply(&data).unwrap().train;
        let model = Dmd::params()
            .rank_rule(RankRule::OptimalHardThreshold)
            .fit(&train)
            .unwrap();
        assert_eq!(
            model.rank(),
            k,
            "k = {k}: s = {:?}",
            model.singular_values()
        );
    }
}

#[test]
fn metrics_by_hand_through_a_fitted_model() {
    // training data x_{t+1} = 0.5 x_t exactly: d = 1 gives A = [0.5]
    let train = Mat::from_fn(30, 1, |t, _| 0.5f64.powi(t as i32));
    let model = Dmd::params()
        .fit(&Dataset::from_trajectory(train.as_ref()).unwrap())
        .unwrap();
    assert!((model.operator()[(0, 0)] - 0.5).abs() < 1e-12);
    let test = faer::mat![[1.0], [3.0], [2.0], [5.0]];
    let m = forecast_metrics(&model, &test, 1).unwrap();
    // predictions 0.5, 1.5, 1.0 for 3, 2, 5 (row 0 is a copy, not scored)
    // errors 2.5, 0.5, 4: SSE 22.5; persistence errors 2, 1, 3
    let tol = 1e-12;
    assert_eq!((m.n_time_points, m.n_values), (3, 3));
    assert!((m.sse - 22.5).abs() < tol);
    assert!((m.mse - 7.5).abs() < tol);
    assert!((m.mae - 7.0 / 3.0).abs() < tol);
    assert!((m.mae_persistence - 2.0).abs() < tol);
    assert!((m.mase - 7.0 / 6.0).abs() < tol);
    // mean 10/3, SST = (1 + 16 + 25) / 9
    assert!((m.r2 - (1.0 - 22.5 / (42.0 / 9.0))).abs() < tol);
    assert!((m.aic - (7.5f64.ln() + 2.0 * 2.0 / 3.0)).abs() < tol);
    assert_eq!(m.non_normality, 0.0);
}

#[test]
fn copied_rows_are_not_scored() {
    let x = Mat::from_fn(400, 2, |t, c| {
        (0.17 * t as f64 + c as f64).sin() + 0.3 * (0.05 * t as f64).cos()
    });
    let data = Dataset::from_trajectory(x.as_ref()).unwrap();
    let tt = train_test_split(&data, 0.5).unwrap();
    for (d, tau, s, reseed) in [(1, 1, 1, 1), (4, 2, 1, 5), (3, 1, 2, 3)] {
        let model = Dmd::params()
            .n_delays(d)
            .delay_interval(tau)
            .steps_ahead(s)
            .rank(4)
            .fit(&tt.train)
            .unwrap();
        let m = forecast_metrics(&model, &tt.test, reseed).unwrap();
        let lead = (d - 1) * tau + s;
        assert_eq!(m.n_time_points, 200 - lead);
        assert_eq!(m.n_values, 2 * (200 - lead));
        let pred = model.predict(&tt.test, reseed).unwrap();
        let again =
            ForecastMetrics::from_forecast(&tt.test, &pred, lead, model.rank(), model.operator())
                .unwrap();
        assert_eq!(m, again);
        // scoring the copied rows too would make the forecast look better than it is
        let diluted =
            ForecastMetrics::from_forecast(&tt.test, &pred, 1, model.rank(), model.operator())
                .unwrap();
        if lead > 1 {
            assert!(diluted.n_values > m.n_values);
        }
    }
}

#[test]
fn persistence_forecast_has_mase_exactly_one() {
    let mut r = rng(7);
    let trials: Vec<Mat<f64>> = (0..3).map(|i| randn(&mut r, 40 + 5 * i, 4)).collect();
    let truth = Dataset::from_trials(trials).unwrap();
    let persistence: Vec<Mat<f64>> = truth
        .trials()
        .iter()
        .map(|x| Mat::from_fn(x.nrows(), x.ncols(), |t, c| x[(t.saturating_sub(1), c)]))
        .collect();
    for skip in [1, 3, 10] {
        let m = ForecastMetrics::from_forecast(
            &truth,
            &persistence,
            skip,
            2,
            Mat::<f64>::identity(2, 2).as_ref(),
        )
        .unwrap();
        assert_eq!(m.mase, 1.0, "skip {skip}");
        assert_eq!(m.mae, m.mae_persistence);
    }
}

fn values(d: &Dataset) -> Vec<u64> {
    let mut v = Vec::new();
    for x in d.trials() {
        for t in 0..x.nrows() {
            for c in 0..x.ncols() {
                v.push(x[(t, c)] as u64);
            }
        }
    }
    v.sort_unstable();
    v
}

fn assert_partition(all: &Dataset, tt: &dsa::select::TrainTest) {
    let (a, tr, te) = (values(all), values(&tt.train), values(&tt.test));
    let mut both: Vec<u64> = tr.iter().chain(&te).copied().collect();
    both.sort_unstable();
    assert_eq!(
        both, a,
        "train and test together are the data, each sample once"
    );
    for x in &te {
        assert!(
            tr.binary_search(x).is_err(),
            "test sample {x} also in training"
        );
    }
}

#[test]
fn single_trajectory_split_by_time_never_leaks() {
    let data = Dataset::from_trials(tagged_trials(&[101], 3)).unwrap();
    for f in [0.3, 0.5, 0.8] {
        let tt = train_test_split(&data, f).unwrap();
        let at = (f * 101.0f64).floor() as usize;
        assert_eq!(tt.kind, SplitKind::Time { split_at: vec![at] });
        assert_partition(&data, &tt);
        // every training time point precedes every test time point
        let last_train = tt.train.trial(0)[(tt.train.trial(0).nrows() - 1, 0)];
        assert!(last_train < tt.test.trial(0)[(0, 0)]);
        assert_eq!(tt.train.total_len(), at);
    }
}

#[test]
fn multi_trial_split_by_trials_never_leaks() {
    let data = Dataset::from_trials(tagged_trials(&[30, 31, 32, 33, 34], 2)).unwrap();
    let tt = Split::new(0.6).apply(&data).unwrap();
    assert_eq!(
        tt.kind,
        SplitKind::Trials {
            n_train: 3,
            n_test: 2
        }
    );
    assert_partition(&data, &tt);
    // the last trials test, whole
    assert_eq!(tt.test.trial_lens(), vec![33, 34]);
    assert_eq!(tt.test.trial(0)[(0, 0)], tag(3, 0, 0));
    // by time within every trial
    let tt = Split::new(0.6).by(SplitBy::Time).apply(&data).unwrap();
    assert_partition(&data, &tt);
    for k in 0..5 {
        assert!(tt.train.trial(k)[(tt.train.trial(k).nrows() - 1, 0)] < tt.test.trial(k)[(0, 0)]);
    }
}

#[test]
fn sweep_fits_see_only_the_training_part() {
    // changing the test part changes the scores but never the fitted spectra
    let sys = Linear::new(3, 2.0, 11);
    let data = sys.simulate(6, 80, 0.0, 0.05, 12);
    let mut trials = data.trials().to_vec();
    for x in trials.iter_mut().skip(4) {
        *x = Mat::from_fn(x.nrows(), x.ncols(), |t, c| x[(t, c)] * 3.0 + 1.0);
    }
    let altered = Dataset::from_trials(trials).unwrap();
    let sweep = Sweep::new([1, 2], [2, 3, 4]).train_fraction(0.7);
    let (a, b) = (sweep.run(&data).unwrap(), sweep.run(&altered).unwrap());
    assert_eq!(
        a.split,
        Some(SplitKind::Trials {
            n_train: 4,
            n_test: 2
        })
    );
    assert_eq!(a.rows.len(), b.rows.len());
    for (ra, rb) in a.rows.iter().zip(&b.rows) {
        assert_eq!(ra.eigenvalues, rb.eigenvalues);
        assert_ne!(ra.metrics.mse, rb.metrics.mse);
    }
    // one trajectory: altering the samples after the split point leaves the fits unchanged
    let one = sys.simulate(1, 500, 0.05, 0.05, 13);
    let mut x = one.trial(0).to_owned();
    for t in 400..500 {
        for c in 0..x.ncols() {
            x[(t, c)] += 10.0;
        }
    }
    let altered = Dataset::from_trajectory(x.as_ref()).unwrap();
    let (a, b) = (sweep.run(&one).unwrap(), sweep.run(&altered).unwrap());
    for (ra, rb) in a.rows.iter().zip(&b.rows) {
        assert_eq!(ra.eigenvalues, rb.eigenvalues);
    }
}

#[test]
fn one_decomposition_per_n_delays() {
    let sys = Linear::new(4, 2.0, 21);
    let data = sys.simulate(5, 120, 0.0, 0.05, 22);
    let ranks: Vec<usize> = (1..=30).collect();
    let result = Sweep::new([1, 2, 3, 5], ranks).run(&data).unwrap();
    // 4 values of n_delays, 120 grid points: 4 SVDs
    assert_eq!(result.n_decompositions, 4);
    assert_eq!(result.rows.len() + result.skipped.len(), 120);
    // N = 12: ranks above 12 d are skipped at each d (and none at d = 5, where N d = 60)
    let skipped_at = |d: usize| result.skipped.iter().filter(|s| s.n_delays == d).count();
    assert_eq!(
        (skipped_at(1), skipped_at(2), skipped_at(3), skipped_at(5)),
        (18, 6, 0, 0)
    );
    assert!(result
        .skipped
        .iter()
        .all(|s| matches!(s.error, DsaError::InvalidParameter { name: "ranks", .. })));
    // an n_delays too long for the trials is skipped without an SVD
    let result = Sweep::new([1, 200], [2, 4]).run(&data).unwrap();
    assert_eq!(result.n_decompositions, 1);
    assert_eq!(result.skipped.len(), 2);
    assert!(result
        .skipped
        .iter()
        .all(|s| s.n_delays == 200 && s.stage == "train embedding"));
}

fn same_table(a: &SweepResult, b: &SweepResult) {
    assert_eq!(a.rows.len(), b.rows.len());
    for (x, y) in a.rows.iter().zip(&b.rows) {
        assert_eq!((x.n_delays, x.rank), (y.n_delays, y.rank));
        let (m, n) = (&x.metrics, &y.metrics);
        for (p, q) in [
            (m.mse, n.mse),
            (m.mae, n.mae),
            (m.mase, n.mase),
            (m.r2, n.r2),
            (m.aic, n.aic),
            (m.non_normality, n.non_normality),
        ] {
            assert_eq!(p.to_bits(), q.to_bits());
        }
        assert_eq!(x.eigenvalues.len(), y.eigenvalues.len());
        for (l, u) in x.eigenvalues.iter().zip(&y.eigenvalues) {
            assert_eq!(
                (l.re.to_bits(), l.im.to_bits()),
                (u.re.to_bits(), u.im.to_bits())
            );
        }
    }
    assert_eq!(a.skipped, b.skipped);
    assert_eq!(a.n_decompositions, b.n_decompositions);
    assert_eq!(a.to_string(), b.to_string());
}

#[test]
fn same_table_with_one_and_four_threads() {
    let sys = Linear::new(4, 2.0, 31);
    let data = sys.simulate(6, 150, 0.02, 0.05, 32);
    let sweep = Sweep::new([1, 2, 3, 4, 6], [2, 3, 4, 6, 8, 12, 16])
        .reseed(4)
        .lambda(1e-3);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| sweep.run(&data).unwrap())
    };
    let one = run(1);
    let four = run(4);
    same_table(&one, &four);
    assert!(!one.rows.is_empty());
}

#[test]
fn suggestion_rules() {
    let sys = Linear::new(4, 3.0, 41);
    let data = sys.simulate(10, 100, 0.0, 0.1, 42);
    let result = Sweep::new([1, 2], 1..=8).reseed(1).run(&data).unwrap();
    let best = result.suggest(SelectionRule::MinMase).unwrap();
    let pick = result.suggest(SelectionRule::MaseWithin(0.01)).unwrap();
    assert!(pick.metrics.mase <= best.metrics.mase * 1.01);
    // nothing simpler is within the tolerance
    for r in &result.rows {
        if (r.rank, r.n_delays) < (pick.rank, pick.n_delays) {
            assert!(r.metrics.mase > best.metrics.mase * 1.01);
        }
    }
    // tol = 0 is the best MASE itself
    assert_eq!(
        result.suggest(SelectionRule::MaseWithin(0.0)).unwrap(),
        best
    );
    let aic = result.suggest(SelectionRule::MinAic).unwrap();
    assert!(result.rows.iter().all(|r| r.metrics.aic >= aic.metrics.aic));
    assert_eq!(aic.rank, 4, "\n{result}");
}

#[test]
fn typed_errors_name_the_parameter() {
    let x = Mat::from_fn(50, 2, |t, c| (0.3 * t as f64 + c as f64).sin());
    let name = |e: DsaError| match e {
        DsaError::InvalidParameter { name, .. } => name,
        e => panic!("unexpected {e}"),
    };
    assert_eq!(
        name(train_test_split(&x, 0.0).unwrap_err()),
        "train_fraction"
    );
    assert_eq!(
        name(Split::new(0.5).by(SplitBy::Trials).apply(&x).unwrap_err()),
        "split_by"
    );
    // 50 points, smallest n_delays 30: the test part (10 points) cannot hold the embedding
    assert_eq!(
        name(Sweep::new([30, 40], [1]).run(&x).unwrap_err()),
        "train_fraction"
    );
    assert_eq!(
        name(Sweep::new([1], Vec::<usize>::new()).run(&x).unwrap_err()),
        "ranks"
    );
    let model = Dmd::params()
        .fit(&Dataset::from_trajectory(x.as_ref()).unwrap())
        .unwrap();
    assert_eq!(name(forecast_metrics(&model, &x, 0).unwrap_err()), "reseed");
    let three = Mat::<f64>::zeros(10, 3);
    assert!(matches!(
        forecast_metrics(&model, &three, 1),
        Err(DsaError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        Sweep::new([1], [1]).run_on(&x, &three),
        Err(DsaError::ShapeMismatch { .. })
    ));
}
