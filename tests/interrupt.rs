//! `lariat::interrupt`: a request stops a solve in flight with `Error::Interrupted`, not a
//! fit. One test function: the flag is the process's, so no other test may share this binary.

mod common;

use lariat::fit::{fit, FitConfig, LambdaSpec};
use lariat::params::{Algorithm, SolverParams};
use lariat::solver::BackendKind;
use lariat::Error;

fn unreachable_tol(algorithm: Algorithm) -> FitConfig {
    FitConfig {
        lambda: LambdaSpec::Ratio(0.01),
        // Below f64's reach: without the request the solve runs its whole iteration cap.
        solver: SolverParams {
            tol: 1e-300,
            max_iter: Some(usize::MAX / 2),
            algorithm,
            ..SolverParams::default()
        },
        device: BackendKind::Cpu,
        ..FitConfig::default()
    }
}

#[test]
fn a_request_stops_a_solve_in_flight_and_clear_lets_the_next_one_run() {
    let (x, y) = common::random_problem(80, 400, 3);

    lariat::interrupt::request();
    let before = fit(&x, &y, None, &FitConfig::default());
    assert!(matches!(before, Err(Error::Interrupted)), "{before:?}");

    for algorithm in [Algorithm::Cd, Algorithm::Fista] {
        lariat::interrupt::clear();
        let stopper = std::thread::spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(200));
            lariat::interrupt::request();
        });
        let stopped = fit(&x, &y, None, &unreachable_tol(algorithm));
        stopper.join().unwrap();
        assert!(
            matches!(stopped, Err(Error::Interrupted)),
            "{algorithm:?}: {stopped:?}"
        );
    }

    // The GPU's batch driver and its device loop stop too.
    #[cfg(feature = "gpu")]
    if common::gpu_or_skip(lariat::solver::gpu::GpuOptions::default()).is_some() {
        lariat::interrupt::clear();
        let stopper = std::thread::spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(500));
            lariat::interrupt::request();
        });
        let gpu = FitConfig {
            device: BackendKind::Gpu,
            ..unreachable_tol(Algorithm::Fista)
        };
        let stopped = fit(&x, &y, None, &gpu);
        stopper.join().unwrap();
        assert!(
            matches!(stopped, Err(Error::Interrupted)),
            "gpu: {stopped:?}"
        );
    }

    lariat::interrupt::clear();
    let after = fit(&x, &y, None, &FitConfig::default()).expect("runs once cleared");
    assert!(after.model.converged);
}
