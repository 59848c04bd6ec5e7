//! The solver benchmark suite `dsa::bench` (issue 18): a slice of it run by the default solver
//! and by Cayley + Adam, the families' known optima, the stored best-known values, and the
//! report's formats.

use dsa::bench::{Family, Optimum, Suite, SOLVED_TOL};
use dsa::{CayleyAdam, DsaError, OrthogonalSolver, RiemannianLbfgs};

/// On `n = 5, 10`, two instances of every family: the default solves every conjugate (and
/// symmetric) case to 1e-8, and is never worse than Cayley + Adam on any family, neither in
/// the median nor in the worst case.
#[test]
fn the_default_solves_conjugate_families_and_never_loses_to_cayley_adam() {
    let suite = Suite::quick().sizes(&[5, 10]).instances(2);
    let default = RiemannianLbfgs::default();
    let paper = CayleyAdam::default();
    let report = suite
        .run(&[&default as &dyn OrthogonalSolver, &paper])
        .unwrap();
    println!("{}", report.to_markdown());
    assert_eq!(report.rows().len(), 9 * 2 * 2);
    for family in Family::standard() {
        for n in [5, 10] {
            let name = family.name();
            let d = report.row(default.name(), &name, n).unwrap();
            let p = report.row(paper.name(), &name, n).unwrap();
            if family.optimum_is_known() {
                assert_eq!(d.solved, Some(1.0), "{name} n = {n}: {d:?}");
            } else {
                assert_eq!(d.solved, None);
            }
            // every case of the slice has a known or stored optimum
            let (dm, dw) = (d.median_excess.unwrap(), d.worst_excess.unwrap());
            let (pm, pw) = (p.median_excess.unwrap(), p.worst_excess.unwrap());
            assert!(
                dm <= pm + 1e-12 && dw <= pw + 1e-12,
                "{name} n = {n}: default {dm:e} / {dw:e}, Cayley + Adam {pm:e} / {pw:e}"
            );
            // the stored values include the default's own answer: never above it (beyond
            // rounding, on a machine whose floating-point paths differ)
            assert!(dm >= -1e-12, "{name} n = {n}: {dm:e}");
            assert!(d.median_gap >= -1e-12 && d.median_time <= d.worst_time);
        }
    }
}

#[test]
fn the_families_carry_their_optimum() {
    for family in Family::standard() {
        for n in [5, 20] {
            let case = family.case(n, 1).unwrap();
            assert_eq!((case.a.nrows(), case.b.nrows()), (n, n));
            assert!((case.a.norm_l2() - 1.0).abs() < 1e-14);
            let problem = case.problem().unwrap();
            let bound = problem.lower_bound().unwrap().best();
            match case.optimum {
                Optimum::Known(v) => {
                    assert!(family.optimum_is_known());
                    assert!(
                        (v - bound).abs() < 1e-12,
                        "{}: {v} vs {bound}",
                        family.name()
                    );
                }
                Optimum::BestKnown(v) => {
                    assert!(!family.optimum_is_known());
                    // certified: no distance is below the bound
                    assert!(v >= bound - 1e-12, "{}: {v} < {bound}", family.name());
                }
                other => panic!("{} n = {n}: {other:?}", family.name()),
            }
        }
    }
    // seeded, and distinct between instances, sizes and families
    let a = Family::Random.case(8, 0).unwrap();
    assert_eq!(
        a.fingerprint(),
        Family::Random.case(8, 0).unwrap().fingerprint()
    );
    assert_ne!(
        a.fingerprint(),
        Family::Random.case(8, 1).unwrap().fingerprint()
    );
    assert_ne!(
        a.fingerprint(),
        Family::Symmetric.case(8, 0).unwrap().fingerprint()
    );
    // outside the stored cases: nothing known
    assert_eq!(Family::Random.case(7, 0).unwrap().optimum, Optimum::Unknown);
    // conjugate pairs of both determinants and a signed permutation
    let p = Family::ConjugateSignedPermutation.case(6, 0).unwrap();
    let out = RiemannianLbfgs::default()
        .solve_problem(&p.problem().unwrap())
        .unwrap();
    assert!(out.loss.sqrt() <= SOLVED_TOL);
    let c = out.c;
    assert!((0..6).all(|i| (0..6).filter(|&j| c[(i, j)].abs() > 0.5).count() == 1));
}

#[test]
fn the_report_in_both_formats() {
    let fast = RiemannianLbfgs::fast();
    let report = Suite::quick()
        .families(&[Family::ConjugateRotation, Family::DmdPairs])
        .sizes(&[5, 10])
        .instances(1)
        .run(&[&fast as &dyn OrthogonalSolver])
        .unwrap();
    let md = report.to_markdown();
    assert_eq!(md.lines().count(), 2 + 4);
    assert!(md.contains("| conjugate-rotation | 5 | riemannian-lbfgs | 1 |"));
    assert!(md.contains("| 100% |"));
    let csv = report.to_csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 4);
    assert!(lines.iter().all(|l| l.split(',').count() == 10));
    // the DMD rows: no optimum known, so no share solved
    let dmd = lines
        .iter()
        .find(|l| l.starts_with("dmd-pairs,5,"))
        .unwrap();
    assert!(dmd.contains(",,"), "{dmd}");
}

#[test]
fn bad_suites_are_errors() {
    let default = RiemannianLbfgs::default();
    let solvers = [&default as &dyn OrthogonalSolver];
    for (suite, name) in [
        (Suite::quick().sizes(&[]), "sizes"),
        (Suite::quick().families(&[]), "families"),
        (Suite::quick().instances(0), "instances"),
    ] {
        assert!(matches!(
            suite.run(&solvers),
            Err(DsaError::InvalidParameter { name: n, .. }) if n == name
        ));
    }
    assert!(matches!(
        Suite::quick().run(&[]),
        Err(DsaError::InvalidParameter {
            name: "solvers",
            ..
        })
    ));
    assert!(matches!(
        Family::Random.case(0, 0),
        Err(DsaError::InvalidParameter { name: "size", .. })
    ));
    assert!(matches!(
        Family::DmdPairs.case(101, 0),
        Err(DsaError::InvalidParameter { name: "size", .. })
    ));
    assert!(matches!(
        Family::NearConjugate { noise: -1.0 }.case(5, 0),
        Err(DsaError::InvalidParameter { name: "noise", .. })
    ));
    let bad = RiemannianLbfgs::default().memory(0);
    assert!(Suite::quick()
        .sizes(&[5])
        .run(&[&bad as &dyn OrthogonalSolver])
        .is_err());
}
