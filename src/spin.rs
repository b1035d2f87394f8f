//! The short internal lock of every primitive (and of the runtime's
//! registry of strands): a test-and-test-and-set
//! spin lock.
//!
//! It guards only a few dozen instructions that never park and never run
//! user code (queue links, counters, moving a value), so a holder keeps it
//! for nanoseconds. Locking is one compare-and-swap and unlocking one plain
//! release store -- half the atomic read-modify-writes of `std::sync::Mutex`,
//! whose unlock is a swap (it must check for sleepers). A waiter spins
//! briefly, then yields its thread to the OS (the holder may have been
//! preempted). Under loom it is loom's `Mutex`, so the models see it.

#[cfg(not(loom))]
mod imp {
    use crate::loom::{thread, AtomicBool, Ordering};
    use std::cell::UnsafeCell;
    use std::ops::{Deref, DerefMut};

    /// Spins this many times before yielding the thread.
    const SPINS: u32 = 100;

    pub(crate) struct RawMutex<T> {
        locked: AtomicBool,
        value: UnsafeCell<T>,
    }

    // SAFETY: the lock gives one thread at a time access to `T`.
    unsafe impl<T: Send> Send for RawMutex<T> {}
    // SAFETY: as above: `T: Send` suffices, as for `std::sync::Mutex`.
    unsafe impl<T: Send> Sync for RawMutex<T> {}

    pub(crate) struct RawGuard<'a, T> {
        lock: &'a RawMutex<T>,
    }

    impl<T> RawMutex<T> {
        pub(crate) const fn new(value: T) -> RawMutex<T> {
            RawMutex {
                locked: AtomicBool::new(false),
                value: UnsafeCell::new(value),
            }
        }

        #[inline]
        pub(crate) fn lock(&self) -> RawGuard<'_, T> {
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                self.lock_contended();
            }
            RawGuard { lock: self }
        }

        #[cold]
        fn lock_contended(&self) {
            let mut spins = 0;
            loop {
                while self.locked.load(Ordering::Relaxed) {
                    if spins < SPINS {
                        spins += 1;
                        std::hint::spin_loop();
                    } else {
                        thread::yield_now();
                    }
                }
                if self
                    .locked
                    .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return;
                }
            }
        }
    }

    impl<T> Drop for RawGuard<'_, T> {
        #[inline]
        fn drop(&mut self) {
            self.lock.locked.store(false, Ordering::Release);
        }
    }

    impl<T> Deref for RawGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            // SAFETY: the guard proves the lock is held.
            unsafe { &*self.lock.value.get() }
        }
    }

    impl<T> DerefMut for RawGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            // SAFETY: the guard proves the lock is held.
            unsafe { &mut *self.lock.value.get() }
        }
    }
}

#[cfg(loom)]
mod imp {
    pub(crate) struct RawMutex<T>(crate::loom::Mutex<T>);
    pub(crate) type RawGuard<'a, T> = crate::loom::MutexGuard<'a, T>;

    impl<T> RawMutex<T> {
        pub(crate) fn new(value: T) -> RawMutex<T> {
            RawMutex(crate::loom::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> RawGuard<'_, T> {
            self.0.lock().unwrap_or_else(|e| e.into_inner())
        }
    }
}

pub(crate) use imp::{RawGuard, RawMutex};
