//! The two-sample permutation test "same dynamics?".
//!
//! Pool the units (trials, or blocks) of both systems; re-split them at random into groups of
//! the original sizes, refit both groups, compare. Under the null hypothesis that both
//! systems' units are draws of one process (the units exchangeable), the observed split is
//! one more random split, so `(b + 1) / (m + 1)` is a valid p-value.

use faer::Mat;

use super::resample::{
    datasets, permutation, resolve_unit, rng, run_jobs, unit_pieces, Fitter, Source, Stream,
};
use super::results::{Design, PermutationTest};
use super::settings::Resampling;
use crate::compare::Dsa;
use crate::error::{DsaError, Result};
use crate::operator::DmdValidParams;

pub(super) fn run(
    settings: &Resampling,
    dsa: &Dsa,
    x: &[Mat<f64>],
    y: &[Mat<f64>],
    permutations: usize,
) -> Result<PermutationTest> {
    if permutations == 0 {
        return Err(DsaError::param(
            "permutations",
            "must be at least 1; the smallest p-value is 1 / (permutations + 1), so use 999 \
             or more to resolve p-values near 0.001",
        ));
    }
    let (dx, dy) = datasets(x, y)?;
    if dx.n_channels() != dy.n_channels() {
        return Err(DsaError::ShapeMismatch {
            what: format!(
                "x has {} channels and y has {}; the permutation test moves trials between the \
                 two systems, so both need the same channels (compare systems with different \
                 channels with bootstrap or noise_ceiling)",
                dx.n_channels(),
                dy.n_channels()
            ),
        });
    }
    let [px, py] = dsa.pair_params(&dx, &dy)?;
    same_params(&px, &py)?;
    let block = resolve_unit(settings.unit_choice(), &dx, &dy, &[px.clone(), py.clone()])?;
    let sx = Source::new(&dx, px, block, "x")?;
    let sy = Source::new(&dy, py, block, "y")?;
    let (nx, ny) = (sx.units.len(), sy.units.len());
    let mut pool = Source::pooled(&sx, &sy);
    drop((sx, sy));
    let fitter = Fitter::prepare(dsa, settings.refit_path(), &mut [&mut pool]);
    let n = nx + ny;
    // The distance is symmetric, but a solver's bits need not be: the group that holds unit
    // 0 (x's first) is always compared first, so that a split and its swap (equal sizes)
    // give the same bits, and the observed split is compared as `Dsa::distance(x, y)` is.
    let eval = |xs: &[usize], ys: &[usize]| -> Result<f64> {
        let (first, second) = if xs.first() == Some(&0) {
            (xs, ys)
        } else {
            (ys, xs)
        };
        let a = fitter.fit(&pool, &unit_pieces(&pool, first))?;
        let b = fitter.fit(&pool, &unit_pieces(&pool, second))?;
        dsa.operator_value(a.as_ref(), b.as_ref())
    };
    let complement = |xs: &[usize]| -> Vec<usize> {
        let mut ys = Vec::with_capacity(n - xs.len());
        let mut it = xs.iter().peekable();
        for u in 0..n {
            if it.peek() == Some(&&u) {
                it.next();
            } else {
                ys.push(u);
            }
        }
        ys
    };
    let splits = binomial_at_most(n, nx, permutations);
    let (observed, null, p_value, exact) = match splits {
        Some(_) => {
            // few enough splits: evaluate every one (the first is the observed split)
            let all = combinations(n, nx);
            let values = run_jobs(dsa, all.len(), |k| eval(&all[k], &complement(&all[k])))?;
            let observed = values[0];
            let b = values.iter().filter(|&&d| d >= observed).count();
            (
                observed,
                values.clone(),
                b as f64 / values.len() as f64,
                true,
            )
        }
        None => {
            let seed = settings.seed_for(dsa);
            let values = run_jobs(dsa, permutations + 1, |k| {
                if k == 0 {
                    let xs: Vec<usize> = (0..nx).collect();
                    return eval(&xs, &complement(&xs));
                }
                let perm = permutation(&mut rng(seed, Stream::Permutation, k - 1), n);
                let mut xs = perm[..nx].to_vec();
                xs.sort_unstable();
                eval(&xs, &complement(&xs))
            })?;
            let observed = values[0];
            let null = values[1..].to_vec();
            let b = null.iter().filter(|&&d| d >= observed).count();
            let p = (b + 1) as f64 / (null.len() + 1) as f64;
            (observed, null, p, false)
        }
    };
    let (fits, exact_fits) = fitter.counts();
    Ok(PermutationTest {
        observed,
        p_value,
        null,
        exact,
        design: Design {
            block_len: block,
            units: (nx, ny),
            refit: fitter.refit(),
            fits,
            exact_fits,
        },
    })
}

/// The permutation test fits every group with one set of DMD parameters (units move between
/// the sides): an error naming the first setting that differs.
fn same_params(px: &DmdValidParams, py: &DmdValidParams) -> Result<()> {
    let differs = if px.n_delays != py.n_delays {
        Some("n_delays")
    } else if px.delay_interval != py.delay_interval {
        Some("delay_interval")
    } else if px.steps_ahead != py.steps_ahead {
        Some("steps_ahead")
    } else if px.lambda.to_bits() != py.lambda.to_bits() {
        Some("lambda")
    } else if px.rank_rule != py.rank_rule {
        Some("rank")
    } else if px.regression != py.regression {
        Some("reduced_rank")
    } else {
        None
    };
    match differs {
        None => Ok(()),
        Some(name) => Err(DsaError::param(
            name,
            format!(
                "x and y resolve to different DMD settings ({px:?} vs {py:?}); the permutation \
                 test moves trials between the two sides and fits every group alike, so give \
                 one value for both sides (with the automatic n_delays, the shortest trials of \
                 x and y may differ too much: set n_delays)"
            ),
        )),
    }
}

/// `C(n, k)` if it is at most `limit`, else `None`.
fn binomial_at_most(n: usize, k: usize, limit: usize) -> Option<usize> {
    let k = k.min(n - k);
    let mut c: u128 = 1;
    for i in 0..k {
        // c * (n - i) / (i + 1) is exact: c * (n - i) is divisible by (i + 1)
        c = c.checked_mul((n - i) as u128)? / (i + 1) as u128;
        if c > limit as u128 {
            return None;
        }
    }
    usize::try_from(c).ok()
}

/// Every `k`-subset of `0..n`, in lexicographic order (the first is `0..k`).
fn combinations(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut c: Vec<usize> = (0..k).collect();
    loop {
        out.push(c.clone());
        // rightmost entry that can still move right
        let Some(i) = (0..k).rev().find(|&i| c[i] < n - k + i) else {
            return out;
        };
        c[i] += 1;
        for j in i + 1..k {
            c[j] = c[j - 1] + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomials_and_combinations() {
        assert_eq!(binomial_at_most(4, 2, 100), Some(6));
        assert_eq!(binomial_at_most(8, 4, 70), Some(70));
        assert_eq!(binomial_at_most(8, 4, 69), None);
        assert_eq!(binomial_at_most(200, 100, usize::MAX), None);
        assert_eq!(binomial_at_most(5, 0, 1), Some(1));
        for (n, k) in [(4, 2), (6, 3), (7, 2), (5, 5)] {
            let all = combinations(n, k);
            assert_eq!(Some(all.len()), binomial_at_most(n, k, usize::MAX));
            assert_eq!(all[0], (0..k).collect::<Vec<_>>());
            assert!(
                all.windows(2).all(|w| w[0] < w[1]),
                "lexicographic, distinct"
            );
            assert!(all
                .iter()
                .all(|c| c.windows(2).all(|p| p[0] < p[1]) && c.iter().all(|&i| i < n)));
        }
    }
}
