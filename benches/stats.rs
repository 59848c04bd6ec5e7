//! The cost of `dsa::stats` at the size: 2 systems x 20 trials x 500 steps x 10
//! channels, rank 10 (default `n_delays` 10: embeddings of 20 x 491 rows x 100 columns per
//! system), on one thread.
//!
//! * `permutation_test/gram/200`: 200 permutations with the default refit path;
//! * `permutation_test/exact/20`: 20 permutations refitted by the exact path (multiply by 10
//!   for 200: the per-permutation cost is what matters, and 200 would take minutes per sample);
//! * `bootstrap/gram/200`: 200 percentile resamples;
//! * `pieces/fit` and `pieces/compare`: one `Dsa::fit` of a system (exact path) and one
//!   comparison of two rank-10 operators, the units a permutation is made of.
//!
//! Run with `cargo bench --bench stats -- --warm-up-time 1`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use dsa::stats::{Refit, Resampling};
use dsa::Dsa;
use faer::Mat;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

const TRIALS: usize = 20;
const STEPS: usize = 500;
const N: usize = 10;
const RANK: usize = 10;

/// `TRIALS` trials of a noisy stable linear system in `N` channels (diagonal 0.5, small
/// off-diagonal couplings), from a fixed seed.
fn system(seed: u64) -> Vec<Mat<f64>> {
    let a = Mat::from_fn(N, N, |i, j| {
        if i == j {
            0.5
        } else {
            0.1 * ((i * 7 + j * 3) as f64).sin()
        }
    });
    let mut rng = StdRng::seed_from_u64(seed);
    (0..TRIALS)
        .map(|_| {
            let mut x = Mat::<f64>::zeros(STEPS, N);
            let mut s = vec![0.0; N];
            for t in 0..STEPS {
                let e: Vec<f64> = (0..N).map(|_| rng.sample(StandardNormal)).collect();
                s = (0..N)
                    .map(|i| (0..N).map(|j| a[(i, j)] * s[j]).sum::<f64>() + e[i])
                    .collect();
                for i in 0..N {
                    x[(t, i)] = s[i];
                }
            }
            x
        })
        .collect()
}

fn stats(c: &mut Criterion) {
    let (x, y) = (system(1), system(2));
    let dsa = Dsa::builder().rank(RANK).threads(1).build().unwrap();
    let mut group = c.benchmark_group("permutation_test");
    group.sample_size(10);
    group.bench_function("gram/200", |b| {
        b.iter(|| dsa::stats::permutation_test(&dsa, black_box(&x), black_box(&y), 200).unwrap())
    });
    let exact = Resampling::new().refit(Refit::Exact);
    group.bench_function("exact/20", |b| {
        b.iter(|| {
            exact
                .permutation_test(&dsa, black_box(&x), black_box(&y), 20)
                .unwrap()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("bootstrap");
    group.sample_size(10);
    group.bench_function("gram/200", |b| {
        b.iter(|| dsa::stats::bootstrap(&dsa, black_box(&x), black_box(&y), 200, 0.95).unwrap())
    });
    group.finish();

    let mut group = c.benchmark_group("pieces");
    group.sample_size(10);
    group.bench_function("fit", |b| b.iter(|| dsa.fit(black_box(&x)).unwrap()));
    let (mx, my) = (dsa.fit(&x).unwrap(), dsa.fit(&y).unwrap());
    group.bench_function("compare", |b| {
        b.iter(|| {
            dsa.bipartite_operators(&[black_box(mx.operator())], &[my.operator()])
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, stats);
criterion_main!(benches);
