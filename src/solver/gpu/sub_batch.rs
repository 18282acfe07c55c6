//! The working-set subproblems of a batch, solved together by FISTA on the device: each
//! problem with its own working set, statistics, rows, penalty, step (preconditioned per
//! coordinate, [`crate::solver::fista::jacobi`]) and FISTA state in storage buffers (batch_fista.wgsl), over the columns of the union of the working sets,
//! gathered once per round. A step of the whole batch is three dispatches (residuals,
//! batch_residual.wgsl; correlations, block.wgsl; the FISTA update), a gap check three more
//! and one read-back of 8 floats per problem. A problem that meets its target, stalls at f32
//! precision or runs out of iterations is frozen (its stop mask): the kernels skip it.

use super::block::width_index;
use super::block::BlockResident;
use super::context::GpuContext;
use super::kernels::{BlockUniform, Kernels, SubUniform, BLOCK_WIDTHS};
use super::resident::{
    compute_pass, encode_copies, run_and_read_encoded, run_and_read_prefixes, storage,
    uniform_init, Copy,
};
use super::{next_check_interval, stalled, FIRST_CHECK_EVERY, MAX_CHECK_EVERY, WITH_W_MAX_P};
use crate::error::{Error, Result};
use crate::problem::GapScalars;
use crate::solver::batch::{SubResult, SubSpec};
use crate::solver::certificate::DeviceCorrelations;
use std::collections::HashMap;

/// Problems per sub-batch: the block kernel's widest width.
pub const MAX_PROBLEMS: usize = 32;
/// Floats of state per problem (batch_fista.wgsl).
const STATE: usize = 8;

/// What one [`SubBatch::solve`] asked of the device beyond its steps.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct SolveCounts {
    /// Gap checks (each one read-back).
    pub checks: usize,
    /// Block passes carried by those checks.
    pub speculative_passes: usize,
    /// Whether the last one came with the answers (the check ended the solve).
    pub speculative_used: bool,
}

/// What one gap check reads back.
struct CheckRead {
    /// [`STATE`] floats per problem: the gap's sums at w.
    sums: Vec<f32>,
    /// The iterates, when asked for.
    w: Option<Vec<f32>>,
    /// A carried block pass: the correlations over all of X and the residuals they were at.
    pass: Option<(Vec<f32>, Vec<f32>)>,
}

/// Device buffers for sub-batches of up to [`MAX_PROBLEMS`] problems over at most
/// `m_cap` columns, kept across rounds (refilled in place while they fit).
pub(super) struct SubBatch {
    n: usize,
    m_cap: usize,
    x: wgpu::Buffer,
    z: wgpu::Buffer,
    w: wgpu::Buffer,
    mean: wgpu::Buffer,
    inv: wgpu::Buffer,
    /// One over each coordinate's curvature, the factor of its step.
    pre: wgpu::Buffer,
    y: wgpu::Buffer,
    rows: wgpu::Buffer,
    state: wgpu::Buffer,
    r: wgpu::Buffer,
    g: wgpu::Buffer,
    out: wgpu::Buffer,
    slot: wgpu::Buffer,
    sub_uniform: wgpu::Buffer,
    block_uniform: wgpu::Buffer,
    residual_z: wgpu::BindGroup,
    residual_w: wgpu::BindGroup,
    fista: wgpu::BindGroup,
    /// For each width of [`BLOCK_WIDTHS`], made on first use.
    block: Vec<Option<wgpu::BindGroup>>,
}

/// Whether sub-batches over `m` columns of `n` rows fit the device's bindings.
pub(super) fn fits(ctx: &GpuContext, n: usize, m: usize) -> bool {
    4 * (n.max(1) * 2 * m.max(1)) as u64 <= ctx.max_binding()
        && 4 * (MAX_PROBLEMS * 2 * m.max(n)) as u64 <= ctx.max_binding()
}

impl SubBatch {
    /// Buffers for `n` rows and up to `m_cap` columns.
    pub(super) fn new(ctx: &GpuContext, kernels: &Kernels, n: usize, m_cap: usize) -> Self {
        let m_cap = m_cap.max(1);
        let per_problem = |label, len| storage(ctx, label, 4 * MAX_PROBLEMS * len);
        let x = storage(ctx, "sub-batch X", 4 * n * m_cap);
        let (z, w, mean, inv, g) = (
            per_problem("sub-batch z", m_cap),
            per_problem("sub-batch w", m_cap),
            per_problem("sub-batch means", m_cap),
            per_problem("sub-batch inverse scales", m_cap),
            per_problem("sub-batch correlations", m_cap),
        );
        let pre = per_problem("sub-batch step factors", m_cap);
        let (y, rows, r) = (
            per_problem("sub-batch y", n),
            per_problem("sub-batch rows", n),
            per_problem("sub-batch residuals", n),
        );
        let state = per_problem("sub-batch state", STATE);
        let out = per_problem("sub-batch gap sums", STATE);
        let slot = storage(ctx, "sub-batch slots", 4 * MAX_PROBLEMS);
        let identity: Vec<u32> = (0..MAX_PROBLEMS as u32).collect();
        ctx.queue
            .write_buffer(&slot, 0, bytemuck::cast_slice(&identity));
        let sub_uniform =
            uniform_init(ctx, "sub-batch", bytemuck::bytes_of(&SubUniform::default()));
        let block_uniform = uniform_init(
            ctx,
            "sub-batch block",
            bytemuck::bytes_of(&BlockUniform::default()),
        );
        let dev = &ctx.device;
        let residual = |label, v: &wgpu::Buffer| {
            ctx.counts.bind_group();
            kernels.batch_residual.bind(
                dev,
                label,
                &[&sub_uniform, &x, v, &mean, &inv, &y, &rows, &state, &r],
            )
        };
        let residual_z = residual("sub-batch residual(z)", &z);
        let residual_w = residual("sub-batch residual(w)", &w);
        ctx.counts.bind_group();
        let fista = kernels.batch_fista.bind(
            dev,
            "sub-batch fista",
            &[&sub_uniform, &g, &z, &w, &state, &r, &y, &out, &pre],
        );
        SubBatch {
            n,
            m_cap,
            x,
            z,
            w,
            mean,
            inv,
            pre,
            y,
            rows,
            state,
            r,
            g,
            out,
            slot,
            sub_uniform,
            block_uniform,
            residual_z,
            residual_w,
            fista,
            block: BLOCK_WIDTHS.iter().map(|_| None).collect(),
        }
    }

    /// Whether a sub-batch of `n` rows over `m` columns fits these buffers.
    pub(super) fn holds(&self, n: usize, m: usize) -> bool {
        self.n == n && m <= self.m_cap
    }

    /// Solves `specs` (at most [`MAX_PROBLEMS`], all on the design held by `source`); returns
    /// their answers and its checks.
    /// With `speculate` (the width of the batch laid out on `source` by
    /// [`BlockResident::load_layout`]), every gap check carries a block pass over all of X at
    /// the device's residuals: when the check ends the solve, each answer comes with the
    /// correlations its certificate needs, and the round needs no pass of its own.
    pub(super) fn solve(
        &mut self,
        ctx: &GpuContext,
        kernels: &Kernels,
        specs: &[SubSpec],
        (source, speculate): (&BlockResident, Option<usize>),
        hints: &mut HashMap<u64, usize>,
    ) -> Result<(Vec<SubResult>, SolveCounts)> {
        let k = specs.len();
        let union = self.load(ctx, specs);
        let m = union.len();
        let width = kernels.block_for(k).1;
        self.block_bind_group(ctx, kernels, width);
        let mut n_iter = vec![0usize; k];
        let mut active = vec![true; k];
        let mut reached = vec![false; k];
        let mut history: Vec<Vec<f64>> = vec![Vec::new(); k];
        // The first check where the fewest steps any problem last needed would end it (a
        // path's next subproblem is like its last), else after a few steps.
        let hinted: Option<usize> = specs
            .iter()
            .map(|s| hints.get(&s.pb.id()).copied())
            .collect::<Option<Vec<usize>>>()
            .and_then(|h| h.into_iter().min());
        let mut every = hinted
            .unwrap_or(FIRST_CHECK_EVERY)
            .clamp(FIRST_CHECK_EVERY, MAX_CHECK_EVERY)
            .min(specs.iter().map(|s| s.max_iter).min().unwrap_or(1))
            .max(1);
        // A small batch brings its iterate back with every check, so the last check needs no
        // read-back of its own; a wide one downloads it once at the end.
        let with_w = k * m <= WITH_W_MAX_P;
        let mut last_w: Option<Vec<f32>>;
        let mut copies = self.gather(source, &union);
        let mut counts = SolveCounts::default();
        let mut last_pass: Option<(Vec<f32>, Vec<f32>)>;
        loop {
            counts.checks += 1;
            let steps = every;
            let full = speculate.map(|width| (source, width));
            let CheckRead { sums, w, pass } =
                self.steps_and_check(ctx, kernels, (k, m, width), (steps, with_w, full), &copies)?;
            copies.clear();
            counts.speculative_passes += usize::from(pass.is_some());
            last_w = w;
            last_pass = pass;
            for c in 0..k {
                if !active[c] {
                    continue;
                }
                n_iter[c] += steps;
                let spec = &specs[c];
                let s = &sums[STATE * c..STATE * (c + 1)];
                if s[6] > 0.0 || s[..6].iter().chain(&s[7..8]).any(|v| !v.is_finite()) {
                    return Err(Error::Gpu(format!(
                        "the device produced non-finite values (NaN or infinity) in a batch's \
                         subproblem after {} FISTA steps",
                        n_iter[c]
                    )));
                }
                let scalars = GapScalars {
                    w_l1: s[0] as f64,
                    w_sq: s[1] as f64,
                    g_inf: s[2] as f64,
                    g_sq: s[3] as f64,
                    r_sq: s[4] as f64,
                    r_yc: s[5] as f64,
                    g_excess_sq: Some(s[7] as f64),
                };
                let gap = spec.pb.gap_from_scalars(&scalars, &spec.pen).gap;
                history[c].push(gap);
                reached[c] = gap <= spec.target;
                if reached[c]
                    || n_iter[c] >= spec.max_iter
                    || stalled(&history[c])
                    || spec.step == 0.0
                    || crate::interrupt::requested()
                {
                    active[c] = false;
                    let at = (4 * (STATE * c + 5)) as u64;
                    ctx.queue
                        .write_buffer(&self.state, at, bytemuck::bytes_of(&0.0f32));
                }
            }
            if !active.iter().any(|&a| a) {
                break;
            }
            // After a hinted first check that fell short, half as far again before a second
            // gives the rate (doubling would overshoot a hint that was nearly right).
            let after_hint = hinted.is_some() && counts.checks == 1;
            every = (0..k)
                .filter(|&c| active[c])
                .map(|c| match after_hint {
                    true => (every / 2).max(FIRST_CHECK_EVERY),
                    false => next_check_interval(&history[c], every, specs[c].target),
                })
                .min()
                .unwrap_or(FIRST_CHECK_EVERY)
                .min(
                    (0..k)
                        .filter(|&c| active[c])
                        .map(|c| specs[c].max_iter - n_iter[c])
                        .min()
                        .unwrap_or(1)
                        .max(1),
                );
        }
        let w = match last_w {
            Some(w) => w,
            None => {
                run_and_read_prefixes(ctx, "sub-batch w", |_| {}, &[(&self.w, (4 * k * m) as u64)])?
                    .pop()
                    .unwrap_or_default()
            }
        };
        if hints.len() > 4096 {
            hints.clear(); // problems of a long-lived process come and go
        }
        // Only what reaching the target took (a stall or the cap says nothing of the next).
        for ((spec, &steps), _) in specs.iter().zip(&n_iter).zip(&reached).filter(|(_, &r)| r) {
            hints.insert(spec.pb.id(), steps);
        }
        counts.speculative_used = last_pass.is_some();
        let (p, n) = (source.p, self.n);
        let results = specs
            .iter()
            .enumerate()
            .map(|(c, spec)| SubResult {
                w: spec
                    .ws
                    .iter()
                    .map(|j| w[c * m + union.binary_search(j).expect("in the union")] as f64)
                    .collect(),
                n_iter: n_iter[c],
                // The residual each problem was frozen at is the one the pass read.
                pass: last_pass.as_ref().map(|(g, r)| DeviceCorrelations {
                    g: g[c * p..(c + 1) * p].to_vec(),
                    r: r[c * n..(c + 1) * n].to_vec(),
                }),
            })
            .collect();
        Ok((results, counts))
    }

    /// One submission: `steps` FISTA steps of every active problem, then the gap sums at w;
    /// returns the sums (8 floats per problem), with `with_w` the iterates, and with `full`
    /// (the batch's X and the width it is laid out at) a block pass over all of X at the
    /// residuals the check left: the correlations and those residuals.
    fn steps_and_check(
        &self,
        ctx: &GpuContext,
        kernels: &Kernels,
        (k, m, width): (usize, usize, usize),
        (steps, with_w, full): (usize, bool, Option<(&BlockResident, usize)>),
        copies: &[Copy],
    ) -> Result<CheckRead> {
        let block = self.block[width_index(width)]
            .as_ref()
            .expect("made before the loop");
        let (block_kernel, _) = kernels.block_for(width);
        let row_groups = self.n.div_ceil(kernels.config.wg as usize) as u32;
        let cols_per_wg = (kernels.config.wg / kernels.config.tpc) as usize;
        let (gx, gy) = kernels.config.grid(m.div_ceil(cols_per_wg) as u32);
        let encode = |pass: &mut wgpu::ComputePass, residual: &wgpu::BindGroup| {
            pass.set_pipeline(kernels.batch_residual.pipeline("residual_batch"));
            pass.set_bind_group(0, residual, &[]);
            pass.dispatch_workgroups(row_groups, k as u32, 1);
            pass.set_pipeline(block_kernel.pipeline("xtr"));
            pass.set_bind_group(0, block, &[]);
            pass.dispatch_workgroups(gx, gy, 1);
        };
        let mut reads = vec![(&self.out, (4 * STATE * k) as u64)];
        if with_w {
            reads.push((&self.w, (4 * k * m) as u64));
        }
        if let Some((block, _)) = full {
            reads.push(block.correlations(k));
            reads.push((&self.r, (4 * k * self.n) as u64));
        }
        let read = run_and_read_encoded(
            ctx,
            "sub-batch FISTA",
            |enc| {
                encode_copies(enc, copies);
                compute_pass(enc, "sub-batch FISTA", |pass| {
                    for _ in 0..steps {
                        encode(pass, &self.residual_z);
                        pass.set_pipeline(kernels.batch_fista.pipeline("fista_batch"));
                        pass.set_bind_group(0, &self.fista, &[]);
                        pass.dispatch_workgroups(k as u32, 1, 1);
                    }
                    encode(pass, &self.residual_w);
                    pass.set_pipeline(kernels.batch_fista.pipeline("gap_batch"));
                    pass.set_bind_group(0, &self.fista, &[]);
                    pass.dispatch_workgroups(k as u32, 1, 1);
                });
                if let Some((block, full_width)) = full {
                    block.encode_pass_from(enc, kernels, (&self.r, k, full_width));
                }
            },
            &reads,
        )?;
        // The reads come back in the order they were asked for: sums, [w], [g, r].
        let mut read = read.into_iter();
        let mut next = |what: &str| read.next().unwrap_or_else(|| panic!("{what} was read"));
        let sums = next("the gap sums");
        let w = with_w.then(|| next("the iterate"));
        let pass = full.map(|_| (next("the pass's correlations"), next("its residuals")));
        Ok(CheckRead { sums, w, pass })
    }

    /// Writes the batch: the union of the working sets (returned, sorted; its columns are
    /// gathered on the device by [`SubBatch::gather`]), each problem's statistics on it (inverse scale 0 outside its own set), response, rows,
    /// warm start and state.
    fn load(&mut self, ctx: &GpuContext, specs: &[SubSpec]) -> Vec<usize> {
        let (n, k) = (self.n, specs.len());
        let mut union: Vec<usize> = specs.iter().flat_map(|s| s.ws.iter().copied()).collect();
        union.sort_unstable();
        union.dedup();
        let m = union.len();
        debug_assert!(self.holds(n, m) && k <= MAX_PROBLEMS);
        let mut mean = vec![0f32; k * m];
        let mut inv = vec![0f32; k * m];
        let mut pre = vec![1f32; k * m];
        let mut w = vec![0f32; k * m];
        let mut y = vec![0f32; k * n];
        let mut rows = vec![0f32; k * n];
        let mut state = vec![0f32; STATE * k];
        for (c, spec) in specs.iter().enumerate() {
            let pb = spec.pb;
            for (j, &col) in union.iter().enumerate() {
                mean[c * m + j] = pb.x_mean()[col] as f32;
            }
            for ((&col, &w0), &h) in spec.ws.iter().zip(&spec.w0).zip(&spec.curvature) {
                let j = union.binary_search(&col).expect("in the union");
                if pb.col_sq_norms()[col] != 0.0 {
                    inv[c * m + j] = (1.0 / pb.x_scale()[col]) as f32;
                    w[c * m + j] = w0 as f32;
                    pre[c * m + j] = (1.0 / h) as f32;
                }
            }
            for i in 0..n {
                y[c * n + i] = pb.yc()[i] as f32;
                rows[c * n + i] = f32::from(u8::from(pb.rows().contains(i)));
            }
            state[STATE * c..STATE * (c + 1)].copy_from_slice(&[
                spec.step as f32,
                spec.pen.l1() as f32,
                spec.pen.l2() as f32,
                (1.0 / pb.n() as f64) as f32,
                1.0,
                1.0,
                0.0,
                0.0,
            ]);
        }
        let write = |buf: &wgpu::Buffer, data: &[f32]| {
            ctx.queue.write_buffer(buf, 0, bytemuck::cast_slice(data));
        };
        write(&self.mean, &mean);
        write(&self.inv, &inv);
        write(&self.pre, &pre);
        write(&self.w, &w);
        write(&self.z, &w);
        write(&self.y, &y);
        write(&self.rows, &rows);
        write(&self.state, &state);
        let sub = SubUniform {
            n: n as u32,
            m: m as u32,
            k: k as u32,
            pad: 0,
        };
        ctx.queue
            .write_buffer(&self.sub_uniform, 0, bytemuck::bytes_of(&sub));
        let block = BlockUniform {
            n: n as u32,
            p: m as u32,
            k: k as u32,
            col_start: 0,
            ncols: m as u32,
            pad: [0; 3],
        };
        ctx.queue
            .write_buffer(&self.block_uniform, 0, bytemuck::bytes_of(&block));
        union
    }

    /// The copies that gather the columns `union` of X from the batch's copy of X into this
    /// sub-batch's (a column is contiguous; neighbours in one panel go as one copy).
    fn gather<'b>(&'b self, source: &'b BlockResident, union: &[usize]) -> Vec<Copy<'b>> {
        let col = 4 * self.n as u64;
        let mut copies: Vec<Copy> = Vec::new();
        for (j, &c) in union.iter().enumerate() {
            let (buf, at) = source.column(c);
            match copies.last_mut() {
                Some((b, from, _, to, bytes))
                    if std::ptr::eq(*b, buf)
                        && *from + *bytes == at
                        && *to + *bytes == j as u64 * col =>
                {
                    *bytes += col;
                }
                _ => copies.push((buf, at, &self.x, j as u64 * col, col)),
            }
        }
        copies
    }

    fn block_bind_group(&mut self, ctx: &GpuContext, kernels: &Kernels, width: usize) {
        let wi = width_index(width);
        if self.block[wi].is_none() {
            ctx.counts.bind_group();
            let (kernel, _) = kernels.block_for(width);
            self.block[wi] = Some(kernel.bind(
                &ctx.device,
                "sub-batch block",
                &[
                    &self.block_uniform,
                    &self.x,
                    &self.r,
                    &self.mean,
                    &self.inv,
                    &self.slot,
                    &self.g,
                ],
            ));
        }
    }
}
