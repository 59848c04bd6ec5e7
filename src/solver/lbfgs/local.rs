//! A local run: L-BFGS from one start (or several in lockstep), its workspace, and the
//! orientation of the pair it runs on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use faer::prelude::*;
use rayon::prelude::*;

use super::memory::{Memory, Warm};
use super::RiemannianLbfgs;
use crate::linalg::mm;
use crate::solver::flat::{dot, scale, unpack_skew, Flat};
use crate::solver::objective::{Evaluator, Retraction};
use crate::solver::precondition::{packed_len, GaussNewton};
use crate::solver::{Start, Termination};

/// Which way round a run sees the pair: `||A - C B C^T|| = ||B - C^T A C||`, so a start can
/// run on `(A, B)` or on the reversed pair `(B, A)` (preconditioned on `A`, its answer
/// transposed back). The path differs (the step multiplies `C` on the other side, the
/// preconditioner is the other operator's), and so can the basin it ends in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Orientation {
    /// On `(A, B)`.
    Forward,
    /// On `(B, A)`, the answer transposed.
    Reversed,
}

/// Where a local run ended.
pub(super) struct LocalRun {
    pub(super) c: Mat<f64>,
    pub(super) loss: f64,
    pub(super) iters: usize,
    pub(super) term: Termination,
    /// the curvature pairs and the scale of `H_0` the run ended with, for the polish
    pub(super) warm: Warm,
    /// the pair it ran on (`c` is transposed back for [`Orientation::Reversed`])
    pub(super) orientation: Orientation,
}

/// A start of the portfolio: its name and its matrix.
pub(super) type Candidate = (Start, Mat<f64>);

/// Largest first step of a run meant to stay local, in radians (Frobenius norm of the skew
/// generator `t X` of the step `C -> C Cay(t X)`).
const MAX_FIRST_STEP: f64 = 0.1;

/// Iterations of a preconditioned run before `H_0 = gamma P^-1` is rescaled
/// ([`Memory::rescale`]). The first iterations decide which basin a start ends in: with `gamma`
/// fixed there, the portfolio ends in the same basins as without rescaling about as often,
/// while rescaling from the first iterations moved some of them (`docs/solvers.md`); the
/// rescaling still saves most of its iterations, which come later.
const GAMMA_WARMUP: usize = 10;

/// All buffers of a local run, allocated once. Tangent vectors are packed skew matrices.
pub(super) struct Workspace<'p> {
    /// Cap the first step of a run (no curvature pairs yet) at `MAX_FIRST_STEP`: for runs meant
    /// to stay in their start's basin (the spectral start, refinements, the polish).
    pub(super) cap_first: bool,
    ev: Evaluator,
    pub(super) retraction: Retraction,
    pc: Option<&'p GaussNewton>,
    tmp: Mat<f64>,
    c: Mat<f64>,
    c_new: Mat<f64>,
    pub(super) g: Vec<f64>,
    pub(super) g_new: Vec<f64>,
    pub(super) d: Vec<f64>,
    d_mat: Flat,
    /// the curvature pairs and the scale of `H_0`
    pub(super) memory: Memory,
}

impl<'p> Workspace<'p> {
    /// Buffers for runs against `b` keeping `m` curvature pairs, preconditioned by `pc`.
    pub(super) fn new(b: MatRef<'_, f64>, m: usize, pc: Option<&'p GaussNewton>) -> Self {
        let n = b.nrows();
        let p = packed_len(n);
        let z = || Mat::<f64>::zeros(n, n);
        Self {
            cap_first: false,
            ev: Evaluator::new(b),
            retraction: Retraction::new(n),
            pc,
            tmp: z(),
            c: z(),
            c_new: z(),
            g: vec![0.0; p],
            g_new: vec![0.0; p],
            d: vec![0.0; p],
            d_mat: Flat::zeros(n),
            memory: Memory::new(m, p),
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

impl RiemannianLbfgs {
    pub(super) fn local(
        &self,
        a: MatRef<'_, f64>,
        c0: MatRef<'_, f64>,
        ws: &mut Workspace<'_>,
        deadline: Option<Instant>,
        max_iters: usize,
        rtol: f64,
    ) -> LocalRun {
        let mut runs = self.local_batch(
            a,
            &[c0],
            std::slice::from_mut(ws),
            deadline,
            max_iters,
            rtol,
            None,
        );
        let mut run = runs.pop().unwrap_or(LocalRun {
            c: c0.to_owned(), // ok: one start gives one run
            loss: f64::INFINITY,
            iters: 0,
            term: Termination::Stagnated,
            warm: Warm::default(),
            orientation: Orientation::Forward,
        });
        run.warm = ws.memory.warm_state();
        run
    }

    /// Local runs from `starts` on the pair `(left, right)`, to the relative tolerance `rtol`:
    /// with the preconditioner `pc` (of `right`), in batches of four (its width) advanced in
    /// lockstep, without it one start per task; batches run in parallel, results in order.
    /// `orientation`: [`Orientation::Reversed`] when the pair is the reversed one, each answer
    /// then transposed back. `stop`: as in [`RiemannianLbfgs::local_batch`].
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run_batches(
        &self,
        left: MatRef<'_, f64>,
        right: MatRef<'_, f64>,
        pc: Option<&GaussNewton>,
        starts: &[Candidate],
        orientation: Orientation,
        deadline: Option<Instant>,
        rtol: f64,
        stop: Option<&AtomicBool>,
    ) -> Vec<(Start, LocalRun)> {
        let width = if pc.is_some() { 4 } else { 1 };
        starts
            .par_chunks(width)
            .flat_map_iter(|batch| {
                let mut wss: Vec<Workspace<'_>> = batch
                    .iter()
                    .map(|_| Workspace::new(right, self.memory, pc))
                    .collect();
                let c0s: Vec<MatRef<'_, f64>> = batch.iter().map(|(_, c)| c.as_ref()).collect();
                let mut runs =
                    self.local_batch(left, &c0s, &mut wss, deadline, self.max_iters, rtol, stop);
                // only the batch's best (the first of equal losses, as the portfolio picks) can
                // win the portfolio: its curvature pairs are kept for the polish
                let key = |x: f64| if x.is_nan() { f64::INFINITY } else { x };
                if let Some((i, _)) = runs
                    .iter()
                    .enumerate()
                    .min_by(|(_, p), (_, q)| key(p.loss).total_cmp(&key(q.loss)))
                {
                    runs[i].warm = wss[i].memory.warm_state();
                }
                batch
                    .iter()
                    .zip(runs)
                    .map(move |((start, _), mut run)| {
                        if orientation == Orientation::Reversed {
                            run.c = run.c.transpose().to_owned();
                            run.orientation = Orientation::Reversed;
                        }
                        (*start, run)
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Local runs from several starts, one workspace each, advanced in lockstep so that the
    /// preconditioner is applied to all their directions at once. When `stop` is set they end
    /// at their next iteration (their results are then set aside by the caller).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn local_batch(
        &self,
        a: MatRef<'_, f64>,
        c0s: &[MatRef<'_, f64>],
        wss: &mut [Workspace<'_>],
        deadline: Option<Instant>,
        max_iters: usize,
        rtol: f64,
        stop: Option<&AtomicBool>,
    ) -> Vec<LocalRun> {
        let k = c0s.len().min(wss.len());
        let pc = wss.first().and_then(|w| w.pc);
        let mut f = vec![0.0; k];
        let mut iters = vec![0usize; k];
        let mut term: Vec<Option<Termination>> = vec![None; k];
        let mut since_reortho = vec![0usize; k];
        let mut active = vec![false; k];
        let mut gnorm = vec![0.0; k];
        // a run whose preconditioned step failed without curvature pairs tries plain steepest
        // descent once before it stagnates
        let mut plain = vec![false; k];
        let mut scratch = pc.map(GaussNewton::scratch).unwrap_or_default();
        for (l, ws) in wss.iter_mut().enumerate().take(k) {
            ws.c.copy_from(c0s[l]);
            if !ws.memory.warm {
                ws.memory.clear();
                ws.memory.gamma = 1.0;
            }
            f[l] = ws.ev.loss(a, ws.c.as_ref());
            ws.ev.gradient(&mut ws.g);
        }
        loop {
            // another run reached the certified optimum: these are set aside
            if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                break;
            }
            let timed_out = deadline.is_some_and(|dl| Instant::now() >= dl);
            for l in 0..k {
                active[l] = false;
                if term[l].is_some() {
                    continue;
                }
                let ws = &mut wss[l];
                let gn = dot(&ws.g, &ws.g).sqrt();
                gnorm[l] = gn;
                term[l] = if gn <= self.grad_tol.max(rtol * f[l].max(0.0).sqrt()) {
                    Some(Termination::GradientTolerance)
                } else if iters[l] >= max_iters {
                    Some(Termination::MaxIterations)
                } else if timed_out {
                    Some(Termination::TimeLimit)
                } else {
                    None
                };
                if term[l].is_none() {
                    // first half of the two-loop recursion: q in `d`
                    ws.memory.first_loop(&ws.g, &mut ws.d);
                    active[l] = true;
                }
            }
            if !active.iter().any(|&x| x) {
                break;
            }
            // H_0: the preconditioner on all directions at once, or the usual scaling
            if let Some(pc) = pc {
                let ds = wss
                    .iter_mut()
                    .zip(active.iter().zip(&plain))
                    .filter(|(_, (&on, &pl))| on && !pl)
                    .map(|(w, _)| w.d.as_mut_slice());
                pc.apply(ds, &mut scratch);
            }
            for l in 0..k {
                if !active[l] {
                    continue;
                }
                let ws = &mut wss[l];
                let gn = gnorm[l];
                let have_memory = ws.memory.has_pairs();
                // a preconditioned step, whose scale `gamma` is learned (`rescale` below)
                let mut preconditioned = pc.is_some() && !plain[l];
                if pc.is_none() {
                    ws.memory.scale_initial(&mut ws.d);
                } else if preconditioned {
                    let g = ws.memory.gamma;
                    scale(&mut ws.d, g);
                }
                ws.memory.second_loop(&mut ws.d);
                let mut t = if have_memory || pc.is_some() {
                    1.0
                } else {
                    (1.0 / gn).min(1.0)
                };
                // a run meant to stay local takes at most a rotation of MAX_FIRST_STEP radians
                // (Frobenius norm of the skew step) before it has curvature pairs: a
                // preconditioned step along a nearly flat direction would jump to another basin
                if ws.cap_first && !have_memory {
                    let dn = dot(&ws.d, &ws.d).sqrt();
                    if t * dn > MAX_FIRST_STEP {
                        t = MAX_FIRST_STEP / dn;
                    }
                }
                let mut dg = dot(&ws.d, &ws.g);
                if !(dg < 0.0) || plain[l] {
                    // steepest descent: after a failed preconditioned step, or if the direction
                    // is not one of descent (cannot happen for a positive definite H)
                    ws.memory.clear();
                    ws.d.copy_from_slice(&ws.g);
                    scale(&mut ws.d, -1.0);
                    t = (1.0 / gn).min(1.0);
                    dg = -gn * gn;
                    preconditioned = false;
                }
                unpack_skew(&ws.d, &mut ws.d_mat);
                let mut accepted = false;
                let f_old = f[l];
                for _ in 0..60 {
                    if !ws.retraction.retract(&ws.c, &ws.d_mat, t, &mut ws.c_new) {
                        t *= 0.5;
                        continue;
                    }
                    let f_new = ws.ev.loss(a, ws.c_new.as_ref());
                    if f_new <= f[l] + 1e-4 * t * dg {
                        accepted = f_new < f[l] || (f_new == f[l] && f[l] == 0.0);
                        if f_new < f[l] {
                            f[l] = f_new;
                        }
                        break;
                    }
                    t *= 0.5;
                }
                if !accepted {
                    if ws.memory.has_pairs() {
                        // retry without the curvature pairs
                        ws.memory.clear();
                    } else if pc.is_some() && !plain[l] {
                        plain[l] = true;
                    } else {
                        term[l] = Some(Termination::Stagnated);
                    }
                    continue;
                }
                if preconditioned && (ws.memory.warm || iters[l] >= GAMMA_WARMUP) {
                    // accepted: `f[l]` is the loss at `t`
                    ws.memory.rescale(t, dg, f_old, f[l]);
                }
                plain[l] = false;
                std::mem::swap(&mut ws.c, &mut ws.c_new);
                ws.ev.gradient(&mut ws.g_new);
                // curvature pair: s = t d, y = g_new - g
                ws.memory.push(t, &ws.d, &ws.g_new, &ws.g);
                std::mem::swap(&mut ws.g, &mut ws.g_new);
                iters[l] += 1;
                since_reortho[l] += 1;
                if since_reortho[l] >= 25 {
                    ws.reorthonormalize();
                    f[l] = ws.ev.loss(a, ws.c.as_ref());
                    ws.ev.gradient(&mut ws.g);
                    since_reortho[l] = 0;
                }
            }
        }
        for ws in wss.iter_mut() {
            ws.memory.warm = false;
        }
        wss.iter()
            .take(k)
            .enumerate()
            .map(|(l, ws)| LocalRun {
                c: ws.c.clone(),
                loss: f[l],
                iters: iters[l],
                term: term[l].unwrap_or(Termination::MaxIterations),
                // filled by the callers that keep it (`local`, `run_batches`)
                warm: Warm::default(),
                orientation: Orientation::Forward,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::starts;

    /// The polish continues from the winner's curvature pairs: loaded into a workspace with
    /// more room, they give the same search direction to the last bit (the same pairs in the
    /// same order, the same `gamma`); into one with less room, the newest ones.
    #[test]
    fn loaded_pairs_give_the_same_direction() {
        let b = Mat::<f64>::identity(4, 4);
        let p = packed_len(4);
        let v = |k: usize, r: usize| -> Vec<f64> {
            (0..p)
                .map(|i| ((i * 3 + k * 7 + r) as f64 * 0.37).sin())
                .collect()
        };
        let mut ws = Workspace::new(b.as_ref(), 3, None);
        // five pairs through a ring of three: the oldest two are dropped, the ring wraps
        for k in 0..5 {
            ws.d = v(k, 0);
            ws.g = v(k, 1);
            ws.g_new = ws.g.iter().zip(&ws.d).map(|(g, d)| g + 2.0 * d).collect();
            ws.memory.push(0.5, &ws.d, &ws.g_new, &ws.g);
        }
        assert_eq!((ws.memory.hist_len, ws.memory.hist_start), (3, 2));
        ws.memory.gamma = 0.37;
        let warm = ws.memory.warm_state();
        let direction = |ws: &mut Workspace<'_>| {
            ws.g = v(9, 2);
            ws.memory.first_loop(&ws.g, &mut ws.d);
            let gamma = ws.memory.gamma;
            scale(&mut ws.d, gamma);
            ws.memory.second_loop(&mut ws.d);
            ws.d.clone()
        };
        let expected = direction(&mut ws);
        let mut bigger = Workspace::new(b.as_ref(), 8, None);
        bigger.memory.load(&warm);
        assert!(bigger.memory.warm && bigger.memory.hist_len == 3 && bigger.memory.gamma == 0.37);
        let got = direction(&mut bigger);
        assert!(got
            .iter()
            .zip(&expected)
            .all(|(x, y)| x.to_bits() == y.to_bits()));
        // less room: the newest two pairs, oldest first
        let mut smaller = Workspace::new(b.as_ref(), 2, None);
        smaller.memory.load(&warm);
        assert_eq!(smaller.memory.hist_len, 2);
        assert_eq!(smaller.memory.s[0], warm.pairs[1].0);
        assert_eq!(smaller.memory.s[1], warm.pairs[2].0);
        // the newest pair is the last one pushed: s = t d
        let newest: Vec<f64> = v(4, 0).iter().map(|d| 0.5 * d).collect();
        assert_eq!(warm.pairs[2].0, newest);
        // a run started on a loaded workspace keeps the pairs; the flag is spent by the run
        let a = Mat::<f64>::identity(4, 4);
        let c0 = Mat::<f64>::identity(4, 4);
        let run =
            RiemannianLbfgs::default().local(a.as_ref(), c0.as_ref(), &mut bigger, None, 10, 1e-7);
        assert!(!bigger.memory.warm && run.loss == 0.0);
        // it stopped at once (a zero gradient), with the three pairs it was given
        assert_eq!((run.iters, run.warm.pairs.len()), (0, 3));
    }

    /// A batch told to stop ends at its next iteration, whatever its tolerance: the runs set
    /// aside when the spectral start's run reaches the certified optimum.
    #[test]
    fn a_stopped_batch_ends_at_once() {
        let n = 6;
        let a = Mat::from_fn(n, n, |i, j| ((i * 7 + j * 3) as f64 * 0.37).sin());
        let b = Mat::from_fn(n, n, |i, j| ((i * 5 + j * 11) as f64 * 0.23).cos());
        let solver = RiemannianLbfgs::default();
        let c0s = [Mat::<f64>::identity(n, n), starts::reflection_of_size(n)];
        let c0r: Vec<MatRef<'_, f64>> = c0s.iter().map(|c| c.as_ref()).collect();
        for (flag, stopped) in [(true, true), (false, false)] {
            let stop = AtomicBool::new(flag);
            let mut wss: Vec<Workspace<'_>> = (0..2)
                .map(|_| Workspace::new(b.as_ref(), 8, None))
                .collect();
            let runs = solver.local_batch(a.as_ref(), &c0r, &mut wss, None, 100, 1e-7, Some(&stop));
            for run in &runs {
                assert_eq!(
                    run.iters == 0,
                    stopped,
                    "stop = {flag}: {} iterations",
                    run.iters
                );
            }
        }
    }
}
