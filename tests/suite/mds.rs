//! Classical MDS (`dsa::mds`): known configurations come back, rigid motions are invisible to
//! it, and every malformed distance matrix is a typed error.

use dsa::mds::classical_mds;
use dsa::DsaError;
use faer::Mat;
use proptest::prelude::*;

/// Euclidean distance matrix of the rows of `p`.
fn distances(p: &Mat<f64>) -> Mat<f64> {
    let n = p.nrows();
    Mat::from_fn(n, n, |i, j| {
        (0..p.ncols())
            .map(|k| (p[(i, k)] - p[(j, k)]).powi(2))
            .sum::<f64>()
            .sqrt()
    })
}

/// Largest `|a_ij - b_ij|`.
fn max_diff(a: &Mat<f64>, b: &Mat<f64>) -> f64 {
    assert_eq!((a.nrows(), a.ncols()), (b.nrows(), b.ncols()));
    let mut m = 0.0_f64;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            m = m.max((a[(i, j)] - b[(i, j)]).abs());
        }
    }
    m
}

fn circle(n: usize, radius: f64) -> Mat<f64> {
    Mat::from_fn(n, 2, |i, k| {
        let t = 2.0 * std::f64::consts::PI * i as f64 / n as f64;
        radius * if k == 0 { t.cos() } else { t.sin() }
    })
}

#[test]
fn points_on_a_circle_give_back_their_distances() {
    for (n, radius) in [(3, 1.0), (8, 1.0), (12, 3.7), (25, 0.2)] {
        let p = circle(n, radius);
        let d = distances(&p);
        let emb = classical_mds(d.as_ref(), 2).unwrap();
        let back = distances(&emb.coords);
        let err = max_diff(&back, &d);
        eprintln!("circle n = {n}, r = {radius}: {err:e}");
        assert!(
            err < 1e-10,
            "n = {n}, r = {radius}: max distance error {err:e}"
        );
        assert!(emb.stress < 1e-10, "stress {}", emb.stress);
        // A circle centred at the origin is its own centroid-centred configuration: its
        // Gram matrix has the two eigenvalues n r^2 / 2 (n >= 3), the rest zero.
        let half = n as f64 * radius * radius / 2.0;
        assert!((emb.eigenvalues[0] - half).abs() < 1e-10 * half);
        assert!((emb.eigenvalues[1] - half).abs() < 1e-10 * half);
        for &l in &emb.eigenvalues[2..] {
            assert!(l.abs() < 1e-10 * half, "eigenvalue {l:e} should be 0");
        }
        // and each point keeps its radius: the centroid is the circle's centre
        for i in 0..n {
            let r = emb.coords[(i, 0)].hypot(emb.coords[(i, 1)]);
            assert!((r - radius).abs() < 1e-10, "point {i} at radius {r}");
        }
    }
}

#[test]
fn coordinates_are_centred_and_signs_fixed() {
    let p = faer::mat![[0.0, 0.0], [4.0, 0.0], [4.0, 1.0], [-1.0, 3.0], [2.0, 2.0]];
    let emb = classical_mds(distances(&p).as_ref(), 2).unwrap();
    for k in 0..2 {
        let col: Vec<f64> = (0..5).map(|i| emb.coords[(i, k)]).collect();
        assert!(col.iter().sum::<f64>().abs() < 1e-12);
        let pivot = col
            .iter()
            .copied()
            .fold(0.0_f64, |m, v| if v.abs() > m.abs() { v } else { m });
        assert!(
            pivot > 0.0,
            "axis {k}: largest entry {pivot} should be positive"
        );
    }
    // the same input gives the same bits
    let again = classical_mds(distances(&p).as_ref(), 2).unwrap();
    assert_eq!(emb, again);
}

#[test]
fn a_one_dimensional_request_keeps_the_main_axis() {
    // points along a line with a little spread across it: one axis reproduces the distances
    // up to the spread, and the stress says how much was lost
    let p = Mat::from_fn(6, 2, |i, k| {
        if k == 0 {
            i as f64
        } else {
            0.01 * (i % 2) as f64
        }
    });
    let d = distances(&p);
    let one = classical_mds(d.as_ref(), 1).unwrap();
    let two = classical_mds(d.as_ref(), 2).unwrap();
    assert!(
        one.stress > 0.0 && one.stress < 1e-3,
        "stress {}",
        one.stress
    );
    assert!(two.stress < 1e-10);
    assert_eq!(one.eigenvalues, two.eigenvalues);
    for i in 0..6 {
        assert_eq!(one.coords[(i, 0)], two.coords[(i, 0)]);
    }
}

#[test]
fn non_euclidean_distances_show_negative_eigenvalues() {
    // a violated triangle inequality (d_02 > d_01 + d_12) cannot be drawn in any dimension
    let d = faer::mat![[0.0, 1.0, 3.0], [1.0, 0.0, 1.0], [3.0, 1.0, 0.0]];
    let emb = classical_mds(d.as_ref(), 2).unwrap();
    assert!(emb.eigenvalues[2] < -1e-3, "{:?}", emb.eigenvalues);
    assert!(emb.stress > 1e-2);
    assert!(emb.coords.col(1).iter().all(|v| v.is_finite()));
}

#[test]
fn rounding_asymmetry_is_accepted_and_averaged() {
    let p = circle(5, 1.0);
    let d = distances(&p);
    let mut noisy = d.clone();
    noisy[(0, 1)] += 1e-12;
    noisy[(3, 3)] = 1e-13;
    let a = classical_mds(noisy.as_ref(), 2).unwrap();
    let back = distances(&a.coords);
    assert!(max_diff(&back, &d) < 1e-10);
}

#[test]
fn malformed_matrices_are_typed_errors() {
    let ok = distances(&circle(4, 1.0));

    let err = classical_mds(Mat::<f64>::zeros(3, 4).as_ref(), 2).unwrap_err();
    assert!(matches!(err, DsaError::ShapeMismatch { .. }), "{err}");
    assert!(err.to_string().contains("3 x 4"), "{err}");

    let err = classical_mds(Mat::<f64>::zeros(0, 0).as_ref(), 1).unwrap_err();
    assert!(matches!(err, DsaError::EmptyData { .. }), "{err}");

    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut d = ok.clone();
        d[(2, 1)] = bad;
        let err = classical_mds(d.as_ref(), 2).unwrap_err();
        assert!(matches!(err, DsaError::NonFinite { .. }), "{err}");
        assert!(err.to_string().contains("row 2, column 1"), "{err}");
    }

    let mut d = ok.clone();
    d[(0, 3)] = -0.5;
    d[(3, 0)] = -0.5;
    let err = classical_mds(d.as_ref(), 2).unwrap_err();
    assert!(
        matches!(err, DsaError::InvalidParameter { name: "d", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("negative"), "{err}");

    let mut d = ok.clone();
    d[(1, 2)] += 1e-3;
    let err = classical_mds(d.as_ref(), 2).unwrap_err();
    assert!(
        matches!(err, DsaError::InvalidParameter { name: "d", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("not symmetric"), "{err}");
    assert!(err.to_string().contains("(d + d^T) / 2"), "{err}");

    let mut d = ok.clone();
    d[(2, 2)] = 0.1;
    let err = classical_mds(d.as_ref(), 2).unwrap_err();
    assert!(
        matches!(err, DsaError::InvalidParameter { name: "d", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("diagonal"), "{err}");

    for dims in [0, 4, 10] {
        let err = classical_mds(ok.as_ref(), dims).unwrap_err();
        assert!(
            matches!(err, DsaError::InvalidParameter { name: "dims", .. }),
            "dims = {dims}: {err}"
        );
        assert!(err.to_string().contains("between 1 and 3"), "{err}");
    }
    // one item: nothing to embed
    let err = classical_mds(Mat::<f64>::zeros(1, 1).as_ref(), 1).unwrap_err();
    assert!(
        matches!(err, DsaError::InvalidParameter { name: "dims", .. }),
        "{err}"
    );
    // 3 dims of 4 items is the largest allowed
    assert!(classical_mds(ok.as_ref(), 3).is_ok());
}

#[test]
fn all_points_equal_is_a_point() {
    let d = Mat::<f64>::zeros(4, 4);
    let emb = classical_mds(d.as_ref(), 2).unwrap();
    assert!(emb.coords.norm_l2() == 0.0);
    assert_eq!(emb.stress, 0.0);
}

/// A planar configuration of 3 to 12 points in `[-10, 10]^2`.
fn configuration() -> impl Strategy<Value = Mat<f64>> {
    (3usize..=12).prop_flat_map(|n| {
        prop::collection::vec(-10.0f64..10.0, 2 * n)
            .prop_map(move |v| Mat::from_fn(n, 2, |i, k| v[2 * i + k]))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A rigid motion (rotation or reflection, then translation) of a planar configuration
    /// changes no distance, so MDS gives back the original's distances, and the same embedding
    /// up to the sign convention, whatever the motion.
    #[test]
    fn rigid_motions_are_recovered(
        p in configuration(),
        angle in 0.0f64..std::f64::consts::TAU,
        reflect in any::<bool>(),
        shift in (-100.0f64..100.0, -100.0f64..100.0),
    ) {
        let (c, s) = (angle.cos(), angle.sin());
        let f = if reflect { -1.0 } else { 1.0 };
        let q = faer::mat![[c, -s * f], [s, c * f]];
        let moved = Mat::from_fn(p.nrows(), 2, |i, k| {
            (0..2).map(|m| p[(i, m)] * q[(m, k)]).sum::<f64>() + if k == 0 { shift.0 } else { shift.1 }
        });
        let d = distances(&p);
        let scale = 1.0 + d.norm_max();
        for input in [&p, &moved] {
            let emb = classical_mds(distances(input).as_ref(), 2).unwrap();
            let err = max_diff(&distances(&emb.coords), &d);
            prop_assert!(err < 1e-9 * scale, "max distance error {:e}", err);
            prop_assert!(emb.stress < 1e-9);
        }
        // the centred configuration itself comes back up to an orthogonal map: its Gram
        // matrix (which no rotation changes) is reproduced
        let centred = |m: &Mat<f64>| {
            let n = m.nrows();
            Mat::from_fn(n, 2, |i, k| m[(i, k)] - (0..n).map(|r| m[(r, k)]).sum::<f64>() / n as f64)
        };
        let emb = classical_mds(distances(&moved).as_ref(), 2).unwrap();
        let pc = centred(&p);
        let gram_p = &pc * pc.transpose();
        let gram_e = &emb.coords * emb.coords.transpose();
        prop_assert!(max_diff(&gram_p, &gram_e) < 1e-8 * scale * scale);
    }
}
