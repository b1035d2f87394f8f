//! Collecting a [`crate::Dump`]: the registry's shards copied one at a
//! time, then each strand's atomics read (state, wait record, the workers'
//! running slots). Nothing here stops a worker or takes a lock a worker
//! holds for longer than a spawn does.

use super::handle::{Handle, Runtime};
use super::shared::Shared;
mod info;
pub use info::{Dump, StrandInfo, StrandState};

use crate::loom::Ordering;
use crate::strand::state::Phase;
use crate::strand::wait::elapsed;
use crate::strand::WaitKind;
use std::time::Instant;

/// The dump of `shared`'s runtime now.
pub(crate) fn collect(shared: &Shared) -> Dump {
    let t = Instant::now();
    let live = shared.registry.all();
    // (strand id, worker) for each worker running a strand
    let running: Vec<(u64, usize)> = shared
        .workers
        .iter()
        .enumerate()
        .map(|(i, w)| (w.watch_current.load(Ordering::Relaxed), i))
        .filter(|&(id, _)| id != 0)
        .collect();
    let mut strands: Vec<StrandInfo> = live
        .iter()
        .map(|s| {
            let id = s.id.as_u64();
            let phase = s.state.phase();
            let rec = s.wait.get();
            let recorded = rec.kind != WaitKind::Unknown;
            let state = match running.iter().find(|r| r.0 == id) {
                Some(&(_, w)) if phase == Phase::Active => StrandState::Running(w),
                _ => match phase {
                    Phase::Active => StrandState::Runnable,
                    Phase::Done => StrandState::Finished,
                    Phase::Parked if rec.kind == WaitKind::Sleep => StrandState::Sleeping,
                    Phase::Parked => StrandState::Parked,
                },
            };
            let parked = matches!(state, StrandState::Parked | StrandState::Sleeping);
            StrandInfo {
                id: s.id,
                name: s.name.as_deref().map(str::to_string),
                priority: s.priority,
                state,
                wait: (parked && recorded).then_some((rec.kind, rec.detail)),
                waited: (parked && recorded).then(|| elapsed(rec.since)),
                spawned_at: s.spawned_at,
                cancelled: s.is_cancelled(),
                switches: s.stats.switches(),
                times: shared.events.is_some().then(|| s.stats.times()),
            }
        })
        .collect();
    drop(live);
    strands.sort_unstable_by_key(StrandInfo::id);
    Dump {
        strands,
        workers: shared.base_workers + shared.watchdog.spares_running(),
        took: t.elapsed(),
    }
}

impl Handle {
    /// A dump of the runtime's live strands (see [`crate::dump`](mod@crate::dump)). Works
    /// from any thread, and never stops the workers.
    ///
    /// ```
    /// let rt = strands::Runtime::builder().workers(1).build().unwrap();
    /// let dump = rt.handle().dump();
    /// assert!(dump.strands().is_empty());
    /// ```
    pub fn dump(&self) -> Dump {
        collect(&self.shared)
    }
}

impl Runtime {
    /// A dump of the runtime's live strands (see [`crate::dump`](mod@crate::dump)), from any
    /// thread.
    ///
    /// ```
    /// let rt = strands::Runtime::builder().workers(1).build().unwrap();
    /// let h = rt.spawn(|| strands::sleep(std::time::Duration::from_secs(60)));
    /// while rt.dump().strands().iter().all(|s| s.state() != strands::dump::StrandState::Sleeping) {
    ///     std::thread::yield_now();
    /// }
    /// print!("{}", rt.dump());
    /// h.cancel();
    /// ```
    pub fn dump(&self) -> Dump {
        self.handle.dump()
    }
}
