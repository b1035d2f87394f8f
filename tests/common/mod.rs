//! Shared by tests that re-run their own binary in a child process.

use std::process::Command;

/// A command that runs this test binary again. Cross-testing under an
/// emulator (qemu-user) runs the child through the same runner, named by
/// `STRANDS_TEST_RUNNER` (for example `qemu-aarch64-static -L
/// /usr/aarch64-linux-gnu`; `.ci/run` sets it).
pub fn this_binary() -> Command {
    let exe = std::env::current_exe().expect("the test binary's path");
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
