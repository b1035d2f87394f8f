//! Stop-the-world: no strand runs while the closure does (under load, from
//! outside and from a strand), requests one after another, nested and
//! late requests refused, and a strand that never switches named after
//! the timeout.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Barrier};
use std::time::Duration;
use strands::runtime::StopTheWorldError;
use strands::{Handle, JoinHandle};

/// `n` strands that count in a loop with yields until `stop`, spawned
/// from the calling strand; returns once every one of them has counted.
/// (Spawned from a strand, not from outside: a worker busy with yielding
/// strands looks at the injector only when its own queues are empty.)
fn counters(n: usize, count: &Arc<AtomicU64>, stop: &Arc<AtomicBool>) -> Vec<JoinHandle<()>> {
    let started = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..n)
        .map(|_| {
            let (count, stop, started) =
                (Arc::clone(count), Arc::clone(stop), Arc::clone(&started));
            strands::spawn(move || {
                started.fetch_add(1, SeqCst);
                while !stop.load(SeqCst) {
                    count.fetch_add(1, SeqCst);
                    strands::yield_now();
                }
            })
        })
        .collect();
    while started.load(SeqCst) < n {
        strands::yield_now();
    }
    hs
}

/// Gives the other threads every chance to run: if any strand could run
/// during a stop, it would move the count meanwhile.
fn let_others_run() {
    for _ in 0..200 {
        std::thread::yield_now();
    }
    std::thread::sleep(Duration::from_millis(2));
}

/// Waits until `count` has moved past `from`.
fn moves_past(count: &AtomicU64, from: u64) {
    while count.load(SeqCst) <= from {
        std::thread::yield_now();
    }
}

#[test]
fn the_count_does_not_move_while_the_world_is_stopped() {
    let rt = common::rt(2);
    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (c, st) = (Arc::clone(&count), Arc::clone(&stop));
    let hs = rt.block_on(move || counters(1000, &c, &st));
    for _ in 0..20 {
        let (start, end) = rt.stop_the_world(|| {
            let start = count.load(SeqCst);
            let_others_run();
            (start, count.load(SeqCst))
        });
        assert_eq!(start, end, "a strand ran while the world was stopped");
        moves_past(&count, end); // and they go on afterwards
    }
    stop.store(true, SeqCst);
    hs.into_iter().for_each(|h| h.join().unwrap());
}

#[test]
fn from_a_strand_the_others_halt_and_the_closure_runs_on_the_caller() {
    let rt = common::rt(2);
    rt.block_on(|| {
        let count = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let hs = counters(1000, &count, &stop);
        let me = strands::current().id();
        for _ in 0..20 {
            let (start, end, inside) = Handle::current().stop_the_world(|| {
                let start = count.load(SeqCst);
                let_others_run();
                (
                    start,
                    count.load(SeqCst),
                    strands::try_current().map(|s| s.id()),
                )
            });
            assert_eq!(start, end, "a strand ran while the world was stopped");
            assert_eq!(inside, Some(me), "the closure runs on the calling strand");
            strands::yield_now();
        }
        stop.store(true, SeqCst);
        hs.into_iter().for_each(|h| h.join().unwrap());
    });
}

#[test]
fn requests_from_many_places_at_once_are_served_one_after_the_other() {
    // strands on both workers and plain threads all stop the world in a
    // loop: a requester on a worker waiting for its turn must count as
    // halted, or two of them would wait for each other forever
    let rt = common::rt(2);
    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let inside = Arc::new(AtomicUsize::new(0));
    let round = |inside: &AtomicUsize, count: &AtomicU64| {
        let start = count.load(SeqCst);
        assert_eq!(inside.fetch_add(1, SeqCst), 0, "two closures at once");
        std::thread::yield_now();
        inside.fetch_sub(1, SeqCst);
        assert_eq!(start, count.load(SeqCst));
    };
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (inside, count, h) = (Arc::clone(&inside), Arc::clone(&count), rt.handle().clone());
            std::thread::spawn(move || {
                for _ in 0..50 {
                    h.stop_the_world(|| round(&inside, &count));
                }
            })
        })
        .collect();
    rt.block_on(|| {
        let hs = counters(100, &count, &stop);
        let requesters: Vec<JoinHandle<()>> = (0..4)
            .map(|_| {
                let (inside, count) = (Arc::clone(&inside), Arc::clone(&count));
                strands::spawn(move || {
                    for _ in 0..50 {
                        Handle::current().stop_the_world(|| round(&inside, &count));
                        strands::yield_now();
                    }
                })
            })
            .collect();
        requesters.into_iter().for_each(|h| h.join().unwrap());
        stop.store(true, SeqCst);
        hs.into_iter().for_each(|h| h.join().unwrap());
    });
    threads.into_iter().for_each(|t| t.join().unwrap());
}

#[test]
fn an_idle_runtime_stops_at_once_and_timers_due_meanwhile_fire_after() {
    let rt = common::rt(2);
    assert_eq!(rt.stop_the_world(|| 5), 5); // workers idle (one in the poller)
    let woke = Arc::new(AtomicBool::new(false));
    let w = Arc::clone(&woke);
    let (tx, rx) = mpsc::channel();
    let sleeper = rt.spawn(move || {
        tx.send(()).unwrap();
        strands::sleep(Duration::from_millis(1));
        w.store(true, SeqCst);
    });
    rx.recv().unwrap();
    let during = rt.stop_the_world(|| {
        std::thread::sleep(Duration::from_millis(20)); // the timer comes due
        woke.load(SeqCst)
    });
    assert!(!during, "the sleeper ran while the world was stopped");
    sleeper.join().unwrap(); // its timer fires afterwards
    assert!(woke.load(SeqCst));
}

#[test]
fn a_nested_request_is_refused() {
    let rt = common::rt(2);
    let inner = rt.stop_the_world(|| rt.stop_the_world_timeout(Duration::from_secs(60), || ()));
    assert!(matches!(inner, Err(StopTheWorldError::Nested)), "{inner:?}");
    // the panicking form panics inside the closure; the world goes on
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.stop_the_world(|| rt.stop_the_world(|| ()))
    }));
    let msg = r.unwrap_err();
    let msg = msg.downcast_ref::<String>().unwrap();
    assert!(msg.contains("inside a stop-the-world closure"), "{msg}");
    assert_eq!(rt.block_on(|| strands::spawn(|| 3).join().unwrap()), 3);
    // from a strand too
    let h = rt.handle().clone();
    let inner = rt.block_on(move || {
        h.stop_the_world(|| {
            Handle::current().stop_the_world_timeout(Duration::from_secs(60), || ())
        })
    });
    assert!(matches!(inner, Err(StopTheWorldError::Nested)), "{inner:?}");
}

#[test]
fn a_closure_that_panics_lets_the_world_go_on() {
    let rt = common::rt(2);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.stop_the_world(|| panic!("in the closure"))
    }));
    assert!(r.is_err());
    assert_eq!(rt.block_on(|| strands::spawn(|| 4).join().unwrap()), 4);
    assert_eq!(rt.stop_the_world(|| 6), 6);
}

#[test]
fn during_and_after_shutdown_a_request_is_refused() {
    let rt = common::rt(2);
    let handle = rt.handle().clone();
    // during: a strand cancelled by the shutdown asks as it unwinds
    let (tx, rx) = mpsc::channel();
    let (ready_tx, ready_rx) = mpsc::channel();
    struct AskOnDrop(mpsc::Sender<Result<(), StopTheWorldError>>);
    impl Drop for AskOnDrop {
        fn drop(&mut self) {
            let r = Handle::current().stop_the_world_timeout(Duration::from_secs(60), || ());
            self.0.send(r).unwrap();
        }
    }
    rt.spawn(move || {
        let _ask = AskOnDrop(tx);
        ready_tx.send(()).unwrap();
        strands::sleep(Duration::from_secs(3600));
    });
    ready_rx.recv().unwrap();
    drop(rt);
    let during = rx.recv().unwrap();
    assert!(
        matches!(during, Err(StopTheWorldError::ShutDown)),
        "{during:?}"
    );
    // after
    let after = handle.stop_the_world_timeout(Duration::from_secs(60), || ());
    assert!(
        matches!(after, Err(StopTheWorldError::ShutDown)),
        "{after:?}"
    );
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        handle.stop_the_world(|| ())
    }));
    let msg = r.unwrap_err();
    assert!(msg.downcast_ref::<String>().unwrap().contains("shut down"));
}

#[test]
fn the_timeout_names_the_strand_that_never_switches() {
    for watchdog in [None, Some(Duration::from_millis(20))] {
        // with the watchdog on, a spare starts for the spinner's worker
        // and halts like the others
        let rt = common::rt_with(2, |b| b.watchdog(watchdog));
        let count = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let spin_stop = Arc::new(AtomicBool::new(false));
        let spin = common::spinner(&spin_stop);
        let (tx, rx) = mpsc::channel();
        let spinner = strands::Builder::new()
            .name("hot-loop".into())
            .spawn_on(rt.handle(), move || {
                tx.send(()).unwrap();
                spin()
            })
            .unwrap();
        rx.recv().unwrap(); // it holds one worker; the counters get the other
        let (c, st) = (Arc::clone(&count), Arc::clone(&stop));
        let hs = rt.block_on(move || counters(100, &c, &st));
        let ran = AtomicBool::new(false);
        let r = rt.stop_the_world_timeout(Duration::from_millis(100), || ran.store(true, SeqCst));
        let Err(StopTheWorldError::TimedOut { running, waited }) = &r else {
            panic!("expected a timeout, got {r:?}");
        };
        assert!(!ran.load(SeqCst), "the closure ran");
        assert!(*waited >= Duration::from_millis(100));
        assert_eq!(running.len(), 1, "{running:?}");
        assert_eq!(running[0].id, spinner.strand().id());
        assert_eq!(running[0].name.as_deref(), Some("hot-loop"));
        let text = r.as_ref().unwrap_err().to_string();
        assert!(text.contains("strand 'hot-loop'"), "{text}");
        // the others went on after the failed request
        let now = count.load(SeqCst);
        moves_past(&count, now);
        spin_stop.store(true, SeqCst);
        spinner.join().unwrap();
        assert!(rt
            .stop_the_world_timeout(Duration::from_secs(60), || ())
            .is_ok());
        stop.store(true, SeqCst);
        hs.into_iter().for_each(|h| h.join().unwrap());
    }
}

#[test]
fn requests_racing_the_workers_going_idle_never_hang() {
    // strands come and go in bursts, so workers keep going idle and being
    // notified while requests arrive
    let rt = common::rt(2);
    let go = Arc::new(Barrier::new(2));
    let g = Arc::clone(&go);
    let h = rt.handle().clone();
    let requester = std::thread::spawn(move || {
        g.wait();
        for _ in 0..300 {
            h.stop_the_world(|| ());
        }
    });
    go.wait();
    for _ in 0..300 {
        rt.block_on(|| strands::spawn(strands::yield_now).join().unwrap());
    }
    requester.join().unwrap();
}

#[test]
fn a_closure_that_parks_its_strand_aborts_with_a_message() {
    // no strand can run until the closure returns, so a closure that
    // parks the strand it runs on would wait forever: the runtime aborts
    // instead (in a child process: this same test, re-run)
    if std::env::var_os("RT_STW_CHILD").is_some() {
        let rt = common::rt(2);
        rt.block_on(|| {
            Handle::current().stop_the_world(|| strands::sleep(Duration::from_millis(1)));
        });
        unreachable!("the closure parked and the runtime went on");
    }
    common::hang_guard();
    let out = common::this_binary()
        .args([
            "--exact",
            "a_closure_that_parks_its_strand_aborts_with_a_message",
            "--nocapture",
        ])
        .env("RT_STW_CHILD", "1")
        .output()
        .expect("re-running the test binary");
    let err = String::from_utf8_lossy(&out.stderr);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGABRT), "{err}");
    assert!(
        err.contains("stop_the_world: the closure yielded, parked or waited for a strand"),
        "{err}"
    );
}
