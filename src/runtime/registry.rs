//! Every live strand of a runtime, so that shutdown can cancel them all
//! (including the parked ones, which no queue holds).
//!
//! Sharded by strand id to keep the lock of each spawn and each finish
//! uncontended; each shard is a slab whose slot index the strand keeps, so
//! insert and remove are a lock and an index, no hashing. Entries are
//! `Weak`, so the registry never keeps a strand alive.

use crate::loom::{Arc, AtomicUsize, Mutex, Ordering, Weak};
use crate::strand::Header;

/// What the registry needs of an entry.
pub(crate) trait Registered {
    /// Spreads entries over the shards.
    fn registry_key(&self) -> u64;
    /// Where the entry keeps its slot index.
    fn registry_slot(&self) -> &AtomicUsize;
}

impl Registered for Header {
    fn registry_key(&self) -> u64 {
        self.id.as_u64()
    }
    fn registry_slot(&self) -> &AtomicUsize {
        &self.registry_slot
    }
}

const SHARDS: usize = 16;

struct Slab<T> {
    slots: Vec<Option<Weak<T>>>,
    free: Vec<usize>,
}

pub(crate) struct Registry<T = Header> {
    shards: [Mutex<Slab<T>>; SHARDS],
}

impl<T: Registered> Registry<T> {
    pub(crate) fn new() -> Registry<T> {
        Registry {
            shards: std::array::from_fn(|_| {
                Mutex::new(Slab {
                    slots: Vec::new(),
                    free: Vec::new(),
                })
            }),
        }
    }

    fn shard(&self, task: &T) -> &Mutex<Slab<T>> {
        &self.shards[(task.registry_key() as usize) % SHARDS]
    }

    /// Registers a fresh strand (before anyone else can see it).
    pub(crate) fn insert(&self, task: &Arc<T>) {
        let weak = Arc::downgrade(task);
        let mut slab = self.shard(task).lock().unwrap_or_else(|e| e.into_inner());
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
        task.registry_slot().store(slot, Ordering::Relaxed);
        drop(slab);
    }

    /// Forgets a finished strand.
    pub(crate) fn remove(&self, task: &T) {
        let mut slab = self.shard(task).lock().unwrap_or_else(|e| e.into_inner());
        let slot = task.registry_slot().load(Ordering::Relaxed);
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
            let slab = shard.lock().unwrap_or_else(|e| e.into_inner());
            out.extend(slab.slots.iter().flatten().filter_map(Weak::upgrade));
        }
        out
    }
}
