//! Timers: one ordered map of deadlines per runtime, fired on the I/O
//! driver's path (there is no timer thread).
//!
//! A strand that sleeps registers `(deadline, waiter)` and parks; it costs
//! no worker. The worker that holds the poller role waits in the poller
//! with the earliest deadline as its timeout and fires what is due when it
//! returns; an insert that makes a new earliest deadline notifies the
//! poller, so it recomputes its timeout. Busy workers fire due timers too,
//! every few picks (`Shared::maintain`): the earliest deadline is cached in
//! an atomic, so that check is one load and one `Instant::now()`. A woken
//! sleeper re-checks the clock, so it never returns early, whatever
//! spurious wake it gets.
//!
//! The map is a `BTreeMap` keyed by `(deadline, sequence)`: inserting and
//! cancelling (a join that finished before its timeout) are `O(log n)`, and
//! firing takes entries in order.

use super::{worker, Shared};
use crate::loom::{Arc, AtomicU64, Mutex, Ordering};
use crate::strand::waiter::Waiter;
use std::collections::BTreeMap;
use std::time::Instant;

pub(crate) type Key = (Instant, u64);

/// No timer: the cached earliest deadline.
const NONE: u64 = u64::MAX;

pub(crate) struct Timers {
    map: Mutex<BTreeMap<Key, Waiter>>,
    seq: AtomicU64,
    /// The earliest deadline, in nanoseconds since `base` (`NONE` if
    /// none). Written under the lock; may be stale-early after a cancel,
    /// which only costs one extra look at the map.
    next: AtomicU64,
    base: Instant,
    pub(crate) fired: AtomicU64,
}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            map: Mutex::new(BTreeMap::new()),
            seq: AtomicU64::new(0),
            next: AtomicU64::new(NONE),
            base: Instant::now(),
            fired: AtomicU64::new(0),
        }
    }

    fn nanos(&self, t: Instant) -> u64 {
        let n = t.saturating_duration_since(self.base).as_nanos();
        u64::try_from(n).unwrap_or(NONE - 1).min(NONE - 1)
    }

    /// Registers `waiter` to be woken at `deadline`. Returns the key and
    /// whether it is the new earliest deadline (the caller then notifies a
    /// waiting poller).
    pub(crate) fn insert(&self, deadline: Instant, waiter: Waiter) -> (Key, bool) {
        let key = (deadline, self.seq.fetch_add(1, Ordering::Relaxed));
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let earliest = map.keys().next().is_none_or(|k| key < *k);
        map.insert(key, waiter);
        if earliest {
            self.next.store(self.nanos(deadline), Ordering::Release);
        }
        drop(map);
        (key, earliest)
    }

    /// Removes an entry that has not fired (a no-op if it has).
    pub(crate) fn cancel(&self, key: Key) {
        let w = self
            .map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        drop(w); // outside the lock: dropping a strand handle may free it
    }

    /// Number of registered timers.
    pub(crate) fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether a timer may be due at `now` (one load: the cached earliest
    /// deadline).
    #[inline]
    pub(crate) fn maybe_due(&self, now: Instant) -> bool {
        let next = self.next.load(Ordering::Acquire);
        next != NONE && next <= self.nanos(now)
    }

    /// The earliest deadline, if any.
    #[cfg_attr(loom, allow(dead_code))] // the driver is not built under loom
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.keys().next().map(|k| k.0)
    }

    /// Wakes the waiter of every timer due at `now`; returns the earliest
    /// deadline left.
    pub(crate) fn fire_due(&self, now: Instant) -> Option<Instant> {
        let mut due = Vec::new();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(entry) = map.first_entry() {
            if entry.key().0 > now {
                break;
            }
            due.push(entry.remove());
        }
        let next = map.keys().next().map(|k| k.0);
        self.next
            .store(next.map_or(NONE, |d| self.nanos(d)), Ordering::Release);
        drop(map);
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
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let all = std::mem::take(&mut *map);
        self.next.store(NONE, Ordering::Release);
        drop(map);
        for (_, w) in all {
            w.wake();
        }
    }
}

/// Parks the running strand until `deadline` or an earlier wake. The timer
/// entry is removed however this returns (including by a cancellation
/// unwinding through it).
pub(crate) fn park_until(deadline: Instant) {
    let shared: Arc<Shared> =
        worker::with_worker(|w| Arc::clone(&w.expect("a strand runs on a worker").shared));
    let key = shared.insert_timer(deadline, Waiter::current());
    struct Deregister<'a>(&'a Shared, Key);
    impl Drop for Deregister<'_> {
        fn drop(&mut self) {
            self.0.timers.cancel(self.1);
        }
    }
    let _deregister = Deregister(&shared, key);
    worker::park_current();
}
