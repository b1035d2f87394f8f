//! What must keep passing, tried as a long-running service would: runtimes
//! dropped under load again and again, hundreds of runtimes built and
//! dropped, and thousands of TCP connections opened and closed -- with
//! every `Drop` run and nothing left behind (threads, fds, mappings).
//!
//! The three parts compare the process's fd and thread counts against
//! their own baselines, so they run in one test, one after the other (a
//! second test thread would count as a thread left behind).

mod common;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;
use strands::channel;

/// Under an emulator everything is slower: do less.
fn scale(n: usize) -> usize {
    if common::under_emulator() {
        (n / 10).max(1)
    } else {
        n
    }
}

fn count_dir(path: &str) -> usize {
    std::fs::read_dir(path).map(|d| d.count()).unwrap_or(0)
}

/// Open fds and threads of this process.
fn resources() -> (usize, usize) {
    (count_dir("/proc/self/fd"), count_dir("/proc/self/task"))
}

/// Waits (bounded) until the threads of exited workers are gone: a joined
/// thread may still be listed for a moment.
fn settle(baseline: (usize, usize)) -> (usize, usize) {
    for _ in 0..2000 {
        let now = resources();
        if now.0 <= baseline.0 && now.1 <= baseline.1 {
            return now;
        }
        std::thread::yield_now();
        std::thread::sleep(Duration::from_millis(1));
    }
    resources()
}

/// Asserts that no fd and no thread is left beyond `baseline` (once the
/// exited threads are gone).
fn assert_nothing_left(baseline: (usize, usize)) {
    let after = settle(baseline);
    assert!(
        after.0 <= baseline.0,
        "fds leaked: {baseline:?} -> {after:?}"
    );
    assert!(
        after.1 <= baseline.1,
        "threads left: {baseline:?} -> {after:?}"
    );
}

struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn runtimes_dropped_under_load_twenty_times_run_every_drop() {
    let baseline = resources();
    for round in 0..20 {
        let made = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let rt = common::rt(2);
        let (tx, rx) = channel::unbounded::<u32>();
        let lock = Arc::new(strands::sync::Mutex::new(0u32));
        let strands = scale(2_000);
        for i in 0..strands {
            let (made, dropped) = (Arc::clone(&made), Arc::clone(&dropped));
            let (rx, lock, tx) = (rx.clone(), Arc::clone(&lock), tx.clone());
            rt.spawn(move || {
                made.fetch_add(1, SeqCst);
                let _c = Counted(dropped);
                match i % 5 {
                    0 => strands::sleep(Duration::from_secs(3600)),
                    1 => drop(rx.recv()),
                    2 => loop {
                        *lock.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                        strands::yield_now();
                    },
                    3 => drop(tx.send(1)),
                    _ => loop {
                        strands::yield_now();
                    },
                }
            });
        }
        drop(rt); // under load: every strand cancelled, every Drop run
        assert_eq!(
            dropped.load(SeqCst),
            made.load(SeqCst),
            "round {round}: a strand's Drop did not run"
        );
    }
    assert_nothing_left(baseline);
}

fn five_hundred_runtimes_built_and_dropped_leave_nothing_behind() {
    let baseline = resources();
    let maps_before = common::mappings();
    for i in 0..scale(500) {
        let rt = common::rt(1 + i % 2);
        let v = rt.block_on(|| strands::spawn(|| 1).join().unwrap());
        assert_eq!(v, 1);
    }
    assert_nothing_left(baseline);
    let maps_after = common::mappings();
    // the stack slabs are unmapped with each runtime (a leak would add at
    // least one line per runtime: hundreds); the slack is for the C
    // allocator's per-thread arenas, a bounded number of mappings (two
    // lines each, at most 8 per CPU) created as new threads first allocate
    assert!(
        maps_after <= maps_before + 64,
        "mappings grew: {maps_before} -> {maps_after}"
    );
}

fn thousands_of_tcp_cycles_leak_no_fd() {
    let rt = common::rt(2);
    // warm up: the runtime's own fds (epoll, eventfd) exist from here on
    rt.block_on(|| ());
    let baseline = resources();
    let cycles = scale(5_000);
    let served = rt.block_on(move || {
        let listener = strands::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = strands::spawn(move || {
            let mut served = 0;
            for _ in 0..cycles {
                let (mut s, _) = listener.accept().unwrap();
                let mut b = [0u8; 4];
                s.read_exact(&mut b).unwrap();
                s.write_all(&b).unwrap();
                served += 1;
            }
            served
        });
        for i in 0..cycles as u32 {
            let mut c = strands::net::TcpStream::connect(addr).unwrap();
            c.write_all(&i.to_le_bytes()).unwrap();
            let mut b = [0u8; 4];
            c.read_exact(&mut b).unwrap();
            assert_eq!(u32::from_le_bytes(b), i);
        }
        server.join().unwrap()
    });
    assert_eq!(served, cycles);
    let after = settle(baseline);
    assert!(
        after.0 <= baseline.0,
        "fds leaked: {baseline:?} -> {after:?}"
    );
}

#[test]
fn soak() {
    common::hang_guard();
    runtimes_dropped_under_load_twenty_times_run_every_drop();
    five_hundred_runtimes_built_and_dropped_leave_nothing_behind();
    thousands_of_tcp_cycles_leak_no_fd();
}
