//! A batch of problems on one design (the folds of a cross-validation with the full data,
//! several responses; and any problem fitted on a subset of the rows) solved together on the
//! device. The device does what only it does well, the full pass: `Xe^T R` for every open
//! problem in one read of X (block.rs), which filters each problem's f64 certificate. The
//! policy is the single solve's: Gap Safe and the working-set rule of `working_sets.rs`, the
//! strong set and the exact correlations a warm start brings (`warm.rs`), each problem with its
//! own working set, gap and stop. Each working-set subproblem (a few hundred columns) is solved
//! in f64 by coordinate descent on the host, all problems in parallel, so a batch needs no
//! f32 polish. A finished problem leaves the batch: its residual is not in the next pass.

use std::sync::Arc;

use rayon::prelude::*;

use super::block::{block_device_bytes, BlockResident, MAX_BATCH};
use super::finish::exact_certificate;
use super::warm::{screen_at_start, Start};
use super::working_sets::WorkingSets;
use super::GpuBackend;
use crate::design::Columns;
use crate::error::{Error, Result};
use crate::params::ValidParams;
use crate::penalty::ElasticNet;
use crate::problem::{sq_norm, Problem};
use crate::solver::certificate::{certify, Certificate, DeviceCorrelations};
use crate::solver::{cd, stop_status, Fit, Warm};

/// One problem of the batch while it is open.
struct Open<'a> {
    /// Its place in the batch.
    index: usize,
    pb: &'a Problem<'a>,
    pen: ElasticNet,
    gap_tol: f64,
    w: Vec<f64>,
    sets: WorkingSets,
    /// Exact correlations at `w` (a warm start's), which spare the first pass.
    exact: Option<Vec<f64>>,
    n_iter: usize,
    full_passes: usize,
}

impl<'a> Open<'a> {
    fn new(index: usize, pb: &'a Problem<'a>, pen: ElasticNet, start: Start, tol: f64) -> Self {
        let Start {
            w,
            keep,
            exact,
            strong,
        } = start;
        Open {
            index,
            pb,
            pen,
            gap_tol: pb.gap_tolerance(tol),
            sets: WorkingSets::new(keep, strong, &w),
            w,
            exact,
            n_iter: 0,
            full_passes: 0,
        }
    }

    /// The fit, when `cert` (of the current `w`) ends the solve.
    fn finished(&mut self, cert: &Certificate, params: &ValidParams) -> Option<Fit> {
        let status = stop_status(cert.info.gap, self.gap_tol, self.n_iter, params.max_iter)?;
        Some(Fit::finished(
            std::mem::take(&mut self.w),
            &cert.info,
            self.gap_tol,
            (self.n_iter, self.full_passes),
            status,
            "gpu",
            cert.grad.clone(),
        ))
    }

    /// One working-set round from the certificate of `w`: the next set, and its subproblem
    /// solved in f64 by coordinate descent to a fraction of the global gap.
    fn solve_working_set(&mut self, cert: &Certificate, params: &ValidParams) -> Result<()> {
        let (pb, pen) = (self.pb, &self.pen);
        let gap = cert.info.gap;
        let ws = if pen.l1() > 0.0 {
            self.sets
                .next(pb, pen, &mut self.w, &cert.grad, gap, params)
        } else {
            // Ridge: every feature is in the model, the subproblem is the problem.
            (0..pb.p())
                .filter(|&j| pb.col_sq_norms()[j] != 0.0)
                .collect()
        };
        let target = self.sets.sub_target(gap, self.gap_tol);
        let cols = Columns::new(pb.design(), ws.clone());
        let stats = Arc::new(pb.stats().select_columns(&ws));
        let sub = Problem::with_stats(&cols, stats, pb.yc())?;
        let scale = sq_norm(pb.yc()) / pb.n() as f64;
        let sub_params = ValidParams {
            tol: if scale > 0.0 {
                target / scale
            } else {
                params.tol
            },
            max_iter: params.max_iter.saturating_sub(self.n_iter).max(1),
            ..*params
        };
        let w0: Vec<f64> = ws.iter().map(|&j| self.w[j]).collect();
        let fit = cd::solve(&sub, pen, Some(&Warm::from_w(&w0)), &sub_params);
        self.n_iter += fit.n_iter.max(1);
        for (&j, &v) in ws.iter().zip(&fit.w) {
            self.w[j] = v;
        }
        Ok(())
    }
}

impl GpuBackend {
    /// Solves every problem of the batch (all on one design) on the device.
    pub(super) fn solve_batch_on_device(
        &mut self,
        problems: &[&Problem],
        penalties: &[ElasticNet],
        warms: &[Option<Warm>],
        params: &ValidParams,
    ) -> Result<Vec<Fit>> {
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
        self.ensure_block(first, problems)?;
        let mut fits: Vec<Option<Fit>> = problems.iter().map(|_| None).collect();
        let mut open: Vec<Open> = problems
            .iter()
            .zip(penalties)
            .zip(warms)
            .enumerate()
            .map(|(i, ((pb, pen), warm))| {
                let start = screen_at_start(pb, pen, warm.as_ref(), params);
                Open::new(i, pb, *pen, start, params.tol)
            })
            .collect();
        while !open.is_empty() {
            let certs = self.certify_open(&mut open)?;
            let mut still = Vec::with_capacity(open.len());
            let mut pending = Vec::with_capacity(open.len());
            for (mut o, cert) in open.into_iter().zip(certs) {
                match o.finished(&cert, params) {
                    Some(fit) => fits[o.index] = Some(fit),
                    None => {
                        still.push(o);
                        pending.push(cert);
                    }
                }
            }
            self.stats.working_set_rounds += usize::from(!still.is_empty());
            still
                .par_iter_mut()
                .zip(&pending)
                .map(|(o, cert)| o.solve_working_set(cert, params))
                .collect::<Result<Vec<()>>>()?;
            open = still;
        }
        Ok(fits
            .into_iter()
            .map(|f| f.expect("every problem finished"))
            .collect())
    }

    /// The f64 certificate of every open problem at its `w`: from the exact correlations a
    /// warm start brought, else filtered by the device's correlations from one block pass per
    /// [`MAX_BATCH`] problems (residuals formed on the host in f64, rounded once to f32).
    fn certify_open(&mut self, open: &mut [Open]) -> Result<Vec<Certificate>> {
        let t0 = std::time::Instant::now();
        let mut certs: Vec<Option<Certificate>> = open
            .par_iter_mut()
            .map(|o| {
                o.exact
                    .take()
                    .map(|grad| exact_certificate(o.pb, &o.pen, &o.w, grad).cert)
            })
            .collect();
        let need: Vec<usize> = (0..open.len()).filter(|&i| certs[i].is_none()).collect();
        for chunk in need.chunks(MAX_BATCH) {
            let rs: Vec<Vec<f32>> = chunk
                .par_iter()
                .map(|&i| {
                    let r = open[i].pb.residual(&open[i].w);
                    r.iter().map(|&v| v as f32).collect()
                })
                .collect();
            let pbs: Vec<&Problem> = chunk.iter().map(|&i| open[i].pb).collect();
            let block = self.block.as_mut().expect("uploaded by ensure_block");
            let gs = block.pass(&self.ctx, &self.kernels, &pbs, &rs)?;
            let made: Vec<Result<Certificate>> = chunk
                .par_iter()
                .zip(gs)
                .zip(rs)
                .map(|((&i, g), r)| {
                    let o = &open[i];
                    check_finite(&g)?;
                    Ok(certify(
                        o.pb,
                        &o.pen,
                        &o.w,
                        Some(&DeviceCorrelations { g, r }),
                    ))
                })
                .collect();
            for (&i, cert) in chunk.iter().zip(made) {
                let cert = cert?;
                open[i].full_passes += 1 + usize::from(cert.exact_columns == open[i].pb.p());
                certs[i] = Some(cert);
            }
        }
        self.stats.certify_seconds += t0.elapsed().as_secs_f64();
        Ok(certs
            .into_iter()
            .map(|c| c.expect("every problem certified"))
            .collect())
    }

    /// Uploads the design of `first` for block passes unless it is on the device, with a slot
    /// for each set of statistics in `problems`.
    fn ensure_block(&mut self, first: &Problem, problems: &[&Problem]) -> Result<()> {
        if self.block.as_ref().is_some_and(|b| b.holds(first)) {
            return Ok(());
        }
        // One copy of X on the device at a time.
        self.block = None;
        self.resident = None;
        self.sub_resident = None;
        let mut ids: Vec<u64> = problems.iter().map(|pb| pb.data_id()).collect();
        ids.sort_unstable();
        ids.dedup();
        let (n, p) = (first.design().n_rows(), first.design().n_cols());
        self.check_memory(block_device_bytes(n, p, ids.len()), n, p)?;
        let t0 = std::time::Instant::now();
        let block = BlockResident::upload(&self.ctx, first, ids.len(), self.opts.max_panel_cols)?;
        self.stats.upload_seconds = t0.elapsed().as_secs_f64();
        self.block = Some(block);
        Ok(())
    }
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
