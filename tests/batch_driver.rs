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

/// The preconditioner of the device's subproblems: each coordinate's curvature is its
/// column's `||xe_j||^2 / n + l2`; on standardized columns (all alike) the per-coordinate
/// step `step / h_j` is plain FISTA's `1 / L`; on unstandardized ones it still bounds the
/// preconditioned Hessian, checked against its largest eigenvalue by power iteration.
#[test]
fn the_jacobi_step_is_plain_fistas_on_standardized_columns_and_safe_on_raw_ones() {
    use lariat::design::Columns;
    use lariat::solver::fista;
    let (x, y) = random_problem(50, 120, 12);
    let ws: Vec<usize> = (0..120).step_by(7).collect();
    let pen = ElasticNet {
        lambda: 0.3,
        l1_ratio: 0.5,
    };
    for standardize in [true, false] {
        let prep = Preprocess {
            fit_intercept: true,
            standardize,
        };
        let pb = Problem::new(&x, &y, prep).unwrap();
        let (h, step) = fista::jacobi(&pb, &pen, &ws).unwrap();
        let n = pb.n() as f64;
        for (&j, &hj) in ws.iter().zip(&h) {
            let want = pb.col_sq_norms()[j] / n + pen.l2();
            assert!((hj - want).abs() <= 1e-12 * want, "{j}: {hj} vs {want}");
        }
        let cols = Columns::new(pb.design(), ws.clone());
        let stats = Arc::new(pb.stats().select_columns(&ws));
        let sub = Problem::with_stats(&cols, stats, pb.yc()).unwrap();
        if standardize {
            let plain = 1.0 / fista::lipschitz(&sub, &pen);
            let rel = (step / h[0] - plain).abs() / plain;
            assert!(rel < 1e-6, "standardized: {} vs {plain}", step / h[0]);
        } else {
            assert!(
                h.iter().any(|&v| (v - h[0]).abs() > 0.5 * h[0]),
                "scales alike"
            );
        }
        // The largest eigenvalue of D^-1 (Xe^T Xe / n + l2) D^-1, D = diag(sqrt(h)), by power
        // iteration on the host: the step must not exceed its inverse.
        let m = ws.len();
        let mut v = vec![1.0; m];
        let mut lam = 0.0;
        for _ in 0..500 {
            let u: Vec<f64> = v.iter().zip(&h).map(|(a, b)| a / b.sqrt()).collect();
            let mut r = vec![0.0; sub.n_rows()];
            sub.matvec(&u, &mut r);
            let mut g = vec![0.0; m];
            sub.rmatvec(&r, &mut g);
            let hv: Vec<f64> = (0..m)
                .map(|k| (g[k] / n + pen.l2() * u[k]) / h[k].sqrt())
                .collect();
            lam = hv.iter().map(|a| a * a).sum::<f64>().sqrt();
            v = hv.iter().map(|a| a / lam).collect();
        }
        assert!(
            step > 0.0 && step <= 1.0 / lam,
            "{standardize}: step {step}, 1/lambda {}",
            1.0 / lam
        );
        assert!(
            step >= 0.5 / lam,
            "{standardize}: step {step} far below 1/lambda {}",
            1.0 / lam
        );
    }
}
