//! One [`Engine`] serves many fits in a process: the GPU device is opened once, and a new
//! design (of the same shape, possibly at the address of a dropped one) is uploaded again,
//! never mistaken for the old X.

#![cfg(feature = "gpu")]

mod common;

use common::{gpu_or_skip, random_problem, rel_diff};
use lariat::engine::Engine;
use lariat::fit::{fit_path, fit_paths_in, FitConfig, GridRule, LambdaGrid};
use lariat::params::{Algorithm, SolverParams};
use lariat::solver::gpu::GpuOptions;
use lariat::solver::BackendKind;

fn cfg(device: BackendKind, algorithm: Algorithm) -> FitConfig {
    FitConfig {
        device,
        solver: SolverParams {
            tol: 1e-6,
            algorithm,
            ..SolverParams::default()
        },
        ..FitConfig::default()
    }
}

#[test]
fn one_engine_fits_many_designs_on_the_gpu() {
    let Some(gpu) = gpu_or_skip(GpuOptions::default()) else {
        return;
    };
    let gpu_cfg = cfg(BackendKind::Gpu, Algorithm::Fista);
    let cpu_cfg = cfg(BackendKind::Cpu, Algorithm::Cd);
    let mut engine = Engine::with_backend(Box::new(gpu));
    let grid = LambdaGrid::Geometric {
        n_lambdas: 5,
        min_ratio: Some(0.1),
        rule: GridRule::Glmnet,
    };
    for seed in 0..4 {
        // Same shape each time; each design is dropped at the end of the iteration, so the
        // next one may well be allocated where it was.
        let (x, y) = random_problem(40, 120, 500 + seed);
        let got = fit_paths_in(
            &mut engine,
            &x,
            &[&y],
            None,
            &gpu_cfg,
            &grid,
            &mut |_, _| {},
        )
        .unwrap()
        .remove(0);
        let want = fit_path(&x, &y, None, &cpu_cfg, &grid).unwrap();
        // A fresh device for this design alone: the shared one must do exactly the same work
        // (a stale X on the device would still be caught by the f64 certificate and rescued
        // by the CPU polish: more passes and "gpu+cpu-polish", not a wrong answer).
        let mut fresh = Engine::with_backend(Box::new(
            gpu_or_skip(GpuOptions::default()).expect("opened above"),
        ));
        let alone = fit_paths_in(&mut fresh, &x, &[&y], None, &gpu_cfg, &grid, &mut |_, _| {})
            .unwrap()
            .remove(0);
        for (a, b) in got.models.iter().zip(&alone.models) {
            assert_eq!(
                (&a.device, a.full_passes, a.iterations),
                (&b.device, b.full_passes, b.iterations),
                "seed {seed}: the shared engine worked on another X"
            );
        }
        assert!(got.backend.starts_with("gpu"), "{}", got.backend);
        for (k, (a, b)) in got.models.iter().zip(&want.models).enumerate() {
            assert!(a.converged, "seed {seed} point {k}");
            assert!(
                rel_diff(a.objective, b.objective) < 1e-5,
                "seed {seed} point {k}: {} vs {}",
                a.objective,
                b.objective
            );
        }
    }
}

#[test]
fn an_engine_serves_row_subsets_on_the_device_it_was_given() {
    let (x, y) = random_problem(30, 50, 3);
    let folds = lariat::cv::Folds::random(30, 3, 1).unwrap();
    let grid = LambdaGrid::Geometric {
        n_lambdas: 4,
        min_ratio: Some(0.1),
        rule: GridRule::Glmnet,
    };
    let auto = cfg(BackendKind::Auto, Algorithm::Auto);
    let run = |engine: &mut lariat::engine::Engine| {
        lariat::cv::cross_validate_in(
            engine,
            &x,
            &[&y],
            None,
            &auto,
            &grid,
            &folds,
            &mut |_, _| {},
        )
        .unwrap()
        .remove(0)
    };
    // A problem this small stays on the CPU under --device auto.
    assert_eq!(run(&mut auto.engine()).path.backend, "cpu");
    let Some(gpu) = gpu_or_skip(GpuOptions::default()) else {
        return;
    };
    let on_gpu = run(&mut lariat::engine::Engine::with_backend(Box::new(gpu)));
    assert!(
        on_gpu.path.backend.starts_with("gpu"),
        "{}",
        on_gpu.path.backend
    );
}

#[test]
fn responses_on_one_x_share_its_upload_on_the_gpu() {
    use lariat::problem::{ColumnStats, Preprocess, Problem};
    use lariat::solver::Backend;
    use std::sync::Arc;
    let Some(mut gpu) = gpu_or_skip(GpuOptions::default()) else {
        return;
    };
    let (x, y) = random_problem(40, 300, 77);
    let y2: Vec<f64> = y
        .iter()
        .enumerate()
        .map(|(i, v)| v * 0.3 + (i % 5) as f64)
        .collect();
    let stats = Arc::new(ColumnStats::new(&x, Preprocess::default()).unwrap());
    let a = Problem::with_stats(&x, Arc::clone(&stats), &y).unwrap();
    let b = Problem::with_stats(&x, Arc::clone(&stats), &y2).unwrap();
    let params = SolverParams {
        tol: 1e-6,
        algorithm: Algorithm::Fista,
        ..SolverParams::default()
    }
    .check()
    .unwrap();
    let pen = |pb: &Problem| lariat::penalty::ElasticNet {
        lambda: 0.2 * pb.lambda_max(1.0),
        l1_ratio: 1.0,
    };
    gpu.solve(&a, &pen(&a), None, &params).unwrap();
    let fit = gpu.solve(&b, &pen(&b), None, &params).unwrap();
    // Only y changed: X stays on the device (a new upload creates its buffers again).
    assert_eq!(gpu.stats.counts.buffers, 0, "{:?}", gpu.stats.counts);
    let cpu = common::solve_cpu(&b, pen(&b), Algorithm::Cd, 1e-12);
    assert!(
        (fit.objective - cpu.objective).abs() <= fit.gap + cpu.gap + 1e-12,
        "{} vs {}",
        fit.objective,
        cpu.objective
    );
    // A problem on other statistics of the same X is uploaded again.
    let other = Problem::new(&x, &y2, Preprocess::default()).unwrap();
    gpu.solve(&other, &pen(&other), None, &params).unwrap();
    assert!(gpu.stats.counts.buffers > 0);
}
