//! Choose `n_delays` and rank for a noisy Lorenz system.
//!
//! Simulates the Lorenz equations with a small fourth-order Runge–Kutta integrator, observes
//! them with noise, sweeps a grid of (n_delays, rank), and prints the table and the suggested
//! choices.
//!
//! Run with `cargo run --release --example sweep`.

use dsa::select::{SelectionRule, Sweep};
use dsa::Dataset;
use faer::stats::prelude::*;
use faer::Mat;

/// The Lorenz vector field with the classic parameters (sigma 10, rho 28, beta 8/3).
fn lorenz(x: [f64; 3]) -> [f64; 3] {
    let (s, r, b) = (10.0, 28.0, 8.0 / 3.0);
    [
        s * (x[1] - x[0]),
        x[0] * (r - x[2]) - x[1],
        x[0] * x[1] - b * x[2],
    ]
}

/// One classical RK4 step of size `h`.
fn rk4(x: [f64; 3], h: f64) -> [f64; 3] {
    let add =
        |a: [f64; 3], k: [f64; 3], c: f64| [a[0] + c * k[0], a[1] + c * k[1], a[2] + c * k[2]];
    let k1 = lorenz(x);
    let k2 = lorenz(add(x, k1, h / 2.0));
    let k3 = lorenz(add(x, k2, h / 2.0));
    let k4 = lorenz(add(x, k3, h));
    [
        x[0] + h / 6.0 * (k1[0] + 2.0 * k2[0] + 2.0 * k3[0] + k4[0]),
        x[1] + h / 6.0 * (k1[1] + 2.0 * k2[1] + 2.0 * k3[1] + k4[1]),
        x[2] + h / 6.0 * (k1[2] + 2.0 * k2[2] + 2.0 * k3[2] + k4[2]),
    ]
}

/// `n_trials` trajectories of `len` samples (one every `dt`, integrated in 10 sub-steps), after
/// a burn-in onto the attractor, plus Gaussian observation noise of standard deviation `noise`.
fn simulate(n_trials: usize, len: usize, dt: f64, noise: f64, seed: u64) -> dsa::Result<Dataset> {
    let mut rng = StdRng::seed_from_u64(seed);
    let normal = Normal::new(0.0, 1.0).expect("valid normal");
    let mut trials = Vec::with_capacity(n_trials);
    for _ in 0..n_trials {
        let mut x = [
            normal.sample(&mut rng),
            normal.sample(&mut rng),
            20.0 + normal.sample(&mut rng),
        ];
        for _ in 0..2000 {
            x = rk4(x, 0.005); // burn-in
        }
        let mut y = Mat::<f64>::zeros(len, 3);
        for t in 0..len {
            for (c, v) in x.iter().enumerate() {
                y[(t, c)] = v + noise * normal.sample(&mut rng);
            }
            for _ in 0..10 {
                x = rk4(x, dt / 10.0);
            }
        }
        trials.push(y);
    }
    Dataset::from_trials(trials)
}

fn main() -> dsa::Result<()> {
    let data = simulate(10, 1000, 0.01, 0.1, 1)?;
    let sweep = Sweep::new([1, 2, 4, 8, 12, 16, 24], [2, 3, 4, 6, 8, 10, 15, 20, 30])
        .train_fraction(0.8)
        .reseed(5);
    let result = sweep.run(&data)?;
    println!("{result}\n");
    let pick = result.suggest(SelectionRule::default())?;
    println!(
        "suggested (simplest within 1% of the best MASE): n_delays = {}, rank = {} ({})",
        pick.n_delays, pick.rank, pick.metrics
    );
    let best = result.suggest(SelectionRule::MinMase)?;
    println!(
        "best MASE: n_delays = {}, rank = {} (MASE {:.4})",
        best.n_delays, best.rank, best.metrics.mase
    );
    let aic = result.suggest(SelectionRule::MinAic)?;
    println!(
        "minimum AIC: n_delays = {}, rank = {} (AIC {:.4})",
        aic.n_delays, aic.rank, aic.metrics.aic
    );
    Ok(())
}
