//! [`Condvar`]: wait for a condition guarded by a [`Mutex`].

use super::waitlist::{self, Queue, WaitSpec, Wakes};
use super::{LockResult, Mutex, MutexGuard};
use crate::spin::RawMutex;
use std::fmt;
use std::ptr;
use std::time::{Duration, Instant};

const NOTIFIED: usize = 0;

/// A condition variable like [`std::sync::Condvar`], for this crate's
/// [`Mutex`]; waiting parks the strand (or the thread).
///
/// Waiters are woken in FIFO order. A strand cancelled while it waits
/// unwinds without its guard (the mutex is left unlocked), unless a
/// notification picked it first: then `wait` completes as usual (it locks
/// the mutex again, which is then not a cancellation point, and returns the
/// guard) and the cancellation fires at the strand's next blocking point.
/// So a notification is never consumed by a waiter that then unwinds. As with std, waits may
/// wake spuriously: wait in a loop, or use
/// [`wait_while`](Condvar::wait_while). Using one condition variable with
/// two different mutexes is a logic error (no undefined behaviour: waiters
/// just see spurious wake-ups).
///
/// ```
/// use std::sync::Arc;
/// use strands::sync::{Condvar, Mutex};
///
/// strands::run(|| {
///     let pair = Arc::new((Mutex::new(false), Condvar::new()));
///     let pair2 = Arc::clone(&pair);
///     strands::spawn(move || {
///         *pair2.0.lock().unwrap() = true;
///         pair2.1.notify_one();
///     });
///     let (lock, cvar) = &*pair;
///     let ready = cvar.wait_while(lock.lock().unwrap(), |r| !*r).unwrap();
///     assert!(*ready);
/// });
/// ```
pub struct Condvar {
    waiters: RawMutex<Queue>,
}

/// Whether a timed wait on a [`Condvar`] timed out.
///
/// ```
/// use std::time::Duration;
/// use strands::sync::{Condvar, Mutex};
/// let (m, cv) = (Mutex::new(()), Condvar::new());
/// let (_g, r) = cv.wait_timeout(m.lock().unwrap(), Duration::ZERO).unwrap();
/// assert!(r.timed_out());
/// ```
#[derive(Debug, PartialEq, Eq, Copy, Clone)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// Whether the wait ended because its time ran out.
    ///
    /// ```
    /// use std::time::Duration;
    /// use strands::sync::{Condvar, Mutex};
    /// let (m, cv) = (Mutex::new(()), Condvar::new());
    /// let (_g, r) = cv.wait_timeout(m.lock().unwrap(), Duration::ZERO).unwrap();
    /// assert!(r.timed_out());
    /// ```
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

impl Condvar {
    /// A condition variable nobody waits on.
    ///
    /// ```
    /// let cv = strands::sync::Condvar::new();
    /// cv.notify_all(); // nobody waits: nothing happens
    /// ```
    pub fn new() -> Condvar {
        Condvar {
            waiters: RawMutex::new(Queue::new()),
        }
    }

    /// Releases `guard`'s mutex, parks until notified, then locks the mutex
    /// again and returns the guard (an `Err` carrying it if the mutex is
    /// poisoned). May wake spuriously.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use strands::sync::{Condvar, Mutex};
    ///
    /// strands::run(|| {
    ///     let pair = Arc::new((Mutex::new(0), Condvar::new()));
    ///     let p = Arc::clone(&pair);
    ///     strands::spawn(move || {
    ///         *p.0.lock().unwrap() = 42;
    ///         p.1.notify_one();
    ///     });
    ///     let (lock, cvar) = &*pair;
    ///     let mut v = lock.lock().unwrap();
    ///     while *v == 0 {
    ///         v = cvar.wait(v).unwrap();
    ///     }
    ///     assert_eq!(*v, 42);
    /// });
    /// ```
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> {
        self.wait_deadline(guard, None).0
    }

    /// Waits while `condition` holds for the guarded value.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use strands::sync::{Condvar, Mutex};
    ///
    /// strands::run(|| {
    ///     let queue = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
    ///     let q = Arc::clone(&queue);
    ///     strands::spawn(move || {
    ///         q.0.lock().unwrap().push("job");
    ///         q.1.notify_one();
    ///     });
    ///     let (lock, cvar) = &*queue;
    ///     let mut jobs = cvar.wait_while(lock.lock().unwrap(), |j| j.is_empty()).unwrap();
    ///     assert_eq!(jobs.pop(), Some("job"));
    /// });
    /// ```
    pub fn wait_while<'a, T: ?Sized, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: F,
    ) -> LockResult<MutexGuard<'a, T>>
    where
        F: FnMut(&mut T) -> bool,
    {
        while condition(&mut *guard) {
            guard = self.wait(guard)?;
        }
        Ok(guard)
    }

    /// Like [`wait`](Condvar::wait), giving up after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use strands::sync::{Condvar, Mutex};
    /// let (m, cv) = (Mutex::new(()), Condvar::new());
    /// let (_g, r) = cv.wait_timeout(m.lock().unwrap(), Duration::from_millis(1)).unwrap();
    /// assert!(r.timed_out());
    /// ```
    pub fn wait_timeout<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
        let deadline = Instant::now().checked_add(timeout);
        let (r, timed_out) = self.wait_deadline(guard, deadline);
        match r {
            Ok(g) => Ok((g, WaitTimeoutResult(timed_out))),
            Err(e) => Err(std::sync::PoisonError::new((
                e.into_inner(),
                WaitTimeoutResult(timed_out),
            ))),
        }
    }

    /// Like [`wait_while`](Condvar::wait_while), giving up after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use strands::sync::{Condvar, Mutex};
    ///
    /// let (m, cv) = (Mutex::new(false), Condvar::new());
    /// // Nobody sets the flag: the wait gives up.
    /// let (ready, r) = cv
    ///     .wait_timeout_while(m.lock().unwrap(), Duration::from_millis(5), |r| !*r)
    ///     .unwrap();
    /// assert!(r.timed_out());
    /// assert!(!*ready);
    /// ```
    pub fn wait_timeout_while<'a, T: ?Sized, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        timeout: Duration,
        mut condition: F,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)>
    where
        F: FnMut(&mut T) -> bool,
    {
        let deadline = Instant::now().checked_add(timeout);
        loop {
            if !condition(&mut *guard) {
                return Ok((guard, WaitTimeoutResult(false)));
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok((guard, WaitTimeoutResult(true)));
            }
            guard = match self.wait_deadline(guard, deadline).0 {
                Ok(g) => g,
                Err(e) => {
                    return Err(std::sync::PoisonError::new((
                        e.into_inner(),
                        WaitTimeoutResult(false),
                    )))
                }
            };
        }
    }

    fn wait_deadline<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        deadline: Option<Instant>,
    ) -> (LockResult<MutexGuard<'a, T>>, bool) {
        let q = waitlist::lock(&self.waiters);
        let mut guard = Some(guard);
        let mut mutex: Option<&'a Mutex<T>> = None;
        let token = waitlist::wait(
            q,
            WaitSpec {
                lock: &self.waiters,
                queue: |q: &mut Queue| q,
                tag: 0,
                kind: crate::strand::WaitKind::Condvar,
                data: ptr::null_mut(),
                deadline,
                cancellable: true,
                // Registered first, then unlocked: a notify after our
                // unlock finds us.
                registered: || {
                    mutex = Some(Mutex::unlock_for_wait(guard.take().expect("guard")));
                },
                withdrawn: |_: &mut Queue| Wakes::none(),
                // Picked by notify_one but unwinding: pass it on.
                abandoned: |_| self.notify_one(),
            },
        );
        let mutex = mutex.expect("unlocked while waiting");
        // Notified (or timed out): the wait completes, so re-locking is not
        // a cancellation point (one that unwound here would have consumed
        // a notification for nothing); the next blocking point is.
        (mutex.lock_with(false), token.is_none())
    }

    /// Wakes the first waiter, if any.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use strands::sync::{Condvar, Mutex};
    ///
    /// strands::run(|| {
    ///     let pair = Arc::new((Mutex::new(false), Condvar::new()));
    ///     let p = Arc::clone(&pair);
    ///     let waiter = strands::spawn(move || {
    ///         let g = p.1.wait_while(p.0.lock().unwrap(), |ready| !*ready).unwrap();
    ///         *g
    ///     });
    ///     *pair.0.lock().unwrap() = true;
    ///     pair.1.notify_one();
    ///     assert!(waiter.join().unwrap());
    /// });
    /// ```
    pub fn notify_one(&self) {
        let mut q = waitlist::lock(&self.waiters);
        let w = q.claim_first(ptr::null()).map(|c| c.complete(NOTIFIED));
        drop(q);
        if let Some(w) = w {
            w.wake();
        }
    }

    /// Wakes every waiter.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use strands::sync::{Condvar, Mutex};
    ///
    /// strands::run(|| {
    ///     let gate = Arc::new((Mutex::new(false), Condvar::new()));
    ///     let waiters: Vec<_> = (0..3)
    ///         .map(|_| {
    ///             let g = Arc::clone(&gate);
    ///             strands::spawn(move || {
    ///                 let _open = g.1.wait_while(g.0.lock().unwrap(), |open| !*open).unwrap();
    ///             })
    ///         })
    ///         .collect();
    ///     *gate.0.lock().unwrap() = true;
    ///     gate.1.notify_all();
    ///     waiters.into_iter().for_each(|w| w.join().unwrap());
    /// });
    /// ```
    pub fn notify_all(&self) {
        let mut q = waitlist::lock(&self.waiters);
        let mut wakes = Wakes::none();
        while let Some(c) = q.claim_first(ptr::null()) {
            wakes.push(c.complete(NOTIFIED));
        }
        drop(q);
        wakes.wake();
    }
}

impl Default for Condvar {
    fn default() -> Condvar {
        Condvar::new()
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}
