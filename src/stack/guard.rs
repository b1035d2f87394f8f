//! Guard pages: which kind this process can use, and installing one.
//!
//! Chosen once per process, best first:
//!
//! 1. `MADV_GUARD_INSTALL` (Linux 6.13+): the kernel marks the pages so that
//!    any access faults, without splitting the mapping, so guards cost no
//!    entry against `vm.max_map_count`. Some environments accept the advice
//!    and install nothing (qemu-user passes unknown `madvise` advice through
//!    as a no-op), so the guard is *verified* before it is trusted: a
//!    `write(2)` from a guarded page into a pipe fails with `EFAULT` only when
//!    the guard is real. Linux only: elsewhere it is not even tried.
//! 2. `mprotect(PROT_NONE)`: works everywhere, but splits the mapping; on
//!    Linux every guarded stack costs two entries against
//!    `vm.max_map_count`, tracked by [`super::budget`]. The only guard on
//!    macOS and the BSDs.
//! 3. A canary word at the lowest address of the stack, checked on every
//!    switch out of a strand: detects an overflow after the fact instead of
//!    at the faulting instruction, but never aborts anything else first.

use crate::loom::OnceLock;
use crate::os::sys;
use std::io;

/// The value written at the base of every stack in canary mode.
pub(crate) const CANARY: u64 = 0x5354_524e_4453_2121; // "STRNDS!!"

/// How stacks are guarded against overflow.
///
/// [`StackGuard::Auto`] (the default) picks the best kind the running kernel
/// really supports. The others force one kind, for tests and measurements;
/// forcing a kind the system does not support makes building the runtime
/// fail with an error.
///
/// ```
/// use strands::StackGuard;
/// let rt = strands::Runtime::builder().stack_guard(StackGuard::Mprotect).build().unwrap();
/// assert_eq!(rt.block_on(|| 6 * 7), 42);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StackGuard {
    /// The best kind available: `GuardInstall`, else `Mprotect`.
    #[default]
    Auto,
    /// `madvise(MADV_GUARD_INSTALL)`: no extra memory mapping per stack.
    GuardInstall,
    /// `mprotect(PROT_NONE)`: two memory mappings per stack, counted against
    /// `vm.max_map_count`.
    Mprotect,
    /// No guard page: a canary word checked each time a strand switches out.
    Canary,
}

impl StackGuard {
    /// Resolves `Auto` to the kind the system supports; checks a forced kind.
    pub(crate) fn resolve(self) -> io::Result<StackGuard> {
        match self {
            StackGuard::Auto => Ok(if guard_install_works() {
                StackGuard::GuardInstall
            } else {
                StackGuard::Mprotect
            }),
            StackGuard::GuardInstall if !guard_install_works() => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "MADV_GUARD_INSTALL is not supported here (needs Linux 6.13+, not under qemu-user; \
                 macOS and the BSDs have no such advice)",
            )),
            kind => Ok(kind),
        }
    }
}

/// Whether `MADV_GUARD_INSTALL` works for real in this process (probed once).
pub(crate) fn guard_install_works() -> bool {
    static WORKS: OnceLock<bool> = OnceLock::new();
    *WORKS.get_or_init(probe_guard_install)
}

fn probe_guard_install() -> bool {
    let Some(advice) = sys::MADV_GUARD_INSTALL else {
        return false; // not a Linux kernel: no such advice
    };
    let page = super::page_size();
    // SAFETY: a fresh private anonymous mapping of one page; checked below.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            page,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return false;
    }
    let works = 'probe: {
        // SAFETY: `p` is our own page-aligned mapping of `page` bytes.
        if unsafe { libc::madvise(p, page, advice) } != 0 {
            break 'probe false;
        }
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors pipe writes.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            break 'probe false;
        }
        // SAFETY: the kernel reads from `p` on our behalf: a real guard makes
        // that fail with EFAULT instead of faulting this thread.
        let n = unsafe { libc::write(fds[1], p, 1) };
        let err = io::Error::last_os_error().raw_os_error();
        // SAFETY: closing the two descriptors we just opened.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
        n == -1 && err == Some(libc::EFAULT)
    };
    // SAFETY: unmapping the probe page mapped above; nothing refers to it.
    unsafe { libc::munmap(p, page) };
    works
}

/// Installs a guard over `[lo, lo + len)` of the given kind.
///
/// # Safety
///
/// The range must be page-aligned, inside a mapping the caller owns, and
/// unused: after this call any access to it faults.
pub(crate) unsafe fn install(kind: StackGuard, lo: *mut u8, len: usize) -> io::Result<()> {
    let rc = match kind {
        StackGuard::GuardInstall => match sys::MADV_GUARD_INSTALL {
            // SAFETY: the caller owns the page-aligned range.
            Some(advice) => unsafe { libc::madvise(lo.cast(), len, advice) },
            None => return Err(io::ErrorKind::Unsupported.into()), // `resolve` refuses it first
        },
        // SAFETY: as above.
        StackGuard::Mprotect => unsafe { libc::mprotect(lo.cast(), len, libc::PROT_NONE) },
        StackGuard::Canary | StackGuard::Auto => 0,
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
