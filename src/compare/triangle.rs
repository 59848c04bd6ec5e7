//! Pairwise and bipartite matrices that are metrics (spec §4.4).
//!
//! At the global optimum the angular distance is a metric on conjugacy classes, and so is the
//! Euclidean one (the chordal distance of the same sphere): `d(i, k) <= d(i, j) + d(j, k)`. A
//! computed matrix that violates this beyond rounding has a pair `(i, k)` short of its optimum,
//! and the composed alignment `C_ij C_jk` (`A_i ~ C_ij A_j C_ij^T`, `A_j ~ C_jk A_k C_jk^T`)
//! provably starts at most `d(i, j) + d(j, k)` from `A_i`: a local descent from it repairs the
//! entry. Repairs run until no triangle is violated, one at a time in a fixed order, so the
//! result is the same for every number of threads.
//!
//! In a bipartite matrix (rows `x_i`, columns `y_k`) the shortest detours are paths of three
//! entries, `x_i -> y_l -> x_j -> y_k`, with the composed start `C_il C_jl^T C_jk`.

use std::collections::HashMap;
use std::sync::OnceLock;

use faer::{Mat, MatRef};
use rayon::prelude::*;

use super::Dsa;
use crate::error::Result;
use crate::similarity::{Procrustes, Score};
use crate::solver::PreparedOperator;

/// A violation beyond this (absolute, in the score's units) is repaired.
const TOLERANCE: f64 = 1e-12;

/// At most this many rounds of repairs (each round repairs every violation found, then looks
/// again); every repair lowers an entry, so rounds end, in practice after one or two.
const MAX_ROUNDS: usize = 64;

/// The operators of a matrix, prepared on first use, and the alignments `C` of its entries,
/// computed on first use by the same comparison as the entry (so the same bits) or kept from a
/// repair.
struct Alignments<'o> {
    dsa: &'o Dsa,
    procrustes: Procrustes,
    rows: &'o [MatRef<'o, f64>],
    cols: &'o [MatRef<'o, f64>],
    /// rows and columns are one list (a pairwise matrix): entry `(i, j)` was compared as
    /// `(min, max)`, and `C_ji = C_ij^T`
    shared: bool,
    prepared_rows: Vec<OnceLock<Option<PreparedOperator>>>,
    prepared_cols: Vec<OnceLock<Option<PreparedOperator>>>,
    /// `C` of an entry as it was compared (`(min, max)` for a pairwise matrix)
    known: HashMap<(usize, usize), Mat<f64>>,
}

impl<'o> Alignments<'o> {
    fn new(
        dsa: &'o Dsa,
        rows: &'o [MatRef<'o, f64>],
        cols: &'o [MatRef<'o, f64>],
        shared: bool,
    ) -> Self {
        Self {
            dsa,
            procrustes: dsa.procrustes(),
            rows,
            cols,
            shared,
            prepared_rows: rows.iter().map(|_| OnceLock::new()).collect(),
            prepared_cols: cols.iter().map(|_| OnceLock::new()).collect(),
            known: HashMap::new(),
        }
    }

    fn prepared(&self, col: bool, i: usize) -> Option<&PreparedOperator> {
        let (cells, ops) = if col && !self.shared {
            (&self.prepared_cols, self.cols)
        } else {
            (&self.prepared_rows, self.rows)
        };
        cells[i]
            .get_or_init(|| PreparedOperator::new(ops[i]).ok())
            .as_ref()
    }

    /// The key an entry was compared under, and whether its `C` is transposed from it.
    fn key(&self, i: usize, k: usize) -> ((usize, usize), bool) {
        if self.shared && i > k {
            ((k, i), true)
        } else {
            ((i, k), false)
        }
    }

    /// Computes the alignments of `entries` not known yet, in parallel (each the same bits as
    /// when its entry was compared).
    fn ensure(&mut self, entries: &[(usize, usize)]) -> Result<()> {
        let mut missing: Vec<(usize, usize)> = entries
            .iter()
            .map(|&(i, k)| self.key(i, k).0)
            .filter(|key| !self.known.contains_key(key))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        let this = &*self;
        let computed: Vec<Result<Option<Mat<f64>>>> = self.dsa.install(|| {
            missing
                .par_iter()
                .map(
                    |&(i, k)| match (this.prepared(false, i), this.prepared(true, k)) {
                        (Some(x), Some(y)) => {
                            this.procrustes.compare_prepared(x, y).map(|c| Some(c.c))
                        }
                        _ => Ok(None),
                    },
                )
                .collect()
        });
        for (key, c) in missing.into_iter().zip(computed) {
            if let Some(c) = c? {
                self.known.insert(key, c);
            }
        }
        Ok(())
    }

    /// `C` of entry `(i, k)`: `A_i ~ C B_k C^T` (with `ensure` called for it before).
    fn c(&self, i: usize, k: usize) -> Option<Mat<f64>> {
        let (key, transposed) = self.key(i, k);
        self.known.get(&key).map(|c| {
            if transposed {
                c.transpose().to_owned()
            } else {
                c.clone()
            }
        })
    }

    /// A local descent on entry `(i, k)` from `c0`; keeps and returns the new value if it is
    /// lower than `current`. `Ok(None)` also when the solver has no warm start.
    fn repair(
        &mut self,
        i: usize,
        k: usize,
        c0: MatRef<'_, f64>,
        current: f64,
    ) -> Result<Option<f64>> {
        let (key, transposed) = self.key(i, k);
        let (x, y) = (self.prepared(false, key.0), self.prepared(true, key.1));
        let (Some(x), Some(y)) = (x, y) else {
            return Ok(None);
        };
        let c0 = if transposed { c0.transpose() } else { c0 };
        let Some(cmp) = self.procrustes.refine_prepared(x, y, c0)? else {
            return Ok(None);
        };
        let value = if self.dsa.score == Score::Euclidean {
            cmp.euclidean
        } else {
            cmp.angular
        };
        if value < current {
            self.known.insert(key, cmp.c);
            Ok(Some(value))
        } else {
            Ok(None)
        }
    }
}

impl Dsa {
    /// Whether a matrix of this `Dsa`'s score over these operators is a metric to repair:
    /// Procrustes scores on operators of one size.
    fn repairs(&self, ops: impl Iterator<Item = usize>) -> bool {
        if !matches!(self.score, Score::Angular | Score::Euclidean) {
            return false;
        }
        let mut sizes = ops;
        match sizes.next() {
            Some(n) => sizes.all(|m| m == n),
            None => false,
        }
    }

    /// Repairs the triangle inequalities of a pairwise matrix `d` of `ops` (symmetric, zero
    /// diagonal); returns the number of entries lowered.
    pub(super) fn repair_pairwise(
        &self,
        ops: &[MatRef<'_, f64>],
        d: &mut Mat<f64>,
    ) -> Result<usize> {
        let m = ops.len();
        if m < 3 || !self.repairs(ops.iter().map(|a| a.nrows())) {
            return Ok(0);
        }
        let mut al = Alignments::new(self, ops, ops, true);
        let mut repaired = 0;
        for _ in 0..MAX_ROUNDS {
            // every violated pair (i < k) with its shortest detour j, in row order
            let mut found: Vec<(usize, usize, usize)> = Vec::new();
            for i in 0..m {
                for k in i + 1..m {
                    let (mut best, mut via) = (f64::INFINITY, usize::MAX);
                    for j in (0..m).filter(|&j| j != i && j != k) {
                        let s = d[(i, j)] + d[(j, k)];
                        if s < best {
                            (best, via) = (s, j);
                        }
                    }
                    if d[(i, k)] > best + TOLERANCE {
                        found.push((i, k, via));
                    }
                }
            }
            if found.is_empty() {
                break;
            }
            let legs: Vec<(usize, usize)> = found
                .iter()
                .flat_map(|&(i, k, j)| [(i, j), (j, k)])
                .collect();
            al.ensure(&legs)?;
            let mut any = false;
            for (i, k, j) in found {
                // an earlier repair of this round may have fixed it, or lengthened its detour
                if d[(i, k)] <= d[(i, j)] + d[(j, k)] + TOLERANCE {
                    continue;
                }
                let (Some(cij), Some(cjk)) = (al.c(i, j), al.c(j, k)) else {
                    continue;
                };
                let c0 = &cij * &cjk;
                if let Some(v) = al.repair(i, k, c0.as_ref(), d[(i, k)])? {
                    d[(i, k)] = v;
                    d[(k, i)] = v;
                    repaired += 1;
                    any = true;
                }
            }
            if !any {
                break;
            }
        }
        Ok(repaired)
    }

    /// Repairs the detours of a bipartite matrix `d` (rows `a`, columns `b`): `d(i, k) <=
    /// d(i, l) + d(j, l) + d(j, k)`; returns the number of entries lowered.
    pub(super) fn repair_bipartite(
        &self,
        a: &[MatRef<'_, f64>],
        b: &[MatRef<'_, f64>],
        d: &mut Mat<f64>,
    ) -> Result<usize> {
        let (m, k) = (a.len(), b.len());
        if m < 2 || k < 2 || !self.repairs(a.iter().chain(b).map(|x| x.nrows())) {
            return Ok(0);
        }
        let mut al = Alignments::new(self, a, b, false);
        let mut repaired = 0;
        for _ in 0..MAX_ROUNDS {
            // e[(l, c)] = min over rows j of d(j, l) + d(j, c), and the j that attains it
            let mut e = Mat::<f64>::from_fn(k, k, |_, _| f64::INFINITY);
            let mut ej = vec![usize::MAX; k * k];
            for l in 0..k {
                for c in 0..k {
                    if l == c {
                        continue;
                    }
                    for j in 0..m {
                        let s = d[(j, l)] + d[(j, c)];
                        if s < e[(l, c)] {
                            e[(l, c)] = s;
                            ej[l * k + c] = j;
                        }
                    }
                }
            }
            // every violated entry with its shortest detour (l, j), in row order
            let mut found: Vec<(usize, usize, usize, usize)> = Vec::new();
            for i in 0..m {
                for c in 0..k {
                    let (mut best, mut via) = (f64::INFINITY, usize::MAX);
                    for l in (0..k).filter(|&l| l != c) {
                        let s = d[(i, l)] + e[(l, c)];
                        if s < best {
                            (best, via) = (s, l);
                        }
                    }
                    if via != usize::MAX && d[(i, c)] > best + TOLERANCE {
                        let j = ej[via * k + c];
                        if j != i {
                            found.push((i, c, via, j));
                        }
                    }
                }
            }
            if found.is_empty() {
                break;
            }
            let legs: Vec<(usize, usize)> = found
                .iter()
                .flat_map(|&(i, c, l, j)| [(i, l), (j, l), (j, c)])
                .collect();
            al.ensure(&legs)?;
            let mut any = false;
            for (i, c, l, j) in found {
                if d[(i, c)] <= d[(i, l)] + d[(j, l)] + d[(j, c)] + TOLERANCE {
                    continue;
                }
                let (Some(cil), Some(cjl), Some(cjc)) = (al.c(i, l), al.c(j, l), al.c(j, c)) else {
                    continue;
                };
                let c0 = &cil * cjl.transpose() * &cjc;
                if let Some(v) = al.repair(i, c, c0.as_ref(), d[(i, c)])? {
                    d[(i, c)] = v;
                    repaired += 1;
                    any = true;
                }
            }
            if !any {
                break;
            }
        }
        Ok(repaired)
    }
}
