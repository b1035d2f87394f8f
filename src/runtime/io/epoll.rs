//! A minimal edge-triggered epoll poller with an eventfd for wake-ups: the
//! default backend on Linux (the other is `polling.rs`; see `mod.rs`).
//!
//! The design named the `polling` crate, and the first version used it;
//! but `polling` 3 makes four system calls per `wait` on Linux (it re-arms
//! a timerfd and its notifier around every `epoll_wait`), and the idle
//! worker's wait sits on the path of every request/response exchange.
//! This one makes one. Counted with `perf stat` on the echo server, 100
//! connections x 1,000 round trips: 24k `epoll_pwait` + 24k
//! `timerfd_settime` + 49k `epoll_ctl` before, 46k `epoll_wait` and 200
//! `epoll_ctl` (the registrations) after; the round-trip rate did not
//! change beyond the noise of this shared 2-core machine.
//!
//! Timeouts have nanosecond precision through `epoll_pwait2` (Linux
//! 5.11+), so timers keep the accuracy they had with a timer thread; where
//! the kernel (or qemu-user) lacks it, they are rounded *up* to whole
//! milliseconds for `epoll_wait`, so a poller never wakes before a timer is
//! due (sleepers recheck the clock anyway).

use super::Event;
use crate::loom::{process, AtomicBool, Ordering};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// Whether `epoll_pwait2` works here (cleared on the first `ENOSYS`).
static PWAIT2: process::AtomicBool = process::AtomicBool::new(true);

/// The key the eventfd is registered under (never a slab key: those have
/// a generation below 2^31 in the high half).
const NOTIFY_KEY: u64 = u64::MAX;

/// A buffer for [`Poller::wait`].
pub(crate) struct Events {
    buf: Vec<libc::epoll_event>,
    len: usize,
}

impl Events {
    pub(crate) fn with_capacity(n: usize) -> Events {
        Events {
            buf: vec![libc::epoll_event { events: 0, u64: 0 }; n.max(1)],
            len: 0,
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.buf[..self.len]
            .iter()
            .filter(|e| e.u64 != NOTIFY_KEY)
            .map(|e| {
                let ev = e.events as i32;
                let err = ev & (libc::EPOLLERR | libc::EPOLLHUP) != 0;
                Event {
                    closed: err || ev & libc::EPOLLRDHUP != 0,
                    key: e.u64,
                    readable: err || ev & (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLPRI) != 0,
                    writable: err || ev & libc::EPOLLOUT != 0,
                }
            })
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

pub(crate) struct Poller {
    epoll: OwnedFd,
    eventfd: OwnedFd,
    notified: AtomicBool,
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

impl Poller {
    pub(crate) fn new() -> io::Result<Poller> {
        // SAFETY: plain system calls; the fds returned are owned below.
        let epoll = unsafe { OwnedFd::from_raw_fd(cvt(libc::epoll_create1(libc::EPOLL_CLOEXEC))?) };
        // SAFETY: as above.
        let eventfd = unsafe {
            OwnedFd::from_raw_fd(cvt(libc::eventfd(
                0,
                libc::EFD_CLOEXEC | libc::EFD_NONBLOCK,
            ))?)
        };
        let p = Poller {
            epoll,
            eventfd,
            notified: AtomicBool::new(false),
        };
        p.ctl(libc::EPOLL_CTL_ADD, p.eventfd.as_raw_fd(), NOTIFY_KEY)?;
        Ok(p)
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, key: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
            u64: key,
        };
        // SAFETY: a valid epoll fd and event struct; the kernel checks `fd`.
        cvt(unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut ev) }).map(drop)
    }

    /// Adds `fd` for both directions, edge-triggered, under `key`.
    pub(crate) fn add(&self, fd: RawFd, key: u64) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, key)
    }

    /// Removes `fd`.
    pub(crate) fn delete(&self, fd: RawFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd, 0)
    }

    /// Waits for events, at most `timeout` (rounded up to milliseconds;
    /// `None`: no limit). Returns early after [`Poller::notify`].
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        events.len = 0;
        let n = match timeout {
            Some(t) if !t.is_zero() && PWAIT2.load(Ordering::Relaxed) => {
                let ts = libc::timespec {
                    tv_sec: libc::time_t::try_from(t.as_secs()).unwrap_or(libc::time_t::MAX),
                    tv_nsec: t.subsec_nanos() as _,
                };
                // SAFETY: the buffer holds `buf.len()` events; `ts` is a
                // valid timespec; no signal mask.
                let n = unsafe {
                    libc::syscall(
                        libc::SYS_epoll_pwait2,
                        self.epoll.as_raw_fd(),
                        events.buf.as_mut_ptr(),
                        events.buf.len() as libc::c_int,
                        &ts as *const libc::timespec,
                        std::ptr::null::<libc::sigset_t>(),
                        std::mem::size_of::<libc::sigset_t>(),
                    )
                };
                if n < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS) {
                    PWAIT2.store(false, Ordering::Relaxed);
                    self.wait_ms(events, timeout)
                } else {
                    n as libc::c_int
                }
            }
            _ => self.wait_ms(events, timeout),
        };
        // a notify from here on writes to the eventfd again (one between
        // the wait's return and this store is not needed: the caller looks
        // for work and recomputes its timeout before it waits again)
        self.notified.store(false, Ordering::SeqCst);
        let n = cvt(n)? as usize;
        events.len = n;
        if events.buf[..n].iter().any(|e| e.u64 == NOTIFY_KEY) {
            let mut buf = [0u8; 8];
            // SAFETY: drains the eventfd's counter into a local buffer of
            // the size eventfd reads require.
            unsafe { libc::read(self.eventfd.as_raw_fd(), buf.as_mut_ptr().cast(), 8) };
        }
        Ok(n)
    }

    /// `epoll_wait` with the timeout rounded up to milliseconds.
    fn wait_ms(&self, events: &mut Events, timeout: Option<Duration>) -> libc::c_int {
        let ms = match timeout {
            None => -1,
            Some(t) => i32::try_from(t.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX),
        };
        // SAFETY: the buffer holds `buf.len()` events.
        unsafe {
            libc::epoll_wait(
                self.epoll.as_raw_fd(),
                events.buf.as_mut_ptr(),
                events.buf.len() as libc::c_int,
                ms,
            )
        }
    }

    /// Interrupts the current `wait`, or makes the next one return at once.
    pub(crate) fn notify(&self) -> io::Result<()> {
        if !self.notified.swap(true, Ordering::SeqCst) {
            let one = 1u64.to_ne_bytes();
            // SAFETY: writes 8 bytes from a local buffer to our eventfd.
            let r = unsafe { libc::write(self.eventfd.as_raw_fd(), one.as_ptr().cast(), 8) };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::WouldBlock {
                    return Err(e); // counter full (WouldBlock) still wakes
                }
            }
        }
        Ok(())
    }
}
