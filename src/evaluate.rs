//! Training and test error along a path: the over-fitting that regularisation exists to
//! prevent, made visible. The test rows are either a separate file or a seeded hold-out of the
//! data (a row mask: the path is fitted on the other rows without copying X).

use serde::Serialize;

use crate::design::Design;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::predict::{match_names, quoted, NameMatch, NameMismatch};
use crate::synth::Rng;

/// Mean squared error and R^2 of each model of a path on some rows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ErrorCurve {
    /// Rows the errors are measured on.
    pub n: usize,
    pub mse: Vec<f64>,
    /// `1 - SSE / SST` with SST about these rows' own mean (scikit-learn's `r2_score`);
    /// `None` when y is constant on them (R^2 is undefined).
    pub r2: Vec<Option<f64>>,
}

/// The errors of `models` on the rows of `x` and `y` where `rows` is true (all when `None`).
pub fn error_curve(
    models: &[Model],
    x: &dyn Design,
    y: &[f64],
    rows: Option<&[bool]>,
) -> Result<ErrorCurve> {
    curve_of(models, x.n_rows(), y, rows, |m| m.predict(x))
}

/// The errors of the predictions `predict` makes for each model.
fn curve_of(
    models: &[Model],
    n_rows: usize,
    y: &[f64],
    rows: Option<&[bool]>,
    predict: impl Fn(&Model) -> Result<Vec<f64>>,
) -> Result<ErrorCurve> {
    if y.len() != n_rows {
        return Err(Error::Shape {
            what: format!("X has {n_rows} rows but y has {} values", y.len()),
        });
    }
    let picked: Vec<usize> = (0..y.len())
        .filter(|&i| rows.is_none_or(|r| r[i]))
        .collect();
    if picked.is_empty() {
        return Err(Error::Shape {
            what: "no rows to measure the error on".into(),
        });
    }
    let m = picked.len() as f64;
    let mean = picked.iter().map(|&i| y[i]).sum::<f64>() / m;
    let sst: f64 = picked.iter().map(|&i| (y[i] - mean).powi(2)).sum();
    let mut curve = ErrorCurve {
        n: picked.len(),
        mse: Vec::with_capacity(models.len()),
        r2: Vec::with_capacity(models.len()),
    };
    for model in models {
        let yhat = predict(model)?;
        let sse: f64 = picked.iter().map(|&i| (y[i] - yhat[i]).powi(2)).sum();
        if !sse.is_finite() {
            return Err(Error::OutOfRange(format!(
                "the squared error of the model at lambda {:.4e} overflows f64 (finite \
                 predictions, but y minus them squared is beyond f64); rescale y",
                model.lambda
            )));
        }
        curve.mse.push(sse / m);
        curve.r2.push((sst > 0.0).then(|| 1.0 - sse / sst));
    }
    Ok(curve)
}

/// The errors of `models` on test data whose column `column_of[j]` holds training column `j`
/// (from [`test_columns`]; the same order when `None`).
pub fn test_error_curve(
    models: &[Model],
    x: &dyn Design,
    y: &[f64],
    column_of: Option<&[usize]>,
) -> Result<ErrorCurve> {
    match column_of {
        None => error_curve(models, x, y, None),
        Some(column_of) => curve_of(models, x.n_rows(), y, None, |m| {
            let mut w = vec![0.0; x.n_cols()];
            for (&j, &v) in m.coef.indices.iter().zip(&m.coef.values) {
                w[column_of[j]] = v;
            }
            crate::model::predictions(x, &w, m.intercept)
        }),
    }
}

/// Where each training column stands among the test data's columns, matched by name: `None`
/// when the names stand in the same order. The two must hold the same names, each once where
/// the orders differ; the error says what differs.
pub fn test_columns(
    train: &[String],
    test: &[String],
) -> std::result::Result<Option<Vec<usize>>, String> {
    if train == test {
        return Ok(None);
    }
    let NameMatch { column_of, extra } = match_names(train, test).map_err(|why| match why {
        NameMismatch::Repeated { name, first, again } => format!(
            "the test data's columns are not in the training data's order, and the training \
             data's column name '{name}' repeats (columns {first} and {again}, 0-based), so \
             they cannot be matched by name"
        ),
        NameMismatch::Ambiguous { name, columns } => format!(
            "column name '{name}' appears {} times in the test data (0-based columns \
             {columns:?}), so the training data's column '{name}' cannot be matched",
            columns.len()
        ),
        NameMismatch::Missing(missing) => format!(
            "the test data lack {} of the training data's {} columns: {}",
            missing.len(),
            train.len(),
            quoted(&missing)
        ),
    })?;
    if !extra.is_empty() {
        return Err(format!(
            "the test data have {} column(s) that the training data lack: {}",
            extra.len(),
            quoted(&extra)
        ));
    }
    Ok(Some(column_of))
}

/// A seeded hold-out: `true` for the training rows, `false` for `round(fraction n)` test rows
/// drawn at random; both parts keep at least one row.
pub fn holdout_rows(n: usize, fraction: f64, seed: u64) -> Result<Vec<bool>> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(Error::invalid("holdout", fraction, "must be in (0, 1)"));
    }
    let test = (fraction * n as f64).round() as usize;
    if test == 0 {
        return Err(Error::invalid(
            "holdout",
            fraction,
            format!("leaves 0 of {n} rows for testing; the test part needs at least one row"),
        ));
    }
    // One training row has no spread to centre or fit: every lambda would be lambda_max's.
    if n - test.min(n) < 2 {
        return Err(Error::invalid(
            "holdout",
            fraction,
            format!(
                "leaves {} of {n} rows for training; a fit needs at least 2",
                n - test.min(n)
            ),
        ));
    }
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = Rng::new(seed);
    for i in (1..n).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let mut train = vec![true; n];
    order[..test].iter().for_each(|&i| train[i] = false);
    Ok(train)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::Dense;
    use crate::model::SparseCoef;

    fn model(intercept: f64, coef: f64) -> Model {
        Model {
            intercept,
            coef: SparseCoef {
                indices: vec![0],
                values: vec![coef],
            },
            n_features: 1,
            feature_names: None,
            lambda: 1.0,
            l1_ratio: 1.0,
            objective: 0.0,
            duality_gap: 0.0,
            gap_tolerance: 0.0,
            tol: 0.0,
            iterations: 0,
            full_passes: 0,
            converged: true,
            device: "cpu".into(),
            solver: "cd".into(),
            seconds: 0.0,
            fit_intercept: true,
            standardize: false,
            n_samples: 4,
            gpu: None,
        }
    }

    #[test]
    fn test_columns_follow_the_names() {
        let names = |s: &str| -> Vec<String> { s.split(',').map(String::from).collect() };
        assert_eq!(test_columns(&names("a,b,c"), &names("a,b,c")), Ok(None));
        // A repeated name in the same order is matched by position.
        assert_eq!(test_columns(&names("a,a"), &names("a,a")), Ok(None));
        assert_eq!(
            test_columns(&names("a,b,c"), &names("c,a,b")),
            Ok(Some(vec![1, 2, 0]))
        );
        let err = test_columns(&names("a,a,b"), &names("b,a,a")).unwrap_err();
        assert!(err.contains("'a' repeats (columns 0 and 1"), "{err}");
        let err = test_columns(&names("a,b"), &names("b,c")).unwrap_err();
        assert!(
            err.contains("lack 1 of the training data's 2 columns: 'a'"),
            "{err}"
        );
        let err = test_columns(&names("a,b"), &names("b,a,z")).unwrap_err();
        assert!(
            err.contains("1 column(s) that the training data lack: 'z'"),
            "{err}"
        );
    }

    #[test]
    fn a_test_curve_follows_its_columns() {
        // Columns swapped: the model's feature 0 (coefficient 2) is the data's column 1.
        let x = Dense::from_row_major(3, 2, &[1.0, 10.0, 2.0, 20.0, 3.0, 30.0]);
        let mut m = model(1.0, 2.0);
        m.n_features = 2;
        let y = [21.0, 41.0, 61.0];
        let c = test_error_curve(&[m], &x, &y, Some(&[1, 0])).unwrap();
        assert_eq!(c.mse, vec![0.0]);
    }

    #[test]
    fn errors_by_hand() {
        let x = Dense::from_row_major(4, 1, &[1.0, 2.0, 3.0, 4.0]);
        let y = [1.0, 2.0, 3.0, 5.0];
        // y = x exactly but for the last row (residual 1): MSE 1/4, SST = 8.75.
        let c = error_curve(&[model(0.0, 1.0)], &x, &y, None).unwrap();
        assert_eq!(c.mse, vec![0.25]);
        assert!((c.r2[0].unwrap() - (1.0 - 1.0 / 8.75)).abs() < 1e-15);
        // On rows 0 and 3 only: SSE 1, MSE 0.5, SST about their mean 3: 8.
        let c = error_curve(
            &[model(0.0, 1.0)],
            &x,
            &y,
            Some(&[true, false, false, true]),
        )
        .unwrap();
        assert_eq!(c.mse, vec![0.5]);
        assert_eq!(c.r2, vec![Some(1.0 - 1.0 / 8.0)]);
        // A constant y: R^2 is undefined, not NaN.
        let c = error_curve(&[model(2.0, 0.0)], &x, &[2.0; 4], None).unwrap();
        assert_eq!((c.mse[0], c.r2[0]), (0.0, None));
    }

    #[test]
    fn holdout_is_seeded_and_sized() {
        let h = holdout_rows(50, 0.2, 3).unwrap();
        assert_eq!(h.iter().filter(|&&t| !t).count(), 10);
        assert_eq!(h, holdout_rows(50, 0.2, 3).unwrap());
        assert_ne!(h, holdout_rows(50, 0.2, 4).unwrap());
        assert!(holdout_rows(50, 0.0, 0).is_err());
        assert!(holdout_rows(50, 1.0, 0).is_err());
        assert!(holdout_rows(3, 0.1, 0).is_err());
        // 119 of 120 rows held out leaves one to train on.
        let one_left = holdout_rows(120, 0.99, 0).unwrap_err().to_string();
        assert!(
            one_left.contains("leaves 1 of 120 rows for training"),
            "{one_left}"
        );
        assert!(holdout_rows(120, 0.98, 0).is_ok());
    }
}
