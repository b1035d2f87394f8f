//! [`RwLock`]: many readers or one writer; waiters park.

use super::poison;
use super::waitlist::{self, Queue, WaitSpec, Wakes};
use super::{LockResult, TryLockError, TryLockResult};
use crate::loom::{AtomicU64, Ordering};
use crate::runtime::context;
use crate::spin::RawMutex;
use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::ptr;
use std::ptr::NonNull;

const READ: usize = 0;
const WRITE: usize = 1;
const GRANTED: usize = 0;

/// A reader-writer lock like [`std::sync::RwLock`], whose waiters park.
///
/// Fair: waiters are served in arrival order. When a writer leaves, the
/// first waiter gets the lock, and if it is a reader, so does every reader
/// queued right behind it; a reader arriving while anyone queues waits its
/// turn, so writers do not starve. A consequence (as with std on some
/// platforms): taking a read lock while already holding one can deadlock
/// if a writer queued in between. Recursive locking of any kind parks the
/// caller forever; it is never undefined behaviour.
///
/// Deadlocks through the write side are named: the lock records the strand
/// that holds it for writing (its id), and a strand waiting for the lock
/// records the lock, so the runtime's watchdog reports a strand that waits
/// for a lock it holds for writing (`write` then `write`, or `write` then
/// `read`) and cycles of strands through write holds, mutexes and joins as
/// a [`Deadlock`](crate::runtime::Deadlock) (see
/// [`Builder::on_deadlock`](crate::runtime::Builder::on_deadlock)). Readers
/// are not recorded (a record per reader would cost every `read` a list to
/// update), so a deadlock through a *read* hold is not named: `read` then
/// `write` in one strand, or a read taken again behind a queued writer,
/// parks the caller forever unreported.
///
/// Poisoning follows std: a writer that unwinds while holding the lock
/// poisons it. A strand cancelled while waiting leaves the queue and
/// unwinds; if the lock was granted to it first, `read`/`write` return the
/// guard as usual and the cancellation fires at the next blocking point.
///
/// ```
/// use std::sync::Arc;
/// use strands::sync::RwLock;
///
/// strands::run(|| {
///     let lock = Arc::new(RwLock::new(vec![1, 2]));
///     let r = Arc::clone(&lock);
///     let reader = strands::spawn(move || r.read().unwrap().len());
///     lock.write().unwrap().push(3);
///     let n = reader.join().unwrap();
///     assert!(n == 2 || n == 3);
///     assert_eq!(*lock.read().unwrap(), [1, 2, 3]);
/// });
/// ```
///
/// Guards are `!Send`:
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// let l = strands::sync::RwLock::new(0);
/// send(l.read().unwrap());
/// ```
pub struct RwLock<T: ?Sized> {
    inner: RawMutex<State>,
    /// The id of the strand holding the lock for writing (0: none, a plain
    /// thread, or readers). Diagnostic only: read by the watchdog's
    /// deadlock check (`strand/wait.rs`), never by the locking protocol.
    writer: AtomicU64,
    poison: poison::Flag,
    data: UnsafeCell<T>,
}

struct State {
    readers: usize,
    writer: bool,
    queue: Queue,
}

// SAFETY: as std's: moving the lock moves the `T`.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: as std's: readers share `&T` across threads (`T: Sync`), a writer
// gets `&mut T` (`T: Send`).
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

/// Shared access to an [`RwLock`]'s value; released when dropped.
///
/// ```
/// let l = strands::sync::RwLock::new(1);
/// let (a, b) = (l.read().unwrap(), l.read().unwrap());
/// assert_eq!(*a + *b, 2);
/// ```
///
/// Covariant in `T`, like std's: a guard of a `RwLock<&'static str>` can be
/// used as a guard of a shorter-lived `&str` (it only reads).
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized + 'a> {
    /// The value (a `NonNull`, not `&'a RwLock<T>`, whose `UnsafeCell<T>`
    /// would make the guard invariant in `T`).
    data: NonNull<T>,
    inner: &'a RawMutex<State>,
    _not_send: PhantomData<*const ()>,
}

/// Exclusive access to an [`RwLock`]'s value; released when dropped.
///
/// ```
/// let l = strands::sync::RwLock::new(1);
/// *l.write().unwrap() += 1;
/// assert_eq!(*l.read().unwrap(), 2);
/// ```
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized + 'a> {
    lock: &'a RwLock<T>,
    poison: poison::Guard,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: sharing a guard shares `&T`.
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Sync> Sync for RwLockWriteGuard<'_, T> {}

impl<T> RwLock<T> {
    /// A new, unlocked lock.
    ///
    /// ```
    /// let l = strands::sync::RwLock::new(5);
    /// assert_eq!(*l.read().unwrap(), 5);
    /// ```
    pub fn new(value: T) -> RwLock<T> {
        RwLock {
            inner: RawMutex::new(State {
                readers: 0,
                writer: false,
                queue: Queue::new(),
            }),
            writer: AtomicU64::new(0),
            poison: poison::Flag::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock and returns the value (`Err` carrying it if
    /// poisoned).
    ///
    /// ```
    /// let l = strands::sync::RwLock::new(String::from("hi"));
    /// assert_eq!(l.into_inner().unwrap(), "hi");
    /// ```
    pub fn into_inner(self) -> LockResult<T> {
        let poisoned = self.poison.get();
        poison::map_result(poisoned, self.data.into_inner())
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Takes a shared lock, parking while a writer holds it or anyone
    /// queues ahead.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use strands::sync::RwLock;
    ///
    /// strands::run(|| {
    ///     let config = Arc::new(RwLock::new(String::from("v1")));
    ///     let readers: Vec<_> = (0..3)
    ///         .map(|_| {
    ///             let c = Arc::clone(&config);
    ///             strands::spawn(move || c.read().unwrap().len())
    ///         })
    ///         .collect();
    ///     for r in readers {
    ///         assert_eq!(r.join().unwrap(), 2);
    ///     }
    /// });
    /// ```
    pub fn read(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        self.acquire(READ);
        poison::map_result(self.poison.get(), self.read_guard())
    }

    /// Takes the exclusive lock, parking until readers and writers ahead
    /// are done.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use strands::sync::RwLock;
    ///
    /// strands::run(|| {
    ///     let l = Arc::new(RwLock::new(0));
    ///     let l2 = Arc::clone(&l);
    ///     strands::spawn(move || *l2.write().unwrap() += 1).join().unwrap();
    ///     *l.write().unwrap() += 1;
    ///     assert_eq!(*l.read().unwrap(), 2);
    /// });
    /// ```
    pub fn write(&self) -> LockResult<RwLockWriteGuard<'_, T>> {
        self.acquire(WRITE);
        self.writer.store(context::current_id(), Ordering::Relaxed);
        poison::map_result(self.poison.get(), self.write_guard())
    }

    /// A shared lock if that needs no waiting.
    ///
    /// ```
    /// let l = strands::sync::RwLock::new(1);
    /// let w = l.write().unwrap();
    /// assert!(l.try_read().is_err());
    /// drop(w);
    /// assert_eq!(*l.try_read().unwrap(), 1);
    /// ```
    pub fn try_read(&self) -> TryLockResult<RwLockReadGuard<'_, T>> {
        let mut st = waitlist::lock(&self.inner);
        if st.writer || !st.queue.is_empty() {
            return Err(TryLockError::WouldBlock);
        }
        st.readers += 1;
        drop(st);
        poison::map_result(self.poison.get(), self.read_guard()).map_err(TryLockError::from)
    }

    /// The exclusive lock if that needs no waiting.
    ///
    /// ```
    /// let l = strands::sync::RwLock::new(1);
    /// let r = l.read().unwrap();
    /// assert!(l.try_write().is_err());
    /// drop(r);
    /// *l.try_write().unwrap() = 2;
    /// assert_eq!(*l.read().unwrap(), 2);
    /// ```
    pub fn try_write(&self) -> TryLockResult<RwLockWriteGuard<'_, T>> {
        let mut st = waitlist::lock(&self.inner);
        if st.writer || st.readers > 0 || !st.queue.is_empty() {
            return Err(TryLockError::WouldBlock);
        }
        st.writer = true;
        drop(st);
        self.writer.store(context::current_id(), Ordering::Relaxed);
        poison::map_result(self.poison.get(), self.write_guard()).map_err(TryLockError::from)
    }

    /// Whether a writer unwound while holding the lock.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use strands::sync::RwLock;
    ///
    /// strands::run(|| {
    ///     let l = Arc::new(RwLock::new(0));
    ///     let l2 = Arc::clone(&l);
    ///     let r = strands::spawn(move || {
    ///         let _w = l2.write().unwrap();
    ///         panic!("oops");
    ///     })
    ///     .join();
    ///     assert!(r.is_err());
    ///     assert!(l.is_poisoned());
    /// });
    /// ```
    pub fn is_poisoned(&self) -> bool {
        self.poison.get()
    }

    /// Clears the poison flag.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use strands::sync::RwLock;
    ///
    /// strands::run(|| {
    ///     let l = Arc::new(RwLock::new(0));
    ///     let l2 = Arc::clone(&l);
    ///     let _ = strands::spawn(move || {
    ///         let _w = l2.write().unwrap();
    ///         panic!("oops");
    ///     })
    ///     .join();
    ///     *l.write().unwrap_or_else(|e| e.into_inner()) = 0;
    ///     l.clear_poison();
    ///     assert!(!l.is_poisoned());
    /// });
    /// ```
    pub fn clear_poison(&self) {
        self.poison.clear();
    }

    /// The value, through `&mut self`.
    ///
    /// ```
    /// let mut l = strands::sync::RwLock::new(1);
    /// *l.get_mut().unwrap() = 3;
    /// assert_eq!(*l.read().unwrap(), 3);
    /// ```
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        let poisoned = self.poison.get();
        poison::map_result(poisoned, self.data.get_mut())
    }

    fn read_guard(&self) -> RwLockReadGuard<'_, T> {
        RwLockReadGuard {
            // SAFETY: `UnsafeCell::get` never returns null.
            data: unsafe { NonNull::new_unchecked(self.data.get()) },
            inner: &self.inner,
            _not_send: PhantomData,
        }
    }

    fn write_guard(&self) -> RwLockWriteGuard<'_, T> {
        RwLockWriteGuard {
            lock: self,
            poison: self.poison.guard(),
            _not_send: PhantomData,
        }
    }

    fn acquire(&self, kind: usize) {
        let mut st = waitlist::lock(&self.inner);
        if !st.writer && st.queue.is_empty() && (kind == READ || st.readers == 0) {
            if kind == READ {
                st.readers += 1;
            } else {
                st.writer = true;
            }
            return;
        }
        let token = waitlist::wait_for_lock(
            st,
            WaitSpec {
                lock: &self.inner,
                queue: |s: &mut State| &mut s.queue,
                tag: kind,
                kind: if kind == READ {
                    crate::strand::WaitKind::RwLockRead
                } else {
                    crate::strand::WaitKind::RwLockWrite
                },
                data: ptr::null_mut(),
                deadline: None,
                cancellable: true,
                registered: || {},
                // A writer at the head may have held back readers.
                withdrawn: grant,
                abandoned: |_| release(&self.inner, kind),
            },
            &self.writer,
        );
        debug_assert_eq!(token, Some(GRANTED));
    }
}

/// Releases a shared (`READ`) or the exclusive (`WRITE`) hold of the lock
/// whose state `inner` is, and grants it to the waiters it can serve now.
fn release(inner: &RawMutex<State>, kind: usize) {
    let mut st = waitlist::lock(inner);
    if kind == READ {
        st.readers -= 1;
    } else {
        st.writer = false;
    }
    let wakes = grant(&mut st);
    drop(st);
    wakes.wake();
}

/// Grants the lock to the head of the queue: one writer, or a run of
/// readers.
fn grant(st: &mut State) -> Wakes {
    let mut wakes = Wakes::none();
    while !st.writer {
        let readers = st.readers;
        let Some(c) = st
            .queue
            .claim_first_if(ptr::null(), |n| n.tag == READ || readers == 0)
        else {
            break;
        };
        if c.tag() == READ {
            st.readers += 1;
        } else {
            st.writer = true;
        }
        wakes.push(c.complete(GRANTED));
    }
    wakes
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        release(self.inner, READ);
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.poison.done(&self.poison);
        // before the release: the next writer's store comes after this one
        self.lock.writer.store(0, Ordering::Relaxed);
        release(&self.lock.inner, WRITE);
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read guard proves that no writer holds the lock, and
        // `data` points into the lock it borrows for `'a`.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a write guard proves exclusive access.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: a write guard proves exclusive access.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(g) => d.field("data", &&*g),
            Err(TryLockError::Poisoned(e)) => d.field("data", &&**e.get_ref()),
            Err(TryLockError::WouldBlock) => d.field("data", &format_args!("<locked>")),
        };
        d.field("poisoned", &self.poison.get()).finish()
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
