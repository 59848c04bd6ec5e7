//! Rank rules for the driven fits: the crate's [`RankRule`]s, capped at the singular values
//! that exist and at the numerical rank, as the plain DMD fit does.

use crate::error::{DsaError, Result};
use crate::operator::{Dmd, RankInfo, RankRule};

/// Validate a rank rule under the setter's name `name` (the rules are the DMD fit's).
pub(crate) fn check_rule(rule: RankRule, name: &'static str) -> Result<()> {
    match Dmd::params().rank_rule(rule).check() {
        Ok(_) => Ok(()),
        Err(DsaError::InvalidParameter { reason, .. }) => Err(DsaError::param(name, reason)),
        Err(e) => Err(e),
    }
}

/// Singular values that can be inverted: `s_i > eps * s_1 * max(shape)`.
pub(crate) fn numerical_rank(s: &[f64], shape: (usize, usize)) -> usize {
    let Some(&s1) = s.first() else {
        return 0;
    };
    let tol = f64::EPSILON * s1 * shape.0.max(shape.1) as f64;
    s.iter().filter(|&&x| x > tol).count()
}

/// The rank `rule` picks from the descending values `s` of a matrix of shape `shape`, capped
/// at `s.len()` and at the numerical rank (a fixed rank keeps its requested value, so that
/// [`RankInfo::capped`] reports the cap).
pub(crate) fn choose(rule: RankRule, s: &[f64], shape: (usize, usize)) -> RankInfo {
    let requested = match rule {
        RankRule::Fixed(r) => r,
        _ => rule.select(s, shape),
    };
    let numerical_rank = numerical_rank(s, shape);
    let used = requested.min(numerical_rank);
    RankInfo {
        rule,
        requested,
        used,
        available: s.len(),
        numerical_rank,
        capped: used < requested,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_at_numerical_rank() {
        let s = [3.0, 1.0, 1e-20];
        let info = choose(RankRule::Fixed(5), &s, (10, 3));
        assert_eq!((info.requested, info.used, info.available), (5, 2, 3));
        assert!(info.capped);
        let info = choose(RankRule::ExplainedVariance(0.5), &s, (10, 3));
        assert_eq!((info.used, info.capped), (1, false));
    }

    #[test]
    fn invalid_rules_name_the_setter() {
        let err = check_rule(RankRule::Fixed(0), "input_rank").unwrap_err();
        assert!(matches!(
            err,
            DsaError::InvalidParameter {
                name: "input_rank",
                ..
            }
        ));
    }
}
