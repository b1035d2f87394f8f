//! The panic hook that names the strand.
//!
//! Installed once per process, at the first spawn of a strand. Panics
//! outside strands go to the hook that was installed before, unchanged.
//!
//! # One report per panic
//!
//! When the hook installed before ours is std's default hook, a panic in a
//! strand prints one report, in std's shape, naming the strand and the
//! worker thread it ran on:
//!
//! ```text
//! strand 'parser' (id 7) on thread 'strands-worker-1' panicked at src/parse.rs:10:5:
//! unexpected token
//! note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
//! ```
//!
//! and, with `RUST_BACKTRACE` set (as std reads it: `0` is off, `full` is
//! the full format, anything else the short one), a `stack backtrace:`
//! captured with [`std::backtrace::Backtrace`]. The report is written with
//! `eprint!`, which is what std's default hook does too as far as output
//! capture goes: under `cargo test`, a panic on a worker thread started
//! (directly or through a runtime built) by a test is captured with that
//! test's output, as a panic of a `std::thread` it spawned would be. A
//! runtime shared between tests captures into the test whose thread built
//! it. A failing write to stderr (a closed pipe) panics inside the hook and
//! so aborts the process, as it would for `eprint!` anywhere.
//!
//! **How the default hook is recognised.** At installation we take the
//! current hook (`prev`) and then take the hook again: after a
//! [`take_hook`](std::panic::take_hook), the installed hook is std's default,
//! so the second take returns a box of the default hook. The two boxes are
//! compared as fat pointers with [`std::ptr::eq`]: data pointer and vtable.
//! The default hook is a zero-sized function item, so both boxes hold the
//! same dangling data pointer; their vtables are the same if `prev` is the
//! default too. A false negative (the compiler duplicated the vtable) only
//! keeps the two-report behaviour below; a false positive is impossible:
//! a different hook type has a different `call` function, so its vtable
//! cannot be the default hook's.
//!
//! # With a hook of the program's own
//!
//! If the program installed a hook before the first spawn, a panic in a
//! strand prints one line naming the strand
//!
//! ```text
//! strand 'parser' (id 7) on thread 'strands-worker-1' panicked at src/parse.rs:10:5
//! ```
//!
//! and then calls that hook, so error reporters keep seeing every panic.
//!
//! Either way the hook runs on a fresh stack segment if the strand's stack
//! is low, so that a backtrace can be printed even from a strand with a
//! minimal stack.

use crate::loom::Once;
use crate::runtime::context;
use std::io::Write;
use std::panic::{self, PanicHookInfo};

/// Headroom the report gets (formatting a backtrace needs a lot).
const HOOK_RED_ZONE: usize = 128 * 1024;
const HOOK_STACK: usize = 1 << 20;

type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

pub(crate) fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let prev: Hook = panic::take_hook();
        // the hook is std's default now: take it once more to compare
        let default: Hook = panic::take_hook();
        let prev_is_default = std::ptr::eq(&*prev, &*default);
        drop(default);
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
            let thread = std::thread::current();
            let mut head = format!(
                "strand '{}' (id {}) on thread '{}' panicked",
                strand.name.as_deref().unwrap_or("<unnamed>"),
                strand.id,
                thread.name().unwrap_or("<unnamed>"),
            );
            if let Some(loc) = info.location() {
                head.push_str(&format!(" at {loc}"));
            }
            let nested_note = match (nested, strand.is_cancelled()) {
                (false, _) => None,
                (true, true) => Some(
                    "in a Drop while being cancelled (if it leaves the Drop, the process aborts)",
                ),
                (true, false) => {
                    Some("in a Drop while unwinding (if it leaves the Drop, the process aborts)")
                }
            };
            if prev_is_default {
                crate::grow(HOOK_RED_ZONE, HOOK_STACK, || {
                    eprint!("{}", std_shaped_report(&head, info, nested_note));
                });
            } else {
                if let Some(n) = nested_note {
                    head.push(' ');
                    head.push_str(n);
                }
                head.push('\n');
                let _ = std::io::stderr().lock().write_all(head.as_bytes());
                crate::grow(HOOK_RED_ZONE, HOOK_STACK, || prev(info));
            }
        }));
    });
}

/// How `RUST_BACKTRACE` asks for backtraces, read as std's panic does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum BacktraceStyle {
    Off,
    Short,
    Full,
}

fn backtrace_style() -> BacktraceStyle {
    match std::env::var_os("RUST_BACKTRACE") {
        None => BacktraceStyle::Off,
        Some(v) if v == "0" => BacktraceStyle::Off,
        Some(v) if v == "full" => BacktraceStyle::Full,
        Some(_) => BacktraceStyle::Short,
    }
}

/// The whole report, as std's default hook would write it for a thread,
/// with `head` ("strand … panicked at …") in place of its first words.
fn std_shaped_report(head: &str, info: &PanicHookInfo<'_>, nested: Option<&str>) -> String {
    let msg = info.payload_as_str().unwrap_or("Box<dyn Any>");
    let mut out = format!("{head}:\n{msg}\n");
    if let Some(n) = nested {
        out.push_str(&format!("note: the panic is {n}\n"));
    }
    match backtrace_style() {
        BacktraceStyle::Off => out.push_str(
            "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n",
        ),
        style => {
            let bt = std::backtrace::Backtrace::force_capture();
            if style == BacktraceStyle::Full {
                out.push_str(&format!("stack backtrace:\n{bt:#}"));
            } else {
                out.push_str("stack backtrace:\n");
                out.push_str(&short_frames(&bt.to_string()));
                out.push_str(
                    "note: Some details are omitted, run with \
                     `RUST_BACKTRACE=full` for a verbose backtrace.\n",
                );
            }
        }
    }
    out
}

/// The frames of a formatted backtrace after the panic machinery (up to
/// and including std's `__rust_end_short_backtrace` marker, as std's own
/// short backtraces do), renumbered from 0. Unchanged if there is no marker.
fn short_frames(bt: &str) -> String {
    // a frame starts with a line "<spaces><number>: <name>"
    fn frame_number(line: &str) -> Option<(usize, &str)> {
        let t = line.trim_start();
        let (n, rest) = t.split_once(": ")?;
        let n = n.parse().ok()?;
        Some((n, rest))
    }
    let lines: Vec<&str> = bt.lines().collect();
    let Some(marker) = lines.iter().position(|l| {
        frame_number(l).is_some_and(|(_, name)| name.contains("__rust_end_short_backtrace"))
    }) else {
        return bt.to_string();
    };
    let Some(first) = lines[marker + 1..]
        .iter()
        .position(|l| frame_number(l).is_some())
        .map(|i| i + marker + 1)
    else {
        return bt.to_string();
    };
    let skip = frame_number(lines[first]).map_or(0, |(n, _)| n);
    let mut out = String::with_capacity(bt.len());
    for line in &lines[first..] {
        match frame_number(line) {
            Some((n, name)) => out.push_str(&format!("{:>4}: {name}\n", n - skip)),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::short_frames;

    #[test]
    fn short_frames_start_after_the_marker_and_renumber() {
        let bt = "   0: hook\n             at src/panic.rs:1:1\n   1: std::sys::backtrace::__rust_end_short_backtrace\n   2: core::panicking::panic_fmt\n   3: user::f\n             at src/f.rs:2:3\n";
        assert_eq!(
            short_frames(bt),
            "   0: core::panicking::panic_fmt\n   1: user::f\n             at src/f.rs:2:3\n"
        );
        let plain = "   0: a\n   1: b\n";
        assert_eq!(short_frames(plain), plain);
    }
}
