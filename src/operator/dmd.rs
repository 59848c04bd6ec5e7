//! The fit itself: SVD, rank, shifted regression (spec §3.1–3.5, §3.8).

use std::sync::{Arc, OnceLock};

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

/// The shared part of a fit that depends only on the embedding: the singular values, the spec's
/// `U` and the numerical rank. The spec's `V` is not stored: [`Decomposed::coordinates`] forms
/// just the columns a fit uses, so that the sweep over ranks shares one decomposition.
#[derive(Clone)]
pub(crate) struct Decomposed {
    /// The spec's `U`, `(N*d) x p`: the right singular vectors of `H`.
    pub u: Mat<f64>,
    /// All `p` singular values, descending.
    pub s: Vec<f64>,
    pub numerical_rank: usize,
    /// `max |H_ij|`: `H / scale` is what was decomposed.
    scale: f64,
    /// The full thin SVD, if [`Decomposed::coordinates`] had to fall back to it.
    full: FullSvd,
}

/// SVD of `H^T = U S V^T` (computed from `H = V S U^T`), without `V`.
///
/// Only the singular values and the right singular vectors of `H` (the spec's `U`, `(N*d) x p`)
/// are computed: the left ones (`R x p`) cost more than everything else together when
/// `R >> N*d`, and a fit needs only a few of their columns (see [`Decomposed::coordinates`]).
pub(crate) fn decompose(emb: &Embedded) -> Result<Decomposed> {
    let h = emb.matrix();
    let (rows, cols) = (h.nrows(), h.ncols());
    // Scale to unit max-abs before the SVD so that values near the overflow/underflow limits
    // decompose as well as any others; singular values are scaled back.
    let scale = h.norm_max();
    // NaN is not finite
    if !scale.is_finite() || scale <= 0.0 {
        return Err(DsaError::Degenerate {
            what: "the embedded data is all zeros (or not finite); a zero signal has no dynamics to fit".into(),
        });
    }
    let hs = Mat::from_fn(rows, cols, |i, j| h[(i, j)] / scale);
    let (s, u) = linalg::svd_values_right(hs.as_ref())?;
    drop(hs);
    if s.iter().any(|x| !x.is_finite())
        || u.as_ref()
            .col_iter()
            .any(|c| c.iter().any(|x| !x.is_finite()))
    {
        return Err(DsaError::NoConvergence {
            routine: "singular value decomposition",
        });
    }
    let s = unscale(&s, scale)?;
    let tol = f64::EPSILON * s[0] * rows.max(cols) as f64;
    let numerical_rank = s.iter().filter(|&&x| x > tol).count();
    if numerical_rank == 0 {
        return Err(DsaError::Degenerate {
            what: "the embedded data has numerical rank 0".into(),
        });
    }
    Ok(Decomposed {
        u,
        s,
        numerical_rank,
        scale,
        full: FullSvd::default(),
    })
}

/// Singular values of `H / scale` scaled back to those of `H`: an error if they overflow.
fn unscale(s: &[f64], scale: f64) -> Result<Vec<f64>> {
    let s: Vec<f64> = s.iter().map(|x| x * scale).collect();
    if s.iter().any(|x| !x.is_finite()) {
        return Err(DsaError::Degenerate {
            what: "the singular values of the embedded data overflow f64 (entries near the overflow limit); divide the data by a constant before fitting".into(),
        });
    }
    Ok(s)
}

/// Largest tolerated loss of orthonormality of `V_k = H U_k S_k^-1` before falling back to the
/// full thin SVD: `sqrt(eps)` (semi-orthogonality, the usual re-orthogonalization criterion).
/// The reference cases stay well below it (`lorenz_pair_rot`, with `s_r / s_1 ~ 2e-8`, loses
/// `~5e-9`), so they use the fast path.
const ORTHONORMALITY_TOL: f64 = 1.5e-8;

/// The full thin SVD of `H / scale`, computed at most once per [`Decomposed`] (and shared by
/// its clones) when [`Decomposed::coordinates`] needs it.
type FullSvd = Arc<OnceLock<Result<linalg::ThinSvd>>>;

impl Decomposed {
    /// The first `k <= numerical_rank` columns of the spec's `V` (`R x k`; row `t` holds the
    /// first `k` reduced coordinates of time point `t`), as `V_k = H U_k S_k^-1`: one `R x (N*d)`
    /// by `(N*d) x k` product instead of the `R x p` left factor of a full thin SVD.
    ///
    /// Accuracy: `H U_k S_k^-1` satisfies `H U_k = V_k S_k` to rounding, but its column `j`
    /// loses orthogonality by about `c * eps * s_1 / s_j` (the SVD's backward error in `u_j`,
    /// of size `c * eps * s_1` with `c` well below `max(R, N*d)`, amplified by `1 / s_j`): a few
    /// `1e-15` for well-separated singular values, `~5e-9` when `s_k / s_1 ~ 1e-7`. That is
    /// the accuracy of those singular vectors themselves (a full SVD's `u_j` is off by as much,
    /// so its `V` satisfies `H U_k = V_k S_k` only to that level), and with principal-component
    /// regression and `lambda = 0` such a mixing of the columns is an invertible change of
    /// coordinates that leaves the spectrum and `A_full` unchanged. The loss is measured
    /// (`max |V_k^T V_k - I|`, one `k x k` Gram product); beyond [`ORTHONORMALITY_TOL`] (in
    /// practice, columns with `s_j / s_1` below about `1e-8`, dominated by the SVD's backward
    /// error) the product is no longer a usable basis, and `U`, `S` and `V_k` come from the
    /// full thin SVD of `H / scale` instead, exactly as before this shortcut existed. That SVD
    /// is computed once and shared by all clones of `self`, so a sweep over ranks pays for it
    /// at most once per `n_delays`.
    pub(crate) fn coordinates(&mut self, emb: &Embedded, k: usize) -> Result<Mat<f64>> {
        debug_assert!(k >= 1 && k <= self.numerical_rank);
        let h = emb.matrix();
        let uk = self.u.as_ref().subcols(0, k);
        let mut v = Mat::zeros(h.nrows(), k);
        if (1e-100..=1e100).contains(&self.scale) {
            // every product and partial sum of H (U_k S_k^-1) stays far from overflow/underflow
            let w = Mat::from_fn(uk.nrows(), k, |i, j| uk[(i, j)] / self.s[j]);
            mm(v.as_mut(), h, w.as_ref(), 1.0);
        } else {
            // extreme values: work with H / scale, as the SVD did
            let hs = self.scaled(emb);
            let w = Mat::from_fn(uk.nrows(), k, |i, j| uk[(i, j)] / (self.s[j] / self.scale));
            mm(v.as_mut(), hs.as_ref(), w.as_ref(), 1.0);
        }
        if v.as_ref()
            .col_iter()
            .all(|c| c.iter().all(|x| x.is_finite()))
            && linalg::orthonormality_defect(v.as_ref()) <= ORTHONORMALITY_TOL
        {
            return Ok(v);
        }
        let cell = Arc::clone(&self.full);
        let full = cell
            .get_or_init(|| linalg::thin_svd(self.scaled(emb).as_ref()))
            .as_ref()
            .map_err(Clone::clone)?;
        // H = U_h S V_h^T  =>  H^T = V_h S U_h^T: the spec's U is V_h, its V is U_h.
        if full.s.iter().any(|x| !x.is_finite()) {
            return Err(DsaError::NoConvergence {
                routine: "singular value decomposition",
            });
        }
        self.s = unscale(&full.s, self.scale)?;
        self.u = full.v.clone();
        Ok(full.u.as_ref().subcols(0, k).to_owned())
    }

    /// `H / scale`, the matrix the SVD decomposes.
    fn scaled(&self, emb: &Embedded) -> Mat<f64> {
        let h = emb.matrix();
        Mat::from_fn(h.nrows(), h.ncols(), |i, j| h[(i, j)] / self.scale)
    }
}

pub(crate) fn fit_embedded(params: &DmdValidParams, emb: &Embedded) -> Result<DmdModel> {
    let dec = decompose(emb)?;
    fit_decomposed(params, emb, dec)
}

/// Regression on an existing decomposition (shared by the sweep over ranks).
pub(crate) fn fit_decomposed(
    params: &DmdValidParams,
    emb: &Embedded,
    mut dec: Decomposed,
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
                dataset: None,
            });
        }
    }
    let p = dec.s.len();
    let shape = (emb.nrows(), emb.ncols());
    let nr = dec.numerical_rank;

    let (a, rank, v) = match params.regression {
        Regression::PrincipalComponents => {
            let requested = requested_rank(params.rank_rule, &dec.s, shape);
            let used = requested.min(p).min(nr);
            let v = dec.coordinates(emb, used)?;
            let (xm, xp) = shifted(&v, emb.trial_rows(), s_steps, used);
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
            (a, info, v)
        }
        Regression::ReducedRank => {
            // what the rank rule asks of the singular values, before `coordinates` may replace them
            let requested_by_s = requested_rank(params.rank_rule, &dec.s, shape);
            // all invertible coordinates
            let v = dec.coordinates(emb, nr)?;
            let (xm, xp) = shifted(&v, emb.trial_rows(), s_steps, nr);
            // B, nr x nr
            let b = ridge(&xm, &xp, params.lambda)?;
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
                _ => requested_by_s,
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
            (a, info, v)
        }
    };
    if a.as_ref()
        .col_iter()
        .any(|c| c.iter().any(|x| !x.is_finite()))
    {
        return Err(DsaError::Degenerate {
            what:
                "the regression produced non-finite values; try a positive lambda or a smaller rank"
                    .into(),
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
        v,
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
pub(crate) fn shifted(
    v: &Mat<f64>,
    trial_rows: &[usize],
    s: usize,
    r: usize,
) -> (Mat<f64>, Mat<f64>) {
    let m: usize = trial_rows.iter().map(|&t| t - s).sum();
    let mut xm = Mat::zeros(m, r);
    let mut xp = Mat::zeros(m, r);
    let (mut src, mut dst) = (0, 0);
    for &t in trial_rows {
        let len = t - s;
        xm.as_mut()
            .submatrix_mut(dst, 0, len, r)
            .copy_from(v.as_ref().submatrix(src, 0, len, r));
        xp.as_mut()
            .submatrix_mut(dst, 0, len, r)
            .copy_from(v.as_ref().submatrix(src + s, 0, len, r));
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
    let minpiv = (0..r)
        .map(|i| l[(i, i)] * l[(i, i)])
        .fold(f64::INFINITY, f64::min);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn embedded(x: &Mat<f64>, d: usize) -> Embedded {
        DelayEmbedding::new(d, 1)
            .unwrap()
            .embed(&Dataset::from_trajectory(x.as_ref()).unwrap())
            .unwrap()
    }

    #[test]
    fn coordinates_are_the_left_singular_vectors() {
        // two rotations plus deterministic pseudo-noise: well separated singular values
        let x = Mat::from_fn(400, 3, |t, j| {
            let t = t as f64;
            (0.3 * t + j as f64).sin()
                + 0.5 * (0.05 * t * (j + 1) as f64).cos()
                + 0.2 * ((1.3 * t + j as f64).sin() * 1e3).fract()
        });
        let emb = embedded(&x, 4);
        let mut dec = decompose(&emb).unwrap();
        let k = 8;
        let v = dec.coordinates(&emb, k).unwrap();
        assert!(dec.full.get().is_none(), "no fallback expected");
        let full = linalg::thin_svd(emb.matrix()).unwrap();
        for j in 0..k {
            let dot: f64 = (0..v.nrows()).map(|i| v[(i, j)] * full.u[(i, j)]).sum();
            assert!(
                (dot.abs() - 1.0).abs() < 1e-12,
                "column {j}: |<v, v_svd>| = {dot}"
            );
        }
        assert!(linalg::orthonormality_defect(v.as_ref()) < 1e-13);
        // H U_k = V_k S_k
        let hu = linalg::mul(emb.matrix(), dec.u.as_ref().subcols(0, k));
        let worst = (0..k)
            .flat_map(|j| (0..v.nrows()).map(move |i| (i, j)))
            .map(|(i, j)| (hu[(i, j)] - v[(i, j)] * dec.s[j]).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-13 * dec.s[0], "H U_k - V_k S_k = {worst}");
    }

    #[test]
    fn coordinates_fall_back_to_the_full_svd_when_ill_conditioned() {
        // a smooth chirp: singular values decay to ~1e-15 of the largest, so H U_k S_k^-1 is not
        // orthonormal in its last columns
        let x = Mat::from_fn(2000, 2, |t, j| (2e-5 * (t * t) as f64 + j as f64).sin());
        let emb = embedded(&x, 20);
        let mut dec = decompose(&emb).unwrap();
        let k = dec.numerical_rank;
        assert!(
            dec.s[k - 1] < 1e-10 * dec.s[0],
            "test data too well conditioned: {:?}",
            dec.s
        );
        let shared = dec.clone();
        let v = dec.coordinates(&emb, k).unwrap();
        assert!(
            dec.full.get().is_some() && shared.full.get().is_some(),
            "the full SVD is shared by clones"
        );
        assert!(linalg::orthonormality_defect(v.as_ref()) < 1e-12);
        // exactly the left factor of the SVD of H / scale
        let full = linalg::thin_svd(dec.scaled(&emb).as_ref()).unwrap();
        assert!(v == full.u.as_ref().subcols(0, k));
        // a fit uses the same factors: U (all p columns), S and V_k from the full SVD
        let params = super::super::Dmd::params().n_delays(20).check().unwrap();
        let model = fit_embedded(&params, &emb).unwrap();
        assert_eq!(model.u().ncols(), dec.s.len());
        assert!(linalg::orthonormality_defect(model.v()) < 1e-12);
    }
}
