//! Cyclic coordinate descent with residual updates (the algorithm of glmnet and
//! scikit-learn), with glmnet's active-set sweeps and the screening of [`super::screening`]:
//! the sequential strong rule with a KKT check and dynamic Gap Safe screening (on by default),
//! and working sets (sweep only the non-zeros and the features closest to entering, check
//! optimality on all with one parallel pass; off by default: on a 100-lambda path over
//! 500 x 20000 Toeplitz data they took 7.7 s against 6.1 s for the strong rule, see
//! benches/RESULTS.md; a celer-style variant solving each working set to 0.3 x the global gap
//! was slower still: without celer's dual extrapolation the gap stays loose), and Anderson
//! extrapolation of the active-set sweeps (on by default: 2.5x faster on that path), and,
//! where the sweeps on one active set crawl (past the interpolation threshold, the set nearly
//! as large as the rows), a Newton step on the set's face ([`face_step`]: 200 x 20000 at tol
//! 1e-10 down to lambda_max / 1000: 15 s, lambdas at 30,000 to 100,000 sweeps and one not
//! converged, before; 0.7 s, every lambda under 2,000 sweeps, after).
//! Only the duality gap over all features ends a solve.
//!
//! Objective, in these units (n samples, `xe_j` the centred/scaled column):
//! `1/(2n) ||yc - Xe w||^2 + l1 ||w||_1 + l2/2 ||w||^2`, so the exact minimiser along
//! coordinate j is `S(xe_j^T r + ||xe_j||^2 w_j, n l1) / (||xe_j||^2 + n l2)`.

use super::screening::{gap_safe_screen, kkt_violators, strong_set, working_set};
use super::{stop_status, Fit, Warm};
use crate::params::ValidParams;
use crate::penalty::{soft_threshold, ElasticNet};
use crate::problem::{excess_term, nan_max, sq_norm, GapScalars, Problem};

/// Each failed gap check tightens the active-set stopping threshold by at least this factor.
const INNER_TIGHTEN: f64 = 0.25;
/// ... and by at most this one (a restricted gap far above the target asks for more at once).
const INNER_TIGHTEN_MAX: f64 = 1e-3;
/// Smallest working set (celer starts at 10; a sweep over 64 columns costs next to nothing).
const MIN_WORKING_SET: usize = 64;

/// Minimises `P` for one penalty from `warm` (zeros when `None`): [`CdSolve`] driven with
/// this problem's own passes over X.
pub fn solve(pb: &Problem, pen: &ElasticNet, warm: Option<&Warm>, params: &ValidParams) -> Fit {
    let mut state = CdSolve::new(pb, pen, warm, params);
    let mut g = vec![0.0; pb.p()];
    loop {
        state.advance();
        pb.rmatvec(state.residual(), &mut g);
        if let Some(fit) = state.accept_pass(&g) {
            return fit;
        }
    }
}

/// What a coordinate-descent solve waits for before it can go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Working sets are chosen from the correlations at the start.
    FirstPass,
    /// Sweeps, then the global check at a candidate answer.
    Sweeping,
}

/// A coordinate-descent solve that stops wherever it needs a full pass `g = Xe^T r` over X
/// (after [`CdSolve::advance`], at [`CdSolve::residual`]; [`CdSolve::accept_pass`] takes `g`), so a
/// batch of problems sharing X (CV folds, responses) can take every pass together, as one
/// block product that reads X once. Driven alone ([`solve`]) it is the plain solver; both
/// make the same iterates.
pub struct CdSolve<'p> {
    pb: &'p Problem<'p>,
    pen: ElasticNet,
    params: ValidParams,
    phase: Phase,
    alive: Vec<bool>,
    /// How many of `alive` are true.
    n_alive: usize,
    w: Vec<f64>,
    /// The indices where `w` is non-zero, ascending: kept up to date so that nothing between
    /// two full passes costs O(p) (on small n, scans over p cost as much as the sweeps).
    support: Vec<usize>,
    r: Vec<f64>,
    /// The strong set, when the previous lambda's correlations are known.
    strong: Option<Vec<usize>>,
    features: Vec<usize>,
    gap_tol: f64,
    inner_tol: f64,
    ws_size: usize,
    n_iter: usize,
    full_passes: usize,
}

impl<'p> CdSolve<'p> {
    pub fn new(
        pb: &'p Problem<'p>,
        pen: &ElasticNet,
        warm: Option<&Warm>,
        params: &ValidParams,
    ) -> Self {
        let p = pb.p();
        let screen = params.screening;
        let alive: Vec<bool> = pb.col_sq_norms().iter().map(|&s| s != 0.0).collect();
        // Where zero is the answer (lambda at or above lambda_max, up to its rounding), it is
        // the start, and nothing is swept: a sweep's soft threshold at the boundary could
        // leave a coefficient a rounding error away from zero.
        let zero = pen.l1() > 0.0 && pb.zero_is_optimal(pen);
        let mut w = match warm {
            Some(h) if !zero => h.w.to_vec(),
            _ => vec![0.0; p],
        };
        // Dead columns can never be non-zero; a warm start must not say otherwise.
        for j in 0..p {
            if !alive[j] {
                w[j] = 0.0;
            }
        }
        let gap_tol = pb.gap_tolerance(params.tol);
        let support = support_of(&w);
        let ws_size = MIN_WORKING_SET.max(2 * support.len());
        let strong = match warm {
            Some(Warm {
                lambda: Some(prev_lambda),
                grad: Some(prev_g),
                w: prev_w,
            }) if screen.strong_rule && !screen.cpu_working_sets() && pen.l1() > 0.0 => {
                Some(strong_set(pb, pen, *prev_lambda, prev_w, prev_g, &alive))
            }
            _ => None,
        };
        let r = pb.residual_on(&w, &support);
        // The features to sweep: the working set (chosen after a first pass); or the strong
        // set (with the KKT violators added so far); or, without either, all features on a
        // cold start (as glmnet) and none on a warm start, whose support is settled first and
        // checked by the gap.
        let (phase, features) = if zero {
            (Phase::Sweeping, Vec::new())
        } else if screen.cpu_working_sets() {
            (Phase::FirstPass, Vec::new())
        } else if let Some(s) = &strong {
            (Phase::Sweeping, s.clone())
        } else if !support.is_empty() {
            (Phase::Sweeping, Vec::new())
        } else {
            (Phase::Sweeping, all_alive(&alive))
        };
        CdSolve {
            pb,
            pen: *pen,
            params: *params,
            phase,
            n_alive: alive.iter().filter(|&&a| a).count(),
            alive,
            w,
            support,
            r,
            strong,
            features,
            gap_tol,
            inner_tol: gap_tol.max(f64::MIN_POSITIVE),
            ws_size,
            n_iter: 0,
            full_passes: 0,
        }
    }

    /// Works until the solve needs a full pass over X, at [`CdSolve::residual`].
    pub fn advance(&mut self) {
        if self.phase == Phase::Sweeping {
            self.sweep_to_candidate();
            // The global check is exact: a fresh residual, not the accumulated one.
            self.r = self.pb.residual_on(&self.w, &self.support);
        }
    }

    /// The residual the next full pass is taken at.
    pub fn residual(&self) -> &[f64] {
        &self.r
    }

    /// The problem being solved.
    pub fn problem(&self) -> &'p Problem<'p> {
        self.pb
    }

    /// Takes `g = Xe^T r` at [`CdSolve::residual`] after [`CdSolve::advance`]: the exact gap,
    /// screening and the next features. Returns the fit when the solve is over.
    pub fn accept_pass(&mut self, g: &[f64]) -> Option<Fit> {
        let (pb, pen) = (self.pb, &self.pen);
        self.full_passes += 1;
        if self.phase == Phase::FirstPass {
            self.phase = Phase::Sweeping;
            self.features = working_set(pb, pen, &self.w, g, &self.alive, self.ws_size);
            return None;
        }
        let info = pb.duality_gap_from(&self.w, &self.r, g, pen);
        if let Some(status) = stop_status(info.gap, self.gap_tol, self.n_iter, self.params.max_iter)
        {
            let counts = (self.n_iter, self.full_passes);
            let w = std::mem::take(&mut self.w);
            return Some(Fit::finished(
                w,
                &info,
                self.gap_tol,
                counts,
                status,
                "cpu",
                g.to_vec(),
            ));
        }
        let screen = self.params.screening;
        if screen.gap_safe {
            let screened = gap_safe_screen(pb, pen, &self.w, g, &info, &mut self.alive);
            self.n_alive -= screened.len();
            for j in screened {
                if self.w[j] != 0.0 {
                    pb.col_axpy(j, self.w[j], &mut self.r);
                    self.w[j] = 0.0;
                }
            }
            let w = &self.w;
            self.support.retain(|&j| w[j] != 0.0);
            if let Some(s) = &mut self.strong {
                s.retain(|&j| self.alive[j]);
            }
        }
        self.features = if screen.cpu_working_sets() {
            self.ws_size = self.ws_size.max(2 * self.support.len());
            let ws = working_set(pb, pen, &self.w, g, &self.alive, self.ws_size);
            self.ws_size = self.ws_size.saturating_mul(2);
            ws
        } else if let Some(s) = &mut self.strong {
            // The strong rule is not safe: add back every feature that violates KKT.
            s.extend(kkt_violators(pb, pen, &self.w, g, &self.alive));
            s.sort_unstable();
            s.dedup();
            s.clone()
        } else {
            all_alive(&self.alive)
        };
        self.inner_tol = (self.inner_tol * INNER_TIGHTEN).min(info.gap);
        None
    }

    /// Sweeps the features and the active set until a candidate answer is worth a full pass:
    /// a restricted set is checked cheaply first (its own gap, |set| columns).
    fn sweep_to_candidate(&mut self) {
        let (pb, pen) = (self.pb, &self.pen);
        let p = pb.p();
        loop {
            if !self.features.is_empty() {
                sweep(pb, pen, &self.features, &mut self.w, &mut self.r);
                self.n_iter += 1;
                if self.features.len() == p {
                    self.full_passes += 1;
                }
                self.support = merged_support(&self.support, &self.features, &self.w);
            }
            settle_active(
                pb,
                pen,
                (&mut self.w, &mut self.r),
                &mut self.support,
                self.inner_tol,
                &mut self.n_iter,
                &self.params,
            );
            let restricted = !self.features.is_empty() && self.features.len() < self.n_alive;
            if !(restricted && self.n_iter < self.params.max_iter) || crate::interrupt::requested()
            {
                return;
            }
            let gaps = restricted_gaps(pb, pen, &self.features, &self.support, &self.w, &self.r);
            if gaps.set <= self.gap_tol {
                return;
            }
            // As far as the active set's own gap is off its target: a fixed factor took up to
            // eight settles per lambda on 500 x 20000 Toeplitz (10% of a 10-fold cv's CPU
            // time, see RESULTS). Where that gap is met, features that want to enter make the
            // rest, and the next sweep over the set admits them: settling the active set
            // tighter would not help (on sparse standardized data it took 5x the sweeps).
            if gaps.support > self.gap_tol {
                self.inner_tol *=
                    (self.gap_tol / gaps.support).clamp(INNER_TIGHTEN_MAX, INNER_TIGHTEN);
            }
        }
    }
}

/// The features that can be non-zero.
fn all_alive(alive: &[bool]) -> Vec<usize> {
    (0..alive.len()).filter(|&j| alive[j]).collect()
}

/// The indices where `w` is non-zero, ascending.
fn support_of(w: &[f64]) -> Vec<usize> {
    (0..w.len()).filter(|&j| w[j] != 0.0).collect()
}

/// The support after a sweep over `features`: the indices of either ascending list (the old
/// support, the features) where `w` is now non-zero. Nothing outside both can have moved.
fn merged_support(support: &[usize], features: &[usize], w: &[f64]) -> Vec<usize> {
    let mut out = Vec::with_capacity(support.len().max(features.len()));
    let (mut a, mut b) = (support.iter().peekable(), features.iter().peekable());
    loop {
        let j = match (a.peek(), b.peek()) {
            (Some(&&x), Some(&&y)) if x == y => {
                b.next();
                a.next()
            }
            (Some(&&x), Some(&&y)) if x < y => a.next(),
            (Some(_), Some(_)) | (None, Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, None) => break,
        };
        let j = *j.expect("peeked");
        if w[j] != 0.0 {
            out.push(j);
        }
    }
    out
}

/// The duality gaps of the Elastic Net restricted to the columns `set` (plus whatever is
/// non-zero, `support`), what a working set or strong set solve can certify without a pass
/// over X: over all of them, and with the dual point scaled by the support's correlations
/// alone. The second says whether the active set is settled; where only the first is large,
/// the gap comes from zero coefficients that want to enter, and more sweeps of the active
/// set cannot close it.
fn restricted_gaps(
    pb: &Problem,
    pen: &ElasticNet,
    set: &[usize],
    support: &[usize],
    w: &[f64],
    r: &[f64],
) -> RestrictedGaps {
    let n = pb.n() as f64;
    // Over the support in ascending order: the sums over all of w, term for term.
    let (w_l1, w_sq) = support
        .iter()
        .fold((0.0, 0.0), |(a, b), &j| (a + w[j].abs(), b + w[j] * w[j]));
    let (mut g_inf, mut g_inf_support) = (0.0f64, 0.0f64);
    let (mut excess, mut excess_support) = (0.0, 0.0);
    let mut g_sq = 0.0;
    let mut visit = |j: usize| {
        let gj = pb.col_dot(j, r, 0.0);
        let violation = (gj - n * pen.l2() * w[j]).abs();
        g_inf = nan_max(g_inf, violation);
        let e = excess_term(gj, n * pen.l1());
        excess += e;
        if w[j] != 0.0 {
            g_inf_support = nan_max(g_inf_support, violation);
            excess_support += e;
        }
        g_sq += gj * gj;
    };
    set.iter().for_each(|&j| visit(j));
    // Non-zeros outside the set (a warm start's support) count too.
    support
        .iter()
        .copied()
        .filter(|j| set.binary_search(j).is_err())
        .for_each(&mut visit);
    let mut scalars = GapScalars {
        r_sq: sq_norm(r),
        r_yc: r.iter().zip(pb.yc()).map(|(a, b)| a * b).sum(),
        w_l1,
        w_sq,
        g_inf,
        g_sq,
        g_excess_sq: Some(excess),
    };
    let set_gap = pb.gap_from_scalars(&scalars, pen).gap;
    scalars.g_inf = g_inf_support;
    scalars.g_excess_sq = Some(excess_support);
    RestrictedGaps {
        set: set_gap,
        support: pb.gap_from_scalars(&scalars, pen).gap,
    }
}

/// See [`restricted_gaps`].
struct RestrictedGaps {
    /// Over the set and the support.
    set: f64,
    /// With the dual point scaled by the support alone (at most `set`).
    support: f64,
}

/// Sweeps over the non-zero coefficients (`support`, kept up to date) until they move the
/// objective by less than `tol`, with Anderson extrapolation every [`ANDERSON_DEPTH`] sweeps
/// while the active set holds.
fn settle_active(
    pb: &Problem,
    pen: &ElasticNet,
    (w, r): (&mut [f64], &mut [f64]),
    support: &mut Vec<usize>,
    tol: f64,
    n_iter: &mut usize,
    params: &ValidParams,
) {
    // Sweeps over the active set never make a zero coefficient non-zero: the set only shrinks.
    let mut active = std::mem::take(support);
    let mut anderson = Anderson::default();
    let mut since_face_step = 0;
    while *n_iter < params.max_iter && !crate::interrupt::requested() {
        let before = active.len();
        active.retain(|&j| w[j] != 0.0);
        if active.is_empty() {
            break;
        }
        if active.len() != before {
            anderson.clear();
            since_face_step = 0;
        }
        let change = sweep(pb, pen, &active, w, r);
        *n_iter += 1;
        since_face_step += 1;
        if change <= tol {
            break;
        }
        if *n_iter >= params.max_iter {
            break; // the cap counts the step and the extrapolation too
        }
        if since_face_step >= face_step_after(active.len(), pb.n()) {
            // Costs what its trigger allows: count it as the sweeps it is worth.
            face_step(pb, pen, &active, w, r);
            *n_iter += 1;
            since_face_step = 0;
            anderson.clear();
        } else if params.extrapolation && anderson.push(&active, w) {
            // Costs about a sweep (the residual of the candidate): count it as one.
            anderson.extrapolate(pb, pen, &active, w, r);
            *n_iter += 1;
        }
    }
    active.retain(|&j| w[j] != 0.0);
    *support = active;
}

/// Sweeps on one active set before a [`face_step`]: twice what the step costs in sweeps
/// (forming the Gram matrix, about `|A|^2 n / 2` multiply-adds, and factoring it, `|A|^3 / 6`,
/// against `2 |A| n` for a sweep), and never fewer than [`MIN_SWEEPS_BEFORE_FACE_STEP`]; so
/// where coordinate descent converges in a few sweeps, as it does on most of a path, the step
/// never runs, and where it crawls (an active set as large as the rows, past the interpolation
/// threshold) the step costs at most a third of the time.
fn face_step_after(active: usize, n: usize) -> usize {
    let (a, n) = (active as f64, n.max(1) as f64);
    let cost = a / 4.0 + a * a / (12.0 * n);
    MIN_SWEEPS_BEFORE_FACE_STEP.max((2.0 * cost).ceil() as usize)
}

const MIN_SWEEPS_BEFORE_FACE_STEP: usize = 30;
/// Active sets above this many columns take no face step (its Gram matrix would pass 32 MB).
const MAX_FACE_STEP_COLUMNS: usize = 2048;

/// One step of Newton's method on the face of the active set: with the signs `s` of the
/// non-zeros fixed, the objective there is the quadratic
/// `||yc - Xe_A w||^2 / 2n + l1 s^T w + l2 / 2 ||w||^2`, minimised by
/// `(Xe_A^T Xe_A + n l2 I) z = Xe_A^T yc - n l1 s`. The step goes from `w` towards `z`, exactly
/// minimising the quadratic along the way, but no further than where the first coefficient
/// reaches zero (there it is set to zero: the set shrinks). The objective only decreases.
/// Where coordinate descent crawls (the active set nearly as large as the rows, past the
/// interpolation threshold, where the face is badly conditioned or singular), one such step
/// does what tens of thousands of sweeps do.
fn face_step(pb: &Problem, pen: &ElasticNet, active: &[usize], w: &mut [f64], r: &mut [f64]) {
    let m = active.len();
    if m == 0 || m > MAX_FACE_STEP_COLUMNS {
        return;
    }
    let n = pb.n() as f64;
    let rows = r.len();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    // The Gram matrix a column at a time (one centred column in memory, O(|A|^2 + n) in all).
    let mut gram = vec![0.0; m * m];
    let mut column = vec![0.0; rows];
    for a in 0..m {
        column.iter_mut().for_each(|v| *v = 0.0);
        pb.col_axpy(active[a], 1.0, &mut column);
        // Zero up to rounding; given exactly, so a column on a large offset loses nothing.
        let sum: f64 = column.iter().sum();
        for b in 0..=a {
            let v = pb.col_dot(active[b], &column, sum);
            gram[a * m + b] = v;
            gram[b * m + a] = v;
        }
        gram[a * m + a] += n * pen.l2();
    }
    // The step itself, from the gradient at w (`G d = -n grad`), not the point `G z = Xe^T yc
    // - n l1 s` less w: the solve's rounding error is then relative to the step, so it stays
    // a descent direction close to the answer; relative to z it swamped the step (columns on
    // an offset of 1e6 without an intercept: uphill steps, refused, every one).
    let r_sum: f64 = r.iter().sum();
    let rhs: Vec<f64> = active
        .iter()
        .map(|&j| pb.col_dot(j, r, r_sum) - n * (pen.l1() * w[j].signum() + pen.l2() * w[j]))
        .collect();
    let Some(d) = face_solve(gram, m, rhs) else {
        return;
    };
    let z: Vec<f64> = (0..m).map(|k| w[active[k]] + d[k]).collect();
    // u = Xe_A d: along the step the residual moves by -t u.
    let mut u = vec![0.0; rows];
    for (k, &dk) in d.iter().enumerate() {
        pb.col_axpy(active[k], dk, &mut u);
    }
    // f(w + t d) = f(w) + t slope + t^2 curve / 2.
    let slope = -dot(r, &u) / n
        + (0..m)
            .map(|k| (pen.l1() * w[active[k]].signum() + pen.l2() * w[active[k]]) * d[k])
            .sum::<f64>();
    let curve = dot(&u, &u) / n + pen.l2() * dot(&d, &d);
    if !(slope < 0.0 && curve > 0.0 && slope.is_finite() && curve.is_finite()) {
        return;
    }
    // No further than the first sign change, where the L1 term has its kink (Ridge has none:
    // its face is the whole space, and stopping there would leave an exact zero).
    let (mut t_max, mut first_zero) = (f64::INFINITY, None);
    for k in 0..m {
        let wk = w[active[k]];
        if pen.l1() > 0.0 && z[k].signum() != wk.signum() {
            let t = wk / (wk - z[k]);
            if t < t_max {
                (t_max, first_zero) = (t, Some(k));
            }
        }
    }
    let t = (-slope / curve).min(t_max);
    if !(t > 0.0 && t.is_finite()) {
        return;
    }
    for k in 0..m {
        w[active[k]] += t * d[k];
    }
    if t == t_max {
        if let Some(k) = first_zero {
            // Exactly at zero, not a rounding error beside it (or across).
            let j = active[k];
            pb.col_axpy(j, w[j], r);
            w[j] = 0.0;
        }
    }
    r.iter_mut().zip(&u).for_each(|(ri, ui)| *ri -= t * ui);
}

/// The face's Newton step `G d = b`, with the smallest jitter Cholesky's rounding allows
/// (about `m eps` of the mean diagonal, so `4 eps tr(G)`) and, where that factorisation fails
/// (a singular face), 1e-12 of the mean diagonal. A fixed 1e-12 alone swamped the spectrum of
/// a face with one huge eigenvalue: columns on an offset of 1e6 without an intercept (a Gram
/// matrix of 4e13 with the rest of its eigenvalues near 40) got a jitter of 40, the step went
/// nowhere, and the fit stopped unconverged after 10^6 sweeps.
fn face_solve(gram: Vec<f64>, m: usize, rhs: Vec<f64>) -> Option<Vec<f64>> {
    let mut first = gram.clone();
    cholesky_solve(&mut first, m, rhs.clone(), 4.0 * m as f64 * f64::EPSILON)
        .or_else(|| cholesky_solve(&mut { gram }, m, rhs, 1e-12))
}

/// Solves `(G + jitter tr(G) / m I) z = b` for the symmetric positive semi-definite `G`
/// (m x m, overwritten by its Cholesky factor): the jitter gives a singular `G` (a face with
/// more columns than the rows give ranks; iterates that repeat) an answer. `None` if the
/// factorisation fails anyway. Serves the face step and Anderson's weights.
fn cholesky_solve(g: &mut [f64], m: usize, mut b: Vec<f64>, jitter: f64) -> Option<Vec<f64>> {
    let trace: f64 = (0..m).map(|i| g[i * m + i]).sum();
    if !(trace.is_finite() && trace > 0.0) {
        return None;
    }
    let jitter = jitter * trace / m as f64;
    for i in 0..m {
        g[i * m + i] += jitter;
    }
    for i in 0..m {
        for k in 0..i {
            let s: f64 = (0..k).map(|q| g[i * m + q] * g[k * m + q]).sum();
            g[i * m + k] = (g[i * m + k] - s) / g[k * m + k];
        }
        let s: f64 = (0..i).map(|q| g[i * m + q] * g[i * m + q]).sum();
        let d = g[i * m + i] - s;
        if d.is_nan() || d <= 0.0 {
            return None;
        }
        g[i * m + i] = d.sqrt();
    }
    // L y = b, then L^T z = y.
    for i in 0..m {
        let s: f64 = (0..i).map(|q| g[i * m + q] * b[q]).sum();
        b[i] = (b[i] - s) / g[i * m + i];
    }
    for i in (0..m).rev() {
        let s: f64 = (i + 1..m).map(|q| g[q * m + i] * b[q]).sum();
        b[i] = (b[i] - s) / g[i * m + i];
    }
    Some(b)
}

/// Anderson extrapolation of coordinate descent (Bertrand and Massias, "Anderson acceleration
/// of coordinate descent", AISTATS 2021; the scheme of skglm): the last iterates on a fixed
/// active set are combined with weights that minimise the norm of the combined step, and the
/// result is kept only if it lowers the objective. On correlated designs, where CD crawls, it
/// cuts the sweeps several-fold.
#[derive(Default)]
struct Anderson {
    /// `w` on the active set after each of the last sweeps.
    iterates: Vec<Vec<f64>>,
}

/// Sweeps between extrapolations (skglm uses 5).
const ANDERSON_DEPTH: usize = 5;

impl Anderson {
    fn clear(&mut self) {
        self.iterates.clear();
    }

    /// Records the iterate; true when there are enough for an extrapolation.
    fn push(&mut self, active: &[usize], w: &[f64]) -> bool {
        self.iterates.push(active.iter().map(|&j| w[j]).collect());
        self.iterates.len() > ANDERSON_DEPTH
    }

    /// Replaces `w` (and `r`) by the extrapolated point if its objective is lower; starts a
    /// new history either way.
    fn extrapolate(
        &mut self,
        pb: &Problem,
        pen: &ElasticNet,
        active: &[usize],
        w: &mut [f64],
        r: &mut [f64],
    ) {
        let its = std::mem::take(&mut self.iterates);
        let m = its.len() - 1;
        // Differences of consecutive iterates, and their Gram matrix.
        let diffs: Vec<Vec<f64>> = (0..m)
            .map(|i| its[i + 1].iter().zip(&its[i]).map(|(a, b)| a - b).collect())
            .collect();
        let mut gram = vec![0.0; m * m];
        for a in 0..m {
            for b in 0..=a {
                let v: f64 = diffs[a].iter().zip(&diffs[b]).map(|(x, y)| x * y).sum();
                gram[a * m + b] = v;
                gram[b * m + a] = v;
            }
        }
        let Some(z) = cholesky_solve(&mut gram, m, vec![1.0; m], 1e-10) else {
            return;
        };
        let total: f64 = z.iter().sum();
        if !(total.is_finite() && total != 0.0) {
            return;
        }
        let candidate: Vec<f64> = (0..active.len())
            .map(|k| (0..m).map(|i| z[i] / total * its[i + 1][k]).sum())
            .collect();
        // The candidate's residual: r + Xe (w - candidate) over the active columns.
        let mut r_new = r.to_vec();
        for (k, &j) in active.iter().enumerate() {
            let d = w[j] - candidate[k];
            if d != 0.0 {
                pb.col_axpy(j, d, &mut r_new);
            }
        }
        // Only the active coordinates differ: compare the objectives there (O(|active|), not
        // O(p): this runs every few sweeps, and p can be millions).
        let n = pb.n() as f64;
        let penalty = |v: f64| pen.l1() * v.abs() + 0.5 * pen.l2() * v * v;
        let before = sq_norm(r) / (2.0 * n) + active.iter().map(|&j| penalty(w[j])).sum::<f64>();
        let after =
            sq_norm(&r_new) / (2.0 * n) + candidate.iter().map(|&v| penalty(v)).sum::<f64>();
        if after < before {
            for (k, &j) in active.iter().enumerate() {
                w[j] = candidate[k];
            }
            r.copy_from_slice(&r_new);
        }
    }
}

/// One pass of exact coordinate minimisation over `features`, keeping `r = yc - Xe w`.
/// Returns the largest `||xe_j||^2 / n * (change in w_j)^2`, a bound on how much the sweep
/// still moves the objective.
fn sweep(pb: &Problem, pen: &ElasticNet, features: &[usize], w: &mut [f64], r: &mut [f64]) -> f64 {
    let n = pb.n() as f64;
    let norms = pb.col_sq_norms();
    let (l1n, l2n) = (n * pen.l1(), n * pen.l2());
    let mut max_change = 0.0f64;
    // A coordinate's update of r waits to be made in one pass with the next one's product.
    let mut pending: Option<(usize, f64)> = None;
    for &j in features {
        let nj = norms[j];
        if nj == 0.0 {
            continue;
        }
        let old = w[j];
        // The residual of the centred problem sums to zero, so the centring term drops out.
        let dot = match pending.take() {
            Some((q, a)) => pb.col_axpy_then_dot(q, a, j, r),
            None => pb.col_dot(j, r, 0.0),
        };
        let z = dot + nj * old;
        let new = soft_threshold(z, l1n) / (nj + l2n);
        if new != old {
            pending = Some((j, old - new));
            w[j] = new;
            let d = new - old;
            max_change = max_change.max(nj / n * d * d);
        }
    }
    if let Some((q, a)) = pending {
        pb.col_axpy(q, a, r);
    }
    max_change
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::Dense;
    use crate::problem::Preprocess;
    use crate::synth::Rng;

    /// Solver parameters at the tolerance `tol`, otherwise the defaults.
    fn tight(tol: f64) -> crate::params::ValidParams {
        crate::params::SolverParams {
            tol,
            ..Default::default()
        }
        .check()
        .unwrap()
    }

    /// Gaussian columns, on an offset of 1e6 for odd seeds (centring must lose nothing).
    fn problem(n: usize, p: usize, seed: u64) -> (Dense<f64>, Vec<f64>) {
        let mut rng = Rng::new(seed);
        let offset = if seed % 2 == 1 { 1e6 } else { 0.0 };
        let x = Dense::from_col_major(n, p, (0..n * p).map(|_| offset + rng.normal()).collect());
        let y = (0..n).map(|_| rng.normal()).collect();
        (x, y)
    }

    /// The active set's own gap ignores zero coefficients that want to enter: at `w = 0`
    /// below lambda_max it is zero (an empty set is settled) while the set's gap is not; at
    /// the optimum of the set both vanish together.
    #[test]
    fn the_support_gap_leaves_out_features_that_want_to_enter() {
        let (x, y) = problem(40, 12, 3);
        let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
        let pen = ElasticNet {
            lambda: 0.1 * pb.lambda_max(1.0),
            l1_ratio: 0.8,
        };
        let set: Vec<usize> = (0..12).collect();
        let zero = vec![0.0; 12];
        let gaps = restricted_gaps(&pb, &pen, &set, &[], &zero, pb.yc());
        assert!(gaps.set > 1e-3, "set gap {}", gaps.set);
        assert!(gaps.support.abs() < 1e-12, "support gap {}", gaps.support);
        let params = tight(1e-13);
        let opt = solve(&pb, &pen, None, &params);
        let support = support_of(&opt.w);
        let gaps = restricted_gaps(&pb, &pen, &set, &support, &opt.w, &pb.residual(&opt.w));
        let target = 1e-13 * sq_norm(pb.yc()) / pb.n() as f64;
        assert!(gaps.support <= gaps.set + 1e-15);
        assert!(gaps.set <= 2.0 * target, "{} > {target}", gaps.set);
    }

    /// Ridge has no kink at zero: a face step from coefficients of the wrong signs goes all
    /// the way to the face's minimiser, the Ridge solution, leaving no exact zero (it used to
    /// stop where the first coefficient crossed zero and set it to exactly zero).
    #[test]
    fn a_ridge_face_step_crosses_zero() {
        let (x, y) = problem(50, 8, 4);
        let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
        let pen = ElasticNet {
            lambda: 0.01,
            l1_ratio: 0.0,
        };
        let params = tight(1e-14);
        let opt = solve(&pb, &pen, None, &params);
        let active: Vec<usize> = (0..8).collect();
        let mut w: Vec<f64> = opt.w.iter().map(|v| -v - 0.1f64.copysign(*v)).collect();
        let mut r = pb.residual(&w);
        face_step(&pb, &pen, &active, &mut w, &mut r);
        for (a, b) in w.iter().zip(&opt.w) {
            assert!(
                (a - b).abs() < 1e-8 * b.abs().max(1.0),
                "{w:?} vs {:?}",
                opt.w
            );
        }
    }

    /// The face step never raises the objective, whatever the set and signs (well posed,
    /// singular, signs that are wrong), keeps `r = yc - Xe w` exact, and leaves exact zeros
    /// where it stops at a sign change; on a well-posed face with the optimum's signs it lands
    /// on the optimum (the stationarity conditions hold to rounding).
    #[test]
    fn the_face_step_descends_and_solves_a_well_posed_face() {
        for (seed, (n, p, m)) in [(30, 8, 5), (10, 40, 15), (12, 30, 12)]
            .into_iter()
            .enumerate()
        {
            let (x, y) = problem(n, p, seed as u64);
            for intercept in [true, false] {
                let prep = Preprocess {
                    fit_intercept: intercept,
                    standardize: false,
                };
                let pb = Problem::new(&x, &y, prep).unwrap();
                let pen = ElasticNet {
                    lambda: 0.01 * pb.lambda_max(1.0),
                    l1_ratio: if seed == 2 { 0.5 } else { 1.0 },
                };
                let mut rng = Rng::new(99 + seed as u64);
                let active: Vec<usize> = (0..m).collect();
                let mut w = vec![0.0; p];
                active.iter().for_each(|&j| w[j] = rng.normal());
                let mut r = pb.residual(&w);
                let before = pb.objective(&w, &pen);
                face_step(&pb, &pen, &active, &mut w, &mut r);
                let after = pb.objective(&w, &pen);
                assert!(after <= before, "{after} > {before}");
                let fresh = pb.residual(&w);
                let err = fresh
                    .iter()
                    .zip(&r)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                let scale = fresh.iter().fold(1.0f64, |m, v| m.max(v.abs()));
                assert!(err < 1e-12 * scale, "residual drift {err} at scale {scale}");
                assert!(w[m..].iter().all(|&v| v == 0.0));
            }
        }
        // A well-posed face (n > |A|) holding the optimum's signs: one step is the optimum there.
        let (x, y) = problem(60, 6, 7);
        let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
        let pen = ElasticNet {
            lambda: 1e-3 * pb.lambda_max(1.0),
            l1_ratio: 1.0,
        };
        let params = tight(1e-14);
        let opt = solve(&pb, &pen, None, &params);
        let active: Vec<usize> = (0..6).filter(|&j| opt.w[j] != 0.0).collect();
        assert_eq!(
            active.len(),
            6,
            "all six are in the model at lambda_max / 1000"
        );
        let mut w: Vec<f64> = opt.w.iter().map(|v| v * 1.3).collect();
        let mut r = pb.residual(&w);
        face_step(&pb, &pen, &active, &mut w, &mut r);
        for j in 0..6 {
            assert!(
                (w[j] - opt.w[j]).abs() < 1e-9 * opt.w[j].abs().max(1.0),
                "{w:?} vs {:?}",
                opt.w
            );
        }
    }
}
