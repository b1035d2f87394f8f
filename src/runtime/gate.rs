//! Admission of strands into a runtime, and its closing at shutdown.
//!
//! Two handshakes meet here, both between a spawner and a shutdown:
//!
//! - **spawn vs shutdown.** A spawner counts its strand in (`enter`), then
//!   registers it and checks whether the runtime closed
//!   (`closed_while_registering`) under the same registry shard lock;
//!   shutdown closes, then cancels every registered strand (taking each
//!   shard's lock in turn) and waits until none is counted. The shard lock
//!   orders the two: if the shutdown went through the shard first, its
//!   close happened before and the spawner sees it (and backs out, or
//!   cancels its own strand); otherwise the shutdown sees the strand (in the
//!   registry, and in the count it waits on). No strand slips past a
//!   shutdown uncancelled, and a spawn pays no fence for it (a `SeqCst`
//!   fence here was an `mfence` per spawn).
//! - **finish vs shutdown.** The last strand to leave after the close
//!   wakes the shutdown; the same fences make sure one of the two sees the
//!   other, and the wake is sent under the lock the shutdown waits with.
//!
//! Model-checked in `loom_tests` below with the real registry.

use crate::loom::{fence, AtomicBool, AtomicUsize, Condvar, Mutex, Ordering};
use std::time::Instant;

pub(crate) struct Gate {
    live: AtomicUsize,
    closed: AtomicBool,
    max: usize,
    drained: (Mutex<()>, Condvar),
}

/// The bound on live strands is reached.
#[derive(Debug)]
pub(crate) struct Full;

impl Gate {
    pub(crate) fn new(max: usize) -> Gate {
        Gate {
            live: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            max,
            drained: (Mutex::new(()), Condvar::new()),
        }
    }

    /// Counts a strand in, unless the bound is reached.
    pub(crate) fn enter(&self) -> Result<(), Full> {
        if self.live.fetch_add(1, Ordering::Relaxed) >= self.max {
            let _ = self.leave();
            return Err(Full);
        }
        Ok(())
    }

    /// Whether the runtime closed, checked by a spawner that counted its
    /// strand in, under the registry shard lock it registers the strand
    /// with (see the module docs).
    pub(crate) fn closed_while_registering(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Whether the runtime closed (a hint: no ordering promised).
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Counts a strand out; the last one after the close wakes the
    /// shutdown waiting in [`Gate::wait_drained`], and returns `true`.
    pub(crate) fn leave(&self) -> bool {
        if self.live.fetch_sub(1, Ordering::Release) == 1 {
            fence(Ordering::SeqCst);
            if self.closed.load(Ordering::Relaxed) {
                let (lock, cv) = &self.drained;
                drop(lock.lock().unwrap_or_else(|e| e.into_inner()));
                cv.notify_all();
                return true;
            }
        }
        false
    }

    /// Closes the gate; returns whether it was already closed.
    pub(crate) fn close(&self) -> bool {
        let was = self.closed.swap(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        was
    }

    /// Strands counted in now.
    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// Closed and empty: workers may exit.
    pub(crate) fn is_drained(&self) -> bool {
        self.closed.load(Ordering::Acquire) && self.live.load(Ordering::Acquire) == 0
    }

    /// After [`Gate::close`]: waits until no strand is counted, or until
    /// `deadline`. Returns whether it drained.
    pub(crate) fn wait_drained(&self, deadline: Option<Instant>) -> bool {
        let (lock, cv) = &self.drained;
        let mut g = lock.lock().unwrap_or_else(|e| e.into_inner());
        while self.live.load(Ordering::Acquire) != 0 {
            g = match deadline {
                None => cv.wait(g).unwrap_or_else(|e| e.into_inner()),
                #[cfg(not(loom))]
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return false;
                    }
                    cv.wait_timeout(g, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                #[cfg(loom)]
                Some(_) => unreachable!("the models wait without a deadline"),
            };
        }
        true
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::Gate;
    use crate::loom::{Arc, AtomicUsize, Condvar, Mutex};
    use crate::runtime::registry::{Registered, Registry};

    /// A strand that, once admitted, runs until cancelled.
    struct MockStrand {
        slot: AtomicUsize,
        cancelled: Mutex<bool>,
        cv: Condvar,
    }

    impl Registered for MockStrand {
        fn registry_slot(&self) -> &AtomicUsize {
            &self.slot
        }
    }

    impl MockStrand {
        fn cancel(&self) {
            *self.cancelled.lock().unwrap() = true;
            self.cv.notify_all();
        }
        fn run_until_cancelled(&self) {
            let mut c = self.cancelled.lock().unwrap();
            while !*c {
                c = self.cv.wait(c).unwrap();
            }
        }
    }

    /// A spawn (from outside, or from a strand of the runtime) races a
    /// shutdown. Whatever the interleaving, the shutdown returns: the
    /// strand is refused, or cancelled (by the shutdown or by its spawner)
    /// and counted out. A strand that slipped through uncancelled would
    /// run forever and loom would report the deadlock.
    fn spawn_races_shutdown(own: bool) {
        loom::model(move || {
            let gate = Arc::new(Gate::new(8));
            let reg = Arc::new(Registry::<MockStrand>::new());
            let (g, r) = (Arc::clone(&gate), Arc::clone(&reg));
            let spawner = loom::thread::spawn(move || {
                g.enter().unwrap();
                let s = Arc::new(MockStrand {
                    slot: AtomicUsize::new(usize::MAX),
                    cancelled: Mutex::new(false),
                    cv: Condvar::new(),
                });
                // (reading the close before taking the shard lock instead
                // makes this model fail: the strand slips past the shutdown)
                if r.insert(&s, 0, || g.closed_while_registering()) {
                    if own {
                        s.cancel(); // a pre-cancelled strand
                    } else {
                        r.remove(&s); // refused
                        let _ = g.leave();
                        return;
                    }
                }
                // its worker runs it
                s.run_until_cancelled();
                r.remove(&s);
                let _ = g.leave();
            });
            assert!(!gate.close());
            for s in reg.all() {
                s.cancel();
            }
            assert!(gate.wait_drained(None));
            spawner.join().unwrap();
        });
    }

    #[test]
    fn loom_spawn_from_outside_races_shutdown() {
        spawn_races_shutdown(false);
    }

    #[test]
    fn loom_spawn_from_a_strand_races_shutdown() {
        spawn_races_shutdown(true);
    }
}
