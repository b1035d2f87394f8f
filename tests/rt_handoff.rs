//! A finishing strand switches straight to its joiner when the joiner is
//! parked on the same worker (the hand-off): the joiner still sees the
//! strand entirely gone when its join returns, and the hand-offs leave
//! nobody waiting (timers, other strands, a cancel, a timed join).

mod common;

use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::Arc;
use std::time::{Duration, Instant};
use strands::{Builder, SpawnError};

/// Rounds after which a loop that waits for another strand gives up (the
/// other strand needs at most a few maintenance rounds of 61 picks).
const BOUND: usize = 1_000_000;

/// Counts its drops: a strand holding one ran its `Drop`s.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn a_join_returns_only_once_the_strand_is_gone() {
    // `max_strands(2)`: this strand and one child. A child still counted
    // when its join returned would make the next spawn fail.
    let rt = common::rt_with(1, |b| b.max_strands(2));
    let (sum, live) = rt.block_on(|| {
        let mut sum = 0u64;
        for i in 0..5_000u64 {
            match Builder::new().spawn(move || i) {
                Ok(h) => sum += h.join().unwrap(),
                Err(SpawnError::Saturated) => panic!("round {i}: the last child still counted"),
                Err(e) => panic!("round {i}: {e:?}"),
            }
        }
        let m = strands::runtime::Handle::current().metrics();
        (sum, m.live_strands)
    });
    assert_eq!(sum, (0..5_000u64).sum());
    assert_eq!(live, 1, "only the joiner is live");
}

#[test]
fn a_chain_of_joins_hands_off_all_the_way_back() {
    fn depth(n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        strands::spawn(move || depth(n - 1)).join().unwrap() + 1
    }
    assert_eq!(common::rt(1).block_on(|| depth(200)), 200);
}

#[test]
fn a_panicking_child_hands_its_panic_to_the_joiner() {
    let r = common::rt(1).block_on(|| {
        (0..100)
            .map(|i| {
                strands::spawn(move || {
                    if i % 2 == 0 {
                        std::panic::resume_unwind(Box::new(i)); // no hook, no noise
                    }
                    i
                })
                .join()
            })
            .filter(Result::is_err)
            .count()
    });
    assert_eq!(r, 50);
}

#[test]
fn timers_fire_while_a_spawn_join_loop_runs() {
    // On one worker the loop's hand-offs bypass the worker's loop; the
    // worker still fires due timers every few dozen of them.
    let woke = Arc::new(AtomicBool::new(false));
    let rounds = common::rt(1).block_on({
        let woke = Arc::clone(&woke);
        move || {
            let w = Arc::clone(&woke);
            let sleeper = strands::spawn(move || {
                strands::sleep(Duration::from_millis(1));
                w.store(true, SeqCst);
            });
            strands::yield_now(); // the sleeper arms its timer
            let mut rounds = 0;
            while !woke.load(SeqCst) && rounds < BOUND * 10 {
                strands::spawn(|| ()).join().unwrap();
                rounds += 1;
            }
            sleeper.join().unwrap();
            rounds
        }
    });
    assert!(
        woke.load(SeqCst),
        "the timer never fired in {rounds} rounds"
    );
}

#[test]
fn a_joiner_cancelled_by_its_finishing_child_unwinds() {
    // The cancel wakes the joiner before the child finishes: no hand-off
    // (the joiner is queued), and the join unwinds with the cancellation.
    let rt = common::rt(1);
    let dropped = Arc::new(AtomicUsize::new(0));
    for _ in 0..100 {
        let d = Arc::clone(&dropped);
        let r = rt.block_on(move || {
            let joiner = strands::spawn(move || {
                let _c = Counted(d);
                let me = strands::current();
                strands::spawn(move || {
                    me.cancel();
                    7
                })
                .join()
            });
            joiner.join()
        });
        assert!(r.is_err_and(|e| e.is_cancelled()));
    }
    assert_eq!(dropped.load(SeqCst), 100);
}

#[test]
fn a_timed_join_whose_deadline_passes_while_the_child_runs() {
    // Two workers: the idle one fires the joiner's timer while the child
    // holds the other. Either the join times out and a second join takes
    // the value, or it returns the value: never a hang or a lost result.
    let rt = common::rt(2);
    for i in 0..50u64 {
        let v = rt.block_on(move || {
            let deadline = Instant::now() + Duration::from_micros(200);
            let h = strands::spawn(move || {
                while Instant::now() < deadline + Duration::from_micros(300) {
                    std::hint::spin_loop();
                }
                i
            });
            match h.join_deadline(deadline) {
                Ok(r) => r.unwrap(),
                Err(h) => h.join().unwrap(),
            }
        });
        assert_eq!(v, i);
    }
}

#[test]
fn a_runtime_dropped_while_strands_spawn_and_join_in_loops() {
    // Hand-offs in flight when the shutdown cancels everything: every
    // strand unwinds (its Drop runs) and the drop returns.
    for _ in 0..5 {
        let rt = common::rt(2);
        let started = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        const LOOPS: usize = 8;
        for _ in 0..LOOPS {
            let (s, d) = (Arc::clone(&started), Arc::clone(&dropped));
            rt.spawn(move || {
                let _c = Counted(d);
                s.fetch_add(1, SeqCst);
                loop {
                    // (a child spawned after the shutdown began is cancelled
                    // before it starts: its join gives an error, and the next
                    // park unwinds this strand)
                    let _ = strands::spawn(|| ()).join();
                }
            });
        }
        let mut spins = 0u64;
        while started.load(SeqCst) < LOOPS {
            spins += 1;
            assert!(spins < 1 << 40, "the loops never started");
            std::thread::yield_now();
        }
        drop(rt);
        assert_eq!(dropped.load(SeqCst), LOOPS, "every loop unwound");
    }
}
