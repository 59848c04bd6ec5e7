//! Issue 19: the crate's values on the reference fixtures, stored in
//! `python/tests/fixtures/crate_values.json` for the Python package's parity tests
//! (`python/tests/test_parity.py` checks that `dsa_rs` gives these numbers to 1e-12).
//!
//! This test recomputes every stored value and checks it to 1e-12, so the file cannot drift
//! from the crate. After a change that moves the crate's results, regenerate it:
//! `DSA_WRITE_PYTHON_FIXTURE=1 cargo test --all-features --test python_parity`.

use crate::common::*;

use dsa::{Dataset, Dsa, Score, SizeMismatch};
use serde_json::{json, Value};

const FILE: &str = "python/tests/fixtures/crate_values.json";

fn score_name(s: Score) -> &'static str {
    match s {
        Score::Angular => "angular",
        Score::Euclidean => "euclidean",
        _ => "wasserstein",
    }
}

fn policy_name(p: SizeMismatch) -> &'static str {
    match p {
        SizeMismatch::Error => "error",
        SizeMismatch::ZeroPad => "zero_pad",
        _ => "spectral",
    }
}

/// The error's variant name (`SizeMismatch`): the Python exception is `<name>Error`.
fn variant(e: &dsa::DsaError) -> String {
    let debug = format!("{e:?}");
    debug
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The fixture case's DMD settings, as the Python keyword arguments.
fn case_params(case: &str) -> (usize, usize, usize, f64) {
    let cfg = read_json(case, "case.json");
    let d = &cfg["dmd"];
    (
        d["n_delays"].as_u64().unwrap() as usize,
        d["delay_interval"].as_u64().unwrap() as usize,
        d["rank"].as_u64().unwrap() as usize,
        d["lamb"].as_f64().unwrap(),
    )
}

fn compute() -> Value {
    let mut distances = Vec::new();
    for case in FIT_CASES {
        let (n_delays, tau, rank, lamb) = case_params(case);
        let x = read_dataset(case, "X.npy");
        let y = read_dataset(case, "Y.npy");
        for score in [Score::Angular, Score::Euclidean, Score::Wasserstein] {
            for policy in [
                SizeMismatch::Error,
                SizeMismatch::ZeroPad,
                SizeMismatch::Spectral,
            ] {
                if policy != SizeMismatch::Error && case != "different_sizes" {
                    continue; // the policy matters only when sizes differ
                }
                let dsa = Dsa::builder()
                    .n_delays(n_delays)
                    .delay_interval(tau)
                    .rank(rank)
                    .lambda(lamb)
                    .score(score)
                    .size_mismatch(policy)
                    .build()
                    .unwrap();
                let params = json!({
                    "n_delays": n_delays, "delay_interval": tau, "rank": rank, "lamb": lamb,
                    "score_method": score_name(score), "size_mismatch": policy_name(policy),
                });
                let entry = match dsa.distance(&x, &y) {
                    Ok(v) => json!({"case": case, "params": params, "value": v}),
                    Err(e) => json!({
                        "case": case, "params": params,
                        "error": variant(&e), "message": e.to_string(),
                    }),
                };
                distances.push(entry);
            }
        }
    }
    // the first six systems of the pairwise anchor
    let (shape, data) = read_npy("pairwise_anchor", "data.npy");
    let (t, n) = (shape[1], shape[2]);
    let systems: Vec<Dataset> = (0..6)
        .map(|k| Dataset::from_row_major(&data[k * t * n..(k + 1) * t * n], [1, t, n]).unwrap())
        .collect();
    let mut pairwise = Vec::new();
    for score in [Score::Angular, Score::Wasserstein] {
        let dsa = Dsa::builder()
            .n_delays(10)
            .rank(30)
            .score(score)
            .build()
            .unwrap();
        let m = dsa.pairwise(&systems).unwrap();
        let rows: Vec<Vec<f64>> = (0..m.nrows())
            .map(|i| (0..m.ncols()).map(|j| m[(i, j)]).collect())
            .collect();
        pairwise.push(json!({
            "case": "pairwise_anchor",
            "systems": 6,
            "params": {"n_delays": 10, "rank": 30, "score_method": score_name(score)},
            "matrix": rows,
        }));
    }
    json!({
        "about": "values of the dsa crate on tests/fixtures, for python/tests/test_parity.py; \
                  written and checked by tests/python_parity.rs",
        "distance": distances,
        "pairwise": pairwise,
    })
}

fn close(a: &Value, b: &Value, path: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-12 * (1.0 + y.abs()),
                "{path}: computed {x:e}, stored {y:e}; regenerate with DSA_WRITE_PYTHON_FIXTURE=1"
            );
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{path}: length");
            for (k, (u, v)) in x.iter().zip(y).enumerate() {
                close(u, v, &format!("{path}[{k}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{path}: keys"
            );
            for (k, u) in x {
                close(u, &y[k], &format!("{path}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{path}"),
    }
}

#[test]
fn stored_crate_values_are_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(FILE);
    let computed = compute();
    if std::env::var_os("DSA_WRITE_PYTHON_FIXTURE").is_some() {
        let text = serde_json::to_string_pretty(&computed).unwrap();
        std::fs::write(&path, text + "\n").unwrap();
    }
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("python fixture")).unwrap();
    close(&computed, &stored, "crate_values");
}
