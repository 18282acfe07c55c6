//! Running a fit with the GIL released and Ctrl-C honoured: the fit runs on a scoped worker
//! thread while the calling thread, which Python's signal handlers run on, waits in slices of
//! [`POLL`] and checks for signals between them. On KeyboardInterrupt it asks lariat to stop
//! ([`lariat::interrupt::request`]; every solver stops at its next gap check), waits for the
//! worker to return, withdraws the request and re-raises.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

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

/// Runs `job` on a worker thread without the GIL; a panic in it becomes a RuntimeError.
pub fn run_released<T: Send>(
    py: Python<'_>,
    job: impl FnOnce() -> PyResult<T> + Send,
) -> PyResult<T> {
    let done = Done::default();
    std::thread::scope(|s| {
        let worker = s.spawn(|| {
            let out = catch_unwind(AssertUnwindSafe(job));
            done.set();
            out
        });
        while !py.detach(|| done.wait(POLL)) {
            if let Err(interrupt) = py.check_signals() {
                lariat::interrupt::request();
                let _ = py.detach(|| worker.join());
                lariat::interrupt::clear();
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

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}
