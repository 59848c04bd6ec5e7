//! Subspace identification, the reference's `n4sid` backend (spec-input §b), in f64.
//!
//! For each trial of length `L_k`, `T_k = L_k - 2p` columns `j`, oldest sample first:
//!
//! ```text
//! U_p[:, j] = [u_j; ...; u_{j+p-1}]        Y_p[:, j] = [y_j; ...; y_{j+p-1}]
//! U_f[:, j] = [u_{j+p}; ...; u_{j+2p-1}]   Y_f[:, j] = [y_{j+p}; ...; y_{j+2p-1}]
//! ```
//!
//! (`p` = `n_delays` is both the past and the future horizon; columns of all trials side by
//! side, none straddling two trials). With `Z_p = [U_p; Y_p]` and the LQ factorization
//! `[U_f; Z_p; Y_f] = L Q^T`, the oblique projection of `Y_f` along `U_f` onto `Z_p` is
//!
//! ```text
//! O = L32 L22^+ Z_p = Uo diag(s) Vo^T,      Gamma = Uo_n diag(sqrt(s_n)),      Xhat = diag(sqrt(s_n)) Vo_n^T
//! ```
//!
//! (`L22`, `L32`: the blocks of `L` in the rows of `Z_p` and `Y_f`, the columns of `Z_p`;
//! `L22^+` the pseudo-inverse with the cut-off of numpy and torch, `max dim * eps * s_max`).
//! Column `j` of a trial's block of `Xhat` estimates the state at time `j + p`; a ridge
//! regression within each trial gives
//!
//! ```text
//! [A, B] = X_next Z^T (Z Z^T + lambda I)^-1,    Z = [X_cur; U_mid],    C = first N rows of Gamma.
//! ```
//!
//! That is the reference's latent basis ([`SubspaceBasis::Reference`]); the default
//! ([`SubspaceBasis::Orthonormal`]) takes `Gamma = Uo_n`, `x = diag(s_n) Vo_n^T` instead, a basis
//! fixed by `(A, C)` up to an orthogonal transformation (see [`SubspaceBasis`]).
//!
//! `O` is never formed: it equals `M Q_12^T` with `M = L32 L22^+ [L21, L22]` (`Q_12`
//! orthonormal columns), so `s` and `Uo` are those of the small matrix `M`, and
//! `Vo_n^T = diag(1/s_n) Uo_n^T O`, i.e. `Xhat = diag(1/sqrt(s_n)) Uo_n^T (L32 L22^+) Z_p`.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::prelude::*;

use super::data::check_pair;
use super::model::DrivenFit;
use super::rank::{check_rule, choose};
use crate::data::Dataset;
use crate::error::{DsaError, Result};
use crate::linalg::{self, c64, mm, SEQ};
use crate::operator::{RankInfo, RankRule};

/// The reference's default order rule: the smallest order whose singular values of `O` carry
/// 99.9% of the energy (`sum s_i^2`).
pub const DEFAULT_ENERGY: f64 = 0.999;

/// The latent basis of a subspace fit. The fit determines `(A, B, C)` only up to an invertible
/// change of latent coordinates; the comparisons look for an orthogonal one, so the basis must
/// be fixed up to an orthogonal transformation by the system, not by the data.
///
/// # Example
/// ```
/// use dsa::input::{DrivenFit, Subspace, SubspaceBasis};
/// # fn main() -> dsa::Result<()> {
/// let (x, u) = dsa::input::simulate_example(300, 0);
/// let data = |m: &faer::Mat<f64>| dsa::Dataset::from_trajectory(m.as_ref());
/// let m = Subspace::params().rank(3).fit(&data(&x)?, &data(&u)?)?;
/// // the default basis: the observability matrix has orthonormal columns
/// let g = m.observability();
/// assert!((g.transpose() * g - faer::Mat::<f64>::identity(3, 3)).norm_max() < 1e-12);
/// let r = Subspace::params().rank(3).basis(SubspaceBasis::Reference).fit(&data(&x)?, &data(&u)?)?;
/// assert!((m.eigenvalues()[0] - r.eigenvalues()[0]).norm() < 1e-10); // the same system
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub enum SubspaceBasis {
    /// `Gamma = Uo_n` (orthonormal columns), `x = diag(s_n) Vo_n^T` (the default). Any two
    /// realizations of the same `(A, C)` with orthonormal `Gamma` differ by an orthogonal
    /// change of basis, so the basis depends on the system alone: the same system driven by
    /// other inputs, or systems that differ only in `B`, have comparable latent coordinates.
    #[default]
    Orthonormal,
    /// The reference's: `Gamma = Uo_n diag(sqrt(s_n))`, `Xhat = diag(sqrt(s_n)) Vo_n^T`
    /// (`Xhat Xhat^T` diagonal). It depends on the input and noise statistics, so fits of the
    /// same system from different data are related by a general, not orthogonal, similarity
    /// (distances of ~1e-2 between noiseless fits of one system with other inputs).
    Reference,
}

/// Namespace for the subspace fit: `Subspace::params()` starts a [`SubspaceParams`] builder.
///
/// # Example
/// ```
/// use dsa::input::{DrivenFit, Subspace};
/// # fn main() -> dsa::Result<()> {
/// let (x, u) = dsa::input::simulate_example(300, 4);
/// let data = |m: &faer::Mat<f64>| dsa::Dataset::from_trajectory(m.as_ref());
/// let model = Subspace::params().n_delays(2).fit(&data(&x)?, &data(&u)?)?;
/// assert_eq!(model.rank(), 3); // noiseless: the energy rule finds the true order
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Subspace;

impl Subspace {
    /// Default parameters: `n_delays = 1`, the order by the 0.999 energy rule
    /// ([`RankRule::ExplainedVariance`]), `lambda = 0`.
    ///
    /// # Example
    /// ```
    /// assert!(dsa::input::Subspace::params().n_delays(3).rank(4).check().is_ok());
    /// ```
    #[must_use]
    pub fn params() -> SubspaceParams {
        SubspaceParams::default()
    }
}

/// Subspace-identification parameters, unchecked.
///
/// # Example
/// ```
/// let err = dsa::input::Subspace::params().n_delays(0).check().unwrap_err();
/// assert!(matches!(err, dsa::DsaError::InvalidParameter { name: "n_delays", .. }));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SubspaceParams {
    n_delays: usize,
    rank: RankRule,
    lambda: f64,
    basis: SubspaceBasis,
}

impl Default for SubspaceParams {
    fn default() -> Self {
        Self {
            n_delays: 1,
            rank: RankRule::ExplainedVariance(DEFAULT_ENERGY),
            lambda: 0.0,
            basis: SubspaceBasis::Orthonormal,
        }
    }
}

/// Validated subspace parameters; only [`SubspaceParams::check`] makes one.
///
/// # Example
/// ```
/// let p = dsa::input::Subspace::params().rank(2).check().unwrap();
/// assert_eq!(p.rank_rule(), dsa::RankRule::Fixed(2));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SubspaceValidParams(SubspaceParams);

impl SubspaceParams {
    /// Past and future horizon `p >= 1` (default 1). The order is at most `p N`.
    #[must_use]
    pub fn n_delays(mut self, p: usize) -> Self {
        self.n_delays = p;
        self
    }
    /// Fixed model order `n >= 1`, capped at the numerical rank of `O`.
    #[must_use]
    pub fn rank(self, n: usize) -> Self {
        self.rank_rule(RankRule::Fixed(n))
    }
    /// Order rule on the singular values of `O` (default `ExplainedVariance(0.999)`).
    #[must_use]
    pub fn rank_rule(mut self, rule: RankRule) -> Self {
        self.rank = rule;
        self
    }
    /// Ridge parameter `lambda >= 0` of the `[A B]` regression (default 0).
    #[must_use]
    pub fn lambda(mut self, lambda: f64) -> Self {
        self.lambda = lambda;
        self
    }
    /// The latent basis (default [`SubspaceBasis::Orthonormal`]).
    #[must_use]
    pub fn basis(mut self, basis: SubspaceBasis) -> Self {
        self.basis = basis;
        self
    }

    /// Validate.
    ///
    /// # Errors
    /// [`DsaError::InvalidParameter`] naming the parameter: `n_delays` of 0, an invalid rank
    /// rule (`rank`), a negative or non-finite `lambda`.
    pub fn check(&self) -> Result<SubspaceValidParams> {
        if self.n_delays == 0 {
            return Err(DsaError::param(
                "n_delays",
                "must be at least 1 (the past and future horizon of the subspace fit)",
            ));
        }
        if !(self.lambda >= 0.0 && self.lambda.is_finite()) {
            return Err(DsaError::param(
                "lambda",
                format!("must be finite and >= 0, got {}", self.lambda),
            ));
        }
        check_rule(self.rank, "rank")?;
        Ok(SubspaceValidParams(self.clone()))
    }
}

impl SubspaceValidParams {
    /// Past and future horizon.
    #[must_use]
    pub fn n_delays(&self) -> usize {
        self.0.n_delays
    }
    /// The order rule.
    #[must_use]
    pub fn rank_rule(&self) -> RankRule {
        self.0.rank
    }
    /// Ridge parameter.
    #[must_use]
    pub fn lambda(&self) -> f64 {
        self.0.lambda
    }
    /// The latent basis.
    #[must_use]
    pub fn basis(&self) -> SubspaceBasis {
        self.0.basis
    }
}

/// A fitted subspace model `x_{k+1} = A x_k + B u_k`, `y_k = C x_k`.
///
/// # Example
/// ```
/// use dsa::input::{DrivenFit, Subspace};
/// # fn main() -> dsa::Result<()> {
/// let (x, u) = dsa::input::simulate_example(300, 5);
/// let data = |m: &faer::Mat<f64>| dsa::Dataset::from_trajectory(m.as_ref());
/// let model = Subspace::params().rank(3).fit(&data(&x)?, &data(&u)?)?;
/// // the first Markov parameter C B equals the true B (the states are observed directly)
/// let cb = model.output_operator() * model.input_operator();
/// assert!((cb[(0, 0)] - 1.0).abs() < 1e-9 && (cb[(2, 1)] - 1.0).abs() < 1e-9);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SubspaceModel {
    params: SubspaceValidParams,
    n_channels: usize,
    n_inputs: usize,
    a: Mat<f64>,
    b: Mat<f64>,
    c: Mat<f64>,
    gamma: Mat<f64>,
    s: Vec<f64>,
    rank: RankInfo,
    eigenvalues: Vec<c64>,
    columns: usize,
    n_pairs: usize,
}

impl SubspaceModel {
    /// `A` (`n x n`).
    #[must_use]
    pub fn state_operator(&self) -> MatRef<'_, f64> {
        self.a.as_ref()
    }
    /// `B` (`n x m`).
    #[must_use]
    pub fn input_operator(&self) -> MatRef<'_, f64> {
        self.b.as_ref()
    }
    /// `C` (`N x n`), the first block row of the observability matrix.
    #[must_use]
    pub fn output_operator(&self) -> MatRef<'_, f64> {
        self.c.as_ref()
    }
    /// The extended observability matrix `Gamma = Uo_n diag(sqrt(s_n))` (`p N x n`).
    #[must_use]
    pub fn observability(&self) -> MatRef<'_, f64> {
        self.gamma.as_ref()
    }
    /// Singular values of the oblique projection `O`, descending (`min(p N, columns)` of them).
    #[must_use]
    pub fn singular_values(&self) -> &[f64] {
        &self.s
    }
    /// The model order `n`.
    #[must_use]
    pub fn rank(&self) -> usize {
        self.rank.used
    }
    /// How the order was chosen and capped.
    #[must_use]
    pub fn rank_info(&self) -> &RankInfo {
        &self.rank
    }
    /// Eigenvalues of `A`, sorted by real then imaginary part.
    #[must_use]
    pub fn eigenvalues(&self) -> &[c64] {
        &self.eigenvalues
    }
    /// The parameters of the fit.
    #[must_use]
    pub fn params(&self) -> &SubspaceValidParams {
        &self.params
    }
    /// Output channels `N`.
    #[must_use]
    pub fn n_channels(&self) -> usize {
        self.n_channels
    }
    /// Input channels `m`.
    #[must_use]
    pub fn n_inputs(&self) -> usize {
        self.n_inputs
    }
    /// Columns of the block-Hankel matrices, `sum_k (L_k - 2p)`.
    #[must_use]
    pub fn n_columns(&self) -> usize {
        self.columns
    }
    /// Pairs of consecutive states in the `[A B]` regression.
    #[must_use]
    pub fn n_pairs(&self) -> usize {
        self.n_pairs
    }
}

impl DrivenFit for SubspaceParams {
    type Model = SubspaceModel;
    fn fit(&self, states: &Dataset, inputs: &Dataset) -> Result<SubspaceModel> {
        self.check()?.fit(states, inputs)
    }
}

impl DrivenFit for SubspaceValidParams {
    type Model = SubspaceModel;
    fn fit(&self, states: &Dataset, inputs: &Dataset) -> Result<SubspaceModel> {
        fit(self, states, inputs)
    }
}

/// The upper-triangular factor `R` (`rows x rows`, zero-padded when `a` has fewer rows than
/// columns) of the QR factorization of `a` (`T x rows`), sequential.
fn r_factor(mut a: Mat<f64>) -> Mat<f64> {
    use faer::linalg::qr::no_pivoting::factor::{
        qr_in_place, qr_in_place_scratch, recommended_block_size,
    };
    let (t, n) = a.shape();
    let k = t.min(n);
    let bs = recommended_block_size::<f64>(t, n);
    let mut coeff = Mat::<f64>::zeros(bs, k);
    let mut mem = MemBuffer::new(qr_in_place_scratch::<f64>(t, n, bs, SEQ, default()));
    qr_in_place(
        a.as_mut(),
        coeff.as_mut(),
        SEQ,
        MemStack::new(&mut mem),
        default(),
    );
    Mat::from_fn(n, n, |i, j| if i < k && i <= j { a[(i, j)] } else { 0.0 })
}

/// A power of four near `1 / max` (exact square root), or 1 for `max` in `[1e-100, 1e100]`.
fn pow4_scale(max: f64) -> f64 {
    let c = linalg::pow2_scale(max);
    if c == 1.0 {
        return 1.0;
    }
    // c = 2^e exactly; round e down to an even number, within the normal range
    let e = c.log2().round() as i64;
    let e = (e - e.rem_euclid(2)).clamp(-1022, 1022);
    f64::from_bits(((e + 1023) as u64) << 52)
}

/// Pseudo-inverse with the cut-off of numpy (>= 2) and torch: singular values at or below
/// `max(rows, cols) * eps * s_max` are treated as zero.
fn pinv(a: MatRef<'_, f64>) -> Result<Mat<f64>> {
    let svd = linalg::thin_svd(a)?;
    let smax = svd.s.first().copied().unwrap_or(0.0);
    let tol = a.nrows().max(a.ncols()) as f64 * f64::EPSILON * smax;
    let k = svd.s.iter().filter(|&&x| x > tol).count();
    // V_k diag(1/s_k) U_k^T
    let vs = Mat::from_fn(a.ncols(), k, |i, j| svd.v[(i, j)] / svd.s[j]);
    Ok(linalg::mul(
        vs.as_ref(),
        svd.u.as_ref().subcols(0, k).transpose(),
    ))
}

fn fit(params: &SubspaceValidParams, states: &Dataset, inputs: &Dataset) -> Result<SubspaceModel> {
    check_pair(states, inputs)?;
    let p = params.0.n_delays;
    let (n_out, m) = (states.n_channels(), inputs.n_channels());
    // every trial needs p past samples, p future samples and one more (T_k = L_k - 2p >= 1);
    // reported as an embedding of `p` delays with `p + 1` steps ahead, which needs the same
    // `2p + 1` samples
    let mut t_k = Vec::with_capacity(states.n_trials());
    for (k, len) in states.trial_lens().into_iter().enumerate() {
        let needed = p.checked_mul(2).and_then(|x| x.checked_add(1));
        match needed {
            Some(need) if len >= need => t_k.push(len - 2 * p),
            _ => {
                return Err(DsaError::TrialTooShort {
                    trial: k,
                    len,
                    n_delays: p,
                    delay_interval: 1,
                    steps_ahead: p.saturating_add(1),
                    needed: needed.unwrap_or(usize::MAX),
                    dataset: None,
                })
            }
        }
    }
    let total: usize = t_k.iter().sum();
    // Outputs and inputs far from 1 (beyond 1e+-100) are scaled by powers of two, `cy` (a power
    // of four, so that its square root is exact) and `cu`: the projection and its SVD scale
    // with `cy` exactly, the states `Xhat` with `sqrt(cy)`, and the regression below is set up
    // in the original units of A and B. Both are 1 for ordinary data.
    let max_abs = |d: &Dataset| d.trials().iter().fold(0.0f64, |m, t| m.max(t.norm_max()));
    let cy = pow4_scale(max_abs(states));
    let cu = linalg::pow2_scale(max_abs(inputs));
    let sqrt_cy = cy.sqrt();
    let (d_uf, d_zp, d_yf) = (p * m, p * (m + n_out), p * n_out);
    let rows = d_uf + d_zp + d_yf;
    // H^T = [U_f; U_p; Y_p; Y_f]^T, one row per column j of a trial, oldest sample first
    let mut ht = Mat::<f64>::zeros(total, rows);
    let mut r0 = 0;
    for ((y, u), &tk) in states.trials().iter().zip(inputs.trials()).zip(&t_k) {
        for i in 0..p {
            for c in 0..m {
                for j in 0..tk {
                    ht[(r0 + j, i * m + c)] = cu * u[(j + p + i, c)];
                    ht[(r0 + j, d_uf + i * m + c)] = cu * u[(j + i, c)];
                }
            }
            for c in 0..n_out {
                for j in 0..tk {
                    ht[(r0 + j, d_uf + p * m + i * n_out + c)] = cy * y[(j + i, c)];
                    ht[(r0 + j, d_uf + d_zp + i * n_out + c)] = cy * y[(j + p + i, c)];
                }
            }
        }
        r0 += tk;
    }
    if ht.as_ref().subcols(d_uf + p * m, p * n_out).norm_max() == 0.0 {
        return Err(DsaError::Degenerate {
            what: "the outputs are all zero: there are no dynamics to identify".into(),
        });
    }
    let zpt = ht.as_ref().subcols(d_uf, d_zp).to_owned();
    // L = R^T: L22 = R[zp, zp]^T, L32 = R[zp, yf]^T, L[zp, :] = R[:, zp]^T
    let r = r_factor(ht);
    let l22 = r.as_ref().submatrix(d_uf, d_uf, d_zp, d_zp).transpose();
    let l32 = r
        .as_ref()
        .submatrix(d_uf, d_uf + d_zp, d_zp, d_yf)
        .transpose();
    let l2 = r.as_ref().submatrix(0, d_uf, d_uf + d_zp, d_zp).transpose();
    let w = linalg::mul(l32, pinv(l22)?.as_ref());
    let mmat = linalg::mul(w.as_ref(), l2);
    let svd = linalg::thin_svd(mmat.as_ref())?;
    if !svd.s.iter().all(|x| x.is_finite()) || !svd.u.is_all_finite() {
        return Err(DsaError::NoConvergence {
            routine: "singular value decomposition",
        });
    }
    // O has min(p N, columns) singular values; M has min(p N, rows, columns) >= that many
    let n_sv = d_yf.min(total);
    let s: Vec<f64> = svd.s[..n_sv].to_vec();
    let rank = choose(params.0.rank, &s, (d_yf, total));
    let n = rank.used;
    if n == 0 {
        return Err(DsaError::Degenerate {
            what: "the oblique projection of the future outputs is numerically zero: the outputs \
                   carry no dynamics that the past explains"
                .into(),
        });
    }
    // The basis: x = diag(w) Uo_n^T W Z_p with w = 1 / sqrt(s) (reference) or 1 (orthonormal
    // Gamma). In scaled units the states are x_s = k x with k = sqrt(cy) (reference: Xhat
    // scales with sqrt(s)) or cy (orthonormal: x scales with s), and Gamma = Uo_n diag(g).
    let sq: Vec<f64> = s[..n].iter().map(|x| x.sqrt()).collect();
    let (w_row, k, g): (Vec<f64>, f64, Vec<f64>) = match params.0.basis {
        SubspaceBasis::Reference => (
            sq.iter().map(|q| 1.0 / q).collect(),
            sqrt_cy,
            sq.iter().map(|q| q / sqrt_cy).collect(),
        ),
        SubspaceBasis::Orthonormal => (vec![1.0; n], cy, vec![1.0; n]),
    };
    let gamma = Mat::from_fn(d_yf, n, |i, j| svd.u[(i, j)] * g[j]);
    let mut pm = Mat::<f64>::zeros(n, d_zp);
    mm(
        pm.as_mut(),
        svd.u.as_ref().subcols(0, n).transpose(),
        w.as_ref(),
        1.0,
    );
    for (i, wi) in w_row.iter().enumerate() {
        for j in 0..d_zp {
            pm[(i, j)] *= wi;
        }
    }
    let mut xt = Mat::<f64>::zeros(total, n);
    mm(xt.as_mut(), zpt.as_ref(), pm.transpose(), 1.0);
    // regression pairs within trials: (x_j, u_{j+p}) -> x_{j+1}, with the states in scaled
    // units (x_s = k x) and the inputs as k u: multiplying the original residual
    // X_next - A X - B U by k gives this one with the same A and B, and the ridge parameter
    // lambda k^2 keeps the original penalty. Without a ridge the inputs enter as cu u (B scaled
    // by k / cu, undone below), which keeps extreme inputs in range.
    let u_factor = if params.0.lambda == 0.0 { cu } else { k };
    let n_pairs: usize = t_k.iter().map(|&t| t - 1).sum();
    if n_pairs == 0 {
        return Err(DsaError::Degenerate {
            what: format!(
                "no pair of consecutive states to regress: every trial has exactly 2 n_delays + 1 = {} time points; use longer trials or fewer delays",
                2 * p + 1
            ),
        });
    }
    // input channels that are zero at every regression time carry no information: they are
    // left out of the regression and their columns of B are exactly zero
    let active: Vec<usize> = (0..m)
        .filter(|&c| {
            inputs
                .trials()
                .iter()
                .zip(&t_k)
                .any(|(u, &tk)| (0..tk - 1).any(|j| u[(j + p, c)] != 0.0))
        })
        .collect();
    let ma = active.len();
    let mut zt = Mat::<f64>::zeros(n_pairs, n + ma);
    let mut yt = Mat::<f64>::zeros(n_pairs, n);
    let (mut src, mut dst) = (0, 0);
    for (u, &tk) in inputs.trials().iter().zip(&t_k) {
        for j in 0..tk - 1 {
            for c in 0..n {
                zt[(dst + j, c)] = xt[(src + j, c)];
                yt[(dst + j, c)] = xt[(src + j + 1, c)];
            }
            for (ca, &c) in active.iter().enumerate() {
                zt[(dst + j, n + ca)] = u_factor * u[(j + p, c)];
            }
        }
        src += tk;
        dst += tk - 1;
    }
    let lambda = params.0.lambda * k * k;
    if !lambda.is_finite() {
        return Err(DsaError::param(
            "lambda",
            "too large for outputs of this magnitude (lambda times the squared scale overflows)",
        ));
    }
    let ab_t = crate::operator::ridge(&zt, &yt, lambda)?;
    let a = Mat::from_fn(n, n, |i, j| ab_t[(j, i)]);
    let mut b = Mat::<f64>::zeros(n, m);
    for (ca, &c) in active.iter().enumerate() {
        for i in 0..n {
            b[(i, c)] = ab_t[(n + ca, i)] * u_factor / k;
        }
    }
    let c = gamma.as_ref().subrows(0, n_out).to_owned();
    if !a.is_all_finite() || !b.is_all_finite() || !c.is_all_finite() {
        return Err(DsaError::Degenerate {
            what: "the subspace fit produced non-finite values; rescale the data (entries far \
                   from 1) or set a positive lambda"
                .into(),
        });
    }
    let mut eigenvalues = linalg::eigenvalues(a.as_ref())?;
    linalg::sort_complex(&mut eigenvalues);
    Ok(SubspaceModel {
        params: params.clone(),
        n_channels: n_out,
        n_inputs: m,
        a,
        b,
        c,
        gamma,
        s: s.iter().map(|x| x / cy).collect(),
        rank,
        eigenvalues,
        columns: total,
        n_pairs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_factor_reconstructs_the_gram_matrix() {
        let a = Mat::from_fn(7, 3, |i, j| ((i * 5 + j * 3) % 7) as f64 - 2.5);
        let r = r_factor(a.clone());
        let g1 = linalg::mul(a.transpose(), a.as_ref());
        let g2 = linalg::mul(r.transpose(), r.as_ref());
        assert!((&g1 - &g2).norm_max() < 1e-12);
        // fewer rows than columns: zero-padded
        let wide = Mat::from_fn(2, 4, |i, j| (i + 2 * j) as f64 + 1.0);
        let r = r_factor(wide.clone());
        assert_eq!(r.shape(), (4, 4));
        let g1 = linalg::mul(wide.transpose(), wide.as_ref());
        let g2 = linalg::mul(r.transpose(), r.as_ref());
        assert!((&g1 - &g2).norm_max() < 1e-12);
    }

    #[test]
    fn pinv_of_a_singular_matrix() {
        let a = faer::mat![[1.0, 2.0], [2.0, 4.0]];
        let p = pinv(a.as_ref()).unwrap();
        // A A^+ A = A
        let apa = linalg::mul(linalg::mul(a.as_ref(), p.as_ref()).as_ref(), a.as_ref());
        assert!((&apa - &a).norm_max() < 1e-12);
    }
}
