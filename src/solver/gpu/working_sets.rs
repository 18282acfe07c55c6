//! Working sets on the device (celer / skglm style): one pass over all of X gives the
//! correlations, the f64 certificate of the current iterate and, from it, a dynamic Gap Safe
//! test; the working set is chosen on the host, its columns gathered once into a compact device
//! buffer, and FISTA runs on that small problem until its gap is [`WS_GAP_FRACTION`] of the
//! global one; repeat. Full passes over X: one per outer iteration.

use super::finish::{exact_certificate, Solved};
use super::resident::Resident;
use super::warm::Start;
use super::{lanczos_sigma_max_sq, stalled, GpuBackend};
use crate::design::Columns;
use crate::error::Result;
use crate::params::ValidParams;
use crate::penalty::ElasticNet;
use crate::problem::Problem;
use crate::solver::fista;
use crate::solver::screening::{gap_safe_screen, working_set};

/// Smallest GPU working set.
const WS_MIN: usize = 64;
/// A working-set subproblem is solved until its gap is this fraction of the global gap.
/// celer uses 0.3; on the GPU a pass over all of X costs far more than a subproblem step, so
/// solving deeper pays (lavapipe, 100-lambda path on 200 x 8000: 1.3 passes per lambda and
/// 6.2 s at 0.01, 1.6 and 6.4 s at 0.1, 2.1 and 7.5 s at 0.3).
const WS_GAP_FRACTION: f64 = 0.01;

/// The working-set rule, one implementation for every GPU solve (single problems and
/// batches): Gap Safe discards from the certified gap, sets that double when a round gains
/// too little, at least twice the non-zeros, the sequential strong set first along a path.
pub(super) struct WorkingSets {
    /// Features not proven zero.
    keep: Vec<bool>,
    /// The strong set of the first round, when the warm start brought one.
    strong: Option<Vec<usize>>,
    size: usize,
    prev_gap: f64,
}

impl WorkingSets {
    pub(super) fn new(keep: Vec<bool>, strong: Option<Vec<usize>>, w: &[f64]) -> Self {
        WorkingSets {
            keep,
            strong,
            size: WS_MIN.max(2 * nnz(w)),
            prev_gap: f64::INFINITY,
        }
    }

    /// The next working set at `w`, from its certified correlations `g` and gap; zeroes the
    /// coefficients Gap Safe proves zero.
    pub(super) fn next(
        &mut self,
        pb: &Problem,
        pen: &ElasticNet,
        w: &mut [f64],
        g: &[f64],
        gap: f64,
        params: &ValidParams,
    ) -> Vec<usize> {
        if params.screening.gap_safe {
            // Safe in f64: g never under-states a correlation, the gap is certified.
            for j in gap_safe_screen(pb, pen, w, g, gap, &mut self.keep) {
                w[j] = 0.0;
            }
        }
        if gap > 0.5 * self.prev_gap {
            self.size = self.size.saturating_mul(2);
        }
        self.prev_gap = gap;
        self.size = self.size.max(2 * nnz(w));
        match self.strong.take() {
            Some(mut s) => {
                s.retain(|&j| self.keep[j]);
                s.extend(working_set(pb, pen, w, g, &self.keep, 0));
                s.sort_unstable();
                s.dedup();
                s
            }
            None => working_set(pb, pen, w, g, &self.keep, self.size),
        }
    }

    /// The gap a working set's subproblem is solved to, given the global gap and the target.
    pub(super) fn sub_target(&self, gap: f64, target: f64) -> f64 {
        (WS_GAP_FRACTION * gap).max(0.5 * target)
    }
}

fn nnz(w: &[f64]) -> usize {
    w.iter().filter(|&&v| v != 0.0).count()
}

impl GpuBackend {
    /// Solves from `start` until the f64 gap meets `target` (or f32 stalls, or the iteration
    /// cap), and returns the last iterate with its certificate. Along a path the first working
    /// set holds the strong set; the pass after it is the strong rule's KKT check.
    pub(super) fn iterate_working_sets(
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
            strong,
        } = start;
        let mut sets = WorkingSets::new(keep, strong, &w);
        let (mut n_iter, mut full_passes) = (0usize, 0usize);
        let mut history: Vec<f64> = Vec::new();
        res.write_params(self.context(), 0.0, pen.l1(), pen.l2());
        res.set_screened(self.context(), None);
        loop {
            let certified = match exact.take() {
                Some(grad) => exact_certificate(pb, pen, &w, grad),
                None => {
                    full_passes += 1;
                    let certified = self.device_certificate(pb, pen, &w, res, true)?;
                    full_passes += usize::from(certified.cert.exact_columns == pb.p());
                    certified
                }
            };
            let gap = certified.cert.info.gap;
            history.push(gap);
            // At f32 precision (or stalled there), the polish takes it from here.
            if gap <= target || n_iter >= params.max_iter || !gap.is_finite() || stalled(&history) {
                return Ok(Solved {
                    w,
                    n_iter,
                    full_passes,
                    certified,
                });
            }
            let ws = sets.next(pb, pen, &mut w, &certified.cert.grad, gap, params);
            let sub_target = sets.sub_target(gap, target);
            self.stats.working_set_rounds += 1;
            let (sub_w, it) =
                self.solve_subproblem(pb, pen, &ws, &w, params, n_iter, sub_target)?;
            n_iter += it.max(1);
            for (&j, &v) in ws.iter().zip(&sub_w) {
                w[j] = v;
            }
        }
    }

    /// FISTA on the columns `ws` only, gathered into their own device buffers, from `w`.
    #[allow(clippy::too_many_arguments)]
    fn solve_subproblem(
        &mut self,
        pb: &Problem,
        pen: &ElasticNet,
        ws: &[usize],
        w: &[f64],
        params: &ValidParams,
        n_iter: usize,
        sub_target: f64,
    ) -> Result<(Vec<f64>, usize)> {
        let sub_design = Columns::new(pb.design(), ws.to_vec());
        let sub = Problem::new(&sub_design, pb.yc(), pb.preprocess())?;
        let kept = self.sub_resident.take();
        let (ctx, k) = (self.context(), self.kernels());
        // One set of device buffers for every round: refilled in place when the set fits,
        // else allocated with room to grow (sets double when a round gains too little).
        let refilled = match kept {
            Some(mut r) => r.refill(ctx, &sub)?.then_some(r),
            None => None,
        };
        let sub_res = match refilled {
            Some(r) => r,
            None => Resident::upload_with_capacity(
                ctx,
                k,
                &sub,
                self.opts.max_panel_cols,
                2 * ws.len(),
            )?,
        };
        let (sigma_sq, steps) = lanczos_sigma_max_sq(ctx, k, &sub_res, self.opts.lanczos)?;
        self.stats.lanczos_steps = steps;
        let lip = fista::LIPSCHITZ_MARGIN * sigma_sq / pb.n() as f64 + pen.l2();
        let step = if lip > 0.0 { 1.0 / lip } else { 0.0 };
        let sub_w0: Vec<f64> = ws.iter().map(|&j| w[j]).collect();
        let sub_params = ValidParams {
            max_iter: params.max_iter - n_iter,
            ..*params
        };
        let out = self.iterate(
            &sub,
            pen,
            (Some(&sub_w0), &sub_params),
            &sub_res,
            step,
            sub_target,
        );
        self.sub_resident = Some(sub_res);
        let (sub_w, it, _) = out?;
        Ok((sub_w, it))
    }
}
