//! Plain (sub)gradient descent: the teaching baseline that shows why Lasso solvers use a
//! proximal step (or exact coordinate minimisation) instead. Each step moves every coefficient
//! along the gradient of the smooth part plus the L1 term's subgradient:
//!
//! ```text
//! w <- w - eta_t ( -(1/n) Xe^T (yc - Xe w) + l2 w + l1 sgn(w) ),   sgn(0) = 0
//! ```
//!
//! with the diminishing step `eta_t = 1 / (L sqrt(t + 1))`, `L = sigma_max(Xe)^2 / n + l2` (the
//! classical rule under which the best objective converges, at rate O(1/sqrt(t))). A
//! coefficient that should be zero only oscillates around zero: the iterates have no exact
//! zeros, and the duality gap falls slowly. The solve is judged by the same gap as every other
//! and reports `converged` only when that gap truly meets the tolerance.

use super::{stop_status, Fit};
use crate::params::ValidParams;
use crate::penalty::ElasticNet;
use crate::problem::Problem;

/// Steps between duality-gap checks (the gap reuses the step's pass over X).
pub const GAP_EVERY: usize = 10;

/// `sgn(v)` with `sgn(0) = 0`: the subgradient of `|v|` that plain subgradient descent uses.
#[inline]
pub fn sgn(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

pub fn solve(pb: &Problem, pen: &ElasticNet, warm: Option<&[f64]>, params: &ValidParams) -> Fit {
    let p = pb.p();
    let n = pb.n() as f64;
    let gap_tol = pb.gap_tolerance(params.tol);
    let alive: Vec<bool> = pb.col_sq_norms().iter().map(|&s| s != 0.0).collect();
    let mut w = warm.map_or_else(|| vec![0.0; p], <[f64]>::to_vec);
    w.iter_mut().zip(&alive).for_each(|(v, &a)| {
        if !a {
            *v = 0.0
        }
    });
    let lip = super::fista::lipschitz(pb, pen);
    let mut g = vec![0.0; p];
    let mut n_iter = 0usize;
    loop {
        let r = pb.residual(&w);
        pb.rmatvec(&r, &mut g);
        if n_iter.is_multiple_of(GAP_EVERY) || n_iter >= params.max_iter {
            let info = pb.duality_gap_from(&w, &r, &g, pen);
            if let Some(status) = stop_status(info.gap, gap_tol, n_iter, params.max_iter) {
                return Fit::finished(w, &info, gap_tol, (n_iter, n_iter + 1), status, "cpu", g);
            }
        }
        if lip.is_nan() || lip <= 0.0 {
            // X has no usable column: zero is all there is.
            n_iter = params.max_iter;
            continue;
        }
        let eta = 1.0 / (lip * ((n_iter + 1) as f64).sqrt());
        for j in 0..p {
            if alive[j] {
                let step = -g[j] / n + pen.l2() * w[j] + pen.l1() * sgn(w[j]);
                w[j] -= eta * step;
            }
        }
        n_iter += 1;
    }
}
