//! A caller's initial coefficients (scikit-learn's `warm_start`, `fit::fit_paths_from`): on
//! X's scale, converted to the solver's units whatever the preprocessing; a start at the
//! answer costs less than a cold solve and lands on the same optimum; a start of the wrong
//! shape or with a NaN is an error.

mod common;

use common::random_problem;
use lariat::fit::{fit_paths_from, fit_paths_in, FitConfig, LambdaGrid, LambdaSpec};
use lariat::params::SolverParams;
use lariat::problem::Preprocess;
use lariat::solver::BackendKind;
use lariat::Error;

fn cfg(prep: Preprocess) -> FitConfig {
    FitConfig {
        preprocess: prep,
        solver: SolverParams {
            tol: 1e-10,
            ..SolverParams::default()
        },
        device: BackendKind::Cpu,
        ..FitConfig::default()
    }
}

#[test]
fn a_start_at_the_answer_is_cheaper_and_lands_on_the_same_optimum() {
    let (x, y) = random_problem(50, 300, 4);
    let grid = LambdaGrid::One(LambdaSpec::Ratio(0.05));
    for prep in Preprocess::ALL {
        let cfg = cfg(prep);
        let mut engine = cfg.engine();
        let cold = fit_paths_in(&mut engine, &x, &[&y], None, &cfg, &grid, &mut |_, _| {})
            .unwrap()
            .remove(0)
            .models
            .remove(0);
        let mut coef = vec![0.0; 300];
        for (&j, &v) in cold.coef.indices.iter().zip(&cold.coef.values) {
            coef[j] = v;
        }
        let warm = fit_paths_from(
            &mut engine,
            &x,
            &[&y],
            &[coef],
            None,
            &cfg,
            &grid,
            &mut |_, _| {},
        )
        .unwrap()
        .remove(0)
        .models
        .remove(0);
        assert!(warm.converged, "{prep:?}");
        assert!(
            (warm.objective - cold.objective).abs() <= 2.0 * cold.gap_tolerance,
            "{prep:?}: {} vs {}",
            warm.objective,
            cold.objective
        );
        // Started at the answer (in X's units, scaled right under --standardize): the first
        // sweep certifies it, where a cold start takes 18 to 2053 sweeps here.
        assert!(
            warm.iterations <= 2 && warm.iterations < cold.iterations,
            "{prep:?}: {} warm against {} cold",
            warm.iterations,
            cold.iterations
        );
    }
}

#[test]
fn a_start_of_the_wrong_shape_or_with_a_nan_is_an_error() {
    let (x, y) = random_problem(20, 30, 5);
    let cfg = cfg(Preprocess::default());
    let grid = LambdaGrid::One(LambdaSpec::Ratio(0.1));
    let run = |starts: &[Vec<f64>]| {
        fit_paths_from(
            &mut cfg.engine(),
            &x,
            &[&y],
            starts,
            None,
            &cfg,
            &grid,
            &mut |_, _| {},
        )
    };
    assert!(matches!(run(&[vec![0.0; 29]]), Err(Error::Shape { .. })));
    assert!(matches!(run(&[]), Err(Error::Shape { .. })));
    let mut nan = vec![0.0; 30];
    nan[3] = f64::NAN;
    let err = run(&[nan]).unwrap_err().to_string();
    assert!(err.contains("column 3"), "{err}");
}
