//! Unix domain sockets with the shape of [`std::os::unix::net`], whose
//! blocking calls park the strand.
//!
//! [`UnixStream::connect`] connects in blocking mode, as std does: a Unix
//! socket connect completes at once unless the listener's backlog is full,
//! in which case it holds the worker until there is room.

use crate::io::{Interest, Registered};
use crate::net::{stream_io, Timeouts};
use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A Unix socket server, like [`std::os::unix::net::UnixListener`].
///
/// ```
/// use std::io::{Read, Write};
/// use strands::os::unix::net::{UnixListener, UnixStream};
///
/// strands::run(|| {
/// # let dir = std::env::temp_dir().join(format!("strands-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// # struct Rm(std::path::PathBuf);
/// # impl Drop for Rm { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
/// # let _rm = Rm(dir.clone());
/// let path = dir.join("listener.sock");
/// # let _ = std::fs::remove_file(&path);
///     let listener = UnixListener::bind(&path).unwrap();
///     let server = strands::spawn(move || {
///         let (mut s, _) = listener.accept().unwrap();
///         s.write_all(b"hello").unwrap();
///     });
///     let mut c = UnixStream::connect(&path).unwrap();
///     let mut got = String::new();
///     c.read_to_string(&mut got).unwrap();
///     assert_eq!(got, "hello");
///     server.join().unwrap();
/// });
/// ```
pub struct UnixListener {
    inner: Registered<std::os::unix::net::UnixListener>,
}

impl UnixListener {
    /// Binds to `path` and listens.
    ///
    /// ```
    /// use strands::os::unix::net::UnixListener;
    ///
    /// strands::run(|| {
    /// # let dir = std::env::temp_dir().join(format!("strands-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # struct Rm(std::path::PathBuf);
    /// # impl Drop for Rm { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
    /// # let _rm = Rm(dir.clone());
    /// let path = dir.join("bind.sock");
    /// # let _ = std::fs::remove_file(&path);
    ///     let listener = UnixListener::bind(&path).unwrap();
    ///     assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// });
    /// ```
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        UnixListener::from_std(std::os::unix::net::UnixListener::bind(path)?)
    }

    /// Wraps a std listener (putting it in non-blocking mode).
    ///
    /// ```
    /// use strands::os::unix::net::UnixListener;
    ///
    /// # let dir = std::env::temp_dir().join(format!("strands-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # struct Rm(std::path::PathBuf);
    /// # impl Drop for Rm { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
    /// # let _rm = Rm(dir.clone());
    /// let path = dir.join("from-std.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// let std_listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    /// let listener = UnixListener::from_std(std_listener).unwrap();
    /// # drop(listener);
    /// ```
    pub fn from_std(l: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        l.set_nonblocking(true)?;
        Ok(UnixListener {
            inner: Registered::from_nonblocking(l),
        })
    }

    /// Accepts a connection, parking until one comes.
    ///
    /// ```
    /// use strands::os::unix::net::{UnixListener, UnixStream};
    ///
    /// strands::run(|| {
    /// # let dir = std::env::temp_dir().join(format!("strands-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # struct Rm(std::path::PathBuf);
    /// # impl Drop for Rm { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
    /// # let _rm = Rm(dir.clone());
    /// let path = dir.join("accept.sock");
    /// # let _ = std::fs::remove_file(&path);
    ///     let listener = UnixListener::bind(&path).unwrap();
    ///     let client = strands::spawn({
    ///         let path = path.clone();
    ///         move || UnixStream::connect(path).unwrap()
    ///     });
    ///     let (_conn, _peer) = listener.accept().unwrap(); // parks until the client comes
    ///     client.join().unwrap();
    /// });
    /// ```
    pub fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (s, a) = self.inner.read_with(|l| l.accept())?;
        Ok((UnixStream::from_std(s)?, a))
    }

    /// An endless iterator of accepted connections.
    ///
    /// ```
    /// use std::io::Write;
    /// use strands::os::unix::net::{UnixListener, UnixStream};
    ///
    /// strands::run(|| {
    /// # let dir = std::env::temp_dir().join(format!("strands-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # struct Rm(std::path::PathBuf);
    /// # impl Drop for Rm { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
    /// # let _rm = Rm(dir.clone());
    /// let path = dir.join("incoming.sock");
    /// # let _ = std::fs::remove_file(&path);
    ///     let listener = UnixListener::bind(&path).unwrap();
    ///     let clients = strands::spawn({
    ///         let path = path.clone();
    ///         move || (0..2).map(|_| UnixStream::connect(&path).unwrap()).collect::<Vec<_>>()
    ///     });
    ///     for conn in listener.incoming().take(2) {
    ///         conn.unwrap().write_all(b"hi").unwrap();
    ///     }
    ///     clients.join().unwrap();
    /// });
    /// ```
    pub fn incoming(&self) -> impl Iterator<Item = io::Result<UnixStream>> + '_ {
        std::iter::repeat_with(move || self.accept().map(|(s, _)| s))
    }

    /// The address this listener is bound to.
    ///
    /// ```
    /// use strands::os::unix::net::UnixListener;
    ///
    /// # let dir = std::env::temp_dir().join(format!("strands-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # struct Rm(std::path::PathBuf);
    /// # impl Drop for Rm { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
    /// # let _rm = Rm(dir.clone());
    /// let path = dir.join("local-addr.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::bind(&path).unwrap();
    /// assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// A second handle to the same socket.
    ///
    /// ```
    /// use strands::os::unix::net::UnixListener;
    ///
    /// # let dir = std::env::temp_dir().join(format!("strands-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # struct Rm(std::path::PathBuf);
    /// # impl Drop for Rm { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
    /// # let _rm = Rm(dir.clone());
    /// let path = dir.join("try-clone.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::bind(&path).unwrap();
    /// let other = listener.try_clone().unwrap();
    /// assert_eq!(other.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// ```
    pub fn try_clone(&self) -> io::Result<UnixListener> {
        Ok(UnixListener {
            inner: Registered::from_nonblocking(self.inner.get_ref().try_clone()?),
        })
    }

    /// Takes the pending `SO_ERROR`.
    ///
    /// ```
    /// use strands::os::unix::net::UnixListener;
    ///
    /// # let dir = std::env::temp_dir().join(format!("strands-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # struct Rm(std::path::PathBuf);
    /// # impl Drop for Rm { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
    /// # let _rm = Rm(dir.clone());
    /// let path = dir.join("take-error.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::bind(&path).unwrap();
    /// assert!(listener.take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get_ref().take_error()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.inner.get_ref(), f)
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

/// A Unix stream socket, like [`std::os::unix::net::UnixStream`].
///
/// ```
/// use std::io::{Read, Write};
/// use strands::os::unix::net::UnixStream;
/// strands::run(|| {
///     let (mut a, mut b) = UnixStream::pair().unwrap();
///     let h = strands::spawn(move || {
///         let mut s = String::new();
///         b.read_to_string(&mut s).unwrap();
///         s
///     });
///     a.write_all(b"bye").unwrap();
///     drop(a);
///     assert_eq!(h.join().unwrap(), "bye");
/// });
/// ```
pub struct UnixStream {
    inner: Registered<std::os::unix::net::UnixStream>,
    timeouts: Arc<Timeouts>,
}

impl UnixStream {
    /// Connects to the socket at `path`.
    ///
    /// ```
    /// use strands::os::unix::net::{UnixListener, UnixStream};
    ///
    /// strands::run(|| {
    /// # let dir = std::env::temp_dir().join(format!("strands-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # struct Rm(std::path::PathBuf);
    /// # impl Drop for Rm { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
    /// # let _rm = Rm(dir.clone());
    /// let path = dir.join("connect.sock");
    /// # let _ = std::fs::remove_file(&path);
    ///     let listener = UnixListener::bind(&path).unwrap();
    ///     let c = UnixStream::connect(&path).unwrap();
    ///     let (s, _) = listener.accept().unwrap();
    ///     assert_eq!(c.peer_addr().unwrap().as_pathname(), Some(path.as_path()));
    ///     drop(s);
    /// });
    /// ```
    pub fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        UnixStream::from_std(std::os::unix::net::UnixStream::connect(path)?)
    }

    /// A connected pair.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use strands::os::unix::net::UnixStream;
    ///
    /// let (mut a, mut b) = UnixStream::pair().unwrap();
    /// a.write_all(b"x").unwrap();
    /// let mut buf = [0; 1];
    /// b.read_exact(&mut buf).unwrap();
    /// assert_eq!(&buf, b"x");
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    /// Wraps a std stream (putting it in non-blocking mode).
    ///
    /// ```
    /// use strands::os::unix::net::UnixStream;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = UnixStream::from_std(a).unwrap();
    /// # drop(a);
    /// ```
    pub fn from_std(s: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        s.set_nonblocking(true)?;
        Ok(UnixStream {
            inner: Registered::from_nonblocking(s),
            timeouts: Arc::default(),
        })
    }

    /// Back to a std stream, in blocking mode.
    ///
    /// ```
    /// use strands::os::unix::net::UnixStream;
    ///
    /// let (a, _b) = UnixStream::pair().unwrap();
    /// let a: std::os::unix::net::UnixStream = a.into_std().unwrap();
    /// assert!(a.take_error().unwrap().is_none());
    /// ```
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        self.inner.into_inner()
    }

    /// The local address.
    ///
    /// ```
    /// use strands::os::unix::net::UnixStream;
    ///
    /// let (a, _b) = UnixStream::pair().unwrap();
    /// assert!(a.local_addr().unwrap().is_unnamed());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The peer's address.
    ///
    /// ```
    /// use strands::os::unix::net::UnixStream;
    ///
    /// let (a, _b) = UnixStream::pair().unwrap();
    /// assert!(a.peer_addr().unwrap().is_unnamed());
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// Shuts down the read, write or both halves.
    ///
    /// ```
    /// use std::io::Read;
    /// use std::net::Shutdown;
    /// use strands::os::unix::net::UnixStream;
    ///
    /// let (a, mut b) = UnixStream::pair().unwrap();
    /// a.shutdown(Shutdown::Write).unwrap();
    /// let mut rest = Vec::new();
    /// assert_eq!(b.read_to_end(&mut rest).unwrap(), 0); // end of stream
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// Reads give up after `t` (`None`: never) with `TimedOut`.
    ///
    /// ```
    /// use std::io::{ErrorKind, Read};
    /// use std::time::Duration;
    /// use strands::os::unix::net::UnixStream;
    ///
    /// strands::run(|| {
    ///     let (mut a, _b) = UnixStream::pair().unwrap();
    ///     a.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
    ///     let err = a.read(&mut [0; 1]).unwrap_err(); // nothing comes
    ///     assert_eq!(err.kind(), ErrorKind::TimedOut);
    /// });
    /// ```
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.timeouts.set(false, t)
    }

    /// Writes give up after `t` (`None`: never) with `TimedOut`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use strands::os::unix::net::UnixStream;
    ///
    /// let (a, _b) = UnixStream::pair().unwrap();
    /// a.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    /// assert_eq!(a.write_timeout().unwrap(), Some(Duration::from_secs(5)));
    /// ```
    pub fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.timeouts.set(true, t)
    }

    /// The read timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// use strands::os::unix::net::UnixStream;
    ///
    /// let (a, _b) = UnixStream::pair().unwrap();
    /// assert_eq!(a.read_timeout().unwrap(), None);
    /// a.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    /// assert_eq!(a.read_timeout().unwrap(), Some(Duration::from_secs(1)));
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.timeouts.get(false))
    }

    /// The write timeout.
    ///
    /// ```
    /// use strands::os::unix::net::UnixStream;
    ///
    /// let (a, _b) = UnixStream::pair().unwrap();
    /// assert_eq!(a.write_timeout().unwrap(), None);
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.timeouts.get(true))
    }

    /// Takes the pending `SO_ERROR`.
    ///
    /// ```
    /// use strands::os::unix::net::UnixStream;
    ///
    /// let (a, _b) = UnixStream::pair().unwrap();
    /// assert!(a.take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get_ref().take_error()
    }

    /// A second handle to the same connection (sharing the timeouts).
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use strands::os::unix::net::UnixStream;
    ///
    /// let (a, mut b) = UnixStream::pair().unwrap();
    /// let mut a2 = a.try_clone().unwrap();
    /// a2.write_all(b"via the clone").unwrap();
    /// drop((a, a2));
    /// let mut s = String::new();
    /// b.read_to_string(&mut s).unwrap();
    /// assert_eq!(s, "via the clone");
    /// ```
    pub fn try_clone(&self) -> io::Result<UnixStream> {
        Ok(UnixStream {
            inner: Registered::from_nonblocking(self.inner.get_ref().try_clone()?),
            timeouts: Arc::clone(&self.timeouts),
        })
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.inner.get_ref(), f)
    }
}

stream_io!(UnixStream);

/// A Unix datagram socket, like [`std::os::unix::net::UnixDatagram`].
///
/// ```
/// use strands::os::unix::net::UnixDatagram;
///
/// strands::run(|| {
///     let (a, b) = UnixDatagram::pair().unwrap();
///     let h = strands::spawn(move || {
///         let mut buf = [0; 8];
///         let n = b.recv(&mut buf).unwrap(); // parks until a datagram comes
///         buf[..n].to_vec()
///     });
///     a.send(b"ping").unwrap();
///     assert_eq!(h.join().unwrap(), b"ping");
/// });
/// ```
pub struct UnixDatagram {
    inner: Registered<std::os::unix::net::UnixDatagram>,
    timeouts: Arc<Timeouts>,
}

impl UnixDatagram {
    /// Binds to `path`.
    ///
    /// ```
    /// use strands::os::unix::net::UnixDatagram;
    ///
    /// # let dir = std::env::temp_dir().join(format!("strands-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # struct Rm(std::path::PathBuf);
    /// # impl Drop for Rm { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
    /// # let _rm = Rm(dir.clone());
    /// let path = dir.join("dgram-bind.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// let sock = UnixDatagram::bind(&path).unwrap();
    /// let sender = UnixDatagram::unbound().unwrap();
    /// sender.send_to(b"hi", &path).unwrap();
    /// let mut buf = [0; 2];
    /// assert_eq!(sock.recv(&mut buf).unwrap(), 2);
    /// ```
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(std::os::unix::net::UnixDatagram::bind(path)?)
    }

    /// A socket bound to no address.
    ///
    /// ```
    /// use strands::os::unix::net::UnixDatagram;
    ///
    /// let sock = UnixDatagram::unbound().unwrap();
    /// assert!(sock.local_addr().unwrap().is_unnamed());
    /// ```
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(std::os::unix::net::UnixDatagram::unbound()?)
    }

    /// A connected pair.
    ///
    /// ```
    /// use strands::os::unix::net::UnixDatagram;
    ///
    /// let (a, b) = UnixDatagram::pair().unwrap();
    /// a.send(b"one").unwrap();
    /// let mut buf = [0; 3];
    /// assert_eq!(b.recv(&mut buf).unwrap(), 3);
    /// ```
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_std(a)?, UnixDatagram::from_std(b)?))
    }

    /// Wraps a std socket (putting it in non-blocking mode).
    ///
    /// ```
    /// use strands::os::unix::net::UnixDatagram;
    ///
    /// let (a, _b) = std::os::unix::net::UnixDatagram::pair().unwrap();
    /// let a = UnixDatagram::from_std(a).unwrap();
    /// # drop(a);
    /// ```
    pub fn from_std(s: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        s.set_nonblocking(true)?;
        Ok(UnixDatagram {
            inner: Registered::from_nonblocking(s),
            timeouts: Arc::default(),
        })
    }

    /// Sets the default destination.
    ///
    /// ```
    /// use strands::os::unix::net::UnixDatagram;
    ///
    /// # let dir = std::env::temp_dir().join(format!("strands-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # struct Rm(std::path::PathBuf);
    /// # impl Drop for Rm { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
    /// # let _rm = Rm(dir.clone());
    /// let path = dir.join("dgram-connect.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// let server = UnixDatagram::bind(&path).unwrap();
    /// let client = UnixDatagram::unbound().unwrap();
    /// client.connect(&path).unwrap();
    /// client.send(b"hello").unwrap();
    /// let mut buf = [0; 5];
    /// assert_eq!(server.recv(&mut buf).unwrap(), 5);
    /// ```
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        self.inner.get_ref().connect(path)
    }

    /// Sends to the connected peer.
    ///
    /// ```
    /// use strands::os::unix::net::UnixDatagram;
    ///
    /// let (a, b) = UnixDatagram::pair().unwrap();
    /// assert_eq!(a.send(b"abc").unwrap(), 3);
    /// # let mut buf = [0; 3];
    /// # b.recv(&mut buf).unwrap();
    /// ```
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let d = self.timeouts.deadline(true);
        self.inner.io_until(Interest::Write, d, |s| s.send(buf))
    }

    /// Sends to the socket at `path`.
    ///
    /// ```
    /// use strands::os::unix::net::UnixDatagram;
    ///
    /// # let dir = std::env::temp_dir().join(format!("strands-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # struct Rm(std::path::PathBuf);
    /// # impl Drop for Rm { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
    /// # let _rm = Rm(dir.clone());
    /// let path = dir.join("dgram-send-to.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// let server = UnixDatagram::bind(&path).unwrap();
    /// let client = UnixDatagram::unbound().unwrap();
    /// assert_eq!(client.send_to(b"abc", &path).unwrap(), 3);
    /// # let mut buf = [0; 3];
    /// # server.recv(&mut buf).unwrap();
    /// ```
    pub fn send_to<P: AsRef<Path>>(&self, buf: &[u8], path: P) -> io::Result<usize> {
        let d = self.timeouts.deadline(true);
        let path = path.as_ref();
        self.inner
            .io_until(Interest::Write, d, |s| s.send_to(buf, path))
    }

    /// Receives from the connected peer.
    ///
    /// ```
    /// use strands::os::unix::net::UnixDatagram;
    ///
    /// strands::run(|| {
    ///     let (a, b) = UnixDatagram::pair().unwrap();
    ///     a.send(b"xyz").unwrap();
    ///     let mut buf = [0; 16];
    ///     let n = b.recv(&mut buf).unwrap();
    ///     assert_eq!(&buf[..n], b"xyz");
    /// });
    /// ```
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        let d = self.timeouts.deadline(false);
        self.inner.io_until(Interest::Read, d, |s| s.recv(buf))
    }

    /// Receives a datagram and its source.
    ///
    /// ```
    /// use strands::os::unix::net::UnixDatagram;
    ///
    /// strands::run(|| {
    /// # let dir = std::env::temp_dir().join(format!("strands-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # struct Rm(std::path::PathBuf);
    /// # impl Drop for Rm { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
    /// # let _rm = Rm(dir.clone());
    /// let path = dir.join("dgram-recv-from.sock");
    /// # let _ = std::fs::remove_file(&path);
    ///     let client = UnixDatagram::bind(&path).unwrap();
    ///     client.send_to(b"hi", &path).unwrap(); // to itself
    ///     let mut buf = [0; 2];
    ///     let (n, from) = client.recv_from(&mut buf).unwrap();
    ///     assert_eq!(n, 2);
    ///     assert_eq!(from.as_pathname(), Some(path.as_path()));
    /// });
    /// ```
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let d = self.timeouts.deadline(false);
        self.inner.io_until(Interest::Read, d, |s| s.recv_from(buf))
    }

    /// The local address.
    ///
    /// ```
    /// use strands::os::unix::net::UnixDatagram;
    ///
    /// # let dir = std::env::temp_dir().join(format!("strands-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # struct Rm(std::path::PathBuf);
    /// # impl Drop for Rm { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
    /// # let _rm = Rm(dir.clone());
    /// let path = dir.join("dgram-local.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// let sock = UnixDatagram::bind(&path).unwrap();
    /// assert_eq!(sock.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The connected peer's address.
    ///
    /// ```
    /// use strands::os::unix::net::UnixDatagram;
    ///
    /// # let dir = std::env::temp_dir().join(format!("strands-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # struct Rm(std::path::PathBuf);
    /// # impl Drop for Rm { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
    /// # let _rm = Rm(dir.clone());
    /// let path = dir.join("dgram-peer.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// let server = UnixDatagram::bind(&path).unwrap();
    /// let client = UnixDatagram::unbound().unwrap();
    /// client.connect(&path).unwrap();
    /// assert_eq!(client.peer_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// # drop(server);
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// Shuts down the read, write or both halves.
    ///
    /// ```
    /// use std::net::Shutdown;
    /// use strands::os::unix::net::UnixDatagram;
    ///
    /// let (a, _b) = UnixDatagram::pair().unwrap();
    /// a.shutdown(Shutdown::Both).unwrap();
    /// assert!(a.send(b"x").is_err());
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// Receives give up after `t` (`None`: never) with `TimedOut`.
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use std::time::Duration;
    /// use strands::os::unix::net::UnixDatagram;
    ///
    /// strands::run(|| {
    ///     let (a, _b) = UnixDatagram::pair().unwrap();
    ///     a.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
    ///     let err = a.recv(&mut [0; 1]).unwrap_err();
    ///     assert_eq!(err.kind(), ErrorKind::TimedOut);
    /// });
    /// ```
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.timeouts.set(false, t)
    }

    /// Sends give up after `t` (`None`: never) with `TimedOut`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use strands::os::unix::net::UnixDatagram;
    ///
    /// let (a, _b) = UnixDatagram::pair().unwrap();
    /// a.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    /// ```
    pub fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.timeouts.set(true, t)
    }

    /// A second handle to the same socket (sharing the timeouts).
    ///
    /// ```
    /// use strands::os::unix::net::UnixDatagram;
    ///
    /// let (a, b) = UnixDatagram::pair().unwrap();
    /// let a2 = a.try_clone().unwrap();
    /// a2.send(b"c").unwrap();
    /// let mut buf = [0; 1];
    /// assert_eq!(b.recv(&mut buf).unwrap(), 1);
    /// ```
    pub fn try_clone(&self) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            inner: Registered::from_nonblocking(self.inner.get_ref().try_clone()?),
            timeouts: Arc::clone(&self.timeouts),
        })
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.inner.get_ref(), f)
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}
