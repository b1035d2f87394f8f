//! Locks and signals that park strands, not workers: [`Mutex`],
//! [`RwLock`], [`Condvar`], [`Semaphore`], [`Barrier`], [`WaitGroup`],
//! [`Notify`], [`OnceLock`].
//!
//! Every type here works the same from a strand (waiting parks the strand;
//! its worker runs other strands meanwhile) and from a plain OS thread
//! (waiting blocks the thread), so code and tests can mix both.
//!
//! Common rules:
//!
//! - **FIFO with direct hand-off.** Waiters queue in arrival order. Whoever
//!   releases a lock, a permit or a signal hands it to the first waiter
//!   directly; a newcomer cannot take it in between, so no waiter starves.
//! - **Cancellation is exactly-once.** A strand
//!   [cancelled](crate::JoinHandle::cancel) while waiting leaves the queue
//!   and unwinds, if nothing was handed to it yet. If something was (the
//!   lock, permits, a notification, the end of a barrier round), the wait
//!   completes as usual: `lock` returns the guard, `acquire` the permit,
//!   `wait` returns; the strand owns what it got and releases it normally,
//!   and the cancellation fires at its next blocking point. Nothing is
//!   lost, and no operation that happened reports that it did not.
//! - **Poisoning** follows std for [`Mutex`] and [`RwLock`] (writers): a
//!   holder that unwinds while holding the guard (a panic or a
//!   cancellation) poisons it. [`OnceLock`] is not poisoned by a failed
//!   initialiser (the next caller tries again), as in std.
//! - **Recursive locking** (locking what the caller already holds)
//!   deadlocks: the caller parks forever. It is never undefined behaviour.
//!   The watchdog names it, and cycles of strands through [`Mutex`] and
//!   [`RwLock`] write holds (see [`crate::runtime::Deadlock`]).
//! - Guards are `!Send`, as in std.
//!
//! All of them are built on one wait-list primitive (`waitlist/`): a FIFO
//! of nodes on the waiters' stacks behind a short internal lock, where a
//! claim and a withdrawal race on one status word per wait.

mod barrier;
mod condvar;
mod mutex;
mod notify;
mod once;
mod poison;
mod rwlock;
mod semaphore;
mod waitgroup;
pub(crate) mod waitlist;

#[cfg(all(test, loom))]
mod loom_tests;

pub use barrier::{Barrier, BarrierWaitResult};
pub use condvar::{Condvar, WaitTimeoutResult};
pub use mutex::{Mutex, MutexGuard};
pub use notify::Notify;
pub use once::OnceLock;
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use semaphore::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};
pub use std::sync::{LockResult, PoisonError, TryLockError, TryLockResult};
pub use waitgroup::WaitGroup;
