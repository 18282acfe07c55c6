//! A long path at large p keeps O(non-zeros) per lambda, not O(p): measured with a counting
//! allocator (the peak of live heap bytes) over a 100-lambda path at p = 200,000, where
//! keeping a dense coefficient and gradient vector per lambda would need 320 MB.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use lariat::design::Csc;
use lariat::fit::{fit_path, FitConfig, GridRule, LambdaGrid};
use lariat::solver::BackendKind;
use lariat::synth::Rng;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(now, Ordering::SeqCst);
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

#[test]
fn a_long_path_at_large_p_stays_within_a_memory_bound() {
    let (n, p) = (30usize, 200_000usize);
    let mut rng = Rng::new(1);
    let mut trip = Vec::with_capacity(3 * p);
    for j in 0..p {
        for _ in 0..3 {
            trip.push((rng.below(n) as u32, j as u32, rng.normal()));
        }
    }
    let x = Csc::from_triplets(n, p, trip);
    let mut y: Vec<f64> = (0..n).map(|_| 0.1 * rng.normal()).collect();
    for j in [3, 500, 70_000, 199_999] {
        lariat::design::Design::col_axpy(&x, j, 2.0, &mut y);
    }
    let cfg = FitConfig {
        device: BackendKind::Cpu,
        ..FitConfig::default()
    };
    let grid = LambdaGrid::Geometric {
        n_lambdas: 100,
        min_ratio: Some(0.01),
        rule: GridRule::Glmnet,
    };
    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let out = fit_path(&x, &y, None, &cfg, &grid).unwrap();
    let peak = PEAK.load(Ordering::SeqCst) - base;
    assert_eq!(out.models.len(), 100);
    assert!(out.models.iter().all(|m| m.converged));
    // The working state is a few dozen p-vectors of f64 (1.6 MB each); 100 dense fits
    // (coefficients and gradient) would be 320 MB.
    let bound = 64 << 20;
    assert!(
        peak < bound,
        "peak heap during the path: {:.1} MB (bound {:.1} MB)",
        peak as f64 / 1e6,
        bound as f64 / 1e6
    );
    eprintln!(
        "peak heap during a 100-lambda path at p = {p}: {:.1} MB",
        peak as f64 / 1e6
    );
}
