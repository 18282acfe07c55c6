//! The f64 step size `sigma_max(Xe)^2` (Lanczos, `solver::spectral`) against the exact largest
//! eigenvalue of the Gram matrix (dense Jacobi), on random and structured designs under every
//! preprocessing: never below the truth, at most 1% above it.

#[path = "common/spectral.rs"]
mod families;

use families::{worst_ratio, SIZES};

#[test]
fn cpu_step_size_is_within_one_percent_above_the_exact_value() {
    let worst = worst_ratio(lariat::solver::fista::sigma_max_sq, &SIZES, 3);
    eprintln!("f64 Lanczos over {} problems: {worst:?}", worst.count);
    assert!(worst.count >= 800, "{}", worst.count);
    // Never below (up to f64 rounding of the reference itself), at most 1% above.
    assert!(
        worst.low.0 >= 1.0 - 1e-9,
        "below the exact value: {:?}",
        worst.low
    );
    assert!(worst.high.0 <= 1.01, "more than 1% above: {:?}", worst.high);
}

#[test]
fn cpu_step_size_without_reorthogonalisation_is_within_one_percent_above() {
    // k_max * p above REORTH_MAX_ENTRIES: the plain three-term recurrence.
    let (n, p) = (80, 60_000);
    assert!(
        lariat::solver::spectral::max_steps(n, p) * p
            > lariat::solver::spectral::REORTH_MAX_ENTRIES
    );
    let worst = worst_ratio(lariat::solver::fista::sigma_max_sq, &[(n, p)], 1);
    eprintln!(
        "f64 Lanczos, no reorthogonalisation, {} problems: {worst:?}",
        worst.count
    );
    assert!(
        worst.low.0 >= 1.0 - 1e-9,
        "below the exact value: {:?}",
        worst.low
    );
    assert!(worst.high.0 <= 1.01, "more than 1% above: {:?}", worst.high);
}
