//! The math of `math.md` against closed forms: the worked ISTA step, the orthonormal design,
//! the KKT conditions and the duality gap at returned solutions, lambda_max.

#![allow(clippy::needless_range_loop)]

mod common;

use common::{random_problem, rel_diff, solve_cpu};
use lariat::design::{Dense, Design};
use lariat::params::Algorithm;
use lariat::penalty::{soft_threshold, ElasticNet};
use lariat::problem::{Preprocess, Problem};
use lariat::solver::{fista::ista_step, Status};

const NO_INTERCEPT: Preprocess = Preprocess {
    fit_intercept: false,
    standardize: false,
};

#[test]
fn worked_example_one_ista_step() {
    let x = Dense::from_row_major(2, 2, &[1.0, 2.0, 3.0, 4.0]);
    let y = [5.0, 6.0];
    let pb = Problem::new(&x, &y, NO_INTERCEPT).unwrap();
    let pen = ElasticNet {
        lambda: 1.0,
        l1_ratio: 1.0,
    };
    let w1 = ista_step(&pb, &pen, &[0.5, 0.5], 0.1);
    assert!((w1[0] - 0.95).abs() < 1e-12, "{w1:?}");
    assert!((w1[1] - 1.25).abs() < 1e-12, "{w1:?}");
}

/// `n x p` matrix with orthogonal columns of squared norm `n` (so `X^T X / n = I`), by
/// Gram-Schmidt on random columns.
fn orthonormal_design(n: usize, p: usize, seed: u64) -> Dense<f64> {
    let mut rng = lariat::synth::Rng::new(seed);
    let mut cols: Vec<Vec<f64>> = Vec::new();
    for _ in 0..p {
        let mut v: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        for c in &cols {
            let d: f64 = c.iter().zip(&v).map(|(a, b)| a * b).sum::<f64>() / n as f64;
            v.iter_mut().zip(c).for_each(|(vi, ci)| *vi -= d * ci);
        }
        let nrm = (v.iter().map(|a| a * a).sum::<f64>() / n as f64).sqrt();
        v.iter_mut().for_each(|a| *a /= nrm);
        cols.push(v);
    }
    Dense::from_col_major(n, p, cols.concat())
}

#[test]
fn orthonormal_design_is_soft_thresholded_least_squares() {
    let (n, p) = (40, 12);
    let x = orthonormal_design(n, p, 7);
    let mut rng = lariat::synth::Rng::new(8);
    let mut y: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
    x.col_axpy(0, 1.5, &mut y);
    x.col_axpy(3, -1.0, &mut y);
    let pb = Problem::new(&x, &y, NO_INTERCEPT).unwrap();
    let mut ols = vec![0.0; p];
    x.rmatvec(&y, &mut ols);
    ols.iter_mut().for_each(|b| *b /= n as f64);
    for l1_ratio in [1.0, 0.5] {
        let pen = ElasticNet {
            lambda: 0.6,
            l1_ratio,
        };
        let expected: Vec<f64> = ols
            .iter()
            .map(|&b| soft_threshold(b, pen.l1()) / (1.0 + pen.l2()))
            .collect();
        assert!(expected.contains(&0.0) && expected.iter().any(|&e| e != 0.0));
        for alg in [Algorithm::Cd, Algorithm::Fista] {
            let fit = solve_cpu(&pb, pen, alg, 1e-14);
            assert_eq!(fit.status, Status::Converged);
            for j in 0..p {
                assert!(
                    (fit.w[j] - expected[j]).abs() < 1e-7,
                    "{alg:?} l1_ratio {l1_ratio} j {j}: {} vs {}",
                    fit.w[j],
                    expected[j]
                );
                assert_eq!(
                    fit.w[j] == 0.0,
                    expected[j] == 0.0,
                    "{alg:?} support at {j}"
                );
            }
        }
    }
}

/// KKT of the Elastic Net in problem units: `g_j/n - l2 w_j = l1 sign(w_j)` on the support,
/// `|g_j/n| <= l1` off it, with `g = Xe^T (yc - Xe w)`.
fn max_kkt_violation(pb: &Problem, pen: &ElasticNet, w: &[f64]) -> f64 {
    let r = pb.residual(w);
    let mut g = vec![0.0; pb.p()];
    pb.rmatvec(&r, &mut g);
    let n = pb.n() as f64;
    w.iter()
        .zip(&g)
        .map(|(&wj, &gj)| {
            let s = gj / n - pen.l2() * wj;
            if wj != 0.0 {
                (s - pen.l1() * wj.signum()).abs()
            } else {
                (s.abs() - pen.l1()).max(0.0)
            }
        })
        .fold(0.0, f64::max)
}

#[test]
fn kkt_and_gap_hold_at_returned_solutions() {
    for (seed, (n, p)) in [(30, 200), (100, 20), (50, 50)].into_iter().enumerate() {
        let (x, y) = random_problem(n, p, seed as u64 + 100);
        for prep in [
            Preprocess::default(),
            NO_INTERCEPT,
            Preprocess {
                fit_intercept: true,
                standardize: true,
            },
        ] {
            let pb = Problem::new(&x, &y, prep).unwrap();
            for l1_ratio in [1.0, 0.4] {
                let lambda = 0.05 * pb.lambda_max(l1_ratio);
                let pen = ElasticNet { lambda, l1_ratio };
                for alg in [Algorithm::Cd, Algorithm::Fista] {
                    let tol = 1e-10;
                    let fit = solve_cpu(&pb, pen, alg, tol);
                    assert_eq!(fit.status, Status::Converged, "{alg:?} {n}x{p} {prep:?}");
                    let gap = pb.duality_gap(&fit.w, &pen);
                    assert!(gap.gap >= -1e-12 * gap.primal.abs(), "gap {gap:?}");
                    assert!(
                        gap.gap <= pb.gap_tolerance(tol) * (1.0 + 1e-9),
                        "gap {gap:?}"
                    );
                    let kkt = max_kkt_violation(&pb, &pen, &fit.w);
                    assert!(
                        kkt < 1e-4 * pen.lambda,
                        "{alg:?} {n}x{p} {prep:?}: KKT {kkt:e}"
                    );
                }
            }
        }
    }
}

#[test]
fn lambda_at_or_above_lambda_max_gives_exact_zeros() {
    let (x, y) = random_problem(25, 60, 5);
    for prep in [Preprocess::default(), NO_INTERCEPT] {
        let pb = Problem::new(&x, &y, prep).unwrap();
        for l1_ratio in [1.0, 0.3] {
            let lmax = pb.lambda_max(l1_ratio);
            for factor in [1.0, 1.5] {
                let pen = ElasticNet {
                    lambda: lmax * factor,
                    l1_ratio,
                };
                for alg in [Algorithm::Cd, Algorithm::Fista] {
                    let fit = solve_cpu(&pb, pen, alg, 1e-8);
                    assert!(fit.w.iter().all(|&v| v == 0.0), "{alg:?} {factor}");
                }
                // Just below lambda_max something enters.
                let pen = ElasticNet {
                    lambda: lmax * 0.99,
                    l1_ratio,
                };
                let fit = solve_cpu(&pb, pen, Algorithm::Cd, 1e-10);
                assert!(fit.w.iter().any(|&v| v != 0.0));
            }
        }
    }
}

#[test]
fn gap_is_positive_away_from_the_optimum_and_zero_at_w0_above_lambda_max() {
    let (x, y) = random_problem(20, 30, 9);
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    let lmax = pb.lambda_max(1.0);
    let pen = ElasticNet {
        lambda: lmax * 0.5,
        l1_ratio: 1.0,
    };
    let w = vec![0.1; 30];
    assert!(pb.duality_gap(&w, &pen).gap > 0.0);
    let pen = ElasticNet {
        lambda: lmax * 1.01,
        l1_ratio: 1.0,
    };
    let g = pb.duality_gap(&vec![0.0; 30], &pen);
    assert!(g.gap.abs() < 1e-12 * g.primal, "{g:?}");
    // Ridge: the gap must vanish at the closed-form optimum too.
    let pen = ElasticNet {
        lambda: 0.7,
        l1_ratio: 0.0,
    };
    let fit = solve_cpu(&pb, pen, Algorithm::Cd, 1e-12);
    assert_eq!(fit.status, Status::Converged);
    assert!(rel_diff(fit.objective, pb.objective(&fit.w, &pen)) < 1e-12);
}

/// Columns on a large offset (a position, a timestamp, an intensity on a baseline: mean 1e8,
/// spread 1e-3, five significant digits of data) are features, not constants: with an
/// intercept the problem is the one on the columns minus the offset (exact in f64: Sterbenz),
/// so both give the same objective and coefficients. Under the old cut-off (spread under
/// 1e-10 of the mean) every such column was dropped, and zero was "certified".
#[test]
fn columns_on_a_large_offset_are_fitted_not_dropped() {
    let (z, y) = random_problem(50, 6, 6);
    let (n, p) = (z.n_rows(), z.n_cols());
    let mut shifted = Vec::with_capacity(n * p);
    let mut plain = Vec::with_capacity(n * p);
    for j in 0..p {
        for &v in z.col(j) {
            let x = 1e8 + 1e-3 * v;
            shifted.push(x);
            plain.push(x - 1e8);
        }
    }
    let shifted = Dense::from_col_major(n, p, shifted);
    let plain = Dense::from_col_major(n, p, plain);
    for standardize in [false, true] {
        let prep = Preprocess {
            fit_intercept: true,
            standardize,
        };
        let a = Problem::new(&shifted, &y, prep).unwrap();
        let b = Problem::new(&plain, &y, prep).unwrap();
        assert!(a.col_sq_norms().iter().all(|&s| s > 0.0), "{standardize}");
        let pen = ElasticNet {
            lambda: 0.05 * b.lambda_max(1.0),
            l1_ratio: 1.0,
        };
        let (fa, fb) = (
            solve_cpu(&a, pen, Algorithm::Cd, 1e-12),
            solve_cpu(&b, pen, Algorithm::Cd, 1e-12),
        );
        assert!(fb.w.iter().any(|&v| v != 0.0));
        assert!(rel_diff(fa.objective, fb.objective) < 1e-8, "{standardize}");
        let (ca, _) = a.unscale(&fa.w);
        let (cb, _) = b.unscale(&fb.w);
        for (u, v) in ca.iter().zip(&cb) {
            assert!((u - v).abs() <= 1e-5 * v.abs().max(1.0), "{ca:?} vs {cb:?}");
        }
    }
}

/// A column constant but for rounding (0.3 and 0.1 + 0.2, one ulp apart) stays a constant,
/// also under `--standardize`, where scaling it would make rounding noise a unit feature.
#[test]
fn a_column_constant_up_to_rounding_is_constant() {
    let n = 40;
    let col: Vec<f64> = (0..n)
        .map(|i| if i % 3 == 0 { 0.1 + 0.2 } else { 0.3 })
        .collect();
    assert!(
        col.iter().any(|&v| v != col[0]),
        "the column differs in its last bit"
    );
    let (z, y) = random_problem(n, 1, 2);
    let mut data = col;
    data.extend_from_slice(z.col(0));
    let x = Dense::from_col_major(n, 2, data);
    for standardize in [false, true] {
        let prep = Preprocess {
            fit_intercept: true,
            standardize,
        };
        let pb = Problem::new(&x, &y, prep).unwrap();
        assert_eq!(pb.col_sq_norms()[0], 0.0, "{standardize}");
        assert!(pb.col_sq_norms()[1] > 0.0);
    }
}

/// Under `--standardize` the problem does not depend on a column's scale: multiplying a
/// column by 1e-170 or 1e170 (squares beyond f64's range, but not the column's statistics
/// measured in its own unit) divides its coefficient by that factor and changes nothing else,
/// with or without an intercept. Before, the squares of the 1e-170 column underflowed to zero
/// and the column was dropped as "constant".
#[test]
fn standardized_columns_do_not_depend_on_their_scale() {
    let (x, noise) = random_problem(40, 5, 12);
    let (n, p) = (x.n_rows(), x.n_cols());
    // Columns 0 and 3 (the ones rescaled) in the model.
    let sd = |c: &[f64]| {
        let m = c.iter().sum::<f64>() / c.len() as f64;
        (c.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / c.len() as f64).sqrt()
    };
    let (s0, s3) = (sd(x.col(0)), sd(x.col(3)));
    let y: Vec<f64> = (0..n)
        .map(|i| noise[i] + 2.0 * x.col(0)[i] / s0 - 1.5 * x.col(3)[i] / s3)
        .collect();
    for fit_intercept in [true, false] {
        let prep = Preprocess {
            fit_intercept,
            standardize: true,
        };
        let base = Problem::new(&x, &y, prep).unwrap();
        let pen = ElasticNet {
            lambda: 0.02 * base.lambda_max(0.7),
            l1_ratio: 0.7,
        };
        let want = solve_cpu(&base, pen, Algorithm::Cd, 1e-12);
        let (want_coef, want_b) = base.unscale(&want.w);
        assert!(want_coef[0] != 0.0 && want_coef[3] != 0.0, "{want_coef:?}");
        for factor in [1e-170, 1e170] {
            let mut data = x.as_col_major().to_vec();
            data[..n].iter_mut().for_each(|v| *v *= factor);
            data[3 * n..4 * n].iter_mut().for_each(|v| *v /= factor);
            let xs = Dense::from_col_major(n, p, data);
            let pb = Problem::new(&xs, &y, prep).unwrap();
            assert!(pb.col_sq_norms().iter().all(|&s| s > 0.0), "{factor:e}");
            let fit = solve_cpu(&pb, pen, Algorithm::Cd, 1e-12);
            assert!(
                rel_diff(fit.objective, want.objective) < 1e-10,
                "{factor:e}"
            );
            let (coef, b) = pb.unscale(&fit.w);
            let scaled = [want_coef[0] / factor, want_coef[1], want_coef[2]];
            for (j, (u, v)) in coef.iter().zip(scaled).enumerate().take(3) {
                assert!(
                    rel_diff(*u, v) < 1e-7,
                    "{factor:e} column {j}: {u:e} vs {v:e}"
                );
            }
            assert!(
                rel_diff(coef[3], want_coef[3] * factor) < 1e-7,
                "{factor:e}"
            );
            assert!(
                (b - want_b).abs() < 1e-7 * want_b.abs().max(1.0),
                "{factor:e}"
            );
        }
    }
}

/// A y constant on the rows (1e25 plus noise below its ulp: every value the same double) is
/// centred to exactly zero, so lambda_max is 0 and the fit is the intercept alone; summed
/// plainly, the mean of fifty 1e25s missed 1e25 by some ulps and left a "response" of
/// rounding errors near 1e9 that no solve could fit.
#[test]
fn a_constant_y_on_a_large_offset_centres_to_zero() {
    let (x, noise) = random_problem(50, 20, 4);
    let y: Vec<f64> = noise.iter().map(|v| 1e25 + v).collect();
    assert!(y.iter().all(|&v| v == y[0]));
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    assert!(pb.yc().iter().all(|&v| v == 0.0), "{:?}", &pb.yc()[..3]);
    assert_eq!(pb.y_mean(), y[0]);
    assert_eq!(pb.lambda_max(1.0), 0.0);
}

/// The Elastic Net's dual is the better of the rescaled residual's and Fenchel's unscaled one
/// (`math.md`); both are lower bounds. On an orthonormal design the optimum is known in closed
/// form, so at perturbed points `P(w) - P*` must never exceed the gap reported there, and at
/// an L1 share of 1e-17 (where the rescaled dual cannot certify: its scale is below the
/// rounding of X^T r) the solve converges to the closed form.
#[test]
fn the_elastic_net_gap_bounds_the_suboptimality_down_to_a_tiny_l1_share() {
    let (n, p) = (40, 12);
    let x = orthonormal_design(n, p, 17);
    let mut rng = lariat::synth::Rng::new(18);
    let mut y: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
    x.col_axpy(2, 1.5, &mut y);
    let pb = Problem::new(&x, &y, NO_INTERCEPT).unwrap();
    let mut ols = vec![0.0; p];
    x.rmatvec(&y, &mut ols);
    ols.iter_mut().for_each(|b| *b /= n as f64);
    for l1_ratio in [1.0, 0.9, 0.5, 1e-2, 1e-6, 1e-17] {
        let pen = ElasticNet {
            lambda: 0.3,
            l1_ratio,
        };
        let best: Vec<f64> = ols
            .iter()
            .map(|&b| soft_threshold(b, pen.l1()) / (1.0 + pen.l2()))
            .collect();
        let p_star = pb.duality_gap(&best, &pen).primal;
        for k in 0..30 {
            let scale = 10f64.powi(-(k % 8));
            let w: Vec<f64> = best.iter().map(|&b| b + scale * rng.normal()).collect();
            let info = pb.duality_gap(&w, &pen);
            assert!(
                info.primal - p_star <= info.gap * (1.0 + 1e-9) + 1e-15,
                "l1_ratio {l1_ratio}: suboptimality {} > gap {}",
                info.primal - p_star,
                info.gap
            );
            assert!(info.gap <= info.sphere_gap + 1e-15, "{info:?}");
        }
        let fit = solve_cpu(&pb, pen, Algorithm::Cd, 1e-10);
        assert_eq!(fit.status, Status::Converged, "l1_ratio {l1_ratio}");
        for j in 0..p {
            assert!(
                (fit.w[j] - best[j]).abs() < 1e-6,
                "l1_ratio {l1_ratio} j {j}"
            );
        }
    }
}
