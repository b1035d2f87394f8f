//! A vector of slots with a free list: O(1) insert and remove by index,
//! memory bounded by the peak number of entries (and given back when the
//! slab empties after a burst).

/// Capacity kept when the slab empties; more than this is freed.
const KEEP: usize = 64;

pub(crate) struct Slab<T> {
    slots: Vec<Option<T>>,
    free: Vec<usize>,
    len: usize,
}

impl<T> Slab<T> {
    pub(crate) const fn new() -> Slab<T> {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Stores `v` and returns its key.
    pub(crate) fn insert(&mut self, v: T) -> usize {
        self.len += 1;
        match self.free.pop() {
            Some(i) => {
                debug_assert!(self.slots[i].is_none());
                self.slots[i] = Some(v);
                i
            }
            None => {
                self.slots.push(Some(v));
                self.slots.len() - 1
            }
        }
    }

    /// Takes the value under `key`, if there is one.
    pub(crate) fn remove(&mut self, key: usize) -> Option<T> {
        let v = self.slots.get_mut(key)?.take()?;
        self.len -= 1;
        if self.len == 0 {
            self.slots.clear();
            self.free.clear();
            if self.slots.capacity() > KEEP {
                self.slots.shrink_to(KEEP);
                self.free.shrink_to(KEEP);
            }
        } else {
            self.free.push(key);
        }
        Some(v)
    }

    /// The value under `key`, if there is one.
    pub(crate) fn get(&self, key: usize) -> Option<&T> {
        self.slots.get(key)?.as_ref()
    }

    /// The value under `key`, mutably.
    pub(crate) fn get_mut(&mut self, key: usize) -> Option<&mut T> {
        self.slots.get_mut(key)?.as_mut()
    }

    /// Takes every value out, leaving the slab empty.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = T> {
        self.len = 0;
        self.free = Vec::new();
        std::mem::take(&mut self.slots).into_iter().flatten()
    }

    /// The values, in key order.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().flatten()
    }

    /// The values, mutably, in key order.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.slots.iter_mut().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::Slab;

    #[test]
    fn keys_are_reused_and_memory_is_given_back() {
        let mut s = Slab::new();
        let keys: Vec<_> = (0..1000).map(|i| s.insert(i)).collect();
        assert_eq!(s.len(), 1000);
        assert_eq!(s.remove(keys[10]), Some(10));
        assert_eq!(s.remove(keys[10]), None);
        assert_eq!(s.insert(7), keys[10]);
        for k in keys {
            s.remove(k);
        }
        assert_eq!(s.len(), 0);
        assert!(s.slots.capacity() <= super::KEEP);
        assert_eq!(s.iter().count(), 0);
    }
}
