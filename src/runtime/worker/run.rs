//! A worker's life: the loop ([`run_worker`]) and what an idle worker
//! gives back (its stack cache; a spare, its thread).

use super::{Action, Worker, MAINTAIN_EVERY, WORKER};
use crate::arch::RawContext;
use crate::loom::{Arc, Ordering};
use crate::runtime::agenda::{Deques, LocalQueues, PerPriority};
use crate::runtime::shared::Shared;
use crate::runtime::shared::WorkerShared;
use crate::stack::overflow::AltStack;
use std::cell::{Cell, RefCell, UnsafeCell};
use std::ptr;
use std::time::Instant;

/// Runs the worker loop on the current thread until the runtime shuts down
/// and no strand is left.
pub(crate) fn run_worker(shared: Arc<Shared>, index: usize, deques: Deques) {
    let _alt = AltStack::ensure();
    // counted by stop-the-world requests until this returns
    let _member = crate::runtime::stw::member::Member::join(&shared);
    // a spare started again in a slot goes on from the counts published
    // there (zero for a worker that never ran)
    let me = &shared.workers[index];
    let queues = LocalQueues::new(deques);
    for (cell, n) in queues.picks.iter().zip(me.picks.iter()) {
        cell.set(n.load(Ordering::Relaxed));
    }
    queues.steals.set(me.steals.load(Ordering::Relaxed));
    let worker = Worker {
        index,
        ctx: UnsafeCell::new(RawContext::empty()),
        running: UnsafeCell::new(None),
        action: Cell::new(Action::Yield),
        queues,
        stack_cache: RefCell::new(Vec::new()),
        switches: Cell::new(me.switches.load(Ordering::Relaxed)),
        parks: Cell::new(me.parks.load(Ordering::Relaxed)),
        finished: PerPriority::from_fn(|p| Cell::new(me.finished[p].load(Ordering::Relaxed))),
        spawned: PerPriority::from_fn(|p| Cell::new(me.spawned[p].load(Ordering::Relaxed))),
        ticks: Cell::new(0),
        cache_look: Cell::new((0, 0)),
        unwinding_out: Cell::new(0),
        spawns: Cell::new(0),
        progress: Cell::new(me.watch_seq.load(Ordering::Relaxed)),
        lone_seen: (0..shared.workers.len()).map(|_| Cell::new(None)).collect(),
        handed_off: Cell::new(None),
        slot: me as *const WorkerShared,
        mark: super::new_mark(),
        shared,
    };
    WORKER.with(|w| w.set(&worker));
    /// Unpublishes the worker however this frame is left.
    struct Unpublish;
    impl Drop for Unpublish {
        fn drop(&mut self) {
            let _ = WORKER.try_with(|w| w.set(ptr::null()));
        }
    }
    let unpublish = Unpublish;
    let spare = index >= worker.shared.base_workers;
    let mut idle_since: Option<Instant> = None;
    let retiring = loop {
        if worker.shared.stw.requested() {
            worker.shared.stw.halt(index); // between strand runs (stw.rs)
        }
        let ticks = worker.ticks.get() + 1;
        if ticks >= MAINTAIN_EVERY {
            worker.ticks.set(0);
            worker.shared.maintain();
        } else {
            worker.ticks.set(ticks);
        }
        if let Some(strand) = worker.next_strand() {
            idle_since = None;
            worker.run_strand(strand);
            if worker.switches.get().is_multiple_of(64) {
                worker.publish_metrics(); // and whenever the worker runs dry
            }
            continue;
        }
        worker.publish_metrics();
        if worker.shared.is_finished() {
            break false;
        }
        worker.reclaim_cache();
        worker.shared.reclaim_nudge();
        if spare && worker.idle_long_enough(&mut idle_since) && worker.may_retire() {
            break true;
        }
        crate::runtime::events::points::idle(&worker.shared, index, true);
        worker.shared.idle(index, || worker.has_work());
        crate::runtime::events::points::idle(&worker.shared, index, false);
    };
    // give the cached stacks back to the pool before the runtime unmaps it
    while worker.cached_stack().is_some() {}
    if retiring {
        drop(unpublish);
        let Worker { shared, queues, .. } = worker;
        shared.watchdog.retire(index, queues.into_deques());
        // it may have held the poller role last: another worker takes it
        shared.notify_idle();
        return;
    }
    // No strand is left and the workers are leaving: nobody polls the
    // driver again. Fds still registered with it move when next waited on
    // (their waiters now are woken to do so).
    worker.shared.driver.shut_down();
}

impl Worker {
    /// With nothing to do, once per reclaim tick: if no strand ran here
    /// since the previous tick this worker looked, gives its stack cache
    /// back to the pool with all pages released (cold, so the pool's next
    /// trim may unmap their slabs). A worker that runs strands keeps its
    /// cache: that is its working set. Costs one load when no tick passed.
    fn reclaim_cache(&self) {
        let tick = self.shared.reclaim.ticks();
        let (seen, switches) = self.cache_look.get();
        if tick == seen {
            return;
        }
        if switches == self.switches.get() {
            while let Some(mut stack) = self.cached_stack() {
                stack.release_all();
                // dropped: back to the pool
            }
        }
        self.cache_look.set((tick, self.switches.get()));
    }

    /// For a spare with nothing to do: whether it has been idle (since
    /// `since`, set now if unset) for a reclaim interval.
    fn idle_long_enough(&self, since: &mut Option<Instant>) -> bool {
        let Some(after) = self.shared.reclaim.after() else {
            return false;
        };
        let now = Instant::now();
        now.duration_since(*since.get_or_insert(now)) >= after
    }

    /// Whether this spare may retire: no worker is stuck now (the spare
    /// may be what keeps the others' strands going) and no live strand is
    /// pinned here (a parked one would be woken onto this worker's queue).
    /// Looks at every live strand: called once per reclaim interval by an
    /// idle spare only.
    fn may_retire(&self) -> bool {
        !self.shared.watchdog.any_stuck()
            && !self
                .shared
                .registry
                .all()
                .iter()
                .any(|s| s.home.load(Ordering::Relaxed) == self.index)
    }
}
