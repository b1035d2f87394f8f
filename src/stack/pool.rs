//! The stack pool: stacks carved from slabs, reused LIFO, released lazily.
//!
//! A *slab* is one anonymous mapping (address space only: `MAP_NORESERVE`
//! on Linux; see `os::sys::map_slab`) holding many stacks of one size class, each with its
//! guard just below it:
//!
//! ```text
//!  slab base                                                     slab end
//!  | guard | stack 0 ........ | guard | stack 1 ........ | ... |
//!          ^base        top ^         ^base        top ^
//! ```
//!
//! Slabs double in capacity (16 stacks, 32, ... up to 256 MiB of address
//! space each), so 100,000 stacks take a few dozen `mmap` calls, which the
//! kernel usually merges into a handful of mappings. Stacks are carved from
//! a slab on first use (that is when the guard is installed) and afterwards
//! recycled through a LIFO free list, so the stack handed out next is the
//! one whose top pages are most likely still resident and cache-warm.
//!
//! **Memory follows use.** Pages are committed by the kernel when first
//! touched. A returned stack keeps [`RESIDENT_PREFIX`] bytes below its top and
//! gives the rest back with `madvise(MADV_DONTNEED)` (`MADV_FREE` off
//! Linux) -- but a system call on
//! every return would cost more than the whole strand. So:
//!
//! - when the runtime saw the strand's stack pointer below the prefix at a
//!   switch (it [marked the stack deep](Stack::mark_deep)), the pages are
//!   released at once;
//! - otherwise the stack goes back *unverified*, and every
//!   [`SCRUB_EVERY`] returns the pool asks the kernel with one `mincore`
//!   call per slab which unverified stacks hold pages below their prefix
//!   (a strand that went deep and came back up between two switches) and
//!   releases those.
//!
//! **Idle memory goes back** ([`StackPool::trim`], in `pool/trim.rs`):
//! called every so often off the spawn path, a trim gives back the whole
//! of every free stack that sat in the pool since the previous trim, and
//! unmaps the slabs all of whose stacks did. The rest of the time nothing
//! is unmapped while the pool lives; slabs go back to the system when the
//! pool and every stack taken from it are dropped.

mod scrub;
mod trim;

use super::{budget, guard, page_size, StackGuard};
use crate::loom::{Arc, AtomicBool, Mutex, Ordering};
use crate::os::sys;
use memmap2::MmapMut;
use std::io;

/// Bytes below a returned stack's top that stay committed (the top page,
/// where pages are larger: 16 KiB on Apple silicon).
pub const RESIDENT_PREFIX: usize = 8 * 1024;

/// Returns between two scrubs of a size class's unverified free stacks.
const SCRUB_EVERY: usize = 256;

/// First slab's capacity, in stacks; each next slab doubles it.
const FIRST_SLAB_STACKS: usize = 16;

/// Most address space one slab reserves.
const MAX_SLAB_BYTES: usize = 256 << 20;

/// A pool of guarded stacks. Cloning shares the pool.
#[derive(Clone)]
pub(crate) struct StackPool {
    shared: Arc<Shared>,
}

struct Shared {
    guard: StackGuard,
    page: usize,
    classes: Mutex<Vec<Class>>,
    /// A stack came back since the last trim that found nothing more to
    /// give back: a trim may find some (read without the lock).
    pending: AtomicBool,
    /// The runtime is shutting down: returning stacks skip the scrub, since
    /// `release_unused` gives the whole pool back once they are all in.
    winding_down: AtomicBool,
}

/// All stacks of one usable size.
struct Class {
    size: usize,
    stride: usize,
    /// LIFO free list. Entries below `low_water` have not moved since the
    /// last scrub, so they are all verified: a scrub looks only above it.
    free: Vec<Slot>,
    low_water: usize,
    /// The shortest the free list was since the last trim: the stacks
    /// below it sat unused all that time.
    idle_low: usize,
    slabs: Vec<Slab>,
    returns: usize,
    /// Stacks of this class handed out and not yet returned.
    live: usize,
    guard_is_canary: bool,
}

#[derive(Clone, Copy)]
struct Slot {
    base: usize,
    unverified: bool,
    /// Given back whole by a trim: holds no pages.
    cold: bool,
}

struct Slab {
    map: MmapMut,
    capacity: usize,
    carved: usize,
    mappings: usize,
}

/// One stack from a [`StackPool`]; goes back to the pool on drop.
pub(crate) struct Stack {
    base: usize,
    size: usize,
    deep: bool,
    /// All its pages were given back ([`Stack::release_all`]).
    cold: bool,
    guard: StackGuard,
    pool: Arc<Shared>,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("base", &(self.base as *const u8))
            .field("size", &self.size)
            .field("guard", &self.guard)
            .finish()
    }
}

/// Counts for tests and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PoolStats {
    /// Stacks handed out and not yet returned.
    pub live: usize,
    /// Returned stacks waiting for reuse.
    pub cached: usize,
    /// Slabs mapped.
    pub slabs: usize,
    /// Bytes of address space the slabs reserve.
    pub reserved: usize,
    /// Returned stacks that may hold pages (not given back by a trim).
    pub warm: usize,
}

impl StackPool {
    /// A pool whose stacks are guarded with `guard` (resolved from `Auto`).
    pub(crate) fn new(guard: StackGuard) -> io::Result<StackPool> {
        Ok(StackPool {
            shared: Arc::new(Shared {
                guard: guard.resolve()?,
                page: page_size(),
                classes: Mutex::new(Vec::new()),
                pending: AtomicBool::new(false),
                winding_down: AtomicBool::new(false),
            }),
        })
    }

    /// The guard kind in use.
    pub(crate) fn guard(&self) -> StackGuard {
        self.shared.guard
    }

    /// A stack of at least `size` usable bytes (rounded up to whole pages;
    /// validated by [`super::checked_size`] first).
    pub(crate) fn get(&self, size: usize) -> io::Result<Stack> {
        let size = super::checked_size(size)?;
        let shared = &self.shared;
        let base = {
            let mut classes = shared.classes.lock().unwrap_or_else(|e| e.into_inner());
            let idx = match classes.iter().position(|c| c.size == size) {
                Some(i) => i,
                None => {
                    classes.push(Class {
                        size,
                        stride: size + shared.page,
                        free: Vec::new(),
                        low_water: 0,
                        idle_low: 0,
                        slabs: Vec::new(),
                        returns: 0,
                        live: 0,
                        guard_is_canary: shared.guard == StackGuard::Canary,
                    });
                    classes.len() - 1
                }
            };
            let class = &mut classes[idx];
            let base = match class.free.pop() {
                Some(slot) => {
                    class.low_water = class.low_water.min(class.free.len());
                    class.idle_low = class.idle_low.min(class.free.len());
                    slot.base
                }
                None => class.carve(shared.guard, shared.page)?,
            };
            class.live += 1;
            base
        };
        if shared.guard == StackGuard::Canary {
            // SAFETY: `base` is the lowest usable, writable, 8-aligned word of
            // a stack nobody else holds.
            unsafe { (base as *mut u64).write(guard::CANARY) };
        }
        Ok(Stack {
            base,
            size,
            deep: false,
            cold: false,
            guard: shared.guard,
            pool: Arc::clone(&self.shared),
        })
    }

    /// The runtime is shutting down: stacks returned from now on skip the
    /// scrub (one `mincore` over the span of every 256 returns: about a
    /// microsecond per stack when a shutdown cancels 100,000 strands, for
    /// pages that [`StackPool::release_unused`] gives back anyway).
    pub(crate) fn wind_down(&self) {
        self.shared.winding_down.store(true, Ordering::Relaxed);
    }

    /// Unmaps every slab none of whose stacks is in use, and forgets its
    /// free stacks. Called when a runtime shuts down, so its memory goes
    /// back to the system even if a `Strand` or `Handle` outlives it.
    pub(crate) fn release_unused(&self) {
        let mut classes = self
            .shared
            .classes
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for class in classes.iter_mut().filter(|c| c.live == 0) {
            let mappings: usize = class.slabs.iter().map(|s| s.mappings).sum();
            budget::give_back(mappings);
            class.free.clear();
            class.low_water = 0;
            class.idle_low = 0;
            class.slabs.clear(); // unmaps
        }
    }

    /// Counts for tests and metrics.
    pub(crate) fn stats(&self) -> PoolStats {
        let classes = self
            .shared
            .classes
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut s = PoolStats::default();
        for c in classes.iter() {
            s.live += c.live;
            s.cached += c.free.len();
            s.slabs += c.slabs.len();
            s.reserved += c.slabs.iter().map(|s| s.map.len()).sum::<usize>();
            s.warm += c.free.iter().filter(|s| !s.cold).count();
        }
        s
    }
}

impl Class {
    /// Takes a never-used stack from the newest slab, mapping one if needed.
    fn carve(&mut self, kind: StackGuard, page: usize) -> io::Result<usize> {
        let need_slab = self.slabs.last().is_none_or(|s| s.carved == s.capacity);
        if need_slab {
            let max = (MAX_SLAB_BYTES / self.stride).max(1);
            let capacity = match self.slabs.last() {
                Some(s) => (s.capacity * 2).min(max),
                None => FIRST_SLAB_STACKS.min(max),
            };
            let map = sys::map_slab(capacity * self.stride)?;
            self.slabs.push(Slab {
                map,
                capacity,
                carved: 0,
                mappings: 0,
            });
        }
        let stride = self.stride;
        let slab = self.slabs.last_mut().expect("a slab was just ensured");
        let lo = slab.map.as_mut_ptr() as usize + slab.carved * stride;
        if kind == StackGuard::Mprotect {
            budget::take(budget::PER_STACK)?;
        }
        // SAFETY: `[lo, lo + page)` is the page-aligned guard slot of a stack
        // that was never handed out, inside the slab we own.
        if let Err(e) = unsafe { guard::install(kind, lo as *mut u8, page) } {
            if kind == StackGuard::Mprotect {
                budget::give_back(budget::PER_STACK);
            }
            return Err(e);
        }
        if kind == StackGuard::Mprotect {
            slab.mappings += budget::PER_STACK;
        }
        slab.carved += 1;
        Ok(lo + page)
    }
}

/// Gives `[base, base + len)` back to the kernel (`MADV_DONTNEED` on
/// Linux, `MADV_FREE` elsewhere: see [`sys::release_pages`]), `len`
/// rounded *down* to whole pages: the kernel would round it up, and where
/// a page is larger than [`RESIDENT_PREFIX`] (16 KiB on Apple silicon,
/// 64 KiB on some aarch64 Linux kernels) that would take the stack's top
/// page too. So there the resident prefix is the top page.
fn release(base: usize, len: usize) {
    let len = len / page_size() * page_size();
    if len == 0 {
        return;
    }
    // SAFETY: the range is the deep part (or, from a trim, the whole usable
    // range) of a stack in the free list or a worker's cache: no strand
    // runs on it and nothing else points into it or reads it again.
    unsafe { sys::release_pages(base, len) };
}

impl Drop for Shared {
    fn drop(&mut self) {
        let classes = self.classes.get_mut().unwrap_or_else(|e| e.into_inner());
        let mappings: usize = classes
            .iter()
            .flat_map(|c| c.slabs.iter())
            .map(|s| s.mappings)
            .sum();
        budget::give_back(mappings);
        // the slabs unmap as `classes` drops
    }
}

impl Stack {
    /// Lowest usable address (just above the guard).
    pub(crate) fn base(&self) -> *mut u8 {
        self.base as *mut u8
    }

    /// One past the highest usable address; 16-byte aligned.
    pub(crate) fn top(&self) -> *mut u8 {
        (self.base + self.size) as *mut u8
    }

    /// Usable bytes.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// The guard range `[lo, hi)` just below the stack.
    pub(crate) fn guard_range(&self) -> (usize, usize) {
        (self.base - page_size(), self.base)
    }

    /// Notes a stack pointer seen while the stack was suspended: below the
    /// resident prefix, the deep pages are released as soon as the stack
    /// returns to the pool.
    #[inline]
    pub(crate) fn note_sp(&mut self, sp: usize) {
        if sp != 0 && sp < self.base + self.size.saturating_sub(RESIDENT_PREFIX) {
            self.deep = true;
        }
    }

    /// Marks the stack as having been used below its resident prefix.
    pub(crate) fn mark_deep(&mut self) {
        self.deep = true;
    }

    /// In canary mode, whether the canary at the base is intact (always true
    /// for the other guard kinds).
    #[inline]
    pub(crate) fn canary_intact(&self) -> bool {
        // SAFETY: `base` is the lowest usable word of this stack, mapped
        // read-write for as long as the stack lives.
        self.guard != StackGuard::Canary
            || unsafe { (self.base as *const u64).read_volatile() } == guard::CANARY
    }
}

impl Stack {
    /// Readies a stack for reuse without returning it to the pool (a
    /// worker's own cache): deep pages seen at a switch are released, the
    /// canary is rewritten.
    pub(crate) fn recycle(&mut self) {
        if self.deep && self.size > RESIDENT_PREFIX {
            release(self.base, self.size - RESIDENT_PREFIX);
        }
        self.deep = false;
        self.cold = false;
        if self.guard == StackGuard::Canary {
            // SAFETY: the lowest usable word of a stack we hold.
            unsafe { (self.base as *mut u64).write(guard::CANARY) };
        }
    }
}

impl Stack {
    /// Gives back all the pages of a stack no strand uses (a worker's
    /// cache it has not needed for a reclaim interval): it goes back to
    /// the pool cold, and a trim may unmap its slab at once.
    pub(crate) fn release_all(&mut self) {
        release(self.base, self.size);
        self.cold = true;
        self.deep = false;
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let shared = &self.pool;
        let size = self.size;
        if self.deep && !self.cold && size > RESIDENT_PREFIX {
            release(self.base, size - RESIDENT_PREFIX);
        }
        let mut classes = shared.classes.lock().unwrap_or_else(|e| e.into_inner());
        let class = classes
            .iter_mut()
            .find(|c| c.size == size)
            .expect("a stack's size class outlives it");
        class.live -= 1;
        class.free.push(Slot {
            base: self.base,
            unverified: !self.deep && !self.cold,
            cold: self.cold,
        });
        if !shared.pending.load(Ordering::Relaxed) {
            shared.pending.store(true, Ordering::Relaxed);
        }
        class.returns += 1;
        if class.returns >= SCRUB_EVERY && !shared.winding_down.load(Ordering::Relaxed) {
            class.returns = 0;
            class.scrub(shared.page);
        }
    }
}
