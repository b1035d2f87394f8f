//! The reclaim tick's state, held by `Shared` (the tick itself is in
//! `reclaim.rs`, which reads `Shared`: kept apart so the two files do not
//! import each other).

use crate::loom::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// When the next reclaim tick is due.
pub(crate) struct Reclaim {
    pub(super) after: Option<Duration>,
    epoch: Instant,
    /// Milliseconds since `epoch` at which the next tick is due.
    next_ms: AtomicU64,
    /// Ticks so far (workers compare it to look at their caches once per
    /// tick).
    pub(super) ticks: AtomicU64,
    /// Whether the poller's last wait had the next tick as its timeout.
    /// A worker going idle with something to reclaim while it is not
    /// armed interrupts the poller's wait (`Shared::reclaim_nudge`).
    pub(super) armed: AtomicBool,
}

impl Reclaim {
    /// Ticks every `after` (`None`: never).
    pub(crate) fn new(after: Option<Duration>) -> Reclaim {
        Reclaim {
            after,
            epoch: Instant::now(),
            next_ms: AtomicU64::new(after.map_or(u64::MAX, millis)),
            ticks: AtomicU64::new(0),
            armed: AtomicBool::new(false),
        }
    }

    /// The interval, if reclaiming is on.
    pub(crate) fn after(&self) -> Option<Duration> {
        self.after
    }

    /// Whether a tick is due at `now`; if so, claims it (one caller wins)
    /// and schedules the next.
    pub(super) fn claim(&self, now: Instant) -> bool {
        let Some(after) = self.after else {
            return false;
        };
        let at = millis(now.saturating_duration_since(self.epoch));
        let next = self.next_ms.load(Ordering::Relaxed);
        at >= next
            && self
                .next_ms
                .compare_exchange(
                    next,
                    at.saturating_add(millis(after)),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    /// Ticks so far.
    pub(crate) fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::Relaxed)
    }

    pub(super) fn next(&self) -> Option<Instant> {
        self.after?;
        let ms = self.next_ms.load(Ordering::Relaxed);
        self.epoch.checked_add(Duration::from_millis(ms))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
