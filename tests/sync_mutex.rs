//! `sync::Mutex` and `sync::Condvar`: exclusion, FIFO hand-off, poisoning,
//! cancellation of waiters, mixed strands and threads.

mod common;
use common::{rt, spawn_parked};

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, TryLockError};
use std::time::{Duration, Instant};
use strands::sync::{Condvar, Mutex};

const HANG: Duration = Duration::from_secs(30);

#[test]
fn smoke_lock_try_lock_into_inner_get_mut() {
    let mut m = Mutex::new(vec![1]);
    m.lock().unwrap().push(2);
    m.get_mut().unwrap().push(3);
    {
        let _g = m.lock().unwrap();
        assert!(matches!(m.try_lock(), Err(TryLockError::WouldBlock)));
    }
    assert_eq!(*m.try_lock().unwrap(), [1, 2, 3]);
    assert_eq!(
        format!("{m:?}"),
        "Mutex { data: [1, 2, 3], poisoned: false }"
    );
    assert_eq!(m.into_inner().unwrap(), [1, 2, 3]);
}

#[test]
fn contended_counter_across_strands_and_threads() {
    let m = Arc::new(Mutex::new(0u64));
    let rt = rt(2);
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let m = Arc::clone(&m);
            std::thread::spawn(move || {
                for _ in 0..2000 {
                    *m.lock().unwrap() += 1;
                }
            })
        })
        .collect();
    let m2 = Arc::clone(&m);
    rt.block_on(move || {
        let hs: Vec<_> = (0..100)
            .map(|_| {
                let m = Arc::clone(&m2);
                strands::spawn(move || {
                    for i in 0..200 {
                        let mut g = m.lock().unwrap();
                        *g += 1;
                        if i % 7 == 0 {
                            strands::yield_now(); // hold it across a switch
                        }
                    }
                })
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
    });
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(*m.lock().unwrap(), 100 * 200 + 2 * 2000);
}

#[test]
fn waiters_get_the_lock_in_fifo_order_and_nobody_barges() {
    let order = rt(1).block_on(|| {
        let m = Arc::new(Mutex::new(Vec::new()));
        let g = m.lock().unwrap();
        let hs: Vec<_> = (0..8)
            .map(|i| {
                let m = Arc::clone(&m);
                spawn_parked(move || m.lock().unwrap().push(i))
            })
            .collect();
        drop(g);
        // Handed straight to the first waiter: a newcomer cannot take it.
        assert!(matches!(m.try_lock(), Err(TryLockError::WouldBlock)));
        hs.into_iter().for_each(|h| h.join().unwrap());
        let v = m.lock().unwrap().clone();
        v
    });
    assert_eq!(order, (0..8).collect::<Vec<_>>());
}

#[test]
fn a_panicking_holder_poisons_like_std() {
    rt(1).block_on(|| {
        let m = Arc::new(Mutex::new(5));
        let m2 = Arc::clone(&m);
        let err = strands::spawn(move || {
            let _g = m2.lock().unwrap();
            panic!("while holding");
        })
        .join()
        .unwrap_err();
        assert!(err.is_panic());
        assert!(m.is_poisoned());
        let g = m.lock().unwrap_err().into_inner();
        assert_eq!(*g, 5);
        drop(g);
        assert!(matches!(m.try_lock(), Err(TryLockError::Poisoned(_))));
        m.clear_poison();
        assert_eq!(*m.lock().unwrap(), 5);
    });
}

#[test]
fn a_holder_cancelled_at_a_blocking_point_poisons_and_unlocks() {
    rt(1).block_on(|| {
        let m = Arc::new(Mutex::new(()));
        let m2 = Arc::clone(&m);
        let h = spawn_parked(move || {
            let _g = m2.lock().unwrap();
            strands::sleep(Duration::from_secs(3600));
        });
        h.cancel();
        assert!(h.join().unwrap_err().is_cancelled());
        assert!(m.is_poisoned());
        assert!(m
            .try_lock()
            .is_err_and(|e| matches!(e, TryLockError::Poisoned(_))));
    });
}

#[test]
fn a_cancelled_queued_waiter_leaves_the_queue() {
    rt(1).block_on(|| {
        let m = Arc::new(Mutex::new(Vec::new()));
        let g = m.lock().unwrap();
        let (m1, m2) = (Arc::clone(&m), Arc::clone(&m));
        let w = spawn_parked(move || m1.lock().unwrap().push("cancelled"));
        let x = spawn_parked(move || m2.lock().unwrap().push("next"));
        w.cancel();
        assert!(w.join().unwrap_err().is_cancelled());
        drop(g);
        x.join().unwrap();
        assert_eq!(*m.lock().unwrap(), ["next"]);
        assert!(!m.is_poisoned());
    });
}

/// The lock was handed over before the cancellation was seen: `lock`
/// returns the guard (the waiter owns the lock and releases it normally);
/// the cancellation fires at the next blocking point (before 2026-11 the
/// waiter unwound out of `lock` and passed the lock on).
#[test]
fn a_lock_handed_to_a_cancelled_waiter_is_its_own() {
    rt(1).block_on(|| {
        let m = Arc::new(Mutex::new(Vec::new()));
        let g = m.lock().unwrap();
        let (m1, m2) = (Arc::clone(&m), Arc::clone(&m));
        let w = spawn_parked(move || {
            m1.lock().unwrap().push("handed");
            strands::yield_now(); // the next blocking point: unwinds here
            unreachable!("cancelled");
        });
        let x = spawn_parked(move || m2.lock().unwrap().push("next"));
        w.cancel(); // queued to run, not run yet
        drop(g); // hands the lock to `w`, which takes it, then unwinds later
        assert!(w.join().unwrap_err().is_cancelled());
        x.join().unwrap();
        assert_eq!(*m.lock().unwrap(), ["handed", "next"]);
        assert!(!m.is_poisoned(), "released before the unwind");
    });
}

#[test]
fn strand_and_thread_hand_the_lock_to_each_other() {
    let rt = rt(1);
    let m = Arc::new(Mutex::new(0));
    let g = m.lock().unwrap();
    let m2 = Arc::clone(&m);
    let started = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&started);
    let h = rt.spawn(move || {
        s.store(true, SeqCst);
        *m2.lock().unwrap() += 1; // parks the strand until the thread unlocks
    });
    while !started.load(SeqCst) {
        std::thread::yield_now();
    }
    drop(g);
    h.join().unwrap();
    // and the other way round: a thread waits for a strand
    let m3 = Arc::clone(&m);
    let held = Arc::new(std::sync::Barrier::new(2));
    let held2 = Arc::clone(&held);
    let h = rt.spawn(move || {
        let mut g = m3.lock().unwrap();
        held2.wait();
        strands::sleep(Duration::from_millis(5));
        *g += 1;
    });
    held.wait();
    *m.lock().unwrap() += 1; // the thread blocks until the strand unlocks
    h.join().unwrap();
    assert_eq!(*m.lock().unwrap(), 3);
}

#[test]
fn condvar_notify_one_and_all() {
    rt(2).block_on(|| {
        let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
        let woken = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..10)
            .map(|_| {
                let (p, w) = (Arc::clone(&pair), Arc::clone(&woken));
                strands::spawn(move || {
                    let (m, cv) = &*p;
                    let g = cv.wait_while(m.lock().unwrap(), |n| *n == 0).unwrap();
                    assert!(*g > 0);
                    w.fetch_add(1, SeqCst);
                })
            })
            .collect();
        *pair.0.lock().unwrap() = 1;
        pair.1.notify_all();
        hs.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(woken.load(SeqCst), 10);
    });
}

#[test]
fn condvar_wait_timeout_does_not_return_before_its_deadline() {
    let (m, cv) = (Mutex::new(()), Condvar::new());
    let t = Instant::now();
    let (_g, r) = cv
        .wait_timeout(m.lock().unwrap(), Duration::from_millis(20))
        .unwrap();
    assert!(r.timed_out());
    assert!(t.elapsed() >= Duration::from_millis(20));
    rt(1).block_on(|| {
        let (m, cv) = (Mutex::new(1), Condvar::new());
        let t = Instant::now();
        let (g, r) = cv
            .wait_timeout_while(m.lock().unwrap(), Duration::from_millis(20), |v| *v == 1)
            .unwrap();
        assert!(r.timed_out() && *g == 1);
        assert!(t.elapsed() >= Duration::from_millis(20));
    });
}

/// A notification picked by a cancelled waiter is its own: `wait`
/// returns the re-locked guard (even with the mutex contended), the
/// cancellation fires at the next blocking point, and nobody else is
/// woken (before 2026-11 the waiter unwound and passed it on).
#[test]
fn a_notification_picked_by_a_cancelled_waiter_is_its_own() {
    rt(1).block_on(|| {
        let pair = Arc::new((Mutex::new(0), Condvar::new()));
        let (p1, p2) = (Arc::clone(&pair), Arc::clone(&pair));
        let w = spawn_parked(move || {
            let mut g = p1.1.wait(p1.0.lock().unwrap()).unwrap();
            *g += 1;
            drop(g);
            strands::yield_now(); // unwinds here
            unreachable!("cancelled");
        });
        let x = spawn_parked(move || drop(p2.1.wait(p2.0.lock().unwrap())));
        let held = pair.0.lock().unwrap(); // `w` must wait to re-lock
        w.cancel();
        pair.1.notify_one(); // picks `w`
        strands::yield_now(); // `w` runs, queues for the mutex
        drop(held);
        assert!(w.join().unwrap_err().is_cancelled());
        assert_eq!(*pair.0.lock().unwrap(), 1, "`wait` returned the guard");
        for _ in 0..5 {
            strands::yield_now(); // `x` would run now if it had been woken
        }
        assert!(!x.is_finished(), "not woken");
        pair.1.notify_one();
        assert!(x.join_timeout(HANG).is_ok());
        assert!(!pair.0.is_poisoned());
    });
}

#[test]
fn condvar_between_a_thread_and_a_strand() {
    let rt = rt(1);
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let p = Arc::clone(&pair);
    let h = rt.spawn(move || {
        let g = p.1.wait_while(p.0.lock().unwrap(), |r| !*r).unwrap();
        assert!(*g);
    });
    *pair.0.lock().unwrap() = true;
    pair.1.notify_one();
    h.join().unwrap();
}

#[test]
fn a_strand_unwinding_through_a_drop_that_locks_blocks_its_thread_and_gets_the_lock() {
    let rt = rt(1);
    let m = Arc::new(Mutex::new(0));
    let g = m.lock().unwrap(); // held by this plain thread
    let unwinding = Arc::new(AtomicBool::new(false));
    struct LockOnDrop(Arc<Mutex<i32>>, Arc<AtomicBool>);
    impl Drop for LockOnDrop {
        fn drop(&mut self) {
            self.1.store(true, SeqCst);
            *self.0.lock().unwrap_or_else(|e| e.into_inner()) += 1; // parks the thread
        }
    }
    let (m2, u2) = (Arc::clone(&m), Arc::clone(&unwinding));
    let h = rt.spawn(move || {
        let _d = LockOnDrop(m2, u2);
        panic!("unwinding with a lock to take");
    });
    while !unwinding.load(SeqCst) {
        std::thread::yield_now();
    }
    drop(g);
    assert!(h.join().unwrap_err().is_panic());
    assert_eq!(*m.lock().unwrap(), 1);
}
