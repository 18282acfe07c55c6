//! `lariat bench`: the cost of one full pass over X (`X^T r`, the operation that dominates on
//! wide data) and of a whole solve, on the CPU (f64) and on the GPU (f32, wgpu), measured on
//! one seeded synthetic problem so that every device and solver sees the same data, the same
//! lambda and the same duality-gap tolerance.

use std::time::Instant;

use serde::Serialize;

use crate::design::{Csc, Dense, Design};
use crate::error::{Error, Result};
use crate::fit::{resolve_lambda, LambdaSpec};
use crate::params::{check_l1_ratio, check_penalty, Algorithm, SolverParams, ValidParams};
use crate::penalty::ElasticNet;
use crate::problem::{Preprocess, Problem};
use crate::solver::{Backend, CpuBackend, Fit, Status};
use crate::synth::{generate, Rng, SyntheticSpec};

/// Fraction of the features with a non-zero true coefficient.
const INFORMATIVE_FRACTION: f64 = 0.01;
/// Signal-to-noise ratio `sd(X beta) / sd(noise)` of the synthetic target.
const SNR: f64 = 5.0;
/// Offset of the seed of the sparsity pattern: a separate stream, so that for one `--seed` the
/// stored values are the same whatever the density.
const SPARSITY_STREAM: u64 = 0x5350_4152_5345;

/// A device to benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BenchDevice {
    Cpu,
    Gpu,
}

impl std::str::FromStr for BenchDevice {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim() {
            "cpu" => Ok(BenchDevice::Cpu),
            "gpu" => Ok(BenchDevice::Gpu),
            _ => Err(format!("unknown device '{s}' (expected cpu or gpu)")),
        }
    }
}

/// What to benchmark.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    pub n: usize,
    pub p: usize,
    /// Fraction of entries kept; below 1 the matrix is stored as CSC.
    pub density: f64,
    /// lambda as a fraction of lambda_max.
    pub lambda_ratio: f64,
    pub l1_ratio: f64,
    pub tol: f64,
    /// Devices in the order given; duplicates are run once.
    pub devices: Vec<BenchDevice>,
    /// Timed samples per pass measurement (the median is reported).
    pub repeats: usize,
    pub seed: u64,
    /// Toeplitz correlation between neighbouring columns.
    pub rho: f64,
    /// GPU adapter name filter.
    pub adapter: Option<String>,
}

impl BenchConfig {
    /// An `n x p` benchmark with the defaults of `lariat bench`.
    pub fn new(n: usize, p: usize) -> Self {
        BenchConfig {
            n,
            p,
            density: 1.0,
            lambda_ratio: 0.1,
            l1_ratio: 1.0,
            tol: crate::params::DEFAULT_TOL,
            devices: vec![BenchDevice::Cpu, BenchDevice::Gpu],
            repeats: 5,
            seed: 0,
            rho: 0.5,
            adapter: None,
        }
    }

    /// Checks every field; `tol` and `l1_ratio` go through the checks a fit uses.
    pub fn check(&self) -> Result<()> {
        if self.n < 2 {
            return Err(Error::invalid("n", self.n, "must be at least 2"));
        }
        if self.p < 1 {
            return Err(Error::invalid("p", self.p, "must be at least 1"));
        }
        if self.n.checked_mul(self.p).is_none() {
            return Err(Error::invalid(
                "p",
                self.p,
                "n x p overflows the address space",
            ));
        }
        if !(self.density > 0.0 && self.density <= 1.0) {
            return Err(Error::invalid("density", self.density, "must be in (0, 1]"));
        }
        if self.density < 1.0 && u32::try_from(self.n).is_err() {
            return Err(Error::invalid(
                "n",
                self.n,
                "sparse storage holds at most 2^32 rows",
            ));
        }
        if !(self.lambda_ratio.is_finite() && self.lambda_ratio > 0.0) {
            return Err(Error::invalid(
                "lambda-ratio",
                self.lambda_ratio,
                "must be a number > 0",
            ));
        }
        if self.repeats < 1 {
            return Err(Error::invalid(
                "repeats",
                self.repeats,
                "must be at least 1",
            ));
        }
        if !(-1.0..=1.0).contains(&self.rho) {
            return Err(Error::invalid("rho", self.rho, "must be in [-1, 1]"));
        }
        if self.devices.is_empty() {
            return Err(Error::invalid(
                "device",
                "",
                "name at least one of cpu, gpu",
            ));
        }
        check_l1_ratio(self.l1_ratio)?;
        if self.l1_ratio == 0.0 {
            // lambda is set from lambda_max, which ridge does not have.
            return Err(Error::invalid(
                "l1-ratio",
                self.l1_ratio,
                "must be > 0 for a benchmark (lambda is a fraction of lambda_max, which ridge lacks)",
            ));
        }
        solver_params(self, Algorithm::Cd)?;
        Ok(())
    }

    /// The devices to run, in the order given, each once.
    fn unique_devices(&self) -> Vec<BenchDevice> {
        let mut out = Vec::new();
        for &d in &self.devices {
            if !out.contains(&d) {
                out.push(d);
            }
        }
        out
    }
}

/// The validated solver parameters for `algorithm` (default iteration cap).
fn solver_params(cfg: &BenchConfig, algorithm: Algorithm) -> Result<ValidParams> {
    SolverParams {
        tol: cfg.tol,
        max_iter: None,
        algorithm,
        ..SolverParams::default()
    }
    .check()
}

/// The benchmark matrix, in the storage the user asked for.
enum BenchDesign {
    Dense(Dense<f64>),
    Sparse(Csc),
}

impl BenchDesign {
    fn as_design(&self) -> &dyn Design {
        match self {
            BenchDesign::Dense(x) => x,
            BenchDesign::Sparse(x) => x,
        }
    }

    /// Bytes of the matrix one pass reads: the values, plus the row indices for CSC.
    fn bytes_per_pass(&self) -> u64 {
        let stored = self.as_design().stored_entries() as u64;
        match self {
            BenchDesign::Dense(_) => stored * 8,
            BenchDesign::Sparse(_) => stored * (8 + 4),
        }
    }

    fn storage(&self) -> String {
        match self {
            BenchDesign::Dense(_) => "dense f64".into(),
            BenchDesign::Sparse(x) => {
                let full = (x.n_rows() * x.n_cols()) as f64;
                format!("CSC f64 {:.1}%", 100.0 * x.stored_entries() as f64 / full)
            }
        }
    }
}

/// The synthetic problem: `synth::generate`'s Toeplitz design, thinned to `density`.
struct BenchData {
    x: BenchDesign,
    y: Vec<f64>,
    n_informative: usize,
}

fn synthetic_problem(cfg: &BenchConfig) -> Result<BenchData> {
    let n_informative = ((cfg.p as f64 * INFORMATIVE_FRACTION).round() as usize).max(1);
    let data = generate(&SyntheticSpec {
        n: cfg.n,
        p: cfg.p,
        n_informative,
        rho: cfg.rho,
        snr: SNR,
        seed: cfg.seed,
    })?;
    if cfg.density >= 1.0 {
        return Ok(BenchData {
            x: BenchDesign::Dense(data.x),
            y: data.y,
            n_informative,
        });
    }
    let mut rng = Rng::new(cfg.seed.wrapping_add(SPARSITY_STREAM));
    let x = thin_to_csc(&data.x, cfg.density, &mut rng);
    if x.stored_entries() == 0 {
        return Err(Error::invalid(
            "density",
            cfg.density,
            format!(
                "keeps no entry of the {} x {} design: raise --density (or --n, --p)",
                cfg.n, cfg.p
            ),
        ));
    }
    // The target is drawn again from the thinned matrix: the benchmark should solve a
    // regression whose signal lies in the stored entries, at the same SNR.
    let y = noisy_target(&x, &data.beta, SNR, &mut rng);
    Ok(BenchData {
        x: BenchDesign::Sparse(x),
        y,
        n_informative,
    })
}

/// Keeps each entry of `x` with probability `density`, as CSC.
fn thin_to_csc(x: &Dense<f64>, density: f64, rng: &mut Rng) -> Csc {
    let (n, p) = (x.n_rows(), x.n_cols());
    let mut indptr = Vec::with_capacity(p + 1);
    let mut indices = Vec::new();
    let mut values = Vec::new();
    indptr.push(0);
    for j in 0..p {
        for (i, &v) in x.col(j).iter().enumerate() {
            if rng.uniform() < density {
                indices.push(i as u32);
                values.push(v);
            }
        }
        indptr.push(indices.len());
    }
    Csc::new(n, p, indptr, indices, values)
}

/// `X beta + noise` with `sd(X beta) / sd(noise) = snr`.
fn noisy_target(x: &dyn Design, beta: &[f64], snr: f64, rng: &mut Rng) -> Vec<f64> {
    let n = x.n_rows();
    let mut signal = vec![0.0; n];
    x.matvec(beta, &mut signal);
    let mean = signal.iter().sum::<f64>() / n as f64;
    let var = signal.iter().map(|s| (s - mean) * (s - mean)).sum::<f64>() / n as f64;
    let noise_sd = if var > 0.0 { var.sqrt() / snr } else { 1.0 };
    signal.iter().map(|s| s + noise_sd * rng.normal()).collect()
}

/// The problem that was benchmarked.
#[derive(Clone, Debug, Serialize)]
pub struct ProblemSummary {
    pub n: usize,
    pub p: usize,
    pub density: f64,
    pub stored_entries: usize,
    pub storage: String,
    pub rho: f64,
    pub n_informative: usize,
    pub snr: f64,
    pub seed: u64,
    pub lambda: f64,
    pub lambda_ratio: f64,
    pub lambda_max: f64,
    pub l1_ratio: f64,
    pub tol: f64,
    /// rayon threads of the CPU backend.
    pub threads: usize,
}

/// One full pass over X, timed.
#[derive(Clone, Debug, Serialize)]
pub struct PassTiming {
    /// Median seconds per pass.
    pub seconds: f64,
    /// Bytes of X read per pass.
    pub bytes: u64,
    pub gb_per_s: f64,
    /// Passes per timed sample (the GPU runs many per submission).
    pub passes_per_sample: usize,
    pub samples: usize,
}

impl PassTiming {
    fn new(seconds: f64, bytes: u64, passes_per_sample: usize, samples: usize) -> Self {
        PassTiming {
            seconds,
            bytes,
            gb_per_s: bytes as f64 / seconds / 1e9,
            passes_per_sample,
            samples,
        }
    }
}

/// Where the GPU's setup time went, before any solve.
#[derive(Clone, Debug, Serialize)]
pub struct GpuSetup {
    /// "name (backend, type)".
    pub adapter: String,
    pub is_software: bool,
    /// Opening the device and compiling the kernels.
    pub device_seconds: f64,
    /// `upload()` as a whole: X to the device, then the Lanczos step size.
    pub upload_total_seconds: f64,
    pub upload_seconds: f64,
    pub step_size_seconds: f64,
    pub n_panels: usize,
}

/// The GPU backend's breakdown of one solve.
#[derive(Clone, Debug, Serialize)]
pub struct GpuSolveStats {
    pub iterate_seconds: f64,
    pub certify_seconds: f64,
    pub polish_seconds: f64,
    pub gpu_iterations: usize,
    pub gap_checks: usize,
    /// Device requests of the solve: `queue.submit` calls, read-backs (each a wait for the
    /// device), buffers and bind groups created.
    pub submissions: u64,
    pub read_backs: u64,
    pub buffers_created: u64,
    pub bind_groups_created: u64,
    pub working_set_rounds: usize,
}

/// One solve, timed.
#[derive(Clone, Debug, Serialize)]
pub struct SolveResult {
    /// "cd" or "fista".
    pub solver: String,
    /// `Fit::device`: "cpu", "gpu" or "gpu+cpu-polish".
    pub ran_on: String,
    pub iterations: usize,
    pub full_passes: usize,
    pub seconds: f64,
    pub objective: f64,
    pub gap: f64,
    pub gap_tol: f64,
    pub converged: bool,
    pub gpu: Option<GpuSolveStats>,
}

impl SolveResult {
    fn new(solver: String, fit: Fit, seconds: f64) -> Self {
        SolveResult {
            solver,
            ran_on: fit.device,
            iterations: fit.n_iter,
            full_passes: fit.full_passes,
            seconds,
            objective: fit.objective,
            gap: fit.gap,
            gap_tol: fit.gap_tol,
            converged: fit.status == Status::Converged,
            gpu: None,
        }
    }
}

/// Everything measured on one device.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceResult {
    pub kind: BenchDevice,
    /// "cpu", or the GPU adapter's name.
    pub device: String,
    /// How this device holds X.
    pub storage: String,
    pub pass: PassTiming,
    pub setup: Option<GpuSetup>,
    pub solves: Vec<SolveResult>,
    /// The GPU's batch pass (`Xe^T R` for k residuals in one read of X) for each width k.
    pub block_passes: Vec<BlockPassTiming>,
    /// The GPU's fixed cost of a read-back and its bandwidth (None for the CPU).
    pub round_trip: Option<RoundTrip>,
}

/// What one wait for the device costs, apart from the work it waits for: the figures that
/// decide whether a gap check should carry a speculative full pass (one read-back fewer when
/// the check ends the round, a wasted pass and its transfer when it does not) and whether
/// steps should be queued ahead of a read-back.
#[derive(Clone, Debug, Serialize)]
pub struct RoundTrip {
    /// Median seconds of a submission with no work and a read-back of 4 bytes.
    pub empty_seconds: f64,
    /// Bytes of the large read-back (one problem's correlations, `4 p`).
    pub read_bytes: u64,
    /// Median seconds of a submission with no work and a read-back of `read_bytes`.
    pub read_seconds: f64,
    /// `read_bytes` over the time the large read-back takes beyond the empty one (None when
    /// that is under a tenth of the empty one: the transfer is lost in the fixed cost).
    pub read_gb_per_s: Option<f64>,
}

/// A batch pass of width `k`, against one single-residual pass.
#[derive(Clone, Debug, Serialize)]
pub struct BlockPassTiming {
    pub k: usize,
    /// Median seconds per pass.
    pub seconds: f64,
    /// This pass over one single pass: X is read once, so the goal is near 1, where k single
    /// passes cost k.
    pub vs_one_pass: f64,
}

impl DeviceResult {
    fn solve(&self, solver: &str) -> Option<&SolveResult> {
        self.solves.iter().find(|s| s.solver == solver)
    }
}

/// CPU time / GPU time (above 1: the GPU is faster).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Speedups {
    pub pass: Option<f64>,
    pub solve_vs_cpu_cd: Option<f64>,
    pub solve_vs_cpu_fista: Option<f64>,
}

/// The result of [`run_bench`].
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub problem: ProblemSummary,
    pub devices: Vec<DeviceResult>,
    pub speedups: Speedups,
    /// Devices that were asked for but could not run, and why.
    pub notes: Vec<String>,
}

/// Runs the benchmark. A GPU that cannot be used becomes a note (the CPU figures are still
/// worth having); it is an error only when no device could run at all.
pub fn run_bench(cfg: &BenchConfig) -> Result<BenchReport> {
    cfg.check()?;
    let data = synthetic_problem(cfg)?;
    let problem = Problem::new(data.x.as_design(), &data.y, Preprocess::default())?;
    let lambda = resolve_lambda(&problem, LambdaSpec::Ratio(cfg.lambda_ratio), cfg.l1_ratio)?;
    let penalty = check_penalty(ElasticNet {
        lambda,
        l1_ratio: cfg.l1_ratio,
    })?;
    let mut devices = Vec::new();
    let mut notes = Vec::new();
    let mut last_error = None;
    for device in cfg.unique_devices() {
        match device {
            BenchDevice::Cpu => devices.push(bench_cpu(cfg, &problem, &data.x, &penalty)?),
            BenchDevice::Gpu => match gpu_bench::bench_gpu(cfg, &problem, &penalty) {
                Ok(r) => devices.push(r),
                Err(e) => {
                    notes.push(format!("gpu not benchmarked: {e}"));
                    last_error = Some(e);
                }
            },
        }
    }
    if devices.is_empty() {
        return Err(last_error.expect("no device ran, so one failed"));
    }
    let speedups = speedups(&devices);
    Ok(BenchReport {
        problem: summarise(cfg, &data, lambda),
        devices,
        speedups,
        notes,
    })
}

fn summarise(cfg: &BenchConfig, data: &BenchData, lambda: f64) -> ProblemSummary {
    ProblemSummary {
        n: cfg.n,
        p: cfg.p,
        density: cfg.density,
        stored_entries: data.x.as_design().stored_entries(),
        storage: data.x.storage(),
        rho: cfg.rho,
        n_informative: data.n_informative,
        snr: SNR,
        seed: cfg.seed,
        lambda,
        lambda_ratio: cfg.lambda_ratio,
        lambda_max: lambda / cfg.lambda_ratio,
        l1_ratio: cfg.l1_ratio,
        tol: cfg.tol,
        threads: rayon::current_num_threads(),
    }
}

/// The f64 CPU: the pass, then coordinate descent and FISTA (the algorithm the GPU mirrors).
fn bench_cpu(
    cfg: &BenchConfig,
    problem: &Problem,
    x: &BenchDesign,
    penalty: &ElasticNet,
) -> Result<DeviceResult> {
    let pass = time_cpu_pass(problem, cfg.repeats, x.bytes_per_pass());
    let mut solves = Vec::new();
    for algorithm in [Algorithm::Cd, Algorithm::Fista] {
        let params = solver_params(cfg, algorithm)?;
        let mut backend = CpuBackend::new(algorithm);
        solves.push(timed_solve(&mut backend, problem, penalty, &params)?);
    }
    Ok(DeviceResult {
        kind: BenchDevice::Cpu,
        device: "cpu".into(),
        storage: x.storage(),
        pass,
        setup: None,
        solves,
        block_passes: Vec::new(),
        round_trip: None,
    })
}

/// `Problem::rmatvec` on `yc`: one warm-up (it also starts rayon's pool), then the median of
/// `repeats` single passes.
fn time_cpu_pass(problem: &Problem, repeats: usize, bytes: u64) -> PassTiming {
    let mut g = vec![0.0; problem.p()];
    problem.rmatvec(problem.yc(), &mut g);
    let mut samples: Vec<f64> = (0..repeats)
        .map(|_| seconds(|| problem.rmatvec(problem.yc(), &mut g)))
        .collect();
    PassTiming::new(median(&mut samples), bytes, 1, repeats)
}

/// A cold solve (no warm start) through the `Backend` trait, timed.
fn timed_solve(
    backend: &mut dyn Backend,
    problem: &Problem,
    penalty: &ElasticNet,
    params: &ValidParams,
) -> Result<SolveResult> {
    let t0 = Instant::now();
    let fit = backend.solve(problem, penalty, None, params)?;
    let elapsed = t0.elapsed().as_secs_f64();
    Ok(SolveResult::new(backend.solver(), fit, elapsed))
}

fn seconds(f: impl FnOnce()) -> f64 {
    let t0 = Instant::now();
    f();
    t0.elapsed().as_secs_f64()
}

/// Median of `v` (not empty); sorts it.
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

/// GPU against CPU: the pass against the CPU pass, the GPU solve against each CPU solve.
fn speedups(devices: &[DeviceResult]) -> Speedups {
    let find = |kind| devices.iter().find(|d| d.kind == kind);
    let (Some(cpu), Some(gpu)) = (find(BenchDevice::Cpu), find(BenchDevice::Gpu)) else {
        return Speedups::default();
    };
    let gpu_solve = gpu.solve("fista").map(|s| s.seconds);
    let vs = |solver| Some(cpu.solve(solver)?.seconds / gpu_solve?);
    Speedups {
        pass: Some(cpu.pass.seconds / gpu.pass.seconds),
        solve_vs_cpu_cd: vs("cd"),
        solve_vs_cpu_fista: vs("fista"),
    }
}

#[cfg(feature = "gpu")]
mod gpu_bench {
    use std::time::Instant;

    use super::BlockPassTiming;
    use super::{median, solver_params, timed_solve, BenchConfig, BenchDevice, DeviceResult};
    use super::{GpuSetup, GpuSolveStats, PassTiming, RoundTrip};
    use crate::error::{Error, Result};
    use crate::params::Algorithm;
    use crate::penalty::ElasticNet;
    use crate::problem::Problem;
    use crate::solver::gpu::block::BlockResident;
    use crate::solver::gpu::context::AdapterChoice;
    use crate::solver::gpu::kernels::BLOCK_WIDTHS;
    use crate::solver::gpu::resident::{run_and_read, time_read_back, Resident};
    use crate::solver::gpu::{GpuBackend, GpuOptions};

    /// One submission should run at least this long, so that submission and read-back
    /// overhead does not pass for pass time.
    const TARGET_CALL_SECONDS: f64 = 0.2;
    const MAX_PASSES_PER_CALL: usize = 1000;

    /// The f32 GPU: device setup, upload, the pass, then a FISTA solve with its breakdown.
    pub(super) fn bench_gpu(
        cfg: &BenchConfig,
        problem: &Problem,
        penalty: &ElasticNet,
    ) -> Result<DeviceResult> {
        let t0 = Instant::now();
        let mut backend = GpuBackend::new(GpuOptions {
            adapter: AdapterChoice {
                name: cfg.adapter.clone(),
                allow_software: true,
            },
            ..Default::default()
        })?;
        let device_seconds = t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        backend.upload(problem)?;
        backend.sigma_max_sq(problem)?;
        let upload_total_seconds = t0.elapsed().as_secs_f64();
        let pass = time_gpu_pass(&backend, cfg.repeats)?;
        let report = &backend.context().report;
        let setup = GpuSetup {
            adapter: report.short(),
            is_software: report.is_software,
            device_seconds,
            upload_total_seconds,
            upload_seconds: backend.stats.upload_seconds,
            step_size_seconds: backend.stats.step_size_seconds,
            n_panels: backend.stats.n_panels,
        };
        let device = report.name.clone();
        let block_passes = time_block_passes(&backend, problem, cfg.repeats, pass.seconds)?;
        let round_trip = time_round_trips(&backend, cfg.repeats)?;
        // The problem is resident now, so the solve below does not upload it again.
        let params = solver_params(cfg, Algorithm::Fista)?;
        let mut solve = timed_solve(&mut backend, problem, penalty, &params)?;
        let s = &backend.stats;
        solve.gpu = Some(GpuSolveStats {
            iterate_seconds: s.iterate_seconds,
            certify_seconds: s.certify_seconds,
            polish_seconds: s.polish_seconds,
            gpu_iterations: s.gpu_iterations,
            gap_checks: s.gap_checks,
            submissions: s.counts.submissions,
            read_backs: s.counts.read_backs,
            buffers_created: s.counts.buffers,
            bind_groups_created: s.counts.bind_groups,
            working_set_rounds: s.working_set_rounds,
        });
        Ok(DeviceResult {
            kind: BenchDevice::Gpu,
            device,
            storage: "dense f32".into(),
            pass,
            setup: Some(setup),
            solves: vec![solve],
            block_passes,
            round_trip: Some(round_trip),
        })
    }

    /// Read-backs with no work before them: 4 bytes (the fixed cost of a wait), then one
    /// problem's correlations (what a pass brings back per problem); the median of
    /// `max(repeats, 5)` each, after a warm-up.
    fn time_round_trips(backend: &GpuBackend, repeats: usize) -> Result<RoundTrip> {
        let ctx = backend.context();
        let g = &backend
            .resident()
            .ok_or_else(|| Error::Gpu("no problem on the device to time".into()))?
            .g;
        let read = |bytes: u64| time_read_back(ctx, g, bytes);
        let median_of = |bytes: u64| -> Result<f64> {
            read(bytes)?;
            let mut samples = (0..repeats.max(5))
                .map(|_| read(bytes))
                .collect::<Result<Vec<f64>>>()?;
            Ok(median(&mut samples))
        };
        let empty_seconds = median_of(4)?;
        let read_bytes = g.size();
        let read_seconds = median_of(read_bytes)?;
        Ok(RoundTrip {
            empty_seconds,
            read_bytes,
            read_seconds,
            read_gb_per_s: (read_seconds - empty_seconds > 0.1 * empty_seconds)
                .then(|| read_bytes as f64 / (read_seconds - empty_seconds) / 1e9),
        })
    }

    /// The batch pass at every compiled width, on k copies of the problem's residual at zero
    /// (the cost does not depend on the values), against `one_pass` seconds.
    fn time_block_passes(
        backend: &GpuBackend,
        problem: &Problem,
        repeats: usize,
        one_pass: f64,
    ) -> Result<Vec<BlockPassTiming>> {
        let (ctx, kernels) = (backend.context(), backend.kernels());
        let mut block = BlockResident::upload(ctx, problem, 1, None)?;
        let r: Vec<f32> = problem.yc().iter().map(|&v| v as f32).collect();
        BLOCK_WIDTHS
            .iter()
            .map(|&k| {
                let k = k as usize;
                let pbs = vec![problem; k];
                block.load(ctx, kernels, &pbs, &vec![r.clone(); k]);
                let call = |passes| block.time_passes(ctx, kernels, k, passes);
                call(1)?;
                let passes = passes_per_call(&call)?;
                let mut samples = (0..repeats)
                    .map(|_| call(passes))
                    .collect::<Result<Vec<f64>>>()?;
                let seconds = median(&mut samples) / passes as f64;
                Ok(BlockPassTiming {
                    k,
                    seconds,
                    vs_one_pass: seconds / one_pass,
                })
            })
            .collect()
    }

    /// `g = Xe^T r` on the device: a warm-up call, enough passes per call to reach
    /// [`TARGET_CALL_SECONDS`], then the median of `repeats` calls over the passes per call.
    fn time_gpu_pass(backend: &GpuBackend, repeats: usize) -> Result<PassTiming> {
        let res = backend
            .resident()
            .ok_or_else(|| Error::Gpu("no problem on the device to time".into()))?;
        let call = |passes| gradient_call_seconds(backend, res, passes);
        call(1)?;
        let passes = passes_per_call(&call)?;
        let mut samples = (0..repeats)
            .map(|_| call(passes))
            .collect::<Result<Vec<f64>>>()?;
        let per_pass = median(&mut samples) / passes as f64;
        Ok(PassTiming::new(per_pass, res.x_bytes(), passes, repeats))
    }

    /// Seconds for one submission of `passes` gradient passes, read-back included.
    fn gradient_call_seconds(backend: &GpuBackend, res: &Resident, passes: usize) -> Result<f64> {
        let (ctx, kernels) = (backend.context(), backend.kernels());
        let t0 = Instant::now();
        run_and_read(
            ctx,
            "bench",
            |pass| {
                for _ in 0..passes {
                    res.encode_gradient(kernels, pass);
                }
            },
            &res.g,
        )?;
        Ok(t0.elapsed().as_secs_f64())
    }

    /// Grows the passes per call (at least doubling, aiming 20% past the target) until one
    /// call takes [`TARGET_CALL_SECONDS`] or the cap is reached.
    fn passes_per_call(call: &dyn Fn(usize) -> Result<f64>) -> Result<usize> {
        let mut passes = 1;
        loop {
            let t = call(passes)?;
            if t >= TARGET_CALL_SECONDS || passes >= MAX_PASSES_PER_CALL {
                return Ok(passes);
            }
            let aim = (1.2 * passes as f64 * TARGET_CALL_SECONDS / t.max(1e-9)).ceil() as usize;
            passes = aim.max(2 * passes).min(MAX_PASSES_PER_CALL);
        }
    }
}

#[cfg(not(feature = "gpu"))]
mod gpu_bench {
    use super::{BenchConfig, DeviceResult};
    use crate::error::{Error, Result};
    use crate::penalty::ElasticNet;
    use crate::problem::Problem;

    pub(super) fn bench_gpu(
        _cfg: &BenchConfig,
        _problem: &Problem,
        _penalty: &ElasticNet,
    ) -> Result<DeviceResult> {
        Err(Error::Unsupported(
            "this lariat was built without the `gpu` feature".into(),
        ))
    }
}

impl BenchReport {
    /// The report as plain text: the problem, one aligned table (a row per device and
    /// solver), the GPU's setup and solve breakdown, the speed-ups and the caveats.
    pub fn table(&self) -> String {
        let mut out = self.problem_lines();
        out.push_str(&self.results_table());
        for d in &self.devices {
            if let Some(line) = gpu_breakdown(d) {
                out.push_str(&line);
            }
        }
        out.push_str(&self.speedup_line());
        out.push_str(&self.footnotes());
        out
    }

    /// The same figures as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a bench report always serialises")
    }

    fn problem_lines(&self) -> String {
        let p = &self.problem;
        format!(
            "problem   n {}, p {}, density {} ({}, {} stored entries), lambda {:.4e} ({} x lambda_max), \
             l1_ratio {}, tol {:e}, threads {}\n\
             synthetic Toeplitz rho {}, {} informative features, SNR {}, seed {}\n\n",
            p.n,
            p.p,
            p.density,
            p.storage,
            p.stored_entries,
            p.lambda,
            crate::error::short_number(p.lambda_ratio),
            p.l1_ratio,
            p.tol,
            p.threads,
            p.rho,
            p.n_informative,
            p.snr,
            p.seed
        )
    }

    fn results_table(&self) -> String {
        let header = [
            "device",
            "solver",
            "storage",
            "pass ms",
            "GB/s",
            "iterations",
            "full passes",
            "solve s",
            "objective",
            "gap",
            "converged",
        ];
        let rows: Vec<Vec<String>> = self
            .devices
            .iter()
            .flat_map(|d| d.solves.iter().map(move |s| table_row(d, s)))
            .collect();
        // Text columns left-aligned, numbers right-aligned.
        let numeric = [
            false, false, false, true, true, true, true, true, true, true, false,
        ];
        format_table(&header, &rows, &numeric)
    }

    fn speedup_line(&self) -> String {
        let s = &self.speedups;
        if s.pass.is_none() {
            return String::new();
        }
        let x = |r: Option<f64>| r.map_or("n/a".to_string(), |r| format!("{}x", sig3(r)));
        format!(
            "\nspeed-up (CPU time / GPU time): pass {}, solve vs CPU cd {}, solve vs CPU fista {}\n",
            x(s.pass),
            x(s.solve_vs_cpu_cd),
            x(s.solve_vs_cpu_fista)
        )
    }

    fn footnotes(&self) -> String {
        let mut out = String::from(
            "\npass = one full X^T r over all columns, median of the samples; GB/s = bytes of X \
             read per pass (values, plus row indices for CSC) / pass time.\n\
             solve s = one cold solve at this lambda to tol, without problem setup (and, on the \
             GPU, without device setup and upload, reported above).\n",
        );
        for d in &self.devices {
            if d.setup.as_ref().is_some_and(|s| s.is_software) {
                out.push_str(&format!(
                    "NOTE: {} is a software adapter (runs on the CPU): its GPU timings are a \
                     sanity check, not a performance figure.\n",
                    d.device
                ));
            }
        }
        for note in &self.notes {
            out.push_str(&format!("NOTE: {note}\n"));
        }
        out
    }
}

/// `r` with three significant digits, in fixed notation (ratios span 1e-4 to 1e3).
fn sig3(r: f64) -> String {
    if !(r.is_finite() && r > 0.0) {
        return format!("{r}");
    }
    let decimals = (2 - r.log10().floor() as i32).max(0) as usize;
    format!("{r:.decimals$}")
}

/// The table cells of one solve on one device.
fn table_row(d: &DeviceResult, s: &SolveResult) -> Vec<String> {
    let solver = match d.kind {
        BenchDevice::Cpu => s.solver.clone(),
        BenchDevice::Gpu => format!("{} ({})", s.solver, s.ran_on),
    };
    let converged = if s.converged { "yes" } else { "no (max iter)" };
    vec![
        d.device.clone(),
        solver,
        d.storage.clone(),
        format!("{:.4}", d.pass.seconds * 1e3),
        format!("{:.2}", d.pass.gb_per_s),
        s.iterations.to_string(),
        s.full_passes.to_string(),
        format!("{:.3}", s.seconds),
        format!("{:.8e}", s.objective),
        format!("{:.2e}", s.gap),
        converged.into(),
    ]
}

/// The GPU's setup and solve breakdown, one line each (None for the CPU).
fn gpu_breakdown(d: &DeviceResult) -> Option<String> {
    let setup = d.setup.as_ref()?;
    let mut out = format!(
        "\ngpu       {}: device + pipeline setup {:.3} s; upload + Lanczos step size {:.3} s \
         (upload {:.3} s, Lanczos step size {:.3} s, {} panel(s)); pass timed as {} calls of {} passes\n",
        setup.adapter,
        setup.device_seconds,
        setup.upload_total_seconds,
        setup.upload_seconds,
        setup.step_size_seconds,
        setup.n_panels,
        d.pass.samples,
        d.pass.passes_per_sample
    );
    for s in &d.solves {
        if let Some(g) = &s.gpu {
            out.push_str(&format!(
                "gpu solve ran on {}: iterate {:.3} s ({} GPU steps, {} gap checks), certify \
                 (read-backs and f64 gaps, every round) {:.3} s, polish {:.3} s\n",
                s.ran_on,
                g.iterate_seconds,
                g.gpu_iterations,
                g.gap_checks,
                g.certify_seconds,
                g.polish_seconds
            ));
            out.push_str(&format!(
                "gpu solve counts: {} submissions, {} read-backs, {} buffers and {} bind groups \
                 created, over {} working-set round(s)\n",
                g.submissions,
                g.read_backs,
                g.buffers_created,
                g.bind_groups_created,
                g.working_set_rounds
            ));
        }
    }
    if !d.block_passes.is_empty() {
        let cells: Vec<String> = d
            .block_passes
            .iter()
            .map(|b| format!("k={} {}x", b.k, sig3(b.vs_one_pass)))
            .collect();
        out.push_str(&format!(
            "gpu batch pass (X^T R for k residuals in one read of X), time over one pass: {} \
             (k single passes: k x)\n",
            cells.join(", ")
        ));
    }
    if let Some(rt) = &d.round_trip {
        out.push_str(&format!(
            "gpu round trip: {:.1} us for a read-back of 4 bytes, {:.1} us for {} bytes ({}); \
             one pass is {:.2} round trips\n",
            rt.empty_seconds * 1e6,
            rt.read_seconds * 1e6,
            rt.read_bytes,
            match rt.read_gb_per_s {
                Some(b) => format!("{b:.2} GB/s beyond the fixed cost"),
                None => "the transfer is lost in the fixed cost".into(),
            },
            d.pass.seconds / rt.empty_seconds
        ));
    }
    Some(out)
}

/// Plain-text table with columns padded to their widest cell.
fn format_table(header: &[&str], rows: &[Vec<String>], numeric: &[bool]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .zip(numeric)
            .map(|((c, &w), &right)| {
                if right {
                    format!("{c:>w$}")
                } else {
                    format!("{c:<w$}")
                }
            })
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_keep_three_significant_digits() {
        assert_eq!(sig3(0.000851), "0.000851");
        assert_eq!(sig3(1.5), "1.50");
        assert_eq!(sig3(48.37), "48.4");
        assert_eq!(sig3(1234.7), "1235");
    }

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn thinning_keeps_about_density_and_stays_valid() {
        let mut rng = Rng::new(1);
        let x = crate::synth::toeplitz_design(50, 40, 0.5, &mut rng).unwrap();
        let csc = thin_to_csc(&x, 0.25, &mut rng);
        let kept = csc.stored_entries() as f64 / (50.0 * 40.0);
        assert!((kept - 0.25).abs() < 0.05, "kept {kept}");
    }

    #[test]
    fn check_rejects_bad_arguments() {
        let ok = BenchConfig::new(10, 20);
        assert!(ok.check().is_ok());
        let bad = [
            BenchConfig { n: 1, ..ok.clone() },
            BenchConfig { p: 0, ..ok.clone() },
            BenchConfig {
                density: 0.0,
                ..ok.clone()
            },
            BenchConfig {
                density: 1.5,
                ..ok.clone()
            },
            BenchConfig {
                lambda_ratio: 0.0,
                ..ok.clone()
            },
            BenchConfig {
                repeats: 0,
                ..ok.clone()
            },
            BenchConfig {
                devices: vec![],
                ..ok.clone()
            },
        ];
        for cfg in bad {
            assert!(cfg.check().is_err(), "{cfg:?} passed the check");
        }
    }

    #[test]
    fn cpu_bench_on_a_small_sparse_problem() {
        let cfg = BenchConfig {
            density: 0.3,
            devices: vec![BenchDevice::Cpu],
            repeats: 1,
            ..BenchConfig::new(30, 60)
        };
        let report = run_bench(&cfg).unwrap();
        let cpu = &report.devices[0];
        assert_eq!(cpu.solves.len(), 2);
        assert!(cpu.solves.iter().all(|s| s.converged));
        assert!(cpu.storage.starts_with("CSC"));
        let table = report.table();
        assert!(table.contains("cd") && table.contains("fista"), "{table}");
        assert!(report.to_json().contains("\"solve_vs_cpu_cd\""));
    }
}
