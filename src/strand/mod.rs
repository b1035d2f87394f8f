//! The strand itself: identity ([`StrandId`], the public [`Strand`]
//! handle), its header (saved context, stack, locals, and in the same
//! allocation its payload: the body, then the result), the park/wake state
//! machine, the join state and the waiter a wake goes to.
//!
//! A strand is owned, while it is alive, by exactly one of: a run queue, the
//! worker running it, or the waker registered with whatever it waits for.
//! Ownership moves with the [`StrandRef`] (an `Arc<Header>`) -- a yield
//! moves it back into a queue, it is never cloned for that. Other `Arc`s to
//! the header (the public [`Strand`] handle, a waker that lost a race) never
//! touch the context or the stack.
//!
//! This layer knows nothing of the runtime: a woken strand goes to its
//! [`Schedule`] (the runtime, behind a trait object), and its first frame is
//! an entry the runtime hands to [`Header::prepare`].

mod header;
pub(crate) mod job;
pub(crate) mod locals;
pub(crate) mod state;
pub(crate) mod stats;
pub(crate) mod wait;
pub(crate) mod waiter;

use crate::loom::{process::AtomicU64, Arc, Ordering};
use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;

/// How many strand ids a thread takes from the process-wide counter at a
/// time (see [`StrandId::next`]).
const ID_BLOCK: u64 = 1024;

pub(crate) use header::{Header, SchedRef, Schedule, StrandRef};
pub(crate) use state::State;
pub use wait::WaitKind;

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

    /// A fresh id. Each thread takes ids from the process-wide counter in
    /// blocks of [`ID_BLOCK`] and hands them out one by one, so a spawn does
    /// not bounce the counter's cache line between the workers (one
    /// contended read-modify-write per spawn before). Ids stay unique, and
    /// increase in spawn order on each thread, not across threads.
    fn next() -> StrandId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        thread_local! {
            /// The next id of this thread's block, and its end.
            static BLOCK: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
        }
        let from_block = BLOCK.try_with(|b| {
            let (mut next, mut end) = b.get();
            if next == end {
                next = NEXT.fetch_add(ID_BLOCK, Ordering::Relaxed);
                end = next + ID_BLOCK;
            }
            b.set((next + 1, end));
            next
        });
        // (a thread whose locals are being destroyed takes one at a time)
        let id = from_block.unwrap_or_else(|_| NEXT.fetch_add(1, Ordering::Relaxed));
        StrandId(NonZeroU64::new(id).expect("strand ids are never 0: 2^64 strands is out of reach"))
    }

    /// The id as a number (for logs and reports).
    ///
    /// ```
    /// strands::run(|| {
    ///     let id = strands::current().id();
    ///     println!("strand {} started", id.as_u64());
    ///     assert_ne!(id.as_u64(), 0);
    /// });
    /// ```
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

/// What a strand is to be, fixed when it is spawned.
#[derive(Default)]
pub(crate) struct Spec {
    pub(crate) name: Option<String>,
    pub(crate) priority: crate::Priority,
    pub(crate) deadline: Option<std::time::Instant>,
    pub(crate) migratable: bool,
    pub(crate) spawned_at: Option<&'static std::panic::Location<'static>>,
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
    ///
    /// ```
    /// use std::time::Duration;
    /// strands::run(|| {
    ///     let h = strands::spawn(|| strands::sleep(Duration::from_secs(60)));
    ///     let strand = h.strand().clone(); // a handle that does not own the result
    ///     strand.cancel();
    ///     assert!(h.join().unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn cancel(&self) {
        self.inner.cancel();
    }

    /// Makes the strand's park token available, as
    /// [`std::thread::Thread::unpark`] does: if the strand is in
    /// [`park`](crate::park) it returns, otherwise its next `park` returns
    /// at once. Tokens do not add up.
    ///
    /// ```
    /// strands::run(|| {
    ///     let h = strands::spawn(|| strands::park());
    ///     h.strand().unpark(); // before or after it parks: either way it returns
    ///     h.join().unwrap();
    /// });
    /// ```
    pub fn unpark(&self) {
        if !self.inner.unparked.swap(true, Ordering::AcqRel) {
            self.inner.wake();
        }
    }

    /// Whether [`cancel`](Strand::cancel) was called.
    ///
    /// ```
    /// strands::run(|| {
    ///     let h = strands::spawn(|| strands::sleep(std::time::Duration::from_secs(60)));
    ///     assert!(!h.strand().is_cancelled());
    ///     h.strand().cancel();
    ///     assert!(h.strand().is_cancelled());
    /// });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }

    /// The strand's unique id.
    ///
    /// ```
    /// strands::run(|| {
    ///     let h = strands::spawn(|| strands::current().id());
    ///     let id = h.strand().id();
    ///     assert_eq!(h.join().unwrap(), id);
    /// });
    /// ```
    pub fn id(&self) -> StrandId {
        self.inner.id
    }

    /// The strand's name, if it was given one.
    ///
    /// ```
    /// strands::run(|| {
    ///     assert_eq!(strands::spawn(|| ()).strand().name(), None);
    ///     let h = strands::Builder::new().name("db".into()).spawn(|| ()).unwrap();
    ///     assert_eq!(h.strand().name(), Some("db"));
    /// });
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.inner.name.as_deref()
    }

    /// The strand's priority on the agenda.
    ///
    /// ```
    /// use strands::Priority;
    /// strands::run(|| {
    ///     let h = strands::Builder::new().priority(Priority::High).spawn(|| ()).unwrap();
    ///     assert_eq!(h.strand().priority(), Priority::High);
    ///     assert_eq!(strands::spawn(|| ()).strand().priority(), Priority::Normal);
    /// });
    /// ```
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
