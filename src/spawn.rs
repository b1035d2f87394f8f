//! Spawning strands: [`spawn`], [`Builder`], and the typed half of the
//! spawn path (`Handle::spawn`, `Runtime::spawn`, `Runtime::block_on`):
//! putting a closure into a strand's header so that its result goes to a
//! [`JoinHandle`], then handing the type-erased strand to the runtime
//! (`Handle::spawn_strand`).

use crate::join_handle::{JoinHandle, Owner, Packet};
use crate::loom::Arc;
use crate::runtime::{Handle, Runtime, SpawnError};
use crate::strand::{Header, SchedRef, Spec};
use std::panic::Location;
use std::time::Instant;

/// Spawns a strand on the current runtime and returns a handle to join it.
///
/// Like [`std::thread::spawn`]: the strand runs `f`; its return value, or its
/// panic, is handed to whoever [joins](JoinHandle::join) it. Dropping the
/// handle detaches the strand.
///
/// # Panics
///
/// Outside a strand (there is no current runtime: use [`crate::run`],
/// [`crate::Runtime::spawn`] or a [`crate::Handle`]), or if the strand cannot
/// be spawned; [`Builder::spawn`] returns those as errors instead.
///
/// ```
/// strands::run(|| {
///     let h = strands::spawn(|| 40 + 2);
///     assert_eq!(h.join().unwrap(), 42);
/// });
/// ```
#[track_caller]
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match Builder::new().spawn(f) {
        Ok(h) => h,
        Err(e) => panic!("strands::spawn failed: {e}"),
    }
}

/// Configures a strand before spawning it, like [`std::thread::Builder`].
///
/// ```
/// strands::run(|| {
///     let h = strands::Builder::new()
///         .name("worker-7".to_string())
///         .stack_size(64 * 1024)
///         .spawn(|| strands::current().name().unwrap().len())
///         .expect("spawn");
///     assert_eq!(h.join().unwrap(), 8);
/// });
/// ```
#[derive(Clone, Debug, Default)]
#[must_use = "a Builder does nothing until `spawn` is called"]
pub struct Builder {
    pub(crate) name: Option<String>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) priority: crate::Priority,
    pub(crate) deadline: Option<Instant>,
    pub(crate) migratable: bool,
    /// Where the strand is spawned (for reports): the caller of the public
    /// spawn function, through `#[track_caller]`.
    pub(crate) spawned_at: Option<&'static Location<'static>>,
}

impl Builder {
    /// A builder with no name and the runtime's default stack size.
    ///
    /// ```
    /// strands::run(|| {
    ///     let h = strands::Builder::new().spawn(|| "done").unwrap();
    ///     assert_eq!(h.join().unwrap(), "done");
    /// });
    /// ```
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the strand: shown in panic messages and stack-overflow reports.
    ///
    /// ```
    /// strands::run(|| {
    ///     let h = strands::Builder::new()
    ///         .name("fetcher".to_string())
    ///         .spawn(|| strands::current().name().map(String::from))
    ///         .unwrap();
    ///     assert_eq!(h.join().unwrap().as_deref(), Some("fetcher"));
    /// });
    /// ```
    pub fn name(mut self, name: String) -> Builder {
        self.name = Some(name);
        self
    }

    /// The strand's priority on the agenda (default
    /// [`Priority::Normal`](crate::Priority::Normal)); see
    /// [`Priority`](crate::Priority) for what each level is guaranteed.
    ///
    /// ```
    /// use strands::{Builder, Priority};
    /// strands::run(|| {
    ///     // Background housekeeping: runs when the higher levels leave room.
    ///     let h = Builder::new().priority(Priority::Low).spawn(|| 1).unwrap();
    ///     assert_eq!(h.strand().priority(), Priority::Low);
    ///     assert_eq!(h.join().unwrap(), 1);
    /// });
    /// ```
    pub fn priority(mut self, priority: crate::Priority) -> Builder {
        self.priority = priority;
        self
    }

    /// A deadline: within its priority level, the worker runs the strand
    /// with the earliest deadline first, and strands with a deadline before
    /// those without one. It orders; it does not preempt, and a missed
    /// deadline only makes the strand more urgent. Deadlines order strands
    /// as they become runnable (spawned, or woken from a wait); a
    /// [`yield_now`](crate::yield_now) puts the strand behind the others of
    /// its level, as for any strand (strict EDF would hand the worker
    /// straight back, and strands waiting by yielding for others would spin
    /// forever).
    ///
    /// A strand with a deadline stays on the worker that queues it (it is
    /// not stolen), so that worker can order it against its other ones.
    /// EDF can keep strands of the same level without a deadline waiting
    /// while deadline strands stay runnable: give deadlines to work that
    /// finishes or blocks. Other levels are still served as
    /// [`Priority`](crate::Priority) guarantees.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use std::sync::{Arc, Mutex};
    /// let order = strands::runtime::Builder::new().workers(1).build().unwrap().block_on(|| {
    ///     let order = Arc::new(Mutex::new(Vec::new()));
    ///     let now = Instant::now();
    ///     let handles: Vec<_> = [30u64, 10, 20]
    ///         .into_iter()
    ///         .map(|ms| {
    ///             let order = order.clone();
    ///             strands::Builder::new()
    ///                 .deadline(now + Duration::from_millis(ms))
    ///                 .spawn(move || order.lock().unwrap().push(ms))
    ///                 .unwrap()
    ///         })
    ///         .collect();
    ///     handles.into_iter().for_each(|h| h.join().unwrap());
    ///     Arc::try_unwrap(order).unwrap().into_inner().unwrap()
    /// });
    /// assert_eq!(order, [10, 20, 30]);
    /// ```
    pub fn deadline(mut self, deadline: Instant) -> Builder {
        self.deadline = Some(deadline);
        self
    }

    /// Lets the strand move to another worker thread whenever it is
    /// runnable, not only before it starts: an idle worker may steal it
    /// after a yield or a wake. That spreads long-running strands over the
    /// workers instead of leaving them where they started.
    ///
    /// # Safety
    ///
    /// Across any blocking call (a yield, a join, a sleep, a lock or channel
    /// wait, I/O), the strand's code, and every library it calls, must not
    /// keep thread-local state: no reference or pointer into a
    /// `thread_local!` (the compiler may cache a thread-local's address
    /// across a call, so even code that looks innocent can break), no
    /// `std::thread::current()` or thread id assumed to stay the same, no
    /// guard of a lock that must be released on the thread that took it
    /// (e.g. `std::sync::MutexGuard` of some platforms, `RefCell` borrows of
    /// a thread-local). Breaking this is undefined behaviour. Values owned by
    /// the strand, `strand_local!` storage and everything `Send` are fine.
    ///
    /// ```
    /// let total = strands::runtime::Builder::new().workers(2).build().unwrap().block_on(|| {
    ///     let handles: Vec<_> = (0..4u64)
    ///         .map(|i| {
    ///             // SAFETY: the body keeps only its own locals across its
    ///             // yields: no thread-locals, no thread identity.
    ///             unsafe { strands::Builder::new().migratable() }
    ///                 .spawn(move || {
    ///                     let mut sum = 0;
    ///                     for k in 0..1000 {
    ///                         sum += i * k;
    ///                         strands::yield_now(); // may resume on another worker
    ///                     }
    ///                     sum
    ///                 })
    ///                 .unwrap()
    ///         })
    ///         .collect();
    ///     handles.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
    /// });
    /// assert_eq!(total, 6 * 499_500);
    /// ```
    pub unsafe fn migratable(mut self) -> Builder {
        self.migratable = true;
        self
    }

    /// The strand's stack size in bytes, rounded up to whole pages; must lie
    /// between [`MIN_STACK_SIZE`](crate::MIN_STACK_SIZE) and
    /// [`MAX_STACK_SIZE`](crate::MAX_STACK_SIZE), else spawning answers
    /// [`SpawnError::Io`] with `InvalidInput`.
    ///
    /// ```
    /// strands::run(|| {
    ///     let h = strands::Builder::new()
    ///         .stack_size(256 * 1024) // deep recursion ahead
    ///         .spawn(|| (1..=100u64).fold(0, |a, b| a + b))
    ///         .unwrap();
    ///     assert_eq!(h.join().unwrap(), 5050);
    ///
    ///     // Out of range: an error, not a panic.
    ///     let err = strands::Builder::new().stack_size(usize::MAX).spawn(|| ()).unwrap_err();
    ///     assert!(matches!(err, strands::SpawnError::Io(_)));
    /// });
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Spawns the strand on the current runtime.
    ///
    /// Fails with [`SpawnError::NoRuntime`] when not called from a strand.
    ///
    /// ```
    /// // Outside a runtime: an error.
    /// let err = strands::Builder::new().spawn(|| ()).unwrap_err();
    /// assert!(matches!(err, strands::SpawnError::NoRuntime));
    ///
    /// strands::run(|| {
    ///     let h = strands::Builder::new().name("child".into()).spawn(|| 3).unwrap();
    ///     assert_eq!(h.join().unwrap(), 3);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F, T>(mut self, f: F) -> Result<JoinHandle<T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawned_at.get_or_insert(Location::caller());
        Handle::with_current(|h| match h {
            Some(h) => self.spawn_on(h, f),
            None => Err(SpawnError::NoRuntime),
        })
    }

    /// Spawns the strand on the runtime of `handle`, from any thread.
    ///
    /// ```
    /// let rt = strands::Runtime::builder().workers(1).build()?;
    /// // From a plain thread, with a handle to the runtime.
    /// let h = strands::Builder::new()
    ///     .name("from-main".into())
    ///     .spawn_on(rt.handle(), || 6 * 7)?;
    /// assert_eq!(h.join()?, 42);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[track_caller]
    pub fn spawn_on<F, T>(mut self, handle: &Handle, f: F) -> Result<JoinHandle<T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawned_at.get_or_insert(Location::caller());
        // SAFETY: `F` and `T` are `'static`: nothing borrowed can expire.
        unsafe { handle.spawn_unchecked(self, f) }
    }
}

impl Runtime {
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
    ///
    /// ```
    /// let rt = strands::Runtime::builder().workers(1).build()?;
    /// let words = vec!["a", "bb", "ccc"];
    /// // `f` may borrow `words`: block_on waits for it.
    /// let total = rt.block_on(|| {
    ///     let h = strands::spawn(|| 1);
    ///     words.iter().map(|w| w.len()).sum::<usize>() + h.join().unwrap()
    /// });
    /// assert_eq!(total, 7);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn block_on<F, T>(&self, f: F) -> T
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        assert!(
            !self.handle().is_worker_thread(),
            "Runtime::block_on called from a strand of the same runtime: \
             spawn the work and join it instead"
        );
        let mut builder = Builder::new();
        builder.spawned_at = Some(Location::caller());
        // SAFETY: the handle is joined below before this function returns,
        // and `join` neither panics nor returns before the strand's body --
        // which owns everything borrowed from `'_` -- has run and been
        // dropped.
        let spawned = unsafe { self.handle().spawn_unchecked(builder, f) };
        let h = match spawned {
            Ok(h) => h,
            Err(e) => panic!("Runtime::block_on could not spawn its strand: {e}"),
        };
        match h.join() {
            Ok(v) => v,
            Err(e) => crate::runtime::context::resume_unwind(e.into_panic()),
        }
    }

    /// Spawns a strand onto this runtime from any thread.
    ///
    /// # Panics
    ///
    /// If the strand cannot be spawned; use
    /// [`crate::Builder::spawn_on`] to handle that as an error.
    ///
    /// ```
    /// let rt = strands::Runtime::builder().workers(1).build()?;
    /// let h = rt.spawn(|| "from a plain thread");
    /// assert_eq!(h.join().unwrap(), "from a plain thread");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.handle().spawn(f)
    }
}

impl Handle {
    /// Spawns a strand onto the runtime.
    ///
    /// # Panics
    ///
    /// If the strand cannot be spawned; use [`crate::Builder::spawn_on`] to
    /// handle that as an error.
    ///
    /// ```
    /// let rt = strands::Runtime::builder().workers(1).build()?;
    /// let handle = rt.handle().clone();
    /// // A handle can be moved to another thread and spawn from there.
    /// let h = std::thread::spawn(move || handle.spawn(|| 5).join().unwrap());
    /// assert_eq!(h.join().unwrap(), 5);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match Builder::new().spawn_on(self, f) {
            Ok(h) => h,
            Err(e) => panic!("strands: failed to spawn a strand: {e}"),
        }
    }

    /// Spawns `f` with no `'static` bound.
    ///
    /// # Safety
    ///
    /// The caller must join the returned handle before anything `f` borrows
    /// goes out of scope.
    pub(crate) unsafe fn spawn_unchecked<'a, F, T>(
        &self,
        builder: Builder,
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
        builder: Builder,
        f: F,
        scope: Option<Arc<dyn Owner>>,
    ) -> Result<JoinHandle<T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'a,
        T: Send + 'a,
    {
        crate::panic::install_hook();
        let spec = Spec {
            name: builder.name,
            priority: builder.priority,
            deadline: builder.deadline,
            migratable: builder.migratable,
            spawned_at: builder.spawned_at,
        };
        let told = scope.clone();
        // SAFETY: a runtime's workers hold its `Shared`, and exit only once
        // none of its strands is live (`runtime/gate.rs`).
        let sched = unsafe { SchedRef::new(&*self.shared) };
        // SAFETY: erasing `'a` (the payload's types are known only to
        // `job`'s functions from here on) is sound by the caller's promise
        // to join before `'a` ends: the body (which holds every borrow) is
        // run or dropped before the end is published, and the result is
        // taken or dropped by the joiner (or by the strand, detached) before
        // the scope hears the strand is done.
        let (payload, job) = unsafe {
            match crate::runtime::events::on(&self.shared) {
                true => Packet::package(crate::runtime::events::observed(f)), // started, finished
                false => Packet::package(f),
            }
        };
        let strand = Header::new(spec, payload, job, scope, sched);
        match self.spawn_strand(strand, builder.stack_size) {
            // SAFETY: a fresh strand whose job is a `Packet<_, T>`, and
            // this is its only handle.
            Ok(strand) => Ok(unsafe { JoinHandle::from_strand(strand) }),
            Err(e) => {
                // the header (and `f` with it) is gone: nothing of the
                // scope's is held any more
                if let Some(scope) = told {
                    scope.strand_done(false);
                }
                Err(e)
            }
        }
    }
}
