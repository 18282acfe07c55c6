//! Stopping a long solve from outside: a signal handler (Ctrl-C in a Python session, say)
//! calls [`request`], every solver treats the request at its next duality-gap check as the
//! end of its iterations, and the driver ([`crate::path::solve_paths`]) then returns
//! [`crate::Error::Interrupted`] instead of a fit. One flag for the process, as a signal is:
//! a request stops every solve in flight, and the caller [`clear`]s it before the next one.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Asks every solve in flight to stop at its next gap check (async-signal-safe: one store).
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Withdraws a request, before a new solve starts.
pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
}

/// Whether a stop has been requested.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// `Err(Interrupted)` once a stop has been requested.
pub fn check() -> crate::Result<()> {
    if requested() {
        Err(crate::Error::Interrupted)
    } else {
        Ok(())
    }
}
