//! The paper's solver: Cayley parameterization trained with Adam.

use faer::prelude::*;

use super::flat::{simd, VectorOp};
use super::objective::{Evaluator, Lu};
use super::precondition::packed_len;
use super::{
    OrthogonalSolver, Problem, SolverOutput, SolverReport, Start, StartOutcome, Termination,
};
use crate::error::{DsaError, Result};
use crate::linalg::mm;

/// Cayley + Adam, faithful to the paper (spec §4.1): `C = (I + S)^-1 (I - S)` with
/// `S = W - W^T`, `W` trained by Adam (`beta1 = 0.9`, `beta2 = 0.999`, `eps = 1e-8`) on
/// `||A - C B C^T||_F^2` for a fixed number of iterations, starting from `W = 0` (`C = I`).
/// As in the reference, it runs twice, on `B` and on `P B P^T` with `P` swapping the first
/// two coordinates (the reflection restart), and keeps the better `C`.
///
/// The gradient is analytic: `G = dL/dC`, `K = -(I + S)^-T G (I + C)^T`, `dL/dW = K - K^T`.
/// Per iteration, one LU inversion gives `Y = (I + S)^-1`; then `C = 2Y - I` and
/// `K = -2 Y^T G Y^T = -2 Y (C^T G) Y^T`.
///
/// Defaults: 1,000 iterations at learning rate 0.01 (the settings of the reference cases);
/// [`CayleyAdam::reference`] gives `SimilarityTransformDist`'s defaults (200, 0.01) and
/// [`CayleyAdam::dsa_class`] the `DSA` class's (1500, 5e-3).
///
/// # Example
/// ```
/// use dsa::{CayleyAdam, OrthogonalSolver};
/// # fn main() -> dsa::Result<()> {
/// let a: faer::Mat<f64> = faer::mat![[0.5, 1.0], [-1.0, 0.3]];
/// let a = &a * (1.0 / a.norm_l2());
/// let out = CayleyAdam::default().iters(300).solve(a.as_ref(), a.as_ref())?;
/// assert!(out.loss < 1e-6);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CayleyAdam {
    iters: usize,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    reflection_restart: bool,
}

impl Default for CayleyAdam {
    fn default() -> Self {
        Self {
            iters: 1000,
            lr: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            reflection_restart: true,
        }
    }
}

impl CayleyAdam {
    /// `SimilarityTransformDist` defaults: 200 iterations, lr 0.01.
    #[must_use]
    pub fn reference() -> Self {
        Self {
            iters: 200,
            ..Self::default()
        }
    }
    /// `DSA` class defaults: 1500 iterations, lr 5e-3.
    #[must_use]
    pub fn dsa_class() -> Self {
        Self {
            iters: 1500,
            lr: 5e-3,
            ..Self::default()
        }
    }
    /// Iterations per run.
    #[must_use]
    pub fn iters(mut self, n: usize) -> Self {
        self.iters = n;
        self
    }
    /// Adam learning rate.
    #[must_use]
    pub fn lr(mut self, lr: f64) -> Self {
        self.lr = lr;
        self
    }
    /// Adam's `beta1`, `beta2`, `eps`.
    #[must_use]
    pub fn adam(mut self, beta1: f64, beta2: f64, eps: f64) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self.eps = eps;
        self
    }
    /// Run the second optimization on `P B P^T` (default true, as the reference).
    #[must_use]
    pub fn reflection_restart(mut self, on: bool) -> Self {
        self.reflection_restart = on;
        self
    }

    /// Every setting in range.
    pub(crate) fn check_settings(&self) -> Result<()> {
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(DsaError::param(
                "lr",
                format!("must be finite and > 0, got {}", self.lr),
            ));
        }
        if !(0.0..1.0).contains(&self.beta1) || !(0.0..1.0).contains(&self.beta2) {
            return Err(DsaError::param("adam", "beta1 and beta2 must be in [0, 1)"));
        }
        if !(self.eps > 0.0) {
            return Err(DsaError::param("adam", "eps must be > 0"));
        }
        Ok(())
    }

    /// One run of Adam from `W = 0`; returns `(C, final loss)`.
    ///
    /// Per iteration: one LU inversion for `Y = (I + S)^-1`, `C = 2Y - I`, the loss and
    /// `H = C^T G` in the rotated frame (two `n x n` products and one `n x 2n` by `2n x n`, see
    /// [`super::objective`]), and `K = -2 Y^T G Y^T = -2 Y H Y^T` (because `Y^T C = Y`): the
    /// work of six `n x n` products.
    ///
    /// `W` stays skew: it starts at 0 and its gradient `K - K^T` is skew, so Adam's moments
    /// are skew (`m1`) and symmetric (`m2`) and each update is skew, entry for entry and bit for
    /// bit (rounding commutes with negation). Only the entries above the diagonal are stored
    /// and updated, packed column by column; `S = W - W^T` has `S_ij = 2 W_ij`.
    fn run(&self, a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> (Mat<f64>, f64) {
        let n = a.nrows();
        let z = || Mat::<f64>::zeros(n, n);
        let len = packed_len(n);
        let (mut w, mut m1, mut m2, mut gw) = (
            vec![0.0; len],
            vec![0.0; len],
            vec![0.0; len],
            vec![0.0; len],
        );
        let (mut y, mut c, mut t2, mut k) = (z(), z(), z(), z());
        let mut inv = Lu::new(n);
        let mut ev = Evaluator::new(b);
        let mut bt1 = 1.0;
        let mut bt2 = 1.0;
        for _ in 0..self.iters {
            if !cayley_packed_into(&w, &mut inv, &mut y, &mut c) {
                break;
            }
            ev.loss(a, c.as_ref());
            // K = -2 Y H Y^T with H = C^T G; dL/dW = K - K^T
            mm(t2.as_mut(), y.as_ref(), ev.ctg(), 1.0);
            mm(k.as_mut(), t2.as_ref(), y.transpose(), -2.0);
            bt1 *= self.beta1;
            bt2 *= self.beta2;
            let mut idx = 0;
            for j in 1..n {
                let (kcol, g) = (k.col_as_slice(j), &mut gw[idx..idx + j]);
                for (i, (g, kij)) in g.iter_mut().zip(kcol).enumerate() {
                    *g = kij - k[(j, i)];
                }
                idx += j;
            }
            simd(AdamStep {
                g: &gw,
                m1: &mut m1,
                m2: &mut m2,
                w: &mut w,
                beta1: self.beta1,
                beta2: self.beta2,
                step: self.lr / (1.0 - bt1),
                inv_sqrt_c2: 1.0 / (1.0 - bt2).sqrt(),
                eps: self.eps,
            });
        }
        // the C of the final parameters
        cayley_packed_into(&w, &mut inv, &mut y, &mut c);
        let loss = super::objective::loss(a, b, c.as_ref());
        (c, loss)
    }
}

/// `Y = (I + S)^-1` and `C = 2Y - I` for the skew `S` with `S_ij = 2 w_ij` above the
/// diagonal (`w` packed column by column), as [`super::objective::cayley_into`] does for
/// `S = W - W^T`. `false` (leaving `C` as it was) if `I + S` cannot be inverted.
fn cayley_packed_into(w: &[f64], lu: &mut Lu, y: &mut Mat<f64>, c: &mut Mat<f64>) -> bool {
    let n = y.nrows();
    let st = lu.stride;
    let (m, _) = lu.buffers_mut();
    // column j of I + S: S_ij = 2 w_ij above the diagonal, S_ij = -2 w_ji below it
    let mut top = 0;
    for j in 0..n {
        let mc = &mut m[j * st..j * st + n];
        for i in 0..j {
            let s = w[top + i] + w[top + i];
            // `0 + s`, as `I + S` (the same signed zeros)
            mc[i] = 0.0 + s;
        }
        mc[j] = 1.0;
        // w_ji sits at index j + i (i - 1) / 2 for i > j
        for i in j + 1..n {
            let v = w[i * (i - 1) / 2 + j];
            mc[i] = 0.0 + (-v - v);
        }
        top += j;
    }
    lu.cayley_out(y, c)
}

/// One Adam update of the packed parameters, `m1` and `m2` the moment estimates, PyTorch's
/// formula up to rounding: `w -= step (u / (sqrt(v) / sqrt(c2) + eps))` with `step = lr / c1`,
/// `c1 = 1 - beta1^t` and `c2 = 1 - beta2^t` the bias corrections (`inv_sqrt_c2 = 1 / sqrt(c2)`
/// multiplies, where PyTorch divides: one division per entry instead of two).
struct AdamStep<'a> {
    g: &'a [f64],
    m1: &'a mut [f64],
    m2: &'a mut [f64],
    w: &'a mut [f64],
    beta1: f64,
    beta2: f64,
    step: f64,
    inv_sqrt_c2: f64,
    eps: f64,
}

impl VectorOp for AdamStep<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let (b1, b2) = (self.beta1, self.beta2);
        for (((g, m1), m2), w) in self
            .g
            .iter()
            .zip(self.m1.iter_mut())
            .zip(self.m2.iter_mut())
            .zip(self.w.iter_mut())
        {
            let u = b1 * *m1 + (1.0 - b1) * g;
            let v = b2 * *m2 + (1.0 - b2) * g * g;
            *m1 = u;
            *m2 = v;
            *w -= self.step * (u / (v.sqrt() * self.inv_sqrt_c2 + self.eps));
        }
    }
}

impl OrthogonalSolver for CayleyAdam {
    fn name(&self) -> &'static str {
        "cayley-adam"
    }

    fn check(&self) -> Result<()> {
        self.check_settings()
    }

    /// Settings are checked again here (a few comparisons): a direct call with invalid
    /// settings is an error, not a panic.
    fn solve_problem(&self, problem: &Problem<'_>) -> Result<SolverOutput> {
        if problem.size() == 0 {
            return Ok(SolverOutput::empty(self.name()));
        }
        self.check_settings()?;
        let (a, b) = (problem.a().matrix(), problem.b().matrix());
        let n = a.nrows();
        let swap = self.reflection_restart && n > 1;
        let first = || self.run(a, b);
        let second = || {
            if swap {
                // P B P^T with P swapping coordinates 0 and 1; C = C' P
                let mut p = Mat::<f64>::identity(n, n);
                p[(0, 0)] = 0.0;
                p[(1, 1)] = 0.0;
                p[(0, 1)] = 1.0;
                p[(1, 0)] = 1.0;
                let pb = crate::linalg::mul(p.as_ref(), b);
                let pbp = crate::linalg::mul(pb.as_ref(), p.transpose());
                let (c, _) = self.run(a, pbp.as_ref());
                let c = crate::linalg::mul(c.as_ref(), p.as_ref());
                let loss = super::objective::loss(a, b, c.as_ref());
                Some((c, loss))
            } else {
                None
            }
        };
        let ((c1, l1), second) = rayon::join(first, second);
        let mut starts = vec![StartOutcome {
            start: Start::Identity,
            loss: l1,
            iterations: self.iters,
            termination: Termination::MaxIterations,
        }];
        let (c, loss, best_start) = match second {
            Some((c2, l2)) => {
                starts.push(StartOutcome {
                    start: Start::Swap,
                    loss: l2,
                    iterations: self.iters,
                    termination: Termination::MaxIterations,
                });
                if l2 < l1 {
                    (c2, l2, Start::Swap)
                } else {
                    (c1, l1, Start::Identity)
                }
            }
            None => (c1, l1, Start::Identity),
        };
        let gn = super::grad_norm_at(a, b, c.as_ref());
        super::check_loss(loss)?;
        Ok(SolverOutput {
            c,
            loss,
            report: SolverReport {
                solver: self.name(),
                iterations: self.iters * starts.len(),
                termination: Termination::MaxIterations,
                converged: gn <= 1e-8,
                grad_norm: gn,
                best_start,
                starts,
                kicks: 0,
                kicks_improved: 0,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packed_cayley_map_is_the_full_one_bit_for_bit() {
        for n in [1usize, 2, 5, 13, 30] {
            let len = packed_len(n);
            let w: Vec<f64> = (0..len).map(|k| (k as f64 * 0.37).sin() * 1.7).collect();
            // the full skew W with those entries above the diagonal
            let mut full = Mat::<f64>::zeros(n, n);
            let mut k = 0;
            for j in 1..n {
                for i in 0..j {
                    full[(i, j)] = w[k];
                    full[(j, i)] = -w[k];
                    k += 1;
                }
            }
            let (mut y, mut c) = (Mat::zeros(n, n), Mat::zeros(n, n));
            assert!(cayley_packed_into(&w, &mut Lu::new(n), &mut y, &mut c));
            let expected = super::super::objective::cayley(full.as_ref());
            // Y is the inverse of I + S (S = W - W^T), unscrambled from the LU's row swaps
            let ips = Mat::from_fn(n, n, |i, j| {
                full[(i, j)] - full[(j, i)] + if i == j { 1.0 } else { 0.0 }
            });
            let err = (&y * &ips - Mat::<f64>::identity(n, n)).norm_max();
            assert!(err < 1e-12, "n = {n}: Y (I + S) - I = {err:e}");
            for j in 0..n {
                for i in 0..n {
                    assert_eq!(c[(i, j)].to_bits(), expected[(i, j)].to_bits(), "n = {n}");
                    let e = if i == j { 1.0 } else { 0.0 };
                    assert_eq!(c[(i, j)].to_bits(), (2.0 * y[(i, j)] - e).to_bits());
                }
            }
        }
    }
}
