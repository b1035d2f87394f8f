//! Per-strand counters shown in dumps: switches into the strand (always
//! counted: a load and a store at each switch-in, on the header line the
//! switch writes anyway), and the time it spent running and parked,
//! measured only while its runtime observes (an event hook is set: a clock
//! read at each switch in and out).
//!
//! Written only by the strand's current owner (the worker switching it in
//! or out; ownership passes through the run queues and the state machine,
//! whose acquire/release edges order the accesses), read by dumps at any
//! time (each word on its own, like the wait record).

use crate::loom::process::AtomicU64;
use crate::loom::Ordering;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Set in `since` while the strand is parked (else it is running).
const PARKED: u64 = 1 << 63;

/// A strand's counters (a field of its header).
pub(crate) struct Stats {
    switches: AtomicU64,
    running_ns: AtomicU64,
    parked_ns: AtomicU64,
    /// When the current run or park began ([`now`]), `PARKED` set for a
    /// park; 0: not timed (yielded, or never observed).
    since: AtomicU64,
}

/// Nanoseconds since a process-wide epoch, never 0.
fn now() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64 + 1
}

/// Adds `d` to `cell` (single writer: a load and a store).
#[inline]
fn add(cell: &AtomicU64, d: u64) {
    cell.store(
        cell.load(Ordering::Relaxed).wrapping_add(d),
        Ordering::Relaxed,
    );
}

impl Stats {
    pub(crate) const fn new() -> Stats {
        Stats {
            switches: AtomicU64::new(0),
            running_ns: AtomicU64::new(0),
            parked_ns: AtomicU64::new(0),
            since: AtomicU64::new(0),
        }
    }

    /// The strand is switched in; `timed`: its runtime observes.
    #[inline]
    pub(crate) fn switched_in(&self, timed: bool) {
        add(&self.switches, 1);
        if timed {
            self.start_run();
        }
    }

    #[cold]
    fn start_run(&self) {
        let t = now();
        let s = self.since.load(Ordering::Relaxed);
        if s & PARKED != 0 {
            add(&self.parked_ns, t.saturating_sub(s & !PARKED));
        }
        self.since.store(t, Ordering::Relaxed);
    }

    /// The strand switched out, to park or to yield (timed runtimes only).
    pub(crate) fn switched_out(&self, parked: bool) {
        let t = now();
        let s = self.since.load(Ordering::Relaxed);
        if s != 0 && s & PARKED == 0 {
            add(&self.running_ns, t.saturating_sub(s));
        }
        self.since
            .store(if parked { t | PARKED } else { 0 }, Ordering::Relaxed);
    }

    /// Switches into the strand so far.
    pub(crate) fn switches(&self) -> u64 {
        self.switches.load(Ordering::Relaxed)
    }

    /// Time running and time parked so far (finished runs and parks only).
    pub(crate) fn times(&self) -> (Duration, Duration) {
        (
            Duration::from_nanos(self.running_ns.load(Ordering::Relaxed)),
            Duration::from_nanos(self.parked_ns.load(Ordering::Relaxed)),
        )
    }
}
