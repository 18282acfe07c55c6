//! The working-set driver of batches (`lariat::solver::batch`), run on the f64 CPU engine
//! (exact block passes, coordinate descent on every subproblem): folds with the full data and
//! several responses, Lasso, Elastic Net and Ridge, each fit against an independent solve.
//! The GPU engine runs the same driver in tests/gpu_batch.rs.

mod common;

use std::sync::Arc;

use common::random_problem;
use lariat::params::{Algorithm, ValidParams};
use lariat::path::{geometric_grid, solve_paths};
use lariat::penalty::ElasticNet;
use lariat::problem::{ColumnStats, Preprocess, Problem};
use lariat::solver::batch::{solve, CpuEngine};
use lariat::solver::{Backend, CpuBackend, Fit, Status, Warm};

use common::cd_params as params;

/// A backend whose batches go through the driver on the CPU engine.
struct Driven;

impl Backend for Driven {
    fn device(&self) -> String {
        "cpu".into()
    }
    fn solver(&self) -> String {
        "working sets".into()
    }
    fn solve(
        &mut self,
        pb: &Problem,
        pen: &ElasticNet,
        warm: Option<&Warm>,
        params: &ValidParams,
    ) -> lariat::Result<Fit> {
        Ok(solve(
            &mut CpuEngine,
            &[pb],
            std::slice::from_ref(pen),
            &[warm.copied()],
            params,
        )?
        .remove(0))
    }
    fn solve_batch(
        &mut self,
        problems: &[&Problem],
        penalties: &[ElasticNet],
        warms: &[Option<Warm>],
        params: &ValidParams,
    ) -> lariat::Result<Vec<Fit>> {
        solve(&mut CpuEngine, problems, penalties, warms, params)
    }
}

fn grid(pb: &Problem, l1_ratio: f64) -> Vec<ElasticNet> {
    let top = if l1_ratio > 0.0 {
        pb.lambda_max(l1_ratio)
    } else {
        10.0 * pb.lambda_max(1.0)
    };
    geometric_grid(top, 0.02, 8)
        .into_iter()
        .map(|lambda| ElasticNet { lambda, l1_ratio })
        .collect()
}

fn paths(
    problems: &[&Problem],
    grids: &[Vec<ElasticNet>],
    backend: &mut dyn Backend,
) -> Vec<Vec<Fit>> {
    let mut out: Vec<Vec<Fit>> = problems.iter().map(|_| Vec::new()).collect();
    let refs: Vec<&[ElasticNet]> = grids.iter().map(Vec::as_slice).collect();
    solve_paths(
        problems,
        &refs,
        backend,
        &params(1e-9),
        &mut |_, _| {},
        &mut |i, _, f| out[i].push(f.clone()),
    )
    .unwrap();
    out
}

#[test]
fn driven_batches_reach_each_problems_own_optimum() {
    let (x, y) = random_problem(45, 300, 17);
    let labels: Vec<usize> = (0..45).map(|i| (i * 7 + i / 3) % 4).collect();
    let y2: Vec<f64> = y
        .iter()
        .enumerate()
        .map(|(i, v)| 2.0 * v - (i % 3) as f64)
        .collect();
    for prep in Preprocess::ALL {
        let stats: Vec<Arc<ColumnStats>> = ColumnStats::for_folds(&x, prep, &labels)
            .unwrap()
            .into_iter()
            .map(Arc::new)
            .collect();
        // The full data and its folds, and a second response on the full data.
        let mut pbs: Vec<Problem> = stats
            .iter()
            .map(|s| Problem::with_stats(&x, Arc::clone(s), &y).unwrap())
            .collect();
        pbs.push(Problem::with_stats(&x, Arc::clone(&stats[0]), &y2).unwrap());
        let refs: Vec<&Problem> = pbs.iter().collect();
        for l1_ratio in [1.0, 0.5, 0.0] {
            let grids: Vec<Vec<ElasticNet>> = refs.iter().map(|pb| grid(pb, l1_ratio)).collect();
            let driven = paths(&refs, &grids, &mut Driven);
            let mut cd = CpuBackend::new(Algorithm::Cd);
            for (i, pb) in refs.iter().enumerate() {
                let alone = paths(&[pb], std::slice::from_ref(&grids[i]), &mut cd).remove(0);
                for (k, pen) in grids[i].iter().enumerate() {
                    let (d, a) = (&driven[i][k], &alone[k]);
                    assert_eq!(d.status, Status::Converged, "{prep:?} {l1_ratio} {i} {k}");
                    assert_eq!(d.device, "cpu");
                    let exact = pb.duality_gap(&d.w, pen).gap;
                    assert!(
                        exact <= 1.01 * d.gap_tol,
                        "{prep:?} {l1_ratio} {i} {k}: {exact}"
                    );
                    let (od, oa) = (
                        pb.duality_gap(&d.w, pen).primal,
                        pb.duality_gap(&a.w, pen).primal,
                    );
                    assert!(
                        (od - oa).abs() <= d.gap_tol + a.gap_tol,
                        "{prep:?} {l1_ratio} problem {i} lambda {k}: {od} vs {oa}"
                    );
                }
            }
        }
    }
}
