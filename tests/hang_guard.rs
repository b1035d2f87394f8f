//! The hang guard of `tests/common`: a test that hangs past the limit fails
//! the run with its name instead of hanging it. Checked in a child process
//! (this binary again) with a one-second limit.

mod common;

/// Hangs on purpose, but only in the child the test below starts.
#[test]
fn child_that_hangs() {
    if std::env::var_os("STRANDS_HANG_GUARD_CHILD").is_none() {
        return;
    }
    let rt = common::rt(1);
    let (_tx, rx) = strands::channel::bounded::<()>(1);
    let _ = rt.block_on(move || rx.recv()); // never: the sender stays here
    unreachable!("the guard aborts first");
}

#[test]
fn a_hung_test_is_named_and_aborts_the_process() {
    let out = common::this_binary()
        .args(["--exact", "child_that_hangs", "--nocapture"])
        .env("STRANDS_HANG_GUARD_CHILD", "1")
        .env("STRANDS_TEST_TIMEOUT", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the hung child exited cleanly: {stderr}"
    );
    assert!(
        stderr.contains("test child_that_hangs exceeded 1 s (STRANDS_TEST_TIMEOUT): aborting"),
        "{stderr}"
    );
}

#[test]
fn a_test_that_ends_in_time_disarms_its_guard() {
    // builds a runtime (arming the guard) and ends: the guard's thread sees
    // the end and exits instead of aborting later
    assert_eq!(common::rt(1).block_on(|| 5), 5);
}
