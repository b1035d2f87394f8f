//! [`Semaphore`]: a count of permits; acquiring parks while none is left.

use super::waitlist::{self, Queue, WaitSpec, Wakes};
use crate::loom::Arc;
use crate::spin::RawMutex;
use std::fmt;
use std::ptr;
use std::time::{Duration, Instant};

const GRANTED: usize = 0;

/// A counting semaphore whose waiters park.
///
/// Waiters are served in FIFO order, and a waiter asking for several
/// permits ([`acquire_many`](Semaphore::acquire_many)) holds back those
/// behind it until it is served (no starvation of large requests).
/// [`Semaphore::new(0)`](Semaphore::new) is valid: every acquire waits until
/// [`add_permits`](Semaphore::add_permits) or a permit's release. A strand
/// cancelled while waiting leaves the queue and unwinds; if its permits were
/// granted first, `acquire` returns them as usual (released when the permit
/// drops) and the cancellation fires at the next blocking point.
///
/// ```
/// use std::sync::Arc;
/// use strands::sync::Semaphore;
///
/// strands::run(|| {
///     let sem = Arc::new(Semaphore::new(2));
///     let hs: Vec<_> = (0..8)
///         .map(|_| {
///             let sem = Arc::clone(&sem);
///             strands::spawn(move || {
///                 let _permit = sem.acquire(); // at most two hold one at once
///                 strands::yield_now();
///             })
///         })
///         .collect();
///     hs.into_iter().for_each(|h| h.join().unwrap());
///     assert_eq!(sem.available_permits(), 2);
/// });
/// ```
pub struct Semaphore {
    inner: RawMutex<State>,
}

struct State {
    permits: usize,
    queue: Queue,
}

/// Permits borrowed from a [`Semaphore`]; given back when dropped.
///
/// ```
/// let sem = strands::sync::Semaphore::new(1);
/// let p = sem.acquire();
/// assert!(sem.try_acquire().is_none());
/// drop(p);
/// assert!(sem.try_acquire().is_some());
/// ```
#[must_use = "the permit is released at once if unused"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    n: usize,
}

/// Permits owned through an `Arc<Semaphore>` (can be moved into a strand);
/// given back when dropped.
///
/// ```
/// use std::sync::Arc;
/// let sem = Arc::new(strands::sync::Semaphore::new(1));
/// let p = sem.acquire_owned();
/// strands::run(move || strands::spawn(move || drop(p)).join().unwrap());
/// assert_eq!(sem.available_permits(), 1);
/// ```
#[must_use = "the permit is released at once if unused"]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    n: usize,
}

impl Semaphore {
    /// A semaphore with `permits` permits (0 is allowed).
    ///
    /// ```
    /// let sem = strands::sync::Semaphore::new(3);
    /// assert_eq!(sem.available_permits(), 3);
    /// ```
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            inner: RawMutex::new(State {
                permits,
                queue: Queue::new(),
            }),
        }
    }

    /// Permits available now.
    ///
    /// ```
    /// let sem = strands::sync::Semaphore::new(2);
    /// let _p = sem.acquire();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn available_permits(&self) -> usize {
        waitlist::lock(&self.inner).permits
    }

    /// Adds `n` permits, serving waiters first.
    ///
    /// # Panics
    ///
    /// If the count of available permits would overflow `usize`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use strands::sync::Semaphore;
    ///
    /// strands::run(|| {
    ///     let sem = Arc::new(Semaphore::new(0));
    ///     let s = Arc::clone(&sem);
    ///     let waiter = strands::spawn(move || s.acquire().num_permits());
    ///     sem.add_permits(1); // serves the waiter
    ///     assert_eq!(waiter.join().unwrap(), 1);
    ///     assert_eq!(sem.available_permits(), 1); // given back when it dropped
    /// });
    /// ```
    pub fn add_permits(&self, n: usize) {
        self.release(n);
    }

    /// Takes one permit, parking until one is free.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use strands::sync::Semaphore;
    ///
    /// strands::run(|| {
    ///     // At most 3 "connections" in use at once.
    ///     let (sem, busy) = (Arc::new(Semaphore::new(3)), Arc::new(AtomicUsize::new(0)));
    ///     let hs: Vec<_> = (0..10)
    ///         .map(|_| {
    ///             let (sem, busy) = (Arc::clone(&sem), Arc::clone(&busy));
    ///             strands::spawn(move || {
    ///                 let _permit = sem.acquire();
    ///                 assert!(busy.fetch_add(1, Ordering::SeqCst) < 3);
    ///                 strands::yield_now();
    ///                 busy.fetch_sub(1, Ordering::SeqCst);
    ///             })
    ///         })
    ///         .collect();
    ///     hs.into_iter().for_each(|h| h.join().unwrap());
    /// });
    /// ```
    pub fn acquire(&self) -> SemaphorePermit<'_> {
        self.acquire_many(1)
    }

    /// Takes `n` permits at once, parking until they are free (`n == 0`
    /// returns at once).
    ///
    /// ```
    /// let sem = strands::sync::Semaphore::new(5);
    /// let p = sem.acquire_many(3);
    /// assert_eq!(p.num_permits(), 3);
    /// assert_eq!(sem.available_permits(), 2);
    /// drop(p);
    /// assert_eq!(sem.available_permits(), 5);
    /// ```
    pub fn acquire_many(&self, n: usize) -> SemaphorePermit<'_> {
        let got = self.take(n, None);
        debug_assert!(got);
        SemaphorePermit { sem: self, n }
    }

    /// Takes one permit, or gives up after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let sem = strands::sync::Semaphore::new(0);
    /// assert!(sem.acquire_timeout(Duration::from_millis(1)).is_none());
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<SemaphorePermit<'_>> {
        let deadline = Instant::now().checked_add(timeout);
        self.take(1, deadline)
            .then(|| SemaphorePermit { sem: self, n: 1 })
    }

    /// Takes one permit if one is free and nobody queues ahead.
    ///
    /// ```
    /// let sem = strands::sync::Semaphore::new(1);
    /// let p = sem.try_acquire().expect("one is free");
    /// assert!(sem.try_acquire().is_none());
    /// drop(p);
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.try_take(1)
            .then(|| SemaphorePermit { sem: self, n: 1 })
    }

    /// [`acquire`](Semaphore::acquire), with a permit that keeps the
    /// semaphore alive.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use strands::sync::Semaphore;
    ///
    /// strands::run(|| {
    ///     let sem = Arc::new(Semaphore::new(2));
    ///     let hs: Vec<_> = (0..4)
    ///         .map(|i| {
    ///             let permit = sem.acquire_owned(); // taken here, released in the strand
    ///             strands::spawn(move || {
    ///                 let _permit = permit;
    ///                 i * 2
    ///             })
    ///         })
    ///         .collect();
    ///     let sum: i32 = hs.into_iter().map(|h| h.join().unwrap()).sum();
    ///     assert_eq!(sum, 12);
    /// });
    /// ```
    pub fn acquire_owned(self: &Arc<Self>) -> OwnedSemaphorePermit {
        let got = self.take(1, None);
        debug_assert!(got);
        OwnedSemaphorePermit {
            sem: Arc::clone(self),
            n: 1,
        }
    }

    /// [`try_acquire`](Semaphore::try_acquire), with an owned permit.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(strands::sync::Semaphore::new(1));
    /// let p = sem.try_acquire_owned().unwrap();
    /// assert!(sem.try_acquire_owned().is_none());
    /// drop(p);
    /// ```
    pub fn try_acquire_owned(self: &Arc<Self>) -> Option<OwnedSemaphorePermit> {
        self.try_take(1).then(|| OwnedSemaphorePermit {
            sem: Arc::clone(self),
            n: 1,
        })
    }

    fn try_take(&self, n: usize) -> bool {
        let mut st = waitlist::lock(&self.inner);
        if st.queue.is_empty() && st.permits >= n {
            st.permits -= n;
            true
        } else {
            false
        }
    }

    /// Takes `n` permits; `false` if `deadline` passed first.
    fn take(&self, n: usize, deadline: Option<Instant>) -> bool {
        let mut st = waitlist::lock(&self.inner);
        if st.queue.is_empty() && st.permits >= n {
            st.permits -= n;
            return true;
        }
        let token = waitlist::wait(
            st,
            WaitSpec {
                lock: &self.inner,
                queue: |s: &mut State| &mut s.queue,
                tag: n,
                kind: crate::strand::WaitKind::Semaphore,
                data: ptr::null_mut(),
                deadline,
                cancellable: true,
                registered: || {},
                // We may have held back smaller requests behind us.
                withdrawn: grant,
                // Granted but unwinding: give them back.
                abandoned: |_| self.release(n),
            },
        );
        token == Some(GRANTED)
    }

    fn release(&self, n: usize) {
        let mut st = waitlist::lock(&self.inner);
        st.permits = st
            .permits
            .checked_add(n)
            .expect("semaphore permit count overflowed");
        let wakes = grant(&mut st);
        drop(st);
        wakes.wake();
    }
}

/// Hands permits to queued waiters, first come first served.
fn grant(st: &mut State) -> Wakes {
    let mut wakes = Wakes::none();
    loop {
        let permits = st.permits;
        let Some(c) = st.queue.claim_first_if(ptr::null(), |n| n.tag <= permits) else {
            return wakes;
        };
        st.permits -= c.tag();
        wakes.push(c.complete(GRANTED));
    }
}

impl SemaphorePermit<'_> {
    /// Keeps the permits taken: they are not given back on drop.
    ///
    /// ```
    /// let sem = strands::sync::Semaphore::new(2);
    /// sem.acquire().forget(); // the semaphore now has one permit for good
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn forget(mut self) {
        self.n = 0;
    }

    /// How many permits this holds.
    ///
    /// ```
    /// let sem = strands::sync::Semaphore::new(4);
    /// assert_eq!(sem.acquire_many(2).num_permits(), 2);
    /// ```
    pub fn num_permits(&self) -> usize {
        self.n
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        if self.n > 0 {
            self.sem.release(self.n);
        }
    }
}

impl OwnedSemaphorePermit {
    /// Keeps the permits taken: they are not given back on drop.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(strands::sync::Semaphore::new(2));
    /// sem.acquire_owned().forget();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn forget(mut self) {
        self.n = 0;
    }

    /// The semaphore the permit came from.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(strands::sync::Semaphore::new(1));
    /// let p = sem.acquire_owned();
    /// assert!(Arc::ptr_eq(p.semaphore(), &sem));
    /// ```
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        if self.n > 0 {
            self.sem.release(self.n);
        }
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("permits", &self.available_permits())
            .finish()
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.n)
            .finish()
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.n)
            .finish()
    }
}
