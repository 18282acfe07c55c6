//! Property test: random small problems (sizes, intercept, standardization, l1_ratio,
//! duplicated and constant columns), the GPU (lavapipe in CI) against the f64 CPU solver. The
//! GPU's answer must be certified (converged, its own gap within the tolerance, as a full f64
//! pass computes it) and its objective must match the CPU optimum within the two gaps.

#![cfg(feature = "gpu")]

mod common;

use common::{assert_gap_is_full_pass, gpu_or_skip, random_problem, solve_cpu};
use lariat::design::{Dense, Design};
use lariat::params::{Algorithm, SolverParams};
use lariat::path::solve_path;
use lariat::penalty::ElasticNet;
use lariat::problem::{Preprocess, Problem};
use lariat::solver::gpu::GpuOptions;
use lariat::solver::Status;
use proptest::prelude::*;

/// `x` with column `dup` copied onto column `dup + 1` and column `constant` set to 3.
fn with_special_columns(x: &Dense<f64>, dup: usize, constant: usize) -> Dense<f64> {
    let (n, p) = (x.n_rows(), x.n_cols());
    let mut data = x.as_col_major().to_vec();
    for i in 0..n {
        data[(dup + 1) * n + i] = data[dup * n + i];
        data[constant * n + i] = 3.0;
    }
    Dense::from_col_major(n, p, data)
}

#[test]
fn gpu_and_cpu_reach_the_same_optimum() {
    use proptest::test_runner::{Config, TestRunner};
    let Some(gpu) = gpu_or_skip(GpuOptions::default()) else {
        return;
    };
    // The runner's closure is `Fn`; the backend is used by one case at a time.
    let gpu = std::cell::RefCell::new(gpu);
    let strategy = (
        (8usize..40, 4usize..80, 0u64..1000),
        (any::<bool>(), any::<bool>()),
        (
            prop_oneof![Just(1.0), Just(0.5), 0.05f64..1.0],
            0.05f64..1.2,
        ),
    );
    // One device for every case (opening one costs more than a case).
    let mut runner = TestRunner::new(Config {
        cases: 24,
        ..Config::default()
    });
    runner
        .run(
            &strategy,
            |((n, p, seed), (fit_intercept, standardize), (l1_ratio, ratio))| {
                let (x, y) = random_problem(n, p, seed);
                let x = with_special_columns(&x, seed as usize % (p - 2), p - 1);
                let prep = Preprocess {
                    fit_intercept,
                    standardize,
                };
                let pb = Problem::new(&x, &y, prep).unwrap();
                let lmax = pb.lambda_max(l1_ratio);
                prop_assume!(lmax > 0.0);
                let pen = ElasticNet {
                    lambda: ratio * lmax,
                    l1_ratio,
                };
                let params = SolverParams {
                    tol: 1e-6,
                    algorithm: Algorithm::Fista,
                    ..SolverParams::default()
                }
                .check()
                .unwrap();
                let fit = solve_path(&pb, &[pen], &mut *gpu.borrow_mut(), &params)
                    .unwrap()
                    .remove(0);
                let what = format!("{n}x{p} seed {seed} {prep:?} {pen:?}");
                prop_assert_eq!(fit.status, Status::Converged, "{}", what);
                assert_gap_is_full_pass(&pb, &pen, &fit, &what);
                let cpu = solve_cpu(&pb, pen, Algorithm::Cd, 1e-12);
                // Both are within their gaps of the optimum.
                let slack = fit.gap + cpu.gap + 1e-12 * cpu.objective.abs();
                prop_assert!(
                    (fit.objective - cpu.objective).abs() <= slack,
                    "{}: gpu {} cpu {} slack {}",
                    what,
                    fit.objective,
                    cpu.objective,
                    slack
                );
                // A constant column has no coefficient on any backend (with an intercept).
                if fit_intercept {
                    prop_assert_eq!(fit.w[p - 1], 0.0, "{}", what);
                }
                Ok(())
            },
        )
        .unwrap();
}
