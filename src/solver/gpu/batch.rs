//! The GPU as a batch engine ([`crate::solver::batch`], which owns the policy): the full pass
//! is the block pass, `Xe^T R` for up to 32 open problems in one read of X (block.rs), whose
//! f32 correlations filter each problem's f64 certificate; the subproblems run together as
//! FISTA on the device (sub_batch.rs: per-problem state, step and penalty in storage buffers,
//! stop masks) while their targets are within f32's reach.

use super::block::{block_device_bytes, BlockResident, MAX_BATCH};
use super::sub_batch::{self, SubBatch, MAX_PROBLEMS};
use super::{GpuBackend, F32_GAP_FLOOR};
use crate::error::{Error, Result};
use crate::problem::Problem;
use crate::solver::batch::{BatchEngine, Correlations, SubResult, SubSpec};
use crate::solver::certificate::DeviceCorrelations;

impl BatchEngine for GpuBackend {
    fn begin(&mut self, problems: &[&Problem]) -> Result<()> {
        self.stats.begin_solve();
        let first = problems[0];
        if problems
            .iter()
            .any(|pb| pb.design_id() != first.design_id())
        {
            return Err(Error::Unsupported(
                "a GPU batch solves problems on one design only".into(),
            ));
        }
        self.ensure_block(first, problems)
    }

    fn full_pass(&mut self, problems: &[&Problem], rs: &[Vec<f64>]) -> Result<Vec<Correlations>> {
        let t0 = std::time::Instant::now();
        let mut out = Vec::with_capacity(problems.len());
        for (pbs, rs) in problems.chunks(MAX_BATCH).zip(rs.chunks(MAX_BATCH)) {
            // The residuals are formed on the host in f64 and rounded once: the certificate
            // bounds the device's correlations at exactly this f32 residual.
            let r32: Vec<Vec<f32>> = rs
                .iter()
                .map(|r| r.iter().map(|&v| v as f32).collect())
                .collect();
            let block = self.block.as_mut().expect("uploaded by begin");
            let gs = block.pass(&self.ctx, &self.kernels, pbs, &r32)?;
            self.stats.block_passes += 1;
            for (g, r) in gs.into_iter().zip(r32) {
                check_finite(&g)?;
                out.push(Correlations::Rounded(DeviceCorrelations { g, r }));
            }
        }
        self.stats.certify_seconds += t0.elapsed().as_secs_f64();
        Ok(out)
    }

    fn subproblem_floor(&self) -> f64 {
        F32_GAP_FLOOR
    }

    fn solve_subproblems(
        &mut self,
        specs: &[SubSpec],
        whole_batch: bool,
    ) -> Result<Vec<Option<SubResult>>> {
        self.stats.working_set_rounds += 1;
        let n = specs[0].pb.design().n_rows();
        // A carried pass spares the round's pass only if every open problem brings one: a
        // problem left to the host (here or by the driver) makes the driver wait for it.
        let spared = whole_batch
            && specs
                .chunks(MAX_PROBLEMS)
                .all(|c| sub_batch::fits(&self.ctx, n, union_len(c)));
        let mut out = Vec::with_capacity(specs.len());
        for chunk in specs.chunks(MAX_PROBLEMS) {
            let m = union_len(chunk);
            if !sub_batch::fits(&self.ctx, n, m) {
                out.extend(chunk.iter().map(|_| None)); // left to the host
                continue;
            }
            if !self.sub_batch.as_ref().is_some_and(|b| b.holds(n, m)) {
                self.sub_batch = Some(SubBatch::new(&self.ctx, &self.kernels, n, 2 * m));
            }
            let block = self.block.as_mut().expect("uploaded by begin");
            let full_width = if spared
                && self.speculation.carries(
                    chunk.len(),
                    &self.ctx,
                    &self.kernels,
                    (&mut *block, chunk[0].pb),
                )? {
                let pbs: Vec<&Problem> = chunk.iter().map(|s| s.pb).collect();
                Some(block.load_layout(&self.ctx, &self.kernels, &pbs))
            } else {
                None
            };
            let sub = self.sub_batch.as_mut().expect("made above");
            let t0 = std::time::Instant::now();
            let (results, counts) = sub.solve(
                &self.ctx,
                &self.kernels,
                chunk,
                (&*block, full_width),
                &mut self.step_hints,
            )?;
            self.speculation.record(counts.checks);
            self.stats.gap_checks += counts.checks;
            self.stats.block_passes += counts.speculative_passes;
            self.stats.speculative_passes += counts.speculative_passes;
            self.stats.speculative_passes_used += usize::from(counts.speculative_used);
            for r in &results {
                if let Some(dev) = &r.pass {
                    check_finite(&dev.g)?;
                }
            }
            self.stats.iterate_seconds += t0.elapsed().as_secs_f64();
            self.stats.gpu_iterations += results.iter().map(|r| r.n_iter).sum::<usize>();
            out.extend(results.into_iter().map(Some));
        }
        Ok(out)
    }

    fn label(&self) -> &'static str {
        "gpu"
    }

    fn certified(&mut self, exact_columns: usize) {
        self.stats.certify_exact_columns = exact_columns;
    }

    fn polished(&mut self, seconds: f64, columns: usize) {
        self.stats.polish_seconds += seconds;
        self.stats.polish_features = columns;
    }
}

impl GpuBackend {
    /// Uploads the design of `first` for block passes unless it is on the device, with a slot
    /// for each set of statistics in `problems`.
    fn ensure_block(&mut self, first: &Problem, problems: &[&Problem]) -> Result<()> {
        if self.block.as_ref().is_some_and(|b| b.holds(first)) {
            return Ok(());
        }
        // One copy of X on the device at a time.
        self.block = None;
        self.resident = None;
        let mut ids: Vec<u64> = problems.iter().map(|pb| pb.data_id()).collect();
        ids.sort_unstable();
        ids.dedup();
        let (n, p) = (first.design().n_rows(), first.design().n_cols());
        self.check_memory(block_device_bytes(n, p, ids.len()), n, p)?;
        let t0 = std::time::Instant::now();
        let block = BlockResident::upload(&self.ctx, first, ids.len(), self.opts.max_panel_cols)?;
        self.stats.upload_seconds = t0.elapsed().as_secs_f64();
        self.stats.n_panels = block.n_panels();
        self.block = Some(block);
        self.speculation.forget_costs();
        Ok(())
    }
}

/// Columns in the union of the subproblems' working sets.
fn union_len(specs: &[SubSpec]) -> usize {
    let mut all: Vec<usize> = specs.iter().flat_map(|s| s.ws.iter().copied()).collect();
    all.sort_unstable();
    all.dedup();
    all.len()
}

/// Host-side f32 tests are bit tests: a NaN or infinity would otherwise vanish in the
/// certificate's `max` reductions.
fn check_finite(g: &[f32]) -> Result<()> {
    if g.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(Error::Gpu(
            "the device produced a non-finite value (NaN or infinity) in X^T r: refusing to \
             certify from it"
                .into(),
        ))
    }
}
