//! Driven systems (issue 20): fit and compare a pair at 10 channels, 2 inputs, 20 trials x 500
//! steps, n_delays 5, rank 10 (seeded data); and the reference's small cases
//! (`tests/fixtures/input`), whose wall times the reference recorded in `result.json`.
//!
//! Run with `cargo bench --bench input -- --warm-up-time 1 --measurement-time 5`.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use dsa::input::{Dmdc, DrivenFit, Subspace, TrialShift};
use dsa::{Dataset, InputCompare, InputDsa, InputFit};
use faer::stats::prelude::*;
use faer::Mat;

const CHANNELS: usize = 10;
const INPUTS: usize = 2;
const TRIALS: usize = 20;
const STEPS: usize = 500;
const N_DELAYS: usize = 5;
const RANK: usize = 10;

fn randn(rng: &mut StdRng, r: usize, c: usize) -> Mat<f64> {
    CwiseMatDistribution {
        nrows: r,
        ncols: c,
        dist: StandardNormal,
    }
    .rand(rng)
}

/// `x_{t+1} = A x_t + B u_t + 0.1 w_t`, observed with noise 0.05 in `CHANNELS` channels (A
/// random, spectral radius 0.9), Gaussian inputs; `TRIALS` trials of `STEPS` steps.
fn system(seed: u64) -> (Dataset, Dataset) {
    let mut rng = StdRng::seed_from_u64(seed);
    let g = randn(&mut rng, CHANNELS, CHANNELS);
    let rho = g
        .eigenvalues()
        .unwrap()
        .iter()
        .map(|l| l.norm())
        .fold(0.0, f64::max);
    let a = Mat::from_fn(CHANNELS, CHANNELS, |i, j| g[(i, j)] * 0.9 / rho);
    let b = randn(&mut rng, CHANNELS, INPUTS);
    let mut xs = Vec::new();
    let mut us = Vec::new();
    for _ in 0..TRIALS {
        let u = randn(&mut rng, STEPS, INPUTS);
        let w = randn(&mut rng, STEPS, CHANNELS);
        let e = randn(&mut rng, STEPS, CHANNELS);
        let mut state = vec![0.0; CHANNELS];
        let mut x = Mat::<f64>::zeros(STEPS, CHANNELS);
        for t in 0..STEPS {
            for i in 0..CHANNELS {
                x[(t, i)] = state[i] + 0.05 * e[(t, i)];
            }
            let next: Vec<f64> = (0..CHANNELS)
                .map(|i| {
                    (0..CHANNELS).map(|j| a[(i, j)] * state[j]).sum::<f64>()
                        + (0..INPUTS).map(|j| b[(i, j)] * u[(t, j)]).sum::<f64>()
                        + 0.1 * w[(t, i)]
                })
                .collect();
            state = next;
        }
        xs.push(x);
        us.push(u);
    }
    (
        Dataset::from_trials(xs).unwrap(),
        Dataset::from_trials(us).unwrap(),
    )
}

fn pair(c: &mut Criterion) {
    let (x, u) = system(1);
    let (y, v) = system(2);
    let mut g = c.benchmark_group("input_pair_10ch_2in_20x500");
    g.sample_size(20);
    g.bench_function("fit_subspace", |bch| {
        let p = Subspace::params().n_delays(N_DELAYS).rank(RANK);
        bch.iter(|| black_box(p.fit(black_box(&x), black_box(&u)).unwrap()))
    });
    g.bench_function("fit_dmdc", |bch| {
        let p = Dmdc::params().n_delays(N_DELAYS).rank(RANK);
        bch.iter(|| black_box(p.fit(black_box(&x), black_box(&u)).unwrap()))
    });
    for fit in [InputFit::Subspace, InputFit::Dmdc] {
        for compare in [
            InputCompare::Joint,
            InputCompare::Control,
            InputCompare::State,
            InputCompare::JointDynamics,
        ] {
            let dsa = InputDsa::builder()
                .fit(fit)
                .n_delays(N_DELAYS)
                .rank(RANK)
                .compare(compare)
                .threads(1)
                .build()
                .unwrap();
            let id = format!("{fit:?}/{compare:?}");
            g.bench_function(BenchmarkId::new("fit_and_compare", &id), |bch| {
                bch.iter(|| black_box(dsa.distance(&x, &u, &y, &v).unwrap()))
            });
            let (mx, my) = (dsa.fit(&x, &u).unwrap(), dsa.fit(&y, &v).unwrap());
            g.bench_function(BenchmarkId::new("compare_only", &id), |bch| {
                bch.iter(|| black_box(dsa.compare_models(&mx, &my).unwrap()))
            });
        }
    }
    g.finish();
}

fn fixture(case: &str, file: &str) -> Dataset {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/input")
        .join(case)
        .join(file);
    let bytes = std::fs::read(path).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let shape: Vec<usize> = npy.shape().iter().map(|&s| s as usize).collect();
    let data: Vec<f64> = npy.into_vec().unwrap();
    let shape = if shape.len() == 2 {
        [1, shape[0], shape[1]]
    } else {
        [shape[0], shape[1], shape[2]]
    };
    Dataset::from_row_major(&data, shape).unwrap()
}

/// A reference case: name, DMDc `(n_delays, delay_interval, rank_output, lambda)`, subspace
/// `(n_delays, rank)`.
type Case = (
    &'static str,
    (usize, usize, Option<usize>, f64),
    (usize, usize),
);

/// The reference's cases with their settings (from each `case.json`): one fit per system
/// and method, and `fit_score` (both fits and the joint comparison), as the reference timed
/// them with one torch thread.
fn reference_cases(c: &mut Criterion) {
    let cases: [Case; 3] = [
        ("rotated_linear", (1, 1, None, 0.0), (2, 5)),
        ("different_linear", (2, 2, Some(6), 1e-4), (3, 4)),
        ("same_A_diff_B", (1, 1, None, 0.0), (2, 4)),
    ];
    let mut g = c.benchmark_group("input_reference_cases");
    for (name, (d, tau, r, lambda), (sd, sr)) in cases {
        let (x1, u1) = (fixture(name, "X1.npy"), fixture(name, "U1.npy"));
        let (x2, u2) = (fixture(name, "X2.npy"), fixture(name, "U2.npy"));
        let mut dmdc = Dmdc::params()
            .n_delays(d)
            .delay_interval(tau)
            .lambda(lambda)
            .trial_shift(TrialShift::AcrossTrials);
        if let Some(r) = r {
            dmdc = dmdc.rank(r);
        }
        g.bench_function(BenchmarkId::new("fit_dmdc", name), |b| {
            b.iter(|| black_box(dmdc.fit(&x1, &u1).unwrap()))
        });
        let sub = Subspace::params().n_delays(sd).rank(sr);
        g.bench_function(BenchmarkId::new("fit_subspace", name), |b| {
            b.iter(|| black_box(sub.fit(&x1, &u1).unwrap()))
        });
        let joint = InputDsa::builder()
            .n_delays(sd)
            .rank(sr)
            .threads(1)
            .build()
            .unwrap();
        g.bench_function(BenchmarkId::new("fit_score_subspace_joint", name), |b| {
            b.iter(|| black_box(joint.distance(&x1, &u1, &x2, &u2).unwrap()))
        });
        let state = InputDsa::builder()
            .n_delays(sd)
            .rank(sr)
            .compare(InputCompare::State)
            .threads(1)
            .build()
            .unwrap();
        g.bench_function(BenchmarkId::new("fit_score_subspace_state", name), |b| {
            b.iter(|| black_box(state.distance(&x1, &u1, &x2, &u2).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, pair, reference_cases);
criterion_main!(benches);
