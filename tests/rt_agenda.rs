//! The agenda: priorities served by a documented, exact bound; unstarted
//! strands stolen by idle workers.

mod common;

use std::collections::HashSet;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use strands::{Builder, Priority};

#[test]
fn every_16_picks_serve_12_high_3_normal_1_low() {
    let rt = common::rt(1);
    let log = Arc::new(Mutex::new(Vec::new()));
    let go = Arc::new(AtomicBool::new(false));
    let (log2, go2) = (Arc::clone(&log), Arc::clone(&go));
    rt.block_on(move || {
        let hs: Vec<_> = [Priority::High, Priority::Normal, Priority::Low]
            .into_iter()
            .map(|p| {
                let (log, go) = (Arc::clone(&log2), Arc::clone(&go2));
                Builder::new()
                    .priority(p)
                    .spawn(move || {
                        while !go.load(Ordering::SeqCst) {
                            strands::yield_now();
                        }
                        for _ in 0..200 {
                            log.lock().unwrap().push(p);
                            strands::yield_now();
                        }
                    })
                    .unwrap()
            })
            .collect();
        go2.store(true, Ordering::SeqCst);
        for h in hs {
            h.join().unwrap(); // parks: from here on only the three are runnable
        }
    });
    let log = log.lock().unwrap().clone();
    let last_high = log.iter().rposition(|&p| p == Priority::High).unwrap();
    // up to High's last entry every level always had work
    let window = &log[..=last_high];
    assert!(window.len() > 200, "{}", window.len());
    for (i, w) in window.windows(16).enumerate() {
        let count = |p| w.iter().filter(|&&x| x == p).count();
        assert_eq!(
            (
                count(Priority::High),
                count(Priority::Normal),
                count(Priority::Low)
            ),
            (12, 3, 1),
            "window at {i}: {w:?}"
        );
    }
    let m = rt.metrics();
    assert!(m.picks[0].iter().all(|&n| n > 0), "{:?}", m.picks);
}

#[test]
fn low_priority_runs_while_high_priority_strands_keep_yielding() {
    let rt = common::rt(1);
    let stop = Arc::new(AtomicBool::new(false));
    let ran_low = rt.block_on(|| {
        let busy: Vec<_> = (0..8)
            .map(|_| {
                let stop = Arc::clone(&stop);
                Builder::new()
                    .priority(Priority::High)
                    .spawn(move || {
                        while !stop.load(Ordering::SeqCst) {
                            strands::yield_now();
                        }
                    })
                    .unwrap()
            })
            .collect();
        let low = Builder::new()
            .priority(Priority::Low)
            .spawn(|| true)
            .unwrap();
        let r = low.join().unwrap(); // would hang if Low starved
        stop.store(true, Ordering::SeqCst);
        busy.into_iter().for_each(|h| h.join().unwrap());
        r
    });
    assert!(ran_low);
}

#[test]
fn an_idle_worker_steals_strands_spawned_on_a_busy_one() {
    let rt = common::rt(2);
    let workers = Arc::new(Mutex::new(HashSet::new()));
    let w2 = Arc::clone(&workers);
    let all_saw_two = rt.block_on(move || {
        // spawned from a strand: they land in this worker's fresh deque
        let hs: Vec<_> = (0..50)
            .map(|_| {
                let w = Arc::clone(&w2);
                strands::spawn(move || {
                    w.lock()
                        .unwrap()
                        .insert(std::thread::current().name().unwrap().to_string());
                    // hold this worker without yielding until the other
                    // worker has run one of us: only stealing gets it there
                    let t = Instant::now();
                    while w.lock().unwrap().len() < 2 {
                        if t.elapsed() > Duration::from_secs(30) {
                            return false;
                        }
                        std::hint::spin_loop();
                    }
                    true
                })
            })
            .collect();
        hs.into_iter().all(|h| h.join().unwrap())
    });
    assert!(all_saw_two);
    assert_eq!(workers.lock().unwrap().len(), 2);
    assert!(rt.metrics().steals.iter().sum::<u64>() > 0);
}

/// A lone strand spawned on a worker is left to that worker for a moment
/// (it is usually its next pick: the spawner joins it), but not for good:
/// while the spawner holds its worker without a runtime call, another
/// worker takes the strand (by stealing, or a spare the watchdog starts).
#[test]
fn a_lone_strand_behind_a_strand_that_holds_its_worker_still_runs() {
    common::hang_guard();
    let rt = common::rt(2);
    let ran_elsewhere = rt.block_on(|| {
        for _ in 0..20 {
            let ran = Arc::new(AtomicBool::new(false));
            let r = Arc::clone(&ran);
            let me = std::thread::current().id();
            let child = strands::spawn(move || {
                r.store(true, Ordering::SeqCst);
                std::thread::current().id() != me
            });
            // hold this worker: the child can only run elsewhere
            let t = Instant::now();
            while !ran.load(Ordering::SeqCst) {
                if t.elapsed() > Duration::from_secs(30) {
                    return false;
                }
                std::hint::spin_loop();
            }
            if !child.join().unwrap() {
                return false;
            }
        }
        true
    });
    assert!(ran_elsewhere);
}

/// A strand spawned from outside the runtime starts while every worker
/// stays busy with strands that yield to each other (their queues never run
/// dry): the injectors are looked at once per maintenance round, not only
/// when a worker has nothing else. (Before, the spawned strand never
/// started and this test hung.)
#[test]
fn a_strand_spawned_from_outside_starts_while_the_workers_never_run_dry() {
    common::hang_guard();
    for workers in [1, 2] {
        let rt = common::rt(workers);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let busy: Vec<_> = (0..2 * workers)
            .map(|_| {
                let (stop, started) = (stop.clone(), started_tx.clone());
                rt.spawn(move || {
                    started.send(()).unwrap();
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        strands::yield_now();
                    }
                })
            })
            .collect();
        for _ in 0..2 * workers {
            started_rx.recv().unwrap(); // all of them run and yield
        }
        let s = stop.clone();
        rt.spawn(move || s.store(true, std::sync::atomic::Ordering::SeqCst))
            .join()
            .unwrap();
        busy.into_iter().for_each(|b| b.join().unwrap());
    }
}

/// A strand that spawns a child and joins it in a loop (its child always
/// the newest fresh strand, itself woken into `next`) leaves room for the
/// other strands of its level: the `next` streak is not ended by picks of
/// the newest fresh strand. Without that, the yielder never ran (it fails
/// at `LOOP_BOUND` rounds).
#[test]
fn other_strands_run_while_a_spawn_join_loop_runs() {
    let turns = Arc::new(AtomicUsize::new(0));
    let rounds = common::rt(1).block_on({
        let turns = Arc::clone(&turns);
        move || {
            let t = Arc::clone(&turns);
            let stop = Arc::new(AtomicBool::new(false));
            let s = Arc::clone(&stop);
            let yielder = strands::spawn(move || {
                while !s.load(SeqCst) {
                    t.fetch_add(1, SeqCst);
                    strands::yield_now();
                }
            });
            let mut rounds = 0;
            while turns.load(SeqCst) < 1_000 && rounds < LOOP_BOUND {
                strands::spawn(|| ()).join().unwrap();
                rounds += 1;
            }
            stop.store(true, SeqCst);
            yielder.join().unwrap();
            rounds
        }
    });
    assert!(
        turns.load(SeqCst) >= 1_000,
        "the yielder ran {} times in {rounds} rounds",
        turns.load(SeqCst)
    );
}

/// Rounds after which the loop above gives up.
const LOOP_BOUND: usize = 1_000_000;
