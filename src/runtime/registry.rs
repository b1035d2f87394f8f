//! Every live strand of a runtime, so that shutdown can cancel them all
//! (including the parked ones, which no queue holds).
//!
//! Sharded by strand id to keep the lock of each spawn and each finish
//! uncontended; entries are `Weak` so the registry never keeps a strand
//! alive.

use crate::loom::Mutex;
use crate::strand::{Header, StrandId, Task};
use std::collections::HashMap;
use std::sync::Weak;

const SHARDS: usize = 16;

pub(crate) struct Registry {
    shards: [Mutex<HashMap<StrandId, Weak<Header>>>; SHARDS],
}

impl Registry {
    pub(crate) fn new() -> Registry {
        Registry {
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
        }
    }

    fn shard(&self, id: StrandId) -> &Mutex<HashMap<StrandId, Weak<Header>>> {
        &self.shards[(id.as_u64() as usize) % SHARDS]
    }

    pub(crate) fn insert(&self, task: &Task) {
        self.shard(task.id)
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(task.id, std::sync::Arc::downgrade(task));
    }

    pub(crate) fn remove(&self, id: StrandId) {
        let w = self
            .shard(id)
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        drop(w);
    }

    /// Every strand still registered (a snapshot).
    pub(crate) fn all(&self) -> Vec<Task> {
        let mut out = Vec::new();
        for shard in &self.shards {
            let shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            out.extend(shard.values().filter_map(Weak::upgrade));
        }
        out
    }
}
