//! What several test modules use, written once: fixture loading, one seeded generator and what
//! is drawn from it, and matrix helpers. See `tests/main.rs`.
#![allow(dead_code)]

use std::path::PathBuf;

use faer::stats::prelude::*;
use faer::{Mat, MatRef};
use rand::seq::SliceRandom;

// ---------------------------------------------------------------------------------------------
// fixtures

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

// ---------------------------------------------------------------------------------------------
// one seeded generator, and what is drawn from it

/// The one generator of the tests: `rand`'s `StdRng`, seeded.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// A standard normal draw.
pub fn normal(rng: &mut StdRng) -> f64 {
    rng.sample(StandardNormal)
}

/// A uniform draw in `[0, 1)`.
pub fn uniform01(rng: &mut StdRng) -> f64 {
    rng.random::<f64>()
}

/// An `m x n` matrix of independent standard normal entries.
pub fn randn(rng: &mut StdRng, m: usize, n: usize) -> Mat<f64> {
    CwiseMatDistribution {
        nrows: m,
        ncols: n,
        dist: StandardNormal,
    }
    .rand(rng)
}

/// An `m x n` matrix of independent uniform entries in `[0, 1)`.
pub fn uniform(rng: &mut StdRng, m: usize, n: usize) -> Mat<f64> {
    Mat::from_fn(m, n, |_, _| rng.random::<f64>())
}

/// A Haar-distributed orthogonal `n x n` matrix (either determinant).
pub fn haar(rng: &mut StdRng, n: usize) -> Mat<f64> {
    UnitaryMat {
        dim: n,
        standard_normal: StandardNormal,
    }
    .rand(rng)
}

/// A Haar-orthogonal matrix with determinant `sign` (+1 or -1; the `0 x 0` matrix for `n = 0`).
pub fn haar_det(rng: &mut StdRng, n: usize, sign: f64) -> Mat<f64> {
    let mut q = haar(rng, n);
    if n == 0 {
        return q;
    }
    if q.determinant().signum() != sign {
        for r in 0..n {
            q[(r, 0)] = -q[(r, 0)];
        }
    }
    assert_eq!(q.determinant().signum(), sign);
    q
}

/// The determinant sign asked for: -1 when `flip`.
pub fn det_sign(flip: bool) -> f64 {
    if flip {
        -1.0
    } else {
        1.0
    }
}

/// A random signed permutation matrix.
pub fn signed_permutation(rng: &mut StdRng, n: usize) -> Mat<f64> {
    let mut p: Vec<usize> = (0..n).collect();
    p.shuffle(rng);
    let signs: Vec<f64> = (0..n)
        .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
        .collect();
    Mat::from_fn(n, n, |i, j| if p[i] == j { signs[i] } else { 0.0 })
}

/// A random skew-symmetric matrix of unit Frobenius norm.
pub fn random_skew(rng: &mut StdRng, n: usize) -> Mat<f64> {
    let g = randn(rng, n, n);
    let x = Mat::from_fn(n, n, |i, j| g[(i, j)] - g[(j, i)]);
    normalized(&x)
}

/// A random stable system matrix: Gaussian entries scaled to spectral radius `radius`.
pub fn stable(rng: &mut StdRng, n: usize, radius: f64) -> Mat<f64> {
    let g = randn(rng, n, n);
    let rho = g
        .eigenvalues()
        .unwrap()
        .iter()
        .map(|l| l.norm())
        .fold(0.0, f64::max);
    Mat::from_fn(n, n, |i, j| g[(i, j)] * radius / rho)
}

/// `x_{t+1} = M x_t + noise * e_t`, `len` steps, rows are time, with `x_0 = e_0` and `e`
/// standard normal (`len x n`).
pub fn simulate(rng: &mut StdRng, m: &Mat<f64>, len: usize, noise: f64) -> Mat<f64> {
    let e = randn(rng, len, m.nrows());
    simulate_with(m, &e, noise)
}

/// `x_{t+1} = M x_t + noise * e_t` for a given `e` (`t x n`), from `x_0 = e_0`.
pub fn simulate_with(m: &Mat<f64>, e: &Mat<f64>, noise: f64) -> Mat<f64> {
    let (t, n) = (e.nrows(), m.nrows());
    let mut x = Mat::<f64>::zeros(t, n);
    for c in 0..n {
        x[(0, c)] = e[(0, c)];
    }
    for s in 1..t {
        for i in 0..n {
            let mut v = noise * e[(s, i)];
            for j in 0..n {
                v += m[(i, j)] * x[(s - 1, j)];
            }
            x[(s, i)] = v;
        }
    }
    x
}

/// A value that encodes (trial, time, channel), so that any index mix-up shows (its integer
/// part is `k * 1_000_000 + t * 100 + c`).
pub fn tag(k: usize, t: usize, c: usize) -> f64 {
    (k * 1_000_000 + t * 100 + c) as f64 + 0.25
}

/// Trials of the given lengths and `n` channels filled with [`tag`]s.
pub fn tagged_trials(lens: &[usize], n: usize) -> Vec<Mat<f64>> {
    lens.iter()
        .enumerate()
        .map(|(k, &t)| Mat::from_fn(t, n, |i, c| tag(k, i, c)))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// matrix helpers

/// `a b`.
pub fn mul(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Mat<f64> {
    a * b
}

/// `q a q^T`.
pub fn conj(q: &Mat<f64>, a: &Mat<f64>) -> Mat<f64> {
    mul(mul(q.as_ref(), a.as_ref()).as_ref(), q.transpose())
}

/// The `n x n` identity.
pub fn identity(n: usize) -> Mat<f64> {
    Mat::identity(n, n)
}

/// `||m||_F`, without overflow or underflow for entries near the limits of `f64`.
pub fn fro(m: MatRef<'_, f64>) -> f64 {
    let mx = m.norm_max();
    if mx == 0.0 || !mx.is_finite() {
        return mx;
    }
    let mut s = 0.0;
    for j in 0..m.ncols() {
        for i in 0..m.nrows() {
            let v = m[(i, j)] / mx;
            s += v * v;
        }
    }
    mx * s.sqrt()
}

/// `a / ||a||_F`.
pub fn normalized(a: &Mat<f64>) -> Mat<f64> {
    let f = fro(a.as_ref());
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)] / f)
}

/// `||C^T C - I||_F`.
pub fn orthogonality_error(c: MatRef<'_, f64>) -> f64 {
    (mul(c.transpose(), c) - identity(c.ncols())).norm_l2()
}

/// `max_ij |a_ij - b_ij|`.
pub fn max_abs_diff(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> f64 {
    assert_eq!((a.nrows(), a.ncols()), (b.nrows(), b.ncols()));
    let mut d = 0.0f64;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            d = d.max((a[(i, j)] - b[(i, j)]).abs());
        }
    }
    d
}

/// Whether every entry is finite.
pub fn all_finite(m: MatRef<'_, f64>) -> bool {
    (0..m.ncols()).all(|j| (0..m.nrows()).all(|i| m[(i, j)].is_finite()))
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
