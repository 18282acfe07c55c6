//! The threads of the process's parallel work, made again after `fork()`.
//!
//! rayon's global pool does not survive a fork: the child inherits the pool's state but not its
//! threads, so its first parallel call waits forever. That is what `multiprocessing`'s fork
//! start method (the default on Linux before Python 3.14) and joblib's `multiprocessing`
//! backend do after a fit in the parent. So every parallel call of a fit runs in a pool of
//! this module, made on first use by each process: a child forgets its parent's pool in
//! Python's after-fork hook ([`forget`], `os.register_at_fork` in `lariat/__init__.py`), and,
//! for a fork Python did not make, sees a pool made by another process id and makes its own.
//! The parent's pool is never dropped in the child (its threads are not there to be told).

use std::sync::atomic::{AtomicPtr, Ordering};

struct Owned {
    pid: u32,
    pool: rayon::ThreadPool,
}

static POOL: AtomicPtr<Owned> = AtomicPtr::new(std::ptr::null_mut());

/// Runs `f` in this process's pool: every rayon call inside it uses the pool's threads.
pub fn install<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    pool().install(f)
}

/// Forgets the pool (called in a child of `fork()`: its threads are the parent's). Leaked,
/// never dropped.
pub fn forget() {
    POOL.store(std::ptr::null_mut(), Ordering::Release);
}

fn pool() -> &'static rayon::ThreadPool {
    let pid = std::process::id();
    let current = POOL.load(Ordering::Acquire);
    // SAFETY: a pointer stored in POOL comes from Box::leak and is never freed.
    if let Some(owned) = unsafe { current.as_ref() } {
        if owned.pid == pid {
            return &owned.pool;
        }
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("lariat-{i}"))
        .build()
        .expect("the threads of a pool can be started");
    let mine = Box::into_raw(Box::new(Owned { pid, pool }));
    match POOL.compare_exchange(current, mine, Ordering::AcqRel, Ordering::Acquire) {
        // The pointer it replaced (another process's pool, or none) is left as it is.
        Ok(_) => unsafe { &(*mine).pool },
        Err(winner) => {
            // Another thread of this process made one first: use it, and drop ours (its
            // threads are this process's, so they can be told to stop).
            drop(unsafe { Box::from_raw(mine) });
            unsafe { &(*winner).pool }
        }
    }
}
