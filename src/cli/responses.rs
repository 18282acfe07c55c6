//! Several responses in one run: `--y` with k columns (a 2-D .npy, or a CSV of k columns), or
//! k `--target` columns of a CSV `--x`, fits k models (paths, cross-validations) in one batch; the JSON holds one per response, in
//! order, beside the responses' names.

use anyhow::{bail, Context, Result};
use lariat::cv::{cross_validate_responses, Folds};
use lariat::data::csv::read_dataset_targets;
use lariat::data::{read_dataset, table_width, Dataset, Format, Target};
use lariat::evaluate::error_curve;
use lariat::fit::{fit_paths_with_progress, fit_responses, FitConfig, LambdaGrid};
use lariat::outputs::Outputs;

use super::{print_notices, print_written, with_progress, DataArgs, InputArgs};

/// The k responses of a multi-column `--y`.
pub struct Responses {
    pub ys: Vec<Vec<f64>>,
    pub names: Vec<String>,
}

impl Responses {
    fn slices(&self) -> Vec<&[f64]> {
        self.ys.iter().map(Vec::as_slice).collect()
    }
}

/// The data and responses of a several-response run: `--target` with several columns of a
/// CSV `--x`, or a `--y` with more than one column; `None` for a single response (the
/// one-response commands read it as before).
pub fn detect(data: &DataArgs, input: &InputArgs) -> Result<Option<(Dataset, Responses)>> {
    if data.target.len() > 1 {
        return from_targets(data, input).map(Some);
    }
    let Some(r) = from_y(data, input)? else {
        return Ok(None);
    };
    let ds = read_x(data, input, &r)?;
    Ok(Some((ds, r)))
}

/// The `--target` columns of `--x` (a CSV) as responses, the other columns as X.
fn from_targets(data: &DataArgs, input: &InputArgs) -> Result<(Dataset, Responses)> {
    let format = match input.format {
        Some(f) => f,
        None => Format::from_path(&data.x)?,
    };
    if format != Format::Csv {
        bail!(
            "{}: --target applies to CSV files only (several responses of another format \
             come from --y)",
            data.x.display()
        );
    }
    let targets: Vec<Target> = data.target.iter().map(|t| Target::parse(t)).collect();
    let (ds, columns) = read_dataset_targets(&data.x, &input.read_options(None), &targets)?;
    let responses = Responses {
        ys: columns.ys,
        names: columns.names,
    };
    Ok((ds, responses))
}

/// The responses of `--y` when it has more than one column.
fn from_y(data: &DataArgs, input: &InputArgs) -> Result<Option<Responses>> {
    let Some(path) = &data.y else {
        return Ok(None);
    };
    // A pipe (`--y <(...)`) can be read once: it is one response, read by that reader.
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return Ok(None);
    }
    let opts = input.read_options(None);
    let ds = match read_dataset(path, &opts) {
        Ok(ds) => ds,
        // A table of several columns with a bad value: that value is the error.
        Err(e) if table_width(path, &opts).is_some_and(|w| w >= 2) => return Err(e.into()),
        // Not a matrix (a 1-D .npy, say): the single-response reader says what it is.
        Err(_) => return Ok(None),
    };
    if ds.y.is_some() {
        return Err(lariat::data::libsvm_as_target(path).into());
    }
    let k = ds.x.n_cols();
    // One row of values is a row vector: one response, as the single-response reader reads it.
    if k < 2 || ds.x.n_rows() == 1 {
        return Ok(None);
    }
    let n = ds.x.n_rows();
    let ys = (0..k)
        .map(|j| {
            let mut col = vec![0.0; n];
            ds.x.col_axpy(j, 1.0, &mut col);
            col
        })
        .collect();
    let names = ds
        .feature_names
        .unwrap_or_else(|| (0..k).map(|j| format!("y{j}")).collect());
    if let Some((a, b)) =
        (0..k).find_map(|b| (0..b).find(|&a| names[a] == names[b]).map(|a| (a, b)))
    {
        super::print_notices(
            &[lariat::data::Notice {
                warning: true,
                text: format!(
                    "{}: columns {a} and {b} are both named '{}'; the JSON's responses keep \
                     their column order",
                    path.display(),
                    names[a]
                ),
            }],
            false,
        );
    }
    Ok(Some(Responses { ys, names }))
}

/// Reads X for several responses from `--y` (a file that carries its own target cannot have
/// more).
fn read_x(data: &DataArgs, input: &InputArgs, r: &Responses) -> Result<Dataset> {
    if !data.target.is_empty() {
        bail!(
            "--target picks columns of --x; several responses come from --y or --target, not both"
        );
    }
    let ds = read_dataset(&data.x, &input.read_options(None))?;
    if ds.y.is_some() {
        bail!(
            "{}: this file carries its own target; several responses come from --y with X alone",
            data.x.display()
        );
    }
    if ds.x.n_rows() != r.ys[0].len() {
        bail!(
            "X ({}) has {} rows but the responses have {}{}",
            data.x.display(),
            ds.x.n_rows(),
            r.ys[0].len(),
            super::numeric_header_hint(&ds, r.ys[0].len())
        );
    }
    Ok(ds)
}

/// Refuses the outputs that have no several-response form yet.
pub fn refuse(flags: &[(&str, bool)]) -> Result<()> {
    if let Some((flag, _)) = flags.iter().find(|(_, given)| *given) {
        bail!("{flag} takes one response; --y has several columns (fit them one at a time)");
    }
    Ok(())
}

fn stage_json(outs: &mut Outputs, value: serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(&value).expect("results always serialise");
    outs.stage("--out", text.as_bytes())
        .context("writing the results")?;
    Ok(())
}

/// `fit` with several responses: `{"responses": [names], "models": [model, ...]}`.
pub fn fit(
    ds: &Dataset,
    r: &Responses,
    cfg: &FitConfig,
    mut outs: Outputs,
    quiet: bool,
) -> Result<()> {
    print_notices(&ds.notices, quiet);
    let names = ds.feature_names.as_deref();
    let fits = fit_responses(ds.x.as_ref(), &r.slices(), names, cfg)?;
    let models: Vec<_> = fits.iter().map(|f| &f.model).collect();
    stage_json(
        &mut outs,
        serde_json::json!({ "responses": r.names, "models": models }),
    )?;
    let written = outs.publish()?;
    warn_unconverged(models.iter().map(|m| m.converged), &r.names);
    if !quiet {
        outln!(
            "data       {} from {}",
            ds.x.describe(),
            ds.source.display()
        )?;
        outln!(
            "{:>16}  {:>12}  {:>9}  {:>16}  {:>10}",
            "response",
            "lambda",
            "non-zeros",
            "objective",
            "gap"
        )?;
        for (name, m) in r.names.iter().zip(&models) {
            outln!(
                "{:>16}  {:>12.4e}  {:>9}  {:>16.10e}  {:>10.2e}",
                name,
                m.lambda,
                m.coef.indices.len(),
                m.objective,
                m.duality_gap
            )?;
        }
        print_written(&written)?;
    }
    Ok(())
}

/// `path` with several responses: `{"responses": [names], "paths": [{lambdas, fits}, ...]}`.
pub fn path(
    ds: &Dataset,
    r: &Responses,
    cfg: &FitConfig,
    grid: &LambdaGrid,
    mut outs: Outputs,
    quiet: bool,
) -> Result<()> {
    print_notices(&ds.notices, quiet);
    let names = ds.feature_names.as_deref();
    let paths = with_progress(!quiet, |progress| {
        fit_paths_with_progress(ds.x.as_ref(), &r.slices(), names, cfg, grid, progress)
    })?;
    // Each path carries its training errors, as a one-response path file does.
    let mut json = Vec::with_capacity(paths.len());
    let mut r2_last = Vec::with_capacity(paths.len());
    for ((p, y), name) in paths.iter().zip(r.slices()).zip(&r.names) {
        let train = error_curve(&p.models, ds.x.as_ref(), y, None)
            .with_context(|| format!("the training errors of response '{name}'"))?;
        r2_last.push(*train.r2.last().expect("a path has a lambda"));
        let mut v = p.to_json();
        v["train"] = serde_json::json!(train);
        json.push(v);
    }
    stage_json(
        &mut outs,
        serde_json::json!({ "responses": r.names, "paths": json }),
    )?;
    let written = outs.publish()?;
    warn_unconverged(
        paths.iter().map(|p| p.models.iter().all(|m| m.converged)),
        &r.names,
    );
    if !quiet {
        outln!(
            "data       {} from {}",
            ds.x.describe(),
            ds.source.display()
        )?;
        outln!(
            "paths      {} responses x {} lambdas, solved together on {} in {:.3} s",
            paths.len(),
            paths[0].lambdas.len(),
            paths[0].backend,
            paths[0].seconds
        )?;
        outln!(
            "{:>16}  {:>12}  {:>12}  {:>14}  {:>14}",
            "response",
            "lambda_max",
            "last lambda",
            "non-zeros there",
            "train R^2 there"
        )?;
        for ((name, p), r2) in r.names.iter().zip(&paths).zip(&r2_last) {
            let last = p.models.last().expect("a path has a lambda");
            outln!(
                "{:>16}  {:>12.4e}  {:>12.4e}  {:>14}  {:>14}",
                name,
                p.lambda_max,
                last.lambda,
                last.coef.indices.len(),
                r2.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"))
            )?;
        }
        print_written(&written)?;
    }
    Ok(())
}

/// What a cross-validation is asked to do.
pub struct CvJob<'a> {
    pub cfg: &'a FitConfig,
    pub grid: &'a LambdaGrid,
    pub folds: &'a Folds,
    pub select: lariat::cv::Select,
}

/// `cv` with several responses: `{"responses": [names], "cvs": [cv, ...]}`, each cv as the
/// one-response JSON.
pub fn cv(ds: &Dataset, r: &Responses, job: CvJob, mut outs: Outputs, quiet: bool) -> Result<()> {
    let CvJob {
        cfg,
        grid,
        folds,
        select,
    } = job;
    print_notices(&ds.notices, quiet);
    for (k, y) in r.slices().iter().enumerate() {
        lariat::cv::check_training_responses(y, folds, cfg.preprocess.fit_intercept)
            .with_context(|| format!("response {k} (0-based) of {}", r.names.len()))?;
    }
    let names = ds.feature_names.as_deref();
    let cvs = with_progress(!quiet, |progress| {
        cross_validate_responses(
            ds.x.as_ref(),
            &r.slices(),
            names,
            cfg,
            grid,
            folds,
            progress,
        )
    })?;
    let json: Vec<serde_json::Value> = cvs.iter().map(|c| c.to_json(select)).collect();
    stage_json(
        &mut outs,
        serde_json::json!({ "responses": r.names, "cvs": json }),
    )?;
    let written = outs.publish()?;
    warn_unconverged(cvs.iter().map(|c| c.unconverged_folds.is_empty()), &r.names);
    if !quiet {
        outln!(
            "data       {} from {}",
            ds.x.describe(),
            ds.source.display()
        )?;
        outln!(
            "cv         {} responses x {} folds, solved together on {} in {:.3} s",
            cvs.len(),
            folds.k(),
            cvs[0].path.backend,
            cvs[0].path.seconds
        )?;
        outln!(
            "{:>16}  {:>12}  {:>12}  {:>12}  {:>9}",
            "response",
            "lambda_min",
            "cv mse",
            "lambda_1se",
            "non-zeros"
        )?;
        for (name, c) in r.names.iter().zip(&cvs) {
            outln!(
                "{:>16}  {:>12.4e}  {:>12.6e}  {:>12.4e}  {:>9}",
                name,
                c.lambda_min(),
                c.cvm[c.index_min],
                c.lambda_1se(),
                c.model(select).coef.indices.len()
            )?;
        }
        print_written(&written)?;
    }
    Ok(())
}

fn warn_unconverged(converged: impl Iterator<Item = bool>, names: &[String]) {
    let bad: Vec<&str> = converged
        .zip(names)
        .filter(|(ok, _)| !ok)
        .map(|(_, n)| n.as_str())
        .collect();
    if !bad.is_empty() {
        errln!(
            "warning: not every fit converged for {} (raise --max-iter or --tol)",
            bad.join(", ")
        );
    }
}
