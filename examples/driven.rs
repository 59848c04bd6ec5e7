//! Comparing systems driven by known inputs.
//!
//! Four noisy driven linear systems `x_{t+1} = A x_t + B u_t + w_t`:
//!
//! * `a`: dynamics `A`, input map `B`;
//! * `a rotated`: the same system seen in rotated coordinates, with other inputs and noise;
//! * `other B`: the same `A`, another input map;
//! * `other A`: other dynamics, the same input map.
//!
//! The state comparison (plain DSA on `A`) cannot tell `a` from `other B`, and the input
//! comparison cannot tell `a` from `other A`; `Joint` and `JointDynamics` separate all three.
//! Run with `cargo run --release --example driven`.

use dsa::{InputCompare, InputDsa, InputFit, Score};
use faer::stats::prelude::*;
use faer::Mat;

fn randn(rng: &mut StdRng, r: usize, c: usize) -> Mat<f64> {
    CwiseMatDistribution {
        nrows: r,
        ncols: c,
        dist: StandardNormal,
    }
    .rand(rng)
}

/// States (observed through `q`) and inputs of one system: 10 trials of 300 steps.
fn simulate(a: &Mat<f64>, b: &Mat<f64>, q: &Mat<f64>, seed: u64) -> (Vec<Mat<f64>>, Vec<Mat<f64>>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (n, m) = (a.nrows(), b.ncols());
    let (mut xs, mut us) = (Vec::new(), Vec::new());
    for _ in 0..10 {
        let u = randn(&mut rng, 300, m);
        let w = randn(&mut rng, 300, n);
        let mut x = Mat::<f64>::zeros(300, n);
        for t in 1..300 {
            for i in 0..n {
                let mut s = 0.05 * w[(t, i)];
                for j in 0..n {
                    s += a[(i, j)] * x[(t - 1, j)];
                }
                for j in 0..m {
                    s += b[(i, j)] * u[(t - 1, j)];
                }
                x[(t, i)] = s;
            }
        }
        xs.push(&x * q);
        us.push(u);
    }
    (xs, us)
}

fn main() -> dsa::Result<()> {
    let n = 4;
    let mut rng = StdRng::seed_from_u64(7);
    let stable = |m: Mat<f64>| -> Mat<f64> {
        let rho = m
            .eigenvalues()
            .expect("eigenvalues of a small random matrix")
            .iter()
            .map(|l| l.norm())
            .fold(0.0, f64::max);
        &m * faer::Scale(0.9 / rho)
    };
    let a = stable(randn(&mut rng, n, n));
    let a_other = stable(randn(&mut rng, n, n));
    let b = randn(&mut rng, n, 2);
    let b_other = randn(&mut rng, n, 2);
    let identity = Mat::<f64>::identity(n, n);
    let rotation: Mat<f64> = UnitaryMat {
        dim: n,
        standard_normal: StandardNormal,
    }
    .rand(&mut rng);

    let systems = vec![
        simulate(&a, &b, &identity, 1),
        simulate(&a, &b, &rotation, 2),
        simulate(&a, &b_other, &identity, 3),
        simulate(&a_other, &b, &identity, 4),
    ];
    let names = ["a", "a rotated", "other B", "other A"];

    println!("angular distance from `a`");
    println!(
        "{:>10} {:>10} {:>8} {:>8} {:>8} {:>8}",
        "fit", "system", "State", "Control", "Joint", "JointDyn"
    );
    for fit in [InputFit::Dmdc, InputFit::Subspace] {
        let mut columns = Vec::new();
        for compare in [
            InputCompare::State,
            InputCompare::Control,
            InputCompare::Joint,
            InputCompare::JointDynamics,
        ] {
            let dsa = InputDsa::builder()
                .fit(fit)
                .n_delays(if fit == InputFit::Subspace { 2 } else { 1 })
                .rank(n)
                .compare(compare)
                .score(Score::Angular)
                .build()?;
            columns.push(dsa.pairwise(&systems)?);
        }
        for (k, name) in names.iter().enumerate() {
            print!("{:>10} {name:>10}", format!("{fit:?}"));
            for d in &columns {
                print!(" {:>8.4}", d[(0, k)]);
            }
            println!();
        }
    }

    // one pair in detail: the state and input terms at the C found
    let dsa = InputDsa::builder()
        .n_delays(2)
        .rank(n)
        .compare(InputCompare::JointDynamics)
        .score(Score::Euclidean)
        .build()?;
    let report = dsa.compare(&systems[0].0, &systems[0].1, &systems[2].0, &systems[2].1)?;
    let c = &report.comparison;
    println!(
        "\na vs other B, JointDynamics: joint {:.4}, state term {:.4}, input term {:.4}",
        c.joint.unwrap_or(f64::NAN),
        c.state.unwrap_or(f64::NAN),
        c.control.unwrap_or(f64::NAN)
    );
    Ok(())
}
