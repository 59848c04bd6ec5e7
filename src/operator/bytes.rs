//! A fitted model as bytes and back: to store it, or send it to another process (the Python
//! package pickles models this way).
//!
//! Layout (little-endian): the magic `b"DSAMODEL"`, a format version (`u32`), then every field
//! of the model in a fixed order; integers as `u64`, reals as `f64` (their exact bits),
//! matrices as rows, columns and the entries column by column, lists as a length and the
//! entries. Reading checks the magic and version, every length against the bytes that are left
//! (so a corrupt length cannot allocate), the parameters, and the shapes the model relies on.

use faer::Mat;

use super::model::{DmdModel, RankInfo};
use super::params::{DmdValidParams, Regression};
use super::rank::RankRule;
use super::Dmd;
use crate::error::{DsaError, Result};
use crate::linalg::c64;

const MAGIC: &[u8; 8] = b"DSAMODEL";
const VERSION: u32 = 1;

impl DmdModel {
    /// The model as bytes, every number with its exact bits; [`DmdModel::from_bytes`] reads
    /// them back into an equal model.
    ///
    /// # Example
    /// ```
    /// # fn main() -> dsa::Result<()> {
    /// let x = faer::Mat::from_fn(200, 2, |t, j| ((t as f64) * (0.1 + 0.1 * j as f64)).sin());
    /// let model = dsa::Dsa::builder().n_delays(3).rank(4).build()?.fit(&x)?;
    /// let back = dsa::DmdModel::from_bytes(&model.to_bytes())?;
    /// assert_eq!(back.operator(), model.operator());
    /// assert_eq!(back.predict(&x, 1)?, model.predict(&x, 1)?);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(
            128 + 8 * (self.u.nrows() * self.u.ncols() + self.v.nrows() * self.v.ncols()),
        ));
        w.0.extend_from_slice(MAGIC);
        w.0.extend_from_slice(&VERSION.to_le_bytes());
        let p = &self.params;
        w.usize(p.n_delays);
        w.usize(p.delay_interval);
        w.rule(p.rank_rule);
        w.f64(p.lambda);
        w.usize(p.steps_ahead);
        w.u8(match p.regression {
            Regression::PrincipalComponents => 0,
            Regression::ReducedRank => 1,
        });
        w.usize(self.n_channels);
        w.usize(self.hankel_shape.0);
        w.usize(self.hankel_shape.1);
        w.usize(self.trial_rows.len());
        for &r in &self.trial_rows {
            w.usize(r);
        }
        w.f64s(&self.s);
        w.mat(&self.u);
        w.mat(&self.v);
        w.mat(&self.a);
        let r = &self.rank;
        w.rule(r.rule);
        for x in [r.requested, r.used, r.available, r.numerical_rank] {
            w.usize(x);
        }
        w.u8(u8::from(r.capped));
        w.usize(self.eigenvalues.len());
        for l in &self.eigenvalues {
            w.f64(l.re);
            w.f64(l.im);
        }
        w.0
    }

    /// A model from the bytes of [`DmdModel::to_bytes`] (the same bits in every number).
    ///
    /// # Errors
    /// [`DsaError::InvalidParameter`] (`bytes`) for bytes that are not a model written by this
    /// format version: wrong magic or version, truncated or trailing bytes, invalid parameters,
    /// or shapes that do not fit together.
    ///
    /// # Example
    /// ```
    /// let err = dsa::DmdModel::from_bytes(b"not a model").unwrap_err();
    /// assert!(err.to_string().contains("bytes"));
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<DmdModel> {
        let mut r = Reader { rest: bytes };
        if r.take(8)? != MAGIC {
            return Err(bad("they do not start with the magic b\"DSAMODEL\""));
        }
        let version = u32::from_le_bytes(r.array::<4>()?);
        if version != VERSION {
            return Err(bad(format!(
                "format version {version}; this version of dsa reads version {VERSION}"
            )));
        }
        let n_delays = r.usize()?;
        let delay_interval = r.usize()?;
        let rule = r.rule()?;
        let lambda = r.f64()?;
        let steps_ahead = r.usize()?;
        let regression = match r.u8()? {
            0 => Regression::PrincipalComponents,
            1 => Regression::ReducedRank,
            t => return Err(bad(format!("unknown regression tag {t}"))),
        };
        let params = Dmd::params()
            .n_delays(n_delays)
            .delay_interval(delay_interval)
            .rank_rule(rule)
            .lambda(lambda)
            .steps_ahead(steps_ahead)
            .regression(regression)
            .check()
            .map_err(|e| bad(format!("invalid parameters ({e})")))?;
        let n_channels = r.usize()?;
        let hankel_shape = (r.usize()?, r.usize()?);
        let n_trials = r.len(8)?;
        let trial_rows = (0..n_trials)
            .map(|_| r.usize())
            .collect::<Result<Vec<_>>>()?;
        let s = r.f64s()?;
        let u = r.mat()?;
        let v = r.mat()?;
        let a = r.mat()?;
        let rank = RankInfo {
            rule: r.rule()?,
            requested: r.usize()?,
            used: r.usize()?,
            available: r.usize()?,
            numerical_rank: r.usize()?,
            capped: match r.u8()? {
                0 => false,
                1 => true,
                t => return Err(bad(format!("capped flag {t}"))),
            },
        };
        let n_eig = r.len(16)?;
        let eigenvalues = (0..n_eig)
            .map(|_| Ok(c64::new(r.f64()?, r.f64()?)))
            .collect::<Result<Vec<_>>>()?;
        if !r.rest.is_empty() {
            return Err(bad(format!("{} bytes left after the model", r.rest.len())));
        }
        let model = DmdModel {
            params,
            n_channels,
            hankel_shape,
            trial_rows,
            s,
            u,
            v,
            a,
            rank,
            eigenvalues,
        };
        check_shapes(&model)?;
        Ok(model)
    }
}

/// The shapes every method of [`DmdModel`] relies on (indexing into `u`, `s` and `a`).
fn check_shapes(m: &DmdModel) -> Result<()> {
    let (rows, cols) = m.hankel_shape;
    let k = m.a.nrows();
    let p: &DmdValidParams = &m.params;
    let checks = [
        (m.n_channels >= 1, "no channels"),
        (
            m.n_channels.checked_mul(p.n_delays) == Some(cols),
            "the embedding width is not channels x delays",
        ),
        (
            m.trial_rows
                .iter()
                .try_fold(0usize, |acc, &x| acc.checked_add(x))
                == Some(rows),
            "the trials' rows do not add up to the embedding's rows",
        ),
        (
            m.u.nrows() == cols && m.u.ncols() == m.s.len(),
            "U does not match the embedding and the singular values",
        ),
        (
            m.s.iter().all(|&x| x.is_finite() && x > 0.0),
            "a singular value is not finite and positive",
        ),
        (k >= 1 && m.a.ncols() == k, "the operator is not square"),
        (
            k <= m.s.len(),
            "the operator is larger than the number of singular values",
        ),
        (
            m.v.nrows() == rows && m.v.ncols() == k,
            "V does not match the embedding and the operator",
        ),
        (
            m.eigenvalues.len() == k,
            "the spectrum does not match the operator",
        ),
    ];
    match checks.iter().find(|(ok, _)| !ok) {
        Some((_, what)) => Err(bad(format!("inconsistent model: {what}"))),
        None => Ok(()),
    }
}

fn bad(reason: impl std::fmt::Display) -> DsaError {
    DsaError::param(
        "bytes",
        format!("not a dsa model written by DmdModel::to_bytes: {reason}"),
    )
}

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, x: u8) {
        self.0.push(x);
    }
    fn usize(&mut self, x: usize) {
        self.0.extend_from_slice(&(x as u64).to_le_bytes());
    }
    fn f64(&mut self, x: f64) {
        self.0.extend_from_slice(&x.to_bits().to_le_bytes());
    }
    fn f64s(&mut self, xs: &[f64]) {
        self.usize(xs.len());
        for &x in xs {
            self.f64(x);
        }
    }
    fn mat(&mut self, m: &Mat<f64>) {
        self.usize(m.nrows());
        self.usize(m.ncols());
        for j in 0..m.ncols() {
            for i in 0..m.nrows() {
                self.f64(m[(i, j)]);
            }
        }
    }
    fn rule(&mut self, rule: RankRule) {
        match rule {
            RankRule::Full => self.u8(0),
            RankRule::Fixed(r) => {
                self.u8(1);
                self.usize(r);
            }
            RankRule::Threshold(t) => {
                self.u8(2);
                self.f64(t);
            }
            RankRule::ExplainedVariance(q) => {
                self.u8(3);
                self.f64(q);
            }
            RankRule::OptimalHardThreshold => self.u8(4),
        }
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        if self.rest.len() < n {
            return Err(bad(format!(
                "truncated: {n} more bytes needed, {} left",
                self.rest.len()
            )));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }
    fn usize(&mut self) -> Result<usize> {
        let x = u64::from_le_bytes(self.array::<8>()?);
        usize::try_from(x).map_err(|_| bad(format!("{x} does not fit in usize")))
    }
    fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_bits(u64::from_le_bytes(self.array::<8>()?)))
    }
    /// A count of items of `item_bytes` bytes each, checked against the bytes left.
    fn len(&mut self, item_bytes: usize) -> Result<usize> {
        let n = self.usize()?;
        if n.checked_mul(item_bytes)
            .is_none_or(|total| total > self.rest.len())
        {
            return Err(bad(format!(
                "truncated: a list of {n} items does not fit in the {} bytes left",
                self.rest.len()
            )));
        }
        Ok(n)
    }
    fn f64s(&mut self) -> Result<Vec<f64>> {
        let n = self.len(8)?;
        (0..n).map(|_| self.f64()).collect()
    }
    fn mat(&mut self) -> Result<Mat<f64>> {
        let rows = self.usize()?;
        let cols = self.usize()?;
        let n = rows
            .checked_mul(cols)
            .filter(|n| n.checked_mul(8).is_some_and(|b| b <= self.rest.len()))
            .ok_or_else(|| bad(format!("truncated: a {rows} x {cols} matrix does not fit")))?;
        let data = (0..n).map(|_| self.f64()).collect::<Result<Vec<_>>>()?;
        Ok(Mat::from_fn(rows, cols, |i, j| data[j * rows + i]))
    }
    fn rule(&mut self) -> Result<RankRule> {
        Ok(match self.u8()? {
            0 => RankRule::Full,
            1 => RankRule::Fixed(self.usize()?),
            2 => RankRule::Threshold(self.f64()?),
            3 => RankRule::ExplainedVariance(self.f64()?),
            4 => RankRule::OptimalHardThreshold,
            t => return Err(bad(format!("unknown rank rule tag {t}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dataset, OperatorFit};

    fn data() -> Dataset {
        let trials = (0..2)
            .map(|k| {
                Mat::from_fn(60 + 7 * k, 3, |t, j| {
                    ((t as f64) * (0.1 + 0.07 * j as f64)).sin()
                        + 0.1 * (((t * 7 + j * 13 + k) as f64).sin() * 43758.5453).fract()
                })
            })
            .collect();
        Dataset::from_trials(trials).unwrap()
    }

    fn models() -> Vec<DmdModel> {
        let d = data();
        [
            Dmd::params().n_delays(3).rank(5),
            Dmd::params().n_delays(2).rank_thresh(0.5).lambda(0.1),
            Dmd::params()
                .n_delays(4)
                .explained_variance(0.9)
                .steps_ahead(2),
            Dmd::params().n_delays(2).rank(3).reduced_rank(true),
            Dmd::params().n_delays(3).delay_interval(2),
            Dmd::params().n_delays(5).optimal_hard_threshold(true),
        ]
        .iter()
        .map(|p| p.fit(&d).unwrap())
        .collect()
    }

    fn bits(m: &Mat<f64>) -> Vec<u64> {
        m.col_iter()
            .flat_map(|c| c.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
            .collect()
    }

    #[test]
    fn round_trip_keeps_every_bit() {
        for m in models() {
            let bytes = m.to_bytes();
            let back = DmdModel::from_bytes(&bytes).unwrap();
            assert_eq!(back.params, m.params);
            assert_eq!(back.rank, m.rank);
            assert_eq!(back.n_channels, m.n_channels);
            assert_eq!(back.hankel_shape, m.hankel_shape);
            assert_eq!(back.trial_rows, m.trial_rows);
            assert_eq!(bits(&back.a), bits(&m.a));
            assert_eq!(bits(&back.u), bits(&m.u));
            assert_eq!(bits(&back.v), bits(&m.v));
            let sb: Vec<u64> = back.s.iter().map(|x| x.to_bits()).collect();
            let sm: Vec<u64> = m.s.iter().map(|x| x.to_bits()).collect();
            assert_eq!(sb, sm);
            assert_eq!(back.eigenvalues, m.eigenvalues);
            assert_eq!(back.to_bytes(), bytes);
            let d = data();
            assert_eq!(back.predict(&d, 3).unwrap(), m.predict(&d, 3).unwrap());
        }
    }

    #[test]
    fn every_truncation_and_corruption_is_an_error() {
        let m = &models()[0];
        let bytes = m.to_bytes();
        for n in 0..bytes.len() {
            assert!(
                matches!(
                    DmdModel::from_bytes(&bytes[..n]),
                    Err(DsaError::InvalidParameter { name: "bytes", .. })
                ),
                "prefix of {n} bytes"
            );
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(DmdModel::from_bytes(&long).is_err());
        // flipping any single byte either fails cleanly or reads a model (a changed value)
        for k in 0..bytes.len() {
            let mut b = bytes.clone();
            b[k] ^= 0xA5;
            let _ = DmdModel::from_bytes(&b);
        }
        // a huge length is refused before allocating
        let mut b = bytes[..12].to_vec();
        b.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(DmdModel::from_bytes(&b).is_err());
    }
}
