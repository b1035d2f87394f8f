//! `strand_local!`: storage that follows the strand.

mod common;

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

strands::strand_local! {
    static COUNTER: Cell<u64> = Cell::new(0);
    static LOG: RefCell<Vec<u64>> = RefCell::new(Vec::new());
}

#[test]
fn every_strand_has_its_own_value_across_yields() {
    let rt = common::rt(2);
    let ok = rt.block_on(|| {
        let hs: Vec<_> = (0..50u64)
            .map(|i| {
                strands::spawn(move || {
                    for step in 0..20 {
                        COUNTER.with(|c| c.set(c.get() + i));
                        LOG.with(|l| l.borrow_mut().push(step));
                        strands::yield_now();
                    }
                    COUNTER.with(|c| c.get()) == 20 * i
                        && LOG.with(|l| *l.borrow() == (0..20).collect::<Vec<_>>())
                })
            })
            .collect();
        hs.into_iter().all(|h| h.join().unwrap())
    });
    assert!(ok);
}

#[test]
fn values_are_dropped_in_the_strand_when_it_ends() {
    struct Probe(Arc<AtomicUsize>, Arc<AtomicUsize>);
    impl Drop for Probe {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
            if strands::try_current().is_some() {
                self.1.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
    strands::strand_local! {
        static PROBE: RefCell<Option<Probe>> = RefCell::new(None);
    }
    let (drops, in_strand) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let rt = common::rt(1);
    let (d, s) = (Arc::clone(&drops), Arc::clone(&in_strand));
    rt.block_on(move || {
        let hs: Vec<_> = (0..10)
            .map(|_| {
                let (d, s) = (Arc::clone(&d), Arc::clone(&s));
                strands::spawn(move || PROBE.with(|p| *p.borrow_mut() = Some(Probe(d, s))))
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
    });
    assert_eq!(drops.load(Ordering::SeqCst), 10);
    assert_eq!(in_strand.load(Ordering::SeqCst), 10);
}

#[test]
fn on_a_plain_thread_the_value_belongs_to_the_thread() {
    COUNTER.with(|c| c.set(41));
    COUNTER.with(|c| c.set(c.get() + 1));
    assert_eq!(COUNTER.with(|c| c.get()), 42);
    let other = std::thread::spawn(|| COUNTER.with(|c| c.get()))
        .join()
        .unwrap();
    assert_eq!(other, 0);
}

#[test]
#[should_panic(expected = "uses its own key")]
fn an_initialiser_using_its_own_key_panics() {
    strands::strand_local! {
        static SELFISH: u8 = SELFISH.with(|v| *v);
    }
    SELFISH.with(|_| ());
}
