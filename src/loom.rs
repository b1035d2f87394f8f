//! The one place that names `std::sync` and `std::thread`.
//!
//! Under `cfg(loom)` the atomics, locks and thread handles that the park/wake
//! and join protocols are built on come from loom instead, so those protocols
//! can be model-checked (`RUSTFLAGS="--cfg loom" cargo test --lib loom`).
//!
//! [`cell::UnsafeCell`] is the cell for data that threads hand each other
//! (a join packet's result, a wait's waiter slot, a strand header's
//! fields): under loom every access goes through `with` / `with_mut`, so the
//! model checker sees a read racing a write as the bug it is, instead of
//! trusting the atomics around it.
//!
//! Three things stay std under loom, on purpose:
//!
//! - [`Arc`]: loom's `Arc` cannot coerce to `Arc<dyn Trait>`, and reference
//!   counts are not what the models check;
//! - [`process`]: process-wide counters in `static`s (strand ids, the page
//!   size, the mapping budget), which need `const` constructors and are not
//!   part of any protocol;
//! - [`os`]: the threads and locks of the watchdog's monitor, which no
//!   model runs.

pub(crate) use std::sync::{Arc, Weak};
pub(crate) use std::sync::{Once, OnceLock};

#[cfg(not(loom))]
pub(crate) use std::sync::{
    atomic::{fence, AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering},
    Condvar, Mutex, MutexGuard,
};
#[cfg(not(loom))]
pub(crate) use std::thread;

#[cfg(loom)]
#[allow(unused_imports)] // MutexGuard: only the driver (not built under loom) names it
pub(crate) use loom::sync::{
    atomic::{fence, AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering},
    Condvar, Mutex, MutexGuard,
};
#[cfg(loom)]
pub(crate) use loom::thread;

/// Process-wide atomics for `static`s (and counters no model checks):
/// always std.
pub(crate) mod process {
    pub(crate) use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize};
}

/// Threads and locks that run outside every model (the watchdog's monitor
/// thread and its stop signal): always std, so that code builds under loom
/// unchanged and is simply never run there.
pub(crate) mod os {
    pub(crate) use std::sync::{Condvar, Mutex};
    pub(crate) use std::thread;
}

/// `UnsafeCell` with loom's interface (`with` / `with_mut`), so that loom
/// tracks every access to the cells threads hand each other.
pub(crate) mod cell {
    #[cfg(loom)]
    pub(crate) use loom::cell::UnsafeCell;

    /// `std::cell::UnsafeCell` behind loom's interface: each access names
    /// whether it reads or writes, and costs nothing more.
    #[cfg(not(loom))]
    #[derive(Debug, Default)]
    #[repr(transparent)]
    pub(crate) struct UnsafeCell<T: ?Sized>(std::cell::UnsafeCell<T>);

    #[cfg(not(loom))]
    impl<T> UnsafeCell<T> {
        #[inline]
        pub(crate) const fn new(value: T) -> UnsafeCell<T> {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }

        #[inline]
        #[allow(dead_code)] // used by some cells only
        pub(crate) fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }

    #[cfg(not(loom))]
    impl<T: ?Sized> UnsafeCell<T> {
        /// Runs `f` with a pointer to read through (loom checks that no
        /// write can race the read).
        #[inline]
        #[allow(dead_code)] // the cells here are written or taken, not read in place
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Runs `f` with a pointer to write through (loom checks that no
        /// other access can race it).
        #[inline]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}
