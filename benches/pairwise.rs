//! The reference's pairwise benchmark end to end: 20 systems (10 noisy stable linear, 10 leaky
//! tanh RNNs), each 1000 time steps x 10 channels, `n_delays = 10`, `rank = 30`, angular score:
//! 20 operator fits and 190 Procrustes comparisons through `Dsa::pairwise`.
//!
//! The reference implementation (`dsa-metric`, float32, Cayley + Adam with 1000 iterations,
//! 2 torch threads) took 350 s for this case (`tests/fixtures/pairwise_anchor/result.json`).
//!
//! Run with `cargo bench --bench pairwise -- --warm-up-time 1 --measurement-time 60`.
//!
//! The bench first times one run with `std::time::Instant` (fits and comparisons separately)
//! and prints it. Criterion then measures the 20 fits, and the whole pairwise call with
//! `sample_size(10)` — unless the single run took more than 60 s, in which case ten samples
//! would take over ten minutes and the single timing is the result (set `DSA_BENCH_FULL=1` to
//! sample anyway). `DSA_BENCH_ONCE=1` stops after the single run. The same is timed with the
//! lighter portfolio `RiemannianLbfgs::fast()` (`pairwise_20x20_fast`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use dsa::{Dataset, Dsa};

fn anchor() -> Vec<Dataset> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/pairwise_anchor/data.npy"
    );
    let bytes = std::fs::read(path).expect("fixture");
    let npy = npyz::NpyFile::new(&bytes[..]).expect("npy header");
    let shape: Vec<usize> = npy.shape().iter().map(|&x| x as usize).collect();
    let data: Vec<f64> = npy.into_vec::<f64>().expect("float64 npy");
    let (m, t, n) = (shape[0], shape[1], shape[2]);
    (0..m)
        .map(|k| {
            Dataset::from_row_major(&data[k * t * n..(k + 1) * t * n], [1, t, n])
                .expect("valid data")
        })
        .collect()
}

fn dsa() -> Dsa {
    Dsa::builder()
        .n_delays(10)
        .rank(30)
        .build()
        .expect("valid settings")
}

/// The same with the lighter portfolio `RiemannianLbfgs::fast()`.
fn dsa_fast() -> Dsa {
    Dsa::builder()
        .n_delays(10)
        .rank(30)
        .solver(dsa::RiemannianLbfgs::fast())
        .build()
        .expect("valid settings")
}

/// One timed run; returns the duration of the pairwise call.
fn once() -> Duration {
    let systems = anchor();
    let dsa = dsa();
    let start = Instant::now();
    let models = dsa.fit_all(&systems).expect("fits");
    let fit = start.elapsed();
    let start = Instant::now();
    let d = dsa.pairwise(&systems).expect("pairwise");
    let total = start.elapsed();
    black_box((models, d));
    println!(
        "pairwise anchor, one run on {} threads: fit 20 operators {fit:.2?}; pairwise (fit + 190 comparisons) {total:.2?}; {:.3} s per pair",
        rayon::current_num_threads(),
        (total - fit).as_secs_f64() / 190.0
    );
    let start = Instant::now();
    black_box(dsa_fast().pairwise(&systems).expect("pairwise"));
    println!(
        "pairwise anchor with RiemannianLbfgs::fast(), one run: {:.2?}",
        start.elapsed()
    );
    total
}

fn bench(c: &mut Criterion) {
    let single = once();
    if std::env::var_os("DSA_BENCH_ONCE").is_some() {
        return;
    }
    let sample_pairwise =
        single < Duration::from_secs(60) || std::env::var_os("DSA_BENCH_FULL").is_some();
    let systems = anchor();
    let dsa = dsa();
    let mut group = c.benchmark_group("pairwise_anchor");
    group.sample_size(10);
    group.bench_function("fit_20", |b| {
        b.iter(|| black_box(dsa.fit_all(black_box(&systems)).expect("fits")))
    });
    if sample_pairwise {
        group.bench_function("pairwise_20x20", |b| {
            b.iter(|| black_box(dsa.pairwise(black_box(&systems)).expect("pairwise")))
        });
        let fast = dsa_fast();
        group.bench_function("pairwise_20x20_fast", |b| {
            b.iter(|| black_box(fast.pairwise(black_box(&systems)).expect("pairwise")))
        });
    } else {
        println!("pairwise_20x20: one run took {single:.2?} (> 60 s): not sampled; set DSA_BENCH_FULL=1 to sample");
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
