//! What a strand waits for while it is parked: its *wait record*, read by
//! a dump (`runtime/dump.rs`) and the watchdog's deadlock check.
//!
//! The running strand writes it (three relaxed stores) as a wait begins,
//! through `runtime::context::waiting`, and clears it (one store) as the
//! wait ends; anyone may read it, so the three words are not read
//! as one: a reader may see a kind with the detail of the next wait. A
//! dump is a diagnostic and says so.
//!
//! **Lock waits.** A strand waiting for a [`crate::sync::Mutex`] or an
//! [`crate::sync::RwLock`] also records where that lock keeps its holder
//! (the id of the strand holding it, or of the writer: a word the lock
//! stores as it is taken and clears as it is released), so that the
//! watchdog's deadlock check can follow strand -> lock -> holder strand.
//! The check reads that word on another thread while the strand may be
//! ending its wait, after which the lock may be gone: so it reads it only
//! inside [`WaitRecord::lock_holder`]'s handshake (it announces itself in
//! `inspecting`, then reads the address), and a strand ending a lock wait
//! clears the address, then waits until no check is inside (see
//! [`WaitRecord::clear`]). Either the check sees the address cleared, or
//! the strand sees the check and waits the few nanoseconds it takes to
//! read one word: the lock outlives every read. Only a wait's own end pays
//! for this (a store, a `SeqCst` fence and a load), never a lock's
//! fast path.
//!
//! The time a wait began is a coarse monotonic clock
//! (`CLOCK_MONOTONIC_COARSE`, a few milliseconds of resolution): reading
//! it costs a load from the vDSO page, where `Instant::now()` reads the
//! time stamp counter.

use crate::loom::process::{self, AtomicU8};
// The handshake's words (and a lock's holder word) are the model
// checker's under loom: `loom_a_check_never_reads_a_lock_after_its_wait_ended`.
use crate::loom::{fence, AtomicU64, AtomicUsize, Ordering};
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
    detail: process::AtomicU64,
    since: process::AtomicU64,
    /// The address of the holder word of the lock waited for (an
    /// `AtomicU64` in the lock), while a lock wait lasts; 0 otherwise.
    lock: AtomicUsize,
    /// Deadlock checks reading through `lock` now (see the module docs).
    inspecting: AtomicUsize,
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
            detail: process::AtomicU64::new(0),
            since: process::AtomicU64::new(0),
            lock: AtomicUsize::new(0),
            inspecting: AtomicUsize::new(0),
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

    /// Records, for the wait [`set`](WaitRecord::set) just began, the
    /// lock whose holder word is `holder` (see the module docs). The lock
    /// must outlive the wait: the caller borrows it until
    /// [`clear`](WaitRecord::clear) has returned.
    #[inline]
    pub(crate) fn set_lock(&self, holder: &AtomicU64) {
        // Release: a check that reads the address also sees the lock's
        // initialisation.
        self.lock
            .store(holder as *const AtomicU64 as usize, Ordering::Release);
    }

    /// The wait is over (the kind goes back to `Unknown`; the other words
    /// are read only with a kind). After a lock wait, returns only once no
    /// deadlock check can still read the lock's holder word.
    #[inline]
    pub(crate) fn clear(&self) {
        self.kind.store(WaitKind::Unknown as u8, Ordering::Relaxed);
        if self.lock.load(Ordering::Relaxed) != 0 {
            self.clear_lock();
        }
    }

    /// The end of a lock wait: the handshake of the module docs.
    #[cold]
    fn clear_lock(&self) {
        // A store-buffering handshake, closed by two SeqCst fences (this
        // one and the check's): either the check's fence comes first in
        // their total order, and the load below sees its announcement (we
        // wait for it), or ours does, and the check's load of `lock` sees
        // this 0. Fences rather than SeqCst accesses: the model checker
        // treats a SeqCst access as AcqRel, and so can judge only this form.
        self.lock.store(0, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        let mut spins = 0u32;
        // Acquire: reading the 0 of a check's `fetch_sub` (Release) puts
        // its read of the holder word before anything after this loop.
        while self.inspecting.load(Ordering::Acquire) != 0 {
            // a check reads one word; it is only ever descheduled
            spins = spins.saturating_add(1);
            if cfg!(loom) {
                crate::loom::thread::yield_now();
            } else if spins < 100 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }

    /// The holder word of the lock this strand waits for, read now: `None`
    /// if it waits for no lock (any more). The deadlock check's side of the
    /// handshake in the module docs.
    pub(crate) fn lock_holder(&self) -> Option<u64> {
        self.inspecting.fetch_add(1, Ordering::Relaxed);
        // The other fence of `clear_lock`'s handshake. Acquire: the lock's
        // initialisation (`set_lock`'s Release) is seen.
        fence(Ordering::SeqCst);
        let at = self.lock.load(Ordering::Acquire);
        #[cfg(all(test, not(loom)))]
        tests::pause();
        let holder = (at != 0).then(|| {
            // SAFETY: `at` is the address of the holder word of a lock
            // this strand waits for (`set_lock`), and the lock outlives
            // the wait. The wait has not ended: we announced ourselves
            // before loading a non-zero address, so the strand's `clear`
            // (which zeroes the address first) waits for the `fetch_sub`
            // below before the wait can end. The word is atomic.
            unsafe { (*(at as *const AtomicU64)).load(Ordering::Relaxed) }
        });
        // Release: the strand that sees the count drop to 0 also sees our
        // read done.
        self.inspecting.fetch_sub(1, Ordering::Release);
        holder
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicU32};
    use std::sync::Arc;

    /// Spins a check makes between loading a lock's address and reading
    /// its holder (0 but in the test below): widens the window the
    /// handshake closes.
    static PAUSE: AtomicU32 = AtomicU32::new(0);

    pub(super) fn pause() {
        for _ in 0..PAUSE.load(Ordering::Relaxed) {
            std::hint::spin_loop();
        }
    }

    /// The handshake of the module docs, with real threads: a waiter
    /// records lock waits on holder words, ends each, and marks the word
    /// ended (as if the lock were gone) while a check reads holders in a
    /// loop, pausing between the address and the word; the check never
    /// sees an ended word. The waiter goes on until the check has read
    /// 10,000 holders. (Without the waiter's side of the handshake the
    /// check sees an ended word in most runs.) The words are on the heap,
    /// and wait `i` marks its word `ENDED | i`: a failure names the wait
    /// whose word was read late, and a stray write elsewhere cannot look
    /// like one.
    #[test]
    fn a_check_never_reads_a_lock_after_the_wait_ended() {
        const ENDED: u64 = 1 << 63;
        const WORDS: usize = 64;
        PAUSE.store(200, Ordering::Relaxed);
        let rec = Arc::new(WaitRecord::new());
        let words: Arc<Vec<AtomicU64>> = Arc::new((0..WORDS).map(|_| AtomicU64::new(0)).collect());
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(AtomicU64::new(0));
        let (r, s, n) = (Arc::clone(&rec), Arc::clone(&stop), Arc::clone(&seen));
        let checker = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Some(h) = r.lock_holder() {
                    if h & ENDED != 0 {
                        return Some(h & !ENDED);
                    }
                    n.fetch_add(1, Ordering::Relaxed);
                }
                pause(); // outside too: a waiter ending its wait gets in
            }
            None
        });
        let mut i = 0u64;
        while seen.load(Ordering::Relaxed) < 10_000 && !checker.is_finished() {
            i += 1;
            let word = &words[i as usize % WORDS];
            word.store(i, Ordering::Relaxed);
            rec.set(WaitKind::Mutex, 0);
            rec.set_lock(word);
            std::hint::spin_loop();
            rec.clear();
            word.store(ENDED | i, Ordering::Relaxed);
        }
        stop.store(true, Ordering::Relaxed);
        if let Some(late) = checker.join().unwrap() {
            panic!("a check read the lock of wait {late} after that wait ended (the waiter was at wait {i})");
        }
        assert_eq!(rec.lock_holder(), None);
    }
}

/// The handshake under the model checker: every interleaving of a waiter
/// that ends two lock waits on one holder word (marking it ended after
/// each, as if the lock were gone) with two checks. Fails ("read a lock
/// whose wait had ended") when `clear` does not wait for the checks.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::loom::{thread, Arc};

    const ENDED: u64 = u64::MAX;

    #[test]
    fn loom_a_check_never_reads_a_lock_after_its_wait_ended() {
        loom::model(|| {
            let rec = Arc::new(WaitRecord::new());
            let word = Arc::new(AtomicU64::new(0));
            let (r, w) = (Arc::clone(&rec), Arc::clone(&word));
            let waiter = thread::spawn(move || {
                for i in 1..=2 {
                    w.store(i, Ordering::Relaxed);
                    r.set(WaitKind::Mutex, 0);
                    r.set_lock(&w);
                    r.clear();
                    w.store(ENDED, Ordering::Relaxed);
                }
            });
            for _ in 0..2 {
                if let Some(h) = rec.lock_holder() {
                    assert_ne!(h, ENDED, "read a lock whose wait had ended");
                }
            }
            waiter.join().unwrap();
            assert_eq!(rec.lock_holder(), None);
        });
    }
}
