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
//! **The queues of one level**, on one worker, in the order they are served:
//!
//! - *timed*: strands with a deadline (`Builder::deadline`) that became
//!   runnable (spawned, woken), a heap that pops the earliest deadline
//!   (ties: the longest waiting). Earliest deadline first within the level;
//!   never stolen, so the worker that holds them can order them. A dated
//!   strand that *yields* joins the started queue below instead (a yield
//!   lets the others run; strict EDF would let yield-waiting strands
//!   starve everyone else).
//! - *next*: one slot for the pinned strand last woken on this worker's
//!   thread (by the strand running here: a join that a finishing strand
//!   completes, a channel hand-over, a lock released). It runs at the
//!   next pick, as Go's `runnext` and tokio's LIFO slot do; a strand
//!   already in the slot moves to the back of the started queue. At most
//!   [`NEXT_STREAK`] picks come from the slot before an older strand (from
//!   the fresh deque or the started queue) gets a turn, so strands that
//!   keep waking each other cannot hold the worker; picks of the newest
//!   fresh strand between them do not end the streak (a strand spawning a
//!   child and joining it in a loop would otherwise keep the others
//!   waiting).
//! - *fresh*: strands spawned here that have not started: the newest in a
//!   slot, the others in a LIFO `crossbeam_deque::Worker` (`fresh.rs`;
//!   this worker takes the newest, thieves the oldest), whose `Stealer`
//!   lets idle workers take them.
//! - *started*: strands that have run on this worker (yielded or woken
//!   here). They never leave it (see the crate docs on migration), except
//! - *migrants*: started strands spawned `migratable`, in a second stealable
//!   deque. Started and migrants alternate while both have strands.
//!
//! **Why newest first, and why the woken first.** A strand that spawns
//! children and joins them (a request fanned out, a divide-and-conquer
//! tree) must not have its whole tree exist at once. With fresh strands
//! served oldest first, skynet (a 10-ary tree of 1,111,111 strands, each
//! joining its children) started every strand of the tree before the
//! first leaf finished: 4.9 GB resident and 10.3 s. Newest first walks the tree
//! depth first, and a parent woken by its last child runs next, so the
//! tree finishes as it goes: a few dozen strands alive, 2 MiB, 0.32 s on
//! one worker (`cargo run --release --example skynet -- 1 5`, quiet machine).
//!
//! Fresh strands go before started ones. That cannot starve the started
//! ones: the fresh deque only grows when strands of this worker spawn (which
//! needs them to run) or when the worker, out of local work, takes a batch
//! from elsewhere; and a strand that spawns one child at a time and joins
//! it (the child always the newest, the spawner always `next`) gives way
//! after [`NEXT_STREAK`] rounds (see *next* above). (Alternating the two
//! queues was measured: it interleaves two streams of cold stacks and made
//! the 100k-strand stress job 3x slower, 2.4 s vs 0.8 s.) Beyond them: the worker's remote queue (its strands
//! woken from other threads), then the runtime's injectors (fresh strands
//! spawned from outside), then stealing from the other workers' fresh
//! queues, in a batch.

mod fresh;
mod steal;
mod warm;

pub(crate) use super::priority::{order, PerPriority, Priority};
use crate::strand::StrandRef;
use crossbeam_deque::Worker as Deque;
use std::cell::{Cell, RefCell};
use std::collections::{BinaryHeap, VecDeque};
use std::time::Instant;
pub(crate) use steal::{Deques, Stealers};
use warm::warm;

/// A strand waiting with a deadline: ordered so that a max-heap pops the
/// earliest deadline, then the longest-waiting.
struct Timed {
    deadline: Instant,
    seq: u64,
    strand: StrandRef,
}

impl PartialEq for Timed {
    fn eq(&self, other: &Timed) -> bool {
        (self.deadline, self.seq) == (other.deadline, other.seq)
    }
}
impl Eq for Timed {}
impl PartialOrd for Timed {
    fn partial_cmp(&self, other: &Timed) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timed {
    fn cmp(&self, other: &Timed) -> std::cmp::Ordering {
        (other.deadline, other.seq).cmp(&(self.deadline, self.seq))
    }
}

/// The queues one worker owns, per level.
pub(crate) struct LocalQueues {
    /// Strands with a deadline, earliest first. Served before the others of
    /// their level; never stolen.
    timed: RefCell<PerPriority<BinaryHeap<Timed>>>,
    started: RefCell<PerPriority<VecDeque<StrandRef>>>,
    /// A pinned strand woken here (by the strand running here, or by a
    /// finishing strand's exit): it runs before the level's fresh and
    /// started strands, at most [`NEXT_STREAK`] picks in a row.
    next: Cell<Option<StrandRef>>,
    /// Consecutive picks taken from `next`.
    next_streak: Cell<u32>,
    fresh: PerPriority<fresh::Fresh>,
    /// Started strands that may move (`Builder::migratable`): runnable here,
    /// stealable by others.
    migrants: PerPriority<Deque<StrandRef>>,
    /// Per level: whether `started` is next rather than `migrants` (the
    /// two alternate while both have strands, so neither starves).
    started_turn: Cell<PerPriority<bool>>,
    /// Per level: strands pushed into `timed` or `migrants` and not yet
    /// popped here (an upper bound: thieves take migrants too). Zero lets
    /// the common pick skip both.
    special: PerPriority<Cell<usize>>,
    /// Per level (bit `p as u8`): whether any of this worker's own queues
    /// of the level may hold a strand. Set by every push into them, cleared
    /// when a pick of the level finds nothing, so a pick skips the empty
    /// levels (most programs use one) without looking into their queues.
    /// Never clear while a strand waits: only this worker adds to its
    /// queues, and thieves only take.
    levels: Cell<u8>,
    /// Per level, the same for the `fresh` deque alone: a pick from a level
    /// whose started strands take turns does not look into an empty deque
    /// at every yield. Thieves only take, so a clear bit is never wrong.
    fresh_levels: Cell<u8>,
    seq: Cell<u64>,
    tick: Cell<u64>,
    /// Picks per level, published to metrics.
    pub(crate) picks: PerPriority<Cell<u64>>,
    /// Strands taken from other workers.
    pub(crate) steals: Cell<u64>,
}

impl LocalQueues {
    /// Queues around the given deques (whose stealers the runtime shares).
    pub(crate) fn new(deques: Deques) -> LocalQueues {
        LocalQueues {
            timed: RefCell::new(Default::default()),
            started: RefCell::new(Default::default()),
            next: Cell::new(None),
            next_streak: Cell::new(0),
            fresh: deques.fresh,
            migrants: deques.migrants,
            started_turn: Cell::new(PerPriority::from_fn(|_| true)),
            special: Default::default(),
            levels: Cell::new(0),
            fresh_levels: Cell::new(0),
            seq: Cell::new(0),
            tick: Cell::new(0),
            picks: Default::default(),
            steals: Cell::new(0),
        }
    }

    /// The stealable deques back (a spare worker retiring; its queues are
    /// empty).
    pub(crate) fn into_deques(self) -> Deques {
        debug_assert!(self.is_empty());
        Deques {
            fresh: self.fresh,
            migrants: self.migrants,
        }
    }

    /// Level `p` may hold a strand now.
    #[inline]
    fn occupy(&self, p: Priority) {
        self.levels.set(self.levels.get() | level_bit(p));
    }

    fn note_special(&self, p: Priority) {
        self.special[p].set(self.special[p].get() + 1);
    }

    fn push_timed(&self, deadline: Instant, strand: StrandRef) {
        let p = strand.priority;
        self.note_special(p);
        let seq = self.seq.get();
        self.seq.set(seq + 1);
        self.timed.borrow_mut()[p].push(Timed {
            deadline,
            seq,
            strand,
        });
    }

    /// A strand that may run here is runnable again (it ran here, or was
    /// woken here). Returns whether it went where other workers may steal
    /// it (a migratable strand).
    pub(crate) fn push_started(&self, strand: StrandRef) -> bool {
        let p = strand.priority;
        self.occupy(p);
        if let Some(d) = strand.deadline {
            self.push_timed(d, strand);
            false
        } else if strand.may_move() {
            self.note_special(p);
            self.migrants[p].push(strand);
            true
        } else {
            self.started.borrow_mut()[p].push_back(strand);
            false
        }
    }

    /// A strand woken on this worker's thread (by the strand running here,
    /// by a finishing strand's exit, by a timer or I/O the worker polled):
    /// it goes into the `next` slot and runs before the others of its level,
    /// the strand that was there before moving to the back of the started
    /// queue. Strands with a deadline and migratable ones go where
    /// [`Self::push_started`] puts them. Returns what `push_started` does.
    pub(crate) fn push_woken(&self, strand: StrandRef) -> bool {
        if strand.deadline.is_some() || strand.may_move() {
            return self.push_started(strand);
        }
        self.occupy(strand.priority);
        if let Some(old) = self.next.replace(Some(strand)) {
            self.started.borrow_mut()[old.priority].push_back(old);
        }
        false
    }

    /// The `next` strand, if it is of level `p` and has not run
    /// [`NEXT_STREAK`] picks in a row (then it goes to the back of the
    /// started queue, so a pair of strands waking each other cannot hold
    /// the worker). When it gives none, the pick comes from elsewhere and
    /// the streak ends.
    #[inline(always)]
    fn take_next(&self, p: Priority) -> Option<StrandRef> {
        let next = self.next.take()?;
        if next.priority != p {
            self.next.set(Some(next));
            return None;
        }
        let streak = self.next_streak.get();
        if streak >= NEXT_STREAK {
            self.next_streak.set(0);
            self.started.borrow_mut()[p].push_back(next);
            return None;
        }
        self.next_streak.set(streak + 1);
        Some(next)
    }

    /// A strand of this worker that yielded. As [`Self::push_started`],
    /// except that a strand with a deadline goes to the back of its level's
    /// round-robin queue: deadlines order strands as they become runnable
    /// (spawned, woken), and a yield says "let the others run". Under strict
    /// EDF a yield would hand the worker straight back to the earliest
    /// deadline, and strands waiting by yielding for others (dated or not)
    /// could spin forever.
    pub(crate) fn push_yielded(&self, strand: StrandRef) -> bool {
        if strand.deadline.is_some() {
            let p = strand.priority;
            self.occupy(p);
            self.started.borrow_mut()[p].push_back(strand);
            return false;
        }
        self.push_started(strand)
    }

    /// A fresh strand spawned here. Returns how many fresh strands of its
    /// level now wait here to be stolen (more than one: worth notifying an
    /// idle worker).
    pub(crate) fn push_fresh(&self, strand: StrandRef) -> usize {
        let p = strand.priority;
        if let Some(d) = strand.deadline {
            self.occupy(p);
            self.push_timed(d, strand);
            return 0;
        }
        self.occupy_fresh(p);
        self.fresh[p].push(strand);
        self.fresh[p].len()
    }

    /// The next strand from this worker's own queues, by the agenda.
    pub(crate) fn pop(&self) -> Option<StrandRef> {
        let tick = self.tick.get();
        for p in order(tick) {
            if self.levels.get() & level_bit(p) == 0 {
                continue;
            }
            if let Some(t) = self.pop_level(p) {
                self.picked(p);
                return Some(t);
            }
            self.levels.set(self.levels.get() & !level_bit(p));
        }
        None
    }

    fn picked(&self, p: Priority) {
        self.tick.set(self.tick.get() + 1);
        self.picks[p].set(self.picks[p].get() + 1);
    }

    /// One level: deadlines first, then fresh strands, then started ones
    /// (pinned and migrants alternating).
    #[inline]
    fn pop_level(&self, p: Priority) -> Option<StrandRef> {
        if self.special[p].get() != 0 {
            return self.pop_level_special(p);
        }
        if let Some(t) = self.take_next(p) {
            return Some(t);
        }
        if let Some(t) = self.pop_fresh(p) {
            return Some(t);
        }
        self.next_streak.set(0); // an older strand's turn: the streak ends
        let mut started = self.started.borrow_mut();
        let s = started[p].pop_front();
        warm(&started[p]);
        s
    }

    /// A fresh strand of level `p`, unless the deque is known empty. One
    /// from the deque (older than the slot's) ends the `next` streak; the
    /// slot's newest does not, so a strand that spawns a child and joins it
    /// in a loop (the child in the slot, the woken spawner in `next`) still
    /// gives way after [`NEXT_STREAK`] rounds.
    #[inline(always)]
    fn pop_fresh(&self, p: Priority) -> Option<StrandRef> {
        if self.fresh_levels.get() & level_bit(p) == 0 {
            return None;
        }
        match self.fresh[p].pop() {
            Some((t, from_slot)) => {
                if !from_slot {
                    self.next_streak.set(0);
                }
                Some(t)
            }
            None => {
                self.fresh_levels
                    .set(self.fresh_levels.get() & !level_bit(p));
                None
            }
        }
    }

    /// Level `p`'s fresh deque may hold a strand now (and so the level).
    #[inline]
    fn occupy_fresh(&self, p: Priority) {
        self.fresh_levels
            .set(self.fresh_levels.get() | level_bit(p));
        self.occupy(p);
    }

    /// Whether a strand of level `p` woken here now would be this worker's
    /// next pick from its own queues: the `next` slot is free and its
    /// streak not spent, no other level may hold a strand, and the level
    /// holds no deadline or migrant (served before `next`). For a strand
    /// run at once instead of through the slot (a finishing strand's
    /// hand-off to its joiner); [`Self::ran_next`] then counts it.
    #[inline]
    pub(crate) fn next_is_free_for(&self, p: Priority) -> bool {
        self.levels.get() & !level_bit(p) == 0
            && self.special[p].get() == 0
            && self.next_streak.get() < NEXT_STREAK
            && !self.has_next()
    }

    /// A strand ran as if picked from the `next` slot (see
    /// [`Self::next_is_free_for`]).
    #[inline]
    pub(crate) fn ran_next(&self) {
        self.next_streak.set(self.next_streak.get() + 1);
    }

    /// Whether this worker's own queues are surely empty (one load; `false`
    /// may still mean empty).
    #[inline]
    pub(crate) fn surely_empty(&self) -> bool {
        self.levels.get() == 0
    }

    /// Clears the occupancy bits if the queues are in fact empty; returns
    /// whether they are (a strand yielding alone, after the others ended
    /// or were stolen, would otherwise keep finding the bits set).
    ///
    /// Looks only at the levels whose bit is set (a clear bit means an
    /// empty level: every push sets it).
    pub(crate) fn settle_if_empty(&self) -> bool {
        let levels = self.levels.get();
        if self.has_next() {
            return false;
        }
        for p in Priority::ALL {
            if levels & level_bit(p) != 0 && !self.level_is_empty(p) {
                return false;
            }
        }
        self.levels.set(0);
        self.fresh_levels.set(0);
        true
    }

    /// Whether level `p` holds no strand (the `next` slot aside).
    fn level_is_empty(&self, p: Priority) -> bool {
        self.started.borrow()[p].is_empty()
            && self.fresh[p].is_empty()
            && (self.special[p].get() == 0
                || (self.timed.borrow()[p].is_empty() && self.migrants[p].is_empty()))
    }

    /// [`Self::pop_level`] when the level may hold deadlines or migrants.
    #[cold]
    fn pop_level_special(&self, p: Priority) -> Option<StrandRef> {
        if let Some(t) = self.timed.borrow_mut()[p].pop() {
            self.special[p].set(self.special[p].get().saturating_sub(1));
            return Some(t.strand);
        }
        self.pop_undated(p)
    }

    /// The level's round-robin part: fresh strands, then started ones
    /// (pinned and migrants alternating).
    fn pop_undated(&self, p: Priority) -> Option<StrandRef> {
        if let Some(t) = self.take_next(p) {
            return Some(t);
        }
        if let Some(t) = self.pop_fresh(p) {
            return Some(t);
        }
        let mut started_turn = self.started_turn.get();
        let started = || self.started.borrow_mut()[p].pop_front();
        let migrant = || self.migrants[p].pop();
        let t = if started_turn[p] || self.migrants[p].is_empty() {
            started().or_else(migrant)
        } else {
            migrant().or_else(started)
        };
        if let Some(t) = &t {
            started_turn[p] = t.may_move(); // the other kind next, if one waits
            self.started_turn.set(started_turn);
            if t.may_move() {
                self.special[p].set(self.special[p].get().saturating_sub(1));
            }
        }
        if self.migrants[p].is_empty() && self.timed.borrow()[p].is_empty() {
            self.special[p].set(0); // thieves took the rest
        }
        t
    }

    /// Whether any of this worker's own queues holds a strand.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        !self.has_next() && Priority::ALL.into_iter().all(|p| self.level_is_empty(p))
    }

    /// Whether a strand that can run only here waits: started (pinned),
    /// or dated (never stolen). Fresh strands and migrants do not count:
    /// an idle worker may take those.
    pub(crate) fn has_pinned(&self) -> bool {
        self.has_next()
            || !self.started.borrow().iter().all(VecDeque::is_empty)
            || (self.special.iter().any(|n| n.get() != 0)
                && !self.timed.borrow().iter().all(BinaryHeap::is_empty))
    }

    /// Strands waiting in this worker's queues, per level.
    pub(crate) fn depths(&self) -> PerPriority<usize> {
        let (timed, started) = (self.timed.borrow(), self.started.borrow());
        let level = self.next_level();
        PerPriority::from_fn(|p| {
            timed[p].len()
                + started[p].len()
                + self.fresh[p].len()
                + self.migrants[p].len()
                + usize::from(level == Some(p))
        })
    }

    /// Whether the `next` slot holds a strand.
    fn has_next(&self) -> bool {
        self.next_level().is_some()
    }

    /// The level of the strand in the `next` slot, if one is there.
    fn next_level(&self) -> Option<Priority> {
        let next = self.next.take();
        let level = next.as_ref().map(|s| s.priority);
        self.next.set(next);
        level
    }
}

/// Picks in a row a worker takes from its `next` slot before it serves its
/// other queues (two strands waking each other share this budget, as a pair
/// of goroutines handing each other `runnext` shares one time slice in Go).
const NEXT_STREAK: u32 = 16;

/// The bit of level `p` in [`LocalQueues`]' `levels`.
#[inline]
fn level_bit(p: Priority) -> u8 {
    1 << p as u8
}
