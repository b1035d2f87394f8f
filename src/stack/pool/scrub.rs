//! The scrub: finding, with `mincore`, the free stacks that hold pages
//! below their resident prefix although no switch saw them go that deep.

use super::{release, Class, RESIDENT_PREFIX};

impl Class {
    /// Releases pages below the resident prefix of unverified free stacks
    /// that hold any. Only the free list above `low_water` can hold
    /// unverified stacks (at most [`SCRUB_EVERY`] of them), so a scrub costs
    /// O(that) plus one `mincore` per run of nearby stacks, whatever the size
    /// of the pool.
    pub(super) fn scrub(&mut self, page: usize) {
        let size = self.size;
        let from = self.low_water.min(self.free.len());
        self.low_water = self.free.len();
        let candidates = &mut self.free[from..];
        if size <= RESIDENT_PREFIX {
            candidates.iter_mut().for_each(|s| s.unverified = false);
            return;
        }
        let deep_pages = (size - RESIDENT_PREFIX) / page;
        // In canary mode the base page holds the canary and is always
        // resident: judge depth by the pages above it.
        let skip = usize::from(self.guard_is_canary);
        // visit the candidates in address order, one slab at a time
        let mut order: Vec<usize> = (0..candidates.len())
            .filter(|&i| candidates[i].unverified)
            .collect();
        order.sort_unstable_by_key(|&i| candidates[i].base);
        let mut slabs: Vec<(usize, usize)> = self
            .slabs
            .iter()
            .map(|s| {
                (
                    s.map.as_ptr() as usize,
                    s.map.as_ptr() as usize + s.map.len(),
                )
            })
            .collect();
        slabs.sort_unstable();
        let mut vec = Vec::new();
        let mut i = 0;
        while i < order.len() {
            let first = candidates[order[i]].base;
            let k = slabs.partition_point(|&(lo, _)| lo <= first);
            let slab_end = if k > 0 { slabs[k - 1].1 } else { 0 };
            // one run: stacks of the same slab, each within a few strides of
            // the previous, so the `mincore` span stays close to what is asked
            // (returns in random order over a big pool would otherwise make
            // every scrub walk whole slabs)
            let stride = self.stride;
            let mut j = i + 1;
            while j < order.len()
                && candidates[order[j]].base < slab_end
                && candidates[order[j]].base - candidates[order[j - 1]].base <= 4 * stride
            {
                j += 1;
            }
            let last = candidates[order[j - 1]].base;
            let span = last + size - first;
            vec.clear();
            vec.resize(span / page, 0u8);
            // SAFETY: `[first, last + size)` lies inside one slab mapping of
            // ours; `vec` has one byte per page of it, as mincore requires.
            let ok = unsafe { libc::mincore(first as *mut _, span, vec.as_mut_ptr().cast()) } == 0;
            for &idx in &order[i..j] {
                let slot = &mut candidates[idx];
                slot.unverified = false;
                let at = (slot.base - first) / page;
                if !ok || vec[at + skip..at + deep_pages].iter().any(|b| b & 1 != 0) {
                    release(slot.base, size - RESIDENT_PREFIX);
                }
            }
            i = j;
        }
    }
}
