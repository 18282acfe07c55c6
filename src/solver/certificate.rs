//! The f64 certificate of a solution found in f32, for the cost of one residual and a few
//! columns instead of a full f64 pass over X.
//!
//! The duality gap needs sums over `w` and `r = yc - Xe w` (cheap: the residual reads only the
//! non-zero columns) and `||c||_inf`, `c = Xe^T r - n l2 w`, over all p features: a pass over
//! X, which on the CPU costs more than the whole GPU solve of a path point. But the device has
//! just computed `c^` in f32 at the same `w`, from its own f32 residual `r^`, and
//!
//! ```text
//! |c^_j - c_j| <= ||xe_j|| ||r^ - r||                                  (r^ is not r)
//!               + 2 (n + 4) u (||x_j|| + sqrt(n) |m_j|) ||r^|| / s_j    (f32 rounding)
//! ```
//!
//! with `u = 2^-24`: the first term by Cauchy-Schwarz, with `r` and `r^ - r` computed here in
//! f64; the second is twice the IEEE-754 bound `gamma_(n+4)` of an f32 dot product of the
//! centred column (rounded to f32 on upload, centred in f32) with `r^`, in any summation order
//! (WGSL's f32 `+` and `*` are correctly rounded; a fused multiply-add only rounds less). The
//! features whose interval `|c^_j| +- e_j` can reach the largest lower bound are recomputed
//! exactly; every other one is proven below the maximum. So `||c||_inf`, and with it the
//! gap, is the f64 value that [`Problem::duality_gap`] computes (up to f64 rounding), and the
//! device is trusted only through that bound. Ridge (`l1 = 0`) needs `||c||_2`, all of it: a
//! full pass.

use rayon::prelude::*;

use crate::penalty::ElasticNet;
use crate::problem::{excess_sq, nan_max, sq_norm, GapInfo, GapScalars, Problem};

/// Correlations and residual the device computed at some `w^` (the bound holds for any `w`
/// certified with them, loosening as its residual moves away from `r^`).
pub struct DeviceCorrelations {
    /// `Xe^T r^` in f32, unmasked (every feature).
    pub g: Vec<f32>,
    /// The device's residual `r^ = yc - Xe w^` in f32.
    pub r: Vec<f32>,
}

/// The gap at `w` and the correlations it leaves for the next lambda.
pub struct Certificate {
    pub info: GapInfo,
    /// `Xe^T r` at `w`: exact (f64) for the non-zeros and wherever the bound could not settle
    /// the maximum; elsewhere (`w_j = 0`) the bound on `|g_j|` with the device's sign, so
    /// `|g_j|` is never under-stated (the next lambda's strong rule and Gap Safe stay
    /// conservative with it).
    pub grad: Vec<f64>,
    /// Columns recomputed in f64 (p after a full pass).
    pub exact_columns: usize,
}

/// Above this share of exact columns, one full pass is cheaper than picking them out.
const MAX_EXACT_SHARE: f64 = 0.25;
const U: f64 = 1.0 / (1u64 << 24) as f64;
/// Flushing subnormal f32 results to zero (allowed in WGSL) moves each by at most this.
const FTZ: f64 = 1.1754943508222875e-38;

/// Certifies `w` in f64, using `dev` (when given) to skip the columns it proves below the
/// maximum correlation.
pub fn certify(
    pb: &Problem,
    pen: &ElasticNet,
    w: &[f64],
    dev: Option<&DeviceCorrelations>,
) -> Certificate {
    certify_at(pb, pen, w, &pb.residual(w), dev)
}

/// [`certify`] with the f64 residual `r = yc - Xe w` already formed (a batch forms it for the
/// device's pass).
pub fn certify_at(
    pb: &Problem,
    pen: &ElasticNet,
    w: &[f64],
    r: &[f64],
    dev: Option<&DeviceCorrelations>,
) -> Certificate {
    let usable = dev.filter(|d| {
        pen.l1() > 0.0
            && d.g.len() == pb.p()
            && d.r.len() == pb.n_rows()
            && d.g.iter().chain(&d.r).all(|v| v.is_finite())
    });
    let Some(dev) = usable else {
        return full_pass(pb, pen, w, r);
    };
    let bounds = correlation_bounds(pb, pen, w, r, dev);
    let floor = bounds.par_iter().map(|b| b.lo).reduce(|| 0.0, nan_max);
    // A NaN bound (a column or residual beyond f64 in its norm) would let `hi >= floor`
    // drop every column: only exact correlations can certify then.
    if floor.is_nan() || bounds.iter().any(|b| b.hi.is_nan()) {
        return full_pass(pb, pen, w, r);
    }
    // Non-zeros are always recomputed: then every inexact entry has w_j = 0, and its bound
    // holds whatever l2 the next lambda brings (the Elastic Net's c_j depends on l2 w_j).
    let candidates: Vec<usize> = (0..pb.p())
        .into_par_iter()
        .filter(|&j| bounds[j].hi >= floor || w[j] != 0.0)
        .collect();
    if candidates.len() as f64 > MAX_EXACT_SHARE * pb.p() as f64 {
        return full_pass(pb, pen, w, r);
    }
    let rsum: f64 = r.iter().sum();
    let exact: Vec<f64> = candidates
        .par_iter()
        .map(|&j| pb.col_dot(j, r, rsum))
        .collect();
    let n = pb.n() as f64;
    let mut grad: Vec<f64> = bounds
        .iter()
        .zip(w)
        .map(|(b, &wj)| n * pen.l2() * wj + b.sign * b.hi)
        .collect();
    for (&j, &gj) in candidates.iter().zip(&exact) {
        grad[j] = gj;
    }
    let g_inf = candidates
        .iter()
        .map(|&j| (grad[j] - n * pen.l2() * w[j]).abs())
        .fold(0.0, nan_max);
    // The bounds stand for |g_j| from above: the excess is over-stated, the dual under-stated.
    let excess = excess_sq(&grad, pb.n() as f64 * pen.l1());
    let info = pb.gap_from_scalars(&scalars(pb, w, r, (g_inf, sq_norm(&grad), excess)), pen);
    Certificate {
        info,
        grad,
        exact_columns: candidates.len(),
    }
}

/// The plain certificate: `Xe^T r` over all columns in f64.
fn full_pass(pb: &Problem, pen: &ElasticNet, w: &[f64], r: &[f64]) -> Certificate {
    let mut grad = vec![0.0; pb.p()];
    pb.rmatvec(r, &mut grad);
    let info = pb.duality_gap_from(w, r, &grad, pen);
    Certificate {
        info,
        grad,
        exact_columns: pb.p(),
    }
}

fn scalars(
    pb: &Problem,
    w: &[f64],
    r: &[f64],
    (g_inf, g_sq, g_excess_sq): (f64, f64, f64),
) -> GapScalars {
    GapScalars {
        r_sq: sq_norm(r),
        r_yc: r.iter().zip(pb.yc()).map(|(a, b)| a * b).sum(),
        w_l1: w.iter().map(|v| v.abs()).sum(),
        w_sq: sq_norm(w),
        g_inf,
        g_sq,
        g_excess_sq: Some(g_excess_sq),
    }
}

/// `|c_j|` lies in `[lo, hi]`; `sign` is the sign of the device's `c^_j`.
#[derive(Clone, Copy)]
struct Bound {
    lo: f64,
    hi: f64,
    sign: f64,
}

fn correlation_bounds(
    pb: &Problem,
    pen: &ElasticNet,
    w: &[f64],
    r: &[f64],
    dev: &DeviceCorrelations,
) -> Vec<Bound> {
    let n = pb.n() as f64;
    let r_err = dev
        .r
        .iter()
        .zip(r)
        .map(|(&a, &b)| (a as f64 - b).powi(2))
        .sum::<f64>()
        .sqrt();
    let r_dev = dev
        .r
        .iter()
        .map(|&a| (a as f64).powi(2))
        .sum::<f64>()
        .sqrt();
    // Twice gamma_(n+4), and a relative 1e-6 on top for the rounding of this bound itself.
    let gamma = 2.0 * (n + 4.0) * U * (1.0 + 1e-6);
    let (mean, scale, sq) = (pb.x_mean(), pb.x_scale(), pb.col_sq_norms());
    // Independent per feature: in parallel (this runs every working-set round, p can be
    // millions, and the host should not be what the GPU waits for).
    (0..pb.p())
        .into_par_iter()
        .map(|j| {
            if sq[j] == 0.0 {
                // A dead column: c_j = 0 exactly, the device agrees (1/s_j = 0 there).
                return Bound {
                    lo: 0.0,
                    hi: 0.0,
                    sign: 1.0,
                };
            }
            let (m, s) = (mean[j], scale[j]);
            let raw_norm = (s * s * sq[j] + n * m * m).sqrt() * (1.0 + 1e-12);
            let err = sq[j].sqrt() * r_err * (1.0 + 1e-12)
                + (gamma * (raw_norm + n.sqrt() * m.abs()) * r_dev + (n + 4.0) * FTZ) / s;
            let c = dev.g[j] as f64 - n * pen.l2() * w[j];
            Bound {
                lo: c.abs() - err,
                hi: c.abs() + err,
                sign: if c < 0.0 { -1.0 } else { 1.0 },
            }
        })
        .collect()
}
