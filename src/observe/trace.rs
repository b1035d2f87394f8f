//! The `tracing` glue (cargo feature `tracing`): runtime events as
//! `tracing` events ([`tracing_hook`](super::tracing_hook)), and a span
//! per strand, entered while the strand runs.
//!
//! **Spans.** Each strand of a runtime with an event hook gets a span named
//! `strand` (fields `strand.id`, `strand.name`), made and entered as its
//! closure starts (by the wrapper the spawn path puts around it, see
//! `runtime/events.rs`). The span must not stay entered on a worker
//! thread while the strand is switched out, or the next strand run there
//! would be attributed to it: so the strand's span is kept in a
//! thread-local `CURRENT` while the strand runs, and every switch of a
//! strand (`context::switch_out`, through [`Suspended`]) exits it before
//! the switch and enters it again once the strand runs again (on whichever
//! thread that is). A user's own span entered across a blocking point
//! stays entered on the worker, as a span entered across an `.await` does
//! in async code: enter spans inside, not across, blocking calls.

use super::{Event, Outcome};
use std::cell::RefCell;
use tracing::Span;

thread_local! {
    /// The span of the strand running on this thread, if it has one.
    static CURRENT: RefCell<Option<Span>> = const { RefCell::new(None) };
}

/// Exits the running strand's span for a switch and enters it again when
/// dropped (the strand runs again). Costs a thread-local read when no
/// strand span is in use.
pub(crate) struct Suspended(Option<Span>);

impl Suspended {
    /// Out of line, as the drop: a migratable strand may resume on another
    /// thread, and an inlined thread-local address from before the switch
    /// could be reused after it (see `runtime::worker::this_worker`).
    #[inline(never)]
    pub(crate) fn new() -> Suspended {
        let span = CURRENT.try_with(|c| c.borrow_mut().take()).ok().flatten();
        if let Some(s) = &span {
            s.with_subscriber(|(id, d)| d.exit(id));
        }
        Suspended(span)
    }
}

impl Drop for Suspended {
    #[inline(never)]
    fn drop(&mut self) {
        if let Some(span) = self.0.take() {
            span.with_subscriber(|(id, d)| d.enter(id));
            let _ = CURRENT.try_with(|c| *c.borrow_mut() = Some(span));
        }
    }
}

/// The span of a strand starting now, entered; exited and closed by
/// [`end`].
pub(crate) fn start(id: u64, name: Option<&str>) -> Option<Span> {
    let span = tracing::info_span!("strand", strand.id = id, strand.name = name);
    if span.is_disabled() {
        return None;
    }
    span.with_subscriber(|(id, d)| d.enter(id));
    let _ = CURRENT.try_with(|c| *c.borrow_mut() = Some(span.clone()));
    Some(span)
}

/// The strand's closure ended: its span is exited (and closed once the
/// last clone goes).
pub(crate) fn end(span: Option<Span>) {
    if let Some(span) = span {
        let _ = CURRENT.try_with(|c| c.borrow_mut().take());
        span.with_subscriber(|(id, d)| d.exit(id));
    }
}

/// Emits `e` as a `tracing` event (target `strands::events`): stuck at
/// `WARN`, spawned and finished at `DEBUG`, the rest at `TRACE`.
pub(crate) fn emit(e: &Event<'_>) {
    const T: &str = "strands::events";
    match *e {
        Event::Spawned {
            strand,
            name,
            site,
            by,
            ..
        } => tracing::debug!(
            target: T,
            event = "spawned",
            strand = strand.as_u64(),
            name,
            site = site.map(tracing::field::display),
            by = by.map(|b| b.as_u64())
        ),
        Event::Started { strand, worker } => {
            tracing::trace!(target: T, event = "started", strand = strand.as_u64(), worker)
        }
        Event::Parked {
            strand,
            worker,
            reason,
        } => tracing::trace!(
            target: T,
            event = "parked",
            strand = strand.as_u64(),
            worker,
            reason = reason.as_str()
        ),
        Event::Woken { strand, by } => tracing::trace!(
            target: T,
            event = "woken",
            strand = strand.as_u64(),
            by = by.map(|b| b.as_u64())
        ),
        Event::Yielded { strand, worker } => {
            tracing::trace!(target: T, event = "yielded", strand = strand.as_u64(), worker)
        }
        Event::Stolen { strand, worker } => {
            tracing::trace!(target: T, event = "stolen", strand = strand.as_u64(), worker)
        }
        Event::Finished { strand, outcome } => {
            let outcome = outcome.as_str();
            if matches!(e, Event::Finished { outcome: o, .. } if *o == Outcome::Panicked) {
                tracing::warn!(target: T, event = "finished", strand = strand.as_u64(), outcome)
            } else {
                tracing::debug!(target: T, event = "finished", strand = strand.as_u64(), outcome)
            }
        }
        Event::Stuck(s) => tracing::warn!(
            target: T,
            event = "stuck",
            strand = s.strand.as_u64(),
            name = s.name.as_deref(),
            worker = s.worker,
            held_ms = s.held_for.as_millis() as u64,
            "{s}"
        ),
        Event::WorkerIdle { worker } => {
            tracing::trace!(target: T, event = "worker_idle", worker)
        }
        Event::WorkerNotified { worker } => {
            tracing::trace!(target: T, event = "worker_notified", worker)
        }
    }
}
