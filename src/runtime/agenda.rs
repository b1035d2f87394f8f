//! The agenda: three priorities served so that none starves, and the
//! queues one worker serves.
//!
//! **The bound.** A worker counts its picks. Pick number `n` looks first at
//! `Low` if `n % 16 == 15`, else at `Normal` if `n % 4 == 3`, else at `High`,
//! and falls back to the other levels in priority order when that one is
//! empty. So while every level has runnable strands, any 16 consecutive
//! picks of a worker serve exactly 12 `High`, 3 `Normal` and 1 `Low`: a
//! runnable `Normal` strand at the head of its queue waits at most 3 picks,
//! a `Low` one at most 15 (tested exactly in `tests/rt_agenda.rs`).
//!
//! **The queues of one level**, on one worker:
//!
//! - *started*: strands that have run on this worker (yielded or woken
//!   here). They never leave it (see the crate docs on migration).
//! - *fresh*: strands spawned here that have not started: a
//!   `crossbeam_deque::Worker`, whose `Stealer` lets idle workers take them.
//!
//! Fresh strands go first. That cannot starve the started ones: the fresh
//! deque only grows when strands of this worker spawn (which needs them to
//! run) or when the worker, out of local work, takes a batch from elsewhere.
//! (Alternating the two queues was measured: it interleaves two streams of
//! cold stacks and made the 100k-strand stress job 3x slower, 2.4 s vs
//! 0.8 s.) Beyond them: the worker's remote queue (its strands
//! woken from other threads), then the runtime's injectors (fresh strands
//! spawned from outside), then stealing from the other workers' fresh
//! queues, in a batch.

use crate::strand::Task;
use crossbeam_deque::{Injector, Steal, Stealer, Worker as Deque};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

/// A strand's priority on the agenda.
///
/// ```
/// use strands::{Builder, Priority};
/// strands::run(|| {
///     let h = Builder::new().priority(Priority::High).spawn(|| 1).unwrap();
///     assert_eq!(h.join().unwrap(), 1);
/// });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    /// Served first: 12 of every 16 picks when all levels have work.
    High,
    /// The default: at least 3 of every 16 picks when it has work.
    #[default]
    Normal,
    /// At least 1 of every 16 picks when it has work.
    Low,
}

impl Priority {
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// The order in which pick number `tick` looks at the levels.
#[inline]
pub(crate) fn order(tick: u64) -> [usize; 3] {
    if tick % 16 == 15 {
        [2, 0, 1]
    } else if tick % 4 == 3 {
        [1, 0, 2]
    } else {
        [0, 1, 2]
    }
}

/// The queues one worker owns.
pub(crate) struct LocalQueues {
    started: RefCell<[VecDeque<Task>; 3]>,
    fresh: [Deque<Task>; 3],
    tick: Cell<u64>,
    /// Picks per level, published to metrics.
    pub(crate) picks: [Cell<u64>; 3],
    /// Strands taken from other workers.
    pub(crate) steals: Cell<u64>,
}

impl LocalQueues {
    /// Queues around the given fresh deques (whose stealers the runtime
    /// shares).
    pub(crate) fn new(fresh: [Deque<Task>; 3]) -> LocalQueues {
        LocalQueues {
            started: RefCell::new(Default::default()),
            fresh,
            tick: Cell::new(0),
            picks: Default::default(),
            steals: Cell::new(0),
        }
    }

    /// A strand that ran here is runnable again.
    pub(crate) fn push_started(&self, task: Task) {
        let p = task.priority.index();
        self.started.borrow_mut()[p].push_back(task);
    }

    /// A fresh strand spawned here. Returns how many fresh strands of its
    /// level now wait here (more than one: worth waking a sleeper to steal).
    pub(crate) fn push_fresh(&self, task: Task) -> usize {
        let p = task.priority.index();
        self.fresh[p].push(task);
        self.fresh[p].len()
    }

    /// The next strand from this worker's own queues, by the agenda.
    pub(crate) fn pop(&self) -> Option<Task> {
        let tick = self.tick.get();
        for p in order(tick) {
            if let Some(t) = self.pop_level(p) {
                self.picked(p);
                return Some(t);
            }
        }
        None
    }

    fn picked(&self, p: usize) {
        self.tick.set(self.tick.get() + 1);
        self.picks[p].set(self.picks[p].get() + 1);
    }

    fn pop_level(&self, p: usize) -> Option<Task> {
        self.fresh[p]
            .pop()
            .or_else(|| self.started.borrow_mut()[p].pop_front())
    }

    /// Takes from the injectors, then steals from `others`, by the agenda:
    /// a batch goes into this worker's fresh deque, one strand is returned.
    pub(crate) fn take_from<'a>(
        &self,
        injectors: &[Injector<Task>; 3],
        others: impl Iterator<Item = &'a [Stealer<Task>; 3]> + Clone,
    ) -> Option<Task> {
        let order = order(self.tick.get());
        for p in order {
            if let Some(t) = retry(|| injectors[p].steal_batch_and_pop(&self.fresh[p])) {
                self.picked(p);
                return Some(t);
            }
        }
        for p in order {
            for other in others.clone() {
                if let Some(t) = retry(|| other[p].steal_batch_and_pop(&self.fresh[p])) {
                    self.picked(p);
                    self.steals.set(self.steals.get() + 1);
                    return Some(t);
                }
            }
        }
        None
    }

    /// Whether any of this worker's own queues holds a strand.
    pub(crate) fn is_empty(&self) -> bool {
        self.started.borrow().iter().all(VecDeque::is_empty)
            && self.fresh.iter().all(Deque::is_empty)
    }

    /// Strands waiting in this worker's queues, per level.
    pub(crate) fn depths(&self) -> [usize; 3] {
        let started = self.started.borrow();
        std::array::from_fn(|p| started[p].len() + self.fresh[p].len())
    }
}

fn retry(mut f: impl FnMut() -> Steal<Task>) -> Option<Task> {
    loop {
        match f() {
            Steal::Success(t) => return Some(t),
            Steal::Empty => return None,
            Steal::Retry => continue,
        }
    }
}
