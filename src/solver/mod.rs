//! The backend seam. A [`Backend`] takes a [`Problem`], a penalty, an optional warm start and
//! valid parameters, and returns a [`Fit`] whose duality gap was computed by
//! [`Problem::duality_gap_from`], the one judge of every backend. Backends decide nothing
//! else: grids, validation and output live in `path` and the CLI.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::params::{Algorithm, ValidParams};
use crate::penalty::ElasticNet;
use crate::problem::Problem;

pub mod batch;
pub mod cd;
pub mod certificate;
pub mod fista;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod screening;
pub mod spectral;
pub mod subgradient;
pub mod working_sets;

/// How a solve ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The duality gap reached the tolerance.
    Converged,
    /// The iteration cap was reached first; `gap` says how far from optimal the answer is.
    MaxIter,
}

/// A solution in problem units (centred, scaled), with the certificate of its quality.
#[derive(Clone, Debug)]
pub struct Fit {
    /// Coefficients of the centred/scaled problem.
    pub w: Vec<f64>,
    /// `P(w)`.
    pub objective: f64,
    /// Duality gap reached (absolute, in objective units).
    pub gap: f64,
    /// The absolute gap that was asked for: `tol ||yc||^2 / n`.
    pub gap_tol: f64,
    /// Iterations: sweeps for coordinate descent, gradient steps for FISTA.
    pub n_iter: usize,
    /// Full passes over X (`X^T r` over all columns): the cost that matters on wide data.
    pub full_passes: usize,
    pub status: Status,
    /// Where the answer was computed: "cpu", "gpu", or "gpu+cpu-polish" when an f64 CPU
    /// polish finished what f32 on the GPU could not certify.
    pub device: String,
    /// `Xe^T r` at `w` when the solver has it (the next lambda's strong rule uses it); empty
    /// otherwise.
    pub grad: Vec<f64>,
    /// Wall time of this solve (set by the path driver).
    pub seconds: f64,
    /// What the solve asked of the GPU (`None` on the CPU).
    pub device_work: Option<DeviceWork>,
}

/// What a GPU solve asked of the device, reported in the model's JSON: the round trips and
/// allocations that decide whether a GPU is latency-bound. A batch (CV folds, responses)
/// shares its device work, so every problem of it reports the batch's figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeviceWork {
    /// Problems solved together in the batch these figures are for.
    pub batch_problems: usize,
    /// `queue.submit` calls.
    pub submissions: u64,
    /// Buffers mapped for reading: each one a wait for the device.
    pub read_backs: u64,
    /// Device buffers and bind groups created (an upload of X included when it needed one).
    pub buffers_created: u64,
    pub bind_groups_created: u64,
    /// Working-set rounds (subproblems solved on the device) and passes over all of X.
    pub working_set_rounds: usize,
    pub block_passes: usize,
    /// FISTA steps, summed over the batch's problems, and the gap checks that read them.
    pub fista_steps: usize,
    pub gap_checks: usize,
    /// Block passes carried by gap checks (counted in `block_passes` too), and those that
    /// came with the answers; the rest were checks that did not end their round.
    #[serde(default)]
    pub speculative_passes: usize,
    #[serde(default)]
    pub speculative_passes_used: usize,
}

/// Where the iteration stands after a gap check: done (converged, out of iterations, or
/// asked to stop by [`crate::interrupt::request`], which the driver turns into an error) or not.
pub(crate) fn stop_status(
    gap: f64,
    gap_tol: f64,
    n_iter: usize,
    max_iter: usize,
) -> Option<Status> {
    if gap <= gap_tol {
        Some(Status::Converged)
    } else if n_iter >= max_iter || gap.is_nan() || crate::interrupt::requested() {
        Some(Status::MaxIter)
    } else {
        None
    }
}

impl Fit {
    /// A finished solve, from its last gap check.
    pub(crate) fn finished(
        w: Vec<f64>,
        info: &crate::problem::GapInfo,
        gap_tol: f64,
        (n_iter, full_passes): (usize, usize),
        status: Status,
        device: &str,
        grad: Vec<f64>,
    ) -> Fit {
        Fit {
            w,
            objective: info.primal,
            // A NaN stays NaN (f64::max would make it 0, a certificate): range::check_fits
            // refuses it.
            gap: if info.gap.is_nan() {
                info.gap
            } else {
                info.gap.max(0.0)
            },
            gap_tol,
            n_iter,
            full_passes,
            status,
            device: device.into(),
            grad,
            seconds: 0.0,
            device_work: None,
        }
    }
}

/// A warm start: the previous solution, and along a path its lambda and correlations.
#[derive(Clone, Copy, Debug)]
pub struct Warm<'a> {
    pub w: &'a [f64],
    pub lambda: Option<f64>,
    pub grad: Option<&'a [f64]>,
}

impl<'a> Warm<'a> {
    /// A warm start from coefficients alone.
    pub fn from_w(w: &'a [f64]) -> Self {
        Warm {
            w,
            lambda: None,
            grad: None,
        }
    }
}

/// A solver backend, CPU or GPU, behind this one trait. `Send`, so that an engine can move to
/// the thread that runs a fit (a language binding's worker, with its interpreter's lock released).
pub trait Backend: Send {
    /// Name for reports: "cpu", "gpu", ...
    fn device(&self) -> String;
    /// Solver name for reports: "cd", "fista".
    fn solver(&self) -> String;
    /// Minimises `P` for one penalty, from `warm` (zeros when `None`).
    fn solve(
        &mut self,
        problem: &Problem,
        penalty: &ElasticNet,
        warm: Option<&Warm>,
        params: &ValidParams,
    ) -> Result<Fit>;

    /// Minimises `P` on each of several problems that share one design (CV folds,
    /// responses), each at its own penalty from its own warm start, each stopping on its own
    /// duality gap. A backend that can serve them all with one pass over X overrides this; by
    /// default they are solved one after another.
    fn solve_batch(
        &mut self,
        problems: &[&Problem],
        penalties: &[ElasticNet],
        warms: &[Option<Warm>],
        params: &ValidParams,
    ) -> Result<Vec<Fit>> {
        solve_one_by_one(self, problems, penalties, warms, params)
    }
}

/// A batch solved one problem after another.
fn solve_one_by_one<B: Backend + ?Sized>(
    backend: &mut B,
    problems: &[&Problem],
    penalties: &[ElasticNet],
    warms: &[Option<Warm>],
    params: &ValidParams,
) -> Result<Vec<Fit>> {
    problems
        .iter()
        .zip(penalties)
        .zip(warms)
        .map(|((pb, pen), warm)| backend.solve(pb, pen, warm.as_ref(), params))
        .collect()
}

/// A warm start must have one coefficient per column.
fn check_warm(problem: &Problem, warm: Option<&Warm>) -> Result<()> {
    match warm {
        Some(Warm { w, .. }) if w.len() != problem.p() => Err(Error::Shape {
            what: format!(
                "warm start has {} coefficients, problem has {}",
                w.len(),
                problem.p()
            ),
        }),
        _ => Ok(()),
    }
}

/// The f64 CPU backend: coordinate descent or FISTA.
pub struct CpuBackend {
    algorithm: Algorithm,
    /// The correlation buffers of the last batch, kept for the next: a path asks for k of
    /// them (p each) at every lambda, and fresh ones cost page faults.
    correlations: Vec<Vec<f64>>,
}

impl CpuBackend {
    pub fn new(algorithm: Algorithm) -> Self {
        let algorithm = match algorithm {
            Algorithm::Auto => Algorithm::Cd,
            a => a,
        };
        CpuBackend {
            algorithm,
            correlations: Vec::new(),
        }
    }
}

impl Backend for CpuBackend {
    fn device(&self) -> String {
        "cpu".into()
    }
    fn solver(&self) -> String {
        self.algorithm.name().into()
    }
    fn solve(
        &mut self,
        problem: &Problem,
        penalty: &ElasticNet,
        warm: Option<&Warm>,
        params: &ValidParams,
    ) -> Result<Fit> {
        check_warm(problem, warm)?;
        Ok(match self.algorithm {
            Algorithm::Fista => fista::solve(problem, penalty, warm.map(|h| h.w), params),
            Algorithm::Subgradient => {
                subgradient::solve(problem, penalty, warm.map(|h| h.w), params)
            }
            _ => cd::solve(problem, penalty, warm, params),
        })
    }

    /// Coordinate descent on every problem at once: each works (in parallel) until it needs
    /// a full pass over X, then all the passes are one block product that reads X once; a
    /// finished problem drops out and costs nothing more. Each problem makes exactly the
    /// iterates of its own solve. FISTA solves one problem after another.
    fn solve_batch(
        &mut self,
        problems: &[&Problem],
        penalties: &[ElasticNet],
        warms: &[Option<Warm>],
        params: &ValidParams,
    ) -> Result<Vec<Fit>> {
        use rayon::prelude::*;
        for (pb, warm) in problems.iter().zip(warms) {
            check_warm(pb, warm.as_ref())?;
        }
        if matches!(self.algorithm, Algorithm::Fista | Algorithm::Subgradient) {
            return solve_one_by_one(self, problems, penalties, warms, params);
        }
        // Set-up costs O(p) a problem (screening, the warm start): in parallel too.
        let mut open: Vec<(usize, cd::CdSolve)> = problems
            .par_iter()
            .zip(penalties)
            .zip(warms)
            .map(|((pb, pen), warm)| cd::CdSolve::new(pb, pen, warm.as_ref(), params))
            .enumerate()
            .collect();
        let mut done: Vec<Option<Fit>> = (0..problems.len()).map(|_| None).collect();
        let p = problems.first().map_or(0, |pb| pb.p());
        // One correlation buffer per problem, reused by every round's block pass (every entry
        // is written before it is read).
        let mut gs = std::mem::take(&mut self.correlations);
        gs.resize_with(problems.len(), Vec::new);
        for g in &mut gs {
            g.resize(p, 0.0);
            // A much wider earlier problem's memory is not held on to.
            if g.capacity() > 2 * p {
                g.shrink_to_fit();
            }
        }
        while !open.is_empty() {
            open.par_iter_mut().for_each(|(_, s)| s.advance());
            let gs = &mut gs[..open.len()];
            {
                let pbs: Vec<&Problem> = open.iter().map(|(_, s)| s.problem()).collect();
                let rs: Vec<&[f64]> = open.iter().map(|(_, s)| s.residual()).collect();
                let mut outs: Vec<&mut [f64]> = gs.iter_mut().map(|g| g.as_mut_slice()).collect();
                crate::problem::rmatmat(&pbs, &rs, &mut outs);
            }
            let finished: Vec<Option<Fit>> = open
                .par_iter_mut()
                .zip(gs.par_iter())
                .map(|((_, s), g)| s.accept_pass(g))
                .collect();
            let mut still = Vec::with_capacity(open.len());
            for ((i, s), fit) in open.into_iter().zip(finished) {
                match fit {
                    Some(fit) => done[i] = Some(fit),
                    None => still.push((i, s)),
                }
            }
            open = still;
        }
        self.correlations = gs;
        Ok(done
            .into_iter()
            .map(|f| f.expect("every problem finished"))
            .collect())
    }
}

/// Which device to run on. Matched in one place, [`make_backend`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackendKind {
    /// A hardware GPU when there is one and the problem is large enough to pay for it
    /// ([`AUTO_GPU_MIN_ENTRIES`]), else the CPU.
    #[default]
    Auto,
    Cpu,
    /// Any GPU adapter, software ones (lavapipe) included.
    Gpu,
}

/// `--device auto` uses a hardware GPU only from this many matrix entries on: below, device
/// setup and shader compilation cost more than the CPU solve.
pub const AUTO_GPU_MIN_ENTRIES: usize = 10_000_000;

impl std::str::FromStr for BackendKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "auto" => Ok(BackendKind::Auto),
            "cpu" => Ok(BackendKind::Cpu),
            "gpu" => Ok(BackendKind::Gpu),
            _ => Err(format!("unknown device '{s}' (expected auto, cpu or gpu)")),
        }
    }
}

/// What a backend is built for: the device choice, the algorithm, the adapter name (GPU) and
/// the size of the problem (for `auto`).
#[derive(Clone, Debug, Default)]
pub struct BackendRequest {
    pub kind: BackendKind,
    pub algorithm: Algorithm,
    /// `--adapter`: substring of the GPU adapter's name.
    pub adapter: Option<String>,
    /// `n * p` of the problem to solve.
    pub entries: usize,
}

/// Builds the backend for a request. `cd` is CPU-only; the GPU runs FISTA.
pub fn make_backend(req: &BackendRequest) -> Result<Box<dyn Backend>> {
    match req.kind {
        BackendKind::Cpu => Ok(Box::new(CpuBackend::new(req.algorithm))),
        BackendKind::Gpu => {
            if matches!(req.algorithm, Algorithm::Cd | Algorithm::Subgradient) {
                return Err(Error::invalid(
                    "solver",
                    req.algorithm.name(),
                    "runs on the CPU only; use --solver fista (or auto) with --device gpu",
                ));
            }
            gpu_backend(req, true)
        }
        BackendKind::Auto => {
            let wants_gpu = req.entries >= AUTO_GPU_MIN_ENTRIES
                && !matches!(req.algorithm, Algorithm::Cd | Algorithm::Subgradient);
            if wants_gpu {
                match gpu_backend(req, false) {
                    Ok(b) => return Ok(b),
                    // A setting the user got wrong (LARIAT_GPU_MEMORY, LARIAT_SPECULATIVE_PASS)
                    // is said, not hidden behind the CPU.
                    Err(e @ Error::InvalidParam { .. }) => return Err(e),
                    Err(_) => {}
                }
            }
            Ok(Box::new(CpuBackend::new(req.algorithm)))
        }
    }
}

/// Whether a hardware (not software) GPU adapter can be opened.
pub fn hardware_gpu_present() -> bool {
    let req = BackendRequest {
        kind: BackendKind::Gpu,
        algorithm: Algorithm::Fista,
        ..BackendRequest::default()
    };
    gpu_backend(&req, false).is_ok()
}

#[cfg(feature = "gpu")]
fn gpu_backend(req: &BackendRequest, allow_software: bool) -> Result<Box<dyn Backend>> {
    let opts = gpu::GpuOptions {
        adapter: gpu::context::AdapterChoice {
            name: req.adapter.clone(),
            allow_software,
        },
        // auto: data beyond f32's range are solved on the CPU (the device string says so).
        cpu_fallback: req.kind == BackendKind::Auto,
        ..Default::default()
    };
    Ok(Box::new(gpu::GpuBackend::new(opts)?))
}

#[cfg(not(feature = "gpu"))]
fn gpu_backend(_req: &BackendRequest, _allow_software: bool) -> Result<Box<dyn Backend>> {
    Err(Error::Unsupported(
        "this lariat was built without the `gpu` feature; use --device cpu".into(),
    ))
}
