//! Hyperparameters that may differ from dataset to dataset (spec §5).

use crate::error::{DsaError, Result};

/// A hyperparameter given once for all datasets, once per side, or once per dataset.
///
/// The reference implementation accepts the same three forms: a value that is broadcast, a pair
/// of values for the X side and the Y side, or a list with one value per dataset. Setters such
/// as [`DsaBuilder::n_delays_per_dataset`](crate::DsaBuilder::n_delays_per_dataset) take
/// anything that converts into a `PerDataset`: a plain value, a `Vec` or a two-tuple.
///
/// **How values map to datasets.** Every call numbers its datasets *X side first, then Y side*:
///
/// | call | datasets, in order | `Each` length | `Sides(x, y)` |
/// |---|---|---|---|
/// | [`Dsa::fit`](crate::Dsa::fit)`(x)` | `x` | 1 | error |
/// | [`Dsa::fit_all`](crate::Dsa::fit_all)`(xs)` / [`Dsa::pairwise`](crate::Dsa::pairwise)`(xs)` | `xs[0..M]` | `M` | error |
/// | [`Dsa::distance`](crate::Dsa::distance) / [`Dsa::compare`](crate::Dsa::compare)`(x, y)` | `x`, `y` | 2 | `x` gets the first, `y` the second |
/// | [`Dsa::one_to_many`](crate::Dsa::one_to_many)`(x, ys)` | `x`, then `ys[0..K]` | `1 + K` | `x` gets the first, every `ys[k]` the second |
/// | [`Dsa::bipartite`](crate::Dsa::bipartite)`(xs, ys)` | `xs[0..M]`, then `ys[0..K]` | `M + K` | every `xs[i]` gets the first, every `ys[k]` the second |
///
/// A list of the wrong length, or a per-side value where a call has only one side, is
/// [`DsaError::InvalidParameter`] naming the parameter.
///
/// # Example
/// ```
/// use dsa::PerDataset;
/// let all: PerDataset<usize> = 10.into();
/// let each: PerDataset<usize> = vec![5, 10, 20].into();
/// let sides: PerDataset<usize> = (5, 10).into();
/// assert_eq!(all, PerDataset::All(10));
/// assert_eq!(each, PerDataset::Each(vec![5, 10, 20]));
/// assert_eq!(sides, PerDataset::Sides(5, 10));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum PerDataset<T> {
    /// The same value for every dataset.
    All(T),
    /// One value for the X side and one for the Y side (two-sided calls only).
    Sides(T, T),
    /// One value per dataset, X side first, then Y side.
    Each(Vec<T>),
}

impl<T> From<T> for PerDataset<T> {
    fn from(v: T) -> Self {
        PerDataset::All(v)
    }
}

impl<T> From<Vec<T>> for PerDataset<T> {
    fn from(v: Vec<T>) -> Self {
        PerDataset::Each(v)
    }
}

impl<T: Clone> From<&[T]> for PerDataset<T> {
    fn from(v: &[T]) -> Self {
        PerDataset::Each(v.to_vec())
    }
}

impl<T> From<(T, T)> for PerDataset<T> {
    fn from((x, y): (T, T)) -> Self {
        PerDataset::Sides(x, y)
    }
}

/// The datasets of one call: `n_x` on the X side, then `n_y` on the Y side (`None` for a
/// one-sided call such as `pairwise`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub n_x: usize,
    pub n_y: Option<usize>,
}

impl Layout {
    pub(crate) fn one_sided(n: usize) -> Self {
        Self { n_x: n, n_y: None }
    }
    pub(crate) fn two_sided(n_x: usize, n_y: usize) -> Self {
        Self {
            n_x,
            n_y: Some(n_y),
        }
    }
    pub(crate) fn len(&self) -> usize {
        self.n_x + self.n_y.unwrap_or(0)
    }
    fn describe(&self) -> String {
        match self.n_y {
            None => format!("{} dataset(s)", self.n_x),
            Some(n_y) => format!(
                "{} dataset(s): {} on the X side, then {} on the Y side",
                self.n_x + n_y,
                self.n_x,
                n_y
            ),
        }
    }
}

impl<T: Clone> PerDataset<T> {
    /// The values for every dataset of a call, X side first.
    pub(crate) fn resolve(&self, name: &'static str, layout: Layout) -> Result<Vec<T>> {
        let n = layout.len();
        match self {
            PerDataset::All(v) => Ok(vec![v.clone(); n]),
            PerDataset::Sides(x, y) => match layout.n_y {
                Some(n_y) => {
                    let mut out = vec![x.clone(); layout.n_x];
                    out.extend(std::iter::repeat_n(y.clone(), n_y));
                    Ok(out)
                }
                None => Err(DsaError::param(
                    name,
                    format!(
                        "a per-side value (X side, Y side) was given, but this call has one side ({}); \
                         give one value, or a list with one value per dataset",
                        layout.describe()
                    ),
                )),
            },
            PerDataset::Each(list) => {
                if list.len() == n {
                    Ok(list.clone())
                } else {
                    Err(DsaError::param(
                        name,
                        format!(
                            "the per-dataset list has {} value(s) but the call has {}; give one value per dataset, \
                             X side first, then Y side",
                            list.len(),
                            layout.describe()
                        ),
                    ))
                }
            }
        }
    }

    /// Every value the setting holds (for validation at build time).
    pub(crate) fn values(&self) -> Vec<(Option<usize>, T)> {
        match self {
            PerDataset::All(v) => vec![(None, v.clone())],
            PerDataset::Sides(x, y) => vec![(Some(0), x.clone()), (Some(1), y.clone())],
            PerDataset::Each(list) => list
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, v)| (Some(i), v))
                .collect(),
        }
    }

    pub(crate) fn is_empty_list(&self) -> bool {
        matches!(self, PerDataset::Each(v) if v.is_empty())
    }
}
