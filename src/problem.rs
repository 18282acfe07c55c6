//! The optimisation problem, in the units where it is minimised:
//!
//! ```text
//! P(w) = 1/(2n) ||yc - Xe w||^2 + lambda (rho ||w||_1 + (1 - rho)/2 ||w||^2)
//! ```
//!
//! where `yc` is `y` centred (when fitting an intercept) and `Xe` is `X` with each column
//! centred (intercept) and divided by its scale (`--standardize`), both *implicitly*: `Xe` is
//! never built. Every backend's answer is judged here, in f64, by [`Problem::duality_gap`].

use crate::design::Design;
use crate::error::{Error, Result};
use crate::penalty::ElasticNet;

/// How the raw data becomes the problem that is minimised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preprocess {
    /// Fit an intercept by implicit centring (default true).
    pub fit_intercept: bool,
    /// glmnet's `standardize = TRUE`: divide each column by its (1/n) standard deviation
    /// (root mean square without an intercept) and penalise the scaled coefficients.
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

/// A column is treated as constant when its spread is below this fraction of its magnitude:
/// below it, the computed standard deviation is rounding noise and dividing by it would
/// turn noise into a feature.
const CONSTANT_COLUMN_RTOL: f64 = 1e-10;

/// The data part of the problem (the penalty varies along a path and is passed separately).
pub struct Problem<'a> {
    x: &'a dyn Design,
    yc: Vec<f64>,
    y_mean: f64,
    x_mean: Vec<f64>,
    x_scale: Vec<f64>,
    /// `||xe_j||^2`, zero for the columns that are identically zero once centred.
    col_sq_norms: Vec<f64>,
    prep: Preprocess,
    /// Unique per instance in this process (see [`Problem::id`]).
    id: u64,
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
}

/// Everything the duality gap computation produces.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GapInfo {
    /// Primal objective `P(w)`.
    pub primal: f64,
    /// Dual objective at the rescaled residual.
    pub dual: f64,
    /// `primal - dual >= 0`.
    pub gap: f64,
}

impl<'a> Problem<'a> {
    /// Sets up the problem; `y` must have one entry per row of `x`.
    pub fn new(x: &'a dyn Design, y: &[f64], prep: Preprocess) -> Result<Self> {
        let (n, p) = (x.n_rows(), x.n_cols());
        if y.len() != n {
            return Err(Error::Shape {
                what: format!("X has {n} rows but y has {} values", y.len()),
            });
        }
        if n == 0 || p == 0 {
            return Err(Error::Shape {
                what: format!("X is empty ({n} rows x {p} columns)"),
            });
        }
        let y_mean = if prep.fit_intercept {
            y.iter().sum::<f64>() / n as f64
        } else {
            0.0
        };
        let yc: Vec<f64> = y.iter().map(|v| v - y_mean).collect();

        let sums: Vec<f64> = (0..p).map(|j| x.col_sum(j)).collect();
        let mut x_mean = vec![0.0; p];
        if prep.fit_intercept {
            x_mean
                .iter_mut()
                .zip(&sums)
                .for_each(|(m, s)| *m = s / n as f64);
        }
        let mut x_scale = vec![1.0; p];
        let mut col_sq_norms = vec![0.0; p];
        for j in 0..p {
            let raw_mean = sums[j] / n as f64;
            let ss = x.col_centered_sq_norm(j, x_mean[j]);
            // Spread of the column around the centre actually used vs its magnitude.
            let spread = if prep.fit_intercept {
                ss
            } else {
                x.col_centered_sq_norm(j, raw_mean)
            };
            let magnitude = raw_mean * raw_mean * n as f64;
            let is_zero = ss == 0.0
                || (prep.fit_intercept
                    && spread <= CONSTANT_COLUMN_RTOL * CONSTANT_COLUMN_RTOL * magnitude);
            if is_zero {
                continue;
            }
            if prep.standardize {
                x_scale[j] = (ss / n as f64).sqrt();
            }
            col_sq_norms[j] = ss / (x_scale[j] * x_scale[j]);
        }
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Ok(Problem {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            x,
            yc,
            y_mean,
            x_mean,
            x_scale,
            col_sq_norms,
            prep,
        })
    }

    pub fn n(&self) -> usize {
        self.x.n_rows()
    }
    /// A number no other `Problem` of this process gets: what a backend keys its uploaded
    /// copy of X and y on (an address is reused by the next problem once this one is dropped).
    pub fn id(&self) -> u64 {
        self.id
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
        self.prep
    }
    /// Column means used for centring (zeros without an intercept).
    pub fn x_mean(&self) -> &[f64] {
        &self.x_mean
    }
    /// Column scales (ones unless standardizing).
    pub fn x_scale(&self) -> &[f64] {
        &self.x_scale
    }
    /// `||xe_j||^2` for every column.
    pub fn col_sq_norms(&self) -> &[f64] {
        &self.col_sq_norms
    }
    /// Columns that are identically zero once centred (constant columns with an intercept,
    /// all-zero columns without): their coefficient is always 0.
    pub fn zero_columns(&self) -> Vec<usize> {
        (0..self.p())
            .filter(|&j| self.col_sq_norms[j] == 0.0)
            .collect()
    }

    /// `xe_j^T v`, given `vsum = 1^T v` (sparse storage needs it to stay O(nnz); for any
    /// residual of the centred problem it is 0 up to rounding).
    #[inline]
    pub fn col_dot(&self, j: usize, v: &[f64], vsum: f64) -> f64 {
        if self.col_sq_norms[j] == 0.0 {
            return 0.0;
        }
        self.x.col_dot_centered(j, v, self.x_mean[j], vsum) / self.x_scale[j]
    }

    /// `v += a xe_j`.
    #[inline]
    pub fn col_axpy(&self, j: usize, a: f64, v: &mut [f64]) {
        if self.col_sq_norms[j] == 0.0 || a == 0.0 {
            return;
        }
        self.x
            .col_axpy_centered(j, a / self.x_scale[j], self.x_mean[j], v);
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
        let mut r = vec![0.0; self.n()];
        self.matvec(w, &mut r);
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
        let mut g = vec![0.0; self.p()];
        self.rmatvec(&self.yc, &mut g);
        inf_norm(&g) / (self.n() as f64 * l1_ratio)
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
            .fold(0.0, f64::max);
        let scalars = GapScalars {
            r_sq: sq_norm(r),
            r_yc: r.iter().zip(&self.yc).map(|(a, b)| a * b).sum(),
            w_l1,
            w_sq,
            g_inf,
            g_sq: sq_norm(g),
        };
        self.gap_from_scalars(&scalars, pen)
    }

    /// The duality gap of `math.md` from the six sums it needs, however they were computed
    /// (f64 here, f32 partial sums added in f64 by the GPU backend): the single place where a
    /// solution is judged.
    pub fn gap_from_scalars(&self, s: &GapScalars, pen: &ElasticNet) -> GapInfo {
        let n = self.n() as f64;
        let primal = s.r_sq / (2.0 * n) + pen.l1() * s.w_l1 + 0.5 * pen.l2() * s.w_sq;
        let dual = if pen.l1() > 0.0 {
            // Dual point s r, scaled into the feasible set ||Xe^T theta - n l2 w||_inf <= n l1.
            let scale = if s.g_inf > 0.0 {
                (n * pen.l1() / s.g_inf).min(1.0)
            } else {
                1.0
            };
            primal
                - ((s.r_sq + n * pen.l2() * s.w_sq) / (2.0 * n) * (1.0 + scale * scale)
                    + pen.l1() * s.w_l1
                    - scale / n * s.r_yc)
        } else {
            // Ridge: the dual is unconstrained,
            // D(r) = (r^T yc - ||r||^2/2)/n - ||Xe^T r||^2/(2 n^2 lambda).
            (s.r_yc - 0.5 * s.r_sq) / n - s.g_sq / (2.0 * n * n * pen.l2())
        };
        GapInfo {
            primal,
            dual,
            gap: primal - dual,
        }
    }

    /// Coefficients and intercept on the original scale of X and y, from `w` in problem units.
    pub fn unscale(&self, w: &[f64]) -> (Vec<f64>, f64) {
        let coef: Vec<f64> = w
            .iter()
            .zip(&self.x_scale)
            .map(|(wj, s)| if *wj == 0.0 { 0.0 } else { wj / s })
            .collect();
        let intercept = if self.prep.fit_intercept {
            self.y_mean
                - coef
                    .iter()
                    .zip(&self.x_mean)
                    .map(|(c, m)| c * m)
                    .sum::<f64>()
        } else {
            0.0
        };
        (coef, intercept)
    }
}

/// `||v||^2`.
pub fn sq_norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum()
}

/// `||v||_inf`.
pub fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}
