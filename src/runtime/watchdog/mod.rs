//! The stuck-worker watchdog: a monitor thread that notices a worker held
//! by one strand (a loop that never yields, a blocking system call) and
//! starts a spare worker so that the other strands are not held up.
//!
//! What a worker pays: on every switch into a strand it stores its switch
//! count and the strand's id, and after the strand switches out it stores
//! 0 (three relaxed stores to a cache line nobody else writes). The monitor
//! wakes every quarter threshold and compares: a worker whose count has not
//! moved while it runs a strand has been held since the monitor first saw
//! that count. Past the threshold it reports once per episode, on stderr
//! and to the hook, naming the strand and how long (at least) it has held
//! its worker.
//!
//! **Spares.** With spares enabled, a report also starts a spare worker (up
//! to the configured number running at once). A spare is an ordinary
//! worker: it serves the injectors, steals fresh strands (the stuck
//! worker's too) and takes the poller role when idle, so I/O and timers
//! keep flowing. What it cannot take are the strands that already
//! *started* on the stuck worker: they are pinned there (see the crate docs
//! on migration) and wait until it comes back. Strands that start on a
//! spare stay on it. A spare *retires* (its thread exits and its slot goes
//! back here, to be started again by a later report) once it has been idle
//! for a reclaim interval, no live strand is pinned to it, and no worker is
//! stuck now (`stuck_now`: episodes reported and not over).
//!
//! **Deadlocks.** The monitor also names strands that wait for each other
//! in a cycle of joins and `Mutex` / `RwLock` (write) holds, and a strand
//! waiting for a lock it holds (`deadlock.rs`).
//!
//! This file holds the reports and the state the runtime keeps;
//! `monitor.rs` the monitor thread and the spares it starts.

mod deadlock;
mod monitor;

pub(crate) use deadlock::TIMED_JOIN;
pub use deadlock::{Deadlock, DeadlockHook};

use super::agenda::Deques;
use crate::loom::os::{thread, Condvar, Mutex};
use crate::loom::process::{AtomicU64, AtomicUsize};
use crate::loom::{Arc, Ordering};
use crate::StrandId;
use std::fmt;
use std::time::Duration;

/// A report of a strand that has held its worker past the threshold.
///
/// ```
/// let rt = strands::Runtime::builder()
///     .on_stuck(|s: &strands::runtime::Stuck| eprintln!("held: {s}"))
///     .build()?;
/// # drop(rt);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Stuck {
    /// The worker's index.
    pub worker: usize,
    /// The strand.
    pub strand: StrandId,
    /// Its name, if it has one.
    pub name: Option<String>,
    /// How long it had held the worker when reported (at least).
    pub held_for: Duration,
    /// Whether a spare worker was started for it.
    pub spare_started: bool,
    /// Other live strands that started on the same worker: they are pinned
    /// to it (a started strand never moves, see the crate docs on
    /// migration), so a spare cannot run them, and they wait until the
    /// stuck strand yields or blocks.
    pub pinned_behind: usize,
}

impl fmt::Display for Stuck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "strand '{}' (id {}) has held worker {} for {} ms without yielding \
             (a hot loop or a blocking call?)",
            self.name.as_deref().unwrap_or("<unnamed>"),
            self.strand,
            self.worker,
            self.held_for.as_millis()
        )?;
        if self.spare_started {
            write!(
                f,
                "; started a spare worker for new strands, timers and I/O"
            )?;
        }
        if self.pinned_behind > 0 {
            write!(
                f,
                "; {} strand{} that started on worker {} cannot move and wait behind it \
                 (started strands stay on their worker: see the crate docs on migration; \
                 call strands::yield_now() in long loops)",
                self.pinned_behind,
                if self.pinned_behind == 1 { "" } else { "s" },
                self.worker
            )?;
        }
        Ok(())
    }
}

/// A function the watchdog calls with every report.
///
/// ```
/// let hook: strands::runtime::StuckHook = std::sync::Arc::new(|s| eprintln!("{s}"));
/// # drop(hook);
/// ```
pub type StuckHook = Arc<dyn Fn(&Stuck) + Send + Sync>;

/// The runtime's side of the watchdog.
pub(crate) struct Watchdog {
    threshold: Option<Duration>,
    hook: Option<StuckHook>,
    deadlock_hook: Option<DeadlockHook>,
    thread_name: String,
    /// Spare slots not started yet: (worker index, its deques).
    spares: Mutex<Vec<(usize, Deques)>>,
    spare_threads: Mutex<Vec<thread::JoinHandle<()>>>,
    /// Spare workers running now.
    spares_running: AtomicUsize,
    /// One past the highest worker index a spare ever ran at.
    slots_high: AtomicUsize,
    /// Workers reported stuck whose episode is not over.
    pub(super) stuck_now: AtomicUsize,
    reports: AtomicU64,
    stop: (Mutex<bool>, Condvar),
}

impl Watchdog {
    pub(crate) fn new(
        threshold: Option<Duration>,
        hook: Option<StuckHook>,
        deadlock_hook: Option<DeadlockHook>,
        thread_name: String,
        spares: Vec<(usize, Deques)>,
    ) -> Watchdog {
        Watchdog {
            threshold,
            hook,
            deadlock_hook,
            thread_name,
            spares: Mutex::new(spares),
            spare_threads: Mutex::new(Vec::new()),
            spares_running: AtomicUsize::new(0),
            slots_high: AtomicUsize::new(0),
            stuck_now: AtomicUsize::new(0),
            reports: AtomicU64::new(0),
            stop: (Mutex::new(false), Condvar::new()),
        }
    }

    /// Joins the spare workers started so far (at shutdown, once every
    /// strand is done; no spare starts after the monitor stopped).
    pub(crate) fn join_spares(&self) {
        let spares =
            std::mem::take(&mut *self.spare_threads.lock().unwrap_or_else(|e| e.into_inner()));
        for t in spares {
            let _ = t.join();
        }
    }

    /// The spare workers running now.
    pub(crate) fn spares_running(&self) -> usize {
        self.spares_running.load(Ordering::Relaxed)
    }

    /// One past the highest worker index a spare ever ran at (0: none).
    pub(crate) fn slots_high(&self) -> usize {
        self.slots_high.load(Ordering::Relaxed)
    }

    /// Whether some worker is held by a strand now (reported, and its
    /// episode not over): spares stay while one is.
    pub(crate) fn any_stuck(&self) -> bool {
        self.stuck_now.load(Ordering::Relaxed) > 0
    }

    /// A spare at worker `index` retires: its slot (with its deques, empty)
    /// goes back, to be started again by a later report (lowest index
    /// first).
    pub(crate) fn retire(&self, index: usize, deques: Deques) {
        let mut spares = self.spares.lock().unwrap_or_else(|e| e.into_inner());
        spares.push((index, deques));
        spares.sort_unstable_by_key(|s| std::cmp::Reverse(s.0)); // popped from the end
        self.spares_running.fetch_sub(1, Ordering::Relaxed);
    }

    /// Reports made so far.
    pub(crate) fn reports(&self) -> u64 {
        self.reports.load(Ordering::Relaxed)
    }

    /// Stops the monitor thread (at shutdown).
    pub(crate) fn stop(&self) {
        *self.stop.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.stop.1.notify_all();
    }

    /// Waits `d` unless stopped; returns whether it was stopped.
    pub(super) fn wait(&self, d: Duration) -> bool {
        let g = self.stop.0.lock().unwrap_or_else(|e| e.into_inner());
        if *g {
            return true;
        }
        let (g, _) = self
            .stop
            .1
            .wait_timeout(g, d)
            .unwrap_or_else(|e| e.into_inner());
        *g
    }
}
