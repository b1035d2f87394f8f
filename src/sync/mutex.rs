//! [`Mutex`]: a lock that parks strands (and threads) while it is held.

use super::poison;
use super::waitlist::{self, Queue, WaitSpec, Wakes};
use super::{LockResult, TryLockError, TryLockResult};
use crate::loom::{AtomicU64, AtomicU8, Ordering};
use crate::runtime::context;
use crate::spin::RawMutex;
use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::ptr;

/// Held.
const LOCKED: u8 = 0b01;
/// The wait queue may hold waiters: unlocking takes the slow path.
const QUEUED: u8 = 0b10;
/// The token a waiter gets with the lock.
const HANDED: usize = 0;

/// A mutual-exclusion lock like [`std::sync::Mutex`], whose waiters park:
/// a strand waiting for it lets its worker run other strands, a plain thread
/// waiting for it sleeps.
///
/// - **Fast path.** Locking and unlocking an uncontended mutex is one
///   compare-and-swap each, plus a plain store of the holder (below).
/// - **Fair.** Waiters queue in FIFO order; unlocking hands the lock straight
///   to the first waiter (it stays locked in between), so a strand that
///   keeps relocking cannot starve the queue.
/// - **Poisoning** as in std: if a holder unwinds (a panic, or a
///   [cancellation](crate::JoinHandle::cancel)) while holding the guard, the
///   mutex is poisoned and later `lock`s return [`PoisonError`]s that still
///   carry the guard.
/// - **Cancellation.** A strand cancelled while waiting leaves the queue and
///   unwinds; if the lock had been handed to it first, `lock` returns the
///   guard as usual and the cancellation fires at the next blocking point.
/// - **Recursive locking deadlocks.** Locking a mutex the caller already
///   holds parks the caller forever (as std may); it is never undefined
///   behaviour. Use [`try_lock`](Mutex::try_lock) where re-entry is possible.
/// - **Deadlocks are named.** The mutex records the strand holding it (its
///   id, stored as it is taken and cleared as it is released), and a strand
///   waiting for it records the mutex, so the runtime's watchdog can follow
///   waiter -> mutex -> holder -> what the holder waits for. A strand that
///   locks a mutex it holds, and strands that wait for each other in a
///   cycle of mutexes, [`RwLock`](super::RwLock) writers and joins, are
///   reported as a [`Deadlock`](crate::runtime::Deadlock) (see
///   [`Builder::on_deadlock`](crate::runtime::Builder::on_deadlock)). A
///   plain thread holding the mutex is not followed.
/// - The guard is `!Send` like std's: a lock is released by whoever took it
///   (and a started strand never changes thread).
///
/// [`PoisonError`]: std::sync::PoisonError
///
/// ```
/// use std::sync::Arc;
/// use strands::sync::Mutex;
///
/// let total = strands::run(|| {
///     let m = Arc::new(Mutex::new(0u32));
///     let hs: Vec<_> = (0..10)
///         .map(|_| {
///             let m = Arc::clone(&m);
///             strands::spawn(move || {
///                 for _ in 0..100 {
///                     *m.lock().unwrap() += 1;
///                     strands::yield_now();
///                 }
///             })
///         })
///         .collect();
///     hs.into_iter().for_each(|h| h.join().unwrap());
///     let n = *m.lock().unwrap();
///     n
/// });
/// assert_eq!(total, 1000);
/// ```
///
/// A guard cannot be sent to another strand or thread:
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// let m = strands::sync::Mutex::new(0);
/// send(m.lock().unwrap());
/// ```
pub struct Mutex<T: ?Sized> {
    state: AtomicU8,
    /// The id of the strand holding the lock (0: free, held by a plain
    /// thread, or handed to a waiter that has not run yet). Diagnostic only:
    /// read by the watchdog's deadlock check (`strand/wait.rs`), never by
    /// the locking protocol.
    holder: AtomicU64,
    poison: poison::Flag,
    waiters: RawMutex<Queue>,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands `&mut T` to one holder at a time; moving it moves
// the `T`.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as std's: access to `T` is exclusive, so `T: Send` suffices.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

/// Proof of holding a [`Mutex`]; unlocks it when dropped.
///
/// ```
/// let m = strands::sync::Mutex::new(vec![1]);
/// m.lock().unwrap().push(2);
/// assert_eq!(*m.lock().unwrap(), [1, 2]);
/// ```
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized + 'a> {
    lock: &'a Mutex<T>,
    poison: poison::Guard,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: sharing the guard shares `&T`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<T> Mutex<T> {
    /// A new, unlocked mutex.
    ///
    /// ```
    /// let m = strands::sync::Mutex::new(0);
    /// assert_eq!(*m.lock().unwrap(), 0);
    /// ```
    pub fn new(value: T) -> Mutex<T> {
        Mutex {
            state: AtomicU8::new(0),
            holder: AtomicU64::new(0),
            poison: poison::Flag::new(),
            waiters: RawMutex::new(Queue::new()),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex and returns the value (an `Err` carrying it if the
    /// mutex is poisoned).
    ///
    /// ```
    /// let m = strands::sync::Mutex::new(7);
    /// assert_eq!(m.into_inner().unwrap(), 7);
    /// ```
    pub fn into_inner(self) -> LockResult<T> {
        let poisoned = self.poison.get();
        poison::map_result(poisoned, self.data.into_inner())
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex, parking until it is free. Waiters are served in
    /// FIFO order.
    ///
    /// Returns `Err` (still carrying the guard) if the mutex is poisoned.
    /// Locking a mutex the caller holds deadlocks (the watchdog names it:
    /// see the type's docs).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use strands::sync::Mutex;
    ///
    /// strands::run(|| {
    ///     let log = Arc::new(Mutex::new(Vec::new()));
    ///     let l = Arc::clone(&log);
    ///     strands::spawn(move || l.lock().unwrap().push("child"))
    ///         .join()
    ///         .unwrap();
    ///     log.lock().unwrap().push("parent");
    ///     assert_eq!(*log.lock().unwrap(), ["child", "parent"]);
    /// });
    /// ```
    pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
        self.lock_with(true)
    }

    /// [`lock`](Mutex::lock), optionally not a cancellation point (a
    /// [`Condvar`](super::Condvar) that was notified re-locks this way: its
    /// wait completes, and a cancellation fires at the next blocking point).
    pub(crate) fn lock_with(&self, cancellable: bool) -> LockResult<MutexGuard<'_, T>> {
        // looked up before the compare-and-swap, whose latency hides it
        let me = context::current_id();
        if self
            .state
            .compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_slow(cancellable);
        }
        self.set_holder(me);
        self.guard()
    }

    /// Records the strand `me` as the holder (`0`, a plain thread: the word
    /// is 0 already, since a release clears it before it frees the lock).
    #[inline]
    fn set_holder(&self, me: u64) {
        if me != 0 {
            self.holder.store(me, Ordering::Relaxed);
        }
    }

    /// Takes the lock if it is free and nobody queues for it.
    ///
    /// ```
    /// use std::sync::TryLockError;
    /// let m = strands::sync::Mutex::new(1);
    /// let g = m.lock().unwrap();
    /// assert!(matches!(m.try_lock(), Err(TryLockError::WouldBlock)));
    /// drop(g);
    /// assert_eq!(*m.try_lock().unwrap(), 1);
    /// ```
    pub fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
        let me = context::current_id();
        if self
            .state
            .compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return Err(TryLockError::WouldBlock);
        }
        self.set_holder(me);
        self.guard().map_err(TryLockError::from)
    }

    /// Whether a holder unwound while holding the lock.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use strands::sync::Mutex;
    ///
    /// strands::run(|| {
    ///     let m = Arc::new(Mutex::new(0));
    ///     let m2 = Arc::clone(&m);
    ///     let r = strands::spawn(move || {
    ///         let _g = m2.lock().unwrap();
    ///         panic!("oops");
    ///     })
    ///     .join();
    ///     assert!(r.is_err());
    ///     assert!(m.is_poisoned());
    /// });
    /// ```
    pub fn is_poisoned(&self) -> bool {
        self.poison.get()
    }

    /// Clears the poison flag.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use strands::sync::Mutex;
    ///
    /// strands::run(|| {
    ///     let m = Arc::new(Mutex::new(0));
    ///     let m2 = Arc::clone(&m);
    ///     let _ = strands::spawn(move || {
    ///         let _g = m2.lock().unwrap();
    ///         panic!("oops");
    ///     })
    ///     .join();
    ///     // Recover the value, then mark the mutex healthy again.
    ///     *m.lock().unwrap_or_else(|e| e.into_inner()) = 0;
    ///     m.clear_poison();
    ///     assert!(!m.is_poisoned());
    /// });
    /// ```
    pub fn clear_poison(&self) {
        self.poison.clear();
    }

    /// The value, through `&mut self` (no locking needed).
    ///
    /// ```
    /// let mut m = strands::sync::Mutex::new(1);
    /// *m.get_mut().unwrap() += 1;
    /// assert_eq!(m.into_inner().unwrap(), 2);
    /// ```
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        let poisoned = self.poison.get();
        poison::map_result(poisoned, self.data.get_mut())
    }

    fn guard(&self) -> LockResult<MutexGuard<'_, T>> {
        let g = MutexGuard {
            lock: self,
            poison: self.poison.guard(),
            _not_send: PhantomData,
        };
        poison::map_result(self.poison.get(), g)
    }

    #[cold]
    fn lock_slow(&self, cancellable: bool) {
        let q = waitlist::lock(&self.waiters);
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let next = if s & LOCKED == 0 {
                s | LOCKED
            } else if s & QUEUED == 0 {
                s | QUEUED
            } else {
                break;
            };
            match self
                .state
                .compare_exchange_weak(s, next, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) if next & QUEUED == s & QUEUED => return, // took it
                Ok(_) => break,                                 // marked QUEUED
                Err(now) => s = now,
            }
        }
        let token = waitlist::wait_for_lock(
            q,
            WaitSpec {
                lock: &self.waiters,
                queue: |q: &mut Queue| q,
                tag: 0,
                kind: crate::strand::WaitKind::Mutex,
                data: ptr::null_mut(),
                deadline: None,
                cancellable,
                registered: || {},
                withdrawn: |q: &mut Queue| {
                    if q.is_empty() {
                        self.state.fetch_and(!QUEUED, Ordering::Relaxed);
                    }
                    Wakes::none()
                },
                // Handed the lock, but unwinding: hand it on.
                abandoned: |_| self.unlock_slow(),
            },
            &self.holder,
        );
        debug_assert_eq!(token, Some(HANDED));
    }

    /// Releases the lock (the guard's drop).
    fn unlock(&self) {
        // before the release: the next holder's store comes after this one
        self.holder.store(0, Ordering::Relaxed);
        if self
            .state
            .compare_exchange(LOCKED, 0, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            self.unlock_slow();
        }
    }

    /// Hands the lock to the first waiter, or releases it if none is left.
    #[cold]
    fn unlock_slow(&self) {
        let mut q = waitlist::lock(&self.waiters);
        match q.claim_first(ptr::null()) {
            Some(claim) => {
                if q.is_empty() {
                    self.state.fetch_and(!QUEUED, Ordering::Relaxed);
                }
                let w = claim.complete(HANDED);
                drop(q);
                w.wake();
            }
            None => self.state.store(0, Ordering::Release),
        }
    }

    /// Releases the lock `guard` holds and returns the mutex (for
    /// [`Condvar`](super::Condvar), which locks it again after waiting).
    pub(crate) fn unlock_for_wait(guard: MutexGuard<'_, T>) -> &Mutex<T> {
        let lock = guard.lock;
        drop(guard);
        lock
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.poison.done(&self.poison);
        self.lock.unlock();
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves exclusive access.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves exclusive access.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(v: T) -> Mutex<T> {
        Mutex::new(v)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(g) => d.field("data", &&*g),
            Err(TryLockError::Poisoned(e)) => d.field("data", &&**e.get_ref()),
            Err(TryLockError::WouldBlock) => d.field("data", &format_args!("<locked>")),
        };
        d.field("poisoned", &self.poison.get()).finish()
    }
}
