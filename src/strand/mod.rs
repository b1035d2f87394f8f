//! The strand itself: identity, saved context, stack, and the park/wake
//! state machine.
//!
//! A strand is owned, while it is alive, by exactly one of: a run queue, the
//! worker running it, or the waker registered with whatever it waits for.
//! Ownership moves with the `Task` (an `Arc<Header>`) -- a yield moves it
//! back into a queue, it is never cloned for that. Other `Arc`s to the header
//! (the public [`Strand`] handle, a waker that lost a race) never touch the
//! context or the stack.

pub(crate) mod state;
pub(crate) mod waiter;

use crate::arch::RawContext;
use crate::loom::{process::AtomicU64, Arc, Ordering};
use crate::stack::overflow::StackRecord;
use crate::stack::Stack;
use std::cell::UnsafeCell;
use std::fmt;
use std::num::NonZeroU64;

pub(crate) use state::State;

/// A unique identifier of a strand within the process.
///
/// Like [`std::thread::ThreadId`]: opaque, never reused, cheap to copy,
/// compare and hash.
///
/// ```
/// strands::run(|| {
///     let a = strands::current().id();
///     let b = strands::spawn(|| strands::current().id()).join().unwrap();
///     assert_ne!(a, b);
/// });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StrandId(NonZeroU64);

impl StrandId {
    /// The id with this number, if it can be one (not 0).
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn from_u64(n: u64) -> Option<StrandId> {
        NonZeroU64::new(n).map(StrandId)
    }

    fn next() -> StrandId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        StrandId(NonZeroU64::new(id).expect("strand ids are never 0: 2^64 strands is out of reach"))
    }

    /// The id as a number (for logs and reports).
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Debug for StrandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StrandId({})", self.0)
    }
}

impl fmt::Display for StrandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Something that can run a woken strand again (its runtime).
pub(crate) trait Schedule: Send + Sync {
    /// Makes `task`, just woken from `Parked`, runnable on its home worker.
    fn schedule(&self, task: Task);
}

/// The body a fresh strand runs: a type-erased closure that stores its
/// result in the join packet itself.
pub(crate) type Body = Box<dyn FnOnce() + Send>;

/// Announces a strand's end to its joiner. Called by the worker *after* the
/// strand's stack went back to the pool and the runtime stopped counting it,
/// so that a joiner that returns sees the strand entirely gone.
pub(crate) trait Exit: Send + Sync {
    /// Publishes the stored result and wakes the joiner, if any.
    fn publish(&self);
}

/// What a strand is to be, fixed when it is spawned.
#[derive(Default)]
pub(crate) struct Spec {
    pub(crate) name: Option<String>,
    pub(crate) priority: crate::Priority,
    pub(crate) deadline: Option<std::time::Instant>,
    pub(crate) migratable: bool,
}

/// A strand, as the runtime sees it.
pub(crate) struct Header {
    pub(crate) id: StrandId,
    pub(crate) name: Option<Box<str>>,
    pub(crate) priority: crate::Priority,
    /// Earliest deadline first within its level (strands without one come
    /// after those with one).
    pub(crate) deadline: Option<std::time::Instant>,
    /// May be stolen by another worker while runnable, not only before it
    /// starts (see `Builder::migratable`).
    pub(crate) migratable: bool,
    pub(crate) state: State,
    /// Set by [`Header::cancel`]: the strand's next blocking point unwinds.
    pub(crate) cancelled: crate::loom::AtomicBool,
    /// Its slot in the runtime's registry of live strands.
    pub(crate) registry_slot: crate::loom::AtomicUsize,
    /// Worker the strand first ran on (where it stays); `usize::MAX` before.
    pub(crate) home: crate::loom::AtomicUsize,
    pub(crate) sched: Arc<dyn Schedule>,
    /// Saved context while not running. Touched only by the thread that
    /// owns the task (see the module docs).
    pub(crate) ctx: UnsafeCell<RawContext>,
    /// The stack; taken by the worker when the strand is done.
    pub(crate) stack: UnsafeCell<Option<Stack>>,
    /// Published to the overflow handler while the strand runs.
    pub(crate) record: StackRecord,
    /// Taken by the strand's first frame.
    pub(crate) body: UnsafeCell<Option<Body>>,
    /// Strand-local values; dropped by the strand when its body is done.
    pub(crate) locals: UnsafeCell<crate::local::Locals>,
    /// Taken by the worker when the strand is done.
    pub(crate) exit: UnsafeCell<Option<Arc<dyn Exit>>>,
}

// SAFETY: the `UnsafeCell` fields (context, stack, body) are accessed only by
// the owner of the task, and ownership passes between threads through the
// run queues and the state machine's acquire/release edges; `record` is only
// read by the thread running the strand. Everything else is immutable or
// atomic.
unsafe impl Send for Header {}
// SAFETY: as above; shared references (`Strand` handles) only read `id`,
// `name` and the atomic `state`.
unsafe impl Sync for Header {}

/// An owned, runnable or running strand.
pub(crate) type Task = Arc<Header>;

impl Header {
    pub(crate) fn new(
        spec: Spec,
        stack: Stack,
        body: Body,
        exit: Arc<dyn Exit>,
        sched: Arc<dyn Schedule>,
    ) -> Task {
        let id = StrandId::next();
        let name: Option<Box<str>> = spec.name.map(String::into_boxed_str);
        let record = StackRecord::new(id.as_u64(), name.as_deref());
        let (glo, ghi) = stack.guard_range();
        record.set(glo, ghi, stack.top() as usize);
        let header = Arc::new(Header {
            id,
            name,
            priority: spec.priority,
            deadline: spec.deadline,
            migratable: spec.migratable,
            state: State::new(),
            cancelled: crate::loom::AtomicBool::new(false),
            registry_slot: crate::loom::AtomicUsize::new(usize::MAX),
            home: crate::loom::AtomicUsize::new(usize::MAX),
            sched,
            ctx: UnsafeCell::new(RawContext::empty()),
            stack: UnsafeCell::new(None),
            record,
            body: UnsafeCell::new(Some(body)),
            locals: UnsafeCell::new(crate::local::Locals::default()),
            exit: UnsafeCell::new(Some(exit)),
        });
        let arg = Arc::as_ptr(&header) as *mut u8;
        // SAFETY: the stack is fresh and owned by this header from now on;
        // `arg` stays valid while the strand can run because the task that
        // runs it holds an `Arc` to the header.
        let ctx = unsafe { crate::arch::init(stack.top(), stack.base(), strand_entry, arg) };
        // SAFETY: nobody else can see the header yet.
        unsafe {
            *header.ctx.get() = ctx;
            *header.stack.get() = Some(stack);
        }
        header
    }

    /// Asks the strand to stop: its next blocking point (or the one it is
    /// parked in) unwinds with a cancellation, so its `Drop`s run. A strand
    /// that has not started yet does not run its body at all.
    pub(crate) fn cancel(self: &Arc<Self>) {
        if !self.cancelled.swap(true, Ordering::AcqRel) {
            self.wake();
        }
    }

    /// Wakes the strand if it is parked; otherwise leaves a token so that its
    /// next park returns at once. The strand is scheduled exactly once.
    pub(crate) fn wake(self: &Arc<Self>) {
        if self.state.wake() {
            self.sched.schedule(Arc::clone(self));
        }
    }
}

/// The first Rust frame of every strand, called by the architecture's
/// trampoline. Runs the body, then switches back to the worker for good.
unsafe extern "C" fn strand_entry(arg: *mut u8) {
    // SAFETY: `arg` is the header pointer `Header::new` passed; the running
    // task keeps it alive.
    let header = unsafe { &*(arg as *const Header) };
    // SAFETY: the running strand owns its task, hence its body.
    let body = unsafe { (*header.body.get()).take() };
    if let Some(body) = body {
        // The body catches its own panics (see `spawn`); nothing unwinds here.
        body();
    }
    // Strand-locals go in strand context, like a thread's at its exit.
    // SAFETY: the running strand owns its locals; no `with` is active.
    let locals = std::mem::take(unsafe { &mut *header.locals.get() });
    crate::panic::abort_on_unwind("a strand-local value", move || drop(locals));
    crate::runtime::worker::finish_current();
}

/// A handle to a strand: its id and name. Cheap to clone.
///
/// ```
/// strands::run(|| {
///     let h = strands::Builder::new()
///         .name("parser".to_string())
///         .spawn(|| strands::current().name().map(str::to_owned))
///         .unwrap();
///     assert_eq!(h.strand().name(), Some("parser"));
///     assert_eq!(h.join().unwrap().as_deref(), Some("parser"));
/// });
/// ```
#[derive(Clone)]
pub struct Strand {
    pub(crate) inner: Arc<Header>,
}

impl Strand {
    /// Cancels the strand: its next blocking point (yield, join, sleep, or
    /// the one it is parked in now) unwinds with a cancellation payload, so
    /// every `Drop` on its stack runs, and joining it reports
    /// [`JoinError::is_cancelled`](crate::JoinError::is_cancelled). A
    /// strand that has not started never runs. Code that catches the unwind
    /// is cancelled again at its next blocking point. Cancelling a finished
    /// strand does nothing.
    pub fn cancel(&self) {
        self.inner.cancel();
    }

    /// Whether [`cancel`](Strand::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::Acquire)
    }

    /// The strand's unique id.
    pub fn id(&self) -> StrandId {
        self.inner.id
    }

    /// The strand's name, if it was given one.
    pub fn name(&self) -> Option<&str> {
        self.inner.name.as_deref()
    }

    /// The strand's priority on the agenda.
    pub fn priority(&self) -> crate::Priority {
        self.inner.priority
    }
}

impl fmt::Debug for Strand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Strand")
            .field("id", &self.id())
            .field("name", &self.name())
            .finish()
    }
}
