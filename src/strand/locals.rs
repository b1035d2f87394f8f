//! The map behind [`strand_local!`](crate::strand_local): one per strand
//! (and one per plain thread), from a key's address to its boxed value.

use std::any::Any;
use std::collections::HashMap;

/// The strand-local values of one strand or thread. Each value lives in its
/// own heap allocation, so a reference to it stays valid while the map
/// grows. The map itself is made on the first insert: most strands have no
/// locals, and an empty `HashMap` still costs a random seed to make and a
/// walk to drop.
#[derive(Default)]
pub(crate) struct Locals {
    map: Option<HashMap<usize, *mut (dyn Any + 'static)>>,
}

impl Locals {
    /// The value of `key`, if it was initialised.
    pub(crate) fn get(&self, key: usize) -> Option<*mut (dyn Any + 'static)> {
        self.map.as_ref()?.get(&key).copied()
    }

    /// Takes the values out, if there are any (a strand's first frame
    /// drops them as it ends).
    pub(crate) fn take(&mut self) -> Option<Locals> {
        self.map.take().map(|map| Locals { map: Some(map) })
    }

    /// Stores the value of `key`; the map owns it from now on.
    pub(crate) fn insert(&mut self, key: usize, value: Box<dyn Any>) -> *mut (dyn Any + 'static) {
        let p = Box::into_raw(value);
        self.map.get_or_insert_with(HashMap::new).insert(key, p);
        p
    }
}

impl Drop for Locals {
    fn drop(&mut self) {
        let Some(map) = &mut self.map else {
            return;
        };
        for (_, p) in map.drain() {
            // SAFETY: every pointer came from `Box::into_raw` in `insert`
            // and is freed exactly once, here.
            drop(unsafe { Box::from_raw(p) });
        }
    }
}
