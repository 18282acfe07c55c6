//! Paths of solutions over lambda, warm-started from one to the next. This is the only caller
//! of [`Backend::solve`]: a single fit is a path of length one, so whatever improves paths
//! (screening, working sets) improves single fits too.

use crate::error::Result;
use crate::params::ValidParams;
use crate::penalty::ElasticNet;
use crate::problem::Problem;
use crate::solver::{Backend, Fit, Warm};

/// Solves for each penalty in order, each warm-started from the previous solution.
pub fn solve_path(
    problem: &Problem,
    penalties: &[ElasticNet],
    backend: &mut dyn Backend,
    params: &ValidParams,
) -> Result<Vec<Fit>> {
    solve_path_with_progress(problem, penalties, backend, params, &mut |_, _| {})
}

/// [`solve_path`], calling `progress(done, total)` after each lambda (for progress bars: the
/// library itself never prints).
pub fn solve_path_with_progress(
    problem: &Problem,
    penalties: &[ElasticNet],
    backend: &mut dyn Backend,
    params: &ValidParams,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Fit>> {
    let mut fits: Vec<Fit> = Vec::with_capacity(penalties.len());
    for (k, pen) in penalties.iter().enumerate() {
        let warm = fits.last().map(|f| Warm {
            w: &f.w,
            lambda: Some(penalties[k - 1].lambda),
            grad: (!f.grad.is_empty()).then_some(f.grad.as_slice()),
        });
        let t0 = std::time::Instant::now();
        let mut fit = backend.solve(problem, pen, warm.as_ref(), params)?;
        fit.seconds = t0.elapsed().as_secs_f64();
        fits.push(fit);
        progress(k + 1, penalties.len());
    }
    Ok(fits)
}

/// glmnet's grid: `n_lambdas` values from `lambda_max` down to `min_ratio * lambda_max`,
/// evenly spaced in log scale.
pub fn geometric_grid(lambda_max: f64, min_ratio: f64, n_lambdas: usize) -> Vec<f64> {
    if n_lambdas == 1 {
        return vec![lambda_max];
    }
    let step = min_ratio.ln() / (n_lambdas - 1) as f64;
    (0..n_lambdas)
        .map(|k| lambda_max * (step * k as f64).exp())
        .collect()
}
