//! The L-BFGS memory: a ring of curvature pairs `(s, y, 1 / s'y)`, the two-loop recursion on
//! it, the scale `gamma` of `H_0`, and the warm state a run hands to the polish.

use crate::solver::flat::{axpy, combine, dot, scale};

/// A run's curvature pairs `(s, y, 1 / s'y)`, oldest first, and its `gamma`: the polish of the
/// winning start continues from them instead of starting afresh.
#[derive(Default)]
pub(super) struct Warm {
    pub(super) pairs: Vec<(Vec<f64>, Vec<f64>, f64)>,
    pub(super) gamma: f64,
}

/// The curvature pairs of one run, in a ring of `m` slots, and the scale of `H_0`. Tangent
/// vectors are packed skew matrices.
pub(super) struct Memory {
    pub(super) s: Vec<Vec<f64>>,
    pub(super) y: Vec<Vec<f64>>,
    rho: Vec<f64>,
    alpha: Vec<f64>,
    pub(super) hist_len: usize,
    pub(super) hist_start: usize,
    /// the scale of the preconditioner in `H_0 = gamma P^-1` (see [`Memory::rescale`])
    pub(super) gamma: f64,
    /// The next run continues from the curvature pairs and `gamma` loaded by
    /// [`Memory::load`] (past the warm-up of `gamma`) instead of starting afresh.
    pub(super) warm: bool,
}

impl Memory {
    /// Room for `m` pairs of vectors of length `p`.
    pub(super) fn new(m: usize, p: usize) -> Self {
        Self {
            s: (0..m).map(|_| vec![0.0; p]).collect(),
            y: (0..m).map(|_| vec![0.0; p]).collect(),
            rho: vec![0.0; m],
            alpha: vec![0.0; m],
            hist_len: 0,
            hist_start: 0,
            gamma: 1.0,
            warm: false,
        }
    }

    /// Drops every pair (`gamma` stays).
    pub(super) fn clear(&mut self) {
        self.hist_len = 0;
        self.hist_start = 0;
    }

    /// Whether any pair is held.
    pub(super) fn has_pairs(&self) -> bool {
        self.hist_len > 0
    }

    /// The curvature pairs held, oldest first, and `gamma`.
    pub(super) fn warm_state(&self) -> Warm {
        Warm {
            pairs: (0..self.hist_len)
                .map(|k| {
                    let i = self.slot(k);
                    (self.s[i].clone(), self.y[i].clone(), self.rho[i])
                })
                .collect(),
            gamma: self.gamma,
        }
    }

    /// Makes the next run continue from `warm` (its newest pairs, as many as fit).
    pub(super) fn load(&mut self, warm: &Warm) {
        let m = self.s.len();
        let skip = warm.pairs.len().saturating_sub(m);
        self.hist_start = 0;
        self.hist_len = 0;
        for (s, y, rho) in &warm.pairs[skip..] {
            let i = self.hist_len;
            self.s[i].copy_from_slice(s);
            self.y[i].copy_from_slice(y);
            self.rho[i] = *rho;
            self.hist_len += 1;
        }
        self.gamma = if warm.gamma.is_finite() && warm.gamma > 0.0 {
            warm.gamma
        } else {
            1.0
        };
        self.warm = true;
    }

    fn slot(&self, k: usize) -> usize {
        (self.hist_start + k) % self.s.len()
    }

    /// First half of the two-loop recursion for `d = -H g`: leaves `q` in `d`.
    pub(super) fn first_loop(&mut self, g: &[f64], d: &mut [f64]) {
        d.copy_from_slice(g);
        for k in (0..self.hist_len).rev() {
            let i = self.slot(k);
            let a = self.rho[i] * dot(&self.s[i], d);
            self.alpha[i] = a;
            axpy(d, -a, &self.y[i]);
        }
    }

    /// `H_0 = gamma I` with the usual scaling `s'y / y'y` (without a preconditioner).
    pub(super) fn scale_initial(&self, d: &mut [f64]) {
        if self.hist_len > 0 {
            let i = self.slot(self.hist_len - 1);
            let yy = dot(&self.y[i], &self.y[i]);
            let gamma = if yy > 0.0 {
                1.0 / (self.rho[i] * yy)
            } else {
                1.0
            };
            scale(d, gamma);
        }
    }

    /// Adapts `gamma` in `H_0 = gamma P^-1` after a step accepted at length `t` along `d`
    /// (`dg = d'g < 0`, loss `f0` before, `ft` after): the minimum of the parabola through
    /// `f(0)`, `f'(0)` and `f(t)` is at `t* = -dg t^2 / (2 (ft - f0 - dg t))`, and `gamma`
    /// is multiplied by `t*` (within `[1/3, 3]` per step, `[1e-3, 1e3]` overall), so that the
    /// next full step lands near the minimum along its line. The Gauss–Newton matrix gets the
    /// shape of the Hessian right but not its scale: the residual term it leaves out is large
    /// for operators that are not conjugate, and the best step along the preconditioned
    /// direction varies from pair to pair (`docs/solvers.md` has the figures).
    pub(super) fn rescale(&mut self, t: f64, dg: f64, f0: f64, ft: f64) {
        let curvature = ft - f0 - dg * t;
        let factor = if curvature > 0.0 {
            (-dg * t * t / (2.0 * curvature)).clamp(1.0 / 3.0, 3.0)
        } else {
            // no curvature along the line: as long a step as allowed
            3.0
        };
        if curvature.is_finite() && factor.is_finite() {
            self.gamma = (self.gamma * factor).clamp(1e-3, 1e3);
        }
    }

    /// Second half of the two-loop recursion, after `H_0` was applied to `q`; negates.
    pub(super) fn second_loop(&self, d: &mut [f64]) {
        for k in 0..self.hist_len {
            let i = self.slot(k);
            let bcoef = self.rho[i] * dot(&self.y[i], d);
            axpy(d, self.alpha[i] - bcoef, &self.s[i]);
        }
        scale(d, -1.0);
    }

    /// Stores the curvature pair `s = t d`, `y = g_new - g` (dropping the oldest when the ring
    /// is full); a pair that fails the curvature condition is not kept.
    pub(super) fn push(&mut self, t: f64, d: &[f64], g_new: &[f64], g: &[f64]) {
        let m = self.s.len();
        let i = if self.hist_len < m {
            self.slot(self.hist_len)
        } else {
            let i = self.hist_start;
            self.hist_start = (self.hist_start + 1) % m;
            self.hist_len -= 1;
            i
        };
        self.s[i].copy_from_slice(d);
        scale(&mut self.s[i], t);
        combine(&mut self.y[i], 1.0, g_new, -1.0, g);
        let sy = dot(&self.s[i], &self.y[i]);
        let ns = dot(&self.s[i], &self.s[i]).sqrt();
        let ny = dot(&self.y[i], &self.y[i]).sqrt();
        if sy > 1e-12 * ns * ny && sy.is_finite() {
            self.rho[i] = 1.0 / sy;
            self.hist_len += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a parabola along the line, `gamma` is multiplied by the step to its minimum, within
    /// the per-step bounds, and stays within the overall ones.
    #[test]
    fn rescale_moves_gamma_to_the_minimum_along_the_line() {
        let mut mem = Memory::new(2, 3);
        // f(t) = 1 - 2 t + c t^2 / 2: minimum at t* = 2 / c
        let f = |c: f64, t: f64| 1.0 - 2.0 * t + 0.5 * c * t * t;
        for (c, t, expected) in [
            (4.0, 1.0, 0.5),         // the full step overshoots twice: halve
            (4.0, 0.5, 0.5),         // the same parabola seen from a shorter trial step
            (1.6, 1.0, 1.25),        // too short: lengthen
            (100.0, 1.0, 1.0 / 3.0), // at most a third per step
            (0.1, 1.0, 3.0),         // at most three times
            (-1.0, 1.0, 3.0),        // no curvature: the most growth allowed
        ] {
            mem.gamma = 1.0;
            mem.rescale(t, -2.0, f(c, 0.0), f(c, t));
            assert!(
                (mem.gamma - expected).abs() < 1e-12,
                "c = {c}, t = {t}: {}",
                mem.gamma
            );
        }
        mem.gamma = 1e3;
        mem.rescale(1.0, -2.0, 1.0, f(0.1, 1.0));
        assert_eq!(mem.gamma, 1e3);
        mem.gamma = 1e-3;
        mem.rescale(1.0, -2.0, 1.0, f(100.0, 1.0));
        assert_eq!(mem.gamma, 1e-3);
        // a non-finite trial leaves it alone
        mem.gamma = 0.7;
        mem.rescale(1.0, -2.0, 1.0, f64::NAN);
        assert_eq!(mem.gamma, 0.7);
    }
}
