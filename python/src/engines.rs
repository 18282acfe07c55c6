//! One [`Engine`] per device and adapter for the whole process, so fitting many models in a
//! loop opens the GPU, compiles its kernels and uploads X once, not once per fit.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use lariat::engine::Engine;
use lariat::params::Algorithm;
use lariat::solver::{BackendKind, AUTO_GPU_MIN_ENTRIES};

/// An engine of the process (every backend is `Send`, so it may move to the thread that runs
/// a fit; the mutex around each lets one thread at a time use it).
pub struct SendEngine(pub Engine);

/// Which engine serves a fit.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Key {
    kind: BackendKind,
    adapter: Option<String>,
}

static ENGINES: Mutex<Vec<(Key, Arc<Mutex<SendEngine>>)>> = Mutex::new(Vec::new());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic inside a fit is caught and reported; the engine it leaves is still usable.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The engine kind for a fit of `entries` matrix entries. `auto` is decided per fit here, not
/// once per engine: lariat's auto engine keeps whatever its first (maybe tiny) problem chose.
fn resolve(kind: BackendKind, entries: usize) -> BackendKind {
    match kind {
        BackendKind::Auto if entries < AUTO_GPU_MIN_ENTRIES => BackendKind::Cpu,
        // Large problems share one auto engine: a hardware GPU if there is one, else the CPU.
        other => other,
    }
}

/// The process's engine for this device and adapter, made on first use.
pub fn engine_for(
    kind: BackendKind,
    adapter: Option<String>,
    entries: usize,
) -> Arc<Mutex<SendEngine>> {
    let key = Key {
        kind: resolve(kind, entries),
        adapter: adapter.filter(|_| kind != BackendKind::Cpu),
    };
    let mut all = lock(&ENGINES);
    if let Some((_, e)) = all.iter().find(|(k, _)| *k == key) {
        return Arc::clone(e);
    }
    let engine = Engine::new(key.kind, Algorithm::Auto, key.adapter.clone());
    let e = Arc::new(Mutex::new(SendEngine(engine)));
    all.push((key, Arc::clone(&e)));
    e
}

/// Locks an engine (called on the fit's thread, without the GIL).
pub fn lock_engine(e: &Mutex<SendEngine>) -> MutexGuard<'_, SendEngine> {
    lock(e)
}

/// The engines made so far, as (device, adapter) names: what a test checks to see that fits
/// share them.
pub fn engine_names() -> Vec<(String, Option<String>)> {
    lock(&ENGINES)
        .iter()
        .map(|(k, _)| {
            let kind = match k.kind {
                BackendKind::Auto => "auto",
                BackendKind::Cpu => "cpu",
                BackendKind::Gpu => "gpu",
            };
            (kind.to_string(), k.adapter.clone())
        })
        .collect()
}
