//! The Rust side of the Python binding's overhead (issue 19): the calls that
//! `dsa_rs.operator_distance` makes, timed here in Rust on the same operators that
//! `python/bench/bench.py` times through Python. The difference of the medians is the binding's
//! cost (argument parsing, the copy of two 30 x 30 arrays, releasing the interpreter lock).
//!
//! The operators are those of the pairwise anchor's systems 0 and 1 (`n_delays = 10`,
//! `rank = 30`), fitted by the crate, so Rust and Python compare the same bits.
//!
//! Run with `cargo bench --bench binding`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use dsa::{Dataset, Dsa, Score};
use faer::Mat;

fn anchor_pair() -> (Mat<f64>, Mat<f64>) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/pairwise_anchor/data.npy"
    );
    let bytes = std::fs::read(path).expect("fixture");
    let npy = npyz::NpyFile::new(&bytes[..]).expect("npy header");
    let shape: Vec<usize> = npy.shape().iter().map(|&x| x as usize).collect();
    let data: Vec<f64> = npy.into_vec::<f64>().expect("float64 npy");
    let (t, n) = (shape[1], shape[2]);
    let dsa = Dsa::builder()
        .n_delays(10)
        .rank(30)
        .build()
        .expect("valid settings");
    let fit = |k: usize| {
        let d = Dataset::from_row_major(&data[k * t * n..(k + 1) * t * n], [1, t, n])
            .expect("valid data");
        dsa.fit(&d).expect("fit").operator().to_owned()
    };
    (fit(0), fit(1))
}

fn bench(c: &mut Criterion) {
    let (a, b) = anchor_pair();
    let mut g = c.benchmark_group("binding");
    // what dsa_rs.operator_distance(a, b) runs: a Dsa from the keyword arguments, then
    // bipartite_operators on the pair
    for (name, score) in [
        ("angular", Score::Angular),
        ("wasserstein", Score::Wasserstein),
    ] {
        g.bench_function(format!("operator_distance_30_{name}"), |bench| {
            bench.iter(|| {
                let dsa = Dsa::builder().score(score).build().expect("valid");
                let d = dsa
                    .bipartite_operators(&[black_box(a.as_ref())], &[black_box(b.as_ref())])
                    .expect("comparison");
                black_box(d[(0, 0)])
            });
        });
    }
    // the crate's one-call function, for reference
    g.bench_function("dsa_operator_distance_30_angular", |bench| {
        bench.iter(|| {
            dsa::operator_distance(black_box(a.as_ref()), black_box(b.as_ref()), Score::Angular)
                .expect("comparison")
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
