//! JoinSet: limits and spawn order, cancellation, dropping mid-flight
//! (every value dropped exactly once), panics, plain-thread joins.

mod common;

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use strands::channel;
use strands::join::JoinSet;

/// Waits (yielding) until `n` reaches `want`.
fn yield_until(n: &AtomicUsize, want: usize) {
    while n.load(SeqCst) < want {
        strands::yield_now();
    }
}

/// Counts concurrent runs: `enter` returns the number running now.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl Gauge {
    fn enter(&self) {
        let n = self.now.fetch_add(1, SeqCst) + 1;
        self.max.fetch_max(n, SeqCst);
    }
    fn leave(&self) {
        self.now.fetch_sub(1, SeqCst);
    }
}

#[test]
#[should_panic(expected = "JoinSet::with_limit: the limit must be at least 1")]
fn limit_zero_is_refused() {
    let _ = JoinSet::<()>::with_limit(0);
}

#[test]
fn limit_one_runs_in_spawn_order_one_at_a_time() {
    let order = common::rt(2).block_on(|| {
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let gauge = Arc::new(Gauge::default());
        let mut set = JoinSet::with_limit(1);
        for i in 0..50 {
            let (order, gauge) = (Arc::clone(&order), Arc::clone(&gauge));
            set.spawn(move || {
                gauge.enter();
                strands::yield_now();
                order.lock().unwrap().push(i);
                gauge.leave();
            });
        }
        assert_eq!(set.len(), 50);
        while let Some(r) = set.join_next() {
            r.unwrap();
        }
        assert_eq!(gauge.max.load(SeqCst), 1);
        Arc::try_unwrap(order).unwrap().into_inner().unwrap()
    });
    assert_eq!(order, (0..50).collect::<Vec<_>>());
}

#[test]
fn queued_members_start_without_join_next_and_the_limit_holds() {
    common::rt(2).block_on(|| {
        let gauge = Arc::new(Gauge::default());
        let (tx, rx) = channel::unbounded();
        let mut set = JoinSet::with_limit(3);
        for i in 0..30u32 {
            let (gauge, tx) = (Arc::clone(&gauge), tx.clone());
            set.spawn(move || {
                gauge.enter();
                strands::yield_now();
                gauge.leave();
                tx.send(i).unwrap();
            });
        }
        // nobody joins: every member still runs
        let mut seen: Vec<u32> = (0..30).map(|_| rx.recv().unwrap()).collect();
        seen.sort();
        assert_eq!(seen, (0..30).collect::<Vec<_>>());
        assert!(gauge.max.load(SeqCst) <= 3);
        assert_eq!(set.len(), 30);
        let mut n = 0;
        while set.try_join_next().is_some() || set.join_next().is_some() {
            n += 1;
        }
        assert_eq!(n, 30);
    });
}

#[test]
fn ten_thousand_members_with_limit_ten() {
    common::rt(2).block_on(|| {
        let gauge = Arc::new(Gauge::default());
        let mut set = JoinSet::with_limit(10);
        for i in 0..10_000u64 {
            let gauge = Arc::clone(&gauge);
            set.spawn(move || {
                gauge.enter();
                if i % 7 == 0 {
                    strands::yield_now();
                }
                gauge.leave();
                i
            });
        }
        let mut sum = 0;
        while let Some(r) = set.join_next() {
            sum += r.unwrap();
        }
        assert_eq!(sum, 49_995_000);
        assert!(gauge.max.load(SeqCst) <= 10);
    });
}

#[test]
fn ids_results_and_a_panicking_member() {
    common::rt(1).block_on(|| {
        let mut set = JoinSet::new();
        let ok = set.spawn(|| 1);
        let bad = set.spawn(|| -> i32 { panic!("member 2 failed") });
        let mut got = Vec::new();
        while let Some((id, r)) = set.join_next_with_id() {
            got.push((id, r.map_err(|e| e.to_string())));
        }
        got.sort_by_key(|(id, _)| *id);
        assert_eq!(
            got,
            vec![
                (ok, Ok(1)),
                (bad, Err("strand panicked: member 2 failed".to_string()))
            ]
        );
        assert!(set.join_next().is_none() && set.is_empty());
    });
}

#[test]
fn cancel_all_reports_queued_members_cancelled_and_never_runs_them() {
    common::rt(1).block_on(|| {
        let ran = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let mut set = JoinSet::with_limit(2);
        for _ in 0..6 {
            let (ran, started) = (Arc::clone(&ran), Arc::clone(&started));
            set.spawn(move || {
                started.fetch_add(1, SeqCst);
                strands::sleep(Duration::from_secs(3600));
                ran.fetch_add(1, SeqCst);
            });
        }
        yield_until(&started, 2);
        set.cancel_all();
        assert_eq!(set.len(), 6);
        let mut cancelled = 0;
        while let Some(r) = set.join_next() {
            assert!(r.unwrap_err().is_cancelled());
            cancelled += 1;
        }
        assert_eq!(cancelled, 6);
        assert_eq!(started.load(SeqCst), 2, "queued members never started");
        assert_eq!(ran.load(SeqCst), 0);
        // the set works again afterwards
        set.spawn(strands::yield_now);
        assert!(set.join_next().unwrap().is_ok());
    });
}

/// Sends its id on a std channel when dropped.
struct Counted(usize, mpsc::Sender<usize>);
impl Drop for Counted {
    fn drop(&mut self) {
        let _ = self.1.send(self.0);
    }
}

#[test]
fn dropping_the_set_mid_flight_drops_every_value_exactly_once() {
    let (dtx, drx) = mpsc::channel();
    let drx = common::rt(1).block_on(move || {
        let lock = Arc::new(strands::sync::Mutex::new(()));
        let (_ctx, crx) = channel::unbounded::<()>();
        let started = Arc::new(AtomicUsize::new(0));
        let ran_to_end = Arc::new(AtomicUsize::new(0));
        let guard = lock.lock().unwrap();
        let mut set = JoinSet::with_limit(4);
        for i in 0..10 {
            let v = Counted(i, dtx.clone());
            let (lock, crx) = (Arc::clone(&lock), crx.clone());
            let (started, ran) = (Arc::clone(&started), Arc::clone(&ran_to_end));
            set.spawn(move || {
                let _v = v;
                started.fetch_add(1, SeqCst);
                match i % 3 {
                    0 => drop(lock.lock()),
                    1 => drop(crx.recv()),
                    _ => strands::sleep(Duration::from_secs(3600)),
                }
                ran.fetch_add(1, SeqCst);
            });
        }
        yield_until(&started, 4);
        for _ in 0..3 {
            strands::yield_now(); // the channel waiter parks after a yield
        }
        drop(set);
        drop(dtx);
        // wait for all ten drops (the six queued closures go at once). The
        // lock stays held meanwhile: a lock handed to a cancelled waiter
        // is its own (the exactly-once rule), so releasing it now could
        // let that member run on to its end.

        let mut seen = vec![0; 10];
        for _ in 0..10 {
            loop {
                match drx.try_recv() {
                    Ok(i) => {
                        seen[i] += 1;
                        break;
                    }
                    Err(_) => strands::yield_now(),
                }
            }
        }
        drop(guard);
        assert_eq!(seen, vec![1; 10]);
        assert_eq!(started.load(SeqCst), 4, "queued members never start");
        assert_eq!(ran_to_end.load(SeqCst), 0);
        drx
    });
    // the runtime is gone: nothing else can drop a value now
    assert!(drx.try_recv().is_err());
}

#[test]
fn a_member_swallowing_its_cancellation_is_cancelled_again() {
    common::rt(1).block_on(|| {
        let caught = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let mut set = JoinSet::new();
        let (c, s) = (Arc::clone(&caught), Arc::clone(&started));
        set.spawn(move || {
            s.fetch_add(1, SeqCst);
            let r = panic::catch_unwind(AssertUnwindSafe(|| {
                strands::sleep(Duration::from_secs(3600));
            }));
            assert!(r.is_err());
            c.fetch_add(1, SeqCst);
            strands::sleep(Duration::from_secs(3600)); // cancelled again
            c.fetch_add(1, SeqCst);
        });
        yield_until(&started, 1);
        set.cancel_all();
        assert!(set.join_next().unwrap().unwrap_err().is_cancelled());
        assert_eq!(caught.load(SeqCst), 1);
    });
}

#[test]
fn shutdown_waits_for_drops_and_works_on_an_empty_set() {
    let mut empty = JoinSet::<u8>::new();
    empty.shutdown(); // on a plain thread, no runtime needed
    assert!(empty.is_empty());
    common::rt(2).block_on(|| {
        let dropped = Arc::new(AtomicUsize::new(0));
        struct D(Arc<AtomicUsize>);
        impl Drop for D {
            fn drop(&mut self) {
                self.0.fetch_add(1, SeqCst);
            }
        }
        let mut set = JoinSet::with_limit(3);
        for _ in 0..8 {
            let d = D(Arc::clone(&dropped));
            set.spawn(move || {
                let _d = d;
                strands::sleep(Duration::from_secs(3600));
            });
        }
        set.shutdown();
        assert_eq!(
            dropped.load(SeqCst),
            8,
            "every Drop ran before shutdown returned"
        );
        assert!(set.is_empty());
        set.shutdown();
    });
}

#[test]
fn join_next_from_a_plain_thread() {
    let rt = common::rt(2);
    let (tx, rx) = channel::unbounded::<u32>();
    let mut set = rt.block_on(|| {
        let mut set = JoinSet::with_limit(2);
        for _ in 0..6 {
            let rx = rx.clone();
            set.spawn(move || rx.recv().unwrap() * 2);
        }
        set
    });
    for i in 0..6 {
        tx.send(i).unwrap();
    }
    let mut got = Vec::new();
    while let Some(r) = set.join_next() {
        got.push(r.unwrap());
    }
    got.sort();
    assert_eq!(got, vec![0, 2, 4, 6, 8, 10]);
}

#[test]
fn detach_all_lets_members_finish_on_their_own() {
    common::rt(1).block_on(|| {
        let (tx, rx) = channel::unbounded();
        let mut set = JoinSet::with_limit(1);
        for i in 0..4 {
            let tx = tx.clone();
            set.spawn(move || {
                strands::yield_now();
                tx.send(i).unwrap();
            });
        }
        set.detach_all();
        assert!(set.is_empty() && set.join_next().is_none());
        drop(set); // detached members are not cancelled
        let got: Vec<i32> = (0..4).map(|_| rx.recv().unwrap()).collect();
        assert_eq!(got, vec![0, 1, 2, 3], "still one at a time, in order");
    });
}

#[test]
fn an_owner_cancelled_in_join_next_drops_the_set_and_cancels_its_members() {
    let (dtx, drx) = mpsc::channel();
    common::rt(1).block_on(move || {
        let started = Arc::new(AtomicUsize::new(0));
        let s = Arc::clone(&started);
        let owner = strands::spawn(move || {
            let mut set = JoinSet::new();
            let v = Counted(0, dtx);
            set.spawn(move || {
                let _v = v;
                s.fetch_add(1, SeqCst);
                strands::sleep(Duration::from_secs(3600));
            });
            set.join_next() // cancelled here
        });
        yield_until(&started, 1);
        strands::yield_now(); // the owner parks in join_next
        owner.cancel();
        assert!(owner.join().unwrap_err().is_cancelled());
        loop {
            match drx.try_recv() {
                Ok(i) => break assert_eq!(i, 0),
                Err(_) => strands::yield_now(),
            }
        }
    });
}

/// Counts its drops.
struct Drops(Arc<AtomicUsize>);
impl Drop for Drops {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Over-aligned: a closure holding it is boxed when queued.
#[repr(align(64))]
struct Aligned([u64; 2]);

#[test]
fn queued_closures_of_every_size_run_or_are_dropped_once() {
    common::rt(2).block_on(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicUsize::new(0));
        // closures of two words, three (stored inline), eleven and an
        // over-aligned one (boxed), and a zero-sized one, all queued behind
        // a member that waits: first left to run, then cancelled
        let add_all = |set: &mut JoinSet<u64>| {
            let d = || Drops(Arc::clone(&drops));
            let r = || Arc::clone(&ran);
            let (a, ra) = (d(), r());
            set.spawn(move || {
                let _a = a;
                ra.fetch_add(1, SeqCst);
                1
            });
            let (b, rb, pair) = (d(), r(), [6u32, 7]);
            set.spawn(move || {
                let _b = b;
                rb.fetch_add(1, SeqCst);
                u64::from(pair[0] + pair[1])
            });
            let (c, rc, nine) = (d(), r(), [3u64; 9]);
            set.spawn(move || {
                let _c = c;
                rc.fetch_add(1, SeqCst);
                nine.iter().sum()
            });
            let (e, re, al) = (d(), r(), Aligned([5, 6]));
            set.spawn(move || {
                let _e = e;
                re.fetch_add(1, SeqCst);
                al.0[0] * al.0[1]
            });
            set.spawn(|| 100);
        };
        let (go_tx, go_rx) = channel::bounded::<()>(1);
        let mut set = JoinSet::with_limit(1);
        set.spawn(move || go_rx.recv().map_or(0, |()| 0));
        add_all(&mut set);
        assert_eq!(set.len(), 6);
        go_tx.send(()).unwrap();
        let mut got: Vec<u64> = std::iter::from_fn(|| set.join_next())
            .map(Result::unwrap)
            .collect();
        got.sort_unstable();
        assert_eq!(got, [0, 1, 13, 27, 30, 100]);
        assert_eq!((ran.load(SeqCst), drops.load(SeqCst)), (4, 4));

        let (_hold, wait) = channel::bounded::<()>(1);
        let mut set = JoinSet::with_limit(1);
        set.spawn(move || wait.recv().map_or(0, |()| 0));
        add_all(&mut set);
        set.cancel_all(); // the queued closures are dropped here
        assert_eq!((ran.load(SeqCst), drops.load(SeqCst)), (4, 8));
        let results: Vec<_> = std::iter::from_fn(|| set.join_next()).collect();
        assert_eq!(results.len(), 6);
        assert!(results
            .iter()
            .all(|r| r.as_ref().unwrap_err().is_cancelled()));
        assert_eq!((ran.load(SeqCst), drops.load(SeqCst)), (4, 8));
    });
}

#[test]
fn results_taken_together_are_counted_and_dropped_by_detach_all() {
    common::rt(1).block_on(|| {
        let dropped = Arc::new(AtomicUsize::new(0));
        let mut set = JoinSet::new();
        for _ in 0..5 {
            let d = Arc::clone(&dropped);
            set.spawn(move || Drops(d));
        }
        let first = set.join_next().unwrap().unwrap();
        assert_eq!(set.len(), 4);
        assert!(format!("{set:?}").contains("len: 4"), "{set:?}");
        let second = set.try_join_next();
        assert_eq!(set.len(), if second.is_some() { 3 } else { 4 });
        drop((first, second));
        set.detach_all();
        assert!(set.is_empty());
        assert!(set.try_join_next().is_none());
        assert!(set.join_next().is_none());
        // results still in the set went with detach_all; members still
        // running drop their own
        yield_until(&dropped, 5);
        assert_eq!(dropped.load(SeqCst), 5);
    });
}
