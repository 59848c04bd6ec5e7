//! The n_delays x rank sweep (issue 6): a 10 x 10 grid (n_delays 1..=10, ranks 2, 4, .., 20)
//! on 20 trials x 1000 steps x 10 channels.

use criterion::{criterion_group, criterion_main, Criterion};
use dsa::select::Sweep;
use dsa::Dataset;
use faer::stats::prelude::*;
use faer::Mat;
use std::time::Duration;

/// A 6-dimensional stable linear system driven by process noise, observed through 10 channels
/// with observation noise.
fn data() -> Dataset {
    let mut rng = StdRng::seed_from_u64(6);
    let (k, n, len, trials) = (6, 10, 1000, 20);
    let normal = |rng: &mut StdRng, r: usize, c: usize| -> Mat<f64> {
        CwiseMatDistribution {
            nrows: r,
            ncols: c,
            dist: StandardNormal,
        }
        .rand(rng)
    };
    // rotations of radius 0.97, 0.95, 0.9 at three frequencies
    let mut m = Mat::<f64>::zeros(k, k);
    for (b, (rad, th)) in [(0.97f64, 0.1f64), (0.95, 0.35), (0.9, 0.9)]
        .into_iter()
        .enumerate()
    {
        let i = 2 * b;
        m[(i, i)] = rad * th.cos();
        m[(i, i + 1)] = -rad * th.sin();
        m[(i + 1, i)] = rad * th.sin();
        m[(i + 1, i + 1)] = rad * th.cos();
    }
    let c = normal(&mut rng, n, k);
    let trials = (0..trials)
        .map(|_| {
            let w = normal(&mut rng, len, k);
            let e = normal(&mut rng, len, n);
            let mut x = Mat::<f64>::zeros(len, k);
            for t in 1..len {
                for i in 0..k {
                    let mut v = 0.3 * w[(t, i)];
                    for j in 0..k {
                        v += m[(i, j)] * x[(t - 1, j)];
                    }
                    x[(t, i)] = v;
                }
            }
            let y = &x * c.transpose();
            Mat::from_fn(len, n, |t, j| y[(t, j)] + 0.1 * e[(t, j)])
        })
        .collect();
    Dataset::from_trials(trials).unwrap()
}

fn bench(cr: &mut Criterion) {
    let data = data();
    let sweep = Sweep::new(1..=10, (2..=20).step_by(2));
    let mut g = cr.benchmark_group("select");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(15));
    g.bench_function("sweep_10x10_20trials_1000steps_10ch", |b| {
        b.iter(|| {
            let r = sweep.run(&data).unwrap();
            assert_eq!(r.n_decompositions, 10);
            r
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
