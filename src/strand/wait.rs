//! What a strand waits for while it is parked: its *wait record*, read by
//! a dump (`runtime/dump.rs`) and the watchdog's deadlock check.
//!
//! The running strand writes it (three relaxed stores) as a wait begins,
//! through `runtime::context::waiting`, and clears it (one store) as the
//! wait ends; anyone may read it, so the three words are not read
//! as one: a reader may see a kind with the detail of the next wait. A
//! dump is a diagnostic and says so.
//!
//! The time a wait began is a coarse monotonic clock
//! (`CLOCK_MONOTONIC_COARSE`, a few milliseconds of resolution): reading
//! it costs a load from the vDSO page, where `Instant::now()` reads the
//! time stamp counter.

use crate::loom::process::{AtomicU64, AtomicU8};
use crate::loom::Ordering;
use std::time::Duration;

/// What a parked strand waits for (see [`crate::dump`](mod@crate::dump)).
///
/// ```
/// use strands::dump::WaitKind;
/// assert_eq!(WaitKind::Mutex.as_str(), "mutex");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u8)]
pub enum WaitKind {
    /// Nothing the runtime recorded (a park of the runtime's own, or the
    /// strand is not waiting).
    Unknown = 0,
    /// [`crate::sync::Mutex`].
    Mutex,
    /// [`crate::sync::RwLock`], to read.
    RwLockRead,
    /// [`crate::sync::RwLock`], to write.
    RwLockWrite,
    /// [`crate::sync::Condvar`].
    Condvar,
    /// [`crate::sync::Semaphore`].
    Semaphore,
    /// [`crate::sync::Barrier`].
    Barrier,
    /// [`crate::sync::WaitGroup`].
    WaitGroup,
    /// [`crate::sync::Notify`].
    Notify,
    /// [`crate::sync::OnceLock`] (another strand runs the initialiser).
    Once,
    /// A channel send (the channel is full).
    Send,
    /// A channel receive (the channel is empty).
    Recv,
    /// A [`crate::channel::Select`] over several operations.
    Select,
    /// An fd to become readable.
    Read,
    /// An fd to become writable.
    Write,
    /// [`crate::sleep`] or a timer.
    Sleep,
    /// The end of another strand; the detail is its id.
    Join,
    /// [`crate::park`].
    Park,
    /// A signal ([`crate::signal::Signals`]).
    Signal,
    /// A keyed lock ([`crate::join::KeyedMutex`]).
    KeyedLock,
    /// A plan, a [`crate::join::JoinSet`], a cancellation token or a
    /// coalesced call ([`crate::join`]).
    Plan,
}

impl WaitKind {
    const ALL: [WaitKind; 21] = [
        WaitKind::Unknown,
        WaitKind::Mutex,
        WaitKind::RwLockRead,
        WaitKind::RwLockWrite,
        WaitKind::Condvar,
        WaitKind::Semaphore,
        WaitKind::Barrier,
        WaitKind::WaitGroup,
        WaitKind::Notify,
        WaitKind::Once,
        WaitKind::Send,
        WaitKind::Recv,
        WaitKind::Select,
        WaitKind::Read,
        WaitKind::Write,
        WaitKind::Sleep,
        WaitKind::Join,
        WaitKind::Park,
        WaitKind::Signal,
        WaitKind::KeyedLock,
        WaitKind::Plan,
    ];

    fn from_u8(n: u8) -> WaitKind {
        WaitKind::ALL
            .get(usize::from(n))
            .copied()
            .unwrap_or(WaitKind::Unknown)
    }

    /// A short description ("mutex", "join", ...).
    ///
    /// ```
    /// assert_eq!(strands::dump::WaitKind::Mutex.as_str(), "mutex");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            WaitKind::Unknown => "unknown",
            WaitKind::Mutex => "mutex",
            WaitKind::RwLockRead => "rwlock read",
            WaitKind::RwLockWrite => "rwlock write",
            WaitKind::Condvar => "condvar",
            WaitKind::Semaphore => "semaphore",
            WaitKind::Barrier => "barrier",
            WaitKind::WaitGroup => "waitgroup",
            WaitKind::Notify => "notify",
            WaitKind::Once => "once",
            WaitKind::Send => "channel send",
            WaitKind::Recv => "channel receive",
            WaitKind::Select => "select",
            WaitKind::Read => "fd read",
            WaitKind::Write => "fd write",
            WaitKind::Sleep => "sleep",
            WaitKind::Join => "join",
            WaitKind::Park => "park",
            WaitKind::Signal => "signal",
            WaitKind::KeyedLock => "keyed lock",
            WaitKind::Plan => "plan or join set",
        }
    }
}

/// A strand's wait record (a field of its header).
pub(crate) struct WaitRecord {
    kind: AtomicU8,
    detail: AtomicU64,
    since: AtomicU64,
}

/// A record as read: kind, detail, when it began (coarse nanoseconds).
#[derive(Clone, Copy)]
pub(crate) struct Waiting {
    pub(crate) kind: WaitKind,
    pub(crate) detail: u64,
    pub(crate) since: u64,
}

impl WaitRecord {
    pub(crate) fn new() -> WaitRecord {
        WaitRecord {
            kind: AtomicU8::new(0),
            detail: AtomicU64::new(0),
            since: AtomicU64::new(0),
        }
    }

    /// The kind recorded now.
    #[inline]
    pub(crate) fn kind(&self) -> WaitKind {
        WaitKind::from_u8(self.kind.load(Ordering::Relaxed))
    }

    /// Records a wait beginning now.
    #[inline]
    pub(crate) fn set(&self, kind: WaitKind, detail: u64) {
        self.detail.store(detail, Ordering::Relaxed);
        self.since.store(coarse_now(), Ordering::Relaxed);
        self.kind.store(kind as u8, Ordering::Relaxed);
    }

    /// The wait is over (the kind goes back to `Unknown`; the other words
    /// are read only with a kind).
    #[inline]
    pub(crate) fn clear(&self) {
        self.kind.store(WaitKind::Unknown as u8, Ordering::Relaxed);
    }

    /// The record now (its three words read one by one).
    #[inline]
    pub(crate) fn get(&self) -> Waiting {
        Waiting {
            kind: WaitKind::from_u8(self.kind.load(Ordering::Relaxed)),
            detail: self.detail.load(Ordering::Relaxed),
            since: self.since.load(Ordering::Relaxed),
        }
    }
}

/// The coarse monotonic clock, in nanoseconds.
#[inline]
pub(crate) fn coarse_now() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is one the
    // kernel knows (see `os::sys::COARSE_CLOCK`).
    let r = unsafe { libc::clock_gettime(crate::os::sys::COARSE_CLOCK, &mut ts) };
    if r != 0 {
        return 0;
    }
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// How long ago `since` (from [`coarse_now`]) was.
pub(crate) fn elapsed(since: u64) -> Duration {
    Duration::from_nanos(coarse_now().saturating_sub(since))
}
