//! CancelToken (trees, causes, tied strands, bounded registrations) and
//! `strands::timeout`.

mod common;

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;
use strands::channel;
use strands::{CancelCause, CancelToken};

#[test]
fn nested_tokens_cancel_downwards_only() {
    let root = CancelToken::new();
    let a = root.child();
    let a1 = a.child();
    let b = root.child();
    assert_eq!(root.children(), 2);
    a.cancel_with("a only");
    assert!(a.is_cancelled() && a1.is_cancelled());
    assert_eq!(a1.cause(), Some(CancelCause::from("a only")));
    assert!(!root.is_cancelled() && !b.is_cancelled());
    root.cancel_with("root");
    assert_eq!(b.cause(), Some(CancelCause::from("root")));
    // the first cause wins
    assert_eq!(a.cause(), Some(CancelCause::from("a only")));
    root.cancel_with("again");
    assert_eq!(root.cause(), Some(CancelCause::from("root")));
    // a child of a cancelled token starts cancelled, with the cause
    assert_eq!(root.child().cause(), Some(CancelCause::from("root")));
    assert_eq!(CancelToken::new().cause(), None);
}

#[test]
fn dropped_children_unregister() {
    let root = CancelToken::new();
    let kids: Vec<_> = (0..1000).map(|_| root.child()).collect();
    assert_eq!(root.children(), 1000);
    let clone = kids[0].clone();
    drop(kids);
    assert_eq!(root.children(), 1, "the clone keeps one alive");
    drop(clone);
    assert_eq!(root.children(), 0);
}

#[test]
fn cause_shows_in_join_error_of_a_strand_blocked_in_recv() {
    common::rt(1).block_on(|| {
        let token = CancelToken::new();
        let (_tx, rx) = channel::unbounded::<u32>();
        let h = token.child().spawn(move || rx.recv());
        for _ in 0..5 {
            strands::yield_now(); // let it park in recv
        }
        token.cancel_with("deadline exceeded");
        let err = h.join().unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(
            err.cancel_cause(),
            Some(&CancelCause::from("deadline exceeded"))
        );
        assert_eq!(err.to_string(), "strand was cancelled: deadline exceeded");
    });
}

#[test]
fn plain_cancel_reports_requested_and_handle_cancel_reports_none() {
    common::rt(1).block_on(|| {
        let token = CancelToken::new();
        let h = token.spawn(|| strands::sleep(Duration::from_secs(3600)));
        strands::yield_now(); // one worker: it runs until it parks
        token.cancel();
        assert_eq!(
            h.join().unwrap_err().cancel_cause(),
            Some(&CancelCause::Requested)
        );
        let other = CancelToken::new();
        let h = other.spawn(|| strands::sleep(Duration::from_secs(3600)));
        strands::yield_now();
        h.cancel();
        let err = h.join().unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(err.cancel_cause(), None);
    });
}

#[test]
fn a_strand_starting_after_cancel_never_runs() {
    common::rt(1).block_on(|| {
        let token = CancelToken::new();
        let ran = Arc::new(AtomicBool::new(false));
        let r = Arc::clone(&ran);
        let h = token.spawn(move || r.store(true, SeqCst));
        token.cancel_with("early");
        let err = h.join().unwrap_err();
        assert_eq!(err.cancel_cause(), Some(&CancelCause::from("early")));
        assert!(!ran.load(SeqCst));
    });
}

#[test]
fn swallowed_cancellation_is_cancelled_again_at_the_next_blocking_point() {
    common::rt(1).block_on(|| {
        let token = CancelToken::new();
        let caught = Arc::new(AtomicUsize::new(0));
        let c = Arc::clone(&caught);
        let h = token.spawn(move || {
            let r = panic::catch_unwind(AssertUnwindSafe(|| {
                strands::sleep(Duration::from_secs(3600));
            }));
            assert!(r.is_err());
            c.fetch_add(1, SeqCst);
            strands::yield_now(); // cancelled again here
            c.fetch_add(1, SeqCst); // never reached
        });
        strands::yield_now();
        token.cancel_with("stop");
        let err = h.join().unwrap_err();
        assert_eq!(err.cancel_cause(), Some(&CancelCause::from("stop")));
        assert_eq!(caught.load(SeqCst), 1);
    });
}

#[test]
fn ten_thousand_short_strands_leave_no_registration() {
    common::rt(2).block_on(|| {
        let token = CancelToken::new();
        let handles: Vec<_> = (0..10_000u64)
            .map(|i| {
                token.spawn(move || {
                    strands::yield_now();
                    i
                })
            })
            .collect();
        let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(sum, 49_995_000);
        assert_eq!(token.tied_strands(), 0);
    });
}

#[test]
fn wait_from_a_plain_thread_and_from_strands() {
    let rt = common::rt(2);
    let token = CancelToken::new();
    let t = token.clone();
    let thread = std::thread::spawn(move || {
        t.wait();
        t.cause()
    });
    rt.block_on(|| {
        let waiters: Vec<_> = (0..10)
            .map(|_| {
                let t = token.child();
                strands::spawn(move || t.wait())
            })
            .collect();
        token.cancel_with("now");
        waiters.into_iter().for_each(|h| h.join().unwrap());
    });
    assert_eq!(thread.join().unwrap(), Some(CancelCause::from("now")));
    token.wait(); // returns at once once cancelled
}

#[test]
fn timeout_with_zero_duration_never_runs_the_closure() {
    let rt = common::rt(1);
    let ran = Arc::new(AtomicBool::new(false));
    let r = Arc::clone(&ran);
    let out = rt.block_on(move || strands::timeout(Duration::ZERO, move || r.store(true, SeqCst)));
    assert_eq!(out.unwrap_err().to_string(), "deadline has elapsed");
    // the same from a plain thread
    let r = Arc::clone(&ran);
    let out = strands::timeout_on(rt.handle(), Duration::ZERO, move || r.store(true, SeqCst));
    assert!(out.is_err());
    assert!(!ran.load(SeqCst));
}

#[test]
fn timeout_returns_values_and_resumes_panics() {
    common::rt(2).block_on(|| {
        assert_eq!(strands::timeout(Duration::from_secs(60), || 5), Ok(5));
        let p = panic::catch_unwind(|| {
            strands::timeout(Duration::from_secs(60), || -> u8 { panic!("inner") })
        })
        .unwrap_err();
        assert_eq!(p.downcast_ref::<&str>(), Some(&"inner"));
    });
}

#[test]
#[should_panic(expected = "strands::timeout called outside a strand")]
fn timeout_outside_a_runtime_panics() {
    let _ = strands::timeout(Duration::from_secs(1), || ());
}

/// Locks `lock` when dropped (after saying so on `started`), then counts.
struct LockOnDrop {
    lock: Arc<strands::sync::Mutex<()>>,
    started: std::sync::mpsc::Sender<()>,
    done: Arc<AtomicUsize>,
}

impl Drop for LockOnDrop {
    fn drop(&mut self) {
        let _ = self.started.send(());
        drop(self.lock.lock());
        self.done.fetch_add(1, SeqCst);
    }
}

#[test]
fn timeout_returns_only_after_a_blocking_drop_ran() {
    let rt = common::rt(1);
    let lock = Arc::new(strands::sync::Mutex::new(()));
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (drop_tx, drop_rx) = std::sync::mpsc::channel();
    // a plain thread holds the lock until the Drop has started waiting
    let holder = {
        let lock = Arc::clone(&lock);
        std::thread::spawn(move || {
            let g = lock.lock().unwrap();
            held_tx.send(()).unwrap();
            drop_rx.recv().unwrap();
            drop(g);
        })
    };
    held_rx.recv().unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let v = LockOnDrop {
        lock: Arc::clone(&lock),
        started: drop_tx,
        done: Arc::clone(&done),
    };
    let out = rt.block_on(move || {
        strands::timeout(Duration::from_millis(10), move || {
            let _v = v;
            strands::sleep(Duration::from_secs(3600));
        })
    });
    assert!(out.is_err());
    assert_eq!(done.load(SeqCst), 1, "the Drop ran before timeout returned");
    holder.join().unwrap();
}

#[test]
fn timeout_from_a_plain_thread_cancels_at_the_deadline() {
    let rt = common::rt(1);
    let (_tx, rx) = channel::unbounded::<()>();
    let out = strands::timeout_on(rt.handle(), Duration::from_millis(5), move || rx.recv());
    assert!(out.is_err());
}

/// A plan whose token is cancelled before it runs is decided at once: no
/// part starts, on one worker or two, whichever strand the scheduler picks
/// first.
#[test]
fn a_plan_on_a_token_cancelled_before_it_runs_starts_no_part() {
    use strands::join::{JoinMode, Need, Part};
    for workers in [1, 2] {
        common::rt(workers).block_on(|| {
            let started = Arc::new(AtomicUsize::new(0));
            let token = CancelToken::new();
            token.cancel_with("before");
            let s = Arc::clone(&started);
            let outcome = Need::new(JoinMode::All)
                .part(Part::required("a", move || {
                    s.fetch_add(1, SeqCst);
                    Ok::<u8, ()>(1)
                }))
                .cancel_on(&token)
                .run();
            assert!(!outcome.is_success());
            assert_eq!(outcome.cancel_cause(), Some(&CancelCause::from("before")));
            assert_eq!(started.load(SeqCst), 0);
        });
    }
}
