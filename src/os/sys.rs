//! The crate's platform layer: every difference between Linux and the other
//! Unixes (macOS, the BSDs) that the runtime acts on, as a few functions
//! and constants. The rest of the crate calls these and has no `cfg` of
//! its own for the operating system.
//!
//! The cfgs come from `build.rs`: `linux_like` (Linux, Android) marks the
//! Linux kernel interfaces (`/proc`, `MAP_NORESERVE`, `MAP_STACK`,
//! `MADV_GUARD_INSTALL`, `MADV_NOHUGEPAGE`, a freeing `MADV_DONTNEED`,
//! `vm.max_map_count`). docs/platforms.md has the table.

use memmap2::{MmapMut, MmapOptions};
use std::io;

/// A cheap monotonic clock for wait records and other coarse timing
/// (values are only ever compared with each other): Linux's
/// `CLOCK_MONOTONIC_COARSE`, FreeBSD's `CLOCK_MONOTONIC_FAST`, Apple's
/// `CLOCK_MONOTONIC_RAW_APPROX`, else `CLOCK_MONOTONIC`.
#[cfg(linux_like)]
pub(crate) const COARSE_CLOCK: libc::clockid_t = libc::CLOCK_MONOTONIC_COARSE;
/// See the Linux definition.
#[cfg(any(target_os = "freebsd", target_os = "dragonfly"))]
pub(crate) const COARSE_CLOCK: libc::clockid_t = libc::CLOCK_MONOTONIC_FAST;
/// See the Linux definition.
#[cfg(target_vendor = "apple")]
pub(crate) const COARSE_CLOCK: libc::clockid_t = libc::CLOCK_MONOTONIC_RAW_APPROX;
/// See the Linux definition.
#[cfg(not(any(
    linux_like,
    target_os = "freebsd",
    target_os = "dragonfly",
    target_vendor = "apple"
)))]
pub(crate) const COARSE_CLOCK: libc::clockid_t = libc::CLOCK_MONOTONIC;

/// Maps `len` bytes of anonymous memory for a slab of stacks: address
/// space only, committed page by page as it is touched.
///
/// On Linux with `MAP_NORESERVE` (no swap reservation for the whole slab
/// under strict overcommit), `MAP_STACK`, and `MADV_NOHUGEPAGE` (a huge page
/// would commit 2 MiB at a stack's first touch). Elsewhere a plain private
/// anonymous mapping, which is lazily committed there already: macOS and
/// FreeBSD have no `MAP_NORESERVE` to ask for, and FreeBSD's `MAP_STACK`
/// means something else (a region that grows down from its top on demand,
/// which a slab of many stacks must not be).
pub(crate) fn map_slab(len: usize) -> io::Result<MmapMut> {
    let mut opts = MmapOptions::new();
    opts.len(len);
    #[cfg(linux_like)]
    opts.no_reserve_swap().stack();
    let map = opts.map_anon()?;
    #[cfg(linux_like)]
    // SAFETY: advising our own fresh mapping. Failure (no transparent huge
    // pages) is harmless, so the result is ignored.
    unsafe {
        libc::madvise(map.as_ptr() as *mut _, map.len(), libc::MADV_NOHUGEPAGE)
    };
    Ok(map)
}

/// Gives the pages of `[base, base + len)` back to the system.
///
/// Linux: `MADV_DONTNEED`, which frees them at once (the next touch reads
/// zeros). macOS and the BSDs: `MADV_FREE`, because their `MADV_DONTNEED`
/// is only a hint that keeps the pages; `MADV_FREE` lets the kernel take
/// them (at once on FreeBSD, under memory pressure on macOS, which counts
/// them as reclaimable meanwhile), and the next touch reads either the old
/// contents or zeros -- which a free stack does not care about.
///
/// # Safety
///
/// The range must be page-aligned, inside a mapping the caller owns, and
/// hold nothing anyone will read again.
pub(crate) unsafe fn release_pages(base: usize, len: usize) {
    #[cfg(linux_like)]
    const ADVICE: libc::c_int = libc::MADV_DONTNEED;
    #[cfg(not(linux_like))]
    const ADVICE: libc::c_int = libc::MADV_FREE;
    // SAFETY: the caller owns the range and needs none of its contents.
    unsafe { libc::madvise(base as *mut _, len, ADVICE) };
}

/// The `madvise` advice that installs guard regions (Linux 6.13+), where
/// the kernel can have it; `None` elsewhere (the pool uses `mprotect`).
#[cfg(linux_like)]
pub(crate) const MADV_GUARD_INSTALL: Option<libc::c_int> = Some(102);
/// See the Linux definition.
#[cfg(not(linux_like))]
pub(crate) const MADV_GUARD_INSTALL: Option<libc::c_int> = None;

/// The most memory mappings a process may have (`vm.max_map_count` on
/// Linux), or `None` where the system sets no such count: macOS, FreeBSD,
/// NetBSD and OpenBSD do not refuse an `mmap` or `mprotect` for the number
/// of mappings a process holds, so `mprotect` guards need no budget there
/// (address space and `RLIMIT_AS` / `RLIMIT_DATA` are their only limits).
/// DragonFly's `vm.max_proc_mmap` (1,000,000 by default) is not read.
pub(crate) fn max_map_count() -> Option<usize> {
    #[cfg(linux_like)]
    {
        Some(
            std::fs::read_to_string("/proc/sys/vm/max_map_count")
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(65530),
        )
    }
    #[cfg(not(linux_like))]
    {
        None
    }
}

/// How many memory mappings the process has now (0 where unknown).
pub(crate) fn mapping_count() -> usize {
    #[cfg(linux_like)]
    {
        std::fs::read_to_string("/proc/self/maps")
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }
    #[cfg(not(linux_like))]
    {
        0
    }
}

/// The interrupted stack pointer, from the machine context a signal handler
/// gets as its third argument (0 where not known).
///
/// # Safety
///
/// `ctx` must be null or the `ucontext_t` the kernel passed to an
/// `SA_SIGINFO` handler that is still running.
pub(crate) unsafe fn interrupted_sp(ctx: *mut libc::c_void) -> usize {
    if ctx.is_null() {
        return 0;
    }
    let uc = ctx as *const libc::ucontext_t;
    #[cfg(all(linux_like, target_arch = "x86_64"))]
    {
        // SAFETY: the caller passes the interrupted ucontext.
        unsafe { (*uc).uc_mcontext.gregs[libc::REG_RSP as usize] as usize }
    }
    #[cfg(all(linux_like, target_arch = "aarch64"))]
    {
        // SAFETY: as above.
        unsafe { (*uc).uc_mcontext.sp as usize }
    }
    #[cfg(all(target_vendor = "apple", target_arch = "x86_64"))]
    {
        // SAFETY: as above; on Apple's systems `uc_mcontext` points to the
        // machine state, which the kernel fills for a signal handler.
        unsafe { (*(*uc).uc_mcontext).__ss.__rsp as usize }
    }
    #[cfg(all(target_vendor = "apple", target_arch = "aarch64"))]
    {
        // SAFETY: as above.
        unsafe { (*(*uc).uc_mcontext).__ss.__sp as usize }
    }
    #[cfg(all(target_os = "freebsd", target_arch = "x86_64"))]
    {
        // SAFETY: as above.
        unsafe { (*uc).uc_mcontext.mc_rsp as usize }
    }
    #[cfg(all(target_os = "freebsd", target_arch = "aarch64"))]
    {
        // SAFETY: as above.
        unsafe { (*uc).uc_mcontext.mc_gpregs.gp_sp as usize }
    }
    #[cfg(not(any(all(
        any(linux_like, target_vendor = "apple", target_os = "freebsd"),
        any(target_arch = "x86_64", target_arch = "aarch64")
    ),)))]
    {
        let _ = uc;
        0
    }
}
