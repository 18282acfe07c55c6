//! K-fold cross-validation of a path, as cv.glmnet defines it for the Gaussian family and
//! `type.measure = "mse"` (`shared/docs/cv.md`): every fold is solved on the full data's grid,
//! centred and standardized on its own training rows; `cvm` is the held-out mean squared
//! error averaged over folds weighted by their sizes, `cvsd` its standard error; `lambda_min`
//! minimises `cvm`, `lambda_1se` is the largest lambda within one standard error of it.
//!
//! The full data and the K folds are one batch ([`crate::path::solve_paths`]): one copy of X
//! (a fold is a 0/1 row mask), the column statistics of all folds from one pass over X, and
//! on the CPU each pass over X serves every unfinished problem.

use std::sync::Arc;
use std::time::Instant;

use crate::design::Design;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::evaluate::error_curve;
use crate::fit::{
    check_feature_names, lambda_max_of, penalties_of, resolve_grid, FitConfig, LambdaGrid,
    ModelReport, PathOutcome,
};
use crate::model::Model;
use crate::params::check_l1_ratio;
use crate::path::solve_paths;
use crate::penalty::ElasticNet;
use crate::problem::{ColumnStats, Problem};
use crate::synth::Rng;

/// cv.glmnet's default number of folds.
pub const DEFAULT_FOLDS: usize = 10;

/// Which fold each row is held out in: labels `0..k`, every fold non-empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folds {
    labels: Vec<usize>,
    sizes: Vec<usize>,
}

impl Folds {
    /// `k` folds of `n` rows at random, as cv.glmnet draws them: a random permutation of
    /// `1, 2, ..., k, 1, 2, ...` (so fold sizes differ by at most one), from `seed`.
    pub fn random(n: usize, k: usize, seed: u64) -> Result<Folds> {
        check_fold_count(k, n)?;
        let mut labels: Vec<usize> = (0..n).map(|i| i % k).collect();
        let mut rng = Rng::new(seed);
        // Fisher-Yates.
        for i in (1..n).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            labels.swap(i, j);
        }
        Self::from_indices(labels)
    }

    /// Folds from one label per row (any integers; `k` distinct labels make `k` folds,
    /// numbered in increasing order of the labels).
    pub fn from_labels(labels: &[i64]) -> Result<Folds> {
        let mut distinct = labels.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        check_fold_count(distinct.len(), labels.len())?;
        let idx = labels
            .iter()
            .map(|l| {
                distinct
                    .binary_search(l)
                    .expect("every label is in the list")
            })
            .collect();
        Self::from_indices(idx)
    }

    fn from_indices(labels: Vec<usize>) -> Result<Folds> {
        let k = labels.iter().max().map_or(0, |m| m + 1);
        let mut sizes = vec![0usize; k];
        labels.iter().for_each(|&f| sizes[f] += 1);
        Ok(Folds { labels, sizes })
    }

    /// The fold of each row, `0..k`.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }
    /// Rows held out in each fold.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }
    pub fn k(&self) -> usize {
        self.sizes.len()
    }
}

fn check_fold_count(k: usize, n: usize) -> Result<()> {
    if k < 2 {
        return Err(Error::invalid(
            "folds",
            k,
            "cross-validation needs at least 2 folds",
        ));
    }
    if k > n {
        return Err(Error::invalid(
            "folds",
            k,
            format!("more folds than rows (n = {n})"),
        ));
    }
    Ok(())
}

/// Which lambda the final model is taken at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Select {
    /// The lambda of the smallest `cvm`.
    #[default]
    Min,
    /// The largest lambda whose `cvm` is within one standard error of the smallest.
    OneSe,
}

impl std::str::FromStr for Select {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "min" => Ok(Select::Min),
            "1se" => Ok(Select::OneSe),
            _ => Err(format!("unknown selection '{s}' (expected min or 1se)")),
        }
    }
}

/// The cross-validation curve and the choice it makes.
#[derive(Clone, Debug)]
pub struct CvOutcome {
    /// Held-out mean squared error per lambda (folds weighted by size).
    pub cvm: Vec<f64>,
    /// Its standard error.
    pub cvsd: Vec<f64>,
    /// `cvraw[k][l]`: fold k's held-out mean squared error at lambda l.
    pub cvraw: Vec<Vec<f64>>,
    pub index_min: usize,
    pub index_1se: usize,
    /// The full-data path: the model at any lambda, the chosen one included.
    pub path: PathOutcome,
    pub fold_sizes: Vec<usize>,
    /// Whether `cvsd` comes from the folds' errors (cv.glmnet's `grouped`), or, with fewer
    /// than 3 rows a fold on average, from each row's held-out error ([`is_grouped`]).
    pub grouped: bool,
    /// Fits of the folds that did not converge (fold, lambda index).
    pub unconverged_folds: Vec<(usize, usize)>,
}

impl CvOutcome {
    /// The grid (the full-data path's).
    pub fn lambdas(&self) -> &[f64] {
        &self.path.lambdas
    }
    /// Non-zero coefficients of the full-data fit per lambda.
    pub fn nzero(&self) -> Vec<usize> {
        self.path
            .models
            .iter()
            .map(|m| m.coef.indices.len())
            .collect()
    }
    pub fn lambda_min(&self) -> f64 {
        self.lambdas()[self.index_min]
    }
    pub fn lambda_1se(&self) -> f64 {
        self.lambdas()[self.index_1se]
    }
    /// What `lariat cv --out` writes: the curve, both choices (indices 0-based) and, as
    /// `model`, the full-data fit at the selected lambda.
    pub fn to_json(&self, select: Select) -> serde_json::Value {
        serde_json::json!({
            "lambdas": self.lambdas(),
            "cvm": self.cvm,
            "cvsd": self.cvsd,
            "nzero": self.nzero(),
            "lambda_min": self.lambda_min(),
            "lambda_1se": self.lambda_1se(),
            "index_min": self.index_min,
            "index_1se": self.index_1se,
            "select": match select { Select::Min => "min", Select::OneSe => "1se" },
            "folds": self.fold_sizes.len(),
            "fold_sizes": self.fold_sizes,
            "grouped": self.grouped,
            "model": self.model(select),
        })
    }

    /// The full-data model at the selected lambda.
    pub fn model(&self, select: Select) -> &Model {
        &self.path.models[match select {
            Select::Min => self.index_min,
            Select::OneSe => self.index_1se,
        }]
    }
}

/// Cross-validates the path of `grid` (resolved on the full data, glmnet's rule) over `folds`,
/// and fits the full data along the same grid.
pub fn cross_validate(
    x: &dyn Design,
    y: &[f64],
    feature_names: Option<&[String]>,
    cfg: &FitConfig,
    grid: &LambdaGrid,
    folds: &Folds,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<CvOutcome> {
    let mut all = cross_validate_responses(x, &[y], feature_names, cfg, grid, folds, progress)?;
    Ok(all.pop().expect("one response, one cross-validation"))
}

/// [`cross_validate`] for several responses at once: the full data and every fold of every
/// response are one batch over one copy of X, with one set of fold statistics.
pub fn cross_validate_responses(
    x: &dyn Design,
    ys: &[&[f64]],
    feature_names: Option<&[String]>,
    cfg: &FitConfig,
    grid: &LambdaGrid,
    folds: &Folds,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<CvOutcome>> {
    let mut engine = cfg.engine();
    cross_validate_in(
        &mut engine,
        x,
        ys,
        feature_names,
        cfg,
        grid,
        folds,
        progress,
    )
}

/// [`cross_validate_responses`] through an [`Engine`] that outlives the call.
#[allow(clippy::too_many_arguments)]
pub fn cross_validate_in(
    engine: &mut Engine,
    x: &dyn Design,
    ys: &[&[f64]],
    feature_names: Option<&[String]>,
    cfg: &FitConfig,
    grid: &LambdaGrid,
    folds: &Folds,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<CvOutcome>> {
    let l1_ratio = check_l1_ratio(cfg.l1_ratio)?;
    let params = cfg.solver.check()?;
    check_feature_names(feature_names, x)?;
    if folds.labels().len() != x.n_rows() {
        return Err(Error::Shape {
            what: format!(
                "{} fold labels for {} rows of X",
                folds.labels().len(),
                x.n_rows()
            ),
        });
    }
    let start = Instant::now();
    let stats: Vec<Arc<ColumnStats>> = ColumnStats::for_folds(x, cfg.preprocess, folds.labels())?
        .into_iter()
        .map(Arc::new)
        .collect();
    // Problem `r * (K + 1)` is response r on all rows, the K after it its folds.
    let per = stats.len();
    let mut problems: Vec<Problem> = Vec::with_capacity(ys.len() * per);
    let mut grids: Vec<Vec<ElasticNet>> = Vec::with_capacity(ys.len());
    for (r, y) in ys.iter().enumerate() {
        // The response's problems (all rows, then each fold) and its grid.
        let mut set_up = || -> Result<Vec<f64>> {
            for s in &stats {
                problems.push(Problem::with_stats(x, Arc::clone(s), y)?);
            }
            let full = &problems[problems.len() - per];
            crate::range::check_scale(full, feature_names)?;
            let lambdas = resolve_grid(full, grid, l1_ratio)?;
            // The folds too: a column may underflow on a fold's training rows alone.
            for pb in &problems[problems.len() - per..] {
                crate::range::check_underflowed(pb, feature_names, &lambdas, l1_ratio)?;
            }
            Ok(lambdas)
        };
        let lambdas = Error::of_response(r, ys.len(), set_up())?;
        grids.push(penalties_of(&lambdas, l1_ratio));
    }
    let backend = engine.backend(x.n_rows() * x.n_cols())?;
    let report = ModelReport::new(feature_names, cfg, params.tol, backend);
    let (k, l) = (folds.k(), grids[0].len());
    let mut models: Vec<Vec<Model>> = ys.iter().map(|_| Vec::with_capacity(l)).collect();
    let mut cvraw = vec![vec![vec![0.0; l]; k]; ys.len()];
    let grouped = is_grouped(x.n_rows(), k);
    // `row_errors[r][l][i]`: row i's squared error at lambda l from the fold that holds it
    // out; kept only where cvsd comes from the rows (fewer than 3K rows, so it is small).
    let n = x.n_rows();
    let mut row_errors = vec![vec![vec![0.0; if grouped { 0 } else { n }]; l]; ys.len()];
    let mut unconverged: Vec<Vec<(usize, usize)>> = ys.iter().map(|_| Vec::new()).collect();
    let held: Vec<Vec<bool>> = (0..k)
        .map(|f| folds.labels().iter().map(|&l| l == f).collect())
        .collect();
    let refs: Vec<&Problem> = problems.iter().collect();
    let grid_refs: Vec<&[ElasticNet]> = (0..problems.len())
        .map(|i| grids[i / per].as_slice())
        .collect();
    solve_paths(
        &refs,
        &grid_refs,
        backend,
        &params,
        progress,
        &mut |i, li, fit| {
            let (r, f) = (i / per, i % per);
            if f == 0 {
                models[r].push(report.model(&problems[i], fit, &grids[r][li]));
            } else {
                // The fold's model (its own centring, scaling and intercept) on its held-out
                // rows: the error `lariat path --test-x` would report.
                let model = report.model(&problems[i], fit, &grids[r][li]);
                cvraw[r][f - 1][li] = if grouped {
                    error_curve(std::slice::from_ref(&model), x, ys[r], Some(&held[f - 1]))
                        .expect("X, y and the fold labels have one length")
                        .mse[0]
                } else {
                    // Each held-out row's error is kept; the fold's mean comes from them.
                    let yhat = model.predict(x).expect("the fold's model has X's columns");
                    let errors = &mut row_errors[r][li];
                    let mut sum = 0.0;
                    for (i, (&y, &p)) in ys[r].iter().zip(&yhat).enumerate() {
                        if held[f - 1][i] {
                            errors[i] = (y - p).powi(2);
                            sum += errors[i];
                        }
                    }
                    sum / folds.sizes()[f - 1] as f64
                };
                if fit.status != crate::solver::Status::Converged {
                    unconverged[r].push((f - 1, li));
                }
            }
        },
    )?;
    let seconds = start.elapsed().as_secs_f64();
    let device = backend.device();
    let mut out = Vec::with_capacity(ys.len());
    for (r, (((models, cvraw), unconverged_folds), row_errors)) in models
        .into_iter()
        .zip(cvraw)
        .zip(unconverged)
        .zip(row_errors)
        .enumerate()
    {
        let full = &problems[r * per];
        let lambdas: Vec<f64> = grids[r].iter().map(|p| p.lambda).collect();
        let (cvm, cvsd) = if grouped {
            cv_curve(&cvraw, folds.sizes())
        } else {
            cv_curve_by_rows(&row_errors)
        };
        let (index_min, index_1se) = choose_lambdas(&lambdas, &cvm, &cvsd);
        out.push(CvOutcome {
            path: PathOutcome {
                lambdas,
                models,
                lambda_max: lambda_max_of(full, l1_ratio),
                zero_columns: full.zero_columns(),
                backend: device.clone(),
                seconds,
            },
            cvm,
            cvsd,
            cvraw,
            index_min,
            index_1se,
            fold_sizes: folds.sizes().to_vec(),
            grouped,
            unconverged_folds,
        });
    }
    Ok(out)
}

/// Refuses folds whose training rows hold a constant response (with an intercept): each of
/// their models is the mean and nothing else, which cv.glmnet refuses too and `lariat cv`
/// refuses by name. The library fits them (scikit-learn's LassoCV does: zero coefficients).
pub fn check_training_responses(y: &[f64], folds: &Folds, fit_intercept: bool) -> Result<()> {
    if !fit_intercept {
        return Ok(());
    }
    for f in 0..folds.k() {
        let (lo, hi) = (0..y.len())
            .filter(|&i| folds.labels()[i] != f)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), i| {
                (lo.min(y[i]), hi.max(y[i]))
            });
        if lo == hi {
            return Err(Error::Unsupported(format!(
                "cannot cross-validate: y is constant ({lo}) on the training rows of fold {}",
                f + 1
            )));
        }
    }
    Ok(())
}

/// `cvm` and `cvsd` from the per-fold errors, weighted by fold size (cv.glmnet):
/// `cvm = sum N_k e_k / N`, `cvsd = sqrt(sum N_k (e_k - cvm)^2 / N / (K - 1))`.
pub fn cv_curve(cvraw: &[Vec<f64>], sizes: &[usize]) -> (Vec<f64>, Vec<f64>) {
    let k = cvraw.len();
    let total: f64 = sizes.iter().map(|&s| s as f64).sum();
    let l = cvraw.first().map_or(0, Vec::len);
    (0..l)
        .map(|li| {
            let cvm: f64 = (0..k).map(|f| sizes[f] as f64 * cvraw[f][li]).sum::<f64>() / total;
            let var: f64 = (0..k)
                .map(|f| sizes[f] as f64 * (cvraw[f][li] - cvm).powi(2))
                .sum::<f64>()
                / total;
            (cvm, (var / (k - 1) as f64).sqrt())
        })
        .unzip()
}

/// cv.glmnet's rule: `cvsd` comes from the folds' errors unless there are fewer than 3 rows
/// a fold on average (`nrow(x) / nfolds < 3`), where it enforces `grouped = FALSE` and takes
/// each row's held-out error instead.
pub fn is_grouped(n_rows: usize, folds: usize) -> bool {
    n_rows >= 3 * folds
}

/// `cvm` and `cvsd` from each row's held-out squared error (cv.glmnet's `grouped = FALSE`):
/// `cvm = sum e_i / n`, `cvsd = sqrt(sum (e_i - cvm)^2 / n / (n - 1))`.
pub fn cv_curve_by_rows(row_errors: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
    row_errors
        .iter()
        .map(|e| {
            let n = e.len() as f64;
            let cvm = e.iter().sum::<f64>() / n;
            let var = e.iter().map(|&v| (v - cvm).powi(2)).sum::<f64>() / n;
            (cvm, (var / (n - 1.0)).sqrt())
        })
        .unzip()
}

/// cv.glmnet's choice: `lambda_min` is the largest lambda with the smallest `cvm`;
/// `lambda_1se` the largest lambda with `cvm <= cvm[min] + cvsd[min]`.
pub fn choose_lambdas(lambdas: &[f64], cvm: &[f64], cvsd: &[f64]) -> (usize, usize) {
    let best = cvm.iter().cloned().fold(f64::INFINITY, f64::min);
    let largest_lambda = |ok: &dyn Fn(usize) -> bool| {
        (0..lambdas.len())
            .filter(|&i| ok(i))
            .max_by(|&a, &b| lambdas[a].total_cmp(&lambdas[b]).then(b.cmp(&a)))
            .expect("some lambda qualifies")
    };
    let index_min = largest_lambda(&|i| cvm[i] <= best);
    let bound = cvm[index_min] + cvsd[index_min];
    let index_1se = largest_lambda(&|i| cvm[i] <= bound);
    (index_min, index_1se)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_folds_are_balanced_and_seeded() {
        let f = Folds::random(23, 5, 7).unwrap();
        assert_eq!(f.k(), 5);
        let mut sizes = f.sizes().to_vec();
        sizes.sort_unstable();
        assert_eq!(sizes, vec![4, 4, 5, 5, 5]);
        assert_eq!(f, Folds::random(23, 5, 7).unwrap());
        assert_ne!(f, Folds::random(23, 5, 8).unwrap());
        assert!(Folds::random(3, 4, 0).is_err());
        assert!(Folds::random(10, 1, 0).is_err());
    }

    #[test]
    fn labels_map_in_increasing_order() {
        let f = Folds::from_labels(&[7, -1, 7, 3, -1]).unwrap();
        assert_eq!(f.labels(), &[2, 0, 2, 1, 0]);
        assert_eq!(f.sizes(), &[2, 1, 2]);
        assert!(Folds::from_labels(&[4, 4, 4]).is_err());
    }

    #[test]
    fn the_curve_and_the_choice_follow_cv_glmnet() {
        // Two folds of sizes 1 and 3: cvm = (1 e0 + 3 e1) / 4 by hand.
        let cvraw = vec![vec![4.0, 2.0, 3.0], vec![0.0, 2.0, 1.0]];
        // Rows' errors 1 | 2, 2, 5 in two folds: the same cvm, cvsd over the 4 rows.
        let (cvm, cvsd) = cv_curve_by_rows(&[vec![1.0, 2.0, 2.0, 5.0]]);
        assert_eq!(cvm, vec![2.5]);
        assert!((cvsd[0] - (9.0f64 / 4.0 / 3.0).sqrt()).abs() < 1e-15);
        assert!(is_grouped(30, 10) && !is_grouped(29, 10));
        let (cvm, cvsd) = cv_curve(&cvraw, &[1, 3]);
        assert_eq!(cvm, vec![1.0, 2.0, 1.5]);
        // Lambda 0: (1 * 9 + 3 * 1) / 4 / 1 = 3.
        assert!((cvsd[0] - 3f64.sqrt()).abs() < 1e-15);
        assert_eq!(cvsd[1], 0.0);
        let lambdas = [3.0, 2.0, 1.0];
        // Minimum at lambda 3 (index 0), 1se the same.
        assert_eq!(choose_lambdas(&lambdas, &cvm, &cvsd), (0, 0));
        // A minimum at the smallest lambda with a wide error bar: 1se moves up the grid.
        let (m, s) = (vec![2.0, 1.6, 1.5], vec![0.1, 0.1, 0.2]);
        assert_eq!(choose_lambdas(&lambdas, &m, &s), (2, 1));
        // Ties go to the larger lambda.
        assert_eq!(
            choose_lambdas(&lambdas, &[1.0, 1.0, 2.0], &[0.0; 3]),
            (0, 0)
        );
    }
}
