//! Issue 19: a pairwise matrix computed in blocks of pairs (`Dsa::pairwise_block`, then
//! `Dsa::pairwise_finish`) is `Dsa::pairwise_operators`, bit for bit, for every blocking.

use crate::common::*;

use dsa::{Dataset, Dsa, DsaError, Score, SizeMismatch};
use faer::{Mat, MatRef};
use proptest::prelude::*;

/// Operators fitted to the first `m` systems of the pairwise anchor (10 delays, rank `rank`).
fn anchor_operators(m: usize, rank: usize) -> Vec<Mat<f64>> {
    let (shape, data) = read_npy("pairwise_anchor", "data.npy");
    let (t, n) = (shape[1], shape[2]);
    let systems: Vec<Dataset> = (0..m)
        .map(|k| Dataset::from_row_major(&data[k * t * n..(k + 1) * t * n], [1, t, n]).unwrap())
        .collect();
    let dsa = Dsa::builder().n_delays(10).rank(rank).build().unwrap();
    dsa.fit_all(&systems)
        .unwrap()
        .iter()
        .map(|model| model.operator().to_owned())
        .collect()
}

fn refs(ops: &[Mat<f64>]) -> Vec<MatRef<'_, f64>> {
    ops.iter().map(Mat::as_ref).collect()
}

fn upper(m: usize) -> Vec<(usize, usize)> {
    (0..m)
        .flat_map(|i| (i + 1..m).map(move |j| (i, j)))
        .collect()
}

/// Runs `pairs` in consecutive blocks of the given sizes (cycled), assembles, finishes.
fn blocked(
    dsa: &Dsa,
    ops: &[MatRef<'_, f64>],
    pairs: &[(usize, usize)],
    sizes: &[usize],
) -> Mat<f64> {
    let m = ops.len();
    let mut values = Mat::zeros(m, m);
    let mut start = 0;
    for &size in sizes.iter().cycle() {
        if start >= pairs.len() {
            break;
        }
        let block = &pairs[start..(start + size.max(1)).min(pairs.len())];
        for (&(i, j), v) in block.iter().zip(dsa.pairwise_block(ops, block).unwrap()) {
            values[(i, j)] = v;
        }
        start += block.len();
    }
    dsa.pairwise_finish(ops, values).unwrap()
}

fn assert_same_bits(a: &Mat<f64>, b: &Mat<f64>, what: &str) {
    assert_eq!(
        (a.nrows(), a.ncols()),
        (b.nrows(), b.ncols()),
        "{what}: shape"
    );
    for i in 0..a.nrows() {
        for j in 0..a.ncols() {
            assert_eq!(
                a[(i, j)].to_bits(),
                b[(i, j)].to_bits(),
                "{what}: entry ({i}, {j}) {} vs {}",
                a[(i, j)],
                b[(i, j)]
            );
        }
    }
}

/// `xs` reordered by `k -> k * step + 3 (mod n)`, a permutation when `step` is coprime with
/// `n = xs.len()` (checked).
fn permuted<T: Copy + Ord + std::fmt::Debug>(xs: &[T], step: usize) -> Vec<T> {
    let n = xs.len();
    let out: Vec<T> = (0..n).map(|k| xs[(k * step + 3) % n]).collect();
    let (mut a, mut b) = (out.clone(), xs.to_vec());
    a.sort();
    b.sort();
    assert_eq!(a, b, "step {step} is not coprime with {n}");
    out
}

#[test]
fn blocks_equal_pairwise_operators_bit_for_bit() {
    let ops = anchor_operators(7, 10);
    let ops = refs(&ops);
    let pairs = upper(7); // 21 pairs
    let reversed: Vec<_> = pairs.iter().rev().copied().collect();
    let column_order: Vec<_> = (0..7).flat_map(|j| (0..j).map(move |i| (i, j))).collect();
    for (name, dsa) in [
        ("angular", Dsa::builder().build().unwrap()),
        (
            "angular, 1 thread",
            Dsa::builder().threads(1).build().unwrap(),
        ),
        (
            "euclidean, seed 3",
            Dsa::builder()
                .score(Score::Euclidean)
                .seed(3)
                .build()
                .unwrap(),
        ),
        (
            "wasserstein",
            Dsa::builder().score(Score::Wasserstein).build().unwrap(),
        ),
    ] {
        let full = dsa.pairwise_operators(&ops).unwrap();
        for (blocking, order, sizes) in [
            ("one block", &pairs, vec![21]),
            ("single pairs", &pairs, vec![1]),
            ("blocks of 4", &pairs, vec![4]),
            ("uneven blocks", &pairs, vec![2, 7, 1, 5]),
            ("reversed, blocks of 5", &reversed, vec![5]),
            ("column order, blocks of 3", &column_order, vec![3]),
            ("permuted, blocks of 6", &permuted(&pairs, 5), vec![6]),
        ] {
            let got = blocked(&dsa, &ops, order, &sizes);
            assert_same_bits(&got, &full, &format!("{name}, {blocking}"));
        }
    }
}

#[test]
fn blocks_follow_the_size_policy() {
    // operators of sizes 6, 6, 8, 8: pairs (0, 2) etc. differ in size
    let small = anchor_operators(2, 6);
    let large = anchor_operators(4, 8);
    let ops_owned = vec![
        small[0].clone(),
        small[1].clone(),
        large[2].clone(),
        large[3].clone(),
    ];
    let ops = refs(&ops_owned);
    let pairs = upper(4);
    for policy in [SizeMismatch::Spectral, SizeMismatch::ZeroPad] {
        let dsa = Dsa::builder().size_mismatch(policy).build().unwrap();
        let full = dsa.pairwise_operators(&ops).unwrap();
        for sizes in [vec![1], vec![2], vec![6]] {
            let got = blocked(&dsa, &ops, &permuted(&pairs, 5), &sizes);
            assert_same_bits(&got, &full, &format!("{policy:?}, blocks {sizes:?}"));
        }
    }
    // the default policy: a block with a pair of different sizes is an error, one without is not
    let dsa = Dsa::default();
    assert!(matches!(
        dsa.pairwise_block(&ops, &[(0, 1), (1, 2)]),
        Err(DsaError::SizeMismatch { a: 6, b: 8 })
    ));
    assert!(dsa.pairwise_block(&ops, &[(0, 1), (2, 3)]).is_ok());
}

#[test]
fn a_block_reports_its_own_progress_and_cancels() {
    use std::ops::ControlFlow;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let ops = anchor_operators(5, 6);
    let ops = refs(&ops);
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let dsa = Dsa::builder()
        .progress(move |p| {
            assert_eq!(p.total, 3);
            seen.fetch_add(1, Ordering::Relaxed);
            ControlFlow::Continue(())
        })
        .build()
        .unwrap();
    dsa.pairwise_block(&ops, &[(0, 4), (1, 2), (3, 4)]).unwrap();
    assert_eq!(calls.load(Ordering::Relaxed), 3);
    let stop = Dsa::builder()
        .threads(1)
        .progress(|_| ControlFlow::Break(()))
        .build()
        .unwrap();
    assert!(matches!(
        stop.pairwise_block(&ops, &upper(5)),
        Err(DsaError::Cancelled { total: 10, .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any order of the pairs, any block sizes: the same bits as one call.
    #[test]
    fn any_blocking_gives_the_same_bits(
        step in prop::sample::select(vec![1usize, 2, 4, 7, 8, 11, 13, 14]),
        sizes in prop::collection::vec(1usize..8, 1..5),
    ) {
        // 15 pairs of 6 operators; every step listed is coprime with 15
        let ops = operators_for_proptest();
        let ops = refs(ops);
        let dsa = Dsa::default();
        let full = dsa.pairwise_operators(&ops).unwrap();
        let order = permuted(&upper(6), step);
        let got = blocked(&dsa, &ops, &order, &sizes);
        assert_same_bits(&got, &full, &format!("step {step}, sizes {sizes:?}"));
    }
}

fn operators_for_proptest() -> &'static [Mat<f64>] {
    use std::sync::OnceLock;
    static OPS: OnceLock<Vec<Mat<f64>>> = OnceLock::new();
    OPS.get_or_init(|| anchor_operators(6, 8))
}
