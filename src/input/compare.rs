//! Comparing two driven systems `(A1, B1)`, `(A2, B2)` (spec-input §c, corrected).
//!
//! Every mode looks for an orthogonal `C` with `A1 ~ C A2 C^T` and `B1 ~ C B2`, on normalized
//! operators (`Ah = A / ||A||_F`, `Bh = B / ||B||_F`), and reports the distance between unit
//! vectors in two units: Euclidean (chordal) `e in [0, 2]` and angular `2 asin(e / 2) in
//! [0, pi]` (the angle between them, computed in the form that stays accurate near 0).
//!
//! Two conventions make the answers exactly invariant, not just up to an iterative solver's
//! optimality gap: each system is put in a canonical latent sign convention (coordinate `i`
//! flipped so that the entry of largest magnitude in row `i` of `B` is positive; `D A D`, `D B`
//! for the diagonal `D` of signs), so that a fit's arbitrary SVD signs change nothing, to the
//! last bit; and each pair is solved in a canonical order (the system whose canonical operators
//! come first in a total order goes first), so that `d(x, y) = d(y, x)` bit for bit. The `C`
//! reported relates the operators as given.

use std::sync::Arc;

use faer::{Mat, MatRef};

use super::controllability::{controllability_matrix, unit, Controllability};
use super::joint::{JointDynamics, JointDynamicsOutput};
use super::InputCompare;
use crate::error::{DsaError, Result};
use crate::linalg;
use crate::similarity::{Comparison, Procrustes, Score, Similarity, SpectralComparison};
use crate::solver::{OrthogonalSolver, PreparedOperator};
use crate::SpectralDistance;

/// The outcome of comparing two driven systems.
///
/// `value` is the distance [`crate::InputDsa::distance`] returns. The components are the
/// state term `||A1h - C A2h C^T||` and the input term `||B1h - C B2h||` at the `C` found, and
/// the joint term of the mode, each in the unit of `score` (angular or Euclidean; with
/// [`Score::Wasserstein`], `state` is the squared 2-Wasserstein distance between the spectra
/// of `A1` and `A2`). A component is `None` where it does not apply (no `C`; a joint term for
/// `State` and `Control`; an input term between systems with different input dimensions).
///
/// # Example
/// ```
/// # fn main() -> dsa::Result<()> {
/// use dsa::{InputCompare, InputDsa};
/// let a = faer::mat![[0.5, 0.3], [-0.2, 0.4]];
/// let b = faer::mat![[1.0], [0.5]];
/// let q = faer::mat![[0.0, 1.0], [-1.0, 0.0]];
/// let (a2, b2) = (&q * &a * q.transpose(), &q * &b);
/// let dsa = InputDsa::builder().compare(InputCompare::Joint).build()?;
/// let cmp = dsa.compare_operators(a.as_ref(), b.as_ref(), a2.as_ref(), b2.as_ref())?;
/// assert!(cmp.value < 1e-12 && cmp.state.unwrap() < 1e-12 && cmp.control.unwrap() < 1e-12);
/// // A1 ~ C A2 C^T: C = Q^T
/// assert!((cmp.c.as_ref().unwrap() - q.transpose()).norm_max() < 1e-12);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct InputComparison {
    /// The mode.
    pub compare: InputCompare,
    /// The unit of `value` and of the components.
    pub score: Score,
    /// The distance: the mode's own term (`state` for `State`, `control` for `Control`, `joint`
    /// for `Joint` and `JointDynamics`).
    pub value: f64,
    /// The state term at `C`.
    pub state: Option<f64>,
    /// The input term at `C`.
    pub control: Option<f64>,
    /// `Joint`: the controllability distance; `JointDynamics`: the combined distance
    /// `sqrt((state^2 + w control^2) / (1 + w))` (Euclidean), the angle between the stacked
    /// unit systems (angular).
    pub joint: Option<f64>,
    /// The orthogonal `C` found (`A1 ~ C A2 C^T`, `B1 ~ C B2`), `None` for the spectral score.
    pub c: Option<Mat<f64>>,
    /// The Procrustes comparison of the state operators (`State` mode with an angular or
    /// Euclidean score), with its lower bounds and solver report.
    pub procrustes: Option<Comparison>,
    /// The spectral comparison (`State` mode with [`Score::Wasserstein`]).
    pub spectral: Option<SpectralComparison>,
    /// The solver's answer and report (`JointDynamics` mode).
    pub joint_dynamics: Option<JointDynamicsOutput>,
}

/// A system ready for comparisons: its operators in the canonical sign convention, normalized
/// once, and its controllability matrix; what cannot be prepared is kept as the error a
/// comparison reports.
pub(crate) struct PreparedSystem {
    label: String,
    /// `D` of `A_c = D A D`, `B_c = D B` (the canonical signs)
    signs: Vec<f64>,
    a: Mat<f64>,
    b: Mat<f64>,
    a_unit: Result<PreparedOperator>,
    b_unit: Option<Mat<f64>>,
    m: usize,
    k: Option<Result<Mat<f64>>>,
}

/// The canonical latent signs: `s_i = -1` when the entry of largest magnitude in row `i` of `B`
/// (the first such, in column order) is negative. Flipping coordinate `i` negates row `i`
/// exactly, so the pick is the same entry and the canonical form the same bits. Rows of zeros
/// keep their sign.
fn canonical_signs(b: MatRef<'_, f64>) -> Vec<f64> {
    (0..b.nrows())
        .map(|i| {
            let mut best = 0.0f64;
            for j in 0..b.ncols() {
                if b[(i, j)].abs() > best.abs() {
                    best = b[(i, j)];
                }
            }
            if best < 0.0 {
                -1.0
            } else {
                1.0
            }
        })
        .collect()
}

/// A total order on canonical systems (sizes, then entries of `A` and `B` by `total_cmp`), to
/// solve every pair in one orientation.
fn canonical_order(x: &PreparedSystem, y: &PreparedSystem) -> std::cmp::Ordering {
    fn entries(m: &Mat<f64>) -> impl Iterator<Item = f64> + '_ {
        (0..m.ncols()).flat_map(move |j| (0..m.nrows()).map(move |i| m[(i, j)]))
    }
    (x.n(), x.m).cmp(&(y.n(), y.m)).then_with(|| {
        entries(&x.a)
            .chain(entries(&x.b))
            .zip(entries(&y.a).chain(entries(&y.b)))
            .map(|(p, q)| p.total_cmp(&q))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    })
}

impl PreparedSystem {
    fn n(&self) -> usize {
        self.a.nrows()
    }
    fn a_unit(&self) -> Result<&PreparedOperator> {
        self.a_unit
            .as_ref()
            .map_err(|e| e.clone().in_dataset(Some(self.label.clone())))
    }
    fn b_unit(&self) -> Result<MatRef<'_, f64>> {
        self.b_unit
            .as_ref()
            .map(Mat::as_ref)
            .ok_or_else(|| DsaError::Degenerate {
                what: format!(
                "the input operator B of {} is zero: its inputs are zero or have no measurable \
                 effect on the states; compare the state operators alone with InputCompare::State",
                self.label
            ),
            })
    }
}

/// The comparison settings of an [`crate::InputDsa`].
#[derive(Debug, Clone)]
pub(crate) struct Comparer {
    pub compare: InputCompare,
    pub score: Score,
    pub controllability: Controllability,
    pub joint: JointDynamics,
    pub solver: Arc<dyn OrthogonalSolver>,
}

/// The chordal distance `e` in the unit of `score`.
fn in_unit(e: f64, score: Score) -> f64 {
    let e = e.clamp(0.0, 2.0);
    match score {
        Score::Angular => 2.0 * (e / 2.0).asin(),
        // Wasserstein is rejected for every mode that reaches here (see `Comparer::check`)
        _ => e,
    }
}

impl Comparer {
    /// Validate the combination of settings (at build time).
    pub(crate) fn check(&self) -> Result<()> {
        if self.score == Score::Wasserstein && self.compare != InputCompare::State {
            return Err(DsaError::param(
                "score",
                format!(
                    "Score::Wasserstein compares the eigenvalues of A only: use it with \
                     InputCompare::State (got {}), or choose Score::Angular or Score::Euclidean",
                    self.compare.name()
                ),
            ));
        }
        self.joint.check()
    }

    /// Prepare one system (`label` names it in errors).
    pub(crate) fn prepare(
        &self,
        a: MatRef<'_, f64>,
        b: MatRef<'_, f64>,
        label: &str,
    ) -> PreparedSystem {
        let signs = canonical_signs(b);
        let n = a.nrows();
        let a = Mat::from_fn(n, a.ncols(), |i, j| {
            signs.get(i).copied().unwrap_or(1.0) * a[(i, j)] * signs.get(j).copied().unwrap_or(1.0)
        });
        let b = Mat::from_fn(b.nrows(), b.ncols(), |i, j| signs[i] * b[(i, j)]);
        let needs_a = !(self.compare == InputCompare::State && self.score == Score::Wasserstein);
        let a_unit = if needs_a {
            PreparedOperator::new(a.as_ref())
        } else {
            Err(DsaError::Degenerate {
                what: "not prepared".into(),
            })
        };
        let bu = unit(b.as_ref());
        let b_unit = (bu.norm_max() > 0.0).then_some(bu);
        let k = (self.compare == InputCompare::Joint)
            .then(|| controllability_matrix(a.as_ref(), b.as_ref(), self.controllability));
        PreparedSystem {
            label: label.to_string(),
            signs,
            m: b.ncols(),
            a,
            b,
            a_unit,
            b_unit,
            k,
        }
    }

    /// Dimension errors of a pair, found before any comparison runs (`pair` names it).
    pub(crate) fn check_pair(
        &self,
        x: &PreparedSystem,
        y: &PreparedSystem,
        pair: &str,
    ) -> Result<()> {
        let mode = self.compare.name();
        let spectral = self.compare == InputCompare::State && self.score == Score::Wasserstein;
        if !spectral && x.n() != y.n() {
            return Err(DsaError::DimensionMismatch {
                dimension: "latent states",
                a: x.n(),
                b: y.n(),
                mode: format!("{mode} ({pair})"),
                fix: if self.compare == InputCompare::State {
                    "fit both with the same rank, or use the spectral score (Score::Wasserstein), which compares the eigenvalues of A and allows different sizes"
                } else {
                    "fit both with the same rank, or compare the state operators by their spectra (InputCompare::State with Score::Wasserstein), which allows different sizes"
                },
            });
        }
        if self.compare != InputCompare::State && x.m != y.m {
            return Err(DsaError::DimensionMismatch {
                dimension: "inputs",
                a: x.m,
                b: y.m,
                mode: format!("{mode} ({pair})"),
                fix: "compare the state operators alone (InputCompare::State), which ignores B",
            });
        }
        Ok(())
    }

    /// Compare two prepared systems: solved in the canonical order, `C` reported for the
    /// operators as given (`A1 ~ C A2 C^T`).
    pub(crate) fn compare(
        &self,
        x: &PreparedSystem,
        y: &PreparedSystem,
    ) -> Result<InputComparison> {
        self.check_pair(x, y, "this pair")?;
        let swapped = canonical_order(y, x).is_lt();
        let mut out = if swapped {
            self.compare_canonical(y, x)?
        } else {
            self.compare_canonical(x, y)?
        };
        // canonical C: A_c(first) ~ C A_c(second) C^T; for the pair (x, y) as given,
        // A_x = D_x A_c(x) D_x, so A_x ~ (D_x C_xy D_y) A_y (D_y C_xy^T D_x)
        let fix = |c: &Mat<f64>| {
            let c = if swapped {
                c.transpose().to_owned()
            } else {
                c.clone()
            };
            Mat::from_fn(c.nrows(), c.ncols(), |i, j| {
                x.signs[i] * c[(i, j)] * y.signs[j]
            })
        };
        out.c = out.c.as_ref().map(fix);
        if let Some(p) = out.procrustes.as_mut() {
            p.c = fix(&p.c);
        }
        if let Some(j) = out.joint_dynamics.as_mut() {
            j.c = fix(&j.c);
        }
        if let (true, Some(sp)) = (swapped, out.spectral.as_mut()) {
            // the spectra of the pair as given: a <-> b, and the inverse matching
            std::mem::swap(&mut sp.eigenvalues_a, &mut sp.eigenvalues_b);
            let mut inverse = vec![0; sp.matching.len()];
            for (i, &j) in sp.matching.iter().enumerate() {
                inverse[j] = i;
            }
            sp.matching = inverse;
        }
        Ok(out)
    }

    /// Compare canonical systems, `x` first.
    fn compare_canonical(&self, x: &PreparedSystem, y: &PreparedSystem) -> Result<InputComparison> {
        let score = self.score;
        let mut out = InputComparison {
            compare: self.compare,
            score,
            value: f64::NAN,
            state: None,
            control: None,
            joint: None,
            c: None,
            procrustes: None,
            spectral: None,
            joint_dynamics: None,
        };
        match self.compare {
            InputCompare::State if score == Score::Wasserstein => {
                let s = SpectralDistance.compare(x.a.as_ref(), y.a.as_ref())?;
                out.value = s.w2_squared;
                out.state = Some(s.w2_squared);
                out.spectral = Some(s);
            }
            InputCompare::State => {
                let (pa, pb) = (x.a_unit()?, y.a_unit()?);
                let cmp = Procrustes::with_shared_solver(Arc::clone(&self.solver))
                    .compare_prepared(pa, pb)?;
                out.value = in_unit(cmp.euclidean, score);
                out.state = Some(out.value);
                if x.m == y.m {
                    if let (Ok(b1), Ok(b2)) = (x.b_unit(), y.b_unit()) {
                        out.control = Some(in_unit(control_term(b1, b2, cmp.c.as_ref()), score));
                    }
                }
                out.c = Some(cmp.c.clone());
                out.procrustes = Some(cmp);
            }
            InputCompare::Control => {
                let (b1, b2) = (x.b_unit()?, y.b_unit()?);
                let c = linalg::polar(linalg::mul(b1, b2.transpose()).as_ref())?;
                out.value = in_unit(control_term(b1, b2, c.as_ref()), score);
                out.control = Some(out.value);
                out.state = self.state_term(x, y, c.as_ref());
                out.c = Some(c);
            }
            InputCompare::Joint => {
                let k1 = self.controllability(x)?;
                let k2 = self.controllability(y)?;
                let (k1h, k2h) = (unit(k1.as_ref()), unit(k2.as_ref()));
                let c = linalg::polar(linalg::mul(k1h.as_ref(), k2h.transpose()).as_ref())?;
                let chordal = (&k1h - linalg::mul(c.as_ref(), k2h.as_ref())).norm_l2();
                out.value = match (score, self.controllability) {
                    // the reference's unnormalized residual, with the correct minimiser
                    (Score::Euclidean, Controllability::Unscaled) => {
                        (&k1 - linalg::mul(c.as_ref(), k2.as_ref())).norm_l2()
                    }
                    _ => in_unit(chordal, score),
                };
                out.joint = Some(out.value);
                out.state = self.state_term(x, y, c.as_ref());
                if let (Ok(b1), Ok(b2)) = (x.b_unit(), y.b_unit()) {
                    out.control = Some(in_unit(control_term(b1, b2, c.as_ref()), score));
                }
                out.c = Some(c);
            }
            InputCompare::JointDynamics => {
                let (pa, pb) = (x.a_unit()?, y.a_unit()?);
                let (b1, b2) = (x.b_unit()?, y.b_unit()?);
                let start = self
                    .solver
                    .solve_problem(&crate::solver::Problem::new(pa, pb)?)?;
                let sol =
                    self.joint
                        .solve(pa.matrix(), b1, pb.matrix(), b2, Some(start.c.as_ref()))?;
                let w = sol.weight;
                let e = (sol.loss.max(0.0) / (1.0 + w)).sqrt();
                out.value = in_unit(e, score);
                out.joint = Some(out.value);
                out.state = Some(in_unit(sol.state, score));
                out.control = Some(in_unit(sol.control, score));
                out.c = Some(sol.c.clone());
                out.joint_dynamics = Some(sol);
            }
        }
        Ok(out)
    }

    /// The state term at `c`, when both state operators could be normalized.
    fn state_term(
        &self,
        x: &PreparedSystem,
        y: &PreparedSystem,
        c: MatRef<'_, f64>,
    ) -> Option<f64> {
        let (pa, pb) = (x.a_unit().ok()?, y.a_unit().ok()?);
        let ca = linalg::mul(c, pb.matrix());
        let cac = linalg::mul(ca.as_ref(), c.transpose());
        Some(in_unit((pa.matrix() - &cac).norm_l2(), self.score))
    }

    fn controllability(&self, x: &PreparedSystem) -> Result<Mat<f64>> {
        let k = match &x.k {
            Some(k) => k.clone(),
            None => controllability_matrix(x.a.as_ref(), x.b.as_ref(), self.controllability),
        }
        .map_err(|e| e.in_dataset(Some(x.label.clone())))?;
        if k.norm_max() == 0.0 {
            return Err(DsaError::Degenerate {
                what: format!(
                    "the controllability matrix of {} is zero (B is zero: its inputs are zero or \
                     have no measurable effect on the states); compare the state operators alone \
                     with InputCompare::State",
                    x.label
                ),
            });
        }
        Ok(k)
    }
}

/// `||B1 - C B2||_F`.
fn control_term(b1: MatRef<'_, f64>, b2: MatRef<'_, f64>, c: MatRef<'_, f64>) -> f64 {
    (b1 - linalg::mul(c, b2)).norm_l2()
}
