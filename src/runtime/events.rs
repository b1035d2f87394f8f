//! Runtime events: what [`Builder::on_event`](super::Builder::on_event)
//! receives, and the points in the runtime that emit them.
//!
//! **Cost.** The hook lives in the runtime's shared state as an
//! `Option<Events>`; every emitting point is [`points::emit`], whose only work
//! without a hook is one load of that field and a predictable branch (the
//! event is built inside the branch). Started and finished are emitted by
//! a wrapper around the strand's closure that the spawn path puts in place
//! only when a hook is set, so without one they cost nothing at all.
//!
//! **Where the hook runs.** On the thread where the event happens, right
//! then: a worker between two strands (parked, yielded through the worker,
//! stolen, idle, notified), the strand itself (started, finished, a yield
//! that goes straight to the next strand, a spawn or a wake it makes), a
//! plain thread that spawns or wakes, the watchdog's monitor thread (stuck).
//! So it must be quick and must not block: a hook that blocks holds that
//! worker (the watchdog then reports the strand it runs in, if any). It
//! must not park or yield either (a strands lock, channel or sleep in the
//! hook would switch a strand out mid-event). Events that happen while the
//! hook runs on the same thread -- a spawn from the hook -- are not
//! delivered (no recursion); the spawn itself works.
//!
//! **A hook that panics** is contained: the panic is caught, reported once
//! on stderr, and the hook is disabled for the rest of the runtime's life
//! (a hook that panicked once would most likely panic at every event).
//!
//! **Layout.** `events/hook.rs`: the types and the hook table, held by
//! `Shared`; `events/points.rs`: the points that need only `Shared` and
//! what their caller passes (a worker between strands, the watchdog);
//! here: the points that look up the strand running on this thread (a
//! spawn's or a wake's "by", started and finished), above the worker.

pub(super) mod hook;
pub(super) mod points;

pub use hook::{Event, EventHook, Outcome};

use super::context;
use super::shared::Shared;
use super::worker::with_worker;
use crate::loom::Arc;
use crate::StrandId;
use points::emit;
use std::panic::AssertUnwindSafe;

/// The strand running on this thread, if any (for "by" fields).
fn current_id() -> Option<StrandId> {
    context::with_current(|s| s.map(|s| s.id))
}

/// A strand was spawned (`handle.rs`, before it is queued).
#[inline(always)]
pub(crate) fn spawned(shared: &Shared, strand: &crate::strand::Header) {
    emit(shared, || Event::Spawned {
        strand: strand.id,
        name: strand.name.as_deref(),
        priority: strand.priority,
        site: strand.spawned_at,
        by: current_id(),
    });
}

/// A strand was woken (`queue.rs`): by the strand running here, if any.
#[inline(always)]
pub(crate) fn woken(shared: &Shared, strand: &crate::strand::Header) {
    emit(shared, || Event::Woken {
        strand: strand.id,
        by: current_id(),
    });
}

/// Emits, for the strand running on this thread, the event `make` builds
/// from its id and worker. The hook is called outside the worker lookup
/// (it may do anything a strand may do but switch).
fn emit_current(make: impl FnOnce(StrandId, usize) -> Event<'static>) {
    let found = with_worker(|w| {
        let w = w?;
        let s = w.running()?;
        w.shared.events.as_ref()?;
        Some((Arc::clone(&w.shared), s.id, w.index))
    });
    if let Some((shared, id, worker)) = found {
        emit(&shared, || make(id, worker));
    }
}

/// The outcome an unwind payload means (as `JoinError::from_unwind`
/// reads it).
fn outcome_of(p: &(dyn std::any::Any + Send)) -> Outcome {
    if p.is::<context::Cancelled>() || p.is::<crate::join::CancelUnwind>() {
        Outcome::Cancelled
    } else {
        Outcome::Panicked
    }
}

/// Wraps a strand's closure so that it emits started and finished (the
/// spawn path uses it only when the runtime has a hook). A closure dropped
/// unrun -- the strand was cancelled before it started -- emits finished,
/// cancelled, as it is dropped in the strand.
pub(crate) fn observed<'a, F, T>(f: F) -> impl FnOnce() -> T + Send + 'a
where
    F: FnOnce() -> T + Send + 'a,
    T: Send + 'a,
{
    /// Emits finished (cancelled) if dropped before the closure ran.
    struct NotRun;
    impl Drop for NotRun {
        fn drop(&mut self) {
            // dropped unrun in the strand (cancelled before it started):
            // the package drops the closure in strand context
            if context::cancelled() {
                emit_current(|strand, _| Event::Finished {
                    strand,
                    outcome: Outcome::Cancelled,
                });
            }
        }
    }
    let not_run = NotRun;
    move || {
        std::mem::forget(not_run);
        emit_current(|strand, worker| Event::Started {
            strand,
            worker: Some(worker),
        });
        #[cfg(feature = "tracing")]
        let span = context::with_current(|s| {
            s.and_then(|s| crate::observe::trace::start(s.id.as_u64(), s.name.as_deref()))
        });
        let r = std::panic::catch_unwind(AssertUnwindSafe(f));
        let outcome = match &r {
            Ok(_) => Outcome::Ok,
            Err(p) => outcome_of(&**p),
        };
        emit_current(|strand, _| Event::Finished { strand, outcome });
        #[cfg(feature = "tracing")]
        crate::observe::trace::end(span);
        match r {
            Ok(v) => v,
            Err(p) => context::resume_unwind(p),
        }
    }
}

/// Whether the runtime of `handle` has a hook (the spawn path wraps the
/// closure with [`observed`] then).
#[inline(always)]
pub(crate) fn on(shared: &Shared) -> bool {
    shared.events.is_some()
}
