//! The emitting points that need only the shared state and what their
//! caller passes (the strand, the worker's index): those of a worker
//! between two strands (yielded, parked, stolen, idle) and the watchdog's
//! (stuck, through [`emit`]). Nothing here looks up the running strand or
//! its worker, so the worker can call them without `events.rs` (which
//! does) sitting above and below it.

use super::hook::Event;
use crate::runtime::shared::Shared;

/// Emits the event `make` builds, if `shared` has a hook: without one, a
/// load and a branch.
#[inline(always)]
pub(crate) fn emit<'a>(shared: &Shared, make: impl FnOnce() -> Event<'a>) {
    if let Some(events) = &shared.events {
        events.deliver(make);
    }
}

/// A strand yielded on `worker` (`worker/switch.rs`); with a hook, its running
/// time is counted (`strand/stats.rs`).
#[inline(always)]
pub(crate) fn yielded(shared: &Shared, strand: &crate::strand::Header, worker: usize) {
    if let Some(events) = &shared.events {
        strand.stats.switched_out(false);
        events.deliver(|| Event::Yielded {
            strand: strand.id,
            worker,
        });
    }
}

/// A strand parked on `worker` (`worker/switch.rs`), for the reason its wait
/// record holds; with a hook, its running time is counted and its parked
/// time starts.
#[inline(always)]
pub(crate) fn parked(shared: &Shared, strand: &crate::strand::Header, worker: usize) {
    if let Some(events) = &shared.events {
        strand.stats.switched_out(true);
        events.deliver(|| Event::Parked {
            strand: strand.id,
            worker,
            reason: strand.wait.kind(),
        });
    }
}

/// `worker` took `strand` from the injector or another worker.
#[inline(always)]
pub(crate) fn stolen(shared: &Shared, strand: Option<&crate::strand::Header>, worker: usize) {
    if let Some(strand) = strand {
        emit(shared, || Event::Stolen {
            strand: strand.id,
            worker,
        });
    }
}

/// `worker` goes idle (`going`) or was notified.
#[inline(always)]
pub(crate) fn idle(shared: &Shared, worker: usize, going: bool) {
    emit(shared, || match going {
        true => Event::WorkerIdle { worker },
        false => Event::WorkerNotified { worker },
    });
}
