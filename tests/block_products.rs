//! The block product `Xe_c^T r_c` for k problems at once (CV folds, responses), the CPU's
//! shared pass, against sums written out here one product at a time: every storage, every
//! register-group width (k from 1 to 35, odd and even n), f32 and f64, all preprocessings of
//! fold problems, a large-mean column, a constant column.

mod common;

use std::sync::Arc;

use common::random_problem;
use lariat::design::{dot_block, Columns, Csc, Dense, Design, RowBlock};
use lariat::problem::{rmatmat, ColumnStats, Preprocess, Problem};

/// A deterministic pseudo-random sequence in [-1, 1).
fn noise(seed: u64, len: usize) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect()
}

/// `sum_i (x_i - m) v_i`, term by term, and the sum of the terms' magnitudes (the scale of
/// its rounding error).
fn reference(x: &[f64], v: &[f64], m: f64) -> (f64, f64) {
    x.iter().zip(v).fold((0.0, 0.0), |(s, a), (xi, vi)| {
        (s + (xi - m) * vi, a + ((xi - m) * vi).abs())
    })
}

/// The non-zeros of the column-major `n x p` `data` in sparse storage.
fn sparse_copy(n: usize, p: usize, data: &[f64]) -> Csc {
    let trip: Vec<(u32, u32, f64)> = (0..p)
        .flat_map(|j| (0..n).map(move |i| (i, j)))
        .filter(|&(i, j)| data[j * n + i] != 0.0)
        .map(|(i, j)| (i as u32, j as u32, data[j * n + i]))
        .collect();
    Csc::from_triplets(n, p, trip)
}

fn vectors(n: usize, k: usize, seed: u64) -> Vec<Vec<f64>> {
    (0..k).map(|c| noise(seed + c as u64, n)).collect()
}

#[test]
fn dot_block_matches_single_sums_at_every_width() {
    for n in [1usize, 2, 7, 60, 61] {
        let x = noise(n as u64, n);
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        for k in 1..=35 {
            let vs = vectors(n, k, 100 + k as u64);
            let refs: Vec<&[f64]> = vs.iter().map(|v| v.as_slice()).collect();
            let block = RowBlock::new(&refs);
            assert_eq!(block.k(), k);
            let m = 0.25;
            let mut out = vec![f64::NAN; k];
            dot_block(&x, &block, m, &mut out);
            let mut out32 = vec![f64::NAN; k];
            dot_block(&x32, &block, m, &mut out32);
            let x32_as_f64: Vec<f64> = x32.iter().map(|&v| v as f64).collect();
            for c in 0..k {
                let (want, scale) = reference(&x, &vs[c], m);
                assert!(
                    (out[c] - want).abs() <= 1e-14 * scale.max(1e-300),
                    "n {n} k {k} c {c}: {} vs {want}",
                    out[c]
                );
                let (want32, scale32) = reference(&x32_as_f64, &vs[c], m);
                assert!(
                    (out32[c] - want32).abs() <= 1e-14 * scale32.max(1e-300),
                    "f32 n {n} k {k} c {c}"
                );
            }
        }
    }
}

#[test]
fn every_storage_gives_the_same_block_products() {
    let (n, p) = (23usize, 9usize);
    // Dense with some exact zeros, so the sparse copy has structure.
    let mut data = noise(7, n * p);
    data.iter_mut().step_by(3).for_each(|v| *v = 0.0);
    let dense = Dense::from_col_major(n, p, data.clone());
    let sparse = sparse_copy(n, p, &data);
    let cols = Columns::new(&dense, (0..p).rev().collect());
    for k in [1usize, 3, 5, 11, 17] {
        let vs = vectors(n, k, 40 + k as u64);
        let refs: Vec<&[f64]> = vs.iter().map(|v| v.as_slice()).collect();
        let block = RowBlock::new(&refs);
        let vsums: Vec<f64> = vs.iter().map(|v| v.iter().sum()).collect();
        for j in 0..p {
            let col = &data[j * n..(j + 1) * n];
            let m = col.iter().sum::<f64>() / n as f64;
            let mut got = [vec![0.0; k], vec![0.0; k], vec![0.0; k]];
            dense.col_dot_block(j, &block, m, &vsums, &mut got[0]);
            sparse.col_dot_block(j, &block, m, &vsums, &mut got[1]);
            cols.col_dot_block(p - 1 - j, &block, m, &vsums, &mut got[2]);
            for c in 0..k {
                let (want, scale) = reference(col, &vs[c], m);
                for (s, g) in ["dense", "sparse", "columns"].iter().zip(&got) {
                    assert!(
                        (g[c] - want).abs() <= 1e-13 * scale,
                        "{s} k {k} j {j} c {c}: {} vs {want}",
                        g[c]
                    );
                }
            }
        }
    }
}

/// Fold problems (a row mask each, their own means and scales) and the full-data problem:
/// the shared pass equals each problem's own pass, on dense and sparse storage.
#[test]
fn the_shared_pass_equals_each_problems_own_pass() {
    let (n, p) = (50usize, 40usize);
    let (x0, y) = random_problem(n, p, 3);
    // Column 0: a large mean (cancellation if the product were taken uncentred); column 1:
    // constant (dead once centred); column 2: zero on most rows; a third of the others' entries
    // zero, so the sparse copy has structure.
    let mut data: Vec<f64> = (0..p).flat_map(|j| x0.col(j).to_vec()).collect();
    for i in 0..n {
        data[i] += 1e6;
        data[n + i] = 3.0;
        data[2 * n + i] = if i % 9 == 0 { 1.0 } else { 0.0 };
        for j in 3..p {
            if (i + j) % 3 == 0 {
                data[j * n + i] = 0.0;
            }
        }
    }
    let dense = Dense::from_col_major(n, p, data.clone());
    let sparse = sparse_copy(n, p, &data);
    let col = |j: usize| &data[j * n..(j + 1) * n];
    // Dense columns are centred before the product; sparse ones subtract `m 1^T r` after it
    // (to stay O(nnz)), so their rounding scales with the uncentred column.
    shared_pass_case(&dense, &col, &y, true);
    shared_pass_case(&sparse, &col, &y, false);
}

fn shared_pass_case<'d>(
    x: &dyn Design,
    col: &dyn Fn(usize) -> &'d [f64],
    y: &[f64],
    centred_storage: bool,
) {
    let (n, p) = (x.n_rows(), x.n_cols());
    let folds: Vec<usize> = (0..n).map(|i| (i * 7) % 5).collect();
    for prep in Preprocess::ALL {
        let stats: Vec<Arc<ColumnStats>> = ColumnStats::for_folds(x, prep, &folds)
            .unwrap()
            .into_iter()
            .map(Arc::new)
            .collect();
        let problems: Vec<Problem> = stats
            .iter()
            .map(|s| Problem::with_stats(x, Arc::clone(s), y).unwrap())
            .collect();
        // Vectors zero off each problem's rows (problem 0: all rows; 1 + f: all but fold f),
        // with a non-zero sum, so that each problem's own centring shows.
        let rs: Vec<Vec<f64>> = (0..problems.len())
            .map(|c| {
                let v = noise(90 + c as u64, n);
                (0..n)
                    .map(|i| {
                        if c > 0 && folds[i] == c - 1 {
                            0.0
                        } else {
                            v[i] + 0.5
                        }
                    })
                    .collect()
            })
            .collect();
        for k in [1usize, 2, problems.len()] {
            let pbs: Vec<&Problem> = problems[..k].iter().collect();
            let r_refs: Vec<&[f64]> = rs[..k].iter().map(|r| r.as_slice()).collect();
            let mut gs = vec![vec![f64::NAN; p]; k];
            let mut outs: Vec<&mut [f64]> = gs.iter_mut().map(|g| g.as_mut_slice()).collect();
            rmatmat(&pbs, &r_refs, &mut outs);
            for c in 0..k {
                let mut own = vec![0.0; p];
                problems[c].rmatvec(&rs[c], &mut own);
                for j in 0..p {
                    // The rounding scale of the product, entry by entry.
                    let scale: f64 = (0..n)
                        .map(|i| {
                            let m = problems[c].x_mean()[j];
                            let x = if centred_storage {
                                (col(j)[i] - m).abs()
                            } else {
                                col(j)[i].abs() + m.abs()
                            };
                            x * rs[c][i].abs() / problems[c].x_scale()[j]
                        })
                        .sum();
                    assert!(
                        (gs[c][j] - own[j]).abs() <= 1e-12 * scale.max(1e-300),
                        "{} {prep:?} k {k} problem {c} column {j}: {} vs {}",
                        x.describe(),
                        gs[c][j],
                        own[j]
                    );
                }
                if prep.fit_intercept {
                    assert_eq!(gs[c][1], 0.0, "the constant column is dead once centred");
                }
            }
        }
    }
}
