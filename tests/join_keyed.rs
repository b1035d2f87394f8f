//! `strands::join::{KeyedMutex, Coalesce}`: one holder per key, entries
//! gone once unused, cancellation at every blocking point, one execution
//! per key in flight, panics and cancellations reported to every caller.

mod common;
use common::{rt, spawn_parked};

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex as StdMutex};
use strands::channel::bounded;
use strands::join::{Coalesce, KeyedMutex};

// ---------------------------------------------------------------- KeyedMutex

#[test]
fn one_holder_per_key_other_keys_run_meanwhile() {
    rt(2).block_on(|| {
        let km = Arc::new(KeyedMutex::new());
        let a = km.lock("a");
        let got_a = Arc::new(AtomicBool::new(false));
        let (km2, got2) = (Arc::clone(&km), Arc::clone(&got_a));
        let waiter = strands::spawn(move || {
            let _g = km2.lock("a");
            got2.store(true, SeqCst);
        });
        // another key is free while "a" is held
        let km3 = Arc::clone(&km);
        strands::spawn(move || drop(km3.lock("b"))).join().unwrap();
        assert!(km.try_lock("a").is_none());
        assert!(!got_a.load(SeqCst), "two holders of one key");
        drop(a);
        waiter.join().unwrap();
        assert!(got_a.load(SeqCst));
        assert_eq!(km.len(), 0);
    });
}

#[test]
fn waiters_of_one_key_are_served_in_fifo_order() {
    rt(1).block_on(|| {
        let km = Arc::new(KeyedMutex::new());
        let log = Arc::new(StdMutex::new(Vec::new()));
        let g = km.lock(7u64);
        let hs: Vec<_> = (0..5)
            .map(|i| {
                let (km, log) = (Arc::clone(&km), Arc::clone(&log));
                spawn_parked(move || {
                    let _g = km.lock(7);
                    log.lock().unwrap().push(i);
                    strands::yield_now(); // others would overtake here if they could
                })
            })
            .collect();
        assert_eq!(km.len(), 1, "one entry for the key, whatever the waiters");
        drop(g);
        hs.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(*log.lock().unwrap(), [0, 1, 2, 3, 4]);
        assert!(km.is_empty());
    });
}

#[test]
fn try_lock_and_key() {
    let km = KeyedMutex::new();
    let g = km.try_lock(String::from("x")).unwrap();
    assert_eq!(g.key(), "x");
    assert!(km.try_lock(String::from("x")).is_none());
    let y = km.try_lock(String::from("y")).unwrap();
    assert_eq!(km.len(), 2);
    drop((g, y));
    assert_eq!(km.len(), 0);
}

#[test]
fn a_cancelled_waiter_leaves_no_entry_and_no_trace_in_the_queue() {
    rt(1).block_on(|| {
        let km = Arc::new(KeyedMutex::new());
        let log = Arc::new(StdMutex::new(Vec::new()));
        let g = km.lock(1u32);
        let (km1, log1) = (Arc::clone(&km), Arc::clone(&log));
        let w1 = spawn_parked(move || {
            let _g = km1.lock(1);
            log1.lock().unwrap().push("cancelled");
        });
        let (km2, log2) = (Arc::clone(&km), Arc::clone(&log));
        let w2 = spawn_parked(move || {
            let _g = km2.lock(1);
            log2.lock().unwrap().push("second");
        });
        w1.cancel();
        assert!(w1.join().unwrap_err().is_cancelled());
        assert_eq!(km.len(), 1); // still held by us
        drop(g);
        w2.join().unwrap();
        assert_eq!(*log.lock().unwrap(), ["second"]);
        assert_eq!(km.len(), 0);

        // the only waiter cancelled: releasing removes the entry
        let g = km.lock(2);
        let km3 = Arc::clone(&km);
        let w = spawn_parked(move || drop(km3.lock(2)));
        w.cancel();
        assert!(w.join().unwrap_err().is_cancelled());
        drop(g);
        assert_eq!(km.len(), 0);
    });
}

#[test]
fn a_key_handed_to_a_cancelled_waiter_is_its_own() {
    // Before 2026-11 the cancelled waiter unwound out of `lock` and passed
    // the key on; now `lock` returns (the hand-off happened), the waiter
    // releases the key normally, and the cancellation fires at its next
    // blocking point.
    rt(1).block_on(|| {
        let km = Arc::new(KeyedMutex::new());
        let log = Arc::new(StdMutex::new(Vec::new()));
        let g = km.lock("k");
        let (km1, log1) = (Arc::clone(&km), Arc::clone(&log));
        let w1 = spawn_parked(move || {
            let g = km1.lock("k");
            log1.lock().unwrap().push("handed");
            drop(g);
            strands::yield_now(); // unwinds here
            unreachable!("cancelled");
        });
        let (km2, log2) = (Arc::clone(&km), Arc::clone(&log));
        let w2 = spawn_parked(move || {
            let _g = km2.lock("k");
            log2.lock().unwrap().push("next");
        });
        w1.cancel(); // queued to run, not run yet
        drop(g); // hands the key to w1, which takes it, then unwinds later
        assert!(w1.join().unwrap_err().is_cancelled());
        w2.join().unwrap();
        assert_eq!(*log.lock().unwrap(), ["handed", "next"]);
        assert_eq!(km.len(), 0);

        // and with nobody behind it: the entry goes when it releases
        let g = km.lock("j");
        let km3 = Arc::clone(&km);
        let w = spawn_parked(move || drop(km3.lock("j")));
        w.cancel();
        drop(g);
        assert!(w.join().is_ok(), "no blocking point after `lock`");
        assert_eq!(km.len(), 0);
        assert!(km.try_lock("j").is_some());
    });
}

#[test]
fn a_holder_cancelled_at_a_blocking_point_releases_the_key() {
    rt(1).block_on(|| {
        let km = Arc::new(KeyedMutex::new());
        let km1 = Arc::clone(&km);
        let holder = spawn_parked(move || {
            let _g = km1.lock(3);
            strands::sleep(std::time::Duration::from_secs(3600));
        });
        assert_eq!(km.len(), 1);
        holder.cancel();
        assert!(holder.join().unwrap_err().is_cancelled());
        assert_eq!(km.len(), 0); // no poisoning, no leftover
        drop(km.lock(3));
    });
}

#[test]
fn strands_and_threads_share_keys() {
    let km = Arc::new(KeyedMutex::new());
    let g = km.lock(9);
    let runtime = rt(1);
    let km1 = Arc::clone(&km);
    let h = runtime.spawn(move || {
        let _g = km1.lock(9);
        1
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let km2 = Arc::clone(&km);
    let t = std::thread::spawn(move || {
        let _g = km2.lock(10); // another key: not blocked by the strand's wait
        tx.send(()).unwrap();
    });
    rx.recv().unwrap();
    t.join().unwrap();
    drop(g);
    assert_eq!(h.join().unwrap(), 1);
    assert_eq!(km.len(), 0);
}

#[test]
fn a_million_distinct_keys_leave_nothing_behind() {
    let km = KeyedMutex::new();
    for i in 0..1_000_000u64 {
        let g = km.lock(i);
        assert_eq!(*g.key(), i);
    }
    assert_eq!(km.len(), 0);
    // a burst of keys held at once, then released: the maps shrink back
    let held: Vec<_> = (0..100_000u64).map(|i| km.lock(i)).collect();
    assert_eq!(km.len(), 100_000);
    let burst = km.__capacity();
    drop(held);
    assert_eq!(km.len(), 0);
    let after = km.__capacity();
    assert!(
        after <= 32 * 128,
        "capacity {after} after the burst (was {burst})"
    );
}

#[test]
fn concurrent_churn_keeps_one_holder_per_key_and_returns_to_empty() {
    const STRANDS: usize = 32;
    const ROUNDS: usize = 2_000;
    const HOT: usize = 13; // contended keys
    let km = Arc::new(KeyedMutex::new());
    let inside: Arc<Vec<AtomicBool>> = Arc::new((0..HOT).map(|_| AtomicBool::new(false)).collect());
    let entries = Arc::new(AtomicUsize::new(0));
    rt(2).block_on(|| {
        let hs: Vec<_> = (0..STRANDS)
            .map(|s| {
                let (km, inside, entries) =
                    (Arc::clone(&km), Arc::clone(&inside), Arc::clone(&entries));
                strands::spawn(move || {
                    for r in 0..ROUNDS {
                        if r % 2 == 0 {
                            // a hot key: checks mutual exclusion
                            let k = (s * 7 + r) % HOT;
                            let _g = km.lock(k as u64);
                            assert!(!inside[k].swap(true, SeqCst), "two holders of key {k}");
                            entries.fetch_add(1, SeqCst);
                            if r % 8 == 0 {
                                strands::yield_now(); // hold it across a switch
                            }
                            inside[k].store(false, SeqCst);
                        } else {
                            // a key nobody else uses: a fresh entry each time
                            let k = 1_000_000 + (s * ROUNDS + r) as u64;
                            drop(km.lock(k));
                        }
                    }
                })
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
    });
    assert_eq!(entries.load(SeqCst), STRANDS * ROUNDS / 2);
    assert_eq!(km.len(), 0);
    assert!(km.__capacity() <= 32 * 128, "{}", km.__capacity());
}

#[test]
fn a_cancellation_storm_on_one_key_leaves_nothing_behind() {
    rt(1).block_on(|| {
        let km = Arc::new(KeyedMutex::new());
        let served = Arc::new(AtomicUsize::new(0));
        let g = km.lock(0u8);
        let hs: Vec<_> = (0..200)
            .map(|_| {
                let (km, served) = (Arc::clone(&km), Arc::clone(&served));
                spawn_parked(move || {
                    let _g = km.lock(0);
                    served.fetch_add(1, SeqCst);
                })
            })
            .collect();
        // cancel every other one, half before and half after the release
        for h in hs.iter().step_by(4) {
            h.cancel();
        }
        drop(g);
        for h in hs.iter().skip(2).step_by(4) {
            h.cancel();
        }
        let mut cancelled = 0;
        for h in hs {
            match h.join() {
                Ok(()) => {}
                Err(e) => {
                    assert!(e.is_cancelled());
                    cancelled += 1;
                }
            }
        }
        assert!(cancelled >= 50, "{cancelled}");
        assert_eq!(served.load(SeqCst) + cancelled, 200);
        assert_eq!(km.len(), 0);
    });
}

// ------------------------------------------------------------------ Coalesce

/// An execution that counts itself and waits for the gate to open (the
/// gate's sender dropped or a value sent).
fn gated(
    runs: &Arc<AtomicUsize>,
    gate: &strands::channel::Receiver<()>,
    value: u64,
) -> impl FnOnce() -> u64 + Send + 'static {
    let (runs, gate) = (Arc::clone(runs), gate.clone());
    move || {
        runs.fetch_add(1, SeqCst);
        let _ = gate.recv();
        value
    }
}

#[test]
fn a_thousand_callers_on_one_key_share_one_execution() {
    rt(2).block_on(|| {
        let group = Coalesce::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let (open, gate) = bounded::<()>(1);
        let hs: Vec<_> = (0..1000)
            .map(|_| {
                let group = group.clone();
                let f = gated(&runs, &gate, 77);
                strands::spawn(move || group.run("key", f))
            })
            .collect();
        while group.__callers(&"key") < 1000 {
            strands::yield_now(); // until every caller has joined the flight
        }
        assert_eq!(group.len(), 1);
        drop(open);
        for h in hs {
            assert_eq!(h.join().unwrap().unwrap(), 77);
        }
        assert_eq!(runs.load(SeqCst), 1);
        assert!(group.is_empty(), "the key is forgotten after completion");
        // the next call executes again
        assert_eq!(group.run("key", || 78).unwrap(), 78);
        assert!(group.is_empty());
    });
}

#[test]
fn a_panic_reaches_every_caller_as_an_error() {
    rt(2).block_on(|| {
        let group: Coalesce<u8, u64> = Coalesce::new();
        let (open, gate) = bounded::<()>(1);
        let hs: Vec<_> = (0..10)
            .map(|_| {
                let (group, gate) = (group.clone(), gate.clone());
                strands::spawn(move || {
                    group.run(1, move || {
                        let _ = gate.recv();
                        panic!("the fetch failed")
                    })
                })
            })
            .collect();
        while group.__callers(&1) < 10 {
            strands::yield_now();
        }
        drop(open);
        for h in hs {
            let e = h.join().expect("a caller never panics").unwrap_err();
            assert!(e.is_panic() && !e.is_cancelled());
            assert_eq!(e.panic_message(), Some("the fetch failed"));
            assert_eq!(
                e.to_string(),
                "the shared execution panicked: the fetch failed"
            );
        }
        assert!(group.is_empty());
        assert_eq!(group.run(1, || 5).unwrap(), 5);
    });
}

#[test]
fn a_cancelled_first_caller_does_not_cancel_the_execution() {
    rt(1).block_on(|| {
        let group = Coalesce::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let (open, gate) = bounded::<()>(1);
        let (g1, f1) = (group.clone(), gated(&runs, &gate, 1));
        let first = spawn_parked(move || g1.run('k', f1));
        let (g2, f2) = (group.clone(), gated(&runs, &gate, 2));
        let second = spawn_parked(move || g2.run('k', f2));
        assert_eq!(group.__callers(&'k'), 2);
        first.cancel();
        assert!(first.join().unwrap_err().is_cancelled());
        drop(open);
        assert_eq!(
            second.join().unwrap().unwrap(),
            1,
            "the first caller's f ran"
        );
        assert_eq!(runs.load(SeqCst), 1);
        assert!(group.is_empty());
    });
}

#[test]
fn every_caller_cancelled_then_a_new_one_joins_the_same_execution() {
    rt(1).block_on(|| {
        let group = Coalesce::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let (open, gate) = bounded::<()>(1);
        let callers: Vec<_> = (0..4)
            .map(|i| {
                let (g, f) = (group.clone(), gated(&runs, &gate, i));
                spawn_parked(move || g.run(0u32, f))
            })
            .collect();
        for c in &callers {
            c.cancel();
        }
        for c in callers {
            assert!(c.join().unwrap_err().is_cancelled());
        }
        // the execution is still in flight: a new caller joins it
        assert_eq!(group.len(), 1);
        let (g, f) = (group.clone(), gated(&runs, &gate, 99));
        let late = spawn_parked(move || g.run(0, f));
        assert_eq!(group.__callers(&0), 5);
        drop(open);
        assert_eq!(
            late.join().unwrap().unwrap(),
            0,
            "the first execution's value"
        );
        assert_eq!(runs.load(SeqCst), 1, "no second execution");
        assert!(group.is_empty());
    });
}

#[test]
fn cancellations_racing_the_result_never_cause_a_second_execution() {
    const ROUNDS: u64 = 200;
    rt(2).block_on(|| {
        let group = Coalesce::new();
        let runs = Arc::new(AtomicUsize::new(0));
        for round in 0..ROUNDS {
            let (open, gate) = bounded::<()>(1);
            let callers: Vec<_> = (0..4)
                .map(|_| {
                    let (g, f) = (group.clone(), gated(&runs, &gate, round));
                    strands::spawn(move || g.run(round % 3, f))
                })
                .collect();
            while group.__callers(&(round % 3)) < 4 {
                strands::yield_now();
            }
            // cancel two while the result is being published
            callers[0].cancel();
            drop(open);
            callers[3].cancel();
            for c in callers {
                match c.join() {
                    Ok(r) => assert_eq!(r.unwrap(), round),
                    Err(e) => assert!(e.is_cancelled()),
                }
            }
            assert_eq!(runs.load(SeqCst) as u64, round + 1);
        }
        assert!(group.is_empty());
    });
}

#[test]
fn a_runtime_shutdown_ends_the_execution_and_tells_a_waiting_thread() {
    let group: Coalesce<&str, u32> = Coalesce::new();
    let runtime = rt(1);
    let g1 = group.clone();
    let _first = runtime.spawn(move || {
        g1.run("k", || {
            strands::sleep(std::time::Duration::from_secs(3600));
            1
        })
    });
    while group.__callers(&"k") < 1 {
        std::thread::yield_now();
    }
    let g2 = group.clone();
    let thread = std::thread::spawn(move || g2.run("k", || 2));
    while group.__callers(&"k") < 2 {
        std::thread::yield_now();
    }
    drop(runtime); // cancels the execution's strand
    let e = thread.join().unwrap().unwrap_err();
    assert!(e.is_cancelled(), "{e:?}");
    assert_eq!(e.to_string(), "the shared execution was cancelled");
    assert!(group.is_empty());
}

#[test]
fn an_execution_that_cannot_be_spawned_is_reported_not_lost() {
    // max_strands(1): the caller is the only strand there is room for
    let (r, empty) = common::rt_with(1, |b| b.max_strands(1)).block_on(|| {
        let group: Coalesce<u8, ()> = Coalesce::new();
        let r = group.run(1, || unreachable!("never spawned"));
        (r, group.is_empty())
    });
    assert!(r.unwrap_err().is_cancelled());
    assert!(empty, "the key is forgotten");
}

#[test]
fn outside_a_runtime_the_first_caller_runs_it() {
    let group = Coalesce::new();
    let me = std::thread::current().id();
    assert!(group
        .run(1, move || std::thread::current().id() == me)
        .unwrap());
    assert!(group.is_empty());
}
