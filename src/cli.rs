//! The command line: clap structures (what the user typed) turned into library configuration
//! (what to do) in one place, then handed to the library. No numerics here.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::console;
use lariat::bench::{BenchConfig, BenchDevice};
use lariat::data::csv::read_dataset_targets;
use lariat::data::{
    read_dataset, read_target_rows, Dataset, Format, Header, IndexBase, IndexCol, Notice,
    ReadOptions, Target,
};
use lariat::evaluate::{error_curve, holdout_rows, test_columns, test_error_curve, ErrorCurve};
use lariat::fit::{
    fit, fit_path_on_rows, fit_path_with_progress, FitConfig, FitOutcome, GridRule, LambdaGrid,
    LambdaSpec, PathOutcome,
};
use lariat::model::{FitChoice, Model};
use lariat::outputs::Outputs;
use lariat::params::{
    check_l1_ratio, check_penalty, Algorithm, Screening, SolverParams, DEFAULT_TOL,
};
use lariat::penalty::ElasticNet;
use lariat::problem::Preprocess;
use lariat::solver::screening::WorkingSets;
use lariat::solver::BackendKind;

mod cv;
mod demo;
mod responses;

#[derive(Parser, Debug)]
#[command(
    name = "lariat",
    version,
    about = "Lasso and Elastic-Net regression on very wide matrices",
    long_about = "Lasso and Elastic-Net regression on very wide matrices.\n\n\
        Minimises 1/(2n) ||y - Xw - b||^2 + lambda (l1_ratio ||w||_1 + (1 - l1_ratio)/2 ||w||^2),\n\
        the objective of glmnet and scikit-learn (sklearn's alpha = lambda, glmnet's alpha = l1_ratio)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Fit one model at one lambda.
    Fit(FitArgs),
    /// Fit a whole regularization path (warm starts from one lambda to the next).
    Path(PathArgs),
    /// K-fold cross-validation of a path (cv.glmnet's definitions) and the refit on all rows.
    Cv(cv::CvArgs),
    /// Predict with a fitted model.
    Predict(PredictArgs),
    /// Fit a built-in synthetic wide problem and report what was recovered.
    Demo(DemoArgs),
    /// List the GPU adapters and the limits that matter to lariat.
    Info,
    /// Time a full pass over X and a whole solve on the CPU and the GPU (synthetic problem).
    Bench(BenchArgs),
}

/// How to read input files.
#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// File format of --x (and --y): npy, csv or libsvm. Default: from the extension.
    #[arg(long)]
    pub format: Option<Format>,
    /// CSV delimiter: ',', ';', 'tab' or 'space' (runs of spaces are one separator, as
    /// np.savetxt writes). Default: ',', ';' or tab, detected from the first line.
    #[arg(long, value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,
    /// CSV files have a header row (default: decided from the first row: names are a header,
    /// numbers are data, pandas' 0,1,2,... names are a header; see README, Input files).
    #[arg(long, conflicts_with = "no_header")]
    pub header: bool,
    /// CSV files have no header row.
    #[arg(long)]
    pub no_header: bool,
    /// CSV: the 0-based column of row labels, left out of X; `none` keeps every column.
    /// Default: the first column when its header name is empty (pandas' to_csv() index).
    #[arg(long, value_parser = parse_index_col)]
    pub index_col: Option<IndexCol>,
    /// LIBSVM: the number of the first feature, 1 (the format's definition) or 0
    /// (scikit-learn's zero_based=True). An index that contradicts it is an error.
    #[arg(long, default_value = "1", value_parser = parse_libsvm_base)]
    pub libsvm_base: IndexBase,
}

impl InputArgs {
    pub(crate) fn read_options(&self, target: Option<&str>) -> ReadOptions {
        ReadOptions {
            format: self.format,
            target: target.map(Target::parse),
            delimiter: self.delimiter,
            header: match (self.header, self.no_header) {
                (true, _) => Header::Yes,
                (_, true) => Header::No,
                _ => Header::Auto,
            },
            index_col: self.index_col.unwrap_or_default(),
            libsvm_base: self.libsvm_base,
            min_cols: 0,
        }
    }
}

fn parse_index_col(s: &str) -> std::result::Result<IndexCol, String> {
    match s {
        "none" => Ok(IndexCol::None),
        _ => s
            .parse()
            .map(IndexCol::Column)
            .map_err(|_| format!("expected a 0-based column index or 'none', found '{s}'")),
    }
}

fn parse_libsvm_base(s: &str) -> std::result::Result<IndexBase, String> {
    match s {
        "1" => Ok(IndexBase::One),
        "0" => Ok(IndexBase::Zero),
        _ => Err(format!("expected 1 or 0, found '{s}'")),
    }
}

/// Prints what the readers had to report: warnings always (a guess that may be wrong), notes
/// unless `quiet`.
fn print_notices(notices: &[Notice], quiet: bool) {
    for n in notices {
        if n.warning {
            errln!("warning: {}", n.text);
        } else if !quiet {
            errln!("note: {}", n.text);
        }
    }
}

fn parse_delimiter(s: &str) -> std::result::Result<u8, String> {
    match s {
        "," | "comma" => Ok(b','),
        ";" | "semicolon" => Ok(b';'),
        "\t" | "tab" | "\\t" => Ok(b'\t'),
        // np.savetxt's default; runs of spaces count as one.
        " " | "space" => Ok(b' '),
        _ => Err(format!(
            "unsupported delimiter '{s}' (expected ',', ';', 'tab' or 'space')"
        )),
    }
}

// Value parsers: a value that is invalid whatever the data is refused by clap while it parses
// the command line, before any file is read (a usage error, exit 2). Where the library has the
// check, it is called here, so each range is stated once.

fn number(s: &str) -> std::result::Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .map_err(|_| format!("'{s}' is not a number"))
}

/// The `expected` part of the library's refusal (clap already names the flag and the value).
fn refusal(e: lariat::Error) -> String {
    match e {
        lariat::Error::InvalidParam { expected, .. } => expected,
        e => e.to_string(),
    }
}

fn tol_value(s: &str) -> std::result::Result<f64, String> {
    let tol = number(s)?;
    let params = SolverParams {
        tol,
        ..SolverParams::default()
    };
    params.check().map(|_| tol).map_err(refusal)
}

fn lambda_value(s: &str) -> std::result::Result<f64, String> {
    let lambda = number(s)?;
    check_penalty(ElasticNet {
        lambda,
        l1_ratio: 1.0,
    })
    .map(|p| p.lambda)
    .map_err(refusal)
}

fn l1_ratio_value(s: &str) -> std::result::Result<f64, String> {
    check_l1_ratio(number(s)?).map_err(refusal)
}

/// A finite number > 0 (`--lambda-ratio`).
fn positive_value(s: &str) -> std::result::Result<f64, String> {
    match number(s)? {
        v if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err("must be a finite number > 0".into()),
    }
}

/// A fraction of lambda_max in (0, 1] (`--lambda-min-ratio`).
fn min_ratio_value(s: &str) -> std::result::Result<f64, String> {
    match number(s)? {
        v if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err("must be in (0, 1]".into()),
    }
}

/// A plot file name with an extension that says its format: a typo is refused before the
/// solve rather than after it.
fn plot_path_value(s: &str) -> std::result::Result<PathBuf, String> {
    let path = PathBuf::from(s);
    lariat::plot::plot_format(&path)
        .map_err(|_| "plots are written as .svg or .png (by the file's extension)".to_string())?;
    Ok(path)
}

/// A correlation in [-1, 1].
fn correlation_value(s: &str) -> std::result::Result<f64, String> {
    match number(s)? {
        v if (-1.0..=1.0).contains(&v) => Ok(v),
        _ => Err("must be in [-1, 1]".into()),
    }
}

fn count(s: &str, min: usize) -> std::result::Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(v) if v >= min => Ok(v),
        _ => Err(format!("must be a whole number >= {min}")),
    }
}

/// A count in `min..=max`: a run whose time grows with the count gets a cap, so a typo cannot
/// make it run for days.
fn count_at_most(s: &str, min: usize, max: usize) -> std::result::Result<usize, String> {
    match count(s, min) {
        Ok(v) if v <= max => Ok(v),
        _ => Err(format!("must be a whole number in [{min}, {max}]")),
    }
}

/// The demo's race budget: each solver runs it and its halvings, so its time is linear in it.
fn budget_value(s: &str) -> std::result::Result<usize, String> {
    count_at_most(s, 1, 100_000)
}

/// Timed samples of bench's pass.
fn repeats_value(s: &str) -> std::result::Result<usize, String> {
    count_at_most(s, 1, 10_000)
}

/// A signal-to-noise ratio: > 0, `inf` for noise-free data.
fn snr_value(s: &str) -> std::result::Result<f64, String> {
    match number(s)? {
        v if v > 0.0 => Ok(v),
        _ => Err("must be a number > 0 (inf: no noise)".into()),
    }
}

/// The demo's lambda: below lambda_max, where the model has coefficients to tell about.
fn lesson_lambda_ratio(s: &str) -> std::result::Result<f64, String> {
    match number(s)? {
        v if v > 0.0 && v < 1.0 => Ok(v),
        _ => Err("must be in (0, 1): at lambda_max and above every coefficient is 0".into()),
    }
}

/// A count >= 1 (`--n-lambdas`, `--max-iter`, `--p`).
fn at_least_one(s: &str) -> std::result::Result<usize, String> {
    count(s, 1)
}

/// A count >= 2 (the demo's `--n`: one sample has no variance).
fn at_least_two(s: &str) -> std::result::Result<usize, String> {
    count(s, 2)
}

/// Options shared by everything that fits.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// Mixing parameter: 1 = Lasso, 0 = Ridge (scikit-learn's l1_ratio, glmnet's alpha).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true, value_parser = l1_ratio_value)]
    pub l1_ratio: f64,
    /// Do not fit an intercept (by default X and y are centred, implicitly).
    #[arg(long)]
    pub no_intercept: bool,
    /// Penalise standardized coefficients (glmnet's standardize = TRUE); coefficients are
    /// still reported on the original scale.
    #[arg(long)]
    pub standardize: bool,
    /// Relative duality-gap tolerance: stop when gap <= tol * ||y - mean(y)||^2 / n
    /// (scikit-learn's units).
    #[arg(long, default_value_t = DEFAULT_TOL, allow_negative_numbers = true, value_parser = tol_value)]
    pub tol: f64,
    /// Iteration cap (default: 100000 sweeps for cd, 100000 steps for fista).
    #[arg(long, value_parser = at_least_one)]
    pub max_iter: Option<usize>,
    /// Algorithm: cd (coordinate descent, fastest on CPU), fista (the GPU's algorithm, on
    /// CPU), subgradient (plain subgradient descent, a teaching baseline: no exact zeros,
    /// step 1/(L sqrt(t+1)); CPU only), or auto.
    #[arg(long, default_value = "auto")]
    pub solver: Algorithm,
    /// Device: auto (a hardware GPU for large problems, else the CPU), cpu, or gpu (any
    /// adapter, software ones included).
    #[arg(long, default_value = "auto")]
    pub device: BackendKind,
    /// GPU adapter to use, by a substring of its name (see `lariat info`); also
    /// LARIAT_ADAPTER.
    #[arg(long)]
    pub adapter: Option<String>,
    /// Working sets (solve on the non-zeros and the features closest to entering, check on
    /// all, grow): auto (on the GPU, where they measured faster; off in cd), on, off.
    #[arg(long, default_value = "auto")]
    pub working_sets: WorkingSets,
    /// Turn off Gap Safe screening (dynamic in cd; on the GPU at each lambda's start and each working-set round).
    #[arg(long)]
    pub no_gap_safe: bool,
    /// Turn off the sequential strong rule along paths (cd without working sets; on the GPU it seeds the first working set).
    #[arg(long)]
    pub no_strong_rule: bool,
    /// Turn off Anderson extrapolation of coordinate descent (for ablations).
    #[arg(long)]
    pub no_extrapolation: bool,
}

impl ModelArgs {
    fn config(&self, lambda: LambdaSpec) -> FitConfig {
        FitConfig {
            preprocess: Preprocess {
                fit_intercept: !self.no_intercept,
                standardize: self.standardize,
            },
            lambda,
            l1_ratio: self.l1_ratio,
            solver: SolverParams {
                tol: self.tol,
                max_iter: self.max_iter,
                algorithm: self.solver,
                screening: Screening {
                    strong_rule: !self.no_strong_rule,
                    gap_safe: !self.no_gap_safe,
                    working_sets: self.working_sets,
                },
                extrapolation: !self.no_extrapolation,
            },
            device: self.device,
            adapter: self.adapter.clone(),
        }
    }
}

/// Where X and y come from (fit and path).
#[derive(Args, Debug)]
pub struct DataArgs {
    /// Design matrix X (.npy, .csv or .svm/.libsvm).
    #[arg(long)]
    pub x: PathBuf,
    /// Target y (.npy or one-column CSV). Not needed with --target or a LIBSVM file.
    #[arg(long)]
    pub y: Option<PathBuf>,
    /// CSV: the column of --x that holds y: the column with this header name when there is
    /// one, else (an integer) the 0-based index. Several (`--target a,b,c`, or the flag
    /// repeated) fit one model per column, in that order, on the other columns; the JSON then
    /// holds one result per response. A name that holds a comma is given by its index.
    #[arg(
        long,
        conflicts_with = "y",
        value_delimiter = ',',
        value_name = "TARGET"
    )]
    pub target: Vec<String>,
}

impl DataArgs {
    /// The input files, for [`Outputs::plan`].
    fn inputs(&self) -> [(&'static str, Option<&Path>); 2] {
        [("--x", Some(&self.x)), ("--y", self.y.as_deref())]
    }

    /// Reads X and y as the flags say.
    fn read(&self, input: &InputArgs) -> Result<(Dataset, Vec<f64>)> {
        let opts = input.read_options(self.target.first().map(String::as_str));
        read_xy(&self.x, self.y.as_deref(), &opts, "--y")
    }
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("lambda_choice").required(true).args(["lambda", "lambda_ratio"])))]
pub struct FitArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Penalty strength lambda (scikit-learn's alpha).
    #[arg(long, allow_negative_numbers = true, value_parser = lambda_value)]
    pub lambda: Option<f64>,
    /// lambda as a fraction of lambda_max, the smallest lambda giving w = 0.
    #[arg(long, allow_negative_numbers = true, value_parser = positive_value)]
    pub lambda_ratio: Option<f64>,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub input: InputArgs,
    /// Write the model as JSON here (atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print nothing but errors and warnings.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The lambdas of `path` and `cv`.
#[derive(Args, Debug)]
pub struct GridArgs {
    /// Number of lambdas, log-spaced from lambda_max down.
    #[arg(long, default_value_t = 100, value_parser = at_least_one)]
    pub n_lambdas: usize,
    /// Smallest lambda as a fraction of lambda_max (default as glmnet: 1e-4 when n >= p, else 1e-2).
    #[arg(long, allow_negative_numbers = true, value_parser = min_ratio_value)]
    pub lambda_min_ratio: Option<f64>,
    /// Explicit lambdas instead of the grid: a text file with one value per line, or a .npy.
    #[arg(long, conflicts_with_all = ["n_lambdas", "lambda_min_ratio"])]
    pub lambdas: Option<PathBuf>,
}

impl GridArgs {
    /// The grid the flags ask for (reading `--lambdas`).
    fn grid(&self) -> Result<LambdaGrid> {
        Ok(match &self.lambdas {
            Some(path) => LambdaGrid::Explicit(read_lambdas(path)?),
            None => LambdaGrid::Geometric {
                n_lambdas: self.n_lambdas,
                min_ratio: self.lambda_min_ratio,
                rule: GridRule::Glmnet,
            },
        })
    }
}

#[derive(Args, Debug)]
pub struct PathArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub grid: GridArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub input: InputArgs,
    /// Write the path as JSON here: {"lambdas": [...], "fits": [model, ...]}.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the non-zero coefficients in long format here: lambda,feature,value.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Draw the coefficient paths against log(lambda) here (.svg or .png, by the extension).
    #[arg(long, value_parser = plot_path_value)]
    pub plot: Option<PathBuf>,
    /// Test data: X with the training data's columns; the test error (MSE, and R^2 about the
    /// test rows' own mean, as scikit-learn's r2_score) is reported per lambda. Its target is
    /// --test-y, else the column --target names, else its LIBSVM labels.
    #[arg(long, conflicts_with = "holdout", group = "test_data")]
    pub test_x: Option<PathBuf>,
    /// Test data's target (.npy or one-column CSV), with --test-x.
    #[arg(long, requires = "test_x")]
    pub test_y: Option<PathBuf>,
    /// Hold this fraction of the rows out (drawn with --seed) for the test error; the path is
    /// fitted on the other rows.
    #[arg(long, allow_negative_numbers = true, group = "test_data")]
    pub holdout: Option<f64>,
    /// Seed of --holdout.
    #[arg(long, default_value_t = 0, requires = "holdout")]
    pub seed: u64,
    /// Draw the training and test error against log(lambda) here (.svg or .png); needs
    /// --test-x or --holdout.
    #[arg(long, value_parser = plot_path_value, requires = "test_data")]
    pub error_plot: Option<PathBuf>,
    /// Print nothing but errors and warnings.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// Model JSON written by `lariat fit --out`, or a `lariat cv --out` (its refit model), or
    /// a `lariat path --out` with --lambda or --fit to choose one of its fits.
    #[arg(long)]
    pub model: PathBuf,
    /// Design matrix X. Its columns are matched to the model's features by name when both
    /// have names (in any order), else by position.
    #[arg(long)]
    pub x: PathBuf,
    /// CSV: columns of --x to drop before predicting (the targets, when present), as fit's
    /// --target names them (`--target a,b` or the flag repeated).
    #[arg(long, value_delimiter = ',', value_name = "TARGET")]
    pub target: Vec<String>,
    /// A path JSON (`lariat path --out`): predict with its fit at this lambda, one of its grid.
    #[arg(long, allow_negative_numbers = true, value_parser = positive_value, conflicts_with = "fit")]
    pub lambda: Option<f64>,
    /// A path JSON: predict with its fit at this 0-based position of the grid.
    #[arg(long)]
    pub fit: Option<usize>,
    /// Ignore columns of --x that the model does not know (by default an error).
    #[arg(long)]
    pub allow_extra_columns: bool,
    /// Match columns by position even when the model and --x both have names.
    #[arg(long)]
    pub by_position: bool,
    #[command(flatten)]
    pub input: InputArgs,
    /// Write predictions here as CSV (one column, header "prediction"); default: stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The lesson fixes what it compares (the Lasso, and each solver in turn): the mix, the
/// solver and the cap of `fit` are not its flags.
#[derive(Args, Debug)]
#[command(mut_arg("l1_ratio", |a| a.hide(true)), mut_arg("solver", |a| a.hide(true)), mut_arg("max_iter", |a| a.hide(true)))]
pub struct DemoArgs {
    /// Samples (built-in problem).
    #[arg(long, default_value_t = 300, value_parser = at_least_two, conflicts_with = "x")]
    pub n: usize,
    /// Features (built-in problem).
    #[arg(long, default_value_t = 20_000, value_parser = at_least_one, conflicts_with = "x")]
    pub p: usize,
    /// True non-zero features (built-in problem).
    #[arg(long, default_value_t = 30, conflicts_with = "x")]
    pub informative: usize,
    /// Toeplitz correlation between neighbouring columns (built-in problem).
    #[arg(long, default_value_t = 0.5, allow_negative_numbers = true, value_parser = correlation_value, conflicts_with = "x")]
    pub rho: f64,
    /// Signal-to-noise ratio: the signal's standard deviation over the noise's (built-in
    /// problem; inf for none).
    #[arg(long, default_value_t = 5.0, allow_negative_numbers = true, value_parser = snr_value, conflicts_with = "x")]
    pub snr: f64,
    /// lambda as a fraction of lambda_max, in (0, 1).
    #[arg(long, default_value_t = 0.2, allow_negative_numbers = true, value_parser = lesson_lambda_ratio)]
    pub lambda_ratio: f64,
    /// RNG seed (data, hold-out and folds).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Iterations each solver of the race gets (sweeps for cd, steps for fista and
    /// subgradient), at most 100000.
    #[arg(long, default_value_t = 200, value_parser = budget_value)]
    pub budget: usize,
    /// Fraction of the rows held out as test data.
    #[arg(long, default_value_t = 0.25, allow_negative_numbers = true)]
    pub test_fraction: f64,
    /// Lambdas on the path.
    #[arg(long, default_value_t = 50, value_parser = at_least_one)]
    pub n_lambdas: usize,
    /// Folds of the cross-validation on the training rows.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Your own data instead of the built-in problem (.npy, .csv or .svm).
    #[arg(long)]
    pub x: Option<PathBuf>,
    /// Target for --x (.npy or one-column CSV).
    #[arg(long, requires = "x")]
    pub y: Option<PathBuf>,
    /// CSV: the column of --x that holds y.
    #[arg(long, requires = "x", conflicts_with = "y")]
    pub target: Option<String>,
    /// Draw the two pictures (objective against iterations; training and test error against
    /// log(lambda)) here (.svg or .png).
    #[arg(long, value_parser = plot_path_value)]
    pub plot: Option<PathBuf>,
    /// Write every figure of the story as JSON here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub input: InputArgs,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Samples.
    #[arg(long)]
    pub n: usize,
    /// Features.
    #[arg(long)]
    pub p: usize,
    /// Fraction of entries kept (at random); below 1, X is stored sparse (CSC).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub density: f64,
    /// lambda as a fraction of lambda_max.
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    pub lambda_ratio: f64,
    /// Mixing parameter: 1 = Lasso, 0 = Ridge.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub l1_ratio: f64,
    /// Relative duality-gap tolerance of the solves.
    #[arg(long, default_value_t = DEFAULT_TOL, allow_negative_numbers = true)]
    pub tol: f64,
    /// Devices to benchmark, comma-separated: cpu, gpu.
    #[arg(long, value_delimiter = ',', default_value = "cpu,gpu")]
    pub device: Vec<BenchDevice>,
    /// Timed samples per pass measurement (the median is reported), at most 10000.
    #[arg(long, default_value_t = 5, value_parser = repeats_value)]
    pub repeats: usize,
    /// RNG seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Toeplitz correlation between neighbouring columns.
    #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
    pub rho: f64,
    /// GPU adapter to use, by a substring of its name (see `lariat info`).
    #[arg(long)]
    pub adapter: Option<String>,
    /// Also write the figures as JSON here (atomically).
    #[arg(long)]
    pub json: Option<PathBuf>,
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Fit(a) => run_fit(a),
        Command::Path(a) => run_path(a),
        Command::Cv(a) => cv::run_cv(a),
        Command::Predict(a) => run_predict(a),
        Command::Demo(a) => demo::run_demo(a),
        Command::Info => run_info(),
        Command::Bench(a) => run_bench(a),
    }
}

/// "wrote PATH" for each output a run published.
fn print_written(written: &[PathBuf]) -> Result<()> {
    for path in written {
        outln!("wrote {}", path.display())?;
    }
    Ok(())
}

/// X and y, checked to belong together: y from the file `y` (given by the flag `y_flag`),
/// else the column `opts.target` of X, else X's own (LIBSVM).
fn read_xy(
    x: &Path,
    y: Option<&Path>,
    opts: &ReadOptions,
    y_flag: &str,
) -> Result<(Dataset, Vec<f64>)> {
    let mut ds = read_dataset(x, opts)?;
    let y_path = y;
    let y = match (y, ds.y.take()) {
        (Some(path), None) => {
            let y_opts = ReadOptions {
                target: None,
                ..opts.clone()
            };
            let (y, notices) = read_target_rows(path, &y_opts, ds.x.n_rows())?;
            ds.notices.extend(notices);
            y
        }
        (None, Some(y)) => y,
        (Some(path), Some(_)) => bail!(
            "{}: this file already carries the target; drop {y_flag} {}",
            x.display(),
            path.display()
        ),
        // --target names a column of a CSV only.
        (None, None) if ds.header.is_none() => {
            bail!("no target for {}: give {y_flag} FILE", x.display())
        }
        (None, None) => bail!(
            "no target: give {y_flag} FILE, or --target NAME|INDEX for a column of {}",
            x.display()
        ),
    };
    if y.len() != ds.x.n_rows() {
        let of_y = y_path.map_or_else(|| "y".to_string(), |p| format!("y ({})", p.display()));
        bail!(
            "X ({}) has {} rows but {of_y} has {} values{}",
            x.display(),
            ds.x.n_rows(),
            y.len(),
            numeric_header_hint(&ds, y.len())
        );
    }
    Ok((ds, y))
}

/// Where X has one row more than y and its first row was guessed to be data because all its
/// fields are numbers (years, numeric gene ids), the likely cause, said with the fix.
fn numeric_header_hint(ds: &Dataset, y_len: usize) -> String {
    match &ds.header {
        Some(h) if !h.present && h.all_numbers && ds.x.n_rows() == y_len + 1 => {
            format!(
                " (its first row was read as data: {}; if it holds column names, pass --header)",
                h.reason
            )
        }
        _ => String::new(),
    }
}

fn run_fit(a: FitArgs) -> Result<()> {
    let mut outs = Outputs::plan(&a.data.inputs(), &[("--out", a.out.as_deref())])?;
    let lambda = match (a.lambda, a.lambda_ratio) {
        (Some(l), _) => LambdaSpec::Value(l),
        (_, Some(r)) => LambdaSpec::Ratio(r),
        _ => unreachable!("clap requires one of --lambda, --lambda-ratio"),
    };
    let cfg = a.model.config(lambda);
    if let Some((ds, r)) = responses::detect(&a.data, &a.input)? {
        return responses::fit(&ds, &r, &cfg, outs, a.quiet);
    }
    let t0 = Instant::now();
    let (ds, y) = a.data.read(&a.input)?;
    let load_s = t0.elapsed().as_secs_f64();
    print_notices(&ds.notices, a.quiet);
    let out = fit(ds.x.as_ref(), &y, ds.feature_names.as_deref(), &cfg)?;
    outs.stage("--out", out.model.to_json().as_bytes())
        .context("writing the model")?;
    let written = outs.publish()?;
    warn_about(&out, ds.feature_names.as_deref(), &cfg);
    if !a.quiet {
        print_summary(&ds, &out, load_s, lambda)?;
        print_written(&written)?;
    }
    Ok(())
}

/// What to do about a solve that did not converge at `lambda`: more iterations, unless lambda
/// is so far below `lambda_max` that f64 cannot certify any gap there (the rounding of
/// `Xe^T r`, about 1e-16 of `n lambda_max`, exceeds `n lambda`: the dual point is then scaled
/// to almost nothing, and the gap stays near the objective however long the solver runs).
fn unconverged_advice(lambda: f64, lambda_max: f64, fit_intercept: bool) -> String {
    let ratio = lambda / lambda_max;
    // Ridge has no finite lambda_max (and no L1 bound to certify).
    if lambda_max.is_finite() && ratio < 1e-12 {
        format!(
            "lambda is {ratio:.1e} x lambda_max, below what f64 can certify (the rounding of \
             X^T r exceeds n lambda); use a larger lambda, or ordinary least squares"
        )
    } else if !fit_intercept {
        // Measured: columns on an offset of 1e6 to 1e7 times their spread stall at gaps of
        // 1e-5 to 2e-3 (tol 1e-6).
        "raise --max-iter or --tol; without an intercept, columns whose mean is many times \
         their spread are nearly collinear, beyond what f64 resolves from about 1e6: centre \
         them or fit the intercept"
            .into()
    } else {
        "raise --max-iter or --tol".into()
    }
}

/// Warnings a user must see even with --quiet: non-convergence, dropped columns.
fn warn_about(out: &FitOutcome, names: Option<&[String]>, cfg: &FitConfig) {
    let m = &out.model;
    if !m.converged {
        errln!(
            "warning: not converged after {} iterations: duality gap {:.3e} > tolerance {:.3e} \
             ({})",
            m.iterations,
            m.duality_gap,
            m.gap_tolerance,
            unconverged_advice(m.lambda, out.lambda_max, cfg.preprocess.fit_intercept)
        );
    }
    if cfg.preprocess.standardize && !out.zero_columns.is_empty() {
        let show: Vec<String> = out
            .zero_columns
            .iter()
            .take(5)
            .map(|&j| feature_label(names, j))
            .collect();
        errln!(
            "note: {} constant column(s) cannot be standardized; their coefficient is 0 ({}{})",
            out.zero_columns.len(),
            show.join(", "),
            if out.zero_columns.len() > 5 {
                ", ..."
            } else {
                ""
            }
        );
    }
}

fn feature_label(names: Option<&[String]>, j: usize) -> String {
    match names {
        Some(n) => format!("'{}'", n[j]),
        None => format!("column {j}"),
    }
}

fn print_summary(ds: &Dataset, out: &FitOutcome, load_s: f64, spec: LambdaSpec) -> Result<()> {
    let m = &out.model;
    let kind = if m.l1_ratio == 1.0 {
        "lasso".to_string()
    } else if m.l1_ratio == 0.0 {
        "ridge".to_string()
    } else {
        format!(
            "elastic net (l1_ratio {})",
            lariat::error::short_number(m.l1_ratio)
        )
    };
    let lam = match spec {
        LambdaSpec::Ratio(r) => format!(
            "{:.6e} ({} x lambda_max)",
            m.lambda,
            lariat::error::short_number(r)
        ),
        LambdaSpec::Value(_) if out.lambda_max.is_finite() && out.lambda_max > 0.0 => {
            let ratio = m.lambda / out.lambda_max;
            // Four decimals would print a lambda far below lambda_max as 0.0000, and one far
            // above it with hundreds of digits.
            let ratio = if (1e-3..1e4).contains(&ratio) {
                format!("{ratio:.4}")
            } else {
                format!("{ratio:.3e}")
            };
            format!("{:.6e} ({ratio} x lambda_max)", m.lambda)
        }
        LambdaSpec::Value(_) => format!("{:.6e}", m.lambda),
    };
    outln!("data       {} (read in {load_s:.3} s)", ds.describe())?;
    outln!("model      {kind}, lambda {lam}")?;
    outln!(
        "solver     {} on {}: {} after {} iterations, {:.3} s",
        m.solver,
        device_label(out),
        status_word(m),
        m.iterations,
        m.seconds
    )?;
    outln!(
        "objective  {:.10e}   duality gap {:.3e} (tolerance {:.3e})",
        m.objective,
        m.duality_gap,
        m.gap_tolerance
    )?;
    outln!(
        "non-zeros  {} of {}   intercept {:.6}",
        m.coef.indices.len(),
        m.n_features,
        m.intercept
    )?;
    let tiny = m.coef.values.iter().filter(|v| v.abs() < 1e-8).count();
    outln!(
        "zeros      {} exactly zero, {tiny} non-zeros below 1e-8 in magnitude{}",
        m.n_features - m.coef.indices.len(),
        if m.solver == "subgradient" {
            " (subgradient descent makes no exact zeros: its iterates only oscillate around 0)"
        } else {
            ""
        }
    )?;
    let mut order: Vec<usize> = (0..m.coef.values.len()).collect();
    order.sort_by(|&a, &b| m.coef.values[b].abs().total_cmp(&m.coef.values[a].abs()));
    let top: Vec<String> = order
        .iter()
        .take(10)
        .map(|&k| {
            format!(
                "{} {:+.4e}",
                feature_label(m.feature_names.as_deref(), m.coef.indices[k]),
                m.coef.values[k]
            )
        })
        .collect();
    if !top.is_empty() {
        outln!("largest    {}", top.join(", "))?;
    }
    Ok(())
}

fn run_predict(a: PredictArgs) -> Result<()> {
    let mut outs = Outputs::plan(
        &[("--model", Some(&a.model)), ("--x", Some(&a.x))],
        &[("--out", a.out.as_deref())],
    )?;
    let choice = match (a.lambda, a.fit) {
        (Some(l), _) => Some(FitChoice::Lambda(l)),
        (None, Some(k)) => Some(FitChoice::Index(k)),
        (None, None) => None,
    };
    let model = match choice {
        Some(choice) => Model::read_from_path(&a.model, choice)?,
        None => Model::read(&a.model)?,
    };
    let ds = match a.target.as_slice() {
        [] | [_] => read_dataset(
            &a.x,
            &a.input.read_options(a.target.first().map(String::as_str)),
        )?,
        many => {
            let targets: Vec<Target> = many.iter().map(|t| Target::parse(t)).collect();
            read_dataset_targets(&a.x, &a.input.read_options(None), &targets)?.0
        }
    };
    print_notices(&ds.notices, false);
    let opts = lariat::predict::MatchOptions {
        allow_extra_columns: a.allow_extra_columns,
        by_position: a.by_position,
    };
    let (yhat, alignment) = lariat::predict::predict(&model, &ds, opts)
        .with_context(|| format!("predicting {} with {}", a.x.display(), a.model.display()))?;
    print_notices(&alignment.notices, false);
    let mut text = String::with_capacity(yhat.len() * 20 + 11);
    text.push_str("prediction\n");
    for v in &yhat {
        text.push_str(&format!("{v:.17e}\n"));
    }
    if outs.wants("--out") {
        outs.stage("--out", text.as_bytes())?;
        outs.publish()?;
    } else {
        console::out(format_args!("{text}"))?;
    }
    Ok(())
}

/// "cpu", or the GPU adapter, with a note when the CPU polished the GPU's answer.
fn device_label(out: &FitOutcome) -> String {
    if out.model.device == "gpu+cpu-polish" {
        format!("{} + f64 CPU polish", out.backend)
    } else {
        out.backend.clone()
    }
}

fn run_bench(a: BenchArgs) -> Result<()> {
    let mut outs = Outputs::plan(&[], &[("--json", a.json.as_deref())])?;
    let cfg = BenchConfig {
        n: a.n,
        p: a.p,
        density: a.density,
        lambda_ratio: a.lambda_ratio,
        l1_ratio: a.l1_ratio,
        tol: a.tol,
        devices: a.device,
        repeats: a.repeats,
        seed: a.seed,
        rho: a.rho,
        adapter: a.adapter,
    };
    let report = lariat::bench::run_bench(&cfg)?;
    outs.stage("--json", report.to_json().as_bytes())
        .context("writing the benchmark")?;
    let written = outs.publish()?;
    console::out(format_args!("{}", report.table()))?;
    print_written(&written)?;
    Ok(())
}

#[cfg(feature = "gpu")]
fn run_info() -> Result<()> {
    use lariat::solver::gpu::context::{backend_env_problem, list_adapters};
    let adapters = list_adapters();
    if let (true, Some(why)) = (adapters.is_empty(), backend_env_problem()) {
        outln!("no GPU adapter found: {why}; lariat runs on the CPU")?;
        return Ok(());
    }
    if adapters.is_empty() {
        outln!("no GPU adapter found (on Debian: apt-get install mesa-vulkan-drivers for a software one); lariat runs on the CPU")?;
        return Ok(());
    }
    let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
    for (i, a) in adapters.iter().enumerate() {
        outln!("[{i}] {}", a.name)?;
        outln!(
            "    backend {}, type {}{}",
            a.backend,
            a.device_type,
            if a.is_software { " (software)" } else { "" }
        )?;
        outln!("    driver  {}", a.driver)?;
        outln!(
            "    max buffer {:.0} MiB, max storage binding {:.0} MiB, workgroup <= {} invocations (x <= {}), {} B workgroup memory, {} storage buffers per stage",
            mib(a.max_buffer_size),
            mib(a.max_storage_binding),
            a.max_workgroup_invocations,
            a.max_workgroup_size_x,
            a.max_workgroup_storage,
            a.max_storage_buffers_per_stage
        )?;
        outln!(
            "    features: SHADER_F16 {}, SUBGROUP {}, SHADER_F64 {}",
            yes(a.shader_f16),
            yes(a.subgroup),
            yes(a.shader_f64)
        )?;
    }
    outln!("--device auto uses the first hardware adapter listed; --adapter NAME or LARIAT_ADAPTER picks another")?;
    let wanted = std::env::var(lariat::solver::gpu::context::ADAPTER_ENV).unwrap_or_default();
    let matches = |name: &str| name.to_lowercase().contains(&wanted.to_lowercase());
    if !wanted.is_empty() && !adapters.iter().any(|a| matches(&a.name)) {
        errln!(
            "warning: LARIAT_ADAPTER='{wanted}' matches none of these adapters: a GPU run \
             will fail"
        );
    }
    Ok(())
}

#[cfg(feature = "gpu")]
fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

#[cfg(not(feature = "gpu"))]
fn run_info() -> Result<()> {
    outln!("this lariat was built without the `gpu` feature: CPU only")?;
    Ok(())
}

fn read_lambdas(path: &Path) -> Result<Vec<f64>> {
    lariat::data::lambdas::read(path)
        .with_context(|| format!("reading lambdas from {}", path.display()))
}

fn run_path(a: PathArgs) -> Result<()> {
    let [x, y] = a.data.inputs();
    let mut outs = Outputs::plan(
        &[
            x,
            y,
            ("--lambdas", a.grid.lambdas.as_deref()),
            ("--test-x", a.test_x.as_deref()),
            ("--test-y", a.test_y.as_deref()),
        ],
        &[
            ("--out", a.out.as_deref()),
            ("--csv", a.csv.as_deref()),
            ("--plot", a.plot.as_deref()),
            ("--error-plot", a.error_plot.as_deref()),
        ],
    )?;
    let grid = a.grid.grid()?;
    let cfg = a.model.config(LambdaSpec::Ratio(1.0));
    if let Some((ds, r)) = responses::detect(&a.data, &a.input)? {
        responses::refuse(&[
            ("--csv", a.csv.is_some()),
            ("--plot", a.plot.is_some()),
            ("--test-x", a.test_x.is_some()),
            ("--holdout", a.holdout.is_some()),
            ("--error-plot", a.error_plot.is_some()),
        ])?;
        return responses::path(&ds, &r, &cfg, &grid, outs, a.quiet);
    }
    let (ds, y) = a.data.read(&a.input)?;
    print_notices(&ds.notices, a.quiet);
    let test = read_test_data(&a, &ds)?;
    let names = ds.feature_names.as_deref();
    let train_rows = match a.holdout {
        Some(fraction) => Some(holdout_rows(ds.x.n_rows(), fraction, a.seed)?),
        None => None,
    };
    let out = with_progress(!a.quiet, |progress| match &train_rows {
        None => fit_path_with_progress(ds.x.as_ref(), &y, names, &cfg, &grid, progress),
        Some(rows) => fit_path_on_rows(ds.x.as_ref(), &y, names, &cfg, &grid, rows, progress),
    })
    .map_err(|e| match &train_rows {
        // What is wrong may be the rows the hold-out left (a constant y on them, say).
        Some(rows) => anyhow::Error::from(e).context(format!(
            "the path on the {} of {} rows that --holdout leaves for training",
            rows.iter().filter(|&&t| t).count(),
            rows.len()
        )),
        None => e.into(),
    })?;
    let x = ds.x.as_ref();
    let train = error_curve(&out.models, x, &y, train_rows.as_deref())?;
    let test = match (&test, &train_rows) {
        (Some(t), _) => Some(
            test_error_curve(&out.models, t.ds.x.as_ref(), &t.y, t.column_of.as_deref())
                .with_context(|| format!("the test data {}", t.ds.source.display()))?,
        ),
        (None, Some(rows)) => {
            let held: Vec<bool> = rows.iter().map(|&r| !r).collect();
            Some(error_curve(&out.models, x, &y, Some(&held))?)
        }
        (None, None) => None,
    };
    // All outputs are staged before any is published: a plot that fails to draw leaves no
    // fresh JSON or CSV beside the old plot.
    if outs.wants("--out") {
        let mut json = out.to_json();
        json["train"] = serde_json::json!(train);
        if let Some(test) = &test {
            json["test"] = serde_json::json!(test);
        }
        if let Some(fraction) = a.holdout {
            json["holdout"] = serde_json::json!({ "fraction": fraction, "seed": a.seed });
        }
        let text = serde_json::to_string_pretty(&json).expect("a path always serialises");
        outs.stage("--out", text.as_bytes())
            .context("writing the path")?;
    }
    if outs.wants("--csv") {
        outs.stage("--csv", path_csv(&out, names).as_bytes())?;
    }
    if let Some(path) = &a.plot {
        outs.stage(
            "--plot",
            &lariat::plot::render_path_plot(path, &out.models, names)?,
        )?;
    }
    if let (Some(path), Some(test)) = (&a.error_plot, &test) {
        let picture = lariat::plot::ErrorPicture {
            lambdas: &out.lambdas,
            train: &train.mse,
            test: &test.mse,
        };
        outs.stage(
            "--error-plot",
            &lariat::plot::render_error_plot(path, &picture)?,
        )?;
    }
    outs.publish()?;
    let stalled: Vec<f64> = out
        .models
        .iter()
        .filter(|m| !m.converged)
        .map(|m| m.lambda)
        .collect();
    if !stalled.is_empty() {
        errln!(
            "warning: {} of {} lambdas did not converge (first: lambda {:.4e}); {}",
            stalled.len(),
            out.models.len(),
            stalled[0],
            unconverged_advice(stalled[0], out.lambda_max, cfg.preprocess.fit_intercept)
        );
    }
    if !a.quiet {
        print_path_summary(&ds, &out, &train, test.as_ref())?;
    }
    Ok(())
}

/// The test data of `path --test-x`.
struct TestData {
    ds: Dataset,
    y: Vec<f64>,
    /// Where each training column stands in the test data, when names put them in another
    /// order.
    column_of: Option<Vec<usize>>,
}

/// `--test-x` and `--test-y`, checked against the training data's columns: by name when both
/// have names (in any order), else by position.
fn read_test_data(a: &PathArgs, train: &Dataset) -> Result<Option<TestData>> {
    let Some(tx) = &a.test_x else {
        return Ok(None);
    };
    // Without --test-y the test file holds its target as the training file does: a CSV in
    // the column --target names, a LIBSVM file in its labels.
    let is_csv = a
        .input
        .format
        .map_or_else(|| Format::from_path(tx).ok(), Some)
        == Some(Format::Csv);
    let target = match &a.test_y {
        None if is_csv => a.data.target.first().map(String::as_str),
        _ => None,
    };
    let opts = ReadOptions {
        min_cols: train.x.n_cols(),
        ..a.input.read_options(target)
    };
    let (ds, y) = read_xy(tx, a.test_y.as_deref(), &opts, "--test-y")
        .context("the test data (--test-x, --test-y)")?;
    // The training file's target column, still in a test file given with --test-y.
    let target = a.data.target.first().filter(|t| {
        a.test_y.is_some()
            && ds
                .feature_names
                .as_ref()
                .is_some_and(|names| names.iter().any(|n| n == *t))
    });
    let hint = target.map_or(String::new(), |t| {
        format!("; its column '{t}' is the target: drop --test-y to take it from there")
    });
    let column_of = match (&train.feature_names, &ds.feature_names) {
        (Some(train_names), Some(test_names)) => test_columns(train_names, test_names)
            .map_err(|msg| anyhow!("{}: {msg}{hint}", tx.display()))?,
        _ => None,
    };
    if column_of.is_none() && ds.x.n_cols() != train.x.n_cols() {
        bail!(
            "{}: the test data have {} columns, the training data {} ({}){hint}",
            tx.display(),
            ds.x.n_cols(),
            train.x.n_cols(),
            train.source.display()
        );
    }
    if column_of.is_some() && !a.quiet {
        errln!(
            "note: {}: columns matched to the training data's by name (their order differs)",
            tx.display()
        );
    }
    Ok(Some(TestData { ds, y, column_of }))
}

/// Long format: one line per non-zero coefficient.
fn path_csv(out: &PathOutcome, names: Option<&[String]>) -> String {
    let mut text = String::from("lambda,feature,value\n");
    for m in &out.models {
        for (&j, &v) in m.coef.indices.iter().zip(&m.coef.values) {
            let feature = match names {
                Some(n) => csv_field(&n[j]),
                None => j.to_string(),
            };
            text.push_str(&format!("{:.17e},{feature},{v:.17e}\n", m.lambda));
        }
    }
    text
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn print_path_summary(
    ds: &Dataset,
    out: &PathOutcome,
    train: &ErrorCurve,
    test: Option<&ErrorCurve>,
) -> Result<()> {
    let k = out.models.len();
    outln!("data       {}", ds.describe())?;
    outln!(
        "path       {k} lambdas from {:.4e} to {:.4e}, fitted on {} rows, solved on {} in {:.3} s",
        out.lambdas[0],
        out.lambdas[k - 1],
        train.n,
        out.backend,
        out.seconds
    )?;
    // R^2 at lambda_max (the mean's own fit) is a rounding error either side of 0: no "-0.0000".
    let r2 = |v: Option<f64>| {
        v.map_or_else(
            || "-".to_string(),
            |r| format!("{r:.4}").replace("-0.0000", "0.0000"),
        )
    };
    let mut header = format!(
        "{:>12}  {:>9}  {:>11}  {:>9}",
        "lambda", "non-zeros", "train mse", "train R^2"
    );
    if test.is_some() {
        header.push_str(&format!("  {:>11}  {:>9}", "test mse", "test R^2"));
    }
    header.push_str(&format!("  {:>10}  {:>7}", "gap", "passes"));
    outln!("{header}")?;
    let best = test.map(|t| {
        (0..k)
            .min_by(|&a, &b| t.mse[a].total_cmp(&t.mse[b]))
            .expect("a path has a lambda")
    });
    let mut shown: Vec<usize> = if k <= 12 {
        (0..k).collect()
    } else {
        (0..10).map(|i| i * (k - 1) / 9).collect()
    };
    shown.extend(best);
    shown.sort_unstable();
    shown.dedup();
    for &i in &shown {
        let m = &out.models[i];
        let mut line = format!(
            "{:>12.4e}  {:>9}  {:>11.5e}  {:>9}",
            m.lambda,
            m.coef.indices.len(),
            train.mse[i],
            r2(train.r2[i])
        );
        if let Some(t) = test {
            line.push_str(&format!("  {:>11.5e}  {:>9}", t.mse[i], r2(t.r2[i])));
        }
        line.push_str(&format!("  {:>10.2e}  {:>7}", m.duality_gap, m.full_passes));
        if Some(i) == best {
            line.push_str("  <- lowest test error");
        }
        outln!("{line}")?;
    }
    if let (Some(t), Some(b)) = (test, best) {
        // Over-fitting: below the best lambda the training error keeps falling while the
        // test error rises.
        outln!(
            "test       {} rows; lowest test error {:.5e} at lambda {:.4e} ({} non-zeros); at the smallest lambda {:.5e} (training {:.5e})",
            t.n,
            t.mse[b],
            out.lambdas[b],
            out.models[b].coef.indices.len(),
            t.mse[k - 1],
            train.mse[k - 1]
        )?;
    }
    let passes: usize = out.models.iter().map(|f| f.full_passes).sum();
    outln!(
        "full passes over X: {passes} in all, {:.1} per lambda",
        passes as f64 / k as f64
    )?;
    Ok(())
}

/// Runs `work` with a progress bar (see [`Progress`]) handed in as its progress callback.
fn with_progress<T>(
    wanted: bool,
    work: impl FnOnce(&mut dyn FnMut(usize, usize)) -> lariat::Result<T>,
) -> lariat::Result<T> {
    let mut bar = Progress::new(wanted);
    let out = work(&mut |done, total| bar.update(done, total));
    bar.finish();
    out
}

/// A one-line progress bar on stderr, only when stderr is a terminal (never in pipes, logs or
/// CI) and not --quiet. Redrawn at most 10 times a second.
struct Progress {
    on: bool,
    start: Instant,
    last: Option<Instant>,
}

impl Progress {
    fn new(wanted: bool) -> Self {
        use std::io::IsTerminal;
        Progress {
            on: wanted && std::io::stderr().is_terminal(),
            start: Instant::now(),
            last: None,
        }
    }

    fn update(&mut self, done: usize, total: usize) {
        if !self.on || (done < total && self.last.is_some_and(|t| t.elapsed().as_millis() < 100)) {
            return;
        }
        self.last = Some(Instant::now());
        let width = 30;
        let filled = width * done / total.max(1);
        errout!(
            "\r[{}{}] {done}/{total} lambdas, {:.1} s",
            "#".repeat(filled),
            "-".repeat(width - filled),
            self.start.elapsed().as_secs_f64()
        );
    }

    fn finish(&self) {
        if self.on && self.last.is_some() {
            errln!();
        }
    }
}

fn status_word(m: &Model) -> &'static str {
    if m.converged {
        "converged"
    } else {
        "NOT converged"
    }
}
