//! Admission of strands into a runtime, and its closing at shutdown.
//!
//! The count of live strands is kept by the registry's shards, under the
//! lock a spawn and a finish take anyway (`registry.rs`); the gate holds
//! what is global: the closed flag, the bound on live strands
//! (`max_strands`) and the wait of a shutdown for the last strand.
//!
//! **The bound.** The gate hands out *admissions* to the shards in blocks
//! ([`Gate::take`]), and a shard gives back what it holds beyond two blocks
//! ([`Gate::give`]): a spawn and a finish touch this shared counter once
//! per block, not twice per strand (each touch was a contended
//! read-modify-write). Admissions handed out never exceed the bound, and
//! every live strand holds one, so live strands never exceed it either.
//! When the gate has none left, a spawn collects the spare admissions of
//! every shard (`Registry::admit_exactly`, all shards locked) before it
//! answers `Saturated`.
//!
//! Two handshakes meet here, both between a spawner and a shutdown:
//!
//! - **spawn vs shutdown.** A spawner registers its strand and checks
//!   whether the runtime closed (`closed_under_shard_lock`) under the same
//!   registry shard lock; shutdown closes, then cancels every registered
//!   strand (taking each shard's lock in turn) and waits until no shard
//!   counts one. The shard lock orders the two: if the shutdown went
//!   through the shard first, its close happened before and the spawner
//!   sees it (and backs out, or cancels its own strand); otherwise the
//!   shutdown sees the strand (in the registry, and in the count it waits
//!   on). No strand slips past a shutdown uncancelled, and a spawn pays no
//!   fence for it.
//! - **finish vs shutdown.** A finish that empties its shard reads the
//!   closed flag under the shard's lock; the waiting shutdown closed before
//!   it read any shard, under those same locks. So either the shutdown's
//!   read of the shard comes after the finish (and sees it empty), or the
//!   finish comes after the shutdown's read (and sees the close, and wakes
//!   the shutdown, under the lock the shutdown checks and waits with).
//!
//! Model-checked with the real registry in `registry.rs`'s `loom_tests`.

use crate::loom::{AtomicBool, AtomicUsize, Condvar, Mutex, Ordering};
use std::time::Instant;

pub(crate) struct Gate {
    /// Admissions handed out to the registry's shards (each live strand
    /// holds one; a shard may hold a few spare).
    admitted: AtomicUsize,
    closed: AtomicBool,
    max: usize,
    drained: (Mutex<()>, Condvar),
}

/// The bound on live strands is reached.
#[derive(Debug)]
pub(crate) struct Full;

impl Gate {
    pub(crate) fn new(max: usize) -> Gate {
        Gate {
            admitted: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            max,
            drained: (Mutex::new(()), Condvar::new()),
        }
    }

    /// Hands out up to `want` admissions (fewer near the bound, none at
    /// it).
    pub(crate) fn take(&self, want: usize) -> usize {
        let mut granted = 0;
        let _ = self
            .admitted
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |a| {
                granted = want.min(self.max.saturating_sub(a));
                (granted > 0).then_some(a + granted)
            });
        granted
    }

    /// Takes back `n` admissions a shard no longer needs.
    pub(crate) fn give(&self, n: usize) {
        if n > 0 {
            self.admitted.fetch_sub(n, Ordering::Relaxed);
        }
    }

    /// Whether the runtime has closed, read under a registry shard's lock
    /// (see the module docs for why that suffices).
    pub(crate) fn closed_under_shard_lock(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Whether the runtime has closed (an early answer: spawners check
    /// again under the registry's lock).
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Closes the gate: every spawn after this one's registry check is
    /// refused. Returns whether it was already closed.
    pub(crate) fn close(&self) -> bool {
        self.closed.swap(true, Ordering::AcqRel)
    }

    /// Wakes a shutdown waiting in [`Gate::wait_drained`]: the caller
    /// emptied a shard after the close.
    pub(crate) fn notify_drained(&self) {
        let (lock, cv) = &self.drained;
        drop(lock.lock().unwrap_or_else(|e| e.into_inner()));
        cv.notify_all();
    }

    /// After [`Gate::close`]: waits until `live` (the registry's count,
    /// which reads every shard under its lock) says no strand is left, or
    /// until `deadline`. Returns whether it drained.
    pub(crate) fn wait_drained(&self, live: impl Fn() -> usize, deadline: Option<Instant>) -> bool {
        let (lock, cv) = &self.drained;
        let mut g = lock.lock().unwrap_or_else(|e| e.into_inner());
        while live() != 0 {
            g = match deadline {
                None => cv.wait(g).unwrap_or_else(|e| e.into_inner()),
                #[cfg(not(loom))]
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return false;
                    }
                    cv.wait_timeout(g, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                #[cfg(loom)]
                Some(_) => unreachable!("the models wait without a deadline"),
            };
        }
        true
    }
}
