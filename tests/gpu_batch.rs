//! The GPU batch: block passes (`Xe^T R` for k residuals in one read of X, block.wgsl) against
//! f64 products, and batched solves (CV folds with the full data, several responses, row
//! subsets) against independent f64 CPU solves, each within its certified gap. Runs on
//! lavapipe in CI, under both kernel configurations (scripts/test.sh).
#![cfg(feature = "gpu")]

mod common;

use std::sync::Arc;

use common::{gpu_or_skip, random_problem, scale_columns};
use lariat::design::Dense;
use lariat::params::{Algorithm, SolverParams, ValidParams};
use lariat::path::{geometric_grid, solve_paths};
use lariat::penalty::ElasticNet;
use lariat::problem::{ColumnStats, Preprocess, Problem};
use lariat::solver::gpu::block::BlockResident;
use lariat::solver::gpu::GpuOptions;
use lariat::solver::{Backend, CpuBackend, Fit, Status};

use common::cd_params as params;

fn fold_labels(n: usize, k: usize) -> Vec<usize> {
    (0..n).map(|i| (i * 7 + i / 3) % k).collect()
}

/// Columns with large means against their spread, a dead column and a duplicate: what the
/// centring in f32 and the dead-column rule must survive.
fn awkward(n: usize, p: usize, seed: u64) -> (Dense<f64>, Vec<f64>) {
    let (x, y) = random_problem(n, p, seed);
    let mut data = x.as_col_major().to_vec();
    for i in 0..n {
        data[3 * n + i] += 40.0;
        data[7 * n + i] = 2.5;
        data[11 * n + i] = data[2 * n + i];
    }
    (Dense::from_col_major(n, p, data), y)
}

#[test]
fn a_block_pass_is_each_problems_own_correlations() {
    // Small panels and a 2-D grid: the layout of a 1000 x 1,000,000 problem on hardware.
    let opts = GpuOptions {
        max_panel_cols: Some(37),
        max_grid_x: Some(3),
        ..GpuOptions::default()
    };
    let Some(gpu) = gpu_or_skip(opts) else {
        return;
    };
    let (n, p) = (53, 150);
    let (x, y) = awkward(n, p, 5);
    for prep in Preprocess::ALL {
        let labels = fold_labels(n, 5);
        let stats = ColumnStats::for_folds(&x, prep, &labels).unwrap();
        let stats: Vec<Arc<ColumnStats>> = stats.into_iter().map(Arc::new).collect();
        // Every fold and the full data, with responses that differ: 6 problems; then 35
        // (several responses per statistics set), beyond one pass's 32.
        for k in [1usize, 6, 35] {
            let ys: Vec<Vec<f64>> = (0..k)
                .map(|c| y.iter().map(|v| v * (1.0 + c as f64) + c as f64).collect())
                .collect();
            let pbs: Vec<Problem> = (0..k)
                .map(|c| Problem::with_stats(&x, Arc::clone(&stats[c % 6]), &ys[c]).unwrap())
                .collect();
            let mut block = BlockResident::upload(gpu.context(), &pbs[0], 2, Some(37)).unwrap();
            for chunk in pbs.chunks(32) {
                let refs: Vec<&Problem> = chunk.iter().collect();
                // A residual at some w with a few non-zeros, zero outside each problem's rows.
                let rs64: Vec<Vec<f64>> = refs
                    .iter()
                    .enumerate()
                    .map(|(c, pb)| {
                        let mut w = vec![0.0; p];
                        w[c % p] = 0.3;
                        w[(5 * c + 1) % p] = -0.2;
                        pb.residual(&w)
                    })
                    .collect();
                let rs: Vec<Vec<f32>> = rs64
                    .iter()
                    .map(|r| r.iter().map(|&v| v as f32).collect())
                    .collect();
                let gs = block
                    .pass(gpu.context(), gpu.kernels(), &refs, &rs)
                    .unwrap();
                assert_eq!(gs.len(), refs.len());
                for (c, ((pb, r), g)) in refs.iter().zip(&rs).zip(&gs).enumerate() {
                    // The f64 product at the f32 residual the device saw.
                    let r: Vec<f64> = r.iter().map(|&v| v as f64).collect();
                    let mut want = vec![0.0; p];
                    pb.rmatvec(&r, &mut want);
                    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                    for j in 0..p {
                        let err = (g[j] as f64 - want[j]).abs();
                        assert!(
                            err <= 1e-4 * scale,
                            "{prep:?} k={k} problem {c} column {j}: {} vs {}",
                            g[j],
                            want[j]
                        );
                        if pb.col_sq_norms()[j] == 0.0 {
                            assert_eq!(g[j], 0.0, "dead column {j}");
                        }
                    }
                }
            }
        }
    }
}

/// Objective at `fit`.
fn objective(pb: &Problem, pen: &ElasticNet, fit: &Fit) -> f64 {
    pb.duality_gap(&fit.w, pen).primal
}

/// Solves the paths of `problems` (each on its own grid) on `backend`.
fn paths(
    problems: &[&Problem],
    grids: &[Vec<ElasticNet>],
    backend: &mut dyn Backend,
    params: &ValidParams,
) -> Vec<Vec<Fit>> {
    let mut out: Vec<Vec<Fit>> = problems.iter().map(|_| Vec::new()).collect();
    let grid_refs: Vec<&[ElasticNet]> = grids.iter().map(Vec::as_slice).collect();
    solve_paths(
        problems,
        &grid_refs,
        backend,
        params,
        &mut |_, _| {},
        &mut |i, _, fit| out[i].push(fit.clone()),
    )
    .unwrap();
    out
}

/// Every GPU fit converged, certified, and within its gap of the CPU's optimum.
fn assert_matches_cpu(
    what: &str,
    problems: &[&Problem],
    grids: &[Vec<ElasticNet>],
    gpu: &[Vec<Fit>],
    cpu: &[Vec<Fit>],
) {
    for (i, pb) in problems.iter().enumerate() {
        for (k, pen) in grids[i].iter().enumerate() {
            let (g, c) = (&gpu[i][k], &cpu[i][k]);
            assert_eq!(
                g.status,
                Status::Converged,
                "{what}: problem {i} lambda {k}"
            );
            assert!(g.gap <= g.gap_tol, "{what}: problem {i} lambda {k}");
            // The certificate is the f64 gap: recompute it independently.
            let exact = pb.duality_gap(&g.w, pen);
            assert!(
                exact.gap <= 1.01 * g.gap_tol + 1e-15,
                "{what}: problem {i} lambda {k}: exact gap {} > tol {}",
                exact.gap,
                g.gap_tol
            );
            let (og, oc) = (objective(pb, pen, g), objective(pb, pen, c));
            assert!(
                (og - oc).abs() <= g.gap_tol + c.gap_tol,
                "{what}: problem {i} lambda {k}: {og} vs {oc}"
            );
        }
    }
}

/// Each problem's path solved by itself in f64 on the CPU: the reference of a batch.
fn alone_on_the_cpu(
    problems: &[&Problem],
    grids: &[Vec<ElasticNet>],
    prm: &ValidParams,
) -> Vec<Vec<Fit>> {
    let mut cpu = CpuBackend::new(Algorithm::Cd);
    problems
        .iter()
        .zip(grids)
        .map(|(pb, g)| paths(&[pb], std::slice::from_ref(g), &mut cpu, prm).remove(0))
        .collect()
}

/// The full data and each fold of `labels` as problems on `x` (statistics per fold).
fn fold_problems<'a>(
    x: &'a Dense<f64>,
    y: &'a [f64],
    prep: Preprocess,
    labels: &[usize],
) -> Vec<Problem<'a>> {
    ColumnStats::for_folds(x, prep, labels)
        .unwrap()
        .into_iter()
        .map(|s| Problem::with_stats(x, Arc::new(s), y).unwrap())
        .collect()
}

fn grid(pb: &Problem, l1_ratio: f64, steps: usize) -> Vec<ElasticNet> {
    let top = if l1_ratio > 0.0 {
        pb.lambda_max(l1_ratio)
    } else {
        10.0 * pb.lambda_max(1.0)
    };
    geometric_grid(top, 0.02, steps)
        .into_iter()
        .map(|lambda| ElasticNet { lambda, l1_ratio })
        .collect()
}

#[test]
fn folds_and_the_full_data_solve_together_as_they_do_alone_on_the_cpu() {
    let Some(mut gpu) = gpu_or_skip(GpuOptions::default()) else {
        return;
    };
    let (n, p) = (60, 400);
    let (x, y) = awkward(n, p, 9);
    let labels = fold_labels(n, 5);
    let prm = params(1e-8);
    for prep in Preprocess::ALL {
        for l1_ratio in [1.0, 0.5, 0.0] {
            let pbs = fold_problems(&x, &y, prep, &labels);
            let refs: Vec<&Problem> = pbs.iter().collect();
            let grids: Vec<Vec<ElasticNet>> = refs.iter().map(|pb| grid(pb, l1_ratio, 8)).collect();
            let on_gpu = paths(&refs, &grids, &mut gpu, &prm);
            let on_cpu = alone_on_the_cpu(&refs, &grids, &prm);
            let what = format!("{prep:?} l1_ratio {l1_ratio}");
            assert_matches_cpu(&what, &refs, &grids, &on_gpu, &on_cpu);
            // The driver gives exact zeros itself; every other fit came from the device.
            let solved = on_gpu
                .iter()
                .flatten()
                .filter(|f| f.w.iter().any(|&v| v != 0.0));
            assert!(solved.clone().count() > 0, "{what}");
            assert!(
                solved.clone().all(|f| f.device.starts_with("gpu")),
                "{what}"
            );
        }
    }
}

/// The kernels' parameter structs bound as uniform buffers (adapters with few storage
/// bindings) instead of read-only storage (the default wherever the adapter allows, because
/// lavapipe recompiles a shader per dispatch on some uniform values, kernels::ParamsBinding):
/// one problem and the folds together reach the CPU's optima, certified, either way.
#[test]
fn parameters_in_uniform_buffers_give_the_same_answers() {
    use lariat::solver::gpu::kernels::ParamsBinding;
    let Some(mut gpu) = gpu_or_skip(GpuOptions {
        params_binding: Some(ParamsBinding::Uniform),
        ..GpuOptions::default()
    }) else {
        return;
    };
    assert_eq!(gpu.kernels().config.params, ParamsBinding::Uniform);
    let (n, p) = (60, 400);
    let (x, y) = awkward(n, p, 23);
    let labels = fold_labels(n, 3);
    let prm = params(1e-8);
    for l1_ratio in [1.0, 0.5] {
        let pbs = fold_problems(&x, &y, Preprocess::default(), &labels);
        let all: Vec<&Problem> = pbs.iter().collect();
        for refs in [&all[..1], &all[..]] {
            let grids: Vec<Vec<ElasticNet>> = refs.iter().map(|pb| grid(pb, l1_ratio, 6)).collect();
            let on_gpu = paths(refs, &grids, &mut gpu, &prm);
            let on_cpu = alone_on_the_cpu(refs, &grids, &prm);
            let what = format!(
                "uniform parameters, {} problems, l1_ratio {l1_ratio}",
                refs.len()
            );
            assert_matches_cpu(&what, refs, &grids, &on_gpu, &on_cpu);
            assert!(
                on_gpu.iter().flatten().any(|f| f.device.starts_with("gpu")),
                "{what}: nothing ran on the device"
            );
        }
    }
}

/// Device work summed over a path (every problem of a batch reports the batch's figures, so
/// the first problem's are the batch's).
fn path_work(fits: &[Vec<Fit>]) -> lariat::solver::DeviceWork {
    let mut sum = lariat::solver::DeviceWork::default();
    for f in &fits[0] {
        let Some(w) = f.device_work else { continue };
        sum.read_backs += w.read_backs;
        sum.working_set_rounds += w.working_set_rounds;
        sum.block_passes += w.block_passes;
        sum.gap_checks += w.gap_checks;
        sum.fista_steps += w.fista_steps;
        sum.speculative_passes += w.speculative_passes;
        sum.speculative_passes_used += w.speculative_passes_used;
    }
    sum
}

/// A gap check that carries the round's block pass (speculation.rs) gives each answer the
/// correlations its certificate needs: the same optima, certified, with one wait fewer per
/// device round; never carried, no check brings a pass.
#[test]
fn checks_that_carry_the_pass_certify_the_same_answers_with_fewer_waits() {
    use lariat::solver::gpu::speculation::SpeculativePass;
    let gpu_with = |mode| {
        gpu_or_skip(GpuOptions {
            speculative_pass: Some(mode),
            max_panel_cols: Some(150),
            ..GpuOptions::default()
        })
    };
    let (Some(mut always), Some(mut never)) = (
        gpu_with(SpeculativePass::Always),
        gpu_with(SpeculativePass::Never),
    ) else {
        return;
    };
    let (n, p) = (60, 400);
    let (x, y) = awkward(n, p, 19);
    let labels = fold_labels(n, 4);
    let prm = params(1e-6);
    for prep in [Preprocess::default(), Preprocess::ALL[3]] {
        for l1_ratio in [1.0, 0.5] {
            let pbs = fold_problems(&x, &y, prep, &labels);
            let refs: Vec<&Problem> = pbs.iter().collect();
            let grids: Vec<Vec<ElasticNet>> =
                refs.iter().map(|pb| grid(pb, l1_ratio, 10)).collect();
            let carried = paths(&refs, &grids, &mut always, &prm);
            let plain = paths(&refs, &grids, &mut never, &prm);
            let what = format!("{prep:?} l1_ratio {l1_ratio}");
            assert_matches_cpu(&what, &refs, &grids, &carried, &plain);
            let (a, b) = (path_work(&carried), path_work(&plain));
            eprintln!(
                "{what}: carried {} read-backs over {} device rounds ({} checks, {} passes, {} \
                 of them carried, {} used); not carried {} over {} ({} checks, {} passes)",
                a.read_backs,
                a.working_set_rounds,
                a.gap_checks,
                a.block_passes,
                a.speculative_passes,
                a.speculative_passes_used,
                b.read_backs,
                b.working_set_rounds,
                b.gap_checks,
                b.block_passes
            );
            assert!(
                a.working_set_rounds > 0,
                "{what}: no round ran on the device"
            );
            // Checks carry a pass only in rounds whose whole batch is on the device (a problem
            // left to the host needs the round's pass anyway); each pass used spares exactly
            // one plain pass.
            assert!(a.speculative_passes <= a.gap_checks, "{what}");
            assert!(
                a.speculative_passes_used > 0,
                "{what}: no carried pass was used"
            );
            assert!(a.speculative_passes_used <= a.working_set_rounds, "{what}");
            assert_eq!((b.speculative_passes, b.speculative_passes_used), (0, 0));
            assert_eq!(
                a.block_passes - a.speculative_passes,
                b.block_passes - a.speculative_passes_used,
                "{what}: {a:?} vs {b:?}"
            );
            assert!(a.read_backs < b.read_backs, "{what}: {a:?} vs {b:?}");
        }
    }
}

/// The costs `auto` weighs are measured on the device: a wait and a pass, finite and positive.
#[test]
fn the_costs_of_speculation_are_measured() {
    use lariat::solver::gpu::speculation::measure;
    let Some(gpu) = gpu_or_skip(GpuOptions::default()) else {
        return;
    };
    let (x, y) = random_problem(40, 300, 3);
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    let mut block = BlockResident::upload(gpu.context(), &pb, 1, None).unwrap();
    let c = measure(gpu.context(), gpu.kernels(), &mut block, &pb).unwrap();
    assert!(c.round_trip > 0.0 && c.round_trip.is_finite(), "{c:?}");
    assert!(
        c.miss_per_problem >= 0.0 && c.miss_per_problem.is_finite(),
        "{c:?}"
    );
}

#[test]
fn responses_solve_together_and_a_finished_problem_adds_no_passes() {
    use lariat::solver::gpu::speculation::SpeculativePass;
    // Passes counted one per round (checks that carry one would add the ones they waste).
    let Some(mut gpu) = gpu_or_skip(GpuOptions {
        speculative_pass: Some(SpeculativePass::Never),
        ..GpuOptions::default()
    }) else {
        return;
    };
    let (n, p) = (50, 600);
    let (x, y) = random_problem(n, p, 21);
    // Responses from easy (a multiple of one column: few passes) to hard.
    let ys: Vec<Vec<f64>> = (0..5)
        .map(|c| match c {
            0 => x.col(4).to_vec(),
            _ => y
                .iter()
                .enumerate()
                .map(|(i, v)| v * c as f64 + (i % c) as f64)
                .collect(),
        })
        .collect();
    let stats = Arc::new(ColumnStats::new(&x, Preprocess::default()).unwrap());
    let pbs: Vec<Problem> = ys
        .iter()
        .map(|y| Problem::with_stats(&x, Arc::clone(&stats), y).unwrap())
        .collect();
    let refs: Vec<&Problem> = pbs.iter().collect();
    let prm = params(1e-8);
    // One lambda, cold: every problem needs device passes.
    let pens: Vec<ElasticNet> = refs
        .iter()
        .map(|pb| ElasticNet {
            lambda: 0.05 * pb.lambda_max(1.0),
            l1_ratio: 1.0,
        })
        .collect();
    let warms = vec![None; refs.len()];
    let fits = gpu.solve_batch(&refs, &pens, &warms, &prm).unwrap();
    let passes: Vec<usize> = fits.iter().map(|f| f.full_passes).collect();
    let submissions = gpu.stats.block_passes;
    // One pass over X per round serves every open problem: no more passes than the
    // neediest problem's, and fewer than one per problem per pass.
    assert!(
        submissions <= *passes.iter().max().unwrap(),
        "{submissions} submissions for passes {passes:?}"
    );
    assert!(
        submissions < passes.iter().sum::<usize>(),
        "{submissions} submissions for passes {passes:?}"
    );
    // The subproblems ran as FISTA on the device, each stopping on its own: the frozen
    // problems took fewer steps than the others.
    assert!(gpu.stats.gpu_iterations > 0);
    let steps: Vec<usize> = fits.iter().map(|f| f.n_iter).collect();
    assert!(steps.iter().any(|&s| s != steps[0]), "steps {steps:?}");
    let mut cpu = CpuBackend::new(Algorithm::Cd);
    for (i, (pb, fit)) in refs.iter().zip(&fits).enumerate() {
        assert_eq!(fit.status, Status::Converged, "response {i}");
        let want = cpu.solve(pb, &pens[i], None, &prm).unwrap();
        let (og, oc) = (objective(pb, &pens[i], fit), objective(pb, &pens[i], &want));
        assert!(
            (og - oc).abs() <= fit.gap_tol + want.gap_tol,
            "response {i}: {og} vs {oc}"
        );
    }
}

#[test]
fn cv_on_the_gpu_chooses_what_the_cpu_chooses() {
    use lariat::cv::{cross_validate_in, Folds};
    use lariat::engine::Engine;
    use lariat::fit::{FitConfig, GridRule, LambdaGrid};
    let Some(gpu) = gpu_or_skip(GpuOptions::default()) else {
        return;
    };
    let (x, y) = random_problem(70, 300, 31);
    let folds = Folds::random(70, 5, 2).unwrap();
    let grid = LambdaGrid::Geometric {
        n_lambdas: 20,
        min_ratio: Some(0.01),
        rule: GridRule::Glmnet,
    };
    // The held-out error moves to first order with the coefficients (which a gap of tol
    // bounds only to sqrt(tol)): a tight tolerance makes both answers the optimum's.
    let cfg = FitConfig {
        solver: SolverParams {
            tol: 1e-13,
            ..SolverParams::default()
        },
        ..FitConfig::default()
    };
    let run = |engine: &mut Engine| {
        cross_validate_in(engine, &x, &[&y], None, &cfg, &grid, &folds, &mut |_, _| {})
            .unwrap()
            .remove(0)
    };
    let on_gpu = run(&mut Engine::with_backend(Box::new(gpu)));
    let on_cpu = run(&mut Engine::with_backend(Box::new(CpuBackend::new(
        Algorithm::Cd,
    ))));
    assert!(
        on_gpu.path.backend.starts_with("gpu"),
        "{}",
        on_gpu.path.backend
    );
    assert_eq!(on_gpu.index_min, on_cpu.index_min);
    assert_eq!(on_gpu.index_1se, on_cpu.index_1se);
    for (a, b) in on_gpu.cvm.iter().zip(&on_cpu.cvm) {
        assert!((a - b).abs() <= 1e-5 * b.abs(), "cvm {a} vs {b}");
    }
}

/// Toward Ridge (l1_ratio 1e-6) the device's gap checks use the Elastic Net's unscaled dual,
/// as the CPU's do: with the rescaled one alone the dense subproblems near interpolation ran
/// thousands of FISTA steps (this path: 2,605 iterations, 319 with the unscaled dual). Same
/// optima as the CPU, within the gap.
#[test]
fn near_ridge_device_checks_certify_with_the_unscaled_dual() {
    let Some(mut gpu) = gpu_or_skip(GpuOptions::default()) else {
        return;
    };
    let (n, p) = (100, 1500);
    let (z, _) = random_problem(n, p, 23);
    // Neighbouring columns correlated 0.6 (Toeplitz), a sparse truth and noise.
    let mut data = z.as_col_major().to_vec();
    for j in 1..p {
        for i in 0..n {
            data[j * n + i] = 0.6 * data[(j - 1) * n + i] + 0.8 * data[j * n + i];
        }
    }
    let x = Dense::from_col_major(n, p, data);
    let y: Vec<f64> = (0..n)
        .map(|i| {
            (0..20)
                .map(|t| x.col(t * 71)[i] * (1.0 + 0.05 * t as f64))
                .sum::<f64>()
                + z.col(p - 1)[i]
        })
        .collect();
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    let refs = [&pb];
    // glmnet's grid for a near-Ridge mix: from lambda_max at l1_ratio 1e-3 down 100-fold.
    let grids = vec![geometric_grid(pb.lambda_max(1e-3), 1e-3, 30)
        .into_iter()
        .map(|lambda| ElasticNet {
            lambda,
            l1_ratio: 1e-6,
        })
        .collect::<Vec<_>>()];
    let prm = params(1e-5);
    let on_gpu = paths(&refs, &grids, &mut gpu, &prm);
    let on_cpu = paths(&refs, &grids, &mut CpuBackend::new(Algorithm::Cd), &prm);
    assert_matches_cpu("l1_ratio 1e-6", &refs, &grids, &on_gpu, &on_cpu);
    let steps: usize = on_gpu[0].iter().map(|f| f.n_iter).sum();
    let work = path_work(&on_gpu);
    eprintln!("l1_ratio 1e-6: {steps} iterations, {work:?}");
    assert!(work.working_set_rounds > 0, "no round ran on the device");
    assert!(
        steps <= 40 * grids[0].len(),
        "{steps} iterations over 30 lambdas"
    );
}

/// Preconditioned FISTA ([`lariat::solver::fista::jacobi`]) does not mind how the
/// columns are scaled: a path on unstandardized columns of scales 1e-2 to 1e2 takes about the
/// FISTA steps of the same columns standardized (unpreconditioned it took several times as
/// many), each lambda certified against the CPU.
#[test]
fn column_scales_cost_no_extra_fista_steps() {
    let Some(mut gpu) = gpu_or_skip(GpuOptions::default()) else {
        return;
    };
    let (n, p) = (80, 300);
    let (x, y) = random_problem(n, p, 31);
    let x = scale_columns(&x, (-1.0, 1.0));
    let prm = params(1e-6);
    let mut steps = Vec::new();
    for standardize in [false, true] {
        let prep = Preprocess {
            fit_intercept: true,
            standardize,
        };
        let pb = Problem::new(&x, &y, prep).unwrap();
        let grids = vec![grid(&pb, 1.0, 10)];
        let on_gpu = paths(&[&pb], &grids, &mut gpu, &prm);
        let mut cpu = CpuBackend::new(Algorithm::Cd);
        let on_cpu = paths(&[&pb], &grids, &mut cpu, &prm);
        let what = format!("column scales 1e-2..1e2, standardize {standardize}");
        assert_matches_cpu(&what, &[&pb], &grids, &on_gpu, &on_cpu);
        let work = path_work(&on_gpu);
        assert!(
            work.working_set_rounds > 0,
            "{what}: no round on the device"
        );
        steps.push(work.fista_steps);
    }
    let (raw, standardized) = (steps[0], steps[1]);
    eprintln!("FISTA steps: unstandardized {raw}, standardized {standardized}");
    assert!(
        raw <= 3 * standardized,
        "unstandardized columns took {raw} FISTA steps, standardized {standardized}"
    );
}
