//! The limit hand-over of a [`JoinSet`](super::JoinSet), as a pure state
//! machine (the set keeps it under its lock; loom checks it in
//! `loom_tests.rs`).
//!
//! Invariants:
//!
//! - `running <= limit` at all times.
//! - Spawn order: a new member starts at once only if nobody is handing
//!   slots over (`pumping` is false) and a slot is free; otherwise it is
//!   queued behind the others.
//! - When `pumping` is false and the queue is not empty, every slot is
//!   taken (`running == limit`): a queued member never waits for a slot that
//!   is free.
//! - At most one caller hands slots over at a time (the *pumper*): a member
//!   that ends while someone pumps only frees its slot, and the pumper,
//!   which rechecks under the lock before every start, picks it up. So
//!   starting (which may fail and end a member at once) never recurses.

use std::collections::VecDeque;

pub(crate) struct Slots<I> {
    limit: usize,
    running: usize,
    queue: VecDeque<I>,
    pumping: bool,
}

impl<I> Slots<I> {
    /// At most `limit` running (`usize::MAX`: no limit).
    pub(crate) fn new(limit: usize) -> Slots<I> {
        assert!(limit > 0, "a limit of 0 would never start anything");
        Slots {
            limit,
            running: 0,
            queue: VecDeque::new(),
            pumping: false,
        }
    }

    /// A new member: takes a slot for it and returns `true` (the caller
    /// starts it) if it may start now; else the caller must
    /// [`enqueue`](Slots::enqueue) it.
    pub(crate) fn try_start(&mut self) -> bool {
        if !self.pumping && self.running < self.limit {
            debug_assert!(self.queue.is_empty(), "a free slot with members queued");
            self.running += 1;
            true
        } else {
            false
        }
    }

    /// Queues a member that [`try_start`](Slots::try_start) refused.
    pub(crate) fn enqueue(&mut self, item: I) {
        self.queue.push_back(item);
    }

    /// A started member ended (or failed to start): frees its slot.
    /// Returns `true` if the caller must now pump (call
    /// [`next`](Slots::next) until it answers `None`).
    #[must_use]
    pub(crate) fn release(&mut self) -> bool {
        debug_assert!(self.running > 0);
        self.running -= 1;
        if self.pumping || self.queue.is_empty() {
            return false;
        }
        self.pumping = true;
        true
    }

    /// For the pumper: the next queued member to start, its slot taken; or
    /// `None`, and the pumper's turn is over.
    pub(crate) fn next(&mut self) -> Option<I> {
        debug_assert!(self.pumping);
        if self.running < self.limit {
            if let Some(item) = self.queue.pop_front() {
                self.running += 1;
                return Some(item);
            }
        }
        self.pumping = false;
        None
    }

    /// Takes the queued members for which `pred` holds (in order): they
    /// will never start.
    pub(crate) fn take_queued(&mut self, mut pred: impl FnMut(&I) -> bool) -> Vec<I> {
        if self.queue.is_empty() {
            return Vec::new();
        }
        let mut taken = Vec::new();
        let mut kept = VecDeque::new();
        for item in self.queue.drain(..) {
            if pred(&item) {
                taken.push(item);
            } else {
                kept.push_back(item);
            }
        }
        self.queue = kept;
        taken
    }

    /// Members holding a slot.
    #[allow(dead_code)] // read by the tests and the loom model
    pub(crate) fn running(&self) -> usize {
        self.running
    }

    /// Members waiting for a slot.
    pub(crate) fn queued(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::Slots;

    #[test]
    fn keeps_spawn_order_and_the_limit() {
        let mut s = Slots::new(2);
        assert!(s.try_start() && s.try_start());
        assert!(!s.try_start());
        s.enqueue(3);
        s.enqueue(4);
        assert!(s.release());
        assert!(!s.try_start(), "a newcomer does not overtake the queue");
        s.enqueue(5);
        assert_eq!(s.next(), Some(3));
        assert_eq!(s.next(), None);
        assert_eq!((s.running(), s.queued()), (2, 2));
        assert_eq!(s.take_queued(|&i| i == 5), vec![5]);
        assert!(s.release());
        assert_eq!(s.next(), Some(4));
        assert_eq!(s.next(), None);
    }

    #[test]
    #[should_panic(expected = "limit of 0")]
    fn zero_limit_panics() {
        let _ = Slots::<()>::new(0);
    }
}
