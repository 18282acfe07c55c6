//! The GPU backend: FISTA in f32 on the device (wgpu / WGSL), preconditioned as
//! [`crate::solver::fista`] is, judged by the same duality gap.
//!
//! Working-set solves (the default for Lasso and the Elastic Net; one problem or a batch of
//! folds and responses) are driven by [`crate::solver::batch`], which owns the policy; this
//! backend is its engine (`batch.rs`): the block pass over X for every open problem
//! (`block.rs`) and their subproblems together as FISTA on the device (`sub_batch.rs`).
//! Plain FISTA over all of X (Ridge, or working sets turned off) keeps its own device loop
//! here: the problem uploaded once ([`resident::Resident`]), many iterations per submission,
//! the gap's partial sums read back every `k` iterations (`k` adapts to the observed rate).
//! Every answer is certified by the f64 gap, with the device's correlations as a filter, and
//! polished in f64 on the CPU where f32 could not reach the tolerance ("gpu+cpu-polish").

mod batch;
pub mod block;
pub mod ceiling;
pub mod context;
mod finish;
pub mod kernels;
pub mod resident;
pub mod speculation;
mod sub_batch;

use std::time::Instant;

use self::context::{AdapterChoice, Counts, GpuContext};
use self::finish::{polish_candidates, Certified, Solved};
use self::kernels::{KernelConfig, Kernels};
use self::resident::{device_bytes, run_and_read, run_and_read_all, Resident, Vector};
use super::spectral::{lanczos_host, max_steps, start_vector, Lanczos};
use super::working_sets::screen_at_start;
use super::{cd, fista, stop_status, Backend, Fit, Warm};
use crate::error::{Error, Result};
use crate::params::ValidParams;
use crate::penalty::ElasticNet;
use crate::problem::{sq_norm, GapScalars, Problem};

/// Below this relative gap (in units of `||yc||^2 / n`) the gap computed from f32 residuals
/// is mostly rounding noise (measured on lavapipe: FISTA stalls around 1e-6 on 300 x 10000
/// Toeplitz data): the GPU stops there and the f64 check decides whether a polish is needed.
pub const F32_GAP_FLOOR: f64 = 2e-6;
const FIRST_CHECK_EVERY: usize = 10;
const MAX_CHECK_EVERY: usize = 1000;
/// Up to this many columns the iterate comes back with every gap check (`iterate`).
const WITH_W_MAX_P: usize = 1 << 16;
/// Gap checks without a 10% improvement before the GPU is declared stuck at f32 precision.
const STALL_CHECKS: usize = 3;

/// Options of the GPU backend.
#[derive(Clone, Debug, Default)]
pub struct GpuOptions {
    pub adapter: AdapterChoice,
    /// Split X into panels of at most this many columns (tests force small panels).
    pub max_panel_cols: Option<usize>,
    /// Device memory budget in bytes; default: `LARIAT_GPU_MEMORY`, else system memory for
    /// software adapters, else unchecked (allocation failures are still reported).
    pub memory_budget: Option<u64>,
    /// Where the step-size Lanczos keeps its vectors (tests force each driver).
    pub lanczos: LanczosMode,
    /// Solve on the CPU (f64) instead of failing when the data exceed single precision
    /// ([`single_precision_limit`]); `--device auto` sets it, `--device gpu` does not.
    pub cpu_fallback: bool,
    /// Wrap dispatches into 2-D grids beyond this many workgroups in x (default 65535, the
    /// limit; tests force small values so that the 2-D path of wide problems runs in CI).
    pub max_grid_x: Option<u32>,
    /// Where the kernels' parameter structs are bound (default: by the adapter's limits;
    /// tests force uniform buffers so that both variants run in CI).
    pub params_binding: Option<kernels::ParamsBinding>,
    /// Whether gap checks carry the round's block pass ([`speculation`]); default:
    /// `LARIAT_SPECULATIVE_PASS`, else `auto`.
    pub speculative_pass: Option<speculation::SpeculativePass>,
}

/// Statistics of the last solve (upload and step size: of the last time they were needed),
/// for `lariat bench` and reports.
#[derive(Clone, Debug, Default)]
pub struct GpuStats {
    pub upload_seconds: f64,
    pub step_size_seconds: f64,
    pub iterate_seconds: f64,
    pub certify_seconds: f64,
    /// Columns the last certificate recomputed in f64 (p when it took a full pass).
    pub certify_exact_columns: usize,
    pub polish_seconds: f64,
    /// Features the last f64 polish worked on (p when it had to take all of them).
    pub polish_features: usize,
    pub gpu_iterations: usize,
    pub gap_checks: usize,
    pub n_panels: usize,
    /// What the last solve asked of the device: submissions, read-backs, buffers and bind
    /// groups created (an upload included when it needed one).
    pub counts: Counts,
    /// Working-set subproblems the last solve ran (0 without working sets).
    pub working_set_rounds: usize,
    /// Passes over all of X the last batch made on the device (each one for every problem
    /// still open).
    pub block_passes: usize,
    /// Lanczos steps of the last step size (of the last working set, with working sets).
    pub lanczos_steps: usize,
    /// Block passes carried by gap checks (in `block_passes` too), and those that came with
    /// the answers (the others were a check that did not end its round).
    pub speculative_passes: usize,
    pub speculative_passes_used: usize,
}

impl GpuStats {
    /// The last solve's figures, as the model's JSON reports them.
    pub fn work(&self, batch_problems: usize) -> crate::solver::DeviceWork {
        crate::solver::DeviceWork {
            batch_problems,
            submissions: self.counts.submissions,
            read_backs: self.counts.read_backs,
            buffers_created: self.counts.buffers,
            bind_groups_created: self.counts.bind_groups,
            working_set_rounds: self.working_set_rounds,
            block_passes: self.block_passes,
            fista_steps: self.gpu_iterations,
            gap_checks: self.gap_checks,
            speculative_passes: self.speculative_passes,
            speculative_passes_used: self.speculative_passes_used,
        }
    }

    /// Zeroes what each solve adds up.
    fn begin_solve(&mut self) {
        self.iterate_seconds = 0.0;
        self.certify_seconds = 0.0;
        self.polish_seconds = 0.0;
        self.gpu_iterations = 0;
        self.gap_checks = 0;
        self.polish_features = 0;
        self.working_set_rounds = 0;
        self.block_passes = 0;
        self.speculative_passes = 0;
        self.speculative_passes_used = 0;
    }
}

/// Identity of the problem whose data is on the device, so a path uploads X once: the
/// problem's unique id (X, y and the preprocessing are fixed for its lifetime). Never an
/// address: a new design can be allocated where a dropped one was.
#[derive(Clone, Copy, PartialEq, Eq)]
struct ProblemKey {
    /// X over the problem's rows ([`Problem::data_id`]).
    data: u64,
    /// The response ([`Problem::id`]).
    response: u64,
    n: usize,
    p: usize,
}

impl ProblemKey {
    fn of(pb: &Problem) -> Self {
        ProblemKey {
            data: pb.data_id(),
            response: pb.id(),
            n: pb.n(),
            p: pb.p(),
        }
    }

    /// Whether the device's X serves `other` (only y may need writing).
    fn same_data(&self, other: &ProblemKey) -> bool {
        (self.data, self.n, self.p) == (other.data, other.n, other.p)
    }
}

pub struct GpuBackend {
    ctx: GpuContext,
    kernels: Kernels,
    opts: GpuOptions,
    /// The problem on the device, with its step-size estimates once they were needed.
    resident: Option<(ProblemKey, Resident, Spectra)>,
    /// The design of the last batch, for block passes (`batch.rs`).
    block: Option<block::BlockResident>,
    /// The buffers of a batch's device subproblems (`sub_batch.rs`).
    sub_batch: Option<sub_batch::SubBatch>,
    /// FISTA steps each problem's last device subproblem took (by [`Problem::id`]): where
    /// its next one puts its first gap check.
    step_hints: std::collections::HashMap<u64, usize>,
    /// Whether gap checks carry the round's block pass, and the costs that decide it.
    speculation: speculation::Speculation,
    /// Why the last solve ran on the CPU ([`GpuOptions::cpu_fallback`]), for `device()`.
    fell_back: Option<String>,
    pub stats: GpuStats,
}

/// The largest value the device's f32 sums may reach in [`single_precision_limit`]: f32's
/// maximum is 3.4e38; the margin covers partial sums and the products of two such values.
const F32_SAFE: f64 = 1e36;

/// Why `pb` cannot be solved in f32 on the device, or `None`. The device forms `A v` (the step
/// size: up to `sigma_max^2 <= ||Xe||_F^2`; its Lanczos sums run on `A / ||Xe||_F^2`),
/// `||Xe^T r||^2` (up to
/// `||Xe||_F^2 ||yc||^2`), `||r||^2` and `||w||^2` (about `||yc||^2 / sigma^2`); data near
/// 1e20 overflow them while f64 holds them easily. Scaling on upload would keep them in range,
/// but the certificate filters with the device's f32 correlations in the problem's own units,
/// which would overflow in their turn, so the GPU declines such data instead.
pub fn single_precision_limit(pb: &Problem) -> Option<String> {
    let t = super::spectral::trace(pb);
    let yy = sq_norm(pb.yc());
    let w_scale = if t > 0.0 { yy / t } else { 0.0 };
    [
        ("||Xe||_F^2 (the step size's A v)", t),
        ("||Xe||_F^2 ||yc||^2 (the gap's ||X^T r||^2)", t * yy),
        ("||yc||^2", yy),
        ("||yc||^2 / ||Xe||_F^2 (the scale of ||w||^2)", w_scale),
    ]
    .into_iter()
    .find(|(_, v)| v.is_nan() || *v > F32_SAFE)
    .map(|(what, v)| {
        format!(
            "the data exceed single precision: the GPU computes in f32 (largest value 3.4e38) \
             and this problem's {what} is {v:.2e}, above the {F32_SAFE:.0e} its sums can hold \
             with room to spare"
        )
    })
    .or_else(|| standardized_column_beyond_f32(pb))
}

/// The smallest standard deviation of a standardized column that f32 holds to its full
/// relative precision: entries below f32's smallest normal number (1.2e-38) are flushed to
/// zero by GPUs, an error of eps (6e-8) of the column's scale at this one.
const F32_TINY_SCALE: f64 = 1e-30;

/// Under `--standardize` the problem's sums no longer show a column's raw magnitude (every
/// `||xe_j||^2` is the row count), but the device holds the raw X in f32: a column whose
/// entries are near 1e-40 would be zeros there, one near 1e40 infinities.
fn standardized_column_beyond_f32(pb: &Problem) -> Option<String> {
    if !pb.preprocess().standardize {
        return None;
    }
    let reach = (pb.n() as f64).sqrt();
    let (means, scales) = (pb.x_mean(), pb.x_scale());
    (0..pb.p())
        .find(|&j| {
            let (m, s) = (means[j], scales[j]);
            pb.col_sq_norms()[j] > 0.0 && (s < F32_TINY_SCALE || m.abs() + reach * s > F32_SAFE)
        })
        .map(|j| {
            format!(
                "the data exceed single precision: the GPU holds X in f32 (normal numbers \
                 from 1.2e-38 to 3.4e38) and column {j} has mean {:.2e} and standard \
                 deviation {:.2e}",
                means[j], scales[j]
            )
        })
}

/// What to do about [`single_precision_limit`].
const F32_ADVICE: &str = "divide X and y by powers of ten to bring their entries near 1 \
    (a Lasso solution scales back exactly), or use --device cpu (f64)";

impl GpuBackend {
    /// Opens a device and compiles the kernels.
    pub fn new(opts: GpuOptions) -> Result<GpuBackend> {
        let ctx = GpuContext::new(&opts.adapter)?;
        let mut config = KernelConfig::for_adapter(
            ctx.device_type,
            ctx.limits.max_compute_invocations_per_workgroup,
            ctx.limits.max_storage_buffers_per_shader_stage,
        )?;
        if let Some(x) = opts.max_grid_x {
            config.max_grid_x = x;
        }
        if let Some(params) = opts.params_binding {
            config.params = params;
        }
        let kernels = Kernels::new(&ctx.device, config);
        ctx.check("compiling the kernels")?;
        let mode = match opts.speculative_pass {
            Some(mode) => mode,
            None => speculation::SpeculativePass::from_env()?,
        };
        let speculation = speculation::Speculation::new(mode, ctx.report.is_software);
        Ok(GpuBackend {
            speculation,
            ctx,
            kernels,
            opts,
            resident: None,
            block: None,
            sub_batch: None,
            step_hints: std::collections::HashMap::new(),
            fell_back: None,
            stats: GpuStats::default(),
        })
    }

    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    pub fn kernels(&self) -> &Kernels {
        &self.kernels
    }

    fn memory_budget(&self) -> Result<Option<u64>> {
        if let Some(b) = self.opts.memory_budget {
            return Ok(Some(b));
        }
        // A budget the user set but that cannot be read must not be ignored silently.
        if let Ok(v) = std::env::var("LARIAT_GPU_MEMORY") {
            return v.trim().parse().map(Some).map_err(|_| {
                Error::invalid("LARIAT_GPU_MEMORY", format!("'{v}'"), "a number of bytes")
            });
        }
        if self.ctx.report.is_software {
            return Ok(system_available_memory());
        }
        Ok(None)
    }

    /// Takes the resident problem out of `self`, uploading it first unless it is already on
    /// the device. Put it back with `self.resident = ..`.
    fn take_resident(&mut self, pb: &Problem) -> Result<(ProblemKey, Resident, Spectra)> {
        let key = ProblemKey::of(pb);
        if let Some((held, res, sigma)) = self.resident.take() {
            if held == key {
                return Ok((held, res, sigma));
            }
            if held.same_data(&key) {
                // Another response on the same X (many responses in one batch): X, its
                // statistics and step size stay; only y is written.
                if let Some(why) = single_precision_limit(pb) {
                    return Err(Error::Gpu(format!("{why}; {F32_ADVICE}")));
                }
                res.write_response(&self.ctx, pb);
                return Ok((key, res, sigma));
            }
        }
        if let Some(why) = single_precision_limit(pb) {
            return Err(Error::Gpu(format!("{why}; {F32_ADVICE}")));
        }
        // One copy of X on the device at a time.
        self.block = None;
        self.check_memory(device_bytes(pb.n(), pb.p()), pb.n(), pb.p())?;
        let t0 = Instant::now();
        let res = Resident::upload(&self.ctx, &self.kernels, pb, self.opts.max_panel_cols)?;
        self.stats.upload_seconds = t0.elapsed().as_secs_f64();
        self.stats.n_panels = res.n_panels();
        Ok((key, res, Spectra::default()))
    }

    /// An error unless `need` bytes of device memory are available for an `n x p` problem.
    fn check_memory(&self, need: u64, n: usize, p: usize) -> Result<()> {
        match self.memory_budget()? {
            Some(avail) if need > avail => Err(Error::Gpu(format!(
                "a {n} x {p} problem needs {} of device memory, {} has {} available",
                bytes_label(need),
                self.ctx.report.name,
                bytes_label(avail)
            ))),
            _ => Ok(()),
        }
    }

    /// Uploads `pb` unless it is already on the device.
    pub fn upload(&mut self, pb: &Problem) -> Result<()> {
        let r = self.take_resident(pb)?;
        self.resident = Some(r);
        Ok(())
    }

    /// `sigma_max(Xe)^2` of the resident problem, by Lanczos on the device (once per upload).
    pub fn sigma_max_sq(&mut self, pb: &Problem) -> Result<f64> {
        self.spectrum(pb, Columns::AsTheyAre)
    }

    /// `sigma_max(Xe D^-1/2)^2` of the resident problem, its columns divided by the square
    /// roots of [`Resident::normalizer`] (unit `||xe_j||^2 / n`): the bound from which plain
    /// FISTA's preconditioned step is computed at every lambda ([`full_jacobi`]). Once per
    /// upload, by Lanczos on the device.
    pub fn normalized_sigma_max_sq(&mut self, pb: &Problem) -> Result<f64> {
        self.spectrum(pb, Columns::Normalized)
    }

    fn spectrum(&mut self, pb: &Problem, columns: Columns) -> Result<f64> {
        let (key, res, mut spectra) = self.take_resident(pb)?;
        let slot = match columns {
            Columns::AsTheyAre => &mut spectra.raw,
            Columns::Normalized => &mut spectra.normalized,
        };
        let out = match *slot {
            Some(s) => Ok(s),
            None => {
                let t0 = Instant::now();
                let mode = self.opts.lanczos;
                let s = lanczos_sigma_max_sq(&self.ctx, &self.kernels, &res, mode, columns);
                self.stats.step_size_seconds = t0.elapsed().as_secs_f64();
                s.map(|(est, steps)| {
                    self.stats.lanczos_steps = steps;
                    *slot = Some(est);
                    est
                })
            }
        };
        self.resident = Some((key, res, spectra));
        out
    }

    /// The design of the last batch on the device.
    pub fn block_resident(&self) -> Option<&block::BlockResident> {
        self.block.as_ref()
    }

    /// The problem currently on the device.
    pub fn resident(&self) -> Option<&Resident> {
        self.resident.as_ref().map(|r| &r.1)
    }
}

/// Bytes as a person reads them: GiB for large amounts, plain bytes below 1 GiB, where
/// "0.00 GiB" would hide the number.
fn bytes_label(b: u64) -> String {
    if b >= 1 << 30 {
        format!("{:.2} GiB ({b} bytes)", gib(b))
    } else {
        format!("{b} bytes")
    }
}

fn gib(b: u64) -> f64 {
    b as f64 / (1u64 << 30) as f64
}

/// MemAvailable from /proc/meminfo (software adapters allocate device memory there).
fn system_available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Where the vectors of the step-size Lanczos live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LanczosMode {
    /// On the host for small problems ([`HOST_LANCZOS_MAX_ENTRIES`]), else on the device.
    #[default]
    Auto,
    /// On the host in f64, reorthogonalised; only `A v` on the device (one read-back a step).
    Host,
    /// On the device in f32, coefficients included; read back in batches of steps.
    Device,
}

/// Host Lanczos when `k_max * p` is at most this: the working-set subproblems. There the f64
/// reorthogonalisation costs less than the device's passes, and a read-back of `p` floats a
/// step is cheap; wider problems keep their vectors on the device.
pub const HOST_LANCZOS_MAX_ENTRIES: usize = 1 << 18;

/// The device forms `A v` in f32 from X rounded to f32: its estimates came out up to 1e-5
/// below the exact f64 value (200 x 20000 Toeplitz; 1e-6 on the test families). Raising them by
/// ten times that keeps them from above, as the f64 ones are.
pub const F32_LANCZOS_ALLOWANCE: f64 = 1e-4;

/// The step-size estimates of a resident problem, each computed once per upload.
#[derive(Clone, Copy, Debug, Default)]
struct Spectra {
    raw: Option<f64>,
    normalized: Option<f64>,
}

/// Which operator a Lanczos run estimates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Columns {
    /// `Xe^T Xe`.
    AsTheyAre,
    /// `D^-1/2 Xe^T Xe D^-1/2`, `D` = [`Resident::normalizer`].
    Normalized,
}

/// `sigma_max^2` of `Xe` or of its normalised columns by Lanczos ([`crate::solver::spectral`],
/// which holds the stopping rule and the final bound for both drivers), with the steps it
/// took. The columns are divided on the device, so the device's and the host's recurrences
/// both see the normalised operator; they are restored afterwards.
fn lanczos_sigma_max_sq(
    ctx: &GpuContext,
    k: &Kernels,
    res: &Resident,
    mode: LanczosMode,
    columns: Columns,
) -> Result<(f64, usize)> {
    let normalized = columns == Columns::Normalized;
    res.set_columns_normalized(ctx, normalized);
    let trace = if normalized {
        res.normalized_trace
    } else {
        res.trace
    };
    res.write_lanczos_params(ctx, trace);
    let out = lanczos_with_trace(ctx, k, res, mode, trace);
    if normalized {
        res.set_columns_normalized(ctx, false);
    }
    out
}

fn lanczos_with_trace(
    ctx: &GpuContext,
    k: &Kernels,
    res: &Resident,
    mode: LanczosMode,
    trace: f64,
) -> Result<(f64, usize)> {
    let on_host = match mode {
        LanczosMode::Auto => max_steps(res.n, res.p) * res.p <= HOST_LANCZOS_MAX_ENTRIES,
        LanczosMode::Host => true,
        LanczosMode::Device => false,
    };
    let lz = if on_host {
        lanczos_host(res.n, res.p, |v, av| {
            let v32: Vec<f32> = v.iter().map(|&x| x as f32).collect();
            res.write_f32(ctx, &res.v, &v32);
            let g = run_and_read(
                ctx,
                "Lanczos A v",
                |pass| res.encode_lanczos_apply(k, pass),
                &res.g,
            )?;
            av.iter_mut().zip(&g).for_each(|(o, &gj)| *o = -(gj as f64));
            Ok::<(), Error>(())
        })?
    } else {
        lanczos_on_device(ctx, k, res)?
    };
    // The device ran on lanczos_scale * A (a power of two: exact); the host's vectors on A.
    let scale = if on_host {
        1.0
    } else {
        resident::lanczos_scale(trace)
    };
    let est = lz.estimate(trace * scale) / scale * (1.0 + F32_LANCZOS_ALLOWANCE);
    if !est.is_finite() {
        return Err(Error::Gpu(format!(
            "the step-size estimate (Lanczos) is {est} on a {} x {} problem",
            res.n, res.p
        )));
    }
    Ok((est, lz.steps()))
}

/// The device driver: batches of whole steps per submission (4, then doubling), one
/// read-back of their coefficients per batch, fed to the shared bookkeeping.
fn lanczos_on_device(ctx: &GpuContext, k: &Kernels, res: &Resident) -> Result<Lanczos> {
    let v0: Vec<f32> = start_vector(res.p).iter().map(|&x| x as f32).collect();
    res.write_f32(ctx, &res.v, &v0);
    res.write_f32(ctx, &res.u, &vec![0.0; res.p]);
    res.write_f32(ctx, &res.coef, &[0.0; 4]);
    let mut lz = Lanczos::new(res.n, res.p);
    let mut done = 0;
    loop {
        let batch = done.max(4).min(lz.k_max() - done);
        let coef = run_and_read(
            ctx,
            "Lanczos steps",
            |pass| {
                for _ in 0..batch {
                    res.encode_lanczos_step(k, pass);
                }
            },
            &res.coef,
        )?;
        for step in done..done + batch {
            let h = &coef[4 + 3 * step..4 + 3 * step + 3];
            if lz.push(h[0] as f64, h[1] as f64, h[2] as f64) {
                return Ok(lz);
            }
        }
        done += batch;
    }
}

impl Backend for GpuBackend {
    fn device(&self) -> String {
        match &self.fell_back {
            Some(why) => format!(
                "cpu (f64): {why}, so --device auto did not use {}",
                self.ctx.report.short()
            ),
            None => format!("gpu: {}", self.ctx.report.short()),
        }
    }

    fn solver(&self) -> String {
        "fista".into()
    }

    fn solve(
        &mut self,
        pb: &Problem,
        pen: &ElasticNet,
        warm: Option<&Warm>,
        params: &ValidParams,
    ) -> Result<Fit> {
        if batched(pb, pen, params) {
            let warms = [warm.copied()];
            return Ok(self
                .solve_batch(&[pb], std::slice::from_ref(pen), &warms, params)?
                .remove(0));
        }
        let before = self.ctx.counts.snapshot();
        let out = self.solve_counted(pb, pen, warm, params);
        self.stats.counts = self.ctx.counts.snapshot() - before;
        out.map(|mut fit| {
            fit.device_work = Some(self.stats.work(1));
            fit
        })
    }

    /// Working-set solves, of one problem or many, take the batch driver (`batch.rs`: block
    /// passes over all open problems at once, their subproblems together on the device); only
    /// plain FISTA over all of X (Ridge, or working sets turned off) takes its own device loop.
    fn solve_batch(
        &mut self,
        problems: &[&Problem],
        penalties: &[ElasticNet],
        warms: &[Option<Warm>],
        params: &ValidParams,
    ) -> Result<Vec<Fit>> {
        if let [pb] = problems {
            if !batched(pb, &penalties[0], params) {
                return Ok(vec![self.solve(
                    pb,
                    &penalties[0],
                    warms[0].as_ref(),
                    params,
                )?]);
            }
        }
        for (pb, warm) in problems.iter().zip(warms) {
            super::check_warm(pb, warm.as_ref())?;
        }
        self.fell_back = problems.iter().find_map(|pb| single_precision_limit(pb));
        if let Some(why) = &self.fell_back {
            if !self.opts.cpu_fallback {
                return Err(Error::Gpu(format!("{why}; {F32_ADVICE}")));
            }
            let mut cpu = super::CpuBackend::new(crate::params::Algorithm::Cd);
            return cpu.solve_batch(problems, penalties, warms, params);
        }
        let before = self.ctx.counts.snapshot();
        let out = super::batch::solve(self, problems, penalties, warms, params);
        self.stats.counts = self.ctx.counts.snapshot() - before;
        let work = self.stats.work(problems.len());
        out.map(|mut fits| {
            fits.iter_mut().for_each(|f| f.device_work = Some(work));
            fits
        })
    }
}

/// Whether `pb` at `pen` is solved by the batch driver: on working sets (they need an L1 term
/// to choose by) or on a subset of the rows (the plain loop's kernels work on all rows).
fn batched(pb: &Problem, pen: &ElasticNet, params: &ValidParams) -> bool {
    pb.rows() != &crate::problem::Rows::All
        || (params.screening.gpu_working_sets() && pen.l1() > 0.0)
}

impl GpuBackend {
    /// Plain FISTA over all of X on the device ([`Backend::solve`] of a problem that is not
    /// [`batched`]), whose device requests `solve` counts.
    fn solve_counted(
        &mut self,
        pb: &Problem,
        pen: &ElasticNet,
        warm: Option<&Warm>,
        params: &ValidParams,
    ) -> Result<Fit> {
        let p = pb.p();
        super::check_warm(pb, warm)?;
        self.fell_back = single_precision_limit(pb);
        if let Some(why) = &self.fell_back {
            if !self.opts.cpu_fallback {
                return Err(Error::Gpu(format!("{why}; {F32_ADVICE}")));
            }
            let mut fit = cd::solve(pb, pen, warm, params);
            fit.device = "cpu".into();
            return Ok(fit);
        }
        let yc_scale = sq_norm(pb.yc()) / pb.n() as f64;
        let gap_tol = pb.gap_tolerance(params.tol);
        let target = gap_tol.max(F32_GAP_FLOOR * yc_scale);
        self.stats.begin_solve();
        let start = screen_at_start(pb, pen, warm, params);
        // Gap Safe masks columns out of the device passes (hundreds per lambda).
        let masked = start
            .keep
            .iter()
            .zip(pb.col_sq_norms())
            .any(|(&k, &s)| !k && s != 0.0);
        let (pre, step) = self.fista_scaling(pb, pen)?;
        let (key, res, spectra) = self.take_resident(pb)?;
        res.write_f32(&self.ctx, &res.pre, &pre);
        res.set_screened(&self.ctx, masked.then_some(start.keep.as_slice()));
        let out = self
            .iterate(pb, pen, (Some(&start.w), params), &res, step, target)
            .and_then(|(w, n_iter, mut full_passes)| {
                // Masked columns have no correlation on the device yet: one more pass.
                if masked {
                    res.set_screened(&self.ctx, None);
                    full_passes += 1;
                }
                let certified = self.device_certificate(pb, pen, &w, &res, masked)?;
                full_passes += usize::from(certified.cert.exact_columns == p);
                Ok(Solved {
                    w,
                    n_iter,
                    full_passes,
                    certified,
                })
            });
        self.resident = Some((key, res, spectra));
        let Solved {
            w,
            n_iter,
            full_passes,
            certified: Certified { cert, dev },
        } = out?;
        self.stats.certify_exact_columns = cert.exact_columns;
        if let Some(status) = stop_status(cert.info.gap, gap_tol, n_iter, params.max_iter) {
            self.stats.polish_seconds = 0.0;
            let counts = (n_iter, full_passes);
            return Ok(Fit::finished(
                w, &cert.info, gap_tol, counts, status, "gpu", cert.grad,
            ));
        }
        // f32 could not certify the requested tolerance: finish in f64 on the CPU, first on
        // the few features that can matter, then (if that does not certify) on all.
        let t0 = Instant::now();
        let (mut polished, features) = match polish_candidates(pb, pen, &w, &cert, &dev, params) {
            Some(fit_and_size) => fit_and_size,
            None => (cd::solve(pb, pen, Some(&Warm::from_w(&w)), params), p),
        };
        self.stats.polish_features = features;
        self.stats.polish_seconds = t0.elapsed().as_secs_f64();
        polished.n_iter += n_iter;
        polished.full_passes += full_passes;
        polished.device = "gpu+cpu-polish".into();
        Ok(polished)
    }
}

/// Jacobi preconditioning of plain FISTA over all of X, as [`fista::jacobi`] does for a
/// working set: the factors `1 / h_j` of each coordinate's step (`h_j` by
/// [`fista::curvature`]) and the step. `h_j = c_j + l2` (`c_j = ||xe_j||^2 / n`) changes with
/// lambda, and a Lanczos run per lambda would cost tens of passes over X, so the bound comes
/// from the normalised columns' `sigma_d^2 = sigma_max(Xe_N D^-1/2)^2`, estimated once per
/// upload (`d = normalizer`, the columns N where it is positive). Over N, `H^-1/2 Xe^T Xe
/// H^-1/2 / n = S (D^-1/2 Xe^T Xe D^-1/2) S / n` with `S^2 = diag(c_j / h_j)`: at most `max
/// c_j / h_j * sigma_d^2 / n`. A non-zero column outside N adds at most its diagonal entry
/// `c_j / h_j` (the largest eigenvalue of a Gram matrix is at most the sum of its blocks'),
/// and the ridge part is at most `max l2 / h_j`. On standardized columns (`c_j = 1`) this is
/// plain FISTA's `1 / L` (up to the two Lanczos estimates).
fn full_jacobi(
    pb: &Problem,
    pen: &ElasticNet,
    normalizer: &[f64],
    sigma_d_sq: f64,
) -> (Vec<f32>, f64) {
    let n = pb.n() as f64;
    let (mut spread, mut apart, mut ridge) = (0f64, 0f64, 0f64);
    let pre = pb
        .col_sq_norms()
        .iter()
        .zip(normalizer)
        .map(|(&sq, &d)| {
            let h = fista::curvature(sq, n, pen.l2());
            if sq > 0.0 {
                let share = (sq / n) / h;
                if d > 0.0 {
                    spread = spread.max(share);
                } else {
                    apart += share;
                }
                ridge = ridge.max(pen.l2() / h);
            }
            // A column too small for f32 has no gradient there; its factor must stay finite,
            // and a vast one (a huge l2) non-zero: the restart test divides by it.
            ((1.0 / h) as f32).clamp(f32::MIN_POSITIVE, f32::MAX)
        })
        .collect();
    let smooth = spread * sigma_d_sq / n + apart;
    (pre, fista::preconditioned_step(smooth, ridge))
}

impl GpuBackend {
    /// The factors of each coordinate's step (`1 / h_j`) and the step of plain FISTA over all
    /// of X at `pen`: Jacobi-preconditioned ([`full_jacobi`]) unless
    /// [`fista::keeps_to_the_row_space`], then unit factors and `1 / L`. Uploads `pb` if
    /// needed.
    pub fn fista_scaling(&mut self, pb: &Problem, pen: &ElasticNet) -> Result<(Vec<f32>, f64)> {
        let n = pb.n() as f64;
        if fista::keeps_to_the_row_space(pb, pen) {
            let sigma_sq = self.sigma_max_sq(pb)?;
            let step = fista::preconditioned_step(sigma_sq / n, pen.l2());
            return Ok((vec![1.0; pb.p()], step));
        }
        let sigma_d_sq = self.normalized_sigma_max_sq(pb)?;
        let normalizer = &self.resident().expect("uploaded above").normalizer;
        Ok(full_jacobi(pb, pen, normalizer, sigma_d_sq))
    }

    /// The device loop: FISTA steps in batches, a gap check (partial sums only) after each.
    /// Returns the iterate, the steps taken and the full passes over X.
    fn iterate(
        &mut self,
        pb: &Problem,
        pen: &ElasticNet,
        (warm, params): (Option<&[f64]>, &ValidParams),
        res: &Resident,
        step: f64,
        target: f64,
    ) -> Result<(Vec<f64>, usize, usize)> {
        let p = pb.p();
        let (ctx, k) = (&self.ctx, &self.kernels);
        res.write_params(ctx, step, pen.l1(), pen.l2());
        let w0: Vec<f32> = match warm {
            Some(w) => w.iter().map(|&x| x as f32).collect(),
            None => vec![0.0; p],
        };
        res.write_f32(ctx, &res.w, &w0);
        res.write_f32(ctx, &res.z, &w0);
        res.write_f32(ctx, &res.state, &[1.0, 0.0]);

        let t0 = Instant::now();
        let mut n_iter = 0usize;
        let mut full_passes = 0usize;
        let mut every = FIRST_CHECK_EVERY;
        let mut history: Vec<f64> = Vec::new();
        let mut checks = 0usize;
        // Small problems (the working sets) read w with each gap check: 4 p bytes against a
        // round trip; wide ones download it once at the end.
        let with_w = p <= WITH_W_MAX_P;
        let mut last_w: Option<Vec<f32>> = None;
        loop {
            let steps = if history.is_empty() {
                0
            } else {
                every.min(params.max_iter - n_iter)
            };
            let encode = |pass: &mut wgpu::ComputePass| {
                for _ in 0..steps {
                    res.encode_fista_step(k, pass);
                }
                res.encode_gap_sums(k, pass);
            };
            let red = if with_w {
                // w comes back with every check, so the last one needs no read-back of its own.
                let mut both =
                    run_and_read_all(ctx, "FISTA iterations", encode, &[&res.red, &res.w])?;
                last_w = both.pop();
                both.pop().unwrap_or_default()
            } else {
                run_and_read(ctx, "FISTA iterations", encode, &res.red)?
            };
            n_iter += steps;
            full_passes += steps + 1;
            checks += 1;
            let scalars = finite_partials(&red, res.n_red)
                .map_err(|e| Error::Gpu(format!("{e} after {n_iter} FISTA steps")))?;
            let gap = pb.gap_from_scalars(&scalars, pen).gap;
            if !gap.is_finite() {
                return Err(Error::Gpu(format!(
                    "the GPU iteration diverged (gap {gap}) after {n_iter} steps"
                )));
            }
            history.push(gap);
            if gap <= target
                || n_iter >= params.max_iter
                || stalled(&history)
                || step == 0.0
                || crate::interrupt::requested()
            {
                break;
            }
            every = next_check_interval(&history, every, target);
        }
        self.stats.iterate_seconds += t0.elapsed().as_secs_f64();
        self.stats.gpu_iterations += n_iter;
        self.stats.gap_checks += checks;
        let w32 = match last_w {
            Some(w) => w,
            None => run_and_read(ctx, "download w", |_| {}, &res.w)?,
        };
        // A buffer of a reused working-set problem may hold more columns than this one.
        let w = w32[..p].iter().map(|&x| x as f64).collect();
        Ok((w, n_iter, full_passes))
    }
}

/// Adds the f32 partial sums of `reduce.wgsl` in f64.
pub fn sum_partials(red: &[f32], n_red: usize) -> GapScalars {
    let mut s = GapScalars::default();
    for b in 0..n_red {
        s.w_l1 += red[4 * b] as f64;
        s.w_sq += red[4 * b + 1] as f64;
        s.g_inf = s.g_inf.max(red[4 * b + 2] as f64);
        s.g_sq += red[4 * b + 3] as f64;
        s.r_sq += red[4 * n_red + 2 * b] as f64;
        s.r_yc += red[4 * n_red + 2 * b + 1] as f64;
    }
    s
}

/// The non-finite entries of `w`, `g` and `r` that the reductions counted (reduce.wgsl).
pub fn non_finite_count(red: &[f32], n_red: usize) -> f64 {
    red[6 * n_red..8 * n_red].iter().map(|&c| c as f64).sum()
}

/// [`sum_partials`], or an error when the device saw a NaN or an infinity in `w`, `g` or `r`
/// (f32 overflow or a poisoned input): never a gap computed without them.
pub fn finite_partials(red: &[f32], n_red: usize) -> Result<GapScalars> {
    let bad = non_finite_count(red, n_red);
    if bad > 0.0 || red[..8 * n_red].iter().any(|v| !v.is_finite()) {
        return Err(Error::Gpu(format!(
            "the device produced {bad} non-finite values (NaN or infinity) in w, X^T r or r"
        )));
    }
    Ok(sum_partials(red, n_red))
}

/// True when the last `STALL_CHECKS` gaps improved on the best before them by less than 10%.
fn stalled(history: &[f64]) -> bool {
    if history.len() <= STALL_CHECKS {
        return false;
    }
    let (before, recent) = history.split_at(history.len() - STALL_CHECKS);
    let best_before = before.iter().cloned().fold(f64::INFINITY, f64::min);
    let best_recent = recent.iter().cloned().fold(f64::INFINITY, f64::min);
    best_recent > 0.9 * best_before
}

/// Chooses how many iterations to run before the next gap check. Each check is a round trip
/// to the device, which on hardware costs as much as many steps of a small subproblem, so the
/// schedule aims to finish at the next check: the interval doubles until two gaps give a
/// rate, then covers the predicted remaining steps with a 20% margin. A gap that did not
/// fall (FISTA is not monotone) keeps the interval; [`stalled`] ends a solve stuck at f32.
fn next_check_interval(history: &[f64], every: usize, target: f64) -> usize {
    let n = history.len();
    if n < 2 {
        return (2 * every).min(MAX_CHECK_EVERY);
    }
    let (prev, cur) = (history[n - 2], history[n - 1]);
    if !(cur > 0.0 && prev > cur && cur > target) {
        return every;
    }
    let rate_per_step = (cur / prev).ln() / every as f64;
    let remaining = (target / cur).ln() / rate_per_step;
    (1.2 * remaining).clamp(FIRST_CHECK_EVERY as f64, MAX_CHECK_EVERY as f64) as usize
}

/// Used by `run_and_read` callers that need the active list (tests).
pub fn read_active(
    ctx: &GpuContext,
    k: &Kernels,
    res: &Resident,
    which: Vector,
) -> Result<Vec<u32>> {
    let meta = run_and_read(
        ctx,
        "compact",
        |pass| res.encode_compact(k, pass, which),
        &res.meta,
    )?;
    let count = meta[0].to_bits() as usize;
    let act = run_and_read(ctx, "read act", |_| {}, &res.act)?;
    Ok(act[..count].iter().map(|v| v.to_bits()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a linearly converging gap (FISTA's regime once the support settles) the schedule
    /// reaches the target within three gap checks and overshoots the steps needed by at most
    /// its margin: few round trips, little wasted work.
    #[test]
    fn check_schedule_finishes_in_three_checks_on_linear_convergence() {
        for rate in [0.5f64, 0.9, 0.97, 0.99, 0.997] {
            for ratio in [1e-2f64, 1e-4, 1e-6, 1e-8] {
                let (g0, target) = (1.0, ratio);
                let needed = (ratio.ln() / rate.ln()).ceil() as usize;
                let gap = |s: usize| g0 * rate.powi(s as i32);
                let (mut steps, mut every, mut checks) = (0, FIRST_CHECK_EVERY, 0);
                let mut history = Vec::new();
                loop {
                    steps += every;
                    checks += 1;
                    let g = gap(steps);
                    if g <= target || steps >= 100_000 {
                        break;
                    }
                    history.push(g);
                    every = next_check_interval(&history, every, target);
                }
                assert!(gap(steps) <= target, "rate {rate} ratio {ratio}");
                // Out of reach of three checks only when 10 + 20 + MAX_CHECK_EVERY is short.
                let reachable = needed <= 3 * FIRST_CHECK_EVERY + MAX_CHECK_EVERY;
                assert!(
                    !reachable || checks <= 3,
                    "rate {rate} ratio {ratio}: {checks} checks for {needed} steps"
                );
                assert!(
                    steps as f64 <= 1.25 * needed as f64 + 3.0 * FIRST_CHECK_EVERY as f64,
                    "rate {rate} ratio {ratio}: {steps} steps for {needed}"
                );
            }
        }
    }

    #[test]
    fn check_schedule_holds_its_interval_on_a_gap_that_rose() {
        assert_eq!(next_check_interval(&[1.0, 2.0], 40, 1e-6), 40);
        assert_eq!(next_check_interval(&[1.0], 10, 1e-6), 20);
    }
}
