//! The standard normal distribution function and its inverse, for the BCa interval.

/// `ln(sqrt(2 pi))`.
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// `Phi(x)`, the standard normal distribution function. For `|x| < 3`: Marsaglia's series
/// (2004, "Evaluating the normal distribution", J. Stat. Softw. 11(4)),
/// `Phi(x) = 1/2 + phi(x) (x + x^3/3 + x^5/(3 5) + ...)` summed until it stops changing, to an
/// absolute error of a few `1e-16` (a relative error below `2e-13`, as `Phi >= 1.3e-3` there;
/// BCa needs absolute accuracy). Beyond: the
/// tail `phi(x) / K(x)` with Laplace's continued fraction
/// `K(x) = x + 1/(x + 2/(x + 3/(x + ...)))`, 200 terms evaluated from the back, which keeps the
/// relative accuracy (about `1e-14`) of the far tails that `1/2 + ...` would lose to
/// cancellation.
pub(crate) fn cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x <= -3.0 {
        return upper_tail(-x);
    }
    if x >= 3.0 {
        return 1.0 - upper_tail(x);
    }
    let q = x * x;
    let (mut sum, mut term, mut i) = (x, x, 1.0);
    loop {
        i += 2.0;
        term *= q / i;
        let next = sum + term;
        if next == sum {
            break;
        }
        sum = next;
    }
    (0.5 + sum * (-0.5 * q - LN_SQRT_2PI).exp()).clamp(0.0, 1.0)
}

/// `1 - Phi(x)` for `x >= 3`, by the continued fraction (0 beyond `x = 40`).
fn upper_tail(x: f64) -> f64 {
    if x > 40.0 {
        return 0.0;
    }
    let mut k = x;
    for n in (1..=200u32).rev() {
        k = x + f64::from(n) / k;
    }
    (-0.5 * x * x - LN_SQRT_2PI).exp() / k
}

/// `Phi^-1(p)` for `p` in `(0, 1)` (`-inf` at 0, `+inf` at 1, NaN outside): Acklam's
/// rational approximation (relative error below `1.2e-9`) refined by one Halley step on
/// [`cdf`], which brings it to the accuracy of `cdf`.
pub(crate) fn quantile(p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const LOW: f64 = 0.024_25;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let x = if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p <= 1.0 - LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    };
    // one Halley step: e = Phi(x) - p, u = e / phi(x)
    let e = cdf(x) - p;
    let u = e * (0.5 * x * x + LN_SQRT_2PI).exp();
    x - u / (1.0 + 0.5 * x * u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // reference values: Python's 0.5 * math.erfc(-x / sqrt(2)) and NormalDist().inv_cdf
        let close = |a: f64, b: f64, rel: f64| (a - b).abs() <= rel * b.abs();
        assert_eq!(cdf(0.0), 0.5);
        assert!(close(cdf(1.0), 0.841_344_746_068_542_9, 1e-15));
        assert!(close(cdf(-1.0), 0.158_655_253_931_457_07, 1e-14));
        assert!(close(cdf(1.959_963_984_540_053_6), 0.975, 1e-15));
        assert!(close(cdf(-3.0), 0.001_349_898_031_630_095_7, 1e-14));
        assert!(close(cdf(-2.999), 0.001_354_336_533_727_106_6, 2e-13));
        assert!(close(cdf(-5.0), 2.866_515_718_791_946e-7, 1e-14));
        assert!(close(cdf(-8.0), 6.220_960_574_271_819e-16, 1e-14));
        assert!(close(cdf(-20.0), 2.753_624_118_606_331_4e-89, 1e-13));
        assert!(close(quantile(0.975), 1.959_963_984_540_053_6, 1e-15));
        assert!(quantile(0.5).abs() < 1e-15);
        assert!(close(quantile(0.05), -1.644_853_626_951_472_6, 1e-15));
        assert!(close(quantile(1e-6), -4.753_424_308_822_899, 1e-14));
        assert!(close(quantile(1e-20), -9.262_340_089_798_405, 1e-14));
        assert_eq!(quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(quantile(1.0), f64::INFINITY);
        assert!(quantile(1.5).is_nan() && cdf(f64::NAN).is_nan());
    }

    #[test]
    fn inverse_round_trips_and_cdf_is_monotone() {
        let mut prev = 0.0;
        for k in -1000..=1000 {
            let x = f64::from(k) / 100.0;
            let p = cdf(x);
            assert!(p >= prev, "{x}");
            prev = p;
            if p > 1e-300 && p < 0.999 {
                let back = quantile(p);
                assert!(
                    (back - x).abs() <= 1e-13 * x.abs().max(1.0),
                    "x {x}: {back}"
                );
            }
        }
        for k in 1..1000 {
            let p = f64::from(k) / 1000.0;
            assert!((cdf(quantile(p)) - p).abs() <= 1e-15, "{p}");
        }
    }
}
