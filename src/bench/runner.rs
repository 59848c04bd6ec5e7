//! The suite runner: every case through every solver, summarized per family and size.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use super::family::{Case, Family, Optimum, STANDARD};
use crate::error::{DsaError, Result};
use crate::solver::OrthogonalSolver;

/// A distance within this of the optimum counts as solved (for families whose optimum is
/// known).
pub const SOLVED_TOL: f64 = 1e-8;

/// A list of problem families, sizes and instances, run against any list of solvers.
///
/// [`Suite::standard`] is every family of [`Family::standard`] at `n = 5, 10, 20, 30, 50, 100`,
/// three instances each (best-known values are stored for all of them); [`Suite::quick`] the
/// same at `n = 5, 10, 20, 30`, two instances each. `docs/benchmarking-solvers.md` explains the
/// families, the measures and how to run it.
///
/// # Example
/// ```
/// use dsa::bench::{Family, Suite};
/// use dsa::{CayleyAdam, OrthogonalSolver, RiemannianLbfgs};
/// # fn main() -> dsa::Result<()> {
/// let suite = Suite::quick()
///     .families(&[Family::ConjugateReflection, Family::Random])
///     .sizes(&[6])
///     .instances(1);
/// let default = RiemannianLbfgs::default();
/// let paper = CayleyAdam::default().iters(200);
/// let report = suite.run(&[&default as &dyn OrthogonalSolver, &paper])?;
/// assert_eq!(report.rows().len(), 4); // 2 families x 1 size x 2 solvers
/// println!("{}", report.to_markdown());
/// let row = report.row("riemannian-lbfgs", "conjugate-reflection", 6).unwrap();
/// assert_eq!(row.solved, Some(1.0));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Suite {
    families: Vec<Family>,
    sizes: Vec<usize>,
    instances: usize,
}

impl Default for Suite {
    fn default() -> Self {
        Self::standard()
    }
}

impl Suite {
    /// Every family of [`Family::standard`] at `n = 5, 10, 20, 30, 50, 100`, three instances
    /// each: about the cases the stored best-known values cover.
    #[must_use]
    pub fn standard() -> Self {
        Self {
            families: STANDARD.to_vec(),
            sizes: vec![5, 10, 20, 30, 50, 100],
            instances: 3,
        }
    }

    /// Every family at `n = 5, 10, 20, 30`, two instances each (a subset of the standard
    /// suite's cases).
    #[must_use]
    pub fn quick() -> Self {
        Self {
            families: STANDARD.to_vec(),
            sizes: vec![5, 10, 20, 30],
            instances: 2,
        }
    }

    /// These families only.
    #[must_use]
    pub fn families(mut self, families: &[Family]) -> Self {
        self.families = families.to_vec();
        self
    }

    /// These sizes only.
    #[must_use]
    pub fn sizes(mut self, sizes: &[usize]) -> Self {
        self.sizes = sizes.to_vec();
        self
    }

    /// Instances `0 .. k` of every family and size.
    #[must_use]
    pub fn instances(mut self, k: usize) -> Self {
        self.instances = k;
        self
    }

    /// Every case of the suite, family by family, size by size, instance by instance.
    ///
    /// # Errors
    /// As [`Family::case`].
    pub fn cases(&self) -> Result<Vec<Case>> {
        let mut out = Vec::new();
        for family in &self.families {
            for &n in &self.sizes {
                for k in 0..self.instances {
                    out.push(family.case(n, k)?);
                }
            }
        }
        Ok(out)
    }

    /// Runs every case through every solver and summarizes per family and size.
    ///
    /// Each solver gets a fresh [`crate::solver::Problem`] of each case (so that no solver
    /// reuses per-operator work another computed); the time is that of
    /// [`OrthogonalSolver::solve_problem`] alone, cases one after the other (a solver may use
    /// every thread within a case).
    ///
    /// # Errors
    /// [`DsaError::InvalidParameter`] for an empty list of solvers, families, sizes or
    /// instances (`solvers`, `families`, `sizes`, `instances`), a solver's invalid settings, and
    /// the first error of a case or a solver.
    pub fn run(&self, solvers: &[&dyn OrthogonalSolver]) -> Result<SuiteReport> {
        for (name, empty) in [
            ("solvers", solvers.is_empty()),
            ("families", self.families.is_empty()),
            ("sizes", self.sizes.is_empty()),
            ("instances", self.instances == 0),
        ] {
            if empty {
                return Err(DsaError::param(name, "the suite needs at least one"));
            }
        }
        for s in solvers {
            s.check()?;
        }
        let mut rows = Vec::new();
        for family in &self.families {
            for &n in &self.sizes {
                let cases: Vec<Case> = (0..self.instances)
                    .map(|k| family.case(n, k))
                    .collect::<Result<_>>()?;
                for solver in solvers {
                    let runs = cases
                        .iter()
                        .map(|case| run_one(*solver, case))
                        .collect::<Result<Vec<_>>>()?;
                    rows.push(Row::summarize(solver.name(), *family, n, &runs));
                }
            }
        }
        Ok(SuiteReport { rows })
    }
}

/// One solver on one case.
struct Run {
    time: Duration,
    /// distance minus the optimum (or the best known)
    excess: Option<f64>,
    /// whether the optimum is known and met to [`SOLVED_TOL`]
    solved: Option<bool>,
    gap: f64,
}

fn run_one(solver: &dyn OrthogonalSolver, case: &Case) -> Result<Run> {
    let problem = case.problem()?;
    let start = Instant::now();
    let out = solver.solve_problem(&problem)?;
    let time = start.elapsed();
    let distance = out.loss.max(0.0).sqrt();
    let bound = problem.lower_bound()?.best();
    let excess = case.optimum.value().map(|v| distance - v);
    let solved = match case.optimum {
        Optimum::Known(v) => Some(distance - v <= SOLVED_TOL),
        _ => None,
    };
    Ok(Run {
        time,
        excess,
        solved,
        gap: distance - bound,
    })
}

/// One solver on the instances of one family and size.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Row {
    /// The solver's name.
    pub solver: &'static str,
    /// The family's name ([`Family::name`]).
    pub family: String,
    /// The size `n`.
    pub size: usize,
    /// Instances run.
    pub instances: usize,
    /// Median wall-clock time of a solve.
    pub median_time: Duration,
    /// Longest solve.
    pub worst_time: Duration,
    /// Median of `distance - optimum` (or the best known; negative where the solver beat it),
    /// over the instances with one.
    pub median_excess: Option<f64>,
    /// Largest `distance - optimum`.
    pub worst_excess: Option<f64>,
    /// Share of the instances solved to [`SOLVED_TOL`], where the optimum is known.
    pub solved: Option<f64>,
    /// Median certified gap `distance - lower_bound.best()`.
    pub median_gap: f64,
}

impl Row {
    fn summarize(solver: &'static str, family: Family, size: usize, runs: &[Run]) -> Self {
        let mut times: Vec<Duration> = runs.iter().map(|r| r.time).collect();
        times.sort();
        let excess: Vec<f64> = runs.iter().filter_map(|r| r.excess).collect();
        let solved: Vec<bool> = runs.iter().filter_map(|r| r.solved).collect();
        let gaps: Vec<f64> = runs.iter().map(|r| r.gap).collect();
        Self {
            solver,
            family: family.name(),
            size,
            instances: runs.len(),
            median_time: median_duration(&times),
            worst_time: times.last().copied().unwrap_or_default(),
            median_excess: median(&excess),
            worst_excess: excess.iter().copied().reduce(f64::max),
            solved: (!solved.is_empty())
                .then(|| solved.iter().filter(|&&s| s).count() as f64 / solved.len() as f64),
            median_gap: median(&gaps).unwrap_or(f64::NAN),
        }
    }
}

/// The median (the mean of the middle two for an even count); `None` when empty.
fn median(x: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = x.to_vec();
    v.sort_by(f64::total_cmp);
    let k = v.len();
    match k {
        0 => None,
        _ if k % 2 == 1 => Some(v[k / 2]),
        _ => Some(0.5 * (v[k / 2 - 1] + v[k / 2])),
    }
}

fn median_duration(sorted: &[Duration]) -> Duration {
    let k = sorted.len();
    match k {
        0 => Duration::ZERO,
        _ if k % 2 == 1 => sorted[k / 2],
        _ => (sorted[k / 2 - 1] + sorted[k / 2]) / 2,
    }
}

/// What [`Suite::run`] measured: one [`Row`] per family, size and solver.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SuiteReport {
    rows: Vec<Row>,
}

impl SuiteReport {
    /// Every row: family by family, size by size, solver by solver in the order given.
    #[must_use]
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The row of a solver, a family (its [`Family::name`]) and a size.
    #[must_use]
    pub fn row(&self, solver: &str, family: &str, size: usize) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.solver == solver && r.family == family && r.size == size)
    }

    /// A Markdown table: one line per row, times in milliseconds, excesses and gaps in
    /// distance units (`||A - C B C^T||_F` of the normalized operators), `-` where a value
    /// does not apply.
    #[must_use]
    pub fn to_markdown(&self) -> String {
        let mut s = String::from(
            "| family | n | solver | instances | median time | worst time | median excess | worst excess | solved to 1e-8 | median gap |\n\
             |---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for r in &self.rows {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.family,
                r.size,
                r.solver,
                r.instances,
                ms(r.median_time),
                ms(r.worst_time),
                sci(r.median_excess),
                sci(r.worst_excess),
                r.solved
                    .map_or_else(|| "-".into(), |x| format!("{:.0}%", 100.0 * x)),
                sci(Some(r.median_gap)),
            );
        }
        s
    }

    /// The same as CSV, one header line, times in seconds, full precision, empty where a value
    /// does not apply.
    #[must_use]
    pub fn to_csv(&self) -> String {
        let mut s = String::from(
            "family,n,solver,instances,median_time_s,worst_time_s,median_excess,worst_excess,solved_share,median_gap\n",
        );
        let opt = |x: Option<f64>| x.map_or_else(String::new, |v| format!("{v:e}"));
        for r in &self.rows {
            let _ = writeln!(
                s,
                "{},{},{},{},{:e},{:e},{},{},{},{:e}",
                r.family,
                r.size,
                r.solver,
                r.instances,
                r.median_time.as_secs_f64(),
                r.worst_time.as_secs_f64(),
                opt(r.median_excess),
                opt(r.worst_excess),
                opt(r.solved),
                r.median_gap,
            );
        }
        s
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn sci(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |v| format!("{v:.2e}"))
}
