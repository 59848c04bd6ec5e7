//! The one place a pair of operators is scored: Procrustes over vector fields (on prepared
//! operators when the caller has them) or the spectral score, by a [`Dsa`]'s score and size
//! policy.

use std::sync::Arc;

use faer::MatRef;

use super::{Dsa, DsaComparison};
use crate::error::{DsaError, Result};
use crate::similarity::{Procrustes, Score, Similarity, SizeMismatch, SpectralDistance};
use crate::solver::PreparedOperator;

/// The outcome of one pair, before it is stored.
pub(super) struct Scored {
    pub(super) comparison: DsaComparison,
    /// the score `value` is: this `Dsa`'s, or the spectral one for a pair that fell back to it
    pub(super) score: Score,
    pub(super) value: f64,
}

impl Dsa {
    /// Whether the pair is compared by Procrustes (as opposed to the spectral score).
    pub(super) fn uses_procrustes(&self, n_a: usize, n_b: usize) -> bool {
        match self.score {
            Score::Wasserstein => false,
            Score::Angular | Score::Euclidean => {
                n_a == n_b || self.size_mismatch != SizeMismatch::Spectral
            }
        }
    }

    /// Size errors are found before any comparison runs, in pair order, so that the error
    /// does not depend on scheduling.
    pub(super) fn check_sizes(
        &self,
        pairs: &[(usize, usize)],
        a: &[MatRef<'_, f64>],
        b: &[MatRef<'_, f64>],
    ) -> Result<()> {
        if self.score == Score::Wasserstein || self.size_mismatch != SizeMismatch::Error {
            return Ok(());
        }
        for &(i, j) in pairs {
            let (na, nb) = (a[i].nrows(), b[j].nrows());
            if na != nb {
                return Err(DsaError::SizeMismatch { a: na, b: nb });
            }
        }
        Ok(())
    }

    /// The Procrustes comparison of this `Dsa`: its solver, and zero-padding if asked for
    /// (sizes that differ are otherwise an error; `SizeMismatch::Spectral` is handled before).
    pub(super) fn procrustes(&self) -> Procrustes {
        let policy = match self.size_mismatch {
            SizeMismatch::ZeroPad => SizeMismatch::ZeroPad,
            _ => SizeMismatch::Error,
        };
        Procrustes::with_shared_solver(Arc::clone(&self.solver)).size_mismatch(policy)
    }

    /// Compare `a` with `b` with this `Dsa`'s score, solver (through `procrustes`, from
    /// [`Dsa::procrustes`]) and size policy. `prepared`: both operators prepared for
    /// Procrustes, whose cached per-operator work is then reused (the same bits); without them
    /// (or where preparing failed, which the unprepared path reports) `a` and `b` are checked
    /// and normalized here.
    pub(super) fn score_pair(
        &self,
        procrustes: &Procrustes,
        a: MatRef<'_, f64>,
        b: MatRef<'_, f64>,
        prepared: Option<(&PreparedOperator, &PreparedOperator)>,
    ) -> Result<Scored> {
        if self.uses_procrustes(a.nrows(), b.nrows()) {
            let cmp = match prepared {
                Some((x, y)) => procrustes.compare_prepared(x, y)?,
                None => procrustes.compare(a, b)?,
            };
            let value = if self.score == Score::Euclidean {
                cmp.euclidean
            } else {
                cmp.angular
            };
            Ok(Scored {
                comparison: DsaComparison::Procrustes(cmp),
                score: self.score,
                value,
            })
        } else {
            let s = SpectralDistance.compare(a, b)?;
            let value = s.w2_squared;
            Ok(Scored {
                comparison: DsaComparison::Spectral(s),
                score: Score::Wasserstein,
                value,
            })
        }
    }
}
