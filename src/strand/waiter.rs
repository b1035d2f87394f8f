//! Who to wake when something a strand or a thread waits for happens.
//!
//! The waiter for the code running now, and the blocking calls that wait
//! for a wake, belong to the runtime (`runtime::context::{waiter, block,
//! block_until}`): only it knows whether a strand runs here.

use super::StrandRef;
use crate::loom::thread;

/// A registered waiter: a strand (parked on its worker) or a plain thread
/// (parked with [`std::thread::park`]).
pub(crate) enum Waiter {
    Strand(StrandRef),
    Thread(thread::Thread),
}

impl Waiter {
    /// Wakes it (at most one push onto a run queue for a strand).
    pub(crate) fn wake(self) {
        match self {
            Waiter::Strand(s) => s.wake_owned(),
            Waiter::Thread(t) => t.unpark(),
        }
    }
}
