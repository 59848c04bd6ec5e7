//! The fitted DMD model.

use faer::{Mat, MatRef};

use super::params::{DmdValidParams, Regression};
use super::rank::RankRule;
use crate::linalg::c64;

/// How the rank was chosen, and whether it was capped.
///
/// # Example
/// ```
/// use dsa::{Dmd, OperatorFit};
/// # fn main() -> dsa::Result<()> {
/// // 2 channels, 1 delay: only 2 singular values exist, so rank 5 is capped at 2.
/// let x = faer::Mat::from_fn(100, 2, |t, j| ((t as f64) * 0.3 + j as f64).cos());
/// let m = Dmd::params().rank(5).fit(&dsa::Dataset::from_trajectory(x.as_ref())?)?;
/// let info = m.rank_info();
/// assert_eq!((info.requested, info.used, info.available), (5, 2, 2));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RankInfo {
    /// The rule in force.
    pub rule: RankRule,
    /// What the rule asked for (for `Fixed`, the given rank; otherwise its pick).
    pub requested: usize,
    /// The rank used: `requested` capped at `available` and at `numerical_rank`.
    pub used: usize,
    /// Number of singular values of the embedding, `p = min(R, N*d)`.
    pub available: usize,
    /// Singular values above `eps * s_1 * max(R, N*d)`: those that can be inverted.
    pub numerical_rank: usize,
    /// True when `used < requested` (the cap applied).
    pub capped: bool,
}

/// A fitted DMD model (spec §3).
///
/// # Example
/// ```
/// use dsa::{Dmd, OperatorFit};
/// # fn main() -> dsa::Result<()> {
/// // x_{t+1} = M x_t with M a rotation by 0.3 rad
/// let (c, s) = (0.3f64.cos(), 0.3f64.sin());
/// let x = faer::Mat::from_fn(50, 2, |t, j| {
///     let a = 0.3 * t as f64;
///     if j == 0 { a.cos() } else { a.sin() }
/// });
/// let model = Dmd::params().fit(&dsa::Dataset::from_trajectory(x.as_ref())?)?;
/// for l in model.eigenvalues() {
///     assert!((l.norm() - 1.0).abs() < 1e-9 && (l.im.abs() - s).abs() < 1e-9 && (l.re - c).abs() < 1e-9);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct DmdModel {
    pub(crate) params: DmdValidParams,
    pub(crate) n_channels: usize,
    pub(crate) hankel_shape: (usize, usize),
    pub(crate) trial_rows: Vec<usize>,
    pub(crate) s: Vec<f64>,
    pub(crate) u: Mat<f64>,
    pub(crate) v: Mat<f64>,
    pub(crate) a: Mat<f64>,
    pub(crate) rank: RankInfo,
    pub(crate) eigenvalues: Vec<c64>,
}

impl DmdModel {
    /// The operator `A` (`r x r`; `p x p` of rank `<= r` for reduced-rank regression), with
    /// `v_{t+s} ~ A v_t`.
    #[must_use]
    pub fn operator(&self) -> MatRef<'_, f64> {
        self.a.as_ref()
    }

    /// The operator as a nalgebra matrix.
    #[must_use]
    pub fn operator_nalgebra(&self) -> nalgebra::DMatrix<f64> {
        crate::linalg::to_nalgebra(self.a.as_ref())
    }

    /// All singular values of the embedding, descending (`p` of them).
    #[must_use]
    pub fn singular_values(&self) -> &[f64] {
        &self.s
    }

    /// Left factor `U` of `H^T = U S V^T`: `(N*d) x p`, all `p` columns.
    #[must_use]
    pub fn u(&self) -> MatRef<'_, f64> {
        self.u.as_ref()
    }

    /// The columns of the right factor `V` of `H^T = U S V^T` that the operator acts on:
    /// `R x k` with `k` = [`rank`](Self::rank) for principal-component regression and the
    /// numerical rank for reduced-rank regression (the remaining columns of the full `R x p`
    /// factor are never formed). Row `t` is the reduced coordinate `v_t`; `H U_k = V S_k`.
    #[must_use]
    pub fn v(&self) -> MatRef<'_, f64> {
        self.v.as_ref()
    }

    /// The rank used (the size of the reduced space the operator acts on).
    #[must_use]
    pub fn rank(&self) -> usize {
        self.rank.used
    }

    /// How the rank was chosen.
    #[must_use]
    pub fn rank_info(&self) -> &RankInfo {
        &self.rank
    }

    /// The DMD spectrum: eigenvalues of `A`, sorted by real then imaginary part.
    #[must_use]
    pub fn eigenvalues(&self) -> &[c64] {
        &self.eigenvalues
    }

    /// The parameters the model was fitted with.
    #[must_use]
    pub fn params(&self) -> &DmdValidParams {
        &self.params
    }

    /// Channels `N` of the data the model was fitted on.
    #[must_use]
    pub fn n_channels(&self) -> usize {
        self.n_channels
    }

    /// Shape `(R, N*d)` of the embedding the model was fitted on.
    #[must_use]
    pub fn hankel_shape(&self) -> (usize, usize) {
        self.hankel_shape
    }

    /// Rows each training trial contributed to the embedding.
    #[must_use]
    pub fn trial_rows(&self) -> &[usize] {
        &self.trial_rows
    }

    /// Number of columns of `U`/`V` the operator uses: `r` for principal-component regression,
    /// all invertible ones for reduced-rank regression.
    pub(crate) fn n_coords(&self) -> usize {
        self.a.nrows()
    }

    /// The full-space operator `A_full = U_r S_r A S_r^-1 U_r^T` (`(N*d) x (N*d)`), mapping an
    /// embedded row `h_t` (as a column) to `h_{t+s}`.
    #[must_use]
    pub fn full_operator(&self) -> Mat<f64> {
        let k = self.n_coords();
        let ur = self.u.as_ref().subcols(0, k);
        // U_r (S_r A S_r^-1) U_r^T, the middle factor entry by entry as a_ij (s_i / s_j): no
        // intermediate is larger than the result, even for singular values near f64::MAX
        let m = Mat::from_fn(k, k, |i, j| self.a[(i, j)] * (self.s[i] / self.s[j]));
        let left = crate::linalg::mul(ur, m.as_ref());
        crate::linalg::mul(left.as_ref(), ur.transpose())
    }

    /// Whether this model used reduced-rank regression.
    #[must_use]
    pub fn regression(&self) -> Regression {
        self.params.regression
    }
}
