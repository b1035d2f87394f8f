//! Helpers shared by the integration tests: a runtime with `n` workers,
//! spawning a strand and waiting until it has parked, and running a binary
//! of this crate in a child process.

#![allow(dead_code)] // each test file uses only some of these

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use strands::{JoinHandle, Runtime};

/// A runtime with `workers` workers.
pub fn rt(workers: usize) -> Runtime {
    Runtime::builder().workers(workers).build().unwrap()
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
