//! The problem families of the suite: seeded pairs of operators with a known optimum or a stored
//! best-known value.

use faer::Mat;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use crate::data::Dataset;
use crate::error::{DsaError, Result};
use crate::operator::{Dmd, OperatorFit};
use crate::solver::starts::haar_of_size;
use crate::solver::Problem;

/// A family of seeded problems `min_C ||A - C B C^T||_F` (operators normalized to unit
/// Frobenius norm), each instance given by the family, the size `n` and an instance index.
///
/// # Example
/// ```
/// use dsa::bench::{Family, Optimum};
/// # fn main() -> dsa::Result<()> {
/// let case = Family::ConjugateReflection.case(8, 0)?;
/// assert_eq!(case.optimum, Optimum::Known(0.0));
/// assert!(case.problem()?.lower_bound()?.best() < 1e-12);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Family {
    /// `B = Q A Q^T` with `Q` Haar-orthogonal of determinant +1, `A` standard normal: optimum 0.
    ConjugateRotation,
    /// `B = Q A Q^T` with `Q` Haar-orthogonal of determinant -1 (the component of `O(n)` the
    /// Cayley chart does not reach): optimum 0.
    ConjugateReflection,
    /// `B = P A P^T` with `P` a random signed permutation (two fits of one system differ by
    /// that much): optimum 0.
    ConjugateSignedPermutation,
    /// `B = Q A Q^T + noise E` (`A` and `E` of unit norm, `Q` of either determinant): a
    /// conjugate pair perturbed; best-known value stored.
    NearConjugate {
        /// The norm of the perturbation relative to that of the operators.
        noise: f64,
    },
    /// Independent symmetric `A` and `B`: the optimum is the closed form
    /// `||lambda(A) - lambda(B)||` (eigenvalues sorted alike).
    Symmetric,
    /// Independent standard normal `A` and `B`: best-known value stored.
    Random,
    /// DMD operators of two seeded simulated systems of the kind of the crate's pairwise-anchor
    /// fixture (noisy stable linear systems and leaky tanh RNNs, 10 channels, 1,000 time
    /// points, 10 delays), fitted at rank `n`: best-known value stored.
    DmdPairs,
}

/// What is known of a case's optimal distance `min_C ||A - C B C^T||_F`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Optimum {
    /// The optimum, exactly (0 for conjugate pairs, the closed form for symmetric ones).
    Known(f64),
    /// The smallest distance a heavy search found (`examples/bench_best_known.rs`).
    BestKnown(f64),
    /// Nothing stored for this case (another size, instance or seed than the stored ones, or
    /// operators that changed since the values were computed).
    Unknown,
}

impl Optimum {
    /// The value, known or best known.
    #[must_use]
    pub fn value(&self) -> Option<f64> {
        match *self {
            Optimum::Known(v) | Optimum::BestKnown(v) => Some(v),
            Optimum::Unknown => None,
        }
    }
}

/// One instance of a [`Family`]: the operators (normalized) and what is known of the optimum.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Case {
    /// Its family.
    pub family: Family,
    /// The size `n` of the operators.
    pub size: usize,
    /// Its index within the family and size.
    pub instance: usize,
    /// `A`, of unit Frobenius norm.
    pub a: Mat<f64>,
    /// `B`, of unit Frobenius norm.
    pub b: Mat<f64>,
    /// The optimal distance, or the best known.
    pub optimum: Optimum,
}

/// The families of the standard suite: the three conjugate ones, near-conjugate at noise
/// 1e-6, 1e-3 and 1e-1, symmetric, random and DMD pairs.
pub(crate) const STANDARD: [Family; 9] = [
    Family::ConjugateRotation,
    Family::ConjugateReflection,
    Family::ConjugateSignedPermutation,
    Family::NearConjugate { noise: 1e-6 },
    Family::NearConjugate { noise: 1e-3 },
    Family::NearConjugate { noise: 1e-1 },
    Family::Symmetric,
    Family::Random,
    Family::DmdPairs,
];

impl Family {
    /// The families of the standard suite, in the order the tables list them.
    ///
    /// # Example
    /// ```
    /// assert_eq!(dsa::bench::Family::standard().len(), 9);
    /// ```
    #[must_use]
    pub fn standard() -> Vec<Family> {
        STANDARD.to_vec()
    }

    /// A short name for tables (`near-conjugate-1e-3`).
    ///
    /// # Example
    /// ```
    /// use dsa::bench::Family;
    /// assert_eq!(Family::NearConjugate { noise: 1e-3 }.name(), "near-conjugate-1e-3");
    /// assert_eq!(Family::DmdPairs.name(), "dmd-pairs");
    /// ```
    #[must_use]
    pub fn name(&self) -> String {
        match self {
            Family::ConjugateRotation => "conjugate-rotation".into(),
            Family::ConjugateReflection => "conjugate-reflection".into(),
            Family::ConjugateSignedPermutation => "conjugate-signed-permutation".into(),
            Family::NearConjugate { noise } => format!("near-conjugate-{noise:e}"),
            Family::Symmetric => "symmetric".into(),
            Family::Random => "random".into(),
            Family::DmdPairs => "dmd-pairs".into(),
        }
    }

    /// Whether the optimum of every instance is known exactly (conjugate and symmetric pairs).
    ///
    /// # Example
    /// ```
    /// use dsa::bench::Family;
    /// assert!(Family::Symmetric.optimum_is_known() && !Family::Random.optimum_is_known());
    /// ```
    #[must_use]
    pub fn optimum_is_known(&self) -> bool {
        matches!(
            self,
            Family::ConjugateRotation
                | Family::ConjugateReflection
                | Family::ConjugateSignedPermutation
                | Family::Symmetric
        )
    }

    /// Instance `instance` of size `n` (seeded: the same operators on every machine that takes
    /// the same floating-point paths), with its optimum: known, stored, or
    /// [`Optimum::Unknown`].
    ///
    /// # Errors
    /// [`DsaError::InvalidParameter`] (`size`) for `n = 0`, or `n > 100` for
    /// [`Family::DmdPairs`] (10 channels, 10 delays); a noise level that is not finite and
    /// positive (`noise`); the errors of a DMD fit or of a decomposition.
    ///
    /// # Example
    /// ```
    /// use dsa::bench::Family;
    /// # fn main() -> dsa::Result<()> {
    /// let a = Family::Random.case(10, 1)?;
    /// let b = Family::Random.case(10, 1)?;
    /// assert_eq!(a.a, b.a); // seeded
    /// # Ok(()) }
    /// ```
    pub fn case(&self, n: usize, instance: usize) -> Result<Case> {
        if n == 0 {
            return Err(DsaError::param("size", "must be at least 1"));
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(self.seed(n, instance));
        let randn = |rng: &mut rand::rngs::StdRng, n: usize| {
            Mat::from_fn(n, n, |_, _| rng.sample::<f64, _>(StandardNormal))
        };
        let haar_seed: u64 = rng.random();
        let (a, b) = match *self {
            Family::ConjugateRotation | Family::ConjugateReflection => {
                let a = randn(&mut rng, n);
                let k = usize::from(*self == Family::ConjugateReflection);
                let q = haar_of_size(n, haar_seed, k);
                let b = conj(&q, &a);
                (a, b)
            }
            Family::ConjugateSignedPermutation => {
                let a = randn(&mut rng, n);
                let mut perm: Vec<usize> = (0..n).collect();
                perm.shuffle(&mut rng);
                let signs: Vec<f64> = (0..n)
                    .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
                    .collect();
                let p = Mat::from_fn(n, n, |i, j| if perm[i] == j { signs[i] } else { 0.0 });
                let b = conj(&p, &a);
                (a, b)
            }
            Family::NearConjugate { noise } => {
                if !(noise > 0.0 && noise.is_finite()) {
                    return Err(DsaError::param(
                        "noise",
                        format!("must be finite and > 0, got {noise}"),
                    ));
                }
                let a = unit(&randn(&mut rng, n));
                let q = haar_of_size(n, haar_seed, instance);
                let e = unit(&randn(&mut rng, n));
                let qa = conj(&q, &a);
                let b = Mat::from_fn(n, n, |i, j| qa[(i, j)] + noise * e[(i, j)]);
                (a, b)
            }
            Family::Symmetric => {
                let g = randn(&mut rng, n);
                let h = randn(&mut rng, n);
                (
                    Mat::from_fn(n, n, |i, j| g[(i, j)] + g[(j, i)]),
                    Mat::from_fn(n, n, |i, j| h[(i, j)] + h[(j, i)]),
                )
            }
            Family::Random => (randn(&mut rng, n), randn(&mut rng, n)),
            Family::DmdPairs => {
                if n > DMD_MAX_N {
                    return Err(DsaError::param(
                        "size",
                        format!(
                            "DMD pairs go up to n = {DMD_MAX_N} (10 channels, 10 delays), got {n}"
                        ),
                    ));
                }
                let kind = instance % 2;
                let x = simulate_system(&mut rng, kind)?;
                let y = simulate_system(&mut rng, kind)?;
                (fit_operator(&x, n)?, fit_operator(&y, n)?)
            }
        };
        let (a, b) = (unit(&a), unit(&b));
        let optimum = match self {
            Family::ConjugateRotation
            | Family::ConjugateReflection
            | Family::ConjugateSignedPermutation => Optimum::Known(0.0),
            // symmetric pairs: the bound of the symmetric parts is attained by aligning the
            // eigenvectors (spec §4.1 (iii))
            Family::Symmetric => Optimum::Known(
                Problem::normalized(a.as_ref(), b.as_ref())?
                    .lower_bound()?
                    .best(),
            ),
            _ => super::best_known::lookup(&self.name(), n, instance, fingerprint(&a, &b))
                .map_or(Optimum::Unknown, Optimum::BestKnown),
        };
        Ok(Case {
            family: *self,
            size: n,
            instance,
            a,
            b,
            optimum,
        })
    }

    /// The seed of an instance: the family (its noise level too), the size and the index.
    fn seed(&self, n: usize, instance: usize) -> u64 {
        let tag: u64 = match self {
            Family::ConjugateRotation => 1,
            Family::ConjugateReflection => 2,
            Family::ConjugateSignedPermutation => 3,
            Family::NearConjugate { noise } => 4 ^ noise.to_bits().rotate_left(7),
            Family::Symmetric => 5,
            Family::Random => 6,
            Family::DmdPairs => 7,
        };
        let mut h = 0x5EED_0018_u64;
        for x in [tag, n as u64, instance as u64] {
            h = (h ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
        }
        h
    }
}

impl Case {
    /// The problem of this case ([`Problem::normalized`] of `a` and `b`), fresh: its caches are
    /// computed by the solver that uses it.
    ///
    /// # Errors
    /// A decomposition that fails (the operators are finite, square and nonzero).
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let case = dsa::bench::Family::Symmetric.case(6, 0)?;
    /// let problem = case.problem()?;
    /// let known = case.optimum.value().unwrap();
    /// assert!((problem.lower_bound()?.best() - known).abs() < 1e-12);
    /// # Ok(()) }
    /// ```
    pub fn problem(&self) -> Result<Problem<'static>> {
        Problem::normalized(self.a.as_ref(), self.b.as_ref())
    }

    /// A checksum of every bit of `a` and `b`: a stored best-known value is used only for the
    /// operators it was computed on.
    #[must_use]
    pub fn fingerprint(&self) -> u64 {
        fingerprint(&self.a, &self.b)
    }
}

/// Largest size of a [`Family::DmdPairs`] case: the width of the delay embedding.
const DMD_MAX_N: usize = 100;

/// 64-bit FNV-1a over the shapes and the bits of both matrices, column by column.
pub(crate) fn fingerprint(a: &Mat<f64>, b: &Mat<f64>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |x: u64| {
        for byte in x.to_le_bytes() {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for m in [a, b] {
        eat(m.nrows() as u64);
        eat(m.ncols() as u64);
        for j in 0..m.ncols() {
            for i in 0..m.nrows() {
                eat(m[(i, j)].to_bits());
            }
        }
    }
    h
}

/// `q a q^T`.
fn conj(q: &Mat<f64>, a: &Mat<f64>) -> Mat<f64> {
    let qa = crate::linalg::mul(q.as_ref(), a.as_ref());
    crate::linalg::mul(qa.as_ref(), q.transpose())
}

/// `a / ||a||_F` (the families' operators are far from the limits of `f64`).
fn unit(a: &Mat<f64>) -> Mat<f64> {
    let f = a.norm_l2();
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)] / f)
}

/// Channels and time points of a simulated system of [`Family::DmdPairs`].
const CHANNELS: usize = 10;
const STEPS: usize = 1000;

/// One simulated system of the pairwise anchor's kinds: `kind` 0, a noisy stable linear system
/// `x_{t+1} = M x_t + 0.1 e_t` with `M` Gaussian scaled to spectral radius 0.95; `kind` 1, a
/// leaky tanh RNN `x_{t+1} = 0.7 x_t + 0.3 tanh(W x_t) + 0.05 e_t` with `W` Gaussian of gain 1.5.
fn simulate_system(rng: &mut rand::rngs::StdRng, kind: usize) -> Result<Mat<f64>> {
    let n = CHANNELS;
    let mut w = Mat::from_fn(n, n, |_, _| rng.sample::<f64, _>(StandardNormal));
    if kind == 0 {
        let rho = crate::linalg::eigenvalues(w.as_ref())?
            .iter()
            .map(|l| l.norm())
            .fold(0.0f64, f64::max);
        w = Mat::from_fn(n, n, |i, j| 0.95 * w[(i, j)] / rho);
    } else {
        let g = 1.5 / (n as f64).sqrt();
        w = Mat::from_fn(n, n, |i, j| g * w[(i, j)]);
    }
    let mut x = Mat::<f64>::zeros(STEPS, n);
    for c in 0..n {
        x[(0, c)] = rng.sample::<f64, _>(StandardNormal);
    }
    for t in 1..STEPS {
        for i in 0..n {
            let mut drive = 0.0;
            for j in 0..n {
                drive += w[(i, j)] * x[(t - 1, j)];
            }
            let e: f64 = rng.sample(StandardNormal);
            x[(t, i)] = if kind == 0 {
                drive + 0.1 * e
            } else {
                0.7 * x[(t - 1, i)] + 0.3 * drive.tanh() + 0.05 * e
            };
        }
    }
    Ok(x)
}

/// The DMD operator of `x` at rank `n` (10 delays, as the anchor).
fn fit_operator(x: &Mat<f64>, n: usize) -> Result<Mat<f64>> {
    let data = Dataset::from_trajectory(x.as_ref())?;
    let model = Dmd::params().n_delays(10).rank(n).fit(&data)?;
    Ok(model.operator().to_owned())
}
