//! [`grow`]: run a closure on a fresh, larger stack segment when the current
//! one runs low.

use crate::arch::{self, RawContext};
use crate::runtime::context;
use crate::stack::Stack;
use std::cell::UnsafeCell;
use std::panic::{self, AssertUnwindSafe};

/// Runs `f` on a fresh stack segment of `stack_size` bytes if less than
/// `red_zone` bytes of the current strand's stack remain, else right here;
/// returns `f`'s value either way. Deep recursion can call it at every
/// level (it costs a comparison when there is room) instead of giving every
/// strand a big stack.
///
/// A panic in `f` propagates to the caller as usual. Outside a strand `f`
/// simply runs on the thread's own stack.
///
/// # Panics
///
/// If a segment is needed and none can be had: `stack_size` out of range
/// (see [`MIN_STACK_SIZE`](crate::MIN_STACK_SIZE)) or no memory.
///
/// ```
/// fn depth(n: u64) -> u64 {
///     // 32 KiB of headroom per level is plenty; a new 1 MiB segment otherwise.
///     strands::grow(32 * 1024, 1 << 20, || if n == 0 { 0 } else { 1 + depth(n - 1) })
/// }
/// let n = strands::Runtime::builder()
///     .stack_size(64 * 1024)
///     .build()
///     .unwrap()
///     .block_on(|| depth(100_000)); // far more than 64 KiB of frames
/// assert_eq!(n, 100_000);
/// ```
#[track_caller]
pub fn grow<R, F: FnOnce() -> R>(red_zone: usize, stack_size: usize, f: F) -> R {
    let Some(strand) = context::current() else {
        return f();
    };
    let base = strand.record.base.get();
    if approximate_sp().saturating_sub(base) >= red_zone {
        return f();
    }
    let pool = context::stack_pool().expect("a strand runs on a worker");
    let mut stack = match pool.get(stack_size) {
        Ok(s) => s,
        Err(e) => panic!("strands::grow: no stack segment of {stack_size} bytes: {e}"),
    };
    let saved = (strand.record.guard_lo.get(), base, strand.record.top.get());
    let (glo, ghi) = stack.guard_range();
    let out = on_segment(&stack, f, || {
        strand.record.set(glo, ghi, stack.top() as usize)
    });
    strand.record.set(saved.0, saved.1, saved.2);
    if !stack.canary_intact() {
        crate::stack::overflow::report_and_abort(&strand.record);
    }
    stack.mark_deep(); // a segment is used because it goes deep: release on return
    drop(stack);
    match out {
        Ok(v) => v,
        Err(p) => context::resume_unwind(p),
    }
}

/// Bytes left on the running strand's current stack (or [`grow`] segment)
/// below this call, or `None` on a plain thread.
///
/// ```
/// strands::run(|| {
///     let left = strands::remaining_stack().unwrap();
///     assert!(left > 0 && left <= strands::DEFAULT_STACK_SIZE);
/// });
/// assert_eq!(strands::remaining_stack(), None);
/// ```
pub fn remaining_stack() -> Option<usize> {
    let strand = context::current()?;
    Some(approximate_sp().saturating_sub(strand.record.base.get()))
}

/// The address of a local: the stack pointer, give or take a frame.
#[inline(always)]
fn approximate_sp() -> usize {
    let marker = 0u8;
    std::hint::black_box(std::ptr::addr_of!(marker)) as usize
}

struct Frame<F, R> {
    f: Option<F>,
    out: Option<std::thread::Result<R>>,
    caller: UnsafeCell<RawContext>,
    segment: UnsafeCell<RawContext>,
}

/// Runs `f` on `stack` through a context switch and back.
fn on_segment<R, F: FnOnce() -> R>(
    stack: &Stack,
    f: F,
    enter: impl FnOnce(),
) -> std::thread::Result<R> {
    let mut frame = Frame {
        f: Some(f),
        out: None,
        caller: UnsafeCell::new(RawContext::empty()),
        segment: UnsafeCell::new(RawContext::empty()),
    };
    let arg = std::ptr::addr_of_mut!(frame) as *mut u8;
    // SAFETY: the segment is fresh and ours until `stack` drops, after this
    // function returns; `frame` outlives the segment's run.
    let ctx = unsafe { arch::init(stack.top(), stack.base(), segment_entry::<F, R>, arg) };
    // SAFETY: nothing else refers to `frame.segment` yet.
    unsafe { *frame.segment.get() = ctx };
    enter();
    // SAFETY: [1] `caller` is valid until resumed: `frame` lives on this
    // frame. [2] `segment` is fresh. The segment switches back to `caller`
    // exactly once, when `f` is done.
    unsafe { arch::switch(frame.caller.get(), frame.segment.get()) };
    frame.out.take().expect("the segment ran")
}

unsafe extern "C" fn segment_entry<F: FnOnce() -> R, R>(arg: *mut u8) {
    // SAFETY: `arg` is the `Frame` on the caller's stack, suspended in
    // `on_segment` until we switch back.
    let frame = unsafe { &mut *(arg as *mut Frame<F, R>) };
    let f = frame.f.take().expect("the segment's closure");
    frame.out = Some(panic::catch_unwind(AssertUnwindSafe(f)));
    // SAFETY: resuming the caller saved by `on_segment`. Our own context
    // goes into `segment`, which is never resumed again (the caller drops
    // it with the frame, and the stack after that).
    unsafe { arch::switch(frame.segment.get(), frame.caller.get()) };
    unreachable!("a finished stack segment was resumed");
}
