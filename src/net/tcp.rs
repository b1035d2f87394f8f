//! TCP: [`TcpListener`] and [`TcpStream`].

use super::{each_addr, stream_io, Timeouts, ToSocketAddrs};
use crate::io::{Interest, Registered};
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The listen backlog asked for (the kernel caps it at `somaxconn`).
const BACKLOG: i32 = 4096;

/// A TCP socket server, like [`std::net::TcpListener`], whose `accept`
/// parks the strand until a connection comes.
///
/// ```
/// use std::io::{Read, Write};
/// use strands::net::{TcpListener, TcpStream};
///
/// strands::run(|| {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = listener.local_addr().unwrap();
///     let server = strands::spawn(move || {
///         let (mut s, _) = listener.accept().unwrap();
///         let mut buf = [0; 4];
///         s.read_exact(&mut buf).unwrap();
///         s.write_all(&buf).unwrap();
///     });
///     let mut c = TcpStream::connect(addr).unwrap();
///     c.write_all(b"ping").unwrap();
///     let mut buf = [0; 4];
///     c.read_exact(&mut buf).unwrap();
///     assert_eq!(&buf, b"ping");
///     server.join().unwrap();
/// });
/// ```
pub struct TcpListener {
    inner: Registered<std::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (the first of its addresses that works) and listens.
    ///
    /// Unlike std (which asks for a backlog of 128), the backlog is 4096,
    /// capped by the system's `net.core.somaxconn`: a server of thousands of
    /// connections should not see connects dropped or reset while its
    /// acceptor strand waits for a turn.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        use socket2::{Domain, SockAddr, Socket, Type};
        each_addr(addr, |a| {
            let sock = Socket::new(Domain::for_address(*a), Type::STREAM, None)?;
            sock.set_reuse_address(true)?; // as std does on Unix
            sock.bind(&SockAddr::from(*a))?;
            sock.listen(BACKLOG)?;
            TcpListener::from_std(sock.into())
        })
    }

    /// Wraps a std listener (putting it in non-blocking mode).
    pub fn from_std(l: std::net::TcpListener) -> io::Result<TcpListener> {
        l.set_nonblocking(true)?;
        Ok(TcpListener {
            inner: Registered::from_nonblocking(l),
        })
    }

    /// Back to a std listener, in blocking mode.
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        self.inner.into_inner()
    }

    /// Accepts a connection, parking until one comes.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (s, a) = self.inner.read_with(|l| l.accept())?;
        Ok((TcpStream::from_accepted(s)?, a))
    }

    /// An endless iterator of accepted connections (each an `io::Result`).
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// A second handle to the same socket.
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        let l = self.inner.get_ref().try_clone()?;
        Ok(TcpListener {
            inner: Registered::from_nonblocking(l),
        })
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.get_ref().set_ttl(ttl)
    }

    /// `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.get_ref().ttl()
    }

    /// Takes the pending `SO_ERROR`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get_ref().take_error()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.inner.get_ref(), f)
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

/// The iterator of [`TcpListener::incoming`]: never ends.
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;
    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

/// A TCP connection, like [`std::net::TcpStream`], whose reads, writes and
/// connects park the strand while the socket is not ready.
pub struct TcpStream {
    inner: Registered<std::net::TcpStream>,
    timeouts: Arc<Timeouts>,
}

impl TcpStream {
    fn from_accepted(s: std::net::TcpStream) -> io::Result<TcpStream> {
        s.set_nonblocking(true)?;
        Ok(TcpStream {
            inner: Registered::from_nonblocking(s),
            timeouts: Arc::default(),
        })
    }

    /// Wraps a connected std stream (putting it in non-blocking mode; its
    /// std timeouts are not carried over).
    pub fn from_std(s: std::net::TcpStream) -> io::Result<TcpStream> {
        TcpStream::from_accepted(s)
    }

    /// Back to a std stream, in blocking mode.
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        self.inner.into_inner()
    }

    /// Connects to `addr` (each of its addresses in turn), parking until
    /// the connection is made or fails.
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(addr, |a| connect(a, None))
    }

    /// Connects to `addr`, giving up with `TimedOut` after `timeout`. A
    /// zero timeout is refused with `InvalidInput`, as std does.
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        if timeout.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot set a 0 duration timeout",
            ));
        }
        connect(addr, Instant::now().checked_add(timeout))
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// Shuts down the read, write or both halves.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.inner.get_ref().set_nodelay(on)
    }

    /// `TCP_NODELAY`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.get_ref().nodelay()
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.get_ref().set_ttl(ttl)
    }

    /// `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.get_ref().ttl()
    }

    /// Takes the pending `SO_ERROR`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get_ref().take_error()
    }

    /// Reads gives up after `t` (`None`: never) with `TimedOut`.
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.timeouts.set(false, t)
    }

    /// Writes give up after `t` (`None`: never) with `TimedOut`.
    pub fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.timeouts.set(true, t)
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.timeouts.get(false))
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.timeouts.get(true))
    }

    /// Reads without removing the data from the queue.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        let d = self.timeouts.deadline(false);
        self.inner.io_until(Interest::Read, d, |s| s.peek(buf))
    }

    /// A second handle to the same connection (sharing the timeouts).
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        let s = self.inner.get_ref().try_clone()?;
        Ok(TcpStream {
            inner: Registered::from_nonblocking(s),
            timeouts: Arc::clone(&self.timeouts),
        })
    }
}

/// A non-blocking connect: start it, park until the socket is writable,
/// then read `SO_ERROR`.
fn connect(addr: &SocketAddr, deadline: Option<Instant>) -> io::Result<TcpStream> {
    use socket2::{Domain, SockAddr, Socket, Type};
    let sock = Socket::new(Domain::for_address(*addr), Type::STREAM, None)?;
    sock.set_nonblocking(true)?;
    let started = sock.connect(&SockAddr::from(*addr));
    let stream = TcpStream {
        inner: Registered::from_nonblocking(std::net::TcpStream::from(sock)),
        timeouts: Arc::default(),
    };
    match started {
        Ok(()) => return Ok(stream),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    loop {
        stream.inner.ready_until(Interest::Write, deadline)?;
        if crate::io::poll_now(stream.as_fd(), Interest::Write)? {
            break;
        }
    }
    match stream.take_error()? {
        Some(e) => Err(e),
        None => Ok(stream),
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.inner.get_ref(), f)
    }
}

stream_io!(TcpStream);
