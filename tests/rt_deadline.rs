//! Deadlines: earliest deadline first within a priority level.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use strands::{Builder, Priority};

/// Spawns one strand per `(tag, deadline offset in ms or None, priority)`
/// from a strand of a one-worker runtime, each logging its tag `turns`
/// times with a yield in between, released together once all exist.
fn run_logged(specs: &[(u32, Option<u64>, Priority)], turns: usize) -> Vec<u32> {
    let rt = common::rt(1);
    let log = Arc::new(Mutex::new(Vec::new()));
    let go = Arc::new(AtomicBool::new(false));
    let specs = specs.to_vec();
    let l2 = Arc::clone(&log);
    rt.block_on(move || {
        let base = Instant::now() + Duration::from_secs(3600);
        let hs: Vec<_> = specs
            .into_iter()
            .map(|(tag, d, p)| {
                let (log, go) = (Arc::clone(&l2), Arc::clone(&go));
                let mut b = Builder::new().priority(p);
                if let Some(ms) = d {
                    b = b.deadline(base + Duration::from_millis(ms));
                }
                b.spawn(move || {
                    while !go.load(Ordering::SeqCst) {
                        strands::yield_now();
                    }
                    for _ in 0..turns {
                        log.lock().unwrap().push(tag);
                        strands::yield_now();
                    }
                })
                .unwrap()
            })
            .collect();
        go.store(true, Ordering::SeqCst);
        hs.into_iter().for_each(|h| h.join().unwrap());
    });
    let v = log.lock().unwrap().clone();
    v
}

#[test]
fn strands_run_in_deadline_order_and_those_without_one_last() {
    let n = Priority::Normal;
    let log = run_logged(
        &[
            (3, Some(30), n),
            (0, None, n),
            (1, Some(10), n),
            (2, Some(20), n),
        ],
        1,
    );
    assert_eq!(log, [1, 2, 3, 0]);
}

#[test]
fn deadlines_order_the_start_and_a_yield_goes_round_robin() {
    let n = Priority::Normal;
    let log = run_logged(&[(2, Some(20), n), (1, Some(10), n), (0, None, n)], 3);
    // dated strands start first, by deadline; a yield puts a strand behind
    // the others of its level
    assert_eq!(log, [1, 2, 0, 1, 2, 0, 1, 2, 0]);
}

#[test]
fn dated_strands_waiting_by_yielding_for_an_undated_one_let_it_run() {
    // found by the fuzzer: two dated strands yield-waiting in a chain on an
    // undated one kept handing the worker to each other
    let rt = common::rt(1);
    let v = rt.block_on(|| {
        let far = Instant::now() + Duration::from_secs(3600);
        let a = Builder::new()
            .deadline(far)
            .spawn(move || {
                let b = Builder::new()
                    .deadline(far + Duration::from_millis(1))
                    .spawn(|| {
                        let c = strands::spawn(|| 5);
                        while !c.is_finished() {
                            strands::yield_now();
                        }
                        c.join().unwrap()
                    })
                    .unwrap();
                while !b.is_finished() {
                    strands::yield_now();
                }
                b.join().unwrap()
            })
            .unwrap();
        a.join().unwrap()
    });
    assert_eq!(v, 5);
}

#[test]
fn a_strand_waiting_by_yielding_for_a_later_deadline_is_not_stuck() {
    // found by the fuzzer: under strict EDF the waiter's yields handed the
    // worker straight back to itself, forever
    let rt = common::rt(1);
    let done = rt.block_on(|| {
        let now = Instant::now();
        let waiter = Builder::new()
            .deadline(now + Duration::from_millis(1))
            .spawn(move || {
                let later = Builder::new()
                    .deadline(now + Duration::from_secs(1))
                    .spawn(|| 7)
                    .unwrap();
                while !later.is_finished() {
                    strands::yield_now();
                }
                later.join().unwrap()
            })
            .unwrap();
        waiter.join().unwrap()
    });
    assert_eq!(done, 7);
}

#[test]
fn equal_deadlines_take_turns() {
    let n = Priority::Normal;
    let log = run_logged(&[(1, Some(10), n), (2, Some(10), n)], 3);
    assert_eq!(log, [1, 2, 1, 2, 1, 2]);
}

#[test]
fn deadlines_order_within_a_level_not_across_levels() {
    // a Low strand with the earliest deadline still gets only Low's share
    let log = run_logged(
        &[
            (9, Some(0), Priority::Low),
            (1, Some(10), Priority::High),
            (2, Some(20), Priority::High),
        ],
        60,
    );
    // while High has work, Low gets exactly 1 pick in 16 (Normal is empty,
    // so its share falls to High), whatever the deadlines say
    // (up to strand 1's last entry: its exit takes a pick the log misses)
    let last_1 = log.iter().rposition(|&t| t == 1).unwrap();
    let lows: Vec<usize> = (0..=last_1).filter(|&i| log[i] == 9).collect();
    assert!(lows.len() >= 3 && lows[0] < 16, "{log:?}");
    assert!(lows.windows(2).all(|w| w[1] - w[0] == 16), "{log:?}");
    // and within High: 1 (earliest) first, then turns (yields go round
    // robin), so 1 is never passed over twice in a row
    let high: Vec<u32> = log.iter().copied().filter(|&t| t != 9).collect();
    let last_1 = high.iter().rposition(|&t| t == 1).unwrap();
    assert!(!high[..last_1].windows(2).any(|w| w == [2, 2]), "{high:?}");
    assert_eq!(high.iter().filter(|&&t| t == 1).count(), 60);
}

#[test]
fn deadline_strands_spawned_from_outside_are_ordered_too() {
    let rt = common::rt(1);
    let log = Arc::new(Mutex::new(Vec::new()));
    // hold the only worker so that all three are queued before any runs
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (started_tx, started) = std::sync::mpsc::channel::<()>();
    let gate = rt.spawn(move || {
        started_tx.send(()).unwrap();
        rx.recv().unwrap() // blocks the worker thread itself
    });
    started.recv().unwrap();
    let base = Instant::now() + Duration::from_secs(3600);
    let hs: Vec<_> = [30u64, 10, 20]
        .into_iter()
        .map(|ms| {
            let log = Arc::clone(&log);
            Builder::new()
                .deadline(base + Duration::from_millis(ms))
                .spawn_on(rt.handle(), move || log.lock().unwrap().push(ms))
                .unwrap()
        })
        .collect();
    tx.send(()).unwrap();
    gate.join().unwrap();
    hs.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(*log.lock().unwrap(), [10, 20, 30]);
}

#[test]
fn a_passed_deadline_is_the_most_urgent() {
    let rt = common::rt(1);
    let order = rt.block_on(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let now = Instant::now();
        let past = now.checked_sub(Duration::from_secs(1)).unwrap_or(now);
        let hs: Vec<_> = [(1, now + Duration::from_secs(60)), (0, past)]
            .into_iter()
            .map(|(tag, d)| {
                let log = Arc::clone(&log);
                Builder::new()
                    .deadline(d)
                    .spawn(move || log.lock().unwrap().push(tag))
                    .unwrap()
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
        let v = log.lock().unwrap().clone();
        v
    });
    assert_eq!(order, [0, 1]);
}
