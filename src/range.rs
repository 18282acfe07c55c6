//! Numbers beyond f64: found before the solve where the data show it, and after it where only
//! the solve does. Without these checks, `y * 1e300` runs to `--max-iter` (no gap is ever
//! small enough when it is NaN) and writes `"objective": null` as if it were a model.

use crate::error::{short_number, Error, Result};
use crate::penalty::ElasticNet;
use crate::problem::{sq_norm, Problem};
use crate::solver::Fit;

/// Refuses a problem whose sums of squares are not finite normal numbers: `||yc||^2` (the
/// gap tolerance is a multiple of it) and each column's `||xe_j||^2` and scale. These are
/// already computed by [`Problem::new`], so the check costs O(p) plus a pass over the columns
/// it set to zero.
pub fn check_scale(problem: &Problem, names: Option<&[String]>) -> Result<()> {
    let yc = problem.yc();
    let y_sq = sq_norm(yc);
    let y_max = yc.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let (of_y, dev) = if problem.preprocess().fit_intercept {
        ("y (centred)", "|y - mean|")
    } else {
        ("y", "|y|")
    };
    if !y_sq.is_finite() {
        // y_max itself may be useless here (the mean of y can overflow before its squares).
        let by = if y_max.is_finite() && y_max > 1.0 {
            format!("1e{:.0}", y_max.log10().floor())
        } else {
            "a large power of ten".into()
        };
        return Err(Error::OutOfRange(format!(
            "the sum of squares of {of_y} overflows f64 (largest {dev} is {y_max:.3e}); divide y \
             by {by} and scale the coefficients back"
        )));
    }
    if y_max > 0.0 && y_sq < f64::MIN_POSITIVE {
        // The gap tolerance would be 0 or subnormal: no solve could ever meet it.
        return Err(Error::OutOfRange(format!(
            "the sum of squares of {of_y} underflows f64 (largest {dev} is {y_max:.3e}); multiply \
             y by a power of ten, e.g. 1e{:.0}, and scale the coefficients back",
            -y_max.log10().floor()
        )));
    }
    let x = problem.design();
    let bad = (0..problem.p()).find(|&j| {
        let (ss, scale) = (problem.col_sq_norms()[j], problem.x_scale()[j]);
        if ss == 0.0 {
            // A column whose squares overflow can pass for a constant one (its spread is
            // compared with its overflowed magnitude); these few are measured again.
            !x.col_centered_sq_norm(j, problem.x_mean()[j]).is_finite()
        } else {
            !(ss.is_finite() && scale.is_finite())
        }
    });
    if let Some(j) = bad {
        let label = match names {
            Some(n) => format!("column '{}' ({j})", n[j]),
            None => format!("column {j}"),
        };
        return Err(Error::OutOfRange(format!(
            "the sum of squares of {label} of X overflows f64; divide X by a power of ten and \
             scale the coefficients back"
        )));
    }
    Ok(())
}

/// Refuses a column handled as zero because its squares fall below f64's normal range
/// ([`Problem::underflowed_columns`]) where it could enter the model on the grid: where
/// `||xe_j|| ||yc|| / n`, a bound on its correlation with any residual no worse than `yc`'s,
/// reaches `l1_ratio * lambda` at the grid's smallest lambda. Below that bound its
/// coefficient is 0 at every lambda and handling it as zero is exact; above it, the answer
/// would be wrong and a gap that cannot see the column would certify it.
pub fn check_underflowed(
    problem: &Problem,
    names: Option<&[String]>,
    lambdas: &[f64],
    l1_ratio: f64,
) -> Result<()> {
    if problem.underflowed_columns().is_empty() {
        return Ok(());
    }
    let lambda_min = lambdas.iter().copied().fold(f64::INFINITY, f64::min);
    let y_norm = sq_norm(problem.yc()).sqrt();
    let n = problem.n() as f64;
    let entering = problem
        .underflowed_columns()
        .iter()
        .find(|&&(_, norm)| norm * y_norm / n >= l1_ratio * lambda_min);
    let Some(&(j, norm)) = entering else {
        return Ok(());
    };
    Err(underflowed_error(
        &column_label(names, j),
        norm,
        &format!(
            "at lambda {} it could enter the model",
            short_number(lambda_min)
        ),
    ))
}

/// Why `lambda_max` came out 0 when y is not constant: every column that could make it
/// positive has squares below f64's normal range and is handled as zero
/// ([`Problem::underflowed_columns`]). `None` when no column underflowed (then y or X's
/// columns are constant, and the caller says so).
pub fn zero_lambda_max_from_underflow(problem: &Problem) -> Option<Error> {
    if problem.yc().iter().all(|&v| v == 0.0) {
        return None;
    }
    let &(j, norm) = problem
        .underflowed_columns()
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    Some(underflowed_error(
        &column_label(None, j),
        norm,
        "so lambda_max, which it sets, comes out 0",
    ))
}

fn column_label(names: Option<&[String]>, j: usize) -> String {
    match names {
        Some(n) => format!("column '{}' ({j})", n[j]),
        None => format!("column {j}"),
    }
}

fn underflowed_error(label: &str, norm: f64, consequence: &str) -> Error {
    Error::OutOfRange(format!(
        "the sum of squares of {label} of X underflows f64 (its norm is {}), and {consequence}; \
         multiply that column by a power of ten, e.g. 1e{:.0}, and divide its coefficient by \
         the same",
        short_number(norm),
        -norm.log10().floor()
    ))
}

/// Refuses a lambda at which `n^2 lambda` overflows f64 (the gap divides by `2 n^2 l2` and
/// multiplies `n l2` by coefficients that are 0: `inf * 0` made it NaN). Every lambda at or above lambda_max
/// gives all-zero coefficients, so nothing is lost by asking for a smaller one.
pub fn check_lambda(problem: &Problem, lambda: f64) -> Result<()> {
    let n = problem.n() as f64;
    if (n * n * lambda).is_finite() {
        return Ok(());
    }
    Err(Error::OutOfRange(format!(
        "lambda {} is beyond f64's range for {} rows (n^2 lambda overflows); every lambda at or \
         above lambda_max gives all-zero coefficients: pass a smaller one",
        short_number(lambda),
        problem.n()
    )))
}

/// Refuses a solve that ended with a non-finite objective, gap or tolerance (a scale the data
/// check could not see, e.g. products that overflow when the squares do not).
pub fn check_fits(fits: &[Fit], penalties: &[ElasticNet]) -> Result<()> {
    for (fit, pen) in fits.iter().zip(penalties) {
        if !(fit.objective.is_finite() && fit.gap.is_finite() && fit.gap_tol.is_finite()) {
            return Err(Error::OutOfRange(format!(
                "the solve at lambda {:.4e} ended with objective {}, duality gap {} and \
                 tolerance {}: the data's scale is beyond f64 (rescale X and y; in a sparse \
                 X, which is centred implicitly, a column whose mean is many times its spread \
                 loses its digits: subtract its mean first), or X or y changed while it ran",
                pen.lambda,
                short_number(fit.objective),
                short_number(fit.gap),
                short_number(fit.gap_tol)
            )));
        }
    }
    Ok(())
}

/// Refuses predictions that are not finite: X times the coefficients (plus the intercept)
/// overflowed f64 at some row, and an `inf` or `NaN` written as a prediction, or averaged
/// into an error, would look like a number.
pub fn check_predictions(yhat: &[f64]) -> Result<()> {
    match yhat.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::OutOfRange(format!(
            "the prediction for row {i} (0-based) is {}: X times the coefficients overflows f64 \
             there; rescale X (or the coefficients)",
            yhat[i]
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::Status;

    /// A gap computed from a NaN (a correlation of NaN data) is NaN, stays NaN in the fit
    /// (never clamped to a zero gap) and is refused.
    #[test]
    fn a_nan_gap_is_never_a_certificate() {
        use crate::design::Dense;
        use crate::problem::{Preprocess, Problem};
        let x = Dense::from_col_major(3, 2, vec![1.0, 2.0, 4.0, 0.5, -1.0, 3.0]);
        let y = [1.0, 2.0, 0.0];
        let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
        let pen = ElasticNet {
            lambda: 0.1,
            l1_ratio: 1.0,
        };
        let w = [0.0, 0.0];
        let info = pb.duality_gap_from(&w, pb.yc(), &[f64::NAN, 0.5], &pen);
        assert!(info.gap.is_nan(), "{info:?}");
        assert_eq!(
            crate::solver::stop_status(info.gap, 1e-9, 1, 100),
            Some(Status::MaxIter)
        );
        let fit = Fit::finished(
            w.to_vec(),
            &info,
            1e-9,
            (1, 1),
            Status::MaxIter,
            "cpu",
            vec![],
        );
        assert!(fit.gap.is_nan());
        let err = check_fits(&[fit], &[pen]).unwrap_err().to_string();
        assert!(err.contains("changed while it ran"), "{err}");
    }

    fn fit_with(objective: f64, gap: f64, gap_tol: f64) -> Fit {
        Fit {
            w: vec![0.0],
            objective,
            gap,
            gap_tol,
            n_iter: 1,
            full_passes: 1,
            status: Status::MaxIter,
            device: "cpu".into(),
            grad: Vec::new(),
            seconds: 0.0,
            device_work: None,
        }
    }

    #[test]
    fn a_non_finite_objective_gap_or_tolerance_is_refused() {
        let pen = [ElasticNet {
            lambda: 0.5,
            l1_ratio: 1.0,
        }];
        assert!(check_fits(&[fit_with(1.0, 0.0, 1e-6)], &pen).is_ok());
        for bad in [
            fit_with(f64::NAN, 0.0, 1e-6),
            fit_with(1.0, f64::INFINITY, 1e-6),
            fit_with(1.0, 0.0, f64::INFINITY),
        ] {
            let e = check_fits(&[bad], &pen).unwrap_err().to_string();
            assert!(e.contains("beyond f64") && e.contains("5.0000e-1"), "{e}");
        }
    }
}
