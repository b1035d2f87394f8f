//! [`OnceLock`]: a value initialised once; concurrent callers park while the
//! first one runs the initialiser.

use super::waitlist::{self, Queue, WaitSpec, Wakes};
use crate::loom::{AtomicU8, Ordering};
use crate::spin::RawMutex;
use std::cell::UnsafeCell;
use std::fmt;
use std::ptr;

const INCOMPLETE: u8 = 0;
const RUNNING: u8 = 1;
const COMPLETE: u8 = 2;

/// A cell written once, like [`std::sync::OnceLock`], whose waiters park:
/// while one caller of [`get_or_init`](OnceLock::get_or_init) runs the
/// initialiser, the others (strands or threads) park until it is done.
///
/// If the initialiser panics, or its strand is cancelled, the cell stays
/// empty and one of the waiters (or a later caller) runs its own
/// initialiser instead; nothing is poisoned. Calling `get_or_init` on the
/// same cell from inside its initialiser deadlocks (the caller parks
/// forever), as std documents; it is never undefined behaviour.
///
/// ```
/// use std::sync::Arc;
/// use strands::sync::OnceLock;
///
/// strands::run(|| {
///     let cell = Arc::new(OnceLock::new());
///     let hs: Vec<_> = (0..4)
///         .map(|i| {
///             let cell = Arc::clone(&cell);
///             strands::spawn(move || {
///                 *cell.get_or_init(|| {
///                     strands::yield_now(); // the others park meanwhile
///                     i
///                 })
///             })
///         })
///         .collect();
///     let got: Vec<i32> = hs.into_iter().map(|h| h.join().unwrap()).collect();
///     let winner = *cell.get().unwrap();
///     assert!(got.iter().all(|v| *v == winner));
/// });
/// ```
pub struct OnceLock<T> {
    state: AtomicU8,
    waiters: RawMutex<Queue>,
    /// `Some` once initialised (written before COMPLETE is published).
    /// An `Option`, not a `MaybeUninit` with a `Drop` impl on the cell: the
    /// cell has no `Drop` impl of its own, so its drop glue is the
    /// `Option<T>`'s, and the drop checker lets a cell hold a reference to
    /// a value that is dropped before it (as with std's `OnceLock`, which
    /// needs the unstable `#[may_dangle]` for the same).
    value: UnsafeCell<Option<T>>,
}

// SAFETY: as std's: the value is written once (by one caller, under the
// RUNNING state) and only read after COMPLETE is published (release /
// acquire); sharing the cell shares `&T` (`T: Sync`) and may move the
// initialiser's `T` to another thread (`T: Send`).
unsafe impl<T: Sync + Send> Sync for OnceLock<T> {}
// SAFETY: moving the cell moves the `T`.
unsafe impl<T: Send> Send for OnceLock<T> {}

impl<T> OnceLock<T> {
    /// An empty cell (usable in a `static`).
    ///
    /// ```
    /// use strands::sync::OnceLock;
    ///
    /// static CONFIG: OnceLock<String> = OnceLock::new();
    /// assert_eq!(CONFIG.get_or_init(|| "prod".to_string()), "prod");
    /// ```
    #[cfg(not(loom))]
    pub const fn new() -> OnceLock<T> {
        OnceLock {
            state: AtomicU8::new(INCOMPLETE),
            waiters: RawMutex::new(Queue::new()),
            value: UnsafeCell::new(None),
        }
    }

    /// An empty cell (loom's types have no `const` constructors).
    ///
    /// ```
    /// let cell: strands::sync::OnceLock<u8> = strands::sync::OnceLock::new();
    /// assert!(cell.get().is_none());
    /// ```
    #[cfg(loom)]
    pub fn new() -> OnceLock<T> {
        OnceLock {
            state: AtomicU8::new(INCOMPLETE),
            waiters: RawMutex::new(Queue::new()),
            value: UnsafeCell::new(None),
        }
    }

    /// The value, if initialised.
    ///
    /// ```
    /// let cell = strands::sync::OnceLock::new();
    /// assert_eq!(cell.get(), None);
    /// cell.set(3).unwrap();
    /// assert_eq!(cell.get(), Some(&3));
    /// ```
    pub fn get(&self) -> Option<&T> {
        if self.state.load(Ordering::Acquire) == COMPLETE {
            // SAFETY: COMPLETE is published after the value is written, and
            // the value is never written again while shared.
            unsafe { (*self.value.get()).as_ref() }
        } else {
            None
        }
    }

    /// Sets the value if the cell is empty; otherwise gives `value` back.
    ///
    /// ```
    /// let cell = strands::sync::OnceLock::new();
    /// assert_eq!(cell.set(1), Ok(()));
    /// assert_eq!(cell.set(2), Err(2));
    /// assert_eq!(cell.get(), Some(&1));
    /// ```
    pub fn set(&self, value: T) -> Result<(), T> {
        let mut value = Some(value);
        self.get_or_init(|| value.take().expect("runs once"));
        value.map_or(Ok(()), Err)
    }

    /// The value, initialising it with `f` if the cell is empty. Parks
    /// while another caller's initialiser runs.
    ///
    /// ```
    /// use strands::sync::OnceLock;
    ///
    /// static TABLE: OnceLock<Vec<u32>> = OnceLock::new();
    /// strands::run(|| {
    ///     let h = strands::spawn(|| TABLE.get_or_init(|| (0..4).collect()).len());
    ///     let first = TABLE.get_or_init(|| (0..4).collect()).len();
    ///     assert_eq!(first, 4);
    ///     assert_eq!(h.join().unwrap(), 4);
    /// });
    /// ```
    pub fn get_or_init(&self, f: impl FnOnce() -> T) -> &T {
        if let Some(v) = self.get() {
            return v;
        }
        let mut f = Some(f);
        loop {
            let q = waitlist::lock(&self.waiters);
            match self.state.load(Ordering::Acquire) {
                COMPLETE => break,
                INCOMPLETE => {
                    self.state.store(RUNNING, Ordering::Relaxed);
                    drop(q);
                    self.initialise(f.take().expect("initialises once"));
                    break;
                }
                _ => {
                    // RUNNING: wait for the initialiser, then look again
                    // (it may have failed).
                    waitlist::wait(
                        q,
                        WaitSpec {
                            lock: &self.waiters,
                            queue: |q: &mut Queue| q,
                            tag: 0,
                            kind: crate::strand::WaitKind::Once,
                            data: ptr::null_mut(),
                            deadline: None,
                            cancellable: true,
                            registered: || {},
                            withdrawn: |_: &mut Queue| Wakes::none(),
                            abandoned: |_| {},
                        },
                    );
                }
            }
        }
        self.get().expect("initialised")
    }

    /// Runs `f` as the one initialiser (state RUNNING), then publishes.
    fn initialise(&self, f: impl FnOnce() -> T) {
        /// Back to INCOMPLETE if `f` unwinds; wakes the waiters either way.
        struct Finish<'a, T>(&'a OnceLock<T>, u8);
        impl<T> Drop for Finish<'_, T> {
            fn drop(&mut self) {
                let mut q = waitlist::lock(&self.0.waiters);
                self.0.state.store(self.1, Ordering::Release);
                let mut wakes = Wakes::none();
                while let Some(c) = q.claim_first(ptr::null()) {
                    wakes.push(c.complete(0));
                }
                drop(q);
                wakes.wake();
            }
        }
        let mut finish = Finish(self, INCOMPLETE);
        let v = f();
        // SAFETY: we are the one initialiser (RUNNING), nobody reads yet.
        unsafe { *self.value.get() = Some(v) };
        finish.1 = COMPLETE;
    }

    /// Takes the value out, leaving the cell empty.
    ///
    /// ```
    /// let mut cell = strands::sync::OnceLock::new();
    /// cell.set("x").unwrap();
    /// assert_eq!(cell.take(), Some("x"));
    /// assert_eq!(cell.get(), None);
    /// ```
    pub fn take(&mut self) -> Option<T> {
        // (`&mut self`: plain loads and stores; loom's atomics have no
        // `get_mut`.)
        if self.state.load(Ordering::Acquire) != COMPLETE {
            return None;
        }
        self.state.store(INCOMPLETE, Ordering::Relaxed);
        self.value.get_mut().take()
    }

    /// The value, if initialised, consuming the cell.
    ///
    /// ```
    /// let cell = strands::sync::OnceLock::new();
    /// cell.set(5).unwrap();
    /// assert_eq!(cell.into_inner(), Some(5));
    /// ```
    pub fn into_inner(mut self) -> Option<T> {
        self.take()
    }
}

impl<T> Default for OnceLock<T> {
    fn default() -> OnceLock<T> {
        OnceLock::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.get() {
            Some(v) => f.debug_tuple("OnceLock").field(v).finish(),
            None => f.write_str("OnceLock(<uninit>)"),
        }
    }
}
