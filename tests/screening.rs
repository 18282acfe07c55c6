//! Screening and paths (issue #4): Gap Safe never discards a feature of the solution, the
//! strong rule's mistakes are caught by the KKT check, working sets and every combination of
//! rules reach the answers of plain solves, and each point of a path equals a cold fit.
#![allow(clippy::needless_range_loop)]

mod common;

use common::{random_problem, rel_diff};
use lariat::design::Dense;
use lariat::params::{Algorithm, Screening, SolverParams};
use lariat::path::{geometric_grid, solve_path};
use lariat::penalty::ElasticNet;
use lariat::problem::{Preprocess, Problem};
use lariat::solver::screening::{gap_safe_screen, kkt_violators, strong_set, WorkingSets};
use lariat::solver::{Backend, CpuBackend, Fit};
use lariat::synth::{toeplitz_design, Rng};

fn params(tol: f64, screening: Screening) -> lariat::params::ValidParams {
    SolverParams {
        tol,
        max_iter: Some(1_000_000),
        algorithm: Algorithm::Cd,
        screening,
        ..SolverParams::default()
    }
    .check()
    .unwrap()
}

fn path(pb: &Problem, pens: &[ElasticNet], screening: Screening, tol: f64) -> Vec<Fit> {
    solve_path(
        pb,
        pens,
        &mut CpuBackend::new(Algorithm::Cd),
        &params(tol, screening),
    )
    .unwrap()
}

fn grid(pb: &Problem, l1_ratio: f64, k: usize) -> Vec<ElasticNet> {
    geometric_grid(pb.lambda_max(l1_ratio), 0.02, k)
        .into_iter()
        .map(|lambda| ElasticNet { lambda, l1_ratio })
        .collect()
}

/// Correlated designs make the strong rule err and screening matter.
fn correlated_problem(n: usize, p: usize, seed: u64) -> (Dense<f64>, Vec<f64>) {
    let mut rng = Rng::new(seed);
    let x = toeplitz_design(n, p, 0.8, &mut rng).unwrap();
    let mut y: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
    for _ in 0..5 {
        let j = rng.below(p);
        lariat::design::Design::col_axpy(&x, j, 2.0 * rng.normal(), &mut y);
    }
    (x, y)
}

#[test]
fn gap_safe_never_discards_a_feature_of_the_solution() {
    let mut checked = 0;
    let mut discarded = 0;
    for seed in 0..12u64 {
        let (x, y) = if seed % 2 == 0 {
            random_problem(25, 120, 900 + seed)
        } else {
            correlated_problem(30, 100, 900 + seed)
        };
        let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
        for l1_ratio in [1.0, 0.5] {
            for ratio in [0.5, 0.1, 0.02] {
                let pen = ElasticNet {
                    lambda: ratio * pb.lambda_max(l1_ratio),
                    l1_ratio,
                };
                let exact = CpuBackend::new(Algorithm::Cd)
                    .solve(&pb, &pen, None, &params(1e-13, Screening::NONE))
                    .unwrap();
                // Screen from points of increasing quality: 0, a rough solve, a tight one.
                for tol in [f64::INFINITY, 1e-1, 1e-3, 1e-6] {
                    let w = if tol.is_infinite() {
                        vec![0.0; pb.p()]
                    } else {
                        CpuBackend::new(Algorithm::Cd)
                            .solve(&pb, &pen, None, &params(tol, Screening::NONE))
                            .unwrap()
                            .w
                    };
                    let r = pb.residual(&w);
                    let mut g = vec![0.0; pb.p()];
                    pb.rmatvec(&r, &mut g);
                    let info = pb.duality_gap_from(&w, &r, &g, &pen);
                    let mut alive = vec![true; pb.p()];
                    let out = gap_safe_screen(&pb, &pen, &w, &g, &info, &mut alive);
                    for j in &out {
                        assert_eq!(
                            exact.w[*j], 0.0,
                            "seed {seed} {pen:?} tol {tol}: discarded active feature {j}"
                        );
                    }
                    checked += 1;
                    discarded += out.len();
                }
            }
        }
    }
    // The test is only meaningful if the rule discards something.
    assert!(
        discarded > 1000,
        "Gap Safe discarded only {discarded} features in {checked} screens"
    );
}

#[test]
fn strong_rule_paths_match_plain_paths() {
    let mut violations = 0;
    for seed in 0..10u64 {
        let (x, y) = correlated_problem(30, 150, 300 + seed);
        let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
        let pens = grid(&pb, 1.0, 25);
        let plain = path(&pb, &pens, Screening::NONE, 1e-12);
        let strong_only = Screening {
            strong_rule: true,
            gap_safe: false,
            working_sets: WorkingSets::Off,
        };
        let screened = path(&pb, &pens, strong_only, 1e-12);
        for k in 1..pens.len() {
            assert!(
                rel_diff(plain[k].objective, screened[k].objective) < 1e-9,
                "seed {seed} lambda {k}"
            );
            // Count what the rule got wrong, from the previous exact solution.
            let alive = vec![true; pb.p()];
            let s = strong_set(
                &pb,
                &pens[k],
                pens[k - 1].lambda,
                &plain[k - 1].w,
                &plain[k - 1].grad,
                &alive,
            );
            violations += (0..pb.p())
                .filter(|j| plain[k].w[*j] != 0.0 && !s.contains(j))
                .count();
            assert!(
                kkt_violators(&pb, &pens[k], &screened[k].w, &screened[k].grad, &alive).is_empty()
            );
        }
    }
    eprintln!("strong-rule violations seen (and repaired): {violations}");
}

/// A strong set that is wrong on purpose (built from a zero "previous gradient", so it holds
/// nothing): the KKT check must add every feature the solution needs.
#[test]
fn a_wrong_strong_set_is_repaired_by_the_kkt_check() {
    use lariat::solver::Warm;
    let (x, y) = correlated_problem(40, 200, 7);
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    let lmax = pb.lambda_max(1.0);
    let pen = ElasticNet {
        lambda: 0.05 * lmax,
        l1_ratio: 1.0,
    };
    let zero_w = vec![0.0; pb.p()];
    let zero_g = vec![0.0; pb.p()];
    let warm = Warm {
        w: &zero_w,
        lambda: Some(0.06 * lmax),
        grad: Some(&zero_g),
    };
    let strong_only = Screening {
        strong_rule: true,
        gap_safe: false,
        working_sets: WorkingSets::Off,
    };
    let alive = vec![true; pb.p()];
    assert!(strong_set(&pb, &pen, 0.06 * lmax, &zero_w, &zero_g, &alive).is_empty());
    let fixed = CpuBackend::new(Algorithm::Cd)
        .solve(&pb, &pen, Some(&warm), &params(1e-12, strong_only))
        .unwrap();
    let plain = CpuBackend::new(Algorithm::Cd)
        .solve(&pb, &pen, None, &params(1e-12, Screening::NONE))
        .unwrap();
    assert!(fixed.w.iter().filter(|&&v| v != 0.0).count() > 5);
    assert!(rel_diff(fixed.objective, plain.objective) < 1e-10);
}

#[test]
fn every_combination_of_rules_reaches_the_plain_answers() {
    for seed in 0..4u64 {
        let (x, y) = correlated_problem(40, 200, 50 + seed);
        for prep in [
            Preprocess::default(),
            Preprocess {
                fit_intercept: true,
                standardize: true,
            },
        ] {
            let pb = Problem::new(&x, &y, prep).unwrap();
            for l1_ratio in [1.0, 0.7] {
                let pens = grid(&pb, l1_ratio, 15);
                let plain = path(&pb, &pens, Screening::NONE, 1e-12);
                for bits in 1..8u8 {
                    let s = Screening {
                        strong_rule: bits & 1 != 0,
                        gap_safe: bits & 2 != 0,
                        working_sets: if bits & 4 != 0 {
                            WorkingSets::On
                        } else {
                            WorkingSets::Off
                        },
                    };
                    let fits = path(&pb, &pens, s, 1e-12);
                    for k in 0..pens.len() {
                        let d = rel_diff(plain[k].objective, fits[k].objective);
                        assert!(d < 1e-9, "seed {seed} {s:?} lambda #{k}: {d:e}");
                        let scale = plain[k].w.iter().fold(1.0f64, |m, v| m.max(v.abs()));
                        for j in 0..pb.p() {
                            assert!(
                                (plain[k].w[j] - fits[k].w[j]).abs() < 1e-5 * scale,
                                "seed {seed} {s:?} #{k} w[{j}]"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn each_point_of_a_path_equals_a_cold_fit() {
    let (x, y) = correlated_problem(50, 300, 8);
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    let pens = grid(&pb, 0.9, 20);
    let fits = path(&pb, &pens, Screening::default(), 1e-11);
    for (fit, pen) in fits.iter().zip(&pens) {
        let cold = CpuBackend::new(Algorithm::Cd)
            .solve(&pb, pen, None, &params(1e-11, Screening::NONE))
            .unwrap();
        assert!(
            rel_diff(fit.objective, cold.objective) < 1e-8,
            "lambda {}",
            pen.lambda
        );
    }
}
