//! The `JointDynamics` comparison: a Riemannian L-BFGS over `O(n)` for
//!
//! ```text
//! f(C) = ||A1 - C A2 C^T||_F^2 + w ||B1 - C B2||_F^2
//! ```
//!
//! For orthogonal `C` both terms can be written with `C^T` on the first system:
//! `||A1 - C A2 C^T|| = ||C^T A1 C - A2||` and `||B1 - C B2|| = ||C^T B1 - B2||`. With
//! `Rt = A2 - C^T A1 C` and `V = C^T B1`, the gradient in the Lie algebra of skew matrices
//! (left-trivialized: `d/dt f(C exp(t X))|_0 = <g, X>`) is
//!
//! ```text
//! g = skew(M),   M = 2 (Rt A2^T + Rt^T A2) - 2 w V B2^T,   skew(M) = (M - M^T) / 2.
//! ```
//!
//! Steps move `C -> C Cay(t X)`, `Cay(X) = (I - X/2)^-1 (I + X/2)` (orthogonal for skew `X`,
//! the same component of `O(n)`), along L-BFGS directions built from curvature pairs kept in
//! the algebra, with an Armijo backtracking line search. Every buffer is allocated once per
//! solve.

use faer::{Mat, MatRef};

use crate::error::{DsaError, Result};
use crate::linalg::{self, mm};
use crate::solver::Termination;

/// The objective's weight `w` on the input term by default: state and input terms count
/// equally (both operators normalized to unit Frobenius norm).
pub const DEFAULT_WEIGHT: f64 = 1.0;

/// Riemannian L-BFGS for `min_{C in O(n)} ||A1 - C A2 C^T||_F^2 + w ||B1 - C B2||_F^2`, the
/// [`crate::InputCompare::JointDynamics`] comparison.
///
/// The weight `w >= 0` (default [`DEFAULT_WEIGHT`] = 1) sets how much the input term counts
/// against the state term; with both systems normalized (`||A|| = ||B|| = 1`, as
/// [`crate::InputDsa`] does), `w = 1` weighs them equally and `w = 0` is the state comparison
/// alone. The objective is not convex, so the solver runs from several starts and keeps the
/// best: the state comparison's `C` (from the crate's default solver, exact for conjugate `A`s)
/// and its negative (a conjugate `A` fixes `C` only up to the orthogonal matrices commuting
/// with it, generically `+-I`), the closed-form Procrustes of `B` (`C` the polar factor of
/// `B1 B2^T`), the identity, a reflection and `n_random` seeded Haar-random matrices (both
/// determinants). It stops early once a run reaches a loss of at most `1e-24` (a distance of
/// `1e-12`: the global optimum to rounding).
///
/// The operators are used as given: normalize them first (the comparison does).
///
/// # Example
/// ```
/// use dsa::input::JointDynamics;
/// # fn main() -> dsa::Result<()> {
/// let a = faer::mat![[0.5, 0.3, 0.0], [-0.2, 0.4, 0.1], [0.0, 0.2, -0.3]];
/// let b = faer::mat![[1.0], [0.0], [0.5]];
/// let q = faer::mat![[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]];
/// let (a2, b2) = (&q * &a * q.transpose(), &q * &b);
/// let out = JointDynamics::default().solve(a.as_ref(), b.as_ref(), a2.as_ref(), b2.as_ref(), None)?;
/// assert!(out.loss < 1e-20);
/// assert!((&out.c - &q.transpose()).norm_max() < 1e-8); // A ~ C A2 C^T with C = Q^T
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct JointDynamics {
    weight: f64,
    n_random: usize,
    seed: u64,
    max_iters: usize,
    grad_tol: f64,
    grad_rtol: f64,
    memory: usize,
}

impl Default for JointDynamics {
    fn default() -> Self {
        Self {
            weight: DEFAULT_WEIGHT,
            n_random: 4,
            seed: 0,
            max_iters: 1000,
            grad_tol: 1e-13,
            grad_rtol: 1e-7,
            memory: 8,
        }
    }
}

/// Where a local run of [`JointDynamics`] started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JointStart {
    /// The state comparison's `C` (given to [`JointDynamics::solve`]).
    State,
    /// Its negative.
    StateNegated,
    /// The closed-form Procrustes of `B`: the polar factor of `B1 B2^T`.
    Control,
    /// The identity.
    Identity,
    /// `diag(-1, 1, ..., 1)`.
    Reflection,
    /// The `k`-th seeded Haar-random orthogonal matrix (odd `k`: determinant -1).
    Random(usize),
    /// A start given to [`JointDynamics::solve_from`].
    Given,
}

/// One local run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JointStartOutcome {
    /// Where it started.
    pub start: JointStart,
    /// Its final loss.
    pub loss: f64,
    /// Its iterations.
    pub iterations: usize,
    /// Why it stopped.
    pub termination: Termination,
}

/// The answer of [`JointDynamics`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JointDynamicsOutput {
    /// The best orthogonal `C` found: `A1 ~ C A2 C^T`, `B1 ~ C B2`.
    pub c: Mat<f64>,
    /// `f(C) = state^2 + w control^2`.
    pub loss: f64,
    /// The state term `||A1 - C A2 C^T||_F` at `C`.
    pub state: f64,
    /// The input term `||B1 - C B2||_F` at `C`.
    pub control: f64,
    /// The weight `w`.
    pub weight: f64,
    /// Frobenius norm of the Riemannian gradient at `C`.
    pub grad_norm: f64,
    /// Whether the winning run stopped at a stationary point: the gradient tolerance, a loss of
    /// zero to rounding, or a line search that could no longer lower the computed loss with the
    /// gradient below `1e-6 sqrt(loss)`.
    pub converged: bool,
    /// Which start won.
    pub best_start: JointStart,
    /// Every run, in the order they ran.
    pub starts: Vec<JointStartOutcome>,
}

/// Below this loss a run is the global optimum to rounding (distance `1e-12`): stop.
const EXACT_LOSS: f64 = 1e-24;

/// A run whose line search stagnates with `||g|| <= STAGNATED_GRAD sqrt(f)` has stopped at a
/// stationary point to the precision of the loss.
const STAGNATED_GRAD: f64 = 1e-6;

impl JointDynamics {
    /// The weight `w >= 0` of the input term (default 1).
    #[must_use]
    pub fn weight(mut self, w: f64) -> Self {
        self.weight = w;
        self
    }
    /// Seeded Haar-random starts (default 4).
    #[must_use]
    pub fn n_random(mut self, k: usize) -> Self {
        self.n_random = k;
        self
    }
    /// Seed of the random starts (default 0).
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Iteration limit per start (default 1000).
    #[must_use]
    pub fn max_iters(mut self, k: usize) -> Self {
        self.max_iters = k;
        self
    }
    /// Stop a run when `||g|| <= max(grad_tol, grad_rtol * sqrt(f))` (defaults `1e-13`,
    /// `1e-7`: below about `1e-8 sqrt(f)` the decrease a step can make is smaller than the
    /// rounding of `f` itself, and the line search stops the run as stagnated).
    #[must_use]
    pub fn tolerances(mut self, grad_tol: f64, grad_rtol: f64) -> Self {
        self.grad_tol = grad_tol;
        self.grad_rtol = grad_rtol;
        self
    }
    /// Curvature pairs kept (default 8).
    #[must_use]
    pub fn memory(mut self, m: usize) -> Self {
        self.memory = m;
        self
    }
    /// The weight in force.
    #[must_use]
    pub fn weight_value(&self) -> f64 {
        self.weight
    }

    /// Validate the settings.
    pub(crate) fn check(&self) -> Result<()> {
        if !(self.weight >= 0.0 && self.weight.is_finite()) {
            return Err(DsaError::param(
                "control_weight",
                format!("must be finite and >= 0, got {}", self.weight),
            ));
        }
        if self.memory == 0 {
            return Err(DsaError::param("memory", "must be at least 1"));
        }
        if !(self.grad_tol >= 0.0 && self.grad_rtol >= 0.0) {
            return Err(DsaError::param(
                "tolerances",
                "gradient tolerances must be >= 0",
            ));
        }
        Ok(())
    }

    /// Minimize from the portfolio of starts; `state_start` is the state comparison's `C`
    /// (`A1 ~ C A2 C^T`), if known.
    ///
    /// # Errors
    /// [`DsaError::ShapeMismatch`] unless `A1`, `A2` are `n x n` and `B1`, `B2` are `n x m`
    /// (and `state_start` `n x n`), [`DsaError::NonFinite`] for non-finite entries,
    /// [`DsaError::InvalidParameter`] for a negative or non-finite weight,
    /// [`DsaError::NoConvergence`] if a decomposition of a start fails.
    pub fn solve(
        &self,
        a1: MatRef<'_, f64>,
        b1: MatRef<'_, f64>,
        a2: MatRef<'_, f64>,
        b2: MatRef<'_, f64>,
        state_start: Option<MatRef<'_, f64>>,
    ) -> Result<JointDynamicsOutput> {
        self.check()?;
        validate(a1, b1, a2, b2)?;
        let n = a1.nrows();
        let mut starts: Vec<(JointStart, Mat<f64>)> = Vec::new();
        if let Some(c) = state_start {
            check_start(c, n)?;
            starts.push((JointStart::State, c.to_owned()));
            starts.push((
                JointStart::StateNegated,
                Mat::from_fn(n, n, |i, j| -c[(i, j)]),
            ));
        }
        starts.push((
            JointStart::Control,
            linalg::polar(linalg::mul(b1, b2.transpose()).as_ref())?,
        ));
        starts.push((JointStart::Identity, Mat::identity(n, n)));
        starts.push((
            JointStart::Reflection,
            crate::solver::starts::reflection_of_size(n),
        ));
        for k in 0..self.n_random {
            starts.push((
                JointStart::Random(k),
                crate::solver::starts::haar_of_size(n, self.seed, k),
            ));
        }
        self.run_all(a1, b1, a2, b2, starts)
    }

    /// One local run from `c0` (for tests and benchmarks).
    ///
    /// # Errors
    /// As [`JointDynamics::solve`]; `c0` must be a finite `n x n` matrix.
    pub fn solve_from(
        &self,
        a1: MatRef<'_, f64>,
        b1: MatRef<'_, f64>,
        a2: MatRef<'_, f64>,
        b2: MatRef<'_, f64>,
        c0: MatRef<'_, f64>,
    ) -> Result<JointDynamicsOutput> {
        self.check()?;
        validate(a1, b1, a2, b2)?;
        check_start(c0, a1.nrows())?;
        self.run_all(a1, b1, a2, b2, vec![(JointStart::Given, c0.to_owned())])
    }

    fn run_all(
        &self,
        a1: MatRef<'_, f64>,
        b1: MatRef<'_, f64>,
        a2: MatRef<'_, f64>,
        b2: MatRef<'_, f64>,
        starts: Vec<(JointStart, Mat<f64>)>,
    ) -> Result<JointDynamicsOutput> {
        let n = a1.nrows();
        let mut ws = Workspace::new(a1, b1, a2, b2, self.weight, self.memory);
        let mut outcomes = Vec::with_capacity(starts.len());
        let mut best: Option<(usize, Mat<f64>, f64, Termination)> = None;
        for (k, (start, c0)) in starts.into_iter().enumerate() {
            let (c, loss, iters, term) = if n == 0 {
                (c0, 0.0, 0, Termination::ClosedForm)
            } else {
                self.local(&mut ws, c0)
            };
            outcomes.push(JointStartOutcome {
                start,
                loss,
                iterations: iters,
                termination: term,
            });
            // ties keep the earlier start (the order above is fixed)
            if best.as_ref().is_none_or(|b| loss < b.2) {
                best = Some((k, c, loss, term));
            }
            if loss <= EXACT_LOSS {
                break;
            }
        }
        let (k, c, loss, term) = best.expect("at least one start"); // ok: solve and solve_from pass at least one start
        let (state, control) = terms(a1, b1, a2, b2, c.as_ref());
        let grad_norm = if n == 0 {
            0.0
        } else {
            ws.loss(c.as_ref());
            ws.gradient();
            dot(&ws.g, &ws.g).sqrt()
        };
        if !loss.is_finite() {
            return Err(DsaError::Degenerate {
                what: "the joint dynamics loss is not finite: normalize the operators first".into(),
            });
        }
        Ok(JointDynamicsOutput {
            c,
            loss,
            state,
            control,
            weight: self.weight,
            grad_norm,
            converged: matches!(
                term,
                Termination::GradientTolerance | Termination::ClosedForm
            ) || loss <= EXACT_LOSS
                || (term == Termination::Stagnated && grad_norm <= STAGNATED_GRAD * loss.sqrt()),
            best_start: outcomes[k].start,
            starts: outcomes,
        })
    }

    /// One L-BFGS run from `c`: `(C, loss, iterations, termination)`.
    fn local(&self, ws: &mut Workspace, mut c: Mat<f64>) -> (Mat<f64>, f64, usize, Termination) {
        let nn = ws.n * ws.n;
        ws.hist.clear();
        let mut f = ws.loss(c.as_ref());
        ws.gradient();
        let mut term = Termination::MaxIterations;
        let mut iters = 0;
        let mut steepest_only = false;
        while iters < self.max_iters {
            let gnorm = dot(&ws.g, &ws.g).sqrt();
            if f <= EXACT_LOSS || gnorm <= self.grad_tol.max(self.grad_rtol * f.sqrt()) {
                term = Termination::GradientTolerance;
                break;
            }
            // direction: L-BFGS two-loop (or a 0.1 rad steepest step with no curvature yet)
            ws.direction(steepest_only, gnorm);
            let mut slope = dot(&ws.g, &ws.d);
            if !(slope < 0.0) {
                ws.hist.clear();
                ws.direction(true, gnorm);
                slope = dot(&ws.g, &ws.d);
            }
            // Armijo backtracking on C Cay(t d); a step must lower the computed loss (once the
            // predicted decrease is below the rounding of f, no step can, and the run stops)
            let mut t = 1.0;
            let mut accepted = None;
            for _ in 0..40 {
                if ws.retract(&c, t) {
                    let cn = std::mem::replace(&mut ws.c_new, Mat::new());
                    let ft = ws.loss(cn.as_ref());
                    ws.c_new = cn;
                    if ft < f && ft <= f + 1e-4 * t * slope {
                        accepted = Some(ft);
                        break;
                    }
                }
                t *= 0.5;
            }
            let Some(ft) = accepted else {
                if ws.hist.is_empty() || steepest_only {
                    term = Termination::Stagnated;
                    break;
                }
                // curvature information led nowhere: restart from steepest descent
                ws.hist.clear();
                steepest_only = true;
                continue;
            };
            steepest_only = false;
            std::mem::swap(&mut c, &mut ws.c_new);
            // loss() left the new point's residuals in the workspace
            ws.g_old.copy_from_slice(&ws.g);
            ws.gradient();
            f = ft;
            iters += 1;
            // curvature pair in the algebra: s = t d, y = g_new - g_old
            let mut s = ws.spare.pop().unwrap_or_else(|| vec![0.0; nn]);
            let mut y = ws.spare.pop().unwrap_or_else(|| vec![0.0; nn]);
            for i in 0..nn {
                s[i] = t * ws.d[i];
                y[i] = ws.g[i] - ws.g_old[i];
            }
            let sy = dot(&s, &y);
            if sy > 1e-12 * dot(&s, &s).sqrt() * dot(&y, &y).sqrt() && sy > 0.0 {
                if ws.hist.len() == self.memory {
                    let (os, oy, _) = ws.hist.remove(0);
                    ws.spare.push(os);
                    ws.spare.push(oy);
                }
                ws.hist.push((s, y, 1.0 / sy));
            } else {
                ws.spare.push(s);
                ws.spare.push(y);
            }
        }
        (c, f, iters, term)
    }
}

/// `(||A1 - C A2 C^T||_F, ||B1 - C B2||_F)`, computed directly.
pub(crate) fn terms(
    a1: MatRef<'_, f64>,
    b1: MatRef<'_, f64>,
    a2: MatRef<'_, f64>,
    b2: MatRef<'_, f64>,
    c: MatRef<'_, f64>,
) -> (f64, f64) {
    let ca = linalg::mul(c, a2);
    let cac = linalg::mul(ca.as_ref(), c.transpose());
    let cb = linalg::mul(c, b2);
    ((a1 - &cac).norm_l2(), (b1 - &cb).norm_l2())
}

fn validate(
    a1: MatRef<'_, f64>,
    b1: MatRef<'_, f64>,
    a2: MatRef<'_, f64>,
    b2: MatRef<'_, f64>,
) -> Result<()> {
    let n = a1.nrows();
    if a1.ncols() != n || a2.shape() != (n, n) || b1.nrows() != n || b2.shape() != (n, b1.ncols()) {
        return Err(DsaError::ShapeMismatch {
            what: format!(
                "joint dynamics needs A1, A2 n x n and B1, B2 n x m; got A1 {:?}, A2 {:?}, B1 {:?}, B2 {:?}",
                a1.shape(),
                a2.shape(),
                b1.shape(),
                b2.shape()
            ),
        });
    }
    for (m, name) in [(a1, "A1"), (a2, "A2"), (b1, "B1"), (b2, "B2")] {
        if !m.is_all_finite() {
            return Err(DsaError::NonFinite {
                input: format!("operator {name}"),
                location: "some entry".into(),
                value: f64::NAN,
            });
        }
    }
    Ok(())
}

fn check_start(c: MatRef<'_, f64>, n: usize) -> Result<()> {
    if c.shape() != (n, n) || !c.is_all_finite() {
        return Err(DsaError::ShapeMismatch {
            what: format!("a start must be a finite {n} x {n} orthogonal matrix"),
        });
    }
    Ok(())
}

fn dot(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

/// Preallocated buffers of one solve (every start reuses them).
struct Workspace {
    n: usize,
    m: usize,
    w: f64,
    a1: Mat<f64>,
    a2: Mat<f64>,
    a2t: Mat<f64>,
    b1: Mat<f64>,
    b2t: Mat<f64>,
    /// `A1 C`, then scratch
    t1: Mat<f64>,
    /// `Rt = A2 - C^T A1 C`
    rt: Mat<f64>,
    /// `V = C^T B1`
    v: Mat<f64>,
    /// `C^T G` before its skew part is taken
    mg: Mat<f64>,
    /// gradient, previous gradient, direction (column-major skew `n x n`)
    g: Vec<f64>,
    g_old: Vec<f64>,
    d: Vec<f64>,
    alpha: Vec<f64>,
    /// curvature pairs `(s, y, 1 / <s, y>)`, oldest first, and recycled buffers
    hist: Vec<(Vec<f64>, Vec<f64>, f64)>,
    spare: Vec<Vec<f64>>,
    /// the Cayley solve, row-major: `I + (t/2) X` factorized in place, and the right-hand
    /// sides `C^T`, solved in place into `Z^T`
    lu: Vec<f64>,
    z: Vec<f64>,
    c_new: Mat<f64>,
}

impl Workspace {
    fn new(
        a1: MatRef<'_, f64>,
        b1: MatRef<'_, f64>,
        a2: MatRef<'_, f64>,
        b2: MatRef<'_, f64>,
        w: f64,
        memory: usize,
    ) -> Self {
        let (n, m) = b1.shape();
        let nn = n * n;
        Self {
            n,
            m,
            w,
            a1: a1.to_owned(),
            a2: a2.to_owned(),
            a2t: a2.transpose().to_owned(),
            b1: b1.to_owned(),
            b2t: b2.transpose().to_owned(),
            t1: Mat::zeros(n, n),
            rt: Mat::zeros(n, n),
            v: Mat::zeros(n, m),
            mg: Mat::zeros(n, n),
            g: vec![0.0; nn],
            g_old: vec![0.0; nn],
            d: vec![0.0; nn],
            alpha: vec![0.0; memory],
            hist: Vec::with_capacity(memory),
            spare: (0..2 * memory + 2).map(|_| vec![0.0; nn]).collect(),
            lu: vec![0.0; nn],
            z: vec![0.0; nn],
            c_new: Mat::zeros(n, n),
        }
    }

    /// `f(C)` at orthogonal `c`; leaves `Rt` and `V` for [`Workspace::gradient`].
    fn loss(&mut self, c: MatRef<'_, f64>) -> f64 {
        mm(self.t1.as_mut(), self.a1.as_ref(), c, 1.0);
        mm(self.rt.as_mut(), c.transpose(), self.t1.as_ref(), -1.0);
        let mut ls = 0.0;
        for j in 0..self.n {
            for i in 0..self.n {
                let r = self.a2[(i, j)] + self.rt[(i, j)];
                self.rt[(i, j)] = r;
                ls += r * r;
            }
        }
        mm(self.v.as_mut(), c.transpose(), self.b1.as_ref(), 1.0);
        let mut lc = 0.0;
        for j in 0..self.m {
            for i in 0..self.n {
                let e = self.v[(i, j)] - self.b2t[(j, i)];
                lc += e * e;
            }
        }
        ls + self.w * lc
    }

    /// The trivialized gradient `skew(M)` at the point of the last [`Workspace::loss`].
    fn gradient(&mut self) {
        let n = self.n;
        // M = 2 Rt A2^T + 2 Rt^T A2 - 2 w V B2^T
        mm(self.mg.as_mut(), self.rt.as_ref(), self.a2t.as_ref(), 2.0);
        linalg::mm_add(self.mg.as_mut(), self.rt.transpose(), self.a2.as_ref(), 2.0);
        if self.m > 0 && self.w != 0.0 {
            linalg::mm_add(
                self.mg.as_mut(),
                self.v.as_ref(),
                self.b2t.as_ref(),
                -2.0 * self.w,
            );
        }
        for j in 0..n {
            for i in 0..n {
                self.g[j * n + i] = 0.5 * (self.mg[(i, j)] - self.mg[(j, i)]);
            }
        }
    }

    /// `d = -H g` by the two-loop recursion, or a steepest step of 0.1 rad when there are no
    /// curvature pairs (or `steepest`).
    fn direction(&mut self, steepest: bool, gnorm: f64) {
        if steepest || self.hist.is_empty() {
            let scale = if gnorm > 0.0 { 0.1 / gnorm } else { 0.0 };
            for (d, g) in self.d.iter_mut().zip(&self.g) {
                *d = -scale * g;
            }
            return;
        }
        self.d.copy_from_slice(&self.g);
        for (k, (s, y, rho)) in self.hist.iter().enumerate().rev() {
            let a = rho * dot(s, &self.d);
            self.alpha[k] = a;
            for (d, yv) in self.d.iter_mut().zip(y) {
                *d -= a * yv;
            }
        }
        let (s, y, _) = &self.hist[self.hist.len() - 1];
        let gamma = dot(s, y) / dot(y, y);
        for d in &mut self.d {
            *d *= gamma;
        }
        for (k, (s, y, rho)) in self.hist.iter().enumerate() {
            let b = rho * dot(y, &self.d);
            let a = self.alpha[k];
            for (d, sv) in self.d.iter_mut().zip(s) {
                *d += (a - b) * sv;
            }
        }
        for d in &mut self.d {
            *d = -*d;
        }
    }

    /// `c_new = C Cay(t d) = 2 C (I - t d / 2)^-1 - C`; `false` if the solve fails or the
    /// result is not finite. `Z = C (I - tX/2)^-1` solves `(I + tX/2) Z^T = C^T`
    /// (`(I - tX/2)^T = I + tX/2` for skew `X`), by Gaussian elimination with partial pivoting
    /// on row-major buffers (every update a contiguous row).
    fn retract(&mut self, c: &Mat<f64>, t: f64) -> bool {
        let n = self.n;
        let h = 0.5 * t;
        let (m, r) = (&mut self.lu, &mut self.z);
        for i in 0..n {
            for j in 0..n {
                // M[i][j] = delta_ij + h X[i][j] (X column-major in d); R[i][j] = C[j][i]
                m[i * n + j] = if i == j { 1.0 } else { 0.0 } + h * self.d[j * n + i];
            }
            r[i * n..(i + 1) * n].copy_from_slice(c.col_as_slice(i));
        }
        for k in 0..n {
            let mut p = k;
            let mut best = m[k * n + k].abs();
            for i in k + 1..n {
                let v = m[i * n + k].abs();
                if v > best {
                    best = v;
                    p = i;
                }
            }
            if !(best > 0.0) {
                return false;
            }
            if p != k {
                for j in 0..n {
                    m.swap(k * n + j, p * n + j);
                    r.swap(k * n + j, p * n + j);
                }
            }
            let (mtop, mrest) = m.split_at_mut((k + 1) * n);
            let (rtop, rrest) = r.split_at_mut((k + 1) * n);
            let mk = &mtop[k * n..];
            let rk = &rtop[k * n..];
            let pivot = mk[k];
            for (mi, ri) in mrest.chunks_exact_mut(n).zip(rrest.chunks_exact_mut(n)) {
                let l = mi[k] / pivot;
                if l != 0.0 {
                    for (a, b) in mi[k + 1..].iter_mut().zip(&mk[k + 1..]) {
                        *a -= l * b;
                    }
                    for (a, b) in ri.iter_mut().zip(rk) {
                        *a -= l * b;
                    }
                }
            }
        }
        // back substitution on the rows of R
        for i in (0..n).rev() {
            let (rtop, rrest) = r.split_at_mut((i + 1) * n);
            let ri = &mut rtop[i * n..];
            for (j, rj) in rrest.chunks_exact(n).enumerate() {
                let mij = m[i * n + i + 1 + j];
                if mij != 0.0 {
                    for (a, b) in ri.iter_mut().zip(rj) {
                        *a -= mij * b;
                    }
                }
            }
            let inv = 1.0 / m[i * n + i];
            for a in ri.iter_mut() {
                *a *= inv;
            }
        }
        // Z^T = R, so Z[i][j] = R[j][i]: column j of C_new is row j of R
        let mut ok = true;
        for j in 0..n {
            let (out, cc) = (self.c_new.col_as_slice_mut(j), c.col_as_slice(j));
            for ((o, zv), cv) in out.iter_mut().zip(&r[j * n..(j + 1) * n]).zip(cc) {
                *o = 2.0 * zv - cv;
                ok &= o.is_finite();
            }
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn randn(rng: &mut rand::rngs::StdRng, r: usize, c: usize) -> Mat<f64> {
        Mat::from_fn(r, c, |_, _| rng.random_range(-1.0..1.0))
    }

    fn setup(n: usize, m: usize, seed: u64) -> (Mat<f64>, Mat<f64>, Mat<f64>, Mat<f64>) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let a1 = randn(&mut rng, n, n);
        let a2 = randn(&mut rng, n, n);
        let b1 = randn(&mut rng, n, m);
        let b2 = randn(&mut rng, n, m);
        (a1, b1, a2, b2)
    }

    /// The objective written out with `C` on the second system, for any square `C`.
    fn objective(
        a1: &Mat<f64>,
        b1: &Mat<f64>,
        a2: &Mat<f64>,
        b2: &Mat<f64>,
        w: f64,
        c: &Mat<f64>,
    ) -> f64 {
        let (s, u) = terms(
            a1.as_ref(),
            b1.as_ref(),
            a2.as_ref(),
            b2.as_ref(),
            c.as_ref(),
        );
        s * s + w * u * u
    }

    #[test]
    fn gradient_matches_finite_differences() {
        for (n, m, w) in [(3, 1, 1.0), (5, 2, 0.7), (6, 3, 2.5)] {
            let (a1, b1, a2, b2) = setup(n, m, 11 + n as u64);
            let c = crate::solver::starts::haar_of_size(n, 3, n);
            let mut ws = Workspace::new(a1.as_ref(), b1.as_ref(), a2.as_ref(), b2.as_ref(), w, 4);
            let f0 = ws.loss(c.as_ref());
            assert!((f0 - objective(&a1, &b1, &a2, &b2, w, &c)).abs() < 1e-12 * f0.max(1.0));
            ws.gradient();
            // directional derivatives along random skew X: d/dt f(C exp(tX)), central differences
            let mut rng = rand::rngs::StdRng::seed_from_u64(5);
            for _ in 0..5 {
                let r = randn(&mut rng, n, n);
                let x = Mat::from_fn(n, n, |i, j| r[(i, j)] - r[(j, i)]);
                let predicted: f64 = (0..n)
                    .flat_map(|j| (0..n).map(move |i| (i, j)))
                    .map(|(i, j)| ws.g[j * n + i] * x[(i, j)])
                    .sum();
                let h = 1e-5;
                // exp(tX) ~ Cay(tX) to second order, which central differences cancel
                let step = |t: f64| {
                    let (mut lu_ws, cc) = (
                        Workspace::new(a1.as_ref(), b1.as_ref(), a2.as_ref(), b2.as_ref(), w, 1),
                        c.clone(),
                    );
                    for jj in 0..n {
                        for ii in 0..n {
                            lu_ws.d[jj * n + ii] = x[(ii, jj)];
                        }
                    }
                    assert!(lu_ws.retract(&cc, t));
                    objective(&a1, &b1, &a2, &b2, w, &lu_ws.c_new)
                };
                let fd = (step(h) - step(-h)) / (2.0 * h);
                assert!(
                    (fd - predicted).abs() < 1e-7 * predicted.abs().max(1.0),
                    "n {n}: fd {fd} vs analytic {predicted}"
                );
            }
        }
    }

    #[test]
    fn euclidean_gradient_of_the_written_out_objective() {
        // the trivialized gradient is skew(C^T G) with G the Euclidean gradient of the
        // objective written with C on the second system; check G entry by entry
        let (n, m, w) = (4, 2, 1.3);
        let (a1, b1, a2, b2) = setup(n, m, 99);
        let c = crate::solver::starts::haar_of_size(n, 9, 0);
        let mut ws = Workspace::new(a1.as_ref(), b1.as_ref(), a2.as_ref(), b2.as_ref(), w, 4);
        ws.loss(c.as_ref());
        ws.gradient();
        let h = 1e-6;
        let mut gfd = Mat::<f64>::zeros(n, n);
        for i in 0..n {
            for j in 0..n {
                let mut cp = c.clone();
                cp[(i, j)] += h;
                let mut cm = c.clone();
                cm[(i, j)] -= h;
                gfd[(i, j)] = (objective(&a1, &b1, &a2, &b2, w, &cp)
                    - objective(&a1, &b1, &a2, &b2, w, &cm))
                    / (2.0 * h);
            }
        }
        let ctg = linalg::mul(c.transpose(), gfd.as_ref());
        for j in 0..n {
            for i in 0..n {
                let sk = 0.5 * (ctg[(i, j)] - ctg[(j, i)]);
                assert!(
                    (sk - ws.g[j * n + i]).abs() < 1e-7,
                    "({i}, {j}): {sk} vs {}",
                    ws.g[j * n + i]
                );
            }
        }
    }

    #[test]
    fn cayley_steps_stay_orthogonal() {
        let (a1, b1, a2, b2) = setup(5, 2, 1);
        let mut ws = Workspace::new(a1.as_ref(), b1.as_ref(), a2.as_ref(), b2.as_ref(), 1.0, 2);
        let c = crate::solver::starts::haar_of_size(5, 0, 1);
        ws.loss(c.as_ref());
        ws.gradient();
        ws.d.copy_from_slice(&ws.g);
        assert!(ws.retract(&c, 3.0));
        let ctc = linalg::mul(ws.c_new.transpose(), ws.c_new.as_ref());
        assert!((&ctc - Mat::<f64>::identity(5, 5)).norm_max() < 1e-13);
    }

    #[test]
    fn descends_and_recovers_conjugate_pairs() {
        for seed in 0..6 {
            let (n, m) = (4, 2);
            let (a, b, _, _) = setup(n, m, 40 + seed);
            let q = crate::solver::starts::haar_of_size(n, seed, seed as usize);
            let a2 = linalg::mul(linalg::mul(q.as_ref(), a.as_ref()).as_ref(), q.transpose());
            let b2 = linalg::mul(q.as_ref(), b.as_ref());
            // no state start: the portfolio alone
            let out = JointDynamics::default()
                .solve(a.as_ref(), b.as_ref(), a2.as_ref(), b2.as_ref(), None)
                .unwrap();
            assert!(out.loss < 1e-20, "seed {seed}: {:?}", out.starts);
            for s in &out.starts {
                assert!(s.loss.is_finite());
            }
        }
    }

    #[test]
    fn weight_zero_is_the_state_objective() {
        let (a1, b1, a2, b2) = setup(3, 1, 7);
        let out = JointDynamics::default()
            .weight(0.0)
            .solve(a1.as_ref(), b1.as_ref(), a2.as_ref(), b2.as_ref(), None)
            .unwrap();
        assert!((out.loss - out.state * out.state).abs() < 1e-12);
        assert!(JointDynamics::default().weight(-1.0).check().is_err());
    }
}
