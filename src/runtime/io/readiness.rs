//! The readiness protocol of one direction (read or write) of one
//! registered file descriptor: how a waiter and the I/O driver meet without
//! losing a wake-up.
//!
//! The poller runs in edge-triggered mode, so an event is reported once per
//! change to "ready", and it may arrive at any moment relative to a strand
//! that is about to wait: between its failed system call and its
//! registration, for instance. A sequence number closes that gap:
//!
//! - **Waiter.** Reads `seq` ([`Direction::snapshot`]), tries the system
//!   call; on `WouldBlock` calls [`Direction::register`] with the snapshot,
//!   which takes the lock and, if `seq` moved meanwhile, answers "retry now"
//!   (an event came after the snapshot: the call may succeed now); else it
//!   pushes the waiter under the lock, and the caller blocks.
//! - **Driver.** On an event ([`Direction::fire`]): takes the lock, bumps
//!   `seq`, takes every waiter, unlocks, wakes them.
//!
//! Either the event's bump is ordered before the waiter's check under the
//! lock (the waiter sees the new `seq` and retries), or after it (the
//! driver finds the waiter and wakes it). A woken waiter loops: it snapshots
//! again and retries. A waiter that leaves without an event (a timeout, a
//! cancellation unwinding through its block) withdraws its entry by id
//! ([`Direction::withdraw`]).
//!
//! `seq` is also kept in an atomic, so the snapshot before every system call
//! is one load, not a lock. The loom models below check event-vs-register
//! and one event waking two waiters; with the `seq` check in `register`
//! removed, both report a deadlock (the lost wake-up).

use crate::loom::{AtomicBool, AtomicU64, Mutex, Ordering};
use crate::strand::waiter::Waiter;

/// One direction's waiters and event count.
pub(crate) struct Direction {
    seq: AtomicU64,
    /// The `seq` snapshot taken before a read that drained a stream (a
    /// short read): while `seq` still equals it, the next read would
    /// answer `WouldBlock`, so the reader skips that system call and waits
    /// for the event. A hint: any event moves `seq` past it.
    #[cfg_attr(loom, allow(dead_code))] // read by `io::Registered`, not built under loom
    drained: AtomicU64,
    /// The peer closed its side or an error is pending (`EPOLLRDHUP`,
    /// `EPOLLHUP`, `EPOLLERR` seen): a read after a short one may answer
    /// end-of-file or the error at once, with no further event, so the
    /// `drained` hint is off for good.
    closed: AtomicBool,
    inner: Mutex<Waiters>,
}

#[derive(Default)]
struct Waiters {
    next_id: u64,
    /// Almost always at most one waiter: kept out of the `Vec` so that a
    /// wait and its wake allocate nothing.
    first: Option<(u64, Waiter)>,
    rest: Vec<(u64, Waiter)>,
}

/// What [`Direction::register`] decided.
pub(crate) enum Registered {
    /// An event arrived after the snapshot: try the call again now.
    Retry,
    /// The waiter is registered under this id: block, then withdraw it.
    Wait(u64),
}

impl Direction {
    pub(crate) fn new() -> Direction {
        Direction {
            seq: AtomicU64::new(0),
            drained: AtomicU64::new(u64::MAX),
            closed: AtomicBool::new(false),
            inner: Mutex::new(Waiters::default()),
        }
    }

    /// The event count, read before a system call.
    #[inline]
    pub(crate) fn snapshot(&self) -> u64 {
        self.seq.load(Ordering::Acquire)
    }

    /// Notes that the read made after snapshot `seq` drained the stream.
    #[inline]
    #[cfg_attr(loom, allow(dead_code))] // see `drained`
    pub(crate) fn mark_drained(&self, seq: u64) {
        self.drained.store(seq, Ordering::Relaxed);
    }

    /// Whether no event came since a read drained the stream (`seq` is the
    /// current snapshot): the next read would answer `WouldBlock`.
    #[inline]
    #[cfg_attr(loom, allow(dead_code))] // see `drained`
    pub(crate) fn is_drained(&self, seq: u64) -> bool {
        self.drained.load(Ordering::Relaxed) == seq && !self.closed.load(Ordering::Acquire)
    }

    /// Registers `waiter` unless an event came after `seq` was read.
    pub(crate) fn register(&self, seq: u64, waiter: Waiter) -> Registered {
        let mut w = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if self.seq.load(Ordering::Relaxed) != seq {
            return Registered::Retry; // `waiter` is dropped after the unlock
        }
        w.next_id += 1;
        let id = w.next_id;
        if w.first.is_none() {
            w.first = Some((id, waiter));
        } else {
            w.rest.push((id, waiter));
        }
        Registered::Wait(id)
    }

    /// Removes the waiter registered as `id` if no event took it.
    pub(crate) fn withdraw(&self, id: u64) {
        let mut w = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let gone = if w.first.as_ref().is_some_and(|(i, _)| *i == id) {
            w.first.take()
        } else {
            w.rest
                .iter()
                .position(|(i, _)| *i == id)
                .map(|p| w.rest.swap_remove(p))
        };
        drop(w);
        drop(gone); // outside the lock: dropping a strand handle may free it
    }

    /// An event: counts it and wakes every waiter. `closed`: the event
    /// reports a hang-up or an error.
    pub(crate) fn fire(&self, closed: bool) {
        if closed {
            self.closed.store(true, Ordering::Release);
        }
        let mut w = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        self.seq.fetch_add(1, Ordering::Release);
        let first = w.first.take();
        let rest = if w.rest.is_empty() {
            Vec::new()
        } else {
            std::mem::take(&mut w.rest)
        };
        drop(w);
        if let Some((_, waiter)) = first {
            waiter.wake();
        }
        for (_, waiter) in rest {
            waiter.wake();
        }
    }

    /// Whether anyone waits (for the loom model).
    #[cfg(all(test, loom))]
    pub(crate) fn has_waiters(&self) -> bool {
        let w = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        w.first.is_some() || !w.rest.is_empty()
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::{Direction, Registered};
    use crate::loom::{Arc, AtomicBool, Ordering};
    use crate::runtime::context;

    /// A "socket" that becomes readable once (the kernel's side), a driver
    /// thread that reports it, and a reader that waits for it the way
    /// `io::Registered` does. A lost wake-up leaves the reader blocked
    /// forever, which loom reports as a deadlock.
    #[test]
    fn loom_an_event_never_misses_a_registering_waiter() {
        loom::model(|| {
            let dir = Arc::new(Direction::new());
            let ready = Arc::new(AtomicBool::new(false));
            let driver = {
                let (dir, ready) = (Arc::clone(&dir), Arc::clone(&ready));
                loom::thread::spawn(move || {
                    ready.store(true, Ordering::Release); // data arrives
                    dir.fire(false); // the poller reports it
                })
            };
            loop {
                let seq = dir.snapshot();
                if ready.load(Ordering::Acquire) {
                    break; // the "read" succeeded
                }
                match dir.register(seq, context::waiter()) {
                    Registered::Retry => continue,
                    Registered::Wait(id) => {
                        context::block();
                        dir.withdraw(id);
                    }
                }
            }
            driver.join().unwrap();
            assert!(!dir.has_waiters());
        });
    }

    /// A driver that dies while a thread is about to wait on it
    /// (`Driver::shut_down`: count the death, then fire every direction)
    /// and a waiter that checks the death count after its snapshot and
    /// before it registers (`io::Registered`'s fast path): the waiter
    /// either sees the death and moves (here: leaves), or is woken to look
    /// again. Without the fire after the count, loom reports the waiter
    /// blocked forever.
    #[test]
    fn loom_a_driver_death_never_strands_a_waiter() {
        loom::model(|| {
            let dir = Arc::new(Direction::new());
            let dead = Arc::new(AtomicBool::new(false));
            let killer = {
                let (dir, dead) = (Arc::clone(&dir), Arc::clone(&dead));
                loom::thread::spawn(move || {
                    dead.store(true, Ordering::Release); // the death count
                    dir.fire(false); // every waiter looks again
                })
            };
            loop {
                let seq = dir.snapshot();
                // the "read" would block: nothing ever arrives here
                if dead.load(Ordering::Acquire) {
                    break; // moved to a live driver
                }
                match dir.register(seq, context::waiter()) {
                    Registered::Retry => continue,
                    Registered::Wait(id) => {
                        context::block();
                        dir.withdraw(id);
                    }
                }
            }
            killer.join().unwrap();
            assert!(!dir.has_waiters());
        });
    }

    /// Two waiters on one direction, one event: both are woken.
    #[test]
    fn loom_an_event_wakes_every_waiter() {
        loom::model(|| {
            let dir = Arc::new(Direction::new());
            let ready = Arc::new(AtomicBool::new(false));
            let wait = |dir: Arc<Direction>, ready: Arc<AtomicBool>| loop {
                let seq = dir.snapshot();
                if ready.load(Ordering::Acquire) {
                    break;
                }
                if let Registered::Wait(id) = dir.register(seq, context::waiter()) {
                    context::block();
                    dir.withdraw(id);
                }
            };
            let other = {
                let (dir, ready) = (Arc::clone(&dir), Arc::clone(&ready));
                loom::thread::spawn(move || wait(dir, ready))
            };
            let driver = {
                let (dir, ready) = (Arc::clone(&dir), Arc::clone(&ready));
                loom::thread::spawn(move || {
                    ready.store(true, Ordering::Release);
                    dir.fire(false);
                })
            };
            wait(Arc::clone(&dir), Arc::clone(&ready));
            other.join().unwrap();
            driver.join().unwrap();
        });
    }
}
