//! Green threads for Rust.
//!
//! Code runs in *strands*: stackful coroutines that look and feel like
//! [`std::thread`] -- plain blocking calls, no `async` -- but cost a few KiB
//! each and switch in nanoseconds, so a process can hold hundreds of
//! thousands of them.
//!
//! ```
//! let total: u64 = strands::run(|| {
//!     let handles: Vec<_> = (0..1000u64)
//!         .map(|i| strands::spawn(move || { strands::yield_now(); i }))
//!         .collect();
//!     handles.into_iter().map(|h| h.join().unwrap()).sum()
//! });
//! assert_eq!(total, 499_500);
//! ```
//!
//! # Layers
//!
//! From the bottom: `arch` switches contexts (hand-written assembly for
//! x86_64 and aarch64 in `asm/`, `ucontext` elsewhere or with the `ucontext`
//! feature); `stack` pools guard-paged, lazily committed stacks and reports
//! overflows by strand name; `strand` holds a strand's identity, context and
//! park/wake state; `runtime` runs strands on worker threads; the API on top
//! is modelled on `std::thread`.
//!
//! # Stacks and overflow
//!
//! Each strand runs on its own stack, [`DEFAULT_STACK_SIZE`] by default,
//! reserved but committed by the kernel only as it is touched. A guard page
//! below every stack turns an overflow into a report naming the strand,
//! `strand 'parser' (id 7) has overflowed its stack (256 KiB)`, and an
//! abort, as std does for threads. [`grow`] runs deep recursion on a bigger
//! segment on demand.
//!
//! # Migration and thread-locals
//!
//! A strand that has started never moves to another worker thread: the
//! compiler may keep the address of a thread-local across a call, and std
//! keeps state in thread-locals (the panic count, `thread::current()`), so
//! moving a running stack between threads is unsound in general. Strands
//! that have not started yet may be taken by any worker. A strand whose code
//! keeps no thread-local state across blocking calls can opt in to moving
//! whenever it is runnable with the `unsafe` [`Builder::migratable`].
//!
//! # Panics
//!
//! A panic in a strand is caught at the strand's first frame and handed to
//! whoever [joins](JoinHandle::join) it; the worker and the other strands go
//! on. The panic message names the strand.
//!
//! # Caveats
//!
//! Strands share their worker's OS thread, and scheduling is cooperative.
//! What follows from that (the longer list, with the reasons, is in
//! `docs/architecture.md`, "Caveats"):
//!
//! - A std `thread_local!` is shared by every strand of one worker: use
//!   [`strand_local!`] for state that belongs to a strand.
//!   `std::thread::current()` inside a strand names its worker thread.
//! - A std blocking call (`std::net`, `std::fs`, `std::sync::Mutex::lock`
//!   under contention, `std::thread::sleep`) holds the whole worker: use
//!   this crate's [`net`], [`sync`], [`channel`] and [`sleep`], or
//!   [`spawn_blocking`] for blocking work that has no strand-aware form.
//! - A loop that never reaches a blocking point holds its worker too: call
//!   [`yield_now`] in long computations.
//! - The watchdog ([`runtime::Builder::watchdog`]) reports a strand that
//!   holds its worker and starts a spare worker for new strands, timers and
//!   I/O; strands that already started on the held worker cannot move to
//!   the spare and wait until it is free.
//! - `std::thread::panicking()` inside a strand also sees another strand of
//!   the same worker that is switched out mid-unwind: ask [`panicking`].

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod abort;
mod arch;
#[cfg(not(loom))]
mod blocking;
pub mod channel;
pub mod dump;
mod grow;
#[doc = include_str!("../docs/guide.md")]
pub mod guide {}
mod inline;
#[cfg(not(loom))]
pub mod io;
pub mod join;
mod join_handle;
mod local;
mod loom;
mod metrics;
#[cfg(not(loom))]
pub mod net;
pub mod observe;
pub mod os; // `os::unix` is not built under loom; `os::sys` is
mod panic;
mod park;
pub mod runtime;
mod scope;
#[cfg(not(loom))]
pub mod signal;
mod spawn;
mod spin;
mod stack;
mod strand;
pub mod sync;
pub mod time;

#[doc(hidden)]
pub mod __bench;

pub use arch::BACKEND;
#[cfg(not(loom))]
pub use blocking::{block_in_place, spawn_blocking, try_spawn_blocking};
pub use dump::{dump, Dump};
pub use grow::{grow, remaining_stack};
pub use join::{timeout, timeout_on, CancelCause, CancelToken, Elapsed};
pub use join_handle::{JoinError, JoinHandle};
pub use local::LocalKey;
pub use metrics::Metrics;
pub use park::{park, park_timeout};
pub use runtime::{Event, Handle, Priority, Runtime, SpawnError};
pub use scope::{scope, Scope, ScopedJoinHandle};
pub use spawn::{spawn, Builder};
pub use stack::{StackGuard, DEFAULT_STACK_SIZE, MAX_STACK_SIZE, MIN_STACK_SIZE, RESIDENT_PREFIX};
pub use strand::{Strand, StrandId};
pub use time::{sleep, sleep_until};

/// Runs `f` as the first strand of a new runtime with the default
/// configuration, and returns its value once it finishes. The runtime shuts
/// down when `run` returns.
///
/// # Panics
///
/// If the runtime cannot be built (no thread could start), and with `f`'s
/// own panic, which is resumed on the caller.
///
/// ```
/// let v = strands::run(|| strands::spawn(|| 21 * 2).join().unwrap());
/// assert_eq!(v, 42);
/// ```
#[track_caller]
pub fn run<F, T>(f: F) -> T
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    let rt = match Runtime::new() {
        Ok(rt) => rt,
        Err(e) => panic!("strands::run: cannot start the runtime: {e}"),
    };
    rt.block_on(f)
}

/// The strand running this code.
///
/// # Panics
///
/// Outside a strand; see [`try_current`].
///
/// ```
/// strands::run(|| {
///     let me = strands::current();
///     assert_eq!(me.id(), strands::current().id());
/// });
/// ```
#[track_caller]
pub fn current() -> Strand {
    try_current().expect("strands::current called outside a strand")
}

/// The strand running this code, or `None` on a plain thread.
///
/// ```
/// assert!(strands::try_current().is_none()); // a plain thread
/// strands::run(|| assert!(strands::try_current().is_some()));
/// ```
pub fn try_current() -> Option<Strand> {
    runtime::context::current().map(|inner| Strand { inner })
}

/// Whether the strand running this code is unwinding: a panic or a
/// cancellation of its own that has not been caught. On a plain thread, the
/// same as [`std::thread::panicking`].
///
/// Prefer it to `std::thread::panicking()` inside strands: std counts
/// panics per OS thread, and a strand that parks while it unwinds (a `Drop`
/// that locks, joins or receives) lets the other strands of its worker run
/// meanwhile, which then see `std::thread::panicking()` true although they
/// are not unwinding. The runtime's own locks decide poisoning by this
/// function.
///
/// ```
/// strands::run(|| {
///     assert!(!strands::panicking());
///     struct Probe;
///     impl Drop for Probe {
///         fn drop(&mut self) {
///             assert!(strands::panicking());
///         }
///     }
///     let h = strands::spawn(|| {
///         let _p = Probe;
///         panic!("boom");
///     });
///     assert!(h.join().is_err());
/// });
/// ```
pub fn panicking() -> bool {
    runtime::context::panicking()
}

/// Lets the other runnable strands on this worker run, then continues.
///
/// On a plain thread it calls [`std::thread::yield_now`].
///
/// ```
/// strands::run(|| {
///     let h = strands::spawn(|| 1);
///     while !h.is_finished() {
///         strands::yield_now();
///     }
///     assert_eq!(h.join().unwrap(), 1);
/// });
/// ```
pub fn yield_now() {
    if !runtime::context::yield_now() {
        std::thread::yield_now();
    }
}
