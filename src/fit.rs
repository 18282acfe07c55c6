//! The high-level fit: validated configuration in, [`Model`] out. It sets up the
//! [`Problem`], resolves lambda, and runs a path of length one.

use std::sync::Arc;
use std::time::Instant;

use crate::design::Design;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::model::{Model, SparseCoef};
use crate::params::{check_l1_ratio, check_penalty, SolverParams};
use crate::path::{geometric_grid, solve_paths_from};
use crate::penalty::ElasticNet;
use crate::problem::{ColumnStats, Preprocess, Problem};
use crate::solver::{Backend, BackendKind, Fit, Status};

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

impl FitConfig {
    /// A fresh [`Engine`] for this configuration's device, algorithm and adapter.
    pub fn engine(&self) -> Engine {
        Engine::new(self.device, self.solver.algorithm, self.adapter.clone())
    }
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
                if let Some(e) = crate::range::zero_lambda_max_from_underflow(problem) {
                    return Err(e);
                }
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

/// Below this `l1_ratio` a default grid starts from the `lambda_max` of this one (glmnet's
/// rule, so Ridge and near-Ridge paths get a grid too).
pub const RIDGE_GRID_L1_RATIO: f64 = 1e-3;

/// `np.finfo(np.float64).resolution`: scikit-learn's flat grid below it.
const SKLEARN_RESOLUTION: f64 = 1e-15;

/// The most lambdas a path takes: each is a solve and a model kept, so a grid of 1e8 (a typo
/// for 1e3?) would exhaust memory or run for days; glmnet's and scikit-learn's default is 100.
pub const MAX_LAMBDAS: usize = 100_000;

/// The lambdas of a path.
#[derive(Clone, Debug, PartialEq)]
pub enum LambdaGrid {
    /// One lambda (a single fit).
    One(LambdaSpec),
    /// `n_lambdas` values from `lambda_max` down to `min_ratio * lambda_max`, log-spaced;
    /// `min_ratio` defaults to 1e-4 when n >= p, else 1e-2 (glmnet's `lambda.min.ratio`).
    /// Where it starts and what it does where `lambda_max` is 0 follow `rule`.
    Geometric {
        n_lambdas: usize,
        min_ratio: Option<f64>,
        rule: GridRule,
    },
    /// Explicit values, solved in the order given.
    Explicit(Vec<f64>),
}

/// Whose conventions a default grid follows where glmnet and scikit-learn differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GridRule {
    /// glmnet's (the command line's): below `l1_ratio` = [`RIDGE_GRID_L1_RATIO`] (Ridge
    /// included) `lambda_max` is taken at that value; where `lambda_max` is 0 (y constant
    /// once centred, or no usable column) there is no grid, an error.
    Glmnet,
    /// scikit-learn's (the Python estimators'): `lambda_max` at the `l1_ratio` itself (none
    /// for Ridge, an error); where it is at most 1e-15 (its float resolution), `n_lambdas`
    /// copies of that.
    ScikitLearn,
}

/// A path of fits, in grid order. Models hold only their non-zeros, so a long path at large p
/// costs O(non-zeros), not O(p), per lambda.
#[derive(Clone, Debug)]
pub struct PathOutcome {
    pub lambdas: Vec<f64>,
    pub models: Vec<Model>,
    /// `lambda_max` of the problem (infinite for Ridge).
    pub lambda_max: f64,
    /// Columns whose coefficient is 0 by construction (constant, or all zero).
    pub zero_columns: Vec<usize>,
    /// The backend that solved it, e.g. "cpu" or "gpu: NVIDIA H100 (Vulkan, DiscreteGpu)".
    pub backend: String,
    /// Setup and all solves.
    pub seconds: f64,
}

impl PathOutcome {
    /// What `lariat path --out` writes: `{"lambdas": [...], "fits": [model, ...]}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "lambdas": self.lambdas, "fits": self.models })
    }
}

/// A grid of `len` lambdas (given by the flag `name`) is at most [`MAX_LAMBDAS`] long.
fn check_grid_size(name: &'static str, len: usize) -> Result<()> {
    if len > MAX_LAMBDAS {
        return Err(Error::invalid(
            name,
            format!("{len} lambdas"),
            format!("must be at most {MAX_LAMBDAS} (each lambda is a solve)"),
        ));
    }
    Ok(())
}

/// The lambdas of `grid` for this problem, checked.
pub fn resolve_grid(problem: &Problem, grid: &LambdaGrid, l1_ratio: f64) -> Result<Vec<f64>> {
    let lambdas = match grid {
        LambdaGrid::One(spec) => vec![resolve_lambda(problem, *spec, l1_ratio)?],
        LambdaGrid::Explicit(v) => v.clone(),
        LambdaGrid::Geometric {
            n_lambdas,
            min_ratio,
            rule,
        } => {
            if *n_lambdas == 0 {
                return Err(Error::invalid("n-lambdas", 0, "must be at least 1"));
            }
            // Before the grid is made: 1e8 lambdas would be 800 MB of grid alone.
            check_grid_size("n-lambdas", *n_lambdas)?;
            let ratio = min_ratio.unwrap_or(if problem.n() >= problem.p() {
                1e-4
            } else {
                1e-2
            });
            if !(ratio.is_finite() && ratio > 0.0 && ratio <= 1.0) {
                return Err(Error::invalid(
                    "lambda-min-ratio",
                    ratio,
                    "must be in (0, 1]",
                ));
            }
            let lmax = match rule {
                GridRule::Glmnet => problem.lambda_max(l1_ratio.max(RIDGE_GRID_L1_RATIO)),
                GridRule::ScikitLearn if l1_ratio > 0.0 => problem.lambda_max(l1_ratio),
                GridRule::ScikitLearn => {
                    return Err(Error::invalid(
                        "l1-ratio",
                        l1_ratio,
                        "a default grid needs l1_ratio > 0 (Ridge has no alpha_max); give \
                         the alphas",
                    ))
                }
            };
            // scikit-learn's `_alpha_grid`: at or below its float resolution the grid is flat.
            if lmax <= SKLEARN_RESOLUTION && *rule == GridRule::ScikitLearn {
                vec![SKLEARN_RESOLUTION; *n_lambdas]
            } else if !(lmax.is_finite() && lmax > 0.0) {
                if let Some(e) = crate::range::zero_lambda_max_from_underflow(problem) {
                    return Err(e);
                }
                return Err(Error::invalid(
                    "n-lambdas",
                    n_lambdas,
                    "no grid: lambda_max is 0 (y is constant once centred, or X has no usable \
                     column), so every lambda gives all-zero coefficients; give explicit lambdas \
                     with --lambdas",
                ));
            } else {
                geometric_grid(lmax, ratio, *n_lambdas)
            }
        }
    };
    if lambdas.is_empty() {
        return Err(Error::invalid("lambdas", "[]", "the grid is empty"));
    }
    check_grid_size("lambdas", lambdas.len())?;
    for &lambda in &lambdas {
        check_penalty(ElasticNet { lambda, l1_ratio })?;
        crate::range::check_lambda(problem, lambda)?;
    }
    Ok(lambdas)
}

/// Fits one Elastic-Net model: a path of length one.
pub fn fit(
    x: &dyn Design,
    y: &[f64],
    feature_names: Option<&[String]>,
    cfg: &FitConfig,
) -> Result<FitOutcome> {
    Ok(fit_responses(x, &[y], feature_names, cfg)?
        .pop()
        .expect("one response, one fit"))
}

/// Fits one model per response in `ys` (each with one entry per row of `x`), all in one
/// batch: one set of column statistics, and the passes over X shared. A lambda given as a
/// ratio is relative to each response's own lambda_max.
pub fn fit_responses(
    x: &dyn Design,
    ys: &[&[f64]],
    feature_names: Option<&[String]>,
    cfg: &FitConfig,
) -> Result<Vec<FitOutcome>> {
    let mut last: Vec<Option<Fit>> = ys.iter().map(|_| None).collect();
    let data = PathData {
        x,
        ys,
        feature_names,
        rows: None,
        starts: &[],
    };
    let paths = fit_path_inner(
        &mut cfg.engine(),
        data,
        cfg,
        &LambdaGrid::One(cfg.lambda),
        &mut |_, _| {},
        &mut |i, fit| last[i] = Some(fit.clone()),
    )?;
    Ok(paths
        .into_iter()
        .zip(last)
        .map(|(mut path, fit)| FitOutcome {
            model: path
                .models
                .pop()
                .expect("a path of one lambda has one model"),
            fit: fit.expect("a path of one lambda has one fit"),
            lambda_max: path.lambda_max,
            zero_columns: path.zero_columns,
            backend: path.backend,
        })
        .collect())
}

/// Fits the Elastic Net at every lambda of `grid`, warm-starting each from the previous.
/// `cfg.lambda` is ignored.
pub fn fit_path(
    x: &dyn Design,
    y: &[f64],
    feature_names: Option<&[String]>,
    cfg: &FitConfig,
    grid: &LambdaGrid,
) -> Result<PathOutcome> {
    fit_path_with_progress(x, y, feature_names, cfg, grid, &mut |_, _| {})
}

/// [`fit_path`], calling `progress(done, total)` after each lambda.
pub fn fit_path_with_progress(
    x: &dyn Design,
    y: &[f64],
    feature_names: Option<&[String]>,
    cfg: &FitConfig,
    grid: &LambdaGrid,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<PathOutcome> {
    Ok(
        fit_paths_with_progress(x, &[y], feature_names, cfg, grid, progress)?
            .pop()
            .expect("one response, one path"),
    )
}

/// The paths of several responses (each on its own grid when the grid comes from lambda_max)
/// in one batch, calling `progress(done, total)` after each lambda.
pub fn fit_paths_with_progress(
    x: &dyn Design,
    ys: &[&[f64]],
    feature_names: Option<&[String]>,
    cfg: &FitConfig,
    grid: &LambdaGrid,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<PathOutcome>> {
    fit_paths_in(&mut cfg.engine(), x, ys, feature_names, cfg, grid, progress)
}

/// [`fit_paths_with_progress`] through an [`Engine`] that outlives the call: its device,
/// kernels and uploaded X serve the next fit too.
pub fn fit_paths_in(
    engine: &mut Engine,
    x: &dyn Design,
    ys: &[&[f64]],
    feature_names: Option<&[String]>,
    cfg: &FitConfig,
    grid: &LambdaGrid,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<PathOutcome>> {
    let data = PathData {
        x,
        ys,
        feature_names,
        rows: None,
        starts: &[],
    };
    fit_path_inner(engine, data, cfg, grid, progress, &mut |_, _| {})
}

/// [`fit_paths_in`] with the first lambda of response `i` warm-started from `starts[i]`, its
/// coefficients on the scale of X (a model's `coef`, as scikit-learn's `warm_start` and
/// `coef_init` pass them): one per response, each with one entry per column.
#[allow(clippy::too_many_arguments)]
pub fn fit_paths_from(
    engine: &mut Engine,
    x: &dyn Design,
    ys: &[&[f64]],
    starts: &[Vec<f64>],
    feature_names: Option<&[String]>,
    cfg: &FitConfig,
    grid: &LambdaGrid,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<PathOutcome>> {
    if starts.len() != ys.len() {
        return Err(Error::Shape {
            what: format!(
                "{} initial coefficient vectors for {} responses",
                starts.len(),
                ys.len()
            ),
        });
    }
    if let Some(bad) = starts.iter().find(|w| w.len() != x.n_cols()) {
        return Err(Error::Shape {
            what: format!(
                "initial coefficients of length {}, X has {} columns",
                bad.len(),
                x.n_cols()
            ),
        });
    }
    if let Some((i, j)) = starts
        .iter()
        .enumerate()
        .find_map(|(i, w)| w.iter().position(|v| !v.is_finite()).map(|j| (i, j)))
    {
        return Err(Error::invalid(
            "initial coefficients",
            format!("{} (response {i}, column {j})", starts[i][j]),
            "finite numbers",
        ));
    }
    let data = PathData {
        x,
        ys,
        feature_names,
        rows: None,
        starts,
    };
    fit_path_inner(engine, data, cfg, grid, progress, &mut |_, _| {})
}

/// [`fit_path_with_progress`] on the rows of `x` and `y` where `rows` is true (a training
/// set, held as a row mask over X without a copy): centring, standardization, the grid and
/// `n_samples` are those of these rows.
pub fn fit_path_on_rows(
    x: &dyn Design,
    y: &[f64],
    feature_names: Option<&[String]>,
    cfg: &FitConfig,
    grid: &LambdaGrid,
    rows: &[bool],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<PathOutcome> {
    if rows.len() != x.n_rows() {
        return Err(Error::Shape {
            what: format!("a row mask of {} for {} rows", rows.len(), x.n_rows()),
        });
    }
    let data = PathData {
        x,
        ys: &[y],
        feature_names,
        rows: Some(rows),
        starts: &[],
    };
    Ok(
        fit_path_inner(&mut cfg.engine(), data, cfg, grid, progress, &mut |_, _| {})?
            .pop()
            .expect("one response, one path"),
    )
}

/// The data of a path: X, the responses, the feature names, and the rows to fit on (all when
/// `None`).
struct PathData<'a> {
    x: &'a dyn Design,
    ys: &'a [&'a [f64]],
    feature_names: Option<&'a [String]>,
    rows: Option<&'a [bool]>,
    /// Initial coefficients on X's scale, one per response, or none.
    starts: &'a [Vec<f64>],
}

/// The path, handing the last fit (in problem units) to `last`.
fn fit_path_inner(
    engine: &mut Engine,
    data: PathData,
    cfg: &FitConfig,
    grid: &LambdaGrid,
    progress: &mut dyn FnMut(usize, usize),
    last: &mut dyn FnMut(usize, &Fit),
) -> Result<Vec<PathOutcome>> {
    let PathData {
        x,
        ys,
        feature_names,
        rows,
        starts,
    } = data;
    let l1_ratio = check_l1_ratio(cfg.l1_ratio)?;
    let params = cfg.solver.check()?;
    check_feature_names(feature_names, x)?;
    if ys.is_empty() {
        return Err(Error::Shape {
            what: "no response to fit".into(),
        });
    }
    // The clock covers setup (column means and norms, lambda_max) as well as the solves, as
    // scikit-learn's fit() covers its preprocessing: timings compare like with like.
    let start = Instant::now();
    // One set of column statistics for every response: they depend on the rows only.
    let stats = Arc::new(match rows {
        None => ColumnStats::new(x, cfg.preprocess)?,
        Some(rows) => ColumnStats::for_rows(x, cfg.preprocess, rows)?,
    });
    let count = ys.len();
    let problems: Vec<Problem> = ys
        .iter()
        .enumerate()
        .map(|(r, y)| Error::of_response(r, count, Problem::with_stats(x, Arc::clone(&stats), y)))
        .collect::<Result<_>>()?;
    let mut grids = Vec::with_capacity(problems.len());
    for (r, pb) in problems.iter().enumerate() {
        let lambdas = Error::of_response(
            r,
            count,
            crate::range::check_scale(pb, feature_names)
                .and_then(|()| resolve_grid(pb, grid, l1_ratio))
                .and_then(|lambdas| {
                    crate::range::check_underflowed(pb, feature_names, &lambdas, l1_ratio)?;
                    Ok(lambdas)
                }),
        )?;
        grids.push(penalties_of(&lambdas, l1_ratio));
    }
    let backend = engine.backend(x.n_rows() * x.n_cols())?;
    let report = ModelReport::new(feature_names, cfg, params.tol, backend);
    let steps = grids[0].len();
    let mut models: Vec<Vec<Model>> = problems.iter().map(|_| Vec::with_capacity(steps)).collect();
    let refs: Vec<&Problem> = problems.iter().collect();
    let grid_refs: Vec<&[ElasticNet]> = grids.iter().map(Vec::as_slice).collect();
    // A model's coefficient is w_j / s_j: the solver's units are w_j = coef_j s_j, and a
    // column that is zero once centred keeps w_j = 0.
    let starts: Vec<Vec<f64>> = starts
        .iter()
        .zip(&problems)
        .map(|(coef, pb)| {
            coef.iter()
                .zip(pb.x_scale().iter().zip(pb.col_sq_norms()))
                .map(|(&c, (&s, &sq))| if sq == 0.0 { 0.0 } else { c * s })
                .collect()
        })
        .collect();
    let start_refs: Vec<Option<&[f64]>> = starts.iter().map(|w| Some(w.as_slice())).collect();
    solve_paths_from(
        &refs,
        &grid_refs,
        &start_refs,
        backend,
        &params,
        progress,
        &mut |i, k, fit| {
            models[i].push(report.model(&problems[i], fit, &grids[i][k]));
            if k + 1 == steps {
                last(i, fit);
            }
        },
    )?;
    let seconds = start.elapsed().as_secs_f64();
    let device = backend.device();
    Ok(models
        .into_iter()
        .zip(&problems)
        .zip(&grids)
        .map(|((mut models, pb), pens)| {
            if let [model] = models.as_mut_slice() {
                model.seconds = seconds;
            }
            PathOutcome {
                lambdas: pens.iter().map(|p| p.lambda).collect(),
                models,
                lambda_max: lambda_max_of(pb, l1_ratio),
                zero_columns: pb.zero_columns(),
                backend: device.clone(),
                seconds,
            }
        })
        .collect())
}

/// `lambda_max` for reports (infinite for Ridge).
pub fn lambda_max_of(problem: &Problem, l1_ratio: f64) -> f64 {
    if l1_ratio > 0.0 {
        problem.lambda_max(l1_ratio)
    } else {
        f64::INFINITY
    }
}

/// The penalties of a grid.
pub fn penalties_of(lambdas: &[f64], l1_ratio: f64) -> Vec<ElasticNet> {
    lambdas
        .iter()
        .map(|&lambda| ElasticNet { lambda, l1_ratio })
        .collect()
}

/// Feature names, when given, name every column.
pub fn check_feature_names(feature_names: Option<&[String]>, x: &dyn Design) -> Result<()> {
    match feature_names {
        Some(names) if names.len() != x.n_cols() => Err(Error::Shape {
            what: format!("{} feature names for {} columns", names.len(), x.n_cols()),
        }),
        _ => Ok(()),
    }
}

/// What turns a fit in problem units into a [`Model`] on the data's scale.
pub struct ModelReport<'a> {
    pub feature_names: Option<&'a [String]>,
    pub cfg: &'a FitConfig,
    pub tol: f64,
    pub solver: String,
}

impl<'a> ModelReport<'a> {
    /// The report of the models `backend` solves under `cfg` at tolerance `tol`.
    pub fn new(
        feature_names: Option<&'a [String]>,
        cfg: &'a FitConfig,
        tol: f64,
        backend: &dyn Backend,
    ) -> Self {
        ModelReport {
            feature_names,
            cfg,
            tol,
            solver: backend.solver(),
        }
    }

    /// The model of `fit` (only its non-zeros are kept).
    pub fn model(&self, problem: &Problem, fit: &Fit, pen: &ElasticNet) -> Model {
        let (coef, intercept) = problem.unscale(&fit.w);
        Model {
            intercept,
            coef: SparseCoef::from_dense(&coef),
            n_features: problem.p(),
            feature_names: self.feature_names.map(<[String]>::to_vec),
            lambda: pen.lambda,
            l1_ratio: pen.l1_ratio,
            objective: fit.objective,
            duality_gap: fit.gap,
            gap_tolerance: fit.gap_tol,
            tol: self.tol,
            iterations: fit.n_iter,
            full_passes: fit.full_passes,
            converged: fit.status == Status::Converged,
            device: fit.device.clone(),
            solver: self.solver.clone(),
            seconds: fit.seconds,
            fit_intercept: self.cfg.preprocess.fit_intercept,
            standardize: self.cfg.preprocess.standardize,
            n_samples: problem.n(),
            gpu: fit.device_work,
        }
    }
}
