//! The argument lariat is built on, computed (`lariat demo`, `shared/docs/math.md`): on one
//! problem split into training and test rows,
//!
//! 1. the same budget of iterations for subgradient descent, proximal gradient (FISTA) and
//!    coordinate descent: only the last two reach a small duality gap and exact zeros;
//! 2. L1 against L2 (Ridge) and the Elastic Net at one strength: only an L1 term zeroes
//!    coefficients;
//! 3. a path with training and test error: the training error keeps falling as lambda shrinks,
//!    the test error turns up where the model starts fitting noise; cross-validation on the
//!    training rows picks its lambda without seeing the test rows.
//!
//! Every figure comes from the library's own fits ([`crate::fit`], [`crate::cv`],
//! [`crate::evaluate`]); nothing here solves anything itself.

use serde::Serialize;

use crate::cv::{cross_validate, Folds};
use crate::design::{Dense, Design};
use crate::error::{Error, Result};
use crate::evaluate::{error_curve, holdout_rows, ErrorCurve};
use crate::fit::{fit, fit_path, FitConfig, FitOutcome, GridRule, LambdaGrid, LambdaSpec};
use crate::params::Algorithm;
use crate::solver::BackendKind;

/// What the story is told with.
#[derive(Clone, Debug)]
pub struct LessonConfig {
    /// The fit settings (preprocessing, tolerance, device); the lambda is `lambda_ratio`.
    pub fit: FitConfig,
    pub lambda_ratio: f64,
    /// Iterations each solver of the race gets.
    pub budget: usize,
    /// The Elastic Net's mix in the L1/L2 comparison.
    pub enet_l1_ratio: f64,
    pub n_lambdas: usize,
    pub folds: usize,
    pub seed: u64,
}

/// A solver after the race's budget.
#[derive(Clone, Debug, Serialize)]
pub struct RaceEntry {
    pub solver: String,
    pub iterations: usize,
    pub objective: f64,
    pub duality_gap: f64,
    pub converged: bool,
    /// Coefficients exactly zero.
    pub exact_zeros: usize,
    /// Non-zero coefficients below 1e-8 in magnitude.
    pub tiny: usize,
    /// True features among the non-zeros (when the truth is known).
    pub true_found: Option<usize>,
    /// `(iterations, objective)` after 1, 2, 4, ... iterations up to the budget, each from a
    /// fit stopped there.
    pub trace: Vec<(usize, f64)>,
}

/// One penalty at the common strength.
#[derive(Clone, Debug, Serialize)]
pub struct PenaltyEntry {
    pub name: String,
    pub l1_ratio: f64,
    pub non_zeros: usize,
    pub train_mse: f64,
    pub test_mse: f64,
}

/// The same fit on the CPU and on a GPU.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceEntry {
    pub device: String,
    pub seconds: f64,
    pub objective: f64,
    pub duality_gap: f64,
}

/// The whole story, in numbers.
#[derive(Clone, Debug, Serialize)]
pub struct Lesson {
    pub n_train: usize,
    pub n_test: usize,
    pub p: usize,
    pub support: Option<Vec<usize>>,
    pub lambda: f64,
    pub lambda_max: f64,
    pub race: Vec<RaceEntry>,
    /// The best objective known (a tight coordinate-descent solve): the race's reference.
    pub best_objective: f64,
    pub penalties: Vec<PenaltyEntry>,
    pub lambdas: Vec<f64>,
    pub non_zeros: Vec<usize>,
    pub train: ErrorCurve,
    pub test: ErrorCurve,
    /// Index of the lowest test error on the path.
    pub best_test: usize,
    /// The lambda cross-validation (on the training rows) picks, and its index on the path.
    pub cv_lambda_min: f64,
    pub cv_index_min: usize,
    pub devices: Vec<DeviceEntry>,
}

/// The rows of `x` and `y` where `keep` is true, copied into a dense matrix (the lesson's
/// data are small; a real fit never copies X).
pub fn copy_rows(x: &dyn Design, y: &[f64], keep: &[bool]) -> (Dense<f64>, Vec<f64>) {
    let rows: Vec<usize> = (0..y.len()).filter(|&i| keep[i]).collect();
    let mut data = Vec::with_capacity(rows.len() * x.n_cols());
    let mut col = vec![0.0; x.n_rows()];
    for j in 0..x.n_cols() {
        col.iter_mut().for_each(|c| *c = 0.0);
        x.col_axpy(j, 1.0, &mut col);
        data.extend(rows.iter().map(|&i| col[i]));
    }
    let ys = rows.iter().map(|&i| y[i]).collect();
    (Dense::from_col_major(rows.len(), x.n_cols(), data), ys)
}

/// Largest problem the lesson copies (n p entries).
pub const MAX_LESSON_ENTRIES: usize = 200_000_000;

/// Splits `x`, `y` by a seeded hold-out of `test_fraction` of the rows and tells the story.
pub fn lesson_on(
    x: &dyn Design,
    y: &[f64],
    support: Option<&[usize]>,
    test_fraction: f64,
    cfg: &LessonConfig,
) -> Result<Lesson> {
    if x.n_rows() * x.n_cols() > MAX_LESSON_ENTRIES {
        return Err(Error::Unsupported(format!(
            "the demo copies its data; {} x {} is beyond its {MAX_LESSON_ENTRIES} entries (use fit, path and cv)",
            x.n_rows(),
            x.n_cols()
        )));
    }
    // The demo's flag for the hold-out is --test-fraction.
    let train = holdout_rows(x.n_rows(), test_fraction, cfg.seed).map_err(|e| match e {
        Error::InvalidParam {
            name: "holdout",
            value,
            expected,
        } => Error::InvalidParam {
            name: "test-fraction",
            value,
            expected,
        },
        e => e,
    })?;
    let n_train = train.iter().filter(|&&t| t).count();
    // Its cross-validation needs a row per fold, and a centred fit more than one row.
    let needed = cfg.folds.max(3);
    if n_train < needed {
        return Err(Error::invalid(
            "test-fraction",
            test_fraction,
            format!(
                "leaves {n_train} of {} rows for training; the lesson ({}-fold \
                 cross-validation on them) needs at least {needed}",
                x.n_rows(),
                cfg.folds
            ),
        ));
    }
    let (xt, yt) = copy_rows(x, y, &train);
    let test: Vec<bool> = train.iter().map(|&t| !t).collect();
    let (xs, ys) = copy_rows(x, y, &test);
    lesson(&xt, &yt, &xs, &ys, support, cfg)
}

/// The story on given training and test data.
pub fn lesson(
    x: &dyn Design,
    y: &[f64],
    test_x: &dyn Design,
    test_y: &[f64],
    support: Option<&[usize]>,
    cfg: &LessonConfig,
) -> Result<Lesson> {
    let with = |algorithm: Algorithm, max_iter: Option<usize>, l1_ratio: f64, device| {
        let mut c = cfg.fit.clone();
        c.lambda = LambdaSpec::Ratio(cfg.lambda_ratio);
        c.solver.algorithm = algorithm;
        c.solver.max_iter = max_iter;
        c.l1_ratio = l1_ratio;
        c.device = device;
        c
    };
    let lasso = fit(
        x,
        y,
        None,
        &with(Algorithm::Cd, None, 1.0, BackendKind::Cpu),
    )?;
    let lambda = lasso.model.lambda;
    // The race's reference: the same problem solved far tighter.
    let mut tight = with(Algorithm::Cd, None, 1.0, BackendKind::Cpu);
    tight.solver.tol = 1e-12;
    let best_objective = fit(x, y, None, &tight)?.model.objective;
    let mut race = Vec::new();
    for algorithm in [Algorithm::Subgradient, Algorithm::Fista, Algorithm::Cd] {
        let run = |k: usize| fit(x, y, None, &with(algorithm, Some(k), 1.0, BackendKind::Cpu));
        let last = run(cfg.budget)?;
        let mut trace = Vec::new();
        let mut k = 1;
        while k < cfg.budget {
            trace.push((k, run(k)?.model.objective));
            k *= 2;
        }
        trace.push((cfg.budget, last.model.objective));
        race.push(race_entry(algorithm, &last, x.n_cols(), support, trace));
    }
    let mut penalties = Vec::new();
    for (name, l1_ratio) in [
        ("lasso (L1)".to_string(), 1.0),
        (
            format!("elastic net ({})", cfg.enet_l1_ratio),
            cfg.enet_l1_ratio,
        ),
        ("ridge (L2)".to_string(), 0.0),
    ] {
        let mut c = with(Algorithm::Cd, None, l1_ratio, BackendKind::Cpu);
        // One strength for all three: the Lasso's lambda itself.
        c.lambda = LambdaSpec::Value(lambda);
        let out = fit(x, y, None, &c)?;
        let models = std::slice::from_ref(&out.model);
        penalties.push(PenaltyEntry {
            name,
            l1_ratio,
            non_zeros: out.model.coef.indices.len(),
            train_mse: error_curve(models, x, y, None)?.mse[0],
            test_mse: error_curve(models, test_x, test_y, None)?.mse[0],
        });
    }
    let grid = LambdaGrid::Geometric {
        n_lambdas: cfg.n_lambdas,
        min_ratio: None,
        rule: GridRule::Glmnet,
    };
    let path_cfg = with(Algorithm::Cd, None, 1.0, BackendKind::Cpu);
    let path = fit_path(x, y, None, &path_cfg, &grid)?;
    let train = error_curve(&path.models, x, y, None)?;
    let test = error_curve(&path.models, test_x, test_y, None)?;
    let best_test = (0..test.mse.len())
        .min_by(|&a, &b| test.mse[a].total_cmp(&test.mse[b]))
        .expect("a path has a lambda");
    let folds = Folds::random(x.n_rows(), cfg.folds, cfg.seed)?;
    let cv = cross_validate(x, y, None, &path_cfg, &grid, &folds, &mut |_, _| {})?;
    let devices = compare_devices(x, y, &with, cfg.fit.device)?;
    Ok(Lesson {
        n_train: x.n_rows(),
        n_test: test_x.n_rows(),
        p: x.n_cols(),
        support: support.map(<[usize]>::to_vec),
        lambda,
        lambda_max: lasso.lambda_max,
        race,
        best_objective,
        penalties,
        non_zeros: path.models.iter().map(|m| m.coef.indices.len()).collect(),
        lambdas: path.lambdas,
        train,
        test,
        best_test,
        cv_lambda_min: cv.lambda_min(),
        cv_index_min: cv.index_min,
        devices,
    })
}

fn race_entry(
    algorithm: Algorithm,
    out: &FitOutcome,
    p: usize,
    support: Option<&[usize]>,
    trace: Vec<(usize, f64)>,
) -> RaceEntry {
    let m = &out.model;
    RaceEntry {
        solver: algorithm.name().into(),
        iterations: m.iterations,
        objective: m.objective,
        duality_gap: m.duality_gap,
        converged: m.converged,
        exact_zeros: p - m.coef.indices.len(),
        tiny: m.coef.values.iter().filter(|v| v.abs() < 1e-8).count(),
        true_found: support.map(|s| {
            s.iter()
                .filter(|j| m.coef.indices.binary_search(j).is_ok())
                .count()
        }),
        trace,
    }
}

/// The Lasso fit on the CPU and, where a GPU can be had (`--device gpu`: any adapter; `auto`:
/// a hardware one), on the GPU: times and certified gaps.
fn compare_devices(
    x: &dyn Design,
    y: &[f64],
    with: &dyn Fn(Algorithm, Option<usize>, f64, BackendKind) -> FitConfig,
    device: BackendKind,
) -> Result<Vec<DeviceEntry>> {
    let entry = |out: FitOutcome| DeviceEntry {
        device: out.backend.clone(),
        seconds: out.model.seconds,
        objective: out.model.objective,
        duality_gap: out.model.duality_gap,
    };
    let mut rows = vec![entry(fit(
        x,
        y,
        None,
        &with(Algorithm::Cd, None, 1.0, BackendKind::Cpu),
    )?)];
    let gpu_cfg = with(Algorithm::Fista, None, 1.0, BackendKind::Gpu);
    match device {
        BackendKind::Gpu => rows.push(entry(fit(x, y, None, &gpu_cfg)?)),
        BackendKind::Auto if crate::solver::hardware_gpu_present() => {
            rows.push(entry(fit(x, y, None, &gpu_cfg)?))
        }
        _ => {}
    }
    Ok(rows)
}
