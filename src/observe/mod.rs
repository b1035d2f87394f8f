//! Watching a runtime as it works: its [`Event`]s, and a ready-made writer
//! for them ([`JsonLines`]).
//!
//! A hook set with [`Builder::on_event`](crate::runtime::Builder::on_event)
//! receives every event of its runtime. Where it runs:
//!
//! | event | thread, context |
//! |---|---|
//! | spawned | the spawner: a strand, or a plain thread |
//! | started, finished | the strand itself (its first and last moment) |
//! | parked | the strand's worker, just after the strand switched out |
//! | yielded | the worker after the switch, or (a yield straight to the next strand of the worker) the yielding strand |
//! | woken | the waker: a strand, a plain thread, a worker firing timers or polling I/O |
//! | stolen, worker idle, worker notified | the worker, between strands |
//! | stuck | the watchdog's monitor thread |
//!
//! So a hook must be quick and must not block, park or yield (see
//! [`Builder::on_event`](crate::runtime::Builder::on_event) for what happens
//! if it does, panics or spawns).
//!
//! ```
//! let rt = strands::Runtime::builder()
//!     .on_event(strands::observe::JsonLines::new(std::io::sink()))
//!     .build()?;
//! rt.block_on(|| strands::spawn(|| ()).join().unwrap());
//! # Ok::<(), std::io::Error>(())
//! ```

pub use crate::runtime::{Event, EventHook, Outcome};

#[cfg(feature = "tracing")]
pub(crate) mod trace;

/// A ready-made event hook (cargo feature `tracing`) that emits every
/// [`Event`] as a `tracing` event with target `strands::events` (watchdog
/// reports and panicked strands at `WARN`, spawned and finished at
/// `DEBUG`, the rest at `TRACE`), each with the event's fields.
///
/// With the feature on, every strand of a runtime that has an event hook
/// (this one or any other) also runs in a span named `strand` (fields
/// `strand.id`, `strand.name`), entered while the strand runs and exited
/// whenever it switches out, so a subscriber attributes what a strand logs
/// to it as it does for an async task. As with `.await`, a span of your own
/// entered across a blocking point stays entered on the worker thread
/// while the strand waits: enter spans between blocking points.
///
/// ```
/// let rt = strands::Runtime::builder()
///     .on_event(strands::observe::tracing_hook())
///     .build()?;
/// rt.block_on(|| tracing::info!("inside the strand's span"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[cfg(feature = "tracing")]
pub fn tracing_hook() -> impl Fn(&Event<'_>) + Send + Sync + 'static {
    |e: &Event<'_>| trace::emit(e)
}

use crate::Priority;
use std::io::{BufWriter, Write};
use std::sync::Mutex;
use std::time::Instant;

/// A ready-made event hook that writes each [`Event`] as one JSON object a
/// line, so a run pipes into `jq`.
///
/// [`JsonLines::new`] returns the hook itself, ready for
/// [`Builder::on_event`](crate::runtime::Builder::on_event). Each line has
/// `t_us` (microseconds since the writer was made), `event` (the
/// [`Event::kind`]) and the event's fields:
///
/// ```text
/// {"t_us":12,"event":"spawned","strand":2,"name":"worker","priority":"normal","site":"src/main.rs:9:10","by":1}
/// {"t_us":15,"event":"started","strand":2,"worker":0}
/// {"t_us":40,"event":"parked","strand":2,"worker":0,"reason":"channel receive"}
/// {"t_us":52,"event":"woken","strand":2,"by":1}
/// {"t_us":60,"event":"finished","strand":2,"outcome":"ok"}
/// ```
///
/// Absent values are left out (`"by"` for a wake from a plain thread). The
/// output is buffered; it is flushed whenever a worker goes idle and when
/// the runtime lets go of the hook. A write error ends the output (later
/// events are dropped).
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// #[derive(Clone, Default)]
/// struct Shared(Arc<Mutex<Vec<u8>>>);
/// impl std::io::Write for Shared {
///     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
///         self.0.lock().unwrap().write(b)
///     }
///     fn flush(&mut self) -> std::io::Result<()> {
///         Ok(())
///     }
/// }
///
/// let out = Shared::default();
/// let rt = strands::Runtime::builder()
///     .workers(1)
///     .on_event(strands::observe::JsonLines::new(out.clone()))
///     .build()?;
/// rt.block_on(|| ());
/// drop(rt);
/// let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
/// assert!(text.lines().any(|l| l.contains(r#""event":"finished""#)));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct JsonLines {
    _private: (),
}

impl JsonLines {
    /// The hook writing JSON lines to `out` (see [`JsonLines`]).
    ///
    /// ```
    /// let rt = strands::Runtime::builder()
    ///     .on_event(strands::observe::JsonLines::new(std::io::stderr()))
    ///     .build()?;
    /// # drop(rt);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[allow(clippy::new_ret_no_self)] // the hook is the value
    pub fn new<W: Write + Send + 'static>(out: W) -> impl Fn(&Event<'_>) + Send + Sync + 'static {
        let start = Instant::now();
        let state = Mutex::new((BufWriter::new(out), String::with_capacity(256), true));
        move |e: &Event<'_>| {
            let t = start.elapsed().as_micros();
            let mut g = state.lock().unwrap_or_else(|e| e.into_inner());
            let (out, line, ok) = &mut *g;
            if !*ok {
                return;
            }
            line.clear();
            format_line(line, t, e);
            let mut r = out.write_all(line.as_bytes());
            if matches!(e, Event::WorkerIdle { .. }) && r.is_ok() {
                r = out.flush();
            }
            if r.is_err() {
                *ok = false;
            }
        }
    }
}

/// One event as a JSON object and a newline.
fn format_line(s: &mut String, t_us: u128, e: &Event<'_>) {
    use std::fmt::Write as _;
    let _ = write!(s, "{{\"t_us\":{t_us},\"event\":\"{}\"", e.kind());
    let num = |s: &mut String, k: &str, v: u64| {
        let _ = write!(s, ",\"{k}\":{v}");
    };
    let text = |s: &mut String, k: &str, v: &str| {
        let _ = write!(s, ",\"{k}\":\"");
        escape(s, v);
        s.push('"');
    };
    match *e {
        Event::Spawned {
            strand,
            name,
            priority,
            site,
            by,
        } => {
            num(s, "strand", strand.as_u64());
            if let Some(n) = name {
                text(s, "name", n);
            }
            let p = match priority {
                Priority::High => "high",
                Priority::Normal => "normal",
                Priority::Low => "low",
            };
            text(s, "priority", p);
            if let Some(l) = site {
                let _ = write!(s, ",\"site\":\"");
                escape(s, l.file());
                let _ = write!(s, ":{}:{}\"", l.line(), l.column());
            }
            if let Some(b) = by {
                num(s, "by", b.as_u64());
            }
        }
        Event::Started { strand, worker } => {
            num(s, "strand", strand.as_u64());
            if let Some(w) = worker {
                num(s, "worker", w as u64);
            }
        }
        Event::Parked {
            strand,
            worker,
            reason,
        } => {
            num(s, "strand", strand.as_u64());
            num(s, "worker", worker as u64);
            text(s, "reason", reason.as_str());
        }
        Event::Woken { strand, by } => {
            num(s, "strand", strand.as_u64());
            if let Some(b) = by {
                num(s, "by", b.as_u64());
            }
        }
        Event::Yielded { strand, worker } | Event::Stolen { strand, worker } => {
            num(s, "strand", strand.as_u64());
            num(s, "worker", worker as u64);
        }
        Event::Finished { strand, outcome } => {
            num(s, "strand", strand.as_u64());
            text(s, "outcome", outcome.as_str());
        }
        Event::Stuck(st) => {
            num(s, "strand", st.strand.as_u64());
            if let Some(n) = &st.name {
                text(s, "name", n);
            }
            num(s, "worker", st.worker as u64);
            num(s, "held_ms", st.held_for.as_millis() as u64);
        }
        Event::WorkerIdle { worker } | Event::WorkerNotified { worker } => {
            num(s, "worker", worker as u64);
        }
    }
    s.push_str("}\n");
}

/// Appends `v` escaped for a JSON string.
fn escape(s: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                use std::fmt::Write as _;
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            c => s.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_what_json_needs() {
        let mut s = String::new();
        escape(&mut s, "a\"b\\c\nd\u{1}é");
        assert_eq!(s, "a\\\"b\\\\c\\nd\\u0001é");
    }
}
