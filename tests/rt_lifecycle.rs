//! Detaching, shutdown, idle workers, and strands that block while unwinding.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use strands::Builder;

#[test]
fn a_detached_result_is_dropped_inside_its_strand() {
    struct Probe(std::sync::mpsc::Sender<bool>);
    impl Drop for Probe {
        fn drop(&mut self) {
            let _ = self.0.send(strands::try_current().is_some());
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let go = Arc::new(AtomicBool::new(false));
    let rt = common::rt(1);
    let go2 = Arc::clone(&go);
    let h = rt.spawn(move || {
        while !go2.load(Ordering::SeqCst) {
            strands::yield_now();
        }
        Probe(tx)
    });
    drop(h); // detach before it finishes
    go.store(true, Ordering::SeqCst);
    assert!(rx.recv().unwrap(), "Drop ran in strand context");
}

#[test]
fn a_strand_spawning_while_shutdown_cancels_it_gets_a_cancelled_strand() {
    let spawned_ok = Arc::new(AtomicBool::new(false));
    let child_ran = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicBool::new(false));
    struct SpawnsInDrop(Arc<AtomicBool>, Arc<AtomicBool>);
    impl Drop for SpawnsInDrop {
        fn drop(&mut self) {
            let ran = Arc::clone(&self.1);
            let r = Builder::new().spawn(move || ran.store(true, Ordering::SeqCst));
            self.0.store(r.is_ok(), Ordering::SeqCst);
        }
    }
    let rt = common::rt(1);
    let (ok, ran, st) = (
        Arc::clone(&spawned_ok),
        Arc::clone(&child_ran),
        Arc::clone(&started),
    );
    drop(rt.spawn(move || {
        let _guard = SpawnsInDrop(ok, ran);
        st.store(true, Ordering::SeqCst);
        strands::sleep(Duration::from_secs(3600)); // cancelled by the shutdown
    }));
    while !started.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    drop(rt); // cancels the sleeper; its Drop spawns
    assert!(
        spawned_ok.load(Ordering::SeqCst),
        "spawn during shutdown from a strand is not an error"
    );
    assert!(
        !child_ran.load(Ordering::SeqCst),
        "but the child is cancelled before it starts"
    );
}

#[test]
fn an_idle_worker_takes_work_while_another_is_busy() {
    let rt = common::rt(2);
    let flag = Arc::new(AtomicBool::new(false));
    let f = Arc::clone(&flag);
    // occupies one worker without ever yielding until the flag is set
    let spinner = rt.spawn(move || {
        let start = Instant::now();
        while !f.load(Ordering::SeqCst) {
            std::hint::spin_loop();
            if start.elapsed() > Duration::from_secs(30) {
                return false; // the other worker never ran the setter
            }
        }
        true
    });
    let f = Arc::clone(&flag);
    rt.spawn(move || f.store(true, Ordering::SeqCst))
        .join()
        .unwrap();
    assert!(spinner.join().unwrap());
}

#[test]
fn a_strand_unwinding_through_a_blocking_drop_does_not_leak_its_unwinding() {
    // The unwinding strand parks in its `Drop` (yields, then joins a strand
    // of another runtime), so the other strands of its worker run while it
    // is mid-unwind. They see `std::thread::panicking()` true (std counts
    // per thread: documented), but never `strands::panicking()`, and the
    // runtime's own locks they hold across the switch are not poisoned.
    struct BlocksInDrop(Option<strands::JoinHandle<u32>>);
    impl Drop for BlocksInDrop {
        fn drop(&mut self) {
            assert!(strands::panicking(), "the unwinding strand knows it");
            strands::yield_now();
            assert_eq!(self.0.take().unwrap().join().unwrap(), 1);
            assert!(strands::panicking(), "still unwinding after the park");
        }
    }
    for workers in [1, 2] {
        let other_rt = common::rt(1);
        let other = other_rt.handle().clone();
        let rt = common::rt(workers);
        let leaks = Arc::new(AtomicUsize::new(0));
        let locks: Vec<_> = (0..4)
            .map(|_| Arc::new(strands::sync::Mutex::new(0u32)))
            .collect();
        rt.block_on(|| {
            let observers: Vec<_> = locks
                .iter()
                .map(|lock| {
                    let (leaks, lock) = (Arc::clone(&leaks), Arc::clone(lock));
                    strands::spawn(move || {
                        for _ in 0..200 {
                            let mut g = lock.lock().unwrap();
                            *g += 1;
                            if strands::panicking() {
                                leaks.fetch_add(1, Ordering::SeqCst);
                            }
                            strands::yield_now(); // holds the guard across a switch
                            drop(g);
                        }
                    })
                })
                .collect();
            let other = other.clone();
            let panicker = strands::spawn(move || {
                let _guard = BlocksInDrop(Some(other.spawn(|| {
                    strands::yield_now();
                    1
                })));
                strands::yield_now();
                panic!("unwinds through a blocking Drop");
            });
            assert!(panicker.join().unwrap_err().is_panic());
            for o in observers {
                o.join().unwrap();
            }
        });
        assert_eq!(leaks.load(Ordering::SeqCst), 0, "{workers} workers");
        for lock in &locks {
            assert!(
                !lock.is_poisoned(),
                "another strand's unwinding poisoned a strands mutex"
            );
            assert_eq!(*lock.lock().unwrap(), 200);
        }
    }
}

#[test]
fn stacks_go_back_to_the_system_when_the_runtime_drops() {
    let rt = common::rt(1);
    let handle = rt.handle().clone();
    let strand = rt.block_on(|| {
        let hs: Vec<_> = (0..500)
            .map(|_| strands::spawn(strands::yield_now))
            .collect();
        let s = hs[0].strand().clone();
        hs.into_iter().for_each(|h| h.join().unwrap());
        s
    });
    assert!(handle.metrics().stack_slabs > 0);
    drop(rt);
    let m = handle.metrics();
    assert_eq!(
        (m.stacks_live, m.stacks_cached, m.stack_slabs),
        (0, 0, 0),
        "{m:?}"
    );
    drop(strand); // a handle kept after shutdown holds no stack memory
}

/// A shutdown that gives up on a strand stuck in a blocking call leaves
/// the runtime's workers to finish on their own; a strand parked meanwhile
/// is still woken from a plain thread after `shutdown_timeout` returned,
/// and everything ends once the stuck strand lets go: the runtime's state
/// lives as long as any of its strands (strand headers hold it by a plain
/// pointer), and nothing of it is touched after it is gone.
#[test]
fn a_strand_woken_from_outside_after_a_shutdown_that_gave_up() {
    common::hang_guard();
    let rt = common::rt(1);
    let handle = rt.handle().clone();
    let (tx, rx) = strands::channel::unbounded::<u32>();
    let (hold_tx, hold_rx) = std::sync::mpsc::channel::<()>();
    let (parked_tx, parked_rx) = std::sync::mpsc::channel::<()>();
    // parks on the channel (its receive is cancelled by the shutdown, or
    // gets the value: either way it ends)
    let waiter = rt.spawn(move || {
        parked_tx.send(()).unwrap();
        rx.recv().ok()
    });
    parked_rx.recv().unwrap();
    // holds the only worker in a blocking call the shutdown cannot cancel
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let stuck = rt.spawn(move || {
        started_tx.send(()).unwrap();
        hold_rx.recv().is_ok()
    });
    started_rx.recv().unwrap();
    assert!(
        !rt.shutdown_timeout(Duration::from_millis(20)),
        "the stuck strand keeps its worker"
    );
    tx.send(7).ok(); // a wake from a plain thread, runtime dropped
    hold_tx.send(()).unwrap(); // the stuck strand lets go
    assert!(stuck.join().unwrap());
    let got = waiter.join();
    assert!(matches!(got, Ok(Some(7)) | Ok(None) | Err(_)), "{got:?}");
    drop(handle); // the last reference to the runtime, after its strands
}
