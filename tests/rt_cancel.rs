//! Cancellation and shutdown: strands unwind at blocking points, `Drop`s run,
//! nothing is left behind.

mod common;
use common::rt;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

struct CountDrop(Arc<AtomicUsize>);
impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn cancelling_a_sleeper_unwinds_it_and_runs_its_drops() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&drops);
    let started = Arc::new(AtomicBool::new(false));
    let st = Arc::clone(&started);
    let err = rt(1).block_on(move || {
        let h = strands::spawn(move || {
            let _c = CountDrop(d);
            st.store(true, Ordering::SeqCst);
            strands::sleep(Duration::from_secs(3600));
            unreachable!("woke from a one-hour sleep");
        });
        while !started.load(Ordering::SeqCst) {
            strands::yield_now(); // until it has started (then it parks)
        }
        h.cancel();
        h.join().unwrap_err()
    });
    assert!(err.is_cancelled() && !err.is_panic());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn cancelling_a_joiner_withdraws_its_wait() {
    rt(2).block_on(|| {
        let long = strands::spawn(|| {
            strands::sleep(Duration::from_millis(20));
            5
        });
        let long_strand = long.strand().clone();
        let joiner = strands::spawn(move || long.join().unwrap());
        strands::yield_now();
        joiner.cancel();
        assert!(joiner.join().unwrap_err().is_cancelled());
        // the joined strand is unaffected and still finishes
        assert!(!long_strand.is_cancelled());
    });
}

#[test]
fn a_strand_cancelled_before_it_starts_never_runs() {
    let ran = Arc::new(AtomicBool::new(false));
    let r = Arc::clone(&ran);
    let err = rt(1).block_on(move || {
        let h = strands::spawn(move || r.store(true, Ordering::SeqCst));
        h.cancel(); // still queued behind us on the only worker
        h.join().unwrap_err()
    });
    assert!(err.is_cancelled());
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn a_yielding_strand_unwinds_at_its_next_yield() {
    let err = rt(2).block_on(|| {
        let h = strands::spawn(|| loop {
            strands::yield_now();
        });
        strands::yield_now();
        h.cancel();
        h.join().unwrap_err()
    });
    assert!(err.is_cancelled());
}

#[test]
fn swallowing_the_cancellation_gets_cancelled_again() {
    let caught = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&caught);
    let started = Arc::new(AtomicBool::new(false));
    let st = Arc::clone(&started);
    let err = rt(1).block_on(move || {
        let h = strands::spawn(move || {
            st.store(true, Ordering::SeqCst);
            for _ in 0..3 {
                let r = std::panic::catch_unwind(|| strands::sleep(Duration::from_secs(3600)));
                if r.is_err() {
                    c.fetch_add(1, Ordering::SeqCst);
                }
            }
            strands::yield_now(); // and once more, uncaught
        });
        while !started.load(Ordering::SeqCst) {
            strands::yield_now();
        }
        h.cancel();
        h.join().unwrap_err()
    });
    assert!(err.is_cancelled());
    assert_eq!(caught.load(Ordering::SeqCst), 3);
}

#[test]
fn cancelling_a_finished_strand_changes_nothing() {
    rt(1).block_on(|| {
        let h = strands::spawn(|| 3);
        while !h.is_finished() {
            strands::yield_now();
        }
        h.cancel();
        assert_eq!(h.join().unwrap(), 3);
    });
}

#[test]
fn drop_cancels_parked_strands_and_sleepers_and_runs_every_drop() {
    let drops = Arc::new(AtomicUsize::new(0));
    let parked = Arc::new(AtomicUsize::new(0));
    let rt = common::rt_with(2, |b| b.stack_size(strands::MIN_STACK_SIZE));
    let handle = rt.handle().clone();
    {
        let (drops, parked) = (Arc::clone(&drops), Arc::clone(&parked));
        rt.block_on(move || {
            // 100 long sleepers
            let sleepers: Vec<_> = (0..100)
                .map(|_| {
                    let (d, p) = (Arc::clone(&drops), Arc::clone(&parked));
                    strands::spawn(move || {
                        let _c = CountDrop(d);
                        p.fetch_add(1, Ordering::SeqCst);
                        strands::sleep(Duration::from_secs(3600));
                    })
                })
                .collect();
            // 10,000 strands parked joining them (100 each chain down)
            let mut targets: Vec<_> = sleepers;
            for _ in 0..100 {
                targets = targets
                    .into_iter()
                    .map(|t| {
                        let (d, p) = (Arc::clone(&drops), Arc::clone(&parked));
                        strands::spawn(move || {
                            let _c = CountDrop(d);
                            p.fetch_add(1, Ordering::SeqCst);
                            let _ = t.join();
                        })
                    })
                    .collect();
            }
            drop(targets); // detached; all parked
            while parked.load(Ordering::SeqCst) < 10_100 {
                strands::yield_now();
            }
        });
    }
    assert_eq!(parked.load(Ordering::SeqCst), 10_100);
    drop(rt);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        10_100,
        "every strand unwound and dropped its locals"
    );
    let m = handle.metrics();
    assert_eq!(
        (
            m.live_strands,
            m.stacks_live,
            m.stacks_cached,
            m.stack_slabs
        ),
        (0, 0, 0, 0),
        "{m:?}"
    );
}

#[test]
fn shutdown_timeout_returns_false_for_a_strand_that_never_blocks() {
    let rt = rt(2);
    let stop = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&stop);
    let spinning = Arc::new(AtomicBool::new(false));
    let sp = Arc::clone(&spinning);
    drop(rt.spawn(move || {
        sp.store(true, Ordering::SeqCst);
        while !s.load(Ordering::SeqCst) {
            std::hint::spin_loop(); // no blocking point: cannot be cancelled
        }
    }));
    while !spinning.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    assert!(!rt.shutdown_timeout(Duration::from_millis(20)));
    stop.store(true, Ordering::SeqCst); // let the detached worker finish
}

#[test]
fn shutdown_timeout_returns_true_when_everything_unwinds() {
    let rt = rt(2);
    for _ in 0..100 {
        drop(rt.spawn(|| strands::sleep(Duration::from_secs(3600))));
    }
    assert!(rt.shutdown_timeout(Duration::from_secs(60)));
}
