//! Quickstart: what Dynamical Similarity Analysis sees that comparing states does not.
//!
//! Simulates five small systems (two channels, 1000 time steps each), then prints two matrices:
//!
//! * the DSA distance (`dsa::Dsa::default().pairwise`): do the systems run the same dynamics,
//!   whatever their coordinates?
//! * a plain state-space Procrustes distance: after centering and scaling, how close can the
//!   states of one system be rotated onto the states of the other, time point by time point?
//!
//! and, last, the DSA matrix again with the rank set for this data (`Dsa::builder().rank(6)`).
//!
//! Run with `cargo run --release --example quickstart`.

use std::f64::consts::PI;
use std::time::Instant;

use faer::stats::prelude::*;
use faer::Mat;

const STEPS: usize = 1000;

/// `x_{t+1} = M x_t + noise * e_t`, rows are time.
fn linear(m: &Mat<f64>, noise: f64, rng: &mut StdRng) -> Mat<f64> {
    let n = m.nrows();
    let normal = Normal::new(0.0, 1.0).expect("valid normal");
    let mut x = Mat::<f64>::zeros(STEPS, n);
    for t in 1..STEPS {
        for i in 0..n {
            let mut v = noise * normal.sample(rng);
            for j in 0..n {
                v += m[(i, j)] * x[(t - 1, j)];
            }
            x[(t, i)] = v;
        }
    }
    x
}

/// The van der Pol oscillator (`mu = 1`), sampled every 0.05 time units (RK4, 5 sub-steps),
/// started on its limit cycle, observed with Gaussian noise.
fn van_der_pol(noise: f64, rng: &mut StdRng) -> Mat<f64> {
    let f = |[x, y]: [f64; 2]| [y, (1.0 - x * x) * y - x];
    let rk4 = |s: [f64; 2], h: f64| {
        let add = |a: [f64; 2], k: [f64; 2], c: f64| [a[0] + c * k[0], a[1] + c * k[1]];
        let (k1, k2) = (f(s), f(add(s, f(s), h / 2.0)));
        let k3 = f(add(s, k2, h / 2.0));
        let k4 = f(add(s, k3, h));
        [
            s[0] + h / 6.0 * (k1[0] + 2.0 * k2[0] + 2.0 * k3[0] + k4[0]),
            s[1] + h / 6.0 * (k1[1] + 2.0 * k2[1] + 2.0 * k3[1] + k4[1]),
        ]
    };
    let normal = Normal::new(0.0, 1.0).expect("valid normal");
    let mut s = [2.0, 0.0];
    for _ in 0..2000 {
        s = rk4(s, 0.01); // burn-in onto the cycle
    }
    let mut x = Mat::<f64>::zeros(STEPS, 2);
    for t in 0..STEPS {
        for c in 0..2 {
            x[(t, c)] = s[c] + noise * normal.sample(rng);
        }
        for _ in 0..5 {
            s = rk4(s, 0.01);
        }
    }
    x
}

fn rotation(angle: f64) -> Mat<f64> {
    let (c, s) = (angle.cos(), angle.sin());
    faer::mat![[c, -s], [s, c]]
}

/// Orthogonal Procrustes on the states: center each column, scale to unit Frobenius norm, then
/// `min_Q ||X - Y Q||_F` over orthogonal `Q` is reached at the polar factor of `Y^T X`, and
/// `<X, Y Q*> = sum of the singular values of X^T Y`. Reported as the angle
/// `arccos(sum sigma)` in `[0, pi/2]` (0: one cloud of states is a rotation of the other,
/// time point by time point).
fn state_procrustes(x: &Mat<f64>, y: &Mat<f64>) -> f64 {
    let normalize = |m: &Mat<f64>| {
        let mut c = m.clone();
        for j in 0..c.ncols() {
            let mean = (0..c.nrows()).map(|i| c[(i, j)]).sum::<f64>() / c.nrows() as f64;
            for i in 0..c.nrows() {
                c[(i, j)] -= mean;
            }
        }
        let norm = c.norm_l2();
        &c * (1.0 / norm)
    };
    let (xh, yh) = (normalize(x), normalize(y));
    let cross = xh.transpose() * &yh;
    let nuclear: f64 = cross
        .singular_values()
        .expect("svd of a 2 x 2 matrix")
        .iter()
        .sum();
    nuclear.clamp(-1.0, 1.0).acos()
}

fn print_matrix(title: &str, names: &[&str], m: &Mat<f64>) {
    println!("{title}");
    print!("{:>16}", "");
    for k in 0..names.len() {
        print!("{k:>8}");
    }
    println!();
    for (i, name) in names.iter().enumerate() {
        print!("{:>16}", format!("{i} {name}"));
        for j in 0..names.len() {
            print!("{:>8.3}", m[(i, j)]);
        }
        println!();
    }
    println!();
}

fn main() -> dsa::Result<()> {
    let mut rng = StdRng::seed_from_u64(2023);

    // a damped oscillation with some shear: eigenvalues 0.93 +- 0.27i
    let spiral = faer::mat![[0.95, 0.30], [-0.25, 0.91]];
    // a node: two decaying modes, no oscillation
    let node = faer::mat![[0.97, 0.0], [0.1, 0.6]];

    let x0 = linear(&spiral, 0.1, &mut rng);
    let x1 = &x0 * rotation(1.0);
    let x2 = &linear(&spiral, 0.1, &mut rng) * rotation(-2.2);
    let x3 = linear(&node, 0.1, &mut rng);
    let x4 = van_der_pol(0.05, &mut rng);

    let names = [
        "spiral",
        "spiral rotated",
        "spiral new run",
        "node",
        "van der Pol",
    ];
    let systems = vec![x0, x1, x2, x3, x4];
    println!("Dynamical Similarity Analysis: quickstart\n");
    println!(
        "{} systems, {STEPS} time steps x 2 channels each:",
        systems.len()
    );
    println!("  0 spiral          x_(t+1) = M x_t + noise, a damped oscillation");
    println!("  1 spiral rotated  system 0 in rotated coordinates (X Q)");
    println!("  2 spiral new run  the same dynamics, a new noise realization, other coordinates");
    println!("  3 node            a different linear system (two decaying modes, no oscillation)");
    println!("  4 van der Pol     a nonlinear limit cycle, observed with noise\n");

    // One pair, the one-liner:
    let d01 = dsa::distance(&systems[0], &systems[1])?;
    println!("dsa::distance(spiral, spiral rotated) = {d01:.2e}\n");

    // All pairs: each system is fitted once, pairs run in parallel.
    let start = Instant::now();
    let dsa_matrix = dsa::Dsa::default().pairwise(&systems)?;
    let elapsed = start.elapsed();
    let rank = dsa::Dsa::default().fit(&systems[0])?.rank();
    let m = systems.len();
    let state = Mat::from_fn(m, m, |i, j| {
        if i == j {
            0.0
        } else {
            state_procrustes(&systems[i], &systems[j])
        }
    });

    print_matrix(
        &format!(
            "DSA distance (angular, radians in [0, pi]; Dsa::default(): 10 delays, rank {rank}; {elapsed:.2?}):"
        ),
        &names,
        &dsa_matrix,
    );
    print_matrix(
        "State-space Procrustes angle (radians in [0, pi/2]):",
        &names,
        &state,
    );

    // The rank is the main knob: here the default keeps every direction of the 20-dimensional
    // delay embedding, noise included. Keeping only the leading directions sharpens the
    // contrast (`dsa::select::Sweep` scores ranks by how well they forecast held-out data).
    let tuned = dsa::Dsa::builder().rank(6).build()?.pairwise(&systems)?;
    print_matrix(
        "DSA distance with rank 6 (Dsa::builder().rank(6).build()?):",
        &names,
        &tuned,
    );

    println!("What to look for:");
    println!(
        "  * spiral vs its rotated copy: both methods give ~0 (DSA {:.1e}, states {:.1e}).",
        dsa_matrix[(0, 1)],
        state[(0, 1)]
    );
    println!(
        "  * spiral vs a new run of the same system: DSA stays small ({:.3}) because the dynamics are the same;",
        dsa_matrix[(0, 2)]
    );
    println!(
        "    the states do not match point by point, so state-space Procrustes is large ({:.3} of at most {:.3}).",
        state[(0, 2)],
        PI / 2.0
    );
    println!(
        "  * spiral vs node and vs van der Pol: different dynamics, DSA {:.3} and {:.3}, above the {:.3} of the same system.",
        dsa_matrix[(0, 3)],
        dsa_matrix[(0, 4)],
        dsa_matrix[(0, 2)]
    );
    println!(
        "  * with rank 6 the gap widens: same system {:.3}, node {:.3}, van der Pol {:.3}.",
        tuned[(0, 2)],
        tuned[(0, 3)],
        tuned[(0, 4)]
    );
    println!("    Choose n_delays and rank for your data: docs/choosing-parameters.md and dsa::select::Sweep.");
    println!();
    println!("State-space Procrustes cannot tell 'same dynamics, another trajectory' from 'different dynamics'.");
    println!("DSA compares the linear operators fitted to each system's delay embedding, up to a change of coordinates.");
    Ok(())
}
