//! A worker thread: runs strands from its queues, one at a time.
//!
//! A strand that parks or finishes switches back to the worker's own
//! context, which carries out what the strand asked for (its [`Action`])
//! *after* the switch has completed (rule 1 of [`crate::strand::state`]) and
//! then switches into the next runnable strand. A yield goes straight to
//! the next strand of the worker's own queues when there is one
//! ([`Worker::yield_direct`]), otherwise through the worker too.
//!
//! What a worker serves, in order: its own queues by the agenda (see
//! [`super::agenda`]), after moving in the strands woken for it on other
//! threads (its remote queue); then the runtime's injectors (fresh strands
//! spawned from outside); then other workers' stealable strands, a batch at
//! a time. With nothing to do it goes idle until it is notified (no
//! spinning; see [`Shared::idle`]).
//!
//! Strand code reaches its worker only through [`super::context`].

use super::agenda::{LocalQueues, PerPriority, Stealers};
use super::shared::{Shared, WorkerShared};
use crate::arch::RawContext;
use crate::loom::{Arc, Ordering};
use crate::stack::Stack;

use crate::strand::StrandRef;
use std::cell::{Cell, RefCell, UnsafeCell};
use std::ptr;
use std::time::{Duration, Instant};

/// Spawns a strand makes in a row (without switching out) per slice,
/// about 0.3 ms of spawning. A loop of spawns is progress, not a stuck
/// strand: at each slice the worker tells the watchdog so, and if strands
/// that can run only on this worker wait (started or dated ones; fresh ones
/// may be stolen), the spawn path yields to let them run.
const SPAWN_SLICE: u32 = 1024;

/// Most stacks a worker keeps for reuse.
const STACK_CACHE: usize = 64;

/// Every this many picks a busy worker fires due timers and polls for I/O
/// (`Shared::maintain`); a prime, so it does not fall into step with the
/// agenda's 4- and 16-pick cycles.
const MAINTAIN_EVERY: u32 = 61;

/// What a strand asked for when it switched back to its worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Run me again later.
    Yield,
    /// I wait for a wake (see `strand::state`).
    Park,
    /// I am finished; free my stack.
    Done,
}

/// Thread-local state of one worker thread.
pub(crate) struct Worker {
    pub(crate) shared: Arc<Shared>,
    pub(crate) index: usize,
    /// The worker's own context, saved while a strand runs.
    ctx: UnsafeCell<RawContext>,
    /// The strand running now. Reached only through [`Worker::running`],
    /// [`Worker::take_running`] and [`Worker::set_running`].
    running: UnsafeCell<Option<StrandRef>>,
    action: Cell<Action>,
    queues: LocalQueues,
    /// Stacks of the default size kept by this worker for its next spawns,
    /// so that most spawns and exits skip the pool's lock.
    stack_cache: RefCell<Vec<Stack>>,
    /// Switches into strands, published to metrics.
    switches: Cell<u64>,
    /// Parks of strands on this worker, published to metrics.
    parks: Cell<u64>,
    /// Strands finished on this worker, per priority, published to metrics.
    finished: PerPriority<Cell<u64>>,
    /// Strands spawned by strands of this worker, per priority, published
    /// at once.
    pub(crate) spawned: PerPriority<Cell<u64>>,
    /// Picks since the last `Shared::maintain` (direct yields included).
    ticks: Cell<u32>,
    /// The reclaim tick and the switch count when this worker last looked
    /// at its cache (`reclaim_cache`).
    cache_look: Cell<(u64, u64)>,
    /// Strands of this worker that are not running and are unwinding
    /// (switched out mid-unwind): while there are any, this thread's
    /// `std::thread::panicking()` is true whatever the running strand does.
    unwinding_out: Cell<usize>,
    /// Spawns made by the running strand since it was switched in (or
    /// since its last slice).
    spawns: Cell<u32>,
    /// Progress seen by the watchdog: bumped at every switch into a strand
    /// and every slice of spawns.
    progress: Cell<u64>,
    /// Per other worker: its progress and the time when this worker, idle,
    /// first saw a lone strand in its deques (see [`Worker::worth_stealing`]).
    lone_seen: Box<[Cell<Option<LoneSeen>>]>,
    /// A finished strand that switched straight to its joiner (pinned to
    /// this worker), retired by the joiner as it resumes.
    handed_off: Cell<Option<StrandRef>>,
    /// `&shared.workers[index]`, looked up once (see [`Worker::slot`]).
    slot: *const WorkerShared,
    /// See [`Worker::mark`].
    mark: u32,
}

/// The next worker's mark (see [`Worker::mark`]).
static NEXT_MARK: crate::loom::process::AtomicU32 = crate::loom::process::AtomicU32::new(1);

/// A mark for a worker starting now.
fn new_mark() -> u32 {
    NEXT_MARK
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |m| m.checked_add(1))
        .unwrap_or(0)
}

/// Another worker's progress when a lone strand was first seen in its
/// deques, and when.
type LoneSeen = (u64, Instant);

/// How long a lone fresh strand may wait for its own worker before an idle
/// one takes it, while its worker makes no progress (switches into no
/// strand). Go's scheduler gives a spawned goroutine's own processor about
/// as long before another steals it (its `runnext`).
const LONE_GRACE: Duration = Duration::from_micros(5);

mod run;
mod switch;
pub(crate) use run::run_worker;

thread_local! {
    /// The worker this thread is, or null.
    static WORKER: Cell<*const Worker> = const { Cell::new(ptr::null()) };
}

/// Runs `f` with the worker of this thread, if it is one.
#[inline]
pub(crate) fn with_worker<R>(f: impl FnOnce(Option<&Worker>) -> R) -> R {
    let w = this_worker();
    // SAFETY: a non-null WORKER points to the worker living on this thread's
    // stack frame in `run_worker`, for as long as it is published.
    f(unsafe { w.as_ref() })
}

/// This thread's worker (null if none). Out of line on purpose: a
/// migratable strand can resume on another thread, and the compiler takes a
/// thread-local's address as fixed within a function, so an inlined lookup
/// before a switch could be reused after it and name the old thread's
/// worker (a strand would then switch out through another thread's worker).
/// A call of its own computes the address on the thread that calls it.
#[inline(never)]
fn this_worker() -> *const Worker {
    WORKER.try_with(|w| w.get()).unwrap_or(ptr::null())
}

// The `running` slot. One argument covers the three accessors: the slot is
// touched only on this worker's thread (the worker is not `Sync` and lives
// in `run_worker`'s frame), and at any moment by exactly one of two parties
// that never run at once -- the worker loop, or the strand it switched
// into, which runs while the loop is suspended inside `arch::switch`. No
// reference into the slot is kept across a switch.
impl Worker {
    /// The strand running on this worker, if any.
    #[inline]
    pub(crate) fn running(&self) -> Option<&StrandRef> {
        // SAFETY: see the comment above this block; the borrow ends before
        // the caller can switch (it borrows `self`, which a strand drops
        // before it switches: see `context`).
        unsafe { (*self.running.get()).as_ref() }
    }

    /// Takes the running strand out of the slot (it stopped running, or is
    /// handing over to another one).
    #[inline]
    fn take_running(&self) -> Option<StrandRef> {
        // SAFETY: see the comment above this block.
        unsafe { (*self.running.get()).take() }
    }

    /// Makes `strand` the running one (the slot was emptied first).
    #[inline]
    fn set_running(&self, strand: StrandRef) {
        // SAFETY: see the comment above this block.
        unsafe { *self.running.get() = Some(strand) };
    }
}

impl Worker {
    /// This worker's slot in the runtime's shared state (counters others
    /// read, its remote queue): one load, where indexing the runtime's
    /// slice cost a bounds check and two loads at each of a dozen uses
    /// per spawn + join.
    #[inline]
    pub(crate) fn slot(&self) -> &WorkerShared {
        // SAFETY: `slot` points into `self.shared.workers`, a boxed slice
        // that the `Arc` this worker holds keeps alive and never moves.
        unsafe { &*self.slot }
    }

    /// This worker's mark: a number no other worker of the process ever
    /// had (0 once the numbers run out: then it offers no hand-off). See
    /// `JoinSlot::install`.
    #[inline]
    pub(crate) fn mark(&self) -> u32 {
        self.mark
    }

    /// Pushes a strand that lives on this worker (started here) back onto
    /// its queue.
    pub(crate) fn push_local(&self, strand: StrandRef) {
        let stealable = self.queues.push_started(strand);
        self.pushed(stealable);
    }

    /// Pushes a strand of this worker woken on this thread: it runs next
    /// (see `LocalQueues::push_woken`).
    pub(crate) fn push_woken(&self, strand: StrandRef) {
        let stealable = self.queues.push_woken(strand);
        self.pushed(stealable);
    }

    /// Pushes a strand of this worker that yielded (see
    /// `LocalQueues::push_yielded`).
    fn push_yielded(&self, strand: StrandRef) {
        let stealable = self.queues.push_yielded(strand);
        self.pushed(stealable);
    }

    fn pushed(&self, stealable: bool) {
        if stealable && self.queues.depths().iter().sum::<usize>() > 1 {
            // a migratable strand waits behind others: another worker may
            // take it
            self.shared.notify_idle();
        }
    }

    /// Pushes a fresh strand spawned on this worker; notifies an idle
    /// worker to steal when more than one waits (one is this worker's own
    /// next pick: waking a thread for it would only cost a context switch).
    pub(crate) fn push_fresh(&self, strand: StrandRef) {
        if self.queues.push_fresh(strand) > 1 {
            self.shared.notify_idle();
        }
    }

    /// Moves strands woken on other threads into the local queues.
    fn drain_remote(&self) {
        let me = self.slot();
        while !me.remote.is_empty() {
            match me.remote.steal() {
                crossbeam_deque::Steal::Success(s) => self.push_local(s),
                crossbeam_deque::Steal::Empty => break,
                crossbeam_deque::Steal::Retry => {}
            }
        }
    }

    /// Counts a park on this worker, published at once (a plain store to
    /// this worker's line).
    fn count_park(&self) {
        self.parks.set(self.parks.get() + 1);
        self.slot().parks.store(self.parks.get(), Ordering::Relaxed);
    }

    fn next_strand(&self) -> Option<StrandRef> {
        self.drain_remote();
        if self.ticks.get() == 0 && self.shared.has_injected() {
            // once per maintenance round (every MAINTAIN_EVERY picks, direct
            // switches included), the injectors first: strands spawned from
            // outside start even while the local queues never run dry (as
            // Go's scheduler looks at its global queue every 61 ticks)
            if let Some(s) = self.queues.take_injected(&self.shared.injectors) {
                super::events::points::stolen(&self.shared, Some(&s), self.index);
                return Some(s);
            }
        }
        if let Some(s) = self.queues.pop() {
            return Some(s);
        }
        let strand = self
            .queues
            .take_from(&self.shared.injectors, self.victims());
        super::events::points::stolen(&self.shared, strand.as_deref(), self.index);
        // published at once, so a stolen strand's joiner sees it counted
        self.slot()
            .steals
            .store(self.queues.steals.get(), Ordering::Relaxed);
        if strand.is_some() && self.shared.has_injected() {
            self.shared.notify_idle(); // there is work for another worker too
        }
        strand
    }

    /// Whether any queue this worker serves holds a strand (checked before
    /// it goes idle).
    fn has_work(&self) -> bool {
        !self.queues.is_empty()
            || !self.slot().remote.is_empty()
            || self.shared.has_injected()
            || self.victims().next().is_some()
            || self.shared.stw.requested() // halt instead of sleeping
    }

    /// The other workers worth stealing from now, starting with the next
    /// one after this.
    fn victims(&self) -> impl Iterator<Item = &Stealers> + Clone {
        let n = self.shared.workers.len();
        (1..n)
            .map(move |k| (self.index + k) % n)
            .filter(|&v| self.worth_stealing(v))
            .map(|v| &self.shared.workers[v].stealers)
    }

    /// Whether worker `v` has strands to spare. A lone strand in its deques
    /// is usually the one it runs next: a strand that spawns and then joins
    /// (or parks otherwise) leaves its child there for a moment, and an
    /// idle worker that tried to take it each time made its owner's queue
    /// lines bounce between the cores (spawn + join on two workers took
    /// 330 ns against 190 ns on one; the thief almost never won). So a
    /// lone strand is taken only once its worker has made no progress for
    /// [`LONE_GRACE`] since this worker first saw it: its worker is busy
    /// with a long-running strand.
    fn worth_stealing(&self, v: usize) -> bool {
        let other = &self.shared.workers[v];
        let seen = &self.lone_seen[v];
        match other.stealers.waiting() {
            0 => {
                seen.set(None);
                false
            }
            1 => {
                let progress = other.watch_seq.load(Ordering::Relaxed);
                match seen.get() {
                    Some((p, since)) if p == progress => since.elapsed() >= LONE_GRACE,
                    _ => {
                        seen.set(Some((progress, Instant::now())));
                        false
                    }
                }
            }
            _ => true,
        }
    }

    /// Keeps a finished strand's stack for this worker's next spawn, or
    /// returns it to the pool.
    fn cache_stack(&self, mut stack: Stack) {
        let mut cache = self.stack_cache.borrow_mut();
        if stack.size() == self.shared.stack_size && cache.len() < STACK_CACHE {
            stack.recycle();
            cache.push(stack);
            self.slot()
                .cached_stacks
                .store(cache.len(), Ordering::Relaxed);
        }
        // else: dropped, back to the pool
    }

    /// A cached stack of the runtime's default size, if this worker has one.
    pub(crate) fn cached_stack(&self) -> Option<Stack> {
        let mut cache = self.stack_cache.borrow_mut();
        let s = cache.pop();
        if s.is_some() {
            self.slot()
                .cached_stacks
                .store(cache.len(), Ordering::Relaxed);
        }
        s
    }

    /// Counts a strand spawned by a strand of this worker, published at
    /// once (a plain store to this worker's line).
    pub(crate) fn count_spawn(&self, p: crate::Priority) {
        let n = self.spawned[p].get() + 1;
        self.spawned[p].set(n);
        self.slot().spawned[p].store(n, Ordering::Relaxed);
    }

    /// Publishes this worker's counters for `Runtime::metrics`.
    fn publish_metrics(&self) {
        let me = self.slot();
        me.switches.store(self.switches.get(), Ordering::Relaxed);
        me.parks.store(self.parks.get(), Ordering::Relaxed);
        for (slot, n) in me.finished.iter().zip(self.finished.iter()) {
            slot.store(n.get(), Ordering::Relaxed);
        }
        for (slot, n) in me.picks.iter().zip(self.queues.picks.iter()) {
            slot.store(n.get(), Ordering::Relaxed);
        }
        me.steals.store(self.queues.steals.get(), Ordering::Relaxed);
        for (slot, depth) in me.depths.iter().zip(self.queues.depths().into_array()) {
            slot.store(depth, Ordering::Relaxed);
        }
    }

    /// Counts a spawn by the running strand; at each slice of spawns,
    /// tells the watchdog it progresses, and answers whether it should
    /// yield (strands that only this worker can run wait: see
    /// `Handle::spawn_strand`).
    #[inline]
    pub(crate) fn spawned_one(&self) -> bool {
        let n = self.spawns.get() + 1;
        if n < SPAWN_SLICE {
            self.spawns.set(n);
            return false;
        }
        self.spawns.set(0);
        self.note_progress();
        self.drain_remote();
        self.queues.has_pinned()
    }

    /// Publishes progress for the watchdog.
    #[inline]
    fn note_progress(&self) {
        let p = self.progress.get() + 1;
        self.progress.set(p);
        self.slot().watch_seq.store(p, Ordering::Relaxed);
    }

    /// How many strands of this worker are switched out mid-unwind (see
    /// `context::refresh_unwinding`).
    pub(crate) fn unwinding_out(&self) -> usize {
        self.unwinding_out.get()
    }
}
