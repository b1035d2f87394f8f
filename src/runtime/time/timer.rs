//! Timers: one timing wheel of deadlines per runtime, fired on the I/O
//! driver's path (there is no timer thread).
//!
//! A strand that sleeps registers `(deadline, waiter)` and parks; it costs
//! no worker. The worker that holds the poller role waits in the poller
//! with the next expiry as its timeout and fires what is due when it
//! returns; an insert that makes a new earliest expiry notifies the poller,
//! so it recomputes its timeout. Busy workers fire due timers too, every
//! few picks (`Shared::maintain`): the next expiry is cached in an atomic,
//! so that check is one load and one `Instant::now()`. A woken sleeper
//! re-checks the clock, so it never returns early, whatever spurious wake
//! it gets.
//!
//! The structure is the hierarchical wheel of [`super::wheel`], chosen by
//! `cargo bench --bench timers`: O(1) insert and cancel (most timers are
//! timeouts cancelled before they fire), 1 ms resolution (a timer fires up
//! to 1 ms late, never early).

use super::wheel::{Wheel, WheelKey};
use crate::loom::{AtomicU64, Mutex, Ordering};
use crate::strand::waiter::Waiter;
use std::time::Instant;

pub(crate) type Key = WheelKey;

/// No timer: the cached next expiry.
const NONE: u64 = u64::MAX;

pub(crate) struct Timers {
    wheel: Mutex<Wheel<Waiter>>,
    /// The wheel's next expiry, in nanoseconds since `base` (`NONE` if
    /// none). Written under the lock; may be stale-early after a cancel,
    /// which only costs one extra look at the wheel.
    next: AtomicU64,
    base: Instant,
    pub(crate) fired: AtomicU64,
}

impl Timers {
    pub(crate) fn new() -> Timers {
        let base = Instant::now();
        Timers {
            wheel: Mutex::new(Wheel::new(base)),
            next: AtomicU64::new(NONE),
            base,
            fired: AtomicU64::new(0),
        }
    }

    fn nanos(&self, t: Instant) -> u64 {
        let n = t.saturating_duration_since(self.base).as_nanos();
        u64::try_from(n).unwrap_or(NONE - 1).min(NONE - 1)
    }

    /// Caches the wheel's next expiry in `next`; returns it.
    fn publish_next(&self, wheel: &Wheel<Waiter>) -> Option<Instant> {
        let next = wheel.next_expiry();
        let nanos = next.map_or(NONE, |d| self.nanos(d));
        self.next.store(nanos, Ordering::Release);
        next
    }

    /// Registers `waiter` to be woken at `deadline`. Returns the key and
    /// whether it moved the next expiry earlier (the caller then notifies a
    /// waiting poller).
    pub(crate) fn insert(&self, deadline: Instant, waiter: Waiter) -> (Key, bool) {
        let mut wheel = self.wheel.lock().unwrap_or_else(|e| e.into_inner());
        let key = wheel.insert(deadline, waiter);
        let before = self.next.load(Ordering::Relaxed);
        let next = self.publish_next(&wheel);
        drop(wheel);
        (key, next.is_some_and(|d| self.nanos(d) < before))
    }

    /// Removes an entry that has not fired (a no-op if it has).
    pub(crate) fn cancel(&self, key: Key) {
        let mut wheel = self.wheel.lock().unwrap_or_else(|e| e.into_inner());
        let w = wheel.cancel(key);
        self.publish_next(&wheel);
        drop(wheel);
        drop(w); // outside the lock: dropping a strand handle may free it
    }

    /// Number of registered timers.
    pub(crate) fn len(&self) -> usize {
        self.wheel.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether a timer may be due at `now` (one load: the cached next
    /// expiry).
    #[inline]
    pub(crate) fn maybe_due(&self, now: Instant) -> bool {
        let next = self.next.load(Ordering::Acquire);
        next != NONE && next <= self.nanos(now)
    }

    /// When the wheel next has something to do, if anything. Read under
    /// the lock on purpose: an insert that moves the next expiry earlier
    /// notifies a poller that is waiting, and the lock orders this read
    /// against that insert (a lock-free read of the cached value could miss
    /// both the new expiry and the notification).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let wheel = self.wheel.lock().unwrap_or_else(|e| e.into_inner());
        wheel.next_expiry()
    }

    /// Wakes the waiter of every timer due at `now`; returns the next
    /// expiry.
    pub(crate) fn fire_due(&self, now: Instant) -> Option<Instant> {
        let mut due = Vec::new();
        let mut wheel = self.wheel.lock().unwrap_or_else(|e| e.into_inner());
        wheel.expire(now, |w| due.push(w));
        let next = self.publish_next(&wheel);
        drop(wheel);
        if !due.is_empty() {
            self.fired.fetch_add(due.len() as u64, Ordering::Relaxed);
            for w in due {
                w.wake();
            }
        }
        next
    }

    /// Removes every timer and wakes its waiter now, due or not (shutdown:
    /// sleepers wake to find themselves cancelled).
    pub(crate) fn wake_all_now(&self) {
        let mut wheel = self.wheel.lock().unwrap_or_else(|e| e.into_inner());
        let all = wheel.drain();
        self.next.store(NONE, Ordering::Release);
        drop(wheel);
        for w in all {
            w.wake();
        }
    }
}
