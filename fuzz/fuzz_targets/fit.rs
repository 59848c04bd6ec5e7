//! Fuzz the fit pipeline: bytes -> small shapes, values and parameters -> `Dataset` -> delay
//! embedding -> DMD fit -> predict -> compare. Every call must return an error or finite
//! numbers; a panic, or a NaN/inf inside an `Ok`, is a crash.
//!
//! Run (nightly, from the crate root): `cargo +nightly fuzz run fit -- -max_total_time=60`.
//! See docs/robustness.md.

#![no_main]

use dsa::{CayleyAdam, DelayEmbedding, Dmd, Embedding, OperatorFit, Procrustes, Similarity, SpectralDistance};
use faer::Mat;
use libfuzzer_sys::fuzz_target;

/// Reads the input byte by byte; past the end it yields a deterministic pattern.
struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or((self.pos as u8).wrapping_mul(37));
        self.pos += 1;
        b
    }

    fn u64(&mut self) -> u64 {
        (0..8).fold(0u64, |acc, _| (acc << 8) | u64::from(self.byte()))
    }

    /// Mostly small numbers, sometimes the values every entry point must survive, sometimes
    /// arbitrary bit patterns.
    fn value(&mut self, t: usize, j: usize) -> f64 {
        if self.pos >= self.data.len() {
            return ((t as f64) * (0.1 + 0.07 * j as f64)).sin();
        }
        match self.byte() {
            0..=199 => (f64::from(self.byte()) - 128.0) / 16.0,
            200 => f64::NAN,
            201 => f64::INFINITY,
            202 => f64::NEG_INFINITY,
            203 => 0.0,
            204 => f64::MIN_POSITIVE / 2.0,
            205 => 1e300,
            206 => -1e300,
            207 => 1e-300,
            208 => f64::MAX,
            209 => 1.5, // constant
            _ => f64::from_bits(self.u64()),
        }
    }

    fn pick<T: Copy>(&mut self, options: &[T]) -> T {
        options[usize::from(self.byte()) % options.len()]
    }
}

fn finite(m: faer::MatRef<'_, f64>) -> bool {
    (0..m.ncols()).all(|j| (0..m.nrows()).all(|i| m[(i, j)].is_finite()))
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes { data, pos: 0 };
    let k = 1 + usize::from(b.byte()) % 3;
    let t = usize::from(b.byte()) % 41;
    let n = usize::from(b.byte()) % 7;
    let n_delays = b.pick(&[1usize, 1, 2, 3, 4, 6, 0, 40, usize::MAX]);
    let tau = b.pick(&[1usize, 1, 2, 3, 0, usize::MAX]);
    let steps = b.pick(&[1usize, 1, 2, 0, usize::MAX]);
    let rank = b.pick(&[None, Some(1usize), Some(2), Some(4), Some(8), Some(0), Some(1000), Some(usize::MAX)]);
    let lambda = b.pick(&[0.0, 0.0, 1e-6, 1.0, 1e300, -1.0, f64::NAN, f64::INFINITY]);
    let flags = b.byte();
    let reseed = b.pick(&[1usize, 2, 5, 1000, usize::MAX, 0]);

    let trials: Vec<Mat<f64>> = (0..k)
        .map(|kk| {
            let rows = t.saturating_sub(kk * (flags as usize % 4));
            let cols = if flags & 0x80 != 0 && kk == 1 { n + 1 } else { n };
            let mut m = Mat::zeros(rows, cols);
            for i in 0..rows {
                for j in 0..cols {
                    m[(i, j)] = b.value(i, j);
                }
            }
            m
        })
        .collect();

    let Ok(dataset) = dsa::Dataset::from_trials(trials.clone()) else { return };

    // the embedding on its own
    if let Ok(e) = DelayEmbedding::new(n_delays, tau) {
        if let Ok(h) = e.with_steps_ahead(steps).embed(&dataset) {
            assert!(finite(h.matrix()), "embedding of finite data is not finite");
            assert_eq!(h.ncols(), n * n_delays);
        }
    }

    let mut p = Dmd::params()
        .n_delays(n_delays)
        .delay_interval(tau)
        .steps_ahead(steps)
        .lambda(lambda)
        .reduced_rank(flags & 1 != 0);
    if let Some(r) = rank {
        p = p.rank(r);
    }
    if flags & 2 != 0 {
        p = p.explained_variance(f64::from(flags) / 255.0);
    }
    if flags & 4 != 0 {
        p = p.optimal_hard_threshold(true);
    }
    let model = match p.fit(&dataset) {
        Ok(m) => m,
        Err(e) => {
            assert!(!e.to_string().trim().is_empty(), "empty error message");
            return;
        }
    };
    let info = model.rank_info();
    assert!(info.used >= 1 && info.used <= info.available && info.used <= info.numerical_rank, "{info:?}");
    assert!(finite(model.operator()), "operator not finite");
    assert!(model.singular_values().iter().all(|s| s.is_finite() && *s >= 0.0));
    assert!(model.singular_values().windows(2).all(|w| w[0] >= w[1]), "singular values not sorted");
    assert!(model.eigenvalues().iter().all(|l| l.re.is_finite() && l.im.is_finite()));

    if let Ok(pred) = model.predict(&trials, reseed) {
        for (y, x) in pred.iter().zip(&trials) {
            assert_eq!((y.nrows(), y.ncols()), (x.nrows(), x.ncols()));
            assert!(finite(y.as_ref()), "forecast not finite");
        }
    }

    // compare the operator with its transpose: with the default solver for one input in
    // eight (it runs dozens of starts and would dominate the time per input), otherwise with a
    // short Cayley+Adam run
    let a = model.operator();
    if a.nrows() <= 12 {
        let procrustes = if flags & 0x70 == 0 {
            Procrustes::default()
        } else {
            Procrustes::with_solver(CayleyAdam::default().iters(20))
        };
        if let Ok(c) = procrustes.compare(a, a.transpose()) {
            assert!(c.angular.is_finite() && (0.0..=std::f64::consts::PI).contains(&c.angular));
            assert!(c.euclidean.is_finite() && (0.0..=2.0).contains(&c.euclidean));
            assert!(finite(c.c.as_ref()));
        }
        if let Ok(s) = SpectralDistance.compare(a, a.transpose()) {
            assert!(s.w2_squared.is_finite() && s.w2_squared >= 0.0);
        }
    }
});
