//! Where a strand goes when it becomes runnable: a fresh one
//! ([`Shared::submit`]) and a woken one (the runtime's [`Schedule`] impl,
//! which strand headers call through `Arc<dyn Schedule>`).
//!
//! A strand spawned on a worker of its runtime goes to that worker's fresh
//! deque (others may steal it); from outside, to the injector of its level,
//! or (with a deadline) to one worker's remote queue so that worker can
//! order it. A woken strand goes back to its home worker: straight onto its
//! queue when the waker runs there, else onto its remote queue.

use super::shared::Shared;
use super::worker::{with_worker, Worker};
use crate::loom::{Arc, Ordering};
use crate::strand::{Schedule, StrandRef};
use std::cell::Cell;

thread_local! {
    /// Set while this thread wakes strands in bulk ([`Shared::in_bulk`]):
    /// the wakes skip notifying their workers, which the bulk notifies
    /// once at its end.
    static BULK: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is waking strands in bulk. Out of line: wakes come
/// from strand code too, which may resume on another thread between two
/// of them (see `runtime::worker::this_worker`).
#[inline(never)]
fn in_bulk_here() -> bool {
    BULK.with(Cell::get)
}

impl Shared {
    /// Runs `f`, which wakes many strands from this thread (a shutdown
    /// cancelling every strand, every timer fired at once), then notifies
    /// every worker once. Without it each wake of a strand whose worker is
    /// idle notifies that worker, which runs the one strand and goes idle
    /// again before the next wake: two system calls per strand on each
    /// side. The notifies that `f` skips are the ones the final
    /// [`Shared::notify_all`] makes (same thread, after every push, so the
    /// idle handshake holds as for a late notify).
    pub(crate) fn in_bulk<R>(&self, f: impl FnOnce() -> R) -> R {
        /// Clears the flag and notifies, however `f` ends.
        struct End<'a>(&'a Shared, bool);
        impl Drop for End<'_> {
            fn drop(&mut self) {
                BULK.with(|b| b.set(self.1));
                self.0.notify_all();
            }
        }
        let outer = BULK.with(|b| b.replace(true));
        let _end = End(self, outer);
        f()
    }
}

impl Shared {
    /// Queues a fresh strand: on this worker if we are one of ours, else
    /// on the injector for any worker.
    pub(crate) fn submit(self: &Arc<Self>, strand: StrandRef, here: Option<&Worker>) {
        if let Some(w) = here {
            w.push_fresh(strand);
        } else if strand.deadline.is_some() {
            // A worker orders deadlines among the strands it holds: hand
            // the strand to one (by id, to spread them; not to a spare,
            // which may never start) instead of the injectors, which serve
            // in arrival order.
            let w = &self.workers[strand.id.as_u64() as usize % self.base_workers];
            w.remote.push(strand);
            w.idle.notify(|| self.notify_poller());
        } else {
            self.injectors[strand.priority].push(strand);
            self.notify_idle();
        }
    }
}

impl Schedule for Shared {
    fn schedule(&self, strand: StrandRef) {
        super::events::woken(self, &strand); // a branch without a hook
        let home = strand.home.load(Ordering::Relaxed);
        let mut strand = Some(strand);
        with_worker(|w| match w {
            Some(w)
                if std::ptr::eq(Arc::as_ptr(&w.shared), self)
                    && (w.index == home || strand.as_ref().is_some_and(|s| s.may_move())) =>
            {
                w.push_woken(strand.take().expect("once"));
            }
            _ => {}
        });
        if let Some(strand) = strand {
            // once pushed, the strand may run and finish on its worker, and
            // the runtime could end: kept alive until the notify
            // (`Schedule`'s contract)
            // SAFETY: every `Shared` lives in an `Arc` (`Builder::build`),
            // alive now: the strand is live until it runs.
            let _keep = unsafe {
                Arc::increment_strong_count(self as *const Shared);
                Arc::from_raw(self as *const Shared)
            };
            let w = &self.workers[home];
            w.remote.push(strand);
            // a busy worker drains its remote queue at its next pick; one
            // going idle checks it after announcing so (the Idle
            // handshake): only an idle one needs notifying, and during a
            // bulk of wakes, only once at its end
            if !in_bulk_here() {
                w.idle.notify_if_idle(|| self.notify_poller());
            }
        }
    }
}
