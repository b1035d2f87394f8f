//! The `polling` backend: the same `Poller` and `Events` as `epoll.rs`,
//! on the `polling` crate -- kqueue on macOS and the BSDs, event ports on
//! illumos, epoll on Linux (where the cargo feature `polling-driver` picks
//! it, so the test suite runs on it here).
//!
//! Every fd is added once for both directions in `PollMode::Edge` (kqueue's
//! `EV_CLEAR`, epoll's `EPOLLET`), as the epoll backend does: the readiness
//! protocol needs an event per change to "ready", no more. A system whose
//! `polling` backend has no edge mode (plain `poll(2)`) is refused when the
//! driver starts.
//!
//! **What it cannot tell.** `polling` reports no hang-up on kqueue at all
//! (`EV_EOF` only turns a read event into "readable and writable"), and on
//! epoll it does not ask for `EPOLLRDHUP`, so a peer's close looks like
//! plain data. The driver needs to know, though: after a short read it
//! skips the next `read` and waits for the next event (the drained-stream
//! hint in `readiness.rs`), and an edge-triggered poller reports a
//! close that came with the last data only once. So every event from this
//! backend says `closed`, which turns the hint off for that fd: a stream
//! read pays the `read` that answers `WouldBlock` before it waits, and no
//! close is ever missed. (docs/io.md measures what that and `polling`'s
//! own extra system calls cost on Linux.)
//!
//! Keys are the driver's 64-bit slab keys, passed as `usize`: this backend
//! needs 64-bit pointers (every target with an assembly switch has them).

use super::Event;
use polling::PollMode;
use std::io;
use std::num::NonZeroUsize;
use std::os::fd::{BorrowedFd, RawFd};
use std::time::Duration;

#[cfg(not(target_pointer_width = "64"))]
compile_error!(
    "the `polling` I/O backend keys registrations by 64-bit slab keys and needs a 64-bit target"
);

/// A buffer for [`Poller::wait`].
pub(crate) struct Events {
    inner: polling::Events,
}

impl Events {
    pub(crate) fn with_capacity(n: usize) -> Events {
        Events {
            inner: polling::Events::with_capacity(
                NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN),
            ),
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        // `polling` leaves its own notification out of the list
        self.inner.iter().map(|e| Event {
            key: e.key as u64,
            readable: e.readable,
            writable: e.writable,
            closed: true, // cannot tell: see the module docs
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.inner.len()
    }
}

pub(crate) struct Poller {
    poller: polling::Poller,
}

impl Poller {
    pub(crate) fn new() -> io::Result<Poller> {
        let poller = polling::Poller::new()?;
        if !poller.supports_edge() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "strands: the `polling` backend of this system has no edge-triggered mode",
            ));
        }
        Ok(Poller { poller })
    }

    /// Adds `fd` for both directions, edge-triggered, under `key`.
    pub(crate) fn add(&self, fd: RawFd, key: u64) -> io::Result<()> {
        // never `usize::MAX` (reserved by `polling`): the high half of a
        // slab key is a generation below 2^31
        let key = usize::try_from(key).map_err(io::Error::other)?;
        // SAFETY: `polling` requires the fd to stay open until it is
        // deleted. The driver's `Registration` owns this registration, is
        // owned by the wrapper that owns the fd, and deletes the fd in its
        // `Drop`, before the fd is closed.
        unsafe {
            self.poller
                .add_with_mode(fd, polling::Event::all(key), PollMode::Edge)
        }
    }

    /// Removes `fd`.
    pub(crate) fn delete(&self, fd: RawFd) -> io::Result<()> {
        // SAFETY: called from `Registration::drop`, while the fd that was
        // added is still open (see `add`); the borrow ends with the call.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        self.poller.delete(fd)
    }

    /// Waits for events, at most `timeout` (`None`: no limit). Returns
    /// early after [`Poller::notify`]. `polling` retries an interrupted
    /// wait itself, with the time left.
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        events.inner.clear();
        // the caller holds the driver's poller role, so this is the only
        // thread in `wait` (`polling` would answer 0 events to a second one)
        self.poller.wait(&mut events.inner, timeout)
    }

    /// Interrupts the current `wait`, or makes the next one return at once.
    pub(crate) fn notify(&self) -> io::Result<()> {
        self.poller.notify()
    }
}
