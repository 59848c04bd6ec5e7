//! A solver written outside the crate, benchmarked against the crate's: plain Riemannian
//! gradient descent on `O(n)` with a Cayley retraction and an Armijo line search, run through
//! the benchmark suite `dsa::bench` beside the default `RiemannianLbfgs` and the paper's
//! `CayleyAdam`.
//!
//! It uses only the public API, as another crate would: the problem type and its certified
//! bound (`dsa::solver::Problem`), the default's starting points (`dsa::solver::starts`), the
//! objective and its gradient (`dsa::solver::objective`), and the constructors of the output.
//!
//! ```text
//! cargo run --release --example custom_solver                 # the Markdown table
//! cargo run --release --example custom_solver -- --csv        # the same as CSV
//! cargo run --release --example custom_solver -- --standard   # n up to 100 (minutes)
//! ```
//!
//! `docs/benchmarking-solvers.md` walks through it.

use dsa::bench::Suite;
use dsa::solver::objective::{cayley, riemannian_gradient};
use dsa::solver::{starts, Problem, SolverOutput, Start, Termination};
use dsa::{CayleyAdam, OrthogonalSolver, RiemannianLbfgs};
use faer::{Mat, MatRef};

/// Riemannian gradient descent: from the best of the identity, the reflection and the spectral
/// start, steps `C <- C Cay(-t X)` along the gradient `X = skew(C^T G)` in the Lie algebra,
/// `t` by backtracking until the loss falls by `1e-4 t ||X||^2` (and doubled after each
/// accepted step), until `||X|| <= rtol sqrt(loss)`, the certified bound is met, or
/// `max_iters`.
#[derive(Debug, Clone)]
struct GradientDescent {
    max_iters: usize,
    rtol: f64,
}

impl Default for GradientDescent {
    fn default() -> Self {
        Self {
            max_iters: 2000,
            rtol: 1e-6,
        }
    }
}

/// `(I - Y/2)^-1 (I + Y/2)` for skew `Y`, through the crate's Cayley map
/// `cayley(W) = (I + S)^-1 (I - S)`, `S = W - W^T`: `W = -Y/4` gives `S = -Y/2`.
fn cay(y: MatRef<'_, f64>) -> Mat<f64> {
    cayley((y * -0.25).as_ref())
}

fn dot(x: MatRef<'_, f64>, y: MatRef<'_, f64>) -> f64 {
    let mut s = 0.0;
    for j in 0..x.ncols() {
        for i in 0..x.nrows() {
            s += x[(i, j)] * y[(i, j)];
        }
    }
    s
}

impl OrthogonalSolver for GradientDescent {
    fn name(&self) -> &'static str {
        "gradient-descent"
    }

    fn check(&self) -> dsa::Result<()> {
        if self.rtol.is_nan() || self.rtol < 0.0 {
            return Err(dsa::DsaError::InvalidParameter {
                name: "rtol",
                reason: "must be >= 0".into(),
            });
        }
        Ok(())
    }

    fn solve_problem(&self, problem: &Problem<'_>) -> dsa::Result<SolverOutput> {
        self.check()?;
        let (a, b) = (problem.a().matrix(), problem.b().matrix());
        let bound = problem.lower_bound()?.best();
        // the best of three of the default's starts
        let mut candidates = vec![
            (Start::Identity, starts::identity(problem)),
            (Start::Reflection, starts::reflection(problem)),
        ];
        candidates.extend(starts::spectral(problem)?.map(|c| (Start::Spectral, c)));
        let mut best: Option<(f64, Start, Mat<f64>)> = None;
        for (start, c) in candidates {
            let l = problem.loss(c.as_ref())?;
            if best.as_ref().is_none_or(|(bl, _, _)| l < *bl) {
                best = Some((l, start, c));
            }
        }
        let Some((mut loss, start, mut c)) = best else {
            // the 0 x 0 problem
            return SolverOutput::from_run(
                self.name(),
                problem,
                Mat::zeros(0, 0),
                Start::Identity,
                0,
                Termination::ClosedForm,
            );
        };
        let mut t = 1.0;
        let mut iters = 0;
        let termination = loop {
            if loss.max(0.0).sqrt() - bound <= 1e-10 {
                break Termination::LowerBoundReached;
            }
            // X = skew(C^T G) = C^T (C skew(C^T G))
            let x = c.transpose() * riemannian_gradient(a, b, c.as_ref());
            let gg = dot(x.as_ref(), x.as_ref());
            if gg.sqrt() <= self.rtol * loss.max(0.0).sqrt() || gg == 0.0 {
                break Termination::GradientTolerance;
            }
            if iters >= self.max_iters {
                break Termination::MaxIterations;
            }
            let mut accepted = false;
            for _ in 0..50 {
                let c_new = &c * cay((&x * -t).as_ref());
                let l_new = problem.loss(c_new.as_ref())?;
                if l_new <= loss - 1e-4 * t * gg {
                    (c, loss) = (c_new, l_new);
                    accepted = true;
                    break;
                }
                t *= 0.5;
            }
            if !accepted {
                break Termination::Stagnated;
            }
            t *= 2.0;
            iters += 1;
        };
        SolverOutput::from_run(self.name(), problem, c, start, iters, termination)
    }
}

fn main() -> dsa::Result<()> {
    let csv = std::env::args().any(|a| a == "--csv");
    let standard = std::env::args().any(|a| a == "--standard");
    let default = RiemannianLbfgs::default();
    let paper = CayleyAdam::default();
    let ours = GradientDescent::default();
    let solvers: [&dyn OrthogonalSolver; 3] = [&default, &paper, &ours];
    let suite = if standard {
        Suite::standard()
    } else {
        Suite::quick()
    };
    let start = std::time::Instant::now();
    let report = suite.run(&solvers)?;
    if csv {
        print!("{}", report.to_csv());
    } else {
        println!(
            "# Solvers on the {} suite ({} cases each, {:.1?} in all)\n",
            if standard { "standard" } else { "quick" },
            suite.cases()?.len(),
            start.elapsed()
        );
        print!("{}", report.to_markdown());
    }
    Ok(())
}
