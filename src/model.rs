//! A fitted model on the original scale of the data, as written to and read from JSON.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::design::Design;
use crate::error::{Error, Result};

/// The non-zero coefficients: `coef[indices[k]] = values[k]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SparseCoef {
    pub indices: Vec<usize>,
    pub values: Vec<f64>,
}

impl SparseCoef {
    pub fn from_dense(coef: &[f64]) -> Self {
        let mut s = SparseCoef::default();
        for (j, &c) in coef.iter().enumerate() {
            if c != 0.0 {
                s.indices.push(j);
                s.values.push(c);
            }
        }
        s
    }

    pub fn to_dense(&self, p: usize) -> Vec<f64> {
        let mut w = vec![0.0; p];
        for (&j, &v) in self.indices.iter().zip(&self.values) {
            w[j] = v;
        }
        w
    }
}

/// A fitted Elastic-Net model. Field names are part of lariat's interface.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub intercept: f64,
    pub coef: SparseCoef,
    pub n_features: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_names: Option<Vec<String>>,
    pub lambda: f64,
    pub l1_ratio: f64,
    /// `P(w)` of the problem that was minimised (centred, and scaled when standardizing).
    pub objective: f64,
    /// Duality gap reached, in objective units.
    pub duality_gap: f64,
    /// The absolute gap that was asked for: `tol * ||yc||^2 / n`.
    #[serde(default)]
    pub gap_tolerance: f64,
    #[serde(default)]
    pub tol: f64,
    pub iterations: usize,
    /// Full passes `X^T r` over all columns (the cost that matters on wide data; a pass that
    /// Gap Safe narrowed still counts as one).
    #[serde(default)]
    pub full_passes: usize,
    pub converged: bool,
    pub device: String,
    pub solver: String,
    /// Solver time (not counting data loading).
    pub seconds: f64,
    #[serde(default)]
    pub fit_intercept: bool,
    #[serde(default)]
    pub standardize: bool,
    #[serde(default)]
    pub n_samples: usize,
    /// What the solve asked of the GPU: round trips, allocations, rounds (GPU fits only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<crate::solver::DeviceWork>,
}

/// Which fit of a regularization path to use.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FitChoice {
    /// The fit at this 0-based position of the grid.
    Index(usize),
    /// The fit at this lambda (the grid's own value, to 1e-9 relative).
    Lambda(f64),
}

impl std::fmt::Display for FitChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FitChoice::Index(k) => write!(f, "--fit {k}"),
            FitChoice::Lambda(l) => write!(f, "--lambda {l:e}"),
        }
    }
}

/// `X weights + intercept`, refused where it is not finite: every prediction of a model, its
/// coefficients laid out on X's columns.
pub fn predictions(x: &dyn Design, weights: &[f64], intercept: f64) -> Result<Vec<f64>> {
    let mut out = vec![0.0; x.n_rows()];
    x.matvec(weights, &mut out);
    out.iter_mut().for_each(|v| *v += intercept);
    crate::range::check_predictions(&out)?;
    Ok(out)
}

impl Model {
    /// Predictions `X coef + intercept`.
    pub fn predict(&self, x: &dyn Design) -> Result<Vec<f64>> {
        if x.n_cols() != self.n_features {
            return Err(Error::ModelMismatch {
                model: self.n_features,
                data: x.n_cols(),
            });
        }
        predictions(x, &self.coef.to_dense(self.n_features), self.intercept)
    }

    /// Reads and checks a model file.
    pub fn read(path: &Path) -> Result<Model> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Model::from_json(&text, path)
    }

    /// Reads one fit of a path file (`lariat path --out`), chosen by `choice`.
    pub fn read_from_path(path: &Path, choice: FitChoice) -> Result<Model> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Model::from_path_json(&text, path, choice)
    }

    /// [`Model::read_from_path`] from JSON text; `path` only names it in messages.
    pub fn from_path_json(text: &str, path: &Path, choice: FitChoice) -> Result<Model> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let whole = |msg: String| Error::Format {
            path: path.to_path_buf(),
            msg,
        };
        #[derive(Deserialize)]
        struct PathFile {
            lambdas: Vec<f64>,
            fits: Vec<serde_json::Value>,
        }
        let file: PathFile = serde_json::from_str(text).map_err(|_| {
            let several = serde_json::from_str::<serde_json::Value>(text)
                .is_ok_and(|v| v.get("paths").is_some() && v.get("responses").is_some());
            whole(match several {
                true => format!(
                    "{choice} chooses a fit of one response's path; this file holds several: \
                     take one with jq '.paths[K]' {} > path.json",
                    path.display()
                ),
                false => format!(
                    "{choice} chooses a fit of a path (`lariat path --out` of one response, \
                     with lambdas and fits); this file is not one"
                ),
            })
        })?;
        check_path_file(&file.lambdas, &file.fits)
            .map_err(|msg| whole(format!("a damaged path: {msg}")))?;
        let k = match choice {
            FitChoice::Index(k) if k < file.fits.len() => k,
            FitChoice::Index(k) => {
                return Err(whole(format!(
                    "--fit {k}: the path has {} fits (0 to {})",
                    file.fits.len(),
                    file.fits.len().saturating_sub(1)
                )))
            }
            FitChoice::Lambda(lambda) => {
                let near = |k: &usize| (file.lambdas[*k] / lambda).ln().abs();
                let nearest = (0..file.lambdas.len()).min_by(|a, b| near(a).total_cmp(&near(b)));
                match nearest {
                    Some(k) if near(&k) <= 1e-9 => k,
                    Some(k) => {
                        return Err(whole(format!(
                            "--lambda {lambda:e}: the path has no fit there; the nearest is \
                             fit {k} at lambda {:e} (the grid runs from {:e} to {:e}); refit \
                             with `lariat fit --lambda {lambda:e}` for that lambda",
                            file.lambdas[k],
                            file.lambdas[0],
                            file.lambdas[file.lambdas.len() - 1],
                        )))
                    }
                    None => return Err(whole("the path has no fits".into())),
                }
            }
        };
        let model: Model = serde_json::from_value(file.fits[k].clone())
            .map_err(|e| whole(format!("fit {k} is not a lariat model: {e}")))?;
        model
            .validate()
            .map_err(|msg| whole(format!("fit {k}: not a usable model: {msg}")))?;
        Ok(model)
    }

    /// Parses and checks a model from JSON text; `path` only names it in messages.
    pub fn from_json(text: &str, path: &Path) -> Result<Model> {
        // A byte-order mark (Notepad's UTF-8) is not JSON, but the text inputs accept it.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // `lariat cv --out` holds the chosen model beside the curve.
        #[derive(Deserialize)]
        struct CvFile {
            model: Model,
            #[allow(dead_code)]
            cvm: Vec<f64>,
        }
        let model: Model = match serde_json::from_str::<CvFile>(text) {
            Ok(cv) => cv.model,
            Err(_) => serde_json::from_str(text).map_err(|e| explain(text, path, e))?,
        };
        model.validate().map_err(|msg| Error::Format {
            path: path.to_path_buf(),
            msg: format!("not a usable model: {msg}"),
        })?;
        Ok(model)
    }

    /// Checks what serde cannot: that the coefficients, the feature count and the names agree.
    /// A model that fails this would predict wrong numbers, or index out of range.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let SparseCoef { indices, values } = &self.coef;
        if indices.len() != values.len() {
            return Err(format!(
                "coef has {} indices but {} values",
                indices.len(),
                values.len()
            ));
        }
        if let Some((k, &j)) = indices
            .iter()
            .enumerate()
            .find(|(_, &j)| j >= self.n_features)
        {
            return Err(format!(
                "coef.indices[{k}] = {j} is out of range for n_features = {}",
                self.n_features
            ));
        }
        let mut order: Vec<usize> = (0..indices.len()).collect();
        order.sort_unstable_by_key(|&k| (indices[k], k));
        if let Some(w) = order.windows(2).find(|w| indices[w[0]] == indices[w[1]]) {
            return Err(format!(
                "feature {} appears twice in coef.indices (positions {} and {}); each \
                 feature has one coefficient",
                indices[w[0]], w[0], w[1]
            ));
        }
        if let Some(names) = &self.feature_names {
            if names.len() != self.n_features {
                return Err(format!(
                    "feature_names has {} names but n_features is {}",
                    names.len(),
                    self.n_features
                ));
            }
        }
        if !self.intercept.is_finite() || values.iter().any(|v| !v.is_finite()) {
            return Err("the model has non-finite coefficients".into());
        }
        Ok(())
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a model always serialises")
    }
}

/// What a path file must hold for its grid to name its fits: one positive lambda per fit,
/// each the fit's own.
fn check_path_file(lambdas: &[f64], fits: &[serde_json::Value]) -> std::result::Result<(), String> {
    if fits.is_empty() || lambdas.len() != fits.len() {
        return Err(format!("{} lambdas for {} fits", lambdas.len(), fits.len()));
    }
    for (k, (&lambda, fit)) in lambdas.iter().zip(fits).enumerate() {
        let own = fit.get("lambda").and_then(serde_json::Value::as_f64);
        let same = own.is_some_and(|l| (l - lambda).abs() <= 1e-12 * lambda.abs());
        if !(lambda.is_finite() && lambda > 0.0 && same) {
            return Err(format!(
                "lambdas[{k}] = {lambda:e}, but fit {k} has lambda {}",
                own.map_or("none".to_string(), |l| format!("{l:e}"))
            ));
        }
    }
    Ok(())
}

/// Turns serde's error into one about the user's file: a syntax error keeps its line and
/// column; a JSON that is a lariat path, or not an object, says so; a missing field is named
/// without the line of the object's end, which pointed nowhere useful (issue 9: "line 680").
fn explain(text: &str, path: &Path, e: serde_json::Error) -> Error {
    use serde_json::error::Category;
    // serde_json appends " at line L column C", which the error's own place already says; for
    // a missing field that place is the end of its object, where nothing is wrong.
    let full = e.to_string();
    let what = full.find(" at line ").map_or(full.as_str(), |k| &full[..k]);
    let at = |msg: String| Error::Parse {
        path: path.to_path_buf(),
        line: e.line(),
        col: e.column(),
        msg,
    };
    let whole = |msg: String| Error::Format {
        path: path.to_path_buf(),
        msg,
    };
    if !matches!(e.classify(), Category::Data) {
        return at(format!("not valid JSON: {what}"));
    }
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => return at(format!("not a lariat model: {what}")),
    };
    let Some(obj) = value.as_object() else {
        return whole(format!(
            "not a lariat model: the file holds a JSON {}, not an object with intercept, \
             coef and n_features",
            match value {
                serde_json::Value::Null => "null",
                serde_json::Value::Bool(_) => "boolean",
                serde_json::Value::Number(_) => "number",
                serde_json::Value::String(_) => "string",
                serde_json::Value::Array(_) => "array",
                serde_json::Value::Object(_) => "object",
            }
        ));
    };
    if let (Some(fits), true) = (obj.get("fits"), obj.contains_key("lambdas")) {
        let n = fits.as_array().map_or(0, Vec::len);
        return whole(format!(
            "this is a regularization path (written by `lariat path --out`, {n} fits), not a \
             model; choose one of its fits with --lambda L (a lambda of its grid) or --fit K \
             (0-based)",
        ));
    }
    if obj.contains_key("cvm") && !obj.contains_key("model") {
        return whole(
            "a lariat cv file without its `model` (the refit that predict uses): it was cut, \
             or written by hand"
                .into(),
        );
    }
    if let Some(names) = obj.get("responses").and_then(|r| r.as_array()) {
        // A response's model in each layout (one fit of a path).
        let pick = [("models", "[K]"), ("paths", "[K].fits[J]"), ("cvs", "[K]")]
            .into_iter()
            .find(|(k, _)| obj.contains_key(*k))
            .map_or("models[K]".to_string(), |(k, sel)| format!("{k}{sel}"));
        return whole(format!(
            "this file holds the results of {} responses (`--y` with several columns), not one \
             model; predict takes one: jq '.{pick}' {} > model.json",
            names.len(),
            path.display()
        ));
    }
    if what.starts_with("missing field") {
        whole(format!("not a lariat model: {what}"))
    } else {
        at(format!("not a lariat model: {what}"))
    }
}
