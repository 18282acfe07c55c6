//! FISTA with adaptive (gradient) restart: the f64 reference that the GPU backend mirrors step
//! for step (where the GPU does not precondition; on standardized columns its preconditioned
//! steps are these). Each iteration is one `Xe z` (active columns only) and one full `Xe^T r` pass;
//! the gap is checked every [`GAP_EVERY`] iterations.
//!
//! Smooth part `f(w) = 1/(2n) ||yc - Xe w||^2 + l2/2 ||w||^2`, with
//! `grad f(w) = -(1/n) Xe^T (yc - Xe w) + l2 w` and Lipschitz constant
//! `L = sigma_max(Xe)^2 / n + l2`. Step: `w <- S(z - grad f(z)/L, l1/L)`.

use super::{stop_status, Fit, Status};
use crate::params::ValidParams;
use crate::penalty::{soft_threshold, ElasticNet};
use crate::problem::Problem;

/// Iterations between duality-gap checks (each check costs one more pass over X).
pub const GAP_EVERY: usize = 10;
/// The Lanczos estimate approaches sigma_max^2 from below (and the GPU's is computed in f32);
/// this margin keeps 1/L a safe step.
pub const LIPSCHITZ_MARGIN: f64 = 1.02;

/// `sigma_max(Xe)^2` (Lanczos, in f64; see [`super::spectral`]).
pub fn sigma_max_sq(pb: &Problem) -> f64 {
    super::spectral::sigma_max_sq(pb)
}

/// The curvature of the smooth part along coordinate `j`, `||xe_j||^2 / n + l2`: the diagonal
/// of its Hessian, by which Jacobi-preconditioned FISTA divides that coordinate's step (1 for a
/// zero column, which never moves).
pub fn curvature(col_sq_norm: f64, n: f64, l2: f64) -> f64 {
    if col_sq_norm == 0.0 {
        1.0
    } else {
        col_sq_norm / n + l2
    }
}

/// The step of FISTA preconditioned by the curvatures `h` in the variables `sqrt(h_j) w_j`:
/// one over `LIPSCHITZ_MARGIN * smooth + ridge`, where `smooth` is (an estimate of) the
/// largest eigenvalue of `H^-1/2 Xe^T Xe H^-1/2 / n` and `ridge` bounds `l2 / h_j`; 0 where
/// that is not a positive finite number (nothing to step along).
pub fn preconditioned_step(smooth: f64, ridge: f64) -> f64 {
    let lip = LIPSCHITZ_MARGIN * smooth + ridge;
    if lip > 0.0 && lip.is_finite() {
        1.0 / lip
    } else {
        0.0
    }
}

/// The Lipschitz constant of the smooth part's gradient (with the safety margin).
pub fn lipschitz(pb: &Problem, pen: &ElasticNet) -> f64 {
    LIPSCHITZ_MARGIN * sigma_max_sq(pb) / pb.n() as f64 + pen.l2()
}

/// One proximal-gradient (ISTA) step from `w` with step `t`:
/// `S(w - t grad f(w), t l1)`. The building block of FISTA, and `math.md`'s worked example.
pub fn ista_step(pb: &Problem, pen: &ElasticNet, w: &[f64], t: f64) -> Vec<f64> {
    let r = pb.residual(w);
    let mut g = vec![0.0; pb.p()];
    pb.rmatvec(&r, &mut g);
    prox_grad(pb.n() as f64, pen, w, &g, t)
}

/// `S(z - t (-(1/n) g + l2 z), t l1)` elementwise, where `g = Xe^T (yc - Xe z)`.
fn prox_grad(n: f64, pen: &ElasticNet, z: &[f64], g: &[f64], t: f64) -> Vec<f64> {
    let (l1, l2) = (pen.l1(), pen.l2());
    z.iter()
        .zip(g)
        .map(|(&zj, &gj)| soft_threshold(zj - t * (l2 * zj - gj / n), t * l1))
        .collect()
}

pub fn solve(pb: &Problem, pen: &ElasticNet, warm: Option<&[f64]>, params: &ValidParams) -> Fit {
    let p = pb.p();
    let n = pb.n() as f64;
    let gap_tol = pb.gap_tolerance(params.tol);
    let mut w = warm.map_or_else(|| vec![0.0; p], <[f64]>::to_vec);
    let lip = lipschitz(pb, pen);
    let step = if lip > 0.0 { 1.0 / lip } else { 0.0 };
    let mut z = w.clone();
    let mut t_k = 1.0f64;
    let mut g = vec![0.0; p];
    let mut full_passes = 0usize;
    let mut n_iter = 0usize;

    loop {
        if n_iter.is_multiple_of(GAP_EVERY) || n_iter >= params.max_iter {
            let r = pb.residual(&w);
            pb.rmatvec(&r, &mut g);
            full_passes += 1;
            let info = pb.duality_gap_from(&w, &r, &g, pen);
            // A zero step means X is zero once centred: w = 0 is the answer.
            let status = if step == 0.0 {
                Some(Status::Converged)
            } else {
                stop_status(info.gap, gap_tol, n_iter, params.max_iter)
            };
            if let Some(status) = status {
                let counts = (n_iter, full_passes);
                return Fit::finished(w, &info, gap_tol, counts, status, "cpu", g);
            }
        }
        let r = pb.residual(&z);
        pb.rmatvec(&r, &mut g);
        full_passes += 1;
        let w_new = prox_grad(n, pen, &z, &g, step);
        // O'Donoghue & Candes gradient restart: momentum points uphill, drop it.
        let uphill: f64 = z
            .iter()
            .zip(&w_new)
            .zip(&w)
            .map(|((zj, wn), wo)| (zj - wn) * (wn - wo))
            .sum();
        if uphill > 0.0 {
            t_k = 1.0;
            z.copy_from_slice(&w_new);
        } else {
            let t_next = 0.5 * (1.0 + (1.0 + 4.0 * t_k * t_k).sqrt());
            let beta = (t_k - 1.0) / t_next;
            for j in 0..p {
                z[j] = w_new[j] + beta * (w_new[j] - w[j]);
            }
            t_k = t_next;
        }
        w = w_new;
        n_iter += 1;
    }
}
