//! Who to wake when something a strand or a thread waits for happens.

use super::Task;
use crate::loom::thread;
use crate::runtime::worker;

/// A registered waiter: a strand (parked on its worker) or a plain thread
/// (parked with [`std::thread::park`]).
pub(crate) enum Waiter {
    Strand(Task),
    Thread(thread::Thread),
}

impl Waiter {
    /// The waiter for the code running now. A strand that may not switch
    /// (it is unwinding) blocks its worker thread instead, so then the
    /// thread is what must be woken.
    pub(crate) fn current() -> Waiter {
        match worker::current_task() {
            Some(t) if worker::may_switch() => Waiter::Strand(t),
            _ => Waiter::Thread(thread::current()),
        }
    }

    /// Wakes it (at most one push onto a run queue for a strand).
    pub(crate) fn wake(self) {
        match self {
            Waiter::Strand(t) => t.wake(),
            Waiter::Thread(t) => t.unpark(),
        }
    }
}

/// Blocks the caller until some waker registered with [`Waiter::current`]
/// wakes it, or spuriously: callers wait in a loop on their condition.
/// In a strand, a cancellation unwinds from here (see
/// [`worker::park_current`]).
pub(crate) fn block() {
    block_with(true);
}

/// [`block`], optionally not a cancellation point (for waits that must
/// complete for soundness, like a scope waiting for its strands).
pub(crate) fn block_with(cancellable: bool) {
    if !worker::park_current_with(cancellable) {
        thread::park();
    }
}

/// Like [`block`] but gives up at `deadline` (the caller rechecks the time).
pub(crate) fn block_until(deadline: std::time::Instant) {
    if worker::current_task().is_some() && worker::may_switch() {
        crate::runtime::timer::park_until(deadline);
    } else {
        let now = std::time::Instant::now();
        if deadline > now {
            #[cfg(not(loom))]
            thread::park_timeout(deadline - now);
            #[cfg(loom)]
            thread::yield_now(); // loom has no timed park; callers loop
        }
    }
}
