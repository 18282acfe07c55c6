//! The high-level fit: validated configuration in, [`Model`] out. It sets up the
//! [`Problem`], resolves lambda, and runs a path of length one.

use std::time::Instant;

use crate::design::Design;
use crate::error::{Error, Result};
use crate::model::{Model, SparseCoef};
use crate::params::{check_l1_ratio, check_penalty, SolverParams};
use crate::path::solve_path;
use crate::penalty::ElasticNet;
use crate::problem::{Preprocess, Problem};
use crate::solver::{make_backend, BackendKind, BackendRequest, Fit, Status};

/// How lambda is given.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LambdaSpec {
    /// The value itself.
    Value(f64),
    /// A fraction of `lambda_max` (needs `l1_ratio > 0`).
    Ratio(f64),
}

/// Everything a single fit needs besides the data.
#[derive(Clone, Debug)]
pub struct FitConfig {
    pub preprocess: Preprocess,
    pub lambda: LambdaSpec,
    pub l1_ratio: f64,
    pub solver: SolverParams,
    pub device: BackendKind,
    /// GPU adapter name filter (`--adapter`).
    pub adapter: Option<String>,
}

impl Default for FitConfig {
    fn default() -> Self {
        FitConfig {
            preprocess: Preprocess::default(),
            lambda: LambdaSpec::Ratio(0.1),
            l1_ratio: 1.0,
            solver: SolverParams::default(),
            device: BackendKind::Auto,
            adapter: None,
        }
    }
}

/// A fit with what a report needs beyond the model.
#[derive(Clone, Debug)]
pub struct FitOutcome {
    pub model: Model,
    /// The solver's result in problem units.
    pub fit: Fit,
    /// `lambda_max` of the problem (infinite for Ridge).
    pub lambda_max: f64,
    /// Columns whose coefficient is 0 by construction (constant, or all zero).
    pub zero_columns: Vec<usize>,
    /// The backend that solved it, e.g. "cpu" or "gpu: NVIDIA H100 (Vulkan, DiscreteGpu)".
    pub backend: String,
}

/// Resolves `LambdaSpec` against the problem.
pub fn resolve_lambda(problem: &Problem, spec: LambdaSpec, l1_ratio: f64) -> Result<f64> {
    match spec {
        LambdaSpec::Value(l) => Ok(l),
        LambdaSpec::Ratio(r) => {
            if l1_ratio == 0.0 {
                return Err(Error::invalid(
                    "lambda-ratio",
                    r,
                    "needs l1-ratio > 0 (ridge has no lambda_max); give --lambda directly",
                ));
            }
            if !(r.is_finite() && r > 0.0) {
                return Err(Error::invalid("lambda-ratio", r, "must be a number > 0"));
            }
            let lmax = problem.lambda_max(l1_ratio);
            if lmax == 0.0 {
                return Err(Error::invalid(
                    "lambda-ratio",
                    r,
                    "lambda_max is 0 (y is constant once centred, or X has no usable column); give --lambda directly",
                ));
            }
            Ok(r * lmax)
        }
    }
}

/// Fits one Elastic-Net model.
pub fn fit(
    x: &dyn Design,
    y: &[f64],
    feature_names: Option<&[String]>,
    cfg: &FitConfig,
) -> Result<FitOutcome> {
    let l1_ratio = check_l1_ratio(cfg.l1_ratio)?;
    let params = cfg.solver.check()?;
    if let Some(names) = feature_names {
        if names.len() != x.n_cols() {
            return Err(Error::Shape {
                what: format!("{} feature names for {} columns", names.len(), x.n_cols()),
            });
        }
    }
    // The clock covers setup (column means and norms, lambda_max) as well as the solve, as
    // scikit-learn's fit() covers its preprocessing: timings compare like with like.
    let start = Instant::now();
    let problem = Problem::new(x, y, cfg.preprocess)?;
    let lambda = resolve_lambda(&problem, cfg.lambda, l1_ratio)?;
    let penalty = check_penalty(ElasticNet { lambda, l1_ratio })?;
    let lambda_max = if l1_ratio > 0.0 {
        problem.lambda_max(l1_ratio)
    } else {
        f64::INFINITY
    };
    let mut backend = make_backend(&BackendRequest {
        kind: cfg.device,
        algorithm: cfg.solver.algorithm,
        adapter: cfg.adapter.clone(),
        entries: x.n_rows() * x.n_cols(),
    })?;
    let fit = solve_path(&problem, &[penalty], backend.as_mut(), &params)?
        .pop()
        .expect("a path of one lambda has one fit");
    let seconds = start.elapsed().as_secs_f64();
    let (coef, intercept) = problem.unscale(&fit.w);
    let model = Model {
        intercept,
        coef: SparseCoef::from_dense(&coef),
        n_features: x.n_cols(),
        feature_names: feature_names.map(<[String]>::to_vec),
        lambda,
        l1_ratio,
        objective: fit.objective,
        duality_gap: fit.gap,
        gap_tolerance: fit.gap_tol,
        tol: params.tol,
        iterations: fit.n_iter,
        converged: fit.status == Status::Converged,
        device: fit.device.clone(),
        solver: backend.solver(),
        seconds,
        fit_intercept: cfg.preprocess.fit_intercept,
        standardize: cfg.preprocess.standardize,
        n_samples: x.n_rows(),
    };
    Ok(FitOutcome {
        model,
        fit,
        lambda_max,
        zero_columns: problem.zero_columns(),
        backend: backend.device(),
    })
}
