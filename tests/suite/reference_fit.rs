//! Reference parity of the fit (issue 2): singular values and spectra of `dsa-metric`'s float64 fit.

use crate::common::*;
use dsa::{Dmd, OperatorFit};

#[test]
fn singular_values_and_spectra_match_reference_f64() {
    for case in FIT_CASES {
        let cfg = read_json(case, "case.json");
        let res = read_json(case, "result.json");
        let d = &cfg["dmd"];
        let params = Dmd::params()
            .n_delays(d["n_delays"].as_u64().unwrap() as usize)
            .delay_interval(d["delay_interval"].as_u64().unwrap() as usize)
            .rank(d["rank"].as_u64().unwrap() as usize)
            .lambda(d["lamb"].as_f64().unwrap());
        for side in ["X", "Y"] {
            let data = read_dataset(case, &format!("{side}.npy"));
            let model = params.fit(&data).unwrap();
            let r = &res["dmd_f64"][side];
            let s_ref = json_vec(&r["S"]);
            let s = model.singular_values();
            assert_eq!(
                s.len(),
                s_ref.len(),
                "{case} {side}: number of singular values"
            );
            for (a, b) in s.iter().zip(&s_ref) {
                assert!(
                    (a - b).abs() <= 1e-8 * b.abs().max(s_ref[0] * 1e-8),
                    "{case} {side}: s {a} vs {b}"
                );
            }
            assert_eq!(
                model.rank(),
                r["rank"].as_u64().unwrap() as usize,
                "{case} {side}: rank"
            );
            let re = json_vec(&r["eigvals_re"]);
            let im = json_vec(&r["eigvals_im"]);
            let lref: Vec<dsa::c64> = re
                .iter()
                .zip(&im)
                .map(|(&a, &b)| dsa::c64::new(a, b))
                .collect();
            let dist = spectrum_distance(model.eigenvalues(), &lref);
            assert!(dist < 1e-6, "{case} {side}: spectrum off by {dist}");
        }
    }
}
