//! Embedding and fitting on seeded data: 20 trials x 1000 steps, N = 10 and N = 100 channels,
//! n_delays = 10, rank = 30.
//!
//! Run with `cargo bench --bench pipeline -- --warm-up-time 1 --measurement-time 5`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use dsa::{Dataset, DelayEmbedding, Dmd, Embedding, OperatorFit};
use faer::stats::prelude::*;
use faer::Mat;

const TRIALS: usize = 20;
const STEPS: usize = 1000;
const N_DELAYS: usize = 10;
const RANK: usize = 30;
const SIZES: [usize; 2] = [10, 100];

/// A noisy stable linear system `x_{t+1} = M x_t + 0.1 e_t` (M random normal, scaled to spectral
/// radius 0.95), `TRIALS` trials of `STEPS` steps in `n` channels, from a fixed seed.
fn data(n: usize) -> Dataset {
    let mut rng = StdRng::seed_from_u64(42 + n as u64);
    let g: Mat<f64> = CwiseMatDistribution {
        nrows: n,
        ncols: n,
        dist: StandardNormal,
    }
    .rand(&mut rng);
    let rho = g
        .eigenvalues()
        .unwrap()
        .iter()
        .map(|l| l.norm())
        .fold(0.0, f64::max);
    let m = Mat::from_fn(n, n, |i, j| g[(i, j)] * 0.95 / rho);
    let trials = (0..TRIALS)
        .map(|_| {
            let e: Mat<f64> = CwiseMatDistribution {
                nrows: STEPS,
                ncols: n,
                dist: StandardNormal,
            }
            .rand(&mut rng);
            let mut x = Mat::<f64>::zeros(STEPS, n);
            for c in 0..n {
                x[(0, c)] = e[(0, c)];
            }
            for t in 1..STEPS {
                for i in 0..n {
                    let mut s = 0.1 * e[(t, i)];
                    for j in 0..n {
                        s += m[(i, j)] * x[(t - 1, j)];
                    }
                    x[(t, i)] = s;
                }
            }
            x
        })
        .collect();
    Dataset::from_trials(trials).unwrap()
}

fn embed(c: &mut Criterion) {
    let mut group = c.benchmark_group("embed");
    group.sample_size(10);
    let emb = DelayEmbedding::new(N_DELAYS, 1).unwrap();
    for n in SIZES {
        let x = data(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &x, |b, x| {
            b.iter(|| emb.embed(black_box(x)).unwrap())
        });
    }
    group.finish();
}

fn fit(c: &mut Criterion) {
    let mut group = c.benchmark_group("fit");
    group.sample_size(10);
    let params = Dmd::params().n_delays(N_DELAYS).rank(RANK).check().unwrap();
    for n in SIZES {
        let x = data(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &x, |b, x| {
            b.iter(|| params.fit(black_box(x)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, embed, fit);
criterion_main!(benches);
