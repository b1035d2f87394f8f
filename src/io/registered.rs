//! [`Registered`]: a file descriptor whose blocking calls park the strand.

use super::wait::{Interest, Readiness};
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Instant;

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
    ///
    /// ```
    /// use std::os::unix::net::UnixStream;
    /// use strands::io::Registered;
    ///
    /// let (a, _b) = UnixStream::pair().unwrap();
    /// let a = Registered::new(a).unwrap(); // the fd is non-blocking now
    /// # drop(a);
    /// ```
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
    ///
    /// ```
    /// use std::os::unix::net::UnixStream;
    /// use strands::io::Registered;
    ///
    /// let (a, _b) = UnixStream::pair().unwrap();
    /// let a = Registered::new(a).unwrap();
    /// assert!(a.get_ref().peer_addr().unwrap().is_unnamed());
    /// ```
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// The wrapped value, mutably. Don't change its blocking mode.
    ///
    /// ```
    /// use std::os::unix::net::UnixStream;
    /// use strands::io::Registered;
    ///
    /// let (a, _b) = UnixStream::pair().unwrap();
    /// let mut a = Registered::new(a).unwrap();
    /// let inner: &mut UnixStream = a.get_mut();
    /// # let _ = inner;
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.io
    }

    /// Deregisters the fd, restores the blocking mode it had before
    /// [`new`](Registered::new), and returns the wrapped value.
    ///
    /// ```
    /// use std::os::unix::net::UnixStream;
    /// use strands::io::Registered;
    ///
    /// let (a, _b) = UnixStream::pair().unwrap();
    /// let a = Registered::new(a).unwrap();
    /// let a: UnixStream = a.into_inner().unwrap(); // blocking again, as before
    /// # drop(a);
    /// ```
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
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    /// use strands::io::Registered;
    ///
    /// strands::run(|| {
    ///     let (a, mut b) = UnixStream::pair().unwrap();
    ///     let a = Registered::new(a).unwrap();
    ///     let writer = strands::spawn(move || b.write_all(b"!").unwrap());
    ///     a.readable().unwrap(); // parks until the byte is there
    ///     let mut buf = [0; 1];
    ///     assert_eq!(a.get_ref().read(&mut buf).unwrap(), 1);
    ///     writer.join().unwrap();
    /// });
    /// ```
    pub fn readable(&self) -> io::Result<()> {
        self.readiness.ready(self.io.as_fd(), Interest::Read, None)
    }

    /// Parks until the fd is writable (or has an error to report).
    ///
    /// ```
    /// use std::io::Write;
    /// use std::os::unix::net::UnixStream;
    /// use strands::io::Registered;
    ///
    /// strands::run(|| {
    ///     let (a, _b) = UnixStream::pair().unwrap();
    ///     let a = Registered::new(a).unwrap();
    ///     a.writable().unwrap(); // an empty socket buffer: at once
    ///     assert_eq!(a.get_ref().write(b"x").unwrap(), 1);
    /// });
    /// ```
    pub fn writable(&self) -> io::Result<()> {
        self.readiness.ready(self.io.as_fd(), Interest::Write, None)
    }

    /// Runs `op` on the wrapped value until it does not answer
    /// `WouldBlock`, parking in between until the fd is ready for reading.
    /// For operations `Read` does not cover (`recv_from`, `accept`, …).
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use strands::io::Registered;
    ///
    /// strands::run(|| {
    ///     let sock = Registered::new(UdpSocket::bind("127.0.0.1:0").unwrap()).unwrap();
    ///     let addr = sock.get_ref().local_addr().unwrap();
    ///     let sender = strands::spawn(move || {
    ///         let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///         s.send_to(b"dgram", addr).unwrap();
    ///     });
    ///     let mut buf = [0; 16];
    ///     // recv_from is not Read: wrap it; it parks while it would block
    ///     let (n, _from) = sock.read_with(|s| s.recv_from(&mut buf)).unwrap();
    ///     assert_eq!(&buf[..n], b"dgram");
    ///     sender.join().unwrap();
    /// });
    /// ```
    pub fn read_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        self.readiness
            .run(self.io.as_fd(), Interest::Read, None, || op(&self.io))
    }

    /// Like [`read_with`](Registered::read_with), waiting for writability.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use strands::io::Registered;
    ///
    /// strands::run(|| {
    ///     let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let to = peer.local_addr().unwrap();
    ///     let sock = Registered::new(UdpSocket::bind("127.0.0.1:0").unwrap()).unwrap();
    ///     let n = sock.write_with(|s| s.send_to(b"hi", to)).unwrap();
    ///     assert_eq!(n, 2);
    /// });
    /// ```
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
