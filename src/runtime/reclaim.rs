//! Giving back what an idle runtime holds: every reclaim interval
//! (`Builder::reclaim_after`, one second by default), the stack pool's
//! unused stacks (see `stack/pool/trim.rs`), and a nudge to idle workers:
//! one that ran no strand for a whole interval gives its stack cache back
//! (`Worker::reclaim_cache`), and an idle spare retires (see
//! `Worker::may_retire`).
//!
//! Nothing here is on the spawn path. The tick runs where the runtime
//! already looks at the clock: an idle worker waiting in the poller (whose
//! timeout also ends at the next tick while there is anything to reclaim)
//! and a busy worker's maintenance (`Shared::maintain`, every 61 picks),
//! which pays one load and one compare when no tick is due.

pub(super) mod state;

use super::shared::Shared;
use crate::loom::{fence, Ordering};
use std::time::Instant;

impl Shared {
    /// When an idle poller should wake for the next tick: only while there
    /// is something to reclaim (stacks returned since the last trim that
    /// found nothing more, stacks in workers' caches, spare workers
    /// running); so an idle runtime with nothing to give back sleeps.
    ///
    /// The poller's side of a Dekker pair with [`Shared::reclaim_nudge`]:
    /// with nothing to reclaim it disarms, fences, and looks again; a
    /// worker that made something reclaimable fences and looks at `armed`.
    /// One of the two sees the other, so the poller does not sleep without
    /// a deadline while something waits to be reclaimed.
    pub(crate) fn reclaim_deadline(&self) -> Option<Instant> {
        self.reclaim.after?;
        let mut want = self.reclaim_wanted();
        if !want {
            self.reclaim.armed.store(false, Ordering::Relaxed);
            fence(Ordering::SeqCst);
            want = self.reclaim_wanted();
        }
        if want {
            self.reclaim.armed.store(true, Ordering::Relaxed);
            self.reclaim.next()
        } else {
            None
        }
    }

    /// A worker about to go idle: if there is something to reclaim and a
    /// poller waits without a deadline for it, interrupts that wait (see
    /// [`Shared::reclaim_deadline`]). A fence and a few loads otherwise.
    ///
    /// Only a poller that holds the role can be waiting: with the role
    /// free, whoever takes it next (often this worker) computes its
    /// deadline with what is reclaimable then. (Notifying regardless made
    /// an idle worker's own next poll find the notification and return at
    /// once, and the worker nudge again: a busy loop of three system calls
    /// until the tick, about a CPU-second after every burst.)
    pub(crate) fn reclaim_nudge(&self) {
        if self.reclaim.after.is_none() {
            return;
        }
        fence(Ordering::SeqCst);
        if !self.reclaim.armed.load(Ordering::Relaxed)
            && self.driver.role_taken()
            && self.reclaim_wanted()
        {
            self.driver.notify();
        }
    }

    fn reclaim_wanted(&self) -> bool {
        self.pool.trim_pending() || self.idle_workers_hold_something()
    }

    fn idle_workers_hold_something(&self) -> bool {
        self.watchdog.spares_running() > 0 || self.stacks_in_caches() > 0
    }

    /// The reclaim tick, if one is due at `now`: trims the stack pool and
    /// wakes the idle workers so they look at their caches and (spares) at
    /// how long they have idled.
    pub(crate) fn reclaim(&self, now: Instant) {
        if !self.reclaim.claim(now) {
            return;
        }
        self.reclaim.ticks.fetch_add(1, Ordering::Relaxed);
        if self.pool.trim_pending() {
            self.pool.trim();
        }
        if self.idle_workers_hold_something() {
            for w in self.workers.iter() {
                w.idle.notify_if_idle(|| self.notify_poller());
            }
        }
    }
}
