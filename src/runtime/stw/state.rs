//! A runtime's stop-the-world state ([`Stw`]), held by `Shared`: the
//! request flag the workers read between strand runs, the members and
//! halted counts, and the protocol's steps on them (a worker halting, a
//! member joining or leaving, a stop released). The protocol is described
//! in `stw.rs`, which makes the requests; this file imports nothing of the
//! runtime, so `shared.rs` can hold it.

use crate::loom::os::{Condvar, Mutex};
use crate::loom::process::AtomicBool;
use crate::loom::Ordering;
use std::thread::ThreadId;

/// A runtime's stop-the-world state.
pub(crate) struct Stw {
    /// Set while a stop is requested or in force; read by every worker
    /// between strand runs.
    pub(super) requested: AtomicBool,
    pub(super) state: Mutex<State>,
    /// A worker halted or a member left (the requester waits on it).
    pub(super) changed: Condvar,
    /// A stop ended (halted workers and queued requesters wait on it).
    pub(super) released: Condvar,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) requested: bool,
    /// Worker threads in their loop.
    pub(super) members: usize,
    /// Worker threads stopped: halted between strand runs, or requesters
    /// on a worker thread waiting for their turn.
    pub(super) halted: usize,
    /// The thread running the closure now (nested requests are refused).
    pub(super) owner: Option<ThreadId>,
    /// The worker whose strand (or hook) requested the stop now, if any.
    pub(super) owner_worker: Option<usize>,
}

impl Stw {
    pub(crate) fn new() -> Stw {
        Stw {
            requested: AtomicBool::new(false),
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            released: Condvar::new(),
        }
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a stop is requested (a worker halts at its next loop turn).
    #[inline]
    pub(crate) fn requested(&self) -> bool {
        self.requested.load(Ordering::Relaxed)
    }

    /// Worker `index` halts here, between strand runs, until the stop
    /// ends. Called when [`Stw::requested`] said so.
    #[cold]
    pub(crate) fn halt(&self, index: usize) {
        let mut st = self.lock();
        if !st.requested {
            return;
        }
        if st.owner_worker == Some(index) {
            // the requesting strand switched out inside its closure: no
            // strand can run until the closure returns, so it never will
            crate::abort::abort_with(
                "stop_the_world: the closure yielded, parked or waited for a strand \
                 (no strand runs while the world is stopped)",
            );
        }
        st.halted += 1;
        self.changed.notify_all();
        while st.requested {
            st = self.released.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        st.halted -= 1;
    }

    /// A worker thread enters its loop (see `Member`, `member.rs`).
    pub(super) fn join(&self) {
        self.lock().members += 1;
    }

    /// A worker thread leaves its loop.
    pub(super) fn leave(&self) {
        self.lock().members -= 1;
        self.changed.notify_all();
    }

    /// Ends the stop in force.
    pub(super) fn release(&self) {
        let mut st = self.lock();
        st.requested = false;
        st.owner = None;
        st.owner_worker = None;
        self.requested.store(false, Ordering::SeqCst);
        drop(st);
        self.released.notify_all();
    }
}
