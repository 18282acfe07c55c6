//! Temporary files removed when a signal ends the process (Ctrl-C, `kill`, a closed terminal):
//! an output staged beside its destination ([`crate::output`]) must not outlive a run that
//! never published it. Dropping removes a temporary on every other way out; a signal ends the
//! process without unwinding, so the handler that [`remove_on_signals`] installs unlinks the
//! registered paths itself (`unlink` is async-signal-safe) and lets the signal end the process
//! as it would have.
//!
//! The paths are C strings in a fixed table of atomic slots: the handler reads them with no
//! lock and no allocation. A slot's string is never freed (a run stages a handful of files),
//! so the handler never reads freed memory, whatever thread it interrupts.

use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

/// Temporaries that can be registered at once; beyond that a file is not covered.
const SLOTS: usize = 64;

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: AtomicPtr<std::ffi::c_char> = AtomicPtr::new(std::ptr::null_mut());
static PATHS: [AtomicPtr<std::ffi::c_char>; SLOTS] = [EMPTY; SLOTS];

/// Whether [`remove_on_signals`] ran: without its handler nothing reads the table, and a
/// library user's registrations would only leak their strings.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// A registered temporary; [`forget`] it once it is renamed into place or removed (dropping
/// it forgets it too).
#[derive(Debug)]
pub struct Registered(Option<usize>);

impl Drop for Registered {
    fn drop(&mut self) {
        forget(self);
    }
}

/// Registers `path`, a file this process has just created, for removal on a fatal signal.
pub fn register(path: &std::path::Path) -> Registered {
    if !INSTALLED.load(Ordering::SeqCst) {
        return Registered(None);
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
            return Registered(None);
        };
        let raw = c.into_raw();
        for (i, slot) in PATHS.iter().enumerate() {
            if slot
                .compare_exchange(
                    std::ptr::null_mut(),
                    raw,
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                )
                .is_ok()
            {
                return Registered(Some(i));
            }
        }
        // Table full: not covered (the string stays leaked, a few bytes).
        Registered(None)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Registered(None)
    }
}

/// The temporary is gone (renamed into place or removed): a signal no longer unlinks it.
pub fn forget(reg: &mut Registered) {
    if let Some(i) = reg.0.take() {
        // The string is leaked on purpose: a handler may be reading it right now.
        PATHS[i].store(std::ptr::null_mut(), Ordering::SeqCst);
    }
}

/// Installs the handler for SIGINT, SIGTERM and SIGHUP (the command line does; a library
/// user keeps its own handlers). One-shot: the default action is restored on entry, and the
/// signal, raised again, ends the process as it would have without the handler. A signal the
/// process inherited as ignored (`nohup`, a background job of a script) stays ignored.
pub fn remove_on_signals() {
    #[cfg(unix)]
    // SAFETY: the handler only reads atomics, calls unlink and raise (async-signal-safe);
    // sigaction with a null new action only reads the current one.
    unsafe {
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) != 0
                || old.sa_sigaction == libc::SIG_IGN
            {
                continue;
            }
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = on_signal as *const () as usize;
            act.sa_flags = libc::SA_RESETHAND;
            libc::sigemptyset(&mut act.sa_mask);
            libc::sigaction(sig, &act, std::ptr::null_mut());
        }
    }
    INSTALLED.store(true, Ordering::SeqCst);
}

#[cfg(unix)]
extern "C" fn on_signal(sig: libc::c_int) {
    for slot in &PATHS {
        let p = slot.load(Ordering::SeqCst);
        if !p.is_null() {
            // SAFETY: p is a leaked, never-freed C string.
            unsafe {
                libc::unlink(p);
            }
        }
    }
    // SAFETY: raise is async-signal-safe; SA_RESETHAND restored the default action.
    unsafe {
        libc::raise(sig);
    }
}
