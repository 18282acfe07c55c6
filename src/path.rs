//! Paths of solutions over lambda, warm-started from one to the next. [`solve_paths`] is the
//! only caller of the backends: a single fit is a path of length one, and cross-validation a
//! batch of paths, so whatever improves paths (screening, working sets, block passes)
//! improves every command.

use crate::error::Result;
use crate::params::ValidParams;
use crate::penalty::ElasticNet;
use crate::problem::{prime_zero_correlations, Problem};
use crate::solver::{Backend, Fit, Status, Warm};

/// Solves for each penalty in order, each warm-started from the previous solution, and keeps
/// every fit (dense: for tests and short paths; long paths use [`solve_paths`] with a sink
/// that keeps what it needs).
pub fn solve_path(
    problem: &Problem,
    penalties: &[ElasticNet],
    backend: &mut dyn Backend,
    params: &ValidParams,
) -> Result<Vec<Fit>> {
    let mut fits = Vec::with_capacity(penalties.len());
    solve_paths(
        &[problem],
        &[penalties],
        backend,
        params,
        &mut |_, _| {},
        &mut |_, _, fit| fits.push(fit.clone()),
    )?;
    Ok(fits)
}

/// The driver of every solve: the paths of several problems that share one design (a single
/// fit is one problem and one penalty; CV is the full data and its folds; many responses),
/// advanced along their grids together (`grids[i]` is problem i's; all have one length) so
/// that a backend can serve all of them with one pass over X ([`Backend::solve_batch`]). Each fit warm-starts from the problem's previous one and
/// goes to `sink(problem, lambda_index, fit)` as soon as it is made; only the previous fit of
/// each problem is kept here, so memory is O(p) per problem whatever the grid's length.
/// `progress(done, total)` runs after each lambda (the library itself never prints).
pub fn solve_paths(
    problems: &[&Problem],
    grids: &[&[ElasticNet]],
    backend: &mut dyn Backend,
    params: &ValidParams,
    progress: &mut dyn FnMut(usize, usize),
    sink: &mut dyn FnMut(usize, usize, &Fit),
) -> Result<()> {
    solve_paths_from(problems, grids, &[], backend, params, progress, sink)
}

/// [`solve_paths`] with the first lambda of problem `i` warm-started from `starts[i]` (its
/// coefficients in problem units; `starts` empty or one per problem, `None` for zeros): a
/// caller's previous answer (scikit-learn's `warm_start`).
pub fn solve_paths_from(
    problems: &[&Problem],
    grids: &[&[ElasticNet]],
    starts: &[Option<&[f64]>],
    backend: &mut dyn Backend,
    params: &ValidParams,
    progress: &mut dyn FnMut(usize, usize),
    sink: &mut dyn FnMut(usize, usize, &Fit),
) -> Result<()> {
    assert!(
        starts.is_empty() || starts.len() == problems.len(),
        "one start per problem"
    );
    assert_eq!(grids.len(), problems.len(), "one grid per problem");
    let steps = grids.first().map_or(0, |g| g.len());
    assert!(
        grids.iter().all(|g| g.len() == steps),
        "grids of one length"
    );
    if grids
        .iter()
        .flat_map(|g| g.iter())
        .any(|pen| pen.l1() > 0.0)
    {
        prime_zero_correlations(problems);
    }
    let mut last: Vec<Option<Fit>> = problems.iter().map(|_| None).collect();
    for k in 0..steps {
        crate::interrupt::check()?;
        let t0 = std::time::Instant::now();
        // Where zero is the answer it is given exactly, on every backend, with its
        // certificate from the correlations at zero; the others go to the backend together.
        let mut fits: Vec<Option<Fit>> = problems
            .iter()
            .zip(grids)
            .map(|(pb, g)| {
                pb.zero_is_optimal(&g[k])
                    .then(|| zero_fit(pb, &g[k], params))
            })
            .collect();
        let open: Vec<usize> = (0..problems.len()).filter(|&i| fits[i].is_none()).collect();
        if !open.is_empty() {
            let warms: Vec<Option<Warm>> = open
                .iter()
                .map(|&i| match &last[i] {
                    Some(f) => Some(Warm {
                        w: &f.w,
                        lambda: Some(grids[i][k - 1].lambda),
                        grad: (!f.grad.is_empty()).then_some(f.grad.as_slice()),
                    }),
                    None => starts.get(i).copied().flatten().map(Warm::from_w),
                })
                .collect();
            let pbs: Vec<&Problem> = open.iter().map(|&i| problems[i]).collect();
            let pens: Vec<ElasticNet> = open.iter().map(|&i| grids[i][k]).collect();
            let solved = backend.solve_batch(&pbs, &pens, &warms, params)?;
            // A stopped solve ends as if out of iterations; it is no answer.
            crate::interrupt::check()?;
            for (&i, fit) in open.iter().zip(solved) {
                fits[i] = Some(fit);
            }
        }
        // One clock for the batch: its problems share every pass over X.
        let seconds = t0.elapsed().as_secs_f64();
        for (i, (fit, prev)) in fits.into_iter().zip(last.iter_mut()).enumerate() {
            let mut fit = fit.expect("every problem has a fit");
            crate::range::check_fits(std::slice::from_ref(&fit), &grids[i][k..=k])?;
            fit.seconds = seconds;
            sink(i, k, &fit);
            *prev = Some(fit);
        }
        progress(k + 1, steps);
    }
    Ok(())
}

/// The fit `w = 0` where it is optimal, certified by the duality gap at zero (no pass: the
/// correlations at zero are known).
fn zero_fit(pb: &Problem, pen: &ElasticNet, params: &ValidParams) -> Fit {
    let w = vec![0.0; pb.p()];
    let g = pb.zero_correlations().to_vec();
    let info = pb.duality_gap_from(&w, pb.yc(), &g, pen);
    let gap_tol = pb.gap_tolerance(params.tol);
    let status = if info.gap <= gap_tol {
        Status::Converged
    } else {
        Status::MaxIter
    };
    Fit::finished(w, &info, gap_tol, (0, 0), status, "cpu", g)
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
