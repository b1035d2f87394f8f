//! UDP: [`UdpSocket`].

use super::{each_addr, resolve, Timeouts, ToSocketAddrs};
use crate::io::{Interest, Registered};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

/// A UDP socket, like [`std::net::UdpSocket`], whose sends and receives
/// park the strand while the socket is not ready.
///
/// ```
/// use strands::net::UdpSocket;
/// strands::run(|| {
///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0").unwrap();
///     a.send_to(b"hi", b.local_addr().unwrap()).unwrap();
///     let mut buf = [0; 8];
///     let (n, from) = b.recv_from(&mut buf).unwrap();
///     assert_eq!((&buf[..n], from), (&b"hi"[..], a.local_addr().unwrap()));
/// });
/// ```
pub struct UdpSocket {
    inner: Registered<std::net::UdpSocket>,
    timeouts: Arc<Timeouts>,
}

impl UdpSocket {
    /// Binds to `addr` (the first of its addresses that works).
    ///
    /// ```
    /// use strands::net::UdpSocket;
    ///
    /// let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(sock.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        UdpSocket::from_std(std::net::UdpSocket::bind(&resolve(addr)?[..])?)
    }

    /// Wraps a std socket (putting it in non-blocking mode).
    ///
    /// ```
    /// use strands::net::UdpSocket;
    ///
    /// let std_sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let sock = UdpSocket::from_std(std_sock).unwrap();
    /// # drop(sock);
    /// ```
    pub fn from_std(s: std::net::UdpSocket) -> io::Result<UdpSocket> {
        s.set_nonblocking(true)?;
        Ok(UdpSocket {
            inner: Registered::from_nonblocking(s),
            timeouts: Arc::default(),
        })
    }

    /// Back to a std socket, in blocking mode.
    ///
    /// ```
    /// use strands::net::UdpSocket;
    ///
    /// let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let std_sock: std::net::UdpSocket = sock.into_std().unwrap();
    /// # drop(std_sock);
    /// ```
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        self.inner.into_inner()
    }

    /// Sets the default destination (and the only source `recv` accepts).
    ///
    /// ```
    /// use strands::net::UdpSocket;
    ///
    /// let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.connect(b.local_addr().unwrap()).unwrap();
    /// assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
    /// ```
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        each_addr(addr, |a| self.inner.get_ref().connect(a))
    }

    /// Sends to the connected peer.
    ///
    /// ```
    /// use strands::net::UdpSocket;
    ///
    /// let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.connect(b.local_addr().unwrap()).unwrap();
    /// assert_eq!(a.send(b"ping").unwrap(), 4);
    /// let mut buf = [0; 4];
    /// assert_eq!(b.recv(&mut buf).unwrap(), 4);
    /// ```
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let d = self.timeouts.deadline(true);
        self.inner.io_until(Interest::Write, d, |s| s.send(buf))
    }

    /// Sends to `addr` (its first address).
    ///
    /// ```
    /// use strands::net::UdpSocket;
    ///
    /// let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert_eq!(a.send_to(b"ping", b.local_addr().unwrap()).unwrap(), 4);
    /// # let mut buf = [0; 4];
    /// # b.recv(&mut buf).unwrap();
    /// ```
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], addr: A) -> io::Result<usize> {
        let addr = resolve(addr)?.into_iter().next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no addresses to send data to")
        })?;
        let d = self.timeouts.deadline(true);
        self.inner
            .io_until(Interest::Write, d, |s| s.send_to(buf, addr))
    }

    /// Receives from the connected peer.
    ///
    /// ```
    /// use strands::net::UdpSocket;
    ///
    /// strands::run(|| {
    ///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     b.connect(a.local_addr().unwrap()).unwrap();
    ///     let to = b.local_addr().unwrap();
    ///     let sender = strands::spawn(move || a.send_to(b"late", to).unwrap());
    ///     let mut buf = [0; 8];
    ///     let n = b.recv(&mut buf).unwrap(); // parks until it comes
    ///     assert_eq!(&buf[..n], b"late");
    ///     sender.join().unwrap();
    /// });
    /// ```
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        let d = self.timeouts.deadline(false);
        self.inner.io_until(Interest::Read, d, |s| s.recv(buf))
    }

    /// Receives a datagram and its source.
    ///
    /// ```
    /// use strands::net::UdpSocket;
    ///
    /// let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.send_to(b"hi", b.local_addr().unwrap()).unwrap();
    /// let mut buf = [0; 8];
    /// let (n, from) = b.recv_from(&mut buf).unwrap();
    /// assert_eq!((n, from), (2, a.local_addr().unwrap()));
    /// ```
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let d = self.timeouts.deadline(false);
        self.inner.io_until(Interest::Read, d, |s| s.recv_from(buf))
    }

    /// Receives without removing the datagram from the queue.
    ///
    /// ```
    /// use strands::net::UdpSocket;
    ///
    /// let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.send_to(b"hi", b.local_addr().unwrap()).unwrap();
    /// let mut buf = [0; 8];
    /// let (n, _) = b.peek_from(&mut buf).unwrap();
    /// assert_eq!(b.recv_from(&mut buf).unwrap().0, n); // still there after the peek
    /// ```
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let d = self.timeouts.deadline(false);
        self.inner.io_until(Interest::Read, d, |s| s.peek_from(buf))
    }

    /// The local address.
    ///
    /// ```
    /// use strands::net::UdpSocket;
    ///
    /// let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert_ne!(sock.local_addr().unwrap().port(), 0);
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The connected peer's address.
    ///
    /// ```
    /// use strands::net::UdpSocket;
    ///
    /// let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(a.peer_addr().is_err()); // not connected
    /// a.connect(b.local_addr().unwrap()).unwrap();
    /// assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// ```
    /// use strands::net::UdpSocket;
    ///
    /// let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// sock.set_broadcast(true).unwrap();
    /// assert!(sock.broadcast().unwrap());
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.inner.get_ref().set_broadcast(on)
    }

    /// `SO_BROADCAST`.
    ///
    /// ```
    /// use strands::net::UdpSocket;
    ///
    /// let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(!sock.broadcast().unwrap());
    /// ```
    pub fn broadcast(&self) -> io::Result<bool> {
        self.inner.get_ref().broadcast()
    }

    /// Sets `IP_TTL`.
    ///
    /// ```
    /// use strands::net::UdpSocket;
    ///
    /// let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// sock.set_ttl(32).unwrap();
    /// assert_eq!(sock.ttl().unwrap(), 32);
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.get_ref().set_ttl(ttl)
    }

    /// `IP_TTL`.
    ///
    /// ```
    /// use strands::net::UdpSocket;
    ///
    /// let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(sock.ttl().unwrap() > 0);
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.get_ref().ttl()
    }

    /// Takes the pending `SO_ERROR`.
    ///
    /// ```
    /// use strands::net::UdpSocket;
    ///
    /// let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(sock.take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get_ref().take_error()
    }

    /// Receives give up after `t` (`None`: never) with `TimedOut`.
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use std::time::Duration;
    /// use strands::net::UdpSocket;
    ///
    /// strands::run(|| {
    ///     let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     sock.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
    ///     let err = sock.recv_from(&mut [0; 8]).unwrap_err(); // nobody sends
    ///     assert_eq!(err.kind(), ErrorKind::TimedOut);
    /// });
    /// ```
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.timeouts.set(false, t)
    }

    /// Sends give up after `t` (`None`: never) with `TimedOut`.
    ///
    /// ```
    /// use strands::net::UdpSocket;
    ///
    /// use std::time::Duration;
    /// let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// sock.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
    /// assert_eq!(sock.write_timeout().unwrap(), Some(Duration::from_secs(1)));
    /// ```
    pub fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.timeouts.set(true, t)
    }

    /// The read timeout.
    ///
    /// ```
    /// use strands::net::UdpSocket;
    ///
    /// let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert_eq!(sock.read_timeout().unwrap(), None);
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.timeouts.get(false))
    }

    /// The write timeout.
    ///
    /// ```
    /// use strands::net::UdpSocket;
    ///
    /// let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert_eq!(sock.write_timeout().unwrap(), None);
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.timeouts.get(true))
    }

    /// A second handle to the same socket (sharing the timeouts).
    ///
    /// ```
    /// use strands::net::UdpSocket;
    ///
    /// let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let a2 = a.try_clone().unwrap();
    /// a2.send_to(b"x", b.local_addr().unwrap()).unwrap();
    /// let mut buf = [0; 1];
    /// assert_eq!(b.recv_from(&mut buf).unwrap().1, a.local_addr().unwrap());
    /// ```
    pub fn try_clone(&self) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            inner: Registered::from_nonblocking(self.inner.get_ref().try_clone()?),
            timeouts: Arc::clone(&self.timeouts),
        })
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.inner.get_ref(), f)
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}
