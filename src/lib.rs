#![doc = include_str!("../docs/crate.md")]
#![warn(missing_docs)]
// `!(x > 0.0)` is how parameter checks reject NaN along with out-of-range values.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

mod assignment;
pub mod bench;
pub mod compare;
pub mod data;
pub mod embedding;
pub mod error;
pub mod input;
#[cfg(feature = "npy")]
pub mod io;
mod linalg;
pub mod mds;
pub mod operator;
mod parallel;
pub mod select;
pub mod similarity;
pub mod solver;
pub mod stats;

pub use compare::{distance, Dsa, DsaBuilder, DsaComparison, DsaReport, PerDataset, Progress};
pub use data::{Dataset, ToDataset};
pub use embedding::{DelayEmbedding, Embedded, Embedding};
pub use error::{DsaError, Result};
pub use input::{
    InputCompare, InputComparison, InputDsa, InputDsaBuilder, InputFit, InputModel, InputReport,
};
pub use linalg::c64;
pub use operator::{
    Dmd, DmdModel, DmdParams, DmdValidParams, OperatorFit, RankInfo, RankRule, Regression,
};
pub use similarity::{
    operator_distance, Comparison, LowerBound, Procrustes, Score, Similarity, SizeMismatch,
    SpectralComparison, SpectralDistance,
};
pub use solver::{
    CayleyAdam, OrthogonalSolver, Preconditioner, PreparedOperator, Problem, RiemannianLbfgs,
    SolverOutput, SolverReport, Start, StartOutcome, SymmetricClosedForm, Termination,
};

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
