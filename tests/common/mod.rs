//! Helpers shared by the integration tests: a runtime with `n` workers
//! (and a guard that fails a hung test), spawning a strand and waiting until
//! it has parked, and running a binary of this crate in a child process.
//!
//! # Hung tests
//!
//! Every runtime built here arms a [`hang_guard`] for the calling test: if
//! the test has not finished [`test_limit`] after it built its first
//! runtime (300 s unless `STRANDS_TEST_TIMEOUT` says otherwise, in seconds;
//! `0` turns the guard off), the process prints
//! `test <name> exceeded <limit> s (STRANDS_TEST_TIMEOUT)` and aborts, so
//! CI fails with the test's name instead of hanging. The limit is generous
//! because CI also runs the tests under qemu.

#![allow(dead_code)] // each test file uses only some of these

use std::cell::RefCell;
use std::io::Write;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use strands::runtime::Builder;
use strands::{JoinHandle, Runtime};

/// A runtime with `workers` workers.
pub fn rt(workers: usize) -> Runtime {
    rt_with(workers, |b| b)
}

/// A runtime with `workers` workers and whatever else `configure` sets on
/// the builder (a stack size, a guard kind, a watchdog, a bound):
/// `rt_with(1, |b| b.stack_size(32 * 1024))`.
pub fn rt_with(workers: usize, configure: impl FnOnce(Builder) -> Builder) -> Runtime {
    hang_guard();
    configure(Runtime::builder().workers(workers))
        .build()
        .unwrap()
}

/// The per-test limit: `STRANDS_TEST_TIMEOUT` seconds, 300 by default;
/// `None` (no limit) for `0`.
pub fn test_limit() -> Option<Duration> {
    let secs = match std::env::var("STRANDS_TEST_TIMEOUT") {
        Ok(v) => v
            .trim()
            .parse::<u64>()
            .unwrap_or_else(|_| panic!("STRANDS_TEST_TIMEOUT={v:?}: expected whole seconds")),
        Err(_) => 300,
    };
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// Arms the hang guard for the test running on this thread (once per
/// thread; the runtime helpers call it). libtest runs each test on a
/// thread of its own named after the test; when that thread ends -- the
/// test passed or failed -- its thread-local disarms the guard. If it has
/// not ended within [`test_limit`], the guard names the test on stderr and
/// aborts the process.
pub fn hang_guard() {
    thread_local! {
        static ARMED: RefCell<Option<Disarm>> = const { RefCell::new(None) };
    }
    let Some(limit) = test_limit() else { return };
    ARMED.with(|armed| {
        let mut armed = armed.borrow_mut();
        if armed.is_some() {
            return;
        }
        let name = std::thread::current()
            .name()
            .unwrap_or("<unnamed thread>")
            .to_string();
        let done = Arc::new((Mutex::new(false), Condvar::new()));
        let theirs = Arc::clone(&done);
        std::thread::Builder::new()
            .name(format!("hang guard of {name}"))
            .spawn(move || {
                let (lock, cv) = &*theirs;
                let (_done, waited) = cv
                    .wait_timeout_while(lock.lock().unwrap(), limit, |done| !*done)
                    .unwrap();
                if waited.timed_out() {
                    // Straight to the file descriptor: libtest captures the
                    // `eprintln!`s of a test's threads and would never show
                    // this one.
                    let _ = writeln!(
                        std::io::stderr().lock(),
                        "test {name} exceeded {} s (STRANDS_TEST_TIMEOUT): aborting",
                        limit.as_secs()
                    );
                    std::process::abort();
                }
            })
            .expect("start the hang guard");
        *armed = Some(Disarm(done));
    });
}

/// Tells the guard its test has ended (dropped with the test's thread).
struct Disarm(Arc<(Mutex<bool>, Condvar)>);

impl Drop for Disarm {
    fn drop(&mut self) {
        let (lock, cv) = &*self.0;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cv.notify_one();
    }
}

/// On a one-worker runtime: spawns `f` and returns once it has run up to its
/// first blocking point (a strand runs until it parks, so once it has
/// started and we run again, it is parked).
pub fn spawn_parked<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    let started = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&started);
    let h = strands::spawn(move || {
        s.store(true, SeqCst);
        f()
    });
    while !started.load(SeqCst) {
        strands::yield_now();
    }
    h
}

/// [`spawn_parked`] for a strand that blocks on a channel: a blocking
/// channel operation yields once before it parks, so this gives the strand
/// (and every other one queued here) a few more turns.
pub fn spawn_parked_on_channel<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> JoinHandle<T> {
    let h = spawn_parked(f);
    for _ in 0..3 {
        strands::yield_now();
    }
    h
}

/// A command that runs this test binary again. Cross-testing under an
/// emulator (qemu-user) runs the child through the same runner, named by
/// `STRANDS_TEST_RUNNER` (for example `qemu-aarch64-static -L
/// /usr/aarch64-linux-gnu`; `.ci/run` sets it).
pub fn this_binary() -> Command {
    command_for(&std::env::current_exe().expect("the test binary's path"))
}

/// A command that runs the example `name` of this crate (built by `cargo
/// test` next to the test binaries; through `STRANDS_TEST_RUNNER` when
/// there is one).
///
/// # Panics
///
/// If the example was not built (`cargo test --test x` alone does not
/// build the examples).
pub fn example(name: &str) -> Command {
    let exe = std::env::current_exe().expect("the test binary's path");
    let bin = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("the test binary lives in target/<profile>/deps")
        .join("examples")
        .join(name);
    assert!(
        bin.exists(),
        "{} not built: `cargo test` builds the examples, `cargo test --test <one>` alone does not (build it with `cargo build --release --example {name}`)",
        bin.display()
    );
    command_for(&bin)
}

/// A command that runs the program at `exe` (built for the target, so
/// through `STRANDS_TEST_RUNNER` when there is one).
pub fn command_for(exe: &std::path::Path) -> Command {
    let runner = std::env::var("STRANDS_TEST_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(prog) => {
            let mut c = Command::new(prog);
            c.args(words).arg(exe);
            c
        }
        None => Command::new(exe),
    }
}

/// A strand body that spins without ever yielding (it holds its worker, as
/// a hot loop or a blocking call would) until `stop` is set.
pub fn spinner(stop: &Arc<AtomicBool>) -> impl FnOnce() + Send + 'static {
    let stop = Arc::clone(stop);
    move || {
        while !stop.load(SeqCst) {
            std::hint::spin_loop();
        }
    }
}

/// Whether the tests run under an emulator (`STRANDS_TEST_RUNNER` names
/// one, as for aarch64 under qemu in CI): everything is slower there.
pub fn under_emulator() -> bool {
    std::env::var("STRANDS_TEST_RUNNER").is_ok_and(|r| !r.is_empty())
}

/// Lines of `/proc/self/maps`: the process's memory mappings.
pub fn mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .count()
}
