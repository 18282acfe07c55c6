//! Applying a fitted model to new data: which column of the data is which feature of the model.
//!
//! By name when both sides have names (the model's `feature_names`, the CSV header): the data's
//! columns may come in any order; a feature the data lacks is an error, and so is a column the
//! model does not know unless the caller allows extra columns. By position otherwise: the data
//! must have the model's number of columns, except a LIBSVM file, whose width is only implied by
//! its largest index and may lack trailing all-zero features.
//!
//! Predicting by position a CSV whose columns were reordered gave wrong numbers with exit 0
//! (issue 9); matching by name is what makes that impossible.

use std::collections::HashMap;

use crate::data::{Dataset, Notice};
use crate::error::{Error, Result};
use crate::model::Model;

/// How to match the data's columns to the model's features.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MatchOptions {
    /// Ignore data columns the model does not know (by-name matching only).
    pub allow_extra_columns: bool,
    /// Match by position even when both sides have names.
    pub by_position: bool,
}

/// The model's coefficients laid out on the data's columns.
#[derive(Clone, Debug, PartialEq)]
pub struct Alignment {
    /// `weights[d]`: the coefficient of data column `d` (0 for a column the model ignores).
    pub weights: Vec<f64>,
    pub by_name: bool,
    /// What the user should hear about the matching (reordered or ignored columns).
    pub notices: Vec<Notice>,
}

/// Predictions `X coef + intercept`, the data's columns matched to the model's features.
pub fn predict(model: &Model, ds: &Dataset, opts: MatchOptions) -> Result<(Vec<f64>, Alignment)> {
    let al = align(model, ds, opts)?;
    let out = crate::model::predictions(ds.x.as_ref(), &al.weights, model.intercept)?;
    Ok((out, al))
}

/// Works out which data column each model feature is, and lays the coefficients out on them.
pub fn align(model: &Model, ds: &Dataset, opts: MatchOptions) -> Result<Alignment> {
    // Model::read has checked this already; a model built in code has not.
    model.validate().map_err(|msg| Error::Shape {
        what: format!("the model is not usable: {msg}"),
    })?;
    match (&model.feature_names, &ds.feature_names) {
        (Some(m), Some(d)) if !opts.by_position => by_name(model, m, d, ds, opts),
        _ => by_position(model, ds),
    }
}

fn mismatch(ds: &Dataset, msg: String) -> Error {
    Error::Format {
        path: ds.source.clone(),
        msg,
    }
}

fn by_name(
    model: &Model,
    model_names: &[String],
    data_names: &[String],
    ds: &Dataset,
    opts: MatchOptions,
) -> Result<Alignment> {
    // Model::read checks that the names are as many as the features.
    let NameMatch { column_of, extra } = match_names(model_names, data_names).map_err(|why| {
        mismatch(
            ds,
            match why {
                NameMismatch::Repeated { name, first, again } => format!(
                    "the model's feature name '{name}' repeats (features {first} and \
                         {again}, 0-based), so columns cannot be matched by name; pass \
                         --by-position to match them by position"
                ),
                NameMismatch::Ambiguous { name, columns } => format!(
                    "column name '{name}' appears {} times (0-based columns {columns:?}), \
                         so the model's feature '{name}' cannot be matched",
                    columns.len()
                ),
                NameMismatch::Missing(missing) => format!(
                    "the data lacks {} of the model's {} features: {}",
                    missing.len(),
                    model_names.len(),
                    quoted(&missing)
                ),
            },
        )
    })?;
    let mut notices = Vec::new();
    if !extra.is_empty() {
        if !opts.allow_extra_columns {
            return Err(mismatch(
                ds,
                format!(
                    "the data has {} column(s) that the model does not know: {} (pass \
                     --allow-extra-columns to ignore them)",
                    extra.len(),
                    quoted(&extra)
                ),
            ));
        }
        notices.push(Notice {
            warning: false,
            text: format!(
                "{}: {} column(s) not in the model are ignored: {}",
                ds.source.display(),
                extra.len(),
                quoted(&extra)
            ),
        });
    }
    if column_of.iter().enumerate().any(|(j, &d)| d != j) && extra.is_empty() {
        notices.push(Notice {
            warning: false,
            text: format!(
                "{}: columns matched to the model's features by name (their order differs)",
                ds.source.display()
            ),
        });
    }
    let mut weights = vec![0.0; data_names.len()];
    for (&j, &v) in model.coef.indices.iter().zip(&model.coef.values) {
        weights[column_of[j]] = v;
    }
    Ok(Alignment {
        weights,
        by_name: true,
        notices,
    })
}

fn by_position(model: &Model, ds: &Dataset) -> Result<Alignment> {
    let p = ds.x.n_cols();
    let fits = p == model.n_features || (ds.implied_width && p < model.n_features);
    if !fits {
        let why = if ds.implied_width {
            " (a LIBSVM file's columns are implied by its largest feature index)"
        } else {
            ""
        };
        return Err(mismatch(
            ds,
            format!(
                "the model has {} features but the data has {p} columns{why}",
                model.n_features
            ),
        ));
    }
    let mut weights = vec![0.0; p];
    for (&j, &v) in model.coef.indices.iter().zip(&model.coef.values) {
        // A feature past the data's last column is all zeros there (LIBSVM's trailing
        // features): it adds nothing.
        if j < p {
            weights[j] = v;
        }
    }
    let mut notices = Vec::new();
    let side = match (&model.feature_names, &ds.feature_names) {
        (Some(_), None) => Some("the data has no column names"),
        (None, Some(_)) => Some("the model has no feature names"),
        (Some(_), Some(_)) => Some("--by-position"),
        (None, None) => None,
    };
    if let Some(why) = side {
        notices.push(Notice {
            warning: false,
            text: format!(
                "{}: columns matched to the model's features by position ({why})",
                ds.source.display()
            ),
        });
    }
    Ok(Alignment {
        weights,
        by_name: false,
        notices,
    })
}

/// Where each wanted name stands among the columns `have`, and the columns' names that are
/// not wanted ([`match_names`]).
pub(crate) struct NameMatch<'a> {
    /// `column_of[j]`: the column holding wanted name `j`.
    pub column_of: Vec<usize>,
    pub extra: Vec<&'a str>,
}

/// Why names could not be matched; each caller words it for its own two sides.
#[derive(Debug, PartialEq)]
pub(crate) enum NameMismatch<'a> {
    /// A wanted name repeats (its first two 0-based positions).
    Repeated {
        name: &'a str,
        first: usize,
        again: usize,
    },
    /// A wanted name is the name of several columns.
    Ambiguous { name: &'a str, columns: Vec<usize> },
    /// The wanted names no column has, in order.
    Missing(Vec<&'a str>),
}

/// Matches the names `wanted` (a model's features, a training file's columns) to the columns
/// `have` by name, in any order: each wanted name once, on exactly one column. The one matcher
/// of `predict` and of `path --test-x`.
pub(crate) fn match_names<'a>(
    wanted: &'a [String],
    have: &'a [String],
) -> std::result::Result<NameMatch<'a>, NameMismatch<'a>> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (j, name) in wanted.iter().enumerate() {
        if let Some(first) = seen.insert(name, j) {
            return Err(NameMismatch::Repeated {
                name,
                first,
                again: j,
            });
        }
    }
    let mut columns: HashMap<&str, Vec<usize>> = HashMap::new();
    for (d, name) in have.iter().enumerate() {
        columns.entry(name).or_default().push(d);
    }
    let mut column_of = Vec::with_capacity(wanted.len());
    let mut missing = Vec::new();
    for name in wanted {
        match columns.get(name.as_str()).map(Vec::as_slice) {
            None => missing.push(name.as_str()),
            Some([d]) => column_of.push(*d),
            Some(cols) => {
                return Err(NameMismatch::Ambiguous {
                    name,
                    columns: cols.to_vec(),
                })
            }
        }
    }
    if !missing.is_empty() {
        return Err(NameMismatch::Missing(missing));
    }
    let extra = have
        .iter()
        .map(String::as_str)
        .filter(|n| !seen.contains_key(n))
        .collect();
    Ok(NameMatch { column_of, extra })
}

/// The first few names, quoted, and how many there are in all.
pub(crate) fn quoted(names: &[&str]) -> String {
    const SHOWN: usize = 8;
    let q: Vec<String> = names.iter().take(SHOWN).map(|s| format!("'{s}'")).collect();
    if names.len() > SHOWN {
        format!("{}, ... ({} in all)", q.join(", "), names.len())
    } else {
        q.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &str) -> Vec<String> {
        s.split(',').map(String::from).collect()
    }

    #[test]
    fn names_match_in_any_order_and_each_mismatch_is_named() {
        let (wanted, have) = (names("a,b,c"), names("c,x,a,b"));
        let m = match_names(&wanted, &have).unwrap();
        assert_eq!(m.column_of, vec![2, 3, 0]);
        assert_eq!(m.extra, vec!["x"]);
        // A repeated wanted name is reported before any column it might be ambiguous on.
        let (wanted, have) = (names("b,a,b"), names("a,a,b"));
        assert_eq!(
            match_names(&wanted, &have).err(),
            Some(NameMismatch::Repeated {
                name: "b",
                first: 0,
                again: 2
            })
        );
        let (wanted, have) = (names("b,a"), names("a,b,a"));
        assert_eq!(
            match_names(&wanted, &have).err(),
            Some(NameMismatch::Ambiguous {
                name: "a",
                columns: vec![0, 2]
            })
        );
        let (wanted, have) = (names("a,b,c,d"), names("c,a"));
        assert_eq!(
            match_names(&wanted, &have).err(),
            Some(NameMismatch::Missing(vec!["b", "d"]))
        );
    }
}
