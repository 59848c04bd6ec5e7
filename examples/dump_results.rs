//! A bit-for-bit dump of the solvers' and the comparisons' results, for checking that a change
//! meant to leave every result alone (a restructuring, a faster kernel) does.
//!
//! Prints, in a fixed order and as exact bits (`f64::to_bits` in hex, a 64-bit FNV-1a checksum
//! over every bit of each orthogonal `C`):
//!
//! * the reference's pairwise anchor (`tests/fixtures/pairwise_anchor`, 20 systems,
//!   `n_delays = 10`, `rank = 30`) through `Dsa::pairwise` with the default solver and with
//!   `RiemannianLbfgs::fast()` (every entry), the Euclidean and Wasserstein scores, and every
//!   pair's Procrustes comparison in detail (loss, `C`, lower bounds, iterations, every start's
//!   outcome) for the default and `fast()` (`thorough()` and Cayley + Adam on the first pairs);
//! * the seeded pairs of `benches/solvers.rs` (conjugate and random at n = 10, 30, 60, 100) and
//!   more seeded pairs at n = 5 .. 60 (random, conjugate with det +1 and -1, near-conjugate,
//!   symmetric; n > 40 runs without the preconditioner), for the default, `fast()`,
//!   `thorough()`, Cayley + Adam and the symmetric closed form, plus `solve_from`;
//! * operators of different sizes under `SizeMismatch::ZeroPad` and `SizeMismatch::Spectral`.
//!
//! Run with `cargo run --release --example dump_results > before.txt`, make the change, run it
//! again and `cmp` the two files. `DUMP_QUICK=1` skips the anchor and the largest pairs.

use std::fmt::Write as _;
use std::sync::Arc;

use dsa::{
    CayleyAdam, Comparison, Dataset, Dsa, OrthogonalSolver, Procrustes, RiemannianLbfgs, Score,
    Similarity, SizeMismatch, SolverOutput, SolverReport, SymmetricClosedForm,
};
use faer::stats::prelude::*;
use faer::Mat;

/// 64-bit FNV-1a over the shape and the bits of every entry, column by column.
fn checksum(c: &Mat<f64>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |x: u64| {
        for byte in x.to_le_bytes() {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(c.nrows() as u64);
    eat(c.ncols() as u64);
    for j in 0..c.ncols() {
        for i in 0..c.nrows() {
            eat(c[(i, j)].to_bits());
        }
    }
    h
}

fn bits(x: f64) -> String {
    format!("{:016x}", x.to_bits())
}

fn output(out: &SolverOutput) -> String {
    parts(&out.c, out.loss, &out.report)
}

fn parts(c: &Mat<f64>, loss: f64, r: &SolverReport) -> String {
    let mut s = format!(
        "loss={} c={:016x} iters={} term={:?} conv={} gn={} best={:?} starts=[",
        bits(loss),
        checksum(c),
        r.iterations,
        r.termination,
        r.converged,
        bits(r.grad_norm),
        r.best_start
    );
    for o in &r.starts {
        let _ = write!(
            s,
            "{:?}:{}:{}:{:?} ",
            o.start,
            bits(o.loss),
            o.iterations,
            o.termination
        );
    }
    s.push(']');
    s
}

fn comparison(cmp: &Comparison) -> String {
    format!(
        "ang={} euc={} mirsky={} symskew={} gap={} padded={} {}",
        bits(cmp.angular),
        bits(cmp.euclidean),
        bits(cmp.lower_bound.mirsky),
        bits(cmp.lower_bound.sym_skew),
        bits(cmp.gap),
        cmp.padded,
        parts(&cmp.c, cmp.loss, &cmp.report)
    )
}

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

/// Haar-orthogonal with determinant `sign`.
fn haar_det(rng: &mut StdRng, n: usize, sign: f64) -> Mat<f64> {
    let mut q: Mat<f64> = UnitaryMat {
        dim: n,
        standard_normal: StandardNormal,
    }
    .rand(rng);
    if q.determinant().signum() != sign {
        for r in 0..n {
            q[(r, 0)] = -q[(r, 0)];
        }
    }
    q
}

fn conj(q: &Mat<f64>, a: &Mat<f64>) -> Mat<f64> {
    q * a * q.transpose()
}

/// The pairs of `benches/solvers.rs`, built exactly as there.
fn bench_pair(n: usize, conjugate: bool) -> (Mat<f64>, Mat<f64>) {
    let mut rng = StdRng::seed_from_u64(7000 + n as u64 + if conjugate { 0 } else { 500 });
    let a = randn(&mut rng, n);
    let b = if conjugate {
        conj(&haar_det(&mut rng, n, -1.0), &a)
    } else {
        randn(&mut rng, n)
    };
    (normalized(&a), normalized(&b))
}

/// More seeded pairs: `kind` is random, conj+, conj-, near (noise 1e-3) or sym.
fn extra_pair(kind: &str, n: usize, seed: u64) -> (Mat<f64>, Mat<f64>) {
    let mut rng = StdRng::seed_from_u64(91_000 + 97 * seed + n as u64);
    let a = randn(&mut rng, n);
    let b = match kind {
        "random" => randn(&mut rng, n),
        "conj+" => conj(&haar_det(&mut rng, n, 1.0), &a),
        "conj-" => conj(&haar_det(&mut rng, n, -1.0), &a),
        "near" => {
            let b = conj(&haar_det(&mut rng, n, -1.0), &normalized(&a));
            let e = randn(&mut rng, n);
            &b + &(&normalized(&e) * 1e-3)
        }
        "sym" => {
            let s = &a + a.transpose();
            let q = haar_det(&mut rng, n, 1.0);
            let a_sym = s.clone();
            let b = conj(&q, &a_sym);
            return (normalized(&a_sym), normalized(&b));
        }
        _ => unreachable!(),
    };
    (normalized(&a), normalized(&b))
}

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

fn solvers() -> Vec<(&'static str, Arc<dyn OrthogonalSolver>)> {
    vec![
        ("default", Arc::new(RiemannianLbfgs::default())),
        ("fast", Arc::new(RiemannianLbfgs::fast())),
        ("thorough", Arc::new(RiemannianLbfgs::thorough())),
        ("cayley-adam", Arc::new(CayleyAdam::default())),
        ("closed-form", Arc::new(SymmetricClosedForm)),
    ]
}

fn matrix_line(label: &str, d: &Mat<f64>) {
    let mut s = format!("{label} {}x{}:", d.nrows(), d.ncols());
    for i in 0..d.nrows() {
        for j in 0..d.ncols() {
            let _ = write!(s, " {}", bits(d[(i, j)]));
        }
    }
    println!("{s}");
}

fn main() {
    let quick = std::env::var_os("DUMP_QUICK").is_some();

    // the solvers bench's pairs, and more seeded pairs, every solver
    let mut pairs: Vec<(String, Mat<f64>, Mat<f64>)> = Vec::new();
    for n in [10usize, 30, 60, 100] {
        if quick && n > 30 {
            continue;
        }
        for conjugate in [true, false] {
            let (a, b) = bench_pair(n, conjugate);
            let kind = if conjugate { "conjugate" } else { "random" };
            pairs.push((format!("bench {kind} n={n}"), a, b));
        }
    }
    for n in [5usize, 8, 12, 20, 30, 41, 45, 60] {
        if quick && n > 30 {
            continue;
        }
        for kind in ["random", "conj+", "conj-", "near", "sym"] {
            for seed in 0..2u64 {
                if seed == 1 && n > 30 {
                    continue;
                }
                let (a, b) = extra_pair(kind, n, seed);
                pairs.push((format!("extra {kind} n={n} seed={seed}"), a, b));
            }
        }
    }
    if !quick {
        for n in [10usize, 50] {
            let (a, b) = acceptance_pair(n);
            pairs.push((format!("acceptance n={n}"), a, b));
        }
    }
    for (label, a, b) in &pairs {
        for (name, solver) in solvers() {
            let line = match solver.solve(a.as_ref(), b.as_ref()) {
                Ok(out) => output(&out),
                Err(e) => format!("error {e}"),
            };
            println!("{label} solve {name}: {line}");
        }
        // the same through Procrustes (bounds, gap), default solver
        let cmp = Procrustes::default().compare(a.as_ref(), b.as_ref());
        match cmp {
            Ok(cmp) => println!("{label} procrustes default: {}", comparison(&cmp)),
            Err(e) => println!("{label} procrustes default: error {e}"),
        }
        // one given start
        let n = a.nrows();
        let c0 = haar_det(&mut StdRng::seed_from_u64(5 + n as u64), n, -1.0);
        let line = match RiemannianLbfgs::default().solve_from(a.as_ref(), b.as_ref(), c0.as_ref())
        {
            Ok(out) => output(&out),
            Err(e) => format!("error {e}"),
        };
        println!("{label} solve_from default: {line}");
    }

    // different sizes: zero-padding and the spectral fallback, through `Dsa` on operators
    let ops: Vec<Mat<f64>> = [4usize, 6, 6, 9]
        .iter()
        .enumerate()
        .map(|(k, &n)| randn(&mut StdRng::seed_from_u64(300 + k as u64), n))
        .collect();
    let refs: Vec<faer::MatRef<'_, f64>> = ops.iter().map(|m| m.as_ref()).collect();
    for policy in [SizeMismatch::ZeroPad, SizeMismatch::Spectral] {
        for score in [Score::Angular, Score::Euclidean, Score::Wasserstein] {
            let dsa = Dsa::builder()
                .size_mismatch(policy)
                .score(score)
                .build()
                .expect("valid settings");
            match dsa.pairwise_operators(&refs) {
                Ok(d) => matrix_line(&format!("sizes {policy:?} {score:?} pairwise"), &d),
                Err(e) => println!("sizes {policy:?} {score:?} pairwise: error {e}"),
            }
            match dsa.bipartite_operators(&refs[..2], &refs[2..]) {
                Ok(d) => matrix_line(&format!("sizes {policy:?} {score:?} bipartite"), &d),
                Err(e) => println!("sizes {policy:?} {score:?} bipartite: error {e}"),
            }
        }
    }
    let padded = Procrustes::default()
        .size_mismatch(SizeMismatch::ZeroPad)
        .compare(refs[0], refs[3])
        .expect("zero-padded comparison");
    println!("sizes procrustes zero-pad: {}", comparison(&padded));

    if quick {
        return;
    }

    // the anchor: the pairwise matrices, and every pair in detail
    let systems = anchor();
    let build = |solver: Arc<dyn OrthogonalSolver>, score: Score| {
        Dsa::builder()
            .n_delays(10)
            .rank(30)
            .score(score)
            .shared_solver(solver)
            .build()
            .expect("valid settings")
    };
    let default: Arc<dyn OrthogonalSolver> = Arc::new(RiemannianLbfgs::default());
    let fast: Arc<dyn OrthogonalSolver> = Arc::new(RiemannianLbfgs::fast());
    for (name, solver, score) in [
        ("default", default.clone(), Score::Angular),
        ("fast", fast.clone(), Score::Angular),
        ("default", default.clone(), Score::Euclidean),
        ("default", default.clone(), Score::Wasserstein),
    ] {
        let d = build(solver, score)
            .pairwise(&systems)
            .expect("anchor pairwise");
        matrix_line(&format!("anchor pairwise {name} {score:?}"), &d);
    }
    let models = build(default.clone(), Score::Angular)
        .fit_all(&systems)
        .expect("anchor fits");
    for (k, m) in models.iter().enumerate() {
        println!(
            "anchor operator {k}: {:016x}",
            checksum(&m.operator().to_owned())
        );
    }
    let report = build(default.clone(), Score::Angular)
        .compare(&systems[0], &systems[1])
        .expect("anchor compare");
    println!(
        "anchor compare 0 1: value={} {}",
        bits(report.value),
        comparison(report.comparison.procrustes().expect("procrustes"))
    );
    let m = models.len();
    let all: Vec<(usize, usize)> = (0..m)
        .flat_map(|i| (i + 1..m).map(move |j| (i, j)))
        .collect();
    let detailed: [(&str, Arc<dyn OrthogonalSolver>, usize); 4] = [
        ("default", default, all.len()),
        ("fast", fast, all.len()),
        ("thorough", Arc::new(RiemannianLbfgs::thorough()), 12),
        ("cayley-adam", Arc::new(CayleyAdam::default()), 12),
    ];
    for (name, solver, count) in detailed {
        let procrustes = Procrustes::with_shared_solver(solver);
        for &(i, j) in all.iter().take(count) {
            let cmp = procrustes
                .compare(models[i].operator(), models[j].operator())
                .expect("anchor comparison");
            println!("anchor pair {i} {j} {name}: {}", comparison(&cmp));
        }
    }
}
