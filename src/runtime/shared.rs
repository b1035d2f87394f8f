//! What a runtime's handles, workers and strands share: the workers' public
//! halves, the injectors, the stack pool, timers, the driver; and the idle
//! protocol (how a worker with nothing to do waits, and who notifies it).
//! Where a new or woken strand is queued is `queue.rs`.

use super::agenda::{PerPriority, Stealers};
use super::gate::Gate;
use super::idle::Idle;
use super::io::Driver;
use super::reclaim::state::Reclaim;
use super::registry::Registry;
use super::time::{Key, Timers};
use super::watchdog::Watchdog;
use crate::loom::{process, Arc, AtomicU64, AtomicUsize, Ordering};
use crate::stack::StackPool;
use crate::strand::waiter::Waiter;
use crate::strand::{Header, StrandRef};
use std::time::{Duration, Instant};

/// Zero-timeout polls an idle worker makes (yielding its thread in
/// between) before it waits in the poller.
const SPINS: usize = 3;

/// How long a worker that ran out of work keeps looking for more before it
/// announces it is idle and sleeps (see `Shared::spin_for_work`).
const SPIN_FOR: Duration = Duration::from_micros(50);

/// State shared by a runtime's handles, workers and strands.
pub(crate) struct Shared {
    pub(crate) workers: Box<[WorkerShared]>,
    /// Fresh strands spawned from outside, per priority.
    pub(crate) injectors: PerPriority<crossbeam_deque::Injector<StrandRef>>,
    pub(crate) pool: StackPool,
    pub(crate) stack_size: usize,
    /// Counts live strands; closed at shutdown.
    pub(crate) gate: Gate,
    /// Strands spawned from outside the runtime's strands, per priority
    /// (the workers count their own: `WorkerShared::spawned`).
    pub(crate) spawned: PerPriority<AtomicU64>,
    pub(crate) timers: Timers,
    /// The I/O driver (the poller), which also serves the timers.
    pub(crate) driver: Arc<Driver>,
    pub(crate) registry: Registry,
    /// Workers started with the runtime; `workers` also holds the slots of
    /// the spares the watchdog may start.
    pub(crate) base_workers: usize,
    pub(crate) watchdog: Watchdog,
    /// The blocking pool (`spawn_blocking`).
    #[cfg(not(loom))]
    pub(crate) blocking: crate::runtime::blocking::Pool,
    /// When idle stacks and spare workers are given back.
    pub(crate) reclaim: Reclaim,
    /// Stop-the-world state (`stw/state.rs`; the requests: `stw.rs`).
    pub(crate) stw: super::stw::state::Stw,
    /// The event hook, if any (`events/hook.rs`; the emitting points pay
    /// one load and a branch without one).
    pub(crate) events: Option<super::events::hook::Events>,
}

/// The part of a worker other threads reach.
pub(crate) struct WorkerShared {
    /// Strands of this worker woken on other threads (lock-free: checking
    /// it costs two loads on every pick).
    pub(crate) remote: crossbeam_deque::Injector<StrandRef>,
    /// Steal fresh (and migratable) strands from this worker.
    pub(crate) stealers: Stealers,
    /// Blocks the worker's thread when it is idle.
    pub(crate) idle: Idle,
    pub(crate) switches: AtomicU64,
    pub(crate) parks: AtomicU64,
    pub(crate) finished: PerPriority<AtomicU64>,
    /// Strands spawned by strands of this worker (published by the worker
    /// with a store: a shared counter cost every spawn a contended
    /// read-modify-write).
    pub(crate) spawned: PerPriority<AtomicU64>,
    /// Stacks in this worker's cache (published likewise).
    pub(crate) cached_stacks: AtomicUsize,
    pub(crate) picks: PerPriority<AtomicU64>,
    pub(crate) steals: AtomicU64,
    pub(crate) depths: PerPriority<AtomicUsize>,
    /// For the watchdog: the switch count, stored at every switch into a
    /// strand, and the id of the strand running (0: none).
    pub(crate) watch_seq: process::AtomicU64,
    pub(crate) watch_current: process::AtomicU64,
    /// Joins without a deadline and lock waits begun and ended by strands
    /// running on this worker (the watchdog looks for deadlocks only while
    /// some last: `watchdog/deadlock.rs`).
    pub(crate) waits: WaitCounts,
}

/// Waits counted for the watchdog's deadlock check, by one worker: each
/// count is written only by its worker's thread, with a plain store (a
/// shared count cost every join two contended read-modify-writes). A wait
/// may begin on one worker and end on another (a migratable strand), so
/// only the sum over all workers means anything: [`Shared::counted_waits`].
#[derive(Default)]
pub(crate) struct WaitCounts {
    begun: process::AtomicU64,
    ended: process::AtomicU64,
}

impl WaitCounts {
    /// Counts a wait begun. Called only by this worker's thread.
    pub(crate) fn begin(&self) {
        self.begun
            .store(self.begun.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// Counts a wait ended. Called only by this worker's thread.
    pub(crate) fn end(&self) {
        self.ended
            .store(self.ended.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }
}

impl WorkerShared {
    pub(crate) fn new(stealers: Stealers) -> WorkerShared {
        WorkerShared {
            remote: crossbeam_deque::Injector::new(),
            stealers,
            idle: Idle::new(),
            switches: AtomicU64::new(0),
            parks: AtomicU64::new(0),
            finished: Default::default(),
            spawned: Default::default(),
            cached_stacks: AtomicUsize::new(0),
            picks: Default::default(),
            steals: AtomicU64::new(0),
            depths: Default::default(),
            watch_seq: process::AtomicU64::new(0),
            watch_current: process::AtomicU64::new(0),
            waits: WaitCounts::default(),
        }
    }
}

impl Shared {
    /// Counted waits that have begun and not ended (joins without a
    /// deadline, lock waits), as far as the workers' published counts
    /// tell: exact once they stop changing, which a deadlock's waits do.
    /// The ends are read first, so a wait that ends meanwhile is not
    /// counted as ended but not begun.
    pub(crate) fn counted_waits(&self) -> u64 {
        let ended: u64 = self
            .workers
            .iter()
            .map(|w| w.waits.ended.load(Ordering::Relaxed))
            .sum();
        let begun: u64 = self
            .workers
            .iter()
            .map(|w| w.waits.begun.load(Ordering::Relaxed))
            .sum();
        begun.saturating_sub(ended)
    }

    /// Stacks in the workers' caches now (a sum of what each published).
    pub(crate) fn stacks_in_caches(&self) -> usize {
        self.workers
            .iter()
            .map(|w| w.cached_stacks.load(Ordering::Relaxed))
            .sum()
    }

    /// Strands spawned so far, per priority.
    pub(crate) fn spawned(&self) -> PerPriority<u64> {
        PerPriority::from_fn(|p| {
            self.spawned[p].load(Ordering::Relaxed)
                + self
                    .workers
                    .iter()
                    .map(|w| w.spawned[p].load(Ordering::Relaxed))
                    .sum::<u64>()
        })
    }

    /// Whether a strand spawned from outside waits in an injector.
    pub(crate) fn has_injected(&self) -> bool {
        self.injectors.iter().any(|i| !i.is_empty())
    }

    /// Notifies one idle worker, if any. Busy workers reach the injector
    /// on their own; notifying them would only cost a context switch.
    pub(crate) fn notify_idle(&self) {
        for w in self.workers.iter() {
            if w.idle.notify_if_idle(|| self.notify_poller()) {
                return;
            }
        }
    }

    /// Before a worker announces it is idle: looks for work for up to
    /// [`SPIN_FOR`], without announcing anything (so a strand woken for it
    /// meanwhile costs its waker no notification) and letting other
    /// threads of its CPU run every few looks. Returns whether work came.
    ///
    /// Started strands stay on their worker, so two strands on two workers
    /// that answer each other (a request and its reply, a lock handed back
    /// and forth) need the other worker awake at every hop: without the
    /// spin each hop paid a futex or eventfd wake-up of a sleeping thread,
    /// tens of microseconds (ping-pong between two workers: 37 us a round
    /// trip, against tokio's 0.4 us).
    fn spin_for_work(&self, has_work: &impl Fn() -> bool) -> bool {
        if cfg!(loom) {
            return false; // the models check the handshake below
        }
        let start = Instant::now();
        for look in 1u32.. {
            if has_work() || self.is_finished() {
                return true;
            }
            if look % 16 == 0 {
                if start.elapsed() >= SPIN_FOR {
                    return false;
                }
                crate::loom::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
        false
    }

    /// Worker `index` goes idle until there is work for it (`has_work` is
    /// the final check after announcing it, so no push is missed) or the
    /// runtime finishes.
    ///
    /// The first idle worker takes the driver's poller role and waits in
    /// the poller, with the earliest timer as its timeout; afterwards it
    /// fires the due timers and, if it found work, notifies an idle worker
    /// to take the role over. The others block; their final check includes
    /// "nobody holds the role" (paired with the role's release by `SeqCst`
    /// fences), so the role is never left free while all workers are idle.
    pub(crate) fn idle(&self, index: usize, has_work: impl Fn() -> bool) {
        if self.spin_for_work(&has_work) {
            return;
        }
        let idle = &self.workers[index].idle;
        if let Some(mut role) = self.driver.try_role() {
            // Before waiting in the kernel, look again a few times,
            // letting other threads run in between: under a stream of
            // request/response exchanges the next event is often
            // microseconds away, and a worker that waits costs a context
            // switch plus a wake-up on the sender's side.
            for _ in 0..SPINS {
                if has_work() || role.poll(Some(Duration::ZERO)) > 0 {
                    self.timers.fire_due(Instant::now());
                    return;
                }
                crate::loom::thread::yield_now();
            }
            idle.idle_polling(
                || has_work() || self.is_finished(),
                || {
                    let deadline = match (self.timers.next_deadline(), self.reclaim_deadline()) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                    role.poll(timeout);
                },
            );
            let now = Instant::now();
            self.timers.fire_due(now);
            self.reclaim(now);
            drop(role);
            if has_work() {
                // busy from here on: an idle worker takes the role, so I/O
                // is watched even if this worker's strands run long
                self.notify_idle();
            }
            return;
        }
        idle.idle(|| has_work() || self.is_finished() || self.driver.role_vacant());
    }

    /// What a busy worker does every few picks so that timers and I/O are
    /// not starved while every worker runs strands: fires due timers (the
    /// common case costs one load and one `Instant::now()`), runs the
    /// reclaim tick when due (one load and a compare when not), and if
    /// nobody holds the poller role, polls without blocking.
    pub(crate) fn maintain(&self) {
        let now = Instant::now();
        if self.timers.maybe_due(now) {
            self.timers.fire_due(now);
        }
        self.reclaim(now);
        if self.driver.has_registrations() && self.driver.role_vacant() {
            if let Some(mut role) = self.driver.try_role() {
                role.poll(Some(Duration::ZERO));
            }
        }
    }

    /// Registers a timer, and tells a worker waiting in the poller when
    /// the timer is the new earliest (its timeout must shrink).
    pub(crate) fn insert_timer(&self, deadline: Instant, waiter: Waiter) -> Key {
        let (key, earliest) = self.timers.insert(deadline, waiter);
        if earliest && self.driver.role_taken() {
            self.driver.notify();
        }
        key
    }

    /// Interrupts the poller's wait (or the next one).
    pub(super) fn notify_poller(&self) {
        self.driver.notify();
    }

    /// Forgets a finished (or refused) strand: out of the registry and
    /// its count.
    pub(crate) fn strand_finished(&self, strand: &Header) {
        if self.registry.remove(strand, &self.gate) {
            // the last one of its shard after shutdown: the shutdown and
            // the workers look whether it was the last of all
            self.gate.notify_drained();
            self.notify_all();
        }
    }

    /// Notifies every worker, idle or not (shutdown).
    pub(crate) fn notify_all(&self) {
        for w in self.workers.iter() {
            w.idle.notify(|| self.notify_poller());
        }
    }

    /// Shut down and no strand left: workers may exit.
    pub(crate) fn is_finished(&self) -> bool {
        // (the count is read only once closed: idle workers ask often)
        self.gate.is_closed() && self.registry.live() == 0
    }
}
