//! Compile-time checks of variance and drop-checking on the public types,
//! where std's equivalents allow it. Each function here only has to
//! compile; the tests call them so that they run too.
//!
//! Compared with std (rustc 1.95), as of 2026-11:
//! - `RwLockReadGuard` is covariant in `T` (std's is); `RwLockWriteGuard`,
//!   `MutexGuard`, `Mutex`, `RwLock`, `OnceLock`, channel ends, `Iter`,
//!   `JoinHandle` are invariant in `T`, as std's are.
//! - `OnceLock`, `Mutex` and `RwLock` have no `Drop` impl of their own, so
//!   a cell or lock may hold a reference to a value that is dropped before
//!   it, as with std's. Channel ends, `JoinHandle` and the guards have a
//!   `Drop` impl, as std's do, so the same holds for them as for std's.
//! - `SemaphorePermit<'a>` and `KeyedGuard<'a, K>` are covariant in `'a`.

use strands::join::{KeyedGuard, KeyedMutex};
use strands::sync::{Mutex, OnceLock, RwLock, RwLockReadGuard, Semaphore, SemaphorePermit};

/// A read guard of a `&'static str` serves as one of a shorter `&str`.
fn read_guard_shortens<'a>(g: RwLockReadGuard<'a, &'static str>) -> RwLockReadGuard<'a, &'a str> {
    g
}

/// The same through a reference, and with a nested type.
fn read_guard_ref_shortens<'r, 'a>(
    g: &'r RwLockReadGuard<'a, Vec<&'static str>>,
) -> &'r RwLockReadGuard<'a, Vec<&'a str>> {
    g
}

/// A permit borrowed for longer serves for shorter.
fn permit_shortens<'long: 'short, 'short>(p: SemaphorePermit<'long>) -> SemaphorePermit<'short> {
    p
}

/// A keyed guard borrowed for longer serves for shorter.
fn keyed_guard_shortens<'long: 'short, 'short>(
    g: KeyedGuard<'long, u32>,
) -> KeyedGuard<'short, u32> {
    g
}

#[test]
fn rwlock_read_guard_is_covariant() {
    let lock = RwLock::new("static");
    let local = String::from("local");
    let g = read_guard_shortens(lock.read().unwrap());
    // The shortened guard's value may be compared with a local `&str`.
    let shorter: &str = &local;
    assert_ne!(*g, shorter);
    drop(g);
    let lock = RwLock::new(vec!["a"]);
    let g = lock.read().unwrap();
    assert_eq!(read_guard_ref_shortens(&g).len(), 1);
}

#[test]
fn permits_and_keyed_guards_are_covariant_in_their_lifetime() {
    let sem = Semaphore::new(1);
    let p = permit_shortens(sem.acquire());
    assert_eq!(sem.available_permits(), 0);
    drop(p);
    let km = KeyedMutex::new();
    let g = keyed_guard_shortens(km.lock(7));
    assert!(km.try_lock(7).is_none());
    drop(g);
}

/// std's drop-check test, in our words: the cell is declared first, so it
/// is dropped after the `String` it refers to. Compiles because dropping a
/// `OnceLock<&String>` does not use the reference.
#[test]
fn once_lock_may_outlive_what_it_refers_to() {
    let cell = OnceLock::new();
    {
        let s = String::from("short-lived");
        assert!(cell.set(&s).is_ok());
        assert_eq!(cell.get().map(|s| s.len()), Some(11));
    }
}

/// The value of an initialised cell is still dropped exactly once.
#[test]
fn once_lock_drops_its_value_once() {
    use std::rc::Rc;
    let counted = Rc::new(());
    {
        let cell = OnceLock::new();
        let _ = cell.set(Rc::clone(&counted));
        assert_eq!(Rc::strong_count(&counted), 2);
    }
    assert_eq!(Rc::strong_count(&counted), 1);
    let mut cell = OnceLock::new();
    let _ = cell.set(Rc::clone(&counted));
    assert!(cell.take().is_some());
    assert_eq!(Rc::strong_count(&counted), 1);
    drop(cell);
    assert_eq!(Rc::strong_count(&counted), 1);
}

/// The same for the locks (no `Drop` impl on `Mutex` or `RwLock`).
#[test]
fn locks_may_outlive_what_they_refer_to() {
    let m = Mutex::new(None);
    let l = RwLock::new(None);
    {
        let s = String::from("short-lived");
        *m.lock().unwrap() = Some(&s);
        *l.write().unwrap() = Some(&s);
        assert_eq!(m.lock().unwrap().map(|s| s.len()), Some(11));
        assert_eq!(l.read().unwrap().map(|s| s.len()), Some(11));
    }
}
