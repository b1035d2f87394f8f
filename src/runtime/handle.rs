//! [`Runtime`] (its shutdown) and [`Handle`] (the spawn path every strand
//! takes: the bound, the stack, the header, the registry, the queue).
//!
//! The typed half of spawning (wrapping a closure so that its result goes
//! to a `JoinHandle`) lives above the runtime, in `spawn.rs`; the runtime
//! sees only a header whose payload and `Job` table it does not look into.

use super::context;
use super::error::SpawnError;
use super::gate::Full;
use super::shared::Shared;
use super::worker::{with_worker, Worker};
use crate::loom::{Arc, Ordering};
use crate::strand::StrandRef;
use std::fmt;
use std::time::{Duration, Instant};

/// A strands runtime: worker threads that run strands.
///
/// Dropping it shuts it down: spawning is refused from then on, the strands
/// still alive are cancelled (each unwinds at its next blocking point, so
/// its `Drop`s run), and the workers exit once they are gone; see
/// [`Runtime::shutdown_timeout`].
///
/// ```
/// let rt = strands::Runtime::new()?;
/// let h = rt.spawn(|| "hello from a strand");
/// assert_eq!(h.join().unwrap(), "hello from a strand");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Runtime {
    pub(super) handle: Handle,
    pub(super) threads: Vec<std::thread::JoinHandle<()>>,
    /// The watchdog's monitor thread, if it is on.
    pub(super) monitor: Option<std::thread::JoinHandle<()>>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.threads.len())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// A cloneable handle that spawns onto this runtime from any thread.
    ///
    /// ```
    /// let rt = strands::Runtime::new()?;
    /// let handle = rt.handle().clone();
    /// let from_a_thread = std::thread::spawn(move || handle.spawn(|| 21 * 2).join().unwrap());
    /// assert_eq!(from_a_thread.join().unwrap(), 42);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Counters describing the runtime now.
    ///
    /// ```
    /// let rt = strands::Runtime::builder().workers(2).build()?;
    /// rt.block_on(|| strands::spawn(|| ()).join().unwrap());
    /// let m = rt.metrics();
    /// println!("{m:?}");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn metrics(&self) -> crate::Metrics {
        self.handle.metrics()
    }
}

impl Runtime {
    /// Shuts the runtime down, waiting at most `timeout` for its strands.
    ///
    /// Steps: (1) refuse new spawns from outside; (2) cancel every live
    /// strand, parked or runnable -- each unwinds at its next blocking point
    /// (or the one it is parked in), so its `Drop`s run; (3) wait until they
    /// have all finished, at most `timeout`; (4) join the workers and give
    /// every stack back to the system.
    ///
    /// Returns `true` if everything finished in time. A strand that never
    /// reaches a blocking point (a hot loop, a blocking system call) keeps
    /// its worker: after the timeout the worker threads are left to exit on
    /// their own and `false` is returned.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = strands::Runtime::new()?;
    /// rt.spawn(|| strands::sleep(Duration::from_secs(3600))); // detached
    /// assert!(rt.shutdown_timeout(Duration::from_secs(10))); // cancelled at once
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) -> bool {
        self.shutdown(Some(timeout))
    }

    fn shutdown(&mut self, timeout: Option<Duration>) -> bool {
        let shared = Arc::clone(&self.handle.shared);
        if shared.gate.close() && self.threads.is_empty() {
            return true; // already done
        }
        shared.pool.wind_down();
        // every strand woken, then every worker notified once
        shared.in_bulk(|| {
            for strand in shared.registry.all() {
                strand.cancel();
            }
            #[cfg(not(loom))]
            shared.blocking.shutdown();
            shared.timers.wake_all_now(); // sleeping strands wake and unwind
        });
        if self.handle.is_worker_thread() {
            return false; // a worker cannot wait for itself: the threads exit on their own
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        if timeout.is_none() {
            // Dropped: wait as long as it takes, but say what for once the
            // wait is no longer short.
            let soon = Instant::now() + SHUTDOWN_REPORT_AFTER;
            if !shared
                .gate
                .wait_drained(|| shared.registry.live(), Some(soon))
            {
                eprint!("{}", shutdown_report(&shared));
            }
        }
        if !shared
            .gate
            .wait_drained(|| shared.registry.live(), deadline)
        {
            self.threads.clear(); // detach: they exit when their strands do
            shared.timers.wake_all_now();
            shared.watchdog.stop(); // the monitor exits; spares with the rest
            return false;
        }
        shared.watchdog.stop();
        if let Some(m) = self.monitor.take() {
            let _ = m.join(); // no spare is started after this
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        shared.watchdog.join_spares();
        shared.timers.wake_all_now();
        // Every strand is done: give the stacks back to the system now,
        // not when the last `Handle` or `Strand` lets go of the runtime.
        shared.pool.release_unused();
        true
    }
}

/// How long a runtime being dropped waits for its strands before it says
/// on stderr which ones it waits for.
const SHUTDOWN_REPORT_AFTER: Duration = Duration::from_secs(1);

/// Strands named one by one in a shutdown report.
const SHUTDOWN_REPORT_MAX: usize = 10;

/// What a shutdown that takes long waits for: the strands still alive,
/// with where they were spawned and what they do (running on a worker
/// means a blocking call or a loop that reaches no blocking point, which
/// the cancellation cannot interrupt).
fn shutdown_report(shared: &Shared) -> String {
    use std::fmt::Write;
    let live = shared.registry.all();
    let mut out = format!(
        "strands: dropping the runtime: still waiting after {} s for {} strand{} \
         (cancelled; each ends at its next blocking point):\n",
        SHUTDOWN_REPORT_AFTER.as_secs(),
        live.len(),
        if live.len() == 1 { "" } else { "s" }
    );
    for s in live.iter().take(SHUTDOWN_REPORT_MAX) {
        let id = s.id.as_u64();
        let doing = match shared
            .workers
            .iter()
            .position(|w| w.watch_current.load(Ordering::Relaxed) == id)
        {
            Some(w) => format!(
                "running on worker {w}: a blocking call or a loop that reaches no blocking point"
            ),
            None => "waiting".to_string(),
        };
        let _ = write!(
            out,
            "  strand '{}' (id {id})",
            s.name.as_deref().unwrap_or("<unnamed>")
        );
        if let Some(at) = s.spawned_at {
            let _ = write!(out, ", spawned at {at}");
        }
        let _ = writeln!(out, ": {doing}");
    }
    if live.len() > SHUTDOWN_REPORT_MAX {
        let _ = writeln!(out, "  ... and {} more", live.len() - SHUTDOWN_REPORT_MAX);
    }
    out.push_str("  (Runtime::shutdown_timeout bounds this wait)\n");
    out
}

impl Drop for Runtime {
    /// Shuts down as [`Runtime::shutdown_timeout`] does, waiting as long as
    /// the strands take to unwind.
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

/// A handle to a [`Runtime`]: spawns onto it from any thread. Cheap to clone.
///
/// A handle does not keep the runtime's workers alive: spawning through it
/// after the runtime was dropped answers [`SpawnError::ShutDown`].
///
/// ```
/// let rt = strands::Runtime::new()?;
/// let handle: strands::Handle = rt.handle().clone();
/// let threads: Vec<_> = (0..4)
///     .map(|i| {
///         let handle = handle.clone();
///         std::thread::spawn(move || handle.spawn(move || i * 10).join().unwrap())
///     })
///     .collect();
/// let sum: i32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
/// assert_eq!(sum, 60);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
#[repr(transparent)] // see `Handle::with_current`
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

impl Handle {
    /// Runs `f` with a borrowed handle of the runtime running the current
    /// strand, if any: no reference count is touched (spawning from a
    /// strand does not clone and drop the runtime's `Arc`).
    pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Handle>) -> R) -> R {
        with_worker(|w| {
            f(w.map(|w| {
                let shared: *const Arc<Shared> = &w.shared;
                // SAFETY: `Handle` is `repr(transparent)` over its only
                // field, an `Arc<Shared>`, so the two have one layout; the
                // borrow lives no longer than the worker's field.
                unsafe { &*(shared as *const Handle) }
            }))
        })
    }

    /// The handle of the runtime running the current strand.
    ///
    /// # Panics
    ///
    /// Outside a strand (or a worker thread); see [`Handle::try_current`].
    ///
    /// ```
    /// strands::run(|| {
    ///     let h = strands::Handle::current();
    ///     let job = std::thread::spawn(move || h.spawn(|| 2 + 2).join().unwrap());
    ///     assert_eq!(job.join().unwrap(), 4);
    /// });
    /// ```
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Some(h) => h,
            None => panic!("strands::Handle::current called outside a strand: use Runtime::handle"),
        }
    }

    /// The handle of the runtime running the current strand, if any.
    ///
    /// ```
    /// assert!(strands::Handle::try_current().is_none()); // a plain thread
    /// strands::run(|| assert!(strands::Handle::try_current().is_some()));
    /// ```
    pub fn try_current() -> Option<Handle> {
        with_worker(|w| {
            w.map(|w| Handle {
                shared: Arc::clone(&w.shared),
            })
        })
    }

    /// Spawns a fresh (type-erased) strand: the bound, the stack, the
    /// registry, the queue. On an error the strand is dropped here, never
    /// having run.
    pub(crate) fn spawn_strand(
        &self,
        strand: StrandRef,
        stack_size: Option<usize>,
    ) -> Result<StrandRef, SpawnError> {
        // This thread's worker, if it is one of this runtime's: looked up
        // once for the stack cache, the registry shard and the queue.
        let (spawned, slice_used) = with_worker(|w| {
            let here = w.filter(|w| Arc::ptr_eq(&w.shared, &self.shared));
            let spawned = self.spawn_here(here, strand, stack_size);
            let slice_used = here.is_some_and(|w| w.running().is_some() && w.spawned_one());
            (spawned, slice_used)
        });
        if slice_used {
            // A strand spawning in a loop holds its worker: after a slice
            // of spawns it lets the strands queued here run (not a
            // cancellation point: the handle must reach the caller).
            context::yield_with(false);
        }
        spawned
    }

    fn spawn_here(
        &self,
        here: Option<&Worker>,
        strand: StrandRef,
        stack_size: Option<usize>,
    ) -> Result<StrandRef, SpawnError> {
        let shared = &self.shared;
        // During shutdown, spawns from outside are refused. A strand of
        // this runtime that spawns while it unwinds from the shutdown's
        // cancellation gets a handle to a strand that is cancelled before it
        // starts (its body never runs; joining it says `Cancelled`), rather
        // than an error it could only turn into a panic mid-unwind.
        let own = || self.is_own_strand();
        if shared.gate.is_closed() && !own() {
            return Err(SpawnError::ShutDown); // early out; checked for real below
        }
        let size = stack_size.unwrap_or(shared.stack_size);
        let cached = here
            .filter(|_| size == shared.stack_size)
            .and_then(|w| w.cached_stack());
        let stack = match cached.map_or_else(|| shared.pool.get(size), Ok) {
            Ok(s) => s,
            Err(e) => return Err(SpawnError::Io(e)),
        };
        // SAFETY: nobody but us sees the strand yet (not registered, not
        // queued).
        unsafe { strand.attach(stack) };
        // registered, then the check: a shutdown either sees the strand
        // (and cancels it) or we see the shutdown (see `gate`)
        let hint = here.map_or(strand.id.as_u64() as usize, |w| w.index);
        let closed = match shared.registry.insert(&strand, hint, &shared.gate) {
            Ok(closed) => closed,
            Err(Full) => return Err(SpawnError::Saturated), // its stack goes back to the pool
        };
        if closed {
            if !own() {
                shared.strand_finished(&strand);
                drop(strand); // its stack goes back to the pool
                return Err(SpawnError::ShutDown);
            }
            strand.cancelled.store(true, Ordering::Release);
        }
        match here {
            Some(w) => w.count_spawn(strand.priority),
            None => {
                shared.spawned[strand.priority].fetch_add(1, Ordering::Relaxed);
            }
        }
        super::events::spawned(shared, &strand); // a branch without a hook
        shared.submit(Arc::clone(&strand), here);
        Ok(strand)
    }

    /// Whether the caller is a strand of this runtime.
    pub(crate) fn is_own_strand(&self) -> bool {
        with_worker(|w| {
            w.is_some_and(|w| w.running().is_some() && Arc::ptr_eq(&w.shared, &self.shared))
        })
    }

    /// Whether this thread is one of this runtime's workers (a strand of it,
    /// or its worker loop).
    pub(crate) fn is_worker_thread(&self) -> bool {
        with_worker(|w| w.is_some_and(|w| Arc::ptr_eq(&w.shared, &self.shared)))
    }
}
