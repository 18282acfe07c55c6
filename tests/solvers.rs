//! Properties that relate the solvers to each other: cd and fista reach the same optimum on
//! random problems; dense and sparse storage give the same fit; results are deterministic;
//! a path warm-starts to the same answers as cold fits.

#![allow(clippy::needless_range_loop)]

mod common;

use common::{random_problem, rel_diff, scale_columns, solve_cpu};
use lariat::design::{Csc, Dense, Design};
use lariat::params::{Algorithm, SolverParams};
use lariat::path::{geometric_grid, solve_path};
use lariat::penalty::ElasticNet;
use lariat::problem::{Preprocess, Problem};
use lariat::solver::{Backend, CpuBackend, Fit, Status};
use lariat::synth::Rng;

/// A seeded property test: 24 random problems (shape, preprocessing, penalty all drawn).
#[test]
fn cd_and_fista_agree_on_random_problems() {
    let mut rng = Rng::new(2024);
    for case in 0..24 {
        let n = 5 + rng.below(60);
        let p = 1 + rng.below(150);
        let (x, y) = random_problem(n, p, 1000 + case);
        let prep = Preprocess {
            fit_intercept: rng.uniform() < 0.7,
            standardize: rng.uniform() < 0.4,
        };
        let pb = Problem::new(&x, &y, prep).unwrap();
        let l1_ratio = if rng.uniform() < 0.5 {
            1.0
        } else {
            0.1 + 0.9 * rng.uniform()
        };
        let lmax = pb.lambda_max(l1_ratio);
        let pen = ElasticNet {
            lambda: lmax * 10f64.powf(-2.0 * rng.uniform() - 0.3),
            l1_ratio,
        };
        let a = solve_cpu(&pb, pen, Algorithm::Cd, 1e-12);
        let b = solve_cpu(&pb, pen, Algorithm::Fista, 1e-12);
        let ctx = format!("case {case}: {n}x{p} {prep:?} {pen:?}");
        assert_eq!(a.status, Status::Converged, "cd {ctx}");
        assert_eq!(b.status, Status::Converged, "fista {ctx}");
        assert!(
            rel_diff(a.objective, b.objective) < 1e-9,
            "{ctx}: {} vs {}",
            a.objective,
            b.objective
        );
        let scale = a.w.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        for j in 0..p {
            assert!(
                (a.w[j] - b.w[j]).abs() < 1e-4 * scale,
                "{ctx}: w[{j}] {} vs {}",
                a.w[j],
                b.w[j]
            );
        }
    }
}

fn to_csc(x: &Dense<f64>, zero_below: f64) -> (Dense<f64>, Csc) {
    let (n, p) = (x.n_rows(), x.n_cols());
    let mut dense = x.as_col_major().to_vec();
    let mut trip = Vec::new();
    for j in 0..p {
        for i in 0..n {
            let v = &mut dense[j * n + i];
            if v.abs() < zero_below {
                *v = 0.0;
            } else {
                trip.push((i as u32, j as u32, *v));
            }
        }
    }
    (
        Dense::from_col_major(n, p, dense),
        Csc::from_triplets(n, p, trip),
    )
}

#[test]
fn dense_and_sparse_storage_give_the_same_fit() {
    let (x, y) = random_problem(40, 90, 77);
    let (dense, sparse) = to_csc(&x, 0.8);
    for prep in [
        Preprocess::default(),
        Preprocess {
            fit_intercept: false,
            standardize: false,
        },
        Preprocess {
            fit_intercept: true,
            standardize: true,
        },
    ] {
        let pd = Problem::new(&dense, &y, prep).unwrap();
        let ps = Problem::new(&sparse, &y, prep).unwrap();
        let pen = ElasticNet {
            lambda: 0.1 * pd.lambda_max(0.8),
            l1_ratio: 0.8,
        };
        assert!(rel_diff(pd.lambda_max(0.8), ps.lambda_max(0.8)) < 1e-12);
        for alg in [Algorithm::Cd, Algorithm::Fista] {
            let a = solve_cpu(&pd, pen, alg, 1e-12);
            let b = solve_cpu(&ps, pen, alg, 1e-12);
            assert!(
                rel_diff(a.objective, b.objective) < 1e-10,
                "{alg:?} {prep:?}"
            );
            for j in 0..90 {
                assert!((a.w[j] - b.w[j]).abs() < 1e-6, "{alg:?} {prep:?} w[{j}]");
            }
        }
    }
}

#[test]
fn cpu_results_are_deterministic_bit_for_bit() {
    let (x, y) = random_problem(60, 3000, 31);
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    let pen = ElasticNet {
        lambda: 0.05 * pb.lambda_max(1.0),
        l1_ratio: 1.0,
    };
    for alg in [Algorithm::Cd, Algorithm::Fista] {
        let a = solve_cpu(&pb, pen, alg, 1e-8);
        let b = solve_cpu(&pb, pen, alg, 1e-8);
        let bits = |f: &Fit| f.w.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b), "{alg:?}");
        assert_eq!(a.objective.to_bits(), b.objective.to_bits());
        assert_eq!(a.n_iter, b.n_iter);
    }
}

#[test]
fn warm_started_path_matches_cold_fits() {
    let (x, y) = random_problem(30, 120, 55);
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    let lambdas = geometric_grid(pb.lambda_max(1.0), 0.01, 12);
    let pens: Vec<ElasticNet> = lambdas
        .iter()
        .map(|&lambda| ElasticNet {
            lambda,
            l1_ratio: 1.0,
        })
        .collect();
    let params = SolverParams {
        tol: 1e-12,
        ..SolverParams::default()
    }
    .check()
    .unwrap();
    let path = solve_path(&pb, &pens, &mut CpuBackend::new(Algorithm::Cd), &params).unwrap();
    assert_eq!(path.len(), 12);
    for (fit, pen) in path.iter().zip(&pens) {
        let cold = solve_cpu(&pb, *pen, Algorithm::Cd, 1e-12);
        assert!(rel_diff(fit.objective, cold.objective) < 1e-8);
    }
    assert!(path[0].w.iter().all(|&v| v == 0.0));
    assert!(path[11].w.iter().filter(|&&v| v != 0.0).count() > 3);
}

#[test]
fn default_grids_follow_glmnet_for_ridge_and_refuse_a_constant_y_unless_told() {
    use lariat::fit::{resolve_grid, GridRule, LambdaGrid};
    let (x, y) = random_problem(30, 50, 77);
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    let grid = LambdaGrid::Geometric {
        n_lambdas: 10,
        min_ratio: None,
        rule: GridRule::Glmnet,
    };
    // glmnet starts a Ridge (or alpha < 1e-3) path where alpha = 1e-3 would: lambda_max(1)
    // scaled by 1000, since lambda_max is inversely proportional to the L1 share.
    let lasso = resolve_grid(&pb, &grid, 1.0).unwrap();
    for l1_ratio in [0.0, 1e-4] {
        let ridge = resolve_grid(&pb, &grid, l1_ratio).unwrap();
        assert_eq!(ridge.len(), 10);
        assert!(rel_diff(ridge[0], 1000.0 * lasso[0]) < 1e-12, "{l1_ratio}");
        assert!(rel_diff(ridge[9], 1e-2 * ridge[0]) < 1e-12);
    }
    // glmnet's lambda.min.ratio: 1e-2 where n < p, 1e-4 where n >= p (n == p included).
    for (p, ratio) in [(31, 1e-2), (30, 1e-4), (29, 1e-4)] {
        let (x, y) = random_problem(30, p, 78);
        let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
        let g = resolve_grid(&pb, &grid, 1.0).unwrap();
        assert!(
            rel_diff(g[9], ratio * g[0]) < 1e-12,
            "p = {p}: {}",
            g[9] / g[0]
        );
    }
    // y constant once centred: no grid, and the error says what to do instead.
    let flat = vec![3.0; 30];
    let pb = Problem::new(&x, &flat, Preprocess::default()).unwrap();
    let err = resolve_grid(&pb, &grid, 1.0).unwrap_err().to_string();
    assert!(
        err.contains("lambda_max is 0") && err.contains("--lambdas"),
        "{err}"
    );
    // scikit-learn's grid instead (the Python estimators ask for it): flat at the given value.
    let flat_grid = LambdaGrid::Geometric {
        n_lambdas: 4,
        min_ratio: None,
        rule: GridRule::ScikitLearn,
    };
    assert_eq!(resolve_grid(&pb, &flat_grid, 1.0).unwrap(), vec![1e-15; 4]);
    // ... only where lambda_max is 0; and scikit-learn's starts at the l1_ratio itself,
    // however small (glmnet's at 1e-3), with none for Ridge.
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    assert_eq!(resolve_grid(&pb, &flat_grid, 1.0).unwrap()[0], lasso[0]);
    let sk = resolve_grid(&pb, &flat_grid, 1e-4).unwrap();
    assert!(rel_diff(sk[0], 1e4 * lasso[0]) < 1e-12, "{}", sk[0]);
    assert!(resolve_grid(&pb, &flat_grid, 0.0).is_err());
}

/// Anderson extrapolation only ever accepts a point that lowers the objective, and the gap
/// still decides: with and without it, paths on correlated designs (where it does the most)
/// reach the same optima, and it sweeps less in all.
#[test]
fn anderson_extrapolation_reaches_the_same_optima_in_fewer_sweeps() {
    let mut sweeps = [0usize; 2];
    for (k, (rho, l1_ratio, standardize)) in
        [(0.9, 1.0, false), (0.7, 0.5, true), (0.95, 0.8, false)]
            .into_iter()
            .enumerate()
    {
        let mut rng = Rng::new(600 + k as u64);
        let x = lariat::synth::toeplitz_design(60, 300, rho, &mut rng).unwrap();
        let mut y = vec![0.0; 60];
        for j in [3, 50, 51, 200] {
            x.col_axpy(j, 1.5, &mut y);
        }
        y.iter_mut().for_each(|v| *v += 0.5 * rng.normal());
        let prep = Preprocess {
            fit_intercept: true,
            standardize,
        };
        let pb = Problem::new(&x, &y, prep).unwrap();
        let pens: Vec<ElasticNet> = geometric_grid(pb.lambda_max(l1_ratio), 0.005, 20)
            .into_iter()
            .map(|lambda| ElasticNet { lambda, l1_ratio })
            .collect();
        let mut paths = Vec::new();
        for (e, extrapolation) in [true, false].into_iter().enumerate() {
            let params = SolverParams {
                tol: 1e-10,
                max_iter: Some(1_000_000),
                algorithm: Algorithm::Cd,
                extrapolation,
                ..SolverParams::default()
            }
            .check()
            .unwrap();
            let path =
                solve_path(&pb, &pens, &mut CpuBackend::new(Algorithm::Cd), &params).unwrap();
            sweeps[e] += path.iter().map(|f| f.n_iter).sum::<usize>();
            paths.push(path);
        }
        for (i, (a, b)) in paths[0].iter().zip(&paths[1]).enumerate() {
            assert_eq!(a.status, Status::Converged);
            assert!(a.gap <= a.gap_tol);
            assert!(
                rel_diff(a.objective, b.objective) < 1e-9,
                "rho {rho} point {i}: {} vs {}",
                a.objective,
                b.objective
            );
        }
    }
    assert!(
        sweeps[0] < sweeps[1],
        "with {} sweeps, without {}",
        sweeps[0],
        sweeps[1]
    );
}

/// Without an intercept, columns on a common offset far above their spread are nearly
/// collinear: X^T X has one eigenvalue of n p offset^2 and the rest near n. Coordinate descent
/// crawls there, and the face step's Newton point, solved as `G z = Xe^T y - n l1 s` with a
/// jitter of 1e-12 of G's mean diagonal, swamped the small eigenvalues: at an offset of 1e6
/// the fit stopped unconverged after 10^6 sweeps (gap 0.72, the objective 40% above the
/// optimum). From about 1e6 the certificate itself reaches f64's floor (the fresh residual's
/// rounding times the offset), so the test stops at 1e5. Optimality is checked here by the subgradient conditions, computed in the test
/// from X itself, not by the solver's gap alone.
#[test]
fn columns_on_a_large_offset_without_an_intercept_converge() {
    let (n, p) = (40, 8);
    let mut rng = Rng::new(1);
    let z: Vec<f64> = (0..n * p).map(|_| rng.normal()).collect();
    let mut y = vec![0.0; n];
    for i in 0..n {
        y[i] = z[i] - 2.0 * z[n + i] + 3.0 * z[2 * n + i] + 0.1 * rng.normal();
    }
    let lambda = 0.1;
    // Before the face step's fix, unconverged at either offset: gaps 2.5e-4 and 0.12.
    for offset in [1e4, 1e5] {
        let data: Vec<f64> = z.iter().map(|v| v + offset).collect();
        let x = Dense::from_col_major(n, p, data.clone());
        let prep = Preprocess {
            fit_intercept: false,
            standardize: false,
        };
        let pb = Problem::new(&x, &y, prep).unwrap();
        let pen = ElasticNet {
            lambda,
            l1_ratio: 1.0,
        };
        // The default tolerance: the fresh residual's rounding, times the offset, leaves the
        // certificate a floor near 1e-8 of ||y||^2 / n at an offset of 1e5.
        let fit = solve_cpu(&pb, pen, Algorithm::Cd, 1e-6);
        assert_eq!(
            fit.status,
            Status::Converged,
            "offset {offset}: gap {} after {} sweeps",
            fit.gap,
            fit.n_iter
        );
        // g_j = x_j^T (y - X w) / n: lambda sign(w_j) on the support, within lambda off it.
        let mut r = y.clone();
        for j in 0..p {
            for i in 0..n {
                r[i] -= data[j * n + i] * fit.w[j];
            }
        }
        for j in 0..p {
            let g = (0..n).map(|i| data[j * n + i] * r[i]).sum::<f64>() / n as f64;
            let off = if fit.w[j] == 0.0 {
                (g.abs() - lambda).max(0.0)
            } else {
                (g - lambda * fit.w[j].signum()).abs()
            };
            assert!(
                off < 1e-3 * lambda,
                "offset {offset}, column {j}: g {g}, w {}",
                fit.w[j]
            );
        }
    }
}

/// Past the interpolation threshold (80 rows, 1500 columns, lambda down to lambda_max / 1000)
/// the active set is nearly as large as the rows and coordinate descent alone crawls: at
/// tol 1e-10 its worst lambda took 2,588 sweeps. With the Newton step on the active set's face
/// every lambda converges in under 1000, Lasso and Elastic Net, with and without intercept;
/// the certified gap is the proof of each answer, and the Lasso's objectives equal FISTA's.
#[test]
fn a_path_past_the_interpolation_threshold_converges_in_few_sweeps() {
    let (n, p) = (80, 1500);
    let mut rng = Rng::new(5);
    let data: Vec<f64> = (0..n * p).map(|_| rng.normal()).collect();
    let x = Dense::from_col_major(n, p, data);
    let mut beta = vec![0.0; p];
    (0..20).for_each(|j| beta[j] = 2.0 * rng.normal());
    let mut y = vec![0.0; n];
    x.matvec(&beta, &mut y);
    y.iter_mut().for_each(|v| *v += 0.5 * rng.normal());
    let params = |max_iter| {
        SolverParams {
            tol: 1e-10,
            max_iter: Some(max_iter),
            algorithm: Algorithm::Cd,
            ..SolverParams::default()
        }
        .check()
        .unwrap()
    };
    for (l1_ratio, fit_intercept) in [(1.0, true), (0.7, false)] {
        let prep = Preprocess {
            fit_intercept,
            standardize: false,
        };
        let pb = Problem::new(&x, &y, prep).unwrap();
        let pens: Vec<ElasticNet> = geometric_grid(pb.lambda_max(l1_ratio), 1e-3, 50)
            .into_iter()
            .map(|lambda| ElasticNet { lambda, l1_ratio })
            .collect();
        let mut cd = CpuBackend::new(Algorithm::Cd);
        let fits = solve_path(&pb, &pens, &mut cd, &params(1000)).unwrap();
        for (k, f) in fits.iter().enumerate() {
            assert_eq!(
                f.status,
                Status::Converged,
                "lambda {k}: {} sweeps",
                f.n_iter
            );
            assert!(f.gap <= f.gap_tol);
        }
        let last = fits.last().unwrap();
        assert!(
            last.w.iter().filter(|&&v| v != 0.0).count() > n / 2,
            "saturated"
        );
        if l1_ratio == 1.0 {
            let fista = solve_cpu(&pb, *pens.last().unwrap(), Algorithm::Fista, 1e-10);
            assert!((fista.objective - last.objective).abs() <= fista.gap + last.gap);
        }
    }
}

/// The iteration cap is a cap: a solve that cannot converge (a tolerance below f64's reach)
/// stops at exactly `max_iter` sweeps, the face steps and extrapolations counted with them.
#[test]
fn a_solve_never_runs_past_its_iteration_cap() {
    for seed in 0..4 {
        let (x, y) = random_problem(30, 80, 40 + seed);
        let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
        for (l1_ratio, ratio) in [(1.0, 1e-3), (0.5, 1e-4), (1e-2, 1e-2)] {
            let pen = ElasticNet {
                lambda: ratio * pb.lambda_max(l1_ratio),
                l1_ratio,
            };
            for max_iter in 1..=40 {
                let params = SolverParams {
                    tol: 1e-30,
                    max_iter: Some(max_iter),
                    algorithm: Algorithm::Cd,
                    ..SolverParams::default()
                }
                .check()
                .unwrap();
                let fit = CpuBackend::new(Algorithm::Cd)
                    .solve(&pb, &pen, None, &params)
                    .unwrap();
                assert!(
                    fit.n_iter <= max_iter,
                    "seed {seed} l1_ratio {l1_ratio}: {} > {max_iter}",
                    fit.n_iter
                );
            }
        }
    }
}

/// A column whose squares fall below f64's normal range is handled as a zero column: exactly
/// right where it cannot enter the model on the grid (the fit equals the fit without it),
/// refused where it could (a gap that cannot see it would certify a wrong answer), and a
/// constant column of tiny values, or one constant up to rounding, is a constant column.
#[test]
fn columns_below_f64s_range_are_zero_where_exact_and_refused_where_not() {
    use lariat::fit::{fit, FitConfig, LambdaSpec};
    let (x, y) = random_problem(30, 3, 79);
    let col = |j: usize| x.col(j).to_vec();
    let with = |extra: &[f64]| {
        let mut v: Vec<f64> = (0..3).flat_map(col).collect();
        v.extend_from_slice(extra);
        Dense::from_col_major(30, 4, v)
    };
    let tiny: Vec<f64> = col(0).iter().map(|v| v * 1e-200).collect();
    let cfg = |lambda, standardize| FitConfig {
        lambda,
        preprocess: Preprocess {
            fit_intercept: true,
            standardize,
        },
        ..FitConfig::default()
    };
    let alone = fit(&x, &y, None, &cfg(LambdaSpec::Ratio(0.1), false)).unwrap();
    let both = fit(&with(&tiny), &y, None, &cfg(LambdaSpec::Ratio(0.1), false)).unwrap();
    assert_eq!(both.model.coef.indices, alone.model.coef.indices);
    assert_eq!(both.model.coef.values, alone.model.coef.values);
    // At a lambda as small as its correlations it could enter: refused, by name.
    let err = fit(
        &with(&tiny),
        &y,
        None,
        &cfg(LambdaSpec::Value(1e-205), false),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("column 3 of X underflows f64"), "{err}");
    // Standardized, a subnormal scale would blow the column up: refused too.
    let subnormal: Vec<f64> = col(0).iter().map(|v| v * 1e-310).collect();
    let err = fit(
        &with(&subnormal),
        &y,
        None,
        &cfg(LambdaSpec::Ratio(0.1), true),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("column 3 of X underflows f64"), "{err}");
    // Constant, exactly or up to rounding: a constant column, whatever its size.
    for c in [3e-200, 3e-151] {
        let mut constant = vec![c; 30];
        constant[7] = c * (1.0 + f64::EPSILON);
        for standardize in [false, true] {
            let out = fit(
                &with(&constant),
                &y,
                None,
                &cfg(LambdaSpec::Value(1e-205), standardize),
            );
            assert!(out.is_ok(), "{c} {standardize}: {:?}", out.err());
        }
    }
}

/// CPU FISTA is Jacobi-preconditioned (`fista::jacobi`): on columns scaled by 10^-2 .. 10^2
/// it takes about the iterations of the same columns standardized and reaches coordinate
/// descent's optimum, for the Lasso, the Elastic Net and Ridge (1000 x 200 from the CLI,
/// unpreconditioned: 100,000 iterations unconverged for a Lasso that now takes 90).
#[test]
fn fista_does_not_mind_how_the_columns_are_scaled() {
    let (n, p) = (150, 50);
    let (x, y) = random_problem(n, p, 77);
    let x = scale_columns(&x, (-2.0, 2.0));
    for l1_ratio in [1.0, 0.5, 0.0] {
        let mut iterations = Vec::new();
        for standardize in [false, true] {
            let prep = Preprocess {
                fit_intercept: true,
                standardize,
            };
            let pb = Problem::new(&x, &y, prep).unwrap();
            let lambda = if l1_ratio > 0.0 {
                0.05 * pb.lambda_max(l1_ratio)
            } else {
                0.01
            };
            let pen = ElasticNet { lambda, l1_ratio };
            let cd = solve_cpu(&pb, pen, Algorithm::Cd, 1e-10);
            let fista = solve_cpu(&pb, pen, Algorithm::Fista, 1e-10);
            let ctx = format!("l1_ratio {l1_ratio}, standardize {standardize}");
            assert_eq!(fista.status, Status::Converged, "{ctx}");
            assert!(
                rel_diff(cd.objective, fista.objective) < 1e-8,
                "{ctx}: {} vs {}",
                cd.objective,
                fista.objective
            );
            iterations.push(fista.n_iter);
        }
        let (raw, standardized) = (iterations[0], iterations[1]);
        eprintln!("l1_ratio {l1_ratio}: FISTA iterations raw {raw}, standardized {standardized}");
        assert!(
            raw <= 3 * standardized.max(20),
            "l1_ratio {l1_ratio}: {raw} iterations on scaled columns, {standardized} standardized"
        );
    }
}
