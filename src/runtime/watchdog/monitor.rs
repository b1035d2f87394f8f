//! The watchdog's monitor thread: compares each worker's switch count
//! every quarter threshold, reports a strand that held its worker past the
//! threshold, and starts a spare worker for it.

use super::{deadlock, Stuck, Watchdog};
use crate::loom::os::thread;
use crate::loom::{Arc, Ordering, Weak};
use crate::runtime::shared::Shared;
use crate::runtime::worker;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// How often, at most, the monitor looks for deadlocks (only while some
/// strand waits in a join: see `deadlock.rs`).
const DEADLOCK_CHECK_EVERY: Duration = Duration::from_secs(1);

impl Watchdog {
    /// Starts the monitor thread, if the watchdog is on.
    pub(crate) fn start(shared: &Arc<Shared>) -> std::io::Result<Option<thread::JoinHandle<()>>> {
        let Some(threshold) = shared.watchdog.threshold else {
            return Ok(None);
        };
        let weak = Arc::downgrade(shared);
        let name = format!("{}-watchdog", shared.watchdog.thread_name);
        thread::Builder::new()
            .name(name)
            .spawn(move || monitor(weak, threshold))
            .map(Some)
    }
}

/// What the monitor remembers of one worker.
#[derive(Clone, Copy)]
struct Seen {
    seq: u64,
    since: Instant,
    reported: bool,
}

fn monitor(weak: Weak<Shared>, threshold: Duration) {
    let tick = (threshold / 4).max(Duration::from_millis(1));
    let mut seen: Vec<Option<Seen>> = Vec::new();
    let mut last_deadlock_check = Instant::now();
    let mut deadlocks = HashSet::new();
    loop {
        let Some(shared) = weak.upgrade() else { return };
        if shared.watchdog.wait(tick) || shared.is_finished() {
            return;
        }
        let now = Instant::now();
        if now.duration_since(last_deadlock_check) >= DEADLOCK_CHECK_EVERY
            && deadlock::worth_checking(&shared)
        {
            last_deadlock_check = now;
            let hook = shared.watchdog.deadlock_hook.as_ref();
            deadlock::check(&shared.registry, threshold, hook, &mut deadlocks);
        }
        seen.resize(shared.workers.len(), None);
        for (i, w) in shared.workers.iter().enumerate() {
            let (seq, current) = (
                w.watch_seq.load(Ordering::Relaxed),
                w.watch_current.load(Ordering::Relaxed),
            );
            let s = match seen[i] {
                Some(s) if current != 0 && s.seq == seq => s,
                old => {
                    if old.is_some_and(|s| s.reported) {
                        // the episode is over
                        shared.watchdog.stuck_now.fetch_sub(1, Ordering::Relaxed);
                    }
                    seen[i] = Some(Seen {
                        seq,
                        since: now,
                        reported: false,
                    });
                    continue;
                }
            };
            let held = now.duration_since(s.since);
            if !s.reported && held >= threshold {
                seen[i] = Some(Seen {
                    reported: true,
                    ..s
                });
                report(&shared, i, current, held);
            }
        }
    }
}

fn report(shared: &Arc<Shared>, worker: usize, id: u64, held_for: Duration) {
    let wd = &shared.watchdog;
    wd.reports.fetch_add(1, Ordering::Relaxed);
    wd.stuck_now.fetch_add(1, Ordering::Relaxed);
    let live = shared.registry.all();
    let name = live
        .iter()
        .find(|s| s.id.as_u64() == id)
        .and_then(|s| s.name.as_deref().map(str::to_string));
    // strands that started on this worker: pinned to it, they wait
    let pinned_behind = live
        .iter()
        .filter(|s| s.id.as_u64() != id && s.home.load(Ordering::Relaxed) == worker)
        .count();
    drop(live);
    let spare = wd.spares.lock().unwrap_or_else(|e| e.into_inner()).pop();
    let mut spare_started = false;
    if let Some((index, deques)) = spare {
        let s = Arc::clone(shared);
        // counted before it runs: it may retire (and uncount itself) early
        wd.spares_running.fetch_add(1, Ordering::Relaxed);
        let t = thread::Builder::new()
            .name(format!("{}-spare-{index}", wd.thread_name))
            .spawn(move || worker::run_worker(s, index, deques));
        match t {
            Ok(t) => {
                let mut threads = wd.spare_threads.lock().unwrap_or_else(|e| e.into_inner());
                threads.retain(|t| !t.is_finished()); // retired spares
                threads.push(t);
                wd.slots_high.fetch_max(index + 1, Ordering::Relaxed);
                spare_started = true;
            }
            Err(_) => {
                // the slot's deques went with the closure: it stays unused
                wd.spares_running.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
    let Some(strand) = crate::strand::StrandId::from_u64(id) else {
        return;
    };
    let stuck = Stuck {
        worker,
        strand,
        name,
        held_for,
        spare_started,
        pinned_behind,
    };
    eprintln!("strands watchdog: {stuck}");
    crate::runtime::events::points::emit(shared, || crate::Event::Stuck(&stuck));
    if let Some(hook) = &wd.hook {
        hook(&stuck);
    }
}
