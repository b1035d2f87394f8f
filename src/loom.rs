//! The one place that names `std::sync`: under `cfg(loom)` the same names
//! come from loom, so the park/wake and join protocols built on them can be
//! model-checked.

#[cfg(not(loom))]
pub(crate) use std::sync::{
    atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering},
    Arc, Condvar, Mutex, Once, OnceLock,
};

#[cfg(loom)]
pub(crate) use loom::sync::{
    atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering},
    Arc, Condvar, Mutex,
};
#[cfg(loom)]
pub(crate) use std::sync::{Once, OnceLock};

#[cfg(not(loom))]
pub(crate) use std::thread;
#[cfg(loom)]
pub(crate) use loom::thread;
