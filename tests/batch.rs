//! Batched solves (CV folds, many responses) against independent solves: a fold's problem, a
//! 0/1 row mask over the full X, must equal the problem built from a copy of its training rows;
//! a batch advanced with shared block passes must make each problem's own iterates; a
//! finished problem adds no passes.

mod common;

use std::sync::Arc;

use common::{random_problem, rel_diff};
use lariat::design::{Dense, Design};
use lariat::params::{Algorithm, SolverParams, ValidParams};
use lariat::path::{geometric_grid, solve_path, solve_paths};
use lariat::penalty::ElasticNet;
use lariat::problem::{ColumnStats, Preprocess, Problem};
use lariat::solver::{CpuBackend, Fit, Status};

const PREPS: [Preprocess; 4] = Preprocess::ALL;

fn params(tol: f64) -> ValidParams {
    SolverParams {
        tol,
        max_iter: Some(1_000_000),
        algorithm: Algorithm::Cd,
        ..SolverParams::default()
    }
    .check()
    .unwrap()
}

/// Folds 0..k assigned round-robin after a fixed shuffle.
fn fold_labels(n: usize, k: usize) -> Vec<usize> {
    (0..n).map(|i| (i * 7 + i / 3) % k).collect()
}

/// The rows of `x` and `y` where `keep`, copied.
fn copy_rows(x: &Dense<f64>, y: &[f64], keep: &[bool]) -> (Dense<f64>, Vec<f64>) {
    let rows: Vec<usize> = (0..y.len()).filter(|&i| keep[i]).collect();
    let mut data = Vec::with_capacity(rows.len() * x.n_cols());
    for j in 0..x.n_cols() {
        data.extend(rows.iter().map(|&i| x.col(j)[i]));
    }
    let ys = rows.iter().map(|&i| y[i]).collect();
    (Dense::from_col_major(rows.len(), x.n_cols(), data), ys)
}

/// Penalties for a short path: Lasso and Elastic Net from lambda_max down, Ridge explicit.
fn penalties(pb: &Problem, l1_ratio: f64) -> Vec<ElasticNet> {
    let top = if l1_ratio > 0.0 {
        pb.lambda_max(l1_ratio)
    } else {
        pb.lambda_max(1.0) * 10.0
    };
    geometric_grid(top, 0.05, 6)
        .into_iter()
        .map(|lambda| ElasticNet { lambda, l1_ratio })
        .collect()
}

/// A fold's column statistics equal those of a copy of its training rows also where the held-out
/// rows hold (nearly) all of a column's spread: a sparse column whose only non-zero is held
/// out (all zero on the training rows: a zero column there), and a column of 1e-36 on the
/// training rows but O(1) on the held-out ones (a real, tiny spread there). Taken by
/// subtraction from the whole column's moments, both are lost in the rounding of the whole.
#[test]
fn fold_statistics_survive_a_fold_holding_a_columns_spread() {
    let n = 30;
    let labels = fold_labels(n, 3);
    let (z, y) = random_problem(n, 4, 9);
    let mut data = Vec::new();
    for (c, v) in [0.37, 1e5, -3.3e-7].into_iter().enumerate() {
        let mut col = vec![0.0; n];
        col[c * 7 + 1] = v;
        data.extend(col);
    }
    data.extend((0..n).map(|i| {
        if labels[i] == 1 {
            z.col(0)[i]
        } else {
            1e-36 * z.col(1)[i]
        }
    }));
    data.extend_from_slice(z.col(2));
    let x = Dense::from_col_major(n, 5, data);
    for prep in PREPS {
        let stats = ColumnStats::for_folds(&x, prep, &labels).unwrap();
        for (f, st) in stats.into_iter().enumerate().skip(1) {
            let keep: Vec<bool> = labels.iter().map(|&l| l != f - 1).collect();
            let (xs, ys) = copy_rows(&x, &y, &keep);
            let copied = Problem::new(&xs, &ys, prep).unwrap();
            let masked = Problem::with_stats(&x, Arc::new(st), &y).unwrap();
            for j in 0..5 {
                let what = format!("{prep:?} fold {f} column {j}");
                let (a, b) = (masked.col_sq_norms()[j], copied.col_sq_norms()[j]);
                assert_eq!(a == 0.0, b == 0.0, "{what}: {a:e} vs {b:e}");
                assert!(a == b || rel_diff(a, b) < 1e-10, "{what}: {a:e} vs {b:e}");
                let (sa, sb) = (masked.x_scale()[j], copied.x_scale()[j]);
                assert!(
                    b == 0.0 || rel_diff(sa, sb) < 1e-10,
                    "{what}: {sa:e} vs {sb:e}"
                );
                let (ma, mb) = (masked.x_mean()[j], copied.x_mean()[j]);
                assert!(
                    (ma - mb).abs() <= 1e-12 * mb.abs().max(1e-300),
                    "{what}: {ma:e} vs {mb:e}"
                );
            }
        }
    }
}

#[test]
fn a_fold_is_the_problem_of_its_training_rows() {
    let (mut x, y) = random_problem(41, 70, 3);
    // A column constant on one fold's training rows but not overall, and a constant one.
    let labels = fold_labels(41, 4);
    let mut data = x.as_col_major().to_vec();
    for i in 0..41 {
        data[5 * 41 + i] = if labels[i] == 2 { 3.0 } else { 1.5 };
        data[9 * 41 + i] = 2.5;
    }
    x = Dense::from_col_major(41, 70, data);
    for prep in PREPS {
        let stats = ColumnStats::for_folds(&x, prep, &labels).unwrap();
        assert_eq!(stats.len(), 5);
        for (f, st) in stats.into_iter().enumerate().skip(1) {
            let keep: Vec<bool> = labels.iter().map(|&l| l != f - 1).collect();
            let (xs, ys) = copy_rows(&x, &y, &keep);
            let copied = Problem::new(&xs, &ys, prep).unwrap();
            let masked = Problem::with_stats(&x, Arc::new(st), &y).unwrap();
            assert_eq!(masked.n(), copied.n());
            for j in 0..70 {
                let what = format!("{prep:?} fold {f} column {j}");
                assert!(
                    (masked.x_mean()[j] - copied.x_mean()[j]).abs() < 1e-12,
                    "{what}"
                );
                assert!(
                    rel_diff(masked.x_scale()[j], copied.x_scale()[j]) < 1e-12,
                    "{what}"
                );
                let (a, b) = (masked.col_sq_norms()[j], copied.col_sq_norms()[j]);
                assert!(
                    rel_diff(a, b) < 1e-10 || (a == 0.0) == (b == 0.0) && a.max(b) < 1e-20,
                    "{what}: {a:e} vs {b:e}"
                );
                assert_eq!(a == 0.0, b == 0.0, "{what}: {a} vs {b}");
            }
            if prep.fit_intercept {
                assert_eq!(masked.col_sq_norms()[9], 0.0, "constant everywhere");
                if f - 1 == 2 {
                    assert_eq!(masked.col_sq_norms()[5], 0.0, "constant on fold 2's rows");
                } else {
                    assert!(masked.col_sq_norms()[5] > 0.0);
                }
            }
            for l1_ratio in [1.0, 0.5, 0.0] {
                for pen in penalties(&copied, l1_ratio) {
                    let solve = |pb: &Problem| {
                        let mut be = CpuBackend::new(Algorithm::Cd);
                        solve_path(pb, &[pen], &mut be, &params(1e-13))
                            .unwrap()
                            .remove(0)
                    };
                    let (a, b) = (solve(&masked), solve(&copied));
                    assert_eq!(a.status, Status::Converged);
                    assert!(
                        rel_diff(a.objective, b.objective) < 1e-10,
                        "{prep:?} fold {f} {pen:?}: {} vs {}",
                        a.objective,
                        b.objective
                    );
                    let (ca, ia) = masked.unscale(&a.w);
                    let (cb, ib) = copied.unscale(&b.w);
                    assert!(
                        (ia - ib).abs() < 1e-6 * (1.0 + ib.abs()),
                        "{prep:?} intercept"
                    );
                    let diff = ca
                        .iter()
                        .zip(&cb)
                        .map(|(u, v)| (u - v).abs())
                        .fold(0.0, f64::max);
                    assert!(diff < 1e-5, "{prep:?} fold {f} {pen:?}: coef diff {diff}");
                }
            }
        }
    }
}

/// Solves the paths of `problems` on one grid as one batch; returns each problem's fits.
fn batch(problems: &[&Problem], pens: &[ElasticNet]) -> Vec<Vec<Fit>> {
    let grids: Vec<Vec<ElasticNet>> = problems.iter().map(|_| pens.to_vec()).collect();
    batch_on(problems, &grids)
}

/// Solves the paths of `problems`, each on its own grid, as one batch.
fn batch_on(problems: &[&Problem], grids: &[Vec<ElasticNet>]) -> Vec<Vec<Fit>> {
    let mut out: Vec<Vec<Fit>> = problems.iter().map(|_| Vec::new()).collect();
    let mut be = CpuBackend::new(Algorithm::Cd);
    let grids: Vec<&[ElasticNet]> = grids.iter().map(Vec::as_slice).collect();
    solve_paths(
        problems,
        &grids,
        &mut be,
        &params(1e-10),
        &mut |_, _| {},
        &mut |i, _, f| out[i].push(f.clone()),
    )
    .unwrap();
    out
}

fn assert_same_solves(
    batched: &[Vec<Fit>],
    problems: &[&Problem],
    pens: &[ElasticNet],
    what: &str,
) {
    for (i, pb) in problems.iter().enumerate() {
        let alone = solve_path(
            pb,
            pens,
            &mut CpuBackend::new(Algorithm::Cd),
            &params(1e-10),
        )
        .unwrap();
        for (k, (a, b)) in batched[i].iter().zip(&alone).enumerate() {
            assert!(
                rel_diff(a.objective, b.objective) < 1e-10,
                "{what} problem {i} lambda {k}"
            );
            assert_eq!(a.status, b.status, "{what} problem {i} lambda {k}");
            // Each problem makes its own iterates, and pays for its own passes only.
            assert_eq!(
                a.full_passes, b.full_passes,
                "{what} problem {i} lambda {k}"
            );
            assert_eq!(a.n_iter, b.n_iter, "{what} problem {i} lambda {k}");
        }
    }
}

#[test]
fn batched_folds_equal_independent_solves() {
    let (x, y) = random_problem(36, 90, 11);
    let labels = fold_labels(36, 5);
    for prep in PREPS {
        let problems: Vec<Problem> = ColumnStats::for_folds(&x, prep, &labels)
            .unwrap()
            .into_iter()
            .map(|s| Problem::with_stats(&x, Arc::new(s), &y).unwrap())
            .collect();
        let refs: Vec<&Problem> = problems.iter().collect();
        for l1_ratio in [1.0, 0.5, 0.0] {
            let pens = penalties(&problems[0], l1_ratio);
            let what = format!("{prep:?} l1_ratio {l1_ratio}");
            assert_same_solves(&batch(&refs, &pens), &refs, &pens, &what);
        }
    }
}

#[test]
fn batched_responses_share_one_set_of_statistics() {
    let (x, y) = random_problem(30, 80, 21);
    let stats = Arc::new(ColumnStats::new(&x, PREPS[1]).unwrap());
    // Four responses: y, a rescaled y, one from other features, and pure noise.
    let mut rng = lariat::synth::Rng::new(5);
    let mut y3 = vec![0.0; 30];
    x.col_axpy(40, 1.5, &mut y3);
    x.col_axpy(3, -0.7, &mut y3);
    let ys: Vec<Vec<f64>> = vec![
        y.clone(),
        y.iter().map(|v| 3.0 * v - 1.0).collect(),
        y3,
        (0..30).map(|_| rng.normal()).collect(),
    ];
    let problems: Vec<Problem> = ys
        .iter()
        .map(|y| Problem::with_stats(&x, Arc::clone(&stats), y).unwrap())
        .collect();
    let refs: Vec<&Problem> = problems.iter().collect();
    for l1_ratio in [1.0, 0.3] {
        // One grid for all (each response's own lambda_max differs: the noise finishes first).
        let pens = penalties(&problems[0], l1_ratio);
        let batched = batch(&refs, &pens);
        assert_same_solves(
            &batched,
            &refs,
            &pens,
            &format!("responses l1_ratio {l1_ratio}"),
        );
        // Each response on its own grid (from its own lambda_max), in one batch.
        let grids: Vec<Vec<ElasticNet>> = refs.iter().map(|pb| penalties(pb, l1_ratio)).collect();
        let own = batch_on(&refs, &grids);
        for (i, pb) in refs.iter().enumerate() {
            assert_same_solves(&own[i..=i], &[*pb], &grids[i], &format!("own grid {i}"));
        }
        // Independent Problem::new on each response gives the same answer too.
        for (i, yi) in ys.iter().enumerate() {
            let own = Problem::new(&x, yi, PREPS[1]).unwrap();
            let alone = solve_path(
                &own,
                &pens,
                &mut CpuBackend::new(Algorithm::Cd),
                &params(1e-10),
            )
            .unwrap();
            for (a, b) in batched[i].iter().zip(&alone) {
                assert!(rel_diff(a.objective, b.objective) < 1e-10);
            }
        }
    }
}

#[test]
fn a_finished_problem_adds_no_passes() {
    // A response that is pure noise is all-zero from the first lambdas on (zero is proven
    // optimal without a pass); a real one needs many passes. In a batch, the noise must cost
    // exactly what it costs alone.
    let (x, y) = random_problem(40, 120, 8);
    let stats = Arc::new(ColumnStats::new(&x, Preprocess::default()).unwrap());
    let noise: Vec<f64> = y
        .iter()
        .enumerate()
        .map(|(i, _)| if i % 2 == 0 { 1e-9 } else { -1e-9 })
        .collect();
    let a = Problem::with_stats(&x, Arc::clone(&stats), &y).unwrap();
    let b = Problem::with_stats(&x, Arc::clone(&stats), &noise).unwrap();
    let pens = penalties(&a, 1.0);
    let fits = batch(&[&a, &b], &pens);
    let passes = |f: &[Fit]| f.iter().map(|f| f.full_passes).sum::<usize>();
    assert!(
        passes(&fits[0]) >= pens.len() - 1,
        "the real response works"
    );
    assert_eq!(
        passes(&fits[1]),
        0,
        "zero is proven optimal at every lambda without a pass"
    );
    assert!(fits[1].iter().all(|f| f.w.iter().all(|&v| v == 0.0)));
}

#[test]
fn many_responses_in_fit_path_and_cv_equal_one_at_a_time() {
    use lariat::cv::{cross_validate, cross_validate_responses, Folds};
    use lariat::fit::{fit_path, fit_paths_with_progress, FitConfig, GridRule, LambdaGrid};
    let (x, y) = random_problem(45, 60, 17);
    let mut rng = lariat::synth::Rng::new(2);
    let y2: Vec<f64> = y.iter().map(|v| -0.5 * v + rng.normal()).collect();
    let ys: Vec<&[f64]> = vec![&y, &y2];
    let cfg = FitConfig {
        solver: SolverParams {
            tol: 1e-10,
            ..SolverParams::default()
        },
        preprocess: PREPS[1],
        l1_ratio: 0.7,
        device: lariat::solver::BackendKind::Cpu,
        ..FitConfig::default()
    };
    let grid = LambdaGrid::Geometric {
        n_lambdas: 12,
        min_ratio: Some(0.05),
        rule: GridRule::Glmnet,
    };
    let paths = fit_paths_with_progress(&x, &ys, None, &cfg, &grid, &mut |_, _| {}).unwrap();
    let folds = Folds::random(45, 5, 9).unwrap();
    let cvs = cross_validate_responses(&x, &ys, None, &cfg, &grid, &folds, &mut |_, _| {}).unwrap();
    for (r, y) in ys.iter().enumerate() {
        let alone = fit_path(&x, y, None, &cfg, &grid).unwrap();
        // Each response has its own grid, from its own lambda_max.
        assert_eq!(paths[r].lambdas, alone.lambdas);
        for (a, b) in paths[r].models.iter().zip(&alone.models) {
            assert!(rel_diff(a.objective, b.objective) < 1e-10, "response {r}");
            assert_eq!(a.coef.indices, b.coef.indices, "response {r}");
        }
        let cv = cross_validate(&x, y, None, &cfg, &grid, &folds, &mut |_, _| {}).unwrap();
        assert_eq!(cvs[r].lambdas(), cv.lambdas());
        for (a, b) in cvs[r].cvm.iter().zip(&cv.cvm) {
            assert!(rel_diff(*a, *b) < 1e-10, "response {r}: cvm {a} vs {b}");
        }
        assert_eq!(
            (cvs[r].index_min, cvs[r].index_1se),
            (cv.index_min, cv.index_1se)
        );
    }
    assert_ne!(paths[0].lambdas, paths[1].lambdas);
}
