//! Robustness (issue 5): every public entry point returns a clear error or a right answer,
//! never a panic, never a NaN inside an `Ok`.
//!
//! * Property tests (proptest) throw random shapes and values at every public entry point:
//!   dimensions from 0 to a few dozen, ranks and delays beyond every limit, NaN, +-inf, 0,
//!   subnormals, 1e+-300, constant, zero and duplicated channels. The only acceptable
//!   outcomes are an `Ok` with finite numbers in the documented ranges, or an `Err` of the
//!   right kind whose message names the parameter or input at fault.
//! * Numerical cases with a defined answer: degenerate channels, rank caps, zero, huge and tiny
//!   operators, near-defective operators, the reference's rank-deficient fixtures.
//! * Solver safety: iteration and time limits, honest `converged` flags.
//! * `Send + Sync` of the public types (checked at compile time).
//!
//! Cases per property: `DSA_PROPTEST_CASES` (default: a per-property count that keeps the
//! whole file well under a minute). Heavier local run, e.g.
//! `DSA_PROPTEST_CASES=2000 cargo test --release --test main suite::robustness::`. A failing case prints its
//! inputs; `PROPTEST_RNG_SEED=<u64>` fixes the random stream. See `docs/robustness.md`.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::common::*;
use dsa::{
    c64, operator_distance, CayleyAdam, Comparison, Dataset, DelayEmbedding, Dmd, DmdModel,
    DmdParams, DmdValidParams, DsaError, Embedded, Embedding, LowerBound, OperatorFit,
    OrthogonalSolver, Procrustes, RiemannianLbfgs, Score, Similarity, SizeMismatch, SolverOutput,
    SolverReport, SpectralComparison, SpectralDistance, SymmetricClosedForm, Termination,
    ToDataset,
};
use faer::{Mat, MatRef};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestCaseResult, TestRunner};

// =============================================================================================
// configuration

/// Cases for one property: `DSA_PROPTEST_CASES` if set, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("DSA_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

fn config(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(default),
        // failing inputs are printed; no regression files are written into the tree
        failure_persistence: None,
        max_shrink_iters: 256,
        ..ProptestConfig::default()
    }
}

/// `RiemannianLbfgs::max_iters(k)` limits every start, polish included; the `Paper` start
/// (the Cayley+Adam answer the solver refines) reports Adam iterations, which are documented
/// as not counted against it.
fn within_iteration_limit(s: &dsa::StartOutcome, k: usize) -> bool {
    s.start == dsa::Start::Paper || s.iterations <= k
}

/// Outcome counts of a property, to check that the generators reach the interesting paths.
#[derive(Default)]
struct Tally(Mutex<BTreeMap<&'static str, usize>>);

impl Tally {
    fn hit(&self, key: &'static str) {
        *self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default() += 1;
    }
    fn get(&self, key: &str) -> usize {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .copied()
            .unwrap_or(0)
    }
    /// At least `fraction` of the `cases` reached `key`.
    fn require(&self, key: &str, cases: u32, fraction: f64) {
        let got = self.get(key);
        assert!(
            got as f64 >= fraction * f64::from(cases),
            "only {got} of {cases} cases reached `{key}` (want >= {:.0}%): the generators miss that path",
            100.0 * fraction
        );
    }
}

/// Run a property for `cases(default_cases)` cases; panics with the minimal failing input.
fn run_property<S, F>(name: &str, default_cases: u32, strategy: S, body: F) -> (u32, Tally)
where
    S: Strategy,
    S::Value: std::fmt::Debug,
    F: Fn(S::Value, &Tally) -> TestCaseResult,
{
    let cfg = config(default_cases);
    let cases = cfg.cases;
    let tally = Tally::default();
    let start = Instant::now();
    let mut runner = TestRunner::new(cfg);
    if let Err(e) = runner.run(&strategy, |v| body(v, &tally)) {
        panic!("{name}: {e}");
    }
    eprintln!(
        "{name}: {cases} cases in {:.1?}: {:?}",
        start.elapsed(),
        tally.0.lock().unwrap_or_else(|e| e.into_inner())
    );
    (cases, tally)
}

// =============================================================================================
// inputs are built from a seed (the tests' one generator, `crate::common::rng`) so that a
// failing case prints a short, reproducible description

fn has_non_finite(m: &Mat<f64>) -> bool {
    !all_finite(m.as_ref())
}

// =============================================================================================
// special values

/// The values every entry point must survive.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Special {
    Nan,
    PosInf,
    NegInf,
    Zero,
    /// `f64::MIN_POSITIVE / 2`, a subnormal.
    Subnormal,
    Huge,
    NegHuge,
    Tiny,
    Max,
    MinPositive,
}

impl Special {
    fn value(self) -> f64 {
        match self {
            Special::Nan => f64::NAN,
            Special::PosInf => f64::INFINITY,
            Special::NegInf => f64::NEG_INFINITY,
            Special::Zero => 0.0,
            Special::Subnormal => f64::MIN_POSITIVE / 2.0,
            Special::Huge => 1e300,
            Special::NegHuge => -1e300,
            Special::Tiny => 1e-300,
            Special::Max => f64::MAX,
            Special::MinPositive => f64::MIN_POSITIVE,
        }
    }
}

fn special() -> impl Strategy<Value = Special> {
    prop_oneof![
        Just(Special::Nan),
        Just(Special::PosInf),
        Just(Special::NegInf),
        Just(Special::Zero),
        Just(Special::Subnormal),
        Just(Special::Huge),
        Just(Special::NegHuge),
        Just(Special::Tiny),
        Just(Special::Max),
        Just(Special::MinPositive),
    ]
}

// =============================================================================================
// time series

/// What a generated time series looks like (before special values are sprinkled in).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// i.i.d. standard normal.
    Normal,
    /// A few sinusoids per channel: low-rank, smooth dynamics.
    Sines,
    /// Every entry the same non-zero constant.
    Constant,
    /// All zeros.
    Zero,
    /// Sines, with the channels repeated (channel j is channel j mod 2).
    DuplicatedChannels,
    /// Sines, with the last channel constant.
    ConstantChannel,
    /// Sines, with the last channel zero.
    ZeroChannel,
    /// Normal values times `10^e`.
    Scaled(i32),
    /// Normal values times `f64::MIN_POSITIVE / 2`: subnormal entries.
    Subnormal,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        4 => Just(Kind::Normal),
        4 => Just(Kind::Sines),
        1 => Just(Kind::Constant),
        1 => Just(Kind::Zero),
        2 => Just(Kind::DuplicatedChannels),
        2 => Just(Kind::ConstantChannel),
        2 => Just(Kind::ZeroChannel),
        2 => prop_oneof![Just(150), Just(-150), Just(300), Just(-300), Just(307)].prop_map(Kind::Scaled),
        1 => Just(Kind::Subnormal),
    ]
}

/// A `rows x cols` series, built from a seed; `specials` are `(flat index, value)` pairs
/// (index taken modulo the size).
#[derive(Debug, Clone)]
struct MatSpec {
    rows: usize,
    cols: usize,
    kind: Kind,
    seed: u64,
    specials: Vec<(usize, Special)>,
}

impl MatSpec {
    fn build(&self) -> Mat<f64> {
        let (t, n) = (self.rows, self.cols);
        let mut rng = rng(self.seed);
        let freqs: Vec<(f64, f64, f64)> = (0..n.max(1) + 2)
            .map(|_| {
                (
                    0.05 + 0.6 * uniform01(&mut rng),
                    6.3 * uniform01(&mut rng),
                    0.5 + uniform01(&mut rng),
                )
            })
            .collect();
        let sines = |i: usize, j: usize| {
            let (w1, p1, a1) = freqs[j];
            let (w2, p2, _) = freqs[j + 1];
            a1 * (w1 * i as f64 + p1).sin() + 0.3 * (w2 * i as f64 + p2).cos()
        };
        let mut m = match self.kind {
            Kind::Normal => randn(&mut rng, t, n),
            Kind::Sines => Mat::from_fn(t, n, sines),
            Kind::Constant => Mat::from_fn(t, n, |_, _| 1.5),
            Kind::Zero => Mat::zeros(t, n),
            Kind::DuplicatedChannels => Mat::from_fn(t, n, |i, j| sines(i, j % 2)),
            Kind::ConstantChannel => {
                Mat::from_fn(t, n, |i, j| if j + 1 == n { -2.0 } else { sines(i, j) })
            }
            Kind::ZeroChannel => {
                Mat::from_fn(t, n, |i, j| if j + 1 == n { 0.0 } else { sines(i, j) })
            }
            Kind::Scaled(e) => {
                let s = 10f64.powi(e);
                Mat::from_fn(t, n, |_, _| normal(&mut rng) * s)
            }
            Kind::Subnormal => {
                Mat::from_fn(t, n, |_, _| normal(&mut rng) * (f64::MIN_POSITIVE / 2.0))
            }
        };
        let size = t * n;
        if size > 0 {
            for &(k, s) in &self.specials {
                let k = k % size;
                m[(k / n, k % n)] = s.value();
            }
        }
        m
    }
}

fn specials(max: usize) -> impl Strategy<Value = Vec<(usize, Special)>> {
    prop_oneof![
        6 => Just(Vec::new()),
        1 => proptest::collection::vec((any::<usize>(), special()), 1..=max),
    ]
}

/// Trials: usually of the same channel count, sometimes not.
fn trials() -> impl Strategy<Value = Vec<MatSpec>> {
    let rows = prop_oneof![1 => 0usize..=3, 8 => 4usize..=60, 2 => 60usize..=150];
    let cols = prop_oneof![16 => 1usize..=8, 1 => Just(0usize), 4 => 9usize..=24];
    (
        1usize..=3,
        rows,
        cols,
        kind(),
        any::<u64>(),
        specials(3),
        prop::bool::weighted(0.05),
        0usize..=4,
    )
        .prop_map(|(k, rows, cols, kind, seed, sp, mismatch, shrink)| {
            (0..k)
                .map(|i| MatSpec {
                    // later trials a bit shorter, sometimes much
                    rows: if i == 0 {
                        rows
                    } else {
                        rows.saturating_sub(shrink * i * 3)
                    },
                    cols: if mismatch && i == 1 { cols + 1 } else { cols },
                    kind,
                    seed: seed.wrapping_add(i as u64),
                    specials: if i + 1 == k { sp.clone() } else { Vec::new() },
                })
                .collect()
        })
}

/// What `Dataset::from_trials` must say about these trials: `None` if they are valid.
fn expected_data_error(ms: &[Mat<f64>]) -> Option<&'static str> {
    if ms.is_empty() {
        return Some("empty");
    }
    let n = ms[0].ncols();
    for m in ms {
        if m.nrows() == 0 || m.ncols() == 0 {
            return Some("empty");
        }
        if m.ncols() != n {
            return Some("shape");
        }
        if has_non_finite(m) {
            return Some("non-finite");
        }
    }
    None
}

// =============================================================================================
// error checking

/// The error kinds an input may produce, and the words its message must contain.
#[derive(Debug, Clone, PartialEq)]
enum Expect {
    Empty,
    NonFinite,
    Shape,
    TooShort,
    Param(&'static str),
    Degenerate,
    Size,
    /// A decomposition gave up (only acceptable for entries near the overflow limit).
    NoConvergence,
}

/// Check that `err` is one of `allowed` and that its message names what is wrong.
fn check_err(err: &DsaError, allowed: &[Expect], ctx: &str) -> Result<(), TestCaseError> {
    let msg = err.to_string();
    prop_assert!(
        !msg.trim().is_empty(),
        "{ctx}: empty error message for {err:?}"
    );
    prop_assert!(
        !msg.contains("NaN")
            || matches!(
                err,
                DsaError::NonFinite { .. } | DsaError::InvalidParameter { .. }
            ),
        "{ctx}: message mentions NaN: {msg}"
    );
    let kind = match err {
        DsaError::EmptyData { .. } => {
            prop_assert!(
                msg.contains("empty")
                    && (msg.contains("time point")
                        || msg.contains("channel")
                        || msg.contains("trial")
                        || msg.contains("operator")),
                "{ctx}: {msg}"
            );
            Expect::Empty
        }
        DsaError::NonFinite {
            input, location, ..
        } => {
            prop_assert!(
                msg.contains("non-finite") && !input.is_empty() && !location.is_empty(),
                "{ctx}: {msg}"
            );
            Expect::NonFinite
        }
        DsaError::ShapeMismatch { .. } => {
            prop_assert!(
                msg.contains("shape mismatch")
                    && (msg.contains("channel")
                        || msg.contains("square")
                        || msg.contains("size")
                        || msg.contains("values")
                        || msg.contains("1 x 1")),
                "{ctx}: {msg}"
            );
            Expect::Shape
        }
        DsaError::TrialTooShort { .. } => {
            prop_assert!(
                msg.contains("n_delays")
                    && msg.contains("time points")
                    && msg.contains("need at least"),
                "{ctx}: {msg}"
            );
            Expect::TooShort
        }
        DsaError::InvalidParameter { name, reason } => {
            prop_assert!(
                msg.contains(name) && !reason.trim().is_empty(),
                "{ctx}: {msg}"
            );
            Expect::Param(name)
        }
        DsaError::Degenerate { what } => {
            prop_assert!(
                msg.contains("degenerate") && !what.trim().is_empty(),
                "{ctx}: {msg}"
            );
            Expect::Degenerate
        }
        DsaError::SizeMismatch { .. } => {
            prop_assert!(msg.contains("different sizes"), "{ctx}: {msg}");
            Expect::Size
        }
        DsaError::NoConvergence { .. } => {
            prop_assert!(
                msg.contains("did not converge") && msg.contains("extreme values"),
                "{ctx}: {msg}"
            );
            Expect::NoConvergence
        }
        other => {
            return Err(TestCaseError::fail(format!(
                "{ctx}: unexpected error {other:?}: {msg}"
            )))
        }
    };
    prop_assert!(
        allowed.contains(&kind),
        "{ctx}: got {kind:?} ({msg}), allowed {allowed:?}"
    );
    Ok(())
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".into()
    }
}

/// Run `f`, turning a panic into a test failure that names the call.
fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, TestCaseError> {
    catch_unwind(AssertUnwindSafe(f))
        .map_err(|p| TestCaseError::fail(format!("{what} panicked: {}", panic_message(&*p))))
}

// =============================================================================================
// result checking

fn check_model(model: &DmdModel, data: &Dataset, ctx: &str) -> Result<(), TestCaseError> {
    let p = model.params();
    let a = model.operator();
    let info = model.rank_info();
    let (rows, width) = model.hankel_shape();
    let d = p.n_delays();
    prop_assert_eq!(width, data.n_channels() * d, "{}", ctx);
    let expect_rows: usize = data
        .trial_lens()
        .iter()
        .map(|t| t - (d - 1) * p.delay_interval())
        .sum();
    prop_assert_eq!(rows, expect_rows, "{}", ctx);
    prop_assert_eq!(info.available, rows.min(width), "{}: available", ctx);
    prop_assert!(
        info.used >= 1 && info.used <= info.available && info.used <= info.numerical_rank,
        "{ctx}: {info:?}"
    );
    prop_assert!(info.numerical_rank <= info.available, "{ctx}: {info:?}");
    prop_assert_eq!(
        info.capped,
        info.used < info.requested,
        "{}: {:?}",
        ctx,
        info
    );
    prop_assert_eq!(model.rank(), info.used);
    prop_assert!(
        a.nrows() == a.ncols() && a.nrows() >= info.used,
        "{ctx}: operator {} x {}",
        a.nrows(),
        a.ncols()
    );
    prop_assert!(all_finite(a), "{ctx}: operator not finite");
    let s = model.singular_values();
    prop_assert_eq!(s.len(), info.available, "{}", ctx);
    prop_assert!(
        s.iter().all(|x| x.is_finite() && *x >= 0.0),
        "{ctx}: singular values {s:?}"
    );
    prop_assert!(
        s.windows(2).all(|w| w[0] >= w[1]),
        "{ctx}: singular values not sorted {s:?}"
    );
    prop_assert_eq!(model.eigenvalues().len(), a.nrows(), "{}", ctx);
    prop_assert!(
        model
            .eigenvalues()
            .iter()
            .all(|l| l.re.is_finite() && l.im.is_finite()),
        "{ctx}: eigenvalues"
    );
    prop_assert!(
        all_finite(model.u()) && all_finite(model.v()),
        "{ctx}: U or V not finite"
    );
    prop_assert!(
        all_finite(model.full_operator().as_ref()),
        "{ctx}: full operator not finite"
    );
    Ok(())
}

fn check_comparison(cmp: &Comparison, n: usize, ctx: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        cmp.angular.is_finite() && (0.0..=std::f64::consts::PI).contains(&cmp.angular),
        "{ctx}: angular {}",
        cmp.angular
    );
    prop_assert!(
        cmp.euclidean.is_finite() && (0.0..=2.0).contains(&cmp.euclidean),
        "{ctx}: euclidean {}",
        cmp.euclidean
    );
    prop_assert!(
        cmp.loss.is_finite() && cmp.loss >= 0.0,
        "{ctx}: loss {}",
        cmp.loss
    );
    prop_assert!(
        (2.0 * (cmp.euclidean / 2.0).asin() - cmp.angular).abs() <= 1e-12,
        "{ctx}: angular != 2 asin(euclidean / 2)"
    );
    prop_assert_eq!(cmp.c.nrows(), n, "{}", ctx);
    prop_assert!(
        orthogonality_error(cmp.c.as_ref()) <= 1e-8,
        "{ctx}: C not orthogonal ({:e})",
        orthogonality_error(cmp.c.as_ref())
    );
    let lb = cmp.lower_bound;
    prop_assert!(
        lb.mirsky.is_finite() && lb.sym_skew.is_finite() && lb.mirsky >= 0.0 && lb.sym_skew >= 0.0,
        "{ctx}: {lb:?}"
    );
    // the certificate is sound: no orthogonal C beats it
    prop_assert!(
        lb.best() <= cmp.euclidean + 1e-9,
        "{ctx}: lower bound {} above the distance {}",
        lb.best(),
        cmp.euclidean
    );
    prop_assert!(cmp.gap.is_finite(), "{ctx}: gap");
    check_report(&cmp.report, ctx)
}

fn check_report(r: &SolverReport, ctx: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        r.grad_norm.is_finite() && r.grad_norm >= 0.0,
        "{ctx}: grad norm {}",
        r.grad_norm
    );
    prop_assert!(!r.starts.is_empty(), "{ctx}: no starts reported");
    prop_assert!(
        r.starts.iter().all(|s| s.loss.is_finite() && s.loss >= 0.0),
        "{ctx}: start losses {:?}",
        r.starts
    );
    prop_assert!(!r.solver.is_empty());
    Ok(())
}

fn check_solver_output(
    out: &SolverOutput,
    a: MatRef<'_, f64>,
    b: MatRef<'_, f64>,
    ctx: &str,
) -> Result<(), TestCaseError> {
    let n = a.nrows();
    prop_assert_eq!((out.c.nrows(), out.c.ncols()), (n, n), "{}", ctx);
    prop_assert!(
        out.loss.is_finite() && out.loss >= 0.0 && out.loss <= 4.0 + 1e-9,
        "{ctx}: loss {}",
        out.loss
    );
    prop_assert!(
        orthogonality_error(out.c.as_ref()) <= 1e-8,
        "{ctx}: C not orthogonal ({:e})",
        orthogonality_error(out.c.as_ref())
    );
    let direct = dsa::solver::objective::loss(a, b, out.c.as_ref());
    prop_assert!(
        (direct - out.loss).abs() <= 1e-10,
        "{ctx}: reported loss {} but the loss at C is {}",
        out.loss,
        direct
    );
    check_report(&out.report, ctx)
}

fn check_spectral(
    s: &SpectralComparison,
    na: usize,
    nb: usize,
    ctx: &str,
) -> Result<(), TestCaseError> {
    let n = na.max(nb);
    prop_assert!(
        s.w2_squared.is_finite() && s.w2_squared >= 0.0,
        "{ctx}: w2^2 {}",
        s.w2_squared
    );
    prop_assert!(
        s.w2.is_finite() && (s.w2 * s.w2 - s.w2_squared).abs() <= 1e-12 * s.w2_squared.max(1e-300),
        "{ctx}: w2 {}",
        s.w2
    );
    prop_assert_eq!(s.eigenvalues_a.len(), n);
    prop_assert_eq!(s.eigenvalues_b.len(), n);
    let fin = |v: &[c64]| v.iter().all(|l| l.re.is_finite() && l.im.is_finite());
    prop_assert!(
        fin(&s.eigenvalues_a) && fin(&s.eigenvalues_b),
        "{ctx}: eigenvalues not finite"
    );
    let mut seen = vec![false; n];
    for &j in &s.matching {
        prop_assert!(
            j < n && !seen[j],
            "{ctx}: matching is not a permutation {:?}",
            s.matching
        );
        seen[j] = true;
    }
    prop_assert_eq!(s.matching.len(), n);
    Ok(())
}

// =============================================================================================
// 1. data: Dataset constructors and ToDataset

fn data_expect(ms: &[Mat<f64>]) -> Option<Expect> {
    expected_data_error(ms).map(|w| match w {
        "empty" => Expect::Empty,
        "shape" => Expect::Shape,
        _ => Expect::NonFinite,
    })
}

fn check_dataset(r: dsa::Result<Dataset>, ms: &[Mat<f64>], ctx: &str) -> Result<(), TestCaseError> {
    match (r, data_expect(ms)) {
        (Ok(d), None) => {
            prop_assert_eq!(d.n_trials(), ms.len(), "{}", ctx);
            prop_assert_eq!(d.n_channels(), ms[0].ncols(), "{}", ctx);
            prop_assert_eq!(
                d.trial_lens(),
                ms.iter().map(|m| m.nrows()).collect::<Vec<_>>(),
                "{}",
                ctx
            );
            for (k, m) in ms.iter().enumerate() {
                prop_assert!(d.trial(k) == m.as_ref(), "{ctx}: trial {k} changed");
            }
            Ok(())
        }
        (Ok(_), Some(e)) => Err(TestCaseError::fail(format!(
            "{ctx}: Ok for input that should give {e:?}"
        ))),
        (Err(e), None) => Err(TestCaseError::fail(format!(
            "{ctx}: error for valid input: {e}"
        ))),
        (Err(e), Some(want)) => {
            check_err(&e, &[want], ctx)?;
            if let DsaError::NonFinite { location, .. } = &e {
                // the location names the trial in the whole list
                let k = ms.iter().position(has_non_finite).unwrap_or(usize::MAX);
                prop_assert!(
                    location.starts_with(&format!("trial {k},")),
                    "{ctx}: NaN/inf is in trial {k}, error says {location}"
                );
            }
            Ok(())
        }
    }
}

fn to_nalgebra(m: &Mat<f64>) -> nalgebra::DMatrix<f64> {
    nalgebra::DMatrix::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)])
}

/// `Dataset::from_trials`, `from_trajectory`, `from_row_major` and every `ToDataset` impl.
#[test]
fn datasets_validate_or_error() {
    let strategy = (trials(), prop::bool::weighted(0.05), 0usize..3);
    let (cases, tally) = run_property(
        "datasets_validate_or_error",
        512,
        strategy,
        |(specs, empty_list, extra), tally| check_datasets(&specs, empty_list, extra, tally),
    );
    tally.require("dataset ok", cases, 0.3);
    tally.require("dataset err", cases, 0.1);
}

fn check_datasets(
    specs: &[MatSpec],
    empty_list: bool,
    extra: usize,
    tally: &Tally,
) -> TestCaseResult {
    {
        let ms: Vec<Mat<f64>> = if empty_list {
            Vec::new()
        } else {
            specs.iter().map(MatSpec::build).collect()
        };
        let r = no_panic("Dataset::from_trials", || Dataset::from_trials(ms.clone()))?;
        tally.hit(if r.is_ok() {
            "dataset ok"
        } else {
            "dataset err"
        });
        check_dataset(r, &ms, "from_trials")?;
        let r = no_panic("Vec<Mat>::to_dataset", || ms.to_dataset())?;
        check_dataset(r, &ms, "Vec<Mat>::to_dataset")?;
        let r = no_panic("[Mat]::to_dataset", || ms.as_slice().to_dataset())?;
        check_dataset(r, &ms, "[Mat]::to_dataset")?;
        let nal: Vec<nalgebra::DMatrix<f64>> = ms.iter().map(to_nalgebra).collect();
        let r = no_panic("Vec<DMatrix>::to_dataset", || nal.to_dataset())?;
        check_dataset(r, &ms, "Vec<DMatrix>::to_dataset")?;
        if let Some(m0) = ms.first() {
            let one = std::slice::from_ref(m0);
            let r = no_panic("Dataset::from_trajectory", || {
                Dataset::from_trajectory(m0.as_ref())
            })?;
            check_dataset(r, one, "from_trajectory")?;
            let r = no_panic("Mat::to_dataset", || m0.to_dataset())?;
            check_dataset(r, one, "Mat::to_dataset")?;
            let r = no_panic("MatRef::to_dataset", || m0.as_ref().to_dataset())?;
            check_dataset(r, one, "MatRef::to_dataset")?;
            let r = no_panic("DMatrix::to_dataset", || to_nalgebra(m0).to_dataset())?;
            check_dataset(r, one, "DMatrix::to_dataset")?;
            let r = no_panic("&&Mat::to_dataset", || (&m0).to_dataset())?;
            check_dataset(r, one, "&&Mat::to_dataset")?;
        }
        // row-major K x T x N: valid when every trial has the same shape
        if let Some(m0) = ms.first() {
            let (t, n) = (m0.nrows(), m0.ncols());
            let same = ms.iter().all(|m| (m.nrows(), m.ncols()) == (t, n));
            let mut flat = Vec::new();
            for m in &ms {
                for i in 0..m.nrows() {
                    for j in 0..m.ncols() {
                        flat.push(m[(i, j)]);
                    }
                }
            }
            if same {
                let r = no_panic("Dataset::from_row_major", || {
                    Dataset::from_row_major(&flat, [ms.len(), t, n])
                })?;
                check_dataset(r, &ms, "from_row_major")?;
            }
            // wrong length
            let wrong = vec![1.0; ms.len() * t * n + extra + 1];
            let r = no_panic("Dataset::from_row_major (wrong length)", || {
                Dataset::from_row_major(&wrong, [ms.len(), t, n])
            })?;
            match r {
                Ok(_) => {
                    return Err(TestCaseError::fail(
                        "from_row_major accepted a wrong length",
                    ))
                }
                Err(e) => check_err(&e, &[Expect::Shape], "from_row_major (wrong length)")?,
            }
        }
        // shapes whose product overflows, or is zero
        for shape in [
            [usize::MAX, 2, 2],
            [2, usize::MAX, usize::MAX],
            [1usize << 40, 1 << 40, 1],
        ] {
            let r = no_panic("Dataset::from_row_major (overflow)", || {
                Dataset::from_row_major(&[1.0; 4], shape)
            })?;
            match r {
                Ok(_) => {
                    return Err(TestCaseError::fail(format!(
                        "from_row_major accepted shape {shape:?}"
                    )))
                }
                Err(e) => check_err(&e, &[Expect::Shape], "from_row_major (overflow)")?,
            }
        }
        for shape in [[0, 3, 2], [2, 0, 3], [2, 3, 0], [0, 0, 0]] {
            let r = no_panic("Dataset::from_row_major (zero)", || {
                Dataset::from_row_major(&[], shape)
            })?;
            match r {
                Ok(_) => {
                    return Err(TestCaseError::fail(format!(
                        "from_row_major accepted empty shape {shape:?}"
                    )))
                }
                Err(e) => check_err(&e, &[Expect::Empty], "from_row_major (zero)")?,
            }
        }
    }
    Ok(())
}

// =============================================================================================
// 2. delay embedding

fn usize_param(
    small: std::ops::RangeInclusive<usize>,
    big: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = usize> {
    prop_oneof![
        24 => small,
        1 => Just(0usize),
        3 => big,
        1 => Just(usize::MAX),
        1 => Just(usize::MAX / 2 + 1),
    ]
}

/// Time points a trial needs: `(d-1) tau + s + 1`, `None` on overflow.
fn needed(d: usize, tau: usize, s: usize) -> Option<usize> {
    d.checked_sub(1)?
        .checked_mul(tau)?
        .checked_add(s)?
        .checked_add(1)
}

/// A valid dataset from the specs, or `None` (then the test case is about something else).
fn valid_data(specs: &[MatSpec]) -> Option<(Dataset, Vec<Mat<f64>>)> {
    let ms: Vec<Mat<f64>> = specs.iter().map(MatSpec::build).collect();
    Dataset::from_trials(ms.clone()).ok().map(|d| (d, ms))
}

/// `DelayEmbedding::new(d, tau).with_steps_ahead(s).embed(data)`.
#[test]
fn embedding_is_exact_or_errors() {
    let strategy = (
        trials(),
        usize_param(1..=6, 7..=200),
        usize_param(1..=3, 4..=100),
        usize_param(0..=3, 4..=100),
    );
    let (cases, tally) = run_property(
        "embedding_is_exact_or_errors",
        512,
        strategy,
        |(specs, d, tau, s), tally| check_embedding(&specs, d, tau, s, tally),
    );
    tally.require("embed ok", cases, 0.2);
    tally.require("embed too short", cases, 0.05);
}

fn check_embedding(
    specs: &[MatSpec],
    d: usize,
    tau: usize,
    s: usize,
    tally: &Tally,
) -> TestCaseResult {
    {
        let emb = match no_panic("DelayEmbedding::new", || DelayEmbedding::new(d, tau))? {
            Ok(e) => {
                prop_assert!(d >= 1 && tau >= 1);
                prop_assert_eq!((e.n_delays(), e.delay_interval()), (d, tau));
                e
            }
            Err(e) => {
                let mut allowed = Vec::new();
                if d == 0 {
                    allowed.push(Expect::Param("n_delays"));
                }
                if tau == 0 {
                    allowed.push(Expect::Param("delay_interval"));
                }
                prop_assert!(!allowed.is_empty(), "valid parameters rejected: {}", e);
                return check_err(&e, &allowed, "DelayEmbedding::new");
            }
        };
        let emb = emb.with_steps_ahead(s);
        let Some((data, ms)) = valid_data(specs) else {
            return Ok(());
        };
        let r = no_panic("DelayEmbedding::embed", || emb.embed(&data))?;
        tally.hit(if r.is_ok() {
            "embed ok"
        } else {
            "embed too short"
        });
        let short = ms
            .iter()
            .any(|m| needed(d, tau, s).is_none_or(|need| m.nrows() < need));
        match r {
            Err(e) => {
                prop_assert!(short, "embedding of long enough trials failed: {}", e);
                check_err(&e, &[Expect::TooShort], "embed")?;
                if let DsaError::TrialTooShort {
                    n_delays,
                    delay_interval,
                    steps_ahead,
                    ..
                } = e
                {
                    prop_assert_eq!((n_delays, delay_interval, steps_ahead), (d, tau, s));
                }
            }
            Ok(h) => {
                prop_assert!(!short, "embedded a trial that is too short");
                let n = data.n_channels();
                prop_assert_eq!(h.ncols(), n * d);
                prop_assert_eq!(h.n_channels(), n);
                let rows: Vec<usize> = ms.iter().map(|m| m.nrows() - (d - 1) * tau).collect();
                prop_assert_eq!(h.trial_rows(), &rows[..]);
                prop_assert_eq!(h.nrows(), rows.iter().sum::<usize>());
                let mut r0 = 0;
                for (m, &tk) in ms.iter().zip(&rows) {
                    for i in 0..tk {
                        for b in 0..d {
                            for c in 0..n {
                                prop_assert!(
                                    h.matrix()[(r0 + i, b * n + c)]
                                        == m[(i + (d - 1 - b) * tau, c)]
                                );
                            }
                        }
                    }
                    r0 += tk;
                }
                prop_assert_eq!(h.to_nalgebra().nrows(), h.nrows());
            }
        }
    }
    Ok(())
}

// =============================================================================================
// 3. DMD fit and predict

#[derive(Debug, Clone)]
struct FitSpec {
    n_delays: usize,
    delay_interval: usize,
    steps_ahead: usize,
    rank: Option<usize>,
    rank_thresh: Option<f64>,
    explained_variance: Option<f64>,
    optimal_hard_threshold: bool,
    lambda: f64,
    reduced_rank: bool,
}

impl FitSpec {
    fn params(&self) -> DmdParams {
        let mut p = Dmd::params()
            .n_delays(self.n_delays)
            .delay_interval(self.delay_interval)
            .steps_ahead(self.steps_ahead)
            .lambda(self.lambda)
            .reduced_rank(self.reduced_rank)
            .optimal_hard_threshold(self.optimal_hard_threshold);
        if let Some(r) = self.rank {
            p = p.rank(r);
        }
        if let Some(t) = self.rank_thresh {
            p = p.rank_thresh(t);
        }
        if let Some(q) = self.explained_variance {
            p = p.explained_variance(q);
        }
        p
    }

    /// The parameters `check()` must reject (empty: valid).
    fn invalid(&self) -> Vec<Expect> {
        let mut v = Vec::new();
        if self.n_delays == 0 {
            v.push(Expect::Param("n_delays"));
        }
        if self.delay_interval == 0 {
            v.push(Expect::Param("delay_interval"));
        }
        if self.steps_ahead == 0 {
            v.push(Expect::Param("steps_ahead"));
        }
        if !(self.lambda >= 0.0 && self.lambda.is_finite()) {
            v.push(Expect::Param("lambda"));
        }
        let rules = usize::from(self.rank.is_some())
            + usize::from(self.rank_thresh.is_some())
            + usize::from(self.explained_variance.is_some())
            + usize::from(self.optimal_hard_threshold);
        if rules > 1 || self.rank == Some(0) {
            v.push(Expect::Param("rank"));
        }
        if self
            .rank_thresh
            .is_some_and(|t| !(t >= 0.0 && t.is_finite()))
        {
            v.push(Expect::Param("rank_thresh"));
        }
        if self
            .explained_variance
            .is_some_and(|q| !(q > 0.0 && q <= 1.0))
        {
            v.push(Expect::Param("explained_variance"));
        }
        v
    }
}

fn float_choice(values: &'static [f64]) -> impl Strategy<Value = f64> {
    proptest::sample::select(values)
}

fn fit_spec() -> impl Strategy<Value = FitSpec> {
    const THRESH: &[f64] = &[
        -1.0,
        0.0,
        -0.0,
        f64::NAN,
        f64::INFINITY,
        1e-300,
        0.5,
        3.0,
        1e300,
    ];
    const EV: &[f64] = &[
        -0.1,
        0.0,
        1e-300,
        0.5,
        0.9,
        0.99,
        1.0,
        1.0 + 1e-12,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ];
    const LAMBDA: &[f64] = &[
        1e-12,
        1e-3,
        1.0,
        1e300,
        f64::MAX,
        -0.0,
        -1.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE / 2.0,
    ];
    let rank = prop_oneof![
        6 => Just(None),
        8 => (1usize..=60).prop_map(Some),
        1 => Just(Some(0usize)),
        1 => Just(Some(usize::MAX)),
    ];
    (
        usize_param(1..=6, 7..=40),
        usize_param(1..=3, 4..=30),
        usize_param(1..=3, 4..=50),
        rank,
        prop::option::weighted(0.08, float_choice(THRESH)),
        prop::option::weighted(0.08, float_choice(EV)),
        prop::bool::weighted(0.06),
        prop_oneof![6 => Just(0.0), 2 => float_choice(LAMBDA)],
        any::<bool>(),
    )
        .prop_map(
            |(
                n_delays,
                delay_interval,
                steps_ahead,
                rank,
                rank_thresh,
                explained_variance,
                oht,
                lambda,
                rr,
            )| FitSpec {
                n_delays,
                delay_interval,
                steps_ahead,
                rank,
                rank_thresh,
                explained_variance,
                optimal_hard_threshold: oht,
                lambda,
                reduced_rank: rr,
            },
        )
}

/// What is handed to `predict`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PredictInput {
    /// The training data.
    Same,
    /// The training data as `Vec<DMatrix>`.
    Nalgebra,
    /// One channel more.
    WrongChannels,
    /// One time point shorter than the embedding and shift need.
    Short,
    /// The training data with one NaN.
    WithNan,
    /// The training data scaled by 1e300.
    Huge,
    /// No trials.
    Empty,
}

fn predict_input() -> impl Strategy<Value = PredictInput> {
    prop_oneof![
        4 => Just(PredictInput::Same),
        1 => Just(PredictInput::Nalgebra),
        1 => Just(PredictInput::WrongChannels),
        1 => Just(PredictInput::Short),
        1 => Just(PredictInput::WithNan),
        1 => Just(PredictInput::Huge),
        1 => Just(PredictInput::Empty),
    ]
}

fn reseed() -> impl Strategy<Value = usize> {
    proptest::sample::select(&[0usize, 1, 1, 2, 3, 7, 1000, usize::MAX][..])
}

fn check_fit(
    specs: &[MatSpec],
    fs: &FitSpec,
    input: PredictInput,
    reseed: usize,
    tally: &Tally,
) -> TestCaseResult {
    let params = fs.params();
    let invalid = fs.invalid();
    let checked = no_panic("DmdParams::check", || params.check())?;
    match &checked {
        Ok(v) => {
            prop_assert!(
                invalid.is_empty(),
                "check accepted invalid parameters {invalid:?}"
            );
            prop_assert_eq!(
                (v.n_delays(), v.delay_interval(), v.steps_ahead()),
                (fs.n_delays, fs.delay_interval, fs.steps_ahead)
            );
            prop_assert!(v.lambda() == fs.lambda);
        }
        Err(e) => {
            prop_assert!(!invalid.is_empty(), "check rejected valid parameters: {e}");
            check_err(e, &invalid, "DmdParams::check")?;
        }
    }
    let Some((data, ms)) = valid_data(specs) else {
        return Ok(());
    };
    let r = no_panic("DmdParams::fit", || params.fit(&data))?;
    if let Ok(v) = &checked {
        let r2 = no_panic("DmdValidParams::fit", || v.fit(&data))?;
        prop_assert_eq!(
            r.is_ok(),
            r2.is_ok(),
            "DmdParams::fit and DmdValidParams::fit disagree"
        );
    }
    let short = ms.iter().any(|m| {
        needed(fs.n_delays, fs.delay_interval, fs.steps_ahead).is_none_or(|need| m.nrows() < need)
    });
    let zero = ms.iter().all(|m| m.norm_max() == 0.0);
    let model = match r {
        Err(e) => {
            if !invalid.is_empty() {
                return check_err(&e, &invalid, "fit");
            }
            if short {
                return check_err(&e, &[Expect::TooShort], "fit (short trials)");
            }
            if zero {
                check_err(&e, &[Expect::Degenerate], "fit (zero data)")?;
                prop_assert!(e.to_string().contains("zero"), "{}", e);
                return Ok(());
            }
            if ms.iter().any(|m| m.norm_max() > 1e300) {
                // singular values beyond f64::MAX
                check_err(
                    &e,
                    &[Expect::Degenerate],
                    "fit (data near the overflow limit)",
                )?;
                prop_assert!(e.to_string().contains("overflow"), "{}", e);
                return Ok(());
            }
            return Err(TestCaseError::fail(format!(
                "fit failed on valid input: {e}"
            )));
        }
        Ok(m) => {
            prop_assert!(
                invalid.is_empty() && !short && !zero,
                "fit succeeded: invalid {invalid:?}, short {short}, zero {zero}"
            );
            m
        }
    };
    tally.hit("fit ok");
    check_model(&model, &data, "fit")?;
    let ctx = format!("predict({input:?}, reseed {reseed})");
    let lead = (fs.n_delays - 1) * fs.delay_interval + fs.steps_ahead;
    let need = lead + 1;
    let test: Vec<Mat<f64>> = match input {
        PredictInput::Same | PredictInput::Nalgebra => ms.clone(),
        PredictInput::WrongChannels => ms
            .iter()
            .map(|m| Mat::from_fn(m.nrows(), m.ncols() + 1, |i, j| m[(i, j % m.ncols())]))
            .collect(),
        PredictInput::Short => vec![
            ms[0].as_ref().subrows(0, need - 1).to_owned(),
            ms[0].clone(),
        ],
        PredictInput::WithNan => {
            let mut m = ms[0].clone();
            let (i, j) = (m.nrows() / 2, m.ncols() - 1);
            m[(i, j)] = f64::NAN;
            vec![m]
        }
        PredictInput::Huge => ms
            .iter()
            .map(|m| Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)] * 1e300))
            .collect(),
        PredictInput::Empty => Vec::new(),
    };
    let r = if input == PredictInput::Nalgebra {
        let nal: Vec<_> = test.iter().map(to_nalgebra).collect();
        no_panic("DmdModel::predict", || model.predict(&nal, reseed))?
    } else {
        no_panic("DmdModel::predict", || model.predict(&test, reseed))?
    };
    let mut allowed = Vec::new();
    if reseed == 0 {
        allowed.push(Expect::Param("reseed"));
    }
    allowed.extend(data_expect(&test));
    match input {
        PredictInput::WrongChannels => allowed.push(Expect::Shape),
        PredictInput::Short => allowed.push(Expect::TooShort),
        _ => {}
    }
    match r {
        Err(e) => {
            if allowed.is_empty() {
                // an unstable operator iterated without reseeding may overflow: that must be a
                // clear error, never infinities in an Ok
                check_err(&e, &[Expect::Degenerate], &ctx)?;
                prop_assert!(e.to_string().contains("forecast"), "{ctx}: {e}");
            } else {
                check_err(&e, &allowed, &ctx)?;
            }
        }
        Ok(out) => {
            tally.hit("predict ok");
            prop_assert!(allowed.is_empty(), "{ctx}: Ok, expected one of {allowed:?}");
            prop_assert_eq!(out.len(), test.len(), "{}", ctx);
            for (y, x) in out.iter().zip(&test) {
                prop_assert_eq!((y.nrows(), y.ncols()), (x.nrows(), x.ncols()), "{}", ctx);
                prop_assert!(all_finite(y.as_ref()), "{ctx}: forecast not finite");
                prop_assert!(
                    y.as_ref().subrows(0, lead) == x.as_ref().subrows(0, lead),
                    "{ctx}: leading rows differ from the data"
                );
            }
        }
    }
    Ok(())
}

/// `Dmd::params()...fit` with every parameter, then `predict`.
#[test]
fn fit_and_predict_are_finite_or_error() {
    let strategy = (trials(), fit_spec(), predict_input(), reseed());
    let (cases, tally) = run_property(
        "fit_and_predict_are_finite_or_error",
        600,
        strategy,
        |(specs, fs, input, reseed), tally| check_fit(&specs, &fs, input, reseed, tally),
    );
    tally.require("fit ok", cases, 0.15);
    tally.require("predict ok", cases, 0.05);
}

// =============================================================================================
// 4. comparing operators: Procrustes, SpectralDistance, operator_distance, LowerBound

#[derive(Debug, Clone, Copy, PartialEq)]
enum OpKind {
    Normal,
    Zero,
    Identity,
    Symmetric,
    Skew,
    Diagonal,
    /// Jordan blocks of size 2 and 3 with a 1e-8 perturbation: nearly defective.
    NearJordan,
    /// Eigenvalue 0.5 repeated, non-normal.
    Repeated,
    /// Normal entries times `10^e`.
    Scaled(i32),
    /// Normal entries times `f64::MIN_POSITIVE / 2`.
    Subnormal,
}

fn op_kind() -> impl Strategy<Value = OpKind> {
    prop_oneof![
        6 => Just(OpKind::Normal),
        1 => Just(OpKind::Zero),
        1 => Just(OpKind::Identity),
        2 => Just(OpKind::Symmetric),
        1 => Just(OpKind::Skew),
        1 => Just(OpKind::Diagonal),
        2 => Just(OpKind::NearJordan),
        2 => Just(OpKind::Repeated),
        2 => prop_oneof![Just(150), Just(-150), Just(300), Just(-300), Just(307)].prop_map(OpKind::Scaled),
        1 => Just(OpKind::Subnormal),
    ]
}

fn build_op(rows: usize, cols: usize, kind: OpKind, seed: u64) -> Mat<f64> {
    let mut rng = rng(seed);
    let g = randn(&mut rng, rows, cols);
    let sq = rows == cols;
    match kind {
        OpKind::Normal => g,
        OpKind::Zero => Mat::zeros(rows, cols),
        OpKind::Identity => Mat::from_fn(rows, cols, |i, j| if i == j { 1.0 } else { 0.0 }),
        OpKind::Symmetric if sq => Mat::from_fn(rows, cols, |i, j| g[(i, j)] + g[(j, i)]),
        OpKind::Skew if sq => Mat::from_fn(rows, cols, |i, j| g[(i, j)] - g[(j, i)]),
        OpKind::Diagonal => Mat::from_fn(rows, cols, |i, j| if i == j { g[(i, j)] } else { 0.0 }),
        OpKind::NearJordan => {
            // blocks of size 3, 2, 3, 2, ... with eigenvalues 0.9, -0.5, 0.9, -0.5, ...
            let mut m = Mat::<f64>::zeros(rows, cols);
            let mut start = 0;
            let mut b = 0;
            while start < rows.min(cols) {
                let size = if b % 2 == 0 { 3 } else { 2 };
                let lam = if b % 2 == 0 { 0.9 } else { -0.5 };
                let end = (start + size).min(rows.min(cols));
                for i in start..end {
                    m[(i, i)] = lam;
                    if i + 1 < end {
                        m[(i, i + 1)] = 1.0;
                    }
                }
                m[(end - 1, start)] = 1e-8;
                start = end;
                b += 1;
            }
            m
        }
        OpKind::Repeated => Mat::from_fn(rows, cols, |i, j| match i.cmp(&j) {
            std::cmp::Ordering::Equal => 0.5,
            std::cmp::Ordering::Less => 0.3 * g[(i, j)],
            std::cmp::Ordering::Greater => 0.0,
        }),
        OpKind::Scaled(e) => {
            let s = 10f64.powi(e);
            Mat::from_fn(rows, cols, |i, j| g[(i, j)] * s)
        }
        OpKind::Subnormal => Mat::from_fn(rows, cols, |i, j| g[(i, j)] * (f64::MIN_POSITIVE / 2.0)),
        OpKind::Symmetric | OpKind::Skew => g,
    }
}

/// How `B` relates to `A`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Relation {
    /// An independent operator of the given size and kind.
    Independent(usize, OpKind),
    /// `Q A Q^T`, `Q` random orthogonal (determinant -1 when `flip`).
    Conjugate(bool),
    /// `Q A Q^T * 10^e`.
    ConjugateScaled(bool, i32),
    /// `-A`.
    Negated,
    /// `A^T`.
    Transposed,
}

fn relation() -> impl Strategy<Value = Relation> {
    prop_oneof![
        3 => (prop_oneof![6 => 1usize..=8, 1 => Just(0usize), 1 => 9usize..=24], op_kind()).prop_map(|(n, k)| Relation::Independent(n, k)),
        4 => any::<bool>().prop_map(Relation::Conjugate),
        1 => (any::<bool>(), prop_oneof![Just(150), Just(-150), Just(300), Just(-300)]).prop_map(|(f, e)| Relation::ConjugateScaled(f, e)),
        1 => Just(Relation::Negated),
        1 => Just(Relation::Transposed),
    ]
}

#[derive(Debug, Clone)]
struct PairSpec {
    n: usize,
    /// Extra columns for `A` (non-square when > 0).
    extra_cols: usize,
    kind: OpKind,
    relation: Relation,
    seed: u64,
    specials_a: Vec<(usize, Special)>,
    specials_b: Vec<(usize, Special)>,
}

fn pair_spec() -> impl Strategy<Value = PairSpec> {
    (
        prop_oneof![8 => 1usize..=8, 1 => Just(0usize), 2 => 9usize..=20, 1 => 21usize..=30],
        prop_oneof![12 => Just(0usize), 1 => 1usize..=3],
        op_kind(),
        relation(),
        any::<u64>(),
        specials(2),
        specials(2),
    )
        .prop_map(
            |(n, extra_cols, kind, relation, seed, specials_a, specials_b)| PairSpec {
                n,
                extra_cols,
                kind,
                relation,
                seed,
                specials_a,
                specials_b,
            },
        )
}

fn sprinkle(m: &mut Mat<f64>, specials: &[(usize, Special)]) {
    let (size, nc) = (m.nrows() * m.ncols(), m.ncols());
    if size > 0 {
        for &(k, s) in specials {
            let k = k % size;
            m[(k / nc, k % nc)] = s.value();
        }
    }
}

impl PairSpec {
    fn build(&self) -> (Mat<f64>, Mat<f64>) {
        let mut a = build_op(self.n, self.n + self.extra_cols, self.kind, self.seed);
        let mut rng = rng(self.seed ^ 0xDEAD_BEEF);
        let mut b = match self.relation {
            Relation::Independent(m, k) => build_op(m, m, k, self.seed.wrapping_add(1)),
            _ if self.extra_cols > 0 => {
                build_op(self.n, self.n, OpKind::Normal, self.seed.wrapping_add(2))
            }
            Relation::Conjugate(flip) => conj(&haar_det(&mut rng, self.n, det_sign(flip)), &a),
            Relation::ConjugateScaled(flip, e) => {
                let c = conj(&haar_det(&mut rng, self.n, det_sign(flip)), &a);
                let s = 10f64.powi(e);
                Mat::from_fn(self.n, self.n, |i, j| c[(i, j)] * s)
            }
            Relation::Negated => Mat::from_fn(self.n, self.n, |i, j| -a[(i, j)]),
            Relation::Transposed => a.transpose().to_owned(),
        };
        sprinkle(&mut a, &self.specials_a);
        sprinkle(&mut b, &self.specials_b);
        (a, b)
    }

    /// `B` is an exact (up to rounding) orthogonal conjugate of `A`, so the distance is ~0.
    fn is_conjugate_pair(&self) -> bool {
        matches!(
            self.relation,
            Relation::Conjugate(_) | Relation::ConjugateScaled(..)
        ) && self.extra_cols == 0
            && self.specials_a.is_empty()
            && self.specials_b.is_empty()
            && !matches!(
                self.kind,
                OpKind::Subnormal | OpKind::Zero | OpKind::Scaled(307)
            )
    }
}

impl PairSpec {
    /// Many repeated nearly defective Jordan blocks at n > 20: the objective has deep local
    /// minima at multiples of one value (one, two blocks misaligned; 0.049 and 0.098 in loss at
    /// n = 30), and the default portfolio can end in one (0.22 rad where the answer is 0;
    /// `thorough()` finds 0 on the measured case). `near_defective_conjugates_n24_reach_zero`
    /// is a case that now passes.
    fn known_hard(&self) -> bool {
        self.kind == OpKind::NearJordan && self.n > 20
    }
}

/// The errors `check_operator` + `normalize` may give for one operator.
fn operator_problems(m: &Mat<f64>, zero_is_error: bool) -> Vec<Expect> {
    let mut v = Vec::new();
    if m.nrows() != m.ncols() || m.nrows() == 0 {
        v.push(Expect::Shape);
    }
    if has_non_finite(m) {
        v.push(Expect::NonFinite);
    }
    if zero_is_error && m.nrows() * m.ncols() > 0 && m.norm_max() == 0.0 {
        v.push(Expect::Degenerate);
    }
    v
}

#[derive(Debug, Clone, Copy)]
enum SolverChoice {
    Default,
    CayleyAdam(usize),
    ClosedForm,
    LbfgsShort(usize),
    LbfgsTimed,
}

fn solver_choice() -> impl Strategy<Value = SolverChoice> {
    prop_oneof![
        6 => Just(SolverChoice::Default),
        1 => (0usize..=60).prop_map(SolverChoice::CayleyAdam),
        1 => Just(SolverChoice::ClosedForm),
        1 => (0usize..=5).prop_map(SolverChoice::LbfgsShort),
        1 => Just(SolverChoice::LbfgsTimed),
    ]
}

fn procrustes(choice: SolverChoice) -> Procrustes {
    match choice {
        SolverChoice::Default => Procrustes::default(),
        SolverChoice::CayleyAdam(k) => Procrustes::with_solver(CayleyAdam::default().iters(k)),
        SolverChoice::ClosedForm => Procrustes::with_solver(SymmetricClosedForm),
        SolverChoice::LbfgsShort(k) => {
            Procrustes::with_solver(RiemannianLbfgs::default().max_iters(k).n_random(2))
        }
        SolverChoice::LbfgsTimed => Procrustes::with_solver(
            RiemannianLbfgs::default().time_limit(Some(Duration::from_millis(1))),
        ),
    }
}

fn size_policy() -> impl Strategy<Value = SizeMismatch> {
    prop_oneof![
        Just(SizeMismatch::Error),
        Just(SizeMismatch::ZeroPad),
        Just(SizeMismatch::Spectral)
    ]
}

fn check_pair(
    ps: &PairSpec,
    choice: SolverChoice,
    policy: SizeMismatch,
    tally: &Tally,
) -> TestCaseResult {
    let (a, b) = ps.build();
    let (ar, br) = (a.as_ref(), b.as_ref());
    let mut pa = operator_problems(&a, true);
    pa.extend(operator_problems(&b, true));
    let valid_sq = |m: &Mat<f64>| m.nrows() == m.ncols() && m.nrows() > 0;
    let sizes_differ = valid_sq(&a) && valid_sq(&b) && a.nrows() != b.nrows();
    let mut procrustes_allowed = pa.clone();
    if sizes_differ && policy != SizeMismatch::ZeroPad {
        procrustes_allowed.push(Expect::Size);
    }

    // Procrustes with the chosen solver and size policy
    let p = procrustes(choice).size_mismatch(policy);
    let r = no_panic("Procrustes::compare", || p.compare(ar, br))?;
    let ctx = format!("Procrustes::compare({choice:?}, {policy:?})");
    match r {
        Err(e) => {
            prop_assert!(
                !procrustes_allowed.is_empty(),
                "{ctx} failed on valid operators: {e}"
            );
            check_err(&e, &procrustes_allowed, &ctx)?;
        }
        Ok(cmp) => {
            tally.hit("procrustes ok");
            prop_assert!(
                procrustes_allowed.is_empty(),
                "{ctx}: Ok, expected one of {procrustes_allowed:?}"
            );
            check_comparison(&cmp, a.nrows().max(b.nrows()), &ctx)?;
            prop_assert_eq!(cmp.padded, sizes_differ, "{}", ctx);
            if let SolverChoice::LbfgsShort(k) = choice {
                for s in &cmp.report.starts {
                    prop_assert!(
                        within_iteration_limit(s, k),
                        "{ctx}: start {:?} ran {} iterations, limit {k}",
                        s.start,
                        s.iterations
                    );
                }
            }
            if matches!(choice, SolverChoice::Default) && ps.is_conjugate_pair() && !ps.known_hard()
            {
                prop_assert!(
                    cmp.angular < 1e-6,
                    "{ctx}: conjugate pair at angular distance {:e}",
                    cmp.angular
                );
            }
        }
    }

    // operator_distance, all three scores
    for score in [Score::Angular, Score::Euclidean, Score::Wasserstein] {
        if score != Score::Wasserstein && !matches!(choice, SolverChoice::Default) {
            continue; // the default solver again: covered once per case is enough
        }
        let ctx = format!("operator_distance({score:?})");
        let r = no_panic(&ctx, || operator_distance(ar, br, score))?;
        let mut allowed = if score == Score::Wasserstein {
            let mut v = operator_problems(&a, false);
            v.extend(operator_problems(&b, false));
            v
        } else {
            let mut v = pa.clone();
            if sizes_differ {
                v.push(Expect::Size);
            }
            v
        };
        // spectra of operators with entries near 1e300 can overflow: a clear error
        if score == Score::Wasserstein
            && allowed.is_empty()
            && (a.norm_max() > 1e150 || b.norm_max() > 1e150)
        {
            allowed.extend([Expect::Degenerate, Expect::NoConvergence]);
        }
        match r {
            Err(e) => {
                prop_assert!(!allowed.is_empty(), "{ctx} failed on valid operators: {e}");
                check_err(&e, &allowed, &ctx)?;
            }
            Ok(x) => {
                let hi = match score {
                    Score::Angular => std::f64::consts::PI,
                    Score::Euclidean => 2.0,
                    // the Wasserstein score, and any score added later: unbounded
                    _ => f64::MAX,
                };
                prop_assert!(x.is_finite() && (0.0..=hi).contains(&x), "{ctx}: {x}");
                if score != Score::Wasserstein && ps.is_conjugate_pair() && !ps.known_hard() {
                    prop_assert!(x < 1e-6, "{ctx}: conjugate pair at distance {x:e}");
                }
            }
        }
    }

    // SpectralDistance directly
    let r = no_panic("SpectralDistance::compare", || {
        SpectralDistance.compare(ar, br)
    })?;
    let mut allowed = operator_problems(&a, false);
    allowed.extend(operator_problems(&b, false));
    if allowed.is_empty() && (a.norm_max() > 1e150 || b.norm_max() > 1e150) {
        allowed.extend([Expect::Degenerate, Expect::NoConvergence]);
    }
    match r {
        Err(e) => {
            prop_assert!(
                !allowed.is_empty(),
                "SpectralDistance failed on valid operators: {e}"
            );
            check_err(&e, &allowed, "SpectralDistance")?;
        }
        Ok(s) => {
            tally.hit("spectral ok");
            prop_assert!(
                allowed
                    .iter()
                    .all(|x| matches!(x, Expect::Degenerate | Expect::NoConvergence)),
                "SpectralDistance: Ok, expected one of {allowed:?}"
            );
            check_spectral(&s, a.nrows(), b.nrows(), "SpectralDistance")?;
        }
    }

    // LowerBound::new on the operators as given
    let r = no_panic("LowerBound::new", || LowerBound::new(ar, br))?;
    let mut allowed = Vec::new();
    if a.nrows() != a.ncols() || b.nrows() != b.ncols() || a.nrows() != b.nrows() {
        allowed.push(Expect::Shape);
    }
    if has_non_finite(&a) || has_non_finite(&b) {
        allowed.push(Expect::NonFinite);
    } else if fro(a.as_ref()) + fro(b.as_ref()) >= f64::MAX / 2.0 {
        // the bound (<= ||A|| + ||B||) may reach f64::MAX: a clear error
        allowed.push(Expect::Degenerate);
    }
    match r {
        Err(e) => {
            prop_assert!(
                !allowed.is_empty(),
                "LowerBound::new failed on valid operators: {e}"
            );
            check_err(&e, &allowed, "LowerBound::new")?;
        }
        Ok(lb) => {
            prop_assert!(
                allowed.iter().all(|x| *x == Expect::Degenerate),
                "LowerBound::new: Ok, expected one of {allowed:?}"
            );
            prop_assert!(
                lb.mirsky.is_finite() && lb.sym_skew.is_finite() && lb.hermitian.is_finite(),
                "LowerBound::new: {lb:?}"
            );
            prop_assert!(
                lb.mirsky >= 0.0
                    && lb.sym_skew >= 0.0
                    && lb.hermitian >= 0.0
                    && lb.best() == lb.mirsky.max(lb.sym_skew).max(lb.hermitian)
            );
            // never above the distance at C = I
            let at_identity =
                fro(Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)] - b[(i, j)]).as_ref());
            if at_identity.is_finite() {
                let rounding = 1e-12 * (fro(a.as_ref()) + fro(b.as_ref()));
                prop_assert!(
                    lb.best() <= at_identity * (1.0 + 1e-9) + rounding,
                    "LowerBound above ||A - B||: {lb:?} vs {at_identity}"
                );
            }
        }
    }
    Ok(())
}

/// `Procrustes::compare` (every solver, every size policy), `operator_distance` with all
/// three scores, `SpectralDistance`, `LowerBound::new`.
#[test]
fn comparisons_are_in_range_or_error() {
    let strategy = (pair_spec(), solver_choice(), size_policy());
    let (cases, tally) = run_property(
        "comparisons_are_in_range_or_error",
        200,
        strategy,
        |(ps, choice, policy), tally| check_pair(&ps, choice, policy, tally),
    );
    tally.require("procrustes ok", cases, 0.3);
    tally.require("spectral ok", cases, 0.3);
}

// =============================================================================================
// 5. solvers called directly (on valid input: square, same size, finite, unit norm)

#[derive(Debug, Clone)]
enum SolverSpec {
    Lbfgs {
        max_iters: usize,
        n_random: usize,
        time_limit_us: Option<u64>,
        memory: usize,
        grad_tol: f64,
    },
    Adam {
        iters: usize,
        lr: f64,
        beta1: f64,
        restart: bool,
    },
    ClosedForm,
}

fn solver_spec() -> impl Strategy<Value = SolverSpec> {
    const TOL: &[f64] = &[1e-12, 0.0, 1e-3, f64::NAN, -1.0];
    const LR: &[f64] = &[0.01, 0.1, 1.0, 0.0, -0.01, f64::NAN, f64::INFINITY];
    const BETA: &[f64] = &[0.9, 0.0, 0.999, 1.0, -0.1, f64::NAN];
    prop_oneof![
        3 => (0usize..=8, 0usize..=3, prop::option::weighted(0.3, proptest::sample::select(&[0u64, 1, 100, 1000][..])),
              prop_oneof![6 => 1usize..=8, 1 => Just(0usize)], prop_oneof![4 => Just(1e-12), 1 => float_choice(TOL)])
            .prop_map(|(max_iters, n_random, time_limit_us, memory, grad_tol)| SolverSpec::Lbfgs { max_iters, n_random, time_limit_us, memory, grad_tol }),
        2 => (0usize..=80, prop_oneof![4 => Just(0.01), 1 => float_choice(LR)], prop_oneof![4 => Just(0.9), 1 => float_choice(BETA)], any::<bool>())
            .prop_map(|(iters, lr, beta1, restart)| SolverSpec::Adam { iters, lr, beta1, restart }),
        1 => Just(SolverSpec::ClosedForm),
    ]
}

impl SolverSpec {
    fn solver(&self) -> Box<dyn OrthogonalSolver> {
        match *self {
            SolverSpec::Lbfgs {
                max_iters,
                n_random,
                time_limit_us,
                memory,
                grad_tol,
            } => Box::new(
                RiemannianLbfgs::default()
                    .max_iters(max_iters)
                    .n_random(n_random)
                    .time_limit(time_limit_us.map(Duration::from_micros))
                    .memory(memory)
                    .grad_tol(grad_tol),
            ),
            SolverSpec::Adam {
                iters,
                lr,
                beta1,
                restart,
            } => Box::new(
                CayleyAdam::default()
                    .iters(iters)
                    .lr(lr)
                    .adam(beta1, 0.999, 1e-8)
                    .reflection_restart(restart),
            ),
            SolverSpec::ClosedForm => Box::new(SymmetricClosedForm),
        }
    }

    fn invalid(&self) -> Vec<Expect> {
        let mut v = Vec::new();
        match *self {
            SolverSpec::Lbfgs {
                memory, grad_tol, ..
            } => {
                if memory == 0 {
                    v.push(Expect::Param("memory"));
                }
                if grad_tol.is_nan() || grad_tol < 0.0 {
                    v.push(Expect::Param("grad_tol"));
                }
            }
            SolverSpec::Adam { lr, beta1, .. } => {
                if !(lr > 0.0 && lr.is_finite()) {
                    v.push(Expect::Param("lr"));
                }
                if !(0.0..1.0).contains(&beta1) {
                    v.push(Expect::Param("adam"));
                }
            }
            SolverSpec::ClosedForm => {}
        }
        v
    }
}

/// Each solver's `solve` on valid (normalized) operators: a finite loss, an orthogonal `C`,
/// an honest report, and iteration limits respected.
#[test]
fn solvers_return_orthogonal_c() {
    // n = 0: see `solvers_accept_empty_operators`
    let strategy = (
        prop_oneof![8 => 1usize..=8, 1 => 9usize..=16],
        op_kind(),
        prop_oneof![Just(0u8), Just(1), Just(2)],
        any::<u64>(),
        solver_spec(),
    );
    let (cases, tally) = run_property(
        "solvers_return_orthogonal_c",
        300,
        strategy,
        |(n, kind, rel, seed, spec), tally| check_solver(n, kind, rel, seed, &spec, tally),
    );
    tally.require("solve ok", cases, 0.4);
}

fn check_solver(
    n: usize,
    kind: OpKind,
    rel: u8,
    seed: u64,
    spec: &SolverSpec,
    tally: &Tally,
) -> TestCaseResult {
    {
        let a = build_op(n, n, kind, seed);
        if n > 0 && (a.norm_max() == 0.0 || matches!(kind, OpKind::Subnormal)) {
            return Ok(()); // not a valid solver input (Procrustes rejects zero operators)
        }
        let a = if n > 0 { normalized(&a) } else { a };
        let mut rng = rng(seed ^ 7);
        let b = match rel {
            0 => conj(&haar_det(&mut rng, n, det_sign(seed % 2 == 0)), &a),
            1 if n > 0 => normalized(&randn(&mut rng, n, n)),
            _ => a.transpose().to_owned(),
        };
        let solver = spec.solver();
        let invalid = spec.invalid();
        let start = Instant::now();
        let r = no_panic("OrthogonalSolver::solve", || {
            solver.solve(a.as_ref(), b.as_ref())
        })?;
        let elapsed = start.elapsed();
        let ctx = format!("{spec:?}");
        match r {
            Err(e) => {
                prop_assert!(!invalid.is_empty(), "{ctx}: failed on valid input: {e}");
                check_err(&e, &invalid, &ctx)?;
            }
            Ok(out) => {
                tally.hit("solve ok");
                prop_assert!(invalid.is_empty(), "{ctx}: Ok, expected one of {invalid:?}");
                check_solver_output(&out, a.as_ref(), b.as_ref(), &ctx)?;
                let rep = &out.report;
                match *spec {
                    SolverSpec::Lbfgs {
                        max_iters,
                        time_limit_us,
                        ..
                    } => {
                        for s in &rep.starts {
                            prop_assert!(
                                within_iteration_limit(s, max_iters),
                                "{ctx}: start {:?} ran {} iterations, limit {max_iters}",
                                s.start,
                                s.iterations
                            );
                        }
                        if let Some(us) = time_limit_us {
                            prop_assert!(
                                elapsed < Duration::from_micros(us) + Duration::from_millis(500),
                                "{ctx}: took {elapsed:?}"
                            );
                        }
                        if matches!(
                            rep.termination,
                            Termination::MaxIterations | Termination::TimeLimit
                        ) {
                            prop_assert!(
                                !rep.converged,
                                "{ctx}: stopped by a limit but reports converged"
                            );
                        }
                    }
                    SolverSpec::Adam { iters, restart, .. } => {
                        let runs = if restart && n > 1 { 2 } else { 1 };
                        prop_assert_eq!(rep.iterations, iters * runs, "{}", ctx);
                        prop_assert_eq!(rep.starts.len(), runs, "{}", ctx);
                    }
                    SolverSpec::ClosedForm => {
                        prop_assert_eq!(rep.termination, Termination::ClosedForm);
                        prop_assert_eq!(rep.iterations, 0);
                    }
                }
                if rep.converged {
                    let tol = match *spec {
                        SolverSpec::Lbfgs { grad_tol, .. } => (2.0 * grad_tol).max(1e-6),
                        _ => 1e-6,
                    };
                    prop_assert!(
                        rep.grad_norm <= tol
                            || matches!(rep.termination, Termination::LowerBoundReached),
                        "{ctx}: converged with gradient {:e}",
                        rep.grad_norm
                    );
                }
            }
        }
    }
    Ok(())
}

// =============================================================================================
// 6. numerical cases with a defined answer

/// Rotations by `w_k` rad per step with amplitudes `amp_k`, observed through a fixed
/// non-singular mixing into `2 * w.len()` channels: exact linear dynamics of rank `2 * w.len()`
/// with eigenvalues `exp(+-i w_k)`.
fn rotations(t: usize, w: &[f64], amp: &[f64]) -> Mat<f64> {
    let n = 2 * w.len();
    let mix = {
        let g = randn(&mut rng(11), n, n);
        Mat::from_fn(n, n, |i, j| g[(i, j)] + if i == j { 3.0 } else { 0.0 })
    };
    let s = Mat::from_fn(t, n, |i, j| {
        let (k, c) = (j / 2, j % 2);
        let ph = w[k] * i as f64 + 0.3 * k as f64;
        amp[k] * if c == 0 { ph.cos() } else { ph.sin() }
    });
    mul(s.as_ref(), mix.as_ref())
}

fn rotation_eigenvalues(w: &[f64]) -> Vec<c64> {
    w.iter()
        .flat_map(|&x| [c64::new(x.cos(), x.sin()), c64::new(x.cos(), -x.sin())])
        .collect()
}

/// Largest distance from an expected eigenvalue to the nearest computed one (and equal counts).
fn spectrum_error(got: &[c64], want: &[c64]) -> f64 {
    assert_eq!(
        got.len(),
        want.len(),
        "spectra of different sizes: {got:?} vs {want:?}"
    );
    want.iter()
        .map(|w| {
            got.iter()
                .map(|g| (g - w).norm())
                .fold(f64::INFINITY, f64::min)
        })
        .fold(0.0, f64::max)
}

fn with_column(x: &Mat<f64>, f: impl Fn(usize) -> f64) -> Mat<f64> {
    let n = x.ncols();
    Mat::from_fn(
        x.nrows(),
        n + 1,
        |i, j| if j < n { x[(i, j)] } else { f(i) },
    )
}

#[test]
fn degenerate_channels_give_a_capped_exact_fit() {
    let w = [0.3, 0.71];
    let base = rotations(120, &w, &[1.0, 0.5]);
    let cases: Vec<(&str, Mat<f64>, usize, Vec<c64>)> = vec![
        (
            "independent channels",
            base.clone(),
            4,
            rotation_eigenvalues(&w),
        ),
        (
            "a zero channel",
            with_column(&base, |_| 0.0),
            4,
            rotation_eigenvalues(&w),
        ),
        (
            "a duplicated channel",
            with_column(&base, |i| base[(i, 0)]),
            4,
            rotation_eigenvalues(&w),
        ),
        ("a constant channel", with_column(&base, |_| 2.0), 5, {
            let mut v = rotation_eigenvalues(&w);
            v.push(c64::new(1.0, 0.0));
            v
        }),
    ];
    for (name, x, rank, eig) in &cases {
        let data = Dataset::from_trajectory(x.as_ref()).unwrap();
        for d in [1, 3] {
            for requested in [None, Some(10), Some(*rank)] {
                for rr in [false, true] {
                    let mut p = Dmd::params().n_delays(d).reduced_rank(rr);
                    if let Some(r) = requested {
                        p = p.rank(r);
                    }
                    let ctx = format!("{name}, d = {d}, rank {requested:?}, reduced rank {rr}");
                    let model = p.fit(&data).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                    let info = model.rank_info();
                    let available = (x.nrows() - (d - 1)).min(x.ncols() * d);
                    assert_eq!(info.available, available, "{ctx}");
                    assert_eq!(info.numerical_rank, *rank, "{ctx}: {info:?}");
                    let want = requested.unwrap_or(available);
                    assert_eq!(info.requested, want, "{ctx}");
                    assert_eq!(info.used, want.min(*rank), "{ctx}");
                    assert_eq!(info.capped, want > *rank, "{ctx}");
                    assert!(all_finite(model.operator()), "{ctx}");
                    assert!(
                        spectrum_error(model.eigenvalues(), eig) < 1e-8,
                        "{ctx}: {:?}",
                        model.eigenvalues()
                    );
                    let pred = model.predict(&data, 1).unwrap();
                    let err =
                        fro(
                            Mat::from_fn(x.nrows(), x.ncols(), |i, j| pred[0][(i, j)] - x[(i, j)])
                                .as_ref(),
                        );
                    assert!(
                        err < 1e-8 * fro(x.as_ref()),
                        "{ctx}: forecast error {err:e}"
                    );
                }
            }
        }
    }
}

#[test]
fn zero_and_constant_data() {
    // all zeros: a clear error
    let zero = Mat::<f64>::zeros(50, 3);
    let e = Dmd::params()
        .fit(&Dataset::from_trajectory(zero.as_ref()).unwrap())
        .unwrap_err();
    assert!(
        matches!(e, DsaError::Degenerate { .. }) && e.to_string().contains("all zeros"),
        "{e}"
    );
    // constant: rank 1, x_{t+1} = x_t
    let c = Mat::from_fn(50, 3, |_, j| [3.0, -1.0, 0.5][j]);
    let data = Dataset::from_trajectory(c.as_ref()).unwrap();
    for d in [1, 4] {
        let model = Dmd::params().n_delays(d).rank(5).fit(&data).unwrap();
        assert_eq!(
            (
                model.rank_info().numerical_rank,
                model.rank(),
                model.rank_info().capped
            ),
            (1, 1, true)
        );
        assert!(spectrum_error(model.eigenvalues(), &[c64::new(1.0, 0.0)]) < 1e-12);
        for reseed in [1, 5, usize::MAX] {
            let p = model.predict(&c, reseed).unwrap();
            let err = fro(Mat::from_fn(50, 3, |i, j| p[0][(i, j)] - c[(i, j)]).as_ref());
            assert!(err < 1e-10, "reseed {reseed}: {err:e}");
        }
    }
    // a single time point, a single channel: too short, named
    let one = Mat::from_fn(1, 1, |_, _| 1.0);
    let e = Dmd::params()
        .fit(&Dataset::from_trajectory(one.as_ref()).unwrap())
        .unwrap_err();
    assert!(
        matches!(e, DsaError::TrialTooShort { .. }) && e.to_string().contains("n_delays"),
        "{e}"
    );
}

#[test]
fn fit_is_scale_invariant_near_the_limits_of_f64() {
    let w = [0.2, 0.45, 1.1];
    let x = rotations(200, &w, &[1.0, 0.3, 0.01]);
    let fit = |x: &Mat<f64>, p: &DmdParams| {
        p.fit(&Dataset::from_trajectory(x.as_ref()).unwrap())
            .unwrap()
    };
    let rules = [
        Dmd::params().n_delays(2),
        Dmd::params().n_delays(2).explained_variance(0.9),
        Dmd::params().n_delays(2).explained_variance(0.999),
        Dmd::params().n_delays(2).optimal_hard_threshold(true),
        Dmd::params().n_delays(2).reduced_rank(true),
        Dmd::params().n_delays(2).rank(4).lambda(1e-3),
    ];
    for p in &rules {
        let m0 = fit(&x, p);
        for scale in [
            1.0 + 1e-15,
            3.0,
            1e-300,
            1e-200,
            1e-150,
            1e150,
            1e200,
            1e300,
        ] {
            let xs = Mat::from_fn(x.nrows(), x.ncols(), |i, j| x[(i, j)] * scale);
            let ms = fit(&xs, p);
            let ctx = format!("{p:?} at scale {scale:e}");
            assert_eq!(
                ms.rank_info().used,
                m0.rank_info().used,
                "{ctx}: {:?} vs {:?}",
                ms.rank_info(),
                m0.rank_info()
            );
            assert_eq!(
                ms.rank_info().numerical_rank,
                m0.rank_info().numerical_rank,
                "{ctx}"
            );
            let err = spectrum_error(ms.eigenvalues(), m0.eigenvalues());
            assert!(
                err < 1e-9,
                "{ctx}: {:?} vs {:?}",
                ms.eigenvalues(),
                m0.eigenvalues()
            );
            for (a, b) in ms.singular_values().iter().zip(m0.singular_values()) {
                assert!(
                    (a / scale - b).abs() <= 1e-9 * m0.singular_values()[0],
                    "{ctx}: {a:e} vs {b:e}"
                );
            }
            let pred = ms.predict(&xs, 1).unwrap();
            assert!(all_finite(pred[0].as_ref()), "{ctx}");
        }
    }
}

#[test]
fn reference_rank_deficient_fixtures_fit_correctly() {
    // T = 30, N = 10, n_delays = 5: H is 26 x 50, rank = 30 > 26. The reference crashed
    // (RuntimeError, tensor sizes 26 and 30); we cap the rank and record it.
    let x = read_dataset("rank_deficient", "X.npy");
    let y = read_dataset("rank_deficient", "Y.npy");
    let p = Dmd::params().n_delays(5).rank(30);
    let mx = p.fit(&x).unwrap();
    let my = p.fit(&y).unwrap();
    for (m, data) in [(&mx, &x), (&my, &y)] {
        let info = m.rank_info();
        assert_eq!((info.requested, info.available), (30, 26));
        assert!(
            info.capped && info.used == info.numerical_rank.min(26) && info.used >= 20,
            "{info:?}"
        );
        check_least_squares(m, data);
        assert!(m
            .predict(data, 1)
            .unwrap()
            .iter()
            .all(|y| all_finite(y.as_ref())));
    }
    let cmp = Procrustes::default()
        .compare(mx.operator(), my.operator())
        .unwrap();
    check_comparison_plain(&cmp, mx.rank());
    // 2 trials x T = 20, N = 10, n_delays = 5: 32 rows < 50 columns, rank 10. The reference
    // raised "The dimension of the SVD of the Hankel matrix is smaller than ..."; the fit is
    // well-defined: no cap, ordinary least squares on the rows of both trials.
    let x = read_dataset("rank_deficient_trials", "X.npy");
    let m = Dmd::params().n_delays(5).rank(10).fit(&x).unwrap();
    let info = m.rank_info();
    assert_eq!(
        (info.requested, info.used, info.available, info.capped),
        (10, 10, 32, false)
    );
    assert_eq!(m.trial_rows(), &[16, 16]);
    check_least_squares(&m, &x);
}

/// The operator is the minimum-norm least-squares solution of `V+ ~ V- A^T` on the model's own
/// coordinates, rows paired within trials only.
fn check_least_squares(m: &DmdModel, data: &Dataset) {
    let v = m.v();
    let r = m.rank();
    let s = m.params().steps_ahead();
    let (mut minus, mut plus) = (Vec::new(), Vec::new());
    let mut r0 = 0;
    for &tk in m.trial_rows() {
        for t in 0..tk - s {
            minus.push(r0 + t);
            plus.push(r0 + t + s);
        }
        r0 += tk;
    }
    let vm = nalgebra::DMatrix::from_fn(minus.len(), r, |i, j| v[(minus[i], j)]);
    let vp = nalgebra::DMatrix::from_fn(plus.len(), r, |i, j| v[(plus[i], j)]);
    let pinv = vm.clone().pseudo_inverse(1e-12).unwrap();
    let at = &pinv * &vp;
    let a = m.operator();
    let err = (0..r)
        .flat_map(|i| (0..r).map(move |j| (i, j)))
        .map(|(i, j)| (a[(i, j)] - at[(j, i)]).abs())
        .fold(0.0, f64::max);
    let size = at.abs().max();
    assert!(
        err <= 1e-7 * size.max(1.0),
        "operator differs from the least-squares solution by {err:e} (size {size:e})"
    );
    assert_eq!(m.n_channels(), data.n_channels());
}

fn check_comparison_plain(cmp: &Comparison, n: usize) {
    if let Err(e) = check_comparison(cmp, n, "comparison") {
        panic!("{e}");
    }
}

fn near_conjugate_pair(n: usize, seed: u64, noise: f64) -> (Mat<f64>, Mat<f64>) {
    let mut rng = rng(seed);
    let a = randn(&mut rng, n, n);
    let q = haar_det(&mut rng, n, det_sign(seed % 2 == 1));
    let e = randn(&mut rng, n, n);
    let b = conj(&q, &a);
    (a, Mat::from_fn(n, n, |i, j| b[(i, j)] + noise * e[(i, j)]))
}

#[test]
fn zero_operators_are_an_error_except_for_the_spectral_score() {
    let (a, _) = near_conjugate_pair(4, 1, 0.0);
    let z = Mat::<f64>::zeros(4, 4);
    for (x, y, name) in [
        (&z, &a, "operator A is zero"),
        (&a, &z, "operator B is zero"),
    ] {
        let e = Procrustes::default()
            .compare(x.as_ref(), y.as_ref())
            .unwrap_err();
        assert!(
            matches!(e, DsaError::Degenerate { .. }) && e.to_string().contains(name),
            "{e}"
        );
        for score in [Score::Angular, Score::Euclidean] {
            let e = operator_distance(x.as_ref(), y.as_ref(), score).unwrap_err();
            assert!(e.to_string().contains(name), "{e}");
        }
        // the spectral score is defined: the eigenvalues are matched with zeros
        let w = operator_distance(x.as_ref(), y.as_ref(), Score::Wasserstein).unwrap();
        let want = a
            .eigenvalues()
            .unwrap()
            .iter()
            .map(|l| l.norm_sqr())
            .sum::<f64>()
            / 4.0;
        assert!((w - want).abs() <= 1e-12 * want, "{w} vs {want}");
    }
    // LowerBound of two zero operators: 0
    let lb = LowerBound::new(z.as_ref(), z.as_ref()).unwrap();
    assert_eq!((lb.mirsky, lb.sym_skew), (0.0, 0.0));
}

#[test]
fn comparisons_are_scale_invariant_at_huge_and_tiny_norms() {
    let (a, b) = near_conjugate_pair(6, 3, 1e-3);
    let base = Procrustes::default()
        .compare(a.as_ref(), b.as_ref())
        .unwrap();
    let lb0 = LowerBound::new(a.as_ref(), b.as_ref()).unwrap();
    let w0 = SpectralDistance.compare(a.as_ref(), b.as_ref()).unwrap();
    assert!(
        base.angular > 1e-4 && base.angular < 1e-1,
        "{}",
        base.angular
    );
    let scales = [
        1e150,
        1e-150,
        1e300,
        1e-300,
        f64::MIN_POSITIVE / 2.0 * 1e10,
        f64::MIN_POSITIVE,
    ];
    for sa in scales {
        for sb in [1.0, sa, 1.0 / 1024.0] {
            let (xa, xb) = (
                Mat::from_fn(6, 6, |i, j| a[(i, j)] * sa),
                Mat::from_fn(6, 6, |i, j| b[(i, j)] * sb),
            );
            let cmp = Procrustes::default()
                .compare(xa.as_ref(), xb.as_ref())
                .unwrap();
            assert!(
                (cmp.angular - base.angular).abs() < 1e-10,
                "scales {sa:e}, {sb:e}: {} vs {}",
                cmp.angular,
                base.angular
            );
            assert!((cmp.euclidean - base.euclidean).abs() < 1e-10);
            for score in [Score::Angular, Score::Euclidean] {
                let d = operator_distance(xa.as_ref(), xb.as_ref(), score).unwrap();
                assert!(
                    (d - base.score(score).unwrap()).abs() < 1e-10,
                    "{score:?} at {sa:e}, {sb:e}"
                );
            }
        }
        // bounds scale with the operators
        let (xa, xb) = (
            Mat::from_fn(6, 6, |i, j| a[(i, j)] * sa),
            Mat::from_fn(6, 6, |i, j| b[(i, j)] * sa),
        );
        let lb = LowerBound::new(xa.as_ref(), xb.as_ref()).unwrap();
        assert!(
            (lb.best() / sa - lb0.best()).abs() <= 1e-10 * lb0.best(),
            "{sa:e}: {lb:?} vs {lb0:?}"
        );
        // W2 scales with the operators; W2^2 with the square, and overflows beyond ~1e154
        match SpectralDistance.compare(xa.as_ref(), xb.as_ref()) {
            Ok(w) => {
                assert!(
                    (w.w2 / sa - w0.w2).abs() <= 1e-10 * w0.w2,
                    "{sa:e}: {} vs {}",
                    w.w2,
                    w0.w2
                );
                assert!(w.w2_squared.is_finite());
            }
            Err(e) => {
                assert!(
                    sa > 1e154 && e.to_string().contains("overflows"),
                    "{sa:e}: {e}"
                );
            }
        }
    }
}

/// Nearly defective operators: Jordan blocks of sizes 3 and 2 (eigenvalues 0.9 and -0.5,
/// each repeated), closed by a 1e-8 entry; and a single repeated eigenvalue 0.5 with a random
/// strictly upper triangle.
#[test]
fn near_defective_and_repeated_eigenvalues() {
    for kind in [OpKind::NearJordan, OpKind::Repeated] {
        for n in [2usize, 3, 5, 8, 12, 16] {
            for seed in 0..2u64 {
                let a = build_op(n, n, kind, seed);
                let mut rng = rng(seed ^ 0xDEAD_BEEF);
                let b = conj(&haar_det(&mut rng, n, det_sign(seed % 2 == 1)), &a);
                let ctx = format!("{kind:?}, n = {n}, seed {seed}");
                let best = Procrustes::default()
                    .compare(a.as_ref(), b.as_ref())
                    .unwrap();
                check_comparison_plain(&best, n);
                assert!(
                    best.angular < 1e-6,
                    "{ctx}: default solver at {:e}",
                    best.angular
                );
                // the paper's solver: a valid, certified answer, never better than the optimum
                let adam = Procrustes::with_solver(CayleyAdam::default())
                    .compare(a.as_ref(), b.as_ref())
                    .unwrap();
                check_comparison_plain(&adam, n);
                assert!(adam.euclidean >= best.euclidean - 1e-9, "{ctx}");
                // spectra: exact up to the conditioning of the eigenvalues (eps^(1/k) for a
                // block of size k)
                let w = SpectralDistance.compare(a.as_ref(), b.as_ref()).unwrap();
                let tol = if kind == OpKind::NearJordan {
                    1e-8
                } else {
                    0.1
                };
                assert!(w.w2 < tol, "{ctx}: w2 {:e}", w.w2);
            }
        }
    }
}

/// Phase 1 (the spectral start) runs beside the rest of the portfolio; when it reaches the
/// certified optimum (here after 10 to 37 iterations: nearly defective conjugate pairs, where
/// no start is exact before iterating), the other runs stop and are set aside. The answer and
/// the report are phase 1's alone, to the last bit, on 1, 2 or 4 threads and from run to run,
/// however far the other runs got. Checked on the operators as given (`canonical(false)`); in
/// the canonical bases, where these pairs' nearly repeated eigenvalues of the symmetric parts
/// leave the bases to rounding (a tie) and another start may certify first, the certified
/// answer and its report are the same bits on every thread count too.
#[test]
fn a_certified_spectral_run_ends_the_solve_whatever_the_timing() {
    for canonical in [false, true] {
        for (n, seed) in [(8usize, 1u64), (12, 0), (24, 1)] {
            let a = build_op(n, n, OpKind::NearJordan, seed);
            let mut rng = rng(seed ^ 0xDEAD_BEEF);
            let b = conj(&haar_det(&mut rng, n, det_sign(seed % 2 == 1)), &a);
            let solve = || {
                Procrustes::with_solver(RiemannianLbfgs::default().canonical(canonical))
                    .compare(a.as_ref(), b.as_ref())
                    .unwrap()
            };
            let pool = |k: usize| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(k)
                    .build()
                    .unwrap()
            };
            let first = pool(1).install(solve);
            let ctx = format!("n = {n}, seed {seed}, canonical {canonical}");
            if !canonical {
                assert_eq!(first.report.best_start, dsa::Start::Spectral, "{ctx}");
                assert_eq!(first.report.starts.len(), 1, "{ctx}");
                assert!(first.report.iterations > 0, "{ctx}: phase 0 ended it");
            }
            assert_eq!(
                first.report.termination,
                Termination::LowerBoundReached,
                "{ctx}"
            );
            assert!(first.angular < 1e-10, "{ctx}: {:e}", first.angular);
            for threads in [2, 4, 2, 4] {
                let again = pool(threads).install(solve);
                assert_eq!(
                    again.euclidean.to_bits(),
                    first.euclidean.to_bits(),
                    "{ctx}"
                );
                assert_eq!(again.report, first.report, "{ctx}");
                for j in 0..n {
                    for i in 0..n {
                        assert_eq!(
                            again.c[(i, j)].to_bits(),
                            first.c[(i, j)].to_bits(),
                            "{ctx}"
                        );
                    }
                }
            }
        }
    }
}

/// Many repeated nearly defective blocks: the unpreconditioned solver stopped at 0.25 rad here
/// (where the answer is 0); the Gauss–Newton preconditioned one reaches the optimum.
#[test]
fn near_defective_conjugates_n24_reach_zero() {
    let a = build_op(24, 24, OpKind::NearJordan, 21);
    let mut rng = rng(21 ^ 0xDEAD_BEEF);
    let b = conj(&haar_det(&mut rng, 24, det_sign(true)), &a);
    let cmp = Procrustes::default()
        .compare(a.as_ref(), b.as_ref())
        .unwrap();
    assert!(
        cmp.angular < 1e-6,
        "angular {:e}, lower bound {:e}",
        cmp.angular,
        cmp.lower_bound.best()
    );
}

// =============================================================================================
// 7. solver safety: limits, honest reports

fn hard_pair(n: usize) -> (Mat<f64>, Mat<f64>) {
    let mut rng = rng(99);
    (
        normalized(&randn(&mut rng, n, n)),
        normalized(&randn(&mut rng, n, n)),
    )
}

#[test]
fn lbfgs_max_iters_bounds_the_first_start_and_says_not_converged() {
    let (a, b) = hard_pair(10);
    for k in [0usize, 1, 2, 5] {
        let out = RiemannianLbfgs::default()
            .max_iters(k)
            .solve(a.as_ref(), b.as_ref())
            .unwrap();
        let rep = &out.report;
        assert!(
            rep.starts[0].iterations <= k,
            "max_iters({k}): {:?}",
            rep.starts[0]
        );
        assert!(
            !rep.converged,
            "max_iters({k}) on an unrelated pair cannot converge: {rep:?}"
        );
        assert!(matches!(
            rep.termination,
            Termination::MaxIterations | Termination::Stagnated
        ));
        assert!(orthogonality_error(out.c.as_ref()) < 1e-8);
    }
}

#[test]
fn lbfgs_iterations_per_start_within_max_iters() {
    let (a, b) = hard_pair(10);
    for k in [0usize, 1, 5, 50] {
        let out = RiemannianLbfgs::default()
            .max_iters(k)
            .solve(a.as_ref(), b.as_ref())
            .unwrap();
        for s in &out.report.starts {
            assert!(
                within_iteration_limit(s, k),
                "max_iters({k}): start {:?} ran {} iterations",
                s.start,
                s.iterations
            );
        }
    }
}

#[test]
fn lbfgs_time_limit_returns_quickly_and_says_so() {
    let (a, b) = hard_pair(30);
    for ms in [0u64, 1, 5] {
        let start = Instant::now();
        let out = RiemannianLbfgs::default()
            .time_limit(Some(Duration::from_millis(ms)))
            .solve(a.as_ref(), b.as_ref())
            .unwrap();
        let took = start.elapsed();
        assert!(
            took < Duration::from_millis(ms + 1000),
            "time_limit({ms} ms) took {took:?}"
        );
        let rep = &out.report;
        assert!(
            rep.termination == Termination::TimeLimit || rep.converged,
            "{rep:?}"
        );
        if rep.termination == Termination::TimeLimit {
            assert!(!rep.converged);
        }
        assert!(orthogonality_error(out.c.as_ref()) < 1e-8 && out.loss.is_finite());
    }
}

#[test]
fn stopped_solvers_do_not_claim_convergence() {
    let (a, b) = hard_pair(8);
    let adam = CayleyAdam::default()
        .iters(3)
        .solve(a.as_ref(), b.as_ref())
        .unwrap();
    assert!(
        !adam.report.converged && adam.report.termination == Termination::MaxIterations,
        "{:?}",
        adam.report
    );
    assert!(adam.report.grad_norm > 1e-8);
    let closed = SymmetricClosedForm.solve(a.as_ref(), b.as_ref()).unwrap();
    assert!(
        !closed.report.converged,
        "closed form on non-symmetric operators: {:?}",
        closed.report
    );
    let lbfgs = RiemannianLbfgs::default()
        .max_iters(1)
        .n_random(0)
        .solve(a.as_ref(), b.as_ref())
        .unwrap();
    assert!(!lbfgs.report.converged, "{:?}", lbfgs.report);
    // and a converged run says so, with a small gradient
    let full = RiemannianLbfgs::default()
        .solve(a.as_ref(), b.as_ref())
        .unwrap();
    assert!(
        full.report.converged && full.report.grad_norm < 1e-6,
        "{:?}",
        full.report
    );
}

#[test]
fn solvers_accept_empty_operators() {
    let z = Mat::<f64>::zeros(0, 0);
    for solver in [
        Box::new(CayleyAdam::default()) as Box<dyn OrthogonalSolver>,
        Box::new(SymmetricClosedForm),
    ] {
        let out = solver.solve(z.as_ref(), z.as_ref()).unwrap();
        assert_eq!((out.c.nrows(), out.loss), (0, 0.0), "{}", solver.name());
    }
}

/// TODO(solver): `RiemannianLbfgs::solve` on 0 x 0 operators panics (index out of bounds in
/// the new signed-diagonal starts, src/solver/starts.rs).
#[test]
fn lbfgs_accepts_empty_operators() {
    let z = Mat::<f64>::zeros(0, 0);
    let out = RiemannianLbfgs::default()
        .solve(z.as_ref(), z.as_ref())
        .unwrap();
    assert_eq!(out.c.nrows(), 0);
}

/// `OrthogonalSolver::solve` is public, so every solver validates its input: operators of
/// different sizes, non-square or non-finite ones are errors, and a loss that overflows
/// (unnormalized 1e300 operators) is an error rather than an infinite `Ok`.
#[test]
fn solvers_validate_their_input() {
    let a3 = normalized(&randn(&mut rng(1), 3, 3));
    let a2 = normalized(&randn(&mut rng(2), 2, 2));
    let r23 = randn(&mut rng(3), 2, 3);
    let mut nan = a3.clone();
    nan[(0, 0)] = f64::NAN;
    let big = Mat::from_fn(3, 3, |i, j| a3[(i, j)] * 1e300);
    let solvers: Vec<Box<dyn OrthogonalSolver>> = vec![
        Box::new(RiemannianLbfgs::default()),
        Box::new(CayleyAdam::default().iters(10)),
        Box::new(SymmetricClosedForm),
    ];
    for s in &solvers {
        for (name, a, b) in [
            ("sizes", &a3, &a2),
            ("non-square", &r23, &r23),
            ("nan", &nan, &a3),
            ("huge", &big, &big),
        ] {
            let r = catch_unwind(AssertUnwindSafe(|| s.solve(a.as_ref(), b.as_ref())));
            match r {
                Err(p) => panic!(
                    "{} on {name} input panicked: {}",
                    s.name(),
                    panic_message(&*p)
                ),
                Ok(Ok(out)) => assert!(
                    out.loss.is_finite() && out.loss <= 4.0 + 1e-9,
                    "{} on {name}: loss {}",
                    s.name(),
                    out.loss
                ),
                Ok(Err(e)) => assert!(!e.to_string().is_empty()),
            }
        }
    }
}

// =============================================================================================
// 8. thread safety and global state

#[test]
fn public_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Dataset>();
    send_sync::<Embedded>();
    send_sync::<DelayEmbedding>();
    send_sync::<DmdModel>();
    send_sync::<DmdParams>();
    send_sync::<DmdValidParams>();
    send_sync::<dsa::RankInfo>();
    send_sync::<Procrustes>();
    send_sync::<Comparison>();
    send_sync::<SpectralComparison>();
    send_sync::<SpectralDistance>();
    send_sync::<LowerBound>();
    send_sync::<RiemannianLbfgs>();
    send_sync::<CayleyAdam>();
    send_sync::<SymmetricClosedForm>();
    send_sync::<SolverOutput>();
    send_sync::<SolverReport>();
    send_sync::<dsa::PreparedOperator>();
    send_sync::<Box<dyn OrthogonalSolver>>();
    send_sync::<DsaError>();
    send_sync::<dsa::Dsa>();
    send_sync::<dsa::DsaBuilder>();
    send_sync::<dsa::DsaReport>();
}

/// No global mutable state in the library: results depend only on the inputs and the seed.
#[test]
fn no_global_mutable_state_in_src() {
    fn visit(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                visit(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    visit(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(!files.is_empty());
    // mutable statics, thread-locals, lazily initialized statics; and any `static` of a type
    // with interior mutability (`OnceLock` as a struct field, a per-value cache, is fine)
    let banned = ["static mut", "thread_local!", "lazy_static!", "once_cell::"];
    let interior = ["Cell", "Lock", "Mutex", "Atomic", "Lazy", "Once"];
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("").trim();
            for b in banned {
                assert!(
                    !code.contains(b),
                    "{}:{}: `{b}` (global mutable state): {line}",
                    f.display(),
                    i + 1
                );
            }
            let item = code
                .trim_start_matches("pub(crate) ")
                .trim_start_matches("pub ");
            if item.starts_with("static ") {
                for t in interior {
                    assert!(
                        !item.contains(t),
                        "{}:{}: a static with interior mutability: {line}",
                        f.display(),
                        i + 1
                    );
                }
            }
        }
    }
}

// =============================================================================================
// 9. the whole pipeline: dsa::distance, Dsa::builder()...build(), distance, pairwise,
//    bipartite, one_to_many

#[derive(Debug, Clone)]
struct DsaSpec {
    n_delays: Option<usize>,
    rank: Option<usize>,
    lambda: f64,
    steps_ahead: usize,
    score: Score,
    policy: SizeMismatch,
    threads: Option<usize>,
    /// A per-dataset rank list of this length (instead of `rank`).
    rank_list: Option<usize>,
}

fn dsa_spec() -> impl Strategy<Value = DsaSpec> {
    (
        prop_oneof![2 => Just(None), 16 => (1usize..=4).prop_map(Some), 1 => Just(Some(0usize)), 1 => Just(Some(usize::MAX))],
        prop_oneof![4 => Just(None), 16 => (1usize..=8).prop_map(Some), 1 => Just(Some(0usize)), 2 => (9usize..=100).prop_map(Some)],
        prop_oneof![16 => Just(0.0), 2 => Just(1e-3), 1 => Just(-1.0), 1 => Just(f64::NAN)],
        prop_oneof![16 => Just(1usize), 1 => Just(0usize), 2 => 2usize..=5],
        prop_oneof![Just(Score::Angular), Just(Score::Euclidean), Just(Score::Wasserstein)],
        size_policy(),
        prop_oneof![12 => Just(None), 4 => Just(Some(1usize)), 4 => Just(Some(2usize)), 1 => Just(Some(0usize))],
        prop::option::weighted(0.08, 0usize..=5),
    )
        .prop_map(|(n_delays, rank, lambda, steps_ahead, score, policy, threads, rank_list)| DsaSpec {
            n_delays,
            rank,
            lambda,
            steps_ahead,
            score,
            policy,
            threads,
            rank_list,
        })
}

impl DsaSpec {
    fn build(&self) -> dsa::Result<dsa::Dsa> {
        let mut b = dsa::Dsa::builder()
            .lambda(self.lambda)
            .steps_ahead(self.steps_ahead)
            .score(self.score)
            .size_mismatch(self.policy)
            .threads(self.threads);
        if let Some(d) = self.n_delays {
            b = b.n_delays(d);
        }
        match (self.rank_list, self.rank) {
            (Some(len), _) => b = b.rank_per_dataset((1..=len).collect::<Vec<_>>()),
            (None, Some(r)) => b = b.rank(r),
            (None, None) => {}
        }
        b.build()
    }

    fn invalid(&self) -> Vec<Expect> {
        let mut v = Vec::new();
        if self.n_delays == Some(0) {
            v.push(Expect::Param("n_delays"));
        }
        if self.rank_list.is_none() && self.rank == Some(0) || self.rank_list == Some(0) {
            v.push(Expect::Param("rank"));
        }
        if !(self.lambda >= 0.0 && self.lambda.is_finite()) {
            v.push(Expect::Param("lambda"));
        }
        if self.steps_ahead == 0 {
            v.push(Expect::Param("steps_ahead"));
        }
        if self.threads == Some(0) {
            v.push(Expect::Param("threads"));
        }
        v
    }

    fn range(&self) -> f64 {
        if self.policy == SizeMismatch::Spectral {
            return f64::MAX; // pairs of different sizes report W2^2
        }
        match self.score {
            Score::Angular => std::f64::consts::PI,
            Score::Euclidean => 2.0,
            // the Wasserstein score, and any score added later: unbounded
            _ => f64::MAX,
        }
    }
}

/// Every error a call on these datasets may give (besides invalid settings).
fn pipeline_errors(spec: &DsaSpec, datasets: &[Vec<Mat<f64>>]) -> Vec<Expect> {
    let mut v = vec![Expect::TooShort, Expect::Degenerate];
    for d in datasets {
        v.extend(data_expect(d));
    }
    if spec.policy == SizeMismatch::Error && spec.score != Score::Wasserstein {
        v.push(Expect::Size);
    }
    if spec.rank_list.is_some() {
        v.push(Expect::Param("rank")); // a list of the wrong length for the call
    }
    if datasets.is_empty() {
        v.push(Expect::Empty);
    }
    v
}

fn check_dsa(
    specs: &[Vec<MatSpec>],
    spec: &DsaSpec,
    default_too: bool,
    tally: &Tally,
) -> TestCaseResult {
    let invalid = spec.invalid();
    let dsa = match no_panic("DsaBuilder::build", || spec.build())? {
        Ok(d) => {
            tally.hit("build ok");
            prop_assert!(
                invalid.is_empty(),
                "build accepted invalid settings {invalid:?}"
            );
            d
        }
        Err(e) => {
            prop_assert!(!invalid.is_empty(), "build rejected valid settings: {e}");
            return check_err(&e, &invalid, "DsaBuilder::build");
        }
    };
    let datasets: Vec<Vec<Mat<f64>>> = specs
        .iter()
        .map(|t| t.iter().map(MatSpec::build).collect())
        .collect();
    let allowed = pipeline_errors(spec, &datasets);
    let hi = spec.range();
    let in_range = |x: f64| x.is_finite() && (0.0..=hi).contains(&x);

    // pairwise
    let r = no_panic("Dsa::pairwise", || dsa.pairwise(&datasets))?;
    match r {
        Err(e) => {
            tally.hit(match &e {
                DsaError::InvalidParameter { .. } => "pairwise err param",
                DsaError::SizeMismatch { .. } => "pairwise err size",
                DsaError::TrialTooShort { .. } => "pairwise err short",
                DsaError::Degenerate { .. } => "pairwise err degenerate",
                _ => "pairwise err data",
            });
            check_err(&e, &allowed, "Dsa::pairwise")?
        }
        Ok(d) => {
            tally.hit("pairwise ok");
            let m = datasets.len();
            prop_assert_eq!((d.nrows(), d.ncols()), (m, m));
            for i in 0..m {
                prop_assert!(d[(i, i)] == 0.0, "pairwise: diagonal {}", d[(i, i)]);
                for j in 0..m {
                    prop_assert!(
                        in_range(d[(i, j)]) && d[(i, j)] == d[(j, i)],
                        "pairwise ({i}, {j}): {} / {}",
                        d[(i, j)],
                        d[(j, i)]
                    );
                }
            }
            if m >= 2 && spec.rank_list.is_none() {
                // entry (0, 1) is the pair's distance, bitwise
                let one = no_panic("Dsa::distance", || dsa.distance(&datasets[0], &datasets[1]))?;
                let one = one.map_err(|e| {
                    TestCaseError::fail(format!("distance failed where pairwise succeeded: {e}"))
                })?;
                prop_assert!(one == d[(0, 1)], "distance {one} != pairwise {}", d[(0, 1)]);
            }
        }
    }
    // bipartite and one_to_many: the first dataset against the others
    if let Some((x, ys)) = datasets.split_first() {
        let r = no_panic("Dsa::bipartite", || {
            dsa.bipartite(std::slice::from_ref(x), ys)
        })?;
        match r {
            Err(e) => check_err(&e, &allowed, "Dsa::bipartite")?,
            Ok(d) => {
                tally.hit("bipartite ok");
                prop_assert_eq!((d.nrows(), d.ncols()), (1, ys.len()));
                prop_assert!(
                    (0..ys.len()).all(|k| in_range(d[(0, k)])),
                    "bipartite out of range"
                );
            }
        }
        let r = no_panic("Dsa::one_to_many", || dsa.one_to_many(x, ys))?;
        match r {
            Err(e) => check_err(&e, &allowed, "Dsa::one_to_many")?,
            Ok(v) => {
                prop_assert_eq!(v.len(), ys.len());
                prop_assert!(
                    v.iter().all(|&x| in_range(x)),
                    "one_to_many out of range {v:?}"
                );
            }
        }
        let r = no_panic("Dsa::fit", || dsa.fit(x))?;
        match r {
            Err(e) => check_err(&e, &allowed, "Dsa::fit")?,
            Ok(m) => {
                prop_assert!(all_finite(m.operator()));
            }
        }
    }
    // dsa::distance with the defaults, on the first two datasets
    if default_too && datasets.len() >= 2 {
        let r = no_panic("dsa::distance", || {
            dsa::distance(&datasets[0], &datasets[1])
        })?;
        let mut allowed = pipeline_errors(
            &DsaSpec {
                score: Score::Angular,
                policy: SizeMismatch::Error,
                rank_list: None,
                ..spec.clone()
            },
            &datasets[..2],
        );
        allowed.push(Expect::Size);
        match r {
            Err(e) => check_err(&e, &allowed, "dsa::distance")?,
            Ok(x) => {
                tally.hit("distance ok");
                prop_assert!(
                    x.is_finite() && (0.0..=std::f64::consts::PI).contains(&x),
                    "dsa::distance {x}"
                );
            }
        }
    }
    Ok(())
}

/// A list of datasets: mostly valid, short and few-channel so that the pipeline stays fast.
fn dataset_list() -> impl Strategy<Value = Vec<Vec<MatSpec>>> {
    let one = (
        1usize..=2,
        prop_oneof![1 => 0usize..=4, 6 => 5usize..=60],
        prop_oneof![24 => 1usize..=3, 1 => Just(0usize), 2 => 4usize..=6],
        kind(),
        any::<u64>(),
        prop_oneof![12 => Just(Vec::new()), 1 => specials(2)],
    )
        .prop_map(|(k, rows, cols, kind, seed, sp)| {
            (0..k)
                .map(|i| MatSpec {
                    rows: rows + 3 * i,
                    cols,
                    kind,
                    seed: seed.wrapping_add(i as u64),
                    specials: if i == 0 { sp.clone() } else { Vec::new() },
                })
                .collect::<Vec<_>>()
        });
    prop_oneof![1 => Just(Vec::new()), 12 => proptest::collection::vec(one, 1..=4)]
}

/// `Dsa::builder()...build()`, `pairwise`, `bipartite`, `one_to_many`, `fit`, `distance`
/// and `dsa::distance`.
#[test]
fn pipeline_is_in_range_or_errors() {
    let strategy = (dataset_list(), dsa_spec(), prop::bool::weighted(0.15));
    let (cases, tally) = run_property(
        "pipeline_is_in_range_or_errors",
        150,
        strategy,
        |(specs, spec, default_too), tally| check_dsa(&specs, &spec, default_too, tally),
    );
    tally.require("pairwise ok", cases, 0.1);
    tally.require("bipartite ok", cases, 0.1);
}

/// Prints the table of `docs/robustness.md` (what each bad input gets):
/// `cargo test --test main print_error_table -- --ignored --nocapture`.
#[test]
#[ignore = "prints the table of docs/robustness.md"]
fn print_error_table() {
    fn show<T: std::fmt::Debug>(what: &str, r: dsa::Result<T>) {
        match r {
            Ok(v) => {
                let s = format!("{v:?}");
                eprintln!("| {what} | Ok: {} |", &s[..s.len().min(160)]);
            }
            Err(e) => eprintln!("| {what} | `{e}` |"),
        }
    }
    let x = rotations(60, &[0.3, 0.7], &[1.0, 0.5]);
    let data = Dataset::from_trajectory(x.as_ref()).unwrap();
    let mut nan = x.clone();
    nan[(2, 0)] = f64::NAN;
    let mut inf = x.clone();
    inf[(2, 0)] = f64::INFINITY;
    show("from_trials(vec![])", Dataset::from_trials(vec![]));
    show(
        "trial with 0 rows",
        Dataset::from_trials(vec![Mat::<f64>::zeros(0, 3)]),
    );
    show(
        "trial with 0 columns",
        Dataset::from_trials(vec![Mat::<f64>::zeros(5, 0)]),
    );
    show(
        "channel counts differ",
        Dataset::from_trials(vec![Mat::<f64>::zeros(5, 3), Mat::<f64>::zeros(5, 2)]),
    );
    show(
        "NaN in trial 1",
        Dataset::from_trials(vec![x.clone(), nan.clone()]),
    );
    show("+inf", Dataset::from_trajectory(inf.as_ref()));
    show(
        "vec![x, nan].to_dataset()",
        vec![x.clone(), nan.clone()].to_dataset(),
    );
    show(
        "from_row_major 10 values for 2x3x4",
        Dataset::from_row_major(&[0.0; 10], [2, 3, 4]),
    );
    show(
        "from_row_major [usize::MAX, 2, 2]",
        Dataset::from_row_major(&[0.0; 4], [usize::MAX, 2, 2]),
    );
    show("DelayEmbedding::new(0, 1)", DelayEmbedding::new(0, 1));
    show("DelayEmbedding::new(3, 0)", DelayEmbedding::new(3, 0));
    let short =
        Dataset::from_trajectory(Mat::from_fn(5, 2, |i, j| (i + j) as f64).as_ref()).unwrap();
    show(
        "embed T=5 with d=10",
        DelayEmbedding::new(10, 1)
            .unwrap()
            .embed(&short)
            .map(|h| h.nrows()),
    );
    show(
        "with_steps_ahead(usize::MAX)",
        DelayEmbedding::new(1, 1)
            .unwrap()
            .with_steps_ahead(usize::MAX)
            .embed(&short)
            .map(|h| h.nrows()),
    );
    show(
        "n_delays usize::MAX",
        DelayEmbedding::new(usize::MAX, 1)
            .unwrap()
            .embed(&short)
            .map(|h| h.nrows()),
    );
    let fit = |p: DmdParams| {
        p.fit(&data)
            .map(|m| (m.rank_info().clone(), m.eigenvalues().len()))
    };
    show("n_delays(0)", fit(Dmd::params().n_delays(0)));
    show("delay_interval(0)", fit(Dmd::params().delay_interval(0)));
    show("steps_ahead(0)", fit(Dmd::params().steps_ahead(0)));
    show("rank(0)", fit(Dmd::params().rank(0)));
    show(
        "rank(5).explained_variance(0.9)",
        fit(Dmd::params().rank(5).explained_variance(0.9)),
    );
    show("rank_thresh(NaN)", fit(Dmd::params().rank_thresh(f64::NAN)));
    show("rank_thresh(-1)", fit(Dmd::params().rank_thresh(-1.0)));
    show(
        "explained_variance(0)",
        fit(Dmd::params().explained_variance(0.0)),
    );
    show(
        "explained_variance(1.5)",
        fit(Dmd::params().explained_variance(1.5)),
    );
    show("lambda(-1)", fit(Dmd::params().lambda(-1.0)));
    show("lambda(NaN)", fit(Dmd::params().lambda(f64::NAN)));
    show("lambda(inf)", fit(Dmd::params().lambda(f64::INFINITY)));
    show("lambda(f64::MAX)", fit(Dmd::params().lambda(f64::MAX)));
    show(
        "rank(1000) on rank-4 data, d = 3",
        fit(Dmd::params().n_delays(3).rank(1000)),
    );
    show("rank(usize::MAX)", fit(Dmd::params().rank(usize::MAX)));
    show("n_delays(40) on T = 60", fit(Dmd::params().n_delays(40)));
    show("n_delays(100) on T = 60", fit(Dmd::params().n_delays(100)));
    show(
        "steps_ahead(usize::MAX)",
        fit(Dmd::params().steps_ahead(usize::MAX)),
    );
    let fitd = |m: &Mat<f64>, p: DmdParams| {
        p.fit(&Dataset::from_trajectory(m.as_ref()).unwrap())
            .map(|m| (m.rank_info().clone(), m.eigenvalues().to_vec()))
    };
    show("all-zero data", fitd(&Mat::zeros(50, 3), Dmd::params()));
    show(
        "constant data, rank(5)",
        fitd(
            &Mat::from_fn(50, 2, |_, j| 1.0 + j as f64),
            Dmd::params().rank(5),
        ),
    );
    show(
        "entries ~1e307",
        fitd(
            &Mat::from_fn(50, 3, |i, j| 1e307 * ((i * 3 + j) as f64).sin()),
            Dmd::params().n_delays(4),
        ),
    );
    show(
        "subnormal data",
        fitd(
            &Mat::from_fn(50, 2, |i, j| {
                f64::MIN_POSITIVE / 2.0 * (0.3 * i as f64 + j as f64).sin()
            }),
            Dmd::params(),
        ),
    );
    let x200 = Mat::from_fn(x.nrows(), x.ncols(), |i, j| x[(i, j)] * 1e200);
    show(
        "explained_variance(0.9) at scale 1",
        fitd(&x, Dmd::params().explained_variance(0.9)).map(|r| r.0),
    );
    show(
        "explained_variance(0.9) at scale 1e200",
        fitd(&x200, Dmd::params().explained_variance(0.9)).map(|r| r.0),
    );
    let model = Dmd::params().n_delays(2).fit(&data).unwrap();
    let sizes = |r: dsa::Result<Vec<Mat<f64>>>| {
        r.map(|v| {
            v.iter()
                .map(|m| (m.nrows(), m.ncols(), all_finite(m.as_ref())))
                .collect::<Vec<_>>()
        })
    };
    show("predict reseed 0", sizes(model.predict(&x, 0)));
    show(
        "predict 5 channels",
        sizes(model.predict(&Mat::<f64>::zeros(60, 5), 1)),
    );
    show(
        "predict T = 2",
        sizes(model.predict(&Mat::<f64>::zeros(2, 4), 1)),
    );
    show("predict with NaN", sizes(model.predict(&nan, 1)));
    show(
        "predict reseed usize::MAX",
        sizes(model.predict(&x, usize::MAX)),
    );
    let grow = Mat::from_fn(40, 1, |i, _| 1.5f64.powi(i as i32));
    let gm = Dmd::params()
        .fit(&Dataset::from_trajectory(grow.as_ref()).unwrap())
        .unwrap();
    show(
        "unstable operator (1.5), 3000 steps, reseed usize::MAX",
        sizes(gm.predict(&Mat::from_fn(3000, 1, |i, _| (i as f64).cos()), usize::MAX)),
    );
    let (a, b) = near_conjugate_pair(4, 1, 1e-3);
    let z = Mat::<f64>::zeros(4, 4);
    let mut bn = b.clone();
    bn[(1, 2)] = f64::NAN;
    let cmp = |a: &Mat<f64>, b: &Mat<f64>| {
        Procrustes::default()
            .compare(a.as_ref(), b.as_ref())
            .map(|c| (c.angular, c.euclidean, c.padded))
    };
    show("compare 3 x 4 operator", cmp(&Mat::zeros(3, 4), &b));
    show("compare 0 x 0 operator", cmp(&Mat::zeros(0, 0), &b));
    show("compare NaN in B", cmp(&a, &bn));
    show("compare zero A", cmp(&z, &b));
    show(
        "compare 4 x 4 with 3 x 3",
        cmp(&a, &randn(&mut rng(3), 3, 3)),
    );
    show(
        "ZeroPad 4 x 4 with 3 x 3",
        Procrustes::default()
            .size_mismatch(SizeMismatch::ZeroPad)
            .compare(a.as_ref(), randn(&mut rng(3), 3, 3).as_ref())
            .map(|c| (c.angular, c.padded)),
    );
    show("compare (A, B)", cmp(&a, &b));
    for s in [1e300, 1e-300, f64::MIN_POSITIVE] {
        show(
            &format!("compare (A * {s:e}, B)"),
            cmp(&Mat::from_fn(4, 4, |i, j| a[(i, j)] * s), &b),
        );
    }
    show(
        "Wasserstein(0, B)",
        operator_distance(z.as_ref(), b.as_ref(), Score::Wasserstein),
    );
    show(
        "Wasserstein at 1e200",
        operator_distance(
            Mat::from_fn(4, 4, |i, j| a[(i, j)] * 1e200).as_ref(),
            b.as_ref(),
            Score::Wasserstein,
        ),
    );
    show("LowerBound NaN", LowerBound::new(a.as_ref(), bn.as_ref()));
    show(
        "LowerBound 4 x 4 and 3 x 3",
        LowerBound::new(a.as_ref(), Mat::<f64>::zeros(3, 3).as_ref()),
    );
    show(
        "LowerBound f64::MAX entries",
        LowerBound::new(
            Mat::from_fn(2, 2, |_, _| f64::MAX).as_ref(),
            Mat::from_fn(2, 2, |i, j| if i == j { -f64::MAX } else { 0.0 }).as_ref(),
        ),
    );
    let an = normalized(&a);
    let bnn = normalized(&b);
    let sol = |s: &dyn OrthogonalSolver| {
        s.solve(an.as_ref(), bnn.as_ref()).map(|o| {
            (
                o.loss,
                o.report.termination,
                o.report.converged,
                o.report.iterations,
            )
        })
    };
    show("CayleyAdam lr(0)", sol(&CayleyAdam::default().lr(0.0)));
    show(
        "CayleyAdam lr(NaN)",
        sol(&CayleyAdam::default().lr(f64::NAN)),
    );
    show(
        "CayleyAdam adam(1, .999, 1e-8)",
        sol(&CayleyAdam::default().adam(1.0, 0.999, 1e-8)),
    );
    show("CayleyAdam iters(3)", sol(&CayleyAdam::default().iters(3)));
    show(
        "RiemannianLbfgs memory(0)",
        sol(&RiemannianLbfgs::default().memory(0)),
    );
    show(
        "RiemannianLbfgs memory(usize::MAX)",
        sol(&RiemannianLbfgs::default().memory(usize::MAX)),
    );
    show(
        "RiemannianLbfgs time_limit(Duration::MAX)",
        sol(&RiemannianLbfgs::default().time_limit(Some(std::time::Duration::MAX))),
    );
    show(
        "RiemannianLbfgs grad_tol(NaN)",
        sol(&RiemannianLbfgs::default().grad_tol(f64::NAN)),
    );
    show(
        "RiemannianLbfgs max_iters(0)",
        sol(&RiemannianLbfgs::default().max_iters(0)),
    );
    show(
        "RiemannianLbfgs time_limit(1 ms)",
        sol(&RiemannianLbfgs::default().time_limit(Some(Duration::from_millis(1)))),
    );
    show(
        "SymmetricClosedForm (non-symmetric)",
        sol(&SymmetricClosedForm),
    );
    show(
        "Dsa threads(0)",
        dsa::Dsa::builder().threads(0).build().map(|_| ()),
    );
    show(
        "Dsa n_delays_per_dataset([3, 0])",
        dsa::Dsa::builder()
            .n_delays_per_dataset(vec![3, 0])
            .build()
            .map(|_| ()),
    );
    show(
        "Dsa rank_per_dataset(vec![])",
        dsa::Dsa::builder()
            .rank_per_dataset(Vec::<usize>::new())
            .build()
            .map(|_| ()),
    );
    show(
        "Dsa seed + solver",
        dsa::Dsa::builder()
            .seed(1)
            .solver(CayleyAdam::default())
            .build()
            .map(|_| ()),
    );
    let d = dsa::Dsa::builder().n_delays(2).rank(4).build().unwrap();
    show(
        "pairwise(&[])",
        d.pairwise(&Vec::<Mat<f64>>::new())
            .map(|m| (m.nrows(), m.ncols())),
    );
    show(
        "pairwise 2 datasets, rank list of 3",
        dsa::Dsa::builder()
            .n_delays(2)
            .rank_per_dataset(vec![1, 2, 3])
            .build()
            .unwrap()
            .pairwise(&[x.clone(), x.clone()])
            .map(|m| m.nrows()),
    );
    show(
        "pairwise with NaN in dataset 1",
        d.pairwise(&[x.clone(), nan.clone()]).map(|m| m.nrows()),
    );
    show(
        "dsa::distance 4 vs 1 channels",
        dsa::distance(&x, &Mat::from_fn(60, 1, |i, _| (0.3 * i as f64).sin())),
    );
    show("dsa::distance(x, x)", dsa::distance(&x, &x));
}
