//! Aborting the process with a message, for failures that have nowhere to
//! go: a panic while a result or a strand-local is dropped outside any
//! caller, a corrupted stack.

use std::io::Write;

/// Runs `f`, which runs user code (usually a `Drop`) where an unwind has
/// nowhere to go, and aborts with `strands: fatal: <what> panicked while
/// being dropped` if it panics -- as std does for a thread's result.
pub(crate) fn abort_on_unwind(what: &str, f: impl FnOnce()) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
        abort_with(&format!("{what} panicked while being dropped"));
    }
}

/// Writes `strands: fatal: <msg>` to stderr and aborts the process.
pub(crate) fn abort_with(msg: &str) -> ! {
    let _ = writeln!(std::io::stderr().lock(), "strands: fatal: {msg}");
    std::process::abort()
}
