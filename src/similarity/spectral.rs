//! The spectral score: 2-Wasserstein distance between eigenvalue sets (spec §4.2).

use faer::prelude::*;

use super::Similarity;
use crate::error::{DsaError, Result};
use crate::linalg::{self, c64};
use crate::solver::problem::check_operator;

/// Compare spectra: eigenvalues of `A` and `B` as points in the plane, the smaller set padded
/// with zeros to the same count `n`, cost `|lambda_i - mu_j|^2`, uniform weights `1/n`.
/// The optimal plan is a permutation, found exactly by the Hungarian algorithm:
///
/// ```text
/// W2^2 = (1/n) min_pi sum_i |lambda_i - mu_pi(i)|^2
/// ```
///
/// `W2^2` is the reference's Wasserstein score. Operators are not normalized (as in the
/// reference), need no alignment, and may have different sizes. Eigenvalues far from modulus 1
/// are rescaled (exactly, by a power of two) before squaring, so that `w2` is accurate for any
/// finite operators; if `w2_squared` itself overflows (eigenvalues beyond ~1e154) the
/// comparison is a [`DsaError::Degenerate`] error.
///
/// # Example
/// ```
/// use dsa::{Similarity, SpectralDistance};
/// # fn main() -> dsa::Result<()> {
/// let a = faer::mat![[0.5, 0.0], [0.0, -0.5]];
/// let b = faer::mat![[-0.5, 0.0], [0.0, 0.7]];
/// let s = SpectralDistance.compare(a.as_ref(), b.as_ref())?;
/// assert!((s.w2_squared - 0.04 / 2.0).abs() < 1e-15);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpectralDistance;

/// The result of a [`SpectralDistance`] comparison.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SpectralComparison {
    /// The squared 2-Wasserstein distance (the reference's score).
    pub w2_squared: f64,
    /// The 2-Wasserstein distance, `sqrt(w2_squared)`.
    pub w2: f64,
    /// Eigenvalues of `A`, zero-padded to `n`.
    pub eigenvalues_a: Vec<c64>,
    /// Eigenvalues of `B`, zero-padded to `n`.
    pub eigenvalues_b: Vec<c64>,
    /// The optimal matching: `eigenvalues_a[i]` goes to `eigenvalues_b[matching[i]]`.
    pub matching: Vec<usize>,
}

impl Similarity for SpectralDistance {
    type Output = SpectralComparison;

    fn compare(&self, a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Result<SpectralComparison> {
        check_operator(a, "A")?;
        check_operator(b, "B")?;
        let la = linalg::eigenvalues(a)?;
        let lb = linalg::eigenvalues(b)?;
        let out = wasserstein(la, lb);
        if !out.w2_squared.is_finite() {
            return Err(DsaError::Degenerate {
                what: format!(
                    "the squared Wasserstein distance between the spectra overflows f64 (W2 = {:e}); the score is not scale invariant: divide both operators by the same factor, or use a Procrustes score",
                    out.w2
                ),
            });
        }
        Ok(out)
    }
}

pub(crate) fn wasserstein(mut la: Vec<c64>, mut lb: Vec<c64>) -> SpectralComparison {
    let n = la.len().max(lb.len());
    la.resize(n, c64::new(0.0, 0.0));
    lb.resize(n, c64::new(0.0, 0.0));
    if n == 0 {
        return SpectralComparison {
            w2_squared: 0.0,
            w2: 0.0,
            eigenvalues_a: la,
            eigenvalues_b: lb,
            matching: vec![],
        };
    }
    // eigenvalues far from modulus 1 are scaled by a power of two (exact; 1 for ordinary
    // values) so that the squared costs neither overflow nor underflow; the matching is the
    // same, the distance is scaled back
    let k = linalg::pow2_scale(
        la.iter()
            .chain(&lb)
            .map(|l| l.norm())
            .fold(0.0f64, f64::max),
    );
    let cost: Vec<f64> = (0..n * n)
        .map(|i| ((la[i / n] - lb[i % n]) * k).norm_sqr())
        .collect();
    let matching = crate::assignment::min_cost_assignment(&cost, n);
    let total: f64 = (0..n).map(|i| cost[i * n + matching[i]]).sum();
    let mean = total / n as f64;
    let (w2_squared, w2) = (mean / k / k, mean.sqrt() / k);
    SpectralComparison {
        w2_squared,
        w2,
        eigenvalues_a: la,
        eigenvalues_b: lb,
        matching,
    }
}
