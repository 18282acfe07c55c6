//! Shared test helpers: seeded random problems, approximate comparisons, temp dirs, the binary.
#![allow(dead_code)]

use std::path::PathBuf;

use lariat::design::Dense;
use lariat::synth::Rng;

/// The columns of `x` multiplied by `10^e_j`, `e_j` spread evenly over `decades` (a fixed
/// shuffle of the columns): unstandardized data whose curvatures `||xe_j||^2 / n` span twice
/// that many orders of magnitude.
pub fn scale_columns(x: &Dense<f64>, (lo, hi): (f64, f64)) -> Dense<f64> {
    use lariat::design::Design;
    let (n, p) = (x.n_rows(), x.n_cols());
    let mut data = x.as_col_major().to_vec();
    for j in 0..p {
        let e = lo + (hi - lo) * ((j * 37) % p) as f64 / (p - 1).max(1) as f64;
        data[j * n..(j + 1) * n]
            .iter_mut()
            .for_each(|v| *v *= 10f64.powf(e));
    }
    Dense::from_col_major(n, p, data)
}

/// Random dense problem with a few true features, column scales varying over 2 decades.
pub fn random_problem(n: usize, p: usize, seed: u64) -> (Dense<f64>, Vec<f64>) {
    let mut rng = Rng::new(seed);
    let mut data = vec![0.0; n * p];
    for j in 0..p {
        let scale = 10f64.powf(rng.uniform() * 2.0 - 1.0);
        let shift = rng.normal();
        for i in 0..n {
            data[j * n + i] = shift + scale * rng.normal();
        }
    }
    let x = Dense::from_col_major(n, p, data);
    let mut y = vec![0.0; n];
    for _ in 0..3.min(p) {
        let j = rng.below(p);
        let b = rng.normal() * 2.0;
        lariat::design::Design::col_axpy(&x, j, b, &mut y);
    }
    y.iter_mut().for_each(|v| *v += 0.3 * rng.normal() + 1.0);
    (x, y)
}

/// Runs the lariat binary with these arguments.
pub fn lariat(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_lariat"))
        .args(args)
        .output()
        .expect("the lariat binary runs")
}

pub fn rel_diff(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

/// A fresh, empty directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let k = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("lariat-test-{tag}-{}-{k}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Set by CI (`.ci/run`): a GPU test that finds no adapter fails instead of skipping.
pub const REQUIRE_GPU_ENV: &str = "LARIAT_REQUIRE_GPU";

/// A GPU backend on any adapter (software ones included), or `None` with a printed reason when
/// there is none and `LARIAT_REQUIRE_GPU` is not set.
#[cfg(feature = "gpu")]
pub fn gpu_or_skip(
    opts: lariat::solver::gpu::GpuOptions,
) -> Option<lariat::solver::gpu::GpuBackend> {
    let mut opts = opts;
    opts.adapter.allow_software = true;
    match lariat::solver::gpu::GpuBackend::new(opts) {
        Ok(b) => Some(b),
        Err(e) => {
            if std::env::var(REQUIRE_GPU_ENV).is_ok_and(|v| v == "1") {
                panic!("{REQUIRE_GPU_ENV}=1 but no GPU adapter could be opened: {e}");
            }
            eprintln!("SKIPPED: no GPU adapter ({e}); set {REQUIRE_GPU_ENV}=1 to make this fail");
            None
        }
    }
}

/// A solve to `tol` with one CPU algorithm and the default screening.
pub fn solve_cpu(
    pb: &lariat::problem::Problem,
    pen: lariat::penalty::ElasticNet,
    alg: lariat::params::Algorithm,
    tol: f64,
) -> lariat::solver::Fit {
    use lariat::solver::Backend;
    let params = lariat::params::SolverParams {
        tol,
        max_iter: Some(1_000_000),
        algorithm: alg,
        ..Default::default()
    }
    .check()
    .unwrap();
    lariat::solver::CpuBackend::new(alg)
        .solve(pb, &pen, None, &params)
        .unwrap()
}

/// A fit's reported gap is the f64 gap a full pass over X gives at its `w` (however the
/// backend certified it).
pub fn assert_gap_is_full_pass(
    pb: &lariat::problem::Problem,
    pen: &lariat::penalty::ElasticNet,
    fit: &lariat::solver::Fit,
    what: &str,
) {
    let full = pb.duality_gap(&fit.w, pen);
    assert!(
        (fit.gap - full.gap.max(0.0)).abs() <= 1e-12 * full.primal,
        "{what}: certified gap {} vs full pass {}",
        fit.gap,
        full.gap
    );
}

/// `grad`, handed on to the next lambda, never under-states `|g_j - n l2 w_j|` against the
/// exact `Xe^T r` at `w`, for each `l2` given (the next lambda may bring another).
pub fn assert_grad_not_understated(
    pb: &lariat::problem::Problem,
    w: &[f64],
    grad: &[f64],
    l2s: &[f64],
    what: &str,
) {
    let r = pb.residual(w);
    let mut g = vec![0.0; pb.p()];
    pb.rmatvec(&r, &mut g);
    for &l2 in l2s {
        let nl2 = pb.n() as f64 * l2;
        for j in 0..pb.p() {
            let got = (grad[j] - nl2 * w[j]).abs();
            let truth = (g[j] - nl2 * w[j]).abs();
            assert!(
                got >= truth * (1.0 - 1e-12) - 1e-12,
                "{what}: feature {j}: {got} < {truth} (l2 {l2})"
            );
        }
    }
}

/// Coordinate-descent parameters at `tol` with a cap no test reaches.
pub fn cd_params(tol: f64) -> lariat::params::ValidParams {
    lariat::params::SolverParams {
        tol,
        max_iter: Some(1_000_000),
        algorithm: lariat::params::Algorithm::Cd,
        ..lariat::params::SolverParams::default()
    }
    .check()
    .unwrap()
}
