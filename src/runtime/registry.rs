//! Every live strand of a runtime, so that shutdown can cancel them all
//! (including the parked ones, which no queue holds).
//!
//! Sharded to keep the lock of each spawn and each finish uncontended and
//! local: a strand spawned on a worker goes into that worker's shard (so the
//! shard's cache line stays on that core when the strand also finishes
//! there). Each shard is a slab whose slot the strand keeps (shard and index
//! in one word), so insert and remove are a lock and an index, no hashing.
//!
//! Entries are `Weak`, so the registry never keeps a strand alive and never
//! depends on anyone else's discipline to stay sound. (Plain pointers would
//! save an atomic each way, but a strand whose last owner dropped it
//! without finishing, such as a waker lost by a bug, would leave a dangling
//! entry; a `Weak` then just fails to upgrade.)

use crate::loom::{Arc, AtomicUsize, Ordering, Weak};
use crate::spin::RawMutex;
use crate::strand::Header;

/// What the registry needs of an entry.
pub(crate) trait Registered {
    /// Where the entry keeps its shard and slot.
    fn registry_slot(&self) -> &AtomicUsize;
}

impl Registered for Header {
    fn registry_slot(&self) -> &AtomicUsize {
        &self.registry_slot
    }
}

const SHARDS: usize = 16;

struct Slab<T: ?Sized> {
    slots: Vec<Option<Weak<T>>>,
    free: Vec<usize>,
}

pub(crate) struct Registry<T: ?Sized = Header> {
    /// Each under the short spin lock (`spin.rs`): held for a slab push or
    /// pop, and its unlock is a plain store where `std`'s is a swap.
    shards: [RawMutex<Slab<T>>; SHARDS],
}

impl<T: Registered + ?Sized> Registry<T> {
    pub(crate) fn new() -> Registry<T> {
        Registry {
            shards: std::array::from_fn(|_| {
                RawMutex::new(Slab {
                    slots: Vec::new(),
                    free: Vec::new(),
                })
            }),
        }
    }

    /// Registers a fresh strand in shard `hint % SHARDS` (before anyone
    /// else can see it), and returns what `check` says, asked under the
    /// shard's lock (a shutdown that went through the shard before is
    /// ordered before it: see `gate.rs`).
    pub(crate) fn insert(
        &self,
        strand: &Arc<T>,
        hint: usize,
        check: impl FnOnce() -> bool,
    ) -> bool {
        let shard = hint % SHARDS;
        let weak = Arc::downgrade(strand);
        let mut slab = self.shards[shard].lock();
        let slot = match slab.free.pop() {
            Some(i) => {
                slab.slots[i] = Some(weak);
                i
            }
            None => {
                slab.slots.push(Some(weak));
                slab.slots.len() - 1
            }
        };
        // under the lock: a `remove` (under the same lock) reads it
        strand
            .registry_slot()
            .store(slot * SHARDS + shard, Ordering::Relaxed);
        let answer = check();
        drop(slab);
        answer
    }

    /// Forgets a finished strand.
    pub(crate) fn remove(&self, strand: &T) {
        // the shard never changes after insert: reading it unlocked is fine
        let shard = strand.registry_slot().load(Ordering::Relaxed) % SHARDS;
        let mut slab = self.shards[shard].lock();
        let slot = strand.registry_slot().load(Ordering::Relaxed) / SHARDS;
        let old = slab.slots.get_mut(slot).and_then(Option::take);
        if old.is_some() {
            slab.free.push(slot);
        }
        drop(slab);
        drop(old);
    }

    /// Every strand still registered (a snapshot).
    pub(crate) fn all(&self) -> Vec<Arc<T>> {
        let mut out = Vec::new();
        for shard in &self.shards {
            let slab = shard.lock();
            out.extend(slab.slots.iter().flatten().filter_map(Weak::upgrade));
        }
        out
    }
}
