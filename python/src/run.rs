//! Running a fit with the GIL released and Ctrl-C honoured: the fit runs on a scoped worker
//! thread while the calling thread, which Python's signal handlers run on, waits in slices of
//! [`POLL`] and checks for signals between them. On KeyboardInterrupt it stops its own fit and
//! no other: a fit still waiting for its engine (another thread's fit holds it) is cancelled
//! before it starts, and returns at once; a running one is asked to stop ([`lariat::interrupt::request`]; every
//! solver stops at its next gap check), and the request is withdrawn before the engine passes
//! to the next fit. (The request is process-wide, so a fit running at the same moment on a
//! different engine, the GPU beside the CPU, stops too.)

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError};
use pyo3::prelude::*;

use crate::engines::{lock_engine_unless, SendEngine};

/// How often the waiting thread looks for a signal: well under the second a user waits.
const POLL: Duration = Duration::from_millis(50);

/// A flag the worker raises when it is done, and a condition to wait on it.
#[derive(Default)]
struct Done {
    flag: Mutex<bool>,
    cond: Condvar,
}

impl Done {
    fn set(&self) {
        *self.flag.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cond.notify_all();
    }
    /// Waits up to `d`; whether the worker is done.
    fn wait(&self, d: Duration) -> bool {
        let g = self.flag.lock().unwrap_or_else(|e| e.into_inner());
        let (g, _) = self
            .cond
            .wait_timeout_while(g, d, |done| !*done)
            .unwrap_or_else(|e| e.into_inner());
        *g
    }
}

/// Where a call's fit is, as its Ctrl-C needs to know.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting for its engine.
    Waiting,
    /// Holding its engine, solving.
    Running,
    /// Ctrl-C came while it was waiting: it must not start.
    Cancelled,
    /// Ctrl-C came while it was running: the stop request is its own, to withdraw.
    Stopping,
    /// Its solve returned.
    Finished,
}

/// Runs `job` on `engine` on a worker thread without the GIL; a panic in it becomes a
/// RuntimeError, a Ctrl-C a KeyboardInterrupt that stops this call's fit only.
pub fn run_released<T: Send>(
    py: Python<'_>,
    engine: &Mutex<SendEngine>,
    job: impl FnOnce(&mut SendEngine) -> PyResult<T> + Send,
) -> PyResult<T> {
    let done = Done::default();
    let stage = Mutex::new(Stage::Waiting);
    // Every change of stage, and the request and its withdrawal with it, under one lock: a
    // request is never left standing after the fit that made it.
    let step = |f: &dyn Fn(Stage) -> Stage| {
        let mut s = stage.lock().unwrap_or_else(|e| e.into_inner());
        let (before, after) = (*s, f(*s));
        match (before, after) {
            (Stage::Running, Stage::Stopping) => lariat::interrupt::request(),
            (Stage::Stopping, Stage::Finished) => lariat::interrupt::clear(),
            _ => {}
        }
        *s = after;
        after
    };
    std::thread::scope(|s| {
        let worker = s.spawn(|| {
            let out = catch_unwind(AssertUnwindSafe(|| {
                let cancelled =
                    || *stage.lock().unwrap_or_else(|e| e.into_inner()) == Stage::Cancelled;
                let Some(mut guard) = lock_engine_unless(engine, cancelled) else {
                    return Err(PyKeyboardInterrupt::new_err("lariat: fit interrupted"));
                };
                let start = |now| match now {
                    Stage::Waiting => Stage::Running,
                    other => other,
                };
                if step(&start) == Stage::Cancelled {
                    return Err(PyKeyboardInterrupt::new_err("lariat: fit interrupted"));
                }
                // Finished (a request withdrawn) before the engine is released, a panic
                // included: dropped before `guard`, declared after it.
                let _finished = OnDrop(|| {
                    step(&|_| Stage::Finished);
                });
                // In this process's pool (crate::pool): rayon's global one hangs after fork.
                let engine: &mut SendEngine = &mut guard;
                crate::pool::install(move || job(engine))
            }));
            done.set();
            out
        });
        while !py.detach(|| done.wait(POLL)) {
            if let Err(interrupt) = py.check_signals() {
                step(&|now| match now {
                    Stage::Waiting => Stage::Cancelled,
                    Stage::Running => Stage::Stopping,
                    other => other,
                });
                let _ = py.detach(|| worker.join());
                return Err(interrupt);
            }
        }
        match py.detach(|| worker.join()) {
            Ok(Ok(out)) => out,
            Ok(Err(panic)) | Err(panic) => Err(PyRuntimeError::new_err(format!(
                "lariat: internal error (a panic in the fit): {}",
                panic_message(&panic)
            ))),
        }
    })
}

/// Runs its closure when dropped.
struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}
