//! `channel::oneshot`.

mod common;

use std::sync::mpsc::{RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};
use strands::channel::oneshot;

#[test]
fn a_value_from_a_strand_to_a_thread_and_back() {
    let rt = common::rt(1);
    let (tx, rx) = oneshot();
    let h = rt.spawn(move || tx.send(String::from("hi")).unwrap());
    assert_eq!(rx.recv().unwrap(), "hi");
    h.join().unwrap();
    let (tx, rx) = oneshot::<u32>();
    let h = rt.spawn(move || rx.recv());
    tx.send(3).unwrap();
    assert_eq!(h.join().unwrap(), Ok(3));
}

#[test]
fn dropped_sender_or_receiver() {
    let (tx, rx) = oneshot::<u8>();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert!(rx.recv().is_err());
    let (tx, rx) = oneshot::<u8>();
    drop(rx);
    assert_eq!(tx.send(9).unwrap_err().0, 9);
}

#[test]
fn recv_timeout_then_value() {
    let (tx, rx) = oneshot::<u8>();
    let t = Instant::now();
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(10)),
        Err(RecvTimeoutError::Timeout)
    );
    assert!(t.elapsed() >= Duration::from_millis(10));
    tx.send(1).unwrap();
    assert_eq!(rx.recv_deadline(Instant::now()), Ok(1));
}
