//! The working-set driver of a batch: problems on one design (the folds of a
//! cross-validation with the full data, several responses, a single fit) solved together,
//! each with its own working set, f64 certificate and stop. It owns the policy: the strong
//! set and the exact correlations a warm start brings, Gap Safe and the working-set rule
//! ([`super::working_sets`]), the certificate ([`super::certificate`]), and the f64 polish.
//! A backend offers only what it computes ([`BatchEngine`]): the full pass, `Xe^T R` for every
//! open problem in one read of X, and a subproblem solver. A finished problem leaves the batch:
//! its residual is not in the next pass.
//!
//! Each round: every open problem's certificate (from the full pass, or from the exact
//! correlations its warm start brought); the finished ones leave; each other chooses its next
//! working set and the gap its subproblem must reach; the engine solves the subproblems within
//! its precision together, and coordinate descent in f64 the rest (below the engine's floor,
//! or once it stops gaining: "polish").

use std::sync::Arc;

use rayon::prelude::*;

use super::certificate::{certify_at, Certificate, DeviceCorrelations};
use super::working_sets::{screen_at_start, Start, WorkingSetRule};
use super::{cd, fista, stop_status, Fit, Warm};
use crate::design::Columns;
use crate::error::Result;
use crate::params::ValidParams;
use crate::penalty::ElasticNet;
use crate::problem::{sq_norm, Problem};

/// The correlations `Xe^T r` a full pass gives: exact, or rounded with the residual they
/// were computed from (the certificate's filter, [`certify`]).
pub enum Correlations {
    Exact(Vec<f64>),
    Rounded(DeviceCorrelations),
}

/// A working-set subproblem: columns `ws` (sorted) of `pb`, from `w0` (on `ws`), solved
/// until its gap is at most `target` by FISTA preconditioned by the diagonal of its Hessian:
/// coordinate `ws[k]` steps by `step / curvature[k]` ([`fista::jacobi`]).
pub struct SubSpec<'a> {
    pub pb: &'a Problem<'a>,
    pub pen: ElasticNet,
    pub ws: Vec<usize>,
    pub w0: Vec<f64>,
    pub step: f64,
    /// The smooth part's curvature along each coordinate, `||xe_j||^2 / n + l2` (1 for a
    /// zero column, which never moves).
    pub curvature: Vec<f64>,
    pub target: f64,
    pub max_iter: usize,
}

/// A subproblem's answer on its working set, with the iterations it took.
pub struct SubResult {
    pub w: Vec<f64>,
    pub n_iter: usize,
    /// Correlations over every column at the engine's own residual for this answer, when it
    /// computed them with its last check (they spare the round's full pass).
    pub pass: Option<DeviceCorrelations>,
}

/// What a backend computes for the driver.
pub trait BatchEngine {
    /// Gets ready for a batch of problems on one design (a device uploads X once).
    fn begin(&mut self, problems: &[&Problem]) -> Result<()>;
    /// `Xe^T r_c` for each problem `c` at its residual `rs[c]` (zero outside its rows): one
    /// read of X for all of them.
    fn full_pass(&mut self, problems: &[&Problem], rs: &[Vec<f64>]) -> Result<Vec<Correlations>>;
    /// The smallest gap its subproblem solver reaches, relative to `||yc||^2 / n`
    /// (`f64::INFINITY`: it has none, coordinate descent on the host solves them all).
    fn subproblem_floor(&self) -> f64;
    /// Solves `specs` together; `None` for one it cannot take (the host solves it).
    /// `whole_batch`: every open problem is among `specs`, so answers that bring their own
    /// pass ([`SubResult::pass`]) can spare the round's full pass; otherwise it runs anyway.
    fn solve_subproblems(
        &mut self,
        specs: &[SubSpec],
        whole_batch: bool,
    ) -> Result<Vec<Option<SubResult>>>;
    /// The device its fits are labelled with ("gpu", "cpu").
    fn label(&self) -> &'static str;
    /// Told how many columns each certificate from its pass recomputed in f64 (for reports).
    fn certified(&mut self, _exact_columns: usize) {}
    /// Told the seconds and working-set columns of the rounds the host solved in f64 beside
    /// it (for reports).
    fn polished(&mut self, _seconds: f64, _columns: usize) {}
}

/// Solves each problem (all on one design) at its penalty from its warm start, each to its
/// own duality gap, with `engine`'s passes and subproblems.
pub fn solve(
    engine: &mut dyn BatchEngine,
    problems: &[&Problem],
    penalties: &[ElasticNet],
    warms: &[Option<Warm>],
    params: &ValidParams,
) -> Result<Vec<Fit>> {
    engine.begin(problems)?;
    let label = engine.label();
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
        let certs = certify_open(engine, &mut open)?;
        let mut still = Vec::with_capacity(open.len());
        let mut pending = Vec::with_capacity(open.len());
        for (mut o, cert) in open.into_iter().zip(certs) {
            match o.finished(&cert, params, label) {
                Some(fit) => fits[o.index] = Some(fit),
                None => {
                    still.push(o);
                    pending.push(cert);
                }
            }
        }
        let rounds: Vec<Round> = still
            .par_iter_mut()
            .zip(&pending)
            .map(|(o, cert)| o.plan(cert, params))
            .collect();
        solve_rounds(engine, &mut still, &rounds, params)?;
        open = still;
    }
    Ok(fits
        .into_iter()
        .map(|f| f.expect("every problem finished"))
        .collect())
}

/// The f64 certificate of every open problem at its `w`: from the exact correlations a warm
/// start brought, else from one full pass for all the others (residuals in f64 on the host).
fn certify_open(engine: &mut dyn BatchEngine, open: &mut [Open]) -> Result<Vec<Certificate>> {
    let carried: Vec<bool> = open
        .iter()
        .map(|o| o.exact.is_none() && o.device_pass.is_some())
        .collect();
    let mut certs: Vec<Option<Certificate>> = open
        .par_iter_mut()
        .map(|o| match (o.exact.take(), o.device_pass.take()) {
            (Some(grad), _) => Some(exact_certificate(o.pb, &o.pen, &o.w, grad)),
            (None, Some(dev)) => {
                let r = o.pb.residual(&o.w);
                Some(certify_at(o.pb, &o.pen, &o.w, &r, Some(&dev)))
            }
            (None, None) => None,
        })
        .collect();
    // The engine's own passes (carried by its subproblems' answers) count as passes.
    for (i, cert) in certs.iter().enumerate() {
        if let (Some(cert), true) = (cert, carried[i]) {
            count_pass(engine, &mut open[i], cert);
        }
    }
    let need: Vec<usize> = (0..open.len()).filter(|&i| certs[i].is_none()).collect();
    if need.is_empty() {
        return Ok(certs.into_iter().map(Option::unwrap).collect());
    }
    let rs: Vec<Vec<f64>> = need
        .par_iter()
        .map(|&i| open[i].pb.residual(&open[i].w))
        .collect();
    let pbs: Vec<&Problem> = need.iter().map(|&i| open[i].pb).collect();
    let gs = engine.full_pass(&pbs, &rs)?;
    let made: Vec<Certificate> = need
        .par_iter()
        .zip(gs)
        .zip(&rs)
        .map(|((&i, g), r)| {
            let o = &open[i];
            match g {
                Correlations::Exact(grad) => certificate_at(o.pb, &o.pen, &o.w, r, grad),
                Correlations::Rounded(dev) => certify_at(o.pb, &o.pen, &o.w, r, Some(&dev)),
            }
        })
        .collect();
    for (&i, cert) in need.iter().zip(made) {
        count_pass(engine, &mut open[i], &cert);
        certs[i] = Some(cert);
    }
    Ok(certs
        .into_iter()
        .map(|c| c.expect("every problem certified"))
        .collect())
}

/// A certificate from a pass of the engine: one pass, and a second on the host where the
/// certificate had to read every column; the engine hears how many it read.
fn count_pass(engine: &mut dyn BatchEngine, o: &mut Open, cert: &Certificate) {
    engine.certified(cert.exact_columns);
    o.full_passes += 1 + usize::from(cert.exact_columns == o.pb.p());
}

/// The certificate of `w` from its exact f64 correlations.
fn exact_certificate(pb: &Problem, pen: &ElasticNet, w: &[f64], grad: Vec<f64>) -> Certificate {
    certificate_at(pb, pen, w, &pb.residual(w), grad)
}

/// The certificate of `w`, whose residual is `r`, from its exact f64 correlations.
fn certificate_at(
    pb: &Problem,
    pen: &ElasticNet,
    w: &[f64],
    r: &[f64],
    grad: Vec<f64>,
) -> Certificate {
    let info = pb.duality_gap_from(w, r, &grad, pen);
    Certificate {
        info,
        grad,
        exact_columns: 0,
    }
}

/// Solves every problem's round: the engine those within its precision, together; the
/// others in f64 by coordinate descent on the host, in parallel.
fn solve_rounds(
    engine: &mut dyn BatchEngine,
    open: &mut [Open],
    rounds: &[Round],
    params: &ValidParams,
) -> Result<()> {
    let floor = engine.subproblem_floor();
    let mine: Vec<usize> = (0..open.len())
        .filter(|&i| open[i].within_reach(&rounds[i], floor))
        .collect();
    let specs: Vec<SubSpec> = mine
        .par_iter()
        .map(|&i| open[i].spec(&rounds[i], params))
        .collect::<Result<_>>()?;
    let mut solved = vec![false; open.len()];
    if !specs.is_empty() {
        let results = engine.solve_subproblems(&specs, mine.len() == open.len())?;
        for (&i, res) in mine.iter().zip(results) {
            if let Some(res) = res {
                open[i].engine_round_from = Some(rounds[i].gap);
                open[i].accept(&rounds[i], &res.w, res.n_iter);
                open[i].device_pass = res.pass;
                solved[i] = true;
            }
        }
    }
    let t0 = std::time::Instant::now();
    let columns: usize = rounds
        .iter()
        .zip(&solved)
        .filter(|(_, done)| !**done)
        .map(|(r, _)| r.ws.len())
        .sum();
    open.par_iter_mut()
        .zip(rounds)
        .zip(solved)
        .filter(|(_, done)| !done)
        .map(|((o, round), _)| o.solve_on_host(round, params, floor.is_finite()))
        .collect::<Result<Vec<()>>>()?;
    if columns > 0 {
        engine.polished(t0.elapsed().as_secs_f64(), columns);
    }
    Ok(())
}

/// One problem of the batch while it is open.
struct Open<'a> {
    /// Its place in the batch.
    index: usize,
    pb: &'a Problem<'a>,
    pen: ElasticNet,
    gap_tol: f64,
    w: Vec<f64>,
    sets: WorkingSetRule,
    /// Exact correlations at `w` (a warm start's), which spare the first pass.
    exact: Option<Vec<f64>>,
    /// The engine's correlations at `w` (its subproblem's answer), which spare the next.
    device_pass: Option<DeviceCorrelations>,
    n_iter: usize,
    full_passes: usize,
    /// The gap the last round on the engine started from, to tell whether it still gains.
    engine_round_from: Option<f64>,
    /// The engine stopped gaining: the rounds left run in f64 on the host.
    host_only: bool,
    /// Some round ran in f64 on the host while an engine with a floor was there.
    polished: bool,
}

/// A working-set round of one problem: its set, the gap its subproblem is solved to, and
/// the certified gap it starts from.
struct Round {
    ws: Vec<usize>,
    target: f64,
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
            sets: WorkingSetRule::new(keep, strong, &w),
            w,
            exact,
            device_pass: None,
            n_iter: 0,
            full_passes: 0,
            engine_round_from: None,
            host_only: false,
            polished: false,
        }
    }

    /// The fit, when `cert` (of the current `w`) ends the solve.
    fn finished(&mut self, cert: &Certificate, params: &ValidParams, label: &str) -> Option<Fit> {
        let status = stop_status(cert.info.gap, self.gap_tol, self.n_iter, params.max_iter)?;
        let device = if self.polished {
            format!("{label}+cpu-polish")
        } else {
            label.to_string()
        };
        Some(Fit::finished(
            std::mem::take(&mut self.w),
            &cert.info,
            self.gap_tol,
            (self.n_iter, self.full_passes),
            status,
            &device,
            cert.grad.clone(),
        ))
    }

    /// The next working-set round from the certificate of `w`.
    fn plan(&mut self, cert: &Certificate, params: &ValidParams) -> Round {
        let (pb, pen) = (self.pb, &self.pen);
        let gap = cert.info.gap;
        if let Some(from) = self.engine_round_from.take() {
            // A round that did not halve the gap has met the engine's precision.
            self.host_only |= gap > 0.5 * from;
        }
        let ws = if pen.l1() > 0.0 {
            self.sets
                .next(pb, pen, &mut self.w, &cert.grad, &cert.info, params)
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

    /// Whether the engine, whose subproblems reach `floor` (relative), takes `round`.
    fn within_reach(&self, round: &Round, floor: f64) -> bool {
        let scale = sq_norm(self.pb.yc()) / self.pb.n() as f64;
        !self.host_only && self.pen.l1() > 0.0 && round.target >= floor * scale
    }

    /// The engine's description of `round`, with its FISTA step from the f64 Lanczos
    /// estimate of its subproblem, preconditioned ([`fista::jacobi`]).
    fn spec(&self, round: &Round, params: &ValidParams) -> Result<SubSpec<'a>> {
        let (curvature, step) = fista::jacobi(self.pb, &self.pen, &round.ws)?;
        Ok(SubSpec {
            pb: self.pb,
            pen: self.pen,
            ws: round.ws.clone(),
            w0: round.ws.iter().map(|&j| self.w[j]).collect(),
            step,
            curvature,
            target: round.target,
            max_iter: self.iterations_left(params),
        })
    }

    /// The subproblem of `round` (its columns, with the problem's statistics on them).
    fn with_subproblem<T>(&self, round: &Round, f: impl FnOnce(&Problem) -> T) -> Result<T> {
        let cols = Columns::new(self.pb.design(), round.ws.clone());
        let stats = Arc::new(self.pb.stats().select_columns(&round.ws));
        let sub = Problem::with_stats(&cols, stats, self.pb.yc())?;
        Ok(f(&sub))
    }

    /// `round` in f64 on the host: coordinate descent on its subproblem (a `polish` of an
    /// engine's answer, when the engine has subproblems of its own).
    fn solve_on_host(&mut self, round: &Round, params: &ValidParams, polish: bool) -> Result<()> {
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
        self.polished |= polish;
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

/// The f64 CPU as a batch engine: exact block passes (one read of X for all problems) and no
/// subproblem solver of its own (coordinate descent in f64 takes them all). Backs the
/// driver's tests; the CPU's own solves use [`super::cd::CdSolve`].
pub struct CpuEngine;

impl BatchEngine for CpuEngine {
    fn begin(&mut self, _problems: &[&Problem]) -> Result<()> {
        Ok(())
    }

    fn full_pass(&mut self, problems: &[&Problem], rs: &[Vec<f64>]) -> Result<Vec<Correlations>> {
        let p = problems.first().map_or(0, |pb| pb.p());
        let mut gs: Vec<Vec<f64>> = vec![vec![0.0; p]; problems.len()];
        {
            let rs: Vec<&[f64]> = rs.iter().map(Vec::as_slice).collect();
            let mut outs: Vec<&mut [f64]> = gs.iter_mut().map(Vec::as_mut_slice).collect();
            crate::problem::rmatmat(problems, &rs, &mut outs);
        }
        Ok(gs.into_iter().map(Correlations::Exact).collect())
    }

    fn subproblem_floor(&self) -> f64 {
        f64::INFINITY
    }

    fn solve_subproblems(
        &mut self,
        specs: &[SubSpec],
        _whole_batch: bool,
    ) -> Result<Vec<Option<SubResult>>> {
        Ok(specs.iter().map(|_| None).collect())
    }

    fn label(&self) -> &'static str {
        "cpu"
    }
}
