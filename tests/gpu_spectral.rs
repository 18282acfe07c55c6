//! The device's step size `sigma_max(Xe)^2`, with either Lanczos driver (vectors on the host
//! in f64, or everything on the device in f32), against the exact largest eigenvalue of the
//! Gram matrix (dense Jacobi) on the families of `tests/spectral.rs`: never below the truth
//! (the device's estimate covers its f32 rounding, `F32_LANCZOS_ALLOWANCE`), at most 1% above. Run under both kernel configurations by
//! scripts/test.sh (lavapipe's (64, 1) and a hardware adapter's (256, 32)).
#![cfg(feature = "gpu")]

mod common;
#[path = "common/spectral.rs"]
mod families;

use common::gpu_or_skip;
use families::worst_ratio;
use lariat::solver::gpu::{GpuOptions, LanczosMode};

/// Smaller than the CPU test's sizes (lavapipe runs a pass at ~0.25 GMAC/s), same families.
const GPU_SIZES: [(usize, usize); 7] = [
    (2, 1),
    (5, 3),
    (60, 13),
    (200, 4),
    (20, 50),
    (40, 300),
    (100, 1000),
];

fn check(mode: LanczosMode) {
    let Some(mut gpu) = gpu_or_skip(GpuOptions {
        lanczos: mode,
        ..GpuOptions::default()
    }) else {
        return;
    };
    let cfg = gpu.kernels().config;
    let worst = worst_ratio(|pb| gpu.sigma_max_sq(pb).unwrap(), &GPU_SIZES, 1);
    eprintln!(
        "GPU Lanczos {mode:?} (WG {}, TPC {}) over {} problems: {worst:?}",
        cfg.wg, cfg.tpc, worst.count
    );
    assert!(worst.count >= 150, "{}", worst.count);
    assert!(
        worst.low.0 >= 1.0,
        "{mode:?}: below the exact value: {:?}",
        worst.low
    );
    assert!(
        worst.high.0 <= 1.01,
        "{mode:?}: more than 1% above: {:?}",
        worst.high
    );
}

#[test]
fn host_driven_step_size_is_within_one_percent_above_the_exact_value() {
    check(LanczosMode::Host);
}

#[test]
fn device_step_size_is_within_one_percent_above_the_exact_value() {
    check(LanczosMode::Device);
}
