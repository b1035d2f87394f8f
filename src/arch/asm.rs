//! Assembly backend: a suspended context is its stack pointer.
//!
//! The frame layouts and the register lists are drawn at the top of
//! `asm/x86_64.S` and `asm/aarch64.S`.

use super::Entry;

extern "C" {
    fn strands_switch(save_sp: *mut *mut u8, load_sp: *mut u8);
    fn strands_init_stack(top: *mut u8, entry: Entry, arg: *mut u8) -> *mut u8;
}

/// A suspended context: the stack pointer of the stack that holds its saved
/// registers, or null while it runs (or before it was ever saved).
#[derive(Debug)]
pub(crate) struct RawContext {
    sp: *mut u8,
}

impl RawContext {
    /// A slot to save the running context into.
    pub(crate) const fn empty() -> Self {
        RawContext {
            sp: std::ptr::null_mut(),
        }
    }

    /// The saved stack pointer (null if none is saved).
    pub(crate) fn stack_pointer(&self) -> usize {
        self.sp as usize
    }
}

/// Makes a context that runs `entry(arg)` on the stack whose highest address
/// is `top`, when first switched to.
///
/// # Safety
///
/// `top` must be the top of a writable stack of at least a few KiB that
/// stays valid, and is not used by anything else, for as long as the context
/// can run. `entry` must never return.
#[inline]
pub(crate) unsafe fn init(top: *mut u8, _base: *mut u8, entry: Entry, arg: *mut u8) -> RawContext {
    // SAFETY: the caller guarantees `top` heads a writable, unused stack;
    // the routine writes only the 64 (x86_64) / 176 (aarch64) bytes below it.
    let sp = unsafe { strands_init_stack(top, entry, arg) };
    RawContext { sp }
}

/// Saves the running context into `save` and resumes `load`.
///
/// Returns when another context switches back to `save`.
///
/// # Safety
///
/// `load` must hold a context saved by [`switch`] or made by [`init`] that
/// has not been resumed since, whose stack is still valid; `save` must stay
/// valid (not move, not be freed) until it is resumed or abandoned.
#[inline]
pub(crate) unsafe fn switch(save: *mut RawContext, load: *const RawContext) {
    // SAFETY: [1] `save` is valid for a write (caller); `sp` is its first and
    // only field, so the pointer cast is exact. [2] `load` holds a saved or
    // fresh frame of exactly the layout strands_switch pops (caller).
    unsafe { strands_switch(std::ptr::addr_of_mut!((*save).sp), (*load).sp) }
}
