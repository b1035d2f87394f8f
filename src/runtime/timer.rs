//! Timers: one ordered map of deadlines per runtime, served by a timer
//! thread.
//!
//! A strand that sleeps registers `(deadline, waiter)` and parks; it costs
//! no worker. The timer thread waits on a condition variable until the
//! earliest deadline (or until an earlier one is registered), removes every
//! entry that is due and wakes its waiter. A woken sleeper re-checks the
//! clock, so it never returns early, whatever spurious wake it gets.
//!
//! The map is a `BTreeMap` keyed by `(deadline, sequence)`: inserting and
//! cancelling (a join that finished before its timeout) are `O(log n)`, and
//! firing takes entries in order. (The I/O driver issue moves this onto the
//! poller's timeout, replacing the thread.)

use super::{worker, Shared};
use crate::loom::{Arc, AtomicU64, Condvar, Mutex, Ordering};
use crate::strand::waiter::Waiter;
use std::collections::BTreeMap;
use std::time::Instant;

pub(crate) type Key = (Instant, u64);

pub(crate) struct Timers {
    map: Mutex<TimerState>,
    cv: Condvar,
    seq: AtomicU64,
    pub(crate) fired: AtomicU64,
}

struct TimerState {
    entries: BTreeMap<Key, Waiter>,
    shutdown: bool,
}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            map: Mutex::new(TimerState {
                entries: BTreeMap::new(),
                shutdown: false,
            }),
            cv: Condvar::new(),
            seq: AtomicU64::new(0),
            fired: AtomicU64::new(0),
        }
    }

    /// Registers `waiter` to be woken at `deadline`.
    pub(crate) fn insert(&self, deadline: Instant, waiter: Waiter) -> Key {
        let key = (deadline, self.seq.fetch_add(1, Ordering::Relaxed));
        let mut st = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let earliest = st.entries.keys().next().is_none_or(|k| key < *k);
        st.entries.insert(key, waiter);
        drop(st);
        if earliest {
            self.cv.notify_one();
        }
        key
    }

    /// Removes an entry that has not fired (a no-op if it has).
    pub(crate) fn cancel(&self, key: Key) {
        let w = self
            .map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entries
            .remove(&key);
        drop(w); // outside the lock: dropping a strand handle may free it
    }

    /// Number of registered timers.
    pub(crate) fn len(&self) -> usize {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entries
            .len()
    }

    /// Stops the timer thread after waking every remaining waiter (used at
    /// shutdown, when sleepers are being cancelled).
    pub(crate) fn shutdown(&self) {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).shutdown = true;
        self.cv.notify_all();
        self.wake_all_now();
    }

    /// Removes every timer and wakes its waiter now, due or not (shutdown:
    /// sleepers wake to find themselves cancelled).
    pub(crate) fn wake_all_now(&self) {
        let mut st = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let all = std::mem::take(&mut st.entries);
        drop(st);
        for (_, w) in all {
            w.wake();
        }
    }

    /// The timer thread's loop.
    pub(crate) fn run(&self) {
        let mut st = self.map.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if st.shutdown {
                return;
            }
            let now = Instant::now();
            let mut due = Vec::new();
            while let Some(entry) = st.entries.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                due.push(entry.remove());
            }
            if !due.is_empty() {
                drop(st);
                self.fired.fetch_add(due.len() as u64, Ordering::Relaxed);
                for w in due {
                    w.wake();
                }
                st = self.map.lock().unwrap_or_else(|e| e.into_inner());
                continue;
            }
            st = match st.entries.keys().next() {
                Some(&(deadline, _)) => {
                    let wait = deadline.saturating_duration_since(now);
                    self.cv
                        .wait_timeout(st, wait)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => self.cv.wait(st).unwrap_or_else(|e| e.into_inner()),
            };
        }
    }
}

/// Parks the running strand until `deadline` or an earlier wake. The timer
/// entry is removed however this returns (including by a cancellation
/// unwinding through it).
pub(crate) fn park_until(deadline: Instant) {
    let shared: Arc<Shared> =
        worker::with_worker(|w| Arc::clone(&w.expect("a strand runs on a worker").shared));
    let key = shared.timers.insert(deadline, Waiter::current());
    struct Deregister<'a>(&'a Shared, Key);
    impl Drop for Deregister<'_> {
        fn drop(&mut self) {
            self.0.timers.cancel(self.1);
        }
    }
    let _deregister = Deregister(&shared, key);
    worker::park_current();
}
