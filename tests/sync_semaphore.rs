//! `sync::Semaphore`: bounds, FIFO grants, zero permits, cancellation.

mod common;
use common::{rt, spawn_parked};

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};
use strands::sync::Semaphore;

#[test]
fn at_most_n_hold_a_permit() {
    rt(2).block_on(|| {
        let sem = Arc::new(Semaphore::new(3));
        let (now, max) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let hs: Vec<_> = (0..50)
            .map(|_| {
                let (sem, now, max) = (Arc::clone(&sem), Arc::clone(&now), Arc::clone(&max));
                strands::spawn(move || {
                    for _ in 0..20 {
                        let _p = sem.acquire();
                        let n = now.fetch_add(1, SeqCst) + 1;
                        max.fetch_max(n, SeqCst);
                        strands::yield_now();
                        now.fetch_sub(1, SeqCst);
                    }
                })
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
        assert!(max.load(SeqCst) <= 3);
        assert_eq!(sem.available_permits(), 3);
    });
}

#[test]
fn zero_permits_wait_for_add_permits() {
    rt(1).block_on(|| {
        let sem = Arc::new(Semaphore::new(0));
        assert!(sem.try_acquire().is_none());
        let s = Arc::clone(&sem);
        let h = spawn_parked(move || s.acquire().forget());
        assert!(!h.is_finished());
        sem.add_permits(1);
        h.join().unwrap();
        assert_eq!(sem.available_permits(), 0); // forgotten
    });
}

#[test]
fn grants_are_fifo_and_a_large_request_is_not_overtaken() {
    rt(1).block_on(|| {
        let sem = Arc::new(Semaphore::new(0));
        let order = Arc::new(StdMutex::new(Vec::new()));
        let mut hs = Vec::new();
        for (i, n) in [(0, 1), (1, 3), (2, 1)] {
            let (s, o) = (Arc::clone(&sem), Arc::clone(&order));
            hs.push(spawn_parked(move || {
                let _p = s.acquire_many(n);
                o.lock().unwrap().push(i);
            }));
        }
        sem.add_permits(2); // serves 0; 1 needs 3, and 2 may not overtake it
        strands::yield_now();
        assert_eq!(*order.lock().unwrap(), [0]);
        assert!(
            sem.try_acquire().is_none(),
            "a newcomer may not overtake 1 either"
        );
        // 0 gave its permit back: 2 now, 3 with this one, all for 1 (so
        // the grants, not the order the woken strands happen to run in,
        // decide the order below)
        sem.add_permits(1);
        hs.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(*order.lock().unwrap(), [0, 1, 2]);
        assert_eq!(sem.available_permits(), 3);
    });
}

/// A queued waiter that is cancelled withdraws; one that was granted its
/// permit before it saw the cancellation owns it (`acquire` returns it) and
/// releases it when the permit drops, as the strand unwinds at its next
/// blocking point (before 2026-11 it unwound out of `acquire` and gave the
/// permit on).
#[test]
fn a_cancelled_waiter_withdraws_or_owns_its_permit() {
    rt(1).block_on(|| {
        let sem = Arc::new(Semaphore::new(0));
        let got = Arc::new(AtomicUsize::new(0));
        let (s1, s2, s3) = (Arc::clone(&sem), Arc::clone(&sem), Arc::clone(&sem));
        let (g, g2) = (Arc::clone(&got), Arc::clone(&got));
        let queued = spawn_parked(move || drop(s1.acquire()));
        let handed = spawn_parked(move || {
            let _p = s2.acquire();
            g2.fetch_add(1, SeqCst);
            strands::yield_now(); // unwinds here; the permit drops
        });
        let last = spawn_parked(move || {
            let _p = s3.acquire();
            g.fetch_add(1, SeqCst);
        });
        queued.cancel();
        assert!(queued.join().unwrap_err().is_cancelled()); // withdrew
        handed.cancel();
        sem.add_permits(1); // granted to `handed`, which releases it to `last`
        assert!(handed.join().unwrap_err().is_cancelled());
        last.join().unwrap();
        assert_eq!(got.load(SeqCst), 2);
        assert_eq!(sem.available_permits(), 1, "no permit lost");
    });
}

#[test]
fn owned_permits_move_between_strands_and_threads() {
    let sem = Arc::new(Semaphore::new(1));
    let p = sem.acquire_owned();
    assert!(sem.try_acquire_owned().is_none());
    let s = Arc::clone(&sem);
    let rt = rt(1);
    let h = rt.spawn(move || s.acquire_owned()); // waits for the thread's permit
    std::thread::spawn(move || drop(p)).join().unwrap();
    let p2 = h.join().unwrap();
    assert_eq!(Arc::as_ptr(p2.semaphore()), Arc::as_ptr(&sem));
    drop(p2);
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn acquire_timeout_does_not_return_before_its_deadline() {
    let sem = Semaphore::new(0);
    let t = Instant::now();
    assert!(sem.acquire_timeout(Duration::from_millis(20)).is_none());
    assert!(t.elapsed() >= Duration::from_millis(20));
    rt(1).block_on(move || {
        let t = Instant::now();
        assert!(sem.acquire_timeout(Duration::from_millis(20)).is_none());
        assert!(t.elapsed() >= Duration::from_millis(20));
        sem.add_permits(1);
        assert!(sem.acquire_timeout(Duration::from_millis(20)).is_some());
    });
}
