//! Rank rules (spec §3.2).

/// How the rank `r` of the fit is chosen. At most one rule applies; the result is always capped
/// at the number of available singular values `p` and at the numerical rank of the data.
///
/// # Example
/// ```
/// use dsa::RankRule;
/// let s = [4.0, 2.0, 1.0, 1.0]; // squares 16 4 1 1, cumulative 16/22 20/22 21/22 1
/// assert_eq!(RankRule::ExplainedVariance(0.9).select(&s, (100, 4)), 2);
/// assert_eq!(RankRule::Threshold(1.5).select(&s, (100, 4)), 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RankRule {
    /// All `p` singular values.
    Full,
    /// A given rank `r >= 1`.
    Fixed(usize),
    /// The number of singular values strictly larger than the threshold (at least 1).
    Threshold(f64),
    /// With `c_k = sum_{i<=k} s_i^2 / sum_i s_i^2`: `r = #{k : c_k < q} + 1`.
    ExplainedVariance(f64),
    /// Gavish & Donoho (2014), "The optimal hard threshold for singular values is 4/sqrt(3)",
    /// IEEE Trans. Inf. Theory 60(8): keep `s_i > omega(beta) * median(s)` with
    /// `beta = min(m, n) / max(m, n)` the aspect ratio of the decomposed matrix and
    /// `omega(beta) ~ 0.56 beta^3 - 0.95 beta^2 + 1.82 beta + 1.43` (their eq. (5), the
    /// unknown-noise case). At least 1.
    OptimalHardThreshold,
}

impl RankRule {
    /// The rank this rule picks from descending values `s` of a matrix of shape `shape`
    /// (the shape matters only for the optimal hard threshold), before the numerical-rank cap.
    /// Returns a value in `1..=s.len()` (0 only for an empty `s`).
    #[must_use]
    pub fn select(&self, s: &[f64], shape: (usize, usize)) -> usize {
        let p = s.len();
        if p == 0 {
            return 0;
        }
        let r = match *self {
            RankRule::Full => p,
            RankRule::Fixed(r) => r,
            RankRule::Threshold(t) => s.iter().filter(|&&x| x > t).count(),
            RankRule::ExplainedVariance(q) => {
                // values near the limits of f64 are scaled by a power of two (exact; 1 for
                // ordinary values) so that their squares neither overflow nor underflow
                let k = crate::linalg::pow2_scale(s.iter().fold(0.0f64, |m, x| m.max(x.abs())));
                let total: f64 = s.iter().map(|x| (x * k) * (x * k)).sum();
                if total > 0.0 {
                    let mut c = 0.0;
                    let mut below = 0;
                    for x in s {
                        c += (x * k) * (x * k);
                        if c / total < q {
                            below += 1;
                        }
                    }
                    below + 1
                } else {
                    1
                }
            }
            RankRule::OptimalHardThreshold => {
                let (m, n) = shape;
                let beta = m.min(n) as f64 / m.max(n).max(1) as f64;
                let mut sorted = s.to_vec();
                sorted.sort_by(f64::total_cmp);
                let med = if p % 2 == 1 {
                    sorted[p / 2]
                } else {
                    0.5 * (sorted[p / 2 - 1] + sorted[p / 2])
                };
                let tau = gavish_donoho_omega(beta) * med;
                s.iter().filter(|&&x| x > tau).count()
            }
        };
        r.clamp(1, p)
    }
}

/// Gavish–Donoho `omega(beta)` for unknown noise level (cubic approximation, their eq. (5)).
pub(crate) fn gavish_donoho_omega(beta: f64) -> f64 {
    0.56 * beta.powi(3) - 0.95 * beta * beta + 1.82 * beta + 1.43
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_on_hand_example() {
        let s = [4.0, 2.0, 1.0, 1.0];
        assert_eq!(RankRule::Full.select(&s, (9, 4)), 4);
        assert_eq!(RankRule::Fixed(9).select(&s, (9, 4)), 4);
        assert_eq!(RankRule::Fixed(3).select(&s, (9, 4)), 3);
        assert_eq!(RankRule::Threshold(10.0).select(&s, (9, 4)), 1);
        assert_eq!(RankRule::Threshold(1.0).select(&s, (9, 4)), 2);
        // cumulative: 16/22 = .727, 20/22 = .909, 21/22 = .954, 1
        assert_eq!(RankRule::ExplainedVariance(0.5).select(&s, (9, 4)), 1);
        assert_eq!(RankRule::ExplainedVariance(0.727).select(&s, (9, 4)), 1);
        assert_eq!(RankRule::ExplainedVariance(0.73).select(&s, (9, 4)), 2);
        assert_eq!(RankRule::ExplainedVariance(0.95).select(&s, (9, 4)), 3);
        assert_eq!(RankRule::ExplainedVariance(1.0).select(&s, (9, 4)), 4);
    }

    #[test]
    fn omega_matches_paper_values() {
        // Gavish & Donoho, table: omega(1) ~ 2.858 (approximation gives 2.86)
        assert!((gavish_donoho_omega(1.0) - 2.86).abs() < 1e-12);
        assert!((gavish_donoho_omega(0.0) - 1.43).abs() < 1e-12);
    }
}
