//! `lariat cv`: K-fold cross-validation of a path (cv.glmnet's definitions), the refit on all
//! rows at the chosen lambda, a summary table, the JSON and plot.cv.glmnet's picture.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;

use lariat::cv::{
    check_training_responses, cross_validate, is_grouped, CvOutcome, Folds, Select, DEFAULT_FOLDS,
};
use lariat::data::{read_target_rows, Dataset, Format, Header, ReadOptions};
use lariat::fit::LambdaSpec;
use lariat::outputs::Outputs;
use lariat::plot::{render_cv_plot, CvPicture};

use super::{responses, with_progress, DataArgs, GridArgs, InputArgs, ModelArgs};

#[derive(Args, Debug)]
pub struct CvArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Number of folds, drawn at random from --seed (cv.glmnet's default: 10).
    #[arg(long, default_value_t = DEFAULT_FOLDS, value_parser = at_least_two)]
    pub folds: usize,
    /// Seed of the random fold assignment.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Fold of each row instead of random folds: one integer label per row (text, one per
    /// line, or .npy); any K distinct labels make K folds.
    #[arg(long, conflicts_with_all = ["folds", "seed"])]
    pub foldid: Option<PathBuf>,
    /// The grid (from the full data's lambda_max).
    #[command(flatten)]
    pub grid: GridArgs,
    /// The lambda of the final model: min (smallest CV error) or 1se (the largest lambda
    /// within one standard error of it).
    #[arg(long, default_value = "min")]
    pub select: Select,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub input: InputArgs,
    /// Write the cross-validation as JSON here: lambdas, cvm, cvsd, nzero, lambda_min,
    /// lambda_1se, index_min, index_1se (0-based) and model (the refit, usable by predict).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Draw plot.cv.glmnet's picture here (.svg or .png, by the extension).
    #[arg(long, value_parser = super::plot_path_value)]
    pub plot: Option<PathBuf>,
    /// Print nothing but errors and warnings.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run_cv(a: CvArgs) -> Result<()> {
    let [x, y] = a.data.inputs();
    let mut outs = Outputs::plan(
        &[
            x,
            y,
            ("--foldid", a.foldid.as_deref()),
            ("--lambdas", a.grid.lambdas.as_deref()),
        ],
        &[("--out", a.out.as_deref()), ("--plot", a.plot.as_deref())],
    )?;
    let grid = a.grid.grid()?;
    let cfg = a.model.config(LambdaSpec::Ratio(1.0));
    let folds_for = |n: usize| match &a.foldid {
        Some(path) => read_foldid(path, n, a.input.read_options(None).header),
        None => Ok(Folds::random(n, a.folds, a.seed)?),
    };
    if let Some((ds, r)) = responses::detect(&a.data, &a.input)? {
        responses::refuse(&[("--plot", a.plot.is_some())])?;
        let folds = folds_for(ds.x.n_rows())?;
        note_ungrouped(ds.x.n_rows(), &folds, a.quiet);
        let job = responses::CvJob {
            cfg: &cfg,
            grid: &grid,
            folds: &folds,
            select: a.select,
        };
        return responses::cv(&ds, &r, job, outs, a.quiet);
    }
    let (ds, y) = a.data.read(&a.input)?;
    let folds = folds_for(ds.x.n_rows())?;
    note_ungrouped(ds.x.n_rows(), &folds, a.quiet);
    check_training_responses(&y, &folds, cfg.preprocess.fit_intercept)?;
    let names = ds.feature_names.as_deref();
    let out = with_progress(!a.quiet, |progress| {
        cross_validate(ds.x.as_ref(), &y, names, &cfg, &grid, &folds, progress)
    })?;
    // Both are staged before either is published: a plot that fails to draw leaves no fresh
    // JSON beside the old plot.
    let json = serde_json::to_string_pretty(&out.to_json(a.select))
        .expect("a cross-validation always serialises");
    outs.stage("--out", json.as_bytes())?;
    if let Some(path) = &a.plot {
        let nzero = out.nzero();
        let picture = render_cv_plot(
            path,
            &CvPicture {
                lambdas: out.lambdas(),
                cvm: &out.cvm,
                cvsd: &out.cvsd,
                nzero: &nzero,
                lambda_min: out.lambda_min(),
                lambda_1se: out.lambda_1se(),
            },
        )?;
        outs.stage("--plot", &picture)?;
    }
    let written = outs.publish()?;
    warn_about_cv(&out);
    if !a.quiet {
        print_cv_summary(&ds, &out, a.select)?;
        super::print_written(&written)?;
    }
    Ok(())
}

fn at_least_two(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(k) if k >= 2 => Ok(k),
        Ok(k) => Err(format!("{k}: cross-validation needs at least 2 folds")),
        Err(e) => Err(format!("{s}: {e}")),
    }
}

/// Fold labels from a file: one integer per row; `header` is the CSV files' (--header,
/// --no-header), as for y.
fn read_foldid(path: &Path, n: usize, header: Header) -> Result<Folds> {
    let opts = ReadOptions {
        format: Some(match Format::from_path(path) {
            Ok(Format::Npy) => Format::Npy,
            _ => Format::Csv,
        }),
        header,
        ..ReadOptions::default()
    };
    let (values, notices) = read_target_rows(path, &opts, n)
        .with_context(|| format!("reading fold labels from {}", path.display()))?;
    super::print_notices(&notices, false);
    if values.len() != n {
        bail!(
            "{}: {} fold labels for {n} rows of X (one label per row)",
            path.display(),
            values.len()
        );
    }
    let labels = values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if v.fract() == 0.0 && v.abs() < 2f64.powi(53) {
                Ok(v as i64)
            } else if v.fract() == 0.0 {
                bail!(
                    "{}: row {}: fold label {v} is beyond 2^53, where labels are no longer \
                     exact; use small integers",
                    path.display(),
                    i + 1
                )
            } else {
                bail!(
                    "{}: row {}: fold label {v} is not an integer",
                    path.display(),
                    i + 1
                )
            }
        })
        .collect::<Result<Vec<i64>>>()?;
    if labels.iter().all(|&l| l == labels[0]) {
        bail!(
            "{}: a single fold label ({}); cross-validation needs at least 2 folds",
            path.display(),
            labels[0]
        );
    }
    Folds::from_labels(&labels).with_context(|| format!("fold labels of {}", path.display()))
}

/// cv.glmnet's `grouped = FALSE` for small folds, said, since it changes `cvsd`.
fn note_ungrouped(n: usize, folds: &Folds, quiet: bool) {
    if !quiet && !is_grouped(n, folds.k()) {
        errln!(
            "note: {n} rows in {} folds, fewer than 3 a fold: cvsd comes from each row's \
             held-out error, not each fold's, as in cv.glmnet (grouped = FALSE)",
            folds.k()
        );
    }
}

fn warn_about_cv(out: &CvOutcome) {
    let stalled = out.path.models.iter().filter(|m| !m.converged).count();
    if stalled > 0 || !out.unconverged_folds.is_empty() {
        errln!(
            "warning: {stalled} full-data fits and {} fold fits did not converge; raise --max-iter or --tol",
            out.unconverged_folds.len()
        );
    }
}

fn print_cv_summary(ds: &Dataset, out: &CvOutcome, select: Select) -> Result<()> {
    let l = out.lambdas().len();
    let k = out.fold_sizes.len();
    let nzero = out.nzero();
    outln!(
        "data       {} from {}",
        ds.x.describe(),
        ds.source.display()
    )?;
    outln!(
        "cv         {k} folds (sizes {}..{}), {l} lambdas from {:.4e} to {:.4e}, solved on {} in {:.3} s",
        out.fold_sizes.iter().min().unwrap_or(&0),
        out.fold_sizes.iter().max().unwrap_or(&0),
        out.lambdas()[0],
        out.lambdas()[l - 1],
        out.path.backend,
        out.path.seconds
    )?;
    outln!(
        "{:>12}  {:>9}  {:>12}  {:>12}",
        "lambda",
        "non-zeros",
        "cv mse",
        "std error"
    )?;
    let mut shown: Vec<usize> = if l <= 14 {
        (0..l).collect()
    } else {
        (0..10).map(|i| i * (l - 1) / 9).collect()
    };
    shown.extend([out.index_min, out.index_1se]);
    shown.sort_unstable();
    shown.dedup();
    for &i in &shown {
        let mark = match (i == out.index_min, i == out.index_1se) {
            (true, true) => "  <- min, 1se",
            (true, false) => "  <- min",
            (false, true) => "  <- 1se",
            _ => "",
        };
        outln!(
            "{:>12.4e}  {:>9}  {:>12.6e}  {:>12.4e}{mark}",
            out.lambdas()[i],
            nzero[i],
            out.cvm[i],
            out.cvsd[i]
        )?;
    }
    outln!(
        "lambda_min {:.6e} (index {}, cv mse {:.6e})   lambda_1se {:.6e} (index {}, cv mse {:.6e})",
        out.lambda_min(),
        out.index_min,
        out.cvm[out.index_min],
        out.lambda_1se(),
        out.index_1se,
        out.cvm[out.index_1se]
    )?;
    let m = out.model(select);
    outln!(
        "model      refit on all {} rows at lambda_{}: {} non-zeros of {}, intercept {:.6}, duality gap {:.3e}",
        m.n_samples,
        match select {
            Select::Min => "min",
            Select::OneSe => "1se",
        },
        m.coef.indices.len(),
        m.n_features,
        m.intercept,
        m.duality_gap
    )?;
    Ok(())
}
