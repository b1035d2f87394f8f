//! The lowest layer: saving one execution context and resuming another.
//!
//! Two backends with one interface, chosen here and nowhere else:
//!
//! - **assembly** (`asm/x86_64.S`, `asm/aarch64.S`, built by `build.rs`):
//!   a context is a stack pointer; a switch pushes the callee-saved registers
//!   and the floating-point control words, swaps stacks and pops. A few
//!   nanoseconds.
//! - **ucontext** (`getcontext` / `makecontext` / `swapcontext` from libc):
//!   on glibc Linux targets without an assembly backend, and on x86_64 /
//!   aarch64 with the cargo feature `ucontext` so that the fallback is
//!   tested too (refused on Apple targets, where it is deprecated; a target
//!   with neither does not build). glibc's `swapcontext`
//!   also saves and restores the signal mask with a system call, which makes
//!   it one to two orders of magnitude slower.
//!
//! Both expose:
//!
//! - [`RawContext`]: storage for one suspended context;
//! - [`init`]: make a context that, when first resumed, calls
//!   `entry(arg)` on a given stack, with that call as the outermost frame;
//! - [`switch`]: save the running context into one `RawContext` and resume
//!   another.

#[cfg(strands_asm)]
mod asm;
#[cfg(strands_asm)]
pub(crate) use asm::{init, switch, RawContext};

#[cfg(not(strands_asm))]
mod ucontext;
#[cfg(not(strands_asm))]
pub(crate) use ucontext::{init, switch, RawContext};

/// The function a fresh context starts in. It must never return: it ends by
/// switching away for the last time.
pub(crate) type Entry = unsafe extern "C" fn(arg: *mut u8);

/// Name of the active backend, for reports and benchmarks.
pub const BACKEND: &str = if cfg!(strands_asm) {
    if cfg!(target_arch = "x86_64") {
        "asm-x86_64"
    } else {
        "asm-aarch64"
    }
} else {
    "ucontext"
};

/// Asks the cache for the line holding `addr`, ahead of a switch that will
/// read it (a queued strand's header, or the registers saved on its
/// stack). Only a hint: it never faults, and does nothing where there is
/// no prefetch instruction.
#[inline(always)]
pub(crate) fn prefetch(addr: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it does not fault on any address.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(addr as *const i8)
    };
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above (`prfm` does not fault either).
    unsafe {
        core::arch::asm!("prfm pldl1keep, [{0}]", in(reg) addr, options(nostack, readonly, preserves_flags))
    };
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = addr;
}
