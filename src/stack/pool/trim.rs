//! Giving an idle pool's memory back: [`StackPool::trim`].
//!
//! The runtime calls it every reclaim interval (`Builder::reclaim_after`,
//! one second by default), from a worker that is idle in the poller or
//! from a busy worker's maintenance tick: never on the spawn path. What a
//! trim gives back is decided by the free list's *low-water mark since the
//! previous trim*: the stacks below it were not handed out in all that
//! time (the free list is LIFO, so they are the least recently used), and
//! the ones above it form the recent working set, which stays as it is.
//!
//! - A slab all of whose carved stacks are below the mark (or came back
//!   cold: a worker's cache it gave back after a reclaim interval unused)
//!   is unmapped (its stacks leave the free list).
//! - Every other stack below the mark gives back all its pages (one
//!   `madvise(MADV_DONTNEED)`, `MADV_FREE` off Linux, over its usable
//!   range) and is marked cold,
//!   so the next trim does not ask again.
//!
//! So a stack is given back between one and two intervals after its last
//! use, and a pool that sat unused for two intervals holds no stack memory
//! but the stacks its slabs share with stacks in use. The worker caches
//! (at most 64 stacks per worker) are not the pool's: a worker that ran no
//! strand for a whole interval gives its cache back, cold
//! (`Worker::reclaim_cache`).

use super::{budget, release, Class, Slab, StackPool};
use crate::loom::Ordering;

/// What one trim gave back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Trimmed {
    /// Stacks whose pages were released (their slabs stay).
    pub released: usize,
    /// Slabs unmapped.
    pub unmapped: usize,
}

impl StackPool {
    /// Whether a stack came back since the last trim that found nothing
    /// more to give back (one relaxed load: callers skip the trim if not).
    pub(crate) fn trim_pending(&self) -> bool {
        self.shared.pending.load(Ordering::Relaxed)
    }

    /// Gives back the stacks not handed out since the previous trim (see
    /// the module docs). The slabs are unmapped after the pool's lock is
    /// released.
    pub(crate) fn trim(&self) -> Trimmed {
        let mut doomed = Vec::new();
        let mut out = Trimmed::default();
        {
            let mut classes = self
                .shared
                .classes
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let mut more = false;
            for class in classes.iter_mut() {
                more |= class.trim(&mut doomed, &mut out);
            }
            // under the lock: a stack returned after this sets it again
            self.shared.pending.store(more, Ordering::Relaxed);
        }
        let mappings: usize = doomed.iter().map(|s| s.mappings).sum();
        out.unmapped = doomed.len();
        drop(doomed); // unmaps
        budget::give_back(mappings);
        out
    }
}

impl Class {
    /// Trims this class; returns whether a later trim may give back more
    /// (warm stacks are left above the mark).
    fn trim(&mut self, doomed: &mut Vec<Slab>, out: &mut Trimmed) -> bool {
        let len = self.free.len();
        let n = self.idle_low.min(len);
        if n > 0 || self.free.iter().any(|s| s.cold) {
            let removed_below = self.give_back(n, doomed, out);
            // the stacks left below `n` are all cold (verified); those
            // above may have moved down, so the scrub's mark goes no
            // higher than what is left of `n` (the scrub looks only at
            // unverified stacks anyway)
            self.low_water = self.low_water.min(len).min(n - removed_below);
        }
        self.idle_low = self.free.len();
        self.free.iter().any(|s| !s.cold)
    }

    /// Unmaps the slabs whose stacks are all among `free[..n]` or cold,
    /// releases the other stacks of `free[..n]`; returns how many of
    /// `free[..n]` left the free list.
    fn give_back(&mut self, n: usize, doomed: &mut Vec<Slab>, out: &mut Trimmed) -> usize {
        // the slabs by address, to find each stack's slab
        let mut spans: Vec<(usize, usize, usize)> = self
            .slabs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let lo = s.map.as_ptr() as usize;
                (lo, lo + s.map.len(), i)
            })
            .collect();
        spans.sort_unstable();
        let slab_of = |base: usize| {
            let k = spans.partition_point(|&(lo, _, _)| lo <= base);
            debug_assert!(
                k > 0 && base < spans[k - 1].1,
                "a free stack lies in a slab"
            );
            spans[k - 1].2
        };
        let mut idle = vec![0usize; self.slabs.len()];
        for (i, slot) in self.free.iter().enumerate() {
            if i < n || slot.cold {
                idle[slab_of(slot.base)] += 1;
            }
        }
        let unmap: Vec<bool> = self
            .slabs
            .iter()
            .zip(&idle)
            .map(|(s, &c)| c > 0 && c == s.carved)
            .collect();
        let size = self.size;
        let mut removed = 0;
        let mut i = 0;
        self.free.retain_mut(|slot| {
            let below = i < n;
            i += 1;
            if (below || slot.cold) && unmap[slab_of(slot.base)] {
                removed += usize::from(below);
                return false;
            }
            if !below {
                return true;
            }
            if !slot.cold {
                release(slot.base, size);
                slot.cold = true;
                slot.unverified = false;
                out.released += 1;
            }
            true
        });
        let slabs = std::mem::take(&mut self.slabs);
        for (slab, unmap) in slabs.into_iter().zip(unmap) {
            if unmap {
                doomed.push(slab);
            } else {
                self.slabs.push(slab);
            }
        }
        removed
    }
}
