//! The runtime's timer structure: a hierarchical timing wheel.
//!
//! Chosen by measurement (`cargo bench --bench timers`, figures in
//! docs/benchmarks.md): against a `BTreeMap` keyed by deadline and a binary
//! heap with lazy cancellation, on the same workloads, the wheel was the
//! fastest on every one, 8-20 ns per operation at 10k and 100k live timers,
//! while the map cost 11-18x that on the cancel-heavy ones -- and most of a
//! runtime's timers are timeouts that never fire (a join or an I/O that
//! finishes first). The price: a timer fires up to one resolution (1 ms)
//! late, never early.
//!
//! **Shape.** 4 levels x 64 slots; level `l` slots are `64^l` ms wide, so the
//! wheel spans 64^4 ms (4.66 h); later deadlines wait in the top level and
//! cascade again when reached. Entries live in a slab, each slot is an
//! intrusive doubly linked list through the slab, so insert and cancel are
//! O(1) (a cancel goes through the key's slab index, checked by a generation
//! count). One occupancy bitmask per level finds the next non-empty slot.
//! Expiring walks slots in time order: a level-0 slot fires its entries, a
//! higher slot cascades its entries to lower levels once its start is
//! reached.

use std::time::{Duration, Instant};

const LEVELS: usize = 4;
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
const SLOT_MASK: u64 = SLOTS as u64 - 1;
/// Ticks the wheel spans: 64^4.
const SPAN: u64 = 1 << (SLOT_BITS * LEVELS as u32);
const NIL: u32 = u32::MAX;
const FREE: u16 = u16::MAX;

/// The wheel's resolution: a timer fires at most this late.
pub const RESOLUTION: Duration = Duration::from_millis(1);
const RES_NS: u64 = 1_000_000;

struct Entry<T> {
    /// Deadline in ticks since `base`, rounded up.
    tick: u64,
    payload: Option<T>,
    prev: u32,
    /// Also the free list's link while free.
    next: u32,
    /// `level * SLOTS + slot`, or `FREE`.
    list: u16,
    generation: u32,
}

/// Names one inserted timer, for [`Wheel::cancel`]. A key of a timer that
/// fired or was cancelled is stale: cancelling it does nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WheelKey {
    index: u32,
    generation: u32,
}

/// A hierarchical timing wheel of payloads `T` (see the module docs).
pub struct Wheel<T> {
    base: Instant,
    /// Every tick up to this one has been processed.
    elapsed: u64,
    heads: [u32; LEVELS * SLOTS],
    occupied: [u64; LEVELS],
    slab: Vec<Entry<T>>,
    free: u32,
    len: usize,
}

impl<T> Wheel<T> {
    /// An empty wheel whose tick 0 is `base`.
    pub fn new(base: Instant) -> Wheel<T> {
        Wheel {
            base,
            elapsed: 0,
            heads: [NIL; LEVELS * SLOTS],
            occupied: [0; LEVELS],
            slab: Vec::new(),
            free: NIL,
            len: 0,
        }
    }

    /// Timers pending.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no timer is pending.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn tick_of(&self, t: Instant) -> u64 {
        let ns = t.saturating_duration_since(self.base).as_nanos();
        u64::try_from(ns).unwrap_or(u64::MAX).div_ceil(RES_NS)
    }

    /// Adds a timer firing at `deadline` (at most [`RESOLUTION`] later).
    ///
    /// # Panics
    ///
    /// Past 2^32 - 1 pending timers.
    pub fn insert(&mut self, deadline: Instant, payload: T) -> WheelKey {
        let tick = self.tick_of(deadline);
        let index = if self.free != NIL {
            let i = self.free;
            let e = &mut self.slab[i as usize];
            self.free = e.next;
            e.tick = tick;
            e.payload = Some(payload);
            i
        } else {
            let i = u32::try_from(self.slab.len())
                .ok()
                .filter(|&i| i != NIL)
                .expect("at most 2^32 - 1 pending timers");
            self.slab.push(Entry {
                tick,
                payload: Some(payload),
                prev: NIL,
                next: NIL,
                list: FREE,
                generation: 0,
            });
            i
        };
        self.len += 1;
        self.link(index);
        WheelKey {
            index,
            generation: self.slab[index as usize].generation,
        }
    }

    /// Removes a pending timer; its payload, or `None` if the key is stale.
    pub fn cancel(&mut self, key: WheelKey) -> Option<T> {
        let e = self.slab.get(key.index as usize)?;
        if e.generation != key.generation || e.list == FREE {
            return None;
        }
        self.unlink(key.index);
        self.release(key.index)
    }

    /// Removes every timer due at `now` and hands its payload to `fire`, in
    /// deadline order to within the resolution.
    pub fn expire(&mut self, now: Instant, mut fire: impl FnMut(T)) {
        let now_tick = u64::try_from(now.saturating_duration_since(self.base).as_nanos())
            .unwrap_or(u64::MAX)
            / RES_NS;
        while let Some((level, slot, start)) = self.next_slot() {
            if start > now_tick {
                break;
            }
            self.elapsed = self.elapsed.max(start);
            let list = level * SLOTS + slot;
            let mut i = std::mem::replace(&mut self.heads[list], NIL);
            self.occupied[level] &= !(1 << slot);
            while i != NIL {
                let e = &self.slab[i as usize];
                let next = e.next;
                if e.tick <= self.elapsed {
                    if let Some(p) = self.release(i) {
                        fire(p);
                    }
                } else {
                    self.link(i); // cascade to a lower level
                }
                i = next;
            }
        }
        self.elapsed = self.elapsed.max(now_tick);
    }

    /// When [`Wheel::expire`] next has something to do: the start of the
    /// earliest non-empty slot (for a higher level, a cascade: a wake-up
    /// then may fire nothing yet). `None` when empty.
    pub fn next_expiry(&self) -> Option<Instant> {
        let (_, _, start) = self.next_slot()?;
        let ns = start.saturating_mul(RES_NS);
        Some(self.base + Duration::from_nanos(ns))
    }

    /// Removes every pending timer, in no particular order. Their keys go
    /// stale.
    pub fn drain(&mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len);
        for i in 0..self.slab.len() as u32 {
            if self.slab[i as usize].list != FREE {
                out.extend(self.release(i));
            }
        }
        self.heads = [NIL; LEVELS * SLOTS];
        self.occupied = [0; LEVELS];
        out
    }

    /// Links entry `i` into the slot its tick belongs to, relative to
    /// `elapsed`.
    fn link(&mut self, i: u32) {
        let tick = self.slab[i as usize].tick;
        let e = self.elapsed;
        // Due or past: level 0, the current slot, fired by the next expire.
        // Beyond the top level's reach: park in its last slot, which
        // cascades it again when reached (never the current top slot, so the
        // rotating search in `next_slot` stays in time order).
        let top_slot_start = e & !((1u64 << (SLOT_BITS * (LEVELS as u32 - 1))) - 1);
        let cap = top_slot_start + SPAN - 1;
        let w = tick.max(e).min(cap);
        let masked = ((e ^ w) | SLOT_MASK).min(SPAN - 1);
        let level = ((63 - masked.leading_zeros()) / SLOT_BITS) as usize;
        let slot = ((w >> (SLOT_BITS * level as u32)) & SLOT_MASK) as usize;
        let list = level * SLOTS + slot;
        let head = self.heads[list];
        let en = &mut self.slab[i as usize];
        en.prev = NIL;
        en.next = head;
        en.list = list as u16;
        if head != NIL {
            self.slab[head as usize].prev = i;
        }
        self.heads[list] = i;
        self.occupied[level] |= 1 << slot;
    }

    fn unlink(&mut self, i: u32) {
        let en = &self.slab[i as usize];
        let (prev, next, list) = (en.prev, en.next, en.list as usize);
        if prev != NIL {
            self.slab[prev as usize].next = next;
        } else {
            self.heads[list] = next;
            if next == NIL {
                self.occupied[list / SLOTS] &= !(1 << (list % SLOTS));
            }
        }
        if next != NIL {
            self.slab[next as usize].prev = prev;
        }
    }

    fn release(&mut self, i: u32) -> Option<T> {
        let en = &mut self.slab[i as usize];
        en.generation = en.generation.wrapping_add(1);
        en.list = FREE;
        en.next = self.free;
        self.free = i;
        self.len -= 1;
        en.payload.take()
    }

    /// The earliest non-empty slot: (level, slot, its start tick). Every
    /// entry at a level is earlier than every entry at the next level up.
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        for level in 0..LEVELS {
            let occ = self.occupied[level];
            if occ == 0 {
                continue;
            }
            let shift = SLOT_BITS * level as u32;
            let now_slot = (self.elapsed >> shift) & SLOT_MASK;
            let slot = (u64::from(occ.rotate_right(now_slot as u32).trailing_zeros()) + now_slot)
                & SLOT_MASK;
            let level_range = 1u64 << (shift + SLOT_BITS);
            let mut start = (self.elapsed & !(level_range - 1)) + (slot << shift);
            if start < self.elapsed && level != 0 {
                // only the top level wraps around
                start += level_range;
            }
            return Some((level, slot as usize, start));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*: deterministic, no dependency.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
        }
    }

    /// A randomized trace: inserts (some due at once, some tied, some far
    /// beyond the top level), cancels, and advances by random steps, small
    /// and huge; every firing is checked against its deadline.
    #[test]
    fn every_timer_fires_once_never_early_at_most_a_tick_late_in_order() {
        let base = Instant::now();
        let mut w = Wheel::new(base);
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        let (mut deadline, mut inserted_at, mut keys, mut state) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::<u8>::new());
        let (mut now, mut advances) = (base, 0u64);
        let far = Duration::from_secs(6 * 3600); // past the wheel's span
        let horizon = base + far + Duration::from_secs(3600);
        while now < horizon {
            for _ in 0..rng.below(40) {
                let d = match rng.below(10) {
                    0 => now + far + Duration::from_nanos(rng.below(1 << 32)),
                    1 => now,
                    2 => deadline.last().copied().unwrap_or(now).max(now),
                    _ => now + Duration::from_nanos(rng.below(10_000_000_000)),
                };
                keys.push(w.insert(d, deadline.len()));
                deadline.push(d);
                inserted_at.push(advances);
                state.push(0); // pending
            }
            for _ in 0..rng.below(12) {
                if keys.is_empty() {
                    break;
                }
                let i = rng.below(keys.len() as u64) as usize;
                let got = w.cancel(keys[i]);
                if state[i] == 0 {
                    assert_eq!(got, Some(i));
                    state[i] = 2; // cancelled
                } else {
                    assert_eq!(got, None, "a settled timer cancelled");
                }
            }
            let step = match rng.below(20) {
                0 => Duration::from_nanos(rng.below(3_600_000_000_000)),
                1..=5 => Duration::from_nanos(rng.below(100_000_000)),
                _ => Duration::from_nanos(rng.below(3_000_000)),
            };
            let prev = now;
            now += step;
            let mut latest: Option<Instant> = None;
            w.expire(now, |i| {
                assert_eq!(state[i], 0, "timer {i} fired twice or after cancel");
                state[i] = 1;
                let d = deadline[i];
                assert!(d <= now, "timer {i} fired early");
                assert!(
                    inserted_at[i] == advances || prev < d + RESOLUTION,
                    "timer {i} fired late"
                );
                if let Some(l) = latest {
                    assert!(l <= d + RESOLUTION, "timer {i} out of order");
                }
                latest = Some(latest.map_or(d, |l| l.max(d)));
            });
            if let Some(next) = w.next_expiry() {
                assert!(next + RESOLUTION > now, "next_expiry in the past");
            }
            advances += 1;
        }
        w.expire(horizon + far + far, |i| {
            assert_eq!(state[i], 0, "timer {i} fired twice");
            state[i] = 1;
        });
        assert!(state.iter().all(|&s| s != 0), "a timer never fired");
        assert!(w.is_empty());
        assert_eq!(w.next_expiry(), None);
    }

    #[test]
    fn next_expiry_is_never_later_than_the_earliest_deadline_s_tick() {
        let base = Instant::now();
        let mut w = Wheel::new(base);
        let mut rng = Rng(7);
        let mut earliest: Option<Instant> = None;
        for i in 0..1000 {
            let d = base + Duration::from_nanos(rng.below(20_000_000_000));
            w.insert(d, i);
            earliest = Some(earliest.map_or(d, |e| e.min(d)));
            let next = w.next_expiry().unwrap();
            // deadlines round up to the next tick, so at most one later
            assert!(next <= earliest.unwrap() + RESOLUTION, "{i}");
        }
    }

    #[test]
    fn drain_takes_everything_and_keys_go_stale() {
        let base = Instant::now();
        let mut w = Wheel::new(base);
        let k = w.insert(base + Duration::from_secs(1), 'a');
        w.insert(base + Duration::from_secs(100_000), 'b');
        let mut all = w.drain();
        all.sort();
        assert_eq!(all, ['a', 'b']);
        assert!(w.is_empty());
        let k2 = w.insert(base, 'c');
        assert_eq!(w.cancel(k), None, "a key from before the drain");
        assert_eq!(w.cancel(k2), Some('c'));
    }
}
