//! `lariat::cv` against R's cv.glmnet: fixtures made by `tests/fixtures/gen_cv_glmnet.R` (the
//! same foldid and lambda grid, glmnet solved to KKT 1e-10 and cross-checked in R against
//! per-fold fits), on Toeplitz, SNP-like and small-n wide designs.

use lariat::cv::{cross_validate, Folds};
use lariat::design::Dense;
use lariat::fit::{FitConfig, LambdaGrid};
use lariat::params::SolverParams;
use lariat::problem::Preprocess;
use lariat::solver::BackendKind;
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    name: String,
    n: usize,
    p: usize,
    l1_ratio: f64,
    fit_intercept: bool,
    standardize: bool,
    x: Vec<f64>,
    y: Vec<f64>,
    foldid: Vec<i64>,
    fold_sizes: Vec<usize>,
    lambda: Vec<f64>,
    cvm: Vec<f64>,
    cvsd: Vec<f64>,
    cvraw: Vec<Vec<f64>>,
    nzero: Vec<usize>,
    index_min: usize,
    index_1se: usize,
    lambda_min: f64,
    lambda_1se: f64,
    objective_min: f64,
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

fn check(file: &str) {
    let path = format!(
        "{}/tests/fixtures/cv_glmnet/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let fx: Fixture = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let x = Dense::from_row_major(fx.n, fx.p, &fx.x);
    let folds = Folds::from_labels(&fx.foldid).unwrap();
    assert_eq!(folds.sizes(), fx.fold_sizes.as_slice(), "{}", fx.name);
    let cfg = FitConfig {
        preprocess: Preprocess {
            fit_intercept: fx.fit_intercept,
            standardize: fx.standardize,
        },
        l1_ratio: fx.l1_ratio,
        solver: SolverParams {
            tol: 1e-12,
            ..SolverParams::default()
        },
        device: BackendKind::Cpu,
        ..FitConfig::default()
    };
    let grid = LambdaGrid::Explicit(fx.lambda.clone());
    let out = cross_validate(&x, &fx.y, None, &cfg, &grid, &folds, &mut |_, _| {}).unwrap();
    let name = &fx.name;
    assert!(out.unconverged_folds.is_empty(), "{name}");
    let nzero = out.nzero();
    for (l, &lambda) in fx.lambda.iter().enumerate() {
        for k in 0..folds.k() {
            assert!(
                rel(out.cvraw[k][l], fx.cvraw[k][l]) < 1e-6,
                "{name} fold {k} lambda {l}: {} vs {}",
                out.cvraw[k][l],
                fx.cvraw[k][l]
            );
        }
        assert!(rel(out.cvm[l], fx.cvm[l]) < 1e-6, "{name} cvm {l}");
        assert!(rel(out.cvsd[l], fx.cvsd[l]) < 1e-6, "{name} cvsd {l}");
        if lambda >= out.path.lambda_max * (1.0 - 1e-12) {
            // Zero is the answer from lambda_max (up to its rounding) on, and lariat gives
            // it exactly; glmnet may report a rounding-size coefficient there (wide_small_n's
            // first lambda is lambda_max (1 - 2e-16), where glmnet counts one non-zero).
            assert_eq!(nzero[l], 0, "{name} nzero {l}");
            continue;
        }
        // Exact duplicate columns share a Lasso coefficient in any proportion: the count of
        // non-zeros may differ by the duplicate.
        let slack = usize::from(name.starts_with("snp"));
        assert!(
            nzero[l].abs_diff(fx.nzero[l]) <= slack,
            "{name} nzero {l}: {} vs {}",
            nzero[l],
            fx.nzero[l]
        );
    }
    assert_eq!(out.index_min, fx.index_min, "{name}");
    assert_eq!(out.index_1se, fx.index_1se, "{name}");
    assert_eq!(out.lambda_min(), fx.lambda_min, "{name}");
    assert_eq!(out.lambda_1se(), fx.lambda_1se, "{name}");
    let at_min = &out.path.models[out.index_min];
    assert!(
        rel(at_min.objective, fx.objective_min) < 1e-9,
        "{name}: objective {} vs glmnet's {}",
        at_min.objective,
        fx.objective_min
    );
}

#[test]
fn toeplitz_lasso_5_folds() {
    check("toeplitz_lasso_5fold.json");
}

#[test]
fn snp_lasso_10_folds_standardized() {
    check("snp_lasso_10fold.json");
}

#[test]
fn toeplitz_elastic_net_standardized() {
    check("toeplitz_enet_standardized_5fold.json");
}

#[test]
fn elastic_net_without_intercept() {
    check("toeplitz_enet_no_intercept_5fold.json");
}

#[test]
fn small_n_wide_unequal_folds() {
    check("wide_small_n_unequal_folds.json");
}

/// Folds of fewer than 3 rows on average (12 rows, 6 folds): cv.glmnet enforces
/// `grouped = FALSE`, cvsd over the rows' held-out errors; the fixture's lambda_1se differs
/// from the grouped rule's (`tests/fixtures/gen_cv_glmnet_ungrouped.R`).
#[test]
fn folds_of_fewer_than_3_rows_take_cvsd_from_the_rows() {
    check("ungrouped_lasso_12rows.json");
    let path = format!(
        "{}/tests/fixtures/cv_glmnet/ungrouped_lasso_12rows.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let fx: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_ne!(fx["index_1se"], fx["index_1se_grouped"]);
}
