//! Riemannian L-BFGS on `O(n)` with several starts: the crate's default solver.

use std::time::{Duration, Instant};

use faer::prelude::*;

use super::objective::{axpy, cayley_half, dot, scale, Evaluator, Inverter};
use super::starts;
use super::{OrthogonalSolver, SolverOutput, SolverReport, Start, StartOutcome, Termination};
use crate::error::{DsaError, Result};
use crate::linalg::mm;

/// Riemannian L-BFGS over `O(n)` (the default solver).
///
/// Tangent vectors are represented in the Lie algebra (skew matrices `X`, the point moves as
/// `C -> C Cay(t X)` with `Cay(X) = (I - X/2)^-1 (I + X/2)`); the gradient there is
/// `skew(C^T G)`; curvature pairs are kept in that algebra (left-trivialized transport).
/// An Armijo backtracking line search guarantees descent. A local run stops when the gradient
/// norm falls below `max(grad_tol, grad_rtol * sqrt(loss))`, when no step lowers the loss, or
/// at `max_iters`.
///
/// The objective is not convex: two operators that are not conjugate have many local minima
/// (on random pairs at n = 30, nearly every start ends in a different one). The solver
/// therefore runs several starts:
///
/// 1. the spectral alignment start (spec §4.1) to convergence; for conjugate and
///    near-conjugate pairs this is the global optimum, certified when the distance meets the
///    lower bound (to `bound_tol`), and the solve stops there;
/// 2. otherwise the spectral start of the transposed pair, the identity, a reflection,
///    `n_signed` symmetric-part alignments `U_A D U_B^T` (exact for the symmetric parts, with
///    sign patterns `D` chosen to align the skew parts) and `n_random` seeded Haar-random
///    matrices (alternating determinant) are screened by successive halving: `screen_iters`
///    iterations each, then the best quarter gets three times the budget, until at most
///    `4 * n_refine` remain;
/// 3. the best `n_refine` are refined to convergence; optional perturbation hops follow.
///
/// Between 1 and 2, the paper's solver ([`super::CayleyAdam`] at the reference's settings)
/// runs once and its answer is refined by L-BFGS, so that the default is never worse than the
/// paper's method ([`RiemannianLbfgs::paper_start`] turns this off).
///
/// The best point wins; [`SolverReport::starts`] lists every start's outcome.
///
/// Defaults: `n_signed = 16`, `n_random = 16`, `screen_iters = 10`, `n_refine = 3`,
/// `max_iters = 2000`,
/// `grad_tol = 1e-12`, `grad_rtol = 1e-7`, `memory = 8`, `seed = 0`.
///
/// # Example
/// ```
/// use dsa::{OrthogonalSolver, RiemannianLbfgs};
/// # fn main() -> dsa::Result<()> {
/// let solver = RiemannianLbfgs::default().n_random(2).seed(7);
/// let a: faer::Mat<f64> = faer::mat![[0.5, 1.0, 0.0], [0.0, 0.3, 1.0], [0.2, 0.0, 0.1]];
/// let a = &a * (1.0 / a.norm_l2());
/// let out = solver.solve(a.as_ref(), a.as_ref())?;
/// assert!(out.loss < 1e-24 && out.report.converged);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RiemannianLbfgs {
    max_iters: usize,
    grad_tol: f64,
    grad_rtol: f64,
    memory: usize,
    n_random: usize,
    seed: u64,
    bound_tol: f64,
    time_limit: Option<Duration>,
    spectral_start: bool,
    screen_iters: usize,
    n_refine: usize,
    n_hops: usize,
    hop_size: f64,
    n_signed: usize,
    paper_start: Option<super::CayleyAdam>,
}

impl Default for RiemannianLbfgs {
    fn default() -> Self {
        Self {
            max_iters: 2000,
            grad_tol: 1e-12,
            grad_rtol: 1e-7,
            memory: 8,
            n_random: 16,
            seed: 0,
            bound_tol: 1e-10,
            time_limit: None,
            spectral_start: true,
            screen_iters: 10,
            n_refine: 3,
            n_hops: 0,
            hop_size: 0.5,
            n_signed: 16,
            paper_start: Some(super::CayleyAdam::default()),
        }
    }
}

impl RiemannianLbfgs {
    /// Iteration limit per start, screening included (default 2000; the paper start's Adam
    /// iterations are not counted against it).
    #[must_use]
    pub fn max_iters(mut self, n: usize) -> Self {
        self.max_iters = n;
        self
    }
    /// Stop a local run when `||skew(C^T G)||_F <= tol` (default 1e-12; see also `grad_rtol`).
    #[must_use]
    pub fn grad_tol(mut self, tol: f64) -> Self {
        self.grad_tol = tol;
        self
    }
    /// Also stop when `||skew(C^T G)||_F <= rtol * sqrt(loss)` (default 1e-7): the loss is
    /// then within about `rtol^2 * loss` of the local minimum.
    #[must_use]
    pub fn grad_rtol(mut self, rtol: f64) -> Self {
        self.grad_rtol = rtol;
        self
    }
    /// Number of curvature pairs kept (default 8).
    #[must_use]
    pub fn memory(mut self, m: usize) -> Self {
        self.memory = m;
        self
    }
    /// Number of seeded Haar-random starts after the structured ones (default 16).
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
    /// Stop all starts once `distance - lower_bound <= tol` (default 1e-10).
    #[must_use]
    pub fn bound_tol(mut self, tol: f64) -> Self {
        self.bound_tol = tol;
        self
    }
    /// Wall-clock limit for the whole solve (default none). When it triggers the result
    /// depends on timing, and the report says `Termination::TimeLimit`.
    #[must_use]
    pub fn time_limit(mut self, limit: Option<Duration>) -> Self {
        self.time_limit = limit;
        self
    }
    /// Iterations each non-first start gets in the first screening round (default 10).
    #[must_use]
    pub fn screen_iters(mut self, n: usize) -> Self {
        self.screen_iters = n;
        self
    }
    /// How many screened starts are refined to convergence (default 3).
    #[must_use]
    pub fn n_refine(mut self, n: usize) -> Self {
        self.n_refine = n;
        self
    }
    /// Perturbation hops after the starts: the best point is rotated by `Cay(h X)` with `X`
    /// a seeded random skew matrix of unit norm and `h = hop_size`, then descended again; the
    /// better point is kept (default 0 hops, size 0.5).
    #[must_use]
    pub fn hops(mut self, n_hops: usize, hop_size: f64) -> Self {
        self.n_hops = n_hops;
        self.hop_size = hop_size;
        self
    }
    /// Sign patterns tried for the symmetric-part alignment start `U_A D U_B^T` (default 16;
    /// each is a local maximum of the skew-part alignment over `D`).
    #[must_use]
    pub fn n_signed(mut self, k: usize) -> Self {
        self.n_signed = k;
        self
    }
    /// Also start from the paper's solver's answer (default `Some(CayleyAdam::default())`,
    /// 1,000 Adam iterations at learning rate 0.01, the reference's settings), refined by
    /// L-BFGS: the result is then never worse than that solver's. `None` skips it (about twice
    /// as fast on pairs that are not conjugate).
    #[must_use]
    pub fn paper_start(mut self, start: Option<super::CayleyAdam>) -> Self {
        self.paper_start = start;
        self
    }
    /// Use the spectral alignment start (default true; turn off to benchmark without it).
    #[must_use]
    pub fn spectral_start(mut self, on: bool) -> Self {
        self.spectral_start = on;
        self
    }
    /// Only the given random starts, none of the structured ones: for benchmarking and tests.
    ///
    /// # Errors
    /// As [`OrthogonalSolver::solve`].
    pub fn solve_from(
        &self,
        a: MatRef<'_, f64>,
        b: MatRef<'_, f64>,
        c0: MatRef<'_, f64>,
    ) -> Result<SolverOutput> {
        self.check()?;
        if let Some(trivial) = super::validate(self.name(), a, b)? {
            return Ok(trivial);
        }
        if c0.nrows() != a.nrows() || c0.ncols() != a.ncols() || !c0.is_all_finite() {
            return Err(DsaError::ShapeMismatch {
                what: format!(
                    "the start must be a finite {} x {} orthogonal matrix",
                    a.nrows(),
                    a.nrows()
                ),
            });
        }
        let n = a.nrows();
        let mut ws = Workspace::new(n, self.memory);
        let deadline = self.time_limit.map(|d| Instant::now() + d);
        let (a, b) = (a.to_owned(), b.to_owned());
        let run = self.local(&a, &b, c0, &mut ws, deadline, self.max_iters);
        let (a, b) = (a.as_ref(), b.as_ref());
        let gn = super::grad_norm_at(a, b, run.c.as_ref());
        let outcome = StartOutcome {
            start: Start::Given,
            loss: run.loss,
            iterations: run.iters,
            termination: run.term,
        };
        Ok(SolverOutput {
            loss: super::objective::loss(a, b, run.c.as_ref()),
            report: SolverReport {
                solver: self.name(),
                iterations: run.iters,
                termination: run.term,
                converged: converged(run.term, gn),
                grad_norm: gn,
                best_start: Start::Given,
                starts: vec![outcome],
            },
            c: run.c,
        })
    }

    fn check(&self) -> Result<()> {
        if !(self.grad_rtol >= 0.0) {
            return Err(DsaError::param("grad_rtol", "must be >= 0"));
        }
        if !(self.grad_tol >= 0.0) {
            return Err(DsaError::param("grad_tol", "must be >= 0"));
        }
        if !(self.bound_tol >= 0.0) {
            return Err(DsaError::param("bound_tol", "must be >= 0"));
        }
        if self.memory == 0 {
            return Err(DsaError::param("memory", "must be at least 1"));
        }
        Ok(())
    }

    fn local(
        &self,
        a: &Mat<f64>,
        b: &Mat<f64>,
        c0: MatRef<'_, f64>,
        ws: &mut Workspace,
        deadline: Option<Instant>,
        max_iters: usize,
    ) -> LocalRun {
        ws.c.copy_from(c0);
        ws.hist_len = 0;
        ws.hist_start = 0;
        let mut f = ws.ev.loss(a, b, &ws.c);
        ws.ev.gradient(b, &mut ws.g);
        let mut iters = 0;
        let mut term = Termination::MaxIterations;
        let mut since_reortho = 0;
        while iters < max_iters {
            let gn = ws.g.norm_l2();
            if gn <= self.grad_tol.max(self.grad_rtol * f.max(0.0).sqrt()) {
                term = Termination::GradientTolerance;
                break;
            }
            if let Some(dl) = deadline {
                if Instant::now() >= dl {
                    term = Termination::TimeLimit;
                    break;
                }
            }
            // search direction
            let mut have_memory = ws.hist_len > 0;
            ws.direction();
            let mut dg = dot(&ws.d, &ws.g);
            if !(dg < 0.0) {
                ws.reset_to_steepest();
                have_memory = false;
                dg = -gn * gn;
            }
            let mut t = if have_memory {
                1.0
            } else {
                (1.0 / gn).min(1.0)
            };
            let mut accepted = false;
            for _ in 0..60 {
                if !cayley_half(&ws.d, t, &mut ws.tmp, &mut ws.inv, &mut ws.q) {
                    t *= 0.5;
                    continue;
                }
                mm(ws.c_new.as_mut(), ws.c.as_ref(), ws.q.as_ref(), 1.0);
                let f_new = ws.ev.loss(a, b, &ws.c_new);
                if f_new <= f + 1e-4 * t * dg {
                    accepted = f_new < f || (f_new == f && f == 0.0);
                    if f_new < f {
                        f = f_new;
                    }
                    break;
                }
                t *= 0.5;
            }
            if !accepted {
                if have_memory {
                    // retry once with steepest descent
                    ws.hist_len = 0;
                    ws.hist_start = 0;
                    continue;
                }
                term = Termination::Stagnated;
                break;
            }
            std::mem::swap(&mut ws.c, &mut ws.c_new);
            ws.ev.gradient(b, &mut ws.g_new);
            // curvature pair: s = t d, y = g_new - g
            ws.push_pair(t);
            std::mem::swap(&mut ws.g, &mut ws.g_new);
            iters += 1;
            since_reortho += 1;
            if since_reortho >= 25 {
                ws.reorthonormalize();
                f = ws.ev.loss(a, b, &ws.c);
                ws.ev.gradient(b, &mut ws.g);
                since_reortho = 0;
            }
        }
        LocalRun {
            c: ws.c.clone(),
            loss: f,
            iters,
            term,
        }
    }
}

fn converged(term: Termination, grad_norm: f64) -> bool {
    match term {
        Termination::GradientTolerance
        | Termination::LowerBoundReached
        | Termination::ClosedForm => true,
        // no descent possible at machine precision and a gradient at rounding level
        Termination::Stagnated => grad_norm <= 1e-8,
        Termination::MaxIterations | Termination::TimeLimit => false,
    }
}

struct LocalRun {
    c: Mat<f64>,
    loss: f64,
    iters: usize,
    term: Termination,
}

/// All buffers of a solve, allocated once.
struct Workspace {
    ev: Evaluator,
    inv: Inverter,
    tmp: Mat<f64>,
    q: Mat<f64>,
    c: Mat<f64>,
    c_new: Mat<f64>,
    g: Mat<f64>,
    g_new: Mat<f64>,
    d: Mat<f64>,
    s: Vec<Mat<f64>>,
    y: Vec<Mat<f64>>,
    rho: Vec<f64>,
    alpha: Vec<f64>,
    hist_len: usize,
    hist_start: usize,
}

impl Workspace {
    fn new(n: usize, m: usize) -> Self {
        let z = || Mat::<f64>::zeros(n, n);
        Self {
            ev: Evaluator::new(n),
            inv: Inverter::new(n),
            tmp: z(),
            q: z(),
            c: z(),
            c_new: z(),
            g: z(),
            g_new: z(),
            d: z(),
            s: (0..m).map(|_| z()).collect(),
            y: (0..m).map(|_| z()).collect(),
            rho: vec![0.0; m],
            alpha: vec![0.0; m],
            hist_len: 0,
            hist_start: 0,
        }
    }

    fn slot(&self, k: usize) -> usize {
        (self.hist_start + k) % self.s.len()
    }

    /// d = -H g by the two-loop recursion.
    fn direction(&mut self) {
        self.d.copy_from(self.g.as_ref());
        for k in (0..self.hist_len).rev() {
            let i = self.slot(k);
            let a = self.rho[i] * dot(&self.s[i], &self.d);
            self.alpha[i] = a;
            axpy(&mut self.d, -a, &self.y[i]);
        }
        if self.hist_len > 0 {
            let i = self.slot(self.hist_len - 1);
            let yy = dot(&self.y[i], &self.y[i]);
            let gamma = if yy > 0.0 {
                1.0 / (self.rho[i] * yy)
            } else {
                1.0
            };
            scale(&mut self.d, gamma);
        }
        for k in 0..self.hist_len {
            let i = self.slot(k);
            let bcoef = self.rho[i] * dot(&self.y[i], &self.d);
            axpy(&mut self.d, self.alpha[i] - bcoef, &self.s[i]);
        }
        scale(&mut self.d, -1.0);
    }

    fn reset_to_steepest(&mut self) {
        self.hist_len = 0;
        self.hist_start = 0;
        self.d.copy_from(self.g.as_ref());
        scale(&mut self.d, -1.0);
    }

    fn push_pair(&mut self, t: f64) {
        let m = self.s.len();
        let i = if self.hist_len < m {
            self.slot(self.hist_len)
        } else {
            let i = self.hist_start;
            self.hist_start = (self.hist_start + 1) % m;
            self.hist_len -= 1;
            i
        };
        let n = self.d.nrows();
        for c in 0..n {
            let (dc, gn, go) = (
                self.d.col_as_slice(c),
                self.g_new.col_as_slice(c),
                self.g.col_as_slice(c),
            );
            for (r, v) in self.s[i].col_as_slice_mut(c).iter_mut().enumerate() {
                *v = t * dc[r];
            }
            for (r, v) in self.y[i].col_as_slice_mut(c).iter_mut().enumerate() {
                *v = gn[r] - go[r];
            }
        }
        let sy = dot(&self.s[i], &self.y[i]);
        let ns = self.s[i].norm_l2();
        let ny = self.y[i].norm_l2();
        // a pair that fails the curvature condition is not stored
        if sy > 1e-12 * ns * ny && sy.is_finite() {
            self.rho[i] = 1.0 / sy;
            self.hist_len += 1;
        }
    }

    /// One Newton–Schulz step `C <- C (3I - C^T C) / 2` against rounding drift.
    fn reorthonormalize(&mut self) {
        let n = self.c.nrows();
        mm(self.tmp.as_mut(), self.c.transpose(), self.c.as_ref(), -0.5);
        for i in 0..n {
            self.tmp[(i, i)] += 1.5;
        }
        mm(self.c_new.as_mut(), self.c.as_ref(), self.tmp.as_ref(), 1.0);
        std::mem::swap(&mut self.c, &mut self.c_new);
    }
}

impl OrthogonalSolver for RiemannianLbfgs {
    fn name(&self) -> &'static str {
        "riemannian-lbfgs"
    }

    fn solve(&self, a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Result<SolverOutput> {
        if let Some(trivial) = super::validate(self.name(), a, b)? {
            return Ok(trivial);
        }
        self.check()?;
        let n = a.nrows();
        let deadline = self.time_limit.map(|d| Instant::now() + d);
        let bound = crate::similarity::bounds::lower_bound(a, b)?.best();
        let (ao, bo) = (a.to_owned(), b.to_owned());
        let mut ws = Workspace::new(n, self.memory);
        let mut outcomes: Vec<StartOutcome> = Vec::new();
        let mut total_iters = 0;
        // Marks a run that met the certified bound; true when the whole solve should stop
        // (global optimum certified, or out of time).
        let settle = |run: &mut LocalRun| -> bool {
            if run.loss.max(0.0).sqrt() - bound <= self.bound_tol {
                run.term = Termination::LowerBoundReached;
                return true;
            }
            run.term == Termination::TimeLimit
        };

        // structured starts, then seeded random ones
        let mut candidates: Vec<(Start, Mat<f64>)> = Vec::new();
        if self.spectral_start {
            if let Some(c) = starts::spectral_alignment(a, b)? {
                candidates.push((Start::Spectral, c));
            }
            // ||A - C B C^T|| = ||A^T - C B^T C^T||: the transposed pair gives another start
            if let Some(c) = starts::spectral_alignment(a.transpose(), b.transpose())? {
                candidates.push((Start::SpectralTransposed, c));
            }
        }
        candidates.push((Start::Identity, Mat::identity(n, n)));
        candidates.push((Start::Reflection, starts::reflection(n)));
        for (k, c) in starts::signed_symmetric_alignments(a, b, self.n_signed, self.seed)?
            .into_iter()
            .enumerate()
        {
            candidates.push((Start::SignedSymmetric(k), c));
        }
        for r in 0..self.n_random {
            candidates.push((Start::Random(r), starts::haar(n, self.seed, r)));
        }

        let outcome = |run: &LocalRun, start: Start| StartOutcome {
            start,
            loss: run.loss,
            iterations: run.iters,
            termination: run.term,
        };
        let record = |run: LocalRun,
                      start: Start,
                      outcomes: &mut Vec<StartOutcome>,
                      best: &mut (LocalRun, Start)| {
            outcomes.push(outcome(&run, start));
            if run.loss < best.0.loss {
                *best = (run, start);
            }
        };

        // Phase 1: the first start (the spectral one when available; the identity is always a
        // candidate) to convergence; it is exact for conjugate and near-conjugate pairs, and
        // then the bound certifies it.
        let (first, c0) = &candidates[0];
        let mut run = self.local(&ao, &bo, c0.as_ref(), &mut ws, deadline, self.max_iters);
        total_iters += run.iters;
        let mut done = settle(&mut run);
        outcomes.push(outcome(&run, *first));
        let mut best = (run, *first);
        // The paper's solver as one more start, refined by L-BFGS (which only descends): the
        // result is never worse than Cayley + Adam at these settings.
        if !done {
            if let Some(paper) = &self.paper_start {
                let out = paper.solve(a, b)?;
                let adam_iters = out.report.iterations;
                let mut run =
                    self.local(&ao, &bo, out.c.as_ref(), &mut ws, deadline, self.max_iters);
                total_iters += run.iters;
                run.iters += adam_iters;
                if out.loss < run.loss {
                    // cannot happen with a descent method, but keep the better point regardless
                    run.c = out.c;
                    run.loss = out.loss;
                }
                done = settle(&mut run);
                record(run, Start::Paper, &mut outcomes, &mut best);
            }
        }
        // Phase 2: screen the other starts with a few iterations each ...
        if !done && candidates.len() > 1 {
            let mut screened: Vec<(f64, usize, Mat<f64>, usize)> = Vec::new();
            for (k, (_, c0)) in candidates.iter().enumerate().skip(1) {
                let run = self.local(
                    &ao,
                    &bo,
                    c0.as_ref(),
                    &mut ws,
                    deadline,
                    self.screen_iters.min(self.max_iters),
                );
                total_iters += run.iters;
                let timed_out = run.term == Termination::TimeLimit;
                screened.push((run.loss, k, run.c, run.iters));
                if timed_out {
                    done = true;
                    break;
                }
            }
            screened.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
            // successive halving: keep the best quarter, give them three times the budget
            let mut budget = self.screen_iters;
            while screened.len() > 4 * self.n_refine.max(1) && !done {
                let keep = (screened.len() / 4).max(self.n_refine.max(1));
                let dropped: Vec<_> = screened.drain(keep..).collect();
                for (loss, k, _, its) in dropped {
                    outcomes.push(StartOutcome {
                        start: candidates[k].0,
                        loss,
                        iterations: its,
                        termination: Termination::MaxIterations,
                    });
                }
                budget *= 3;
                for item in screened.iter_mut() {
                    let left = budget.min(self.max_iters.saturating_sub(item.3));
                    let run = self.local(&ao, &bo, item.2.as_ref(), &mut ws, deadline, left);
                    total_iters += run.iters;
                    done |= run.term == Termination::TimeLimit;
                    *item = (run.loss, item.1, run.c, item.3 + run.iters);
                }
                screened.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
            }
            // ... and refine the most promising ones to convergence
            for (i, (loss, k, c, its)) in screened.into_iter().enumerate() {
                let start = candidates[k].0;
                if i >= self.n_refine || done {
                    outcomes.push(StartOutcome {
                        start,
                        loss,
                        iterations: its,
                        termination: Termination::MaxIterations,
                    });
                    continue;
                }
                let mut run = self.local(
                    &ao,
                    &bo,
                    c.as_ref(),
                    &mut ws,
                    deadline,
                    self.max_iters.saturating_sub(its),
                );
                total_iters += run.iters;
                run.iters += its;
                done = settle(&mut run);
                record(run, start, &mut outcomes, &mut best);
            }
        }
        // Phase 3: hops: perturb the best point by a random rotation and descend again.
        for h in 0..self.n_hops {
            if done {
                break;
            }
            let cur = &best.0;
            let x = starts::random_skew(n, self.seed ^ 0xA5A5_5A5A, h);
            let mut tmp = Mat::zeros(n, n);
            let mut q = Mat::zeros(n, n);
            if !cayley_half(&x, self.hop_size, &mut tmp, &mut ws.inv, &mut q) {
                continue;
            }
            let c0 = crate::linalg::mul(cur.c.as_ref(), q.as_ref());
            let mut run = self.local(&ao, &bo, c0.as_ref(), &mut ws, deadline, self.max_iters);
            total_iters += run.iters;
            done = settle(&mut run);
            record(run, Start::Hop(h), &mut outcomes, &mut best);
        }
        let (run, start) = best;
        let loss = super::objective::loss(a, b, run.c.as_ref());
        let gn = super::grad_norm_at(a, b, run.c.as_ref());
        super::check_loss(loss)?;
        Ok(SolverOutput {
            c: run.c,
            loss,
            report: SolverReport {
                solver: self.name(),
                iterations: total_iters,
                termination: run.term,
                converged: converged(run.term, gn),
                grad_norm: gn,
                best_start: start,
                starts: outcomes,
            },
        })
    }
}
