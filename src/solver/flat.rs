//! Tangent vectors stored contiguously, and the vector operations of the optimizers on them.
//!
//! The loops run inside `pulp`'s runtime dispatch (faer's SIMD layer, re-exported as
//! `faer::traits::pulp`), so they are compiled for the CPU's vector instructions (AVX2 or
//! AVX-512 on x86-64) even though the crate is built for the baseline target. They use no fused
//! multiply-add and a fixed summation order, so every code path gives the same bits.

use faer::traits::pulp::{Arch, Simd, WithSimd};
use faer::MatMut;

/// An `n x n` matrix in one contiguous column-major buffer.
#[derive(Debug, Clone)]
pub(crate) struct Flat {
    n: usize,
    data: Vec<f64>,
}

impl Flat {
    pub fn zeros(n: usize) -> Self {
        Self {
            n,
            data: vec![0.0; n * n],
        }
    }

    #[cfg(test)]
    pub fn as_ref(&self) -> faer::MatRef<'_, f64> {
        faer::MatRef::from_column_major_slice(&self.data, self.n, self.n)
    }

    pub fn as_mut(&mut self) -> MatMut<'_, f64> {
        MatMut::from_column_major_slice_mut(&mut self.data, self.n, self.n)
    }

    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }
}

#[cfg(test)]
/// Packs the strictly upper triangle of a skew matrix, column by column, times `sqrt(2)` (so
/// that packed dot products are Frobenius inner products).
pub(crate) fn pack_skew(x: &Flat, v: &mut [f64]) {
    let n = x.n;
    let mut k = 0;
    for q in 1..n {
        let col = &x.data[q * n..q * n + q];
        for (u, w) in v[k..k + q].iter_mut().zip(col) {
            *u = std::f64::consts::SQRT_2 * w;
        }
        k += q;
    }
}

/// The skew matrix of a packed vector (inverse of [`pack_skew`]).
pub(crate) fn unpack_skew(v: &[f64], x: &mut Flat) {
    let n = x.n;
    let h = std::f64::consts::FRAC_1_SQRT_2;
    let mut k = 0;
    for q in 0..n {
        x.data[q * n + q] = 0.0;
        for p in 0..q {
            let w = h * v[k];
            x.data[p + q * n] = w;
            x.data[q + p * n] = -w;
            k += 1;
        }
    }
}

const LANES: usize = 16;

/// Runs `op` compiled for the best instruction set of the CPU.
#[inline(always)]
pub(crate) fn simd<T>(op: impl VectorOp<Output = T>) -> T {
    Arch::new().dispatch(Dispatch(op))
}

/// A loop to run under [`simd`]; `run` must be `#[inline(always)]`.
pub(crate) trait VectorOp {
    type Output;
    fn run(self) -> Self::Output;
}

struct Dispatch<O>(O);

impl<O: VectorOp> WithSimd for Dispatch<O> {
    type Output = O::Output;
    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) -> Self::Output {
        self.0.run()
    }
}

/// `sum_i x_i y_i` with sixteen partial sums (four independent vector chains) in a fixed
/// order; inline it into a [`VectorOp`].
#[inline(always)]
pub(crate) fn dot_kernel(x: &[f64], y: &[f64]) -> f64 {
    let mut acc = [0.0f64; LANES];
    let (xc, yc) = (x.chunks_exact(LANES), y.chunks_exact(LANES));
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (a, b) in xc.zip(yc) {
        for k in 0..LANES {
            acc[k] += a[k] * b[k];
        }
    }
    for (k, (a, b)) in xr.iter().zip(yr).enumerate() {
        acc[k] += a * b;
    }
    let mut half = LANES / 2;
    while half > 0 {
        for k in 0..half {
            acc[k] += acc[k + half];
        }
        half /= 2;
    }
    acc[0]
}

struct Dot<'a>(&'a [f64], &'a [f64]);
impl VectorOp for Dot<'_> {
    type Output = f64;
    #[inline(always)]
    fn run(self) -> f64 {
        dot_kernel(self.0, self.1)
    }
}

struct Axpy<'a>(&'a mut [f64], f64, &'a [f64]);
impl VectorOp for Axpy<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let a = self.1;
        for (u, v) in self.0.iter_mut().zip(self.2) {
            *u += a * v;
        }
    }
}

struct Combine<'a>(&'a mut [f64], f64, &'a [f64], f64, &'a [f64]);
impl VectorOp for Combine<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let (a, b) = (self.1, self.3);
        for ((u, v), w) in self.0.iter_mut().zip(self.2).zip(self.4) {
            *u = a * v + b * w;
        }
    }
}

struct Scale<'a>(&'a mut [f64], f64);
impl VectorOp for Scale<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let a = self.1;
        for u in self.0.iter_mut() {
            *u *= a;
        }
    }
}

/// 1 if `x` is NaN or infinite (all exponent bits set), 0 otherwise: an integer test that a
/// loop can fold with `|` and vectorize (a float test per entry with an early exit does not).
#[inline(always)]
pub(crate) fn nonfinite(x: f64) -> u64 {
    const EXP: u64 = 0x7ff0_0000_0000_0000;
    u64::from(x.to_bits() & EXP == EXP)
}

/// `sum_i x_i y_i` (see [`dot_kernel`]).
pub(crate) fn dot(x: &[f64], y: &[f64]) -> f64 {
    simd(Dot(x, y))
}

/// `y += a x`.
pub(crate) fn axpy(y: &mut [f64], a: f64, x: &[f64]) {
    simd(Axpy(y, a, x))
}

/// `y = a x + b z`.
pub(crate) fn combine(y: &mut [f64], a: f64, x: &[f64], b: f64, z: &[f64]) {
    simd(Combine(y, a, x, b, z))
}

/// `y *= a`.
pub(crate) fn scale(y: &mut [f64], a: f64) {
    simd(Scale(y, a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_operations_match_their_definitions() {
        let x: Vec<f64> = (0..37).map(|i| (i as f64 * 0.7).sin()).collect();
        let y: Vec<f64> = (0..37).map(|i| (i as f64 * 1.3).cos()).collect();
        let naive: f64 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
        assert!((dot(&x, &y) - naive).abs() < 1e-13);
        let mut z = y.clone();
        axpy(&mut z, 2.0, &x);
        assert!(z
            .iter()
            .zip(&x)
            .zip(&y)
            .all(|((z, x), y)| *z == y + 2.0 * x));
        combine(&mut z, 3.0, &x, -1.0, &y);
        assert!(z
            .iter()
            .zip(&x)
            .zip(&y)
            .all(|((z, x), y)| *z == 3.0 * x - y));
        scale(&mut z, 0.5);
        assert!(z
            .iter()
            .zip(&x)
            .zip(&y)
            .all(|((z, x), y)| *z == 0.5 * (3.0 * x - y)));
        let mut f = Flat::zeros(3);
        f.as_mut()[(2, 1)] = 4.0;
        assert_eq!(f.as_slice()[5], 4.0);
        // packing is an isometry and unpacking inverts it on skew matrices
        f.as_mut()[(1, 2)] = -4.0;
        let mut v = vec![0.0; 3];
        pack_skew(&f, &mut v);
        assert!((dot(&v, &v) - 32.0).abs() < 1e-12);
        let mut g = Flat::zeros(3);
        unpack_skew(&v, &mut g);
        for (x, y) in g.as_slice().iter().zip(f.as_slice()) {
            assert!((x - y).abs() < 1e-15);
        }
        assert_eq!(dot(&[], &[]), 0.0);
    }
}
