//! [`KeyedMutex`]: one holder per key, entries only while in use.
//!
//! # Invariants
//!
//! - A key has an entry in its shard's map exactly while someone holds it.
//!   The entry is the FIFO of the key's waiters (the wait list's `Queue`).
//! - Unlocking hands the key straight to the first waiter (the entry stays);
//!   with no waiter left it removes the entry. So an entry with nobody
//!   holding it never exists, and the map holds at most one entry per holder.
//! - A waiter's node is linked only in its key's entry. An entry is removed
//!   only when its queue is empty, so a withdrawing waiter whose entry is
//!   gone (or was made anew by a later `lock`) finds its node already
//!   unlinked, and unlinking it again is a no-op.

use crate::spin::RawMutex;
use crate::sync::waitlist::{self, Queue, WaitSpec, Wakes};
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hash, RandomState};
use std::ptr;

/// Shards of the key map: keys spread over this many locks. A power of two.
const SHARDS: usize = 32;
/// The token a waiter gets with the key.
const HANDED: usize = 0;
/// A shard's map keeps no more than this many free slots per live entry
/// (above a small floor): after a burst of keys it shrinks back.
const SLACK: usize = 8;
const MIN_CAPACITY: usize = 64;

/// A lock per key: [`lock(key)`](KeyedMutex::lock) lets one holder per key
/// run, while holders of different keys run in parallel. Typical use:
/// serialising the mutations of each file path, account or row, from many
/// strands at once.
///
/// - **Bounded memory.** A key takes memory only while it is held or waited
///   for: the last guard of a key with no waiter removes its entry, so
///   millions of distinct keys over time cost nothing once released
///   ([`len`](KeyedMutex::len) counts the live entries).
/// - **Fair per key.** Waiters for one key queue in FIFO order and the key is
///   handed straight to the first of them; a newcomer cannot take it in
///   between.
/// - **Parks, like [`sync::Mutex`](crate::sync::Mutex).** A strand waiting
///   for a key parks (its worker runs other strands); a plain thread
///   blocks.
/// - **Cancellation.** A strand cancelled while waiting leaves the queue
///   and unwinds; if the key had been handed to it first, `lock` returns
///   the guard as usual (released when it drops: to the next waiter, or
///   the entry is removed) and the cancellation fires at the next blocking
///   point. Nothing is left behind.
/// - **No poisoning.** The lock guards no data of its own, so a holder that
///   unwinds simply releases the key.
/// - **Recursive locking deadlocks:** locking a key the caller already holds
///   parks the caller forever.
/// - Keys spread over a fixed number of internally locked shards by hash, so
///   different keys rarely contend on anything. `K`'s `Hash` and `Eq` (and
///   its `Drop`, for the spare copy of a key that had to wait) run under a
///   shard's short internal lock: they must not block or panic. Each `lock`
///   clones the key once, outside the lock.
///
/// ```
/// use std::sync::Arc;
/// use strands::join::KeyedMutex;
///
/// strands::run(|| {
///     let files = Arc::new(KeyedMutex::new());
///     let log = Arc::new(std::sync::Mutex::new(Vec::new()));
///     let hs: Vec<_> = (0..6)
///         .map(|i| {
///             let (files, log) = (Arc::clone(&files), Arc::clone(&log));
///             strands::spawn(move || {
///                 let path = if i % 2 == 0 { "a.txt" } else { "b.txt" };
///                 let _g = files.lock(path.to_string()); // one writer per path
///                 log.lock().unwrap().push(path);
///                 strands::yield_now();
///             })
///         })
///         .collect();
///     hs.into_iter().for_each(|h| h.join().unwrap());
///     assert_eq!(log.lock().unwrap().len(), 6);
///     assert_eq!(files.len(), 0); // nothing held, nothing kept
/// });
/// ```
pub struct KeyedMutex<K> {
    shards: Box<[Padded<RawMutex<Shard<K>>>]>,
    hasher: RandomState,
}

/// Keeps shards on separate cache lines.
#[repr(align(64))]
struct Padded<T>(T);

struct Shard<K> {
    /// The held keys, each with its waiters. Its own hasher: its keys share
    /// the bits that chose the shard.
    map: HashMap<K, Queue>,
    /// Always empty: what a waiter whose entry is gone withdraws from.
    spare: Queue,
}

/// Proof of holding one key of a [`KeyedMutex`]; releases it (handing it to
/// the next waiter) when dropped.
///
/// ```
/// let km = strands::join::KeyedMutex::new();
/// let g = km.lock("k");
/// assert_eq!(*g.key(), "k");
/// assert!(km.try_lock("k").is_none());
/// drop(g);
/// assert!(km.try_lock("k").is_some());
/// ```
#[must_use = "if unused the key is released at once"]
pub struct KeyedGuard<'a, K: Eq + Hash> {
    owner: &'a KeyedMutex<K>,
    shard: usize,
    /// Taken by `drop`.
    key: Option<K>,
}

impl<K: Eq + Hash + Clone> KeyedMutex<K> {
    /// An empty keyed mutex: no key held.
    ///
    /// ```
    /// let locks = strands::join::KeyedMutex::<String>::new();
    /// assert!(locks.is_empty());
    /// ```
    pub fn new() -> KeyedMutex<K> {
        KeyedMutex {
            shards: (0..SHARDS)
                .map(|_| {
                    Padded(RawMutex::new(Shard {
                        map: HashMap::new(),
                        spare: Queue::new(),
                    }))
                })
                .collect(),
            hasher: RandomState::new(),
        }
    }

    /// Locks `key`, parking until no one else holds it. Waiters for one key
    /// are served in FIFO order; other keys are not affected.
    ///
    /// ```
    /// let km = strands::join::KeyedMutex::new();
    /// let a = km.lock(1);
    /// let b = km.lock(2); // another key: does not wait
    /// assert_eq!(km.len(), 2);
    /// drop((a, b));
    /// assert!(km.is_empty());
    /// ```
    pub fn lock(&self, key: K) -> KeyedGuard<'_, K> {
        let shard = self.shard_of(&key);
        let lock = &self.shards[shard].0;
        let mine = key.clone(); // the map's copy, made before locking
        let mut st = waitlist::lock(lock);
        if let Entry::Vacant(free) = st.map.entry(mine) {
            free.insert(Queue::new());
            drop(st);
            return self.guard(shard, key);
        }
        let token = waitlist::wait(
            st,
            WaitSpec {
                lock,
                queue: |s: &mut Shard<K>| s.queue_of(&key),
                tag: 0,
                kind: crate::strand::WaitKind::KeyedLock,
                data: ptr::null_mut(),
                deadline: None,
                cancellable: true,
                registered: || {},
                // The key is held by someone else (else we would have been
                // handed it): its entry stays.
                withdrawn: |_: &mut Shard<K>| Wakes::none(),
                // Handed the key, but unwinding: hand it on.
                abandoned: |_| self.unlock(shard, key.clone()),
            },
        );
        debug_assert_eq!(token, Some(HANDED));
        self.guard(shard, key)
    }

    /// Locks `key` if nobody holds it (and so nobody waits for it).
    ///
    /// ```
    /// let km = strands::join::KeyedMutex::new();
    /// let g = km.try_lock("x").unwrap();
    /// assert!(km.try_lock("x").is_none());
    /// assert!(km.try_lock("y").is_some());
    /// drop(g);
    /// ```
    pub fn try_lock(&self, key: K) -> Option<KeyedGuard<'_, K>> {
        let shard = self.shard_of(&key);
        let mine = key.clone();
        let mut st = waitlist::lock(&self.shards[shard].0);
        match st.map.entry(mine) {
            Entry::Occupied(_) => None,
            Entry::Vacant(free) => {
                free.insert(Queue::new());
                drop(st);
                Some(self.guard(shard, key))
            }
        }
    }
}

impl<K: Eq + Hash> KeyedMutex<K> {
    /// The number of keys held now (each with its waiters). Zero once
    /// nobody holds or waits for any key: entries do not outlive their use.
    /// A snapshot: it may change as soon as it is returned.
    ///
    /// ```
    /// let km = strands::join::KeyedMutex::new();
    /// for i in 0..1000 {
    ///     let _g = km.lock(i);
    /// }
    /// assert_eq!(km.len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| waitlist::lock(&s.0).map.len())
            .sum()
    }

    /// Whether no key is held.
    ///
    /// ```
    /// let km = strands::join::KeyedMutex::new();
    /// assert!(km.is_empty());
    /// let _g = km.lock('k');
    /// assert!(!km.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries the shards' maps have room for, in total (for tests of
    /// the memory bound: it shrinks back after a burst of keys).
    #[doc(hidden)]
    pub fn __capacity(&self) -> usize {
        self.shards
            .iter()
            .map(|s| waitlist::lock(&s.0).map.capacity())
            .sum()
    }

    fn shard_of(&self, key: &K) -> usize {
        // The high bits: the map inside the shard hashes with its own seed.
        (self.hasher.hash_one(key) >> 58) as usize & (SHARDS - 1)
    }

    fn guard(&self, shard: usize, key: K) -> KeyedGuard<'_, K> {
        KeyedGuard {
            owner: self,
            shard,
            key: Some(key),
        }
    }

    /// Hands `key` (held by the caller) to its first waiter, or removes its
    /// entry if none is left.
    fn unlock(&self, shard: usize, key: K) {
        let mut st = waitlist::lock(&self.shards[shard].0);
        // Out of the map and, if a waiter takes the key, back in: one hash
        // when nobody waits. Moving a queue moves no node (nodes point to
        // each other, never to their queue), and nobody looks the entry up
        // while we hold the shard's lock.
        let (stored, mut queue) = st.map.remove_entry(&key).expect("a held key has an entry");
        match queue.claim_first(ptr::null()) {
            Some(claim) => {
                st.map.insert(stored, queue);
                let w = claim.complete(HANDED);
                drop(st);
                w.wake();
            }
            None => {
                // `claim_first` unlinked every withdrawn node on its way:
                // the queue is empty, and so is the key's entry gone.
                debug_assert!(queue.is_empty());
                st.shrink();
                drop(st);
                drop(stored); // `K`'s drop: not under the lock
            }
        }
    }
}

impl<K: Eq + Hash> Shard<K> {
    /// The queue of `key`'s entry, or, if it has none, an empty queue in
    /// which nothing is linked (a withdrawing waiter whose node a claim
    /// already unlinked).
    fn queue_of(&mut self, key: &K) -> &mut Queue {
        match self.map.get_mut(key) {
            Some(q) => q,
            // Never linked into: unlinking an unlinked node changes nothing.
            None => &mut self.spare,
        }
    }

    /// Gives memory back after a burst of keys.
    fn shrink(&mut self) {
        let cap = self.map.capacity();
        if cap > MIN_CAPACITY && self.map.len() * SLACK < cap {
            self.map
                .shrink_to((self.map.len() * 2).max(MIN_CAPACITY / 2));
        }
    }
}

impl<K: Eq + Hash + Clone> Default for KeyedMutex<K> {
    fn default() -> KeyedMutex<K> {
        KeyedMutex::new()
    }
}

impl<K: Eq + Hash> fmt::Debug for KeyedMutex<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedMutex")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl<K: Eq + Hash> KeyedGuard<'_, K> {
    /// The key this guard holds.
    ///
    /// ```
    /// let km = strands::join::KeyedMutex::new();
    /// assert_eq!(*km.lock(7).key(), 7);
    /// ```
    pub fn key(&self) -> &K {
        self.key.as_ref().expect("held until dropped")
    }
}

impl<K: Eq + Hash> Drop for KeyedGuard<'_, K> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.owner.unlock(self.shard, key);
        }
    }
}

impl<K: Eq + Hash + fmt::Debug> fmt::Debug for KeyedGuard<'_, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedGuard")
            .field("key", self.key())
            .finish_non_exhaustive()
    }
}
