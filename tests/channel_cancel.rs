//! Channels and cancellation: values are never lost or duplicated (drop
//! counters), blocked senders and receivers unwind cleanly.

mod common;
use common::{rt, spawn_parked_on_channel as spawn_parked};

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc::TryRecvError;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;
use strands::channel;

/// A value that counts its drops.
struct Counted(u64, Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_add(1, SeqCst);
    }
}

#[test]
fn buffered_values_drop_once_when_the_receivers_go() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = channel::bounded(8);
    for i in 0..5 {
        tx.send(Counted(i, Arc::clone(&drops))).unwrap();
    }
    drop(rx.recv().unwrap());
    assert_eq!(drops.load(SeqCst), 1);
    drop(rx);
    assert_eq!(drops.load(SeqCst), 5);
    let back = tx.send(Counted(9, Arc::clone(&drops))).unwrap_err().0;
    assert_eq!(back.0, 9);
    drop((back, tx));
    assert_eq!(drops.load(SeqCst), 6);
}

#[test]
fn a_cancelled_queued_receiver_withdraws() {
    rt(1).block_on(|| {
        let (tx, rx) = channel::bounded::<u32>(0);
        let rx2 = rx.clone();
        let w = spawn_parked(move || rx2.recv());
        let x = spawn_parked(move || rx.recv());
        w.cancel();
        assert!(w.join().unwrap_err().is_cancelled());
        tx.send(1).unwrap(); // goes to `x`, the only waiter left
        assert_eq!(x.join().unwrap(), Ok(1));
    });
}

/// A value handed to a receiver before it saw its cancellation is
/// received: `recv` returns it, and the cancellation fires at the
/// receiver's next blocking point. (Before 2026-11 the receiver unwound out
/// of `recv` and gave the value on to the next receiver, or back to the
/// front of the buffer; `Chan::give_back` still does that for an unexpected
/// unwind.)
#[test]
fn a_value_handed_to_a_cancelled_receiver_is_received() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&drops);
    rt(1).block_on(move || {
        let (tx, rx) = channel::bounded::<Counted>(0);
        let rx2 = rx.clone();
        let got = Arc::new(AtomicUsize::new(0));
        let g = Arc::clone(&got);
        let w = spawn_parked(move || {
            let v = rx2.recv().unwrap();
            g.store(v.0 as usize, SeqCst);
            drop(v);
            strands::yield_now(); // the next blocking point: unwinds here
            unreachable!("cancelled");
        });
        let x = spawn_parked(move || rx.recv().map(|c| c.0));
        w.cancel(); // runnable, not run yet
        tx.try_send(Counted(7, Arc::clone(&d))).ok().unwrap(); // into `w`'s slot
        assert!(w.join().unwrap_err().is_cancelled());
        assert_eq!(got.load(SeqCst), 7, "received by `w`");
        tx.send(Counted(8, d)).unwrap();
        assert_eq!(x.join().unwrap(), Ok(8), "`x` was not served `7`");
    });
    assert_eq!(drops.load(SeqCst), 2, "each dropped once, by its receiver");
}

#[test]
fn a_value_handed_to_a_cancelled_receiver_does_not_go_back_to_the_buffer() {
    rt(1).block_on(|| {
        let (tx, rx) = channel::bounded::<u32>(1);
        let rx2 = rx.clone();
        let w = spawn_parked(move || rx2.recv());
        w.cancel();
        tx.send(1).unwrap(); // handed to `w`
        tx.send(2).unwrap(); // buffered
        assert_eq!(w.join().unwrap(), Ok(1), "no blocking point after `recv`");
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    });
}

#[test]
fn a_cancelled_blocked_sender_drops_its_value_unsent() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&drops);
    rt(1).block_on(move || {
        let (tx, rx) = channel::bounded::<Counted>(0);
        let s = spawn_parked(move || tx.send(Counted(1, d)).is_ok());
        s.cancel();
        assert!(s.join().unwrap_err().is_cancelled());
        assert!(matches!(rx.try_recv(), Err(TryRecvError::Disconnected)));
    });
    assert_eq!(drops.load(SeqCst), 1);
}

/// A send whose value was taken before the sender saw its cancellation
/// returns `Ok` (before 2026-11 it unwound, though the value was
/// received), and the cancellation fires at the next blocking point.
#[test]
fn a_sender_cancelled_after_its_value_was_taken_returns_ok() {
    rt(1).block_on(|| {
        let (tx, rx) = channel::bounded::<u32>(0);
        let ok = Arc::new(AtomicUsize::new(0));
        let o = Arc::clone(&ok);
        let s = spawn_parked(move || {
            if tx.send(4).is_ok() {
                o.fetch_add(1, SeqCst);
            }
            strands::yield_now(); // unwinds here
            unreachable!("cancelled");
        });
        s.cancel();
        assert_eq!(rx.try_recv(), Ok(4)); // taken from the cancelled sender's slot
        assert!(s.join().unwrap_err().is_cancelled());
        assert_eq!(ok.load(SeqCst), 1, "`send` returned `Ok`");
        assert!(rx.try_recv().is_err());
    });
}

/// Producers and consumers on two workers, a third of the consumers
/// cancelled at random points: every value a send accepted is received
/// exactly once (one consumer is never cancelled and drains to the end),
/// and every value created is dropped exactly once.
#[test]
fn stress_with_cancellations_loses_and_duplicates_nothing() {
    for cap in [0, 2] {
        let drops = Arc::new(AtomicUsize::new(0));
        let accepted = Arc::new(StdMutex::new(Vec::new()));
        let received = Arc::new(StdMutex::new(Vec::new()));
        let (d, a, r) = (
            Arc::clone(&drops),
            Arc::clone(&accepted),
            Arc::clone(&received),
        );
        rt(2).block_on(move || {
            let (tx, rx) = channel::bounded::<Counted>(cap);
            let producers: Vec<_> = (0..4u64)
                .map(|p| {
                    let (tx, d, a) = (tx.clone(), Arc::clone(&d), Arc::clone(&a));
                    strands::spawn(move || {
                        for i in 0..500 {
                            let id = p * 1000 + i;
                            if tx.send(Counted(id, Arc::clone(&d))).is_ok() {
                                a.lock().unwrap().push(id);
                            }
                            if i % 16 == 0 {
                                strands::yield_now();
                            }
                        }
                    })
                })
                .collect();
            drop(tx);
            let consumers: Vec<_> = (0..6)
                .map(|_| {
                    let (rx, r) = (rx.clone(), Arc::clone(&r));
                    strands::spawn(move || {
                        for c in rx.iter() {
                            r.lock().unwrap().push(c.0);
                        }
                    })
                })
                .collect();
            for (k, c) in consumers.iter().enumerate() {
                if k % 3 == 0 {
                    strands::sleep(Duration::from_micros(200));
                    c.cancel();
                }
            }
            producers.into_iter().for_each(|h| h.join().unwrap());
            for c in rx.iter() {
                r.lock().unwrap().push(c.0); // drain what is left
            }
            for c in consumers {
                let _ = c.join();
            }
        });
        let accepted: HashSet<u64> = accepted.lock().unwrap().iter().copied().collect();
        let received = received.lock().unwrap();
        let unique: HashSet<u64> = received.iter().copied().collect();
        assert_eq!(unique.len(), received.len(), "a value was received twice");
        assert_eq!(
            accepted.len(),
            2000,
            "no receiver was gone, every send is accepted"
        );
        assert_eq!(
            unique, accepted,
            "capacity {cap}: an accepted value was lost"
        );
        assert_eq!(drops.load(SeqCst), 2000, "capacity {cap}");
    }
}
