//! The panic hook that names the strand.
//!
//! Installed once per process when the first runtime is built. For a panic
//! inside a strand it prints
//!
//! ```text
//! strand 'parser' (id 7) panicked at src/parse.rs:10:5:
//! unexpected token
//! ```
//!
//! followed by a backtrace when `RUST_BACKTRACE` asks for one, like std's
//! default hook does for threads. Panics outside strands go to the hook that
//! was installed before (std's default, or the program's own), unchanged.
//! A hook the program installs *after* the runtime replaces this one.

use crate::loom::Once;
use std::io::Write;
use std::panic;

pub(crate) fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let prev = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let Some(task) = crate::runtime::worker::current_task() else {
                return prev(info);
            };
            let msg = info.payload_as_str().unwrap_or("Box<dyn Any>");
            let mut out = String::new();
            out.push_str("strand '");
            out.push_str(task.name.as_deref().unwrap_or("<unnamed>"));
            out.push_str(&format!("' (id {}) panicked", task.id));
            if let Some(loc) = info.location() {
                out.push_str(&format!(" at {loc}"));
            }
            out.push_str(&format!(":\n{msg}\n"));
            match std::env::var_os("RUST_BACKTRACE").as_deref().and_then(|v| v.to_str()) {
                Some("0") | None => out.push_str(
                    "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n",
                ),
                Some(_) => {
                    out.push_str(&format!("stack backtrace:\n{}\n", std::backtrace::Backtrace::force_capture()));
                }
            }
            let _ = std::io::stderr().lock().write_all(out.as_bytes());
        }));
    });
}
