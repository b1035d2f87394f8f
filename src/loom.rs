//! The one place that names `std::sync` and `std::thread`.
//!
//! Under `cfg(loom)` the atomics, locks and thread handles that the park/wake
//! and join protocols are built on come from loom instead, so those protocols
//! can be model-checked (`RUSTFLAGS="--cfg loom" cargo test --lib loom`).
//!
//! Two things stay std under loom, on purpose:
//!
//! - [`Arc`]: loom's `Arc` cannot coerce to `Arc<dyn Trait>`, and reference
//!   counts are not what the models check;
//! - [`process`]: process-wide counters in `static`s (strand ids, the page
//!   size, the mapping budget), which need `const` constructors and are not
//!   part of any protocol.

pub(crate) use std::sync::{Arc, Weak};
pub(crate) use std::sync::{Once, OnceLock};

#[cfg(not(loom))]
pub(crate) use std::sync::{
    atomic::{fence, AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering},
    Condvar, Mutex, MutexGuard,
};
#[cfg(not(loom))]
pub(crate) use std::thread;

#[cfg(loom)]
#[allow(unused_imports)] // MutexGuard: only the driver (not built under loom) names it
pub(crate) use loom::sync::{
    atomic::{fence, AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering},
    Condvar, Mutex, MutexGuard,
};
#[cfg(loom)]
pub(crate) use loom::thread;

/// Process-wide atomics for `static`s: always std.
pub(crate) mod process {
    #[cfg(not(loom))]
    pub(crate) use std::sync::atomic::AtomicBool;
    pub(crate) use std::sync::atomic::{AtomicU64, AtomicUsize};
}
