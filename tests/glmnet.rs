//! Regularization paths against R's glmnet, on committed fixtures
//! (tests/fixtures/gen_glmnet.R made them): the objective at every lambda of glmnet's grid.

mod common;

use common::rel_diff;
use lariat::design::Dense;
use lariat::fit::{fit_path, FitConfig, LambdaGrid};
use lariat::params::SolverParams;
use lariat::problem::Preprocess;
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    name: String,
    n: usize,
    p: usize,
    l1_ratio: f64,
    fit_intercept: bool,
    #[serde(default)]
    standardize: bool,
    x: Vec<f64>,
    y: Vec<f64>,
    lambdas: Vec<f64>,
    objectives: Vec<f64>,
    nonzeros: Vec<f64>,
}

#[test]
fn paths_match_glmnet_at_every_lambda() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/glmnet");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let fx: Fixture = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let x = Dense::from_row_major(fx.n, fx.p, &fx.x);
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
            ..FitConfig::default()
        };
        let out = fit_path(
            &x,
            &fx.y,
            None,
            &cfg,
            &LambdaGrid::Explicit(fx.lambdas.clone()),
        )
        .unwrap();
        assert_eq!(out.models.len(), fx.lambdas.len());
        for (k, m) in out.models.iter().enumerate() {
            assert!(m.converged, "{} lambda #{k}", fx.name);
            // glmnet stops on coefficient change (thresh 1e-14), not on a gap: its objective
            // can only be above the optimum, which lariat certifies to 1e-12.
            let d = rel_diff(m.objective, fx.objectives[k]);
            assert!(
                d < 1e-7,
                "{} lambda #{k} = {}: lariat {} glmnet {} ({d:e})",
                fx.name,
                fx.lambdas[k],
                m.objective,
                fx.objectives[k]
            );
            assert!(
                m.objective <= fx.objectives[k] * (1.0 + 1e-10),
                "{} #{k}: lariat above glmnet",
                fx.name
            );
            // A feature exactly at its entry point may be 0 in one and 1e-17 in the other.
            let nnz = m.coef.indices.len() as f64;
            assert!(
                (nnz - fx.nonzeros[k]).abs() <= 1.0,
                "{} lambda #{k}: support {nnz} vs {}",
                fx.name,
                fx.nonzeros[k]
            );
        }
        count += 1;
    }
    assert!(count >= 8, "glmnet fixtures missing in {}", dir.display());
}
