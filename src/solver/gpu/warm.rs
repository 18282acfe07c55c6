//! What a warm start brings a GPU solve along a path: the previous lambda's certified f64
//! correlations give the gap at the new lambda with no pass over X, the sequential strong set,
//! and a Gap Safe test in f64 (safe, unlike one from f32 sums).

use crate::params::ValidParams;
use crate::penalty::ElasticNet;
use crate::problem::Problem;
use crate::solver::screening::{gap_safe_screen, strong_set};
use crate::solver::Warm;

/// Where a GPU solve starts: the warm start with what the previous lambda's f64 certificate
/// allows. Its exact correlations give the gap at the new lambda with no pass over X, the
/// sequential strong set, and a Gap Safe test in f64 (safe, unlike one from f32 sums).
pub(super) struct Start {
    pub w: Vec<f64>,
    /// Features not proven zero (dead columns and Gap Safe discards are false).
    pub keep: Vec<bool>,
    /// `Xe^T r` at `w` in f64, when the warm start brought it.
    pub exact: Option<Vec<f64>>,
    /// The sequential strong set, when the strong rule is on and applies.
    pub strong: Option<Vec<usize>>,
}

pub(super) fn screen_at_start(
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
    start.exact = Some(prev_g.to_vec());
    start
}
