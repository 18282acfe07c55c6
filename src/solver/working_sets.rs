//! Working sets (celer / skglm style) and what a warm start brings them: the policy of the
//! batch driver ([`super::batch`]), whatever computes its passes and subproblems. One pass
//! over all of X gives the correlations, the f64 certificate of the current iterate and, from
//! it, a dynamic Gap Safe test; the working set is chosen from them, and its subproblem solved
//! until its gap is [`WS_GAP_FRACTION`] of the global one; repeat. Along a path the previous
//! lambda's certified f64 correlations give the gap at the new lambda with no pass over X, the
//! sequential strong set, and a Gap Safe test in f64 (safe, unlike one from f32 sums).

use crate::params::ValidParams;
use crate::penalty::ElasticNet;
use crate::problem::{GapInfo, Problem};
use crate::solver::screening::{gap_safe_screen, strong_set, working_set};
use crate::solver::Warm;

/// Smallest working set.
const WS_MIN: usize = 64;
/// A working-set subproblem is solved until its gap is this fraction of the global gap.
/// celer uses 0.3; on the GPU a pass over all of X costs far more than a subproblem step, so
/// solving deeper pays (lavapipe, 100-lambda path on 200 x 8000: 1.3 passes per lambda and
/// 6.2 s at 0.01, 1.6 and 6.4 s at 0.1, 2.1 and 7.5 s at 0.3).
pub const WS_GAP_FRACTION: f64 = 0.01;

/// The working-set rule: Gap Safe discards from the certified gap, sets that double when a round gains
/// too little, at least twice the non-zeros, the sequential strong set first along a path.
pub struct WorkingSetRule {
    /// Features not proven zero.
    keep: Vec<bool>,
    /// The strong set of the first round, when the warm start brought one.
    strong: Option<Vec<usize>>,
    size: usize,
    prev_gap: f64,
}

impl WorkingSetRule {
    pub fn new(keep: Vec<bool>, strong: Option<Vec<usize>>, w: &[f64]) -> Self {
        WorkingSetRule {
            keep,
            strong,
            size: WS_MIN.max(2 * nnz(w)),
            prev_gap: f64::INFINITY,
        }
    }

    /// The next working set at `w`, from its certified correlations `g` and gap; zeroes the
    /// coefficients Gap Safe proves zero.
    pub fn next(
        &mut self,
        pb: &Problem,
        pen: &ElasticNet,
        w: &mut [f64],
        g: &[f64],
        info: &GapInfo,
        params: &ValidParams,
    ) -> Vec<usize> {
        let gap = info.gap;
        if params.screening.gap_safe {
            // Safe in f64: g never under-states a correlation, the gap is certified.
            for j in gap_safe_screen(pb, pen, w, g, info, &mut self.keep) {
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
    pub fn sub_target(&self, gap: f64, target: f64) -> f64 {
        (WS_GAP_FRACTION * gap).max(0.5 * target)
    }
}

fn nnz(w: &[f64]) -> usize {
    w.iter().filter(|&&v| v != 0.0).count()
}

/// Where a solve starts: the warm start with what the previous lambda's f64 certificate
/// allows. Its exact correlations give the gap at the new lambda with no pass over X, the
/// sequential strong set, and a Gap Safe test in f64 (safe, unlike one from f32 sums).
pub struct Start {
    pub w: Vec<f64>,
    /// Features not proven zero (dead columns and Gap Safe discards are false).
    pub keep: Vec<bool>,
    /// `Xe^T r` at `w` in f64, when the warm start brought it.
    pub exact: Option<Vec<f64>>,
    /// The sequential strong set, when the strong rule is on and applies.
    pub strong: Option<Vec<usize>>,
}

pub fn screen_at_start(
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
    let info = pb.duality_gap_from(&start.w, &r, prev_g, pen);
    if screen.gap_safe {
        keep = std::mem::take(&mut start.keep);
        let dropped = gap_safe_screen(pb, pen, &start.w, prev_g, &info, &mut keep);
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
    start.exact = Some(prev_g.to_vec());
    start
}
