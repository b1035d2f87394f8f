//! Parking an idle worker thread without spinning, and waking it.

use crate::loom::{fence, AtomicBool, Condvar, Mutex, Ordering};

/// A one-token parker: `unpark` before `park` makes `park` return at once.
pub(crate) struct Parker {
    token: Mutex<bool>,
    cv: Condvar,
}

impl Parker {
    pub(crate) fn new() -> Parker {
        Parker {
            token: Mutex::new(false),
            cv: Condvar::new(),
        }
    }

    /// Blocks until a token is available, then consumes it.
    pub(crate) fn park(&self) {
        let mut token = self.token.lock().unwrap_or_else(|e| e.into_inner());
        while !*token {
            token = self.cv.wait(token).unwrap_or_else(|e| e.into_inner());
        }
        *token = false;
    }

    /// Makes a token available and wakes the parked thread, if any.
    pub(crate) fn unpark(&self) {
        let mut token = self.token.lock().unwrap_or_else(|e| e.into_inner());
        if !*token {
            *token = true;
            drop(token);
            self.cv.notify_one();
        }
    }
}

/// An idle worker's announcement that it sleeps, and the handshake that
/// keeps a push from being missed.
///
/// The sleeper sets its flag and then checks the queues one last time; a
/// pusher pushes and then checks the flag. Each side puts a `SeqCst` fence
/// between its write and its read, so at least one of them sees the other's
/// write: either the sleeper finds the work, or the pusher finds the flag
/// and wakes it. (The queues' own orderings are acquire/release at best,
/// so the fences, not the flag's ordering, carry the argument.)
///
/// A sleeper either parks on its [`Parker`] or, when it holds the I/O
/// driver's poller role, waits in the poller ([`Sleeper::sleep_polling`]).
/// It says which with a second flag, `polling`, written before `sleeping`
/// (which is stored with `Release`); a waker that wins the `sleeping` swap
/// (`Acquire`) therefore sees how to wake it: `Poller::notify` or the
/// parker (the `notify` closure the wakers take).
pub(crate) struct Sleeper {
    sleeping: AtomicBool,
    polling: AtomicBool,
    parker: Parker,
}

impl Sleeper {
    pub(crate) fn new() -> Sleeper {
        Sleeper {
            sleeping: AtomicBool::new(false),
            polling: AtomicBool::new(false),
            parker: Parker::new(),
        }
    }

    /// Sleeps unless `has_work` (checked after the announcement) says
    /// otherwise; returns once woken.
    pub(crate) fn sleep(&self, has_work: impl Fn() -> bool) {
        self.sleeping.store(true, Ordering::Release);
        fence(Ordering::SeqCst);
        if has_work() {
            self.sleeping.store(false, Ordering::Relaxed);
            return;
        }
        self.parker.park();
        self.sleeping.store(false, Ordering::Relaxed);
    }

    /// Like [`Sleeper::sleep`], but sleeps in `wait` (the poller's wait,
    /// which a waker interrupts with `Poller::notify`) instead of the
    /// parker.
    #[cfg_attr(loom, allow(dead_code))] // the driver is not built under loom
    pub(crate) fn sleep_polling(&self, has_work: impl Fn() -> bool, wait: impl FnOnce()) {
        self.polling.store(true, Ordering::Relaxed);
        self.sleeping.store(true, Ordering::Release);
        fence(Ordering::SeqCst);
        if !has_work() {
            wait();
        }
        self.sleeping.store(false, Ordering::Relaxed);
        self.polling.store(false, Ordering::Relaxed);
    }

    /// Called after a push: wakes the sleeper if it announced sleep (with
    /// `notify` if it sleeps in the poller). Returns whether this call woke
    /// it.
    pub(crate) fn wake_if_sleeping(&self, notify: impl FnOnce()) -> bool {
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::Relaxed)
            && self
                .sleeping
                .compare_exchange(true, false, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            if self.polling.load(Ordering::Relaxed) {
                notify();
            } else {
                self.parker.unpark();
            }
            return true;
        }
        false
    }

    /// Wakes unconditionally (shutdown, or work only this worker can take:
    /// a strand woken for it). Called after the push, like
    /// `wake_if_sleeping`; the fence pairs with the sleeper's.
    pub(crate) fn unpark(&self, notify: impl FnOnce()) {
        fence(Ordering::SeqCst);
        if self.polling.load(Ordering::Relaxed) {
            notify();
        }
        self.parker.unpark();
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::Sleeper;
    use crate::loom::{Arc, AtomicUsize, Ordering};

    /// A queue as the handshake sees it: a release push, an acquire
    /// emptiness check (weaker than crossbeam's, so a pass covers it).
    struct MockQueue(AtomicUsize);
    impl MockQueue {
        fn push(&self) {
            self.0.fetch_add(1, Ordering::Release);
        }
        fn pop(&self) -> bool {
            let mut n = self.0.load(Ordering::Acquire);
            while n > 0 {
                match self
                    .0
                    .compare_exchange(n, n - 1, Ordering::AcqRel, Ordering::Acquire)
                {
                    Ok(_) => return true,
                    Err(now) => n = now,
                }
            }
            false
        }
        fn is_empty(&self) -> bool {
            self.0.load(Ordering::Acquire) == 0
        }
    }

    #[test]
    fn loom_a_push_never_leaves_a_sleeping_worker_asleep() {
        // Two pushers, one worker that sleeps whenever it finds the queue
        // empty. If a push were missed the worker would park forever and
        // loom would report the deadlock.
        loom::model(|| {
            let q = Arc::new(MockQueue(AtomicUsize::new(0)));
            let s = Arc::new(Sleeper::new());
            let pushers: Vec<_> = (0..2)
                .map(|_| {
                    let (q, s) = (Arc::clone(&q), Arc::clone(&s));
                    loom::thread::spawn(move || {
                        q.push();
                        s.wake_if_sleeping(|| {});
                    })
                })
                .collect();
            let mut ran = 0;
            while ran < 2 {
                if q.pop() {
                    ran += 1;
                } else {
                    s.sleep(|| !q.is_empty());
                }
            }
            pushers.into_iter().for_each(|p| p.join().unwrap());
        });
    }
}
