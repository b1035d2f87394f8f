//! An idle runtime gives back what a burst left: the stack pool's memory
//! (`Builder::reclaim_after`) and the spare workers the watchdog started.
//! Each check polls a metric with a generous bound instead of sleeping a
//! fixed time.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use strands::sync::RwLock;
use strands::{Metrics, Runtime};

const LIMIT: Duration = Duration::from_secs(30);

/// Polls `rt`'s metrics until `cond` holds; fails the test after [`LIMIT`].
fn wait_for(rt: &Runtime, what: &str, cond: impl Fn(&Metrics) -> bool) -> Metrics {
    let start = Instant::now();
    loop {
        let m = rt.metrics();
        if cond(&m) {
            return m;
        }
        assert!(
            start.elapsed() < LIMIT,
            "timed out waiting until {what}: {m:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `n` strands alive at once, each parked on a lock held by the caller,
/// then all released and joined.
fn burst(rt: &Runtime, n: usize) {
    let gate = Arc::new(RwLock::new(()));
    let w = gate.write().unwrap();
    let parks: u64 = rt.metrics().parks.iter().sum();
    let hs: Vec<_> = (0..n)
        .map(|i| {
            let gate = Arc::clone(&gate);
            rt.spawn(move || {
                let buf = std::hint::black_box([i as u8; 1024]); // a touched page
                let _r = gate.read().unwrap();
                buf[7] as usize
            })
        })
        .collect();
    wait_for(rt, "the burst parked", |m| {
        m.parks.iter().sum::<u64>() >= parks + n as u64
    });
    drop(w);
    for (i, h) in hs.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), i % 256);
    }
}

#[test]
fn an_idle_pool_gives_back_the_stacks_of_a_burst() {
    let rt = common::rt_with(2, |b| b.reclaim_after(Some(Duration::from_millis(50))));
    burst(&rt, 3000);
    let peak = rt.metrics();
    assert!(peak.stacks_cached >= 3000, "{peak:?}");
    assert!(peak.stacks_warm > 2 * 64, "{peak:?}");
    // idle: within a few intervals the workers give their caches back,
    // no stack holds memory, and every slab is unmapped
    let after = wait_for(&rt, "the burst's stacks went back", |m| {
        m.stacks_warm == 0 && m.stack_slabs == 0
    });
    assert_eq!((after.stacks_live, after.stack_reserved_bytes), (0, 0));
    // and the pool serves the next burst from scratch
    burst(&rt, 1000);
    wait_for(&rt, "the second burst went back", |m| {
        m.stacks_warm == 0 && m.stack_slabs == 0
    });
}

#[test]
fn with_reclaim_off_the_pool_keeps_its_stacks() {
    let rt = common::rt_with(1, |b| b.reclaim_after(None));
    burst(&rt, 500);
    let peak = rt.metrics();
    // a busy stretch: every worker passes its maintenance tick many times
    rt.block_on(|| {
        for _ in 0..10_000 {
            strands::yield_now();
        }
    });
    let m = rt.metrics();
    assert_eq!(
        (m.stack_slabs, m.stack_reserved_bytes),
        (peak.stack_slabs, peak.stack_reserved_bytes)
    );
    assert!(m.stacks_warm >= 500 - 64, "{m:?}");
}

#[test]
fn an_idle_spare_worker_retires_and_can_start_again() {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let rt = common::rt_with(1, |b| {
        b.watchdog(Some(Duration::from_millis(20)))
            .reclaim_after(Some(Duration::from_millis(50)))
            .on_stuck(move |s| {
                let _ = tx.lock().unwrap().send(s.clone());
            })
    });
    for round in 0..2 {
        let stop = Arc::new(AtomicBool::new(false));
        let stuck = rt.spawn(common::spinner(&stop));
        let report = rx.recv_timeout(LIMIT).expect("no watchdog report");
        assert!(report.spare_started, "round {round}: {report}");
        assert_eq!(rt.metrics().spare_workers, 1);
        // while the worker is held, the spare stays (it is what serves)
        let served = rt.spawn(|| {
            strands::sleep(Duration::from_millis(120)); // > two intervals
            7
        });
        assert_eq!(served.join().unwrap(), 7);
        assert_eq!(rt.metrics().spare_workers, 1, "round {round}");
        stop.store(true, Ordering::Relaxed);
        stuck.join().unwrap();
        let m = wait_for(&rt, "the spare retired", |m| m.spare_workers == 0);
        assert_eq!(m.workers, 1);
        // and the runtime still runs strands
        assert_eq!(rt.spawn(|| 1 + 1).join().unwrap(), 2);
    }
    let m = rt.metrics();
    assert_eq!(m.stuck_reports, 2);
    assert_eq!(m.finished.len(), 2, "the spare's slot keeps its counts");
}

/// CPU time (user + system, in clock ticks) of this process's threads
/// whose name starts with `prefix`, from `/proc/self/task/*/stat`.
#[cfg(target_os = "linux")]
fn cpu_ticks_of_threads(prefix: &str) -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !comm.starts_with(prefix) {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // the fields after the command's closing parenthesis: state is 3rd
        // overall, utime and stime are the 14th and 15th
        let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.len() > 12 {
            total += f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0);
        }
    }
    total
}

/// Between a burst and the reclaim tick, the idle workers sleep in the
/// poller or on their blocker: they do not poll in a loop (they did: a
/// worker going idle with stacks in its cache notified the poller, found
/// its own notification on its next look, and went round again, burning a
/// CPU until the tick). The tick is set far off, so the whole window is
/// that state; a busy loop would use about all of it on each worker.
#[cfg(target_os = "linux")]
#[test]
fn idle_workers_sleep_while_a_reclaim_tick_is_pending() {
    common::hang_guard();
    let rt = common::rt_with(2, |b| {
        b.thread_name("idle-cpu-probe")
            .reclaim_after(Some(Duration::from_secs(3600)))
    });
    burst(&rt, 200);
    let before = cpu_ticks_of_threads("idle-cpu-pro");
    let window = Duration::from_millis(500);
    std::thread::sleep(window); // the window measured, not a synchronisation
    let used = cpu_ticks_of_threads("idle-cpu-pro") - before;
    let ticks_per_s = 100; // USER_HZ on Linux
    let budget = ticks_per_s * window.as_millis() as u64 / 1000 / 5; // 20% of one CPU
    assert!(
        used <= budget,
        "idle workers used {used} clock ticks in {window:?} (budget {budget})"
    );
}
