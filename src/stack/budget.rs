//! The process-wide budget of memory mappings for `mprotect` guards.
//!
//! Linux refuses to create more than `vm.max_map_count` mappings (65530 by
//! default) per process, and past that limit even an unrelated `mmap` or
//! `mprotect` elsewhere in the program fails. Every stack guarded with
//! `mprotect` splits its slab's mapping, adding two entries. So the pool
//! takes from a budget computed once: the limit, less the mappings the
//! process already had, less a reserve for everything else the program will
//! map (libraries, thread stacks, allocator arenas). When the budget is spent,
//! a new stack is refused with an `io::Error` of kind `OutOfMemory`: the
//! program can back off instead of being killed later at an arbitrary `mmap`.
//!
//! macOS and the BSDs have no such count (see `os::sys::max_map_count`):
//! there the budget is unlimited and `take` never refuses.

use crate::loom::{process::AtomicUsize, OnceLock, Ordering};
use crate::os::sys;
use std::io;

/// Mappings left for the rest of the program, never given to guards.
const RESERVE: usize = 2048;

/// Mappings one `mprotect`-guarded stack adds (the guard, and the split-off
/// rest of the slab above it).
pub(crate) const PER_STACK: usize = 2;

struct Budget {
    limit: usize,
    total: usize,
    used: AtomicUsize,
}

fn budget() -> &'static Budget {
    static B: OnceLock<Budget> = OnceLock::new();
    B.get_or_init(|| {
        let (limit, total) = match sys::max_map_count() {
            Some(limit) => (limit, limit.saturating_sub(sys::mapping_count() + RESERVE)),
            None => (usize::MAX, usize::MAX), // no limit to budget for
        };
        Budget {
            limit,
            total,
            used: AtomicUsize::new(0),
        }
    })
}

/// Takes `n` mappings from the budget, or explains why not.
pub(crate) fn take(n: usize) -> io::Result<()> {
    let b = budget();
    let mut used = b.used.load(Ordering::Relaxed);
    loop {
        if used.saturating_add(n) > b.total {
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!(
                    "stack pool: the memory-mapping budget for mprotect guards is spent \
                     ({} stacks hold {} mappings; vm.max_map_count is {}): \
                     raise vm.max_map_count or run fewer strands at once",
                    used / PER_STACK,
                    used,
                    b.limit
                ),
            ));
        }
        match b
            .used
            .compare_exchange_weak(used, used + n, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => return Ok(()),
            Err(now) => used = now,
        }
    }
}

/// Gives `n` mappings back (their slab was unmapped).
pub(crate) fn give_back(n: usize) {
    budget().used.fetch_sub(n, Ordering::Relaxed);
}
