//! Stack-overflow reports: a `SIGSEGV`/`SIGBUS` handler that names the strand.
//!
//! Each thread that runs strands publishes, in a thread-local, a pointer to
//! the [`StackRecord`] of the strand it is running (or null). The handler,
//! installed once per process with `libc::sigaction` (`SA_SIGINFO |
//! SA_ONSTACK`; signal-hook refuses `SIGSEGV`), runs on the thread's
//! alternate signal stack -- the faulting stack has no room left -- and asks:
//! does the fault address lie in the running strand's guard, and is the
//! stack pointer inside that strand's stack (or its guard)? If so it writes
//!
//! ```text
//! strand '<name>' (id N) has overflowed its stack (S KiB)
//! ```
//!
//! to stderr with `write(2)` alone (no allocation, no locks: the handler
//! must be async-signal-safe) and aborts, as std does for threads. Any other
//! fault goes to the handler that was installed before ours, so std's own
//! "thread '…' has overflowed its stack" keeps working and a null
//! dereference still dies of a plain `SIGSEGV`.
//!
//! Both signals are caught everywhere because systems differ in which one
//! a guard-page hit raises: Linux and FreeBSD send `SIGSEGV` for an access
//! to a `PROT_NONE` page, macOS sends `SIGBUS` (with the faulting address
//! in `si_addr` all the same). The stack pointer is read from the machine
//! context by `os::sys::interrupted_sp`, which knows the layouts of Linux,
//! macOS and FreeBSD on x86_64 and aarch64; elsewhere it answers 0 and the
//! fault address alone decides.

use crate::loom::{Once, OnceLock};
use crate::os::sys;
use std::cell::Cell;
use std::ptr;

/// What the signal handler needs to know about the running strand's stack.
/// Lives inside the strand; updated when [`crate::grow`] moves it onto another
/// segment.
#[derive(Debug)]
pub(crate) struct StackRecord {
    /// Lowest address of the guard.
    pub guard_lo: Cell<usize>,
    /// Lowest usable address (= top of the guard).
    pub base: Cell<usize>,
    /// One past the highest usable address.
    pub top: Cell<usize>,
    /// The strand's id.
    pub id: u64,
    /// The strand's name, if any (points into the strand, which outlives
    /// the record's publication).
    pub name: Option<(*const u8, usize)>,
}

// SAFETY: the record is only read by the thread running its strand (the
// signal handler runs on that same thread); the raw name pointer refers to
// the strand's own immutable name.
unsafe impl Send for StackRecord {}
// SAFETY: as above: shared references are never used concurrently from two
// threads while the record is published.
unsafe impl Sync for StackRecord {}

impl StackRecord {
    pub(crate) fn new(id: u64, name: Option<&str>) -> Self {
        StackRecord {
            guard_lo: Cell::new(0),
            base: Cell::new(0),
            top: Cell::new(0),
            id,
            name: name.map(|n| (n.as_ptr(), n.len())),
        }
    }

    /// Points the record at the stack `[base, top)` with its guard below.
    pub(crate) fn set(&self, guard_lo: usize, base: usize, top: usize) {
        self.guard_lo.set(guard_lo);
        self.base.set(base);
        self.top.set(top);
    }
}

thread_local! {
    /// The record of the strand running on this thread, or null.
    static CURRENT: Cell<*const StackRecord> = const { Cell::new(ptr::null()) };
}

/// Publishes `rec` as the running strand's record on this thread (null when
/// the thread goes back to the scheduler). Out of line: called from strand
/// code too, which may resume on another thread (see
/// `runtime::worker::this_worker`).
#[inline(never)]
pub(crate) fn set_current(rec: *const StackRecord) {
    CURRENT.with(|c| c.set(rec));
}

static PREV_SEGV: OnceLock<libc::sigaction> = OnceLock::new();
static PREV_BUS: OnceLock<libc::sigaction> = OnceLock::new();

/// Installs the handler once per process. Idempotent and cheap after the
/// first call.
pub(crate) fn install_handler() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        for (sig, prev) in [(libc::SIGSEGV, &PREV_SEGV), (libc::SIGBUS, &PREV_BUS)] {
            // SAFETY: sigaction structs are plain data; all-zero is a valid
            // starting point that we then fill in.
            let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
            action.sa_sigaction = handler as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            // SAFETY: sa_mask is ours to initialise.
            unsafe { libc::sigemptyset(&mut action.sa_mask) };
            // SAFETY: as above.
            let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
            // SAFETY: installing a handler with valid, initialised structs.
            // A fault arriving before `prev` is set finds it unset and takes
            // the default action, which is what `old` holds at process start.
            if unsafe { libc::sigaction(sig, &action, &mut old) } == 0 {
                let _ = prev.set(old);
            }
        }
    });
}

/// The `SIGSEGV` / `SIGBUS` handler.
extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    let rec = CURRENT.try_with(|c| c.get()).unwrap_or(ptr::null());
    if !rec.is_null() {
        // SAFETY: a non-null CURRENT points to the record of the strand this
        // thread is running; it stays valid while published.
        let rec = unsafe { &*rec };
        let (glo, base, top) = (rec.guard_lo.get(), rec.base.get(), rec.top.get());
        // SAFETY: `ctx` is the ucontext the kernel passed to this
        // SA_SIGINFO handler.
        let sp = unsafe { sys::interrupted_sp(ctx) };
        if addr >= glo && addr < base && (sp == 0 || (sp >= glo && sp < top)) {
            report_and_abort(rec);
        }
    }
    chain(sig, info, ctx);
}

/// Hands a fault that is not a strand's overflow to the previous handler.
fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let prev = if sig == libc::SIGBUS {
        PREV_BUS.get()
    } else {
        PREV_SEGV.get()
    };
    match prev {
        Some(p) if p.sa_sigaction != libc::SIG_DFL && p.sa_sigaction != libc::SIG_IGN => {
            if p.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: the previous handler was installed as an
                // SA_SIGINFO handler with exactly this signature.
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    unsafe { std::mem::transmute(p.sa_sigaction) };
                f(sig, info, ctx);
            } else {
                // SAFETY: a plain handler takes the signal number only.
                let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(p.sa_sigaction) };
                f(sig);
            }
        }
        _ => {
            // Default action: restore it and return; the faulting instruction
            // runs again and the kernel delivers the signal with SIG_DFL.
            // SAFETY: resetting a signal disposition is async-signal-safe.
            unsafe { libc::signal(sig, libc::SIG_DFL) };
        }
    }
}

/// Writes the overflow line for `rec` and aborts. Async-signal-safe.
pub(crate) fn report_and_abort(rec: &StackRecord) -> ! {
    let mut buf = [0u8; 512];
    let mut w = Writer {
        buf: &mut buf,
        len: 0,
    };
    w.put(b"\nstrand '");
    match rec.name {
        // SAFETY: the name points into the running strand, alive and
        // immutable while its record is published.
        Some((p, n)) => w.put(unsafe { std::slice::from_raw_parts(p, n) }),
        None => w.put(b"<unnamed>"),
    }
    w.put(b"' (id ");
    w.num(rec.id);
    w.put(b") has overflowed its stack (");
    w.num(((rec.top.get() - rec.base.get()) / 1024) as u64);
    w.put(b" KiB)\nfatal runtime error: stack overflow, aborting\n");
    let len = w.len;
    // SAFETY: write(2) and abort(3) are async-signal-safe; `buf[..len]` is
    // initialised.
    unsafe {
        libc::write(2, buf.as_ptr().cast(), len);
        libc::abort()
    }
}

/// A fixed-buffer writer: no allocation, truncates silently.
struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Writer<'_> {
    fn put(&mut self, s: &[u8]) {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s[..n]);
        self.len += n;
    }

    fn num(&mut self, mut v: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.put(&digits[i..]);
    }
}

/// An alternate signal stack this crate installed on a thread; removed and
/// unmapped when dropped (on the same thread).
pub(crate) struct AltStack {
    map: *mut libc::c_void,
    len: usize,
}

impl AltStack {
    /// Makes sure this thread has an alternate signal stack: keeps one that
    /// is already there (std gives its threads one), else maps and installs
    /// one owned by the returned guard.
    pub(crate) fn ensure() -> Option<AltStack> {
        // SAFETY: querying the current alternate stack into a zeroed struct.
        let mut cur: libc::stack_t = unsafe { std::mem::zeroed() };
        // SAFETY: null new-stack pointer means "query only".
        if unsafe { libc::sigaltstack(ptr::null(), &mut cur) } != 0 {
            return None;
        }
        if cur.ss_flags & libc::SS_DISABLE == 0 {
            return None; // one is installed already
        }
        let page = super::page_size();
        let min = libc::SIGSTKSZ;
        let len = (min.max(64 * 1024)).div_ceil(page) * page;
        // SAFETY: a fresh anonymous mapping: a guard page plus the stack.
        let map = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len + page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return None;
        }
        // SAFETY: the first page of our own mapping becomes its guard; on
        // failure the stack just has no guard.
        unsafe { libc::mprotect(map, page, libc::PROT_NONE) };
        let st = libc::stack_t {
            // SAFETY: `page` bytes past the start of a `len + page` mapping.
            ss_sp: unsafe { map.cast::<u8>().add(page) }.cast(),
            ss_flags: 0,
            ss_size: len,
        };
        // SAFETY: installing a valid, mapped alternate stack.
        if unsafe { libc::sigaltstack(&st, ptr::null_mut()) } != 0 {
            // SAFETY: unmapping what we just mapped, unused.
            unsafe { libc::munmap(map, len + page) };
            return None;
        }
        Some(AltStack {
            map,
            len: len + page,
        })
    }
}

impl Drop for AltStack {
    fn drop(&mut self) {
        let off = libc::stack_t {
            ss_sp: ptr::null_mut(),
            ss_flags: libc::SS_DISABLE,
            ss_size: 0,
        };
        // SAFETY: disabling this thread's alternate stack, then unmapping
        // it; no signal handler can be running on it here (we are on the
        // thread's normal stack).
        unsafe {
            libc::sigaltstack(&off, ptr::null_mut());
            libc::munmap(self.map, self.len);
        }
    }
}
