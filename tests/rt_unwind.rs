//! Strands that wait while they unwind (a `Drop` that locks, joins or
//! receives during a panic or a cancellation) park like any other wait, so
//! what they wait for can run on their own worker: nothing here may hang,
//! with one worker or two, through `cancel()`, a runtime drop or
//! `shutdown_timeout`.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;
use strands::channel;
use strands::sync::Mutex;

/// Locks `lock` in its `Drop` (a guard that deregisters itself from a
/// shared map), counting the drops that got the lock.
struct LocksInDrop {
    lock: Arc<Mutex<u32>>,
    drops: Arc<AtomicUsize>,
}

impl Drop for LocksInDrop {
    fn drop(&mut self) {
        *self.lock.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.drops.fetch_add(1, SeqCst);
    }
}

/// A holder that takes `lock` and keeps it across a sleep of `hold`, and a
/// waiter parked in a long sleep with a `LocksInDrop` on its stack. Returns
/// once the holder holds the lock and the waiter is parked.
fn holder_and_waiter(
    lock: &Arc<Mutex<u32>>,
    drops: &Arc<AtomicUsize>,
    hold: Duration,
) -> (strands::JoinHandle<()>, strands::JoinHandle<()>) {
    let (locked_tx, locked_rx) = channel::bounded(1);
    let l = Arc::clone(lock);
    let holder = strands::spawn(move || {
        let g = l.lock().unwrap();
        locked_tx.send(()).unwrap();
        strands::sleep(hold);
        drop(g);
    });
    locked_rx.recv().unwrap();
    let guard = LocksInDrop {
        lock: Arc::clone(lock),
        drops: Arc::clone(drops),
    };
    let waiter = common::spawn_parked(move || {
        let _guard = guard;
        strands::sleep(Duration::from_secs(3600));
    });
    (holder, waiter)
}

#[test]
fn a_cancelled_strand_whose_drop_locks_a_mutex_held_across_a_sleep_does_not_hang() {
    for workers in [1, 2] {
        let rt = common::rt(workers);
        let lock = Arc::new(Mutex::new(0));
        let drops = Arc::new(AtomicUsize::new(0));
        rt.block_on(|| {
            let (holder, waiter) = holder_and_waiter(&lock, &drops, Duration::from_millis(5));
            waiter.cancel();
            assert!(waiter.join().unwrap_err().is_cancelled());
            holder.join().unwrap();
        });
        assert_eq!(drops.load(SeqCst), 1, "{workers} workers");
        assert_eq!(*lock.lock().unwrap(), 1);
    }
}

#[test]
fn dropping_the_runtime_while_a_drop_waits_for_a_sibling_does_not_hang() {
    for workers in [1, 2] {
        for round in 0..10 {
            let rt = common::rt(workers);
            let lock = Arc::new(Mutex::new(0));
            let drops = Arc::new(AtomicUsize::new(0));
            rt.block_on(|| {
                // both detached; the holder sleeps "forever" too, so the
                // shutdown cancels both, in whichever order
                let (holder, waiter) = holder_and_waiter(&lock, &drops, Duration::from_secs(3600));
                drop((holder, waiter));
            });
            drop(rt);
            assert_eq!(drops.load(SeqCst), 1, "{workers} workers, round {round}");
        }
    }
}

#[test]
fn shutdown_timeout_finishes_when_a_drop_waits_for_a_sibling() {
    for workers in [1, 2] {
        let rt = common::rt(workers);
        let lock = Arc::new(Mutex::new(0));
        let drops = Arc::new(AtomicUsize::new(0));
        rt.block_on(|| {
            let (holder, waiter) = holder_and_waiter(&lock, &drops, Duration::from_secs(3600));
            drop((holder, waiter));
        });
        assert!(
            rt.shutdown_timeout(Duration::from_secs(60)),
            "{workers} workers"
        );
        assert_eq!(drops.load(SeqCst), 1);
    }
}

#[test]
fn a_panicking_strands_drop_joins_a_sibling_that_started_on_its_worker() {
    struct JoinsInDrop(Option<strands::JoinHandle<u32>>, Arc<AtomicUsize>);
    impl Drop for JoinsInDrop {
        fn drop(&mut self) {
            let v = self.0.take().unwrap().join().unwrap();
            self.1.store(v as usize, SeqCst);
        }
    }
    for workers in [1, 2] {
        let rt = common::rt(workers);
        let seen = Arc::new(AtomicUsize::new(0));
        let s = Arc::clone(&seen);
        let err = rt.block_on(move || {
            strands::spawn(move || {
                let sibling = common::spawn_parked(|| {
                    for _ in 0..10 {
                        strands::yield_now();
                    }
                    7
                });
                let _j = JoinsInDrop(Some(sibling), s);
                panic!("and join on the way out");
            })
            .join()
            .unwrap_err()
        });
        assert!(err.is_panic());
        assert_eq!(seen.load(SeqCst), 7, "{workers} workers");
    }
}

#[test]
fn a_strand_that_panics_while_a_sibling_is_mid_unwind_gets_its_own_error() {
    // A parks in a Drop while it unwinds; B, on the same (only) worker,
    // panics meanwhile, and C is cancelled meanwhile: each gets its own
    // outcome, and A finishes its unwind with its own payload.
    struct WaitsInDrop(channel::Receiver<()>);
    impl Drop for WaitsInDrop {
        fn drop(&mut self) {
            self.0.recv().unwrap();
        }
    }
    let rt = common::rt(1);
    rt.block_on(|| {
        let (go_tx, go_rx) = channel::bounded::<()>(1);
        let a = common::spawn_parked_on_channel(move || {
            let _w = WaitsInDrop(go_rx);
            strands::yield_now();
            panic!("a");
        });
        // let A reach its Drop and park there, mid-unwind
        for _ in 0..10 {
            strands::yield_now();
        }
        let b = strands::spawn(|| {
            assert!(!strands::panicking(), "B sees A's unwinding as its own");
            panic!("b")
        });
        let b = b.join().unwrap_err();
        assert_eq!(b.into_panic().downcast_ref::<&str>(), Some(&"b"));
        let c = common::spawn_parked(|| strands::sleep(Duration::from_secs(3600)));
        c.cancel();
        assert!(c.join().unwrap_err().is_cancelled());
        go_tx.send(()).unwrap();
        let a = a.join().unwrap_err();
        assert_eq!(a.into_panic().downcast_ref::<&str>(), Some(&"a"));
    });
}

#[test]
fn a_migratable_strand_stays_on_its_thread_while_it_unwinds() {
    // std counts panics per thread: an unwind that began on one thread
    // must end there. The other worker is idle and would steal a migrant.
    struct YieldsInDrop(Arc<AtomicUsize>);
    impl Drop for YieldsInDrop {
        fn drop(&mut self) {
            let before = std::thread::current().id();
            for _ in 0..200 {
                strands::yield_now();
                if std::thread::current().id() != before {
                    self.0.fetch_add(1, SeqCst);
                }
            }
        }
    }
    let rt = common::rt(2);
    let moved = Arc::new(AtomicUsize::new(0));
    let m = Arc::clone(&moved);
    rt.block_on(move || {
        let hs: Vec<_> = (0..8)
            .map(|_| {
                let m = Arc::clone(&m);
                // SAFETY: the body keeps no thread-local state across its
                // yields (it compares thread ids, which is what is tested).
                unsafe { strands::Builder::new().migratable() }
                    .spawn(move || {
                        let _y = YieldsInDrop(m);
                        strands::yield_now();
                        panic!("unwind here, end here");
                    })
                    .unwrap()
            })
            .collect();
        for h in hs {
            assert!(h.join().unwrap_err().is_panic());
        }
    });
    assert_eq!(moved.load(SeqCst), 0, "an unwinding strand changed threads");
}

#[test]
fn a_strand_joining_itself_is_told_instead_of_waiting_forever() {
    let rt = common::rt(1);
    let msg = rt.block_on(|| {
        let (handle_tx, handle_rx) = channel::bounded::<strands::JoinHandle<()>>(1);
        let (msg_tx, msg_rx) = channel::bounded::<String>(1);
        let h = strands::spawn(move || {
            let me = handle_rx.recv().unwrap(); // its own handle
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| me.join()));
            let p = r.expect_err("joining itself must not wait");
            msg_tx
                .send(p.downcast_ref::<&str>().unwrap().to_string())
                .unwrap();
        });
        handle_tx.send(h).unwrap();
        msg_rx.recv().unwrap()
    });
    assert_eq!(msg, "a strand cannot join itself: it would wait forever");
}
