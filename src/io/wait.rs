//! Waiting for an fd: its registration with a driver ([`Readiness`]:
//! made lazily, moved when its driver cannot wake the caller) and the
//! loop of an operation that would block.

use crate::loom::{Arc, AtomicU64, Mutex, Ordering};
use crate::runtime::context;
use crate::runtime::io::readiness::{self, Direction};
use crate::runtime::io::{deaths, IoState, Registration};
use crate::strand::WaitKind;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Instant;

/// Which way an operation goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Interest {
    Read,
    Write,
}

/// `Readiness::at` once registering failed for good (the error is kept).
const FAILED: u64 = u64::MAX;

/// A registration error kept for the next callers.
type Kept = (io::ErrorKind, Option<i32>);

/// The driver registration of one fd, made the first time an operation on
/// it would block (so an fd that never blocks -- a regular file -- is never
/// registered, and a socket created on a plain thread and used in a strand
/// registers with the strand's runtime), and moved when the driver it is
/// registered with cannot wake the caller:
///
/// - a strand waits on it, and it is registered with another runtime's
///   driver (or the fallback): it moves to this strand's runtime;
/// - a plain thread waits on it, and its driver is dead (the runtime's
///   workers have exited): it moves to the fallback driver. A live
///   runtime's driver is kept: its idle worker polls it.
///
/// The waiters and event counts ([`IoState`]) belong to the fd, not to the
/// driver, so a move keeps the readiness protocol: the new driver's add
/// reports the fd's current readiness, and the caller retries its
/// operation after a move before it waits. Waiters parked on the old driver
/// stay in the same `IoState` and are woken by the new one.
///
/// The fast path, on every wait: on a worker, one compare of the driver id
/// the fd is registered with (a relaxed load) with the worker's driver's;
/// on a plain thread, one compare of the process-wide driver death count
/// with the count when the registration was last found alive (see
/// `Driver::shut_down` for why a death during a wait is not missed).
pub(crate) struct Readiness {
    state: Arc<IoState>,
    /// Id of the driver the fd is registered with; 0: none yet.
    at: AtomicU64,
    /// The death count when the registration was last found alive.
    checked: AtomicU64,
    reg: Mutex<Option<Result<Registration, Kept>>>,
}

impl Readiness {
    pub(crate) fn new() -> Readiness {
        Readiness {
            state: Arc::new(IoState::new()),
            at: AtomicU64::new(0),
            checked: AtomicU64::new(0),
            reg: Mutex::new(None),
        }
    }

    fn direction(&self, interest: Interest) -> &Direction {
        match interest {
            Interest::Read => &self.state.read,
            Interest::Write => &self.state.write,
        }
    }

    /// Makes sure a driver that can wake the caller watches `fd`.
    /// Returns `true` if it registered or moved it just now (the caller
    /// retries its operation before waiting: the add reports the fd's
    /// current readiness).
    #[inline]
    fn watch(&self, fd: BorrowedFd<'_>) -> io::Result<bool> {
        let at = self.at.load(Ordering::Relaxed);
        let fine = match context::driver_id() {
            Some(here) => at == here,
            None => at != 0 && at != FAILED && self.checked.load(Ordering::Relaxed) == deaths(),
        };
        if fine {
            return Ok(false);
        }
        self.watch_slow(fd)
    }

    #[cold]
    fn watch_slow(&self, fd: BorrowedFd<'_>) -> io::Result<bool> {
        // read before the driver's state: a death after this read changes
        // the count, and the fast path looks again
        let seen = deaths();
        let mut reg = self.reg.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(Ok(r)) = &*reg {
            let keep = match context::driver_id() {
                Some(here) => r.driver().id() == here,
                None => !r.driver().is_dead(),
            };
            if keep {
                self.checked.store(seen, Ordering::Relaxed);
                self.at.store(r.driver().id(), Ordering::Relaxed);
                return Ok(false);
            }
        }
        if let Some(Err(kept)) = &*reg {
            return Err(kept_error(kept));
        }
        let first = reg.is_none();
        let registered = context::driver().and_then(|d| d.register(fd, Arc::clone(&self.state)));
        match registered {
            Ok(new) => {
                let id = new.driver().id();
                // the old registration, if any, leaves its poller here,
                // after the new one was added: no moment unwatched
                *reg = Some(Ok(new));
                self.checked.store(seen, Ordering::Relaxed);
                self.at.store(id, Ordering::Relaxed);
                Ok(true)
            }
            Err(e) if first => {
                let kept = (e.kind(), e.raw_os_error());
                *reg = Some(Err(kept));
                self.at.store(FAILED, Ordering::Relaxed);
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Runs `op` until it does not answer `WouldBlock`, parking the caller
    /// (a strand, or a plain thread) until the driver reports `fd` ready in
    /// between. Gives up with `TimedOut` once `deadline` has passed.
    /// `Interrupted` is retried.
    pub(crate) fn run<R>(
        &self,
        fd: BorrowedFd<'_>,
        interest: Interest,
        deadline: Option<Instant>,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        let dir = self.direction(interest);
        loop {
            let seq = dir.snapshot();
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return r,
            }
            if self.watch(fd)? {
                continue; // registered or moved just now: try again first
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(timed_out());
            }
            wait(dir, seq, deadline, kind(interest), fd);
        }
    }

    /// [`Readiness::run`] for reads from a *stream* (TCP, Unix stream,
    /// pipe) into a buffer of `len` bytes: a short read means the stream
    /// was drained, so the next read skips the system call that would
    /// answer `WouldBlock` and waits for the driver's event at once (one
    /// system call less per request/response exchange).
    pub(crate) fn run_stream_read(
        &self,
        fd: BorrowedFd<'_>,
        deadline: Option<Instant>,
        len: usize,
        mut op: impl FnMut() -> io::Result<usize>,
    ) -> io::Result<usize> {
        let dir = &self.state.read;
        loop {
            let seq = dir.snapshot();
            if dir.is_drained(seq) {
                if self.watch(fd)? {
                    continue; // moved just now: its add reports readiness
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(timed_out());
                }
                wait(dir, seq, deadline, WaitKind::Read, fd);
                continue;
            }
            match op() {
                Ok(n) => {
                    // only once registered: an unregistered stream has no
                    // driver to report the next event yet
                    if n < len && n > 0 && self.at.load(Ordering::Relaxed) != 0 {
                        dir.mark_drained(seq);
                    }
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            if self.watch(fd)? {
                continue; // registered or moved just now: try again first
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(timed_out());
            }
            wait(dir, seq, deadline, WaitKind::Read, fd);
        }
    }

    /// Parks until the driver reports `fd` ready for `interest` (which may
    /// be spurious: the caller's next operation finds out).
    pub(crate) fn ready(
        &self,
        fd: BorrowedFd<'_>,
        interest: Interest,
        deadline: Option<Instant>,
    ) -> io::Result<()> {
        self.watch(fd)?;
        let dir = self.direction(interest);
        let seq = dir.snapshot();
        if poll_now(fd, interest)? {
            return Ok(());
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(timed_out());
        }
        wait(dir, seq, deadline, kind(interest), fd);
        Ok(())
    }
}

fn kept_error(kept: &Kept) -> io::Error {
    match kept {
        (_, Some(code)) => io::Error::from_raw_os_error(*code),
        (kind, None) => io::Error::new(
            *kind,
            "strands: the fd could not be registered with the I/O driver",
        ),
    }
}

/// The wait a dump shows for `interest`.
fn kind(interest: Interest) -> WaitKind {
    match interest {
        Interest::Read => WaitKind::Read,
        Interest::Write => WaitKind::Write,
    }
}

/// Registers the caller with `dir` unless an event came after `seq`, then
/// blocks (until `deadline`, if any), recorded as a wait of `kind` on
/// `fd`; withdraws the registration however
/// it leaves, a cancellation unwinding through the block included.
fn wait(dir: &Direction, seq: u64, deadline: Option<Instant>, kind: WaitKind, fd: BorrowedFd<'_>) {
    if let readiness::Registered::Wait(id) = dir.register(seq, context::waiter()) {
        let _recorded = context::waiting(kind, fd.as_raw_fd() as u64);
        struct Withdraw<'a>(&'a Direction, u64);
        impl Drop for Withdraw<'_> {
            fn drop(&mut self) {
                self.0.withdraw(self.1);
            }
        }
        let _withdraw = Withdraw(dir, id);
        match deadline {
            None => context::block(),
            Some(d) => context::block_until(d),
        }
    }
}

/// Whether `fd` is ready now (a zero-timeout `poll(2)`).
pub(crate) fn poll_now(fd: BorrowedFd<'_>, interest: Interest) -> io::Result<bool> {
    let events = match interest {
        Interest::Read => libc::POLLIN,
        Interest::Write => libc::POLLOUT,
    };
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd, count 1, no timeout.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    if p.revents & libc::POLLNVAL != 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    Ok(n > 0)
}

pub(crate) fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "operation timed out")
}
