//! Shared helpers for the integration tests: fixture loading and random matrices.
#![allow(dead_code)]

use std::path::PathBuf;

use faer::stats::prelude::*;
use faer::Mat;

pub fn fixture_dir(case: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(case)
}

/// Read a float64 `.npy` file: returns (shape, row-major data).
pub fn read_npy(case: &str, file: &str) -> (Vec<usize>, Vec<f64>) {
    let bytes = std::fs::read(fixture_dir(case).join(file)).expect("fixture");
    let npy = npyz::NpyFile::new(&bytes[..]).expect("npy header");
    let shape: Vec<usize> = npy.shape().iter().map(|&x| x as usize).collect();
    assert!(
        matches!(npy.order(), npyz::Order::C),
        "fixtures are C order"
    );
    let data: Vec<f64> = npy.into_vec::<f64>().expect("float64 npy");
    (shape, data)
}

/// Load a fixture array as a dataset ((T, N) or (K, T, N)).
pub fn read_dataset(case: &str, file: &str) -> dsa::Dataset {
    let (shape, data) = read_npy(case, file);
    match shape.len() {
        2 => dsa::Dataset::from_row_major(&data, [1, shape[0], shape[1]]).unwrap(),
        3 => dsa::Dataset::from_row_major(&data, [shape[0], shape[1], shape[2]]).unwrap(),
        _ => panic!("unexpected shape {shape:?}"),
    }
}

pub fn read_json(case: &str, file: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixture_dir(case).join(file)).expect("fixture json");
    serde_json::from_str(&text).expect("json")
}

pub fn json_vec(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

pub fn json_mat(v: &serde_json::Value) -> Mat<f64> {
    let rows: Vec<Vec<f64>> = v.as_array().expect("rows").iter().map(json_vec).collect();
    let n = rows.len();
    let m = if n == 0 { 0 } else { rows[0].len() };
    Mat::from_fn(n, m, |i, j| rows[i][j])
}

/// All reference cases whose fit succeeded in the reference.
pub const FIT_CASES: [&str; 5] = [
    "different_sizes",
    "linear_conjugate",
    "linear_different",
    "lorenz_pair_rot",
    "rank_deficient_ok",
];

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

pub fn randn(rng: &mut StdRng, m: usize, n: usize) -> Mat<f64> {
    CwiseMatDistribution {
        nrows: m,
        ncols: n,
        dist: StandardNormal,
    }
    .rand(rng)
}

pub fn haar(rng: &mut StdRng, n: usize) -> Mat<f64> {
    UnitaryMat {
        dim: n,
        standard_normal: StandardNormal,
    }
    .rand(rng)
}

/// Match two multisets of complex numbers greedily by nearest neighbour after sorting; returns
/// the largest distance of the optimal matching (brute-force-free: Hungarian-like greedy is
/// enough for well-separated spectra; uses an exact assignment for robustness).
pub fn spectrum_distance(a: &[dsa::c64], b: &[dsa::c64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let n = a.len();
    let mut used = vec![false; n];
    let mut worst = 0.0f64;
    // exact bottleneck is not needed: greedy on sorted list with min distance
    for x in a {
        let (mut best, mut bj) = (f64::INFINITY, 0);
        for (j, y) in b.iter().enumerate() {
            if !used[j] {
                let d = (x - y).norm();
                if d < best {
                    best = d;
                    bj = j;
                }
            }
        }
        used[bj] = true;
        worst = worst.max(best);
    }
    worst
}
