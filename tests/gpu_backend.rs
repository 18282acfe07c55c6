//! The GPU backend end to end against the f64 CPU solvers: same objective (1e-5 relative),
//! same support on well-separated problems, the worked example of math.md as one GPU step,
//! column panels, warm-started paths, and a clear refusal when device memory is short.
#![cfg(feature = "gpu")]
#![allow(clippy::needless_range_loop)]

mod common;

use common::{
    assert_gap_is_full_pass, assert_grad_not_understated, gpu_or_skip, random_problem, rel_diff,
    scale_columns,
};
use lariat::design::{Dense, Design};
use lariat::params::{Algorithm, SolverParams};
use lariat::path::solve_path;
use lariat::penalty::ElasticNet;
use lariat::problem::{Preprocess, Problem};
use lariat::solver::gpu::resident::run_and_read;
use lariat::solver::gpu::{GpuOptions, LanczosMode};
use lariat::solver::{Backend, CpuBackend, Fit, Status};

fn params(tol: f64, alg: Algorithm) -> lariat::params::ValidParams {
    SolverParams {
        tol,
        max_iter: Some(200_000),
        algorithm: alg,
        ..SolverParams::default()
    }
    .check()
    .unwrap()
}

fn cpu(pb: &Problem, pen: ElasticNet) -> Fit {
    CpuBackend::new(Algorithm::Cd)
        .solve(pb, &pen, None, &params(1e-12, Algorithm::Cd))
        .unwrap()
}

#[test]
fn worked_example_is_one_gpu_step() {
    let x = Dense::from_row_major(2, 2, &[1.0, 2.0, 3.0, 4.0]);
    let y = [5.0, 6.0];
    let pb = Problem::new(
        &x,
        &y,
        Preprocess {
            fit_intercept: false,
            standardize: false,
        },
    )
    .unwrap();
    let Some(mut gpu) = gpu_or_skip(GpuOptions::default()) else {
        return;
    };
    gpu.upload(&pb).unwrap();
    let res = gpu.resident().unwrap();
    let (ctx, k) = (gpu.context(), gpu.kernels());
    res.write_params(ctx, 0.1, 1.0, 0.0);
    res.write_f32(ctx, &res.w, &[0.5, 0.5]);
    res.write_f32(ctx, &res.z, &[0.5, 0.5]);
    res.write_f32(ctx, &res.state, &[1.0, 0.0]);
    // Unit preconditioning factors: the plain step of the worked example.
    res.write_f32(ctx, &res.pre, &[1.0, 1.0]);
    let w1 = run_and_read(
        ctx,
        "one step",
        |pass| res.encode_fista_step(k, pass),
        &res.w,
    )
    .unwrap();
    assert!((w1[0] - 0.95).abs() < 1e-6, "{w1:?}");
    assert!((w1[1] - 1.25).abs() < 1e-6, "{w1:?}");
}

#[test]
fn gpu_agrees_with_cpu_on_random_problems() {
    let Some(mut gpu) = gpu_or_skip(GpuOptions::default()) else {
        return;
    };
    let cases = [(30, 400, 1), (120, 40, 2), (50, 150, 3)];
    let (mut total, mut on_gpu_alone) = (0, 0);
    for (n, p, seed) in cases {
        let (x, y) = random_problem(n, p, 700 + seed);
        for fit_intercept in [true, false] {
            let pb = Problem::new(
                &x,
                &y,
                Preprocess {
                    fit_intercept,
                    standardize: true,
                },
            )
            .unwrap();
            for l1_ratio in [1.0, 0.6] {
                let pen = ElasticNet {
                    lambda: 0.1 * pb.lambda_max(l1_ratio),
                    l1_ratio,
                };
                let want = cpu(&pb, pen);
                let ctx = format!("{n}x{p} intercept {fit_intercept} l1_ratio {l1_ratio}");
                // At the default tolerance: the same optimum, certified in f64.
                let got = gpu
                    .solve(&pb, &pen, None, &params(1e-6, Algorithm::Fista))
                    .unwrap();
                assert_eq!(got.status, Status::Converged, "{ctx}");
                assert!(
                    got.gap <= got.gap_tol,
                    "{ctx}: gap {} > {}",
                    got.gap,
                    got.gap_tol
                );
                let d = rel_diff(got.objective, want.objective);
                assert!(
                    d < 1e-5,
                    "{ctx}: objective {} vs cpu {} ({d:e})",
                    got.objective,
                    want.objective
                );
                // At a tolerance f32 can certify, the GPU must get there without the CPU, and
                // its objective is within its (f64-checked) gap of the optimum.
                let alone = gpu
                    .solve(&pb, &pen, None, &params(1e-5, Algorithm::Fista))
                    .unwrap();
                assert!(alone.gap <= alone.gap_tol, "{ctx}");
                assert!(
                    alone.objective - want.objective <= alone.gap * (1.0 + 1e-9) + 1e-12,
                    "{ctx}"
                );
                total += 1;
                on_gpu_alone += (alone.device == "gpu") as usize;
            }
        }
    }
    assert!(
        on_gpu_alone * 4 >= total * 3,
        "only {on_gpu_alone} of {total} fits certified without polish"
    );
}

/// Orthogonal-ish design with a strong, sparse signal: features are either clearly in or
/// clearly out, so f32 and f64 must select exactly the same ones.
#[test]
fn gpu_support_matches_cpu_on_well_separated_problems() {
    let Some(mut gpu) = gpu_or_skip(GpuOptions::default()) else {
        return;
    };
    let (n, p) = (80, 300);
    let mut rng = lariat::synth::Rng::new(11);
    let data: Vec<f64> = (0..n * p).map(|_| rng.normal()).collect();
    let x = Dense::from_col_major(n, p, data);
    let mut y: Vec<f64> = (0..n).map(|_| 0.1 * rng.normal()).collect();
    for (j, b) in [(3, 3.0), (50, -2.5), (120, 2.0), (200, -3.5), (299, 2.2)] {
        x.col_axpy(j, b, &mut y);
    }
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    let pen = ElasticNet {
        lambda: 0.3 * pb.lambda_max(1.0),
        l1_ratio: 1.0,
    };
    let want = cpu(&pb, pen);
    let got = gpu
        .solve(&pb, &pen, None, &params(1e-6, Algorithm::Fista))
        .unwrap();
    let support = |f: &Fit| (0..p).filter(|&j| f.w[j] != 0.0).collect::<Vec<_>>();
    assert_eq!(support(&got), support(&want));
    assert_eq!(support(&want), vec![3, 50, 120, 200, 299]);
}

#[test]
fn column_panels_give_the_same_solution() {
    let (x, y) = random_problem(40, 230, 77);
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    let pen = ElasticNet {
        lambda: 0.08 * pb.lambda_max(1.0),
        l1_ratio: 1.0,
    };
    let want = cpu(&pb, pen);
    let Some(mut gpu) = gpu_or_skip(GpuOptions {
        max_panel_cols: Some(17),
        ..GpuOptions::default()
    }) else {
        return;
    };
    let got = gpu
        .solve(&pb, &pen, None, &params(1e-6, Algorithm::Fista))
        .unwrap();
    assert!(gpu.stats.n_panels >= 14, "panels: {}", gpu.stats.n_panels);
    assert!(rel_diff(got.objective, want.objective) < 1e-5);
}

/// What a 1000 x 1,000,000 problem runs on hardware, at a size lavapipe can run: several
/// column panels and every dispatch of more than 3 workgroups wrapped into a 2-D grid (with
/// excess workgroups in its last row), under working sets and plain FISTA, against the f64
/// CPU optimum; and the device Lanczos on the same grid against the f64 one.
#[test]
fn multi_panel_two_dimensional_grids_match_the_cpu() {
    use lariat::solver::screening::WorkingSets;
    let (x, y) = random_problem(40, 2000, 78);
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    let pen = ElasticNet {
        lambda: 0.1 * pb.lambda_max(1.0),
        l1_ratio: 0.9,
    };
    let want = cpu(&pb, pen);
    for lanczos in [LanczosMode::Device, LanczosMode::Host] {
        let Some(mut gpu) = gpu_or_skip(GpuOptions {
            max_panel_cols: Some(300),
            max_grid_x: Some(3),
            lanczos,
            ..GpuOptions::default()
        }) else {
            return;
        };
        let cfg = gpu.kernels().config;
        let n_blocks = 2000u32.div_ceil(cfg.wg);
        let (gx, gy) = cfg.grid(n_blocks);
        assert!(
            gy > 1 && gx * gy > n_blocks,
            "not a 2-D grid with excess: {gx} x {gy}"
        );
        let sigma = gpu.sigma_max_sq(&pb).unwrap();
        let sigma_cpu = lariat::solver::fista::sigma_max_sq(&pb);
        assert!(
            rel_diff(sigma, sigma_cpu) < 3e-4,
            "{lanczos:?}: {sigma} vs {sigma_cpu}"
        );
        assert_eq!(gpu.stats.n_panels, 7);
        for ws in [WorkingSets::On, WorkingSets::Off] {
            let mut prm = params(1e-6, Algorithm::Fista);
            prm.screening.working_sets = ws;
            let got = gpu.solve(&pb, &pen, None, &prm).unwrap();
            assert!(
                rel_diff(got.objective, want.objective) < 1e-5,
                "{lanczos:?} {ws:?}: {} vs {}",
                got.objective,
                want.objective
            );
            assert_gap_is_full_pass(&pb, &pen, &got, "2-D grid");
        }
    }
}

#[test]
fn warm_started_gpu_path_matches_cold_cpu_fits() {
    let Some(mut gpu) = gpu_or_skip(GpuOptions::default()) else {
        return;
    };
    let (x, y) = random_problem(35, 180, 91);
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    let lmax = pb.lambda_max(0.8);
    let pens: Vec<ElasticNet> = [1.0, 0.5, 0.2, 0.08]
        .iter()
        .map(|r| ElasticNet {
            lambda: r * lmax,
            l1_ratio: 0.8,
        })
        .collect();
    let path = solve_path(&pb, &pens, &mut gpu, &params(1e-6, Algorithm::Fista)).unwrap();
    for (fit, pen) in path.iter().zip(&pens) {
        let want = cpu(&pb, *pen);
        assert!(
            rel_diff(fit.objective, want.objective) < 1e-5,
            "lambda {}",
            pen.lambda
        );
    }
    assert!(path[0].w.iter().all(|&v| v == 0.0));
}

#[test]
fn tiny_tolerances_are_finished_by_an_f64_polish() {
    let Some(mut gpu) = gpu_or_skip(GpuOptions::default()) else {
        return;
    };
    let (x, y) = random_problem(30, 100, 5);
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    let pen = ElasticNet {
        lambda: 0.1 * pb.lambda_max(1.0),
        l1_ratio: 1.0,
    };
    let got = gpu
        .solve(&pb, &pen, None, &params(1e-12, Algorithm::Fista))
        .unwrap();
    assert_eq!(got.device, "gpu+cpu-polish");
    assert_eq!(got.status, Status::Converged);
    assert!(got.gap <= got.gap_tol);
    assert!(rel_diff(got.objective, cpu(&pb, pen).objective) < 1e-10);
    // The polish (coordinate descent on the working set) worked on a few features, not all,
    // and is judged like everything else: its gap is the full f64 one.
    let k = gpu.stats.polish_features;
    assert!(k > 0 && k < 100, "{k} features polished");
    assert_gap_is_full_pass(&pb, &pen, &got, "polished");
}

#[test]
fn not_enough_device_memory_is_a_clear_error() {
    let Some(mut gpu) = gpu_or_skip(GpuOptions {
        memory_budget: Some(10_000),
        ..GpuOptions::default()
    }) else {
        return;
    };
    let (x, y) = random_problem(50, 200, 1);
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    let pen = ElasticNet {
        lambda: 0.1,
        l1_ratio: 1.0,
    };
    let err = gpu
        .solve(&pb, &pen, None, &params(1e-6, Algorithm::Fista))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("50 x 200") && err.contains("needs") && err.contains("available"),
        "{err}"
    );
}

#[test]
fn cli_fits_on_the_gpu_and_says_so() {
    if gpu_or_skip(GpuOptions::default()).is_none() {
        return;
    }
    let dir = common::temp_dir("gpu-cli");
    let (x, y) = random_problem(40, 120, 3);
    let (xp, yp) = write_problem(&dir, &x, &y);
    let out = dir.join("m.json");
    let bin = env!("CARGO_BIN_EXE_lariat");
    let o = std::process::Command::new(bin)
        .args([
            "fit",
            "--x",
            xp.to_str().unwrap(),
            "--y",
            yp.to_str().unwrap(),
        ])
        .args([
            "--lambda-ratio",
            "0.1",
            "--device",
            "gpu",
            "--tol",
            "1e-5",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert!(m["device"].as_str().unwrap().starts_with("gpu"), "{m}");
    assert_eq!(m["solver"], "fista");
    assert_eq!(m["converged"], true);
    // cd is CPU-only: asking for it on the GPU is an error, not a silent CPU run; an invalid
    // parameter, so a usage error (exit 2).
    let o = std::process::Command::new(bin)
        .args([
            "fit",
            "--x",
            xp.to_str().unwrap(),
            "--y",
            yp.to_str().unwrap(),
        ])
        .args(["--lambda-ratio", "0.1", "--device", "gpu", "--solver", "cd"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("CPU only"));
    let o = std::process::Command::new(bin)
        .arg("info")
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("max storage binding"));
}

#[test]
fn gpu_with_and_without_working_sets_reach_the_cpu_optimum() {
    use lariat::params::Screening;
    use lariat::solver::screening::WorkingSets;
    let Some(mut gpu) = gpu_or_skip(GpuOptions::default()) else {
        return;
    };
    let (x, y) = random_problem(40, 600, 21);
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    for l1_ratio in [1.0, 0.5] {
        let pen = ElasticNet {
            lambda: 0.05 * pb.lambda_max(l1_ratio),
            l1_ratio,
        };
        let want = cpu(&pb, pen);
        for ws in [WorkingSets::On, WorkingSets::Off] {
            let params = SolverParams {
                tol: 1e-6,
                max_iter: Some(200_000),
                algorithm: Algorithm::Fista,
                screening: Screening {
                    working_sets: ws,
                    ..Screening::default()
                },
                ..SolverParams::default()
            }
            .check()
            .unwrap();
            let got = gpu.solve(&pb, &pen, None, &params).unwrap();
            assert_eq!(got.status, Status::Converged, "{ws:?}");
            assert!(
                rel_diff(got.objective, want.objective) < 1e-5,
                "{ws:?} l1_ratio {l1_ratio}"
            );
        }
    }
}

/// A GPU path under every combination of the screening rules: each point certified by the
/// f64 gap over all features (what a full CPU pass gives, though the certificate recomputes
/// only a few columns), each at the cold CPU optimum, and the correlations handed to the next
/// lambda never under-stated (so its strong rule and Gap Safe test stay safe).
#[test]
fn gpu_paths_under_every_screening_rule_are_certified_in_f64() {
    use lariat::params::Screening;
    use lariat::solver::screening::WorkingSets;
    let Some(mut gpu) = gpu_or_skip(GpuOptions::default()) else {
        return;
    };
    let (x, y) = random_problem(40, 500, 33);
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    for l1_ratio in [1.0, 0.6] {
        let lmax = pb.lambda_max(l1_ratio);
        let pens: Vec<ElasticNet> = (0..12)
            .map(|k| ElasticNet {
                lambda: lmax * 0.7f64.powi(k),
                l1_ratio,
            })
            .collect();
        let want: Vec<Fit> = pens.iter().map(|pen| cpu(&pb, *pen)).collect();
        for ws in [WorkingSets::On, WorkingSets::Off] {
            for (strong_rule, gap_safe) in [(true, true), (false, true), (true, false)] {
                let screening = Screening {
                    strong_rule,
                    gap_safe,
                    working_sets: ws,
                };
                let params = SolverParams {
                    tol: 1e-6,
                    max_iter: Some(200_000),
                    algorithm: Algorithm::Fista,
                    screening,
                    ..SolverParams::default()
                }
                .check()
                .unwrap();
                let path = solve_path(&pb, &pens, &mut gpu, &params).unwrap();
                for (k, fit) in path.iter().enumerate() {
                    let what = format!("{screening:?} l1_ratio {l1_ratio} point {k}");
                    assert_eq!(fit.status, Status::Converged, "{what}");
                    assert_gap_is_full_pass(&pb, &pens[k], fit, &what);
                    assert!(fit.gap <= fit.gap_tol, "{what}");
                    assert!(
                        rel_diff(fit.objective, want[k].objective) < 1e-5,
                        "{what}: {} vs {}",
                        fit.objective,
                        want[k].objective
                    );
                    assert_grad_not_understated(&pb, &fit.w, &fit.grad, &[pens[k].l2()], &what);
                }
            }
        }
    }
}

#[test]
fn the_gpu_certificate_recomputes_only_a_few_columns_in_f64() {
    let Some(mut gpu) = gpu_or_skip(GpuOptions::default()) else {
        return;
    };
    let (x, y) = random_problem(40, 2000, 34);
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    let pen = ElasticNet {
        lambda: 0.2 * pb.lambda_max(1.0),
        l1_ratio: 1.0,
    };
    let fit = gpu
        .solve(&pb, &pen, None, &params(1e-5, Algorithm::Fista))
        .unwrap();
    assert_eq!(fit.device, "gpu");
    let exact = gpu.stats.certify_exact_columns;
    assert!(exact > 0 && exact < 200, "{exact} columns recomputed");
    assert_gap_is_full_pass(&pb, &pen, &fit, "filtered certificate");
}

/// Issue 10, part 4: a NaN in the device's data (here its copy of y) ends the solve with an
/// error on every GPU route, never with a converged answer.
#[test]
fn a_poisoned_device_copy_is_an_error_not_an_answer() {
    use lariat::solver::screening::WorkingSets;
    let (x, y) = random_problem(30, 200, 93);
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    let pen = ElasticNet {
        lambda: 0.2 * pb.lambda_max(1.0),
        l1_ratio: 1.0,
    };
    for ws in [WorkingSets::On, WorkingSets::Off] {
        let Some(mut gpu) = gpu_or_skip(GpuOptions::default()) else {
            return;
        };
        let mut prm = params(1e-6, Algorithm::Fista);
        prm.screening.working_sets = ws;
        if ws == WorkingSets::On {
            // The batch driver's copy of X: upload it with a first solve, then poison a column.
            gpu.solve(&pb, &pen, None, &prm).unwrap();
            let block = gpu.block_resident().unwrap();
            let mut col = vec![0f32; pb.n()];
            lariat::design::Design::write_col_f32(&x, 7, &mut col);
            col[4] = f32::NAN;
            block.overwrite_column(gpu.context(), 7, &col);
        } else {
            gpu.upload(&pb).unwrap();
            let res = gpu.resident().unwrap();
            let mut yc: Vec<f32> = pb.yc().iter().map(|&v| v as f32).collect();
            yc[4] = f32::NAN;
            res.write_f32(gpu.context(), &res.y, &yc);
        }
        let out = gpu.solve(&pb, &pen, None, &prm);
        let err = out
            .expect_err("a NaN on the device must not certify")
            .to_string();
        assert!(err.contains("non-finite"), "{ws:?}: {err}");
    }
}

/// Issue 10, part 4: the device copy is keyed on the problem's identity, not its address. A
/// new design written where the old one lived (same address, same shape and preprocessing)
/// must be uploaded again; the address key reused the old X and step size.
#[test]
fn a_new_design_at_the_same_address_is_uploaded_again() {
    let Some(mut gpu) = gpu_or_skip(GpuOptions::default()) else {
        return;
    };
    let (mut x, y) = random_problem(25, 60, 94);
    let first = {
        let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
        gpu.sigma_max_sq(&pb).unwrap()
    };
    let addr = &x as *const Dense<f64> as usize;
    let (x2, _) = random_problem(25, 60, 95);
    // Ten times the spread: the same data layout, a hundred times sigma_max^2.
    x = Dense::from_col_major(25, 60, x2.as_col_major().iter().map(|v| 10.0 * v).collect());
    assert_eq!(addr, &x as *const Dense<f64> as usize);
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    let want = lariat::solver::fista::sigma_max_sq(&pb);
    let got = gpu.sigma_max_sq(&pb).unwrap();
    assert!(
        rel_diff(got, want) < 3e-4,
        "{got} vs {want} (first design: {first})"
    );
    let pen = ElasticNet {
        lambda: 0.1 * pb.lambda_max(1.0),
        l1_ratio: 1.0,
    };
    let fit = gpu
        .solve(&pb, &pen, None, &params(1e-6, Algorithm::Fista))
        .unwrap();
    assert!(rel_diff(fit.objective, cpu(&pb, pen).objective) < 1e-5);
}

/// Issue 9, item 9: data in f64's range but beyond f32's (entries near 1e20). `--device gpu`
/// refuses them with a message that says so and what to do; `--device auto`'s backend solves
/// them on the CPU and says so; the same entries standardized (Xe of unit variance) stay
/// within f32 and are solved on the device.
#[test]
fn data_beyond_single_precision_are_refused_or_solved_on_the_cpu() {
    let (x, y) = random_problem(30, 90, 96);
    let big = |v: &f64| v * 1e20;
    let xb = Dense::from_col_major(30, 90, x.as_col_major().iter().map(big).collect());
    let yb: Vec<f64> = y.iter().map(big).collect();
    let pb = Problem::new(&xb, &yb, Preprocess::default()).unwrap();
    let pen = ElasticNet {
        lambda: 0.1 * pb.lambda_max(1.0),
        l1_ratio: 1.0,
    };
    let prm = params(1e-6, Algorithm::Fista);
    let want = cpu(&pb, pen);
    assert!(want.objective.is_finite() && want.objective > 1e30);
    let Some(mut gpu) = gpu_or_skip(GpuOptions::default()) else {
        return;
    };
    let err = gpu.solve(&pb, &pen, None, &prm).unwrap_err().to_string();
    assert!(
        err.contains("exceed single precision") && err.contains("--device cpu"),
        "{err}"
    );
    let err = gpu.sigma_max_sq(&pb).unwrap_err().to_string();
    assert!(err.contains("exceed single precision"), "{err}");

    let mut auto = gpu_or_skip(GpuOptions {
        cpu_fallback: true,
        ..GpuOptions::default()
    })
    .unwrap();
    let fit = auto.solve(&pb, &pen, None, &prm).unwrap();
    assert_eq!(fit.device, "cpu");
    assert_eq!(fit.status, Status::Converged);
    assert!(rel_diff(fit.objective, want.objective) < 1e-6);
    assert!(
        auto.device().contains("single precision"),
        "{}",
        auto.device()
    );

    // Standardized, the same entries give a unit-variance Xe: the device solves it.
    let std = Preprocess {
        fit_intercept: true,
        standardize: true,
    };
    let y1 = y.clone();
    let pbs = Problem::new(&xb, &y1, std).unwrap();
    let pen = ElasticNet {
        lambda: 0.1 * pbs.lambda_max(1.0),
        l1_ratio: 1.0,
    };
    let fit = auto.solve(&pbs, &pen, None, &prm).unwrap();
    assert!(fit.device.starts_with("gpu"), "{}", fit.device);
    assert!(rel_diff(fit.objective, cpu(&pbs, pen).objective) < 1e-5);
    assert!(auto.device().starts_with("gpu"), "{}", auto.device());

    // Standardized, entries near 1e-40 or 1e40 are still a unit-variance Xe in f64, but the
    // device holds raw X in f32, where they are zeros (flushed) or infinities: refused by
    // `gpu`, solved on the CPU by `auto`, never "certified" from a zero column.
    for factor in [1e-40, 1e40] {
        let xs = Dense::from_col_major(
            30,
            90,
            x.as_col_major().iter().map(|v| v * factor).collect(),
        );
        let pb = Problem::new(&xs, &y1, std).unwrap();
        let pen = ElasticNet {
            lambda: 0.1 * pb.lambda_max(1.0),
            l1_ratio: 1.0,
        };
        let err = gpu.solve(&pb, &pen, None, &prm).unwrap_err().to_string();
        assert!(
            err.contains("exceed single precision") && err.contains("standard deviation"),
            "{err}"
        );
        let fit = auto.solve(&pb, &pen, None, &prm).unwrap();
        assert_eq!(fit.device, "cpu");
        assert!(rel_diff(fit.objective, cpu(&pbs, pen).objective) < 1e-9);
    }

    // Entries near 1e9 (sigma^4 near 1e43, beyond f32) with y near 1: within range once the
    // device Lanczos runs on A / trace(A); both drivers, against the f64 step and optimum.
    let xm = Dense::from_col_major(30, 90, x.as_col_major().iter().map(|v| v * 1e8).collect());
    let pbm = Problem::new(&xm, &y, Preprocess::default()).unwrap();
    assert!(lariat::solver::spectral::trace(&pbm).powi(2) > 1e40);
    let pen = ElasticNet {
        lambda: 0.1 * pbm.lambda_max(1.0),
        l1_ratio: 1.0,
    };
    let want = cpu(&pbm, pen);
    for lanczos in [LanczosMode::Device, LanczosMode::Host] {
        let mut gpu = gpu_or_skip(GpuOptions {
            lanczos,
            ..GpuOptions::default()
        })
        .unwrap();
        let sigma = gpu.sigma_max_sq(&pbm).unwrap();
        let sigma_cpu = lariat::solver::fista::sigma_max_sq(&pbm);
        assert!(
            rel_diff(sigma, sigma_cpu) < 3e-4,
            "{lanczos:?}: {sigma} vs {sigma_cpu}"
        );
        let fit = gpu.solve(&pbm, &pen, None, &prm).unwrap();
        assert!(fit.device.starts_with("gpu"), "{}", fit.device);
        assert!(
            rel_diff(fit.objective, want.objective) < 1e-5,
            "{lanczos:?}: {} vs {}",
            fit.objective,
            want.objective
        );
    }
}

/// The same through the binary: exit 1 and a message naming single precision.
#[test]
fn cli_refuses_data_beyond_single_precision_on_the_gpu() {
    if gpu_or_skip(GpuOptions::default()).is_none() {
        return;
    }
    let dir = common::temp_dir("gpu-f32-range");
    let (x, y) = random_problem(20, 30, 97);
    let xp = dir.join("x.npy");
    let yp = dir.join("y.npy");
    let xb: Vec<f64> = x.as_col_major().iter().map(|v| v * 1e25).collect();
    lariat::data::npy::write_npy_f64(&xp, 20, 30, &xb).unwrap();
    lariat::data::npy::write_npy_vec(&yp, &y).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_lariat"))
        .args([
            "fit",
            "--x",
            xp.to_str().unwrap(),
            "--y",
            yp.to_str().unwrap(),
        ])
        .args(["--lambda-ratio", "0.1", "--device", "gpu"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("exceed single precision"), "{err}");
}

/// Issue 10, part 3: the device requests of a solve are counted (every submission is one
/// read-back; each gap check and working-set round is at least one); read-backs reuse one
/// staging buffer and working sets one set of device buffers, refilled each round: a second
/// identical solve creates no buffer and no bind group.
#[test]
fn device_requests_are_counted_per_solve() {
    use lariat::solver::gpu::speculation::SpeculativePass;
    use lariat::solver::screening::WorkingSets;
    let (x, y) = random_problem(60, 1500, 98);
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    let pen = ElasticNet {
        lambda: 0.05 * pb.lambda_max(1.0),
        l1_ratio: 1.0,
    };
    for lanczos in [LanczosMode::Host, LanczosMode::Device] {
        for ws in [WorkingSets::On, WorkingSets::Off] {
            // Each round's pass on its own (a check that carries it is counted in gpu_batch.rs).
            let Some(mut gpu) = gpu_or_skip(GpuOptions {
                lanczos,
                speculative_pass: Some(SpeculativePass::Never),
                ..GpuOptions::default()
            }) else {
                return;
            };
            let mut prm = params(1e-6, Algorithm::Fista);
            prm.screening.working_sets = ws;
            let mut runs = Vec::new();
            for _ in 0..2 {
                let fit = gpu.solve(&pb, &pen, None, &prm).unwrap();
                let c = gpu.stats.counts;
                // The fit carries the same figures to the model's JSON.
                let work = fit.device_work.expect("a GPU fit reports its device work");
                assert_eq!(
                    (work.submissions, work.read_backs, work.buffers_created),
                    (c.submissions, c.read_backs, c.buffers)
                );
                assert_eq!(work.bind_groups_created, c.bind_groups);
                assert_eq!(work.working_set_rounds, gpu.stats.working_set_rounds);
                assert_eq!(work.gap_checks, gpu.stats.gap_checks);
                assert_eq!(work.batch_problems, 1);
                runs.push((c, gpu.stats.working_set_rounds, gpu.stats.gap_checks));
            }
            let rounds = runs[1].1.max(1) as u64;
            let c = runs[1].0;
            eprintln!(
                "{lanczos:?} {ws:?}: first solve {:?}; second {c:?}, {} rounds: per round {} \
                 submissions, {} read-backs, {} buffers, {} bind groups",
                runs[0].0,
                runs[1].1,
                c.submissions / rounds,
                c.read_backs / rounds,
                c.buffers / rounds,
                c.bind_groups / rounds
            );
            for (counts, rounds, checks) in &runs {
                assert_eq!(counts.submissions, counts.read_backs);
                assert!(counts.read_backs as usize >= checks + rounds, "{counts:?}");
            }
            if ws == WorkingSets::On {
                assert!(runs[1].1 > 0, "no working-set round ran");
                // The second solve's subproblems put their first gap check where the first
                // solve's ended (the step hint): no more checks than the first took.
                assert!(runs[1].2 <= runs[0].2, "{:?} then {:?}", runs[0], runs[1]);
            }
            // Same problem, already on the device, staging kept, the working sets refilled into
            // the buffers of the first solve: nothing to create.
            assert_eq!((c.buffers, c.bind_groups), (0, 0), "{c:?}");
        }
    }
}

/// Issue 10, part 3: the model JSON of a GPU path reports each lambda's device work; after
/// the first lambda (X uploaded, buffers made) a lambda creates buffers only when a working
/// set outgrows the subproblem's capacity, and every lambda that ran working-set rounds
/// reports them with read-backs beyond them. A CPU path reports none.
#[test]
fn path_json_reports_the_device_work_of_each_lambda() {
    if gpu_or_skip(GpuOptions::default()).is_none() {
        return;
    }
    let dir = common::temp_dir("gpu-work-json");
    let (x, y) = random_problem(40, 400, 61);
    let (xp, yp) = write_problem(&dir, &x, &y);
    for device in ["gpu", "cpu"] {
        let out = dir.join(format!("path-{device}.json"));
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_lariat"))
            .args([
                "path",
                "--x",
                xp.to_str().unwrap(),
                "--y",
                yp.to_str().unwrap(),
            ])
            .args([
                "--n-lambdas",
                "12",
                "--device",
                device,
                "--out",
                out.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        let fits = json["fits"].as_array().unwrap();
        assert_eq!(fits.len(), 12);
        if device == "cpu" {
            assert!(fits.iter().all(|f| f.get("gpu").is_none()), "{device}");
            continue;
        }
        // The first lambda is lambda_max: exactly zero, no device work.
        let worked: Vec<&serde_json::Value> = fits.iter().filter_map(|f| f.get("gpu")).collect();
        assert!(
            worked.len() >= 10,
            "{} of 12 lambdas report device work",
            worked.len()
        );
        let mut creating = 0;
        for (i, w) in worked.iter().enumerate() {
            let get = |k: &str| w[k].as_u64().unwrap_or_else(|| panic!("{k} in {w}"));
            assert_eq!(get("batch_problems"), 1);
            assert!(get("submissions") >= get("read_backs"), "{w}");
            if get("working_set_rounds") > 0 {
                assert!(get("read_backs") > get("working_set_rounds"), "{w}");
                assert!(get("fista_steps") > 0, "{w}");
            }
            if i == 0 {
                assert!(
                    get("buffers_created") > 0,
                    "the first lambda uploads X: {w}"
                );
            } else if get("buffers_created") > 0 {
                creating += 1;
            }
        }
        // Later lambdas refill the buffers in place; only a working set that outgrows the
        // subproblem's capacity (which then doubles) makes new ones: once on this path.
        assert!(creating <= 2, "{creating} later lambdas created buffers");
    }
}

/// `x` and `y` as `x.npy` and `y.npy` in `dir`.
fn write_problem(
    dir: &std::path::Path,
    x: &Dense<f64>,
    y: &[f64],
) -> (std::path::PathBuf, std::path::PathBuf) {
    let (xp, yp) = (dir.join("x.npy"), dir.join("y.npy"));
    lariat::data::npy::write_npy_f64(&xp, x.n_rows(), x.n_cols(), x.as_col_major()).unwrap();
    lariat::data::npy::write_npy_vec(&yp, y).unwrap();
    (xp, yp)
}

/// `lariat bench` on the GPU: the solve agrees with the CPU's, every compiled batch width is
/// timed, and the round trips that decide speculative work are measured (what the hardware
/// run of scripts/gpu_machine.sh reads; nothing else exercises this code in CI).
#[test]
fn bench_times_the_gpu_and_its_round_trips() {
    use lariat::bench::{run_bench, BenchConfig, BenchDevice};
    if gpu_or_skip(GpuOptions::default()).is_none() {
        return;
    }
    let cfg = BenchConfig {
        devices: vec![BenchDevice::Cpu, BenchDevice::Gpu],
        repeats: 1,
        ..BenchConfig::new(40, 300)
    };
    let report = run_bench(&cfg).unwrap();
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    let (cpu, gpu) = (&report.devices[0], &report.devices[1]);
    assert!(matches!(gpu.kind, BenchDevice::Gpu));
    let cd = cpu.solves.iter().find(|s| s.solver == "cd").unwrap();
    let fista = &gpu.solves[0];
    assert!(cd.converged && fista.converged);
    // Both certified gaps bound their distance to the optimum.
    assert!(
        (fista.objective - cd.objective).abs() <= fista.gap + cd.gap,
        "gpu {} vs cpu {}",
        fista.objective,
        cd.objective
    );
    let widths: Vec<usize> = gpu.block_passes.iter().map(|b| b.k).collect();
    assert_eq!(widths, [1, 2, 4, 8, 16, 32]);
    assert!(gpu
        .block_passes
        .iter()
        .all(|b| b.seconds > 0.0 && b.vs_one_pass.is_finite()));
    let rt = gpu.round_trip.as_ref().expect("measured on the GPU");
    assert!(rt.empty_seconds > 0.0 && rt.read_seconds > 0.0);
    assert_eq!(rt.read_bytes, 4 * 300);
    assert!(rt.read_gb_per_s.is_none_or(|b| b.is_finite() && b > 0.0));
    assert!(cpu.round_trip.is_none());
    assert!(
        report.table().contains("gpu round trip"),
        "{}",
        report.table()
    );
    assert!(report.to_json().contains("\"empty_seconds\""));
}

/// Columns of scales 10^-2 .. 10^2: curvatures over eight orders of magnitude.
fn badly_scaled(x: &Dense<f64>) -> Dense<f64> {
    scale_columns(x, (-2.0, 2.0))
}

/// The largest eigenvalue of `P^1/2 (Xe^T Xe / n + l2) P^1/2` (`P = diag(pre)`), by power
/// iteration on the host in f64: preconditioned FISTA's step must not exceed its inverse.
fn preconditioned_top_eigenvalue(pb: &Problem, l2: f64, pre: &[f32]) -> f64 {
    let (n, p) = (pb.n() as f64, pb.p());
    let root: Vec<f64> = pre.iter().map(|&q| (q as f64).sqrt()).collect();
    let mut v = vec![1.0; p];
    let mut lam = 0.0;
    for _ in 0..2000 {
        let u: Vec<f64> = v.iter().zip(&root).map(|(a, r)| a * r).collect();
        let mut r = vec![0.0; pb.n_rows()];
        pb.matvec(&u, &mut r);
        let mut g = vec![0.0; p];
        pb.rmatvec(&r, &mut g);
        let hv: Vec<f64> = (0..p).map(|j| (g[j] / n + l2 * u[j]) * root[j]).collect();
        lam = hv.iter().map(|a| a * a).sum::<f64>().sqrt();
        v = hv.iter().map(|a| a / lam).collect();
    }
    lam
}

/// Plain FISTA over all of X is preconditioned by the Hessian's diagonal (`1 / h_j`, `h_j =
/// ||xe_j||^2 / n + l2`), its step from one Lanczos run on the normalised columns per
/// upload: the device's estimate matches the f64 one on the same columns divided by
/// `sqrt(||xe_j||^2 / n)`, and the step bounds the preconditioned Hessian (power iteration)
/// without falling far below it, for Ridge, the Elastic Net and the Lasso. Standardized
/// columns get plain FISTA's `1 / L` back, and a wide Ridge, whose plain iterates stay in the
/// row space of X, keeps unit factors.
#[test]
fn plain_fista_is_preconditioned_by_the_hessians_diagonal() {
    use lariat::design::Columns;
    use lariat::solver::fista;
    use std::sync::Arc;
    let (x, y) = random_problem(120, 40, 61);
    let x = badly_scaled(&x);
    let prep = Preprocess {
        fit_intercept: true,
        standardize: false,
    };
    let pb = Problem::new(&x, &y, prep).unwrap();
    let (n, p) = (pb.n() as f64, pb.p());
    let all: Vec<usize> = (0..p).collect();
    let roots: Vec<f64> = pb.col_sq_norms().iter().map(|s| (s / n).sqrt()).collect();
    let cols = Columns::new(pb.design(), all.clone());
    let stats = Arc::new(pb.stats().select_columns_divided(&all, &roots));
    let normalized = Problem::with_stats(&cols, stats, pb.yc()).unwrap();
    let want = fista::sigma_max_sq(&normalized);
    for lanczos in [LanczosMode::Device, LanczosMode::Host] {
        let Some(mut gpu) = gpu_or_skip(GpuOptions {
            lanczos,
            ..GpuOptions::default()
        }) else {
            return;
        };
        let got = gpu.normalized_sigma_max_sq(&pb).unwrap();
        assert!(rel_diff(got, want) < 3e-4, "{lanczos:?}: {got} vs {want}");
        // The raw estimate, run after it, is still the raw operator's (that the columns are
        // restored for the iteration, the Ridge test below shows).
        let raw = gpu.sigma_max_sq(&pb).unwrap();
        let raw_want = fista::sigma_max_sq(&pb);
        assert!(rel_diff(raw, raw_want) < 3e-4, "{raw} vs {raw_want}");
        assert!(raw > 100.0 * got, "not badly scaled: {raw} vs {got}");
        for (lambda, l1_ratio) in [(1e-3, 0.0), (1.0, 0.0), (0.05, 0.5), (0.05, 1.0)] {
            let pen = ElasticNet { lambda, l1_ratio };
            let (pre, step) = gpu.fista_scaling(&pb, &pen).unwrap();
            for j in 0..p {
                let h = pb.col_sq_norms()[j] / n + pen.l2();
                assert!(
                    rel_diff(pre[j] as f64, 1.0 / h) < 1e-6,
                    "pre[{j}] {}",
                    pre[j]
                );
            }
            let top = preconditioned_top_eigenvalue(&pb, pen.l2(), &pre);
            assert!(
                step > 0.0 && step <= 1.0 / top,
                "{pen:?}: step {step} above 1 / {top}"
            );
            assert!(
                step >= 0.3 / top,
                "{pen:?}: step {step} far below 1 / {top}"
            );
        }
    }
    let mut gpu = gpu_or_skip(GpuOptions::default()).unwrap();
    let ridge = ElasticNet {
        lambda: 0.1,
        l1_ratio: 0.0,
    };
    let standardized = Problem::new(
        &x,
        &y,
        Preprocess {
            fit_intercept: true,
            standardize: true,
        },
    )
    .unwrap();
    let (pre, step) = gpu.fista_scaling(&standardized, &ridge).unwrap();
    let plain = 1.0 / fista::lipschitz(&standardized, &ridge);
    let effective = step * pre[0] as f64;
    assert!(rel_diff(effective, plain) < 3e-4, "{effective} vs {plain}");
    let (wide_x, wide_y) = random_problem(30, 90, 62);
    let wide_x = badly_scaled(&wide_x);
    let wide = Problem::new(&wide_x, &wide_y, prep).unwrap();
    let (pre, step) = gpu.fista_scaling(&wide, &ridge).unwrap();
    assert!(pre.iter().all(|&q| q == 1.0), "wide Ridge preconditioned");
    let plain = 1.0 / fista::lipschitz(&wide, &ridge);
    assert!(rel_diff(step, plain) < 1e-3, "{step} vs {plain}");
}

/// A Ridge fit on columns of scales 1e-2 to 1e2 takes about the FISTA steps of the same
/// columns standardized (unpreconditioned, 748 to 18,052 against 30 to 83 on 1000 x 200 with
/// the CLI), and reaches the CPU's optimum.
#[test]
fn ridge_on_badly_scaled_columns_costs_no_extra_fista_steps() {
    let Some(mut gpu) = gpu_or_skip(GpuOptions::default()) else {
        return;
    };
    let (x, y) = random_problem(200, 60, 63);
    let x = badly_scaled(&x);
    let prm = params(1e-6, Algorithm::Fista);
    for lambda in [1.0, 1e-3] {
        let mut steps = Vec::new();
        for standardize in [false, true] {
            let prep = Preprocess {
                fit_intercept: true,
                standardize,
            };
            let pb = Problem::new(&x, &y, prep).unwrap();
            let pen = ElasticNet {
                lambda,
                l1_ratio: 0.0,
            };
            let fit = gpu.solve(&pb, &pen, None, &prm).unwrap();
            let want = cpu(&pb, pen);
            assert!(
                fit.objective - want.objective <= fit.gap_tol,
                "lambda {lambda}, standardize {standardize}: {} vs {}",
                fit.objective,
                want.objective
            );
            steps.push(gpu.stats.gpu_iterations);
        }
        let (raw, standardized) = (steps[0], steps[1]);
        eprintln!("lambda {lambda}: FISTA steps unstandardized {raw}, standardized {standardized}");
        assert!(
            raw <= 3 * standardized.max(10),
            "lambda {lambda}: unstandardized columns took {raw} FISTA steps, standardized \
             {standardized}"
        );
    }
}
