//! The certificate that uses the device's f32 correlations as a filter must give the f64 gap of
//! a full pass, even when the device's numbers sit at the edge of their error bound, chosen
//! adversarially (the true maximum pushed down, every other feature pushed up).

mod common;

use common::{assert_grad_not_understated, random_problem, rel_diff, solve_cpu};
use lariat::params::Algorithm;
use lariat::penalty::ElasticNet;
use lariat::problem::{ColumnStats, Preprocess, Problem};
use lariat::solver::certificate::{certify, DeviceCorrelations};
use std::sync::Arc;

const U: f64 = 1.0 / (1u64 << 24) as f64;

/// Exact f64 residual and correlations at `w`, the references.
fn exact(pb: &Problem, w: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let r = pb.residual(w);
    let mut g = vec![0.0; pb.p()];
    pb.rmatvec(&r, &mut g);
    (r, g)
}

/// Device numbers as far from the truth as f32 rounding could put them (half the documented
/// bound's main term), in the direction that hides the true maximum best.
fn adversarial_device(pb: &Problem, pen: &ElasticNet, w: &[f64]) -> (Vec<f32>, Vec<f32>) {
    let (r, g) = exact(pb, w);
    let n = pb.n() as f64;
    let r_norm = r.iter().map(|v| v * v).sum::<f64>().sqrt();
    let c: Vec<f64> = g.iter().zip(w).map(|(g, w)| g - n * pen.l2() * w).collect();
    let jmax = (0..c.len())
        .max_by(|&a, &b| c[a].abs().total_cmp(&c[b].abs()))
        .unwrap();
    let g_dev = (0..pb.p())
        .map(|j| {
            let e = 0.45 * 2.0 * (n + 4.0) * U * pb.col_sq_norms()[j].sqrt() * r_norm;
            let towards = if j == jmax { -1.0 } else { 1.0 };
            (g[j] + towards * c[j].signum() * e) as f32
        })
        .collect();
    (g_dev, r.iter().map(|&v| v as f32).collect())
}

fn problems() -> Vec<(usize, usize, bool, bool, f64, u64)> {
    // n, p, intercept, standardize, l1_ratio, seed
    vec![
        (40, 300, true, false, 1.0, 1),
        (60, 500, true, true, 1.0, 2),
        (30, 200, false, false, 0.5, 3),
        (80, 400, true, true, 0.7, 4),
        (5, 1000, true, false, 1.0, 5),
    ]
}

#[test]
fn the_filtered_certificate_equals_the_full_f64_gap() {
    for (n, p, fit_intercept, standardize, l1_ratio, seed) in problems() {
        let (x, y) = random_problem(n, p, seed);
        let prep = Preprocess {
            fit_intercept,
            standardize,
        };
        // The problem on all rows, and one on a subset (a CV fold: vectors over all rows, zero
        // off its own).
        let full_rows = Problem::new(&x, &y, prep).unwrap();
        let labels: Vec<usize> = (0..n).map(|i| (i * 3) % 4).collect();
        let fold_stats = ColumnStats::for_folds(&x, prep, &labels).unwrap().remove(1);
        let fold = Problem::with_stats(&x, Arc::new(fold_stats), &y).unwrap();
        assert!(fold.n() < fold.n_rows());
        for (pb, frac) in [&full_rows, &fold]
            .into_iter()
            .flat_map(|pb| [0.5, 0.1, 0.02].map(|frac| (pb, frac)))
        {
            let pen = ElasticNet {
                lambda: frac * pb.lambda_max(l1_ratio),
                l1_ratio,
            };
            // Both at the optimum (ties at the maximum) and away from it.
            let opt = solve_cpu(pb, pen, Algorithm::Cd, 1e-10).w;
            let rough: Vec<f64> = opt.iter().map(|v| 0.9 * v).collect();
            for w in [opt, rough] {
                let (g_dev, r_dev) = adversarial_device(pb, &pen, &w);
                let dev = DeviceCorrelations { g: g_dev, r: r_dev };
                let cert = certify(pb, &pen, &w, Some(&dev));
                let full = pb.duality_gap(&w, &pen);
                let what = format!(
                    "n {n} (fitted on {}) p {p} l1_ratio {l1_ratio} lambda {frac} lambda_max",
                    pb.n()
                );
                assert!(
                    rel_diff(cert.info.primal, full.primal) < 1e-12,
                    "{what}: primal {} vs {}",
                    cert.info.primal,
                    full.primal
                );
                // The rescaled residual's dual is the full pass's exactly; Fenchel's unscaled
                // one (Elastic Net) sums every column's excess over the L1 bound, which the
                // filter knows only from above for the columns it skips: never more than the
                // full pass's, never less than the rescaled one.
                let (cert_scaled, full_scaled) = (
                    cert.info.primal - cert.info.sphere_gap,
                    full.primal - full.sphere_gap,
                );
                let tiny = 1e-12 * full.primal.abs();
                assert!(
                    (cert_scaled - full_scaled).abs() <= tiny,
                    "{what}: dual {cert_scaled} vs {full_scaled} (gap {} vs {})",
                    cert.info.sphere_gap,
                    full.sphere_gap
                );
                assert!(
                    cert.info.dual <= full.dual + tiny && cert.info.dual >= cert_scaled - tiny,
                    "{what}: dual {} vs {} (rescaled {cert_scaled})",
                    cert.info.dual,
                    full.dual
                );
                assert!(cert.exact_columns < p / 4, "{what}: {}", cert.exact_columns);
                // What it leaves for the next lambda never under-states a correlation, at this
                // penalty or another one (the Elastic Net's correlation depends on l2).
                let l2s = [pen.l2(), 0.0, 3.0 * pen.l2() + 0.1];
                assert_grad_not_understated(pb, &w, &cert.grad, &l2s, &what);
            }
        }
    }
}

#[test]
fn a_device_value_outside_its_bound_is_not_trusted_silently() {
    // The bound is what makes the filter safe: a device that hides the maximum by far more
    // than rounding could must change the answer (so the test above can fail).
    let (x, y) = random_problem(50, 400, 7);
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    let pen = ElasticNet {
        lambda: 0.3 * pb.lambda_max(1.0),
        l1_ratio: 1.0,
    };
    let w = vec![0.0; 400];
    let (r, g) = exact(&pb, &w);
    let jmax = (0..400)
        .max_by(|&a, &b| g[a].abs().total_cmp(&g[b].abs()))
        .unwrap();
    let mut g_dev: Vec<f32> = g.iter().map(|&v| v as f32).collect();
    g_dev[jmax] = 0.0;
    let r_dev: Vec<f32> = r.iter().map(|&v| v as f32).collect();
    let dev = DeviceCorrelations { g: g_dev, r: r_dev };
    let cert = certify(&pb, &pen, &w, Some(&dev));
    let full = pb.duality_gap(&w, &pen);
    assert!(rel_diff(cert.info.gap, full.gap) > 1e-6);
}

#[test]
fn ridge_and_unusable_device_values_take_a_full_pass() {
    let (x, y) = random_problem(30, 100, 8);
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    let w = vec![0.0; 100];
    let (r, g) = exact(&pb, &w);
    let r_dev: Vec<f32> = r.iter().map(|&v| v as f32).collect();
    let mut g_dev: Vec<f32> = g.iter().map(|&v| v as f32).collect();
    let ridge = ElasticNet {
        lambda: 0.1,
        l1_ratio: 0.0,
    };
    let cert_with = |g: &[f32], pen: &ElasticNet| {
        let dev = DeviceCorrelations {
            g: g.to_vec(),
            r: r_dev.clone(),
        };
        certify(&pb, pen, &w, Some(&dev))
    };
    assert_eq!(cert_with(&g_dev, &ridge).exact_columns, 100);
    let lasso = ElasticNet {
        lambda: 0.1 * pb.lambda_max(1.0),
        l1_ratio: 1.0,
    };
    assert!(cert_with(&g_dev, &lasso).exact_columns < 100);
    g_dev[3] = f32::NAN;
    let cert = cert_with(&g_dev, &lasso);
    assert_eq!(cert.exact_columns, 100);
    assert!(rel_diff(cert.info.gap, pb.duality_gap(&w, &lasso).gap) < 1e-12);
}
