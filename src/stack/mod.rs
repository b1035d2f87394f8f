//! Stacks for strands: pooled, lazily committed, guarded.
//!
//! A stack is a range of reserved address space with a guard page below it.
//! The kernel commits its pages only when they are touched, so a strand that
//! uses 2 KiB of a 256 KiB stack costs one page of memory. Stacks come from a
//! [`pool`] of slabs and go back to it when their strand ends.
//!
//! Sizes are rounded up to whole pages and must lie between
//! [`MIN_STACK_SIZE`] and [`MAX_STACK_SIZE`]; the default is
//! [`DEFAULT_STACK_SIZE`]. Overflowing a stack hits its guard and is reported
//! by name by the handler in [`overflow`].

pub(crate) mod budget;
pub(crate) mod guard;
pub(crate) mod overflow;
pub(crate) mod pool;

pub use guard::StackGuard;
pub use pool::RESIDENT_PREFIX;
pub(crate) use pool::{Stack, StackPool};

use std::io;

/// Smallest stack a strand may ask for: 16 KiB.
///
/// Enough for ordinary code and for a panic to be caught and reported;
/// formatting a backtrace needs more (see [`DEFAULT_STACK_SIZE`]).
pub const MIN_STACK_SIZE: usize = 16 * 1024;

/// Largest stack a strand may ask for: 1 GiB (the same ceiling as Go's).
pub const MAX_STACK_SIZE: usize = 1 << 30;

/// Stack size of a strand whose builder names none: 256 KiB of address
/// space, of which only the touched pages take memory.
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;

/// The system page size (cached).
pub(crate) fn page_size() -> usize {
    use crate::loom::{process::AtomicUsize, Ordering};
    static PAGE: AtomicUsize = AtomicUsize::new(0);
    let p = PAGE.load(Ordering::Relaxed);
    if p != 0 {
        return p;
    }
    // SAFETY: sysconf has no preconditions.
    let p = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as usize,
        _ => 4096,
    };
    PAGE.store(p, Ordering::Relaxed);
    p
}

/// Checks a requested stack size and rounds it up to whole pages.
///
/// ```
/// # use strands::{MIN_STACK_SIZE, MAX_STACK_SIZE};
/// let rt = strands::Runtime::builder().stack_size(0).build();
/// assert_eq!(rt.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
/// ```
pub(crate) fn checked_size(size: usize) -> io::Result<usize> {
    if size < MIN_STACK_SIZE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "stack size {size} bytes is below the minimum of {} KiB",
                MIN_STACK_SIZE / 1024
            ),
        ));
    }
    if size > MAX_STACK_SIZE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "stack size {size} bytes is above the maximum of {} MiB",
                MAX_STACK_SIZE >> 20
            ),
        ));
    }
    let page = page_size();
    Ok(size.div_ceil(page) * page)
}

#[cfg(test)]
mod tests;
