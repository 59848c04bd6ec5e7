//! Systems driven by known inputs (spec-input): fit `x_{t+1} = A x_t + B u_t` to states and
//! inputs, and compare two driven systems up to an orthogonal change of their latent
//! coordinates.
//!
//! ```text
//! (states x, inputs u) --DMDc or subspace identification--> (A, B)          (per system)
//! ((A1, B1), (A2, B2)) --State | Control | Joint | JointDynamics--> distance  (per pair)
//! ```
//!
//! # Fits
//!
//! * [`Dmdc`] (DMD with control, spec-input §a): delay-embed the states (newest block first),
//!   align the inputs with the newest block, regress `h_{t+s} ~ A_full h_t + B_full u_t` by the
//!   Tikhonov-filtered pseudo-inverse of `Omega = [X; U]`, and project onto the top-`r` left
//!   singular vectors `U_r` of the targets: `A = U_r^T A_full U_r`, `B = U_r^T B_full`. The
//!   regression pairs `h_t` with `h_{t+s}` within each trial ([`TrialShift::WithinTrials`]);
//!   [`TrialShift::AcrossTrials`] reproduces the reference, which also pairs the last rows of a
//!   trial with the first rows of the next.
//! * [`Subspace`] (the reference's `n4sid` backend, spec-input §b): past and future block-Hankel
//!   matrices per trial, the oblique projection of the future outputs along the future inputs
//!   onto the past (by an LQ factorization), its SVD, the model order (given, or the 0.999
//!   energy rule), the state sequence, and a ridge regression for `[A B]`; `C` is the first
//!   block row of the observability matrix. The reference's `custom` backend is not provided:
//!   it builds `T x T` dense projectors (`T` the number of samples), which is slow and
//!   memory-hungry, and identifies the same model class as `n4sid` (see `docs/inputs.md`).
//!
//! Both return `A` (`n x n`, the latent dynamics) and `B` (`n x m`, how the inputs drive it) in
//! a latent basis that the system fixes up to an orthogonal transformation: the principal
//! components of the data (DMDc), or the basis in which the observability matrix has
//! orthonormal columns (subspace, [`SubspaceBasis::Orthonormal`]; the reference's basis, which
//! depends on the data, is [`SubspaceBasis::Reference`]). The remaining freedom, in practice
//! the signs of the latent coordinates (`D A D`, `D B`), is what every comparison below
//! ignores.
//!
//! # Comparisons ([`InputCompare`])
//!
//! All four work on normalized operators `Ah = A / ||A||_F`, `Bh = B / ||B||_F` and look for an
//! orthogonal `C` with `A1 ~ C A2 C^T` and `B1 ~ C B2`:
//!
//! * `State`: Procrustes over vector fields on `A` alone (the crate's [`crate::Procrustes`] and
//!   its default solver), or the spectral score with [`crate::Score::Wasserstein`].
//! * `Control`: `min_C ||B1h - C B2h||_F`, in closed form (`C` the polar factor of
//!   `B1h B2h^T`).
//! * `Joint` (the reference's default): the controllability matrices
//!   `K = [B, AB, A^T B, A^2 B, (A^T)^2 B, ..., A^{n-1} B, (A^T)^{n-1} B]`, built from `Ah` and
//!   `Bh` (so that no power can overflow, [`Controllability::Scaled`]) and normalized,
//!   compared by `min_C ||K1 - C K2||_F` in closed form (`C` the polar factor of `K1 K2^T`: the
//!   minimiser, where the reference uses its transpose).
//! * `JointDynamics`: `min_C ||A1h - C A2h C^T||^2 + w ||B1h - C B2h||^2`, by a Riemannian
//!   L-BFGS over `O(n)` from several starts (see [`JointDynamics`]).
//!
//! Each returns an angular score in `[0, pi]` and a Euclidean score in `[0, 2]` (the chordal
//! distance between unit vectors, `angular = 2 asin(euclidean / 2)`), and the state and control
//! terms at the `C` found ([`InputComparison`]).
//!
//! # Many systems ([`InputDsa`])
//!
//! [`InputDsa::builder`] collects the settings; [`InputDsa::distance`], [`InputDsa::compare`],
//! [`InputDsa::pairwise`] and [`InputDsa::bipartite`] fit every system once and compare pairs in
//! parallel, with results independent of the number of threads.
//!
//! # Example
//! ```
//! # fn main() -> dsa::Result<()> {
//! use dsa::{InputCompare, InputDsa, InputFit};
//! // x_{t+1} = A x_t + B u_t, observed directly, driven by pseudo-random inputs
//! let (x, u) = dsa::input::simulate_example(400, 0);
//! // the same trajectory in other coordinates (channels swapped and one flipped)
//! let y = faer::Mat::from_fn(x.nrows(), 3, |t, j| match j {
//!     0 => x[(t, 1)],
//!     1 => -x[(t, 0)],
//!     _ => x[(t, 2)],
//! });
//! let dsa = InputDsa::builder().fit(InputFit::Subspace).rank(3).compare(InputCompare::Joint).build()?;
//! assert!(dsa.distance(&x, &u, &y, &u)? < 1e-10);
//! # Ok(()) }
//! ```

mod builder;
mod compare;
mod controllability;
mod data;
mod dmdc;
mod joint;
mod model;
mod pipeline;
mod rank;
mod subspace;

pub use builder::InputDsaBuilder;
pub use compare::InputComparison;
pub use controllability::{controllability_matrix, Controllability};
pub use dmdc::{Dmdc, DmdcModel, DmdcParams, DmdcValidParams, TrialShift};
pub use joint::{
    JointDynamics, JointDynamicsOutput, JointStart, JointStartOutcome, DEFAULT_WEIGHT,
};
pub use model::{DrivenFit, InputModel};
pub use pipeline::{InputDsa, InputReport};
pub use subspace::{
    Subspace, SubspaceBasis, SubspaceModel, SubspaceParams, SubspaceValidParams, DEFAULT_ENERGY,
};

use faer::Mat;

/// The examples of `docs/inputs.md`, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/inputs.md")]
struct InputsDoc;

/// Which model is fitted to each system's states and inputs.
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let dsa = dsa::InputDsa::builder().fit(dsa::InputFit::Dmdc).build()?;
/// assert_eq!(dsa.fit_kind(), dsa::InputFit::Dmdc);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub enum InputFit {
    /// Subspace identification ([`Subspace`], the reference's `n4sid` backend): a latent model
    /// `x_{k+1} = A x_k + B u_k`, `y_k = C x_k`. The default, as in the reference.
    #[default]
    Subspace,
    /// DMD with control ([`Dmdc`]) on the delay-embedded states.
    Dmdc,
}

/// How two driven systems are compared (see the [module documentation](self)).
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// let dsa = dsa::InputDsa::builder().compare(dsa::InputCompare::JointDynamics).build()?;
/// assert_eq!(dsa.compare_kind(), dsa::InputCompare::JointDynamics);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub enum InputCompare {
    /// Controllability matrices `[B, AB, A^T B, ...]`, closed-form Procrustes (the default, as
    /// in the reference, with the minimiser correctly oriented).
    #[default]
    Joint,
    /// The input operators `B` alone, closed-form Procrustes.
    Control,
    /// The state operators `A` alone: Procrustes over vector fields (the plain DSA comparison),
    /// or the spectral score with [`crate::Score::Wasserstein`].
    State,
    /// `min_C ||A1 - C A2 C^T||^2 + w ||B1 - C B2||^2` on normalized operators, by a Riemannian
    /// solver ([`JointDynamics`]).
    JointDynamics,
}

impl InputCompare {
    /// The mode's name in messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            InputCompare::Joint => "InputCompare::Joint",
            InputCompare::Control => "InputCompare::Control",
            InputCompare::State => "InputCompare::State",
            InputCompare::JointDynamics => "InputCompare::JointDynamics",
        }
    }
}

/// A small driven linear system for examples: `x_{t+1} = A x_t + B u_t` with a fixed stable
/// `A` (3 x 3, a damped rotation and a decay), `B` (3 x 2) and pseudo-random inputs from `seed`;
/// returns the states (`steps x 3`, observed directly) and the inputs (`steps x 2`).
///
/// # Example
/// ```
/// let (x, u) = dsa::input::simulate_example(100, 7);
/// assert_eq!((x.nrows(), x.ncols(), u.ncols()), (100, 3, 2));
/// ```
#[must_use]
pub fn simulate_example(steps: usize, seed: u64) -> (Mat<f64>, Mat<f64>) {
    use rand::{Rng, SeedableRng};
    let a = [[0.8, -0.3, 0.0], [0.3, 0.8, 0.1], [0.0, 0.0, 0.5]];
    let b = [[1.0, 0.0], [0.0, 0.5], [0.3, 1.0]];
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let u = Mat::from_fn(steps, 2, |_, _| rng.random_range(-1.0..1.0));
    let mut x = Mat::<f64>::zeros(steps, 3);
    for t in 1..steps {
        for i in 0..3 {
            let mut s = 0.0;
            for (j, aij) in a[i].iter().enumerate() {
                s += aij * x[(t - 1, j)];
            }
            for (j, bij) in b[i].iter().enumerate() {
                s += bij * u[(t - 1, j)];
            }
            x[(t, i)] = s;
        }
    }
    (x, u)
}
