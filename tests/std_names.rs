//! The names people reach for from std and tokio: `park` / `unpark` /
//! `park_timeout`, `Handle::current`, `strands::time::{interval, timeout}`,
//! `JoinHandle::wait_timeout`.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn unpark_before_park_makes_park_return_and_tokens_do_not_add_up() {
    let rt = common::rt(1);
    rt.block_on(|| {
        let me = strands::current();
        me.unpark();
        me.unpark(); // one token, not two
        strands::park(); // returns at once: the token was there
        let flag = Arc::new(AtomicBool::new(false));
        let f = Arc::clone(&flag);
        let waiter = common::spawn_parked(move || {
            let mut parks = 0;
            while !f.load(SeqCst) {
                strands::park();
                parks += 1;
            }
            parks
        });
        flag.store(true, SeqCst);
        waiter.strand().unpark();
        assert!(waiter.join().unwrap() >= 1);
    });
}

#[test]
fn park_timeout_returns_without_a_token_and_park_works_on_threads() {
    let rt = common::rt(1);
    rt.block_on(|| {
        let t = Instant::now();
        strands::park_timeout(Duration::from_millis(5));
        assert!(t.elapsed() >= Duration::from_millis(5));
    });
    // a plain thread parks the thread, as std does
    let t = std::thread::current();
    let j = std::thread::spawn(move || t.unpark());
    strands::park();
    j.join().unwrap();
}

#[test]
fn a_parked_strand_can_be_cancelled() {
    let rt = common::rt(1);
    rt.block_on(|| {
        let h = common::spawn_parked(|| loop {
            strands::park();
        });
        h.cancel();
        assert!(h.join().unwrap_err().is_cancelled());
    });
}

#[test]
fn handle_current_inside_and_outside() {
    let rt = common::rt(1);
    let n = rt.block_on(|| {
        let h = strands::Handle::current();
        std::thread::spawn(move || h.spawn(|| 7).join().unwrap())
            .join()
            .unwrap()
    });
    assert_eq!(n, 7);
    let outside = std::panic::catch_unwind(strands::Handle::current);
    assert!(outside.is_err());
}

#[test]
fn interval_ticks_on_its_grid_without_drift() {
    let rt = common::rt(1);
    rt.block_on(|| {
        let period = Duration::from_millis(3);
        let start = Instant::now() + period;
        let mut every = strands::time::interval_at(start, period);
        let mut ticks = Vec::new();
        for i in 0..5 {
            ticks.push(every.tick());
            if i == 1 {
                // busy past two ticks: they come at once, still on the grid
                strands::sleep(period * 3);
            }
        }
        for (i, t) in ticks.iter().enumerate() {
            assert_eq!(*t, start + period * i as u32, "tick {i} off the grid");
        }
        assert!(Instant::now() >= start + period * 4);
    });
    assert!(std::panic::catch_unwind(|| strands::time::interval(Duration::ZERO)).is_err());
}

#[test]
fn wait_timeout_reads_as_a_boolean() {
    let rt = common::rt(1);
    rt.block_on(|| {
        let quick = strands::spawn(|| 5);
        assert!(quick.wait_timeout(Duration::from_secs(60)));
        assert_eq!(quick.join().unwrap(), 5);
        let release = Arc::new(AtomicUsize::new(0));
        let r = Arc::clone(&release);
        let slow = strands::spawn(move || {
            while r.load(SeqCst) == 0 {
                strands::yield_now();
            }
        });
        assert!(!slow.wait_timeout(Duration::ZERO));
        release.store(1, SeqCst);
        assert!(slow.wait_timeout(Duration::from_secs(60)));
        slow.join().unwrap();
    });
}

#[test]
fn time_module_holds_sleep_and_timeout() {
    let rt = common::rt(1);
    rt.block_on(|| {
        strands::time::sleep(Duration::from_millis(1));
        let r = strands::time::timeout(Duration::from_secs(60), || 3);
        assert_eq!(r.unwrap(), 3);
    });
}
