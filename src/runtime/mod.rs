//! The runtime: worker threads, run queues, the stack pool, and lifecycle.
//!
//! A [`Runtime`] owns its worker threads. Strands spawned from outside go to
//! the runtime's injector queue, from which any idle worker takes them;
//! strands spawned or woken on a worker go to that worker's local queue. A
//! strand that has started stays on its worker (see the crate docs on
//! migration), so a strand woken from another thread goes to its home
//! worker's remote queue.
//!
//! Shutdown (dropping the runtime) stops new spawns, lets the strands that
//! are alive run to completion, then joins the worker threads and returns
//! every stack to the system.

pub(crate) mod agenda;
#[cfg(not(loom))]
pub(crate) mod driver;
#[cfg(not(loom))]
pub(crate) mod epoll;
pub(crate) mod gate;
pub(crate) mod parker;
pub(crate) mod readiness;
pub(crate) mod registry;
pub(crate) mod timer;
#[cfg(not(loom))]
pub(crate) mod watchdog;
pub(crate) mod wheel;
pub(crate) mod worker;

#[cfg(not(loom))]
pub use watchdog::{Stuck, StuckHook};

use crate::loom::{process, Arc, AtomicU64, AtomicUsize, Ordering};
use crate::spawn::{JoinHandle, SpawnError};
use crate::stack::{self, StackGuard, StackPool};
use crate::strand::{Body, Exit, Header, Schedule, Task};
use parker::Sleeper;
use std::fmt;
use std::io;
use std::time::{Duration, Instant};

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
    #[cfg(not(loom))]
    on_stuck: Option<watchdog::StuckHook>,
    max_blocking_threads: usize,
    blocking_keep_alive: Duration,
    blocking_queue: usize,
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
            #[cfg(not(loom))]
            on_stuck: None,
            max_blocking_threads: 512,
            blocking_keep_alive: Duration::from_secs(10),
            blocking_queue: 1 << 16,
        }
    }
}

impl Builder {
    /// A builder with the defaults: one worker per available core,
    /// [`DEFAULT_STACK_SIZE`](crate::DEFAULT_STACK_SIZE) stacks, guards
    /// chosen automatically, at most 4,194,304 live strands.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Number of worker threads (default: [`std::thread::available_parallelism`]).
    /// Zero makes [`build`](Builder::build) fail.
    pub fn workers(mut self, n: usize) -> Builder {
        self.workers = Some(n);
        self
    }

    /// Default stack size for strands whose [`crate::Builder`] names none.
    /// Rounded up to whole pages; must lie between
    /// [`MIN_STACK_SIZE`](crate::MIN_STACK_SIZE) and
    /// [`MAX_STACK_SIZE`](crate::MAX_STACK_SIZE), else `build` fails.
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = bytes;
        self
    }

    /// How stacks are guarded (default: [`StackGuard::Auto`]).
    pub fn stack_guard(mut self, guard: StackGuard) -> Builder {
        self.stack_guard = guard;
        self
    }

    /// Most strands alive at once; past it, spawning answers
    /// [`SpawnError::Saturated`]. Zero makes `build` fail.
    pub fn max_strands(mut self, n: usize) -> Builder {
        self.max_strands = n;
        self
    }

    /// Prefix of the worker threads' names (`<prefix>-<index>`).
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
    pub fn watchdog(mut self, threshold: Option<Duration>) -> Builder {
        self.watchdog = threshold;
        self
    }

    /// Most spare workers the watchdog may start, one per report (default:
    /// as many as [`workers`](Builder::workers); 0: report only). A spare
    /// serves new and stealable strands, the injectors, timers and I/O;
    /// strands that had already started on the stuck worker stay pinned to
    /// it and wait. Spares stay until the runtime shuts down.
    pub fn spare_workers(mut self, n: usize) -> Builder {
        self.spare_workers = Some(n);
        self
    }

    /// Calls `hook` with every watchdog report (besides printing it).
    #[cfg(not(loom))]
    pub fn on_stuck(mut self, hook: impl Fn(&Stuck) + Send + Sync + 'static) -> Builder {
        self.on_stuck = Some(Arc::new(hook));
        self
    }

    /// Most threads of the blocking pool ([`crate::spawn_blocking`]);
    /// default 512. They start on demand. Zero makes `build` fail.
    pub fn max_blocking_threads(mut self, n: usize) -> Builder {
        self.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking-pool thread waits for a job before it
    /// exits; default 10 s.
    pub fn blocking_keep_alive(mut self, d: Duration) -> Builder {
        self.blocking_keep_alive = d;
        self
    }

    /// Most jobs waiting for a blocking-pool thread once all are busy;
    /// past it [`crate::try_spawn_blocking`] answers
    /// [`SpawnError::Saturated`]. Default 65,536; 0 queues nothing.
    pub fn blocking_queue(mut self, n: usize) -> Builder {
        self.blocking_queue = n;
        self
    }

    /// Builds the runtime and starts its workers.
    ///
    /// Fails with `InvalidInput` for zero workers, zero `max_strands` or a
    /// stack size out of range, with `Unsupported` for a forced guard kind
    /// the system lacks, and with the OS error if a thread cannot start.
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
        crate::panic::install_hook();
        #[cfg(not(loom))]
        let spares = if self.watchdog.is_some() {
            self.spare_workers.unwrap_or(workers)
        } else {
            0
        };
        #[cfg(loom)]
        let spares = 0; // no watchdog under loom
        let mut fresh_deques = Vec::with_capacity(workers + spares);
        #[cfg(not(loom))]
        let mut spare_deques: Vec<(usize, agenda::Deques)> = Vec::with_capacity(spares);
        let shared = Arc::new(Shared {
            workers: (0..workers + spares)
                .map(|_| {
                    let deques = agenda::Deques::new();
                    let stealers = deques.stealers();
                    fresh_deques.push(deques);
                    WorkerShared {
                        remote: crossbeam_deque::Injector::new(),
                        stealers,
                        sleeper: Sleeper::new(),
                        switches: AtomicU64::new(0),
                        parks: AtomicU64::new(0),
                        finished: Default::default(),
                        picks: Default::default(),
                        steals: AtomicU64::new(0),
                        depths: Default::default(),
                        watch_seq: process::AtomicU64::new(0),
                        watch_current: process::AtomicU64::new(0),
                    }
                })
                .collect(),
            injectors: Default::default(),
            pool,
            stack_size,
            gate: gate::Gate::new(self.max_strands),
            spawned: Default::default(),
            timers: timer::Timers::new(),
            #[cfg(not(loom))]
            driver: Arc::new(driver::Driver::new()?),
            registry: registry::Registry::new(),
            stacks_in_caches: AtomicUsize::new(0),
            base_workers: workers,
            #[cfg(not(loom))]
            blocking: crate::blocking::pool::Pool::new(crate::blocking::pool::Config {
                max_threads: self.max_blocking_threads,
                keep_alive: self.blocking_keep_alive,
                queue_limit: self.blocking_queue,
                thread_name: format!("{}-blocking", self.thread_name),
            }),
            #[cfg(not(loom))]
            watchdog: {
                for (i, d) in fresh_deques.drain(workers..).enumerate() {
                    spare_deques.push((workers + i, d));
                }
                spare_deques.reverse(); // popped in index order
                watchdog::Watchdog::new(
                    self.watchdog,
                    self.on_stuck.clone(),
                    self.thread_name.clone(),
                    spare_deques,
                )
            },
        });
        let mut rt = Runtime {
            handle: Handle { shared },
            threads: Vec::with_capacity(workers),
            monitor: None,
        };
        for (i, fresh) in fresh_deques.into_iter().enumerate() {
            let shared = Arc::clone(&rt.handle.shared);
            let t = std::thread::Builder::new()
                .name(format!("{}-{i}", self.thread_name))
                .spawn(move || worker::run_worker(shared, i, fresh))?;
            rt.threads.push(t); // on error, dropping `rt` stops those started
        }
        #[cfg(not(loom))]
        {
            rt.monitor = watchdog::Watchdog::start(&rt.handle.shared)?;
        }
        Ok(rt)
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.to_string())
}

/// A strands runtime: worker threads that run strands.
///
/// Dropping it shuts it down: spawning is refused from then on, the strands
/// still alive run to completion, and the workers exit.
///
/// ```
/// let rt = strands::Runtime::new()?;
/// let h = rt.spawn(|| "hello from a strand");
/// assert_eq!(h.join().unwrap(), "hello from a strand");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Runtime {
    handle: Handle,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// The watchdog's monitor thread, if it is on.
    monitor: Option<std::thread::JoinHandle<()>>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.threads.len())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// A runtime with the default configuration.
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// A builder to configure a runtime.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// A cloneable handle that spawns onto this runtime from any thread.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Runs `f` as a strand and blocks the calling thread until it returns
    /// its value. `f` may borrow from the caller, as with
    /// [`std::thread::scope`]. A panic in `f` is resumed on the caller.
    ///
    /// # Panics
    ///
    /// If called from a strand of this same runtime (the strand would wait
    /// for itself to make room: spawn and [`JoinHandle::join`] instead), and
    /// if the strand cannot be spawned (the runtime is saturated, or no stack
    /// could be mapped).
    pub fn block_on<F, T>(&self, f: F) -> T
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        let inside =
            worker::with_worker(|w| w.is_some_and(|w| Arc::ptr_eq(&w.shared, &self.handle.shared)));
        assert!(
            !inside,
            "Runtime::block_on called from a strand of the same runtime: \
             spawn the work and join it instead"
        );
        // SAFETY: the handle is joined below before this function returns,
        // and `join` neither panics nor returns before the strand's body --
        // which owns everything borrowed from `'_` -- has run and been
        // dropped.
        let h = unsafe { self.handle.spawn_unchecked(crate::Builder::new(), f) }
            .unwrap_or_else(|e| panic!("Runtime::block_on could not spawn its strand: {e}"));
        match h.join() {
            Ok(v) => v,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    /// Spawns a strand onto this runtime from any thread.
    ///
    /// # Panics
    ///
    /// If the strand cannot be spawned; use
    /// [`crate::Builder::spawn_on`] to handle that as an error.
    #[track_caller]
    pub fn spawn<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.handle.spawn(f)
    }

    /// Counters describing the runtime now.
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
        for task in shared.registry.all() {
            task.cancel();
        }
        #[cfg(not(loom))]
        shared.blocking.shutdown();
        shared.timers.wake_all_now(); // sleepers wake and unwind
        shared.unpark_all();
        let inside = worker::with_worker(|w| w.is_some_and(|w| Arc::ptr_eq(&w.shared, &shared)));
        if inside {
            return false; // a worker cannot wait for itself: the threads exit on their own
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        if !shared.gate.wait_drained(deadline) {
            self.threads.clear(); // detach: they exit when their strands do
            shared.timers.wake_all_now();
            #[cfg(not(loom))]
            shared.watchdog.stop(); // the monitor exits; spares with the rest
            return false;
        }
        #[cfg(not(loom))]
        shared.watchdog.stop();
        if let Some(m) = self.monitor.take() {
            let _ = m.join(); // no spare is started after this
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        #[cfg(not(loom))]
        for t in std::mem::take(
            &mut *shared
                .watchdog
                .spare_threads
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        ) {
            let _ = t.join();
        }
        shared.timers.wake_all_now();
        // Every strand is done: give the stacks back to the system now,
        // not when the last `Handle` or `Strand` lets go of the runtime.
        shared.pool.release_unused();
        true
    }
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
        worker::with_worker(|w| {
            f(w.map(|w| {
                let shared: *const Arc<Shared> = &w.shared;
                // SAFETY: `Handle` is `repr(transparent)` over its only
                // field, an `Arc<Shared>`, so the two have one layout; the
                // borrow lives no longer than the worker's field.
                unsafe { &*(shared as *const Handle) }
            }))
        })
    }

    /// The handle of the runtime running the current strand, if any.
    pub fn try_current() -> Option<Handle> {
        worker::with_worker(|w| {
            w.map(|w| Handle {
                shared: Arc::clone(&w.shared),
            })
        })
    }

    /// Spawns a strand onto the runtime.
    ///
    /// # Panics
    ///
    /// If the strand cannot be spawned; use [`crate::Builder::spawn_on`] to
    /// handle that as an error.
    #[track_caller]
    pub fn spawn<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        crate::Builder::new()
            .spawn_on(self, f)
            .unwrap_or_else(|e| panic!("strands: failed to spawn a strand: {e}"))
    }

    /// Spawns `f` with no `'static` bound.
    ///
    /// # Safety
    ///
    /// The caller must join the returned handle before anything `f` borrows
    /// goes out of scope.
    pub(crate) unsafe fn spawn_unchecked<'a, F, T>(
        &self,
        builder: crate::Builder,
        f: F,
    ) -> Result<JoinHandle<T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'a,
        T: Send + 'a,
    {
        // SAFETY: the caller's promise is the one `spawn_unchecked_in` needs.
        unsafe { self.spawn_unchecked_in(builder, f, None) }
    }

    /// [`Handle::spawn_unchecked`] for a strand of a scope.
    ///
    /// # Safety
    ///
    /// As for `spawn_unchecked`; a scope guarantees it by waiting for the
    /// packet of every strand it spawned to be dropped.
    pub(crate) unsafe fn spawn_unchecked_in<'a, F, T>(
        &self,
        builder: crate::Builder,
        f: F,
        scope: Option<Arc<crate::scope::ScopeData>>,
    ) -> Result<JoinHandle<T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'a,
        T: Send + 'a,
    {
        let (body, exit, handle_parts) = crate::spawn::package_in(f, scope);
        // SAFETY: erasing `'a` is sound by the caller's promise to join
        // before `'a` ends: the body (which holds every borrow) is run and
        // dropped before the result is published, and after publication the
        // worker only drops its reference to the packet, whose `T` slot the
        // joiner has emptied (or will drop itself).
        let (body, exit): (Body, Arc<dyn Exit>) = unsafe {
            (
                std::mem::transmute::<
                    Box<dyn FnOnce() + Send + 'a>,
                    Box<dyn FnOnce() + Send + 'static>,
                >(body),
                std::mem::transmute::<Arc<dyn Exit + 'a>, Arc<dyn Exit + 'static>>(exit),
            )
        };
        let spec = crate::strand::Spec {
            name: builder.name,
            priority: builder.priority,
            deadline: builder.deadline,
            migratable: builder.migratable,
        };
        let task = self.spawn_body(spec, builder.stack_size, body, exit)?;
        Ok(handle_parts.finish(task))
    }

    /// Spawns a type-erased body: the bound, the stack, the header, the
    /// queue.
    pub(crate) fn spawn_body(
        &self,
        spec: crate::strand::Spec,
        stack_size: Option<usize>,
        body: Body,
        exit: Arc<dyn Exit>,
    ) -> Result<Task, SpawnError> {
        // This thread's worker, if it is one of this runtime's: looked up
        // once for the stack cache, the registry shard and the queue.
        worker::with_worker(|w| {
            let here = w.filter(|w| Arc::ptr_eq(&w.shared, &self.shared));
            self.spawn_body_here(here, spec, stack_size, body, exit)
        })
    }

    fn spawn_body_here(
        &self,
        here: Option<&worker::Worker>,
        spec: crate::strand::Spec,
        stack_size: Option<usize>,
        body: Body,
        exit: Arc<dyn Exit>,
    ) -> Result<Task, SpawnError> {
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
        if shared.gate.enter().is_err() {
            return Err(SpawnError::Saturated);
        }
        let size = stack_size.unwrap_or(shared.stack_size);
        let cached = here
            .filter(|_| size == shared.stack_size)
            .and_then(|w| w.cached_stack());
        let stack = match cached.map_or_else(|| shared.pool.get(size), Ok) {
            Ok(s) => s,
            Err(e) => {
                shared.strand_finished();
                return Err(SpawnError::Io(e));
            }
        };
        let sched: Arc<dyn Schedule> = Arc::clone(shared) as Arc<dyn Schedule>;
        let task = Header::new(spec, stack, body, exit, sched);
        // registered, then the check: a shutdown either sees the strand
        // (and cancels it) or we see the shutdown (see `gate`)
        let hint = here.map_or(task.id.as_u64() as usize, |w| w.index);
        shared.registry.insert(&task, hint);
        if shared.gate.closed_after_register() {
            if !own() {
                shared.registry.remove(&task);
                drop(task); // its stack goes back to the pool
                shared.strand_finished();
                return Err(SpawnError::ShutDown);
            }
            task.cancelled.store(true, Ordering::Release);
        }
        shared.spawned[task.priority.index()].fetch_add(1, Ordering::Relaxed);
        shared.submit(Arc::clone(&task), here);
        Ok(task)
    }

    /// Whether the caller is a strand of this runtime.
    fn is_own_strand(&self) -> bool {
        worker::current_task().is_some()
            && worker::with_worker(|w| w.is_some_and(|w| Arc::ptr_eq(&w.shared, &self.shared)))
    }

    /// Counters describing the runtime now.
    pub fn metrics(&self) -> crate::Metrics {
        let s = &self.shared;
        let pool = s.pool.stats();
        #[cfg(not(loom))]
        let (spares, reports) = (
            s.watchdog.spares_started.load(Ordering::Relaxed),
            s.watchdog.reports.load(Ordering::Relaxed),
        );
        #[cfg(loom)]
        let (spares, reports) = (0, 0);
        // the slots of spares not started are not workers (yet)
        let active = &s.workers[..s.base_workers + spares];
        crate::Metrics {
            workers: active.len(),
            live_strands: s.gate.live(),
            spawned: s.spawned.iter().map(|n| n.load(Ordering::Relaxed)).sum(),
            spawned_by_priority: std::array::from_fn(|p| s.spawned[p].load(Ordering::Relaxed)),
            finished: active
                .iter()
                .map(|w| std::array::from_fn(|p| w.finished[p].load(Ordering::Relaxed)))
                .collect(),
            parks: active
                .iter()
                .map(|w| w.parks.load(Ordering::Relaxed))
                .collect(),
            switches: active
                .iter()
                .map(|w| w.switches.load(Ordering::Relaxed))
                .collect(),
            picks: active
                .iter()
                .map(|w| std::array::from_fn(|p| w.picks[p].load(Ordering::Relaxed)))
                .collect(),
            steals: active
                .iter()
                .map(|w| w.steals.load(Ordering::Relaxed))
                .collect(),
            queue_depths: active
                .iter()
                .map(|w| std::array::from_fn(|p| w.depths[p].load(Ordering::Relaxed)))
                .collect(),
            spare_workers: spares,
            stuck_reports: reports,
            stacks_live: pool
                .live
                .saturating_sub(s.stacks_in_caches.load(Ordering::Relaxed)),
            stacks_cached: pool.cached + s.stacks_in_caches.load(Ordering::Relaxed),
            stack_slabs: pool.slabs,
            stack_reserved_bytes: pool.reserved,
            stack_guard: s.pool.guard(),
            timers_pending: s.timers.len(),
            timers_fired: s.timers.fired.load(Ordering::Relaxed),
        }
    }
}

/// Zero-timeout polls an idle worker makes (yielding its thread in
/// between) before it sleeps in the poller.
#[cfg(not(loom))]
const SPINS: usize = 3;

/// State shared by a runtime's handles, workers and strands.
pub(crate) struct Shared {
    pub(crate) workers: Box<[WorkerShared]>,
    /// Fresh strands spawned from outside, per priority.
    pub(crate) injectors: [crossbeam_deque::Injector<Task>; 3],
    pub(crate) pool: StackPool,
    pub(crate) stack_size: usize,
    /// Counts live strands; closed at shutdown.
    gate: gate::Gate,
    /// Strands spawned, per priority.
    spawned: [AtomicU64; 3],
    pub(crate) timers: timer::Timers,
    /// The I/O driver (the poller), which also serves the timers.
    #[cfg(not(loom))]
    pub(crate) driver: Arc<driver::Driver>,
    pub(crate) registry: registry::Registry,
    /// Stacks held in workers' caches (handed out by the pool, not in use).
    pub(crate) stacks_in_caches: AtomicUsize,
    /// Workers started with the runtime; `workers` also holds the slots of
    /// the spares the watchdog may start.
    pub(crate) base_workers: usize,
    #[cfg(not(loom))]
    pub(crate) watchdog: watchdog::Watchdog,
    /// The blocking pool (`spawn_blocking`).
    #[cfg(not(loom))]
    pub(crate) blocking: crate::blocking::pool::Pool,
}

/// The part of a worker other threads reach.
pub(crate) struct WorkerShared {
    /// Strands of this worker woken on other threads (lock-free: checking
    /// it costs two loads on every pick).
    pub(crate) remote: crossbeam_deque::Injector<Task>,
    /// Steal fresh (and migratable) strands from this worker.
    pub(crate) stealers: agenda::Stealers,
    /// Parks the worker when it has nothing to do.
    pub(crate) sleeper: Sleeper,
    pub(crate) switches: AtomicU64,
    pub(crate) parks: AtomicU64,
    pub(crate) finished: [AtomicU64; 3],
    pub(crate) picks: [AtomicU64; 3],
    pub(crate) steals: AtomicU64,
    pub(crate) depths: [AtomicUsize; 3],
    /// For the watchdog: the switch count, stored at every switch into a
    /// strand, and the id of the strand running (0: none).
    pub(crate) watch_seq: process::AtomicU64,
    pub(crate) watch_current: process::AtomicU64,
}

impl Shared {
    /// Queues a fresh strand: on this worker if we are one of ours, else
    /// on the injector for any worker.
    fn submit(self: &Arc<Self>, task: Task, here: Option<&worker::Worker>) {
        if let Some(w) = here {
            w.push_fresh(task);
        } else if task.deadline.is_some() {
            // A worker orders deadlines among the strands it holds: hand
            // the strand to one (by id, to spread them; not to a spare,
            // which may never start) instead of the injectors, which serve
            // in arrival order.
            let w = &self.workers[task.id.as_u64() as usize % self.base_workers];
            w.remote.push(task);
            w.sleeper.unpark(|| self.notify_poller());
        } else {
            self.injectors[task.priority.index()].push(task);
            self.wake_sleeper();
        }
    }

    /// Wakes one worker that sleeps for lack of work, if any. Busy workers
    /// reach the injector on their own; waking them would only cost a
    /// context switch.
    pub(crate) fn wake_sleeper(&self) {
        for w in self.workers.iter() {
            if w.sleeper.wake_if_sleeping(|| self.notify_poller()) {
                return;
            }
        }
    }

    /// Parks worker `index` until there is work for it (`has_work` is the
    /// final check after announcing sleep, so no push is missed) or the
    /// runtime finishes.
    ///
    /// The first idle worker takes the driver's poller role and sleeps in
    /// the poller, with the earliest timer as its timeout; afterwards it
    /// fires the due timers and, if it found work, wakes a parked worker to
    /// take the role over. The others park; their final check includes
    /// "nobody holds the role" (paired with the role's release by `SeqCst`
    /// fences), so the role is never left free while all workers sleep.
    pub(crate) fn sleep(&self, index: usize, has_work: impl Fn() -> bool) {
        let sleeper = &self.workers[index].sleeper;
        #[cfg(not(loom))]
        {
            if let Some(mut role) = self.driver.try_role() {
                // Before sleeping in the kernel, look again a few times,
                // letting other threads run in between: under a stream
                // of request/response exchanges the next event is often
                // microseconds away, and a worker that sleeps costs a
                // context switch plus a wake-up on the sender's side.
                for _ in 0..SPINS {
                    if has_work() || role.poll(Some(Duration::ZERO)) > 0 {
                        self.timers.fire_due(Instant::now());
                        return;
                    }
                    crate::loom::thread::yield_now();
                }
                sleeper.sleep_polling(
                    || has_work() || self.is_finished(),
                    || {
                        let timeout = self
                            .timers
                            .next_deadline()
                            .map(|d| d.saturating_duration_since(Instant::now()));
                        role.poll(timeout);
                    },
                );
                self.timers.fire_due(Instant::now());
                drop(role);
                if has_work() {
                    // busy from here on: an idle worker takes the role, so
                    // I/O is watched even if this worker's strands run long
                    self.wake_sleeper();
                }
                return;
            }
            sleeper.sleep(|| has_work() || self.is_finished() || !self.driver.role_taken());
        }
        #[cfg(loom)]
        sleeper.sleep(|| has_work() || self.is_finished());
    }

    /// What a busy worker does every few picks so that timers and I/O are
    /// not starved while every worker runs strands: fires due timers (the
    /// common case costs one load and one `Instant::now()`), and if nobody
    /// holds the poller role, polls without blocking.
    pub(crate) fn maintain(&self) {
        let now = Instant::now();
        if self.timers.maybe_due(now) {
            self.timers.fire_due(now);
        }
        #[cfg(not(loom))]
        if self.driver.has_registrations() && !self.driver.role_taken() {
            if let Some(mut role) = self.driver.try_role() {
                role.poll(Some(Duration::ZERO));
            }
        }
    }

    /// Registers a timer, and tells a worker waiting in the poller when
    /// the timer is the new earliest (its timeout must shrink).
    pub(crate) fn insert_timer(
        &self,
        deadline: Instant,
        waiter: crate::strand::waiter::Waiter,
    ) -> timer::Key {
        let (key, earliest) = self.timers.insert(deadline, waiter);
        if earliest {
            self.notify_poller_if_polling();
        }
        key
    }

    /// Interrupts the poller's wait (or the next one).
    fn notify_poller(&self) {
        #[cfg(not(loom))]
        self.driver.notify();
    }

    fn notify_poller_if_polling(&self) {
        #[cfg(not(loom))]
        if self.driver.role_taken() {
            self.driver.notify();
        }
    }

    pub(crate) fn strand_finished(&self) {
        if self.gate.leave() {
            self.unpark_all(); // the last one after shutdown: workers may exit
        }
    }

    fn unpark_all(&self) {
        for w in self.workers.iter() {
            w.sleeper.unpark(|| self.notify_poller());
        }
    }

    /// Shut down and no strand left: workers may exit.
    pub(crate) fn is_finished(&self) -> bool {
        self.gate.is_drained()
    }
}

impl Schedule for Shared {
    fn schedule(&self, task: Task) {
        let home = task.home.load(Ordering::Relaxed);
        let mut task = Some(task);
        worker::with_worker(|w| match w {
            Some(w)
                if std::ptr::eq(Arc::as_ptr(&w.shared), self)
                    && (w.index == home || task.as_ref().is_some_and(|t| t.migratable)) =>
            {
                w.push_local(task.take().expect("once"));
            }
            _ => {}
        });
        if let Some(task) = task {
            let w = &self.workers[home];
            w.remote.push(task);
            // a busy worker drains its remote queue at its next pick; one
            // going to sleep checks it after announcing so (the Sleeper
            // handshake): only a sleeping one needs waking
            w.sleeper.wake_if_sleeping(|| self.notify_poller());
        }
    }
}
