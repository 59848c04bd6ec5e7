//! The crate from outside (issue 18): a solver and an embedding of one's own plugged into the
//! pipeline through the public API alone, the problem type and its caches, the default's
//! starting points, and settings checked once when a `Dsa` or a `Procrustes` is built.

use crate::common::*;
use dsa::solver::{starts, Problem, SolverOutput, SolverReport, Start, StartOutcome, Termination};
use dsa::{
    CayleyAdam, Dataset, DelayEmbedding, Dmd, Dsa, DsaError, Embedded, Embedding, LowerBound,
    OrthogonalSolver, PreparedOperator, Procrustes, RiemannianLbfgs, Similarity,
};
use faer::Mat;

/// The best of the default's structured starts, no iteration: a solver written as an outside
/// crate would write it.
#[derive(Debug)]
struct BestStructuredStart;

impl OrthogonalSolver for BestStructuredStart {
    fn name(&self) -> &'static str {
        "best-structured-start"
    }

    fn solve_problem(&self, problem: &Problem<'_>) -> dsa::Result<SolverOutput> {
        let mut candidates = vec![
            (Start::Identity, starts::identity(problem)),
            (Start::Reflection, starts::reflection(problem)),
        ];
        candidates.extend(starts::spectral(problem)?.map(|c| (Start::Spectral, c)));
        candidates
            .extend(starts::spectral_transposed(problem)?.map(|c| (Start::SpectralTransposed, c)));
        for (k, c) in starts::signed_symmetric_alignments(problem, 16, 0)?
            .into_iter()
            .enumerate()
        {
            candidates.push((Start::SignedSymmetric(k), c));
        }
        let mut outcomes = Vec::new();
        let mut best: Option<(f64, Start, Mat<f64>)> = None;
        for (start, c) in candidates {
            let loss = problem.loss(c.as_ref())?;
            outcomes.push(StartOutcome::new(start, loss, 0, Termination::ClosedForm));
            if best.as_ref().is_none_or(|(l, _, _)| loss < *l) {
                best = Some((loss, start, c));
            }
        }
        let (loss, start, c) = best.expect("at least the identity");
        let mut report = SolverReport::new(self.name(), start, Termination::ClosedForm);
        report.converged = loss.sqrt() - problem.lower_bound()?.best() < 1e-10;
        report.starts = outcomes;
        Ok(SolverOutput::new(c, loss, report))
    }
}

#[test]
fn a_solver_of_ones_own_runs_through_the_pipeline() {
    let mut r = rng(1801);
    let a = randn(&mut r, 6, 6);
    let b = conj(&signed_permutation(&mut r, 6), &a);
    let cmp = Procrustes::with_solver(BestStructuredStart)
        .compare(a.as_ref(), b.as_ref())
        .unwrap();
    assert!(cmp.angular < 1e-8, "{}", cmp.angular);
    assert!(cmp.report.converged && cmp.report.starts.len() >= 3);
    assert!(orthogonality_error(cmp.c.as_ref()) < 1e-12);
    // through Dsa, on fitted operators
    let m = stable(&mut r, 3, 0.9);
    let x = simulate(&mut r, &m, 300, 0.2);
    let y = &x * signed_permutation(&mut r, 3);
    let dsa = Dsa::builder()
        .n_delays(2)
        .rank(4)
        .solver(BestStructuredStart)
        .build()
        .unwrap();
    assert_eq!(dsa.solver().name(), "best-structured-start");
    assert!(dsa.distance(&x, &y).unwrap() < 1e-6);
}

#[test]
fn a_problem_holds_the_normalized_pair_and_its_bound() {
    let mut r = rng(1802);
    let (a, b) = (randn(&mut r, 7, 7), randn(&mut r, 7, 7));
    let problem = Problem::normalized(a.as_ref(), b.as_ref()).unwrap();
    assert_eq!(problem.size(), 7);
    assert!((fro(problem.a().matrix()) - 1.0).abs() < 1e-15);
    assert!((problem.a().norm() - fro(a.as_ref())).abs() < 1e-14 * fro(a.as_ref()));
    let expected = LowerBound::new(problem.a().matrix(), problem.b().matrix()).unwrap();
    let got = problem.lower_bound().unwrap();
    assert!((got.best() - expected.best()).abs() < 1e-14);
    // the same bits as a comparison's
    let cmp = Procrustes::default()
        .compare(a.as_ref(), b.as_ref())
        .unwrap();
    assert_eq!(cmp.lower_bound, got);
    let out = RiemannianLbfgs::default().solve_problem(&problem).unwrap();
    assert_eq!(out.loss.to_bits(), cmp.loss.to_bits());
    assert_eq!(out.c, cmp.c);
    // borrowed operators: the caches are the operators' own
    let (pa, pb) = (
        PreparedOperator::new(a.as_ref()).unwrap(),
        PreparedOperator::new(b.as_ref()).unwrap(),
    );
    let borrowed = Problem::new(&pa, &pb).unwrap();
    assert_eq!(borrowed.lower_bound().unwrap(), got);
    assert_eq!(
        pa.singular_values().unwrap(),
        problem.a().singular_values().unwrap()
    );
    // errors
    let c = PreparedOperator::new(randn(&mut r, 5, 5).as_ref()).unwrap();
    assert!(matches!(
        Problem::new(&pa, &c),
        Err(DsaError::SizeMismatch { a: 7, b: 5 })
    ));
    assert!(matches!(
        problem.loss(Mat::<f64>::identity(6, 6).as_ref()),
        Err(DsaError::ShapeMismatch { .. })
    ));
    let bad = Mat::from_fn(3, 3, |i, j| if i == j { f64::NAN } else { 0.0 });
    assert!(matches!(
        Problem::from_matrices(bad.as_ref(), bad.as_ref()),
        Err(DsaError::NonFinite { .. })
    ));
    assert!(matches!(
        Problem::normalized(Mat::<f64>::zeros(7, 7).as_ref(), a.as_ref()),
        Err(DsaError::Degenerate { .. })
    ));
    assert!(matches!(
        Problem::normalized(randn(&mut r, 3, 3).as_ref(), a.as_ref()),
        Err(DsaError::SizeMismatch { a: 3, b: 7 })
    ));
    assert!(matches!(
        Problem::normalized(randn(&mut r, 3, 2).as_ref(), a.as_ref()),
        Err(DsaError::ShapeMismatch { .. })
    ));
    // the empty problem: nothing to do
    let empty = Mat::<f64>::zeros(0, 0);
    let p0 = Problem::from_matrices(empty.as_ref(), empty.as_ref()).unwrap();
    assert_eq!(p0.lower_bound().unwrap().best(), 0.0);
    let out = CayleyAdam::default().solve_problem(&p0).unwrap();
    assert_eq!((out.loss, out.c.nrows()), (0.0, 0));
}

#[test]
fn the_public_starts_are_the_defaults() {
    let mut r = rng(1803);
    let n = 6;
    let a = randn(&mut r, n, n);
    let b = conj(&haar_det(&mut r, n, -1.0), &a);
    let problem = Problem::normalized(a.as_ref(), b.as_ref()).unwrap();
    // on the operators as given, the default stops at the spectral start for a conjugate pair
    // with distinct eigenvalues
    let spectral = starts::spectral(&problem).unwrap().unwrap();
    let out = RiemannianLbfgs::default()
        .canonical(false)
        .solve_problem(&problem)
        .unwrap();
    assert_eq!(out.report.best_start, Start::Spectral);
    assert_eq!(out.c, spectral);
    // in the canonical bases (the default), where the two canonical operators are the same,
    // at the identity, with no iteration either
    let out = RiemannianLbfgs::default().solve_problem(&problem).unwrap();
    assert_eq!(out.report.best_start, Start::Identity);
    assert_eq!(out.report.iterations, 0);
    assert!(out.loss < 1e-24 && problem.loss(spectral.as_ref()).unwrap() < 1e-24);
    // seeded Haar starts: orthogonal, alternating components, reproducible
    for k in 0..4 {
        let q = starts::haar(&problem, 3, k);
        assert!(orthogonality_error(q.as_ref()) < 1e-13);
        assert_eq!(
            q.determinant().signum(),
            if k % 2 == 0 { 1.0 } else { -1.0 }
        );
        assert_eq!(q, starts::haar(&problem, 3, k));
    }
    assert_eq!(starts::reflection(&problem).determinant(), -1.0);
    // sign patterns: distinct, orthogonal, at most as many as asked
    let signed = starts::signed_symmetric_alignments(&problem, 8, 0).unwrap();
    assert!(!signed.is_empty() && signed.len() <= 8);
    for c in &signed {
        assert!(orthogonality_error(c.as_ref()) < 1e-12);
    }
    // symmetric pairs: the alignment is the closed form's answer
    let s = &a + a.transpose();
    let t = conj(&haar_det(&mut r, n, 1.0), &s);
    let sym = Problem::normalized(s.as_ref(), t.as_ref()).unwrap();
    let c = starts::symmetric_alignment(&sym).unwrap();
    assert!(sym.loss(c.as_ref()).unwrap() < 1e-26);
    let closed = dsa::SymmetricClosedForm.solve_problem(&sym).unwrap();
    assert_eq!(closed.c, c);
}

#[test]
fn the_preconditioner_is_reachable_and_checked() {
    let mut r = rng(1804);
    let b = PreparedOperator::new(randn(&mut r, 5, 5).as_ref()).unwrap();
    let pc = b.gauss_newton().expect("formed at n = 5");
    assert_eq!(pc.size(), 5);
    let x = random_skew(&mut r, 5);
    let y = pc.precondition(x.as_ref()).unwrap();
    assert_eq!((&y + y.transpose()).norm_max(), 0.0);
    // positive definite: a descent direction stays one
    let inner: f64 = (0..5)
        .flat_map(|i| (0..5).map(move |j| (i, j)))
        .map(|(i, j)| x[(i, j)] * y[(i, j)])
        .sum();
    assert!(inner > 0.0);
    assert!(matches!(
        pc.precondition(Mat::<f64>::zeros(4, 4).as_ref()),
        Err(DsaError::ShapeMismatch { .. })
    ));
    let mut bad = x.clone();
    bad[(0, 1)] = f64::INFINITY;
    assert!(matches!(
        pc.precondition(bad.as_ref()),
        Err(DsaError::NonFinite { .. })
    ));
}

#[test]
fn solver_settings_are_checked_when_built() {
    let bad = RiemannianLbfgs::default().memory(0);
    assert!(matches!(
        bad.check(),
        Err(DsaError::InvalidParameter { name: "memory", .. })
    ));
    let err = Dsa::builder().solver(bad.clone()).build().unwrap_err();
    assert!(matches!(
        err,
        DsaError::InvalidParameter { name: "memory", .. }
    ));
    let err = Dsa::builder()
        .solver(CayleyAdam::default().lr(0.0))
        .build()
        .unwrap_err();
    assert!(matches!(err, DsaError::InvalidParameter { name: "lr", .. }));
    // the paper start's settings are the default's too
    let err = Dsa::builder()
        .solver(RiemannianLbfgs::default().paper_start(Some(CayleyAdam::default().lr(f64::NAN))))
        .build()
        .unwrap_err();
    assert!(matches!(err, DsaError::InvalidParameter { name: "lr", .. }));
    // Procrustes: checked when built, reported by every comparison
    let a = Mat::<f64>::identity(3, 3);
    let p = Procrustes::with_solver(bad.clone());
    for _ in 0..2 {
        assert!(matches!(
            p.compare(a.as_ref(), a.as_ref()),
            Err(DsaError::InvalidParameter { name: "memory", .. })
        ));
    }
    // a direct call is an error, never a panic
    let problem = Problem::from_matrices(a.as_ref(), a.as_ref()).unwrap();
    assert!(bad.solve_problem(&problem).is_err());
    assert!(bad.solve(a.as_ref(), a.as_ref()).is_err());
}

/// A delay embedding written outside the crate (newest block last instead of first): the same
/// columns in another order, so the fitted operators are conjugate by a permutation.
struct OldestFirst(usize);

impl Embedding for OldestFirst {
    fn embed(&self, data: &Dataset) -> dsa::Result<Embedded> {
        let e = DelayEmbedding::new(self.0, 1)?.embed(data)?;
        let (h, n, d) = (e.matrix(), e.n_channels(), e.n_delays());
        let flipped = Mat::from_fn(h.nrows(), h.ncols(), |i, j| {
            let (block, c) = (j / n, j % n);
            h[(i, (d - 1 - block) * n + c)]
        });
        Embedded::new(flipped, e.trial_rows().to_vec())
    }
}

#[test]
fn an_embedding_of_ones_own_reaches_the_fit() {
    let mut r = rng(1805);
    let m = stable(&mut r, 3, 0.9);
    let x = simulate(&mut r, &m, 400, 0.3);
    let data = Dataset::from_trajectory(x.as_ref()).unwrap();
    let params = Dmd::params().rank(6).check().unwrap();
    let ours = params.fit_with(&OldestFirst(3), &data).unwrap();
    let theirs = params
        .fit_with(&DelayEmbedding::new(3, 1).unwrap(), &data)
        .unwrap();
    assert_eq!(ours.n_channels(), 9);
    // permuting the columns of H leaves its singular values, and the operator up to an
    // orthogonal change of basis
    for (s, t) in ours.singular_values().iter().zip(theirs.singular_values()) {
        assert!((s - t).abs() <= 1e-10 * t.max(1.0));
    }
    let d =
        dsa::operator_distance(ours.operator(), theirs.operator(), dsa::Score::Angular).unwrap();
    assert!(d < 1e-6, "{d}");
}

#[test]
fn an_embedding_is_checked() {
    let h = Mat::from_fn(10, 2, |i, j| (i + j) as f64);
    assert!(Embedded::new(h.clone(), vec![4, 6]).is_ok());
    assert!(matches!(
        Embedded::new(h.clone(), vec![4, 5]),
        Err(DsaError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        Embedded::new(h.clone(), vec![usize::MAX, 11]),
        Err(DsaError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        Embedded::new(h.clone(), vec![]),
        Err(DsaError::EmptyData { .. })
    ));
    assert!(matches!(
        Embedded::new(Mat::zeros(0, 2), vec![0]),
        Err(DsaError::EmptyData { .. })
    ));
    let mut nan = h;
    nan[(3, 1)] = f64::NAN;
    let err = Embedded::new(nan, vec![10]).unwrap_err();
    assert!(matches!(err, DsaError::NonFinite { .. }));
    assert!(err.to_string().contains("row 3, column 1"));
    // a trial too short for the shift is the fit's typed error
    let e = Embedded::new(Mat::from_fn(5, 2, |i, j| (i * j) as f64 + 1.0), vec![4, 1]).unwrap();
    let fit = Dmd::params().rank(1).check().unwrap().fit_embedded(&e);
    assert!(matches!(fit, Err(DsaError::TrialTooShort { trial: 1, .. })));
}
