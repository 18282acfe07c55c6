//! The device-to-device copy ceiling that the `X^T r` pass is compared with on hardware
//! (`scripts/gpu_machine.sh` ships this test binary and runs it with a large size):
//! `LARIAT_COPY_MIB` (default 16) per copy, `LARIAT_COPY_REPEATS` (default 5) copies timed.
//! Prints one line `copy ceiling: X GB/s ...` that the script reads.
#![cfg(feature = "gpu")]

mod common;

use common::gpu_or_skip;
use lariat::solver::gpu::ceiling::copy_ceiling;
use lariat::solver::gpu::GpuOptions;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn copy_ceiling_is_measured_and_the_copy_is_exact() {
    let Some(gpu) = gpu_or_skip(GpuOptions::default()) else {
        return;
    };
    let mib = env("LARIAT_COPY_MIB", 16);
    let repeats = env("LARIAT_COPY_REPEATS", 5) as usize;
    let c = copy_ceiling(gpu.context(), mib << 20, repeats).unwrap();
    println!(
        "copy ceiling: {:.1} GB/s (read + write), {} MiB x {} copies in {:.4} s on {}",
        c.gb_per_s,
        c.bytes >> 20,
        c.repeats,
        c.seconds,
        gpu.context().report.short()
    );
    assert!(c.gb_per_s.is_finite() && c.gb_per_s > 0.0, "{c:?}");
}
