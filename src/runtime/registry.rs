//! Every live strand of a runtime, so that shutdown can cancel them all
//! (including the parked ones, which no queue holds).
//!
//! Sharded by strand id to keep the lock of each spawn and each finish
//! uncontended; each shard is a slab whose slot index the strand keeps, so
//! insert and remove are a lock and an index, no hashing. Entries are
//! `Weak`, so the registry never keeps a strand alive.

use crate::loom::{Arc, Mutex, Ordering, Weak};
use crate::strand::{Header, Task};

const SHARDS: usize = 16;

#[derive(Default)]
struct Slab {
    slots: Vec<Option<Weak<Header>>>,
    free: Vec<usize>,
}

pub(crate) struct Registry {
    shards: [Mutex<Slab>; SHARDS],
}

impl Registry {
    pub(crate) fn new() -> Registry {
        Registry {
            shards: std::array::from_fn(|_| Mutex::new(Slab::default())),
        }
    }

    fn shard(&self, task: &Header) -> &Mutex<Slab> {
        &self.shards[(task.id.as_u64() as usize) % SHARDS]
    }

    /// Registers a fresh strand (before anyone else can see it).
    pub(crate) fn insert(&self, task: &Task) {
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
        drop(slab);
        task.registry_slot.store(slot, Ordering::Relaxed);
    }

    /// Forgets a finished strand.
    pub(crate) fn remove(&self, task: &Header) {
        let slot = task.registry_slot.load(Ordering::Relaxed);
        let mut slab = self.shard(task).lock().unwrap_or_else(|e| e.into_inner());
        let old = slab.slots.get_mut(slot).and_then(Option::take);
        if old.is_some() {
            slab.free.push(slot);
        }
        drop(slab);
        drop(old);
    }

    /// Every strand still registered (a snapshot).
    pub(crate) fn all(&self) -> Vec<Task> {
        let mut out = Vec::new();
        for shard in &self.shards {
            let slab = shard.lock().unwrap_or_else(|e| e.into_inner());
            out.extend(slab.slots.iter().flatten().filter_map(Weak::upgrade));
        }
        out
    }
}
