//! The fit itself: SVD, rank, shifted regression (spec §3.1–3.5, §3.8).

use faer::Mat;

use super::model::{DmdModel, RankInfo};
use super::params::{DmdValidParams, Regression};
use crate::data::Dataset;
use crate::embedding::{DelayEmbedding, Embedded, Embedding};
use crate::error::{DsaError, Result};
use crate::linalg::{self, mm};

pub(crate) fn fit(params: &DmdValidParams, data: &Dataset) -> Result<DmdModel> {
    let emb = DelayEmbedding::new(params.n_delays, params.delay_interval)?
        .with_steps_ahead(params.steps_ahead)
        .embed(data)?;
    fit_embedded(params, &emb)
}

/// The shared part of a fit that depends only on the embedding: the SVD and the numerical rank.
#[derive(Clone)]
pub(crate) struct Decomposed {
    pub u: Mat<f64>,
    pub s: Vec<f64>,
    pub v: Mat<f64>,
    pub numerical_rank: usize,
}

/// Thin SVD of `H^T` (computed as the SVD of `H = V S U^T`).
pub(crate) fn decompose(emb: &Embedded) -> Result<Decomposed> {
    let h = emb.matrix();
    let (rows, cols) = (h.nrows(), h.ncols());
    // Scale to unit max-abs before the SVD so that values near the overflow/underflow limits
    // decompose as well as any others; singular values are scaled back.
    let scale = h.norm_max();
    if !(scale > 0.0) || !scale.is_finite() {
        return Err(DsaError::Degenerate {
            what: "the embedded data is all zeros (or not finite); a zero signal has no dynamics to fit".into(),
        });
    }
    let hs = Mat::from_fn(rows, cols, |i, j| h[(i, j)] / scale);
    let svd = linalg::thin_svd(hs.as_ref())?;
    let s: Vec<f64> = svd.s.iter().map(|x| x * scale).collect();
    if s.iter().any(|x| !x.is_finite()) {
        return Err(DsaError::NoConvergence { routine: "singular value decomposition" });
    }
    let tol = f64::EPSILON * s[0] * rows.max(cols) as f64;
    let numerical_rank = s.iter().filter(|&&x| x > tol).count();
    if numerical_rank == 0 {
        return Err(DsaError::Degenerate { what: "the embedded data has numerical rank 0".into() });
    }
    // H = U_h S V_h^T  =>  H^T = V_h S U_h^T: the spec's U is V_h, its V is U_h.
    Ok(Decomposed { u: svd.v, s, v: svd.u, numerical_rank })
}

pub(crate) fn fit_embedded(params: &DmdValidParams, emb: &Embedded) -> Result<DmdModel> {
    let dec = decompose(emb)?;
    fit_decomposed(params, emb, dec)
}

/// Regression on an existing decomposition (shared by the sweep over ranks).
pub(crate) fn fit_decomposed(
    params: &DmdValidParams,
    emb: &Embedded,
    dec: Decomposed,
) -> Result<DmdModel> {
    let s_steps = params.steps_ahead;
    for (k, &tk) in emb.trial_rows().iter().enumerate() {
        if tk <= s_steps {
            return Err(DsaError::TrialTooShort {
                trial: k,
                len: tk + (params.n_delays - 1) * params.delay_interval,
                n_delays: params.n_delays,
                delay_interval: params.delay_interval,
                steps_ahead: s_steps,
                needed: (params.n_delays - 1) * params.delay_interval + s_steps + 1,
            });
        }
    }
    let p = dec.s.len();
    let shape = (emb.nrows(), emb.ncols());
    let nr = dec.numerical_rank;

    let (a, rank) = match params.regression {
        Regression::PrincipalComponents => {
            let requested = requested_rank(params.rank_rule, &dec.s, shape);
            let used = requested.min(p).min(nr);
            let (xm, xp) = shifted(&dec.v, emb.trial_rows(), s_steps, used);
            let b = ridge(&xm, &xp, params.lambda)?; // v+ ~ v- B  (row convention)
            let a = b.transpose().to_owned();
            let info = RankInfo {
                rule: params.rank_rule,
                requested,
                used,
                available: p,
                numerical_rank: nr,
                capped: used < requested,
            };
            (a, info)
        }
        Regression::ReducedRank => {
            // all invertible coordinates
            let (xm, xp) = shifted(&dec.v, emb.trial_rows(), s_steps, nr);
            let b = ridge(&xm, &xp, params.lambda)?; // nr x nr
            // M = V+^T V- B  (symmetric PSD)
            let mut c = Mat::zeros(nr, nr);
            mm(c.as_mut(), xm.transpose(), xp.as_ref(), 1.0); // V-^T V+
            let mut m = Mat::zeros(nr, nr);
            mm(m.as_mut(), c.transpose(), b.as_ref(), 1.0);
            let (vals, vecs) = linalg::sym_eigen(m.as_ref())?;
            // descending
            let desc: Vec<f64> = vals.iter().rev().map(|x| x.max(0.0)).collect();
            let requested = match params.rank_rule {
                super::RankRule::Threshold(_) | super::RankRule::ExplainedVariance(_) => {
                    // rules apply to the eigenvalues of M
                    params.rank_rule.select(&desc, shape)
                }
                _ => requested_rank(params.rank_rule, &dec.s, shape),
            };
            let used = requested.min(nr);
            let pr = Mat::from_fn(nr, used, |i, j| vecs[(i, nr - 1 - j)]);
            let mut ppt = Mat::zeros(nr, nr);
            mm(ppt.as_mut(), pr.as_ref(), pr.transpose(), 1.0);
            let mut bp = Mat::zeros(nr, nr);
            mm(bp.as_mut(), b.as_ref(), ppt.as_ref(), 1.0);
            let a = bp.transpose().to_owned();
            let info = RankInfo {
                rule: params.rank_rule,
                requested,
                used,
                available: p,
                numerical_rank: nr,
                capped: used < requested,
            };
            (a, info)
        }
    };
    if a.as_ref().col_iter().any(|c| c.iter().any(|x| !x.is_finite())) {
        return Err(DsaError::Degenerate {
            what: "the regression produced non-finite values; try a positive lambda or a smaller rank".into(),
        });
    }
    let mut eigenvalues = linalg::eigenvalues(a.as_ref())?;
    linalg::sort_complex(&mut eigenvalues);
    Ok(DmdModel {
        params: params.clone(),
        n_channels: emb.n_channels(),
        hankel_shape: shape,
        trial_rows: emb.trial_rows().to_vec(),
        s: dec.s,
        u: dec.u,
        v: dec.v,
        a,
        rank,
        eigenvalues,
    })
}

/// What the rank rule asks for, before any cap: for a fixed rank the given value (which may
/// exceed `p`, so that `RankInfo::capped` reports the cap); otherwise the rule's pick.
fn requested_rank(rule: super::RankRule, s: &[f64], shape: (usize, usize)) -> usize {
    match rule {
        super::RankRule::Fixed(r) => r,
        _ => rule.select(s, shape),
    }
}

/// Stack, trial by trial, rows `0 .. T'_k - s` (V-) and `s .. T'_k` (V+), first `r` columns.
pub(crate) fn shifted(v: &Mat<f64>, trial_rows: &[usize], s: usize, r: usize) -> (Mat<f64>, Mat<f64>) {
    let m: usize = trial_rows.iter().map(|&t| t - s).sum();
    let mut xm = Mat::zeros(m, r);
    let mut xp = Mat::zeros(m, r);
    let (mut src, mut dst) = (0, 0);
    for &t in trial_rows {
        let len = t - s;
        xm.as_mut().submatrix_mut(dst, 0, len, r).copy_from(v.as_ref().submatrix(src, 0, len, r));
        xp.as_mut().submatrix_mut(dst, 0, len, r).copy_from(v.as_ref().submatrix(src + s, 0, len, r));
        src += t;
        dst += len;
    }
    (xm, xp)
}

/// `B = (X^T X + lambda I)^-1 X^T Y` by Cholesky on the normal equations; if the Gram matrix is
/// singular (lambda = 0 and rank-deficient X) the minimum-norm least-squares solution instead.
pub(crate) fn ridge(x: &Mat<f64>, y: &Mat<f64>, lambda: f64) -> Result<Mat<f64>> {
    let r = x.ncols();
    let mut g = Mat::zeros(r, r);
    mm(g.as_mut(), x.transpose(), x.as_ref(), 1.0);
    for i in 0..r {
        g[(i, i)] += lambda;
    }
    let mut rhs = Mat::zeros(r, y.ncols());
    mm(rhs.as_mut(), x.transpose(), y.as_ref(), 1.0);
    // Cholesky is accurate here when G is well conditioned; check its pivots against the scale.
    let mut l = g.clone();
    let ok = linalg::cholesky_in_place(l.as_mut());
    let gmax = (0..r).map(|i| g[(i, i)]).fold(0.0f64, f64::max);
    let minpiv = (0..r).map(|i| l[(i, i)] * l[(i, i)]).fold(f64::INFINITY, f64::min);
    if ok && minpiv > 1e-10 * gmax {
        linalg::cholesky_solve_in_place(l.as_ref(), rhs.as_mut());
        return Ok(rhs);
    }
    // pseudo-inverse of [X; sqrt(lambda) I] applied to [Y; 0]
    let aug = if lambda > 0.0 {
        let sl = lambda.sqrt();
        Mat::from_fn(x.nrows() + r, r, |i, j| {
            if i < x.nrows() {
                x[(i, j)]
            } else if i - x.nrows() == j {
                sl
            } else {
                0.0
            }
        })
    } else {
        x.clone()
    };
    let svd = linalg::thin_svd(aug.as_ref())?;
    let smax = svd.s.first().copied().unwrap_or(0.0);
    let tol = f64::EPSILON * smax * aug.nrows().max(r) as f64;
    // B = V S^+ U^T [Y; 0] = V S^+ (U_top^T Y)
    let k = svd.s.len();
    let utop = svd.u.as_ref().subrows(0, x.nrows());
    let mut uty = Mat::zeros(k, y.ncols());
    mm(uty.as_mut(), utop.transpose(), y.as_ref(), 1.0);
    for i in 0..k {
        let inv = if svd.s[i] > tol { 1.0 / svd.s[i] } else { 0.0 };
        for j in 0..y.ncols() {
            uty[(i, j)] *= inv;
        }
    }
    let mut b = Mat::zeros(r, y.ncols());
    mm(b.as_mut(), svd.v.as_ref(), uty.as_ref(), 1.0);
    Ok(b)
}
