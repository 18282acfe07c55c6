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
        let mut out = vec![0.0; x.n_rows()];
        x.matvec(&self.coef.to_dense(self.n_features), &mut out);
        out.iter_mut().for_each(|v| *v += self.intercept);
        Ok(out)
    }

    /// Reads and checks a model file.
    pub fn read(path: &Path) -> Result<Model> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        // `lariat cv --out` holds the chosen model beside the curve.
        #[derive(Deserialize)]
        struct CvFile {
            model: Model,
            #[allow(dead_code)]
            cvm: Vec<f64>,
        }
        if let Ok(cv) = serde_json::from_str::<CvFile>(&text) {
            cv.model.check(path)?;
            return Ok(cv.model);
        }
        let model: Model = serde_json::from_str(&text).map_err(|e| Error::Parse {
            path: path.to_path_buf(),
            line: e.line(),
            col: e.column(),
            msg: format!("not a lariat model: {e}"),
        })?;
        model.check(path)?;
        Ok(model)
    }

    fn check(&self, path: &Path) -> Result<()> {
        let bad = |msg: String| Error::Format {
            path: path.to_path_buf(),
            msg,
        };
        if self.coef.indices.len() != self.coef.values.len() {
            return Err(bad(format!(
                "coef has {} indices but {} values",
                self.coef.indices.len(),
                self.coef.values.len()
            )));
        }
        if let Some(&j) = self.coef.indices.iter().find(|&&j| j >= self.n_features) {
            return Err(bad(format!(
                "coef index {j} is out of range for n_features = {}",
                self.n_features
            )));
        }
        if !self.intercept.is_finite() || self.coef.values.iter().any(|v| !v.is_finite()) {
            return Err(bad("the model has non-finite coefficients".into()));
        }
        Ok(())
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a model always serialises")
    }
}
