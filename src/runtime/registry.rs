//! Every live strand of a runtime, so that shutdown can cancel them all
//! (including the parked ones, which no queue holds), and their count.
//!
//! Sharded to keep the lock of each spawn and each finish uncontended and
//! local: a strand spawned on a worker goes into that worker's shard (so the
//! shard's cache line stays on that core when the strand also finishes
//! there). Each shard is a slab whose slot the strand keeps (shard and index
//! in one word), so insert and remove are a lock and an index, no hashing.
//!
//! Each shard also counts its live strands and holds the admissions it has
//! from the gate (`gate.rs`): counting there, under the lock the spawn and
//! the finish take anyway, spares both a read-modify-write of a counter
//! every worker shares.
//!
//! Entries are `Weak`, so the registry never keeps a strand alive and never
//! depends on anyone else's discipline to stay sound. (Plain pointers would
//! save an atomic each way, but a strand whose last owner dropped it
//! without finishing, such as a waker lost by a bug, would leave a dangling
//! entry; a `Weak` then just fails to upgrade.)

use super::gate::{Full, Gate};
use crate::loom::{Arc, AtomicUsize, Ordering, Weak};
use crate::spin::{RawGuard, RawMutex};
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

/// Admissions a shard takes from the gate at a time; it gives back a block
/// when it holds more than two spare.
const ADMIT_BLOCK: usize = 64;

struct Slab<T: ?Sized> {
    slots: Vec<Option<Weak<T>>>,
    free: Vec<usize>,
    /// Strands registered here and not yet removed.
    live: usize,
    /// Admissions held for the next spawns here.
    spare: usize,
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
                    live: 0,
                    spare: 0,
                })
            }),
        }
    }

    /// Admits and registers a fresh strand in shard `hint % SHARDS`
    /// (before anyone else can see it). Returns whether the gate had
    /// closed, asked under the shard's lock (a shutdown that went through
    /// the shard before is ordered before it: see `gate.rs`), or [`Full`]
    /// at the bound on live strands (the strand is then not registered).
    pub(crate) fn insert(&self, strand: &Arc<T>, hint: usize, gate: &Gate) -> Result<bool, Full> {
        let shard = hint % SHARDS;
        // (made before the lock: its reference count is an atomic, which
        // need not lengthen the critical section)
        let weak = Arc::downgrade(strand);
        let mut slab = self.shards[shard].lock();
        if slab.spare == 0 {
            slab.spare = gate.take(ADMIT_BLOCK);
        }
        if slab.spare == 0 {
            // at the bound, as far as this shard can tell
            drop(slab);
            slab = self.admit_exactly(shard, gate)?;
        }
        slab.spare -= 1;
        slab.live += 1;
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
        let closed = gate.closed_under_shard_lock();
        drop(slab);
        Ok(closed)
    }

    /// Forgets a finished (or refused) strand. Returns whether it was the
    /// last of its shard after the gate closed: the caller then tells the
    /// shutdown ([`Gate::notify_drained`]) and the workers.
    #[inline]
    pub(crate) fn remove(&self, strand: &T, gate: &Gate) -> bool {
        // the shard never changes after insert: reading it unlocked is fine
        let shard = strand.registry_slot().load(Ordering::Relaxed) % SHARDS;
        let mut slab = self.shards[shard].lock();
        let slot = strand.registry_slot().load(Ordering::Relaxed) / SHARDS;
        let old = slab.slots.get_mut(slot).and_then(Option::take);
        let mut last = false;
        if old.is_some() {
            slab.free.push(slot);
            slab.live -= 1;
            slab.spare += 1;
            if slab.spare > 2 * ADMIT_BLOCK {
                slab.spare -= ADMIT_BLOCK;
                gate.give(ADMIT_BLOCK);
            }
            last = slab.live == 0 && gate.closed_under_shard_lock();
        }
        drop(slab);
        drop(old);
        last
    }

    /// The slow path of an admission, when the gate has none left to hand
    /// out: with every shard locked (in order, so two of these cannot
    /// deadlock; everyone else holds one shard at a time), nothing else
    /// takes or gives, and the spare admissions of every shard go back to
    /// the gate. If there is still none, the live strands are exactly at
    /// the bound: [`Full`]. Returns `shard`'s slab, locked, with one.
    fn admit_exactly(&self, shard: usize, gate: &Gate) -> Result<RawGuard<'_, Slab<T>>, Full> {
        let mut all: Vec<_> = self.shards.iter().map(RawMutex::lock).collect();
        for slab in &mut all {
            gate.give(std::mem::take(&mut slab.spare));
        }
        let granted = gate.take(1);
        if granted == 0 {
            return Err(Full);
        }
        let mut slab = all.swap_remove(shard);
        slab.spare = granted;
        Ok(slab)
    }

    /// Strands registered now (each shard read under its lock).
    pub(crate) fn live(&self) -> usize {
        self.shards.iter().map(|s| s.lock().live).sum()
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

#[cfg(all(test, loom))]
mod loom_tests {
    //! The two handshakes of `gate.rs` (spawn vs shutdown, finish vs
    //! shutdown), with the real registry and gate.
    use super::{Gate, Registered, Registry};
    use crate::loom::{Arc, AtomicUsize, Condvar, Mutex};

    struct MockStrand {
        slot: AtomicUsize,
        cancelled: Mutex<bool>,
        cv: Condvar,
    }

    impl Registered for MockStrand {
        fn registry_slot(&self) -> &AtomicUsize {
            &self.slot
        }
    }

    impl MockStrand {
        fn cancel(&self) {
            *self.cancelled.lock().unwrap() = true;
            self.cv.notify_all();
        }
        fn run_until_cancelled(&self) {
            let mut c = self.cancelled.lock().unwrap();
            while !*c {
                c = self.cv.wait(c).unwrap();
            }
        }
    }

    /// A spawner (from outside, whose strand is refused once the gate is
    /// closed, or from a strand, whose strand is then cancelled before it
    /// starts) against a shutdown that closes, cancels every registered
    /// strand and waits for the registry to empty: the shutdown never waits
    /// forever and never misses a strand.
    fn spawn_races_shutdown(own: bool) {
        loom::model(move || {
            let gate = Arc::new(Gate::new(8));
            let reg = Arc::new(Registry::<MockStrand>::new());
            let (g, r) = (Arc::clone(&gate), Arc::clone(&reg));
            let spawner = loom::thread::spawn(move || {
                let s = Arc::new(MockStrand {
                    slot: AtomicUsize::new(usize::MAX),
                    cancelled: Mutex::new(false),
                    cv: Condvar::new(),
                });
                if r.insert(&s, 0, &g).expect("under the bound") {
                    if own {
                        s.cancel(); // a pre-cancelled strand
                    } else {
                        // refused
                        if r.remove(&s, &g) {
                            g.notify_drained();
                        }
                        return;
                    }
                }
                s.run_until_cancelled();
                if r.remove(&s, &g) {
                    g.notify_drained();
                }
            });
            assert!(!gate.close());
            for s in reg.all() {
                s.cancel();
            }
            assert!(gate.wait_drained(|| reg.live(), None));
            spawner.join().unwrap();
        });
    }

    /// A strand that finishes on its own while a shutdown closes and
    /// waits: the shutdown sees its shard empty, or the finish sees the
    /// close and wakes it.
    #[test]
    fn loom_finish_races_shutdown() {
        loom::model(|| {
            let gate = Arc::new(Gate::new(8));
            let reg = Arc::new(Registry::<MockStrand>::new());
            let s = Arc::new(MockStrand {
                slot: AtomicUsize::new(usize::MAX),
                cancelled: Mutex::new(false),
                cv: Condvar::new(),
            });
            assert!(!reg.insert(&s, 0, &gate).expect("under the bound"));
            let (g, r) = (Arc::clone(&gate), Arc::clone(&reg));
            let finisher = loom::thread::spawn(move || {
                if r.remove(&s, &g) {
                    g.notify_drained();
                }
            });
            assert!(!gate.close());
            assert!(gate.wait_drained(|| reg.live(), None));
            finisher.join().unwrap();
        });
    }

    #[test]
    fn loom_spawn_from_outside_races_shutdown() {
        spawn_races_shutdown(false);
    }

    #[test]
    fn loom_spawn_from_a_strand_races_shutdown() {
        spawn_races_shutdown(true);
    }
}
