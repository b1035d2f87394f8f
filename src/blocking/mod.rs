//! Blocking code off the workers: [`spawn_blocking`],
//! [`try_spawn_blocking`] and [`block_in_place`].
//!
//! [`spawn_blocking`] hands a closure to the runtime's *blocking pool*, a
//! bounded set of OS threads started on demand and retired after an idle
//! keep-alive (sized on the [runtime builder](crate::runtime::Builder):
//! `max_blocking_threads`, `blocking_keep_alive`, `blocking_queue`). The
//! [`JoinHandle`] it returns belongs to a small strand that waits for the
//! job's result, so a strand joining it parks and its worker runs others.
//!
//! A job cannot be interrupted: cancelling the handle (or its strand)
//! stops the *waiting*, not the job, which runs to its end on its pool
//! thread and whose result is then dropped.

use crate::channel::oneshot;
use crate::runtime::{context, Handle};
use crate::{JoinHandle, SpawnError};
use std::panic::{self, AssertUnwindSafe};

/// Runs `f` on the current runtime's blocking pool and returns a handle to
/// join its value (or its panic).
///
/// # Panics
///
/// Outside a strand, and when the pool is saturated (every thread busy and
/// the queue full) or shut down; [`try_spawn_blocking`] returns those as
/// errors.
///
/// ```
/// strands::run(|| {
///     let h = strands::spawn_blocking(|| std::fs::metadata("/").is_ok());
///     assert!(h.join().unwrap());
/// });
/// ```
#[track_caller]
pub fn spawn_blocking<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    try_spawn_blocking(f).unwrap_or_else(|e| panic!("strands::spawn_blocking failed: {e}"))
}

/// Like [`spawn_blocking`], answering [`SpawnError::Saturated`] when every
/// pool thread is busy and the queue is full, [`SpawnError::NoRuntime`]
/// outside a strand, [`SpawnError::ShutDown`] during shutdown.
///
/// The job is queued before the waiting strand is spawned: if that spawn
/// fails (the runtime's strand bound), the error is returned, and the job
/// still runs, its result dropped.
///
/// ```
/// strands::run(|| {
///     let h = strands::try_spawn_blocking(|| std::fs::metadata("/").is_ok()).unwrap();
///     assert!(h.join().unwrap());
/// });
/// ```
pub fn try_spawn_blocking<F, T>(f: F) -> Result<JoinHandle<T>, SpawnError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Handle::with_current(|h| match h {
        Some(h) => h.try_spawn_blocking(f),
        None => Err(SpawnError::NoRuntime),
    })
}

impl Handle {
    /// [`try_spawn_blocking`] on this runtime, from any thread.
    ///
    /// ```
    /// let rt = strands::Runtime::new()?;
    /// let h = rt.handle().try_spawn_blocking(|| 6 * 7).unwrap();
    /// assert_eq!(h.join().unwrap(), 42);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_spawn_blocking<F, T>(&self, f: F) -> Result<JoinHandle<T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = oneshot::<std::thread::Result<T>>();
        self.shared.blocking.submit(Box::new(move || {
            let _ = tx.send(panic::catch_unwind(AssertUnwindSafe(f)));
        }))?;
        crate::Builder::new().spawn_on(self, move || match rx.recv() {
            Ok(Ok(v)) => v,
            Ok(Err(p)) => context::resume_unwind(p),
            // dropped unrun: the runtime shut down
            Err(_) => context::resume_unwind(Box::new(context::Cancelled)),
        })
    }

    /// Threads of the blocking pool alive now, busy or idle (they retire
    /// after the keep-alive).
    ///
    /// ```
    /// let rt = strands::Runtime::new()?;
    /// assert_eq!(rt.handle().blocking_threads(), 0); // started on demand
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn blocking_threads(&self) -> usize {
        self.shared.blocking.threads()
    }
}

/// Runs blocking code `f` right here, on this strand's worker thread, and
/// returns its value.
///
/// What it does: before running `f`, it wakes an idle worker, if any, so
/// that strands queued on this worker which have not started yet can be
/// taken by it. While `f` runs, the watchdog (if on) reports this worker as
/// held past its threshold and, with spares enabled, starts a spare worker
/// for new work. What it does not do: strands that have already started on
/// this worker are pinned to it (see the crate docs on migration) and wait
/// until `f` returns; and `f` is not a cancellation point. Prefer
/// [`spawn_blocking`] unless `f` must run on this thread (it borrows from
/// the stack, or uses thread-local state).
///
/// On a plain thread it just runs `f`.
///
/// ```
/// strands::run(|| {
///     let local = vec![1, 2, 3];
///     let n = strands::block_in_place(|| local.iter().sum::<i32>());
///     assert_eq!(n, 6);
/// });
/// ```
pub fn block_in_place<F: FnOnce() -> R, R>(f: F) -> R {
    context::notify_idle_worker();
    f()
}
