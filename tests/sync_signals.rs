//! `sync::{Barrier, WaitGroup, Notify, OnceLock}`.

mod common;
use common::{rt, spawn_parked};

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};
use strands::sync::{Barrier, Notify, OnceLock, WaitGroup};

const HANG: Duration = Duration::from_secs(30);

#[test]
fn barrier_rounds_with_one_leader_each() {
    rt(2).block_on(|| {
        let b = Arc::new(Barrier::new(5));
        let phase = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..5)
            .map(|_| {
                let (b, phase) = (Arc::clone(&b), Arc::clone(&phase));
                strands::spawn(move || {
                    let mut leaders = 0;
                    for round in 0..20 {
                        assert_eq!(phase.load(SeqCst) / 5, round, "nobody is a round ahead");
                        phase.fetch_add(1, SeqCst);
                        leaders += b.wait().is_leader() as usize;
                        b.wait(); // everyone has checked before the next round
                    }
                    leaders
                })
            })
            .collect();
        let leaders: usize = hs.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(leaders, 20);
    });
}

#[test]
fn barriers_of_size_zero_and_one_never_block() {
    for n in [0, 1] {
        let b = Barrier::new(n);
        assert!(b.wait().is_leader() && b.wait().is_leader());
    }
}

#[test]
fn a_cancelled_barrier_waiter_withdraws_its_arrival() {
    rt(1).block_on(|| {
        let b = Arc::new(Barrier::new(2));
        let b1 = Arc::clone(&b);
        let gone = spawn_parked(move || b1.wait());
        gone.cancel();
        assert!(gone.join().unwrap_err().is_cancelled());
        let b2 = Arc::clone(&b);
        let other = spawn_parked(move || b2.wait().is_leader());
        assert!(!other.is_finished(), "one party is not enough");
        assert!(b.wait().is_leader());
        assert!(!other.join().unwrap());
    });
}

#[test]
fn barrier_between_threads_and_strands() {
    let rt = rt(1);
    let b = Arc::new(Barrier::new(3));
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let b = Arc::clone(&b);
            rt.spawn(move || b.wait().is_leader())
        })
        .collect();
    let me = b.wait().is_leader();
    let n = hs
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|l| *l)
        .count();
    assert_eq!(n + me as usize, 1);
}

#[test]
fn waitgroup_releases_every_waiter_at_zero() {
    rt(2).block_on(|| {
        let wg = Arc::new(WaitGroup::new());
        wg.wait(); // zero: returns at once
        wg.add(3);
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let wg = Arc::clone(&wg);
                strands::spawn(move || wg.wait())
            })
            .collect();
        for _ in 0..3 {
            let wg = Arc::clone(&wg);
            strands::spawn(move || wg.done());
        }
        waiters.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(wg.count(), 0);
    });
}

#[test]
#[should_panic(expected = "more often than add")]
fn waitgroup_done_below_zero_panics() {
    WaitGroup::new().done();
}

#[test]
fn waitgroup_wait_timeout_does_not_return_early() {
    let wg = WaitGroup::new();
    wg.add(1);
    let t = Instant::now();
    assert!(!wg.wait_timeout(Duration::from_millis(20)));
    assert!(t.elapsed() >= Duration::from_millis(20));
}

#[test]
fn notify_one_stores_one_permit_and_notify_waiters_none() {
    let n = Notify::new();
    n.notify_one();
    n.notify_one(); // permits do not add up
    assert!(n.wait_timeout(Duration::ZERO));
    assert!(!n.wait_timeout(Duration::from_millis(1)));
    n.notify_waiters(); // nobody waits: nothing stored
    assert!(!n.wait_timeout(Duration::from_millis(1)));
}

#[test]
fn notify_waiters_wakes_all_current_waiters() {
    rt(1).block_on(|| {
        let n = Arc::new(Notify::new());
        let hs: Vec<_> = (0..3)
            .map(|_| {
                let n = Arc::clone(&n);
                spawn_parked(move || n.wait())
            })
            .collect();
        n.notify_waiters();
        hs.into_iter().for_each(|h| h.join().unwrap());
    });
}

/// A notification picked by a cancelled waiter is its own: `wait`
/// returns, and the cancellation fires at the next blocking point; nobody
/// else is woken and no permit is stored (before 2026-11 the waiter
/// unwound out of `wait` and passed the notification on).
#[test]
fn a_notification_picked_by_a_cancelled_waiter_is_its_own() {
    rt(1).block_on(|| {
        let n = Arc::new(Notify::new());
        let (n1, n2) = (Arc::clone(&n), Arc::clone(&n));
        let w = spawn_parked(move || {
            n1.wait();
            strands::yield_now(); // unwinds here
            unreachable!("cancelled");
        });
        let x = spawn_parked(move || n2.wait());
        w.cancel();
        n.notify_one(); // picks `w`
        assert!(w.join().unwrap_err().is_cancelled());
        assert!(!n.wait_timeout(Duration::ZERO), "no permit left over");
        n.notify_one();
        assert!(x.join_timeout(HANG).is_ok());
        // a cancelled waiter that was not notified withdraws
        let n1 = Arc::clone(&n);
        let w = spawn_parked(move || n1.wait());
        w.cancel();
        assert!(w.join().unwrap_err().is_cancelled());
        n.notify_one();
        assert!(n.wait_timeout(Duration::ZERO), "stored as the permit");
    });
}

#[test]
fn once_lock_runs_one_initialiser_while_the_others_park() {
    let runs = Arc::new(AtomicUsize::new(0));
    let cell = Arc::new(OnceLock::new());
    let (r, c) = (Arc::clone(&runs), Arc::clone(&cell));
    rt(2).block_on(move || {
        let hs: Vec<_> = (0..20)
            .map(|i| {
                let (r, c) = (Arc::clone(&r), Arc::clone(&c));
                strands::spawn(move || {
                    *c.get_or_init(|| {
                        r.fetch_add(1, SeqCst);
                        strands::sleep(Duration::from_millis(2));
                        i
                    })
                })
            })
            .collect();
        let v: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(v.iter().all(|x| *x == v[0]));
    });
    assert_eq!(runs.load(SeqCst), 1);
    assert!(cell.get().is_some());
}

#[test]
fn a_failed_initialiser_lets_a_waiter_try_again() {
    rt(1).block_on(|| {
        let cell = Arc::new(OnceLock::new());
        let (c1, c2) = (Arc::clone(&cell), Arc::clone(&cell));
        let first = spawn_parked(move || {
            *c1.get_or_init(|| {
                strands::sleep(Duration::from_secs(3600)); // cancelled here
                1
            })
        });
        let second = spawn_parked(move || *c2.get_or_init(|| 2));
        first.cancel();
        assert!(first.join().unwrap_err().is_cancelled());
        assert_eq!(second.join().unwrap(), 2);
        assert_eq!(cell.get(), Some(&2));
    });
}

#[test]
fn once_lock_in_a_static_set_take_into_inner() {
    static CELL: OnceLock<String> = OnceLock::new();
    assert_eq!(CELL.get_or_init(|| "a".into()), "a");
    assert_eq!(CELL.set("b".into()), Err("b".into()));
    let mut c = OnceLock::new();
    assert_eq!(c.take(), None::<u8>);
    c.set(3).unwrap();
    assert_eq!(c.take(), Some(3));
    assert!(c.get().is_none());
    c.set(4).unwrap();
    assert_eq!(c.into_inner(), Some(4));
}

#[test]
fn a_cancelled_waitgroup_waiter_leaves_and_the_others_are_released() {
    rt(1).block_on(|| {
        let wg = Arc::new(WaitGroup::new());
        wg.add(1);
        let (w1, w2) = (Arc::clone(&wg), Arc::clone(&wg));
        let gone = spawn_parked(move || w1.wait());
        let stays = spawn_parked(move || w2.wait());
        gone.cancel();
        assert!(gone.join().unwrap_err().is_cancelled());
        wg.done();
        assert!(stays.join_timeout(HANG).is_ok());
    });
}

#[test]
fn a_cancelled_once_lock_waiter_leaves_and_the_value_still_arrives() {
    rt(1).block_on(|| {
        let cell = Arc::new(OnceLock::new());
        let gate = Arc::new(Notify::new());
        let (c1, c2, c3, g) = (
            Arc::clone(&cell),
            Arc::clone(&cell),
            Arc::clone(&cell),
            Arc::clone(&gate),
        );
        let init = spawn_parked(move || {
            *c1.get_or_init(|| {
                g.wait(); // holds the cell in RUNNING until notified
                7
            })
        });
        let gone = spawn_parked(move || *c2.get_or_init(|| 0));
        let stays = spawn_parked(move || *c3.get_or_init(|| 0));
        gone.cancel();
        assert!(gone.join().unwrap_err().is_cancelled());
        gate.notify_one();
        assert_eq!(init.join().unwrap(), 7);
        assert_eq!(stays.join().unwrap(), 7);
    });
}
