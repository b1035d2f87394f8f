//! Shared by tests that run a binary of this crate in a child process.

#![allow(dead_code)] // each test file uses only some of these

use std::process::Command;

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
