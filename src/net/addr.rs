//! [`ToSocketAddrs`]: addresses for the sockets' `bind`, `connect` and
//! `send_to`, with host names resolved off the workers.

use crate::runtime::context;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// What [`TcpStream::connect`](super::TcpStream::connect),
/// [`TcpListener::bind`](super::TcpListener::bind) and the
/// [`UdpSocket`](super::UdpSocket) calls take as an address: the same types
/// as [`std::net::ToSocketAddrs`], resolved without holding a worker.
///
/// Implemented for [`SocketAddr`], [`SocketAddrV4`], [`SocketAddrV6`],
/// `(IpAddr, u16)`, `(Ipv4Addr, u16)`, `(Ipv6Addr, u16)`, `(&str, u16)`,
/// `(String, u16)`, `str`, `String`, `[SocketAddr]` (so `&[SocketAddr]`),
/// and references to any of them.
///
/// **Numeric addresses take the fast path:** a socket address, an IP
/// address with a port, and a string that parses as one
/// (`"127.0.0.1:80"`, `"[::1]:80"`, `("10.0.0.1", 80)`) are used as they
/// are, with no lookup and no other thread.
///
/// **Host names are resolved on the blocking pool:** from a strand,
/// `"localhost:80"` or `("example.test", 80)` is resolved by std's resolver
/// (`getaddrinfo`) in a job on the runtime's blocking pool
/// ([`spawn_blocking`](crate::spawn_blocking)) while the strand parks, so
/// the other strands of its worker keep running. The host name is copied
/// into the job, so the wait is a cancellation point like any join: a
/// cancelled strand stops waiting, and the lookup finishes on its pool
/// thread with its result dropped. On a plain thread, and when the pool
/// refuses the job (saturated or shutting down), the lookup runs right
/// there, as std's would.
///
/// **Why a trait of our own** rather than std's: std's trait cannot tell
/// a numeric address from a host name without resolving it, and a value of
/// an arbitrary type implementing it cannot be sent to another thread (it
/// need not be `Send`). So code generic over `std::net::ToSocketAddrs`
/// does not compile against these sockets; resolve there first (for
/// example with [`resolve`]) and pass the `SocketAddr`s, or take
/// `strands::net::ToSocketAddrs` instead.
///
/// ```
/// use strands::net::{TcpListener, TcpStream};
///
/// strands::run(|| {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap(); // numeric: no lookup
///     let port = listener.local_addr().unwrap().port();
///     // a host name: resolved on the blocking pool while this strand parks
///     let _c = TcpStream::connect(("localhost", port)).unwrap();
///     let (_s, _) = listener.accept().unwrap();
/// });
/// ```
pub trait ToSocketAddrs: sealed::Sealed {}

mod sealed {
    use super::Resolve;

    /// Keeps [`super::ToSocketAddrs`] implemented by this module only (its
    /// method is an internal detail).
    pub trait Sealed {
        /// The addresses if no lookup is needed, else what to look up.
        fn to_resolve(&self) -> Resolve;
    }
}
use sealed::Sealed;

/// An address list, or a name that needs a lookup.
#[doc(hidden)]
#[derive(Debug)]
pub enum Resolve {
    Ready(io::Result<Vec<SocketAddr>>),
    Lookup(Lookup),
}

/// A name to look up, owned, so that it can go to another thread.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub enum Lookup {
    /// A `host:port` string that did not parse as a socket address.
    Str(String),
    /// A host that did not parse as an IP address, and a port.
    HostPort(String, u16),
}

impl Lookup {
    /// Looks up right here, on this thread (std's resolver).
    fn here(self) -> io::Result<Vec<SocketAddr>> {
        use std::net::ToSocketAddrs as _;
        match self {
            Lookup::Str(s) => Ok(s.as_str().to_socket_addrs()?.collect()),
            Lookup::HostPort(h, p) => Ok((h.as_str(), p).to_socket_addrs()?.collect()),
        }
    }
}

/// The addresses `addr` stands for: numeric ones right away, host names
/// looked up on the blocking pool when called from a strand (the strand
/// parks; see [`ToSocketAddrs`]), on this thread otherwise.
///
/// ```
/// strands::run(|| {
///     let addrs = strands::net::resolve("127.0.0.1:8080").unwrap();
///     assert_eq!(addrs, ["127.0.0.1:8080".parse().unwrap()]);
///     let local = strands::net::resolve(("localhost", 8080)).unwrap();
///     assert!(local.iter().all(|a| a.ip().is_loopback()));
/// });
/// ```
pub fn resolve<A: ToSocketAddrs>(addr: A) -> io::Result<Vec<SocketAddr>> {
    let lookup = match addr.to_resolve() {
        Resolve::Ready(r) => return r,
        Resolve::Lookup(l) => l,
    };
    if context::current().is_none() {
        return lookup.here(); // a plain thread may block
    }
    // The job owns its copy of the name: nothing it touches lives on this
    // strand's stack, so the join below may be cancelled safely.
    let job = {
        let lookup = lookup.clone();
        move || lookup.here()
    };
    match crate::try_spawn_blocking(job) {
        Ok(h) => match h.join() {
            Ok(r) => r,
            Err(e) if e.is_cancelled() => Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "name lookup cancelled: the runtime is shutting down",
            )),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        },
        // saturated or shutting down: as std would, on this thread
        Err(_) => lookup.here(),
    }
}

impl ToSocketAddrs for SocketAddr {}
impl Sealed for SocketAddr {
    fn to_resolve(&self) -> Resolve {
        Resolve::Ready(Ok(vec![*self]))
    }
}
impl ToSocketAddrs for SocketAddrV4 {}
impl Sealed for SocketAddrV4 {
    fn to_resolve(&self) -> Resolve {
        Resolve::Ready(Ok(vec![SocketAddr::V4(*self)]))
    }
}
impl ToSocketAddrs for SocketAddrV6 {}
impl Sealed for SocketAddrV6 {
    fn to_resolve(&self) -> Resolve {
        Resolve::Ready(Ok(vec![SocketAddr::V6(*self)]))
    }
}
impl ToSocketAddrs for (IpAddr, u16) {}
impl Sealed for (IpAddr, u16) {
    fn to_resolve(&self) -> Resolve {
        Resolve::Ready(Ok(vec![SocketAddr::new(self.0, self.1)]))
    }
}
impl ToSocketAddrs for (Ipv4Addr, u16) {}
impl Sealed for (Ipv4Addr, u16) {
    fn to_resolve(&self) -> Resolve {
        Resolve::Ready(Ok(vec![SocketAddr::new(self.0.into(), self.1)]))
    }
}
impl ToSocketAddrs for (Ipv6Addr, u16) {}
impl Sealed for (Ipv6Addr, u16) {
    fn to_resolve(&self) -> Resolve {
        Resolve::Ready(Ok(vec![SocketAddr::new(self.0.into(), self.1)]))
    }
}
impl ToSocketAddrs for (&str, u16) {}
impl Sealed for (&str, u16) {
    fn to_resolve(&self) -> Resolve {
        host_port(self.0, self.1)
    }
}
impl ToSocketAddrs for (String, u16) {}
impl Sealed for (String, u16) {
    fn to_resolve(&self) -> Resolve {
        host_port(&self.0, self.1)
    }
}
impl ToSocketAddrs for str {}
impl Sealed for str {
    fn to_resolve(&self) -> Resolve {
        match self.parse::<SocketAddr>() {
            Ok(a) => Resolve::Ready(Ok(vec![a])),
            Err(_) => Resolve::Lookup(Lookup::Str(self.to_string())),
        }
    }
}
impl ToSocketAddrs for String {}
impl Sealed for String {
    fn to_resolve(&self) -> Resolve {
        self.as_str().to_resolve()
    }
}
impl ToSocketAddrs for [SocketAddr] {}
impl Sealed for [SocketAddr] {
    fn to_resolve(&self) -> Resolve {
        Resolve::Ready(Ok(self.to_vec()))
    }
}
impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrs + ?Sized> Sealed for &T {
    fn to_resolve(&self) -> Resolve {
        (**self).to_resolve()
    }
}

fn host_port(host: &str, port: u16) -> Resolve {
    match host.parse::<IpAddr>() {
        Ok(ip) => Resolve::Ready(Ok(vec![SocketAddr::new(ip, port)])),
        Err(_) => Resolve::Lookup(Lookup::HostPort(host.to_string(), port)),
    }
}
