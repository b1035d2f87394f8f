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
    ///
    /// ```
    /// use strands::net::TcpListener;
    ///
    /// strands::run(|| {
    ///     let listener = TcpListener::bind("127.0.0.1:0").unwrap(); // port 0: any free port
    ///     assert_ne!(listener.local_addr().unwrap().port(), 0);
    /// });
    /// ```
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
    ///
    /// ```
    /// use strands::net::TcpListener;
    ///
    /// let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let listener = TcpListener::from_std(std_listener).unwrap();
    /// # drop(listener);
    /// ```
    pub fn from_std(l: std::net::TcpListener) -> io::Result<TcpListener> {
        l.set_nonblocking(true)?;
        Ok(TcpListener {
            inner: Registered::from_nonblocking(l),
        })
    }

    /// Back to a std listener, in blocking mode.
    ///
    /// ```
    /// use strands::net::TcpListener;
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let std_listener: std::net::TcpListener = listener.into_std().unwrap();
    /// # drop(std_listener);
    /// ```
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        self.inner.into_inner()
    }

    /// Accepts a connection, parking until one comes.
    ///
    /// ```
    /// use strands::net::{TcpListener, TcpStream};
    ///
    /// strands::run(|| {
    ///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = listener.local_addr().unwrap();
    ///     let client = strands::spawn(move || TcpStream::connect(addr).unwrap());
    ///     let (_conn, peer) = listener.accept().unwrap(); // parks until a client comes
    ///     assert_eq!(peer, client.join().unwrap().local_addr().unwrap());
    /// });
    /// ```
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (s, a) = self.inner.read_with(|l| l.accept())?;
        Ok((TcpStream::from_accepted(s)?, a))
    }

    /// An endless iterator of accepted connections (each an `io::Result`).
    ///
    /// ```
    /// use std::io::Write;
    /// use strands::net::{TcpListener, TcpStream};
    ///
    /// strands::run(|| {
    ///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = listener.local_addr().unwrap();
    ///     let clients = strands::spawn(move || {
    ///         (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect::<Vec<_>>()
    ///     });
    ///     for conn in listener.incoming().take(3) {
    ///         conn.unwrap().write_all(b"welcome").unwrap();
    ///     }
    ///     clients.join().unwrap();
    /// });
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The address this listener is bound to.
    ///
    /// ```
    /// use strands::net::TcpListener;
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert!(listener.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// A second handle to the same socket.
    ///
    /// ```
    /// use strands::net::TcpListener;
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let other = listener.try_clone().unwrap();
    /// assert_eq!(other.local_addr().unwrap(), listener.local_addr().unwrap());
    /// ```
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        let l = self.inner.get_ref().try_clone()?;
        Ok(TcpListener {
            inner: Registered::from_nonblocking(l),
        })
    }

    /// Sets `IP_TTL`.
    ///
    /// ```
    /// use strands::net::TcpListener;
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// listener.set_ttl(100).unwrap();
    /// assert_eq!(listener.ttl().unwrap(), 100);
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.get_ref().set_ttl(ttl)
    }

    /// `IP_TTL`.
    ///
    /// ```
    /// use strands::net::TcpListener;
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert!(listener.ttl().unwrap() > 0);
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.get_ref().ttl()
    }

    /// Takes the pending `SO_ERROR`.
    ///
    /// ```
    /// use strands::net::TcpListener;
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert!(listener.take_error().unwrap().is_none());
    /// ```
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
///
/// ```
/// use strands::net::{TcpListener, TcpStream};
///
/// strands::run(|| {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = listener.local_addr().unwrap();
///     let client = strands::spawn(move || TcpStream::connect(addr).unwrap());
///     let mut incoming: strands::net::Incoming<'_> = listener.incoming();
///     let conn = incoming.next().unwrap().unwrap(); // never `None`
///     assert_eq!(conn.peer_addr().unwrap(), client.join().unwrap().local_addr().unwrap());
/// });
/// ```
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
///
/// ```
/// use std::io::{Read, Write};
/// use strands::net::{TcpListener, TcpStream};
///
/// strands::run(|| {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = listener.local_addr().unwrap();
///     let server = strands::spawn(move || {
///         let (mut conn, _) = listener.accept().unwrap();
///         let mut req = String::new();
///         conn.read_to_string(&mut req).unwrap(); // until the client shuts down writing
///         conn.write_all(req.to_uppercase().as_bytes()).unwrap();
///     });
///     let mut stream = TcpStream::connect(addr).unwrap();
///     stream.write_all(b"hello").unwrap();
///     stream.shutdown(std::net::Shutdown::Write).unwrap();
///     let mut reply = String::new();
///     stream.read_to_string(&mut reply).unwrap();
///     assert_eq!(reply, "HELLO");
///     server.join().unwrap();
/// });
/// ```
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
    ///
    /// ```
    /// # let listener = strands::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let addr = listener.local_addr().unwrap();
    /// use strands::net::TcpStream;
    ///
    /// let std_stream = std::net::TcpStream::connect(addr).unwrap();
    /// let stream = TcpStream::from_std(std_stream).unwrap();
    /// assert_eq!(stream.peer_addr().unwrap(), addr);
    /// ```
    pub fn from_std(s: std::net::TcpStream) -> io::Result<TcpStream> {
        TcpStream::from_accepted(s)
    }

    /// Back to a std stream, in blocking mode.
    ///
    /// ```
    /// use strands::net::TcpStream;
    ///
    /// # let listener = strands::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let addr = listener.local_addr().unwrap();
    /// let stream = TcpStream::connect(addr).unwrap();
    /// # let (_peer, _) = listener.accept().unwrap();
    /// let std_stream: std::net::TcpStream = stream.into_std().unwrap();
    /// assert_eq!(std_stream.peer_addr().unwrap(), addr);
    /// ```
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        self.inner.into_inner()
    }

    /// Connects to `addr` (each of its addresses in turn), parking until
    /// the connection is made or fails.
    ///
    /// ```
    /// use strands::net::{TcpListener, TcpStream};
    ///
    /// strands::run(|| {
    ///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let port = listener.local_addr().unwrap().port();
    ///     // a numeric address is used as it is; a host name is resolved off the worker
    ///     let a = TcpStream::connect(("127.0.0.1", port)).unwrap();
    ///     let b = TcpStream::connect(format!("localhost:{port}")).unwrap();
    ///     assert!(a.peer_addr().unwrap().ip().is_loopback());
    ///     assert!(b.peer_addr().unwrap().ip().is_loopback());
    /// });
    /// ```
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(addr, |a| connect(a, None))
    }

    /// Connects to `addr`, giving up with `TimedOut` after `timeout`. A
    /// zero timeout is refused with `InvalidInput`, as std does.
    ///
    /// ```
    /// use strands::net::TcpStream;
    ///
    /// # let listener = strands::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let addr = listener.local_addr().unwrap();
    /// use std::time::Duration;
    ///
    /// strands::run(move || {
    ///     let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    ///     assert_eq!(stream.peer_addr().unwrap(), addr);
    ///     assert!(TcpStream::connect_timeout(&addr, Duration::ZERO).is_err());
    /// });
    /// ```
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
    ///
    /// ```
    /// use strands::net::TcpStream;
    ///
    /// # let listener = strands::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let addr = listener.local_addr().unwrap();
    /// let stream = TcpStream::connect(addr).unwrap();
    /// # let (_peer, _) = listener.accept().unwrap();
    /// assert_eq!(stream.peer_addr().unwrap(), addr);
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// The local address.
    ///
    /// ```
    /// use strands::net::TcpStream;
    ///
    /// # let listener = strands::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let addr = listener.local_addr().unwrap();
    /// let stream = TcpStream::connect(addr).unwrap();
    /// # let (_peer, _) = listener.accept().unwrap();
    /// assert!(stream.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// Shuts down the read, write or both halves.
    ///
    /// ```
    /// use std::io::Read;
    /// use std::net::Shutdown;
    /// use strands::net::TcpStream;
    ///
    /// # let listener = strands::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let addr = listener.local_addr().unwrap();
    /// let stream = TcpStream::connect(addr).unwrap();
    /// let (mut peer, _) = listener.accept().unwrap();
    /// stream.shutdown(Shutdown::Write).unwrap();
    /// let mut rest = Vec::new();
    /// assert_eq!(peer.read_to_end(&mut rest).unwrap(), 0); // the peer sees the end
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// Sets `TCP_NODELAY`.
    ///
    /// ```
    /// use strands::net::TcpStream;
    ///
    /// # let listener = strands::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let addr = listener.local_addr().unwrap();
    /// let stream = TcpStream::connect(addr).unwrap();
    /// # let (_peer, _) = listener.accept().unwrap();
    /// stream.set_nodelay(true).unwrap();
    /// assert!(stream.nodelay().unwrap());
    /// ```
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.inner.get_ref().set_nodelay(on)
    }

    /// `TCP_NODELAY`.
    ///
    /// ```
    /// use strands::net::TcpStream;
    ///
    /// # let listener = strands::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let addr = listener.local_addr().unwrap();
    /// let stream = TcpStream::connect(addr).unwrap();
    /// # let (_peer, _) = listener.accept().unwrap();
    /// assert!(!stream.nodelay().unwrap()); // Nagle's algorithm is on by default
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.get_ref().nodelay()
    }

    /// Sets `IP_TTL`.
    ///
    /// ```
    /// use strands::net::TcpStream;
    ///
    /// # let listener = strands::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let addr = listener.local_addr().unwrap();
    /// let stream = TcpStream::connect(addr).unwrap();
    /// # let (_peer, _) = listener.accept().unwrap();
    /// stream.set_ttl(64).unwrap();
    /// assert_eq!(stream.ttl().unwrap(), 64);
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.get_ref().set_ttl(ttl)
    }

    /// `IP_TTL`.
    ///
    /// ```
    /// use strands::net::TcpStream;
    ///
    /// # let listener = strands::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let addr = listener.local_addr().unwrap();
    /// let stream = TcpStream::connect(addr).unwrap();
    /// # let (_peer, _) = listener.accept().unwrap();
    /// assert!(stream.ttl().unwrap() > 0);
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.get_ref().ttl()
    }

    /// Takes the pending `SO_ERROR`.
    ///
    /// ```
    /// use strands::net::TcpStream;
    ///
    /// # let listener = strands::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let addr = listener.local_addr().unwrap();
    /// let stream = TcpStream::connect(addr).unwrap();
    /// # let (_peer, _) = listener.accept().unwrap();
    /// assert!(stream.take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get_ref().take_error()
    }

    /// Reads gives up after `t` (`None`: never) with `TimedOut`.
    ///
    /// ```
    /// use std::io::{ErrorKind, Read};
    /// use std::time::Duration;
    /// use strands::net::TcpStream;
    ///
    /// strands::run(|| {
    /// # let listener = strands::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let addr = listener.local_addr().unwrap();
    ///     let mut stream = TcpStream::connect(addr).unwrap();
    ///     let (_silent_peer, _) = listener.accept().unwrap();
    ///     stream.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
    ///     let err = stream.read(&mut [0; 1]).unwrap_err();
    ///     assert_eq!(err.kind(), ErrorKind::TimedOut); // std on Unix says WouldBlock
    /// });
    /// ```
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.timeouts.set(false, t)
    }

    /// Writes give up after `t` (`None`: never) with `TimedOut`.
    ///
    /// ```
    /// use strands::net::TcpStream;
    ///
    /// # let listener = strands::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let addr = listener.local_addr().unwrap();
    /// let stream = TcpStream::connect(addr).unwrap();
    /// # let (_peer, _) = listener.accept().unwrap();
    /// use std::time::Duration;
    /// stream.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    /// assert_eq!(stream.write_timeout().unwrap(), Some(Duration::from_secs(5)));
    /// ```
    pub fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.timeouts.set(true, t)
    }

    /// The read timeout.
    ///
    /// ```
    /// use strands::net::TcpStream;
    ///
    /// # let listener = strands::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let addr = listener.local_addr().unwrap();
    /// let stream = TcpStream::connect(addr).unwrap();
    /// # let (_peer, _) = listener.accept().unwrap();
    /// assert_eq!(stream.read_timeout().unwrap(), None);
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.timeouts.get(false))
    }

    /// The write timeout.
    ///
    /// ```
    /// use strands::net::TcpStream;
    ///
    /// # let listener = strands::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let addr = listener.local_addr().unwrap();
    /// let stream = TcpStream::connect(addr).unwrap();
    /// # let (_peer, _) = listener.accept().unwrap();
    /// assert_eq!(stream.write_timeout().unwrap(), None);
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.timeouts.get(true))
    }

    /// Reads without removing the data from the queue.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use strands::net::TcpStream;
    ///
    /// strands::run(|| {
    /// # let listener = strands::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let addr = listener.local_addr().unwrap();
    ///     let mut stream = TcpStream::connect(addr).unwrap();
    ///     let (mut peer, _) = listener.accept().unwrap();
    ///     peer.write_all(b"abc").unwrap();
    ///     let mut buf = [0; 1];
    ///     assert_eq!(stream.peek(&mut buf).unwrap(), 1); // parks until data comes
    ///     stream.read_exact(&mut buf).unwrap(); // the same byte again
    ///     assert_eq!(&buf, b"a");
    /// });
    /// ```
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        let d = self.timeouts.deadline(false);
        self.inner.io_until(Interest::Read, d, |s| s.peek(buf))
    }

    /// A second handle to the same connection (sharing the timeouts).
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use strands::net::TcpStream;
    ///
    /// strands::run(|| {
    /// # let listener = strands::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let addr = listener.local_addr().unwrap();
    ///     let stream = TcpStream::connect(addr).unwrap();
    ///     let (mut peer, _) = listener.accept().unwrap();
    ///     let mut writer = stream.try_clone().unwrap();
    ///     let w = strands::spawn(move || writer.write_all(b"from the clone").unwrap());
    ///     let mut buf = [0; 14];
    ///     peer.read_exact(&mut buf).unwrap();
    ///     w.join().unwrap();
    ///     drop(stream);
    /// });
    /// ```
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
