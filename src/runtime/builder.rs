//! [`Builder`]: a runtime's configuration, and starting its workers.

use super::agenda::Deques;
use super::gate::Gate;
use super::handle::{Handle, Runtime};
use super::io::Driver;
use super::reclaim::state::Reclaim;
use super::registry::Registry;
use super::shared::{Shared, WorkerShared};
use super::time::Timers;
use super::watchdog::{Deadlock, DeadlockHook, Stuck, StuckHook, Watchdog};
use super::worker::run_worker;
use crate::loom::Arc;
use crate::stack::{self, StackGuard, StackPool};
use std::fmt;
use std::io;
use std::time::Duration;

/// The default of [`Builder::reclaim_after`]: one second.
pub const DEFAULT_RECLAIM_AFTER: Duration = Duration::from_secs(1);

/// Configures and builds a [`Runtime`].
///
/// ```
/// let rt = strands::Runtime::builder()
///     .workers(2)
///     .stack_size(64 * 1024)
///     .max_strands(10_000)
///     .thread_name("my-worker")
///     .build()?;
/// assert_eq!(rt.block_on(|| 1 + 1), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Builder {
    workers: Option<usize>,
    stack_size: usize,
    stack_guard: StackGuard,
    max_strands: usize,
    thread_name: String,
    watchdog: Option<Duration>,
    spare_workers: Option<usize>,
    on_stuck: Option<StuckHook>,
    on_deadlock: Option<DeadlockHook>,
    /// Starts the `SIGQUIT` watcher once the runtime is built: set by
    /// `Builder::dump_on_sigquit`, which lives with the watcher above the
    /// runtime (`src/dump.rs`: it spawns a strand waiting on a `Signals`).
    pub(crate) sigquit_watcher: Option<fn(&Runtime) -> io::Result<()>>,
    on_event: Option<super::events::EventHook>,
    max_blocking_threads: usize,
    blocking_keep_alive: Duration,
    blocking_queue: usize,
    reclaim_after: Option<Duration>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("workers", &self.workers)
            .field("stack_size", &self.stack_size)
            .field("stack_guard", &self.stack_guard)
            .field("max_strands", &self.max_strands)
            .field("thread_name", &self.thread_name)
            .field("watchdog", &self.watchdog)
            .field("spare_workers", &self.spare_workers)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("blocking_keep_alive", &self.blocking_keep_alive)
            .field("blocking_queue", &self.blocking_queue)
            .field("reclaim_after", &self.reclaim_after)
            .field("dump_on_sigquit", &self.sigquit_watcher.is_some())
            .field("on_event", &self.on_event.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            workers: None,
            stack_size: stack::DEFAULT_STACK_SIZE,
            stack_guard: StackGuard::Auto,
            max_strands: 1 << 22,
            thread_name: "strands-worker".to_string(),
            watchdog: Some(Duration::from_millis(100)),
            spare_workers: None,
            on_stuck: None,
            on_deadlock: None,
            sigquit_watcher: None,
            on_event: None,
            max_blocking_threads: 512,
            blocking_keep_alive: Duration::from_secs(10),
            blocking_queue: 1 << 16,
            reclaim_after: Some(DEFAULT_RECLAIM_AFTER),
        }
    }
}

impl Builder {
    /// A builder with the defaults: one worker per available core,
    /// [`DEFAULT_STACK_SIZE`](crate::DEFAULT_STACK_SIZE) stacks, guards
    /// chosen automatically, at most 4,194,304 live strands.
    ///
    /// ```
    /// let rt = strands::runtime::Builder::new().build()?;
    /// assert_eq!(rt.block_on(|| 1 + 1), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Number of worker threads (default: [`std::thread::available_parallelism`]).
    /// Zero makes [`build`](Builder::build) fail.
    ///
    /// ```
    /// use strands::Runtime;
    ///
    /// let rt = Runtime::builder().workers(2).build()?;
    /// assert_eq!(rt.block_on(|| strands::spawn(|| 6 * 7).join().unwrap()), 42);
    /// assert!(Runtime::builder().workers(0).build().is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn workers(mut self, n: usize) -> Builder {
        self.workers = Some(n);
        self
    }

    /// Default stack size for strands whose [`crate::Builder`] names none.
    /// Rounded up to whole pages; must lie between
    /// [`MIN_STACK_SIZE`](crate::MIN_STACK_SIZE) and
    /// [`MAX_STACK_SIZE`](crate::MAX_STACK_SIZE), else `build` fails.
    ///
    /// ```
    /// use strands::Runtime;
    ///
    /// let rt = Runtime::builder().stack_size(64 * 1024).build()?;
    /// rt.block_on(|| assert!(strands::remaining_stack().unwrap() <= 64 * 1024));
    /// assert!(Runtime::builder().stack_size(1).build().is_err()); // below MIN_STACK_SIZE
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = bytes;
        self
    }

    /// How stacks are guarded (default: [`StackGuard::Auto`]).
    ///
    /// ```
    /// use strands::{Runtime, StackGuard};
    ///
    /// let rt = Runtime::builder().stack_guard(StackGuard::Auto).build()?;
    /// # drop(rt);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stack_guard(mut self, guard: StackGuard) -> Builder {
        self.stack_guard = guard;
        self
    }

    /// Most strands alive at once; past it, spawning answers
    /// [`SpawnError::Saturated`](crate::SpawnError::Saturated). Zero makes `build` fail.
    ///
    /// ```
    /// use strands::{Runtime, SpawnError};
    ///
    /// let rt = Runtime::builder().workers(1).max_strands(2).build()?;
    /// rt.block_on(|| {
    ///     // this strand is one; one more fits
    ///     let (tx, rx) = strands::channel::unbounded::<()>();
    ///     let second = strands::spawn(move || rx.recv().unwrap());
    ///     let third = strands::Builder::new().spawn(|| ());
    ///     assert!(matches!(third, Err(SpawnError::Saturated)));
    ///     tx.send(()).unwrap();
    ///     second.join().unwrap();
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn max_strands(mut self, n: usize) -> Builder {
        self.max_strands = n;
        self
    }

    /// Prefix of the worker threads' names (`<prefix>-<index>`).
    ///
    /// ```
    /// use strands::Runtime;
    ///
    /// let rt = Runtime::builder().thread_name("app").workers(1).build()?;
    /// let name = rt.block_on(|| std::thread::current().name().map(String::from));
    /// assert_eq!(name.as_deref(), Some("app-0"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Builder {
        self.thread_name = prefix.into();
        self
    }

    /// The stuck-worker watchdog: a monitor thread reports (on stderr, and
    /// to [`on_stuck`](Builder::on_stuck)) a strand that has held its
    /// worker for longer than this without yielding -- a hot loop, a
    /// blocking system call -- and starts a spare worker so the other
    /// strands go on (see [`spare_workers`](Builder::spare_workers)).
    /// Default: 100 ms. `None` turns it off (no monitor thread).
    ///
    /// Its cost when nothing is stuck is three relaxed stores per switch
    /// and a monitor wake-up every quarter threshold.
    ///
    /// ```
    /// use strands::Runtime;
    ///
    /// use std::time::Duration;
    ///
    /// let rt = Runtime::builder().watchdog(Some(Duration::from_millis(500))).build()?;
    /// let quiet = Runtime::builder().watchdog(None).build()?; // no monitor thread
    /// # drop((rt, quiet));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn watchdog(mut self, threshold: Option<Duration>) -> Builder {
        self.watchdog = threshold;
        self
    }

    /// Most spare workers the watchdog may start, one per report (default:
    /// as many as [`workers`](Builder::workers); 0: report only). A spare
    /// serves new and stealable strands, the injectors, timers and I/O;
    /// strands that had already started on the stuck worker stay pinned to
    /// it and wait. A spare retires when it has been idle for a reclaim
    /// interval (see [`reclaim_after`](Builder::reclaim_after)) while no
    /// worker is stuck and no strand is pinned to it.
    ///
    /// ```
    /// use strands::Runtime;
    ///
    /// let report_only = Runtime::builder().workers(2).spare_workers(0).build()?;
    /// # drop(report_only);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spare_workers(mut self, n: usize) -> Builder {
        self.spare_workers = Some(n);
        self
    }

    /// How long idle resources are kept before they go back (default:
    /// [`DEFAULT_RECLAIM_AFTER`], one second; `None`: kept for the
    /// runtime's life, as before this existed).
    ///
    /// Every interval, off the spawn path (an idle worker waiting for I/O,
    /// or a busy worker's periodic maintenance), the runtime gives back:
    ///
    /// - the memory of pooled stacks that were not reused during the whole
    ///   previous interval: all their pages (`MADV_DONTNEED`), and the
    ///   mapping of every slab all of whose stacks are in that case. So
    ///   after a burst, memory goes back between one and two intervals
    ///   after the strands finish; what stays is the recent working set
    ///   and each worker's own cache of at most 64 stacks;
    /// - spare workers (see [`spare_workers`](Builder::spare_workers)) idle
    ///   for an interval, with no strand pinned to them and no worker
    ///   stuck now: their threads exit, and a later report can start them
    ///   again.
    ///
    /// A stack given back costs a page fault per page at its next use, and
    /// a slab unmapped costs an `mmap` (and its guard installs) when the
    /// pool grows again.
    ///
    /// ```
    /// use strands::Runtime;
    ///
    /// use std::time::Duration;
    ///
    /// let rt = Runtime::builder().reclaim_after(Some(Duration::from_secs(5))).build()?;
    /// let keep_all = Runtime::builder().reclaim_after(None).build()?;
    /// # drop((rt, keep_all));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reclaim_after(mut self, interval: Option<Duration>) -> Builder {
        // the tick counts whole milliseconds
        self.reclaim_after = interval.map(|d| d.max(Duration::from_millis(1)));
        self
    }

    /// Calls `hook` with every watchdog report (besides printing it).
    ///
    /// ```
    /// use strands::Runtime;
    ///
    /// use std::time::Duration;
    ///
    /// let rt = Runtime::builder()
    ///     .watchdog(Some(Duration::from_millis(200)))
    ///     .on_stuck(|report| {
    ///         eprintln!(
    ///             "worker {} held by {:?} for {:?}",
    ///             report.worker, report.name, report.held_for
    ///         )
    ///     })
    ///     .build()?;
    /// # drop(rt);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn on_stuck(mut self, hook: impl Fn(&Stuck) + Send + Sync + 'static) -> Builder {
        self.on_stuck = Some(Arc::new(hook));
        self
    }

    /// Calls `hook` with every deadlock the watchdog finds (besides
    /// printing it on stderr): strands that wait for each other in a cycle
    /// of joins (without a deadline) and waits for a
    /// [`Mutex`](crate::sync::Mutex) or an [`RwLock`](crate::sync::RwLock)
    /// held (for writing) by the next strand of the cycle, and a strand
    /// waiting for such a lock it holds itself; each parked in its wait for
    /// longer than the watchdog's threshold. The watchdog looks at most
    /// once a second, and only while some strand waits in such a join or
    /// lock; each cycle is reported once. Not named: cycles through read
    /// holds, plain threads, channels and other primitives without a single
    /// holder (see [`Deadlock`]). Needs the watchdog on
    /// ([`watchdog`](Builder::watchdog)).
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let (found_tx, found_rx) = mpsc::channel();
    /// let found_tx = std::sync::Mutex::new(found_tx);
    /// let rt = strands::Runtime::builder()
    ///     .on_deadlock(move |d| found_tx.lock().unwrap().send(d.strands.len()).unwrap())
    ///     .build()
    ///     .unwrap();
    /// let (tx, rx) = strands::channel::bounded(1);
    /// let a = rt.spawn(move || {
    ///     let b: strands::JoinHandle<()> = rx.recv().unwrap();
    ///     let _ = b.join();
    /// });
    /// let a_strand = a.strand().clone();
    /// let b = rt.spawn(move || {
    ///     let _ = a.join();
    /// });
    /// tx.send(b).unwrap();
    /// assert_eq!(found_rx.recv().unwrap(), 2); // a joins b, which joins a
    /// a_strand.cancel(); // cancelling one of them breaks the cycle
    /// ```
    pub fn on_deadlock(mut self, hook: impl Fn(&Deadlock) + Send + Sync + 'static) -> Builder {
        self.on_deadlock = Some(Arc::new(hook));
        self
    }

    /// Calls `hook` with every runtime [`Event`](crate::Event): strands
    /// spawned, started, parked (with what they wait for), woken, yielded,
    /// stolen, finished (with the outcome); watchdog reports; workers going
    /// idle and notified. Default: none.
    ///
    /// The hook runs on the thread where the event happens, at once: often
    /// a worker between two strands, sometimes the strand itself (see
    /// [`crate::observe`] for which). Keep it quick; it must not block,
    /// park or yield. Events the hook causes on its own thread (a spawn
    /// from the hook) are not delivered; the spawn works. A hook that
    /// panics is reported once on stderr and disabled for the rest of the
    /// runtime's life. Without a hook each event point costs a load and a
    /// branch. [`observe::JsonLines`](crate::observe::JsonLines) writes the
    /// events as JSON lines.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    /// use std::sync::Arc;
    ///
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let s = Arc::clone(&started);
    /// let rt = strands::Runtime::builder()
    ///     .on_event(move |e: &strands::Event<'_>| {
    ///         if let strands::Event::Started { .. } = e {
    ///             s.fetch_add(1, Relaxed);
    ///         }
    ///     })
    ///     .build()?;
    /// rt.block_on(|| strands::spawn(|| ()).join().unwrap());
    /// assert_eq!(started.load(Relaxed), 2); // block_on's strand and its child
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn on_event(mut self, hook: impl Fn(&crate::Event<'_>) + Send + Sync + 'static) -> Builder {
        self.on_event = Some(Arc::new(hook));
        self
    }

    /// Most threads of the blocking pool ([`crate::spawn_blocking`]);
    /// default 512. They start on demand. Zero makes `build` fail.
    ///
    /// ```
    /// use strands::Runtime;
    ///
    /// let rt = Runtime::builder().max_blocking_threads(4).build()?;
    /// let n = rt.block_on(|| strands::spawn_blocking(|| 1).join().unwrap());
    /// assert_eq!(n, 1);
    /// assert!(rt.handle().blocking_threads() <= 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn max_blocking_threads(mut self, n: usize) -> Builder {
        self.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking-pool thread waits for a job before it
    /// exits; default 10 s.
    ///
    /// ```
    /// use strands::Runtime;
    ///
    /// use std::time::Duration;
    ///
    /// let rt = Runtime::builder().blocking_keep_alive(Duration::from_secs(60)).build()?;
    /// rt.block_on(|| strands::spawn_blocking(|| ()).join().unwrap());
    /// assert_eq!(rt.handle().blocking_threads(), 1); // still there, idle
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn blocking_keep_alive(mut self, d: Duration) -> Builder {
        self.blocking_keep_alive = d;
        self
    }

    /// Most jobs waiting for a blocking-pool thread once all are busy;
    /// past it [`crate::try_spawn_blocking`] answers
    /// [`SpawnError::Saturated`](crate::SpawnError::Saturated). Default
    /// 65,536; 0 queues nothing.
    ///
    /// ```
    /// use strands::{Runtime, SpawnError};
    ///
    /// let rt = Runtime::builder().max_blocking_threads(1).blocking_queue(0).build()?;
    /// rt.block_on(|| {
    ///     let (tx, rx) = std::sync::mpsc::channel::<()>();
    ///     let busy = strands::spawn_blocking(move || rx.recv().unwrap()); // takes the one thread
    ///     let refused = strands::try_spawn_blocking(|| ());
    ///     assert!(matches!(refused, Err(SpawnError::Saturated))); // no queue
    ///     tx.send(()).unwrap();
    ///     busy.join().unwrap();
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn blocking_queue(mut self, n: usize) -> Builder {
        self.blocking_queue = n;
        self
    }

    /// Builds the runtime and starts its workers.
    ///
    /// Fails with `InvalidInput` for zero workers, zero `max_strands` or a
    /// stack size out of range, with `Unsupported` for a forced guard kind
    /// the system lacks, and with the OS error if a thread cannot start.
    ///
    /// ```
    /// use strands::Runtime;
    ///
    /// let rt = Runtime::builder().workers(1).build()?;
    /// assert_eq!(rt.block_on(|| "built"), "built");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build(self) -> io::Result<Runtime> {
        let workers = match self.workers {
            Some(0) => return Err(invalid("a runtime needs at least one worker")),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        if self.max_strands == 0 {
            return Err(invalid("max_strands must be at least 1"));
        }
        if self.max_blocking_threads == 0 {
            return Err(invalid("max_blocking_threads must be at least 1"));
        }
        let stack_size = stack::checked_size(self.stack_size)?;
        let pool = StackPool::new(self.stack_guard)?;
        stack::overflow::install_handler();
        let spares = if self.watchdog.is_some() {
            self.spare_workers.unwrap_or(workers)
        } else {
            0
        };
        let mut deques: Vec<Deques> = (0..workers + spares).map(|_| Deques::new()).collect();
        let worker_shared = deques
            .iter()
            .map(|d| WorkerShared::new(d.stealers()))
            .collect();
        // the spares' deques wait in the watchdog, popped in index order
        let spare_deques = deques.drain(workers..).enumerate().rev();
        let spare_deques = spare_deques.map(|(i, d)| (workers + i, d)).collect();
        let shared = Arc::new(Shared {
            workers: worker_shared,
            injectors: Default::default(),
            pool,
            stack_size,
            gate: Gate::new(self.max_strands),
            spawned: Default::default(),
            timers: Timers::new(),
            driver: Arc::new(Driver::new()?),
            registry: Registry::new(),
            base_workers: workers,
            #[cfg(not(loom))]
            blocking: crate::runtime::blocking::Pool::new(crate::runtime::blocking::Config {
                max_threads: self.max_blocking_threads,
                keep_alive: self.blocking_keep_alive,
                queue_limit: self.blocking_queue,
                thread_name: format!("{}-blocking", self.thread_name),
            }),
            watchdog: Watchdog::new(
                self.watchdog,
                self.on_stuck.clone(),
                self.on_deadlock.clone(),
                self.thread_name.clone(),
                spare_deques,
            ),
            reclaim: Reclaim::new(self.reclaim_after),
            stw: super::stw::state::Stw::new(),
            events: self.on_event.clone().map(super::events::hook::Events::new),
        });
        let mut rt = Runtime {
            handle: Handle { shared },
            threads: Vec::with_capacity(workers),
            monitor: None,
        };
        for (i, fresh) in deques.into_iter().enumerate() {
            let shared = Arc::clone(&rt.handle.shared);
            let t = std::thread::Builder::new()
                .name(format!("{}-{i}", self.thread_name))
                .spawn(move || run_worker(shared, i, fresh))?;
            rt.threads.push(t); // on error, dropping `rt` stops those started
        }
        rt.monitor = Watchdog::start(&rt.handle.shared)?;
        if let Some(start) = self.sigquit_watcher {
            start(&rt)?; // `dump_on_sigquit` (never set under loom)
        }
        Ok(rt)
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.to_string())
}

impl Runtime {
    /// A runtime with the default configuration.
    ///
    /// ```
    /// let rt = strands::Runtime::new()?;
    /// assert_eq!(rt.block_on(|| 2 + 2), 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// A builder to configure a runtime.
    ///
    /// ```
    /// let rt = strands::Runtime::builder().workers(1).build()?;
    /// # drop(rt);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }
}
