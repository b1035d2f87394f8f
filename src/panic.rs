//! The panic hook that names the strand.
//!
//! Installed once per process when the first runtime is built. For a panic
//! inside a strand it first prints
//!
//! ```text
//! strand 'parser' (id 7) panicked at src/parse.rs:10:5
//! ```
//!
//! and then calls the hook that was installed before (std's default, which
//! prints the message and, with `RUST_BACKTRACE`, a backtrace; or the
//! program's own hook), so error reporters keep seeing every panic. The hook
//! runs on a fresh stack segment if the strand's stack is low, so that a
//! backtrace can be printed even from a strand with a minimal stack. Panics
//! outside strands go to the previous hook unchanged.

use crate::loom::Once;
use crate::runtime::context;
use std::io::Write;
use std::panic;

/// Headroom the previous hook gets (formatting a backtrace needs a lot).
const HOOK_RED_ZONE: usize = 128 * 1024;
const HOOK_STACK: usize = 1 << 20;

pub(crate) fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let prev = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let Some(strand) = context::current() else {
                return prev(info);
            };
            // Already unwinding (a panic in a `Drop` run by an unwind): if
            // this one leaves the `Drop`, std aborts the process. Say so
            // here, where the strand is still known. (The strand's own flag,
            // not the thread's count: std has counted this panic already.)
            let nested = strand.is_unwinding();
            context::mark_unwinding();
            let mut line = format!(
                "strand '{}' (id {}) panicked",
                strand.name.as_deref().unwrap_or("<unnamed>"),
                strand.id
            );
            if let Some(loc) = info.location() {
                line.push_str(&format!(" at {loc}"));
            }
            if nested {
                line.push_str(if strand.is_cancelled() {
                    " in a Drop while being cancelled (if it leaves the Drop, the process aborts)"
                } else {
                    " in a Drop while unwinding (if it leaves the Drop, the process aborts)"
                });
            }
            line.push('\n');
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
            crate::grow(HOOK_RED_ZONE, HOOK_STACK, || prev(info));
        }));
    });
}
