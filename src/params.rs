//! Solver parameters, validated once at the boundary: `SolverParams::check` gives
//! [`ValidParams`], and only `ValidParams` reaches a solver.

use crate::error::{Error, Result};
use crate::penalty::ElasticNet;
pub use crate::solver::screening::Screening;

/// CPU algorithm choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Algorithm {
    /// Coordinate descent on the CPU (the fastest CPU path).
    #[default]
    Auto,
    /// Cyclic coordinate descent with residual updates and active-set sweeps (glmnet, sklearn).
    Cd,
    /// FISTA with adaptive restart, Jacobi-preconditioned: the reference of the GPU backend's
    /// iteration.
    Fista,
    /// Plain subgradient descent (`sgn(0) = 0`, step `1/(L sqrt(t+1))`): a teaching baseline
    /// that never gives exact zeros; CPU only.
    Subgradient,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Auto => "auto",
            Algorithm::Cd => "cd",
            Algorithm::Fista => "fista",
            Algorithm::Subgradient => "subgradient",
        }
    }
}

impl std::str::FromStr for Algorithm {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "auto" => Ok(Algorithm::Auto),
            "cd" => Ok(Algorithm::Cd),
            "fista" => Ok(Algorithm::Fista),
            "subgradient" => Ok(Algorithm::Subgradient),
            _ => Err(format!(
                "unknown solver '{s}' (expected auto, cd, fista or subgradient)"
            )),
        }
    }
}

/// Default relative duality-gap tolerance (scikit-learn's units: `gap <= tol ||yc||^2 / n`).
pub const DEFAULT_TOL: f64 = 1e-6;
/// Default iteration caps: coordinate-descent sweeps, FISTA gradient steps.
pub const DEFAULT_MAX_ITER_CD: usize = 100_000;
pub const DEFAULT_MAX_ITER_FISTA: usize = 100_000;

/// Unchecked solver parameters, as a caller states them.
#[derive(Clone, Copy, Debug)]
pub struct SolverParams {
    pub tol: f64,
    /// `None`: the algorithm's default cap.
    pub max_iter: Option<usize>,
    pub algorithm: Algorithm,
    /// Screening rules of the CPU coordinate descent (all on by default).
    pub screening: Screening,
    /// Anderson extrapolation of coordinate descent (on by default; off for ablations).
    pub extrapolation: bool,
}

impl Default for SolverParams {
    fn default() -> Self {
        SolverParams {
            tol: DEFAULT_TOL,
            max_iter: None,
            algorithm: Algorithm::Auto,
            screening: Screening::default(),
            extrapolation: true,
        }
    }
}

/// Parameters that have passed [`SolverParams::check`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ValidParams {
    pub tol: f64,
    pub max_iter: usize,
    /// Never `Auto`.
    pub algorithm: Algorithm,
    pub screening: Screening,
    pub extrapolation: bool,
}

impl SolverParams {
    pub fn check(&self) -> Result<ValidParams> {
        if !(self.tol.is_finite() && self.tol > 0.0) {
            return Err(Error::invalid("tol", self.tol, "must be a positive number"));
        }
        if self.max_iter == Some(0) {
            return Err(Error::invalid("max-iter", 0, "must be at least 1"));
        }
        let algorithm = match self.algorithm {
            Algorithm::Auto => Algorithm::Cd,
            a => a,
        };
        let max_iter = self.max_iter.unwrap_or(match algorithm {
            Algorithm::Fista | Algorithm::Subgradient => DEFAULT_MAX_ITER_FISTA,
            _ => DEFAULT_MAX_ITER_CD,
        });
        Ok(ValidParams {
            tol: self.tol,
            max_iter,
            algorithm,
            screening: self.screening,
            extrapolation: self.extrapolation,
        })
    }
}

/// Checks `l1_ratio` in [0, 1].
pub fn check_l1_ratio(l1_ratio: f64) -> Result<f64> {
    if !(0.0..=1.0).contains(&l1_ratio) {
        return Err(Error::invalid("l1-ratio", l1_ratio, "must be in [0, 1]"));
    }
    Ok(l1_ratio)
}

/// Checks a penalty: `lambda > 0` and finite, `l1_ratio` in [0, 1].
///
/// `lambda = 0` is refused: that is unpenalised least squares, whose solution is not unique on
/// wide data and whose optimality the Elastic-Net duality gap cannot certify.
pub fn check_penalty(pen: ElasticNet) -> Result<ElasticNet> {
    check_l1_ratio(pen.l1_ratio)?;
    if !(pen.lambda.is_finite() && pen.lambda > 0.0) {
        return Err(Error::invalid(
            "lambda",
            pen.lambda,
            "must be a finite number > 0",
        ));
    }
    Ok(pen)
}
