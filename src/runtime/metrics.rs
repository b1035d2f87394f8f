//! The snapshot behind [`Handle::metrics`] and [`Runtime::metrics`]: the
//! workers' published counters, the pool's and the timers' figures.
//!
//! [`Runtime::metrics`]: super::Runtime::metrics

use super::agenda::PerPriority;
use super::handle::Handle;
use crate::loom::{AtomicU64, Ordering};

/// Per-priority counters as the public `[high, normal, low]` array.
fn counts(c: &PerPriority<AtomicU64>) -> [u64; 3] {
    PerPriority::from_fn(|p| c[p].load(Ordering::Relaxed)).into_array()
}

impl Handle {
    /// Counters describing the runtime now.
    ///
    /// ```
    /// let rt = strands::Runtime::builder().workers(1).build()?;
    /// rt.block_on(|| ());
    /// let m = rt.handle().metrics();
    /// assert_eq!((m.workers, m.spawned), (1, 1));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn metrics(&self) -> crate::Metrics {
        let s = &self.shared;
        let pool = s.pool.stats();
        let (spares, reports) = (s.watchdog.spares_running(), s.watchdog.reports());
        // the slots of spares never started are not workers (yet); those
        // of retired spares keep their counts
        let active = &s.workers[..s.base_workers.max(s.watchdog.slots_high())];
        let spawned = s.spawned();
        let in_caches = s.stacks_in_caches();
        crate::Metrics {
            workers: s.base_workers + spares,
            live_strands: s.registry.live(),
            spawned: spawned.iter().sum(),
            spawned_by_priority: spawned.into_array(),
            finished: active.iter().map(|w| counts(&w.finished)).collect(),
            parks: active
                .iter()
                .map(|w| w.parks.load(Ordering::Relaxed))
                .collect(),
            switches: active
                .iter()
                .map(|w| w.switches.load(Ordering::Relaxed))
                .collect(),
            picks: active.iter().map(|w| counts(&w.picks)).collect(),
            steals: active
                .iter()
                .map(|w| w.steals.load(Ordering::Relaxed))
                .collect(),
            queue_depths: active
                .iter()
                .map(|w| PerPriority::from_fn(|p| w.depths[p].load(Ordering::Relaxed)).into_array())
                .collect(),
            spare_workers: spares,
            stuck_reports: reports,
            stacks_live: pool.live.saturating_sub(in_caches),
            stacks_cached: pool.cached + in_caches,
            stack_slabs: pool.slabs,
            stack_reserved_bytes: pool.reserved,
            stacks_warm: pool.warm + in_caches,
            stack_guard: s.pool.guard(),
            timers_pending: s.timers.len(),
            timers_fired: s.timers.fired.load(Ordering::Relaxed),
        }
    }
}
