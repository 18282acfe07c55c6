//! Agreement with scikit-learn on committed fixtures (tests/fixtures/gen_sklearn.py made them):
//! Toeplitz designs, and SNP-like genotype designs (0/1/2, LD blocks, a monomorphic column,
//! exact duplicates), on both CPU solvers and the GPU.

#![allow(clippy::needless_range_loop)]

mod common;

use common::rel_diff;
use lariat::design::Dense;
use lariat::fit::{fit, FitConfig, LambdaSpec};
use lariat::params::{Algorithm, SolverParams};
use lariat::problem::Preprocess;
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    name: String,
    n: usize,
    p: usize,
    x: Vec<Vec<f64>>,
    y: Vec<f64>,
    lambda: f64,
    l1_ratio: f64,
    fit_intercept: bool,
    standardize: bool,
    coef: Vec<f64>,
    intercept: f64,
    objective: f64,
}

fn fixtures() -> Vec<Fixture> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sklearn");
    let mut out: Vec<Fixture> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap())
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(out.len() >= 9, "fixtures missing from {}", dir.display());
    out
}

fn check_against_sklearn(alg: Algorithm) {
    for fx in fixtures() {
        let rows: Vec<f64> = fx.x.concat();
        let x = Dense::from_row_major(fx.n, fx.p, &rows);
        let cfg = FitConfig {
            preprocess: Preprocess {
                fit_intercept: fx.fit_intercept,
                standardize: fx.standardize,
            },
            lambda: LambdaSpec::Value(fx.lambda),
            l1_ratio: fx.l1_ratio,
            solver: SolverParams {
                tol: 1e-13,
                max_iter: Some(2_000_000),
                algorithm: alg,
                ..SolverParams::default()
            },
            ..FitConfig::default()
        };
        let out = fit(&x, &fx.y, None, &cfg).unwrap();
        let m = &out.model;
        assert!(m.converged, "{} {alg:?}: gap {}", fx.name, m.duality_gap);
        let d = rel_diff(m.objective, fx.objective);
        assert!(
            d < 1e-8,
            "{} {alg:?}: objective {} vs sklearn {} (rel {d:e})",
            fx.name,
            m.objective,
            fx.objective
        );
        let coef = m.coef.to_dense(fx.p);
        for j in 0..fx.p {
            let err = (coef[j] - fx.coef[j]).abs();
            assert!(
                err < 1e-6 * fx.coef[j].abs().max(1.0),
                "{} {alg:?}: coef[{j}] {} vs sklearn {}",
                fx.name,
                coef[j],
                fx.coef[j]
            );
        }
        let err = (m.intercept - fx.intercept).abs();
        assert!(
            err < 1e-6 * fx.intercept.abs().max(1.0),
            "{}: intercept {} vs {}",
            fx.name,
            m.intercept,
            fx.intercept
        );
    }
}

#[test]
fn cd_matches_sklearn() {
    check_against_sklearn(Algorithm::Cd);
}

#[test]
fn fista_matches_sklearn() {
    check_against_sklearn(Algorithm::Fista);
}

/// The GPU (f32 iterations, f64 certificate) reaches scikit-learn's objective on every
/// fixture, SNP-like designs with monomorphic and duplicated columns included.
#[cfg(feature = "gpu")]
#[test]
fn gpu_matches_sklearn_objectives() {
    use lariat::penalty::ElasticNet;
    use lariat::problem::Problem;
    use lariat::solver::{Backend, Status};
    let Some(mut gpu) = common::gpu_or_skip(Default::default()) else {
        return;
    };
    for fx in fixtures() {
        let rows: Vec<f64> = fx.x.concat();
        let x = Dense::from_row_major(fx.n, fx.p, &rows);
        let prep = Preprocess {
            fit_intercept: fx.fit_intercept,
            standardize: fx.standardize,
        };
        let pb = Problem::new(&x, &fx.y, prep).unwrap();
        let pen = ElasticNet {
            lambda: fx.lambda,
            l1_ratio: fx.l1_ratio,
        };
        let params = SolverParams {
            tol: 1e-8,
            max_iter: Some(500_000),
            algorithm: Algorithm::Fista,
            ..SolverParams::default()
        }
        .check()
        .unwrap();
        let got = gpu.solve(&pb, &pen, None, &params).unwrap();
        assert_eq!(got.status, Status::Converged, "{}", fx.name);
        let d = rel_diff(got.objective, fx.objective);
        assert!(
            d < 1e-7,
            "{}: {} vs sklearn {}",
            fx.name,
            got.objective,
            fx.objective
        );
        common::assert_gap_is_full_pass(&pb, &pen, &got, &fx.name);
    }
}
