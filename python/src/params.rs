//! Keyword arguments to a `dsa::DsaBuilder`.
//!
//! Each DMD setting takes one value for every dataset, a tuple `(x_side, y_side)`, or a list
//! with one value per dataset (X side first); the crate checks the values and their counts.

use dsa::{
    CayleyAdam, Dsa, DsaBuilder, PerDataset, RankRule, RiemannianLbfgs, Score, SizeMismatch,
};
use numpy::PyUntypedArray;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyList, PyTuple};

use crate::errors::{param, to_py, type_error};

/// Every keyword the functions accept.
pub(crate) const KEYS: [&str; 16] = [
    "n_delays",
    "delay_interval",
    "rank",
    "rank_thresh",
    "rank_explained_variance",
    "lamb",
    "reduced_rank_reg",
    "steps_ahead",
    "score_method",
    "seed",
    "threads",
    "progress",
    "size_mismatch",
    "solver",
    "iters",
    "lr",
];

/// A parsed call: the builder, and the progress callable if any.
pub(crate) struct Params {
    pub builder: DsaBuilder,
    pub progress: Option<Py<PyAny>>,
}

impl Params {
    pub(crate) fn build(self) -> PyResult<(Dsa, Option<Py<PyAny>>)> {
        Ok((self.builder.build().map_err(to_py)?, self.progress))
    }
}

/// Parses `params` (`None`: the defaults). `score` is the default score method (the functions
/// that take `score=` pass theirs).
pub(crate) fn parse(params: Option<&Bound<'_, PyDict>>) -> PyResult<Params> {
    let mut b = Dsa::builder();
    let mut progress = None;
    let Some(params) = params else {
        return Ok(Params {
            builder: b,
            progress,
        });
    };
    let get = |key: &str| -> PyResult<Option<Bound<'_, PyAny>>> {
        Ok(params.get_item(key)?.filter(|v| !v.is_none()))
    };
    for (k, _) in params.iter() {
        let k: String = k.extract()?;
        if !KEYS.contains(&k.as_str()) {
            return Err(type_error(format!(
                "unexpected keyword argument '{k}'; the parameters are {}",
                KEYS.join(", ")
            )));
        }
    }
    if let Some(v) = get("n_delays")? {
        b = b.n_delays_per_dataset(per_dataset(&v, "n_delays", count)?);
    }
    if let Some(v) = get("delay_interval")? {
        b = b.delay_interval_per_dataset(per_dataset(&v, "delay_interval", count)?);
    }
    if let Some(v) = get("steps_ahead")? {
        b = b.steps_ahead_per_dataset(per_dataset(&v, "steps_ahead", count)?);
    }
    if let Some(v) = get("lamb")? {
        b = b.lambda_per_dataset(per_dataset(&v, "lamb", real)?);
    }
    let rank = get("rank")?;
    let thresh = get("rank_thresh")?;
    let ev = get("rank_explained_variance")?;
    let n_rules = [&rank, &thresh, &ev].iter().filter(|v| v.is_some()).count();
    if n_rules > 1 {
        return Err(param(
            "rank",
            "set only one of rank, rank_thresh and rank_explained_variance",
        ));
    }
    if let Some(v) = rank {
        let rules = per_dataset(&v, "rank", rank_rule)?;
        // integers only: the crate's `rank` setting, whose errors name `rank`
        b = match fixed_ranks(&rules) {
            Some(r) => b.rank_per_dataset(r),
            None => b.rank_rule_per_dataset(rules),
        };
    }
    if let Some(v) = thresh {
        b = b.rank_thresh_per_dataset(per_dataset(&v, "rank_thresh", real)?);
    }
    if let Some(v) = ev {
        b = b.explained_variance_per_dataset(per_dataset(&v, "rank_explained_variance", real)?);
    }
    if let Some(v) = get("reduced_rank_reg")? {
        b = b.reduced_rank(flag(&v, "reduced_rank_reg")?);
    }
    if let Some(v) = get("score_method")? {
        b = b.score(score(&v)?);
    }
    if let Some(v) = get("size_mismatch")? {
        let s = string(&v, "size_mismatch")?;
        b = b.size_mismatch(match s.as_str() {
            "error" => SizeMismatch::Error,
            "zero_pad" => SizeMismatch::ZeroPad,
            "spectral" => SizeMismatch::Spectral,
            _ => {
                return Err(param(
                    "size_mismatch",
                    format!("'{s}'; use 'error' (the default), 'zero_pad' or 'spectral'"),
                ))
            }
        });
    }
    let solver = match get("solver")? {
        Some(v) => string(&v, "solver")?,
        None => "exact".to_string(),
    };
    let iters = get("iters")?;
    let lr = get("lr")?;
    match solver.as_str() {
        "exact" | "fast" => {
            if iters.is_some() || lr.is_some() {
                return Err(param(
                    if iters.is_some() { "iters" } else { "lr" },
                    "iters and lr belong to the paper's solver; pass solver='paper' to use it \
                     (the default solver stops on its own convergence test)",
                ));
            }
            if solver == "fast" {
                let seed = match get("seed")? {
                    Some(v) => count(&v, "seed")?,
                    None => 0,
                };
                b = b.solver(RiemannianLbfgs::fast().seed(seed as u64));
            } else if let Some(v) = get("seed")? {
                b = b.seed(count(&v, "seed")? as u64);
            }
        }
        "paper" => {
            if get("seed")?.is_some() {
                return Err(param(
                    "seed",
                    "the paper's solver (Cayley + Adam) is deterministic and takes no seed",
                ));
            }
            let mut s = CayleyAdam::dsa_class();
            if let Some(v) = iters {
                let n = count(&v, "iters")?;
                if n == 0 {
                    return Err(param("iters", "must be at least 1"));
                }
                s = s.iters(n);
            }
            if let Some(v) = lr {
                s = s.lr(real(&v, "lr")?);
            }
            b = b.solver(s);
        }
        other => {
            return Err(param(
                "solver",
                format!(
                    "'{other}'; use 'exact' (the default: Riemannian L-BFGS), 'fast' (its \
                     structured starts only) or 'paper' (Cayley + Adam, with iters and lr)"
                ),
            ))
        }
    }
    if let Some(v) = get("threads")? {
        let k = count(&v, "threads")?;
        if k == 0 {
            return Err(param(
                "threads",
                "must be at least 1 (None uses every core)",
            ));
        }
        b = b.threads(k);
    }
    if let Some(v) = get("progress")? {
        if v.is_instance_of::<PyBool>() {
            if v.is_truthy()? {
                return Err(type_error(
                    "progress=True is handled by the dsa_rs package (a tqdm bar); the \
                     extension module takes a callable progress(done, total)",
                ));
            }
        } else if v.is_callable() {
            progress = Some(v.unbind());
        } else {
            return Err(type_error(
                "progress must be True, False, None or a callable progress(done, total)",
            ));
        }
    }
    Ok(Params {
        builder: b,
        progress,
    })
}

/// One value, a tuple of two (X side, Y side) or a list (one per dataset).
fn per_dataset<T>(
    v: &Bound<'_, PyAny>,
    name: &str,
    one: fn(&Bound<'_, PyAny>, &str) -> PyResult<T>,
) -> PyResult<PerDataset<T>> {
    if v.is_instance_of::<PyTuple>() {
        let items: Vec<Bound<'_, PyAny>> = v.try_iter()?.collect::<PyResult<_>>()?;
        return match items.as_slice() {
            [x, y] => Ok(PerDataset::Sides(one(x, name)?, one(y, name)?)),
            _ => Err(type_error(format!(
                "{name}: a tuple gives (x_side, y_side) and has two values, got {}; pass a \
                 list for one value per dataset",
                items.len()
            ))),
        };
    }
    if v.is_instance_of::<PyList>() || v.cast::<PyUntypedArray>().is_ok() {
        let values = v
            .try_iter()?
            .enumerate()
            .map(|(k, x)| one(&x?, &format!("{name}[{k}]")))
            .collect::<PyResult<Vec<T>>>()?;
        return Ok(PerDataset::Each(values));
    }
    Ok(PerDataset::All(one(v, name)?))
}

/// A non-negative integer (not a bool).
fn count(v: &Bound<'_, PyAny>, name: &str) -> PyResult<usize> {
    if v.is_instance_of::<PyBool>() {
        return Err(type_error(format!("{name} must be an integer, got a bool")));
    }
    let x: i64 = v
        .extract()
        .map_err(|_| type_error(format!("{name} must be an integer, got {}", repr(v))))?;
    usize::try_from(x).map_err(|_| param(name, format!("must be >= 0, got {x}")))
}

/// A real number.
fn real(v: &Bound<'_, PyAny>, name: &str) -> PyResult<f64> {
    if v.is_instance_of::<PyBool>() {
        return Err(type_error(format!("{name} must be a number, got a bool")));
    }
    v.extract()
        .map_err(|_| type_error(format!("{name} must be a number, got {}", repr(v))))
}

fn flag(v: &Bound<'_, PyAny>, name: &str) -> PyResult<bool> {
    v.extract()
        .map_err(|_| type_error(format!("{name} must be True or False, got {}", repr(v))))
}

fn string(v: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    v.extract()
        .map_err(|_| type_error(format!("{name} must be a string, got {}", repr(v))))
}

/// A rank: a positive integer, or `"full"` (every singular value, the reference's `None`).
fn rank_rule(v: &Bound<'_, PyAny>, name: &str) -> PyResult<RankRule> {
    if let Ok(s) = v.extract::<String>() {
        return match s.as_str() {
            "full" => Ok(RankRule::Full),
            _ => Err(param(
                name,
                format!("'{s}'; pass an integer >= 1 or 'full'"),
            )),
        };
    }
    Ok(RankRule::Fixed(count(v, name)?))
}

/// The ranks, if every one is an integer.
fn fixed_ranks(rules: &PerDataset<RankRule>) -> Option<PerDataset<usize>> {
    let fixed = |r: &RankRule| match r {
        RankRule::Fixed(k) => Some(*k),
        _ => None,
    };
    Some(match rules {
        PerDataset::All(r) => PerDataset::All(fixed(r)?),
        PerDataset::Sides(x, y) => PerDataset::Sides(fixed(x)?, fixed(y)?),
        PerDataset::Each(v) => PerDataset::Each(v.iter().map(fixed).collect::<Option<_>>()?),
    })
}

/// A score method by name.
pub(crate) fn score(v: &Bound<'_, PyAny>) -> PyResult<Score> {
    let s = string(v, "score_method")?;
    match s.as_str() {
        "angular" => Ok(Score::Angular),
        "euclidean" => Ok(Score::Euclidean),
        "wasserstein" => Ok(Score::Wasserstein),
        _ => Err(param(
            "score_method",
            format!("'{s}'; use 'angular', 'euclidean' or 'wasserstein'"),
        )),
    }
}

fn repr(v: &Bound<'_, PyAny>) -> String {
    v.repr()
        .map_or_else(|_| "an object".to_string(), |r| r.to_string())
}
