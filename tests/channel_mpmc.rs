//! `channel::{bounded, unbounded}`: delivery, capacity, rendezvous,
//! disconnection, timeouts, iterators, strands and threads mixed.

mod common;
use common::{rt, spawn_parked_on_channel as spawn_parked};

use std::sync::mpsc::{RecvTimeoutError, TryRecvError, TrySendError};
use std::time::{Duration, Instant};
use strands::channel::{self, SendTimeoutError};

#[test]
fn smoke_bounded_and_unbounded() {
    let (tx, rx) = channel::bounded(2);
    assert_eq!(tx.capacity(), Some(2));
    tx.send(1).unwrap();
    tx.try_send(2).unwrap();
    assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
    assert_eq!((rx.len(), rx.is_empty()), (2, false));
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    let (tx, rx) = channel::unbounded();
    assert_eq!(rx.capacity(), None);
    (0..10_000).for_each(|i| tx.send(i).unwrap());
    assert_eq!(rx.try_iter().count(), 10_000);
}

#[test]
fn values_keep_their_order_per_sender() {
    rt(2).block_on(|| {
        let (tx, rx) = channel::bounded(3);
        strands::spawn(move || (0..1000).for_each(|i| tx.send(i).unwrap()));
        assert!(rx.iter().eq(0..1000));
    });
}

#[test]
fn rendezvous_needs_a_receiver() {
    rt(1).block_on(|| {
        let (tx, rx) = channel::bounded::<u32>(0);
        assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
        let r = spawn_parked(move || rx.recv().unwrap());
        tx.try_send(2).unwrap(); // a receiver waits: handed over directly
        assert_eq!(r.join().unwrap(), 2);
        assert_eq!(tx.try_send(3), Err(TrySendError::Disconnected(3)));
    });
    rt(2).block_on(|| {
        let (tx, rx) = channel::bounded::<u32>(0);
        let h = strands::spawn(move || (0..500).for_each(|i| tx.send(i).unwrap()));
        assert!(rx.iter().eq(0..500));
        h.join().unwrap();
    });
}

#[test]
fn a_rendezvous_send_returns_only_once_taken() {
    rt(1).block_on(|| {
        let (tx, rx) = channel::bounded::<u32>(0);
        let s = spawn_parked(move || tx.send(5));
        assert!(!s.is_finished());
        assert_eq!(rx.recv(), Ok(5));
        assert_eq!(s.join().unwrap(), Ok(()));
    });
}

#[test]
fn mpmc_every_value_exactly_once() {
    for cap in [0, 1, 16] {
        let rt = rt(2);
        let (tx, rx) = channel::bounded::<u64>(cap);
        // two plain threads produce and consume too
        let txt = tx.clone();
        let thread_tx =
            std::thread::spawn(move || (100_000..101_000).for_each(|i| txt.send(i).unwrap()));
        let rxt = rx.clone();
        let thread_rx = std::thread::spawn(move || rxt.iter().collect::<Vec<_>>());
        let mut got = rt.block_on(move || {
            let producers: Vec<_> = (0..4u64)
                .map(|p| {
                    let tx = tx.clone();
                    strands::spawn(move || (0..1000).for_each(|i| tx.send(p * 1000 + i).unwrap()))
                })
                .collect();
            drop(tx);
            let consumers: Vec<_> = (0..4)
                .map(|_| {
                    let rx = rx.clone();
                    strands::spawn(move || rx.iter().collect::<Vec<_>>())
                })
                .collect();
            drop(rx);
            producers.into_iter().for_each(|h| h.join().unwrap());
            consumers
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect::<Vec<_>>()
        });
        thread_tx.join().unwrap();
        got.extend(thread_rx.join().unwrap());
        got.sort_unstable();
        let want: Vec<u64> = (0..4000).chain(100_000..101_000).collect();
        assert_eq!(got, want, "capacity {cap}");
    }
}

#[test]
fn disconnection_is_reported_to_both_sides() {
    let (tx, rx) = channel::bounded(4);
    tx.send(1).unwrap();
    drop(tx);
    assert_eq!(rx.recv(), Ok(1), "buffered values are drained first");
    assert!(rx.recv().is_err());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    let (tx, rx) = channel::unbounded();
    drop(rx);
    assert_eq!(tx.send(7).unwrap_err().0, 7);
    assert_eq!(tx.try_send(8), Err(TrySendError::Disconnected(8)));
}

#[test]
fn blocked_ends_wake_on_disconnection() {
    rt(1).block_on(|| {
        let (tx, rx) = channel::bounded::<String>(0);
        let s = spawn_parked(move || tx.send("back".to_string()));
        drop(rx);
        assert_eq!(s.join().unwrap().unwrap_err().0, "back");
        let (tx, rx) = channel::bounded::<u8>(1);
        let r = spawn_parked(move || rx.recv());
        drop(tx);
        assert!(r.join().unwrap().is_err());
    });
}

#[test]
fn timeouts_do_not_return_before_their_deadline() {
    let check = || {
        let (tx, rx) = channel::bounded::<u8>(1);
        let t = Instant::now();
        assert_eq!(
            rx.recv_timeout(Duration::from_millis(20)),
            Err(RecvTimeoutError::Timeout)
        );
        assert!(t.elapsed() >= Duration::from_millis(20));
        tx.send(1).unwrap();
        let t = Instant::now();
        match tx.send_timeout(2, Duration::from_millis(20)) {
            Err(SendTimeoutError::Timeout(2)) => {}
            other => panic!("{other:?}"),
        }
        assert!(t.elapsed() >= Duration::from_millis(20));
        let past = Instant::now();
        assert_eq!(rx.recv_deadline(past), Ok(1));
        assert_eq!(rx.recv_deadline(past), Err(RecvTimeoutError::Timeout));
        drop(tx);
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(60)),
            Err(RecvTimeoutError::Disconnected)
        );
    };
    check(); // on a thread
    rt(1).block_on(check); // in a strand
}

#[test]
fn a_timed_out_receiver_leaves_the_queue() {
    rt(1).block_on(|| {
        let (tx, rx) = channel::bounded::<u8>(0);
        assert!(rx.recv_timeout(Duration::from_millis(1)).is_err());
        assert_eq!(
            tx.try_send(1),
            Err(TrySendError::Full(1)),
            "nobody waits any more"
        );
    });
}

#[test]
fn iterators() {
    let (tx, rx) = channel::unbounded();
    (0..5).for_each(|i| tx.send(i).unwrap());
    assert_eq!(rx.try_iter().take(2).collect::<Vec<_>>(), [0, 1]);
    drop(tx);
    let mut v = Vec::new();
    for x in &rx {
        v.push(x);
    }
    assert_eq!(v, [2, 3, 4]);
    assert_eq!(rx.into_iter().count(), 0);
}

#[test]
fn ping_pong_between_a_strand_and_a_thread() {
    let rt = rt(1);
    let (tx1, rx1) = channel::bounded::<u32>(0);
    let (tx2, rx2) = channel::bounded::<u32>(0);
    let h = rt.spawn(move || {
        for v in rx1.iter() {
            tx2.send(v + 1).unwrap();
        }
    });
    for i in 0..1000 {
        tx1.send(i).unwrap();
        assert_eq!(rx2.recv(), Ok(i + 1));
    }
    drop(tx1);
    h.join().unwrap();
}
