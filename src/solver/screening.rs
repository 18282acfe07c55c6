//! Fewer passes over X: which features a solver needs to look at.
//!
//! All rules work on the "augmented Lasso" view of the Elastic Net
//! (`[Xe; sqrt(n l2) I]`, `[yc; 0]`, L1 weight `l1`), where feature j has correlation
//! `c_j = xe_j^T r - n l2 w_j` with the residual and norm `sqrt(||xe_j||^2 + n l2)`:
//!
//! - **Gap Safe** (Fercoq, Gramfort, Salmon 2015; Ndiaye et al. 2017): with the dual point
//!   `theta = r / max(n l1, ||c||_inf)` and radius `R = sqrt(2 n gap) / (n l1)`, feature j is
//!   zero at the optimum if `|c_j| / max(n l1, ||c||_inf) + R ||x~_j|| < 1`. Safe: never wrong.
//! - **Sequential strong rule** (Tibshirani et al. 2012): keep j at lambda_k if
//!   `|c_j(lambda_{k-1})| / n >= rho (2 lambda_k - lambda_{k-1})`. Not safe: the caller checks
//!   KKT (`|c_j| <= n l1`) on every feature afterwards and adds violators back.
//! - **Working sets** (celer, Massias et al. 2018; skglm): rank features by how close they are
//!   to the dual constraint, `(n l1 - |c_j|) / ||x~_j||`, and solve on the closest few.

use rayon::prelude::*;

use crate::penalty::ElasticNet;
use crate::problem::{GapInfo, Problem};

/// When to use working sets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WorkingSets {
    /// Where they measured faster: on the GPU (each pass over X is the cost there: 8 passes
    /// instead of 669 on a 300 x 10000 lavapipe fit), not in CPU coordinate descent (the
    /// strong rule wins there, see cd.rs).
    #[default]
    Auto,
    On,
    Off,
}

impl std::str::FromStr for WorkingSets {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "auto" => Ok(WorkingSets::Auto),
            "on" => Ok(WorkingSets::On),
            "off" => Ok(WorkingSets::Off),
            _ => Err(format!(
                "unknown working-set mode '{s}' (expected auto, on or off)"
            )),
        }
    }
}

/// Which rules are on. The strong rule and Gap Safe are on by default, working sets where they
/// pay ([`WorkingSets::Auto`]). Each can be switched for tests and ablations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Screening {
    pub strong_rule: bool,
    pub gap_safe: bool,
    pub working_sets: WorkingSets,
}

impl Default for Screening {
    fn default() -> Self {
        Screening {
            strong_rule: true,
            gap_safe: true,
            working_sets: WorkingSets::Auto,
        }
    }
}

impl Screening {
    /// Plain solves over all features.
    pub const NONE: Screening = Screening {
        strong_rule: false,
        gap_safe: false,
        working_sets: WorkingSets::Off,
    };

    /// Working sets in CPU coordinate descent: only when asked for.
    pub fn cpu_working_sets(&self) -> bool {
        self.working_sets == WorkingSets::On
    }

    /// Working sets on the GPU: unless turned off.
    pub fn gpu_working_sets(&self) -> bool {
        self.working_sets != WorkingSets::Off
    }
}

/// Gap Safe discards a feature only below `1 - SAFE_MARGIN`, not 1: f64 rounding of `c_j`.
const SAFE_MARGIN: f64 = 1e-9;

/// `c_j = g_j - n l2 w_j`, the feature's correlation with the augmented residual.
#[inline]
pub fn correlation(n: f64, pen: &ElasticNet, g_j: f64, w_j: f64) -> f64 {
    g_j - n * pen.l2() * w_j
}

/// Gap Safe sphere test: marks in `alive` (as false) every feature proven zero at the optimum.
/// Returns the features newly discarded. `g = Xe^T r` at `w`, `info` the gap there: the
/// sphere is centred on the rescaled residual, so its radius comes from the gap at that
/// point, [`GapInfo::sphere_gap`] (the certificate's own gap may be smaller).
pub fn gap_safe_screen(
    pb: &Problem,
    pen: &ElasticNet,
    w: &[f64],
    g: &[f64],
    info: &GapInfo,
    alive: &mut [bool],
) -> Vec<usize> {
    let gap = info.sphere_gap;
    let n = pb.n() as f64;
    let nl1 = n * pen.l1();
    if nl1 <= 0.0 || !gap.is_finite() {
        return Vec::new();
    }
    let c_inf = g
        .iter()
        .zip(w)
        .map(|(&gj, &wj)| correlation(n, pen, gj, wj).abs())
        .fold(0.0, crate::problem::nan_max);
    // A NaN correlation bounds nothing: no feature is screened on it.
    if c_inf.is_nan() {
        return Vec::new();
    }
    let scale = nl1.max(c_inf);
    let radius = (2.0 * n * gap.max(0.0)).sqrt() / nl1;
    let norms = pb.col_sq_norms();
    let mut out = Vec::new();
    for j in 0..w.len() {
        if !alive[j] {
            continue;
        }
        let xnorm = (norms[j] + n * pen.l2()).sqrt();
        let c = correlation(n, pen, g[j], w[j]).abs();
        // The margin keeps rounding from discarding a feature that sits exactly on the
        // constraint (every non-zero one does at the optimum, where the gap is ~0).
        if c / scale + radius * xnorm < 1.0 - SAFE_MARGIN {
            alive[j] = false;
            out.push(j);
        }
    }
    out
}

/// The sequential strong set at `lambda` from the correlations at the previous lambda.
pub fn strong_set(
    pb: &Problem,
    pen: &ElasticNet,
    prev_lambda: f64,
    prev_w: &[f64],
    prev_g: &[f64],
    alive: &[bool],
) -> Vec<usize> {
    let n = pb.n() as f64;
    let prev = ElasticNet {
        lambda: prev_lambda,
        l1_ratio: pen.l1_ratio,
    };
    let threshold = pen.l1_ratio * (2.0 * pen.lambda - prev_lambda);
    (0..prev_g.len())
        .filter(|&j| alive[j])
        .filter(|&j| {
            prev_w[j] != 0.0 || correlation(n, &prev, prev_g[j], prev_w[j]).abs() / n >= threshold
        })
        .collect()
}

/// Features that violate the KKT conditions of a zero coefficient: `|c_j| > n l1`.
pub fn kkt_violators(
    pb: &Problem,
    pen: &ElasticNet,
    w: &[f64],
    g: &[f64],
    alive: &[bool],
) -> Vec<usize> {
    let n = pb.n() as f64;
    let nl1 = n * pen.l1();
    (0..w.len())
        .filter(|&j| alive[j] && w[j] == 0.0)
        .filter(|&j| correlation(n, pen, g[j], w[j]).abs() > nl1 * (1.0 + 1e-12))
        .collect()
}

/// The working set: every non-zero feature, then the alive ones closest to the dual
/// constraint, `size` in all (sorted by index, so sweeps stay cyclic and deterministic).
pub fn working_set(
    pb: &Problem,
    pen: &ElasticNet,
    w: &[f64],
    g: &[f64],
    alive: &[bool],
    size: usize,
) -> Vec<usize> {
    let n = pb.n() as f64;
    let nl1 = n * pen.l1();
    let norms = pb.col_sq_norms();
    // Scored in parallel (p can be millions; the GPU waits for this every round).
    let mut scored: Vec<(f64, usize)> = (0..w.len())
        .into_par_iter()
        .filter(|&j| alive[j])
        .map(|j| {
            let score = if w[j] != 0.0 {
                f64::NEG_INFINITY
            } else {
                let c = correlation(n, pen, g[j], w[j]).abs();
                (nl1 - c) / (norms[j] + n * pen.l2()).sqrt().max(f64::MIN_POSITIVE)
            };
            (score, j)
        })
        .collect();
    let size = size
        .max(w.iter().filter(|&&v| v != 0.0).count())
        .min(scored.len());
    if size < scored.len() {
        scored.select_nth_unstable_by(size, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        scored.truncate(size);
    }
    let mut ws: Vec<usize> = scored.into_iter().map(|(_, j)| j).collect();
    ws.sort_unstable();
    ws
}
