//! Timer structures on the same workloads, to choose the runtime's one
//! timer structure by measurement (`cargo bench --bench timers`).
//!
//! Three self-contained implementations, each holding a `u64` payload where
//! the runtime holds a `Waiter` (the mutex around the structure is the same
//! whichever is chosen, so it is left out):
//!
//! - `btreemap`: `BTreeMap<(Instant, u64), u64>`, what `src/runtime/timer.rs`
//!   uses: insert, remove by key to cancel, pop-first to expire.
//! - `heap`: `BinaryHeap` of `(Instant, seq, slot)` with lazy cancellation:
//!   a cancel frees the payload's slot (a slab indexed by the handle), and
//!   expiry pops and skips entries whose slot no longer holds their `seq`;
//!   the heap is rebuilt without dead entries when they outnumber the live
//!   ones (amortized O(1) per cancel), so cancel-only traffic cannot grow it
//!   without bound.
//! - `wheel`: the runtime's own (`src/runtime/wheel.rs`, since this
//!   benchmark chose it): hierarchical timing wheel, 4 levels x 64 slots, 1 ms
//!   resolution (64^4 ms = 4.66 h; later deadlines park in the top level and
//!   cascade again); entries in a slab, each slot an intrusive doubly linked
//!   list, so cancel is O(1) through the handle's slab index; one occupancy
//!   bitmask per level finds the next non-empty slot; advancing cascades a
//!   higher-level slot into lower ones when its start is reached.
//!
//! Workloads, N = 10,000 and 100,000 timers, deadlines uniform in
//! 1 ms..10 s (xorshift, fixed seed), every figure in ns per operation:
//!
//! 1. `insert_cancel`: insert N, then cancel all N in insertion order
//!    (timeouts that do not fire: join_timeout, I/O timeouts); per op = per
//!    insert or cancel (total / 2N).
//! 2. `insert_expire`: insert N, then advance time past the last deadline in
//!    one step, taking every timer in order (total / 2N).
//!    `insert_expire_1ms`: the same, advancing in 1 ms steps (10,001
//!    advances), as a timer thread waking for each deadline would.
//! 3. `steady`: N live; each op is one insert plus one cancel (of the
//!    timer inserted N pairs earlier): ns per pair.
//!
//! Before measuring, `check` runs every implementation through a randomized
//! trace and asserts that each uncancelled timer fires exactly once, never
//! before its deadline, no later than the first advance at least one
//! resolution past it, and in deadline order (exact for the map and heap,
//! to within 1 ms for the wheel); cancelled timers never fire.

#![allow(missing_docs)] // criterion's macros generate undocumented items

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// The interface the runtime needs from its timer structure.
trait TimerQueue {
    type Handle: Copy;
    const NAME: &'static str;
    /// Resolution: how late (past its deadline) a timer may fire.
    const RESOLUTION: Duration;
    fn new(base: Instant) -> Self;
    fn insert(&mut self, deadline: Instant, payload: u64) -> Self::Handle;
    /// The payload if the timer was still pending.
    fn cancel(&mut self, h: Self::Handle) -> Option<u64>;
    /// Fires (removes, hands to `fire`) every timer due at `now`, in order.
    fn expire(&mut self, now: Instant, fire: impl FnMut(u64));
    fn len(&self) -> usize;
}

// ------------------------------------------------------------- (a) BTreeMap

struct MapTimers {
    map: BTreeMap<(Instant, u64), u64>,
    seq: u64,
}

impl TimerQueue for MapTimers {
    type Handle = (Instant, u64);
    const NAME: &'static str = "btreemap";
    const RESOLUTION: Duration = Duration::ZERO;

    fn new(_base: Instant) -> Self {
        MapTimers {
            map: BTreeMap::new(),
            seq: 0,
        }
    }

    fn insert(&mut self, deadline: Instant, payload: u64) -> Self::Handle {
        let key = (deadline, self.seq);
        self.seq += 1;
        self.map.insert(key, payload);
        key
    }

    fn cancel(&mut self, h: Self::Handle) -> Option<u64> {
        self.map.remove(&h)
    }

    fn expire(&mut self, now: Instant, mut fire: impl FnMut(u64)) {
        while let Some(e) = self.map.first_entry() {
            if e.key().0 > now {
                break;
            }
            fire(e.remove());
        }
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}

// ------------------------------------------------- (b) heap, lazy cancel

const VACANT: u64 = u64::MAX;

struct HeapSlot {
    seq: u64, // VACANT when free
    payload: u64,
}

struct HeapTimers {
    heap: BinaryHeap<Reverse<(Instant, u64, u32)>>,
    slots: Vec<HeapSlot>,
    free: Vec<u32>,
    seq: u64,
    live: usize,
}

impl HeapTimers {
    fn vacate(&mut self, idx: u32) -> u64 {
        let s = &mut self.slots[idx as usize];
        s.seq = VACANT;
        self.free.push(idx);
        self.live -= 1;
        s.payload
    }
}

impl TimerQueue for HeapTimers {
    type Handle = (u32, u64);
    const NAME: &'static str = "heap";
    const RESOLUTION: Duration = Duration::ZERO;

    fn new(_base: Instant) -> Self {
        HeapTimers {
            heap: BinaryHeap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            seq: 0,
            live: 0,
        }
    }

    fn insert(&mut self, deadline: Instant, payload: u64) -> Self::Handle {
        let seq = self.seq;
        self.seq += 1;
        let slot = HeapSlot { seq, payload };
        let idx = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = slot;
                i
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        self.live += 1;
        self.heap.push(Reverse((deadline, seq, idx)));
        (idx, seq)
    }

    fn cancel(&mut self, (idx, seq): Self::Handle) -> Option<u64> {
        if self.slots.get(idx as usize)?.seq != seq {
            return None;
        }
        let payload = self.vacate(idx);
        // Dead entries stay in the heap until popped; rebuild once they
        // outnumber the live ones (O(n) every >= n cancels).
        if self.heap.len() > 2 * self.live + 64 {
            let mut v = std::mem::take(&mut self.heap).into_vec();
            let slots = &self.slots;
            v.retain(|Reverse((_, s, i))| slots[*i as usize].seq == *s);
            self.heap = BinaryHeap::from(v);
        }
        Some(payload)
    }

    fn expire(&mut self, now: Instant, mut fire: impl FnMut(u64)) {
        while let Some(Reverse((d, seq, idx))) = self.heap.peek().copied() {
            if d > now {
                break;
            }
            self.heap.pop();
            if self.slots[idx as usize].seq == seq {
                fire(self.vacate(idx));
            }
        }
    }

    fn len(&self) -> usize {
        self.live
    }
}

// ------------------------------------------------- (c) hierarchical wheel

/// The runtime's own wheel (`src/runtime/wheel.rs`).
type WheelTimers = strands::__bench::TimerWheel<u64>;

impl TimerQueue for WheelTimers {
    type Handle = strands::__bench::TimerWheelKey;
    const NAME: &'static str = "wheel";
    const RESOLUTION: Duration = strands::__bench::TIMER_WHEEL_RESOLUTION;

    fn new(base: Instant) -> Self {
        WheelTimers::new(base)
    }

    fn insert(&mut self, deadline: Instant, payload: u64) -> Self::Handle {
        WheelTimers::insert(self, deadline, payload)
    }

    fn cancel(&mut self, h: Self::Handle) -> Option<u64> {
        WheelTimers::cancel(self, h)
    }

    fn expire(&mut self, now: Instant, fire: impl FnMut(u64)) {
        WheelTimers::expire(self, now, fire)
    }

    fn len(&self) -> usize {
        WheelTimers::len(self)
    }
}

// ------------------------------------------------------------ workloads

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const MIN_NS: u64 = 1_000_000; // 1 ms
const MAX_NS: u64 = 10_000_000_000; // 10 s

/// `n` deadlines uniform in 1 ms..10 s after `base`.
fn deadlines(base: Instant, n: usize, seed: u64) -> Vec<Instant> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|_| base + Duration::from_nanos(MIN_NS + rng.below(MAX_NS - MIN_NS)))
        .collect()
}

/// Past every deadline.
fn end(base: Instant) -> Instant {
    base + Duration::from_nanos(MAX_NS + 2_000_000)
}

fn insert_cancel<T: TimerQueue>(base: Instant, ds: &[Instant]) -> Duration {
    let mut q = T::new(base);
    let mut hs = Vec::with_capacity(ds.len());
    let t = Instant::now();
    for (i, &d) in ds.iter().enumerate() {
        hs.push(q.insert(d, i as u64));
    }
    for &h in &hs {
        black_box(q.cancel(h));
    }
    let el = t.elapsed();
    assert_eq!(q.len(), 0);
    el
}

fn insert_expire<T: TimerQueue>(base: Instant, ds: &[Instant], step: Option<Duration>) -> Duration {
    let mut q = T::new(base);
    let mut fired = 0u64;
    let t = Instant::now();
    for (i, &d) in ds.iter().enumerate() {
        black_box(q.insert(d, i as u64));
    }
    match step {
        None => q.expire(end(base), |p| {
            black_box(p);
            fired += 1
        }),
        Some(s) => {
            let mut now = base;
            while now < end(base) {
                now += s;
                q.expire(now, |p| {
                    black_box(p);
                    fired += 1
                });
            }
        }
    }
    let el = t.elapsed();
    assert_eq!((q.len(), fired), (0, ds.len() as u64));
    el
}

/// `pairs` insert+cancel pairs with `ds.len()` timers live throughout.
fn steady<T: TimerQueue>(base: Instant, ds: &[Instant], pairs: u64) -> Duration {
    let n = ds.len();
    let mut q = T::new(base);
    let mut ring: Vec<T::Handle> = ds
        .iter()
        .enumerate()
        .map(|(i, &d)| q.insert(d, i as u64))
        .collect();
    let mut rng = Rng(0x005e_ed57_ead7);
    let fresh: Vec<Instant> = (0..65536)
        .map(|_| base + Duration::from_nanos(MIN_NS + rng.below(MAX_NS - MIN_NS)))
        .collect();
    let t = Instant::now();
    for i in 0..pairs as usize {
        let slot = i % n;
        black_box(q.cancel(ring[slot]));
        ring[slot] = q.insert(fresh[i % fresh.len()], i as u64);
    }
    let el = t.elapsed();
    assert_eq!(q.len(), n);
    el
}

// ------------------------------------------------------------ correctness

/// A randomized trace: inserts (some at equal deadlines, some far beyond
/// the wheel's top level), cancels, and advances by random steps; checks
/// every firing against the deadline it was given.
fn check<T: TimerQueue>() {
    let base = Instant::now();
    let mut q = T::new(base);
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let mut deadline: Vec<Instant> = Vec::new();
    let mut inserted: Vec<u64> = Vec::new(); // advances done before insert
    let mut handles: Vec<T::Handle> = Vec::new();
    let mut state: Vec<u8> = Vec::new(); // 0 pending, 1 fired, 2 cancelled
    let mut now = base;
    let mut advances = 0u64;
    let far = Duration::from_secs(6 * 3600); // past 64^4 ms
    let horizon = base + far + Duration::from_secs(3600);
    while now < horizon {
        // a burst of inserts relative to now, a few cancels
        for _ in 0..rng.below(40) {
            let d = match rng.below(10) {
                0 => now + far + Duration::from_nanos(rng.below(1 << 32)),
                1 => now,                                              // due at once
                2 => deadline.last().copied().unwrap_or(now).max(now), // a tie
                _ => now + Duration::from_nanos(rng.below(MAX_NS)),
            };
            let p = deadline.len() as u64;
            deadline.push(d);
            inserted.push(advances);
            state.push(0);
            handles.push(q.insert(d, p));
        }
        for _ in 0..rng.below(12) {
            if handles.is_empty() {
                break;
            }
            let i = rng.below(handles.len() as u64) as usize;
            let got = q.cancel(handles[i]);
            match state[i] {
                0 => {
                    assert_eq!(got, Some(i as u64), "{}: cancel of pending", T::NAME);
                    state[i] = 2;
                }
                _ => assert_eq!(got, None, "{}: cancel of settled", T::NAME),
            }
        }
        // advance: mostly small steps, sometimes big jumps
        let step = match rng.below(20) {
            0 => Duration::from_nanos(rng.below(3_600_000_000_000)),
            1..=5 => Duration::from_nanos(rng.below(100_000_000)),
            _ => Duration::from_nanos(rng.below(3_000_000)),
        };
        let prev_now = now;
        now += step;
        let mut batch = Vec::new();
        q.expire(now, |p| batch.push(p));
        let mut latest: Option<Instant> = None;
        for p in batch {
            let i = p as usize;
            let d = deadline[i];
            assert_eq!(
                state[i],
                0,
                "{}: timer {i} fired twice or after cancel",
                T::NAME
            );
            state[i] = 1;
            assert!(d <= now, "{}: timer {i} fired early", T::NAME);
            // if the previous advance came after its insert, it was not due
            // (to within the resolution) then
            assert!(
                inserted[i] == advances || prev_now < d + T::RESOLUTION,
                "{}: timer {i} fired late",
                T::NAME
            );
            if let Some(l) = latest {
                assert!(
                    l <= d + T::RESOLUTION,
                    "{}: timer {i} out of order",
                    T::NAME
                );
            }
            latest = Some(latest.map_or(d, |l| l.max(d)));
        }
        advances += 1;
    }
    q.expire(horizon + far + far, |p| {
        let i = p as usize;
        assert_eq!(state[i], 0, "{}: timer {i} fired twice", T::NAME);
        state[i] = 1;
    });
    assert!(
        state.iter().all(|&s| s != 0),
        "{}: a timer never fired",
        T::NAME
    );
    assert_eq!(q.len(), 0);
    // and the benchmark's own shape: N random deadlines, expired in one go,
    // come out in deadline order
    let ds = deadlines(base, 20_000, 7);
    let mut q = T::new(base);
    for (i, &d) in ds.iter().enumerate() {
        q.insert(d, i as u64);
    }
    let mut out = Vec::new();
    q.expire(end(base), |p| out.push(ds[p as usize]));
    assert_eq!(out.len(), ds.len(), "{}", T::NAME);
    for w in out.windows(2) {
        assert!(w[0] <= w[1] + T::RESOLUTION, "{}: out of order", T::NAME);
    }
}

// ------------------------------------------------------------ criterion

const NS: [usize; 2] = [10_000, 100_000];

/// Runs `rounds(k)` (k rounds of `ops_per_round` operations each, returning
/// the time they took) and scales it to `iters` operations, so criterion
/// reports ns per operation.
fn per_op(iters: u64, ops_per_round: u64, mut round: impl FnMut() -> Duration) -> Duration {
    let k = iters.div_ceil(ops_per_round);
    let mut total = Duration::ZERO;
    for _ in 0..k {
        total += round();
    }
    total.mul_f64(iters as f64 / (k * ops_per_round) as f64)
}

fn bench_one<T: TimerQueue>(c: &mut Criterion) {
    check::<T>();
    let base = Instant::now();
    for n in NS {
        let ds = deadlines(base, n, 0x9e37_79b9_7f4a_7c15);
        let id = BenchmarkId::new(T::NAME, n);
        c.benchmark_group("timers/insert_cancel")
            .bench_with_input(id.clone(), &ds, |b, ds| {
                b.iter_custom(|it| per_op(it, 2 * n as u64, || insert_cancel::<T>(base, ds)))
            });
        c.benchmark_group("timers/insert_expire")
            .bench_with_input(id.clone(), &ds, |b, ds| {
                b.iter_custom(|it| per_op(it, 2 * n as u64, || insert_expire::<T>(base, ds, None)))
            });
        c.benchmark_group("timers/insert_expire_1ms")
            .bench_with_input(id.clone(), &ds, |b, ds| {
                b.iter_custom(|it| {
                    per_op(it, 2 * n as u64, || {
                        insert_expire::<T>(base, ds, Some(Duration::from_millis(1)))
                    })
                })
            });
        c.benchmark_group("timers/steady")
            .bench_with_input(id, &ds, |b, ds| {
                b.iter_custom(|it| steady::<T>(base, ds, it))
            });
    }
}

fn timers(c: &mut Criterion) {
    bench_one::<MapTimers>(c);
    bench_one::<HeapTimers>(c);
    bench_one::<WheelTimers>(c);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    targets = timers
}
criterion_main!(benches);
