//! The orthogonal solvers side by side (spec §4.1): Riemannian L-BFGS (the default, and its
//! `thorough()` and `fast()` presets), the paper's Cayley + Adam (1,000 iterations, lr 0.01; the `acceptance` group: 10,000 at lr 5e-3, the reference test's settings) and the symmetric closed form, on the same
//! seeded pairs at n = 10, 30, 60, 100: conjugate pairs (`B = Q A Q^T`, `Q` Haar with
//! determinant -1) and non-conjugate pairs (independent normal operators). Operators are
//! normalized to unit Frobenius norm, as `Procrustes` hands them to a solver.
//!
//! The final loss of every solver on every case is printed once (stderr), outside the timed
//! loop, so that the report carries time and quality together.
//!
//! A second group times the reference's acceptance cases (A uniform, `Q` with determinant -1,
//! `B = Q A Q^T`) with Cayley + Adam at 10,000 iterations (n = 10 and 50), next to the default.
//!
//! A third group, `large`, times the default on one thread at n = 50 and 100 (and, with
//! `DSA_BENCH_LARGE=1`, one solve at n = 200), next to the solver as it was before the canonical
//! bases and the kicks.
//!
//! Run with `cargo bench --bench solvers -- --warm-up-time 1 --measurement-time 3`
//! (add a filter such as `'solvers/.*/n=(10|30)$'` for the small sizes only).

use std::cell::Cell;
use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use dsa::{CayleyAdam, OrthogonalSolver, RiemannianLbfgs, SymmetricClosedForm};
use faer::stats::prelude::*;
use faer::Mat;

const SIZES: [usize; 4] = [10, 30, 60, 100];

fn normalized(a: &Mat<f64>) -> Mat<f64> {
    a * (1.0 / a.norm_l2())
}

fn randn(rng: &mut StdRng, n: usize) -> Mat<f64> {
    CwiseMatDistribution {
        nrows: n,
        ncols: n,
        dist: StandardNormal,
    }
    .rand(rng)
}

/// Haar-orthogonal with determinant -1.
fn haar_reflection(rng: &mut StdRng, n: usize) -> Mat<f64> {
    let mut q: Mat<f64> = UnitaryMat {
        dim: n,
        standard_normal: StandardNormal,
    }
    .rand(rng);
    if q.determinant() > 0.0 {
        for r in 0..n {
            q[(r, 0)] = -q[(r, 0)];
        }
    }
    q
}

fn conj(q: &Mat<f64>, a: &Mat<f64>) -> Mat<f64> {
    q * a * q.transpose()
}

/// `(A, B)` normalized: conjugate (`B = Q A Q^T`) or independent.
fn pair(n: usize, conjugate: bool) -> (Mat<f64>, Mat<f64>) {
    let mut rng = StdRng::seed_from_u64(7000 + n as u64 + if conjugate { 0 } else { 500 });
    let a = randn(&mut rng, n);
    let b = if conjugate {
        conj(&haar_reflection(&mut rng, n), &a)
    } else {
        randn(&mut rng, n)
    };
    (normalized(&a), normalized(&b))
}

fn solvers() -> Vec<(&'static str, Box<dyn OrthogonalSolver>)> {
    vec![
        ("lbfgs", Box::new(RiemannianLbfgs::default())),
        // the default as it was before the canonical bases and the kicks
        (
            "lbfgs-before",
            Box::new(RiemannianLbfgs::default().canonical(false).kicks(0, 0)),
        ),
        ("lbfgs-thorough", Box::new(RiemannianLbfgs::thorough())),
        ("lbfgs-fast", Box::new(RiemannianLbfgs::fast())),
        ("cayley-adam-1000", Box::new(CayleyAdam::default())),
        ("closed-form", Box::new(SymmetricClosedForm)),
    ]
}

fn bench_solvers(c: &mut Criterion) {
    let mut group = c.benchmark_group("solvers");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    for n in SIZES {
        for conjugate in [true, false] {
            let kind = if conjugate { "conjugate" } else { "random" };
            let (a, b) = pair(n, conjugate);
            let bound = dsa::LowerBound::new(a.as_ref(), b.as_ref()).unwrap().best();
            for (name, solver) in solvers() {
                let id = BenchmarkId::new(format!("{name}/{kind}"), format!("n={n}"));
                let printed = Cell::new(false);
                group.bench_with_input(id, &(&a, &b), |bch, (a, b)| {
                    // once, outside the timed loop (and only for cases the filter selects)
                    if !printed.replace(true) {
                        let t = Instant::now();
                        let out = solver.solve(a.as_ref(), b.as_ref()).unwrap();
                        eprintln!(
                            "[solvers] {name:>16} {kind:>9} n = {n:>3}: loss {:.6e} (distance {:.6e}, bound {bound:.6e}), \
                             {} iterations, {:?}, converged {}, grad_norm {:.2e}, one solve {:.1} ms",
                            out.loss,
                            out.loss.max(0.0).sqrt(),
                            out.report.iterations,
                            out.report.termination,
                            out.report.converged,
                            out.report.grad_norm,
                            t.elapsed().as_secs_f64() * 1e3
                        );
                    }
                    bch.iter(|| black_box(solver.solve(black_box(a.as_ref()), black_box(b.as_ref())).unwrap().loss));
                });
            }
        }
    }
    group.finish();
}

/// The reference's acceptance case (its test's numpy seed 5: A uniform n x n, Q Haar with
/// det -1, B = Q A Q^T), from `tests/fixtures/reference_acceptance`.
fn acceptance_pair(n: usize) -> (Mat<f64>, Mat<f64>) {
    let read = |file: String| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/reference_acceptance")
            .join(file);
        let bytes = std::fs::read(path).expect("fixture");
        let data: Vec<f64> = npyz::NpyFile::new(&bytes[..])
            .expect("npy header")
            .into_vec()
            .expect("float64 npy");
        Mat::from_fn(n, n, |i, j| data[i * n + j])
    };
    let (a, b) = (read(format!("x{n}.npy")), read(format!("y{n}.npy")));
    (normalized(&a), normalized(&b))
}

fn bench_acceptance(c: &mut Criterion) {
    let mut group = c.benchmark_group("acceptance");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    for n in [10, 50] {
        let (a, b) = acceptance_pair(n);
        let cases: [(&str, Box<dyn OrthogonalSolver>); 2] = [
            (
                "cayley-adam-10000",
                Box::new(CayleyAdam::default().lr(5e-3).iters(10_000)),
            ),
            ("lbfgs", Box::new(RiemannianLbfgs::default())),
        ];
        for (name, solver) in cases {
            let printed = Cell::new(false);
            group.bench_with_input(BenchmarkId::new(name, format!("n={n}")), &(&a, &b), |bch, (a, b)| {
                if !printed.replace(true) {
                    let t = Instant::now();
                    let out = solver.solve(a.as_ref(), b.as_ref()).unwrap();
                    let d = out.loss.max(0.0).sqrt();
                    eprintln!(
                        "[acceptance] {name:>17} n = {n:>3}: angular {:.3e} (target < 2e-2 for Cayley+Adam, < 1e-8 for \
                         the default), loss {:.3e}, one solve {:.2} s",
                        2.0 * (d / 2.0).min(1.0).asin(),
                        out.loss,
                        t.elapsed().as_secs_f64()
                    );
                }
                bch.iter(|| black_box(solver.solve(black_box(a.as_ref()), black_box(b.as_ref())).unwrap().loss));
            });
        }
    }
    group.finish();
}

/// A stable, non-normal operator: `V D V^-1`, `D` block diagonal of 2 x 2 rotations scaled by
/// radii in `[0.6, 0.99)`, `V = I + G / (2 sqrt(n))`.
fn stable_nonnormal(rng: &mut StdRng, n: usize) -> Mat<f64> {
    use faer::linalg::solvers::Solve;
    let g = randn(rng, n);
    let v = Mat::from_fn(n, n, |i, j| {
        f64::from(u8::from(i == j)) + 0.5 * g[(i, j)] / (n as f64).sqrt()
    });
    let mut d = Mat::<f64>::zeros(n, n);
    let mut k = 0;
    while k < n {
        let r = 0.6 + 0.39 * rng.random::<f64>();
        if k + 1 < n {
            let th = std::f64::consts::PI * rng.random::<f64>();
            d[(k, k)] = r * th.cos();
            d[(k, k + 1)] = -r * th.sin();
            d[(k + 1, k)] = r * th.sin();
            d[(k + 1, k + 1)] = r * th.cos();
            k += 2;
        } else {
            d[(k, k)] = r;
            k += 1;
        }
    }
    let vinv = v.partial_piv_lu().solve(Mat::<f64>::identity(n, n));
    &v * &d * &vinv
}

/// Large operators on one thread (issue 22): random stable non-normal pairs that are not
/// conjugate, and conjugate pairs, at n = 50, 100 (criterion) and 200 (one timed solve each,
/// printed: ten samples would take minutes). The default, and the solver as it was before the
/// canonical bases and the kicks (`canonical(false).kicks(0, 0)`), for the growth table of
/// `docs/solvers.md`.
fn bench_large(c: &mut Criterion) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a pool of one thread");
    let solvers: [(&str, RiemannianLbfgs); 2] = [
        ("lbfgs", RiemannianLbfgs::default()),
        (
            "lbfgs-before",
            RiemannianLbfgs::default().canonical(false).kicks(0, 0),
        ),
    ];
    let pair = |n: usize, conjugate: bool| {
        let mut rng = StdRng::seed_from_u64(22_000 + n as u64);
        let a = stable_nonnormal(&mut rng, n);
        let b = if conjugate {
            conj(&haar_reflection(&mut rng, n), &a)
        } else {
            stable_nonnormal(&mut rng, n)
        };
        (normalized(&a), normalized(&b))
    };
    let mut group = c.benchmark_group("large");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    for n in [50, 100, 200] {
        for conjugate in [false, true] {
            let kind = if conjugate { "conjugate" } else { "stable" };
            let (a, b) = pair(n, conjugate);
            for (name, solver) in &solvers {
                let once = || {
                    let t = Instant::now();
                    let out = pool.install(|| solver.solve(a.as_ref(), b.as_ref()).unwrap());
                    (out, t.elapsed())
                };
                if n == 200 {
                    if std::env::var_os("DSA_BENCH_LARGE").is_some() {
                        let (out, t) = once();
                        eprintln!(
                            "[large] {name:>12} {kind:>9} n = {n}: one solve on one thread {:.2} s, loss {:.6e}, {} iterations",
                            t.as_secs_f64(),
                            out.loss,
                            out.report.iterations
                        );
                    }
                    continue;
                }
                let printed = Cell::new(false);
                let id = BenchmarkId::new(format!("{name}/{kind}"), format!("n={n}"));
                group.bench_function(id, |bch| {
                    if !printed.replace(true) {
                        let (out, t) = once();
                        eprintln!(
                            "[large] {name:>12} {kind:>9} n = {n}: loss {:.6e}, {} iterations, {} kicks, one solve {:.1} ms",
                            out.loss,
                            out.report.iterations,
                            out.report.kicks,
                            t.as_secs_f64() * 1e3
                        );
                    }
                    bch.iter(|| {
                        pool.install(|| black_box(solver.solve(a.as_ref(), b.as_ref()).unwrap().loss))
                    });
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, bench_solvers, bench_acceptance, bench_large);
criterion_main!(benches);
