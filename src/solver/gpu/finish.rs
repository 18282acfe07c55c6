//! How a GPU solve ends: the f64 certificate of its answer ([`crate::solver::certificate`]),
//! and, when f32 could not reach the tolerance, an f64 polish that needs no pass over X.

use super::resident::{run_and_read_all, Resident};
use super::GpuBackend;
use crate::design::Columns;
use crate::error::{Error, Result};
use crate::params::ValidParams;
use crate::penalty::ElasticNet;
use crate::problem::Problem;
use crate::solver::certificate::{certify, Certificate, DeviceCorrelations};
use crate::solver::{cd, stop_status, Fit, Warm};

/// A certificate, with the device values it was filtered by (a polish certifies with them).
pub(super) struct Certified {
    pub cert: Certificate,
    pub dev: DeviceCorrelations,
}

/// What a device loop returns: the iterate, its cost, and its certificate.
pub(super) struct Solved {
    pub w: Vec<f64>,
    pub n_iter: usize,
    pub full_passes: usize,
    pub certified: Certified,
}

impl GpuBackend {
    /// The certificate of `w`, filtered by the device's correlations and residual at `w`: from
    /// a gap pass at `w` run here first (`pass_first`; no column may be masked), or left in
    /// `res` by the device loop's last gap check. One submission, one read-back of `g` and `r`. A
    /// certificate that had to read every column counts as a pass over X (on the host) in
    /// `full_passes`.
    pub(super) fn device_certificate(
        &mut self,
        pb: &Problem,
        pen: &ElasticNet,
        w: &[f64],
        res: &Resident,
        pass_first: bool,
    ) -> Result<Certified> {
        let t0 = std::time::Instant::now();
        let (ctx, k) = (&self.ctx, &self.kernels);
        if pass_first {
            let w32: Vec<f32> = w.iter().map(|&v| v as f32).collect();
            res.write_f32(ctx, &res.w, &w32);
        }
        let encode = |pass: &mut wgpu::ComputePass| {
            if pass_first {
                res.encode_gap_sums(k, pass);
            }
        };
        let mut read = run_and_read_all(ctx, "correlations", encode, &[&res.g, &res.r])?;
        let (mut r, mut g) = (
            read.pop().unwrap_or_default(),
            read.pop().unwrap_or_default(),
        );
        g.truncate(pb.p());
        r.truncate(pb.n_rows());
        // Host-side f32 tests are bit tests: a NaN or infinity here would otherwise vanish in
        // the certificate's `max` reductions and leave a gap computed without it.
        if let Some(bad) = g.iter().chain(&r).position(|v| !v.is_finite()) {
            let what = if bad < g.len() { "X^T r" } else { "r" };
            return Err(Error::Gpu(format!(
                "the device produced a non-finite value (NaN or infinity) in {what}: refusing to certify from it"
            )));
        }
        let dev = DeviceCorrelations { g, r };
        let cert = certify(pb, pen, w, Some(&dev));
        self.stats.certify_seconds += t0.elapsed().as_secs_f64();
        Ok(Certified { cert, dev })
    }
}

/// Features within this fraction of the L1 bound are polished with the support.
const POLISH_MARGIN: f64 = 0.1;

/// The f64 polish without a pass over X: coordinate descent on the support and the features
/// whose correlation is within [`POLISH_MARGIN`] of the L1 bound, then the certificate over
/// all features, filtered by the device's correlations at the GPU's answer. `None` when the
/// candidates are too many for this to pay or the result does not certify.
pub(super) fn polish_candidates(
    pb: &Problem,
    pen: &ElasticNet,
    w: &[f64],
    cert: &Certificate,
    dev: &DeviceCorrelations,
    params: &ValidParams,
) -> Option<(Fit, usize)> {
    let (n, p) = (pb.n() as f64, pb.p());
    let nl1 = n * pen.l1();
    if nl1 <= 0.0 {
        return None;
    }
    let alive = pb.col_sq_norms();
    let set: Vec<usize> = (0..p)
        .filter(|&j| alive[j] != 0.0)
        .filter(|&j| {
            w[j] != 0.0 || (cert.grad[j] - n * pen.l2() * w[j]).abs() >= (1.0 - POLISH_MARGIN) * nl1
        })
        .collect();
    if set.is_empty() || 4 * set.len() > p {
        return None;
    }
    let sub_design = Columns::new(pb.design(), set.clone());
    let sub = Problem::new(&sub_design, pb.yc(), pb.preprocess()).ok()?;
    let w0: Vec<f64> = set.iter().map(|&j| w[j]).collect();
    // Half the tolerance: the features left out may add to the gap.
    let sub_params = ValidParams {
        tol: 0.5 * params.tol,
        ..*params
    };
    let sub_fit = cd::solve(&sub, pen, Some(&Warm::from_w(&w0)), &sub_params);
    let mut w = w.to_vec();
    for (&j, &v) in set.iter().zip(&sub_fit.w) {
        w[j] = v;
    }
    let cert = certify(pb, pen, &w, Some(dev));
    let gap_tol = pb.gap_tolerance(params.tol);
    let status = stop_status(cert.info.gap, gap_tol, 0, usize::MAX)?;
    let full_passes = usize::from(cert.exact_columns == p);
    let counts = (sub_fit.n_iter, full_passes);
    let fit = Fit::finished(
        w,
        &cert.info,
        gap_tol,
        counts,
        status,
        "gpu+cpu-polish",
        cert.grad,
    );
    Some((fit, set.len()))
}
