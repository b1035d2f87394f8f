//! Blocking-style I/O on any file descriptor, served by the runtime's I/O
//! driver.
//!
//! [`Registered`] wraps anything that owns a file descriptor (a pipe, a
//! socket, a terminal, an `OwnedFd`), puts it in non-blocking mode and
//! gives it `read`/`write` calls that *park the strand* instead of the
//! worker when the fd is not ready. [`stdin`] is a line reader on top of it.
//! The socket types of [`crate::net`] and [`crate::os::unix::net`] are built
//! the same way.

mod registered;
mod stdio;
mod wait;

pub use registered::Registered;
pub use stdio::{stdin, Stdin};

pub(crate) use wait::{poll_now, Interest};
