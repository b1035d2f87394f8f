//! Strand-local storage: [`strand_local!`](crate::strand_local) and
//! [`LocalKey`].
//!
//! Like `thread_local!`, but the value belongs to the *strand*: every strand
//! sees its own, initialised on first use and dropped (in the strand) when
//! it finishes. On a plain thread the value belongs to the thread.
//!
//! Each strand keeps a small map from key to boxed value. A reference
//! handed to `with` points into the value's own heap allocation, so it stays
//! valid while the closure yields, blocks or uses other keys.

use crate::runtime::context;
use crate::strand::locals::Locals;
use std::any::Any;
use std::cell::RefCell;

thread_local! {
    /// Values of the plain thread (code outside strands).
    static THREAD_LOCALS: RefCell<Locals> = RefCell::new(Locals::default());
}

/// A key for strand-local storage, made by [`strand_local!`](crate::strand_local).
///
/// ```
/// use std::cell::Cell;
///
/// strands::strand_local! {
///     static COUNT: Cell<u32> = Cell::new(0);
/// }
///
/// strands::run(|| {
///     let key: &'static strands::LocalKey<Cell<u32>> = &COUNT;
///     key.with(|c| c.set(c.get() + 1));
///     // another strand has its own value
///     let other = strands::spawn(|| COUNT.with(|c| c.get())).join().unwrap();
///     assert_eq!((COUNT.with(|c| c.get()), other), (1, 0));
/// });
/// ```
pub struct LocalKey<T: 'static> {
    #[doc(hidden)]
    pub init: fn() -> T,
}

impl<T: 'static> std::fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalKey").finish_non_exhaustive()
    }
}

impl<T: 'static> LocalKey<T> {
    /// Runs `f` with this strand's value, initialising it first if needed.
    ///
    /// # Panics
    ///
    /// If the initialiser uses the same key (it would recurse forever).
    ///
    /// ```
    /// use std::cell::RefCell;
    ///
    /// strands::strand_local! {
    ///     static LOG: RefCell<Vec<&'static str>> = RefCell::new(Vec::new());
    /// }
    ///
    /// strands::run(|| {
    ///     LOG.with(|log| log.borrow_mut().push("start"));
    ///     strands::yield_now(); // the value stays this strand's across yields
    ///     LOG.with(|log| log.borrow_mut().push("end"));
    ///     assert_eq!(LOG.with(|log| log.borrow().clone()), ["start", "end"]);
    /// });
    /// ```
    pub fn with<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&T) -> R,
    {
        let key = self as *const Self as usize;
        let find = |locals: &mut Locals| locals.get(key);
        let existing = context::with_current(|s| match s {
            // SAFETY: a strand's locals are only touched by the strand
            // itself, which is running (us); `find` does not re-enter.
            Some(strand) => unsafe { strand.with_locals(find) },
            None => THREAD_LOCALS.with(|l| find(&mut l.borrow_mut())),
        });
        let ptr = match existing {
            Some(p) => p,
            None => {
                thread_local! {
                    /// Keys whose initialiser runs on this thread now.
                    static INITIALISING: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
                }
                let again = INITIALISING.with(|i| i.borrow().contains(&key));
                assert!(!again, "strand_local initialiser uses its own key");
                INITIALISING.with(|i| i.borrow_mut().push(key));
                /// Forgets the mark however the initialiser ends (it may panic).
                struct Done(usize);
                impl Drop for Done {
                    fn drop(&mut self) {
                        let _ = INITIALISING.try_with(|i| i.borrow_mut().retain(|&k| k != self.0));
                    }
                }
                let done = Done(key);
                let value = (self.init)();
                drop(done);
                let value: Box<dyn Any> = Box::new(value);
                context::with_current(|s| match s {
                    // SAFETY: as above; `insert` does not re-enter.
                    Some(strand) => unsafe { strand.with_locals(|l| l.insert(key, value)) },
                    None => THREAD_LOCALS.with(|l| l.borrow_mut().insert(key, value)),
                })
            }
        };
        // SAFETY: the value lives in its own allocation until the strand's
        // (or thread's) locals are dropped, which happens after the strand's
        // body -- and so this call -- has returned; its type is `T` because
        // the key (its address) belongs to this `LocalKey<T>`.
        let value =
            unsafe { (*ptr).downcast_ref::<T>() }.expect("a strand local of the key's type");
        f(value)
    }
}

/// Declares strand-local values, like `thread_local!`.
///
/// ```
/// use std::cell::Cell;
/// strands::strand_local! {
///     static COUNT: Cell<u32> = Cell::new(0);
/// }
/// strands::run(|| {
///     COUNT.with(|c| c.set(c.get() + 1));
///     let other = strands::spawn(|| COUNT.with(|c| c.get())).join().unwrap();
///     assert_eq!(other, 0); // its own value
///     strands::yield_now();
///     assert_eq!(COUNT.with(|c| c.get()), 1); // ours followed us
/// });
/// ```
#[macro_export]
macro_rules! strand_local {
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr; $($rest:tt)*) => {
        $(#[$attr])* $vis static $name: $crate::LocalKey<$t> = $crate::LocalKey { init: || $init };
        $crate::strand_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr) => {
        $(#[$attr])* $vis static $name: $crate::LocalKey<$t> = $crate::LocalKey { init: || $init };
    };
    () => {};
}
