//! The optimisation problem, in the units where it is minimised:
//!
//! ```text
//! P(w) = 1/(2n) ||yc - Xe w||^2 + lambda (rho ||w||_1 + (1 - rho)/2 ||w||^2)
//! ```
//!
//! where `yc` is `y` centred (when fitting an intercept) and `Xe` is `X` with each column
//! centred (intercept) and divided by its scale (`--standardize`), both *implicitly*: `Xe` is
//! never built. Every backend's answer is judged here, in f64, by [`Problem::duality_gap`].

use std::sync::Arc;

use crate::design::Design;
use crate::error::{Error, Result};
use crate::penalty::ElasticNet;

/// How the raw data becomes the problem that is minimised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preprocess {
    /// Fit an intercept by implicit centring (default true).
    pub fit_intercept: bool,
    /// glmnet's `standardize = TRUE`: divide each column by its (1/n) standard deviation
    /// (about its mean also without an intercept, as glmnet's `intercept = FALSE` and
    /// scikit-learn's `StandardScaler(with_mean=False)` scale) and penalise the scaled
    /// coefficients. A column constant on the rows has no such scale: its coefficient is 0.
    pub standardize: bool,
}

impl Default for Preprocess {
    fn default() -> Self {
        Preprocess {
            fit_intercept: true,
            standardize: false,
        }
    }
}

impl Preprocess {
    /// Every preprocessing: centring and standardizing, each on and off.
    pub const ALL: [Preprocess; 4] = [
        Preprocess {
            fit_intercept: true,
            standardize: false,
        },
        Preprocess {
            fit_intercept: true,
            standardize: true,
        },
        Preprocess {
            fit_intercept: false,
            standardize: false,
        },
        Preprocess {
            fit_intercept: false,
            standardize: true,
        },
    ];
}

/// Whether a column whose squared deviations from its mean sum to `spread`, over `count`
/// rows with mean `mean`, is constant up to rounding: its standard deviation at most
/// `count * eps * |mean|`, the rounding error of summing it (scikit-learn's bound in
/// `_is_constant_feature`). Above it the spread is data, however small beside the mean (a
/// position or a timestamp on a large offset); below it, dividing by it would turn rounding
/// noise into a feature.
fn is_constant_up_to_rounding(spread: f64, mean: f64, count: f64) -> bool {
    let bound = count * f64::EPSILON * mean.abs();
    spread <= count * bound * bound
}

/// Which rows of X a problem is fitted on, as 0/1 weights over all n rows of the design: a
/// cross-validation fold trains on a subset without copying X. Every vector of such a problem
/// (`yc`, residuals) is zero on the rows outside the subset, so a dot product with a column
/// over all rows equals the one over the subset.
#[derive(Clone, Debug, PartialEq)]
pub enum Rows {
    All,
    /// `weights[i]` is 1 for the rows in the subset, 0 for the others.
    Subset(Vec<f64>),
}

impl Rows {
    /// The rows whose mask entry is true.
    pub fn from_mask(mask: &[bool]) -> Rows {
        Rows::Subset(mask.iter().map(|&m| f64::from(u8::from(m))).collect())
    }

    /// The 0/1 weights, `None` for all rows.
    pub fn weights(&self) -> Option<&[f64]> {
        match self {
            Rows::All => None,
            Rows::Subset(w) => Some(w),
        }
    }

    /// Whether row `i` is in the set.
    pub fn contains(&self, i: usize) -> bool {
        self.weights().is_none_or(|w| w[i] != 0.0)
    }
}

/// The statistics of X's columns over a set of rows: means (for the implicit centring), scales
/// (`--standardize`) and squared norms of the centred, scaled columns. They depend on the rows
/// and the preprocessing, not on the response, so many responses share one set, and the sets
/// of all cross-validation folds come from one pass over X ([`ColumnStats::for_folds`]).
#[derive(Clone, Debug)]
pub struct ColumnStats {
    rows: Rows,
    /// Rows in the set.
    n: usize,
    prep: Preprocess,
    x_mean: Vec<f64>,
    x_scale: Vec<f64>,
    /// `||xe_j||^2`, zero for the columns that are identically zero once centred.
    col_sq_norms: Vec<f64>,
    /// `(j, ||xe_j||)` for the columns handled as zero because their squares (or scale) fall
    /// below f64's normal range, though they are not constant.
    underflowed: Vec<(usize, f64)>,
    /// Unique per instance in this process (see [`Problem::data_id`]).
    id: u64,
    /// Shared by the statistics computed together from one design (all rows and the folds of
    /// one [`ColumnStats::for_folds`]): what a device keys its copy of the raw X on.
    design_id: u64,
}

/// The next id of a [`ColumnStats`] or [`Problem`]: unique in the process.
fn next_id() -> u64 {
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The moments of one column over a set of rows, from which its statistics follow.
#[derive(Clone, Copy, Debug)]
struct Moments {
    /// Rows in the set.
    count: f64,
    /// `sum x_i` over the set.
    sum: f64,
    /// `sum ((x_i - c) / u)^2` over the set, about a centre `c` near the column's mean (so
    /// that the shift to the set's own mean loses nothing to cancellation), in units `u` of
    /// the column's magnitude: squares of entries near 1e-170 or 1e170 neither underflow nor
    /// overflow.
    sq_about: f64,
    centre: f64,
    unit: f64,
}

impl Moments {
    /// `sum ((x_i - m) / u)^2` over the set.
    fn sq_about(&self, m: f64) -> f64 {
        let d = (self.sum / self.count - self.centre) / self.unit;
        let at_mean = (self.sq_about - self.count * d * d).max(0.0);
        let e = (self.sum / self.count - m) / self.unit;
        at_mean + self.count * e * e
    }
}

/// The unit [`Moments`] measures a column in: the power of two at its largest deviation from
/// `centre` (or the centre itself, if larger); 1 for a column of zeros. A power of two, so
/// dividing by it is exact and the statistics are bit for bit those of the unscaled column
/// wherever its squares are in f64's range (a fold's moments by subtraction cancel as
/// exactly as before).
fn magnitude_unit(col: &[f64], centre: f64) -> f64 {
    power_of_two_unit(
        col.iter()
            .fold(centre.abs(), |m, v| m.max((v - centre).abs())),
    )
}

/// The power of two at `largest` (in f64's normal range), or 1 where that is 0 or not finite.
fn power_of_two_unit(largest: f64) -> f64 {
    if largest > 0.0 && largest.is_finite() {
        2f64.powi((largest.log2().floor() as i32).clamp(f64::MIN_EXP - 1, f64::MAX_EXP - 1))
    } else {
        1.0
    }
}

/// Below this share of a column's squared deviations on the training rows of a fold, the
/// fold's moments are summed over its rows instead of subtracted from the whole column's: the
/// subtraction's rounding, about `n eps` of the whole, would be over `100 n eps` (`2e-14 n`)
/// of the fold's own (all of it for a column constant on the fold: a sparse column whose one
/// non-zero is held out, or one whose spread is all on the held-out rows).
const HELD_OUT_SPREAD: f64 = 1e-2;

/// The moments of `col` over the rows not in fold `f`, summed directly.
fn training_moments(col: &[f64], fold: &[usize], f: usize, count: f64) -> Moments {
    let train = || {
        col.iter()
            .zip(fold)
            .filter(|(_, &g)| g != f)
            .map(|(&v, _)| v)
    };
    let sum: f64 = train().sum();
    let centre = sum / count;
    let unit = power_of_two_unit(train().fold(centre.abs(), |m, v| m.max((v - centre).abs())));
    Moments {
        count,
        sum,
        sq_about: train().map(|v| ((v - centre) / unit).powi(2)).sum(),
        centre,
        unit,
    }
}

/// The mean, scale and squared norm of a column from its moments; `(0, 1, 0)`-like for a
/// column that is identically zero once centred (or, standardized, constant). The fourth
/// value is 0, or, for a column that is not constant but whose squares (or scale) fall below
/// f64's normal range and so is handled as a zero column, `||xe_j||` as it would be:
/// representable where its square is not, and what [`crate::range::check_underflowed`] needs
/// to tell whether the column could enter the model.
fn column_stats(mo: &Moments, prep: Preprocess) -> (f64, f64, f64, f64) {
    let raw_mean = mo.sum / mo.count;
    let mean = if prep.fit_intercept { raw_mean } else { 0.0 };
    // In units of mo.unit (the constancy test is the same in any unit).
    let ss = mo.sq_about(mean);
    let spread = mo.sq_about(raw_mean);
    let constant = is_constant_up_to_rounding(spread, raw_mean / mo.unit, mo.count);
    if ss == 0.0 || (constant && (prep.fit_intercept || prep.standardize)) {
        return (mean, 1.0, 0.0, 0.0);
    }
    if prep.standardize {
        // glmnet's scale: the standard deviation about the column's mean, whether or not the
        // column is centred; ||xe_j||^2 = ss / sd^2 (the count when centred).
        let var = spread / mo.count;
        let scale = mo.unit * var.sqrt();
        if scale < f64::MIN_POSITIVE {
            // Dividing by a subnormal scale would overflow the column.
            return (mean, 1.0, 0.0, (ss / var).sqrt());
        }
        (mean, scale, ss / var, 0.0)
    } else {
        let sq_norm = ss * mo.unit * mo.unit;
        if sq_norm < f64::MIN_POSITIVE {
            // Below f64's normal range: products with it lose every digit.
            return (mean, 1.0, 0.0, mo.unit * ss.sqrt());
        }
        (mean, 1.0, sq_norm, 0.0)
    }
}

impl ColumnStats {
    /// The statistics over all rows.
    pub fn new(x: &dyn Design, prep: Preprocess) -> Result<ColumnStats> {
        let mut all = Self::for_folds(x, prep, &[])?;
        Ok(all.swap_remove(0))
    }

    /// The statistics over all rows, then over the training rows of each fold (all rows but
    /// those with `fold[i] == k`, for `k` in `0..K`), in one pass over X. `fold` is empty (no
    /// folds) or has one label per row.
    pub fn for_folds(x: &dyn Design, prep: Preprocess, fold: &[usize]) -> Result<Vec<ColumnStats>> {
        use rayon::prelude::*;
        let (n, p) = (x.n_rows(), x.n_cols());
        if n == 0 || p == 0 {
            return Err(Error::Shape {
                what: format!("X is empty ({n} rows x {p} columns)"),
            });
        }
        let k = fold.iter().max().map_or(0, |m| m + 1);
        let mut fold_rows = vec![0usize; k];
        fold.iter().for_each(|&f| fold_rows[f] += 1);
        if !fold.is_empty() {
            assert_eq!(fold.len(), n, "one fold label per row");
        }
        // Per column: the sum and the squares about the column's mean over each fold, then
        // every training set's moments by subtraction.
        let per_col: Vec<Vec<(f64, f64, f64, f64)>> = (0..p)
            .into_par_iter()
            .map_init(
                || (vec![0.0; n], vec![0.0; k], vec![0.0; k]),
                |(col, sums, sqs), j| {
                    col.iter_mut().for_each(|c| *c = 0.0);
                    x.col_axpy(j, 1.0, col);
                    let total: f64 = col.iter().sum();
                    let centre = total / n as f64;
                    let unit = magnitude_unit(col, centre);
                    let sq = |v: f64| ((v - centre) / unit) * ((v - centre) / unit);
                    let sq_total: f64 = col.iter().map(|&v| sq(v)).sum();
                    sums.iter_mut().for_each(|s| *s = 0.0);
                    sqs.iter_mut().for_each(|s| *s = 0.0);
                    for (&f, &v) in fold.iter().zip(col.iter()) {
                        sums[f] += v;
                        sqs[f] += sq(v);
                    }
                    let all = Moments {
                        count: n as f64,
                        sum: total,
                        sq_about: sq_total,
                        centre,
                        unit,
                    };
                    std::iter::once(column_stats(&all, prep))
                        .chain((0..k).map(|f| {
                            let count = (n - fold_rows[f]) as f64;
                            let sq_about = (sq_total - sqs[f]).max(0.0);
                            let train = Moments {
                                count,
                                sum: total - sums[f],
                                sq_about,
                                centre,
                                unit,
                            };
                            let spread = train.sq_about(train.sum / count);
                            if spread > HELD_OUT_SPREAD * sq_total {
                                column_stats(&train, prep)
                            } else {
                                // The held-out rows hold (nearly) all the spread: by
                                // subtraction the training rows' would be rounding noise.
                                column_stats(&training_moments(col, fold, f, count), prep)
                            }
                        }))
                        .collect()
                },
            )
            .collect();
        let sets = std::iter::once(Rows::All).chain(
            (0..k).map(|f| Rows::from_mask(&fold.iter().map(|&g| g != f).collect::<Vec<_>>())),
        );
        let design_id = next_id();
        Ok(sets
            .enumerate()
            .map(|(s, rows)| {
                let n_set = if s == 0 { n } else { n - fold_rows[s - 1] };
                ColumnStats {
                    rows,
                    n: n_set,
                    prep,
                    x_mean: per_col.iter().map(|c| c[s].0).collect(),
                    x_scale: per_col.iter().map(|c| c[s].1).collect(),
                    col_sq_norms: per_col.iter().map(|c| c[s].2).collect(),
                    underflowed: per_col
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| c[s].3 > 0.0)
                        .map(|(j, c)| (j, c[s].3))
                        .collect(),
                    id: next_id(),
                    design_id,
                }
            })
            .collect())
    }

    /// The statistics over the rows where `keep` is true.
    pub fn for_rows(x: &dyn Design, prep: Preprocess, keep: &[bool]) -> Result<ColumnStats> {
        // The kept rows are the training rows of "fold 0" = the rows not kept.
        let labels: Vec<usize> = keep.iter().map(|&k| usize::from(k)).collect();
        if !keep.iter().any(|&k| !k) {
            return Self::new(x, prep);
        }
        let mut sets = Self::for_folds(x, prep, &labels)?;
        Ok(sets.swap_remove(1))
    }

    /// Rows in the set.
    pub fn n(&self) -> usize {
        self.n
    }

    /// These statistics restricted to the columns `cols`, in that order: those of the design
    /// `Columns::new(x, cols)` over the same rows (a working set's subproblem), with no pass
    /// over X.
    pub fn select_columns(&self, cols: &[usize]) -> ColumnStats {
        let pick = |v: &[f64]| cols.iter().map(|&j| v[j]).collect();
        ColumnStats {
            rows: self.rows.clone(),
            n: self.n,
            prep: self.prep,
            x_mean: pick(&self.x_mean),
            x_scale: pick(&self.x_scale),
            col_sq_norms: pick(&self.col_sq_norms),
            // Checked on the whole design before any subproblem is made.
            underflowed: Vec::new(),
            id: next_id(),
            design_id: next_id(),
        }
    }
    /// [`ColumnStats::select_columns`] with column `k` of Xe divided by `by[k] > 0` (a
    /// diagonal change of variables, as a preconditioner makes).
    pub fn select_columns_divided(&self, cols: &[usize], by: &[f64]) -> ColumnStats {
        let mut out = self.select_columns(cols);
        for ((scale, sq), &d) in out.x_scale.iter_mut().zip(&mut out.col_sq_norms).zip(by) {
            *scale *= d;
            *sq /= d * d;
        }
        out
    }
    pub fn rows(&self) -> &Rows {
        &self.rows
    }
    pub fn preprocess(&self) -> Preprocess {
        self.prep
    }
}

/// The sums the duality gap needs, with `r = yc - Xe w`, `g = Xe^T r`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GapScalars {
    /// `||r||^2`
    pub r_sq: f64,
    /// `r^T yc`
    pub r_yc: f64,
    /// `||w||_1`
    pub w_l1: f64,
    /// `||w||^2`
    pub w_sq: f64,
    /// `||g - n lambda (1 - rho) w||_inf`
    pub g_inf: f64,
    /// `||g||^2` (the Ridge dual needs it)
    pub g_sq: f64,
    /// `sum_j (|g_j| - n lambda rho)_+^2`, where the correlations are known one by one (f64
    /// passes; not the device's sums): the Elastic Net's unscaled dual needs it.
    pub g_excess_sq: Option<f64>,
}

/// Everything the duality gap computation produces.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GapInfo {
    /// Primal objective `P(w)`.
    pub primal: f64,
    /// The best dual objective at the residual: rescaled into the Lasso's feasible set, or
    /// (Elastic Net, where the correlations are known one by one) unscaled.
    pub dual: f64,
    /// `primal - dual >= 0`.
    pub gap: f64,
    /// The gap at the rescaled residual alone, at least `gap`: Gap Safe's sphere is centred
    /// there and needs this one.
    pub sphere_gap: f64,
}

/// The data part of the problem (the penalty varies along a path and is passed separately):
/// the statistics of a set of rows of X, shared, and one response on those rows.
pub struct Problem<'a> {
    x: &'a dyn Design,
    stats: Arc<ColumnStats>,
    /// Centred response, zero outside the rows of `stats`.
    yc: Vec<f64>,
    y_mean: f64,
    /// `Xe^T yc`, the correlations at `w = 0`: lambda_max, and the certificate of every
    /// lambda at which zero is the answer. One pass over X, taken once.
    zero_correlations: std::sync::OnceLock<Vec<f64>>,
    zero_correlation_max: std::sync::OnceLock<f64>,
    /// Unique per instance in this process (see [`Problem::id`]).
    id: u64,
}

impl<'a> Problem<'a> {
    /// Sets up the problem on all rows; `y` must have one entry per row of `x`.
    pub fn new(x: &'a dyn Design, y: &[f64], prep: Preprocess) -> Result<Self> {
        check_response(x, y)?;
        let stats = Arc::new(ColumnStats::new(x, prep)?);
        Self::with_stats(x, stats, y)
    }

    /// The problem of response `y` (one entry per row of `x`; entries outside the rows of
    /// `stats` are ignored) on the rows and statistics of `stats`, computed from `x`.
    pub fn with_stats(x: &'a dyn Design, stats: Arc<ColumnStats>, y: &[f64]) -> Result<Self> {
        check_response(x, y)?;
        debug_assert_eq!(stats.x_mean.len(), x.n_cols());
        let rows = &stats.rows;
        let y_mean = if stats.prep.fit_intercept {
            // About the first value: a y constant on the rows (1e25 plus noise below its ulp)
            // has exactly that mean, and yc = 0, not the rounding of a sum of 1e25s.
            let mut kept = (0..y.len()).filter(|&i| rows.contains(i)).map(|i| y[i]);
            let first = kept.clone().next().unwrap_or(0.0);
            let shift: f64 = kept.by_ref().map(|v| v - first).sum();
            first + shift / stats.n as f64
        } else {
            0.0
        };
        let yc: Vec<f64> = y
            .iter()
            .enumerate()
            .map(|(i, v)| if rows.contains(i) { v - y_mean } else { 0.0 })
            .collect();
        Ok(Problem {
            x,
            stats,
            yc,
            y_mean,
            zero_correlations: std::sync::OnceLock::new(),
            zero_correlation_max: std::sync::OnceLock::new(),
            id: next_id(),
        })
    }

    /// Rows the problem is fitted on (the `n` of `1/(2n)`).
    pub fn n(&self) -> usize {
        self.stats.n
    }
    /// A number no other `Problem` of this process gets: what a backend keys its uploaded
    /// copy of X and y on (an address is reused by the next problem once this one is dropped).
    pub fn id(&self) -> u64 {
        self.id
    }
    /// What the design part of the problem (X over its rows, centred and scaled) is known by:
    /// the id of its [`ColumnStats`], shared by every response on them. A backend that holds
    /// X for one problem holds it for all of these; only y differs.
    pub fn data_id(&self) -> u64 {
        self.stats.id
    }
    /// What the raw design is known by: the same for the problems whose statistics were
    /// computed together (the full data and its folds), whatever their rows and responses.
    pub fn design_id(&self) -> u64 {
        self.stats.design_id
    }
    /// Rows of the design: the length of every vector of the problem (zero outside its rows).
    pub fn n_rows(&self) -> usize {
        self.x.n_rows()
    }
    /// The statistics of the rows the problem is fitted on.
    pub fn stats(&self) -> &Arc<ColumnStats> {
        &self.stats
    }
    /// The rows the problem is fitted on.
    pub fn rows(&self) -> &Rows {
        &self.stats.rows
    }
    pub fn p(&self) -> usize {
        self.x.n_cols()
    }
    pub fn design(&self) -> &dyn Design {
        self.x
    }
    /// The centred target `yc`.
    pub fn yc(&self) -> &[f64] {
        &self.yc
    }
    pub fn preprocess(&self) -> Preprocess {
        self.stats.prep
    }
    /// Mean of the response over the problem's rows (0 without an intercept).
    pub fn y_mean(&self) -> f64 {
        self.y_mean
    }
    /// Column means used for centring (zeros without an intercept).
    pub fn x_mean(&self) -> &[f64] {
        &self.stats.x_mean
    }
    /// Column scales (ones unless standardizing).
    pub fn x_scale(&self) -> &[f64] {
        &self.stats.x_scale
    }
    /// `||xe_j||^2` for every column.
    pub fn col_sq_norms(&self) -> &[f64] {
        &self.stats.col_sq_norms
    }
    /// `(j, ||xe_j||)` of the columns handled as zero because their squares (or scale) fall
    /// below f64's normal range, though they are not constant.
    pub fn underflowed_columns(&self) -> &[(usize, f64)] {
        &self.stats.underflowed
    }
    /// Columns that are identically zero once centred (constant columns with an intercept,
    /// all-zero columns without): their coefficient is always 0.
    pub fn zero_columns(&self) -> Vec<usize> {
        (0..self.p())
            .filter(|&j| self.stats.col_sq_norms[j] == 0.0)
            .collect()
    }

    /// `xe_j^T v`, given `vsum = 1^T v` (sparse storage needs it to stay O(nnz); for any
    /// residual of the centred problem it is 0 up to rounding).
    #[inline]
    pub fn col_dot(&self, j: usize, v: &[f64], vsum: f64) -> f64 {
        if self.stats.col_sq_norms[j] == 0.0 {
            return 0.0;
        }
        self.x.col_dot_centered(j, v, self.stats.x_mean[j], vsum) / self.stats.x_scale[j]
    }

    /// `v += a xe_j`.
    #[inline]
    pub fn col_axpy(&self, j: usize, a: f64, v: &mut [f64]) {
        if self.stats.col_sq_norms[j] == 0.0 || a == 0.0 {
            return;
        }
        let (a, m) = (a / self.stats.x_scale[j], self.stats.x_mean[j]);
        match self.stats.rows.weights() {
            None => self.x.col_axpy_centered(j, a, m, v),
            Some(rows) => self.x.col_axpy_centered_rows(j, a, m, rows, v),
        }
    }

    /// [`Problem::col_axpy`]`(j, a, v)`, then [`Problem::col_dot`]`(k, v, 0)`: in one pass
    /// over `v` where the storage can, with the same numbers.
    #[inline]
    pub fn col_axpy_then_dot(&self, j: usize, a: f64, k: usize, v: &mut [f64]) -> f64 {
        let s = &self.stats;
        if s.col_sq_norms[j] == 0.0 || a == 0.0 {
            return self.col_dot(k, v, 0.0);
        }
        if s.col_sq_norms[k] == 0.0 {
            self.col_axpy(j, a, v);
            return 0.0;
        }
        let update = (j, a / s.x_scale[j], s.x_mean[j]);
        let g = self
            .x
            .col_axpy_then_dot(update, s.rows.weights(), (k, s.x_mean[k]), v);
        g / s.x_scale[k]
    }

    /// `out = Xe w`, reading only the columns where `w` is non-zero.
    pub fn matvec(&self, w: &[f64], out: &mut [f64]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        for (j, &wj) in w.iter().enumerate() {
            self.col_axpy(j, wj, out);
        }
    }

    /// `out = Xe^T v`: a full pass over X, parallel over columns and deterministic (each
    /// entry is one sequential dot product).
    pub fn rmatvec(&self, v: &[f64], out: &mut [f64]) {
        use rayon::prelude::*;
        const CHUNK: usize = 256;
        let vsum: f64 = v.iter().sum();
        out.par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(c, chunk)| {
                for (k, o) in chunk.iter_mut().enumerate() {
                    *o = self.col_dot(c * CHUNK + k, v, vsum);
                }
            });
    }

    /// The residual `r = yc - Xe w`.
    pub fn residual(&self, w: &[f64]) -> Vec<f64> {
        let support: Vec<usize> = (0..w.len()).filter(|&j| w[j] != 0.0).collect();
        self.residual_on(w, &support)
    }

    /// [`Problem::residual`] of a `w` that is zero outside `support` (ascending), the same
    /// numbers in O(n |support|) instead of O(p): a solver that tracks its non-zeros takes
    /// one residual per gap check, and on small n a scan over p costs as much as the columns.
    pub fn residual_on(&self, w: &[f64], support: &[usize]) -> Vec<f64> {
        debug_assert!(support.windows(2).all(|s| s[0] < s[1]));
        let mut r = vec![0.0; self.n_rows()];
        for &j in support {
            self.col_axpy(j, w[j], &mut r);
        }
        r.iter_mut().zip(&self.yc).for_each(|(ri, y)| *ri = y - *ri);
        r
    }

    /// `P(w)` given its residual.
    pub fn objective_from_residual(&self, r: &[f64], w: &[f64], pen: &ElasticNet) -> f64 {
        sq_norm(r) / (2.0 * self.n() as f64) + pen.value(w)
    }

    /// `P(w)`.
    pub fn objective(&self, w: &[f64], pen: &ElasticNet) -> f64 {
        self.objective_from_residual(&self.residual(w), w, pen)
    }

    /// `lambda_max = ||Xe^T yc||_inf / (n rho)`: the smallest lambda with `w = 0` optimal.
    /// Infinite for `rho = 0` (Ridge never gives exact zeros).
    pub fn lambda_max(&self, l1_ratio: f64) -> f64 {
        self.zero_correlation_max() / (self.n() as f64 * l1_ratio)
    }

    /// `||Xe^T yc||_inf`, once (the driver asks at every lambda; p can be millions).
    fn zero_correlation_max(&self) -> f64 {
        *self
            .zero_correlation_max
            .get_or_init(|| inf_norm(self.zero_correlations()))
    }

    /// `Xe^T yc`, computed on first use (or by [`prime_zero_correlations`] for a batch).
    pub fn zero_correlations(&self) -> &[f64] {
        self.zero_correlations.get_or_init(|| {
            let mut g = vec![0.0; self.p()];
            self.rmatvec(&self.yc, &mut g);
            g
        })
    }

    /// Whether `w = 0` solves the problem at `pen` (every `|xe_j^T yc| <= n l1`, up to the
    /// rounding of lambda_max itself), so that the answer is exactly zero on every backend.
    pub fn zero_is_optimal(&self, pen: &ElasticNet) -> bool {
        const ROUNDING: f64 = 1e-12;
        let nl1 = self.n() as f64 * pen.l1();
        nl1 > 0.0 && self.zero_correlation_max() <= nl1 * (1.0 + ROUNDING)
    }

    /// The gap is judged against `tol * ||yc||^2 / n`, scikit-learn's relative rule.
    pub fn gap_tolerance(&self, tol: f64) -> f64 {
        tol * sq_norm(&self.yc) / self.n() as f64
    }

    /// The duality gap of `math.md` at `w` (one pass over X), computed in f64.
    pub fn duality_gap(&self, w: &[f64], pen: &ElasticNet) -> GapInfo {
        let r = self.residual(w);
        let mut g = vec![0.0; self.p()];
        self.rmatvec(&r, &mut g);
        self.duality_gap_from(w, &r, &g, pen)
    }

    /// The duality gap given the residual `r = yc - Xe w` and `g = Xe^T r` already computed.
    pub fn duality_gap_from(&self, w: &[f64], r: &[f64], g: &[f64], pen: &ElasticNet) -> GapInfo {
        let n = self.n() as f64;
        let (w_l1, w_sq) = w
            .iter()
            .fold((0.0, 0.0), |(a, b), &x| (a + x.abs(), b + x * x));
        let g_inf = g
            .iter()
            .zip(w)
            .map(|(gj, wj)| (gj - n * pen.l2() * wj).abs())
            .fold(0.0, nan_max);
        let scalars = GapScalars {
            r_sq: sq_norm(r),
            r_yc: r.iter().zip(&self.yc).map(|(a, b)| a * b).sum(),
            w_l1,
            w_sq,
            g_inf,
            g_sq: sq_norm(g),
            g_excess_sq: Some(excess_sq(g, n * pen.l1())),
        };
        self.gap_from_scalars(&scalars, pen)
    }

    /// The duality gap of `math.md` from the six sums it needs, however they were computed
    /// (f64 here, f32 partial sums added in f64 by the GPU backend): the single place where a
    /// solution is judged.
    pub fn gap_from_scalars(&self, s: &GapScalars, pen: &ElasticNet) -> GapInfo {
        let n = self.n() as f64;
        let primal = s.r_sq / (2.0 * n) + pen.l1() * s.w_l1 + 0.5 * pen.l2() * s.w_sq;
        // Fenchel's dual at u = r / n with the penalty's conjugate, finite for any u when
        // l2 > 0: D(r) = (r^T yc - ||r||^2/2)/n - sum_j (|g_j| - n l1)_+^2 / (2 n^2 l2). No
        // scaling: where l1 is tiny against the rounding of X^T r (l1_ratio 1e-17) the
        // scaled dual below cannot certify, this one can; for Ridge (l1 = 0) it is the dual.
        let unscaled =
            |excess: f64| (s.r_yc - 0.5 * s.r_sq) / n - excess / (2.0 * n * n * pen.l2());
        let scaled = if pen.l1() > 0.0 {
            // Dual point s r, scaled into the feasible set ||Xe^T theta - n l2 w||_inf <= n l1.
            // A NaN maximum correlation must make the gap NaN, not pass as "0 <= l1".
            let scale = if s.g_inf.is_nan() {
                f64::NAN
            } else if s.g_inf > 0.0 {
                (n * pen.l1() / s.g_inf).min(1.0)
            } else {
                1.0
            };
            primal
                - ((s.r_sq + n * pen.l2() * s.w_sq) / (2.0 * n) * (1.0 + scale * scale)
                    + pen.l1() * s.w_l1
                    - scale / n * s.r_yc)
        } else {
            unscaled(s.g_sq)
        };
        let dual = match s.g_excess_sq {
            Some(e) if pen.l1() > 0.0 && pen.l2() > 0.0 && pen.l1_ratio < UNSCALED_DUAL_BELOW => {
                nan_max(scaled, unscaled(e))
            }
            _ => scaled,
        };
        GapInfo {
            primal,
            dual,
            gap: primal - dual,
            sphere_gap: primal - scaled,
        }
    }

    /// Coefficients and intercept on the original scale of X and y, from `w` in problem units.
    pub fn unscale(&self, w: &[f64]) -> (Vec<f64>, f64) {
        let coef: Vec<f64> = w
            .iter()
            .zip(&self.stats.x_scale)
            .map(|(wj, s)| if *wj == 0.0 { 0.0 } else { wj / s })
            .collect();
        let intercept = if self.stats.prep.fit_intercept {
            self.y_mean
                - coef
                    .iter()
                    .zip(&self.stats.x_mean)
                    .map(|(c, m)| c * m)
                    .sum::<f64>()
        } else {
            0.0
        };
        (coef, intercept)
    }
}

/// `outs[c] = Xe_c^T rs[c]` for problems that share one design (CV folds, responses): one
/// read of each column of X serves every problem, each with its own centring and scaling.
pub fn rmatmat(problems: &[&Problem], rs: &[&[f64]], outs: &mut [&mut [f64]]) {
    debug_assert!(problems.len() == rs.len() && rs.len() == outs.len());
    let Some(first) = problems.first() else {
        return;
    };
    let vsums: Vec<f64> = rs.iter().map(|r| r.iter().sum()).collect();
    let shared = problems
        .iter()
        .all(|pb| std::ptr::addr_eq(pb.x, first.x) && pb.design_id() == first.design_id());
    if problems.len() < 2 || !shared {
        crate::design::for_each_column_block(first.p(), outs, |j, vals| {
            for (c, v) in vals.iter_mut().enumerate() {
                *v = problems[c].col_dot(j, rs[c], vsums[c]);
            }
        });
        return;
    }
    let rows = crate::design::RowBlock::new(rs);
    crate::design::for_each_column_chunk(first.p(), outs, |j0, chunks| {
        let len = chunks[0].len();
        let m0 = &first.stats.x_mean[j0..j0 + len];
        let mut vals = vec![0.0; problems.len()];
        for (i, &m) in m0.iter().enumerate() {
            // Centred on the first problem's mean inside the product (no cancellation against
            // a large mean); each problem's own mean differs from it by a fold's sampling error.
            first.x.col_dot_block(j0 + i, &rows, m, &vsums, &mut vals);
            for (chunk, &v) in chunks.iter_mut().zip(&vals) {
                chunk[i] = v;
            }
        }
        // Each problem's centring and scaling, over its statistics in order.
        for ((chunk, pb), &vsum) in chunks.iter_mut().zip(problems).zip(&vsums) {
            let s = &pb.stats;
            let cols = j0..j0 + len;
            let stats = s.col_sq_norms[cols.clone()]
                .iter()
                .zip(&s.x_mean[cols.clone()])
                .zip(&s.x_scale[cols]);
            for ((v, ((&sq, &mean), &scale)), &m) in chunk.iter_mut().zip(stats).zip(m0) {
                let centred = *v - (mean - m) * vsum;
                // A division costs as much as the rest of this loop; unscaled columns skip it.
                *v = match (sq, scale) {
                    (0.0, _) => 0.0,
                    (_, 1.0) => centred,
                    (_, scale) => centred / scale,
                };
            }
        }
    });
}

/// Computes [`Problem::zero_correlations`] of every problem that lacks them in one block
/// pass over their shared X.
pub fn prime_zero_correlations(problems: &[&Problem]) {
    let todo: Vec<&Problem> = problems
        .iter()
        .copied()
        .filter(|pb| pb.zero_correlations.get().is_none())
        .collect();
    if todo.len() < 2 {
        return;
    }
    let mut gs: Vec<Vec<f64>> = todo.iter().map(|pb| vec![0.0; pb.p()]).collect();
    let rs: Vec<&[f64]> = todo.iter().map(|pb| pb.yc()).collect();
    let mut outs: Vec<&mut [f64]> = gs.iter_mut().map(|g| g.as_mut_slice()).collect();
    rmatmat(&todo, &rs, &mut outs);
    for (pb, g) in todo.iter().zip(gs) {
        let _ = pb.zero_correlations.set(g);
    }
}

/// `||v||^2`.
pub fn sq_norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum()
}

/// `||v||_inf`, NaN when `v` holds one (a gap built on it must not certify).
pub fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| nan_max(m, x.abs()))
}

/// `y` must have one entry per row of a non-empty `x`.
fn check_response(x: &dyn Design, y: &[f64]) -> Result<()> {
    let n = x.n_rows();
    if y.len() != n {
        return Err(Error::Shape {
            what: format!("X has {n} rows but y has {} values", y.len()),
        });
    }
    if n == 0 || x.n_cols() == 0 {
        return Err(Error::Shape {
            what: format!("X is empty ({n} rows x {} columns)", x.n_cols()),
        });
    }
    Ok(())
}

/// The larger of `a` and `b`, NaN if either is (f64::max drops a NaN, which in a gap's
/// maximum correlation would certify an answer computed from NaN).
pub fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Below this L1 share the Elastic Net's gap takes the better of the rescaled and the
/// unscaled dual. The rescaled point is the right one toward the Lasso; as the share shrinks
/// its feasible set (radius `n lambda l1_ratio`) shrinks toward the rounding of `X^T r`, more
/// sweeps are needed to certify (65 at 1e-12 against 9 at 1e-2 on one problem) and below
/// about 1e-15 none suffice. Above it the rescaled dual alone decides, as it always has, so
/// paths and curves there stay what they were (glmnet's Ridge-like boundary, 1e-3).
pub const UNSCALED_DUAL_BELOW: f64 = 1e-3;

/// `sum_j (|g_j| - t)_+^2`: how far the correlations stand beyond the L1 bound `t`.
pub fn excess_sq(g: &[f64], t: f64) -> f64 {
    g.iter().map(|&gj| excess_term(gj, t)).sum()
}

/// One correlation's term of [`excess_sq`] (NaN stays NaN).
pub fn excess_term(gj: f64, t: f64) -> f64 {
    let e = gj.abs() - t;
    if e.is_nan() {
        e
    } else {
        e.max(0.0) * e.max(0.0)
    }
}
