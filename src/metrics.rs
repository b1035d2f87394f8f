//! Runtime counters: [`Metrics`].

use crate::StackGuard;

/// A snapshot of a runtime's counters, from [`crate::Runtime::metrics`].
///
/// `finished`, `parks` and `steals` are published as they happen: once a
/// join returns, the joined strand is counted in `finished`. `switches`,
/// `picks` and `queue_depths` are published every 64 switches and whenever
/// a worker runs out of work, so on a busy runtime they may lag by up to 64
/// switches per worker.
///
/// ```
/// let rt = strands::Runtime::builder().workers(1).build().unwrap();
/// rt.block_on(|| strands::spawn(|| strands::yield_now()).join().unwrap());
/// let m = rt.metrics();
/// assert_eq!(m.spawned, 2); // block_on's strand and the one it spawned
/// assert_eq!(m.workers, 1);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Metrics {
    /// Number of worker threads running (spares the watchdog started and
    /// that have not retired included). The per-worker vectors below have
    /// one entry per worker slot ever used, retired spares' included.
    pub workers: usize,
    /// Spare workers the watchdog started that are running now (a spare
    /// retires after a reclaim interval idle: see
    /// [`Builder::reclaim_after`](crate::runtime::Builder::reclaim_after)).
    pub spare_workers: usize,
    /// Stuck strands the watchdog has reported.
    pub stuck_reports: u64,
    /// Strands spawned and not yet finished.
    pub live_strands: usize,
    /// Strands spawned since the runtime started.
    pub spawned: u64,
    /// The same, per priority (`[high, normal, low]`).
    pub spawned_by_priority: [u64; 3],
    /// Strands finished, per worker and per priority.
    pub finished: Vec<[u64; 3]>,
    /// Parks (waits that switched out) per worker.
    pub parks: Vec<u64>,
    /// Switches into strands, per worker.
    pub switches: Vec<u64>,
    /// Picks per worker and per priority (`[high, normal, low]`).
    pub picks: Vec<[u64; 3]>,
    /// Fresh strands each worker stole from another.
    pub steals: Vec<u64>,
    /// Strands waiting in each worker's own queues, per priority, as of its
    /// last pick.
    pub queue_depths: Vec<[usize; 3]>,
    /// Stacks in use by strands (and stack segments from [`crate::grow`]).
    pub stacks_live: usize,
    /// Stacks returned and kept for reuse.
    pub stacks_cached: usize,
    /// Of those, the ones that may still hold memory: the reclaim tick
    /// gives back the pages of stacks unused for a reclaim interval (they
    /// stay cached, cold, or go with their slab), so after an idle period
    /// only the workers' own caches (at most 64 stacks each) and the
    /// recent working set remain.
    pub stacks_warm: usize,
    /// Slabs (memory mappings) the stack pool has made.
    pub stack_slabs: usize,
    /// Address space the stack pool reserves, in bytes.
    pub stack_reserved_bytes: usize,
    /// The kind of guard protecting the stacks.
    pub stack_guard: StackGuard,
    /// Timers registered and not yet fired (sleeps, join timeouts).
    pub timers_pending: usize,
    /// Timers fired since the runtime started.
    pub timers_fired: u64,
}
