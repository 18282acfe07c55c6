//! The batch's full pass on the device: `Xe^T R` for up to 32 residuals in one read of X
//! (block.wgsl). X is uploaded once per design (its raw columns, whatever rows the problems
//! fit), each set of column statistics once into a slot of its own (the full data and every
//! fold; responses share one), and a pass writes only the residuals of the problems still
//! open: a finished problem is not in the batch and costs nothing.

use super::context::GpuContext;
use super::kernels::{BlockUniform, Kernels, BLOCK_WIDTHS};
use super::resident::{
    compute_pass, panel_cols, run_and_read_prefixes, storage, uniform_init, write_panel,
};
use crate::error::{Error, Result};
use crate::problem::Problem;

/// The widest batch one pass serves.
pub const MAX_BATCH: usize = 32;

struct BlockPanel {
    col_start: usize,
    ncols: usize,
    x: wgpu::Buffer,
    uniform: wgpu::Buffer,
}

/// X of one design on the device, with the statistics slots and the batch buffers.
pub struct BlockResident {
    /// [`Problem::design_id`] of the design uploaded.
    design_id: u64,
    pub n: usize,
    pub p: usize,
    panels: Vec<BlockPanel>,
    /// The [`Problem::data_id`] held in each slot of `mean` and `inv_scale`.
    slots: Vec<u64>,
    slot_capacity: usize,
    mean: wgpu::Buffer,
    inv_scale: wgpu::Buffer,
    /// `n x 32` residuals, problem c at `c n`.
    r: wgpu::Buffer,
    /// `p x 32` correlations, problem c at `c p`.
    g: wgpu::Buffer,
    slot_of: wgpu::Buffer,
    /// Bind groups per panel for each width of [`BLOCK_WIDTHS`], made on first use (a slot
    /// reallocation drops them).
    bind_groups: Vec<Option<Vec<wgpu::BindGroup>>>,
}

/// Device bytes of a block upload of an `n x p` design with `slots` statistics slots, with
/// the fixed allowance of [`super::resident::device_bytes`] (uniforms, staging, small buffers).
pub fn block_device_bytes(n: usize, p: usize, slots: usize) -> u64 {
    4 * (n as u64 * p as u64 + (2 * slots as u64 + MAX_BATCH as u64) * p as u64)
        + 4 * (MAX_BATCH * n) as u64
        + 64 * 1024
}

impl BlockResident {
    /// Uploads the design of `pb` (all its rows) and room for `slots` statistics sets.
    pub fn upload(
        ctx: &GpuContext,
        pb: &Problem,
        slots: usize,
        forced_panel_cols: Option<usize>,
    ) -> Result<BlockResident> {
        let x = pb.design();
        let (n, p) = (x.n_rows(), x.n_cols());
        let max_binding = ctx.max_binding();
        if 4 * (MAX_BATCH * n.max(p)) as u64 > max_binding {
            return Err(Error::Gpu(format!(
                "a batch over {n} x {p} needs vectors of {} bytes; {} allows {max_binding} per \
                 binding",
                4 * MAX_BATCH * n.max(p),
                ctx.report.name
            )));
        }
        let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let per_panel = panel_cols(n, p, max_binding, forced_panel_cols);
        let mut host = vec![0f32; n * per_panel];
        let mut panels = Vec::new();
        for col_start in (0..p).step_by(per_panel) {
            let ncols = per_panel.min(p - col_start);
            let buf = storage(ctx, "X panel (block)", 4 * n * ncols);
            write_panel(ctx, x, col_start, &mut host[..n * ncols], &buf)?;
            let uniform = uniform_init(
                ctx,
                "block panel",
                bytemuck::bytes_of(&BlockUniform::default()),
            );
            panels.push(BlockPanel {
                col_start,
                ncols,
                x: buf,
                uniform,
            });
        }
        let slots = slots.max(1);
        let res = BlockResident {
            design_id: pb.design_id(),
            n,
            p,
            panels,
            slots: Vec::new(),
            slot_capacity: slots,
            mean: storage(ctx, "block means", 4 * slots * p),
            inv_scale: storage(ctx, "block inverse scales", 4 * slots * p),
            r: storage(ctx, "block residuals", 4 * MAX_BATCH * n),
            g: storage(ctx, "block correlations", 4 * MAX_BATCH * p),
            slot_of: storage(ctx, "block slots", 4 * MAX_BATCH),
            bind_groups: BLOCK_WIDTHS.iter().map(|_| None).collect(),
        };
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu(format!(
                "out of device memory uploading a {n} x {p} design for a batch: {e}"
            )));
        }
        ctx.check("uploading the design of a batch")?;
        Ok(res)
    }

    /// Whether this upload holds the design of `pb`.
    pub fn holds(&self, pb: &Problem) -> bool {
        self.design_id == pb.design_id()
            && (self.n, self.p) == (pb.design().n_rows(), pb.design().n_cols())
    }

    /// The slot of each problem's statistics, the sets not yet on the device written there
    /// first (all slots again when they outgrow the buffers).
    fn slots_for(&mut self, ctx: &GpuContext, problems: &[&Problem]) -> Vec<u32> {
        let mut new: Vec<u64> = problems
            .iter()
            .map(|pb| pb.data_id())
            .filter(|id| !self.slots.contains(id))
            .collect();
        new.sort_unstable();
        new.dedup();
        if self.slots.len() + new.len() > self.slot_capacity {
            self.slot_capacity = (2 * self.slot_capacity).max(problems.len());
            self.mean = storage(ctx, "block means", 4 * self.slot_capacity * self.p);
            self.inv_scale = storage(ctx, "block inverse scales", 4 * self.slot_capacity * self.p);
            self.slots.clear();
            self.bind_groups.iter_mut().for_each(|b| *b = None);
        }
        problems
            .iter()
            .map(
                |pb| match self.slots.iter().position(|&id| id == pb.data_id()) {
                    Some(s) => s as u32,
                    None => self.write_slot(ctx, pb),
                },
            )
            .collect()
    }

    /// Writes the statistics of `pb` into the next free slot.
    fn write_slot(&mut self, ctx: &GpuContext, pb: &Problem) -> u32 {
        let s = self.slots.len();
        let offset = (4 * s * self.p) as u64;
        let mean: Vec<f32> = pb.x_mean().iter().map(|&m| m as f32).collect();
        // Dead columns have inverse scale 0: their correlation is exactly 0, as gradient.wgsl's.
        let inv: Vec<f32> = pb
            .x_scale()
            .iter()
            .zip(pb.col_sq_norms())
            .map(|(&sc, &sq)| if sq == 0.0 { 0.0 } else { (1.0 / sc) as f32 })
            .collect();
        ctx.queue
            .write_buffer(&self.mean, offset, bytemuck::cast_slice(&mean));
        ctx.queue
            .write_buffer(&self.inv_scale, offset, bytemuck::cast_slice(&inv));
        self.slots.push(pb.data_id());
        s as u32
    }

    /// `Xe_c^T r_c` in f32 for each problem `c` of `problems` (at most [`MAX_BATCH`]), each in
    /// its own statistics, from the residuals `rs` (zero outside each problem's rows): one
    /// submission, one read-back.
    pub fn pass(
        &mut self,
        ctx: &GpuContext,
        kernels: &Kernels,
        problems: &[&Problem],
        rs: &[Vec<f32>],
    ) -> Result<Vec<Vec<f32>>> {
        let width = self.load(ctx, kernels, problems, rs);
        let bytes = (4 * problems.len() * self.p) as u64;
        let mut read = run_and_read_prefixes(
            ctx,
            "block pass",
            |pass| self.encode(kernels, pass, width),
            &[(&self.g, bytes)],
        )?;
        let g = read.pop().unwrap_or_default();
        Ok(g.chunks_exact(self.p).map(<[f32]>::to_vec).collect())
    }

    /// Seconds for `passes` block passes over the batch last loaded, in one submission with
    /// a read-back of one float (`lariat bench`: the pass itself, not its transfers).
    pub fn time_passes(
        &self,
        ctx: &GpuContext,
        kernels: &Kernels,
        k: usize,
        passes: usize,
    ) -> Result<f64> {
        let (_, width) = kernels.block_for(k);
        let t0 = std::time::Instant::now();
        run_and_read_prefixes(
            ctx,
            "block passes (timed)",
            |pass| {
                for _ in 0..passes {
                    self.encode(kernels, pass, width);
                }
            },
            &[(&self.g, 4)],
        )?;
        Ok(t0.elapsed().as_secs_f64())
    }

    /// Writes the residuals, slots and sizes of a batch and makes its bind groups; returns
    /// the kernel width that serves it.
    pub fn load(
        &mut self,
        ctx: &GpuContext,
        kernels: &Kernels,
        problems: &[&Problem],
        rs: &[Vec<f32>],
    ) -> usize {
        let k = problems.len();
        assert!(rs.len() == k);
        let width = self.load_layout(ctx, kernels, problems);
        let mut r = vec![0f32; width * self.n];
        for (c, rc) in rs.iter().enumerate() {
            r[c * self.n..(c + 1) * self.n].copy_from_slice(rc);
        }
        ctx.queue.write_buffer(&self.r, 0, bytemuck::cast_slice(&r));
        width
    }

    /// Writes the slots and sizes of a batch of `problems` and makes its bind groups, but
    /// not its residuals (a pass from residuals already on the device,
    /// [`BlockResident::encode_pass_from`]); returns the kernel width that serves it.
    pub fn load_layout(
        &mut self,
        ctx: &GpuContext,
        kernels: &Kernels,
        problems: &[&Problem],
    ) -> usize {
        let k = problems.len();
        assert!((1..=MAX_BATCH).contains(&k));
        let slots = self.slots_for(ctx, problems);
        let (kernel, width) = kernels.block_for(k);
        let mut slot_of = vec![0u32; width];
        slot_of[..k].copy_from_slice(&slots);
        ctx.queue
            .write_buffer(&self.slot_of, 0, bytemuck::cast_slice(&slot_of));
        for panel in &self.panels {
            let u = BlockUniform {
                n: self.n as u32,
                p: self.p as u32,
                k: k as u32,
                col_start: panel.col_start as u32,
                ncols: panel.ncols as u32,
                pad: [0; 3],
            };
            ctx.queue
                .write_buffer(&panel.uniform, 0, bytemuck::bytes_of(&u));
        }
        let wi = width_index(width);
        if self.bind_groups[wi].is_none() {
            let groups = self
                .panels
                .iter()
                .map(|panel| {
                    ctx.counts.bind_group();
                    kernel.bind(
                        &ctx.device,
                        "block",
                        &[
                            &panel.uniform,
                            &panel.x,
                            &self.r,
                            &self.mean,
                            &self.inv_scale,
                            &self.slot_of,
                            &self.g,
                        ],
                    )
                })
                .collect();
            self.bind_groups[wi] = Some(groups);
        }
        width
    }

    /// A block pass at the residuals `r` (`k` of them, problem c at `c n`, zero outside its
    /// rows) already on the device, for the batch laid out by [`BlockResident::load_layout`]:
    /// the residuals are copied in, then the pass; the correlations are in
    /// [`BlockResident::correlations`].
    pub fn encode_pass_from(
        &self,
        enc: &mut wgpu::CommandEncoder,
        kernels: &Kernels,
        (r, k, width): (&wgpu::Buffer, usize, usize),
    ) {
        enc.copy_buffer_to_buffer(r, 0, &self.r, 0, (4 * k * self.n) as u64);
        compute_pass(enc, "block pass (speculative)", |pass| {
            self.encode(kernels, pass, width)
        });
    }

    /// The correlations of the last pass (problem c at `c p`), with their bytes for `k`
    /// problems.
    pub fn correlations(&self, k: usize) -> (&wgpu::Buffer, u64) {
        (&self.g, (4 * k * self.p) as u64)
    }

    /// One block pass over every panel, for the batch loaded at `width`.
    fn encode(&self, kernels: &Kernels, pass: &mut wgpu::ComputePass, width: usize) {
        let (kernel, _) = kernels.block_for(width);
        let groups = self.bind_groups[width_index(width)]
            .as_ref()
            .expect("made by load");
        let cols_per_wg = (kernels.config.wg / kernels.config.tpc) as usize;
        pass.set_pipeline(kernel.pipeline("xtr"));
        for (panel, bg) in self.panels.iter().zip(groups) {
            let (gx, gy) = kernels
                .config
                .grid(panel.ncols.div_ceil(cols_per_wg) as u32);
            pass.set_bind_group(0, bg, &[]);
            pass.dispatch_workgroups(gx, gy, 1);
        }
    }

    /// Overwrites column `j` of the device's X with `values` (fault injection: a test that a
    /// corrupted device copy is an error, never an answer).
    pub fn overwrite_column(&self, ctx: &GpuContext, j: usize, values: &[f32]) {
        assert_eq!(values.len(), self.n);
        let (buf, at) = self.column(j);
        ctx.queue
            .write_buffer(buf, at, bytemuck::cast_slice(values));
    }

    /// Where column `j` of X lies on the device: its panel's buffer and the byte offset (a
    /// column is `4 n` contiguous bytes).
    pub fn column(&self, j: usize) -> (&wgpu::Buffer, u64) {
        let panel = self
            .panels
            .iter()
            .find(|pn| (pn.col_start..pn.col_start + pn.ncols).contains(&j))
            .expect("a column of X");
        (&panel.x, (4 * (j - panel.col_start) * self.n) as u64)
    }

    /// Column panels X was split into.
    pub fn n_panels(&self) -> usize {
        self.panels.len()
    }

    /// Device bytes of X.
    pub fn x_bytes(&self) -> u64 {
        self.panels.iter().map(|p| p.x.size()).sum()
    }
}

/// The index of a compiled width in [`BLOCK_WIDTHS`].
pub(super) fn width_index(width: usize) -> usize {
    BLOCK_WIDTHS
        .iter()
        .position(|&w| w as usize == width)
        .expect("a compiled width")
}
