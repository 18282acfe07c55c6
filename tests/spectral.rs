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

/// A problem on a subset of the rows (a CV fold: vectors of the design's length, zero off its
/// rows) gets the step size of its own rows: the same as the problem built from a copy of
/// them, against the exact value of that copy.
#[test]
fn cpu_step_size_of_a_row_subset_is_that_of_its_rows() {
    use lariat::design::{Dense, Design};
    use lariat::problem::{ColumnStats, Preprocess, Problem};
    use std::sync::Arc;
    for (n, p, seed) in [(30usize, 80usize, 1u64), (50, 20, 2), (24, 300, 3)] {
        let cols: Vec<f64> = (0..n * p)
            .map(|i| (((i as u64 + seed) * 2654435761 % 1000) as f64) / 250.0 - 2.0)
            .collect();
        let x = Dense::from_col_major(n, p, cols);
        let y: Vec<f64> = (0..n).map(|i| (i % 7) as f64 - 3.0).collect();
        let labels: Vec<usize> = (0..n).map(|i| (i * 5) % 3).collect();
        for prep in Preprocess::ALL {
            let stats = ColumnStats::for_folds(&x, prep, &labels).unwrap().remove(1);
            let fold = Problem::with_stats(&x, Arc::new(stats), &y).unwrap();
            let rows: Vec<usize> = (0..n).filter(|&i| labels[i] != 0).collect();
            let copy = Dense::from_col_major(
                rows.len(),
                p,
                (0..p)
                    .flat_map(|j| rows.iter().map(move |&i| (i, j)))
                    .map(|(i, j)| x.col(j)[i])
                    .collect(),
            );
            let y_copy: Vec<f64> = rows.iter().map(|&i| y[i]).collect();
            let alone = Problem::new(&copy, &y_copy, prep).unwrap();
            assert_eq!(fold.n(), alone.n());
            let exact = families::exact_sigma_max_sq(&copy, &alone);
            let got = lariat::solver::fista::sigma_max_sq(&fold);
            let ratio = got / exact;
            assert!(
                (1.0 - 1e-9..=1.01).contains(&ratio),
                "{n}x{p} {prep:?}: {got} vs exact {exact} (ratio {ratio}); {} rows",
                copy.n_rows()
            );
        }
    }
}
