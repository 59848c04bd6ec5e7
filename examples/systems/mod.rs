//! The five systems of the quickstart, shared by `quickstart.rs` and `figures.rs` so that both
//! show the same data: two channels and [`STEPS`] time steps each, simulated from one seed.

use faer::stats::prelude::*;
use faer::Mat;

/// Time steps per system.
pub const STEPS: usize = 1000;

/// The systems' names, in the order of [`quickstart_systems`].
pub const NAMES: [&str; 5] = [
    "spiral",
    "spiral rotated",
    "spiral new run",
    "node",
    "van der Pol",
];

/// The quickstart's systems, in the order of [`NAMES`]:
///
/// 0. a damped spiral `x_(t+1) = M x_t + noise`;
/// 1. system 0 in rotated coordinates;
/// 2. the same dynamics, a new noise realization, other coordinates;
/// 3. a node (two decaying modes, no oscillation);
/// 4. the van der Pol oscillator, observed with noise.
pub fn quickstart_systems() -> Vec<Mat<f64>> {
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
    vec![x0, x1, x2, x3, x4]
}

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
