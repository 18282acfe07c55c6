//! `lariat._lariat`: the compiled half of lariat's Python package. Two calls, `fit_path` and
//! `cross_validate`, over lariat's own `fit_paths_in` and `cross_validate_in`; the estimator
//! classes (scikit-learn's API, its parameter names and units) are the Python layer's
//! (`python/lariat/`). Here: the input without copies ([`view::NumpyView`]), the options
//! checked into lariat's [`FitConfig`] once, the GIL released and Ctrl-C honoured
//! ([`run::run_released`]), one engine per device for the process ([`engines`]), and every
//! lariat error raised as a Python exception with lariat's message.

mod engines;
mod pool;
mod run;
mod sparse;
mod view;

use lariat::cv::{cross_validate_in, CvOutcome, Folds};
use lariat::design::{Csc, Design};
use lariat::fit::{fit_paths_from, fit_paths_in, FitConfig, GridRule, LambdaGrid, PathOutcome};
use lariat::params::{Algorithm, Screening, SolverParams};
use lariat::problem::Preprocess;
use lariat::solver::BackendKind;
use numpy::{IntoPyArray, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::view::NumpyView;

/// The options of a fit as the Python layer passes them (a dict, every key present), in
/// lariat's units (`lambda` is scikit-learn's `alpha`, `tol` is scikit-learn's `tol`).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct Options {
    l1_ratio: f64,
    fit_intercept: bool,
    standardize: bool,
    tol: f64,
    max_iter: i64,
    device: String,
    adapter: Option<String>,
    strong_rule: bool,
    gap_safe: bool,
    working_sets: String,
    extrapolation: bool,
}

impl Options {
    /// lariat's configuration; the values lariat checks itself (tol, l1_ratio) are left to
    /// it, so the message is lariat's.
    fn config(&self) -> PyResult<FitConfig> {
        let device: BackendKind = self.device.parse().map_err(PyValueError::new_err)?;
        let working_sets = self.working_sets.parse().map_err(PyValueError::new_err)?;
        if self.max_iter < 1 {
            return Err(PyValueError::new_err(format!(
                "invalid max_iter = {}: must be at least 1",
                self.max_iter
            )));
        }
        Ok(FitConfig {
            preprocess: Preprocess {
                fit_intercept: self.fit_intercept,
                standardize: self.standardize,
            },
            l1_ratio: self.l1_ratio,
            solver: SolverParams {
                tol: self.tol,
                max_iter: Some(self.max_iter as usize),
                algorithm: Algorithm::Auto,
                screening: Screening {
                    strong_rule: self.strong_rule,
                    gap_safe: self.gap_safe,
                    working_sets,
                },
                extrapolation: self.extrapolation,
            },
            device,
            adapter: self.adapter.clone(),
            ..FitConfig::default()
        })
    }
}

/// X as given: a numpy array read in place, or scipy's CSC arrays (copied into lariat's CSC).
enum Input<'py> {
    F64(PyReadonlyArray2<'py, f64>),
    F32(PyReadonlyArray2<'py, f32>),
    Sparse(Csc),
}

impl<'py> Input<'py> {
    fn extract(x: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(a) = x.extract::<PyReadonlyArray2<f64>>() {
            return Ok(Input::F64(a));
        }
        if let Ok(a) = x.extract::<PyReadonlyArray2<f32>>() {
            return Ok(Input::F32(a));
        }
        if let Ok(t) = x.cast::<PyTuple>() {
            return Self::sparse(t);
        }
        let what = match x.getattr("dtype") {
            Ok(d) => format!("an array of dtype {d} with {} dimensions", ndim(x)),
            Err(_) => format!("a {}", x.get_type().name()?),
        };
        Err(PyTypeError::new_err(format!(
            "X must be a 2-D numpy array of float32 or float64 (or scipy.sparse), not {what}"
        )))
    }

    /// `(n, p, indptr, indices, data)` of a canonical CSC matrix.
    fn sparse(t: &Bound<'py, PyTuple>) -> PyResult<Self> {
        type Parts<'a> = (
            usize,
            usize,
            PyReadonlyArray1<'a, i64>,
            PyReadonlyArray1<'a, i64>,
            PyReadonlyArray1<'a, f64>,
        );
        let (n, p, indptr, indices, data): Parts = t.extract()?;
        let csc = sparse::csc_from_parts(
            n,
            p,
            indptr.as_slice()?,
            indices.as_slice()?,
            data.as_slice()?.to_vec(),
        )
        .map_err(PyValueError::new_err)?;
        Ok(Input::Sparse(csc))
    }

    /// Runs `f` on X as a [`Design`], after refusing NaN and infinity.
    fn with_design<T>(&self, f: impl FnOnce(&dyn Design) -> PyResult<T>) -> PyResult<T> {
        match self {
            Input::F64(a) => checked(NumpyView::new(a.as_array()), f),
            Input::F32(a) => checked(NumpyView::new(a.as_array()), f),
            Input::Sparse(c) => f(c),
        }
    }
}

fn ndim(x: &Bound<'_, PyAny>) -> String {
    x.getattr("ndim")
        .and_then(|d| d.extract::<usize>())
        .map_or("?".into(), |d| d.to_string())
}

fn checked<E: lariat::design::Element, T>(
    view: NumpyView<'_, E>,
    f: impl FnOnce(&dyn Design) -> PyResult<T>,
) -> PyResult<T> {
    if let Some((i, j, v)) = pool::install(|| view.first_non_finite()) {
        return Err(PyValueError::new_err(format!(
            "X has a non-finite value ({v}) at row {i}, column {j}"
        )));
    }
    f(&view)
}

/// The responses, one row each (`k x n`, C order), checked against X.
fn responses<'a>(y: &'a PyReadonlyArray2<'_, f64>, n: usize) -> PyResult<Vec<&'a [f64]>> {
    let shape = y.shape();
    if shape[1] != n {
        return Err(PyValueError::new_err(format!(
            "shape mismatch: y has {} rows but X has {n}",
            shape[1]
        )));
    }
    let all = y
        .as_slice()
        .map_err(|_| PyValueError::new_err("y must be C-contiguous (one response per row) here"))?;
    if let Some(k) = all.iter().position(|v| !v.is_finite()) {
        return Err(PyValueError::new_err(format!(
            "y has a non-finite value ({}) at row {}",
            all[k],
            k % n.max(1)
        )));
    }
    Ok(all.chunks(n.max(1)).take(shape[0]).collect())
}

fn grid(lambdas: Option<Vec<f64>>, n_lambdas: usize, min_ratio: Option<f64>) -> LambdaGrid {
    match lambdas {
        Some(l) => LambdaGrid::Explicit(l),
        // scikit-learn's grid where alpha_max is 0: n_alphas copies of its float resolution.
        None => LambdaGrid::Geometric {
            n_lambdas,
            min_ratio,
            rule: GridRule::ScikitLearn,
        },
    }
}

/// A lariat error as the Python exception a user expects: bad values and shapes are
/// `ValueError`, a stop request is `KeyboardInterrupt`, the machine (GPU) `RuntimeError`.
fn to_py(e: lariat::Error) -> PyErr {
    match e {
        lariat::Error::Interrupted => PyKeyboardInterrupt::new_err("lariat: fit interrupted"),
        lariat::Error::Gpu(_) | lariat::Error::Io { .. } => PyRuntimeError::new_err(e.to_string()),
        lariat::Error::InvalidParam {
            name,
            value,
            expected,
        } => PyValueError::new_err(format!(
            "invalid {} = {value}: {expected}",
            python_name(name)
        )),
        _ => PyValueError::new_err(e.to_string()),
    }
}

/// A parameter as the Python user wrote it: lariat's errors name the command line's flags.
fn python_name(lariat_name: &str) -> String {
    let python = match lariat_name {
        "lambda" => "alpha",
        "lambda-min-ratio" => "eps",
        "n-lambdas" => "n_alphas",
        "lambdas" => "alphas",
        "folds" => "cv",
        other => return other.replace('-', "_"),
    };
    format!("{python} (lariat's {lariat_name})")
}

/// The models of a path as arrays: what the Python layer turns into `coef_`, `alphas_`, ...
fn path_dict<'py>(py: Python<'py>, path: &PathOutcome) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let m = &path.models;
    let col = |f: &dyn Fn(&lariat::model::Model) -> f64| m.iter().map(f).collect::<Vec<f64>>();
    d.set_item("lambdas", path.lambdas.clone().into_pyarray(py))?;
    d.set_item("intercept", col(&|m| m.intercept).into_pyarray(py))?;
    d.set_item("objective", col(&|m| m.objective).into_pyarray(py))?;
    d.set_item("gap", col(&|m| m.duality_gap).into_pyarray(py))?;
    d.set_item("gap_tol", col(&|m| m.gap_tolerance).into_pyarray(py))?;
    let n_iter: Vec<i64> = m.iter().map(|m| m.iterations as i64).collect();
    d.set_item("n_iter", n_iter.into_pyarray(py))?;
    let converged: Vec<bool> = m.iter().map(|m| m.converged).collect();
    d.set_item("converged", converged.into_pyarray(py))?;
    let indices: Vec<_> = m
        .iter()
        .map(|m| {
            let v: Vec<i64> = m.coef.indices.iter().map(|&j| j as i64).collect();
            v.into_pyarray(py)
        })
        .collect();
    let values: Vec<_> = m
        .iter()
        .map(|m| m.coef.values.clone().into_pyarray(py))
        .collect();
    d.set_item("indices", indices)?;
    d.set_item("values", values)?;
    d.set_item("lambda_max", path.lambda_max)?;
    d.set_item("backend", &path.backend)?;
    d.set_item("device", m.last().map(|m| m.device.clone()))?;
    d.set_item("seconds", path.seconds)?;
    Ok(d)
}

fn cv_dict<'py>(py: Python<'py>, cv: &CvOutcome) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("path", path_dict(py, &cv.path)?)?;
    let (k, l) = (cv.cvraw.len(), cv.path.lambdas.len());
    let raw: Vec<f64> = cv.cvraw.iter().flatten().copied().collect();
    let raw = numpy::ndarray::Array2::from_shape_vec((k, l), raw)
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    d.set_item("cvraw", raw.into_pyarray(py))?;
    d.set_item("cvm", cv.cvm.clone().into_pyarray(py))?;
    d.set_item("cvsd", cv.cvsd.clone().into_pyarray(py))?;
    d.set_item("index_min", cv.index_min)?;
    d.set_item("index_1se", cv.index_1se)?;
    d.set_item("fold_sizes", cv.fold_sizes.clone())?;
    d.set_item("unconverged_folds", cv.unconverged_folds.clone())?;
    Ok(d)
}

/// The Elastic-Net path of each response (each row of `y`) on one X, in one batch.
///
/// `lambdas` (solved in the order given) or lariat's geometric grid of `n_lambdas` values
/// from each response's `lambda_max` down to `min_ratio` times it.
///
/// `coef_init` (one row of coefficients per response, on X's scale) warm-starts the first
/// lambda: scikit-learn's `warm_start`.
#[pyfunction]
#[pyo3(signature = (x, y, options, lambdas=None, n_lambdas=100, min_ratio=None, coef_init=None))]
#[allow(clippy::too_many_arguments)]
fn fit_path<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    y: PyReadonlyArray2<'py, f64>,
    options: Options,
    lambdas: Option<Vec<f64>>,
    n_lambdas: usize,
    min_ratio: Option<f64>,
    coef_init: Option<PyReadonlyArray2<'py, f64>>,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let cfg = options.config()?;
    let grid = grid(lambdas, n_lambdas, min_ratio);
    let starts: Option<Vec<Vec<f64>>> = coef_init.map(|c| {
        c.as_array()
            .rows()
            .into_iter()
            .map(|row| row.to_vec())
            .collect()
    });
    let input = Input::extract(x)?;
    let paths = input.with_design(|design| {
        let ys = responses(&y, design.n_rows())?;
        let entries = design.n_rows() * design.n_cols();
        let engine = engines::engine_for(cfg.device, cfg.adapter.clone(), entries);
        run::run_released(py, &engine, |engine| {
            match &starts {
                Some(starts) => fit_paths_from(
                    &mut engine.0,
                    design,
                    &ys,
                    starts,
                    None,
                    &cfg,
                    &grid,
                    &mut |_, _| {},
                ),
                None => fit_paths_in(
                    &mut engine.0,
                    design,
                    &ys,
                    None,
                    &cfg,
                    &grid,
                    &mut |_, _| {},
                ),
            }
            .map_err(to_py)
        })
    })?;
    paths.iter().map(|p| path_dict(py, p)).collect()
}

/// K-fold cross-validation (cv.glmnet's definitions) of each response's path, the folds given
/// as one integer label per row, with the full-data path on the same grid.
#[pyfunction]
#[pyo3(signature = (x, y, folds, options, lambdas=None, n_lambdas=100, min_ratio=None))]
#[allow(clippy::too_many_arguments)]
fn cross_validate<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    y: PyReadonlyArray2<'py, f64>,
    folds: PyReadonlyArray1<'py, i64>,
    options: Options,
    lambdas: Option<Vec<f64>>,
    n_lambdas: usize,
    min_ratio: Option<f64>,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let cfg = options.config()?;
    let grid = grid(lambdas, n_lambdas, min_ratio);
    let folds = Folds::from_labels(folds.as_slice()?).map_err(to_py)?;
    let input = Input::extract(x)?;
    let cvs = input.with_design(|design| {
        let ys = responses(&y, design.n_rows())?;
        let entries = design.n_rows() * design.n_cols();
        let engine = engines::engine_for(cfg.device, cfg.adapter.clone(), entries);
        run::run_released(py, &engine, |engine| {
            cross_validate_in(
                &mut engine.0,
                design,
                &ys,
                None,
                &cfg,
                &grid,
                &folds,
                &mut |_, _| {},
            )
            .map_err(to_py)
        })
    })?;
    cvs.iter().map(|c| cv_dict(py, c)).collect()
}

/// The engines this process has made, as `(device, adapter)`: fits share them.
#[pyfunction]
fn open_engines() -> Vec<(String, Option<String>)> {
    engines::engine_names()
}

/// Called in a child of `fork()` (`os.register_at_fork`): the parent's threads and engines
/// are not the child's.
#[pyfunction]
fn after_fork_in_child() {
    pool::forget();
    engines::forget();
}

#[pymodule]
fn _lariat(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(after_fork_in_child, m)?)?;
    m.add_function(wrap_pyfunction!(fit_path, m)?)?;
    m.add_function(wrap_pyfunction!(cross_validate, m)?)?;
    m.add_function(wrap_pyfunction!(open_engines, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
