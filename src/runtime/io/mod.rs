//! The I/O driver: an epoll poller per runtime (`epoll.rs`), the
//! registrations of the fds strands wait on (`driver.rs`), and the
//! readiness protocol that makes a wait and an event meet (`readiness.rs`).
//!
//! Under `cfg(loom)` the driver is a stub with no poller and never a free
//! poller role (as tokio builds without its I/O stack for its models): the
//! models check the readiness protocol itself, which is built either way.

#[cfg(not(loom))]
mod driver;
#[cfg(not(loom))]
mod epoll;
pub(crate) mod readiness;

#[cfg(not(loom))]
pub(crate) use driver::{deaths, fallback, Driver, IoState, Registration};

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
