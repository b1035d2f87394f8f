//! Spawning strands and joining them: [`Builder`], [`spawn`],
//! [`JoinHandle`], [`JoinError`], [`SpawnError`].

use crate::loom::{Arc, AtomicU8, Ordering};
use crate::runtime::{worker, Handle};
use crate::strand::waiter::{self, Waiter};
use crate::strand::{Exit, Strand, Task};
use std::any::Any;
use std::cell::UnsafeCell;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

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
    Builder::new()
        .spawn(f)
        .unwrap_or_else(|e| panic!("strands::spawn failed: {e}"))
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
}

impl Builder {
    /// A builder with no name and the runtime's default stack size.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the strand: shown in panic messages and stack-overflow reports.
    pub fn name(mut self, name: String) -> Builder {
        self.name = Some(name);
        self
    }

    /// The strand's priority on the agenda (default
    /// [`Priority::Normal`](crate::Priority::Normal)); see
    /// [`Priority`](crate::Priority) for what each level is guaranteed.
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
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Spawns the strand on the current runtime.
    ///
    /// Fails with [`SpawnError::NoRuntime`] when not called from a strand.
    pub fn spawn<F, T>(self, f: F) -> Result<JoinHandle<T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        Handle::with_current(|h| match h {
            Some(h) => self.spawn_on(h, f),
            None => Err(SpawnError::NoRuntime),
        })
    }

    /// Spawns the strand on the runtime of `handle`, from any thread.
    pub fn spawn_on<F, T>(self, handle: &Handle, f: F) -> Result<JoinHandle<T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // SAFETY: `F` and `T` are `'static`: nothing borrowed can expire.
        unsafe { handle.spawn_unchecked(self, f) }
    }
}

/// Why a strand could not be spawned.
#[derive(Debug)]
#[non_exhaustive]
pub enum SpawnError {
    /// The runtime holds as many live strands as its
    /// [`max_strands`](crate::runtime::Builder::max_strands) bound allows:
    /// back off and retry later.
    Saturated,
    /// The runtime has shut down.
    ShutDown,
    /// Not called from a strand, and no runtime was named.
    NoRuntime,
    /// No stack could be had: a stack size out of range (`InvalidInput`),
    /// the memory-mapping budget spent or `mmap` failing (`OutOfMemory` or
    /// the OS error).
    Io(io::Error),
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::Saturated => f.write_str("the runtime is saturated (max_strands reached)"),
            SpawnError::ShutDown => f.write_str("the runtime has shut down"),
            SpawnError::NoRuntime => f.write_str("not inside a strands runtime"),
            SpawnError::Io(e) => write!(f, "could not get a stack: {e}"),
        }
    }
}

impl std::error::Error for SpawnError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SpawnError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<SpawnError> for io::Error {
    fn from(e: SpawnError) -> io::Error {
        match e {
            SpawnError::Io(e) => e,
            other => io::Error::other(other),
        }
    }
}

/// Why [`JoinHandle::join`] has no value: the strand panicked or was
/// cancelled.
pub struct JoinError {
    repr: Repr,
}

enum Repr {
    Panic(Box<dyn Any + Send + 'static>),
    Cancelled(Option<crate::CancelCause>),
}

impl JoinError {
    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            repr: Repr::Panic(payload),
        }
    }

    pub(crate) fn cancelled() -> JoinError {
        JoinError {
            repr: Repr::Cancelled(None),
        }
    }

    /// The error for a strand's unwind payload: a cancellation (with the
    /// cause of the [`CancelToken`](crate::CancelToken) that cancelled it,
    /// if one did) or a panic.
    pub(crate) fn from_unwind(p: Box<dyn Any + Send + 'static>) -> JoinError {
        if p.is::<worker::Cancelled>() {
            return JoinError::cancelled();
        }
        match p.downcast::<crate::join::CancelUnwind>() {
            Ok(c) => JoinError {
                repr: Repr::Cancelled(Some(c.0)),
            },
            Err(p) => JoinError::panic(p),
        }
    }

    /// Whether the strand panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// Whether the strand was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled(_))
    }

    /// Why the strand was cancelled, when a [`CancelToken`](crate::CancelToken)
    /// it was tied to did it (`None` for a panic, or a cancellation through
    /// [`JoinHandle::cancel`] or a runtime shutdown).
    pub fn cancel_cause(&self) -> Option<&crate::CancelCause> {
        match &self.repr {
            Repr::Cancelled(c) => c.as_ref(),
            Repr::Panic(_) => None,
        }
    }

    /// The panic payload, to inspect or to [`std::panic::resume_unwind`].
    ///
    /// # Panics
    ///
    /// If the strand was cancelled rather than panicking; check
    /// [`is_panic`](JoinError::is_panic) or use
    /// [`try_into_panic`](JoinError::try_into_panic).
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .unwrap_or_else(|_| panic!("JoinError::into_panic on a cancelled strand"))
    }

    /// The panic payload, or the error back if the strand was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok(p),
            Repr::Cancelled(_) => Err(self),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Panic(p) => match panic_message(p.as_ref()) {
                Some(m) => write!(f, "JoinError::Panic({m:?})"),
                None => f.write_str("JoinError::Panic(..)"),
            },
            Repr::Cancelled(None) => f.write_str("JoinError::Cancelled"),
            Repr::Cancelled(Some(c)) => write!(f, "JoinError::Cancelled({c:?})"),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Panic(p) => match panic_message(p.as_ref()) {
                Some(m) => write!(f, "strand panicked: {m}"),
                None => f.write_str("strand panicked"),
            },
            Repr::Cancelled(None) => f.write_str("strand was cancelled"),
            Repr::Cancelled(Some(c)) => write!(f, "strand was cancelled: {c}"),
        }
    }
}

impl std::error::Error for JoinError {}

/// The message of a panic payload, when it is a string.
pub(crate) fn panic_message(p: &(dyn Any + Send)) -> Option<&str> {
    p.downcast_ref::<&'static str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
}

/// Where a strand's result goes, and who waits for it.
///
/// `state` goes `EMPTY → WAITING` (a joiner installed its waker) and then to
/// `DONE` (the result is written), or straight `EMPTY → DONE`. The strand
/// writes the result *before* swapping in `DONE` (release) and wakes the
/// waiter it finds; the joiner reads the result only after seeing `DONE`
/// (acquire).
struct Packet<T> {
    state: AtomicU8,
    result: UnsafeCell<Option<Result<T, JoinError>>>,
    waiter: UnsafeCell<Option<Waiter>>,
    /// The scope this strand belongs to, told when the packet (and with it
    /// any result that may borrow from the scope) is gone.
    scope: Option<Arc<crate::scope::ScopeData>>,
}

impl<T> Drop for Packet<T> {
    fn drop(&mut self) {
        let Some(scope) = self.scope.take() else {
            return;
        };
        let result = self.result.get_mut().take();
        let unhandled_panic = matches!(&result, Some(Err(e)) if e.is_panic());
        // The result may borrow from the scope: drop it before the scope can
        // end.
        crate::panic::abort_on_unwind("a scoped strand's result", move || drop(result));
        scope.strand_done(unhandled_panic);
    }
}

const EMPTY: u8 = 0;
const WAITING: u8 = 1;
const DONE: u8 = 2;
/// The handle was dropped before the strand finished: nobody will take the
/// result, so the strand drops it itself (in strand context) instead of
/// leaving that to its worker.
const DETACHED: u8 = 3;

// SAFETY: `result` is written once by the strand before `DONE` is published
// and read by the single joiner after it observes `DONE`; `waiter` is written
// by the joiner before it publishes `WAITING` and taken by the strand after
// it observes `WAITING`. The state's acquire/release edges order each pair.
unsafe impl<T: Send> Sync for Packet<T> {}
// SAFETY: as above; the packet only carries `T` between threads.
unsafe impl<T: Send> Send for Packet<T> {}

impl<T: Send> Exit for Packet<T> {
    fn publish(&self) {
        if self.state.swap(DONE, Ordering::AcqRel) == WAITING {
            // SAFETY: WAITING was published after the joiner wrote `waiter`.
            if let Some(w) = unsafe { (*self.waiter.get()).take() } {
                w.wake();
            }
        }
    }
}

impl<T> Packet<T> {
    /// Stores the strand's outcome; published later by [`Exit::publish`].
    /// If the handle is gone, drops it here instead: the strand's own
    /// context is the right place for user `Drop` code to run.
    fn store(&self, r: Result<T, JoinError>) {
        if self.state.load(Ordering::Acquire) == DETACHED {
            if let (Some(scope), Err(e)) = (&self.scope, &r) {
                if e.is_panic() {
                    scope.note_unhandled_panic(); // nobody will join it
                }
            }
            crate::panic::abort_on_unwind("a strand's result", move || drop(r));
            return;
        }
        // SAFETY: only the strand writes `result`, once, before DONE.
        unsafe { *self.result.get() = Some(r) };
    }

    /// The handle is being dropped without joining.
    fn detach(&self) {
        // Only EMPTY moves to DETACHED: once DONE, the result is dropped
        // with the packet by whoever lets go of it last. (A joined handle
        // finds DONE with a plain load: no read-modify-write.)
        if self.state.load(Ordering::Acquire) == EMPTY {
            let _ =
                self.state
                    .compare_exchange(EMPTY, DETACHED, Ordering::AcqRel, Ordering::Acquire);
        }
    }

    fn is_done(&self) -> bool {
        self.state.load(Ordering::Acquire) == DONE
    }

    /// Blocks (parks the strand, or the thread) until the result is there,
    /// or until `deadline`. Returns whether the result is there.
    fn wait(&self, deadline: Option<Instant>) -> bool {
        if self.is_done() {
            return true;
        }
        // SAFETY: the joiner (us) is the only writer of `waiter`, and the
        // strand reads it only after we publish WAITING below.
        unsafe { *self.waiter.get() = Some(Waiter::current()) };
        if self
            .state
            .compare_exchange(EMPTY, WAITING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return true; // DONE meanwhile: the strand never saw our waiter
        }
        // Withdraws the waiter if we leave without the result: on a timeout,
        // or when a cancellation unwinds through the wait.
        struct Withdraw<'a, T>(&'a Packet<T>);
        impl<T> Drop for Withdraw<'_, T> {
            fn drop(&mut self) {
                let p = self.0;
                // after a successful wait the state is DONE: a load tells
                if p.state.load(Ordering::Acquire) == WAITING
                    && p.state
                        .compare_exchange(WAITING, EMPTY, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                {
                    // SAFETY: back in EMPTY, the strand will not touch the
                    // waiter; we are its only user again.
                    drop(unsafe { (*p.waiter.get()).take() });
                }
            }
        }
        let _withdraw = Withdraw(self);
        loop {
            if self.is_done() {
                return true;
            }
            match deadline {
                None => waiter::block(),
                Some(d) if Instant::now() >= d => return false,
                Some(d) => waiter::block_until(d),
            }
        }
    }

    fn take(&self) -> Result<T, JoinError> {
        // SAFETY: called by the single joiner after observing DONE.
        unsafe { (*self.result.get()).take() }.expect("a strand's result is taken once")
    }
}

/// The pieces `spawn` builds before it knows the strand.
pub(crate) struct HandleParts<T> {
    packet: Arc<Packet<T>>,
}

impl<T> HandleParts<T> {
    pub(crate) fn finish(self, task: Task) -> JoinHandle<T> {
        JoinHandle {
            strand: Strand { inner: task },
            packet: self.packet,
            _not_sync: PhantomData,
        }
    }
}

/// A strand body built by [`package_in`].
pub(crate) type Packaged<'a, T> = (
    Box<dyn FnOnce() + Send + 'a>,
    Arc<dyn Exit + 'a>,
    HandleParts<T>,
);

/// Wraps `f` into a strand body that catches its panic and stores the
/// outcome in a packet, the exit that publishes it, and the parts of the
/// handle that joins it.
pub(crate) fn package_in<'a, F, T>(
    f: F,
    scope: Option<Arc<crate::scope::ScopeData>>,
) -> Packaged<'a, T>
where
    F: FnOnce() -> T + Send + 'a,
    T: Send + 'a,
{
    let packet = Arc::new(Packet {
        state: AtomicU8::new(EMPTY),
        result: UnsafeCell::new(None),
        waiter: UnsafeCell::new(None),
        scope,
    });
    let theirs = Arc::clone(&packet);
    let body = Box::new(move || {
        let r = if worker::current_cancelled() {
            drop(f); // cancelled before it started: never runs
            Err(JoinError::cancelled())
        } else {
            panic::catch_unwind(AssertUnwindSafe(f)).map_err(JoinError::from_unwind)
        };
        theirs.store(r);
    });
    let exit: Arc<dyn Exit + 'a> = packet.clone();
    (body, exit, HandleParts { packet })
}

/// An owned permission to join a strand (wait for it and take its result).
///
/// Dropping the handle detaches the strand: it runs on, and its result is
/// dropped when it finishes.
///
/// A handle can be sent to another strand or thread (when `T: Send`), but
/// not shared: joining consumes it.
///
/// ```compile_fail
/// fn shared<T: Sync>() {}
/// shared::<strands::JoinHandle<u32>>();
/// ```
pub struct JoinHandle<T> {
    strand: Strand,
    packet: Arc<Packet<T>>,
    _not_sync: PhantomData<*const ()>,
}

// SAFETY: sending the handle sends the right to take a `T` from the packet;
// fine when `T: Send`. (It is deliberately not `Sync`: joining needs `self`.)
unsafe impl<T: Send> Send for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// Waits for the strand to finish and returns its value, or why there is
    /// none.
    ///
    /// From a strand this parks the strand (its worker runs others
    /// meanwhile); from a plain thread it blocks the thread.
    ///
    /// ```
    /// strands::run(|| {
    ///     let h = strands::spawn(|| panic!("oops"));
    ///     let err = h.join().unwrap_err();
    ///     assert!(err.is_panic());
    ///     assert_eq!(err.to_string(), "strand panicked: oops");
    /// });
    /// ```
    pub fn join(self) -> Result<T, JoinError> {
        self.packet.wait(None);
        self.packet.take()
        // `self` drops here: `detach` finds DONE and changes nothing
    }

    /// Like [`join`](JoinHandle::join), but gives up after `timeout`,
    /// handing the handle back (to join again later, or to cancel).
    ///
    /// ```
    /// use std::time::Duration;
    /// strands::run(|| {
    ///     let slow = strands::spawn(|| strands::sleep(Duration::from_secs(60)));
    ///     let slow = slow.join_timeout(Duration::from_millis(10)).unwrap_err();
    ///     slow.cancel();
    ///     assert!(slow.join().unwrap_err().is_cancelled());
    ///     let quick = strands::spawn(|| 5);
    ///     assert_eq!(quick.join_timeout(Duration::from_secs(60)).unwrap().unwrap(), 5);
    /// });
    /// ```
    pub fn join_timeout(self, timeout: Duration) -> Result<Result<T, JoinError>, JoinHandle<T>> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.join_deadline(deadline),
            None => Ok(self.join()),
        }
    }

    /// Like [`join_timeout`](JoinHandle::join_timeout), with a deadline.
    pub fn join_deadline(self, deadline: Instant) -> Result<Result<T, JoinError>, JoinHandle<T>> {
        if self.packet.wait(Some(deadline)) {
            Ok(self.packet.take())
        } else {
            Err(self)
        }
    }

    /// Cancels the strand: see [`Strand::cancel`]. Joining it then reports
    /// [`JoinError::is_cancelled`] (unless it finished first).
    pub fn cancel(&self) {
        self.strand.cancel();
    }

    /// Whether the strand has finished (its result is ready).
    pub fn is_finished(&self) -> bool {
        self.packet.is_done()
    }

    /// The strand this handle joins.
    pub fn strand(&self) -> &Strand {
        &self.strand
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        self.packet.detach();
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("strand", &self.strand)
            .field("finished", &self.is_finished())
            .finish()
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Join vs finish: the result is neither lost nor read early, and the
    //! joiner is woken exactly when it waits.
    use super::*;

    #[test]
    fn loom_join_races_finish() {
        loom::model(|| {
            let (body, exit, parts) = package_in(|| 42u32, None);
            let packet = Arc::clone(&parts.packet);
            let finisher = loom::thread::spawn(move || {
                body();
                exit.publish();
            });
            packet.wait(None); // parks this (loom) thread until published
            assert_eq!(packet.take().unwrap(), 42);
            finisher.join().unwrap();
        });
    }

    #[test]
    fn loom_is_finished_only_after_the_result_is_stored() {
        loom::model(|| {
            let (body, exit, parts) = package_in(|| String::from("done"), None);
            let packet = Arc::clone(&parts.packet);
            let finisher = loom::thread::spawn(move || {
                body();
                exit.publish();
            });
            if packet.is_done() {
                assert_eq!(packet.take().unwrap(), "done");
            }
            finisher.join().unwrap();
        });
    }

    #[test]
    fn loom_detach_races_finish_and_drops_the_result_once() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        struct Counted(Arc<AtomicUsize>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_add(1, SeqCst);
            }
        }
        loom::model(|| {
            let drops = Arc::new(AtomicUsize::new(0));
            let d = Arc::clone(&drops);
            let (body, exit, parts) = package_in(move || Counted(d), None);
            let finisher = loom::thread::spawn(move || {
                body();
                exit.publish();
                drop(exit);
            });
            // what dropping the JoinHandle does
            parts.packet.detach();
            drop(parts);
            finisher.join().unwrap();
            assert_eq!(drops.load(SeqCst), 1, "the result is dropped exactly once");
        });
    }
}
