//! An idle worker thread: blocking it without spinning, and notifying it.
//!
//! Vocabulary: *strands* park and are woken; *workers* go idle and are
//! notified. An idle worker's thread blocks on a [`Blocker`] or, when it
//! holds the I/O driver's poller role, in the poller.

use crate::loom::{fence, AtomicBool, Condvar, Mutex, Ordering};

/// A one-token blocker: `unblock` before `block` makes `block` return at once.
pub(crate) struct Blocker {
    token: Mutex<bool>,
    cv: Condvar,
}

impl Blocker {
    pub(crate) fn new() -> Blocker {
        Blocker {
            token: Mutex::new(false),
            cv: Condvar::new(),
        }
    }

    /// Blocks until a token is available, then consumes it.
    pub(crate) fn block(&self) {
        let mut token = self.token.lock().unwrap_or_else(|e| e.into_inner());
        while !*token {
            token = self.cv.wait(token).unwrap_or_else(|e| e.into_inner());
        }
        *token = false;
    }

    /// Makes a token available and releases the blocked thread, if any.
    pub(crate) fn unblock(&self) {
        let mut token = self.token.lock().unwrap_or_else(|e| e.into_inner());
        if !*token {
            *token = true;
            drop(token);
            self.cv.notify_one();
        }
    }
}

/// An idle worker's announcement that it is idle, and the handshake that
/// keeps a push from being missed.
///
/// The idle worker sets its flag and then checks the queues one last time; a
/// pusher pushes and then checks the flag. Each side puts a `SeqCst` fence
/// between its write and its read, so at least one of them sees the other's
/// write: either the idle worker finds the work, or the pusher finds the
/// flag and notifies it. (The queues' own orderings are acquire/release at best,
/// so the fences, not the flag's ordering, carry the argument.)
///
/// An idle worker either blocks on its [`Blocker`] or, when it holds the
/// I/O driver's poller role, waits in the poller ([`Idle::idle_polling`]).
/// It says which with a second flag, `polling`, written before `idle`
/// (which is stored with `Release`); a waker that wins the `idle` swap
/// (`Acquire`) therefore sees how to notify it: `Poller::notify` (the
/// `notify_poller` closure the notifiers take) or the blocker.
pub(crate) struct Idle {
    idle: AtomicBool,
    polling: AtomicBool,
    blocker: Blocker,
}

impl Idle {
    pub(crate) fn new() -> Idle {
        Idle {
            idle: AtomicBool::new(false),
            polling: AtomicBool::new(false),
            blocker: Blocker::new(),
        }
    }

    /// Sleeps unless `has_work` (checked after the announcement) says
    /// otherwise; returns once woken.
    pub(crate) fn idle(&self, has_work: impl Fn() -> bool) {
        self.idle.store(true, Ordering::Release);
        fence(Ordering::SeqCst);
        if has_work() {
            self.idle.store(false, Ordering::Relaxed);
            return;
        }
        self.blocker.block();
        self.idle.store(false, Ordering::Relaxed);
    }

    /// Like [`Idle::idle`], but waits in `wait` (the poller's wait,
    /// which a notifier interrupts with `Poller::notify`) instead of the
    /// blocker.
    pub(crate) fn idle_polling(&self, has_work: impl Fn() -> bool, wait: impl FnOnce()) {
        self.polling.store(true, Ordering::Relaxed);
        self.idle.store(true, Ordering::Release);
        fence(Ordering::SeqCst);
        if !has_work() {
            wait();
        }
        self.idle.store(false, Ordering::Relaxed);
        self.polling.store(false, Ordering::Relaxed);
    }

    /// Called after a push: notifies the worker if it announced it is idle
    /// (with `notify_poller` if it waits in the poller). Returns whether
    /// this call notified it.
    pub(crate) fn notify_if_idle(&self, notify_poller: impl FnOnce()) -> bool {
        fence(Ordering::SeqCst);
        if self.idle.load(Ordering::Relaxed)
            && self
                .idle
                .compare_exchange(true, false, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            if self.polling.load(Ordering::Relaxed) {
                notify_poller();
            } else {
                self.blocker.unblock();
            }
            return true;
        }
        false
    }

    /// Wakes unconditionally (shutdown, or work only this worker can take:
    /// a strand woken for it). Called after the push, like
    /// `notify_if_idle`; the fence pairs with the idle worker's.
    pub(crate) fn notify(&self, notify_poller: impl FnOnce()) {
        fence(Ordering::SeqCst);
        if self.polling.load(Ordering::Relaxed) {
            notify_poller();
        }
        self.blocker.unblock();
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::Idle;
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
    fn loom_a_push_never_leaves_an_idle_worker_idle() {
        // Two pushers, one worker that goes idle whenever it finds the queue
        // empty. If a push were missed the worker would stay idle forever and
        // loom would report the deadlock.
        loom::model(|| {
            let q = Arc::new(MockQueue(AtomicUsize::new(0)));
            let s = Arc::new(Idle::new());
            let pushers: Vec<_> = (0..2)
                .map(|_| {
                    let (q, s) = (Arc::clone(&q), Arc::clone(&s));
                    loom::thread::spawn(move || {
                        q.push();
                        s.notify_if_idle(|| {});
                    })
                })
                .collect();
            let mut ran = 0;
            while ran < 2 {
                if q.pop() {
                    ran += 1;
                } else {
                    s.idle(|| !q.is_empty());
                }
            }
            pushers.into_iter().for_each(|p| p.join().unwrap());
        });
    }
}
