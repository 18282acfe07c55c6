//! The GPU backend: FISTA in f32 on the device (wgpu / WGSL), mirroring
//! [`crate::solver::fista`] step for step, judged by the same duality gap.
//!
//! The host uploads the problem once ([`resident::Resident`]), encodes many iterations per
//! submission, and reads back only the gap's partial sums every `k` iterations (`k` adapts to
//! the observed convergence rate). When the GPU's f32 gap meets the target, the solution is
//! certified by the f64 gap on the CPU; if f32 could not get there, an f64 CPU coordinate
//! descent warm-started from the GPU answer finishes the job ("gpu+cpu-polish").

pub mod context;
pub mod kernels;
pub mod resident;

use std::time::Instant;

use self::context::{AdapterChoice, GpuContext};
use self::kernels::{KernelConfig, Kernels};
use self::resident::{device_bytes, run_and_read, Resident, Vector};
use super::certificate::{certify, Certificate, DeviceCorrelations};
use super::screening::{gap_safe_screen, strong_set, working_set};
use super::spectral::{start_vector, Lanczos, LanczosStep};
use super::{cd, fista, stop_status, Backend, Fit, Warm};
use crate::design::Columns;
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
/// Smallest GPU working set.
const WS_MIN: usize = 64;
/// A working-set subproblem is solved until its gap is this fraction of the global gap.
/// celer uses 0.3; on the GPU a pass over all of X costs far more than a subproblem step, so
/// solving deeper pays (lavapipe, 20-lambda path on 200 x 8000: 17.1 -> 8.5 passes per lambda).
const WS_GAP_FRACTION: f64 = 0.01;
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

/// Statistics of the last solve, for `lariat bench` and reports.
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

    fn memory_budget(&self) -> Option<u64> {
        if let Some(b) = self.opts.memory_budget {
            return Some(b);
        }
        if let Some(b) = std::env::var("LARIAT_GPU_MEMORY")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            return Some(b);
        }
        if self.ctx.report.is_software {
            return system_available_memory();
        }
        None
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
        if let Some(avail) = self.memory_budget() {
            if need > avail {
                return Err(Error::Gpu(format!(
                    "a {} x {} problem needs {:.2} GiB of device memory, {} has {:.2} GiB available",
                    pb.n(),
                    pb.p(),
                    gib(need),
                    self.ctx.report.name,
                    gib(avail)
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
        let start = screen_at_start(pb, pen, warm, params);
        // Gap Safe masks columns out of the device passes of plain FISTA (hundreds per lambda).
        // With working sets every device pass is a check that may be the last, whose
        // correlations the certificate needs unmasked: there it only narrows the working set.
        let masked = !params.screening.gpu_working_sets()
            && start
                .keep
                .iter()
                .zip(pb.col_sq_norms())
                .any(|(&k, &s)| !k && s != 0.0);
        let (key, res, sigma) = if params.screening.gpu_working_sets() {
            self.take_resident(pb)?
        } else {
            self.sigma_max_sq(pb)?;
            self.take_resident(pb)?
        };
        let out = if params.screening.gpu_working_sets() {
            self.iterate_working_sets(pb, pen, start, params, &res, target)
        } else {
            // Plain FISTA over all of X (Gap Safe still skips what it proves zero).
            let sigma_sq = sigma.expect("computed above");
            let lip = fista::LIPSCHITZ_MARGIN * sigma_sq / pb.n() as f64 + pen.l2();
            let step = if lip > 0.0 { 1.0 / lip } else { 0.0 };
            res.set_screened(&self.ctx, Some(&start.keep));
            self.iterate(pb, pen, (Some(&start.w), params), &res, step, target)
                .map(|(w, n_iter, full_passes)| Solved {
                    w,
                    n_iter,
                    full_passes,
                    exact_grad: None,
                })
        };
        let certified = out.and_then(|solved| {
            let Solved {
                w,
                n_iter,
                full_passes: passes,
                exact_grad,
            } = solved;
            let t0 = Instant::now();
            let (cert, cert_passes, dev) = self.certify(pb, pen, &w, exact_grad, &res, masked)?;
            self.stats.certify_seconds = t0.elapsed().as_secs_f64();
            self.stats.certify_exact_columns = cert.exact_columns;
            Ok((w, n_iter, passes + cert_passes, cert, dev))
        });
        self.resident = Some((key, res, sigma));
        let (w, n_iter, full_passes, cert, dev) = certified?;
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

/// Features within this fraction of the L1 bound are polished with the support.
const POLISH_MARGIN: f64 = 0.1;

/// The f64 polish without a pass over X: coordinate descent on the support and the features
/// whose correlation is within [`POLISH_MARGIN`] of the L1 bound, then the certificate over
/// all features, filtered by the device's correlations at the GPU's answer. `None` when the
/// candidates are too many for this to pay or the result does not certify.
fn polish_candidates(
    pb: &Problem,
    pen: &ElasticNet,
    w: &[f64],
    cert: &Certificate,
    dev: &DeviceCorrelations,
    params: &ValidParams,
) -> Option<(Fit, usize)> {
    let (n, p) = (pb.n() as f64, pb.p());
    let nl1 = n * pen.l1();
    if nl1 <= 0.0 {
        return None;
    }
    let alive = pb.col_sq_norms();
    let set: Vec<usize> = (0..p)
        .filter(|&j| alive[j] != 0.0)
        .filter(|&j| {
            w[j] != 0.0 || (cert.grad[j] - n * pen.l2() * w[j]).abs() >= (1.0 - POLISH_MARGIN) * nl1
        })
        .collect();
    if set.is_empty() || 4 * set.len() > p {
        return None;
    }
    let sub_design = Columns::new(pb.design(), set.clone());
    let sub = Problem::new(&sub_design, pb.yc(), pb.preprocess()).ok()?;
    let w0: Vec<f64> = set.iter().map(|&j| w[j]).collect();
    // Half the tolerance: the features left out may add to the gap.
    let sub_params = ValidParams {
        tol: 0.5 * params.tol,
        ..*params
    };
    let sub_fit = cd::solve(&sub, pen, Some(&Warm::from_w(&w0)), &sub_params);
    let mut w = w.to_vec();
    for (&j, &v) in set.iter().zip(&sub_fit.w) {
        w[j] = v;
    }
    let cert = certify(pb, pen, &w, Some(dev));
    let gap_tol = pb.gap_tolerance(params.tol);
    let status = stop_status(cert.info.gap, gap_tol, 0, usize::MAX)?;
    let full_passes = usize::from(cert.exact_columns == p);
    let counts = (sub_fit.n_iter, full_passes);
    let fit = Fit::finished(
        w,
        &cert.info,
        gap_tol,
        counts,
        status,
        "gpu+cpu-polish",
        cert.grad,
    );
    Some((fit, set.len()))
}

/// Where a GPU solve starts: the warm start with what the previous lambda's f64 certificate
/// allows. Its exact correlations give the gap at the new lambda with no pass over X, the
/// sequential strong set, and a Gap Safe test in f64 (safe, unlike one from f32 sums).
struct Start {
    w: Vec<f64>,
    /// Features not proven zero (dead columns and Gap Safe discards are false).
    keep: Vec<bool>,
    /// `Xe^T r` at `w` in f64 and the gap there, when the warm start brought them.
    exact: Option<(Vec<f64>, f64)>,
    /// The sequential strong set, when the strong rule is on and applies.
    strong: Option<Vec<usize>>,
}

/// What a device loop returns: the iterate, its cost, and `Xe^T r` at it in f64 when that is
/// known exactly (the loop ended where it started).
struct Solved {
    w: Vec<f64>,
    n_iter: usize,
    full_passes: usize,
    exact_grad: Option<Vec<f64>>,
}

fn screen_at_start(
    pb: &Problem,
    pen: &ElasticNet,
    warm: Option<&Warm>,
    params: &ValidParams,
) -> Start {
    let p = pb.p();
    let mut keep: Vec<bool> = pb.col_sq_norms().iter().map(|&s| s != 0.0).collect();
    let mut w = warm.map_or_else(|| vec![0.0; p], |h| h.w.to_vec());
    for j in 0..p {
        if !keep[j] {
            w[j] = 0.0;
        }
    }
    let mut start = Start {
        w,
        keep,
        exact: None,
        strong: None,
    };
    let Some(Warm {
        lambda: Some(prev_lambda),
        grad: Some(prev_g),
        w: prev_w,
    }) = warm
    else {
        return start;
    };
    if pen.l1() <= 0.0 || prev_g.len() != p || start.w.as_slice() != *prev_w {
        return start;
    }
    let screen = params.screening;
    let r = pb.residual(&start.w);
    let gap = pb.duality_gap_from(&start.w, &r, prev_g, pen).gap;
    if screen.gap_safe {
        keep = std::mem::take(&mut start.keep);
        let dropped = gap_safe_screen(pb, pen, &start.w, prev_g, gap, &mut keep);
        start.keep = keep;
        if dropped.iter().any(|&j| start.w[j] != 0.0) {
            // A non-zero proven zero (lambdas out of order): drop it; the correlations no
            // longer match w, so the first gap comes from the device.
            for &j in &dropped {
                start.w[j] = 0.0;
            }
            return start;
        }
    }
    if screen.strong_rule {
        start.strong = Some(strong_set(
            pb,
            pen,
            *prev_lambda,
            prev_w,
            prev_g,
            &start.keep,
        ));
    }
    start.exact = Some((prev_g.to_vec(), gap));
    start
}

impl GpuBackend {
    /// The f64 certificate of `w` ([`certificate::certify`]): from the exact correlations when
    /// `w` is the warm start that brought them, else with the device's f32 correlations at `w`
    /// (in `res`, unmasked first if Gap Safe masked columns) as a filter. Returns the full
    /// passes over X it took (device or host).
    fn certify(
        &self,
        pb: &Problem,
        pen: &ElasticNet,
        w: &[f64],
        exact: Option<Vec<f64>>,
        res: &Resident,
        masked: bool,
    ) -> Result<(Certificate, usize, DeviceCorrelations)> {
        if let Some(grad) = exact {
            let r = pb.residual(w);
            let info = pb.duality_gap_from(w, &r, &grad, pen);
            // Exact values rounded to f32 are within the bound: a filter for a polish.
            let dev = DeviceCorrelations {
                g: grad.iter().map(|&v| v as f32).collect(),
                r: r.iter().map(|&v| v as f32).collect(),
            };
            let cert = Certificate {
                info,
                grad,
                exact_columns: 0,
            };
            return Ok((cert, 0, dev));
        }
        let mut passes = 0;
        let (ctx, k) = (&self.ctx, &self.kernels);
        if masked {
            res.set_screened(ctx, None);
            let w32: Vec<f32> = w.iter().map(|&v| v as f32).collect();
            res.write_f32(ctx, &res.w, &w32);
            run_and_read(
                ctx,
                "unmasked pass",
                |pass| res.encode_gap_sums(k, pass),
                &res.red,
            )?;
            passes += 1;
        }
        let mut g = run_and_read(ctx, "read g", |_| {}, &res.g)?;
        let mut r = run_and_read(ctx, "read r", |_| {}, &res.r)?;
        g.truncate(pb.p());
        r.truncate(pb.n());
        let dev = DeviceCorrelations { g, r };
        let cert = certify(pb, pen, w, Some(&dev));
        if cert.exact_columns == pb.p() {
            passes += 1;
        }
        Ok((cert, passes, dev))
    }

    /// Working sets on the device: the global gap and correlations from one pass over X (the
    /// columns Gap Safe kept), the working set chosen on the host, its columns gathered once
    /// into a compact device buffer, and FISTA on that small problem until its gap is
    /// [`WS_GAP_FRACTION`] of the global one; repeat. Full passes over X: one per outer
    /// iteration. Along a path the first working set is the strong set, solved to the target
    /// at once: the pass after it is the strong rule's KKT check.
    fn iterate_working_sets(
        &mut self,
        pb: &Problem,
        pen: &ElasticNet,
        start: Start,
        params: &ValidParams,
        res: &Resident,
        target: f64,
    ) -> Result<Solved> {
        let Start {
            mut w,
            keep,
            mut exact,
            mut strong,
        } = start;
        let nnz = |w: &[f64]| w.iter().filter(|&&v| v != 0.0).count();
        let mut ws_size = WS_MIN.max(2 * nnz(&w));
        let (mut n_iter, mut full_passes) = (0usize, 0usize);
        let mut prev_gap = f64::INFINITY;
        let mut history: Vec<f64> = Vec::new();
        res.write_params(&self.ctx, 0.0, pen.l1(), pen.l2());
        res.set_screened(&self.ctx, None);
        loop {
            let (ctx, k) = (&self.ctx, &self.kernels);
            let from_start = exact.is_some();
            let (g, gap) = match exact.take() {
                Some(known) => known,
                None => {
                    let w32: Vec<f32> = w.iter().map(|&v| v as f32).collect();
                    res.write_f32(ctx, &res.w, &w32);
                    let red = run_and_read(
                        ctx,
                        "global gap",
                        |pass| res.encode_gap_sums(k, pass),
                        &res.red,
                    )?;
                    full_passes += 1;
                    let gap = pb.gap_from_scalars(&sum_partials(&red, res.n_red), pen).gap;
                    let g: Vec<f64> = run_and_read(ctx, "read g", |_| {}, &res.g)?
                        .iter()
                        .map(|&v| v as f64)
                        .collect();
                    (g, gap)
                }
            };
            history.push(gap);
            // Stalled at f32 precision: the f64 check (and polish) takes it from here.
            if gap <= target || n_iter >= params.max_iter || !gap.is_finite() || stalled(&history) {
                // The device's g and r are at w, unless w is the start, known exactly.
                return Ok(Solved {
                    w,
                    n_iter,
                    full_passes,
                    exact_grad: from_start.then_some(g),
                });
            }
            if gap > 0.5 * prev_gap {
                ws_size = ws_size.saturating_mul(2);
            }
            prev_gap = gap;
            ws_size = ws_size.max(2 * nnz(&w));
            let ws = match strong.take() {
                Some(mut s) => {
                    s.extend(working_set(pb, pen, &w, &g, &keep, 0));
                    s.sort_unstable();
                    s.dedup();
                    s
                }
                None => working_set(pb, pen, &w, &g, &keep, ws_size),
            };
            let sub_target = (WS_GAP_FRACTION * gap).max(0.5 * target);
            let sub_design = Columns::new(pb.design(), ws.clone());
            let sub = Problem::new(&sub_design, pb.yc(), pb.preprocess())?;
            let sub_res = Resident::upload(ctx, k, &sub, self.opts.max_panel_cols)?;
            let sigma_sq = lanczos_sigma_max_sq(ctx, k, &sub_res)?;
            let lip = fista::LIPSCHITZ_MARGIN * sigma_sq / pb.n() as f64 + pen.l2();
            let step = if lip > 0.0 { 1.0 / lip } else { 0.0 };
            let sub_w0: Vec<f64> = ws.iter().map(|&j| w[j]).collect();
            let sub_params = ValidParams {
                max_iter: params.max_iter - n_iter,
                ..*params
            };
            let (sub_w, it, _) = self.iterate(
                &sub,
                pen,
                (Some(&sub_w0), &sub_params),
                &sub_res,
                step,
                sub_target,
            )?;
            n_iter += it.max(1);
            for (&j, &v) in ws.iter().zip(&sub_w) {
                w[j] = v;
            }
        }
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
        self.stats.iterate_seconds = t0.elapsed().as_secs_f64();
        self.stats.gpu_iterations = n_iter;
        self.stats.gap_checks = checks;
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
