//! A strand's body and result live in its header (boxed when they are
//! big): every value is dropped exactly once, whatever the order of join,
//! detach and finish, and whatever the size.

mod common;
use common::rt;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A value of `N` words that counts its drops.
struct Counted<const N: usize> {
    drops: Arc<AtomicUsize>,
    words: [u64; N],
}

impl<const N: usize> Counted<N> {
    fn new(drops: &Arc<AtomicUsize>, seed: u64) -> Self {
        Counted {
            drops: Arc::clone(drops),
            words: std::array::from_fn(|i| seed + i as u64),
        }
    }
    fn sum(&self) -> u64 {
        self.words.iter().sum()
    }
}

impl<const N: usize> Drop for Counted<N> {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// Joined, detached before the end, dropped after the end, and cancelled
/// before it started: for a body and a result of `N` words each.
fn every_order<const N: usize>() {
    let body_drops = Arc::new(AtomicUsize::new(0));
    let result_drops = Arc::new(AtomicUsize::new(0));
    rt(1).block_on(|| {
        // joined: the caller gets the value (dropped below, once)
        let (b, r) = (Counted::<N>::new(&body_drops, 1), Arc::clone(&result_drops));
        let h = strands::spawn(move || Counted::<N>::new(&r, b.sum()));
        let v = h.join().unwrap();
        let n = N as u64;
        assert_eq!(
            v.words[0],
            n + n * (n - 1) / 2,
            "the body ran on its own captures"
        );
        drop(v);

        // detached before it ran: the strand drops its own result
        let (b, r) = (Counted::<N>::new(&body_drops, 2), Arc::clone(&result_drops));
        let (tx, rx) = strands::channel::bounded::<()>(1);
        let h = strands::spawn(move || {
            rx.recv().unwrap();
            Counted::<N>::new(&r, b.sum())
        });
        drop(h);
        tx.send(()).unwrap();

        // dropped after its end: the handle drops the result
        let (b, r) = (Counted::<N>::new(&body_drops, 3), Arc::clone(&result_drops));
        let h = strands::spawn(move || Counted::<N>::new(&r, b.sum()));
        while !h.is_finished() {
            strands::yield_now();
        }
        drop(h);

        // cancelled before it started: the body is dropped, never run
        let b = Counted::<N>::new(&body_drops, 4);
        let h = strands::spawn(move || b.sum());
        h.cancel();
        assert!(h.join().unwrap_err().is_cancelled());
    });
    assert_eq!(
        body_drops.load(Ordering::SeqCst),
        4,
        "every body dropped once ({N} words)"
    );
    assert_eq!(
        result_drops.load(Ordering::SeqCst),
        3,
        "every result dropped once ({N} words)"
    );
}

#[test]
fn small_bodies_and_results_are_dropped_once() {
    every_order::<1>();
}

#[test]
fn big_bodies_and_results_are_dropped_once() {
    every_order::<512>(); // boxed: far past the header's payload
}

#[test]
fn big_values_arrive_intact() {
    let v = rt(2).block_on(|| {
        let big = [7u8; 8192];
        let h = strands::spawn(move || {
            let mut out = [0u16; 4096];
            for (i, o) in out.iter_mut().enumerate() {
                *o = big[i] as u16 + i as u16;
            }
            out
        });
        h.join().unwrap()
    });
    assert!(v.iter().enumerate().all(|(i, &o)| o == 7 + i as u16));
}

#[test]
fn a_panicking_big_result_type_reports_the_panic() {
    let e = rt(1).block_on(|| {
        strands::spawn(|| -> [u64; 100] { panic!("no value") })
            .join()
            .unwrap_err()
    });
    assert!(e.is_panic());
}

#[test]
fn over_aligned_bodies_and_results_keep_their_alignment() {
    #[repr(align(64))]
    #[derive(Clone, Copy)]
    struct Line([u8; 64]);
    let (a, b) = rt(1).block_on(|| {
        let line = Line([3; 64]);
        let a = strands::spawn(move || {
            assert_eq!(
                &line as *const Line as usize % 64,
                0,
                "the body's capture is aligned"
            );
            u128::from(line.0[0]) << 100
        });
        let b = strands::spawn(|| Line([9; 64]));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(a, 3u128 << 100);
    assert_eq!(&b as *const Line as usize % 64, 0);
    assert!(b.0.iter().all(|&x| x == 9));
}
