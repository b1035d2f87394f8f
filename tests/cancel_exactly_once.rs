//! Cancellation is exactly-once: an operation whose hand-off happened
//! completes normally (a send returns `Ok`, `recv` returns the value, the
//! lock or permit is the caller's), and one whose hand-off did not happen
//! unwinds with nothing handed over. Hostile runs: many strands on two
//! workers, cancelled at random points, with counters on both sides.

mod common;
use common::rt;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;
use strands::channel::{self, Receiver, Select, Sender};
use strands::sync::{Barrier, Condvar, Mutex, Notify, OnceLock, RwLock, Semaphore, WaitGroup};
use strands::JoinHandle;

/// A value that counts its drops.
struct Counted(u64, Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_add(1, SeqCst);
    }
}

/// A small deterministic generator (xorshift), so a failing run can be
/// repeated with its seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Cancels every handle in `hs` in a random order, letting the others run
/// a random number of turns in between (so the cancellations land at every
/// kind of point: before, during and after waits and hand-offs).
fn cancel_all_at_random<T>(hs: &[JoinHandle<T>], seed: u64) {
    let mut rng = Rng(seed | 1);
    let mut order: Vec<usize> = (0..hs.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    for i in order {
        for _ in 0..rng.below(3) {
            strands::yield_now();
        }
        hs[i].cancel();
    }
}

/// Sends `v` with a plain `send` or through `select!`; `true` if it
/// returned `Ok`.
fn send_one(tx: &Sender<Counted>, v: Counted, via_select: bool) -> bool {
    if via_select {
        strands::select! {
            send(tx, v) -> r => r.is_ok(),
        }
    } else {
        tx.send(v).is_ok()
    }
}

/// Receives with a plain `recv` or through a `Select` over `rx` and a
/// channel that never delivers.
fn recv_one(rx: &Receiver<Counted>, idle: &Receiver<Counted>, via_select: bool) -> Option<Counted> {
    if via_select {
        Select::new()
            .recv(rx, |r| r.ok())
            .recv(idle, |r| r.ok())
            .wait()
    } else {
        rx.recv().ok()
    }
}

/// What a channel run counted.
struct Tally {
    sent_ok: Vec<u64>,
    received: Vec<u64>,
    created: usize,
    drops: usize,
}

/// Senders and receivers (plain and `select`), all but one drain receiver
/// cancelled at random points.
fn channel_storm(cap: usize, senders: u64, receivers: usize, seed: u64) -> Tally {
    let drops = Arc::new(AtomicUsize::new(0));
    let created = Arc::new(AtomicUsize::new(0));
    let sent_ok = Arc::new(StdMutex::new(Vec::new()));
    let received = Arc::new(StdMutex::new(Vec::new()));
    let (d, c, s, r) = (
        Arc::clone(&drops),
        Arc::clone(&created),
        Arc::clone(&sent_ok),
        Arc::clone(&received),
    );
    rt(2).block_on(move || {
        let (tx, rx) = channel::bounded::<Counted>(cap);
        let (_idle_tx, idle_rx) = channel::bounded::<Counted>(0);
        let mut hs = Vec::new();
        for p in 0..senders {
            let (tx, d, c, s) = (tx.clone(), Arc::clone(&d), Arc::clone(&c), Arc::clone(&s));
            hs.push(strands::spawn(move || {
                for i in 0..20 {
                    let id = p * 100 + i;
                    c.fetch_add(1, SeqCst);
                    if send_one(&tx, Counted(id, Arc::clone(&d)), (p + i) % 2 == 0) {
                        s.lock().unwrap().push(id);
                    }
                }
            }));
        }
        drop(tx);
        for k in 0..receivers {
            let (rx, idle, r) = (rx.clone(), idle_rx.clone(), Arc::clone(&r));
            hs.push(strands::spawn(move || {
                while let Some(v) = recv_one(&rx, &idle, k % 2 == 0) {
                    r.lock().unwrap().push(v.0);
                }
            }));
        }
        // One receiver nobody cancels: it drains to the end.
        let drain = {
            let r = Arc::clone(&r);
            strands::spawn(move || {
                for v in rx.iter() {
                    r.lock().unwrap().push(v.0);
                }
            })
        };
        cancel_all_at_random(&hs, seed);
        for h in hs {
            let _ = h.join();
        }
        drain.join().unwrap();
    });
    let sent_ok = std::mem::take(&mut *sent_ok.lock().unwrap());
    let received = std::mem::take(&mut *received.lock().unwrap());
    Tally {
        sent_ok,
        received,
        created: created.load(SeqCst),
        drops: drops.load(SeqCst),
    }
}

fn check(t: &Tally, what: &str) {
    let ok: HashSet<u64> = t.sent_ok.iter().copied().collect();
    let got: HashSet<u64> = t.received.iter().copied().collect();
    assert_eq!(
        ok.len(),
        t.sent_ok.len(),
        "{what}: a send returned Ok twice"
    );
    assert_eq!(
        got.len(),
        t.received.len(),
        "{what}: a value was received twice"
    );
    let unreported: Vec<_> = got.difference(&ok).collect();
    let lost: Vec<_> = ok.difference(&got).collect();
    assert!(
        unreported.is_empty(),
        "{what}: {} values were received although their send never returned Ok: {unreported:?}",
        unreported.len()
    );
    assert!(
        lost.is_empty(),
        "{what}: {} values sent with Ok were lost: {lost:?}",
        lost.len()
    );
    assert_eq!(
        t.drops, t.created,
        "{what}: every value created is dropped once"
    );
}

/// Values sent with `Ok` and values received are the same set, for a
/// rendezvous, a small and a larger buffer, through plain and `select`
/// operations, with senders and receivers cancelled at random points.
#[test]
fn sent_with_ok_equals_received_under_random_cancellation() {
    for (cap, seed) in [(0, 0x9e37_79b9), (1, 0x85eb_ca6b), (4, 0xc2b2_ae35)] {
        for round in 0..3u64 {
            let t = channel_storm(cap, 300, 100, seed + round);
            check(&t, &format!("capacity {cap}, round {round}"));
        }
    }
}

/// What a lock run counted.
#[derive(Default)]
struct LockTally {
    /// `lock`/`write`/`read`/`acquire` calls that returned, by kind.
    returned: [AtomicUsize; 4],
    /// ... of which the strand was already cancelled when it got it.
    while_cancelled: AtomicUsize,
    /// Two holders at once (must stay 0).
    overlap: AtomicUsize,
}

/// Strands contend on a Mutex, an RwLock (writers and readers) and a
/// Semaphore, looping until they are cancelled at random points. Every acquisition that
/// returned is counted inside the critical section, so the protected
/// counter equals the number of returns; no two writers overlap; at the
/// end the locks are free and not poisoned and every permit is back.
#[test]
fn locks_and_permits_handed_to_cancelled_waiters_are_owned_and_released() {
    let tally = Arc::new(LockTally::default());
    let t = Arc::clone(&tally);
    rt(2).block_on(move || {
        let m = Arc::new(Mutex::new(0usize));
        let l = Arc::new(RwLock::new(0usize));
        let sem = Arc::new(Semaphore::new(3));
        let inside = Arc::new(AtomicBool::new(false));
        let permits_out = Arc::new(AtomicUsize::new(0));
        let mut hs = Vec::new();
        for k in 0..1200usize {
            let (m, l, sem, inside, permits_out, t) = (
                Arc::clone(&m),
                Arc::clone(&l),
                Arc::clone(&sem),
                Arc::clone(&inside),
                Arc::clone(&permits_out),
                Arc::clone(&t),
            );
            hs.push(strands::spawn(move || {
                let got = |t: &LockTally| {
                    t.returned[k % 4].fetch_add(1, SeqCst);
                    if strands::current().is_cancelled() {
                        t.while_cancelled.fetch_add(1, SeqCst);
                    }
                };
                for i in 0u64.. {
                    match k % 4 {
                        0 => {
                            let mut g = m.lock().unwrap();
                            got(&t);
                            if inside.swap(true, SeqCst) {
                                t.overlap.fetch_add(1, SeqCst);
                            }
                            *g += 1;
                            inside.store(false, SeqCst);
                        }
                        1 => {
                            let mut g = l.write().unwrap();
                            got(&t);
                            *g += 1;
                        }
                        2 => {
                            let g = l.read().unwrap();
                            got(&t);
                            drop(g);
                        }
                        _ => {
                            let p = sem.acquire();
                            got(&t);
                            if permits_out.fetch_add(1, SeqCst) >= 3 {
                                t.overlap.fetch_add(1, SeqCst);
                            }
                            permits_out.fetch_sub(1, SeqCst);
                            drop(p);
                        }
                    }
                    if i % 3 == 0 {
                        strands::yield_now();
                    }
                }
            }));
        }
        cancel_all_at_random(&hs, 0x1234_5678);
        for h in hs {
            assert!(
                h.join().unwrap_err().is_cancelled(),
                "they loop until cancelled"
            );
        }
        assert!(
            !m.is_poisoned() && !l.is_poisoned(),
            "nobody held a lock at a blocking point"
        );
        // Each acquisition that returned counted itself inside: none was
        // lost to a cancellation, none counted twice.
        assert_eq!(
            *m.try_lock().expect("the mutex is free"),
            t.returned[0].load(SeqCst)
        );
        assert_eq!(
            *l.try_write().expect("the rwlock is free"),
            t.returned[1].load(SeqCst)
        );
        assert_eq!(sem.available_permits(), 3, "every permit is back");
    });
    assert_eq!(tally.overlap.load(SeqCst), 0, "two holders at once");
    let returned: usize = tally.returned.iter().map(|n| n.load(SeqCst)).sum();
    eprintln!(
        "locks: {returned} acquisitions returned, {} of them to an already-cancelled strand",
        tally.while_cancelled.load(SeqCst)
    );
}

/// The storm: 10,000 strands over every kind of blocking point (channel
/// send, recv and select; Mutex, RwLock, Semaphore, Condvar, Notify,
/// Barrier, WaitGroup, OnceLock; sleep), all cancelled at random points.
/// Every strand ends (finished or cancelled), values sent with `Ok` equal
/// values received, the locks are free and the permits back.
#[test]
fn a_cancellation_storm_over_every_kind_of_blocking_point() {
    const STRANDS: usize = 10_000;
    const KINDS: usize = 12;
    let drops = Arc::new(AtomicUsize::new(0));
    let created = Arc::new(AtomicUsize::new(0));
    let sent_ok = Arc::new(StdMutex::new(Vec::new()));
    let received = Arc::new(StdMutex::new(Vec::new()));
    let (d, c, s, r) = (
        Arc::clone(&drops),
        Arc::clone(&created),
        Arc::clone(&sent_ok),
        Arc::clone(&received),
    );
    rt(2).block_on(move || {
        let (tx, rx) = channel::bounded::<Counted>(0);
        let (tx2, rx2) = channel::bounded::<Counted>(2);
        let m = Arc::new(Mutex::new(0u64));
        let l = Arc::new(RwLock::new(0u64));
        let sem = Arc::new(Semaphore::new(2));
        let pair = Arc::new((Mutex::new(0u64), Condvar::new()));
        let notify = Arc::new(Notify::new());
        let barrier = Arc::new(Barrier::new(7));
        let wg = Arc::new(WaitGroup::new());
        wg.add(1); // never done: its waiters leave only by cancellation
        let once = Arc::new(OnceLock::<u64>::new());
        let mut hs = Vec::with_capacity(STRANDS);
        for k in 0..STRANDS {
            let (tx, rx, tx2, rx2) = (tx.clone(), rx.clone(), tx2.clone(), rx2.clone());
            let (m, l, sem, pair) = (
                Arc::clone(&m),
                Arc::clone(&l),
                Arc::clone(&sem),
                Arc::clone(&pair),
            );
            let (notify, barrier, wg, once) = (
                Arc::clone(&notify),
                Arc::clone(&barrier),
                Arc::clone(&wg),
                Arc::clone(&once),
            );
            let (d, c, s, r) = (
                Arc::clone(&d),
                Arc::clone(&c),
                Arc::clone(&s),
                Arc::clone(&r),
            );
            hs.push(strands::spawn(move || {
                for i in 0..200u64 {
                    let id = k as u64 * 10_000 + i;
                    match k % KINDS {
                        0 | 1 => {
                            let tx = if k % KINDS == 0 { &tx } else { &tx2 };
                            c.fetch_add(1, SeqCst);
                            if send_one(tx, Counted(id, Arc::clone(&d)), i % 2 == 1) {
                                s.lock().unwrap().push(id);
                            }
                        }
                        2 => {
                            if let Ok(v) = rx.recv() {
                                r.lock().unwrap().push(v.0);
                            }
                        }
                        3 => {
                            if let Some(v) = recv_one(&rx2, &rx, true) {
                                r.lock().unwrap().push(v.0);
                            }
                        }
                        4 => *m.lock().unwrap() += 1,
                        5 => *l.write().unwrap() += 1,
                        6 => drop(sem.acquire()),
                        7 => {
                            let g = pair.0.lock().unwrap();
                            let mut g = pair.1.wait(g).unwrap();
                            *g += 1;
                            drop(g);
                            pair.1.notify_one();
                        }
                        8 => {
                            notify.wait();
                            notify.notify_one();
                        }
                        9 => drop(barrier.wait()),
                        10 => wg.wait(),
                        _ => {
                            once.get_or_init(|| {
                                strands::sleep(Duration::from_secs(3600)); // cancelled here
                                1
                            });
                        }
                    }
                }
            }));
        }
        drop((tx, tx2));
        // Receivers nobody cancels: they drain both channels to the end.
        let drains: Vec<_> = [rx, rx2]
            .into_iter()
            .map(|rx| {
                let r = Arc::clone(&r);
                strands::spawn(move || {
                    for v in rx.iter() {
                        r.lock().unwrap().push(v.0);
                    }
                })
            })
            .collect();
        pair.1.notify_one();
        notify.notify_one();
        cancel_all_at_random(&hs, 0xdead_beef);
        let mut cancelled = 0;
        for h in hs {
            match h.join() {
                Ok(()) => {}
                Err(e) => {
                    assert!(e.is_cancelled(), "only cancellations, no panics: {e:?}");
                    cancelled += 1;
                }
            }
        }
        drains.into_iter().for_each(|h| h.join().unwrap());
        assert!(cancelled > 0, "the storm cancelled strands mid-way");
        eprintln!("storm: {cancelled} of {STRANDS} strands cancelled");
        assert!(!m.is_poisoned() && !l.is_poisoned() && !pair.0.is_poisoned());
        assert!(m.try_lock().is_ok() && l.try_write().is_ok() && pair.0.try_lock().is_ok());
        assert_eq!(sem.available_permits(), 2, "every permit is back");
        assert_eq!(once.get(), None, "every initialiser was cancelled");
    });
    let t = Tally {
        sent_ok: std::mem::take(&mut *sent_ok.lock().unwrap()),
        received: std::mem::take(&mut *received.lock().unwrap()),
        created: created.load(SeqCst),
        drops: drops.load(SeqCst),
    };
    check(&t, "storm");
    eprintln!(
        "storm: {} values created, {} sent with Ok and received",
        t.created,
        t.sent_ok.len()
    );
}
