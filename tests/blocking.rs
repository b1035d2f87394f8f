//! The blocking pool: joins park, saturation, threads retire, shutdown
//! does not hang on a blocked job; block_in_place.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};
use strands::{channel, Runtime, SpawnError};

/// Waits until `cond` holds, checking every millisecond, failing after 10 s.
fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn joining_parks_the_strand_not_the_worker() {
    // one worker: if the join blocked it, the sender could never run
    common::rt(1).block_on(|| {
        let (tx, rx) = mpsc::channel::<u32>();
        let (go_tx, go_rx) = channel::bounded::<()>(1);
        let job = strands::spawn_blocking(move || rx.recv().unwrap() + 1);
        let sender = strands::spawn(move || {
            go_rx.recv().unwrap();
            tx.send(41).unwrap();
        });
        go_tx.send(()).unwrap();
        assert_eq!(job.join().unwrap(), 42);
        sender.join().unwrap();
    });
}

#[test]
fn a_panicking_job_is_its_handles_error() {
    common::rt(1).block_on(|| {
        let err = strands::spawn_blocking(|| -> u8 { panic!("job failed") })
            .join()
            .unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.to_string(), "strand panicked: job failed");
    });
}

#[test]
fn saturation_is_an_error_not_growth() {
    let rt = Runtime::builder()
        .workers(1)
        .max_blocking_threads(1)
        .blocking_queue(1)
        .build()
        .unwrap();
    rt.block_on(|| {
        let (tx, rx) = mpsc::channel::<()>();
        let busy = strands::spawn_blocking(move || rx.recv().unwrap());
        let queued = strands::try_spawn_blocking(|| 2).expect("one may wait");
        match strands::try_spawn_blocking(|| 3) {
            Err(SpawnError::Saturated) => {}
            other => panic!("expected Saturated, got {other:?}"),
        }
        tx.send(()).unwrap();
        busy.join().unwrap();
        assert_eq!(queued.join().unwrap(), 2);
        // room again
        assert_eq!(
            strands::try_spawn_blocking(|| 4).unwrap().join().unwrap(),
            4
        );
    });
}

#[test]
fn pool_threads_start_on_demand_and_retire_when_idle() {
    let rt = Runtime::builder()
        .workers(1)
        .blocking_keep_alive(Duration::from_millis(20))
        .build()
        .unwrap();
    let h = rt.handle().clone();
    assert_eq!(h.blocking_threads(), 0);
    let (tx, rx) = mpsc::channel::<()>();
    let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let jobs: Vec<_> = (0..3)
        .map(|_| {
            let (rx, started) = (rx_clone(&rx), started_tx.clone());
            h.try_spawn_blocking(move || {
                started.send(()).unwrap();
                rx.lock().unwrap().recv().ok();
            })
            .unwrap()
        })
        .collect();
    // one job takes the shared receiver's lock and waits; the others wait
    // for the lock: three threads
    for _ in 0..3 {
        started_rx.recv().unwrap();
    }
    assert_eq!(h.blocking_threads(), 3);
    drop(tx);
    jobs.into_iter().for_each(|j| j.join().unwrap());
    eventually("the idle threads retire", || h.blocking_threads() == 0);
    drop(rx);
}

fn rx_clone(
    rx: &std::sync::Arc<std::sync::Mutex<mpsc::Receiver<()>>>,
) -> std::sync::Arc<std::sync::Mutex<mpsc::Receiver<()>>> {
    std::sync::Arc::clone(rx)
}

#[test]
fn dropping_the_runtime_does_not_wait_for_a_blocked_job() {
    let rt = common::rt(1);
    let (tx, rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let h = rt
        .handle()
        .try_spawn_blocking(move || {
            started_tx.send(()).unwrap();
            rx.recv().ok();
        })
        .unwrap();
    started_rx.recv().unwrap();
    drop(h);
    drop(rt); // returns although the job still blocks
    tx.send(()).unwrap(); // now let it go
}

#[test]
fn spawn_blocking_outside_a_runtime_is_an_error() {
    assert!(matches!(
        strands::try_spawn_blocking(|| ()),
        Err(SpawnError::NoRuntime)
    ));
}

#[test]
fn block_in_place_runs_in_place_and_borrows() {
    common::rt(2).block_on(|| {
        let before = std::thread::current().id();
        let data = [1u64, 2, 3];
        let (sum, during) =
            strands::block_in_place(|| (data.iter().sum::<u64>(), std::thread::current().id()));
        assert_eq!(sum, 6);
        assert_eq!(before, during);
    });
    assert_eq!(strands::block_in_place(|| 5), 5);
}
