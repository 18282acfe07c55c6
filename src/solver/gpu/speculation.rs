//! Whether a gap check of the device's subproblems carries the round's block pass.
//!
//! A working-set round on the device ends with its certificate, a block pass over all of X at
//! the answer. Done after the check that ends the subproblem, it costs a second wait for the
//! device; carried by every check ("speculative"), it costs a pass and its read-back on each
//! check that does not end the round. With `q` the share of checks that end their round,
//! `T_rt` the fixed cost of one wait and `T_miss` a pass with its read-back, carrying pays when
//! `(1 - q) T_miss < q T_rt`: on a discrete GPU for small and mid-sized X (a wait there costs
//! tens of microseconds, a pass over a few MB less), not for X of gigabytes. `Auto` measures
//! both costs once per design uploaded and `q` as the solves go; on a software adapter
//! (lavapipe: a pass of 200 x 2000 is 24 waits) it never carries the pass. The answers are
//! certified the same way in every mode (the certificate bounds the device's correlations at
//! the device's residual).

use super::block::BlockResident;
use super::context::GpuContext;
use super::kernels::Kernels;
use super::resident::time_read_back;
use crate::error::{Error, Result};
use crate::problem::Problem;

/// When a gap check carries the block pass: `LARIAT_SPECULATIVE_PASS=auto|always|never`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SpeculativePass {
    /// When the measured costs say it pays.
    #[default]
    Auto,
    Always,
    Never,
}

impl SpeculativePass {
    /// The mode `LARIAT_SPECULATIVE_PASS` asks for (`Auto` when unset); a value it does not
    /// know is an error, never ignored.
    pub fn from_env() -> Result<SpeculativePass> {
        match std::env::var("LARIAT_SPECULATIVE_PASS") {
            Err(_) => Ok(SpeculativePass::Auto),
            Ok(v) => match v.trim() {
                "auto" => Ok(SpeculativePass::Auto),
                "always" => Ok(SpeculativePass::Always),
                "never" => Ok(SpeculativePass::Never),
                _ => Err(Error::invalid(
                    "LARIAT_SPECULATIVE_PASS",
                    format!("'{v}'"),
                    "one of auto, always, never",
                )),
            },
        }
    }
}

/// The costs `Auto` weighs, in seconds, for the design on the device.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Costs {
    /// One wait for the device with nothing to do (a 4-byte read-back).
    pub round_trip: f64,
    /// A block pass for one problem with its read-back, beyond the wait.
    pub miss_per_problem: f64,
}

/// Prior share of checks that end their round, and its weight in checks (measured on
/// lavapipe paths: 0.70 to 0.75, benches/RESULTS.md).
const PRIOR_END_SHARE: f64 = 0.7;
const PRIOR_WEIGHT: f64 = 4.0;

/// The policy and what it has measured.
#[derive(Debug, Default)]
pub struct Speculation {
    pub mode: SpeculativePass,
    costs: Option<Costs>,
    checks: usize,
    ends: usize,
}

impl Speculation {
    /// The policy `mode` on an adapter; `Auto` on a software one is `Never` (its passes cost
    /// many waits, and CI's counts must not hang on a timing).
    pub fn new(mode: SpeculativePass, software: bool) -> Speculation {
        Speculation {
            mode: match (mode, software) {
                (SpeculativePass::Auto, true) => SpeculativePass::Never,
                (mode, _) => mode,
            },
            ..Speculation::default()
        }
    }

    /// A new design is on the device: its passes cost what they cost, measured again.
    pub fn forget_costs(&mut self) {
        self.costs = None;
    }

    /// The costs measured for the design on the device, if any.
    pub fn costs(&self) -> Option<Costs> {
        self.costs
    }

    /// Whether the checks of a sub-batch of `k` problems carry the pass; `Auto` measures the
    /// costs first on `block` (the design of `pb`) when it has none.
    pub fn carries(
        &mut self,
        k: usize,
        ctx: &GpuContext,
        kernels: &Kernels,
        (block, pb): (&mut BlockResident, &Problem),
    ) -> Result<bool> {
        match self.mode {
            SpeculativePass::Never => Ok(false),
            SpeculativePass::Always => Ok(true),
            SpeculativePass::Auto => {
                let costs = match self.costs {
                    Some(c) => c,
                    None => {
                        let c = measure(ctx, kernels, block, pb)?;
                        self.costs = Some(c);
                        c
                    }
                };
                Ok(pays(costs, self.end_share(), k))
            }
        }
    }

    /// Counts a sub-batch solve's `checks` (the last of them ended it).
    pub fn record(&mut self, checks: usize) {
        self.checks += checks;
        self.ends += 1;
    }

    /// The share of checks that ended their solve so far, pulled toward the prior.
    fn end_share(&self) -> f64 {
        (self.ends as f64 + PRIOR_END_SHARE * PRIOR_WEIGHT) / (self.checks as f64 + PRIOR_WEIGHT)
    }
}

/// Whether carrying the pass pays for `k` problems: a miss costs `k` passes' read-backs (the
/// pass itself serves all k at once, so this overstates it), a hit saves one wait.
pub fn pays(costs: Costs, end_share: f64, k: usize) -> bool {
    (1.0 - end_share) * costs.miss_per_problem * (k as f64) < end_share * costs.round_trip
}

/// Times a wait and a one-problem pass with its read-back, the medians of a few of each.
pub fn measure(
    ctx: &GpuContext,
    kernels: &Kernels,
    block: &mut BlockResident,
    pb: &Problem,
) -> Result<Costs> {
    const SAMPLES: usize = 3;
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (g, _) = block.correlations(1);
    let waits = (0..SAMPLES)
        .map(|_| time_read_back(ctx, g, 4))
        .collect::<Result<Vec<f64>>>()?;
    let zero = vec![0f32; block.n];
    let mut passes = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let t0 = std::time::Instant::now();
        block.pass(ctx, kernels, &[pb], std::slice::from_ref(&zero))?;
        passes.push(t0.elapsed().as_secs_f64());
    }
    let round_trip = median(waits);
    Ok(Costs {
        round_trip,
        miss_per_problem: (median(passes) - round_trip).max(0.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carrying_pays_only_when_a_pass_costs_less_than_the_waits_it_saves() {
        let c = |pass: f64| Costs {
            round_trip: 1.0,
            miss_per_problem: pass,
        };
        // q = 0.7: a hit saves 0.7 waits per check, a miss wastes 0.3 passes.
        assert!(pays(c(2.0), 0.7, 1));
        assert!(!pays(c(2.5), 0.7, 1));
        assert!(!pays(c(2.0), 0.7, 2));
        assert!(pays(c(100.0), 1.0, 32));
        assert!(!pays(c(0.0), 0.0, 1));
    }

    #[test]
    fn the_end_share_starts_at_the_prior_and_follows_the_counts() {
        let mut s = Speculation::new(SpeculativePass::Auto, false);
        assert!((s.end_share() - PRIOR_END_SHARE).abs() < 1e-12);
        for _ in 0..1000 {
            s.record(4);
        }
        assert!((s.end_share() - 0.25).abs() < 1e-3);
    }
}
