//! A batch of problems on one design (the folds of a cross-validation with the full data,
//! several responses; and any problem fitted on a subset of the rows) solved together on the
//! device. The full pass, `Xe^T R` for every open problem in one read of X (block.rs), filters
//! each problem's f64 certificate. The policy is the single solve's: Gap Safe and the
//! working-set rule of `working_sets.rs`, the strong set and the exact correlations a warm
//! start brings (`warm.rs`), each problem with its own working set, gap and stop. The
//! working-set subproblems run together as FISTA on the device (`sub_batch.rs`: per-problem
//! state, step and penalty in storage buffers, stop masks) while their targets are within f32's
//! reach; below it, or once f32 stops gaining, a problem's rounds run in f64 by coordinate
//! descent on the host ("gpu+cpu-polish"). A finished problem leaves the batch: its residual is
//! not in the next pass.

use std::sync::Arc;

use rayon::prelude::*;

use super::block::{block_device_bytes, BlockResident, MAX_BATCH};
use super::finish::exact_certificate;
use super::sub_batch::{self, SubBatch, SubSpec, MAX_PROBLEMS};
use super::warm::{screen_at_start, Start};
use super::working_sets::WorkingSets;
use super::{GpuBackend, F32_GAP_FLOOR};
use crate::design::Columns;
use crate::error::{Error, Result};
use crate::params::ValidParams;
use crate::penalty::ElasticNet;
use crate::problem::{sq_norm, Problem};
use crate::solver::certificate::{certify, Certificate, DeviceCorrelations};
use crate::solver::{cd, fista, stop_status, Fit, Warm};

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
    /// The gap a working-set round on the device started from, to tell whether f32 still
    /// makes progress.
    device_round_from: Option<f64>,
    /// f32 stopped gaining: the rounds left run in f64 on the host.
    host_only: bool,
    /// Some round ran in f64 on the host.
    polished: bool,
}

/// A working-set round of one problem: its set and the gap its subproblem is solved to.
struct Round {
    ws: Vec<usize>,
    target: f64,
    /// The certified gap the round starts from.
    gap: f64,
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
            device_round_from: None,
            host_only: false,
            polished: false,
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
            if self.polished {
                "gpu+cpu-polish"
            } else {
                "gpu"
            },
            cert.grad.clone(),
        ))
    }

    /// The next working-set round from the certificate of `w`.
    fn plan(&mut self, cert: &Certificate, params: &ValidParams) -> Round {
        let (pb, pen) = (self.pb, &self.pen);
        let gap = cert.info.gap;
        if let Some(from) = self.device_round_from.take() {
            // A device round that did not halve the gap has met f32's precision.
            self.host_only |= gap > 0.5 * from;
        }
        let ws = if pen.l1() > 0.0 {
            self.sets
                .next(pb, pen, &mut self.w, &cert.grad, gap, params)
        } else {
            // Ridge: every feature is in the model, the subproblem is the problem.
            (0..pb.p())
                .filter(|&j| pb.col_sq_norms()[j] != 0.0)
                .collect()
        };
        Round {
            ws,
            target: self.sets.sub_target(gap, self.gap_tol),
            gap,
        }
    }

    /// The subproblem of `round` (its columns, with the problem's statistics on them).
    fn with_subproblem<T>(&self, round: &Round, f: impl FnOnce(&Problem) -> T) -> Result<T> {
        let cols = Columns::new(self.pb.design(), round.ws.clone());
        let stats = Arc::new(self.pb.stats().select_columns(&round.ws));
        let sub = Problem::with_stats(&cols, stats, self.pb.yc())?;
        Ok(f(&sub))
    }

    /// Whether `round` runs on the device: in f32 FISTA the subproblem's gap cannot go far
    /// below [`F32_GAP_FLOOR`] (relative), and a Ridge set is the whole problem.
    fn on_device(&self, round: &Round) -> bool {
        let scale = sq_norm(self.pb.yc()) / self.pb.n() as f64;
        !self.host_only && self.pen.l1() > 0.0 && round.target >= F32_GAP_FLOOR * scale
    }

    /// The FISTA step of `round`'s subproblem, from its f64 Lanczos estimate.
    fn step(&self, round: &Round) -> Result<f64> {
        let lip = self.with_subproblem(round, |sub| fista::lipschitz(sub, &self.pen))?;
        Ok(if lip > 0.0 { 1.0 / lip } else { 0.0 })
    }

    /// `round` in f64 on the host: coordinate descent on its subproblem.
    fn solve_on_host(&mut self, round: &Round, params: &ValidParams) -> Result<()> {
        let scale = sq_norm(self.pb.yc()) / self.pb.n() as f64;
        let sub_params = ValidParams {
            tol: if scale > 0.0 {
                round.target / scale
            } else {
                params.tol
            },
            max_iter: self.iterations_left(params),
            ..*params
        };
        let w0: Vec<f64> = round.ws.iter().map(|&j| self.w[j]).collect();
        let fit = self.with_subproblem(round, |sub| {
            cd::solve(sub, &self.pen, Some(&Warm::from_w(&w0)), &sub_params)
        })?;
        self.polished = true;
        self.accept(round, &fit.w, fit.n_iter);
        Ok(())
    }

    fn iterations_left(&self, params: &ValidParams) -> usize {
        params.max_iter.saturating_sub(self.n_iter).max(1)
    }

    /// Takes a subproblem's answer `sub_w` (on `round.ws`) after `iters` iterations.
    fn accept(&mut self, round: &Round, sub_w: &[f64], iters: usize) {
        self.n_iter += iters.max(1);
        for (&j, &v) in round.ws.iter().zip(sub_w) {
            self.w[j] = v;
        }
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
            let rounds: Vec<Round> = still
                .par_iter_mut()
                .zip(&pending)
                .map(|(o, cert)| o.plan(cert, params))
                .collect();
            self.solve_rounds(&mut still, &rounds, params)?;
            open = still;
        }
        Ok(fits
            .into_iter()
            .map(|f| f.expect("every problem finished"))
            .collect())
    }

    /// Solves every problem's working-set round: on the device together (sub-batches of up
    /// to 32 problems, `sub_batch.rs`) where f32 can reach its target, the others in f64 on
    /// the host, in parallel.
    fn solve_rounds(
        &mut self,
        open: &mut [Open],
        rounds: &[Round],
        params: &ValidParams,
    ) -> Result<()> {
        let n = open.first().map_or(0, |o| o.pb.design().n_rows());
        let device: Vec<usize> = (0..open.len())
            .filter(|&i| open[i].on_device(&rounds[i]))
            .collect();
        for chunk in device.chunks(MAX_PROBLEMS) {
            let m = union_len(chunk.iter().map(|&i| &rounds[i]));
            if !sub_batch::fits(&self.ctx, n, m) {
                continue; // left to the host below
            }
            let specs: Vec<SubSpec> = chunk
                .par_iter()
                .map(|&i| {
                    let (o, round) = (&open[i], &rounds[i]);
                    Ok(SubSpec {
                        pb: o.pb,
                        pen: o.pen,
                        ws: round.ws.clone(),
                        w0: round.ws.iter().map(|&j| o.w[j]).collect(),
                        step: o.step(round)?,
                        target: round.target,
                        max_iter: o.iterations_left(params),
                    })
                })
                .collect::<Result<_>>()?;
            if !self.sub_batch.as_ref().is_some_and(|b| b.holds(n, m)) {
                self.sub_batch = Some(SubBatch::new(&self.ctx, &self.kernels, n, 2 * m));
            }
            let sub = self.sub_batch.as_mut().expect("made above");
            let t0 = std::time::Instant::now();
            let results = sub.solve(&self.ctx, &self.kernels, &specs)?;
            self.stats.iterate_seconds += t0.elapsed().as_secs_f64();
            for (&i, res) in chunk.iter().zip(results) {
                self.stats.gpu_iterations += res.n_iter;
                let o = &mut open[i];
                o.device_round_from = Some(rounds[i].gap);
                o.accept(&rounds[i], &res.w, res.n_iter);
            }
        }
        let on_device: Vec<bool> = (0..open.len())
            .map(|i| open[i].device_round_from.is_some())
            .collect();
        open.par_iter_mut()
            .zip(rounds)
            .zip(on_device)
            .filter(|(_, dev)| !dev)
            .map(|((o, round), _)| o.solve_on_host(round, params))
            .collect::<Result<Vec<()>>>()?;
        Ok(())
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
            self.stats.block_passes += 1;
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

/// Columns in the union of the rounds' working sets.
fn union_len<'r>(rounds: impl Iterator<Item = &'r Round>) -> usize {
    let mut all: Vec<usize> = rounds.flat_map(|r| r.ws.iter().copied()).collect();
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
