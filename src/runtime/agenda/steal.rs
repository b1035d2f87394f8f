//! The side of a worker's queues other workers see: the deques they steal
//! from ([`Deques`], [`Stealers`]), and a worker taking from the injectors
//! and from the others' deques.

use super::fresh::{Fresh, FreshStealer};
use super::{order, LocalQueues, PerPriority, StrandRef};
use crossbeam_deque::{Injector, Steal, Stealer, Worker as Deque};

/// The deques of one worker that other workers steal from.
pub(crate) struct Deques {
    pub(crate) fresh: PerPriority<Fresh>,
    pub(crate) migrants: PerPriority<Deque<StrandRef>>,
}

impl Deques {
    pub(crate) fn new() -> Deques {
        Deques {
            fresh: PerPriority::from_fn(|_| Fresh::new()),
            migrants: PerPriority::from_fn(|_| Deque::new_fifo()),
        }
    }

    /// The stealers to share: fresh ones, migrants.
    pub(crate) fn stealers(&self) -> Stealers {
        Stealers {
            fresh: PerPriority::from_fn(|p| self.fresh[p].stealer()),
            migrants: PerPriority::from_fn(|p| self.migrants[p].stealer()),
        }
    }
}

/// Steals from one worker.
pub(crate) struct Stealers {
    fresh: PerPriority<FreshStealer>,
    migrants: PerPriority<Stealer<StrandRef>>,
}

impl Stealers {
    /// How many strands wait to be stolen (a snapshot).
    pub(crate) fn waiting(&self) -> usize {
        self.fresh.iter().map(FreshStealer::len).sum::<usize>()
            + self.migrants.iter().map(Stealer::len).sum::<usize>()
    }
}

impl LocalQueues {
    /// Takes a batch from the injectors (strands spawned from outside the
    /// runtime), by the agenda: one strand is returned, the rest wait in
    /// this worker's fresh deque.
    pub(crate) fn take_injected(
        &self,
        injectors: &PerPriority<Injector<StrandRef>>,
    ) -> Option<StrandRef> {
        for p in order(self.tick.get()) {
            if let Some(t) = retry(|| injectors[p].steal_batch_and_pop(self.fresh[p].deque())) {
                self.occupy_fresh(p); // the rest of the batch waits in our deque
                self.picked(p);
                return Some(t);
            }
        }
        None
    }

    /// Takes from the injectors, then steals from `others`, by the agenda:
    /// a batch goes into this worker's deque, one strand is returned.
    pub(crate) fn take_from<'a>(
        &self,
        injectors: &PerPriority<Injector<StrandRef>>,
        others: impl Iterator<Item = &'a Stealers> + Clone,
    ) -> Option<StrandRef> {
        if let Some(t) = self.take_injected(injectors) {
            return Some(t);
        }
        let order = order(self.tick.get());
        for p in order {
            for other in others.clone() {
                let t =
                    retry(|| other.fresh[p].steal_batch_and_pop(&self.fresh[p])).or_else(|| {
                        let t = retry(|| other.migrants[p].steal_batch_and_pop(&self.migrants[p]));
                        // the rest of the batch waits in our migrants
                        let n = self.migrants[p].len();
                        self.special[p].set(self.special[p].get() + n);
                        t
                    });
                if let Some(t) = t {
                    self.occupy_fresh(p); // the rest of the batch waits here
                    self.picked(p);
                    self.steals.set(self.steals.get() + 1);
                    return Some(t);
                }
            }
        }
        None
    }
}

fn retry(mut f: impl FnMut() -> Steal<StrandRef>) -> Option<StrandRef> {
    loop {
        match f() {
            Steal::Success(t) => return Some(t),
            Steal::Empty => return None,
            Steal::Retry => continue,
        }
    }
}
