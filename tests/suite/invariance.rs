//! The distance is a property of the dynamics, not of the coordinates (spec §4.4): invariance
//! to the operators' bases, optimality against an exhaustive search, the fourth lower bound,
//! and metric pairwise and bipartite matrices.

use dsa::solver::{OrthogonalSolver, Problem};
use dsa::{Dsa, LowerBound, Procrustes, RiemannianLbfgs, Similarity};
use faer::linalg::solvers::Solve;
use faer::Mat;
use proptest::prelude::*;

use crate::common::*;

/// A stable, non-normal operator: `V D V^-1` with `D` block diagonal of 2 x 2 rotations scaled
/// by radii in `[0.6, 0.99)`, and `V = I + G / (2 sqrt(n))`.
fn stable_nonnormal(rng: &mut rand::rngs::StdRng, n: usize) -> Mat<f64> {
    let g = randn(rng, n, n);
    let v = Mat::from_fn(n, n, |i, j| {
        f64::from(u8::from(i == j)) + 0.5 * g[(i, j)] / (n as f64).sqrt()
    });
    let mut d = Mat::<f64>::zeros(n, n);
    let mut k = 0;
    while k < n {
        let r = 0.6 + 0.39 * uniform01(rng);
        if k + 1 < n {
            let th = std::f64::consts::PI * uniform01(rng);
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
    let vinv = v.partial_piv_lu().solve(identity(n));
    mul(mul(v.as_ref(), d.as_ref()).as_ref(), vinv.as_ref())
}

/// The DMD operators of every case of the reference's fixtures (`tests/fixtures/*`, as
/// `dsa-metric` fits them: the case's `n_delays` and `rank`), each with its case's name.
fn reference_operators() -> Vec<(String, Mat<f64>, Mat<f64>)> {
    let cases = [
        "different_sizes",
        "linear_conjugate",
        "linear_different",
        "lorenz_pair_rot",
        "rank_deficient",
        "rank_deficient_ok",
        "rank_deficient_trials",
    ];
    let mut out = Vec::new();
    for case in cases {
        let json = read_json(case, "case.json");
        let dmd = &json["dmd"];
        let n_delays = dmd["n_delays"].as_u64().unwrap() as usize;
        let rank = dmd["rank"].as_u64().map(|r| r as usize);
        let mut b = Dsa::builder().n_delays(n_delays);
        if let Some(r) = rank {
            b = b.rank(r);
        }
        let dsa = b.build().unwrap();
        let x = dsa.fit(&read_dataset(case, "X.npy")).unwrap();
        let y = dsa.fit(&read_dataset(case, "Y.npy")).unwrap();
        let (a, bm) = (x.operator().to_owned(), y.operator().to_owned());
        if a.nrows() == bm.nrows() {
            out.push((case.to_string(), a, bm));
        } else {
            // different sizes: each operator against itself in another basis, and against a
            // perturbed copy
            for (tag, op) in [("X", a), ("Y", bm)] {
                let mut r = rng(op.nrows() as u64);
                let e = randn(&mut r, op.nrows(), op.nrows());
                let p = &op + &e * (0.05 * fro(op.as_ref()) / fro(e.as_ref()));
                out.push((format!("{case}/{tag}"), op, p));
            }
        }
    }
    out
}

/// `d(A, B)` and the loss of the returned `C`, against the same for `(Q A Q^T, R B R^T)`.
fn check_bases(a: &Mat<f64>, b: &Mat<f64>, q: &Mat<f64>, r: &Mat<f64>, what: &str) {
    let p = Procrustes::default();
    let base = p.compare(a.as_ref(), b.as_ref()).unwrap();
    let (qa, rb) = (conj(q, a), conj(r, b));
    let moved = p.compare(qa.as_ref(), rb.as_ref()).unwrap();
    assert!(
        (base.angular - moved.angular).abs() <= 1e-9,
        "{what}: d(A, B) = {} but d(QAQ', RBR') = {}",
        base.angular,
        moved.angular
    );
    assert!(
        (base.loss - moved.loss).abs() <= 1e-9,
        "{what}: loss {} vs {}",
        base.loss,
        moved.loss
    );
    // the returned C is a minimizer of the moved problem with that loss
    let (nqa, nrb) = (normalized(&qa), normalized(&rb));
    let l = dsa::solver::objective::loss(nqa.as_ref(), nrb.as_ref(), moved.c.as_ref());
    assert!(
        (l - moved.loss).abs() <= 1e-12,
        "{what}: reported loss {} vs {l}",
        moved.loss
    );
    assert!(orthogonality_error(moved.c.as_ref()) < 1e-12, "{what}");
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 40,
        failure_persistence: None,
        rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha,
        ..ProptestConfig::default()
    })]

    /// `d(Q A Q^T, R B R^T) = d(A, B)` to 1e-9 for orthogonal `Q`, `R` of either determinant:
    /// random Gaussian pairs, stable non-normal pairs and near-conjugate pairs (noise 1e-6 to
    /// 1e-1), `n = 2..40`.
    #[test]
    fn the_distance_does_not_depend_on_the_bases(
        seed in 0u64..1_000_000,
        n in 2usize..=40,
        family in 0usize..3,
        noise_exp in -6i32..=-1,
        flips in (any::<bool>(), any::<bool>()),
    ) {
        let mut g = rng(seed);
        let (a, b) = match family {
            0 => (randn(&mut g, n, n), randn(&mut g, n, n)),
            1 => (stable_nonnormal(&mut g, n), stable_nonnormal(&mut g, n)),
            _ => {
                let a = randn(&mut g, n, n);
                let q = haar(&mut g, n);
                let e = randn(&mut g, n, n);
                let b = &conj(&q, &a) + &e * (10f64.powi(noise_exp) * fro(a.as_ref()) / fro(e.as_ref()));
                (a, b)
            }
        };
        let q = haar_det(&mut g, n, det_sign(flips.0));
        let r = haar_det(&mut g, n, det_sign(flips.1));
        check_bases(&a, &b, &q, &r, &format!("n = {n}, family {family}, seed {seed}"));
    }
}

/// The same for the DMD operators of every case of the reference's fixtures, in four random
/// bases each (both determinants on each side).
#[test]
fn dmd_operators_of_every_reference_case_are_basis_invariant() {
    for (k, (case, a, b)) in reference_operators().into_iter().enumerate() {
        let n = a.nrows();
        let mut g = rng(100 + k as u64);
        for (sa, sb) in [(1.0, 1.0), (-1.0, 1.0), (1.0, -1.0), (-1.0, -1.0)] {
            let q = haar_det(&mut g, n, sa);
            let r = haar_det(&mut g, n, sb);
            check_bases(&a, &b, &q, &r, &case);
        }
    }
}

/// The same for DMD operators of the reference's pairwise anchor (rank 30): four pairs, among
/// them (10, 15), where the solver before 0.1.0 ended above the reference, in two bases each.
#[test]
fn dmd_operators_of_the_pairwise_anchor_are_basis_invariant() {
    let (shape, data) = read_npy("pairwise_anchor", "data.npy");
    let (t, c) = (shape[1], shape[2]);
    let dsa = Dsa::builder().n_delays(10).rank(30).build().unwrap();
    let fit = |k: usize| {
        let x = dsa::Dataset::from_row_major(&data[k * t * c..(k + 1) * t * c], [1, t, c]).unwrap();
        dsa.fit(&x).unwrap().operator().to_owned()
    };
    for (i, j) in [(0, 1), (5, 12), (10, 15), (3, 17)] {
        let (a, b) = (fit(i), fit(j));
        let mut g = rng(300 + 20 * i as u64 + j as u64);
        for (sa, sb) in [(1.0, -1.0), (-1.0, 1.0)] {
            let q = haar_det(&mut g, 30, sa);
            let r = haar_det(&mut g, 30, sb);
            check_bases(&a, &b, &q, &r, &format!("anchor ({i}, {j})"));
        }
    }
}

/// The named tie: when the symmetric part of an operator has a repeated eigenvalue, its
/// canonical basis is not determined (any basis of the eigenspace), and the canonical operators
/// of two bases of it differ. Here `A = I + K` (`K` skew: every eigenvalue of the symmetric
/// part is 1). Such an operator is normal, so the spectral start is exact and the distance is
/// still the same in every basis.
#[test]
fn repeated_symmetric_eigenvalues_are_a_tie() {
    let n = 6;
    let mut g = rng(7);
    let k = random_skew(&mut g, n);
    let a = &identity(n) + &k;
    let q = haar_det(&mut g, n, -1.0);
    let qa = conj(&q, &a);
    let (pa, pq) = (
        dsa::PreparedOperator::new(a.as_ref()).unwrap(),
        dsa::PreparedOperator::new(qa.as_ref()).unwrap(),
    );
    let (ca, cq) = (pa.canonical().unwrap(), pq.canonical().unwrap());
    // a tie: the canonical operators differ
    assert!(max_abs_diff(ca.matrix(), cq.matrix()) > 1e-6);
    // the distance does not
    let b = &identity(n) + &random_skew(&mut g, n);
    let r = haar_det(&mut g, n, 1.0);
    check_bases(&a, &b, &q, &r, "A = I + K");
}

/// Both canonical bases are those of the rule: the symmetric part diagonal, ascending, and the
/// canonical operators of two bases of one operator the same to rounding (distinct
/// eigenvalues).
#[test]
fn canonical_operators_agree_across_bases() {
    let mut g = rng(11);
    for n in [2, 5, 17, 40] {
        let a = randn(&mut g, n, n);
        let q = haar_det(&mut g, n, -1.0);
        let pa = dsa::PreparedOperator::new(a.as_ref()).unwrap();
        let pq = dsa::PreparedOperator::new(conj(&q, &a).as_ref()).unwrap();
        let (ca, cq) = (pa.canonical().unwrap(), pq.canonical().unwrap());
        assert!(max_abs_diff(ca.matrix(), cq.matrix()) < 1e-12, "n = {n}");
        // the rounded operators the solver searches on are the same bits
        assert_eq!(ca.search().matrix(), cq.search().matrix(), "n = {n}");
        // Q' = Q_moved^T... both bases map the canonical operator back to their own
        let back = conj(&ca.basis().to_owned(), &ca.matrix().to_owned());
        assert!(max_abs_diff(back.as_ref(), pa.matrix()) < 1e-13);
    }
}

/// Every bound, (iv) included, is at most the distance found, for random, near-conjugate and
/// conjugate pairs; for symmetric pairs (iv) and (ii) both equal the exact distance, and for
/// conjugate pairs (iv) is zero.
mod bounds {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 64,
            failure_persistence: None,
            rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha,
            ..ProptestConfig::default()
        })]

        #[test]
        fn no_bound_exceeds_the_distance(seed in 0u64..1_000_000, n in 1usize..=16, kind in 0usize..3) {
            let mut g = rng(seed);
            let a = randn(&mut g, n, n);
            let b = match kind {
                0 => randn(&mut g, n, n),
                1 => {
                    let e = randn(&mut g, n, n);
                    &conj(&haar(&mut g, n), &a) + &e * (0.01 * fro(a.as_ref()) / fro(e.as_ref()).max(1e-300))
                }
                _ => conj(&haar(&mut g, n), &a),
            };
            let cmp = Procrustes::default().compare(a.as_ref(), b.as_ref()).unwrap();
            let lb = cmp.lower_bound;
            for (name, v) in [("mirsky", lb.mirsky), ("sym_skew", lb.sym_skew), ("hermitian", lb.hermitian)] {
                prop_assert!(v <= cmp.euclidean + 1e-12, "{name} = {v} > {}", cmp.euclidean);
                prop_assert!(v >= 0.0);
            }
            prop_assert_eq!(lb.best(), lb.mirsky.max(lb.sym_skew).max(lb.hermitian));
            if kind == 2 {
                prop_assert!(lb.hermitian < 1e-12);
            }
        }
    }

    #[test]
    fn symmetric_pairs_attain_bounds_ii_and_iv() {
        let mut g = rng(3);
        for n in [1, 2, 6, 15] {
            let x = randn(&mut g, n, n);
            let y = randn(&mut g, n, n);
            let a = &x + x.transpose();
            let b = &y + y.transpose();
            let cmp = Procrustes::default()
                .compare(a.as_ref(), b.as_ref())
                .unwrap();
            let lb = cmp.lower_bound;
            assert!((lb.hermitian - cmp.euclidean).abs() < 1e-12, "n = {n}");
            assert!((lb.sym_skew - cmp.euclidean).abs() < 1e-12, "n = {n}");
            assert!(cmp.gap.abs() < 1e-12);
        }
    }

    /// (iv) computed from its definition: the eigenvalues of the complex Hermitian matrices.
    #[test]
    fn bound_iv_matches_its_definition() {
        let mut g = rng(5);
        for n in [1, 3, 8] {
            let (a, b) = (
                normalized(&randn(&mut g, n, n)),
                normalized(&randn(&mut g, n, n)),
            );
            let herm = |x: &Mat<f64>| {
                let e = Mat::<dsa::c64>::from_fn(n, n, |i, j| {
                    dsa::c64::new(0.5 * (x[(i, j)] + x[(j, i)]), 0.5 * (x[(i, j)] - x[(j, i)]))
                });
                let mut l: Vec<f64> = e.self_adjoint_eigenvalues(faer::Side::Lower).unwrap();
                l.sort_by(f64::total_cmp);
                l
            };
            let (la, lb) = (herm(&a), herm(&b));
            let expected = la
                .iter()
                .zip(&lb)
                .map(|(x, y)| (x - y) * (x - y))
                .sum::<f64>()
                .sqrt();
            let got = LowerBound::new(a.as_ref(), b.as_ref()).unwrap().hermitian;
            assert!(
                (got - expected).abs() < 1e-13,
                "n = {n}: {got} vs {expected}"
            );
        }
    }
}

/// Metric matrices: on families of near-conjugate systems no triangle of a pairwise matrix is
/// violated beyond 1e-12, nor a detour of a bipartite one, and the results are the same bits
/// for 1 and 4 threads.
mod triangles {
    use super::*;

    /// `m` operators near one another: one operator, each copy in another basis with noise
    /// of relative size `noise`.
    fn near_conjugate_family(seed: u64, n: usize, m: usize, noise: f64) -> Vec<Mat<f64>> {
        let mut g = rng(seed);
        let a = randn(&mut g, n, n);
        (0..m)
            .map(|_| {
                let q = haar(&mut g, n);
                let e = randn(&mut g, n, n);
                conj(&q, &(&a + &e * (noise * fro(a.as_ref()) / fro(e.as_ref()))))
            })
            .collect()
    }

    fn worst_violation(d: &Mat<f64>) -> f64 {
        let m = d.nrows();
        let mut worst = f64::NEG_INFINITY;
        for i in 0..m {
            for k in 0..m {
                for j in 0..m {
                    if i != k && j != i && j != k {
                        worst = worst.max(d[(i, k)] - d[(i, j)] - d[(j, k)]);
                    }
                }
            }
        }
        worst
    }

    fn worst_detour(d: &Mat<f64>) -> f64 {
        let (m, k) = (d.nrows(), d.ncols());
        let mut worst = f64::NEG_INFINITY;
        for i in 0..m {
            for c in 0..k {
                for j in 0..m {
                    for l in 0..k {
                        worst = worst.max(d[(i, c)] - d[(i, l)] - d[(j, l)] - d[(j, c)]);
                    }
                }
            }
        }
        worst
    }

    fn dsa_with(solver: RiemannianLbfgs, threads: usize) -> Dsa {
        Dsa::builder()
            .solver(solver)
            .threads(threads)
            .build()
            .unwrap()
    }

    #[test]
    fn pairwise_matrices_of_near_conjugate_families_are_metrics() {
        for (seed, n, noise) in [(1, 12, 1e-3), (2, 20, 1e-2), (3, 16, 1e-1)] {
            let family = near_conjugate_family(seed, n, 7, noise);
            let ops: Vec<_> = family.iter().map(|a| a.as_ref()).collect();
            let one = dsa_with(RiemannianLbfgs::default(), 1)
                .pairwise_operators(&ops)
                .unwrap();
            let four = dsa_with(RiemannianLbfgs::default(), 4)
                .pairwise_operators(&ops)
                .unwrap();
            assert_eq!(one, four, "seed {seed}: 1 and 4 threads");
            assert!(
                worst_violation(&one) <= 1e-12,
                "seed {seed}: {}",
                worst_violation(&one)
            );
            let bip1 = dsa_with(RiemannianLbfgs::default(), 1)
                .bipartite_operators(&ops[..3], &ops[3..])
                .unwrap();
            let bip4 = dsa_with(RiemannianLbfgs::default(), 4)
                .bipartite_operators(&ops[..3], &ops[3..])
                .unwrap();
            assert_eq!(bip1, bip4);
            assert!(
                worst_detour(&bip1) <= 1e-12,
                "seed {seed}: {}",
                worst_detour(&bip1)
            );
        }
    }

    /// A solver that answers the identity on one given pair (a local minimum of nothing) and
    /// the default's answer on every other; its warm start is the default's.
    #[derive(Debug)]
    struct Sabotage {
        inner: RiemannianLbfgs,
        bad: (Mat<f64>, Mat<f64>),
    }

    impl OrthogonalSolver for Sabotage {
        fn name(&self) -> &'static str {
            "sabotage"
        }
        fn solve_problem(&self, problem: &Problem<'_>) -> dsa::Result<dsa::SolverOutput> {
            let (a, b) = (problem.a().matrix(), problem.b().matrix());
            if max_abs_diff(a, self.bad.0.as_ref()) < 1e-14
                && max_abs_diff(b, self.bad.1.as_ref()) < 1e-14
            {
                let n = problem.size();
                return dsa::SolverOutput::from_run(
                    self.name(),
                    problem,
                    identity(n),
                    dsa::Start::Identity,
                    0,
                    dsa::Termination::MaxIterations,
                );
            }
            self.inner.solve_problem(problem)
        }
        fn refine(
            &self,
            problem: &Problem<'_>,
            c0: faer::MatRef<'_, f64>,
        ) -> dsa::Result<Option<dsa::SolverOutput>> {
            self.inner.refine(problem, c0)
        }
    }

    /// An entry left far from its optimum (the identity, in another basis) violates the
    /// triangles through every other operator; the matrix `Dsa` returns has no violation, the
    /// entry is lower than its raw value, every other entry is the raw bits, and the result is
    /// the same on 1 and 4 threads. The bipartite detours likewise.
    #[test]
    fn violated_triangles_are_repaired_from_composed_starts() {
        let family = near_conjugate_family(9, 10, 6, 0.05);
        let ops: Vec<_> = family.iter().map(|a| a.as_ref()).collect();
        let m = ops.len();
        let bad = (normalized(&family[1]), normalized(&family[4]));
        let sabotage = || Sabotage {
            inner: RiemannianLbfgs::default(),
            bad: bad.clone(),
        };
        let p = Procrustes::with_solver(sabotage());
        let mut raw = Mat::<f64>::zeros(m, m);
        for i in 0..m {
            for k in i + 1..m {
                let v = p.compare(ops[i], ops[k]).unwrap().angular;
                raw[(i, k)] = v;
                raw[(k, i)] = v;
            }
        }
        assert!(
            worst_violation(&raw) > 0.1,
            "the sabotaged entry must violate: {}",
            worst_violation(&raw)
        );
        let run = |threads: usize| {
            Dsa::builder()
                .solver(sabotage())
                .threads(threads)
                .build()
                .unwrap()
                .pairwise_operators(&ops)
                .unwrap()
        };
        let (d1, d4) = (run(1), run(4));
        assert_eq!(d1, d4);
        assert!(worst_violation(&d1) <= 1e-12, "{}", worst_violation(&d1));
        for i in 0..m {
            for k in 0..m {
                if (i, k) == (1, 4) || (i, k) == (4, 1) {
                    assert!(d1[(i, k)] < raw[(i, k)] - 0.1);
                } else {
                    assert_eq!(d1[(i, k)].to_bits(), raw[(i, k)].to_bits(), "({i}, {k})");
                }
            }
        }
        // bipartite: rows 0, 1, 2 against columns 3, 4, 5; the sabotaged entry is (1, 4)
        let bip = |threads: usize| {
            Dsa::builder()
                .solver(sabotage())
                .threads(threads)
                .build()
                .unwrap()
                .bipartite_operators(&ops[..3], &ops[3..])
                .unwrap()
        };
        let (b1, b4) = (bip(1), bip(4));
        assert_eq!(b1, b4);
        assert!(worst_detour(&b1) <= 1e-12, "{}", worst_detour(&b1));
        assert!(b1[(1, 1)] < raw[(1, 4)] - 0.1);
    }

    /// The reference's pairwise anchor (20 systems at rank 30) comes out a metric.
    #[test]
    fn the_pairwise_anchor_is_a_metric() {
        let (shape, data) = read_npy("pairwise_anchor", "data.npy");
        let (m, t, c) = (shape[0], shape[1], shape[2]);
        let systems: Vec<dsa::Dataset> = (0..m)
            .map(|k| {
                dsa::Dataset::from_row_major(&data[k * t * c..(k + 1) * t * c], [1, t, c]).unwrap()
            })
            .collect();
        let dsa = Dsa::builder().n_delays(10).rank(30).build().unwrap();
        let d = dsa.pairwise(&systems).unwrap();
        assert!(worst_violation(&d) <= 1e-12);
    }
}

/// The default solver against an exhaustive search, on a seeded suite of 48 pairs that are not
/// conjugate: random Gaussian, stable non-normal, and perturbed DMD operators of the reference's
/// anchor systems, 4 of each at `n = 10, 20, 30, 40`. The exhaustive search (200 seeded Haar
/// starts, each run to the final tolerance, and the default solver in 20 random bases of each
/// pair) ran once, offline: `generate_optimality_fixture` below, stored in
/// `tests/fixtures/optimality/exhaustive.json`.
mod optimality {
    use super::*;

    pub(super) const SIZES: [usize; 4] = [10, 20, 30, 40];
    pub(super) const FAMILIES: [&str; 3] = ["gaussian", "stable", "dmd"];
    pub(super) const PER: usize = 4;

    /// The `index`-th pair of a family at size `n` (normalized).
    pub(super) fn pair(family: &str, n: usize, index: usize) -> (Mat<f64>, Mat<f64>) {
        let mut g = rng(10_000 * n as u64 + 100 * index as u64 + family.len() as u64);
        let (a, b) = match family {
            "gaussian" => (randn(&mut g, n, n), randn(&mut g, n, n)),
            "stable" => (stable_nonnormal(&mut g, n), stable_nonnormal(&mut g, n)),
            _ => {
                // two different systems of the anchor, the second operator perturbed
                let (shape, data) = read_npy("pairwise_anchor", "data.npy");
                let (t, c) = (shape[1], shape[2]);
                let system = |k: usize| {
                    dsa::Dataset::from_row_major(&data[k * t * c..(k + 1) * t * c], [1, t, c])
                        .unwrap()
                };
                let dsa = Dsa::builder().n_delays(10).rank(n).build().unwrap();
                let a = dsa.fit(&system(2 * index)).unwrap().operator().to_owned();
                let b = dsa
                    .fit(&system(2 * index + 11))
                    .unwrap()
                    .operator()
                    .to_owned();
                let e = randn(&mut g, n, n);
                let b = &b + &e * (0.05 * fro(b.as_ref()) / fro(e.as_ref()));
                (a, b)
            }
        };
        (normalized(&a), normalized(&b))
    }

    /// Pairs whose default answer is not the exhaustive search's best, with the miss in loss
    /// measured when this list was written (`default - best`); the test holds each to it.
    ///
    /// 19 of the 48: none at `n = 10`, 4 at 20, 6 at 30, 9 at 40; 16 of them miss by more than
    /// 1e-4 (a neighbouring basin, typically 1e-4 to 6e-3 higher). Random starts reach the best
    /// minimum of these pairs 0.5 to 5% of the time at `n >= 20` (the landscape has hundreds
    /// of local minima within 1e-2 of each other), so the exhaustive search's 220 runs find
    /// minima that a search of tens of runs does not. `thorough()` reaches 38 of 48
    /// (`optimality_of_the_presets`); the solver before the canonical bases and the kicks, 21.
    const EXCEPTIONS: &[(&str, usize, usize, f64)] = &[
        ("gaussian", 20, 0, 3.704e-3),
        ("gaussian", 20, 2, 1.196e-3),
        ("dmd", 20, 0, 1.516e-4),
        ("dmd", 20, 3, 2.995e-4),
        ("stable", 30, 0, 1.440e-3),
        ("stable", 30, 1, 1.748e-3),
        ("stable", 30, 2, 9.695e-5),
        ("dmd", 30, 0, 3.084e-4),
        ("dmd", 30, 1, 1.195e-3),
        ("dmd", 30, 3, 1.762e-4),
        ("gaussian", 40, 0, 4.949e-4),
        ("gaussian", 40, 2, 4.186e-3),
        ("gaussian", 40, 3, 6.250e-3),
        ("stable", 40, 0, 8.896e-4),
        ("stable", 40, 2, 1.739e-3),
        ("stable", 40, 3, 3.408e-3),
        ("dmd", 40, 0, 8.408e-4),
        ("dmd", 40, 1, 4.335e-4),
        ("dmd", 40, 2, 3.772e-4),
    ];

    #[test]
    fn the_default_reaches_the_exhaustive_best() {
        let fixture = read_json("optimality", "exhaustive.json");
        let solver = RiemannianLbfgs::default();
        let mut misses = Vec::new();
        for entry in fixture["pairs"].as_array().unwrap() {
            let family = entry["family"].as_str().unwrap();
            let n = entry["n"].as_u64().unwrap() as usize;
            let index = entry["index"].as_u64().unwrap() as usize;
            let best = entry["best"].as_f64().unwrap();
            let (a, b) = pair(family, n, index);
            let loss = solver.solve(a.as_ref(), b.as_ref()).unwrap().loss;
            let miss = loss - best;
            let allowed = EXCEPTIONS
                .iter()
                .find(|e| e.0 == family && e.1 == n && e.2 == index)
                .map_or(1e-9, |e| e.3 * 1.01 + 1e-12);
            if miss > allowed {
                misses.push(format!("({family:?}, {n}, {index}, {miss:.3e})"));
            }
        }
        assert!(
            misses.is_empty(),
            "misses beyond the allowed: {}",
            misses.join(", ")
        );
    }

    /// The presets on the suite, against the exhaustive search: pairs within 1e-9 and 1e-4 of
    /// the best, the worst miss and the time (for `docs/solvers.md`):
    /// `cargo test --release --all-features --test main optimality_of_the_presets -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn optimality_of_the_presets() {
        let fixture = read_json("optimality", "exhaustive.json");
        let presets = [
            ("default", RiemannianLbfgs::default()),
            ("fast", RiemannianLbfgs::fast()),
            ("thorough", RiemannianLbfgs::thorough()),
            (
                "before 0.1.0 (as given, no kicks)",
                RiemannianLbfgs::default().canonical(false).kicks(0, 0),
            ),
        ];
        for (name, solver) in presets {
            for n in SIZES {
                let (mut hit, mut near, mut worst, mut time) = (0, 0, f64::NEG_INFINITY, 0.0);
                let mut count = 0;
                for entry in fixture["pairs"].as_array().unwrap() {
                    if entry["n"].as_u64().unwrap() as usize != n {
                        continue;
                    }
                    let family = entry["family"].as_str().unwrap();
                    let index = entry["index"].as_u64().unwrap() as usize;
                    let best = entry["best"].as_f64().unwrap();
                    let (a, b) = pair(family, n, index);
                    let start = std::time::Instant::now();
                    let loss = solver.solve(a.as_ref(), b.as_ref()).unwrap().loss;
                    time += start.elapsed().as_secs_f64();
                    let miss = loss - best;
                    hit += usize::from(miss <= 1e-9);
                    near += usize::from(miss <= 1e-4);
                    worst = worst.max(miss);
                    count += 1;
                }
                println!(
                    "{name}: n = {n}: {hit}/{count} within 1e-9, {near}/{count} within 1e-4, worst miss {worst:.2e}, mean time {:.1} ms",
                    1e3 * time / count as f64
                );
            }
        }
    }

    /// Regenerates `tests/fixtures/optimality/exhaustive.json` (minutes):
    /// `cargo test --release --all-features --test main generate_optimality_fixture -- --ignored`.
    #[test]
    #[ignore]
    fn generate_optimality_fixture() {
        use rayon::prelude::*;
        let solver = RiemannianLbfgs::default();
        let mut pairs = Vec::new();
        for n in SIZES {
            for family in FAMILIES {
                for index in 0..PER {
                    let (a, b) = pair(family, n, index);
                    let problem = Problem::from_matrices(a.as_ref(), b.as_ref()).unwrap();
                    let random = (0..200)
                        .into_par_iter()
                        .map(|k| {
                            let c0 = dsa::solver::starts::haar(&problem, 20_261_204, k);
                            solver
                                .solve_problem_from(&problem, c0.as_ref())
                                .unwrap()
                                .loss
                        })
                        .reduce(|| f64::INFINITY, f64::min);
                    let bases = (0..20u64)
                        .into_par_iter()
                        .map(|k| {
                            let mut g = rng(777 + k);
                            let q = haar(&mut g, n);
                            let r = haar(&mut g, n);
                            let (qa, rb) = (conj(&q, &a), conj(&r, &b));
                            solver.solve(qa.as_ref(), rb.as_ref()).unwrap().loss
                        })
                        .reduce(|| f64::INFINITY, f64::min);
                    let best = random.min(bases);
                    eprintln!("{family} n = {n} #{index}: random {random:.12} bases {bases:.12}");
                    pairs.push(serde_json::json!({
                        "family": family, "n": n, "index": index,
                        "best": best, "best_of_random_starts": random, "default_in_bases": bases,
                    }));
                }
            }
        }
        let json = serde_json::json!({
            "description": "exhaustive search on the optimality suite of tests/suite/invariance.rs: 200 seeded Haar starts (RiemannianLbfgs::solve_problem_from, final tolerance) and the default solver in 20 random bases of each pair; best = the lower of the two",
            "pairs": pairs,
        });
        let dir = fixture_dir("optimality");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("exhaustive.json"),
            serde_json::to_string_pretty(&json).unwrap(),
        )
        .unwrap();
    }
}

/// Large operators (issue 22), for `docs/solvers.md` ("Large operators"): the default against
/// the solver before 0.1.0 (`canonical(false).kicks(0, 0)`) on 20 seeded stable non-normal
/// pairs at `n = 10, 20, 30, 50, 100`, one thread, pair by pair, and the old solver in three random
/// bases of each pair (which takes away its advantage on pairs generated in nearly aligned
/// bases). Prints the mean differences in loss and the mean times, and checks that in random
/// bases the old solver is on average no better than the default:
/// `cargo test --release --all-features --test main large_pairs_against_before -- --ignored --nocapture`.
#[test]
#[ignore]
fn large_pairs_against_before() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let default = RiemannianLbfgs::default();
    let before = RiemannianLbfgs::default().canonical(false).kicks(0, 0);
    let pairs = 20;
    for n in [10, 20, 30, 50, 100] {
        let (mut diff, mut not_worse, mut rotated_diff, mut rotated_below) = (0.0, 0, 0.0, 0);
        let (mut t_default, mut t_before) = (0.0, 0.0);
        for p in 0..pairs {
            let mut g = rng(40_000 + 100 * n as u64 + p as u64);
            let a = normalized(&stable_nonnormal(&mut g, n));
            let b = normalized(&stable_nonnormal(&mut g, n));
            let timed = |s: &RiemannianLbfgs, a: &Mat<f64>, b: &Mat<f64>| {
                let start = std::time::Instant::now();
                let loss = pool.install(|| s.solve(a.as_ref(), b.as_ref()).unwrap().loss);
                (loss, start.elapsed().as_secs_f64())
            };
            let (ld, td) = timed(&default, &a, &b);
            let (lb, tb) = timed(&before, &a, &b);
            t_default += td;
            t_before += tb;
            diff += ld - lb;
            not_worse += usize::from(ld <= lb + 1e-9);
            for _ in 0..3 {
                let (q, r) = (haar(&mut g, n), haar(&mut g, n));
                let (lr, _) = timed(&before, &conj(&q, &a), &conj(&r, &b));
                rotated_diff += lr - ld;
                rotated_below += usize::from(lr < ld - 1e-9);
            }
        }
        let m = pairs as f64;
        println!(
            "n = {n}: default minus before {:+.1e} (mean), not worse on {not_worse} of {pairs}; \
             before in random bases minus default {:+.1e} (mean), below the default in \
             {rotated_below} of {}; mean time before {:.0} ms, default {:.0} ms",
            diff / m,
            rotated_diff / (3.0 * m),
            3 * pairs,
            1e3 * t_before / m,
            1e3 * t_default / m,
        );
        // the claim of docs/solvers.md: in random bases, the old solver is on average no
        // better than the default
        assert!(
            rotated_diff >= 0.0,
            "n = {n}: {:+.1e}",
            rotated_diff / (3.0 * m)
        );
    }
}
