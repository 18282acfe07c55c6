//! A problem resident on the device: X uploaded once as f32 column panels, every vector the
//! iteration needs, and the bind groups, built once. Per iteration the host only encodes
//! dispatches; it reads back only the few partial sums of a gap check.

use wgpu::util::DeviceExt;

use super::context::GpuContext;
use super::kernels::{Kernels, Panel, Params};
use crate::error::{Error, Result};
use crate::problem::Problem;
use crate::solver::spectral::{self, LANCZOS_MAX_STEPS};

/// Floats of the device's Lanczos coefficients: 4 scalars, then 3 per step (lanczos.wgsl).
pub const LANCZOS_COEF_LEN: usize = 4 + 3 * LANCZOS_MAX_STEPS;

/// Workgroups of the strided reductions: enough to fill a GPU, few enough that the host reads
/// back a handful of floats.
const MAX_RED_WORKGROUPS: usize = 256;
/// Active columns per residual chunk: long enough to amortise the binary search, short enough
/// that a dense vector spreads over many workgroups.
const CHUNK_LEN: usize = 256;

struct PanelBuffers {
    /// Columns of the problem now loaded in this panel (0 for a spare panel of a capacity).
    ncols: usize,
    x: wgpu::Buffer,
    /// The panel's `Panel` uniform, rewritten by `fill`.
    uniform: wgpu::Buffer,
    residual_y: wgpu::BindGroup,
    residual_zero: wgpu::BindGroup,
    gradient: wgpu::BindGroup,
}

/// Which vector a residual / gap pass is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vector {
    /// The FISTA extrapolation point `z`.
    Z,
    /// The iterate `w`.
    W,
    /// The Lanczos vector.
    V,
}

pub struct Resident {
    pub n: usize,
    pub p: usize,
    /// Columns the buffers are sized for (`p` unless uploaded with a capacity).
    capacity: usize,
    /// Columns per panel of the allocation.
    per_panel: usize,
    /// `trace(Xe^T Xe)` in f64, the ceiling of the step-size estimate.
    pub trace: f64,
    /// `d_j`, by whose square roots the columns are divided for the Lanczos estimate of
    /// preconditioned FISTA's step ([`Resident::set_columns_normalized`]): `||xe_j||^2 / n`,
    /// so that every column has `||xe_j||^2 = n`; 0 for a column left out of that operator, a
    /// zero column or one whose divided scale would not be a normal f32.
    pub normalizer: Vec<f64>,
    /// `trace(D^-1/2 Xe^T Xe D^-1/2)` over the normalised columns: `n` times their count.
    pub normalized_trace: f64,
    pub n_blocks: usize,
    pub n_red: usize,
    n_chunks: usize,
    chunk_len: usize,
    wg: usize,
    cols_per_wg: usize,
    pub params: wgpu::Buffer,
    pub w: wgpu::Buffer,
    pub z: wgpu::Buffer,
    pub v: wgpu::Buffer,
    pub g: wgpu::Buffer,
    pub r: wgpu::Buffer,
    pub state: wgpu::Buffer,
    pub red: wgpu::Buffer,
    pub u: wgpu::Buffer,
    pub coef: wgpu::Buffer,
    pub act: wgpu::Buffer,
    pub act_val: wgpu::Buffer,
    pub meta: wgpu::Buffer,
    pub w_new: wgpu::Buffer,
    pub y: wgpu::Buffer,
    /// `1 / h_j`, the factors of preconditioned FISTA's steps (fista.wgsl), written per solve.
    pub pre: wgpu::Buffer,
    /// `1 / s_j`, 0 for dead columns; on the device, also 0 for screened-out columns, and
    /// divided by `sqrt(d_j)` during a normalised Lanczos run.
    inv_scale: wgpu::Buffer,
    inv_scale_host: Vec<f32>,
    mean: wgpu::Buffer,
    /// Whether the device's `inv_scale` has columns screened out (so unmasking is a no-op
    /// when it has none, as along a whole working-set path).
    masked: std::cell::Cell<bool>,
    panels: Vec<PanelBuffers>,
    compact_z: wgpu::BindGroup,
    compact_w: wgpu::BindGroup,
    compact_v: wgpu::BindGroup,
    fista: wgpu::BindGroup,
    reduce: wgpu::BindGroup,
    lanczos: wgpu::BindGroup,
}

/// Bytes of device memory a problem needs (X in f32 plus the vectors).
pub fn device_bytes(n: usize, p: usize) -> u64 {
    4 * (n as u64 * p as u64 + 12 * p as u64 + 4 * n as u64) + 64 * 1024
}

/// The power of two nearest `1 / trace(A)`: the device Lanczos runs on this times `A`
/// (lanczos.wgsl), so that `||A v||^2` stays O(1) in f32.
pub fn lanczos_scale(trace: f64) -> f64 {
    if trace > 0.0 && trace.is_finite() {
        // Within f32's normal range either way.
        (-trace.log2().round().clamp(-120.0, 120.0)).exp2()
    } else {
        1.0
    }
}

/// `d_j` of a column with `||xe_j||^2 / n = c` and device scale `inv_scale`: `c`, or 0 (left
/// out; the step's bound counts it apart) for a zero column and where `inv_scale / sqrt(c)`
/// is not a normal f32: entries whose spread is below f32's normal range, flushed on the
/// device anyway.
fn column_normalizer(c: f64, inv_scale: f32) -> f64 {
    let divided = (inv_scale as f64 / c.sqrt()) as f32;
    if c > 0.0 && c.is_finite() && divided.is_normal() {
        c
    } else {
        0.0
    }
}

/// Columns per panel so that one panel fits one storage binding.
pub fn panel_cols(n: usize, p: usize, max_binding: u64, forced: Option<usize>) -> usize {
    let fit = (max_binding / (4 * n as u64)).max(1) as usize;
    forced.unwrap_or(fit).clamp(1, fit).min(p)
}

pub(super) fn storage(ctx: &GpuContext, label: &str, bytes: usize) -> wgpu::Buffer {
    ctx.counts.buffer();
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: (bytes.max(4)).next_multiple_of(4) as u64,
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_DST
            | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    })
}

pub(super) fn uniform_init(ctx: &GpuContext, label: &str, data: &[u8]) -> wgpu::Buffer {
    ctx.counts.buffer();
    ctx.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: data,
            // Bound as a uniform or a read-only storage buffer (kernels::ParamsBinding).
            usage: wgpu::BufferUsages::UNIFORM
                | wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_DST,
        })
}

impl Resident {
    /// Uploads the problem: X as f32 panels, centred y, column means and inverse scales.
    pub fn upload(
        ctx: &GpuContext,
        kernels: &Kernels,
        pb: &Problem,
        forced_panel_cols: Option<usize>,
    ) -> Result<Resident> {
        Self::upload_with_capacity(ctx, kernels, pb, forced_panel_cols, pb.p())
    }

    /// [`Resident::upload`] into buffers sized for `capacity` columns (at least `pb.p()`), so
    /// that later problems of as many rows and at most that many columns are loaded into them
    /// with [`Resident::refill`]: no buffer or bind group is created again (the working sets).
    pub fn upload_with_capacity(
        ctx: &GpuContext,
        kernels: &Kernels,
        pb: &Problem,
        forced_panel_cols: Option<usize>,
        capacity: usize,
    ) -> Result<Resident> {
        // The plain loop's kernels work on all rows; row subsets go to the batch driver.
        assert_eq!(
            pb.n(),
            pb.n_rows(),
            "a resident problem is fitted on all rows"
        );
        let (n, p) = (pb.n(), pb.p());
        let cap = capacity.max(p);
        let max_binding = ctx.max_binding();
        for (what, len) in [("p (columns)", cap), ("n (rows)", n)] {
            if 4 * len as u64 > max_binding {
                return Err(Error::Gpu(format!(
                    "{what} = {len} needs vectors of {} bytes; {} allows {max_binding} per binding",
                    4 * len,
                    ctx.report.name
                )));
            }
        }
        let wg = kernels.config.wg as usize;
        let cols_per_wg = (kernels.config.wg / kernels.config.tpc) as usize;
        let n_blocks = cap.div_ceil(wg);
        let n_red = n_blocks.clamp(1, MAX_RED_WORKGROUPS);

        let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let mean = storage(ctx, "mean", 4 * cap);
        let inv_scale = storage(ctx, "inv_scale", 4 * cap);
        let y = storage(ctx, "y", 4 * n);
        let zeros = storage(ctx, "zeros_n", 4 * n);
        let r = storage(ctx, "r", 4 * n);
        let vec_p = |label| storage(ctx, label, 4 * cap);
        let (w, z, v, g, w_new, act_val) = (
            vec_p("w"),
            vec_p("z"),
            vec_p("v"),
            vec_p("g"),
            vec_p("w_new"),
            vec_p("act_val"),
        );
        let act = vec_p("act");
        let pre = vec_p("pre");
        let block_count = storage(ctx, "block_count", 4 * n_blocks);
        let block_offset = storage(ctx, "block_offset", 4 * n_blocks);
        let partial = storage(ctx, "partial", 4 * n_blocks);
        let per_panel = panel_cols(n, cap, max_binding, forced_panel_cols);
        let n_panels = cap.div_ceil(per_panel);
        // Chunk partials (n per chunk) must fit one binding too.
        let max_chunks = ((max_binding / 2) / (4 * n as u64)).max(1) as usize;
        let chunk_len = CHUNK_LEN.max(cap.div_ceil(max_chunks.saturating_sub(n_panels).max(1)));
        let n_chunks: usize = (0..n_panels)
            .map(|k| (per_panel.min(cap - k * per_panel)).div_ceil(chunk_len))
            .sum();
        let chunk_partial = storage(ctx, "residual chunks", 4 * n * n_chunks);
        let panel_chunks = storage(ctx, "active chunks per panel", 8 * n_panels);
        let meta = storage(ctx, "meta", 8);
        let state = storage(ctx, "state", 8);
        let red = storage(ctx, "red", 4 * 8 * n_red);
        let u = vec_p("u");
        let coef = storage(ctx, "lanczos coef", 4 * LANCZOS_COEF_LEN);
        let params = uniform_init(ctx, "params", bytemuck::bytes_of(&Params::default()));
        // Sizes and data are written by `fill`, at the end.

        let k = kernels;
        let dev = &ctx.device;
        let mut panels = Vec::new();
        for index in 0..n_panels {
            let ncols_cap = per_panel.min(cap - index * per_panel);
            let x = storage(ctx, &format!("X panel {index}"), 4 * n * ncols_cap);
            let u = uniform_init(ctx, "panel", bytemuck::bytes_of(&Panel::default()));
            let residual_y = k.residual.bind(
                dev,
                "residual(y)",
                &[
                    &params,
                    &u,
                    &x,
                    &y,
                    &act,
                    &act_val,
                    &meta,
                    &chunk_partial,
                    &r,
                    &panel_chunks,
                ],
            );
            let residual_zero = k.residual.bind(
                dev,
                "residual(0)",
                &[
                    &params,
                    &u,
                    &x,
                    &zeros,
                    &act,
                    &act_val,
                    &meta,
                    &chunk_partial,
                    &r,
                    &panel_chunks,
                ],
            );
            let gradient = k.gradient.bind(
                dev,
                "gradient",
                &[&params, &u, &x, &r, &mean, &inv_scale, &g],
            );
            panels.push(PanelBuffers {
                ncols: 0,
                x,
                uniform: u,
                residual_y,
                residual_zero,
                gradient,
            });
        }
        let compact = |label, vec: &wgpu::Buffer| {
            k.compact.bind(
                dev,
                label,
                &[
                    &params,
                    vec,
                    &mean,
                    &inv_scale,
                    &block_count,
                    &block_offset,
                    &meta,
                    &act,
                    &act_val,
                ],
            )
        };
        let compact_z = compact("compact(z)", &z);
        let compact_w = compact("compact(w)", &w);
        let compact_v = compact("compact(v)", &v);
        let fista = k.fista.bind(
            dev,
            "fista",
            &[&params, &z, &w, &g, &w_new, &partial, &state, &pre],
        );
        let reduce = k
            .reduce
            .bind(dev, "reduce", &[&params, &w, &g, &r, &y, &red]);
        let lanczos = k
            .lanczos
            .bind(dev, "lanczos", &[&params, &g, &red, &v, &u, &coef]);
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu(format!(
                "out of device memory uploading a {n} x {p} problem ({:.2} GiB needed): {e}",
                device_bytes(n, p) as f64 / (1u64 << 30) as f64
            )));
        }
        ctx.check("uploading the problem")?;
        // 3 per panel (residual with y and with 0, gradient) + compact x3, fista, reduce, lanczos.
        for _ in 0..3 * panels.len() + 6 {
            ctx.counts.bind_group();
        }
        let mut res = Resident {
            n,
            p,
            capacity: cap,
            per_panel,
            trace: 0.0,
            normalizer: Vec::new(),
            normalized_trace: 0.0,
            n_blocks,
            n_red,
            n_chunks,
            chunk_len,
            wg,
            cols_per_wg,
            params,
            w,
            z,
            v,
            g,
            r,
            state,
            red,
            u,
            coef,
            act,
            act_val,
            meta,
            w_new,
            y,
            pre,
            inv_scale,
            inv_scale_host: Vec::new(),
            mean,
            masked: std::cell::Cell::new(false),
            panels,
            compact_z,
            compact_w,
            compact_v,
            fista,
            reduce,
            lanczos,
        };
        res.fill(ctx, pb)?;
        Ok(res)
    }

    /// Writes the centred response of `pb`, which shares the resident X (same data id).
    pub fn write_response(&self, ctx: &GpuContext, pb: &Problem) {
        let yc: Vec<f32> = pb.yc().iter().map(|&v| v as f32).collect();
        self.write_f32(ctx, &self.y, &yc);
    }

    /// Parameters for a Lanczos run on an operator of trace `trace` (lz_scale from
    /// [`lanczos_scale`]), without a step or penalty.
    pub fn write_lanczos_params(&self, ctx: &GpuContext, trace: f64) {
        self.write_params_scaled(ctx, (0.0, 0.0, 0.0), lanczos_scale(trace));
    }

    /// Divides every column on the device by `sqrt(d_j)` ([`Resident::normalizer`]; a column
    /// of `d_j = 0` drops out), for the Lanczos estimate of the preconditioned step, or
    /// (`false`) restores the columns; either way none is screened out afterwards.
    pub fn set_columns_normalized(&self, ctx: &GpuContext, on: bool) {
        self.masked.set(false);
        if !on {
            self.write_f32(ctx, &self.inv_scale, &self.inv_scale_host);
            return;
        }
        let divided: Vec<f32> = self
            .inv_scale_host
            .iter()
            .zip(&self.normalizer)
            .map(|(&s, &d)| match d {
                0.0 => 0.0,
                d => (s as f64 / d.sqrt()) as f32,
            })
            .collect();
        self.write_f32(ctx, &self.inv_scale, &divided);
    }

    /// Writes the data of `pb` (X by panels, means, inverse scales, centred y) and every size
    /// that depends on `p` (the sizes of the passes, the panels' uniforms, the parameters).
    fn fill(&mut self, ctx: &GpuContext, pb: &Problem) -> Result<()> {
        let (n, p) = (pb.n(), pb.p());
        debug_assert!(n == self.n && p <= self.capacity);
        let f32s = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        self.p = p;
        self.n_blocks = p.div_ceil(self.wg);
        self.n_red = self.n_blocks.clamp(1, MAX_RED_WORKGROUPS);
        self.trace = spectral::trace(pb);
        self.inv_scale_host = (0..p)
            .map(|j| {
                if pb.col_sq_norms()[j] == 0.0 {
                    0.0 // dead column: its coefficient and gradient stay exactly 0
                } else {
                    (1.0 / pb.x_scale()[j]) as f32
                }
            })
            .collect();
        self.normalizer = pb
            .col_sq_norms()
            .iter()
            .zip(&self.inv_scale_host)
            .map(|(&sq, &s)| column_normalizer(sq / n as f64, s))
            .collect();
        self.normalized_trace = pb
            .col_sq_norms()
            .iter()
            .zip(&self.normalizer)
            .filter(|(_, &d)| d > 0.0)
            .map(|(&sq, &d)| sq / d)
            .sum();
        self.masked.set(false);
        self.write_f32(ctx, &self.mean, &f32s(pb.x_mean()));
        self.write_f32(ctx, &self.inv_scale, &self.inv_scale_host);
        self.write_response(ctx, pb);
        let per_panel = self.per_panel;
        let mut host = vec![0f32; n * per_panel];
        let mut chunk_base = 0;
        for (index, panel) in self.panels.iter_mut().enumerate() {
            let col_start = (index * per_panel).min(p);
            let ncols = per_panel.min(p - col_start);
            write_panel(
                ctx,
                pb.design(),
                col_start,
                &mut host[..n * ncols],
                &panel.x,
            )?;
            let uniform = Panel {
                col_start: col_start as u32,
                ncols: ncols as u32,
                chunk_base: chunk_base as u32,
                index: index as u32,
            };
            ctx.queue
                .write_buffer(&panel.uniform, 0, bytemuck::bytes_of(&uniform));
            panel.ncols = ncols;
            chunk_base += ncols.div_ceil(self.chunk_len);
        }
        self.n_chunks = chunk_base;
        self.write_params(ctx, 0.0, 0.0, 0.0);
        ctx.check("loading the problem onto the device")
    }

    /// Number of column panels X was split into.
    pub fn n_panels(&self) -> usize {
        self.panels.len()
    }

    /// Device bytes of X.
    pub fn x_bytes(&self) -> u64 {
        self.panels.iter().map(|p| p.x.size()).sum()
    }

    pub fn write_params(&self, ctx: &GpuContext, step: f64, l1: f64, l2: f64) {
        self.write_params_scaled(ctx, (step, l1, l2), 1.0);
    }

    fn write_params_scaled(&self, ctx: &GpuContext, (step, l1, l2): (f64, f64, f64), lz: f64) {
        let params = Params {
            n: self.n as u32,
            p: self.p as u32,
            n_blocks: self.n_blocks as u32,
            n_red: self.n_red as u32,
            inv_n: (1.0 / self.n as f64) as f32,
            step: step as f32,
            l1: l1 as f32,
            l2: l2 as f32,
            n_chunks: self.n_chunks as u32,
            chunk_len: self.chunk_len as u32,
            n_panels: self.panels.len() as u32,
            lz_scale: lz as f32,
        };
        ctx.queue
            .write_buffer(&self.params, 0, bytemuck::bytes_of(&params));
    }

    /// Screens columns out of every pass (`keep[j] == false`: the gradient kernel skips the
    /// column, reading none of it, and its coefficient counts as 0), or all back in (`None`).
    /// Only for features proven zero at the optimum: the f64 certificate still judges all.
    pub fn set_screened(&self, ctx: &GpuContext, keep: Option<&[bool]>) {
        if keep.is_none() && !self.masked.get() {
            return;
        }
        self.masked.set(keep.is_some());
        let masked: Vec<f32>;
        let data = match keep {
            None => &self.inv_scale_host,
            Some(keep) => {
                masked = self
                    .inv_scale_host
                    .iter()
                    .zip(keep)
                    .map(|(&s, &k)| if k { s } else { 0.0 })
                    .collect();
                &masked
            }
        };
        self.write_f32(ctx, &self.inv_scale, data);
    }

    pub fn write_f32(&self, ctx: &GpuContext, buf: &wgpu::Buffer, data: &[f32]) {
        ctx.queue.write_buffer(buf, 0, bytemuck::cast_slice(data));
    }

    /// Active-set compaction of `which` (act, act_val, meta).
    pub fn encode_compact(&self, k: &Kernels, pass: &mut wgpu::ComputePass, which: Vector) {
        let bg = match which {
            Vector::Z => &self.compact_z,
            Vector::W => &self.compact_w,
            Vector::V => &self.compact_v,
        };
        pass.set_bind_group(0, bg, &[]);
        if self.n_blocks == 1 {
            // One workgroup holds every column: one dispatch instead of three.
            pass.set_pipeline(k.compact.pipeline("compact_small"));
            pass.dispatch_workgroups(1, 1, 1);
            return;
        }
        let (gx, gy) = k.config.grid(self.n_blocks as u32);
        pass.set_pipeline(k.compact.pipeline("count"));
        pass.dispatch_workgroups(gx, gy, 1);
        pass.set_pipeline(k.compact.pipeline("scan"));
        pass.dispatch_workgroups(1, 1, 1);
        pass.set_pipeline(k.compact.pipeline("scatter"));
        pass.dispatch_workgroups(gx, gy, 1);
    }

    /// `r = y - Xe v` for the vector last compacted (`y = 0` when `zero_y`).
    pub fn encode_residual(&self, k: &Kernels, pass: &mut wgpu::ComputePass, zero_y: bool) {
        fn bind(panel: &PanelBuffers, zero_y: bool) -> &wgpu::BindGroup {
            if zero_y {
                &panel.residual_zero
            } else {
                &panel.residual_y
            }
        }
        let row_blocks = self.n.div_ceil(self.wg);
        pass.set_pipeline(k.residual.pipeline("residual_partial"));
        for panel in &self.panels {
            let (gx, gy) = k
                .config
                .grid((row_blocks * panel.ncols.div_ceil(self.chunk_len)) as u32);
            pass.set_bind_group(0, bind(panel, zero_y), &[]);
            pass.dispatch_workgroups(gx, gy, 1);
        }
        let (gx, gy) = k.config.grid(row_blocks as u32);
        pass.set_pipeline(k.residual.pipeline("residual_finish"));
        pass.set_bind_group(0, bind(&self.panels[0], zero_y), &[]);
        pass.dispatch_workgroups(gx, gy, 1);
    }

    /// `g = Xe^T r`: the full pass over X.
    pub fn encode_gradient(&self, k: &Kernels, pass: &mut wgpu::ComputePass) {
        pass.set_pipeline(k.gradient.pipeline("gradient"));
        for panel in &self.panels {
            let (gx, gy) = k.config.grid(panel.ncols.div_ceil(self.cols_per_wg) as u32);
            pass.set_bind_group(0, &panel.gradient, &[]);
            pass.dispatch_workgroups(gx, gy, 1);
        }
    }

    /// One FISTA iteration: residual and gradient at z, prox step, restart test, momentum.
    pub fn encode_fista_step(&self, k: &Kernels, pass: &mut wgpu::ComputePass) {
        self.encode_compact(k, pass, Vector::Z);
        self.encode_residual(k, pass, false);
        self.encode_gradient(k, pass);
        self.encode_fista_update(k, pass);
    }

    /// The update once `g` is known: prox step with restart partials, state, momentum.
    pub fn encode_fista_update(&self, k: &Kernels, pass: &mut wgpu::ComputePass) {
        pass.set_bind_group(0, &self.fista, &[]);
        if self.n_blocks == 1 {
            // One workgroup holds every coordinate: its barrier is the global one.
            pass.set_pipeline(k.fista.pipeline("step_small"));
            pass.dispatch_workgroups(1, 1, 1);
            return;
        }
        let (gx, gy) = k.config.grid(self.n_blocks as u32);
        pass.set_pipeline(k.fista.pipeline("prox"));
        pass.dispatch_workgroups(gx, gy, 1);
        pass.set_pipeline(k.fista.pipeline("state_update"));
        pass.dispatch_workgroups(1, 1, 1);
        pass.set_pipeline(k.fista.pipeline("momentum"));
        pass.dispatch_workgroups(gx, gy, 1);
    }

    /// The partial sums of the duality gap at w, into `red`.
    pub fn encode_gap_sums(&self, k: &Kernels, pass: &mut wgpu::ComputePass) {
        self.encode_compact(k, pass, Vector::W);
        self.encode_residual(k, pass, false);
        self.encode_gradient(k, pass);
        self.encode_reductions(k, pass);
    }

    /// `reduce_p` and `reduce_n` over the current w, g, r.
    pub fn encode_reductions(&self, k: &Kernels, pass: &mut wgpu::ComputePass) {
        pass.set_bind_group(0, &self.reduce, &[]);
        pass.set_pipeline(k.reduce.pipeline("reduce_p"));
        pass.dispatch_workgroups(self.n_red as u32, 1, 1);
        pass.set_pipeline(k.reduce.pipeline("reduce_n"));
        pass.dispatch_workgroups(self.n_red as u32, 1, 1);
    }

    /// `g = -A v` for the Lanczos vector (`v` as it is on the device).
    pub fn encode_lanczos_apply(&self, k: &Kernels, pass: &mut wgpu::ComputePass) {
        self.encode_compact(k, pass, Vector::V);
        self.encode_residual(k, pass, true);
        self.encode_gradient(k, pass);
    }

    /// One whole Lanczos step on the device (lanczos.wgsl): `A v`, its coefficients into
    /// `coef`, and the next `v`.
    pub fn encode_lanczos_step(&self, k: &Kernels, pass: &mut wgpu::ComputePass) {
        self.encode_lanczos_apply(k, pass);
        let red = self.n_red as u32;
        pass.set_bind_group(0, &self.lanczos, &[]);
        for (entry, groups) in [
            ("lanczos_dots", red),
            ("lanczos_alpha", 1),
            ("lanczos_residual", red),
            ("lanczos_beta", 1),
        ] {
            pass.set_pipeline(k.lanczos.pipeline(entry));
            pass.dispatch_workgroups(groups, 1, 1);
        }
        let (gx, gy) = k.config.grid(self.n_blocks as u32);
        pass.set_pipeline(k.lanczos.pipeline("lanczos_scale"));
        pass.dispatch_workgroups(gx, gy, 1);
    }
}

/// Writes columns `col_start..` of `x` (as many as `host` holds, `n` floats each) into the
/// panel buffer `panel` as f32, through `host`; an entry beyond f32's range is an error.
pub(super) fn write_panel(
    ctx: &GpuContext,
    x: &dyn crate::design::Design,
    col_start: usize,
    host: &mut [f32],
    panel: &wgpu::Buffer,
) -> Result<()> {
    let n = x.n_rows();
    for (c, chunk) in host.chunks_exact_mut(n).enumerate() {
        x.write_col_f32(col_start + c, chunk);
        if chunk.iter().any(|v| !v.is_finite()) {
            return Err(Error::Gpu(format!(
                "the data exceed single precision: column {} of X has an entry beyond \
                 f32's 3.4e38; divide X by a power of ten or use --device cpu (f64)",
                col_start + c
            )));
        }
    }
    if !host.is_empty() {
        ctx.queue.write_buffer(panel, 0, bytemuck::cast_slice(host));
    }
    Ok(())
}

/// Encodes work with `f`, copies `src` into a mappable buffer, submits, waits, and returns
/// its contents: the only way data comes back from the device.
pub fn run_and_read(
    ctx: &GpuContext,
    label: &str,
    f: impl FnOnce(&mut wgpu::ComputePass),
    src: &wgpu::Buffer,
) -> Result<Vec<f32>> {
    Ok(run_and_read_all(ctx, label, f, &[src])?.remove(0))
}

/// [`run_and_read`] for several buffers, read back together in one submission and one wait.
pub fn run_and_read_all(
    ctx: &GpuContext,
    label: &str,
    f: impl FnOnce(&mut wgpu::ComputePass),
    srcs: &[&wgpu::Buffer],
) -> Result<Vec<Vec<f32>>> {
    let whole: Vec<(&wgpu::Buffer, u64)> = srcs.iter().map(|b| (*b, b.size())).collect();
    run_and_read_prefixes(ctx, label, f, &whole)
}

/// [`run_and_read_all`] of the first `bytes` of each buffer (a batch narrower than the
/// buffers' capacity reads back only what it wrote).
pub fn run_and_read_prefixes(
    ctx: &GpuContext,
    label: &str,
    f: impl FnOnce(&mut wgpu::ComputePass),
    srcs: &[(&wgpu::Buffer, u64)],
) -> Result<Vec<Vec<f32>>> {
    run_and_read_after_copies(ctx, label, &[], f, srcs)
}

/// Seconds for one read-back of the first `bytes` of `buf` with no work before it: the fixed
/// cost of a wait for the device, and with more bytes the transfer (`lariat bench`, and the
/// costs the speculative pass weighs).
pub fn time_read_back(ctx: &GpuContext, buf: &wgpu::Buffer, bytes: u64) -> Result<f64> {
    let t0 = std::time::Instant::now();
    run_and_read_prefixes(ctx, "timed read-back", |_| {}, &[(buf, bytes)])?;
    Ok(t0.elapsed().as_secs_f64())
}

/// A device-to-device copy: `bytes` from `(source, offset)` to `(target, offset)`.
pub type Copy<'a> = (&'a wgpu::Buffer, u64, &'a wgpu::Buffer, u64, u64);

/// [`run_and_read_prefixes`] after `copies`, in the same submission (a gather of columns
/// already on the device, with no trip through the host).
pub fn run_and_read_after_copies(
    ctx: &GpuContext,
    label: &str,
    copies: &[Copy],
    f: impl FnOnce(&mut wgpu::ComputePass),
    srcs: &[(&wgpu::Buffer, u64)],
) -> Result<Vec<Vec<f32>>> {
    run_and_read_encoded(
        ctx,
        label,
        |enc| {
            encode_copies(enc, copies);
            compute_pass(enc, label, f);
        },
        srcs,
    )
}

/// Encodes `copies` (device to device).
pub fn encode_copies(enc: &mut wgpu::CommandEncoder, copies: &[Copy]) {
    for &(src, from, dst, to, bytes) in copies {
        enc.copy_buffer_to_buffer(src, from, dst, to, bytes);
    }
}

/// Encodes one compute pass with `f`.
pub fn compute_pass(
    enc: &mut wgpu::CommandEncoder,
    label: &str,
    f: impl FnOnce(&mut wgpu::ComputePass),
) {
    let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some(label),
        timestamp_writes: None,
    });
    f(&mut pass);
}

/// The general form: `encode` writes the whole submission (copies and compute passes in any
/// order), then the prefixes `srcs` come back in one wait.
pub fn run_and_read_encoded(
    ctx: &GpuContext,
    label: &str,
    encode: impl FnOnce(&mut wgpu::CommandEncoder),
    srcs: &[(&wgpu::Buffer, u64)],
) -> Result<Vec<Vec<f32>>> {
    let size: u64 = srcs.iter().map(|(_, bytes)| bytes).sum();
    let staging = ctx.take_staging(size);
    let mut enc = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
    encode(&mut enc);
    let mut offset = 0;
    for &(src, bytes) in srcs {
        enc.copy_buffer_to_buffer(src, 0, &staging, offset, bytes);
        offset += bytes;
    }
    ctx.queue.submit([enc.finish()]);
    ctx.counts.submission();
    ctx.counts.read_back();
    let (tx, rx) = std::sync::mpsc::channel();
    staging
        .slice(..size)
        .map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
    ctx.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| Error::Gpu(format!("{label}: waiting for the device: {e}")))?;
    ctx.check(label)?;
    rx.recv()
        .map_err(|_| Error::Gpu(format!("{label}: read-back was dropped")))?
        .map_err(|e| Error::Gpu(format!("{label}: read-back failed: {e}")))?;
    let out = {
        let view = staging
            .slice(..size)
            .get_mapped_range()
            .map_err(|e| Error::Gpu(format!("{label}: {e}")))?;
        let all = bytemuck::cast_slice::<u8, f32>(&view);
        let mut at = 0;
        srcs.iter()
            .map(|&(_, bytes)| {
                let len = (bytes / 4) as usize;
                at += len;
                all[at - len..at].to_vec()
            })
            .collect()
    };
    staging.unmap();
    // Only a buffer that came back unmapped is reused (an error above drops it).
    ctx.give_staging(staging);
    Ok(out)
}
