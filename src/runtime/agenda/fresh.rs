//! A worker's fresh strands of one level: the newest in a slot of its own,
//! the older ones in a stealable LIFO deque ([`Fresh`] for the worker,
//! [`FreshStealer`] for the others).
//!
//! The usual fresh strand is alone: spawned, then joined (or otherwise
//! waited for) by its spawner, and picked by its own worker a moment
//! later. Through the deque alone that cost a push and a pop whose single
//! element races the thieves (a `SeqCst` fence and a compare-and-swap).
//! Through the slot it costs a plain store and one compare-and-swap. The
//! slot stays stealable: a thief takes it with a compare-and-swap of its
//! own, after the older strands of the deque (and, while it is the only
//! fresh strand there, only after the grace `Worker::worth_stealing`
//! gives the owner).
//!
//! Order is the deque's, newest first: a spawn moves the slot's strand
//! into the deque and takes the slot.

use crate::strand::Header;
use crossbeam_deque::{Steal, Stealer, Worker as Deque};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Arc;

/// The slot: an owning pointer to a strand (from `Arc::into_raw`), or null.
/// Only the worker puts a strand in (into an empty slot, or by a swap);
/// anyone takes it out with a compare-and-swap to null.
struct Slot<T>(AtomicPtr<T>);

impl<T> Slot<T> {
    /// Takes the strand out, if one is there (the owner or a thief).
    fn take(&self) -> Option<Arc<T>> {
        let p = self.0.load(Ordering::Acquire);
        if p.is_null() {
            return None;
        }
        self.0
            .compare_exchange(p, ptr::null_mut(), Ordering::Acquire, Ordering::Relaxed)
            .ok()
            // SAFETY: `p` came from `Arc::into_raw` (`Fresh::push`), and the
            // successful exchange made us its only owner.
            .map(|p| unsafe { Arc::from_raw(p) })
    }

    fn is_empty(&self) -> bool {
        self.0.load(Ordering::Relaxed).is_null()
    }
}

impl<T> Drop for Slot<T> {
    fn drop(&mut self) {
        let p = *self.0.get_mut();
        if !p.is_null() {
            // SAFETY: as in `take`: the slot owned it, and nobody else can
            // reach the slot any more.
            drop(unsafe { Arc::from_raw(p) });
        }
    }
}

/// The worker's side (of strands: `T` is generic for the unit tests).
pub(crate) struct Fresh<T = Header> {
    slot: Arc<Slot<T>>,
    deque: Deque<Arc<T>>,
}

impl<T> Fresh<T> {
    pub(crate) fn new() -> Fresh<T> {
        Fresh {
            slot: Arc::new(Slot(AtomicPtr::new(ptr::null_mut()))),
            deque: Deque::new_lifo(),
        }
    }

    /// The thieves' side.
    pub(crate) fn stealer(&self) -> FreshStealer<T> {
        FreshStealer {
            slot: Arc::clone(&self.slot),
            deque: self.deque.stealer(),
        }
    }

    /// The deque, for batches stolen into it.
    pub(crate) fn deque(&self) -> &Deque<Arc<T>> {
        &self.deque
    }

    /// Queues a fresh strand: into the slot; the slot's previous strand, if
    /// a thief has not taken it meanwhile, into the deque.
    pub(crate) fn push(&self, strand: Arc<T>) {
        let new = Arc::into_raw(strand).cast_mut();
        if self.slot.0.load(Ordering::Relaxed).is_null() {
            // only this worker fills the slot: empty now, it stays empty
            // until this store (which publishes the header to a thief's
            // acquiring exchange)
            self.slot.0.store(new, Ordering::Release);
        } else {
            let old = self.slot.0.swap(new, Ordering::AcqRel);
            if !old.is_null() {
                // SAFETY: as in `Slot::take`: the swap made us its owner.
                self.deque.push(unsafe { Arc::from_raw(old) });
            }
        }
    }

    /// The newest fresh strand: the slot's, else the deque's. Out of line:
    /// inlined into the pick, it cost every yield (which finds no fresh
    /// strand) a few instructions more.
    /// Says whether it came from the slot.
    #[inline(never)]
    pub(crate) fn pop(&self) -> Option<(Arc<T>, bool)> {
        match self.slot.take() {
            Some(s) => Some((s, true)),
            None => self.deque.pop().map(|s| (s, false)),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.deque.len() + usize::from(!self.slot.is_empty())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.slot.is_empty() && self.deque.is_empty()
    }
}

/// Another worker's side.
pub(crate) struct FreshStealer<T = Header> {
    slot: Arc<Slot<T>>,
    deque: Stealer<Arc<T>>,
}

impl<T> FreshStealer<T> {
    /// Strands waiting (a snapshot).
    pub(crate) fn len(&self) -> usize {
        self.deque.len() + usize::from(!self.slot.is_empty())
    }

    /// Steals a batch of the older strands into `dest` and returns one;
    /// with none there, the slot's.
    pub(crate) fn steal_batch_and_pop(&self, dest: &Fresh<T>) -> Steal<Arc<T>> {
        match self.deque.steal_batch_and_pop(&dest.deque) {
            Steal::Empty => match self.slot.take() {
                Some(s) => Steal::Success(s),
                None => Steal::Empty,
            },
            other => other,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn newest_first_for_the_owner_older_first_for_a_thief() {
        let fresh = Fresh::new();
        let thief = fresh.stealer();
        let dest = Fresh::new();
        for i in 0..4u32 {
            fresh.push(Arc::new(i));
        }
        assert_eq!((fresh.len(), thief.len()), (4, 4));
        assert_eq!(*fresh.pop().unwrap().0, 3, "the slot's, the newest");
        // a thief takes the oldest (a batch of the deque), never the slot
        // while the deque has some
        fresh.push(Arc::new(4));
        let stolen = match thief.steal_batch_and_pop(&dest) {
            Steal::Success(s) => *s,
            _ => panic!("nothing stolen"),
        };
        assert!(stolen < 3, "an older strand, not the slot's: {stolen}");
        let mut all: Vec<u32> = std::iter::from_fn(|| fresh.pop())
            .map(|(s, _)| *s)
            .collect();
        all.extend(std::iter::from_fn(|| dest.pop()).map(|(s, _)| *s));
        all.push(stolen);
        all.sort_unstable();
        assert_eq!(all, [0, 1, 2, 4], "each strand once");
        assert!(fresh.is_empty() && thief.len() == 0);
    }

    #[test]
    fn a_thief_takes_the_slot_when_it_is_all_there_is() {
        let fresh = Fresh::new();
        let thief = fresh.stealer();
        let dest = Fresh::new();
        fresh.push(Arc::new(7u32));
        match thief.steal_batch_and_pop(&dest) {
            Steal::Success(s) => assert_eq!(*s, 7),
            _ => panic!("the slot was not stolen"),
        }
        assert!(fresh.pop().is_none() && fresh.is_empty());
        assert!(matches!(thief.steal_batch_and_pop(&dest), Steal::Empty));
    }

    #[test]
    fn strands_left_in_the_slot_or_the_deque_are_dropped_with_it() {
        let probe = Arc::new(());
        let fresh = Fresh::new();
        let thief = fresh.stealer();
        fresh.push(Arc::clone(&probe));
        fresh.push(Arc::clone(&probe)); // the first moves to the deque
        assert_eq!(Arc::strong_count(&probe), 3);
        drop(fresh);
        assert_eq!(
            Arc::strong_count(&probe),
            3,
            "the thief's side keeps the slot"
        );
        drop(thief);
        assert_eq!(Arc::strong_count(&probe), 1, "nothing leaked");
    }
}
