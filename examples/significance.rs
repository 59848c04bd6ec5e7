//! Is a DSA distance real? For a pair of fits of the same system and for a pair of different
//! systems: the observed distance, its permutation p-value, a bootstrap interval, and the
//! noise ceiling.
//!
//! ```sh
//! cargo run --release --example significance
//! ```
//!
//! The systems are noisy damped rotations `x_{t+1} = rho R(w) x_t + e_t` in 2 channels,
//! 20 trials of 200 steps each; "same" is a second recording of `X`, "different" has
//! spectral radius 0.95 instead of 0.9.

use dsa::Dsa;
use faer::Mat;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

/// `trials` trials of `steps` steps of `x_{t+1} = rho R(w) x_t + e_t` (after a burn-in).
fn recording(rho: f64, w: f64, trials: usize, steps: usize, seed: u64) -> Vec<Mat<f64>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let (c, s) = (rho * w.cos(), rho * w.sin());
    (0..trials)
        .map(|_| {
            let mut x = [0.0f64; 2];
            let mut out = Mat::zeros(steps, 2);
            for t in 0..steps + 200 {
                let e: [f64; 2] = [rng.sample(StandardNormal), rng.sample(StandardNormal)];
                x = [c * x[0] - s * x[1] + e[0], s * x[0] + c * x[1] + e[1]];
                if t >= 200 {
                    out[(t - 200, 0)] = x[0];
                    out[(t - 200, 1)] = x[1];
                }
            }
            out
        })
        .collect()
}

fn main() -> dsa::Result<()> {
    let dsa = Dsa::builder().n_delays(2).rank(4).seed(1).build()?;
    let x = recording(0.9, 0.3, 20, 200, 1);
    let pairs = [
        ("same system", recording(0.9, 0.3, 20, 200, 2)),
        ("different (rho 0.95)", recording(0.95, 0.3, 20, 200, 3)),
    ];
    for (name, y) in &pairs {
        let test = dsa::stats::permutation_test(&dsa, &x, y, 499)?;
        let ci = dsa::stats::bootstrap(&dsa, &x, y, 500, 0.95)?;
        let nc = dsa::stats::noise_ceiling(&dsa, &x, y, 20)?;
        let null_max = test.null.iter().copied().fold(0.0, f64::max);
        println!("{name}:");
        println!(
            "  distance {:.4}, permutation p = {:.3} (null max {null_max:.4}, {} permutations)",
            test.observed,
            test.p_value,
            test.null.len()
        );
        println!(
            "  95% bootstrap interval [{:.4}, {:.4}] around {:.4}",
            ci.lower, ci.upper, ci.estimate
        );
        println!(
            "  noise ceiling {:.4} (halves of X {:.4}, of Y {:.4}); halves X vs Y {:.4}: \
             normalized {:.2}, noise-corrected distance {:.4}",
            nc.ceiling, nc.within_x, nc.within_y, nc.between, nc.normalized, nc.corrected
        );
    }
    Ok(())
}
