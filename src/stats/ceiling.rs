//! The noise ceiling: the distance that estimation noise alone produces, from split halves of
//! each system's own units, beside the distance between the systems.

use faer::Mat;

use super::resample::{
    datasets, permutation, resolve_unit, rng, run_jobs, unit_pieces, Fitter, Source, Stream,
};
use super::results::{Design, NoiseCeiling, SplitHalf};
use super::settings::Resampling;
use crate::compare::Dsa;
use crate::error::{DsaError, Result};

pub(super) fn run(
    settings: &Resampling,
    dsa: &Dsa,
    x: &[Mat<f64>],
    y: &[Mat<f64>],
    splits: usize,
) -> Result<NoiseCeiling> {
    if splits == 0 {
        return Err(DsaError::param(
            "splits",
            "must be at least 1; 20 to 50 random splits average out the choice of halves",
        ));
    }
    let (dx, dy) = datasets(x, y)?;
    let [px, py] = dsa.pair_params(&dx, &dy)?;
    let block = resolve_unit(settings.unit_choice(), &dx, &dy, &[px.clone(), py.clone()])?;
    let mut sx = Source::new(&dx, px, block, "x")?;
    let mut sy = Source::new(&dy, py, block, "y")?;
    let fitter = Fitter::prepare(dsa, settings.refit_path(), &mut [&mut sx, &mut sy]);
    let (nx, ny) = (sx.units.len(), sy.units.len());
    let seed = settings.seed_for(dsa);
    // job 0: all the data; job i: split i - 1
    let values = run_jobs(dsa, splits + 1, |k| {
        if k == 0 {
            let a = fitter.fit(&sx, &sx.trials)?;
            let b = fitter.fit(&sy, &sy.trials)?;
            let d = dsa.operator_value(a.as_ref(), b.as_ref())?;
            let all = SplitHalf {
                within_x: d,
                within_y: d,
                between: d,
            };
            return Ok((all, d * d));
        }
        let mut r = rng(seed, Stream::Ceiling, k - 1);
        let halves = |src: &Source, r: &mut rand::rngs::StdRng| -> Result<[Mat<f64>; 2]> {
            let n = src.units.len();
            let perm = permutation(r, n);
            let (mut a, mut b) = (perm[..n / 2].to_vec(), perm[n / 2..].to_vec());
            a.sort_unstable();
            b.sort_unstable();
            Ok([
                fitter.fit(src, &unit_pieces(src, &a))?,
                fitter.fit(src, &unit_pieces(src, &b))?,
            ])
        };
        let [xa, xb] = halves(&sx, &mut r)?;
        let [ya, yb] = halves(&sy, &mut r)?;
        let d = |a: &Mat<f64>, b: &Mat<f64>| dsa.operator_value(a.as_ref(), b.as_ref());
        let cross = [d(&xa, &ya)?, d(&xa, &yb)?, d(&xb, &ya)?, d(&xb, &yb)?];
        let split = SplitHalf {
            within_x: d(&xa, &xb)?,
            within_y: d(&ya, &yb)?,
            between: cross.iter().sum::<f64>() / 4.0,
        };
        Ok((split, cross.iter().map(|c| c * c).sum::<f64>() / 4.0))
    })?;
    let distance = values[0].0.between;
    let per_split: Vec<SplitHalf> = values[1..].iter().map(|v| v.0).collect();
    let m = per_split.len() as f64;
    let mean = |f: fn(&SplitHalf) -> f64| per_split.iter().map(f).sum::<f64>() / m;
    let mean_sq = |f: fn(&SplitHalf) -> f64| per_split.iter().map(|s| f(s) * f(s)).sum::<f64>() / m;
    let within_x = mean(|s| s.within_x);
    let within_y = mean(|s| s.within_y);
    let between = mean(|s| s.between);
    // mean square of the individual half-against-half distances
    let between_ms = values[1..].iter().map(|v| v.1).sum::<f64>() / m;
    let ceiling = (within_x + within_y) / 2.0;
    let normalized = if ceiling > 0.0 {
        between / ceiling
    } else {
        f64::INFINITY
    };
    let excess = between_ms - (mean_sq(|s| s.within_x) + mean_sq(|s| s.within_y)) / 2.0;
    let corrected = excess.max(0.0).sqrt();
    let (fits, exact_fits) = fitter.counts();
    Ok(NoiseCeiling {
        distance,
        within_x,
        within_y,
        between,
        ceiling,
        normalized,
        corrected,
        splits: per_split,
        design: Design {
            block_len: block,
            units: (nx, ny),
            refit: fitter.refit(),
            fits,
            exact_fits,
        },
    })
}
