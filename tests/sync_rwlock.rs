//! `sync::RwLock`: shared and exclusive access, FIFO fairness, poisoning,
//! cancellation.

mod common;
use common::{rt, spawn_parked};

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex as StdMutex, TryLockError};
use strands::sync::RwLock;

#[test]
fn readers_share_writers_exclude() {
    rt(2).block_on(|| {
        let l = Arc::new(RwLock::new(0u64));
        let (readers_in, writer_in) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let hs: Vec<_> = (0..40)
            .map(|i| {
                let (l, r, w) = (
                    Arc::clone(&l),
                    Arc::clone(&readers_in),
                    Arc::clone(&writer_in),
                );
                strands::spawn(move || {
                    for _ in 0..50 {
                        if i % 4 == 0 {
                            let mut g = l.write().unwrap();
                            assert!(!w.swap(true, SeqCst));
                            assert_eq!(r.load(SeqCst), 0);
                            *g += 1;
                            strands::yield_now();
                            w.store(false, SeqCst);
                        } else {
                            let _g = l.read().unwrap();
                            r.fetch_add(1, SeqCst);
                            assert!(!w.load(SeqCst));
                            strands::yield_now();
                            r.fetch_sub(1, SeqCst);
                        }
                    }
                })
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(*l.read().unwrap(), 10 * 50);
    });
}

#[test]
fn fifo_a_queued_writer_holds_back_later_readers() {
    rt(1).block_on(|| {
        let l = Arc::new(RwLock::new(()));
        let order = Arc::new(StdMutex::new(Vec::new()));
        let r0 = l.read().unwrap();
        let spawn = |name: &'static str, write: bool| {
            let (l, o) = (Arc::clone(&l), Arc::clone(&order));
            spawn_parked(move || {
                if write {
                    let _g = l.write().unwrap();
                    o.lock().unwrap().push(name);
                    strands::yield_now();
                } else {
                    let _g = l.read().unwrap();
                    o.lock().unwrap().push(name);
                    strands::yield_now();
                }
            })
        };
        let w1 = spawn("w1", true);
        let r1 = spawn("r1", false); // queued behind w1, though a reader holds it
        let r2 = spawn("r2", false);
        let w2 = spawn("w2", true);
        assert!(matches!(l.try_read(), Err(TryLockError::WouldBlock)));
        drop(r0);
        for h in [w1, r1, r2, w2] {
            h.join().unwrap();
        }
        let o = order.lock().unwrap();
        assert_eq!(o[0], "w1");
        assert!(
            o[1..3].contains(&"r1") && o[1..3].contains(&"r2"),
            "readers go together: {o:?}"
        );
        assert_eq!(o[3], "w2");
    });
}

#[test]
fn a_panicking_writer_poisons_a_reader_does_not() {
    rt(1).block_on(|| {
        let l = Arc::new(RwLock::new(1));
        let l2 = Arc::clone(&l);
        let _ = strands::spawn(move || {
            let _g = l2.read().unwrap();
            panic!("reader");
        })
        .join();
        assert!(!l.is_poisoned());
        let l2 = Arc::clone(&l);
        let _ = strands::spawn(move || {
            let _g = l2.write().unwrap();
            panic!("writer");
        })
        .join();
        assert!(l.is_poisoned());
        assert_eq!(*l.read().unwrap_err().into_inner(), 1);
        l.clear_poison();
        assert!(l.try_write().is_ok());
    });
}

/// A queued writer that is cancelled withdraws; one that was granted the
/// lock before it saw the cancellation holds it, writes, releases it, and
/// unwinds at its next blocking point (before 2026-11 it unwound out of
/// `write` and passed the lock on).
#[test]
fn a_lock_granted_to_a_cancelled_writer_is_its_own() {
    rt(1).block_on(|| {
        let l = Arc::new(RwLock::new(Vec::new()));
        let g = l.write().unwrap();
        let (l1, l2, l3) = (Arc::clone(&l), Arc::clone(&l), Arc::clone(&l));
        let queued = spawn_parked(move || l1.write().unwrap().push("queued"));
        let handed = spawn_parked(move || {
            l2.write().unwrap().push("handed");
            strands::yield_now(); // unwinds here
        });
        let reader = spawn_parked(move || l3.read().unwrap().len());
        queued.cancel();
        assert!(queued.join().unwrap_err().is_cancelled());
        handed.cancel();
        drop(g); // granted to `handed`, which writes, then the reader
        assert!(handed.join().unwrap_err().is_cancelled());
        assert_eq!(reader.join().unwrap(), 1);
        assert!(l.try_write().is_ok());
        assert!(!l.is_poisoned());
    });
}

#[test]
fn a_thread_and_a_strand_share_it() {
    let rt = rt(1);
    let l = Arc::new(RwLock::new(0));
    let w = l.write().unwrap();
    let l2 = Arc::clone(&l);
    let h = rt.spawn(move || *l2.read().unwrap());
    drop(w);
    assert_eq!(h.join().unwrap(), 0);
    let mut l = Arc::try_unwrap(l).unwrap();
    *l.get_mut().unwrap() = 5;
    assert_eq!(l.into_inner().unwrap(), 5);
}
