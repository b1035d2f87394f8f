//! ucontext backend: `getcontext` / `makecontext` / `swapcontext` from libc.
//!
//! Portable wherever libc offers them, and slow: glibc's `swapcontext` saves
//! and restores the signal mask with an `rt_sigprocmask` system call on every
//! switch. A `ucontext_t` holds a pointer into itself (the floating-point
//! state), so it lives in a `Box` and never moves once written.
//!
//! The outermost frame of a context made here is glibc's `__start_context`,
//! whose CFI marks the return address undefined, so unwinding stops there
//! just as it does at the assembly backend's trampoline.

use super::Entry;
use std::cell::UnsafeCell;
use std::mem::MaybeUninit;

/// A suspended context: a boxed `ucontext_t`, written by `getcontext` /
/// `swapcontext` in place.
pub(crate) struct RawContext {
    uc: Box<UnsafeCell<MaybeUninit<libc::ucontext_t>>>,
}

impl std::fmt::Debug for RawContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawContext").finish_non_exhaustive()
    }
}

impl RawContext {
    /// A slot to save the running context into.
    pub(crate) fn empty() -> Self {
        RawContext {
            uc: Box::new(UnsafeCell::new(MaybeUninit::zeroed())),
        }
    }

    fn as_ptr(&self) -> *mut libc::ucontext_t {
        self.uc.get().cast()
    }

    /// The saved stack pointer (0 if none is saved or the target has no
    /// accessor for it).
    pub(crate) fn stack_pointer(&self) -> usize {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        {
            // SAFETY: the box is zero-initialised at creation and only ever
            // written by libc; reading an integer register slot is fine at
            // any time (the context is not running on this slot concurrently:
            // it is only read by the thread that saved it).
            unsafe { (*self.as_ptr()).uc_mcontext.gregs[libc::REG_RSP as usize] as usize }
        }
        #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
        {
            0
        }
    }
}

/// Splits a pointer into two 32-bit halves: `makecontext` passes `int`s.
fn split(p: usize) -> (u32, u32) {
    ((p as u64 >> 32) as u32, p as u64 as u32)
}

fn join(hi: u32, lo: u32) -> usize {
    (((hi as u64) << 32) | lo as u64) as usize
}

/// The first function of a fresh ucontext: reassembles `entry` and `arg`
/// from the four `int` arguments `makecontext` passed.
extern "C" fn start(entry_hi: u32, entry_lo: u32, arg_hi: u32, arg_lo: u32) {
    let entry = join(entry_hi, entry_lo);
    let arg = join(arg_hi, arg_lo) as *mut u8;
    // SAFETY: `entry` was split from a valid `Entry` function pointer by
    // `init` below; function pointers round-trip through usize.
    let entry: Entry = unsafe { std::mem::transmute::<usize, Entry>(entry) };
    // SAFETY: the contract of `init` hands `arg` to `entry` unchanged.
    unsafe { entry(arg) };
    // `entry` never returns; if it did, uc_link is null and the thread
    // would exit: abort loudly instead.
    std::process::abort();
}

/// Makes a context that runs `entry(arg)` on the stack `[base, top)`.
///
/// # Safety
///
/// `[base, top)` must be a writable stack that stays valid and unused by
/// anything else for as long as the context can run. `entry` must never
/// return.
pub(crate) unsafe fn init(top: *mut u8, base: *mut u8, entry: Entry, arg: *mut u8) -> RawContext {
    let ctx = RawContext::empty();
    let uc = ctx.as_ptr();
    // SAFETY: `uc` points to a boxed, zeroed ucontext_t that never moves.
    let rc = unsafe { libc::getcontext(uc) };
    assert_eq!(rc, 0, "getcontext failed");
    // SAFETY: writing plain fields of the ucontext we own; then makecontext
    // with a function taking exactly the 4 int arguments passed (its
    // declared type in libc is `extern "C" fn()`, hence the transmute).
    unsafe {
        (*uc).uc_stack.ss_sp = base.cast();
        (*uc).uc_stack.ss_size = top as usize - base as usize;
        (*uc).uc_stack.ss_flags = 0;
        (*uc).uc_link = std::ptr::null_mut();
        let (eh, el) = split(entry as usize);
        let (ah, al) = split(arg as usize);
        let start: extern "C" fn(u32, u32, u32, u32) = start;
        libc::makecontext(
            uc,
            std::mem::transmute::<extern "C" fn(u32, u32, u32, u32), extern "C" fn()>(start),
            4,
            eh,
            el,
            ah,
            al,
        );
    }
    ctx
}

/// Saves the running context into `save` and resumes `load`.
///
/// # Safety
///
/// As for the assembly backend: `load` holds a context that was saved or
/// made and not resumed since, with a valid stack; `save` stays valid until
/// it is resumed or abandoned.
#[inline]
pub(crate) unsafe fn switch(save: *mut RawContext, load: *const RawContext) {
    // SAFETY: both boxes are valid ucontext_t storage (caller); swapcontext
    // writes the current context into the first and resumes the second.
    let rc = unsafe { libc::swapcontext((*save).as_ptr(), (*load).as_ptr()) };
    debug_assert_eq!(rc, 0, "swapcontext failed");
}
