//! Warming the cache for the strands about to run (see [`warm`]).

use super::StrandRef;

/// Warms the cache for the strands about to run from `queue` (just after a
/// pick from its front): the stack of the second in line (whose header the
/// previous pick warmed, so reading its saved stack pointer does not wait)
/// and the whole header of the third. With thousands of strands taking
/// turns, each switch would otherwise wait for its header and then its
/// stack, one after the other, from memory.
#[inline]
pub(super) fn warm(queue: &std::collections::VecDeque<StrandRef>) {
    if let Some(first) = queue.get(1) {
        // SAFETY: this worker owns the strands in its started queue, and
        // only reads the saved stack pointer (no switch).
        let sp = unsafe { (*first.context_slot()).stack_pointer() };
        // the saved registers, then the frames the strand returns through
        for line in 0..WARM_STACK_LINES {
            crate::arch::prefetch((sp + line * 64) as *const u8);
        }
    }
    if let Some(second) = queue.get(2) {
        let header = crate::loom::Arc::as_ptr(second) as *const u8;
        for line in 0..std::mem::size_of::<crate::strand::Header>().div_ceil(64) {
            crate::arch::prefetch(header.wrapping_add(line * 64));
        }
    }
}

/// Cache lines of a queued strand's stack warmed by [`warm`]: the saved
/// registers and the frames of the yield it returns through. Measured with
/// `stress --strands 10000 --yields 100`: 2 lines 53-55 ns per switch, 4
/// lines 43-47 ns, 8 lines 65-67 ns (more lines than the yield path reads
/// evict what the next switches need).
const WARM_STACK_LINES: usize = 4;
