//! The map behind [`strand_local!`](crate::strand_local): one per strand
//! (and one per plain thread), from a key's address to its boxed value.

use std::any::Any;
use std::collections::HashMap;

/// The strand-local values of one strand or thread. Each value lives in its
/// own heap allocation, so a reference to it stays valid while the map
/// grows.
#[derive(Default)]
pub(crate) struct Locals {
    map: HashMap<usize, *mut (dyn Any + 'static)>,
}

impl Locals {
    /// The value of `key`, if it was initialised.
    pub(crate) fn get(&self, key: usize) -> Option<*mut (dyn Any + 'static)> {
        self.map.get(&key).copied()
    }

    /// Stores the value of `key`; the map owns it from now on.
    pub(crate) fn insert(&mut self, key: usize, value: Box<dyn Any>) -> *mut (dyn Any + 'static) {
        let p = Box::into_raw(value);
        self.map.insert(key, p);
        p
    }
}

impl Drop for Locals {
    fn drop(&mut self) {
        for (_, p) in self.map.drain() {
            // SAFETY: every pointer came from `Box::into_raw` in `insert`
            // and is freed exactly once, here.
            drop(unsafe { Box::from_raw(p) });
        }
    }
}
