//! One [`Engine`] per device and adapter for the whole process, so fitting many models in a
//! loop opens the GPU, compiles its kernels and uploads X once, not once per fit.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Duration;

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

/// The engines, and the process that made them: a child of `fork()` makes its own (a GPU
/// device does not survive a fork, and another thread may have held an engine's lock then).
static ENGINES: Mutex<Engines> = Mutex::new(Engines {
    pid: 0,
    all: Vec::new(),
});

struct Engines {
    pid: u32,
    all: Vec<(Key, Arc<Mutex<SendEngine>>)>,
}

/// Forgets the parent's engines in a child of `fork()` (Python's after-fork hook, which runs
/// with the GIL: every use of [`ENGINES`] holds the GIL too, so no other thread held its lock
/// at the fork).
pub fn forget() {
    let mut e = lock(&ENGINES);
    std::mem::forget(std::mem::take(&mut e.all));
    e.pid = std::process::id();
}

/// This process's engines; a parent's are forgotten, never dropped (their threads and device
/// are not the child's to release).
fn engines() -> MutexGuard<'static, Engines> {
    let mut e = lock(&ENGINES);
    let pid = std::process::id();
    if e.pid != pid {
        std::mem::forget(std::mem::take(&mut e.all));
        e.pid = pid;
    }
    e
}

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
    let mut all = engines();
    if let Some((_, e)) = all.all.iter().find(|(k, _)| *k == key) {
        return Arc::clone(e);
    }
    let engine = Engine::new(key.kind, Algorithm::Auto, key.adapter.clone());
    let e = Arc::new(Mutex::new(SendEngine(engine)));
    all.all.push((key, Arc::clone(&e)));
    e
}

/// How often a fit waiting for its engine looks again (and at whether it was cancelled).
const RETRY: Duration = Duration::from_millis(1);

/// Locks an engine (called on the fit's thread, without the GIL), unless `cancelled` says so
/// first: a Ctrl-C must not wait for another thread's fit to end. `None` when cancelled.
pub fn lock_engine_unless(
    e: &Mutex<SendEngine>,
    cancelled: impl Fn() -> bool,
) -> Option<MutexGuard<'_, SendEngine>> {
    loop {
        match e.try_lock() {
            Ok(g) => return Some(g),
            // A panic inside a fit is caught and reported; the engine it leaves is usable.
            Err(TryLockError::Poisoned(p)) => return Some(p.into_inner()),
            Err(TryLockError::WouldBlock) if cancelled() => return None,
            Err(TryLockError::WouldBlock) => std::thread::sleep(RETRY),
        }
    }
}

/// The engines made so far, as (device, adapter) names: what a test checks to see that fits
/// share them.
pub fn engine_names() -> Vec<(String, Option<String>)> {
    engines()
        .all
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
