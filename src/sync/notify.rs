//! [`Notify`]: wake one waiter, or all, without a lock or a value.

use super::waitlist::{self, Queue, WaitSpec, Wakes};
use crate::spin::RawMutex;
use std::fmt;
use std::ptr;
use std::time::{Duration, Instant};

/// Woken by `notify_one`.
const ONE: usize = 0;
/// Woken by `notify_waiters`.
const ALL: usize = 1;

/// A signal without data, like tokio's `Notify`.
///
/// [`notify_one`](Notify::notify_one) wakes the first waiter, or, if nobody
/// waits, stores one permit so that the next [`wait`](Notify::wait)
/// returns at once (permits do not add up: at most one is stored).
/// [`notify_waiters`](Notify::notify_waiters) wakes everyone waiting now and
/// stores nothing. A strand cancelled while waiting withdraws, unless
/// `notify_one` picked it first: then its `wait` returns as usual (the
/// notification is its own) and the cancellation fires at its next
/// blocking point.
///
/// ```
/// use std::sync::Arc;
/// use strands::sync::Notify;
///
/// strands::run(|| {
///     let n = Arc::new(Notify::new());
///     let n2 = Arc::clone(&n);
///     let h = strands::spawn(move || n2.wait());
///     n.notify_one(); // wakes it, or leaves a permit if it is not waiting yet
///     h.join().unwrap();
/// });
/// ```
pub struct Notify {
    inner: RawMutex<State>,
}

struct State {
    permit: bool,
    queue: Queue,
}

impl Notify {
    /// A `Notify` with no stored permit.
    ///
    /// ```
    /// let n = strands::sync::Notify::new();
    /// assert!(!n.wait_timeout(std::time::Duration::ZERO));
    /// ```
    pub fn new() -> Notify {
        Notify {
            inner: RawMutex::new(State {
                permit: false,
                queue: Queue::new(),
            }),
        }
    }

    /// Wakes the first waiter, or stores the permit.
    ///
    /// ```
    /// use std::time::Duration;
    /// let n = strands::sync::Notify::new();
    /// n.notify_one();
    /// n.notify_one(); // permits do not add up
    /// assert!(n.wait_timeout(Duration::ZERO));
    /// assert!(!n.wait_timeout(Duration::ZERO));
    /// ```
    pub fn notify_one(&self) {
        let mut st = waitlist::lock(&self.inner);
        match st.queue.claim_first(ptr::null()) {
            Some(c) => {
                let w = c.complete(ONE);
                drop(st);
                w.wake();
            }
            None => st.permit = true,
        }
    }

    /// Wakes every current waiter (stores no permit).
    ///
    /// ```
    /// use std::time::Duration;
    /// let n = strands::sync::Notify::new();
    /// n.notify_waiters(); // nobody waits: nothing is stored
    /// assert!(!n.wait_timeout(Duration::from_millis(1)));
    /// ```
    pub fn notify_waiters(&self) {
        let mut st = waitlist::lock(&self.inner);
        let mut wakes = Wakes::none();
        while let Some(c) = st.queue.claim_first(ptr::null()) {
            wakes.push(c.complete(ALL));
        }
        drop(st);
        wakes.wake();
    }

    /// Parks until notified (returns at once, consuming it, if a permit is
    /// stored).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use strands::sync::{Mutex, Notify};
    ///
    /// strands::run(|| {
    ///     let (ready, value) = (Arc::new(Notify::new()), Arc::new(Mutex::new(0)));
    ///     let (r, v) = (Arc::clone(&ready), Arc::clone(&value));
    ///     strands::spawn(move || {
    ///         *v.lock().unwrap() = 7;
    ///         r.notify_one();
    ///     });
    ///     ready.wait();
    ///     assert_eq!(*value.lock().unwrap(), 7);
    /// });
    /// ```
    pub fn wait(&self) {
        self.wait_opt_deadline(None);
    }

    /// Like [`wait`](Notify::wait), giving up after `timeout`; returns
    /// whether it was notified.
    ///
    /// ```
    /// use std::time::Duration;
    /// let n = strands::sync::Notify::new();
    /// assert!(!n.wait_timeout(Duration::from_millis(1)));
    /// n.notify_one();
    /// assert!(n.wait_timeout(Duration::from_millis(1)));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_opt_deadline(Instant::now().checked_add(timeout))
    }

    fn wait_opt_deadline(&self, deadline: Option<Instant>) -> bool {
        let mut st = waitlist::lock(&self.inner);
        if std::mem::take(&mut st.permit) {
            return true;
        }
        waitlist::wait(
            st,
            WaitSpec {
                lock: &self.inner,
                queue: |s: &mut State| &mut s.queue,
                tag: 0,
                kind: crate::strand::WaitKind::Notify,
                data: ptr::null_mut(),
                deadline,
                cancellable: true,
                registered: || {},
                withdrawn: |_: &mut State| Wakes::none(),
                abandoned: |token| {
                    if token == ONE {
                        self.notify_one();
                    }
                },
            },
        )
        .is_some()
    }
}

impl Default for Notify {
    fn default() -> Notify {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notify").finish_non_exhaustive()
    }
}
