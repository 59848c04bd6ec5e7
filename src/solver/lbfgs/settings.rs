//! The settings of [`RiemannianLbfgs`]: the builder, its presets and its checks.

use std::time::Duration;

use crate::error::{DsaError, Result};
use crate::solver::{CayleyAdam, Preconditioner};

/// Riemannian L-BFGS over `O(n)` (the default solver).
///
/// Tangent vectors are represented in the Lie algebra (skew matrices `X`, the point moves as
/// `C -> C Cay(t X)` with `Cay(X) = (I - X/2)^-1 (I + X/2)`); the gradient there is
/// `skew(C^T G)`; curvature pairs are kept in that algebra (left-trivialized transport).
/// By default ([`Preconditioner::Auto`]) the steps are preconditioned for `n <= 40` by the
/// Gauss–Newton matrix of the objective, which cuts the iterations four- to fivefold on the
/// ill-conditioned operators DMD produces; its scale is learned along the way (`H_0 = gamma
/// P^-1`, `gamma` from the curvature seen along each step, after a run's first 10 iterations),
/// which saves another sixth of them. An Armijo backtracking line search guarantees
/// descent. A local run stops when the gradient norm falls below
/// `max(grad_tol, rtol * sqrt(loss))`, when no step lowers the loss, or at `max_iters`.
///
/// The whole search runs in the operators' canonical bases ([`crate::solver::Canonical`],
/// spec §4.4: the eigenbasis of the symmetric part, signed by a rule), on the canonical
/// operators rounded to a fine grid, and its answer is polished on the exact ones and mapped
/// back: every start is defined from the operators alone, so the answer does not depend on the
/// bases they are written in (up to the ties named in `docs/solvers.md`). The identity there is
/// exact for conjugate pairs, and is checked first.
///
/// The objective is not convex: two operators that are not conjugate have many local minima of
/// similar depth (on the reference's pairwise anchor, each start ends in the best basin found
/// by any start on only 5–15% of the pairs). The solver therefore runs a portfolio of starts:
///
/// 0. the spectral alignment start (spec §4.1), the spectral start of the transposed pair and
///    sixteen sign patterns `D` of the symmetric-part alignment `U_A D U_B^T` are checked, in
///    that order, against the certified lower bound: for conjugate pairs one of them is
///    usually exact (the spectral ones for distinct eigenvalues, a sign pattern for distinct
///    eigenvalues of the symmetric part), and the solve stops there without iterating;
/// 1. the spectral start runs (its first step capped at 0.1 rad so that it stays in its
///    basin); for near-conjugate pairs it reaches the global optimum, certified when the
///    distance meets the bound (to `bound_tol`), and the solve stops there: the runs of
///    phase 2, which run beside it, stop and are set aside (the answer and the report are
///    then phase 1's alone, whatever the timing);
/// 2. beside it, in parallel batches, the identity, the transposed spectral start, a
///    reflection and the `n_signed` sign patterns with the lowest loss; then, on the reversed
///    pair `(B, A)` (`||A - C B C^T|| = ||B - C^T A C||`, preconditioned on `A`, the answer
///    transposed), the identity and the reflection again and `n_random` seeded Haar-random
///    starts. The reversed pair gives the same start another descent path, which can end in
///    another basin; then, optionally (when phase 1 neither reached the bound nor ran out of
///    time), the paper's solver ([`RiemannianLbfgs::paper_start`]) refined by L-BFGS, which
///    makes the result never worse than Cayley + Adam's;
/// 3. every start runs to the exploration tolerance `explore_rtol`; the best is polished to
///    `grad_rtol` (its run continued, on the pair it ran on, from its curvature pairs);
/// 4. sign-flip kicks of the incumbent ([`RiemannianLbfgs::kicks`]) until 8 in a row fail to
///    improve it; optional perturbation hops follow.
///
/// The best point wins; [`crate::SolverReport::starts`] lists every start's outcome (the winner's
/// with its polish). Results do not depend on the number of threads, nor on which starts share
/// a batch: each start's run is the same to the last bit whatever else runs beside it (the
/// preconditioner gives every direction the same bits alone or in a group), so changing
/// `n_random` or `n_signed` adds or removes starts without moving the others.
///
/// Defaults: `n_signed = 1`, `n_random` from 15 at `n <= 10` down to 1 at `n = 30` (eight
/// starts in all there) and 0 from `n = 43`, `explore_rtol = 1e-3`,
/// `grad_rtol = 1e-7`, `grad_tol = 1e-12`, `max_iters = 2000`, `memory = 8`, `seed = 0`,
/// kicks with patience 8 (4 above `n = 40`) and at most 32, canonical bases on, no paper
/// start, no hops,
/// [`Preconditioner::Auto`].
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
    pub(super) max_iters: usize,
    pub(super) grad_tol: f64,
    pub(super) grad_rtol: f64,
    pub(super) explore_rtol: f64,
    pub(super) memory: usize,
    pub(super) n_random: Option<usize>,
    pub(super) min_random: usize,
    pub(super) seed: u64,
    pub(super) bound_tol: f64,
    pub(super) time_limit: Option<Duration>,
    pub(super) spectral_start: bool,
    pub(super) n_hops: usize,
    pub(super) hop_size: f64,
    pub(super) n_signed: usize,
    pub(super) paper_start: Option<CayleyAdam>,
    pub(super) preconditioner: Preconditioner,
    pub(super) canonical: bool,
    /// `None`: the size rule of [`RiemannianLbfgs::kicks`]
    pub(super) kick_patience: Option<usize>,
    pub(super) max_kicks: usize,
}

impl Default for RiemannianLbfgs {
    fn default() -> Self {
        Self {
            max_iters: 2000,
            grad_tol: 1e-12,
            grad_rtol: 1e-7,
            explore_rtol: 1e-3,
            memory: 8,
            n_random: None,
            min_random: 0,
            seed: 0,
            bound_tol: 1e-10,
            time_limit: None,
            spectral_start: true,
            n_hops: 0,
            hop_size: 0.5,
            n_signed: 1,
            paper_start: None,
            preconditioner: Preconditioner::Auto,
            canonical: true,
            kick_patience: None,
            max_kicks: 32,
        }
    }
}

impl RiemannianLbfgs {
    /// A wider search: 8 symmetric-part alignments, at least 8 random starts (more where the
    /// default rule gives more), the paper's solver as a start (so never worse than
    /// Cayley + Adam at the reference's settings), 4 hops, and kicks until 16 in a row fail (at
    /// most 128). Three to five times slower than the default on pairs that are not conjugate.
    ///
    /// # Example
    /// ```
    /// use dsa::{OrthogonalSolver, RiemannianLbfgs};
    /// # fn main() -> dsa::Result<()> {
    /// let a: faer::Mat<f64> = faer::mat![[0.6, 0.8], [-0.8, 0.6]];
    /// let out = RiemannianLbfgs::thorough().solve(a.as_ref(), a.transpose())?;
    /// assert!(out.loss >= 0.0);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn thorough() -> Self {
        Self {
            n_signed: 8,
            min_random: 8,
            n_hops: 4,
            paper_start: Some(CayleyAdam::default()),
            kick_patience: Some(16),
            max_kicks: 128,
            ..Self::default()
        }
    }
    /// A lighter search: the structured starts only (the spectral alignment start and that of
    /// the transposed pair, the identity and the reflection on both orientations of the pair),
    /// without the sign-pattern and the random starts (`n_signed(0)`, `n_random(0)`): at most
    /// six starts at every size (fewer when an operator's eigenvectors give no spectral start),
    /// then two rounds of kicks (`kicks(8, 8)`).
    /// Conjugate pairs are found exactly as by the default (phases 0 and 1 are the same); on
    /// pairs that are not, minima are shallower more often. `docs/solvers.md` compares the two
    /// on the reference's pairwise anchor (time, iterations, entries against the reference).
    ///
    /// # Example
    /// ```
    /// use dsa::{OrthogonalSolver, RiemannianLbfgs};
    /// # fn main() -> dsa::Result<()> {
    /// let a: faer::Mat<f64> = faer::mat![[0.5, 1.0, 0.0], [0.0, 0.3, 1.0], [0.2, 0.0, 0.1]];
    /// let a = &a * (1.0 / a.norm_l2());
    /// // a signed permutation of the coordinates: found exactly
    /// let q: faer::Mat<f64> = faer::mat![[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]];
    /// let b = &q * &a * q.transpose();
    /// let out = RiemannianLbfgs::fast().solve(a.as_ref(), b.as_ref())?;
    /// assert!(out.loss < 1e-24);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn fast() -> Self {
        Self {
            n_signed: 0,
            n_random: Some(0),
            kick_patience: Some(8),
            max_kicks: 8,
            ..Self::default()
        }
    }
    /// Iteration limit per start (default 2000; the paper start's Adam iterations are not
    /// counted against it).
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
    /// The final tolerance: the winning start is polished until
    /// `||skew(C^T G)||_F <= rtol * sqrt(loss)` (default 1e-7): the loss is then within about
    /// `rtol^2 * loss` of the local minimum.
    #[must_use]
    pub fn grad_rtol(mut self, rtol: f64) -> Self {
        self.grad_rtol = rtol;
        self
    }
    /// The tolerance every start runs to before the best is polished (default 1e-3, enough to
    /// rank the starts' minima in most cases; values below `grad_rtol` act as `grad_rtol`).
    #[must_use]
    pub fn explore_rtol(mut self, rtol: f64) -> Self {
        self.explore_rtol = rtol;
        self
    }
    /// Number of curvature pairs kept (default 8; 1 to 1024). The final polish of the winner
    /// keeps four times as many (at most 1024): it runs once, near a minimum, where more pairs
    /// cut its iterations.
    #[must_use]
    pub fn memory(mut self, m: usize) -> Self {
        self.memory = m;
        self
    }
    /// Number of seeded Haar-random starts (default: `ceil(1800 / n^2)` clamped to `1..=16`,
    /// minus one, so that small problems, where a start costs little, get more of them: 15 at
    /// `n <= 10`, 4 at `n = 20`, 1 at `n = 30`, none from `n = 43`).
    #[must_use]
    pub fn n_random(mut self, k: usize) -> Self {
        self.n_random = Some(k);
        self
    }

    pub(super) fn random_starts(&self, n: usize) -> usize {
        self.n_random.unwrap_or_else(|| {
            // one fewer than `ceil(1800 / n^2)`: the identity and the reflection on the reversed
            // pair take the place of a random start
            (1800usize.div_ceil((n * n).max(1)).clamp(1, 16) - 1).max(self.min_random)
        })
    }
    /// Seed of the random starts (default 0).
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Stop once `distance - lower_bound <= tol` (default 1e-10).
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
    /// Perturbation hops after the starts: the best point is rotated by `Cay(h X)` with `X`
    /// a seeded random skew matrix of unit norm and `h = hop_size`, then descended again; the
    /// better point is kept (default 0 hops, size 0.5).
    #[must_use]
    pub fn hops(mut self, n_hops: usize, hop_size: f64) -> Self {
        self.n_hops = n_hops;
        self.hop_size = hop_size;
        self
    }
    /// Number of symmetric-part alignment starts `U_A D U_B^T` (default 2; each sign pattern
    /// `D` is a local maximum of the skew-part alignment).
    #[must_use]
    pub fn n_signed(mut self, k: usize) -> Self {
        self.n_signed = k;
        self
    }
    /// Also start from the paper's solver's answer (for example `Some(CayleyAdam::default())`,
    /// 1,000 Adam iterations at learning rate 0.01, the reference's settings), refined by
    /// L-BFGS: the result is then never worse than that solver's. Default `None`: it costs
    /// more than all the other starts together.
    #[must_use]
    pub fn paper_start(mut self, start: Option<CayleyAdam>) -> Self {
        self.paper_start = start;
        self
    }
    /// How steps are preconditioned (default [`Preconditioner::Auto`]: Gauss–Newton for
    /// `n <= 40`).
    #[must_use]
    pub fn preconditioner(mut self, p: Preconditioner) -> Self {
        self.preconditioner = p;
        self
    }
    /// Solve in the operators' canonical bases (default true; spec §4.4, [`crate::solver::Canonical`]):
    /// every start is defined there, so the answer does not depend on the bases the operators
    /// are written in (up to rounding, and to the ties `docs/solvers.md` names). Off, the
    /// portfolio runs on the operators as given (the crate's behaviour before 0.1.0's
    /// invariance work), and the answer can move with their bases when the pair is not
    /// conjugate.
    ///
    /// # Example
    /// ```
    /// use dsa::{OrthogonalSolver, RiemannianLbfgs};
    /// # fn main() -> dsa::Result<()> {
    /// let a: faer::Mat<f64> = faer::mat![[0.5, 1.0, 0.0], [0.0, 0.3, 1.0], [0.2, 0.0, 0.1]];
    /// let b: faer::Mat<f64> = faer::mat![[0.1, 0.0, 0.4], [1.0, 0.2, 0.0], [0.0, 1.0, 0.3]];
    /// let (a, b) = (&a * (1.0 / a.norm_l2()), &b * (1.0 / b.norm_l2()));
    /// let q: faer::Mat<f64> = faer::mat![[0.0, 0.6, 0.8], [1.0, 0.0, 0.0], [0.0, 0.8, -0.6]];
    /// let qa = &q * &a * q.transpose();
    /// let solver = RiemannianLbfgs::default();
    /// let (d1, d2) = (solver.solve(a.as_ref(), b.as_ref())?, solver.solve(qa.as_ref(), b.as_ref())?);
    /// assert!((d1.loss - d2.loss).abs() < 1e-12);
    /// # let _ = RiemannianLbfgs::default().canonical(false);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn canonical(mut self, on: bool) -> Self {
        self.canonical = on;
        self
    }
    /// The effort spent on the incumbent after the portfolio: sign-flip kicks (iterated local
    /// search). Each round flips the signs of one to four seeded vectors of the symmetric-part
    /// eigenbasis of `A` (on the left of `C`) or of `B` (on the right), four kicks a round, and
    /// descends from each; a kick that ends lower becomes the incumbent (polished). The search
    /// stops after `patience` kicks in a row without improvement, after `max` kicks in all, at
    /// the time limit, or when the incumbent meets the certified bound; none runs when the
    /// incumbent's loss is within `1e-10` of the square of the bound, the most a kick could
    /// gain (near-conjugate pairs at small noise). Defaults: patience 8
    /// (two rounds: one on each side) up to `n = 40`, where runs are preconditioned, and 4 (one
    /// round) above, where a run costs several times more; at most 32 kicks (`thorough()`: 16
    /// and 128; `fast()`: 8 and 8 at every size). `patience = 0` turns the kicks off.
    /// [`crate::SolverReport::kicks`] reports what ran.
    ///
    /// A flip keeps the alignment of the symmetric parts (which carries most of the loss) and
    /// changes only how the skew parts are aligned, so a kicked point starts near the
    /// incumbent's basin and often ends in a deeper one nearby; random rotations of the
    /// incumbent of any size did not (`docs/solvers.md`).
    ///
    /// # Example
    /// ```
    /// use dsa::RiemannianLbfgs;
    /// let solver = RiemannianLbfgs::default().kicks(8, 64);
    /// # let _ = solver;
    /// ```
    #[must_use]
    pub fn kicks(mut self, patience: usize, max: usize) -> Self {
        self.kick_patience = Some(patience);
        self.max_kicks = max;
        self
    }
    /// Use the spectral alignment starts (default true; turn off to benchmark without them).
    #[must_use]
    pub fn spectral_start(mut self, on: bool) -> Self {
        self.spectral_start = on;
        self
    }

    /// The kicks' patience at size `n` (see [`RiemannianLbfgs::kicks`]).
    pub(super) fn kick_patience(&self, n: usize) -> usize {
        self.kick_patience
            .unwrap_or(if n <= Preconditioner::AUTO_MAX_N {
                8
            } else {
                4
            })
    }

    /// Whether runs on operators of size `n` are preconditioned by Gauss–Newton.
    pub(super) fn uses_gauss_newton(&self, n: usize) -> bool {
        self.preconditioner.uses_gauss_newton(n)
    }

    /// Every setting in range.
    ///
    /// # Errors
    /// [`DsaError::InvalidParameter`] naming the first setting out of range.
    pub(super) fn check_settings(&self) -> Result<()> {
        if !(self.grad_rtol >= 0.0) {
            return Err(DsaError::param("grad_rtol", "must be >= 0"));
        }
        if !(self.explore_rtol >= 0.0) {
            return Err(DsaError::param("explore_rtol", "must be >= 0"));
        }
        if !(self.hop_size.is_finite()) {
            return Err(DsaError::param("hops", "hop_size must be finite"));
        }
        if !(self.grad_tol >= 0.0) {
            return Err(DsaError::param("grad_tol", "must be >= 0"));
        }
        if !(self.bound_tol >= 0.0) {
            return Err(DsaError::param("bound_tol", "must be >= 0"));
        }
        if self.memory == 0 || self.memory > MAX_MEMORY {
            return Err(DsaError::param(
                "memory",
                format!("must be between 1 and 1024, got {}", self.memory),
            ));
        }
        if let Some(paper) = &self.paper_start {
            paper.check_settings()?;
        }
        Ok(())
    }
}

/// Largest `memory`.
pub(super) const MAX_MEMORY: usize = 1024;
