//! Stop-the-world: every worker of a runtime halted between two strand
//! runs while a closure runs ([`Runtime::stop_the_world`],
//! [`Handle::stop_the_world`] and their `_timeout` forms), as a garbage
//! collector embedded in a language VM needs.
//!
//! # Protocol
//!
//! The requester, under the lock of [`Stw`], marks a stop requested (the
//! lock's `requested` and the fast flag the workers read), then notifies
//! the idle workers (`Idle::notify_if_idle`: the flag is part of an idle
//! worker's final "has work" check, so the usual idle handshake makes sure
//! none sleeps through it). Each worker looks at the fast flag at the top
//! of its loop, that is between two strand runs (one relaxed load of a
//! line nobody writes while no stop is requested); seeing it, it counts
//! itself halted and waits on a condition variable until the stop ends.
//! The requester waits until every worker thread in its loop (base
//! workers and running spares: the *members*, counted as they enter and
//! leave `run_worker`) is halted -- its own worker counting as halted when
//! the requester is a strand or hook on a worker thread -- then runs the
//! closure, and on return (or unwind) releases them.
//!
//! While the world is stopped nothing polls the I/O driver or fires timers:
//! strands parked on I/O or timers stay parked, and a timer that comes due
//! meanwhile fires when the workers go on. A strand woken from a plain
//! thread meanwhile is queued and runs afterwards. The blocking pool's
//! threads (`spawn_blocking`) are not strands and are not stopped.
//!
//! A strand that never reaches a switch (a hot loop, a blocking system
//! call) holds its worker: the requester waits for it;
//! `stop_the_world_timeout` gives up at its deadline and names the strands
//! still running (the workers' `watch_current`, which the watchdog reads
//! too). A spare worker started meanwhile (the watchdog's) joins the
//! members and halts before it runs anything.
//!
//! Two requests at once are served one after the other; a requester that
//! waits for its turn on a worker thread counts as halted while it waits
//! (else each would wait for the other's worker). A request from inside
//! the closure (nested) is refused, as is one once the runtime is shutting
//! down.

pub(super) mod member;
pub(super) mod state;

use super::handle::{Handle, Runtime};
use super::shared::Shared;
use super::worker::with_worker;
use crate::loom::os::Condvar;
use crate::loom::Ordering;
use crate::StrandId;
use state::{State, Stw};
use std::fmt;
use std::time::{Duration, Instant};

/// Why [`Runtime::stop_the_world_timeout`] did not run its closure.
///
/// ```
/// use std::time::Duration;
/// use strands::runtime::StopTheWorldError;
///
/// let rt = strands::Runtime::builder().workers(2).build()?;
/// let r = rt.stop_the_world_timeout(Duration::from_secs(10), || {
///     // nested: refused, not a deadlock
///     let inner = rt.stop_the_world_timeout(Duration::from_secs(1), || ());
///     assert!(matches!(inner, Err(StopTheWorldError::Nested)));
/// });
/// assert!(r.is_ok());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum StopTheWorldError {
    /// Some workers did not halt in time: each of `running` holds its
    /// worker without reaching a switch (a hot loop, a blocking call). The
    /// closure did not run and the other workers went on.
    TimedOut {
        /// How long the request waited.
        waited: Duration,
        /// The strands still running on a worker when it gave up.
        running: Vec<RunningStrand>,
    },
    /// Called from inside a stop-the-world closure of the same runtime.
    Nested,
    /// The runtime is shutting down or has shut down.
    ShutDown,
}

/// A strand that kept a stop-the-world request waiting (see
/// [`StopTheWorldError::TimedOut`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunningStrand {
    /// The strand.
    pub id: StrandId,
    /// Its name, if it has one.
    pub name: Option<String>,
    /// The worker it holds.
    pub worker: usize,
}

impl fmt::Display for StopTheWorldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopTheWorldError::TimedOut { waited, running } => {
                write!(
                    f,
                    "stop the world timed out after {} ms: ",
                    waited.as_millis()
                )?;
                if running.is_empty() {
                    return f.write_str("a worker did not halt (no strand named running on it)");
                }
                for (i, s) in running.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(
                        f,
                        "strand '{}' (id {}) on worker {}",
                        s.name.as_deref().unwrap_or("<unnamed>"),
                        s.id,
                        s.worker
                    )?;
                }
                f.write_str(" never reached a switch (a hot loop or a blocking call?)")
            }
            StopTheWorldError::Nested => {
                f.write_str("stop the world called inside a stop-the-world closure")
            }
            StopTheWorldError::ShutDown => f.write_str("the runtime has shut down"),
        }
    }
}

impl std::error::Error for StopTheWorldError {}

/// The worker index of this thread if it is a worker of `shared`.
fn my_worker(shared: &Shared) -> Option<usize> {
    with_worker(|w| {
        w.filter(|w| std::ptr::eq(&*w.shared, shared))
            .map(|w| w.index)
    })
}

/// The strands running on the workers other than `me`.
fn running_strands(shared: &Shared, me: Option<usize>) -> Vec<RunningStrand> {
    let ids: Vec<(usize, u64)> = shared
        .workers
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != me)
        .map(|(i, w)| (i, w.watch_current.load(Ordering::Relaxed)))
        .filter(|(_, id)| *id != 0)
        .collect();
    if ids.is_empty() {
        return Vec::new();
    }
    let live = shared.registry.all();
    ids.into_iter()
        .filter_map(|(worker, id)| {
            let s = live.iter().find(|s| s.id.as_u64() == id)?;
            Some(RunningStrand {
                id: s.id,
                name: s.name.as_deref().map(String::from),
                worker,
            })
        })
        .collect()
}

/// Ends the stop as the closure returns or unwinds.
struct Release<'a>(&'a Stw);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// Stops the world of `shared`, runs `f`, starts it again.
fn stop<R>(
    shared: &Shared,
    timeout: Option<Duration>,
    f: impl FnOnce() -> R,
) -> Result<R, StopTheWorldError> {
    let start = Instant::now();
    let deadline = timeout.and_then(|t| start.checked_add(t));
    let stw = &shared.stw;
    let me = my_worker(shared);
    let mine = usize::from(me.is_some());
    let timed_out = |me| StopTheWorldError::TimedOut {
        waited: start.elapsed(),
        running: running_strands(shared, me),
    };
    // wait (up to the deadline) on `cv`; false once the deadline passed
    let wait = |cv: &Condvar, st| -> (std::sync::MutexGuard<'_, State>, bool) {
        match deadline {
            None => (cv.wait(st).unwrap_or_else(|e| e.into_inner()), true),
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return (st, false);
                }
                let (st, _) = cv.wait_timeout(st, left).unwrap_or_else(|e| e.into_inner());
                (st, true)
            }
        }
    };
    let mut st = stw.lock();
    if st.owner == Some(std::thread::current().id()) {
        return Err(StopTheWorldError::Nested);
    }
    // one stop at a time; a worker waiting for its turn counts as halted
    if st.requested {
        st.halted += mine;
        stw.changed.notify_all();
        while st.requested {
            let (g, in_time) = wait(&stw.released, st);
            st = g;
            if !in_time && st.requested {
                st.halted -= mine;
                stw.changed.notify_all();
                drop(st);
                return Err(timed_out(me));
            }
        }
        st.halted -= mine;
    }
    if shared.gate.is_closed() {
        return Err(StopTheWorldError::ShutDown);
    }
    st.requested = true;
    st.owner = Some(std::thread::current().id());
    st.owner_worker = me;
    stw.requested.store(true, Ordering::SeqCst);
    drop(st);
    // idle workers look at the flag before they sleep (`Worker::has_work`)
    for w in shared.workers.iter() {
        w.idle.notify_if_idle(|| shared.notify_poller());
    }
    let release = Release(stw);
    let mut st = stw.lock();
    while st.halted + mine < st.members {
        let (g, in_time) = wait(&stw.changed, st);
        st = g;
        if !in_time && st.halted + mine < st.members {
            drop(st);
            let err = timed_out(me);
            drop(release);
            return Err(err);
        }
    }
    drop(st);
    let r = f();
    drop(release);
    Ok(r)
}

#[track_caller]
fn or_panic<R>(r: Result<R, StopTheWorldError>) -> R {
    match r {
        Ok(r) => r,
        Err(e) => panic!("strands: {e}"),
    }
}

impl Runtime {
    /// Halts every worker of this runtime (spares included) between two
    /// strand runs, runs `f` while no strand executes, then lets them go
    /// on; returns what `f` returned.
    ///
    /// Strands parked on I/O, timers, locks or channels stay parked; a
    /// timer that comes due meanwhile fires after `f` returns. Called from
    /// a strand of this runtime, it halts the other workers and runs `f` on
    /// the caller (its own worker runs nothing else meanwhile). Requests
    /// from several threads at once are served one after the other.
    ///
    /// `f` must not yield, park or wait for a strand of this runtime (no
    /// strand runs until it returns): a strand whose closure switches out
    /// aborts the process with a message rather than hang; a plain thread
    /// that waits for a strand in `f` hangs. A strand that never reaches
    /// a switch (a hot loop, a blocking call) makes this wait for it: see
    /// [`stop_the_world_timeout`](Runtime::stop_the_world_timeout), which
    /// gives up and names it.
    ///
    /// # Panics
    ///
    /// Inside another `stop_the_world` closure of this runtime (nested),
    /// and once the runtime is shutting down (see [`StopTheWorldError`]).
    /// If `f` panics, the workers go on and the panic propagates.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    /// use std::sync::Arc;
    ///
    /// let rt = strands::Runtime::builder().workers(2).build()?;
    /// let count = Arc::new(AtomicU64::new(0));
    /// let c = Arc::clone(&count);
    /// let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    /// let s = Arc::clone(&stop);
    /// let counter = rt.spawn(move || {
    ///     while !s.load(Relaxed) {
    ///         c.fetch_add(1, Relaxed);
    ///         strands::yield_now();
    ///     }
    /// });
    /// let (before, after) = rt.stop_the_world(|| {
    ///     let before = count.load(Relaxed);
    ///     std::thread::sleep(std::time::Duration::from_millis(5));
    ///     (before, count.load(Relaxed))
    /// });
    /// assert_eq!(before, after); // nothing ran meanwhile
    /// stop.store(true, Relaxed);
    /// counter.join().unwrap();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn stop_the_world<R>(&self, f: impl FnOnce() -> R) -> R {
        self.handle.stop_the_world(f)
    }

    /// [`stop_the_world`](Runtime::stop_the_world), giving up if the
    /// workers have not all halted within `timeout` (the closure then does
    /// not run, and the workers go on); the error names the strands that
    /// held their workers. Nested calls and calls during shutdown answer
    /// an error instead of panicking.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use strands::runtime::StopTheWorldError;
    ///
    /// let rt = strands::Runtime::builder().workers(2).watchdog(None).build()?;
    /// let stop = Arc::new(AtomicBool::new(false));
    /// let s = Arc::clone(&stop);
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let spinner = strands::Builder::new().name("spinner".into()).spawn_on(rt.handle(), move || {
    ///     tx.send(()).unwrap();
    ///     while !s.load(Relaxed) {} // never switches
    /// })?;
    /// rx.recv().unwrap(); // it runs
    /// match rt.stop_the_world_timeout(Duration::from_millis(50), || ()) {
    ///     Err(StopTheWorldError::TimedOut { running, .. }) => {
    ///         assert_eq!(running[0].name.as_deref(), Some("spinner"));
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// stop.store(true, Relaxed);
    /// spinner.join().unwrap();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stop_the_world_timeout<R>(
        &self,
        timeout: Duration,
        f: impl FnOnce() -> R,
    ) -> Result<R, StopTheWorldError> {
        self.handle.stop_the_world_timeout(timeout, f)
    }
}

impl Handle {
    /// [`Runtime::stop_the_world`] through a handle (from any thread, or
    /// from a strand: `Handle::current().stop_the_world(..)`).
    ///
    /// ```
    /// strands::run(|| {
    ///     let v = strands::Handle::current().stop_the_world(|| 42);
    ///     assert_eq!(v, 42);
    /// });
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Runtime::stop_the_world`].
    #[track_caller]
    pub fn stop_the_world<R>(&self, f: impl FnOnce() -> R) -> R {
        or_panic(stop(&self.shared, None, f))
    }

    /// [`Runtime::stop_the_world_timeout`] through a handle.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = strands::Runtime::new()?;
    /// let h = rt.handle().clone();
    /// assert_eq!(h.stop_the_world_timeout(Duration::from_secs(5), || 7).unwrap(), 7);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stop_the_world_timeout<R>(
        &self,
        timeout: Duration,
        f: impl FnOnce() -> R,
    ) -> Result<R, StopTheWorldError> {
        stop(&self.shared, Some(timeout), f)
    }
}
