//! The integration tests, in one binary: one link of the crate and its dependencies instead of
//! one per file, and the helpers compiled once.
//!
//! * [`common`]: what several modules use, written once: fixture loading (`tests/fixtures`),
//!   one seeded generator (`rng`) and what is drawn from it (normal and uniform matrices, Haar
//!   orthogonal matrices of either determinant, signed permutations, skew matrices, stable
//!   systems and their simulation), and the matrix helpers (products, conjugates, norms).
//! * `suite/<area>.rs`: the tests of one area, one module each.
//!
//! Run everything with `cargo test --all-features` (the README's command), one area with
//! `cargo test --all-features --test main suite::procrustes::`, one test by name as usual.
//!
//! # Adding a module
//! 1. Put the tests in `tests/suite/<area>.rs` (not in `tests/` itself: every `tests/*.rs`
//!    file is a test binary of its own, compiled and linked separately).
//! 2. Add `mod <area>;` to the list in `mod suite` below, in alphabetical order.
//! 3. Use the shared helpers with `use crate::common::*;` rather than writing new ones; add a
//!    helper to `tests/common/mod.rs` when a second module needs it.
//! 4. Keep it fast (seconds): heavier versions go behind `#[ignore]`.
//!
//! A file written as a binary of its own (`tests/<area>.rs` with `mod common;`) folds in by
//! moving it to `tests/suite/<area>.rs`, deleting its `mod common;` line and replacing
//! `use common::*` with `use crate::common::*`.

mod common;

mod suite {
    mod api;
    mod bench;
    mod blocks;
    mod embedding;
    mod extension;
    mod fit;
    mod input;
    mod invariance;
    mod mds;
    mod procrustes;
    mod python_parity;
    mod reference_fit;
    mod robustness;
    mod select;
    mod stats;
}
