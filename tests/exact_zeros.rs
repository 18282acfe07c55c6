//! At `lambda >= lambda_max` zero is the answer, and every backend (CPU coordinate descent,
//! CPU FISTA, the GPU) must give it exactly: no rounding-size coefficient, converged, with the
//! certificate of zero. The driver proves it from the correlations at zero, before any solve.

mod common;

#[cfg(feature = "gpu")]
use common::gpu_or_skip;
use common::random_problem;
use lariat::params::{Algorithm, SolverParams};
use lariat::path::solve_path;
use lariat::penalty::ElasticNet;
use lariat::problem::{Preprocess, Problem};
#[cfg(feature = "gpu")]
use lariat::solver::gpu::GpuOptions;
use lariat::solver::{Backend, CpuBackend, Status};

fn check(backend: &mut dyn Backend, what: &str) {
    let params = SolverParams {
        tol: 1e-8,
        algorithm: Algorithm::Fista,
        ..SolverParams::default()
    }
    .check()
    .unwrap();
    // Without the driver's proof, coordinate descent left a coefficient of 1e-16 at
    // lambda_max on most of these (no intercept: 174 of 1200 solves in a probe).
    for seed in 0..8u64 {
        let (x, y) = random_problem(10 + 5 * seed as usize, 30, seed);
        for prep in [
            Preprocess::default(),
            Preprocess {
                fit_intercept: seed % 2 == 0,
                standardize: true,
            },
            Preprocess {
                fit_intercept: false,
                standardize: false,
            },
        ] {
            let pb = Problem::new(&x, &y, prep).unwrap();
            for l1_ratio in [1.0, 0.5, 0.1] {
                let lmax = pb.lambda_max(l1_ratio);
                let pens: Vec<ElasticNet> = [10.0, 1.5, 1.0 + 1e-15, 1.0]
                    .iter()
                    .map(|f| ElasticNet {
                        lambda: f * lmax,
                        l1_ratio,
                    })
                    .collect();
                for (k, fit) in solve_path(&pb, &pens, backend, &params)
                    .unwrap()
                    .iter()
                    .enumerate()
                {
                    let nz = fit.w.iter().filter(|&&v| v != 0.0).count();
                    assert_eq!(nz, 0, "{what} seed {seed} {prep:?} l1 {l1_ratio} point {k}");
                    assert_eq!(fit.status, Status::Converged);
                    assert!(fit.gap <= fit.gap_tol);
                }
                // Just below lambda_max the answer is not zero.
                let below = ElasticNet {
                    lambda: 0.9 * lmax,
                    l1_ratio,
                };
                let fit = solve_path(&pb, &[below], backend, &params)
                    .unwrap()
                    .remove(0);
                assert!(fit.w.iter().any(|&v| v != 0.0), "{what}: 0.9 lambda_max");
            }
        }
    }
}

#[test]
fn zero_is_exact_on_the_cpu() {
    check(&mut CpuBackend::new(Algorithm::Cd), "cd");
    check(&mut CpuBackend::new(Algorithm::Fista), "fista");
}

#[cfg(feature = "gpu")]
#[test]
fn zero_is_exact_on_the_gpu() {
    let Some(mut gpu) = gpu_or_skip(GpuOptions::default()) else {
        return;
    };
    check(&mut gpu, "gpu");
}
