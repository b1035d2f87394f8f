//! The stuck-worker watchdog: reports a strand that holds its worker, and
//! a spare worker keeps the other strands going.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

#[test]
fn a_stuck_strand_is_reported_and_a_spare_serves_the_rest() {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let threshold = Duration::from_millis(50);
    let rt = common::rt_with(1, |b| {
        b.watchdog(Some(threshold)).on_stuck(move |s| {
            let _ = tx.lock().unwrap().send(s.clone());
        })
    });
    let stop = Arc::new(AtomicBool::new(false));
    let stuck = strands::Builder::new()
        .name("spinner".to_string())
        .spawn_on(rt.handle(), common::spinner(&stop))
        .unwrap();
    let report = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("no watchdog report");
    assert_eq!(report.name.as_deref(), Some("spinner"));
    assert_eq!(report.strand, stuck.strand().id());
    assert_eq!(report.worker, 0);
    assert!(report.held_for >= threshold);
    assert!(report.spare_started);
    // the only worker is held; the spare runs new strands, timers and I/O
    let h = rt.spawn(|| {
        strands::sleep(Duration::from_millis(5));
        let (a, b) = strands::os::unix::net::UnixStream::pair().unwrap();
        use std::io::{Read, Write};
        (&a).write_all(b"x").unwrap();
        let mut buf = [0u8; 1];
        (&b).read_exact(&mut buf).unwrap();
        buf[0]
    });
    assert_eq!(h.join().unwrap(), b'x');
    assert!(!stuck.is_finished());
    let m = rt.metrics();
    assert_eq!((m.workers, m.spare_workers, m.stuck_reports), (2, 1, 1));
    stop.store(true, Ordering::Relaxed);
    stuck.join().unwrap();
}

#[test]
fn with_no_spares_it_only_reports() {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let rt = common::rt_with(1, |b| {
        b.watchdog(Some(Duration::from_millis(20)))
            .spare_workers(0)
            .on_stuck(move |s| {
                let _ = tx.lock().unwrap().send(s.clone());
            })
    });
    let stop = Arc::new(AtomicBool::new(false));
    let stuck = rt.spawn(common::spinner(&stop));
    let report = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(!report.spare_started);
    assert_eq!(report.name, None);
    stop.store(true, Ordering::Relaxed);
    stuck.join().unwrap();
    assert_eq!(rt.metrics().spare_workers, 0);
}

#[test]
fn the_report_counts_the_started_strands_stuck_behind_it() {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let rt = common::rt_with(1, |b| {
        b.watchdog(Some(Duration::from_millis(20)))
            .on_stuck(move |s| {
                let _ = tx.lock().unwrap().send(s.clone());
            })
    });
    let stop = Arc::new(AtomicBool::new(false));
    let (release_tx, release_rx) = strands::channel::bounded::<()>(1);
    let spin = common::spinner(&stop);
    let stuck = rt.spawn(move || {
        // started here, then parked: pinned to this worker
        let pinned = common::spawn_parked_on_channel(move || release_rx.recv().unwrap());
        spin();
        pinned
    });
    let report = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(report.pinned_behind, 1, "{report}");
    let text = report.to_string();
    assert!(
        text.contains("1 strand that started on worker 0 cannot move"),
        "{text}"
    );
    assert!(text.contains("strands::yield_now()"), "{text}");
    stop.store(true, Ordering::Relaxed);
    let pinned = stuck.join().unwrap();
    release_tx.send(()).unwrap();
    pinned.join().unwrap();
}

#[test]
fn a_loop_of_spawns_is_progress_not_a_stuck_strand() {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    // Under an emulator the guards are mprotect ones (two mappings a
    // stack) and the worker that runs what the loop spawns may fall behind
    // it: the loop stops well inside the mapping budget (about 31,000
    // stacks), and the threshold grows less than elsewhere so that the
    // loop still outlasts it several times.
    let (factor, most) = if common::under_emulator() {
        (4, 20_000)
    } else {
        (1, 200_000)
    };
    let threshold = Duration::from_millis(50) * factor;
    // two workers: the other one runs (and frees) what the loop spawns, so
    // stacks do not pile up (under qemu, guards cost two mappings each)
    let rt = common::rt_with(2, |b| {
        b.watchdog(Some(threshold))
            .spare_workers(0)
            .on_stuck(move |s| {
                let _ = tx.lock().unwrap().send(s.clone());
            })
    });
    let spawned = rt.block_on(move || {
        let start = std::time::Instant::now();
        let mut n = 0u64;
        while start.elapsed() < threshold * 4 && n < most {
            drop(strands::spawn(|| ()));
            n += 1;
        }
        n
    });
    assert!(spawned > 0);
    assert!(
        rx.try_recv().is_err(),
        "the watchdog reported a strand that only spawned"
    );
    assert_eq!(rt.metrics().stuck_reports, 0);
}

#[test]
fn a_loop_of_spawns_lets_the_strands_pinned_to_its_worker_run() {
    // Without the spawn path's yield this loop never ends: the pinned
    // strand it waits for can run only on this (only) worker.
    let rt = common::rt_with(1, |b| b.watchdog(None));
    rt.block_on(|| {
        let turns = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let t = Arc::clone(&turns);
        let pinned = common::spawn_parked(move || {
            for _ in 0..3 {
                t.fetch_add(1, Ordering::SeqCst);
                strands::yield_now();
            }
        });
        while turns.load(Ordering::SeqCst) < 3 {
            drop(strands::spawn(|| ()));
        }
        pinned.join().unwrap();
    });
}
