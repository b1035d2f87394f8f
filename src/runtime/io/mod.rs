//! The I/O driver: a poller per runtime, the registrations of the fds
//! strands wait on (`driver.rs`), and the readiness protocol that makes a
//! wait and an event meet (`readiness.rs`).
//!
//! **Two poller backends, one interface.** Only registering an fd and
//! waiting for events differ between systems, so only that is a backend:
//! a `Poller` (`new`, `add`, `delete`, `wait`, `notify`) and its `Events`
//! buffer (`with_capacity`, `iter` of [`Event`]s, `len`). Everything else --
//! the slab of registrations and its keys, the poller role, notify, timers,
//! drivers dying and registrations moving, the readiness protocol and its
//! loom models -- is shared, in `driver.rs` and `readiness.rs`.
//!
//! - `epoll.rs`: edge-triggered epoll with an eventfd, one system call per
//!   wait. The default on Linux (and Android).
//! - `polling.rs`: the `polling` crate (kqueue on macOS and the BSDs, epoll
//!   on Linux, event ports on illumos), edge-triggered. The only backend
//!   on every other Unix; chosen on Linux with the cargo feature
//!   `polling-driver`, so that the whole test suite runs on it here.
//!
//! `build.rs` picks one and announces it as `cfg(strands_epoll)` (absent:
//! the `polling` backend). docs/io.md compares the two.
//!
//! Under `cfg(loom)` the driver is a stub with no poller and never a free
//! poller role (as tokio builds without its I/O stack for its models): the
//! models check the readiness protocol itself, which is built either way.

#[cfg(not(loom))]
mod driver;
#[cfg(all(not(loom), strands_epoll))]
mod epoll;
#[cfg(all(not(loom), not(strands_epoll)))]
mod polling;
pub(crate) mod readiness;

#[cfg(all(not(loom), not(strands_epoll)))]
use self::polling as backend;
#[cfg(all(not(loom), strands_epoll))]
use epoll as backend;

#[cfg(not(loom))]
pub(crate) use driver::{deaths, fallback, Driver, IoState, Registration};

/// Which poller backend this build uses: `"epoll"` or `"polling"`.
#[cfg(not(loom))]
pub(crate) const BACKEND: &str = if cfg!(strands_epoll) {
    "epoll"
} else {
    "polling"
};

/// One event from a backend's `Events::iter`: the registration key and
/// which directions are ready (errors and hang-ups count as both).
#[cfg(not(loom))]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Event {
    pub(crate) key: u64,
    pub(crate) readable: bool,
    pub(crate) writable: bool,
    /// A hang-up (either side) or an error -- or, from a backend that
    /// cannot tell, possibly one (see `polling.rs`): it turns the
    /// direction's drained-stream hint off, which costs a system call, never
    /// a lost wake-up.
    pub(crate) closed: bool,
}

#[cfg(loom)]
pub(crate) use stub::Driver;

#[cfg(loom)]
mod stub {
    use std::io;
    use std::marker::PhantomData;
    use std::time::Duration;

    /// No poller: idle workers block, and nobody ever needs the role.
    pub(crate) struct Driver;

    /// Never handed out.
    pub(crate) struct Role<'a>(PhantomData<&'a ()>);

    impl Driver {
        pub(crate) fn new() -> io::Result<Driver> {
            Ok(Driver)
        }

        pub(crate) fn try_role(&self) -> Option<Role<'_>> {
            None
        }

        pub(crate) fn role_taken(&self) -> bool {
            false
        }

        pub(crate) fn role_vacant(&self) -> bool {
            false
        }

        pub(crate) fn has_registrations(&self) -> bool {
            false
        }

        pub(crate) fn notify(&self) {}

        pub(crate) fn shut_down(&self) {}
    }

    impl Role<'_> {
        pub(crate) fn poll(&mut self, _timeout: Option<Duration>) -> usize {
            0
        }
    }
}
