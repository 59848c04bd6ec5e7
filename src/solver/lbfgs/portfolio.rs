//! The multi-start portfolio of [`RiemannianLbfgs`], phase by phase (see its documentation):
//! structured starts checked against the bound (phase 0), the spectral start's run (phase 1)
//! beside the rest of the portfolio (phase 2), the polish of the winner and the hops (phase 3).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use faer::prelude::*;

use super::local::{Candidate, LocalRun, Orientation, Workspace};
use super::memory::Warm;
use super::RiemannianLbfgs;
use crate::error::Result;
use crate::solver::flat::Flat;
use crate::solver::precondition::GaussNewton;
use crate::solver::{
    converged, grad_norm_at, objective, starts, OrthogonalSolver, PreparedOperator, Problem,
    SolverOutput, SolverReport, Start, StartOutcome, Termination,
};

/// Sign patterns of the symmetric-part alignment generated and checked for an exact start
/// (the best `n_signed` of them by loss are run).
const SIGNED_SCREEN: usize = 16;

/// Kicks run side by side in a round (the width of the preconditioner's batched product).
const KICK_ROUND: usize = 4;

/// A kick must lower the incumbent's loss by this relative amount to replace it: a kicked run,
/// to the exploration tolerance, that returns to the incumbent's own minimum ends a little
/// above it, never this far below.
const KICK_GAIN: f64 = 1e-10;

/// Kicks are skipped when the most they could gain, the incumbent's loss less the square of
/// the certified bound, is below this (in the loss of the normalized pair, below the `1e-9`
/// to which answers are compared): near-conjugate pairs at noise `1e-6` and below.
const KICK_FLOOR: f64 = 1e-10;

/// The polish keeps this many times `memory` curvature pairs: it runs once, near a minimum,
/// where L-BFGS converges only linearly and every pair shortens it (`docs/solvers.md`).
const POLISH_MEMORY_FACTOR: usize = 4;

/// The exact pair behind a search on rounded operators ([`crate::solver::Canonical::search`]),
/// and the certified bound of the exact pair.
pub(super) struct Exact<'p> {
    pub a: MatRef<'p, f64>,
    pub b: MatRef<'p, f64>,
    pub bound: f64,
}

/// What one solve works on: the pair, the certified bound, the deadline and the exploration
/// tolerance.
struct Setup<'s, 'p> {
    solver: &'s RiemannianLbfgs,
    a: MatRef<'p, f64>,
    b: MatRef<'p, f64>,
    /// the certified lower bound on the distance
    bound: f64,
    /// the exact pair when `(a, b)` is a rounded copy of it: certificates are checked there
    exact: Option<&'s Exact<'p>>,
    deadline: Option<Instant>,
    /// the tolerance every start runs to before the best is polished
    explore: f64,
}

impl Setup<'_, '_> {
    /// Whether `c`, with `loss` on the searched pair, meets the certified bound (to
    /// `bound_tol`). On a rounded pair the loss on the exact pair decides, checked when the
    /// rounded one is within the rounding of the bound.
    fn meets_bound(&self, loss: f64, c: MatRef<'_, f64>) -> bool {
        let tol = self.solver.bound_tol;
        let gap = loss.max(0.0).sqrt() - self.bound;
        match self.exact {
            None => gap <= tol,
            Some(exact) => {
                // each operator moved by at most half a grid step per entry
                let slack = self.a.nrows() as f64 * super::super::canonical::GRID;
                gap <= tol + slack
                    && objective::loss(exact.a, exact.b, c).max(0.0).sqrt() - self.bound <= tol
            }
        }
    }

    /// Marks a run that met the certified bound; true when the whole solve should stop
    /// (global optimum certified, or out of time).
    fn settle(&self, run: &mut LocalRun) -> bool {
        if self.meets_bound(run.loss, run.c.as_ref()) {
            run.term = Termination::LowerBoundReached;
            return true;
        }
        run.term == Termination::TimeLimit
    }

    /// The output for a structured start that meets the bound: no iteration needed.
    fn exact(&self, c: Mat<f64>, loss: f64, start: Start) -> Result<SolverOutput> {
        SolverOutput::one_start(
            self.solver.name(),
            self.a,
            self.b,
            c,
            loss,
            start,
            0,
            Termination::LowerBoundReached,
            |_| true,
        )
    }
}

/// The structured starts of phase 0 that did not meet the bound.
struct Structured {
    spectral: Option<Mat<f64>>,
    spectral_t: Option<Mat<f64>>,
    /// sign patterns of the symmetric-part alignment: (loss, index, C), lowest loss first
    signed: Vec<(f64, usize, Mat<f64>)>,
}

/// Every start's outcome so far, the iterations over all starts, and the best run.
struct Tally {
    outcomes: Vec<StartOutcome>,
    total_iters: usize,
    /// the best run, its start, and its index in `outcomes`
    best: (LocalRun, Start, usize),
    /// the solve should stop (certified optimum, or out of time)
    done: bool,
    /// sign-flip kicks run, and those that improved the incumbent
    kicks: usize,
    kicks_improved: usize,
}

fn outcome(run: &LocalRun, start: Start) -> StartOutcome {
    StartOutcome {
        start,
        loss: run.loss,
        iterations: run.iters,
        termination: run.term,
    }
}

/// The preconditioner with `p` as `B` when one is used: the one `p` caches, or else one formed
/// into `own` for this solve.
pub(super) fn preconditioner<'p>(
    uses: bool,
    p: &'p PreparedOperator,
    own: &'p mut Option<GaussNewton>,
) -> Option<&'p GaussNewton> {
    if !uses {
        return None;
    }
    match p.cached_gauss_newton() {
        Ok(pc) => pc,
        Err(()) => {
            *own = GaussNewton::new(p.matrix());
            own.as_ref()
        }
    }
}

impl RiemannianLbfgs {
    /// The whole portfolio on a validated pair of size `n >= 1`; `exact`: the pair `problem`
    /// rounds (see [`Exact`]). `certify_only`: the phases that certify conjugate pairs only
    /// (the identity, the structured starts and the spectral start's run, polished), with no
    /// other start and no kick; for the retry of a near-certified answer, which keeps the
    /// result only if it is certified.
    pub(super) fn solve_portfolio(
        &self,
        problem: &Problem<'_>,
        exact: Option<&Exact<'_>>,
        certify_only: bool,
    ) -> Result<SolverOutput> {
        let (pa, pb) = (problem.a(), problem.b());
        let (a, b) = (pa.matrix(), pb.matrix());
        let n = a.nrows();
        let deadline = self.time_limit.and_then(|d| Instant::now().checked_add(d));
        let bound = match exact {
            Some(e) => e.bound,
            None => problem.lower_bound()?.best(),
        };
        let setup = Setup {
            solver: self,
            a,
            b,
            bound,
            exact,
            deadline,
            explore: self.explore_rtol.max(self.grad_rtol),
        };
        // The identity first: one loss evaluation, exact for conjugate pairs in their canonical
        // bases (their canonical operators are the same).
        let identity = Mat::<f64>::identity(n, n);
        let l = objective::loss(a, b, identity.as_ref());
        if setup.meets_bound(l, identity.as_ref()) {
            return setup.exact(identity, l, Start::Identity);
        }
        // the two operators' spectra and eigenvectors side by side (once per prepared operator;
        // the bounds' spectra are those of the exact pair when there is one)
        let warm = |p: &PreparedOperator| {
            if exact.is_none() {
                p.warm_bounds();
            }
            if self.spectral_start {
                p.warm_starts();
            }
        };
        rayon::join(|| warm(pa), || warm(pb));

        // Phase 0: the structured starts; the first that meets the bound ends the solve.
        let structured = match self.phase0(&setup, problem)? {
            Ok(exact) => return Ok(exact),
            Err(structured) => structured,
        };
        let Structured {
            spectral,
            spectral_t,
            signed,
        } = structured;

        // Phase 1: the spectral alignment start (the identity without it); for near-conjugate
        // pairs it converges to the optimum, and then the bound certifies it.
        let (first, c0) = match spectral {
            Some(c) => (Start::Spectral, c),
            None => (Start::Identity, Mat::identity(n, n)),
        };
        // Both preconditioners (once per prepared operator), formed side by side: that of B for
        // the forward runs, that of A for the reversed ones. One that is not cached is formed
        // here.
        let uses = self.uses_gauss_newton(n);
        let (mut own_pc, mut own_pc_a) = (None, None);
        let (pc, pc_a) = rayon::join(
            || preconditioner(uses, pb, &mut own_pc),
            || preconditioner(uses, pa, &mut own_pc_a),
        );
        let (forward, reversed) = if certify_only {
            (Vec::new(), Vec::new())
        } else {
            self.phase2_starts(n, first, spectral_t, signed)
        };
        let mut ws = Workspace::new(b, self.memory, pc);
        let (run, phase2, certified) = self.phase1_beside_phase2(
            &setup,
            c0.as_ref(),
            &mut ws,
            [pc, pc_a],
            &forward,
            &reversed,
        );
        let mut tally = Tally {
            outcomes: Vec::new(),
            total_iters: 0,
            best: (run, first, 0),
            done: false,
            kicks: 0,
            kicks_improved: 0,
        };
        {
            let run = &mut tally.best.0;
            tally.total_iters = run.iters;
            tally.done = setup.settle(run);
            tally.outcomes.push(outcome(run, first));
        }
        if !certified {
            self.gather_phase2(&setup, problem, pc, phase2, &mut tally)?;
        }

        // Phase 3: polish the winner to the final tolerance, then hops.
        let mut polish_ws: [Option<Workspace<'_>>; 2] = [None, None];
        if !tally.done
            && setup.explore > self.grad_rtol
            && tally.best.0.term == Termination::GradientTolerance
        {
            tally.done = self.polish(&setup, [pc, pc_a], &mut polish_ws, &mut tally);
        }
        if certify_only {
            return self.finish(&setup, tally);
        }
        self.run_kicks(&setup, problem, [pc, pc_a], &mut polish_ws, &mut tally)?;
        self.run_hops(&setup, &mut ws, [pc, pc_a], &mut polish_ws, &mut tally);
        self.finish(&setup, tally)
    }

    /// Phase 0: the structured starts, in order of cost. Each is exact for some conjugate
    /// pairs (the spectral ones for distinct eigenvalues, a sign pattern of the symmetric-part
    /// alignment for distinct eigenvalues of the symmetric part, which covers repeated and
    /// defective spectra); the first that already meets the bound ends the solve (`Ok`), with
    /// no iteration and no preconditioner. Otherwise the starts, for the next phases (`Err`).
    fn phase0(
        &self,
        setup: &Setup<'_, '_>,
        problem: &Problem<'_>,
    ) -> Result<std::result::Result<SolverOutput, Structured>> {
        let (a, b) = (setup.a, setup.b);
        let certified = |c: &Mat<f64>| {
            let l = objective::loss(a, b, c.as_ref());
            setup.meets_bound(l, c.as_ref()).then_some(l)
        };
        // ||A - C B C^T|| = ||A^T - C B^T C^T||: the transposed pair gives another start
        let mut aligned: [Option<Mat<f64>>; 2] = [None, None];
        if self.spectral_start {
            for (k, (transposed, start)) in
                [(false, Start::Spectral), (true, Start::SpectralTransposed)]
                    .into_iter()
                    .enumerate()
            {
                let c = starts::spectral_alignment(problem, transposed)?;
                if let Some(c) = &c {
                    if let Some(l) = certified(c) {
                        return setup.exact(c.clone(), l, start).map(Ok);
                    }
                }
                aligned[k] = c;
            }
        }
        let [spectral, spectral_t] = aligned;
        let mut signed: Vec<(f64, usize, Mat<f64>)> = starts::signed_symmetric_alignments(
            problem,
            self.n_signed.max(SIGNED_SCREEN),
            self.seed,
        )?
        .into_iter()
        .enumerate()
        .map(|(k, c)| (objective::loss(a, b, c.as_ref()), k, c))
        .collect();
        signed.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        if let Some((l, k, c)) = signed.first() {
            if setup.meets_bound(*l, c.as_ref()) {
                return setup
                    .exact(c.clone(), *l, Start::SignedSymmetric(*k))
                    .map(Ok);
            }
        }
        Ok(Err(Structured {
            spectral,
            spectral_t,
            signed,
        }))
    }

    /// The starts of phase 2, forward and reversed. Forward: the identity (unless phase 1 runs
    /// it), the transposed spectral start, a reflection and the `n_signed` sign patterns with
    /// the lowest loss. Reversed: the identity and the reflection again, and the seeded
    /// Haar-random starts. On the reversed pair a start takes another descent path, which can
    /// end in another basin: run both ways, the identity and the reflection, with the random
    /// starts reversed, end in the best basin more often than the same number of starts run one
    /// way (`docs/solvers.md`).
    fn phase2_starts(
        &self,
        n: usize,
        first: Start,
        spectral_t: Option<Mat<f64>>,
        mut signed: Vec<(f64, usize, Mat<f64>)>,
    ) -> (Vec<Candidate>, Vec<Candidate>) {
        let mut forward: Vec<Candidate> = Vec::new();
        if first != Start::Identity {
            forward.push((Start::Identity, Mat::identity(n, n)));
        }
        if let Some(c) = spectral_t {
            forward.push((Start::SpectralTransposed, c));
        }
        forward.push((Start::Reflection, starts::reflection_of_size(n)));
        // the sign patterns with the lowest loss at the start
        signed.truncate(self.n_signed);
        forward.extend(
            signed
                .into_iter()
                .map(|(_, k, c)| (Start::SignedSymmetric(k), c)),
        );
        let mut reversed: Vec<Candidate> = vec![
            (Start::IdentityReversed, Mat::identity(n, n)),
            (Start::ReflectionReversed, starts::reflection_of_size(n)),
        ];
        reversed.extend(
            (0..self.random_starts(n))
                .map(|k| (Start::Random(k), starts::haar_of_size(n, self.seed, k))),
        );
        (forward, reversed)
    }

    /// Phase 1 beside phase 2: the spectral start's run (its first step capped, so that it
    /// stays in its basin) and, in parallel batches, the runs of phase 2. When phase 1 reaches
    /// the certified optimum, the runs of phase 2 stop at their next iteration and are set
    /// aside (`certified`): the answer is then phase 1's, as it would be had phase 2 not run.
    /// Every run is otherwise the same whatever runs beside it, so results do not depend on the
    /// timing.
    #[allow(clippy::type_complexity)]
    fn phase1_beside_phase2(
        &self,
        setup: &Setup<'_, '_>,
        c0: MatRef<'_, f64>,
        ws: &mut Workspace<'_>,
        [pc, pc_a]: [Option<&GaussNewton>; 2],
        forward: &[Candidate],
        reversed: &[Candidate],
    ) -> (LocalRun, Vec<(Start, LocalRun)>, bool) {
        let (a, b) = (setup.a, setup.b);
        let phase1_certified = AtomicBool::new(false);
        ws.cap_first = true;
        let (run, (forward_runs, reversed_runs)) = rayon::join(
            || {
                let run = self.local(a, c0, ws, setup.deadline, self.max_iters, setup.explore);
                if setup.meets_bound(run.loss, run.c.as_ref()) {
                    phase1_certified.store(true, Ordering::Relaxed);
                }
                run
            },
            || {
                let stop = Some(&phase1_certified);
                rayon::join(
                    || {
                        self.run_batches(
                            a,
                            b,
                            pc,
                            forward,
                            Orientation::Forward,
                            setup.deadline,
                            setup.explore,
                            stop,
                        )
                    },
                    || {
                        self.run_batches(
                            b,
                            a,
                            pc_a,
                            reversed,
                            Orientation::Reversed,
                            setup.deadline,
                            setup.explore,
                            stop,
                        )
                    },
                )
            },
        );
        ws.cap_first = false;
        let mut phase2 = forward_runs;
        phase2.extend(reversed_runs);
        (run, phase2, phase1_certified.load(Ordering::Relaxed))
    }

    /// Phase 2's runs into the tally, in order (when phase 1 ran out of time, so did they:
    /// they are kept, and listed, as far as they got), then the paper start if there is time
    /// left.
    fn gather_phase2(
        &self,
        setup: &Setup<'_, '_>,
        problem: &Problem<'_>,
        pc: Option<&GaussNewton>,
        phase2: Vec<(Start, LocalRun)>,
        tally: &mut Tally,
    ) -> Result<()> {
        let paper = if tally.done {
            None
        } else {
            self.paper_start
                .as_ref()
                .map(|p| p.solve_problem(problem))
                .transpose()?
        };
        // (start, run, Adam iterations of the paper start)
        let mut runs: Vec<(Start, LocalRun, usize)> = phase2
            .into_iter()
            .map(|(start, run)| (start, run, 0))
            .collect();
        if let Some(out) = paper {
            // the paper's answer refined by L-BFGS (which only descends): never worse than
            // Cayley + Adam at these settings; its Adam iterations are reported in its outcome
            // but not counted against `max_iters`
            let mut ws = Workspace::new(setup.b, self.memory, pc);
            ws.cap_first = true;
            let mut run = self.local(
                setup.a,
                out.c.as_ref(),
                &mut ws,
                setup.deadline,
                self.max_iters,
                setup.explore,
            );
            if out.loss < run.loss {
                // Adam's own point: the curvature pairs were gathered elsewhere
                run.c = out.c;
                run.loss = out.loss;
                run.warm = Warm::default();
            }
            runs.push((Start::Paper, run, out.report.iterations));
        }
        for (start, mut run, adam) in runs {
            tally.total_iters += run.iters;
            tally.done |= setup.settle(&mut run);
            let mut o = outcome(&run, start);
            o.iterations += adam;
            tally.outcomes.push(o);
            if run.loss < tally.best.0.loss {
                tally.best = (run, start, tally.outcomes.len() - 1);
            }
        }
        Ok(())
    }

    /// Polishes the best run to `grad_rtol` on the pair it ran on (the reversed one for the
    /// starts of the reversed batch), continuing from its curvature pairs and its `gamma`, with
    /// more room for pairs. Returns whether the solve should stop.
    fn polish<'p>(
        &self,
        setup: &Setup<'_, '_>,
        [pc, pc_a]: [Option<&'p GaussNewton>; 2],
        polish_ws: &mut [Option<Workspace<'p>>; 2],
        tally: &mut Tally,
    ) -> bool {
        let best = &mut tally.best;
        let polish_memory = (POLISH_MEMORY_FACTOR * self.memory).min(super::settings::MAX_MEMORY);
        let left = self.max_iters.saturating_sub(best.0.iters);
        let orientation = best.0.orientation;
        let (l, r, p) = match orientation {
            Orientation::Forward => (setup.a, setup.b, pc),
            Orientation::Reversed => (setup.b, setup.a, pc_a),
        };
        let ws = polish_ws[usize::from(orientation == Orientation::Reversed)]
            .get_or_insert_with(|| Workspace::new(r, polish_memory, p));
        ws.memory.load(&best.0.warm);
        ws.cap_first = true;
        // a view: `local` copies it into the workspace
        let c0 = match orientation {
            Orientation::Forward => best.0.c.as_ref(),
            Orientation::Reversed => best.0.c.transpose(),
        };
        let mut run = self.local(l, c0, ws, setup.deadline, left, self.grad_rtol);
        if orientation == Orientation::Reversed {
            run.c = run.c.transpose().to_owned();
        }
        ws.cap_first = false;
        tally.total_iters += run.iters;
        run.iters += best.0.iters;
        let done = setup.settle(&mut run);
        if run.loss <= best.0.loss {
            if let Some(o) = tally.outcomes.get_mut(best.2) {
                o.loss = run.loss;
                o.iterations += run.iters - best.0.iters;
                o.termination = run.term;
            }
            best.0 = run;
        }
        done
    }

    /// Phase 4: sign-flip kicks of the incumbent ([`RiemannianLbfgs::kicks`]), in rounds of
    /// [`KICK_ROUND`] run side by side on the forward pair; the best of a round that ends lower
    /// than the incumbent by more than a relative [`KICK_GAIN`] becomes the incumbent and is
    /// polished. Each kick is drawn from the seed and its index alone, so the search does not
    /// depend on the number of threads.
    fn run_kicks<'p>(
        &self,
        setup: &Setup<'_, '_>,
        problem: &Problem<'_>,
        pcs: [Option<&'p GaussNewton>; 2],
        polish_ws: &mut [Option<Workspace<'p>>; 2],
        tally: &mut Tally,
    ) -> Result<()> {
        let patience = self.kick_patience(setup.a.nrows());
        if patience == 0 || self.max_kicks == 0 || tally.done {
            return Ok(());
        }
        if tally.best.0.loss - setup.bound.max(0.0).powi(2) < KICK_FLOOR {
            return Ok(());
        }
        let (_, ua) = problem.a().sym_eigen()?;
        let (_, ub) = problem.b().sym_eigen()?;
        let mut failed = 0;
        while !tally.done && failed < patience && tally.kicks < self.max_kicks {
            let round: Vec<Candidate> = (tally.kicks
                ..(tally.kicks + KICK_ROUND).min(self.max_kicks))
                .map(|k| {
                    (
                        Start::Kick(k),
                        starts::kick(tally.best.0.c.as_ref(), ua, ub, self.seed, k),
                    )
                })
                .collect();
            tally.kicks += round.len();
            let runs = self.run_batches(
                setup.a,
                setup.b,
                pcs[0],
                &round,
                Orientation::Forward,
                setup.deadline,
                setup.explore,
                None,
            );
            let mut winner: Option<(Start, LocalRun, usize)> = None;
            for (start, mut run) in runs {
                tally.total_iters += run.iters;
                tally.done |= setup.settle(&mut run);
                tally.outcomes.push(outcome(&run, start));
                let deeper = run.loss < tally.best.0.loss * (1.0 - KICK_GAIN);
                if deeper && winner.as_ref().is_none_or(|w| run.loss < w.1.loss) {
                    winner = Some((start, run, tally.outcomes.len() - 1));
                }
            }
            match winner {
                Some((start, run, index)) => {
                    failed = 0;
                    tally.kicks_improved += 1;
                    let polish_it = !tally.done
                        && setup.explore > self.grad_rtol
                        && run.term == Termination::GradientTolerance;
                    tally.best = (run, start, index);
                    if polish_it {
                        tally.done = self.polish(setup, pcs, polish_ws, tally);
                    }
                }
                None => failed += round.len(),
            }
        }
        Ok(())
    }

    /// Perturbation hops from the best point (`n_hops` of them, until the solve is done): the
    /// best point rotated by `Cay(h X)`, `X` a seeded random skew matrix of unit norm, descended
    /// again on the forward pair; a better point is polished.
    fn run_hops<'p>(
        &self,
        setup: &Setup<'_, '_>,
        ws: &mut Workspace<'_>,
        pcs: [Option<&'p GaussNewton>; 2],
        polish_ws: &mut [Option<Workspace<'p>>; 2],
        tally: &mut Tally,
    ) {
        let n = setup.a.nrows();
        for h in 0..self.n_hops {
            if tally.done {
                break;
            }
            let x = starts::random_skew(n, self.seed ^ 0xA5A5_5A5A, h);
            let mut xf = Flat::zeros(n);
            xf.as_mut().copy_from(x.as_ref());
            let mut c0 = Mat::zeros(n, n);
            if !ws
                .retraction
                .retract(&tally.best.0.c, &xf, self.hop_size, &mut c0)
            {
                continue;
            }
            let mut run = self.local(
                setup.a,
                c0.as_ref(),
                ws,
                setup.deadline,
                self.max_iters,
                setup.explore,
            );
            tally.total_iters += run.iters;
            tally.done = setup.settle(&mut run);
            tally.outcomes.push(outcome(&run, Start::Hop(h)));
            if run.loss < tally.best.0.loss {
                let polish_it = !tally.done
                    && setup.explore > self.grad_rtol
                    && run.term == Termination::GradientTolerance;
                tally.best = (run, Start::Hop(h), tally.outcomes.len() - 1);
                if polish_it {
                    tally.done = self.polish(setup, pcs, polish_ws, tally);
                }
            }
        }
    }

    /// The answer: the best run's `C`, its loss and gradient norm recomputed on `(A, B)`, and
    /// the report.
    fn finish(&self, setup: &Setup<'_, '_>, tally: Tally) -> Result<SolverOutput> {
        let (a, b) = (setup.a, setup.b);
        let (run, start, _) = tally.best;
        let loss = objective::loss(a, b, run.c.as_ref());
        let gn = grad_norm_at(a, b, run.c.as_ref());
        crate::solver::check_loss(loss)?;
        let mut term = run.term;
        if term == Termination::GradientTolerance
            && gn > 2.0 * self.grad_tol.max(self.grad_rtol * loss.max(0.0).sqrt())
        {
            // the winner met only the exploration tolerance: the polish was cut short
            term = if setup.deadline.is_some_and(|d| Instant::now() >= d) {
                Termination::TimeLimit
            } else {
                Termination::MaxIterations
            };
        }
        Ok(SolverOutput {
            c: run.c,
            loss,
            report: SolverReport {
                solver: self.name(),
                iterations: tally.total_iters,
                termination: term,
                converged: converged(term, gn),
                grad_norm: gn,
                best_start: start,
                starts: tally.outcomes,
                kicks: tally.kicks,
                kicks_improved: tally.kicks_improved,
            },
        })
    }
}
