//! Sleeping and join timeouts.

mod common;
use common::rt;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn sleep_never_returns_early() {
    rt(2).block_on(|| {
        let hs: Vec<_> = (0..200u64)
            .map(|i| {
                strands::spawn(move || {
                    let d = Duration::from_micros(100 * (i % 20));
                    let t = Instant::now();
                    strands::sleep(d);
                    t.elapsed() >= d
                })
            })
            .collect();
        assert!(hs.into_iter().all(|h| h.join().unwrap()));
    });
}

#[test]
fn sleep_until_a_past_instant_returns_at_once_and_so_does_zero() {
    rt(1).block_on(|| {
        strands::sleep_until(Instant::now() - Duration::from_millis(5));
        strands::sleep(Duration::ZERO);
    });
}

#[test]
fn a_sleeping_strand_costs_no_worker() {
    // one worker: while a strand sleeps, another runs to completion
    let progress = Arc::new(AtomicUsize::new(0));
    let p = Arc::clone(&progress);
    let seen_while_asleep = rt(1).block_on(move || {
        let p2 = Arc::clone(&p);
        let sleeper = strands::spawn(move || {
            strands::sleep(Duration::from_millis(50));
            p2.load(Ordering::SeqCst)
        });
        let worker = strands::spawn(move || {
            for _ in 0..1000 {
                p.fetch_add(1, Ordering::SeqCst);
                strands::yield_now();
            }
        });
        worker.join().unwrap();
        sleeper.join().unwrap()
    });
    assert_eq!(
        seen_while_asleep, 1000,
        "the other strand ran while this one slept"
    );
    assert_eq!(progress.load(Ordering::SeqCst), 1000);
}

#[test]
fn sleeping_on_a_plain_thread_sleeps_the_thread() {
    let t = Instant::now();
    strands::sleep(Duration::from_millis(5));
    assert!(t.elapsed() >= Duration::from_millis(5));
}

#[test]
fn join_timeout_gives_the_handle_back_then_joins() {
    let rt = rt(2);
    rt.block_on(|| {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let h = strands::spawn(move || {
            // waits (blocking a thread via std is not the point here, so poll)
            while rx.try_recv().is_err() {
                strands::sleep(Duration::from_millis(1));
            }
            7
        });
        let h = h.join_timeout(Duration::from_millis(5)).unwrap_err();
        tx.send(()).unwrap();
        assert_eq!(h.join_timeout(Duration::from_secs(60)).unwrap().unwrap(), 7);
    });
    assert_eq!(
        rt.metrics().timers_pending,
        0,
        "finished joins leave no timer behind"
    );
}

#[test]
fn join_timeout_from_a_plain_thread() {
    let rt = rt(1);
    let h = rt.spawn(|| strands::sleep(Duration::from_millis(30)));
    let h = h.join_timeout(Duration::from_millis(1)).unwrap_err();
    assert!(h.join_timeout(Duration::from_secs(60)).unwrap().is_ok());
}

#[test]
fn timers_fire_and_are_counted() {
    let rt = rt(1);
    rt.block_on(|| {
        for _ in 0..10 {
            strands::sleep(Duration::from_micros(200));
        }
    });
    let m = rt.metrics();
    assert_eq!(m.timers_pending, 0);
    assert!(m.timers_fired >= 1 && m.timers_fired <= 10, "{m:?}");
}
