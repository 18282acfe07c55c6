//! `sigma_max(Xe)^2`, the largest eigenvalue of `Xe^T Xe`, which sets the FISTA step `1/L`.
//!
//! Lanczos rather than the power method: on correlated designs (Toeplitz, real expression
//! data) the top eigenvalues cluster and the power method needs hundreds of passes over X
//! (measured: still moving by 2e-3 per 10 rounds after 160 rounds on 300 x 10000 Toeplitz),
//! which is as much as a whole solve; Lanczos converges in a few dozen. The largest Ritz value
//! approaches the eigenvalue from below, so the step keeps a margin
//! ([`crate::solver::fista::LIPSCHITZ_MARGIN`]). No reorthogonalisation: lost orthogonality
//! only duplicates converged Ritz values, it does not move the largest one.
//!
//! The recurrence, with `A = Xe^T Xe`, unit `v_0`, `v_{-1} = 0`, `beta_0 = 0`:
//!
//! ```text
//! alpha_k = v_k^T A v_k
//! w       = A v_k - alpha_k v_k - beta_k v_{k-1}
//! beta_{k+1} = ||w||,  v_{k+1} = w / beta_{k+1}
//! ```
//!
//! and the Ritz values are the eigenvalues of the tridiagonal `T_k = tridiag(beta, alpha, beta)`.

use crate::problem::{sq_norm, Problem};

/// Stop when the largest Ritz value moves by less than this, relative.
pub const LANCZOS_RTOL: f64 = 1e-7;
/// At most this many Lanczos steps (each one `A v`: two passes over X).
pub const LANCZOS_MAX_STEPS: usize = 80;

/// The fixed start vector shared by every backend: positive entries of varying size.
pub fn start_vector(p: usize) -> Vec<f64> {
    let mut v: Vec<f64> = (0..p)
        .map(|j| 1.0 + ((j * 7919) % 97) as f64 / 97.0)
        .collect();
    let nrm = sq_norm(&v).sqrt();
    v.iter_mut().for_each(|x| *x /= nrm);
    v
}

/// The largest eigenvalue of the symmetric tridiagonal matrix with diagonal `alpha` and
/// off-diagonal `beta` (`beta.len() == alpha.len() - 1`), by Sturm-sequence bisection.
pub fn largest_ritz_value(alpha: &[f64], beta: &[f64]) -> f64 {
    let k = alpha.len();
    if k == 0 {
        return 0.0;
    }
    // Gershgorin bounds.
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for i in 0..k {
        let r = beta.get(i).map_or(0.0, |b| b.abs()) + if i > 0 { beta[i - 1].abs() } else { 0.0 };
        lo = lo.min(alpha[i] - r);
        hi = hi.max(alpha[i] + r);
    }
    // Number of eigenvalues greater than x.
    let count_above = |x: f64| {
        let mut count = 0;
        let mut d = 1.0f64;
        for i in 0..k {
            let b2 = if i > 0 {
                beta[i - 1] * beta[i - 1]
            } else {
                0.0
            };
            d = alpha[i] - x - if i > 0 { b2 / d } else { 0.0 };
            if d == 0.0 {
                d = -f64::EPSILON * (x.abs() + 1.0);
            }
            if d > 0.0 {
                count += 1;
            }
        }
        count
    };
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if count_above(mid) >= 1 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Bookkeeping of the recurrence, shared by the CPU and GPU drivers: feed it the three dot
/// products of each step, get the coefficients of the next vector and the current estimate.
#[derive(Clone, Debug, Default)]
pub struct Lanczos {
    alpha: Vec<f64>,
    beta: Vec<f64>,
    estimate: f64,
    prev_beta: f64,
}

/// What to do after a step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LanczosStep {
    /// Form `v_{k+1} = (A v_k - alpha v_k - beta v_{k-1}) / beta_next` and go on.
    Next {
        alpha: f64,
        beta: f64,
        beta_next: f64,
    },
    /// The estimate has converged (or the Krylov space is exhausted).
    Done(f64),
}

impl Lanczos {
    /// Takes `v^T A v`, `||A v||^2` and `v_{k-1}^T A v` for the current unit `v`.
    pub fn step(&mut self, v_av: f64, av_sq: f64, u_av: f64) -> LanczosStep {
        let alpha = v_av;
        let beta = self.prev_beta;
        // ||A v - alpha v - beta u||^2 with unit, orthogonal v and u.
        let w_sq = av_sq - alpha * alpha + beta * beta - 2.0 * beta * u_av;
        self.alpha.push(alpha);
        let est = largest_ritz_value(&self.alpha, &self.beta);
        let converged = (est - self.estimate).abs() <= LANCZOS_RTOL * est.abs();
        self.estimate = est;
        let exhausted = w_sq <= 1e-10 * av_sq.max(f64::MIN_POSITIVE);
        if converged || exhausted || self.alpha.len() >= LANCZOS_MAX_STEPS {
            return LanczosStep::Done(est.max(0.0));
        }
        let beta_next = w_sq.sqrt();
        self.beta.push(beta_next);
        self.prev_beta = beta_next;
        LanczosStep::Next {
            alpha,
            beta,
            beta_next,
        }
    }
}

/// `sigma_max(Xe)^2` in f64 on the CPU.
pub fn sigma_max_sq(pb: &Problem) -> f64 {
    let (n, p) = (pb.n(), pb.p());
    let mut v = start_vector(p);
    let mut u = vec![0.0; p];
    let mut xv = vec![0.0; n];
    let mut av = vec![0.0; p];
    let mut lz = Lanczos::default();
    loop {
        pb.matvec(&v, &mut xv);
        pb.rmatvec(&xv, &mut av);
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        match lz.step(dot(&v, &av), sq_norm(&av), dot(&u, &av)) {
            LanczosStep::Done(est) => return est,
            LanczosStep::Next {
                alpha,
                beta,
                beta_next,
            } => {
                for j in 0..p {
                    let next = (av[j] - alpha * v[j] - beta * u[j]) / beta_next;
                    u[j] = v[j];
                    v[j] = next;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ritz_value_of_known_tridiagonals() {
        assert!((largest_ritz_value(&[3.0], &[]) - 3.0).abs() < 1e-12);
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3.
        assert!((largest_ritz_value(&[2.0, 2.0], &[1.0]) - 3.0).abs() < 1e-12);
        // tridiag(1, 2, 1) of size 5: 2 + 2 cos(pi / 6).
        let want = 2.0 + 2.0 * (std::f64::consts::PI / 6.0).cos();
        assert!((largest_ritz_value(&[2.0; 5], &[1.0; 4]) - want).abs() < 1e-12);
    }
}
