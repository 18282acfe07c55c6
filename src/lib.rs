//! # lariat
//!
//! Lasso and Elastic-Net regression for very wide matrices (a few hundred to a few thousand
//! rows, up to millions of columns), with an f64 CPU implementation that is both the reference
//! and a fast fallback, and (next) a GPU backend through wgpu.
//!
//! lariat minimises, in the convention of glmnet and scikit-learn,
//!
//! ```text
//! P(w, b) = 1/(2n) ||y - X w - b||^2 + lambda * (l1_ratio ||w||_1 + (1 - l1_ratio)/2 ||w||^2)
//! ```
//!
//! | parameter | default | range | scikit-learn | glmnet |
//! |---|---|---|---|---|
//! | `lambda` | `0.1 lambda_max` | `> 0` | `alpha` | `lambda` |
//! | `l1_ratio` | 1 (Lasso) | [0, 1] | `l1_ratio` | `alpha` |
//! | `tol` | 1e-6 | `> 0` | `tol` (same units: `gap <= tol ||yc||^2 / n`) | (`thresh`, other units) |
//! | `fit_intercept` | true | | `fit_intercept` | `intercept` |
//! | `standardize` | false | | (none) | `standardize` |
//!
//! Convergence is judged by the duality gap ([`problem::Problem::duality_gap`]), never by the
//! iteration count.
//!
//! ```
//! use lariat::design::Dense;
//! use lariat::fit::{fit, FitConfig, LambdaSpec};
//!
//! // y = 2 x0 exactly, plus a useless second column.
//! let x = Dense::from_row_major(4, 2, &[1., 0., 2., 1., 3., 0., 4., 1.]);
//! let y = [2., 4., 6., 8.];
//! let cfg = FitConfig { lambda: LambdaSpec::Value(0.01), ..FitConfig::default() };
//! let out = fit(&x, &y, None, &cfg).unwrap();
//! assert!(out.model.converged);
//! assert_eq!(out.model.coef.indices, vec![0]);
//! assert!((out.model.coef.values[0] - 2.0).abs() < 0.02);
//! ```
//!
//! The pipeline, module by module: [`data`] (files to a [`design::Design`]) ->
//! [`problem`] (centring, scaling, objective, duality gap) -> [`solver`] (backends) ->
//! [`path`] (lambda grids, warm starts; `fit` is a path of length one) -> [`model`] /
//! [`output`] (atomic writes) and [`outputs`] (a run's outputs, all or nothing, never over an
//! input).

pub mod bench;
pub mod cleanup;
pub mod cv;
pub mod data;
pub mod design;
pub mod engine;
pub mod error;
pub mod evaluate;
pub mod fit;
pub mod interrupt;
pub mod lesson;
pub mod model;
pub mod output;
pub mod outputs;
pub mod params;
pub mod path;
pub mod penalty;
pub mod plot;
pub mod predict;
pub mod problem;
pub mod range;
pub mod solver;
pub mod synth;

pub use error::{Error, Result};
