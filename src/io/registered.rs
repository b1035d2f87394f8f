//! [`Registered`]: a file descriptor whose blocking calls park the strand.

use crate::loom::{Arc, AtomicU64, Mutex, Ordering};
use crate::runtime::context;
use crate::runtime::io::readiness::{self, Direction};
use crate::runtime::io::{deaths, IoState, Registration};
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
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
            wait(dir, seq, deadline);
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
                wait(dir, seq, deadline);
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
            wait(dir, seq, deadline);
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
        wait(dir, seq, deadline);
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

/// Registers the caller with `dir` unless an event came after `seq`, then
/// blocks (until `deadline`, if any); withdraws the registration however
/// it leaves, a cancellation unwinding through the block included.
fn wait(dir: &Direction, seq: u64, deadline: Option<Instant>) {
    if let readiness::Registered::Wait(id) = dir.register(seq, context::waiter()) {
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

/// Sets or clears `O_NONBLOCK`; returns whether it was set before.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> io::Result<bool> {
    // SAFETY: fcntl on a borrowed, open fd.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    let was = flags & libc::O_NONBLOCK != 0;
    if was != on {
        let new = if on {
            flags | libc::O_NONBLOCK
        } else {
            flags & !libc::O_NONBLOCK
        };
        // SAFETY: as above.
        if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, new) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(was)
}

/// A file descriptor owner whose reads and writes park the calling strand
/// (or thread) instead of blocking its worker.
///
/// `Registered::new` puts the fd in non-blocking mode. Every operation
/// first tries the system call; when it would block, the caller waits for
/// the runtime's I/O driver to report the fd ready and tries again. A
/// strand that waits costs no worker; a plain thread that waits is parked
/// and woken by the driver.
///
/// The name says what it is: an fd registered with the driver (the
/// registration is made the first time an operation would block, and
/// removed when the `Registered` is dropped or
/// [`into_inner`](Registered::into_inner) is called).
///
/// `Read`/`Write` are implemented for `Registered<T>` where `T` has them,
/// and for `&Registered<T>` where `&T` has them (sockets, pipes), so two
/// strands can read and write one fd at once.
///
/// Regular files are always "ready" for `poll`: reading one never waits on
/// the driver, it blocks the worker for the disk as it would a thread.
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// use strands::io::Registered;
///
/// strands::run(|| {
///     let (a, b) = UnixStream::pair().unwrap();
///     let (mut a, mut b) = (Registered::new(a).unwrap(), Registered::new(b).unwrap());
///     let reader = strands::spawn(move || {
///         let mut buf = [0u8; 5];
///         b.read_exact(&mut buf).unwrap(); // parks this strand until data comes
///         buf
///     });
///     a.write_all(b"hello").unwrap();
///     assert_eq!(&reader.join().unwrap(), b"hello");
/// });
/// ```
pub struct Registered<T: AsFd> {
    // declared first: dropped (deregistered) before `io` closes the fd
    readiness: Readiness,
    io: T,
    was_nonblocking: bool,
}

impl<T: AsFd> Registered<T> {
    /// Wraps `io`, putting its fd in non-blocking mode.
    ///
    /// Fails with the OS error if the mode cannot be set (a closed fd:
    /// `EBADF`).
    pub fn new(io: T) -> io::Result<Registered<T>> {
        let was_nonblocking = set_nonblocking(io.as_fd(), true)?;
        Ok(Registered {
            readiness: Readiness::new(),
            io,
            was_nonblocking,
        })
    }

    /// Wraps `io` whose fd the caller has already put in non-blocking mode
    /// (and which should go back to blocking in `into_inner`).
    pub(crate) fn from_nonblocking(io: T) -> Registered<T> {
        Registered {
            readiness: Readiness::new(),
            io,
            was_nonblocking: false,
        }
    }

    /// The wrapped value.
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// The wrapped value, mutably. Don't change its blocking mode.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.io
    }

    /// Deregisters the fd, restores the blocking mode it had before
    /// [`new`](Registered::new), and returns the wrapped value.
    pub fn into_inner(self) -> io::Result<T> {
        let Registered {
            readiness,
            io,
            was_nonblocking,
        } = self;
        drop(readiness);
        set_nonblocking(io.as_fd(), was_nonblocking)?;
        Ok(io)
    }

    /// Parks until the fd is readable (or has an error or hang-up to
    /// report). May return when a read would still block; loop on the read.
    pub fn readable(&self) -> io::Result<()> {
        self.readiness.ready(self.io.as_fd(), Interest::Read, None)
    }

    /// Parks until the fd is writable (or has an error to report).
    pub fn writable(&self) -> io::Result<()> {
        self.readiness.ready(self.io.as_fd(), Interest::Write, None)
    }

    /// Runs `op` on the wrapped value until it does not answer
    /// `WouldBlock`, parking in between until the fd is ready for reading.
    /// For operations `Read` does not cover (`recv_from`, `accept`, …).
    pub fn read_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        self.readiness
            .run(self.io.as_fd(), Interest::Read, None, || op(&self.io))
    }

    /// Like [`read_with`](Registered::read_with), waiting for writability.
    pub fn write_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        self.readiness
            .run(self.io.as_fd(), Interest::Write, None, || op(&self.io))
    }

    /// `read_with` / `write_with` with a deadline (`TimedOut` once past).
    pub(crate) fn io_until<R>(
        &self,
        interest: Interest,
        deadline: Option<Instant>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        self.readiness
            .run(self.io.as_fd(), interest, deadline, || op(&self.io))
    }

    /// A read from a stream into a buffer of `len` bytes, with a deadline
    /// (see `Readiness::run_stream_read`).
    pub(crate) fn stream_read_until(
        &self,
        deadline: Option<Instant>,
        len: usize,
        mut op: impl FnMut(&T) -> io::Result<usize>,
    ) -> io::Result<usize> {
        self.readiness
            .run_stream_read(self.io.as_fd(), deadline, len, || op(&self.io))
    }

    /// Waits for readiness until `deadline`.
    pub(crate) fn ready_until(
        &self,
        interest: Interest,
        deadline: Option<Instant>,
    ) -> io::Result<()> {
        self.readiness.ready(self.io.as_fd(), interest, deadline)
    }

    fn with_mut<R>(
        &mut self,
        interest: Interest,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        let Registered { readiness, io, .. } = self;
        let fd = io.as_fd().as_raw_fd();
        // SAFETY: `fd` belongs to `io`, which outlives this call; the
        // borrow is split only so `op` can take `io` mutably.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        readiness.run(fd, interest, None, || op(io))
    }
}

impl<T: AsFd> AsFd for Registered<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl<T: AsFd> AsRawFd for Registered<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_fd().as_raw_fd()
    }
}

impl<T: AsFd + fmt::Debug> fmt::Debug for Registered<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registered").field("io", &self.io).finish()
    }
}

impl<T: AsFd + Read> Read for Registered<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.with_mut(Interest::Read, |io| io.read(buf))
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.with_mut(Interest::Read, |io| io.read_vectored(bufs))
    }
}

impl<T: AsFd + Write> Write for Registered<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.with_mut(Interest::Write, |io| io.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.with_mut(Interest::Write, |io| io.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.with_mut(Interest::Write, |io| io.flush())
    }
}

impl<T: AsFd> Read for &Registered<T>
where
    for<'a> &'a T: Read,
{
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_with(|mut io| io.read(buf))
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.read_with(|mut io| io.read_vectored(bufs))
    }
}

impl<T: AsFd> Write for &Registered<T>
where
    for<'a> &'a T: Write,
{
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_with(|mut io| io.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.write_with(|mut io| io.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_with(|mut io| io.flush())
    }
}
