//! DMD with control (spec-input §a), in f64.
//!
//! With the state embedding `H` (rows `h_t = [x_{t+(d-1)tau}, ..., x_t]`, newest first, width
//! `F = N d`) and the inputs aligned with the newest block
//! (`ubar_t = [u_{t+(d-1)tau}, u_{t+(d-2)tau}, ..., u_{t+(d-d_u)tau}]`, width `m d_u`), the
//! regression pairs `h_t` with `h_{t+s}`:
//!
//! ```text
//! Omega = [X; Ubar] = Up diag(sp) Vp^T   (columns: regression pairs)      Y = Ur diag(sr) Vr^T
//! G = Y Vp_p diag(sp / (sp^2 + lambda))  (first p singular triplets)
//! A_full = G Up1_p^T   (F x F)           B_full = G Up2_p^T   (F x m d_u)
//! A = Ur_r^T A_full Ur_r   (r x r)       B = Ur_r^T B_full   (r x m d_u)
//! ```
//!
//! `Up1`/`Up2` are the first `F` and the last `m d_u` rows of `Up`. `G` is formed as
//! `(Y Omega^T) Up_p diag(1 / (sp^2 + lambda))`, which is the same matrix without the `Vp`
//! factor (whose size grows with the number of samples).

use faer::{Mat, MatRef};

use super::data::check_pair;
use super::model::DrivenFit;
use super::rank::{check_rule, choose};
use crate::data::Dataset;
use crate::embedding::{DelayEmbedding, Embedding};
use crate::error::{DsaError, Result};
use crate::linalg::{self, c64, mm};
use crate::operator::{RankInfo, RankRule};

/// Which rows the DMDc regression pairs across trials.
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// use dsa::input::{DrivenFit, Dmdc, TrialShift};
/// let (x, u) = dsa::input::simulate_example(100, 0);
/// let trials = |m: &faer::Mat<f64>| vec![m.subrows(0, 50).to_owned(), m.subrows(50, 50).to_owned()];
/// let (x, u) = (dsa::Dataset::from_trials(trials(&x))?, dsa::Dataset::from_trials(trials(&u))?);
/// let within = Dmdc::params().fit(&x, &u)?;
/// let across = Dmdc::params().trial_shift(TrialShift::AcrossTrials).fit(&x, &u)?;
/// assert_eq!((within.n_pairs(), across.n_pairs()), (98, 99));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub enum TrialShift {
    /// Pair `h_t` with `h_{t+s}` within each trial only (the correct regression; the default).
    #[default]
    WithinTrials,
    /// The reference's behaviour: stack the trials' embeddings end to end and shift the stack,
    /// so that `K - 1` pairs (for `K` trials and `s = 1`) join the end of one trial to the start
    /// of the next. Use it only to reproduce the reference's numbers.
    AcrossTrials,
}

/// Namespace for the DMDc fit: `Dmdc::params()` starts a [`DmdcParams`] builder.
///
/// # Example
/// ```
/// use dsa::input::{Dmdc, DrivenFit};
/// # fn main() -> dsa::Result<()> {
/// let (x, u) = dsa::input::simulate_example(300, 2);
/// let model = Dmdc::params().fit(&dsa::Dataset::from_trajectory(x.as_ref())?, &dsa::Dataset::from_trajectory(u.as_ref())?)?;
/// assert_eq!((model.rank(), model.input_operator().ncols()), (3, 2));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Dmdc;

impl Dmdc {
    /// Default parameters: `n_delays = 1`, `n_control_delays = 1`, `delay_interval = 1`,
    /// `steps_ahead = 1`, full input and output ranks (capped at the numerical ranks),
    /// `lambda = 0`, [`TrialShift::WithinTrials`].
    ///
    /// # Example
    /// ```
    /// assert!(dsa::input::Dmdc::params().n_delays(4).rank(6).check().is_ok());
    /// ```
    #[must_use]
    pub fn params() -> DmdcParams {
        DmdcParams::default()
    }
}

/// DMDc parameters, unchecked. Setters consume and return `self`; [`DmdcParams::check`]
/// validates.
///
/// # Example
/// ```
/// let err = dsa::input::Dmdc::params().n_delays(2).n_control_delays(3).check().unwrap_err();
/// assert!(matches!(err, dsa::DsaError::InvalidParameter { name: "n_control_delays", .. }));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DmdcParams {
    n_delays: usize,
    n_control_delays: usize,
    delay_interval: usize,
    steps_ahead: usize,
    input_rank: RankRule,
    output_rank: RankRule,
    lambda: f64,
    shift: TrialShift,
}

impl Default for DmdcParams {
    fn default() -> Self {
        Self {
            n_delays: 1,
            n_control_delays: 1,
            delay_interval: 1,
            steps_ahead: 1,
            input_rank: RankRule::Full,
            output_rank: RankRule::Full,
            lambda: 0.0,
            shift: TrialShift::WithinTrials,
        }
    }
}

/// Validated DMDc parameters; only [`DmdcParams::check`] makes one.
///
/// # Example
/// ```
/// let p = dsa::input::Dmdc::params().n_delays(3).check().unwrap();
/// assert_eq!(p.n_delays(), 3);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DmdcValidParams(DmdcParams);

impl DmdcParams {
    /// Delay blocks `d >= 1` of the state embedding (default 1).
    #[must_use]
    pub fn n_delays(mut self, d: usize) -> Self {
        self.n_delays = d;
        self
    }
    /// Delay blocks `d_u` of the inputs, `1 <= d_u <= n_delays` (default 1: the input at the
    /// time of the newest state block). Block `j` holds `u_{t+(d-1-j)tau}`.
    #[must_use]
    pub fn n_control_delays(mut self, d: usize) -> Self {
        self.n_control_delays = d;
        self
    }
    /// Steps `tau >= 1` between delay blocks, for states and inputs (default 1).
    #[must_use]
    pub fn delay_interval(mut self, tau: usize) -> Self {
        self.delay_interval = tau;
        self
    }
    /// Prediction horizon `s >= 1` of the regression (default 1).
    #[must_use]
    pub fn steps_ahead(mut self, s: usize) -> Self {
        self.steps_ahead = s;
        self
    }
    /// Fixed rank `p >= 1` of the regressor `Omega = [X; U]` (the reference's `rank_input`).
    #[must_use]
    pub fn input_rank(self, p: usize) -> Self {
        self.input_rank_rule(RankRule::Fixed(p))
    }
    /// Rank rule for `Omega` (default [`RankRule::Full`]).
    #[must_use]
    pub fn input_rank_rule(mut self, rule: RankRule) -> Self {
        self.input_rank = rule;
        self
    }
    /// Fixed rank `r >= 1` of the targets `Y`: the size of `A` (the reference's `rank_output`).
    #[must_use]
    pub fn rank(self, r: usize) -> Self {
        self.rank_rule(RankRule::Fixed(r))
    }
    /// Rank rule for `Y` (default [`RankRule::Full`]).
    #[must_use]
    pub fn rank_rule(mut self, rule: RankRule) -> Self {
        self.output_rank = rule;
        self
    }
    /// Tikhonov parameter `lambda >= 0` (default 0; the reference's class default is `1e-8`).
    #[must_use]
    pub fn lambda(mut self, lambda: f64) -> Self {
        self.lambda = lambda;
        self
    }
    /// How the regression treats trial boundaries (default [`TrialShift::WithinTrials`]).
    #[must_use]
    pub fn trial_shift(mut self, shift: TrialShift) -> Self {
        self.shift = shift;
        self
    }

    /// Validate.
    ///
    /// # Errors
    /// [`DsaError::InvalidParameter`] naming the parameter: `n_delays`, `delay_interval` or
    /// `steps_ahead` of 0; `n_control_delays` outside `1..=n_delays`; a rank rule that the DMD
    /// fit would reject (`input_rank`, `rank`); a negative or non-finite `lambda`.
    pub fn check(&self) -> Result<DmdcValidParams> {
        if self.n_delays == 0 {
            return Err(DsaError::param(
                "n_delays",
                "must be at least 1 (1 means no delays)",
            ));
        }
        if self.delay_interval == 0 {
            return Err(DsaError::param("delay_interval", "must be at least 1"));
        }
        if self.steps_ahead == 0 {
            return Err(DsaError::param("steps_ahead", "must be at least 1"));
        }
        if self.n_control_delays == 0 || self.n_control_delays > self.n_delays {
            return Err(DsaError::param(
                "n_control_delays",
                format!(
                    "must be between 1 and n_delays = {}, got {}: the input blocks are aligned \
                     with the state blocks, newest first",
                    self.n_delays, self.n_control_delays
                ),
            ));
        }
        if !(self.lambda >= 0.0 && self.lambda.is_finite()) {
            return Err(DsaError::param(
                "lambda",
                format!("must be finite and >= 0, got {}", self.lambda),
            ));
        }
        check_rule(self.input_rank, "input_rank")?;
        check_rule(self.output_rank, "rank")?;
        Ok(DmdcValidParams(self.clone()))
    }
}

impl DmdcValidParams {
    /// Delay blocks of the states.
    #[must_use]
    pub fn n_delays(&self) -> usize {
        self.0.n_delays
    }
    /// Delay blocks of the inputs.
    #[must_use]
    pub fn n_control_delays(&self) -> usize {
        self.0.n_control_delays
    }
    /// Steps between delay blocks.
    #[must_use]
    pub fn delay_interval(&self) -> usize {
        self.0.delay_interval
    }
    /// Prediction horizon.
    #[must_use]
    pub fn steps_ahead(&self) -> usize {
        self.0.steps_ahead
    }
    /// Rank rule of `Omega`.
    #[must_use]
    pub fn input_rank_rule(&self) -> RankRule {
        self.0.input_rank
    }
    /// Rank rule of `Y` (the size of `A`).
    #[must_use]
    pub fn rank_rule(&self) -> RankRule {
        self.0.output_rank
    }
    /// Tikhonov parameter.
    #[must_use]
    pub fn lambda(&self) -> f64 {
        self.0.lambda
    }
    /// Trial-boundary treatment.
    #[must_use]
    pub fn trial_shift(&self) -> TrialShift {
        self.0.shift
    }
}

/// A fitted DMDc model.
///
/// # Example
/// ```
/// use dsa::input::{Dmdc, DrivenFit};
/// # fn main() -> dsa::Result<()> {
/// let (x, u) = dsa::input::simulate_example(300, 3);
/// let data = |m: &faer::Mat<f64>| dsa::Dataset::from_trajectory(m.as_ref());
/// let model = Dmdc::params().fit(&data(&x)?, &data(&u)?)?;
/// // noiseless, fully observed: the eigenvalues of the true A (0.8 +- 0.3i and 0.5)
/// let re: Vec<f64> = model.eigenvalues().iter().map(|l| l.re).collect();
/// assert!((re[0] - 0.5).abs() < 1e-9 && (re[1] - 0.8).abs() < 1e-9);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct DmdcModel {
    params: DmdcValidParams,
    n_channels: usize,
    n_inputs: usize,
    a: Mat<f64>,
    b: Mat<f64>,
    a_full: Mat<f64>,
    b_full: Mat<f64>,
    basis: Mat<f64>,
    s_input: Vec<f64>,
    s_output: Vec<f64>,
    input_rank: RankInfo,
    output_rank: RankInfo,
    eigenvalues: Vec<c64>,
    n_pairs: usize,
}

impl DmdcModel {
    /// `A = Ur_r^T A_full Ur_r` (`r x r`), the operator the comparisons use.
    #[must_use]
    pub fn state_operator(&self) -> MatRef<'_, f64> {
        self.a.as_ref()
    }
    /// `B = Ur_r^T B_full` (`r x (m d_u)`).
    #[must_use]
    pub fn input_operator(&self) -> MatRef<'_, f64> {
        self.b.as_ref()
    }
    /// The full-space operator `A_full` (`F x F`, `F = N d`): `h_{t+s} ~ A_full h_t + B_full
    /// ubar_t` on embedded rows (as columns), for forecasting.
    #[must_use]
    pub fn full_state_operator(&self) -> MatRef<'_, f64> {
        self.a_full.as_ref()
    }
    /// The full-space input operator `B_full` (`F x (m d_u)`).
    #[must_use]
    pub fn full_input_operator(&self) -> MatRef<'_, f64> {
        self.b_full.as_ref()
    }
    /// `Ur_r` (`F x r`): the orthonormal basis of the reduced space (`A = Ur_r^T A_full Ur_r`).
    #[must_use]
    pub fn basis(&self) -> MatRef<'_, f64> {
        self.basis.as_ref()
    }
    /// Singular values of `Omega = [X; Ubar]`, descending.
    #[must_use]
    pub fn input_singular_values(&self) -> &[f64] {
        &self.s_input
    }
    /// Singular values of the targets `Y`, descending.
    #[must_use]
    pub fn output_singular_values(&self) -> &[f64] {
        &self.s_output
    }
    /// The size `r` of `A`.
    #[must_use]
    pub fn rank(&self) -> usize {
        self.output_rank.used
    }
    /// How the rank `p` of `Omega` was chosen and capped.
    #[must_use]
    pub fn input_rank_info(&self) -> &RankInfo {
        &self.input_rank
    }
    /// How the rank `r` of `Y` (the size of `A`) was chosen and capped.
    #[must_use]
    pub fn rank_info(&self) -> &RankInfo {
        &self.output_rank
    }
    /// Eigenvalues of `A`, sorted by real then imaginary part.
    #[must_use]
    pub fn eigenvalues(&self) -> &[c64] {
        &self.eigenvalues
    }
    /// The parameters of the fit.
    #[must_use]
    pub fn params(&self) -> &DmdcValidParams {
        &self.params
    }
    /// State channels `N`.
    #[must_use]
    pub fn n_channels(&self) -> usize {
        self.n_channels
    }
    /// Input channels `m` (before the input delays).
    #[must_use]
    pub fn n_inputs(&self) -> usize {
        self.n_inputs
    }
    /// Number of regression pairs (columns of `Omega`).
    #[must_use]
    pub fn n_pairs(&self) -> usize {
        self.n_pairs
    }
}

impl DrivenFit for DmdcParams {
    type Model = DmdcModel;
    fn fit(&self, states: &Dataset, inputs: &Dataset) -> Result<DmdcModel> {
        self.check()?.fit(states, inputs)
    }
}

impl DrivenFit for DmdcValidParams {
    type Model = DmdcModel;
    fn fit(&self, states: &Dataset, inputs: &Dataset) -> Result<DmdcModel> {
        fit(self, states, inputs)
    }
}

/// The rows of the regression: `(source, target)` row indices into the stacked embedding.
fn pairs(trial_rows: &[usize], s: usize, shift: TrialShift) -> Vec<(usize, usize)> {
    match shift {
        TrialShift::WithinTrials => {
            let mut out = Vec::new();
            let mut r0 = 0;
            for &t in trial_rows {
                out.extend((0..t - s).map(|i| (r0 + i, r0 + i + s)));
                r0 += t;
            }
            out
        }
        TrialShift::AcrossTrials => {
            let m: usize = trial_rows.iter().sum();
            (0..m - s).map(|i| (i, i + s)).collect()
        }
    }
}

fn fit(params: &DmdcValidParams, states: &Dataset, inputs: &Dataset) -> Result<DmdcModel> {
    check_pair(states, inputs)?;
    let p = &params.0;
    let (d, du, tau, s) = (
        p.n_delays,
        p.n_control_delays,
        p.delay_interval,
        p.steps_ahead,
    );
    let emb = DelayEmbedding::new(d, tau)?
        .with_steps_ahead(s)
        .embed(states)?;
    let h = emb.matrix();
    let f = h.ncols();
    let m = inputs.n_channels();
    let mu = m * du;
    // the input row aligned with embedded row i of trial k: blocks u_{i+(d-1-j)tau}, j < d_u
    let mut hu = Mat::<f64>::zeros(h.nrows(), mu);
    let mut r0 = 0;
    for (u, &tk) in inputs.trials().iter().zip(emb.trial_rows()) {
        for j in 0..du {
            let off = (d - 1 - j) * tau;
            for c in 0..m {
                for i in 0..tk {
                    hu[(r0 + i, j * m + c)] = u[(i + off, c)];
                }
            }
        }
        r0 += tk;
    }
    let rows = pairs(emb.trial_rows(), s, p.shift);
    let np = rows.len();
    // Input columns that are zero on every regression row carry no information: they are left
    // out of Omega and their columns of B are exactly zero (rather than rounding noise from
    // the SVD of a matrix with zero rows).
    let active: Vec<usize> = (0..mu)
        .filter(|&c| rows.iter().any(|&(src, _)| hu[(src, c)] != 0.0))
        .collect();
    let ma = active.len();
    // Omega^T (pairs x (F + active inputs)) and Y^T (pairs x F)
    let mut ot = Mat::<f64>::zeros(np, f + ma);
    let mut yt = Mat::<f64>::zeros(np, f);
    for c in 0..f {
        for (k, &(src, dst)) in rows.iter().enumerate() {
            ot[(k, c)] = h[(src, c)];
            yt[(k, c)] = h[(dst, c)];
        }
    }
    for (ca, &c) in active.iter().enumerate() {
        for (k, &(src, _)) in rows.iter().enumerate() {
            ot[(k, f + ca)] = hu[(src, c)];
        }
    }
    drop(hu);
    // One power of two `c` for everything (exact): [A_full, B_full] are unchanged when X, U
    // and Y are all scaled by `c` and lambda by `c^2`; it is 1 unless entries are beyond
    // 1e+-100, where faer's decompositions lose accuracy.
    let c = linalg::pow2_scale(ot.norm_max().max(yt.norm_max()));
    if c != 1.0 {
        ot = Mat::from_fn(np, f + ma, |i, j| ot[(i, j)] * c);
        yt = Mat::from_fn(np, f, |i, j| yt[(i, j)] * c);
    }
    let lambda = p.lambda * c * c;
    if !lambda.is_finite() {
        return Err(DsaError::param(
            "lambda",
            "too large for data of this magnitude (lambda times the squared data scale overflows)",
        ));
    }
    if yt.norm_max() == 0.0 {
        return Err(DsaError::Degenerate {
            what: "the states are all zero: there are no dynamics to fit".into(),
        });
    }
    let (sp, up) = linalg::svd_values_right(ot.as_ref())?;
    let (sr, ur) = linalg::svd_values_right(yt.as_ref())?;
    let finite = |v: &[f64], m: &Mat<f64>| v.iter().all(|x| x.is_finite()) && m.is_all_finite();
    if !finite(&sp, &up) || !finite(&sr, &ur) {
        return Err(DsaError::NoConvergence {
            routine: "singular value decomposition",
        });
    }
    let input_rank = choose(p.input_rank, &sp, (f + ma, np));
    let output_rank = choose(p.output_rank, &sr, (f, np));
    let (pr, rr) = (input_rank.used, output_rank.used);
    if pr == 0 || rr == 0 {
        return Err(DsaError::Degenerate {
            what: "the regression matrices have numerical rank 0".into(),
        });
    }
    // G = (Y Omega^T) Up_p diag(1 / (sp^2 + lambda))
    let mut yo = Mat::<f64>::zeros(f, f + ma);
    mm(yo.as_mut(), yt.transpose(), ot.as_ref(), 1.0);
    drop(ot);
    drop(yt);
    let upp = up.as_ref().subcols(0, pr);
    let mut g = Mat::<f64>::zeros(f, pr);
    mm(g.as_mut(), yo.as_ref(), upp, 1.0);
    for (j, sj) in sp.iter().take(pr).enumerate() {
        let w = 1.0 / (sj * sj + lambda);
        for i in 0..f {
            g[(i, j)] *= w;
        }
    }
    let mut a_full = Mat::<f64>::zeros(f, f);
    mm(
        a_full.as_mut(),
        g.as_ref(),
        upp.subrows(0, f).transpose(),
        1.0,
    );
    let mut b_active = Mat::<f64>::zeros(f, ma);
    mm(
        b_active.as_mut(),
        g.as_ref(),
        upp.subrows(f, ma).transpose(),
        1.0,
    );
    let mut b_full = Mat::<f64>::zeros(f, mu);
    for (ca, &c) in active.iter().enumerate() {
        b_full.as_mut().col_mut(c).copy_from(b_active.col(ca));
    }
    let basis = ur.as_ref().subcols(0, rr).to_owned();
    let a = linalg::mul(
        linalg::mul(basis.transpose(), a_full.as_ref()).as_ref(),
        basis.as_ref(),
    );
    let b = linalg::mul(basis.transpose(), b_full.as_ref());
    if !a_full.is_all_finite() || !b_full.is_all_finite() || !a.is_all_finite() {
        return Err(DsaError::Degenerate {
            what:
                "the regression produced non-finite values; try a positive lambda or smaller ranks"
                    .into(),
        });
    }
    let mut eigenvalues = linalg::eigenvalues(a.as_ref())?;
    linalg::sort_complex(&mut eigenvalues);
    Ok(DmdcModel {
        params: params.clone(),
        n_channels: states.n_channels(),
        n_inputs: m,
        a,
        b,
        a_full,
        b_full,
        basis,
        s_input: sp.iter().map(|x| x / c).collect(),
        s_output: sr.iter().map(|x| x / c).collect(),
        input_rank,
        output_rank,
        eigenvalues,
        n_pairs: np,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_within_and_across() {
        assert_eq!(
            pairs(&[3, 2], 1, TrialShift::WithinTrials),
            vec![(0, 1), (1, 2), (3, 4)]
        );
        assert_eq!(
            pairs(&[3, 2], 1, TrialShift::AcrossTrials),
            vec![(0, 1), (1, 2), (2, 3), (3, 4)]
        );
        assert_eq!(
            pairs(&[4], 2, TrialShift::WithinTrials),
            vec![(0, 2), (1, 3)]
        );
    }

    #[test]
    fn inputs_align_with_the_newest_block() {
        // x_{t+1} = 0.5 x_t + u_{t}: with d = 2, the regression sees u at the newest time
        let t = 60;
        let u = Mat::from_fn(t, 1, |i, _| ((i * 37 % 11) as f64) - 5.0);
        let mut x = Mat::<f64>::zeros(t, 1);
        for i in 1..t {
            x[(i, 0)] = 0.5 * x[(i - 1, 0)] + u[(i - 1, 0)];
        }
        let xs = Dataset::from_trajectory(x.as_ref()).unwrap();
        let us = Dataset::from_trajectory(u.as_ref()).unwrap();
        let m = Dmdc::params().n_delays(2).fit(&xs, &us).unwrap();
        // h_{t+1} = [x_{t+2}, x_{t+1}] = [0.5 x_{t+1} + u_{t+1}, x_{t+1}]
        let af = m.full_state_operator();
        let bf = m.full_input_operator();
        assert!((af[(0, 0)] - 0.5).abs() < 1e-10 && af[(0, 1)].abs() < 1e-10);
        assert!((af[(1, 0)] - 1.0).abs() < 1e-10 && af[(1, 1)].abs() < 1e-10);
        assert!((bf[(0, 0)] - 1.0).abs() < 1e-10 && bf[(1, 0)].abs() < 1e-10);
    }
}
