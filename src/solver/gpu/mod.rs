//! The GPU backend: FISTA in f32 on the device (wgpu / WGSL), mirroring
//! [`crate::solver::fista`] step for step, judged by the same duality gap.
//!
//! The host uploads the problem once ([`resident::Resident`]), encodes many iterations per
//! submission, and reads back only the gap's partial sums every `k` iterations (`k` adapts to
//! the observed convergence rate). By default FISTA runs on working sets (`working_sets.rs`);
//! along a path, a warm start brings the previous lambda's certified correlations (`warm.rs`).
//! Every answer is certified by the f64 gap, with the device's correlations as a filter, and
//! polished in f64 on the CPU where f32 could not reach the tolerance (`finish.rs`,
//! "gpu+cpu-polish").

pub mod context;
mod finish;
pub mod kernels;
pub mod resident;
mod warm;
mod working_sets;

use std::time::Instant;

use self::context::{AdapterChoice, GpuContext};
use self::finish::{polish_candidates, Certified, Solved};
use self::kernels::{KernelConfig, Kernels};
use self::resident::{device_bytes, run_and_read, Resident, Vector};
use self::warm::screen_at_start;
use super::spectral::{start_vector, Lanczos, LanczosStep};
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
}

impl GpuStats {
    /// Zeroes what each solve adds up.
    fn begin_solve(&mut self) {
        self.iterate_seconds = 0.0;
        self.certify_seconds = 0.0;
        self.polish_seconds = 0.0;
        self.gpu_iterations = 0;
        self.gap_checks = 0;
        self.polish_features = 0;
    }
}

/// Identity of the problem whose data is on the device, so a path uploads X once.
#[derive(Clone, Copy, PartialEq, Eq)]
struct ProblemKey {
    design: usize,
    n: usize,
    p: usize,
    fit_intercept: bool,
    standardize: bool,
}

impl ProblemKey {
    fn of(pb: &Problem) -> Self {
        let prep = pb.preprocess();
        ProblemKey {
            design: pb.design() as *const dyn crate::design::Design as *const u8 as usize,
            n: pb.n(),
            p: pb.p(),
            fit_intercept: prep.fit_intercept,
            standardize: prep.standardize,
        }
    }
}

pub struct GpuBackend {
    ctx: GpuContext,
    kernels: Kernels,
    opts: GpuOptions,
    /// The problem on the device, with `sigma_max(Xe)^2` once a solve has needed it.
    resident: Option<(ProblemKey, Resident, Option<f64>)>,
    pub stats: GpuStats,
}

impl GpuBackend {
    /// Opens a device and compiles the kernels.
    pub fn new(opts: GpuOptions) -> Result<GpuBackend> {
        let ctx = GpuContext::new(&opts.adapter)?;
        let config = KernelConfig::for_adapter(
            ctx.device_type,
            ctx.limits.max_compute_invocations_per_workgroup,
        );
        let kernels = Kernels::new(&ctx.device, config);
        ctx.check("compiling the kernels")?;
        Ok(GpuBackend {
            ctx,
            kernels,
            opts,
            resident: None,
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
    fn take_resident(&mut self, pb: &Problem) -> Result<(ProblemKey, Resident, Option<f64>)> {
        let key = ProblemKey::of(pb);
        if let Some(r) = self.resident.take() {
            if r.0 == key {
                return Ok(r);
            }
        }
        let need = device_bytes(pb.n(), pb.p());
        if let Some(avail) = self.memory_budget()? {
            if need > avail {
                return Err(Error::Gpu(format!(
                    "a {} x {} problem needs {} of device memory, {} has {} available",
                    pb.n(),
                    pb.p(),
                    bytes_label(need),
                    self.ctx.report.name,
                    bytes_label(avail)
                )));
            }
        }
        let t0 = Instant::now();
        let res = Resident::upload(&self.ctx, &self.kernels, pb, self.opts.max_panel_cols)?;
        self.stats.upload_seconds = t0.elapsed().as_secs_f64();
        self.stats.n_panels = res.n_panels();
        Ok((key, res, None))
    }

    /// Uploads `pb` unless it is already on the device.
    pub fn upload(&mut self, pb: &Problem) -> Result<()> {
        let r = self.take_resident(pb)?;
        self.resident = Some(r);
        Ok(())
    }

    /// `sigma_max(Xe)^2` of the resident problem, by Lanczos on the device (once per upload).
    pub fn sigma_max_sq(&mut self, pb: &Problem) -> Result<f64> {
        let (key, res, sigma) = self.take_resident(pb)?;
        let out = match sigma {
            Some(s) => Ok(s),
            None => {
                let t0 = Instant::now();
                let s = lanczos_sigma_max_sq(&self.ctx, &self.kernels, &res);
                self.stats.step_size_seconds = t0.elapsed().as_secs_f64();
                s
            }
        };
        self.resident = Some((key, res, out.as_ref().ok().copied()));
        out
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

/// `sigma_max(Xe)^2` by Lanczos ([`crate::solver::spectral`]): the matrix-vector products and
/// dot products on the device, the tridiagonal bookkeeping on the host; one read-back of three
/// partial sums per step.
fn lanczos_sigma_max_sq(ctx: &GpuContext, k: &Kernels, res: &Resident) -> Result<f64> {
    let v0: Vec<f32> = start_vector(res.p).iter().map(|&x| x as f32).collect();
    res.set_screened(ctx, None);
    res.write_f32(ctx, &res.v, &v0);
    res.write_f32(ctx, &res.u, &vec![0.0; res.p]);
    res.write_params(ctx, 0.0, 0.0, 0.0);
    let mut lz = Lanczos::default();
    let mut advance = false;
    loop {
        let red = run_and_read(
            ctx,
            "Lanczos step",
            |pass| {
                if advance {
                    res.encode_lanczos_next(k, pass);
                }
                res.encode_lanczos_dots(k, pass);
            },
            &res.red,
        )?;
        let mut dots = [0.0f64; 3];
        for b in 0..res.n_red {
            for (d, part) in dots.iter_mut().zip(&red[3 * b..3 * b + 3]) {
                *d += *part as f64;
            }
        }
        if dots.iter().any(|d| !d.is_finite()) {
            return Err(Error::Gpu(format!("Lanczos produced {dots:?}")));
        }
        match lz.step(dots[0], dots[1], dots[2]) {
            LanczosStep::Done(est) => return Ok(est),
            LanczosStep::Next {
                alpha,
                beta,
                beta_next,
            } => {
                res.write_f32(
                    ctx,
                    &res.coef,
                    &[alpha as f32, beta as f32, beta_next as f32],
                );
                advance = true;
            }
        }
    }
}

impl Backend for GpuBackend {
    fn device(&self) -> String {
        format!("gpu: {}", self.ctx.report.short())
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
        let p = pb.p();
        if let Some(h) = warm {
            if h.w.len() != p {
                return Err(Error::Shape {
                    what: format!("warm start has {} coefficients, problem has {p}", h.w.len()),
                });
            }
        }
        let yc_scale = sq_norm(pb.yc()) / pb.n() as f64;
        let gap_tol = pb.gap_tolerance(params.tol);
        let target = gap_tol.max(F32_GAP_FLOOR * yc_scale);
        self.stats.begin_solve();
        let start = screen_at_start(pb, pen, warm, params);
        // Working sets need an L1 term to choose by (Ridge: every feature is in the model).
        let working_sets = params.screening.gpu_working_sets() && pen.l1() > 0.0;
        // Gap Safe masks columns out of the device passes of plain FISTA (hundreds per lambda).
        // With working sets every device pass is a check that may be the last, whose
        // correlations the certificate needs unmasked: there it narrows the working sets.
        let masked = !working_sets
            && start
                .keep
                .iter()
                .zip(pb.col_sq_norms())
                .any(|(&k, &s)| !k && s != 0.0);
        let (key, res, sigma) = if working_sets {
            self.take_resident(pb)?
        } else {
            self.sigma_max_sq(pb)?;
            self.take_resident(pb)?
        };
        let out = if working_sets {
            self.iterate_working_sets(pb, pen, start, params, &res, target)
        } else {
            // Plain FISTA over all of X (Gap Safe still skips what it proves zero).
            let sigma_sq = sigma.expect("computed above");
            let lip = fista::LIPSCHITZ_MARGIN * sigma_sq / pb.n() as f64 + pen.l2();
            let step = if lip > 0.0 { 1.0 / lip } else { 0.0 };
            res.set_screened(&self.ctx, masked.then_some(start.keep.as_slice()));
            self.iterate(pb, pen, (Some(&start.w), params), &res, step, target)
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
                })
        };
        self.resident = Some((key, res, sigma));
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

impl GpuBackend {
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
        loop {
            let steps = if history.is_empty() {
                0
            } else {
                every.min(params.max_iter - n_iter)
            };
            let red = run_and_read(
                ctx,
                "FISTA iterations",
                |pass| {
                    for _ in 0..steps {
                        res.encode_fista_step(k, pass);
                    }
                    res.encode_gap_sums(k, pass);
                },
                &res.red,
            )?;
            n_iter += steps;
            full_passes += steps + 1;
            checks += 1;
            let gap = pb.gap_from_scalars(&sum_partials(&red, res.n_red), pen).gap;
            if !gap.is_finite() {
                return Err(Error::Gpu(format!(
                    "the GPU iteration diverged (gap {gap}) after {n_iter} steps"
                )));
            }
            history.push(gap);
            if gap <= target || n_iter >= params.max_iter || stalled(&history) || step == 0.0 {
                break;
            }
            every = next_check_interval(&history, every, target);
        }
        self.stats.iterate_seconds += t0.elapsed().as_secs_f64();
        self.stats.gpu_iterations += n_iter;
        self.stats.gap_checks += checks;
        let w32 = run_and_read(ctx, "download w", |_| {}, &res.w)?;
        Ok((w32.iter().map(|&x| x as f64).collect(), n_iter, full_passes))
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

/// Chooses how many iterations to run before the next gap check, from the rate observed
/// between the last two checks: aim for half the predicted remaining steps, so read-backs stay
/// rare on long solves and the overshoot stays small on short ones.
fn next_check_interval(history: &[f64], every: usize, target: f64) -> usize {
    let n = history.len();
    if n < 3 {
        return every;
    }
    let (prev, cur) = (history[n - 2], history[n - 1]);
    if !(cur > 0.0 && prev > cur) || cur < 10.0 * target {
        // Not converging cleanly, or nearly there: check often so a stall costs little.
        return FIRST_CHECK_EVERY;
    }
    let rate_per_step = (cur / prev).ln() / every as f64;
    let remaining = (target / cur).ln() / rate_per_step;
    (0.5 * remaining).clamp(FIRST_CHECK_EVERY as f64, MAX_CHECK_EVERY as f64) as usize
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
