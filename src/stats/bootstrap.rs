//! Bootstrap confidence intervals for a distance: resample each system's trials with
//! replacement (or circular blocks of its trajectory), refit, compare.

use faer::Mat;

use super::normal;
use super::resample::{
    circular_blocks, datasets, resolve_unit, rng, run_jobs, unit_pieces, with_replacement, Fitter,
    Piece, Source, Stream,
};
use super::results::{Design, Interval};
use super::settings::{IntervalMethod, Refit, Resampling};
use crate::compare::Dsa;
use crate::error::{DsaError, Result};

pub(super) fn run(
    settings: &Resampling,
    dsa: &Dsa,
    x: &[Mat<f64>],
    y: &[Mat<f64>],
    resamples: usize,
    level: f64,
) -> Result<Interval> {
    if resamples == 0 {
        return Err(DsaError::param(
            "resamples",
            "must be at least 1; use 1000 or more for a 95% interval (2000 for BCa)",
        ));
    }
    if !(level > 0.0 && level < 1.0) {
        return Err(DsaError::param(
            "level",
            format!("must be strictly between 0 and 1 (0.95 for a 95% interval), got {level}"),
        ));
    }
    let (dx, dy) = datasets(x, y)?;
    let [px, py] = dsa.pair_params(&dx, &dy)?;
    let block = resolve_unit(settings.unit_choice(), &dx, &dy, &[px.clone(), py.clone()])?;
    let method = match (settings.interval_method(), block) {
        (IntervalMethod::Auto, None) => IntervalMethod::Bca,
        (IntervalMethod::Auto, Some(_)) => IntervalMethod::Percentile,
        (m, _) => m,
    };
    if method == IntervalMethod::Bca && block.is_some() {
        return Err(DsaError::param(
            "interval",
            "BCa needs independent trials (its acceleration comes from a leave-one-trial-out \
             jackknife); with blocks of one trajectory use IntervalMethod::Percentile",
        ));
    }
    let mut sx = Source::new(&dx, px, block, "x")?;
    let mut sy = Source::new(&dy, py, block, "y")?;
    // circular blocks start anywhere: their rows have no precomputed Gram matrices, and
    // forming them per resample costs more than the exact fit
    let requested = if block.is_some() {
        Refit::Exact
    } else {
        settings.refit_path()
    };
    let fitter = Fitter::prepare(dsa, requested, &mut [&mut sx, &mut sy]);
    let (nx, ny) = (sx.units.len(), sy.units.len());
    let (full_x, full_y) = dsa.run_in_pool(|| {
        rayon::join(
            || fitter.fit(&sx, &sx.trials),
            || fitter.fit(&sy, &sy.trials),
        )
    });
    let (full_x, full_y) = (full_x?, full_y?);
    let estimate = dsa.run_in_pool(|| dsa.operator_value(full_x.as_ref(), full_y.as_ref()))?;
    let draw = |src: &Source, rng: &mut rand::rngs::StdRng| -> Vec<Piece> {
        match block {
            None => unit_pieces(
                src,
                &with_replacement(rng, src.units.len(), src.units.len()),
            ),
            Some(len) => circular_blocks(rng, src, len),
        }
    };
    let jackknife = if method == IntervalMethod::Bca {
        nx + ny
    } else {
        0
    };
    let seed = settings.seed_for(dsa);
    let values = run_jobs(dsa, resamples + jackknife, |k| {
        if k < resamples {
            let mut r = rng(seed, Stream::Bootstrap, k);
            let px = draw(&sx, &mut r);
            let py = draw(&sy, &mut r);
            let a = fitter.fit(&sx, &px)?;
            let b = fitter.fit(&sy, &py)?;
            return dsa.operator_value(a.as_ref(), b.as_ref());
        }
        // leave one trial out: of x first, then of y
        let i = k - resamples;
        let leave = |n: usize, i: usize| -> Vec<usize> { (0..n).filter(|&u| u != i).collect() };
        if i < nx {
            let a = fitter.fit(&sx, &unit_pieces(&sx, &leave(nx, i)))?;
            dsa.operator_value(a.as_ref(), full_y.as_ref())
        } else {
            let b = fitter.fit(&sy, &unit_pieces(&sy, &leave(ny, i - nx)))?;
            dsa.operator_value(full_x.as_ref(), b.as_ref())
        }
    })?;
    let replicates = values[..resamples].to_vec();
    let mut sorted = replicates.clone();
    sorted.sort_by(f64::total_cmp);
    let alpha = (1.0 - level) / 2.0;
    let (lower, upper, z0, a) = match method {
        IntervalMethod::Percentile | IntervalMethod::Auto => (
            quantile(&sorted, alpha),
            quantile(&sorted, 1.0 - alpha),
            None,
            None,
        ),
        IntervalMethod::Bca => {
            let z0 = bias_correction(&replicates, estimate);
            let a = acceleration(
                &values[resamples..resamples + nx],
                &values[resamples + nx..],
            );
            let lo = bca_level(alpha, z0, a);
            let hi = bca_level(1.0 - alpha, z0, a);
            (
                quantile(&sorted, lo),
                quantile(&sorted, hi),
                Some(z0),
                Some(a),
            )
        }
    };
    let (fits, exact_fits) = fitter.counts();
    Ok(Interval {
        estimate,
        lower,
        upper,
        level,
        method,
        replicates,
        bias_correction: z0,
        acceleration: a,
        design: Design {
            block_len: block,
            units: (nx, ny),
            refit: fitter.refit(),
            fits,
            exact_fits,
        },
    })
}

/// The `q`-quantile of sorted values, interpolating linearly between order statistics
/// (Hyndman & Fan's type 7: `h = (n - 1) q`).
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// BCa's `z0 = Phi^-1(share of replicates below the estimate)`, ties counted half; the share
/// is kept within `[1/(2B), 1 - 1/(2B)]` so that `z0` stays finite.
fn bias_correction(replicates: &[f64], estimate: f64) -> f64 {
    let b = replicates.len() as f64;
    let below = replicates.iter().filter(|&&r| r < estimate).count() as f64;
    let ties = replicates.iter().filter(|&&r| r == estimate).count() as f64;
    let share = ((below + 0.5 * ties) / b).clamp(0.5 / b, 1.0 - 0.5 / b);
    normal::quantile(share)
}

/// BCa's acceleration from leave-one-unit-out values of each sample: with the jackknife
/// influence values `l_i = (n - 1) (mean - theta_(-i))` of sample `s` (size `n_s`),
/// `a = sum_s n_s^-3 sum_i l_i^3 / (6 (sum_s n_s^-2 sum_i l_i^2)^(3/2))`: the skewness of the
/// linear approximation of the statistic over both samples (Davison & Hinkley 1997, §5.3 and
/// §3.2 for several samples). 0 when the jackknife values do not vary.
pub(crate) fn acceleration(x: &[f64], y: &[f64]) -> f64 {
    let mut num = 0.0;
    let mut var = 0.0;
    for side in [x, y] {
        let n = side.len() as f64;
        if side.is_empty() {
            continue;
        }
        let mean = side.iter().sum::<f64>() / n;
        let (mut s2, mut s3) = (0.0, 0.0);
        for &t in side {
            let l = (n - 1.0) * (mean - t);
            s2 += l * l;
            s3 += l * l * l;
        }
        num += s3 / (n * n * n);
        var += s2 / (n * n);
    }
    if var > 0.0 {
        num / (6.0 * var.powf(1.5))
    } else {
        0.0
    }
}

/// The level at which BCa reads the replicates for nominal level `alpha`:
/// `Phi(z0 + (z0 + z_alpha) / (1 - a (z0 + z_alpha)))`, 0 or 1 where the denominator is not
/// positive (an acceleration so large that the interval runs to the replicates' extreme).
fn bca_level(alpha: f64, z0: f64, a: f64) -> f64 {
    let num = z0 + normal::quantile(alpha);
    let den = 1.0 - a * num;
    if den <= 0.0 {
        return if num > 0.0 { 1.0 } else { 0.0 };
    }
    normal::cdf(z0 + num / den)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type7_quantiles() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 1.0), 5.0);
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert!((quantile(&v, 0.1) - 1.4).abs() < 1e-15);
        assert_eq!(quantile(&[7.0], 0.3), 7.0);
    }

    #[test]
    fn bca_reduces_to_percentile_without_bias_or_acceleration() {
        for alpha in [0.025, 0.05, 0.5, 0.975] {
            assert!((bca_level(alpha, 0.0, 0.0) - alpha).abs() < 1e-15);
        }
        // z0 > 0 (replicates mostly below the estimate) moves both levels up
        assert!(bca_level(0.025, 0.2, 0.0) > 0.025 && bca_level(0.975, 0.2, 0.0) > 0.975);
        // a huge acceleration saturates instead of wrapping around
        assert_eq!(bca_level(0.975, 0.0, 1.0), 1.0);
    }

    #[test]
    fn acceleration_of_a_mean_is_the_skewness_over_six() {
        // for the mean of one sample the jackknife gives l_i = x_i - mean, so
        // a = sum d^3 / (6 (sum d^2)^(3/2)) with d = x_i - mean
        let xs = [0.1, 0.4, 0.2, 1.5, 0.3, 0.05];
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let loo: Vec<f64> = (0..xs.len())
            .map(|i| (xs.iter().sum::<f64>() - xs[i]) / (n - 1.0))
            .collect();
        let d: Vec<f64> = xs.iter().map(|x| x - mean).collect();
        let want = d.iter().map(|d| d * d * d).sum::<f64>()
            / (6.0 * d.iter().map(|d| d * d).sum::<f64>().powf(1.5));
        assert!((acceleration(&loo, &[]) - want).abs() < 1e-14);
        // a second sample of constant values adds nothing
        assert!((acceleration(&loo, &[2.0, 2.0, 2.0]) - want).abs() < 1e-14);
        assert_eq!(acceleration(&[1.0, 1.0], &[3.0, 3.0]), 0.0);
    }

    #[test]
    fn bias_correction_is_finite() {
        assert!(bias_correction(&[1.0, 2.0], 5.0).is_finite());
        assert_eq!(bias_correction(&[1.0, 3.0], 2.0), 0.0);
        assert_eq!(bias_correction(&[2.0, 2.0], 2.0), 0.0);
    }
}
