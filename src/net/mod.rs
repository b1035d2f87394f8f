//! Networking with the shape of [`std::net`]: TCP and UDP sockets whose
//! blocking calls park the strand, not the worker.
//!
//! The methods mirror std's. Differences:
//!
//! - Read and write timeouts ([`TcpStream::set_read_timeout`], …) are
//!   kept by this crate (the sockets are non-blocking underneath) and
//!   honoured by parking with a deadline; an expired one answers
//!   [`io::ErrorKind::TimedOut`], where std on Unix answers `WouldBlock`
//!   (std's docs tell callers to accept both).
//! - `set_nonblocking(true)` is not offered: every socket is non-blocking
//!   underneath, and a call that would block parks instead.
//!
//! - Addresses are [`ToSocketAddrs`] values, this crate's trait: the same
//!   types as std's, but a host name (`"localhost:80"`) is resolved on the
//!   blocking pool while the strand parks, not on its worker; numeric
//!   addresses are used as they are.
//!
//! Sockets can be made on any thread and used from strands of any runtime
//! or from plain threads (see [`crate::io::Registered`]).

mod addr;
mod tcp;
mod udp;

pub use addr::{resolve, ToSocketAddrs};
pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;

use crate::loom::AtomicU64;
use std::io;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Read and write timeouts of a socket (shared by its `try_clone`s, as
/// `SO_RCVTIMEO` is by dup'd fds). Zero nanoseconds means none.
#[derive(Default, Debug)]
pub(crate) struct Timeouts {
    read: AtomicU64,
    write: AtomicU64,
}

impl Timeouts {
    fn slot(&self, write: bool) -> &AtomicU64 {
        if write {
            &self.write
        } else {
            &self.read
        }
    }

    /// Sets a timeout; `Some(0)` is refused with `InvalidInput`, as std
    /// does.
    pub(crate) fn set(&self, write: bool, t: Option<Duration>) -> io::Result<()> {
        let nanos = match t {
            Some(d) if d.is_zero() => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "cannot set a 0 duration timeout",
                ))
            }
            Some(d) => u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
            None => 0,
        };
        self.slot(write).store(nanos, Ordering::Relaxed);
        Ok(())
    }

    pub(crate) fn get(&self, write: bool) -> Option<Duration> {
        match self.slot(write).load(Ordering::Relaxed) {
            0 => None,
            n => Some(Duration::from_nanos(n)),
        }
    }

    /// The deadline for an operation starting now.
    #[inline]
    pub(crate) fn deadline(&self, write: bool) -> Option<Instant> {
        self.get(write).and_then(|d| Instant::now().checked_add(d))
    }
}

/// Tries `f` on every address `addr` resolves to ([`resolve`]: host names
/// off the worker); the last error if none works.
pub(crate) fn each_addr<A: ToSocketAddrs, T>(
    addr: A,
    mut f: impl FnMut(&std::net::SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for a in resolve(addr)? {
        match f(&a) {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any addresses",
        )
    }))
}

/// `Read`/`Write` for a stream type `$t` (and `&$t`) with fields
/// `inner: Registered<_>` and `timeouts: Arc<Timeouts>`, honouring the
/// timeouts.
macro_rules! stream_io {
    ($t:ty) => {
        const _: () = {
            impl ::std::io::Read for &$t {
                fn read(&mut self, buf: &mut [u8]) -> ::std::io::Result<usize> {
                    let d = self.timeouts.deadline(false);
                    let len = buf.len();
                    self.inner.stream_read_until(d, len, |mut s| s.read(buf))
                }
                fn read_vectored(
                    &mut self,
                    bufs: &mut [::std::io::IoSliceMut<'_>],
                ) -> ::std::io::Result<usize> {
                    let d = self.timeouts.deadline(false);
                    self.inner
                        .io_until($crate::io::Interest::Read, d, |mut s| s.read_vectored(bufs))
                }
            }
            impl ::std::io::Write for &$t {
                fn write(&mut self, buf: &[u8]) -> ::std::io::Result<usize> {
                    let d = self.timeouts.deadline(true);
                    self.inner
                        .io_until($crate::io::Interest::Write, d, |mut s| s.write(buf))
                }
                fn write_vectored(
                    &mut self,
                    bufs: &[::std::io::IoSlice<'_>],
                ) -> ::std::io::Result<usize> {
                    let d = self.timeouts.deadline(true);
                    self.inner
                        .io_until($crate::io::Interest::Write, d, |mut s| {
                            s.write_vectored(bufs)
                        })
                }
                fn flush(&mut self) -> ::std::io::Result<()> {
                    Ok(())
                }
            }
            impl ::std::io::Read for $t {
                fn read(&mut self, buf: &mut [u8]) -> ::std::io::Result<usize> {
                    (&*self).read(buf)
                }
                fn read_vectored(
                    &mut self,
                    bufs: &mut [::std::io::IoSliceMut<'_>],
                ) -> ::std::io::Result<usize> {
                    (&*self).read_vectored(bufs)
                }
            }
            impl ::std::io::Write for $t {
                fn write(&mut self, buf: &[u8]) -> ::std::io::Result<usize> {
                    (&*self).write(buf)
                }
                fn write_vectored(
                    &mut self,
                    bufs: &[::std::io::IoSlice<'_>],
                ) -> ::std::io::Result<usize> {
                    (&*self).write_vectored(bufs)
                }
                fn flush(&mut self) -> ::std::io::Result<()> {
                    Ok(())
                }
            }
            impl ::std::os::fd::AsFd for $t {
                fn as_fd(&self) -> ::std::os::fd::BorrowedFd<'_> {
                    self.inner.as_fd()
                }
            }
            impl ::std::os::fd::AsRawFd for $t {
                fn as_raw_fd(&self) -> ::std::os::fd::RawFd {
                    self.inner.as_raw_fd()
                }
            }
        };
    };
}
pub(crate) use stream_io;
