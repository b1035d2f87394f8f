//! Poisoning, as in std: a lock whose holder panicked (or was cancelled)
//! while holding it is marked, and later lockers are told.

use crate::loom::{AtomicBool, Ordering};

/// The poison flag of one lock.
pub(crate) struct Flag(AtomicBool);

/// Whether the holder was already unwinding when it took the lock (then its
/// unwinding does not poison the lock). "Unwinding" is the holder's own
/// state (`strands::panicking`), not its thread's: another strand of the
/// same worker that is switched out mid-unwind poisons nothing.
pub(crate) struct Guard {
    panicking: bool,
}

impl Flag {
    pub(crate) fn new() -> Flag {
        Flag(AtomicBool::new(false))
    }

    pub(crate) fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    pub(crate) fn clear(&self) {
        self.0.store(false, Ordering::Relaxed);
    }

    /// Called as the lock is taken.
    pub(crate) fn guard(&self) -> Guard {
        Guard {
            panicking: crate::runtime::context::panicking(),
        }
    }

    /// Called as the lock is released: poisons it if the holder started
    /// unwinding while holding it.
    pub(crate) fn done(&self, guard: &Guard) {
        if !guard.panicking && crate::runtime::context::panicking() {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

/// `Ok(v)`, or `Err(PoisonError(v))` if `flag` is set.
pub(crate) fn map_result<T>(poisoned: bool, v: T) -> std::sync::LockResult<T> {
    if poisoned {
        Err(std::sync::PoisonError::new(v))
    } else {
        Ok(v)
    }
}
