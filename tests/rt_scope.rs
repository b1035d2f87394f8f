//! `strands::scope`: strands that borrow from the caller.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use strands::Runtime;

fn rt() -> Runtime {
    common::rt(2)
}

#[test]
fn scoped_strands_borrow_and_mutate_the_callers_data() {
    let mut data = vec![1u64, 2, 3, 4];
    let total = AtomicUsize::new(0);
    rt().block_on(|| {
        strands::scope(|s| {
            for x in data.iter_mut() {
                let total = &total;
                s.spawn(move || {
                    strands::yield_now();
                    *x *= 10;
                    total.fetch_add(*x as usize, Ordering::SeqCst);
                });
            }
        });
    });
    assert_eq!(data, [10, 20, 30, 40]);
    assert_eq!(total.load(Ordering::SeqCst), 100);
}

#[test]
fn join_returns_borrowed_results() {
    let words = ["alpha".to_string(), "beta".to_string()];
    let lens = rt().block_on(|| {
        strands::scope(|s| {
            let hs: Vec<_> = words.iter().map(|w| s.spawn(move || w.as_str())).collect();
            hs.into_iter()
                .map(|h| h.join().unwrap().len())
                .collect::<Vec<_>>()
        })
    });
    assert_eq!(lens, [5, 4]);
}

#[test]
fn the_scope_waits_even_for_forgotten_handles_whose_strand_finished() {
    let done = AtomicUsize::new(0);
    rt().block_on(|| {
        strands::scope(|s| {
            for _ in 0..10 {
                let h = s.spawn(|| {
                    strands::sleep(Duration::from_millis(2));
                    done.fetch_add(1, Ordering::SeqCst);
                });
                drop(h); // not joined
            }
        });
        assert_eq!(
            done.load(Ordering::SeqCst),
            10,
            "scope returned before its strands"
        );
    });
}

#[test]
fn an_unjoined_panicking_strand_makes_the_scope_panic_after_all_are_done() {
    let finished = AtomicUsize::new(0);
    let r = rt().block_on(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            strands::scope(|s| {
                s.spawn(|| panic!("scoped boom"));
                s.spawn(|| {
                    strands::sleep(Duration::from_millis(5));
                    finished.fetch_add(1, Ordering::SeqCst);
                });
            })
        }))
    });
    assert!(r.is_err());
    assert_eq!(finished.load(Ordering::SeqCst), 1);
}

#[test]
fn a_joined_panic_is_handled_and_the_scope_returns() {
    let v = rt().block_on(|| {
        strands::scope(|s| {
            let h = s.spawn(|| -> u8 { panic!("handled") });
            h.join().unwrap_err().is_panic()
        })
    });
    assert!(v);
}

#[test]
fn cancelling_the_scope_owner_cancels_its_strands_and_still_waits() {
    let unwound = std::sync::Arc::new(AtomicUsize::new(0));
    let u = std::sync::Arc::clone(&unwound);
    let err = rt().block_on(move || {
        let owner = strands::spawn(move || {
            strands::scope(|s| {
                for _ in 0..5 {
                    let u = &u;
                    s.spawn(move || {
                        struct Count<'a>(&'a AtomicUsize);
                        impl Drop for Count<'_> {
                            fn drop(&mut self) {
                                self.0.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        let _c = Count(u);
                        strands::sleep(Duration::from_secs(3600));
                    });
                }
            });
        });
        strands::sleep(Duration::from_millis(5));
        owner.cancel();
        owner.join().unwrap_err()
    });
    assert!(err.is_cancelled());
    assert_eq!(unwound.load(Ordering::SeqCst), 5);
}
