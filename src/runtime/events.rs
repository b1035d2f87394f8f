//! Runtime events: what [`Builder::on_event`](super::Builder::on_event)
//! receives, and the points in the runtime that emit them.
//!
//! **Cost.** The hook lives in the runtime's shared state as an
//! `Option<Events>`; every emitting point is [`emit`], whose only work
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

use super::shared::Shared;
use super::worker::with_worker;
use super::Stuck;
use crate::loom::process::AtomicBool;
use crate::loom::{Arc, Ordering};
use crate::strand::WaitKind;
use crate::{Priority, StrandId};
use std::cell::Cell;
use std::fmt;
use std::panic::{AssertUnwindSafe, Location};

/// Something that happened in a runtime, as a hook set with
/// [`Builder::on_event`](super::Builder::on_event) receives it.
///
/// ```
/// use strands::Event;
///
/// let rt = strands::Runtime::builder()
///     .on_event(|e: &Event<'_>| {
///         if let Event::Spawned { strand, name, .. } = e {
///             eprintln!("spawned {strand} {name:?}");
///         }
///     })
///     .build()?;
/// rt.block_on(|| ());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A strand was spawned (emitted before it can start).
    #[non_exhaustive]
    Spawned {
        /// The new strand.
        strand: StrandId,
        /// Its name, if any.
        name: Option<&'a str>,
        /// Its priority.
        priority: Priority,
        /// Where it was spawned (the caller of the spawn).
        site: Option<&'static Location<'static>>,
        /// The strand that spawned it (`None`: a plain thread).
        by: Option<StrandId>,
    },
    /// A strand runs for the first time.
    #[non_exhaustive]
    Started {
        /// The strand.
        strand: StrandId,
        /// The worker it runs on.
        worker: Option<usize>,
    },
    /// A strand switched out to wait.
    #[non_exhaustive]
    Parked {
        /// The strand.
        strand: StrandId,
        /// Its worker.
        worker: usize,
        /// What it waits for, as its wait record says (`Unknown` for the
        /// runtime's own waits; see [`crate::dump`](mod@crate::dump)).
        reason: WaitKind,
    },
    /// A parked strand was made runnable again.
    #[non_exhaustive]
    Woken {
        /// The strand.
        strand: StrandId,
        /// The strand that woke it, when a strand did (`None`: a plain
        /// thread, a timer, I/O readiness, the runtime).
        by: Option<StrandId>,
    },
    /// A strand yielded (it stays runnable).
    #[non_exhaustive]
    Yielded {
        /// The strand.
        strand: StrandId,
        /// Its worker.
        worker: usize,
    },
    /// A worker took a strand from the injector or from another worker.
    #[non_exhaustive]
    Stolen {
        /// The strand.
        strand: StrandId,
        /// The worker that took it.
        worker: usize,
    },
    /// A strand's closure ended.
    #[non_exhaustive]
    Finished {
        /// The strand.
        strand: StrandId,
        /// How it ended.
        outcome: Outcome,
    },
    /// The watchdog reported a strand holding its worker.
    Stuck(&'a Stuck),
    /// A worker found nothing to run and goes idle.
    #[non_exhaustive]
    WorkerIdle {
        /// The worker.
        worker: usize,
    },
    /// An idle worker was notified (or its wait ended) and looks for work.
    #[non_exhaustive]
    WorkerNotified {
        /// The worker.
        worker: usize,
    },
}

/// How a strand's closure ended ([`Event::Finished`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// It returned.
    Ok,
    /// It panicked.
    Panicked,
    /// It was cancelled (unwound at a blocking point, or never started).
    Cancelled,
}

impl Outcome {
    /// `"ok"`, `"panicked"` or `"cancelled"`.
    ///
    /// ```
    /// assert_eq!(strands::observe::Outcome::Panicked.as_str(), "panicked");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Panicked => "panicked",
            Outcome::Cancelled => "cancelled",
        }
    }
}

impl Event<'_> {
    /// The event's kind as a short name: `"spawned"`, `"started"`,
    /// `"parked"`, `"woken"`, `"yielded"`, `"stolen"`, `"finished"`,
    /// `"stuck"`, `"worker_idle"`, `"worker_notified"`.
    ///
    /// ```
    /// let rt = strands::Runtime::builder()
    ///     .on_event(|e| assert!(!e.kind().is_empty()))
    ///     .build()?;
    /// # drop(rt);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Spawned { .. } => "spawned",
            Event::Started { .. } => "started",
            Event::Parked { .. } => "parked",
            Event::Woken { .. } => "woken",
            Event::Yielded { .. } => "yielded",
            Event::Stolen { .. } => "stolen",
            Event::Finished { .. } => "finished",
            Event::Stuck(_) => "stuck",
            Event::WorkerIdle { .. } => "worker_idle",
            Event::WorkerNotified { .. } => "worker_notified",
        }
    }

    /// The strand the event is about, if it is about one.
    ///
    /// ```
    /// let rt = strands::Runtime::builder()
    ///     .on_event(|e| {
    ///         if e.kind() == "started" {
    ///             assert!(e.strand().is_some());
    ///         }
    ///     })
    ///     .build()?;
    /// # drop(rt);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn strand(&self) -> Option<StrandId> {
        match *self {
            Event::Spawned { strand, .. }
            | Event::Started { strand, .. }
            | Event::Parked { strand, .. }
            | Event::Woken { strand, .. }
            | Event::Yielded { strand, .. }
            | Event::Stolen { strand, .. }
            | Event::Finished { strand, .. } => Some(strand),
            Event::Stuck(s) => Some(s.strand),
            Event::WorkerIdle { .. } | Event::WorkerNotified { .. } => None,
        }
    }
}

/// A function that receives every [`Event`] of a runtime (see
/// [`Builder::on_event`](super::Builder::on_event)).
///
/// ```
/// let hook: strands::runtime::EventHook = std::sync::Arc::new(|e| eprintln!("{}", e.kind()));
/// # drop(hook);
/// ```
pub type EventHook = Arc<dyn Fn(&Event<'_>) + Send + Sync>;

/// A runtime's hook, and whether a panic disabled it.
pub(crate) struct Events {
    hook: EventHook,
    disabled: AtomicBool,
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events").finish_non_exhaustive()
    }
}

thread_local! {
    /// Set while this thread runs an event hook (events it causes are not
    /// delivered).
    static IN_HOOK: Cell<bool> = const { Cell::new(false) };
}

impl Events {
    pub(crate) fn new(hook: EventHook) -> Events {
        Events {
            hook,
            disabled: AtomicBool::new(false),
        }
    }

    /// Builds the event and calls the hook (contained; see the module docs).
    #[inline(never)]
    fn deliver<'a>(&self, make: impl FnOnce() -> Event<'a>) {
        if self.disabled.load(Ordering::Relaxed) {
            return;
        }
        if IN_HOOK.try_with(|h| h.replace(true)).unwrap_or(true) {
            return; // an event caused by the hook itself, or TLS gone
        }
        struct Unset;
        impl Drop for Unset {
            fn drop(&mut self) {
                let _ = IN_HOOK.try_with(|h| h.set(false));
            }
        }
        let _unset = Unset;
        let event = make();
        let r = std::panic::catch_unwind(AssertUnwindSafe(|| (self.hook)(&event)));
        if r.is_err() && !self.disabled.swap(true, Ordering::Relaxed) {
            eprintln!(
                "strands: the runtime's event hook panicked (at a '{}' event); \
                 it is disabled from now on",
                event.kind()
            );
        }
    }
}

/// Emits the event `make` builds, if `shared` has a hook: without one, a
/// load and a branch.
#[inline(always)]
pub(crate) fn emit<'a>(shared: &Shared, make: impl FnOnce() -> Event<'a>) {
    if let Some(events) = &shared.events {
        events.deliver(make);
    }
}

/// The strand running on this thread, if any (for "by" fields).
fn current_id() -> Option<StrandId> {
    super::context::with_current(|s| s.map(|s| s.id))
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
    if p.is::<super::context::Cancelled>() || p.is::<crate::join::CancelUnwind>() {
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
            if super::context::cancelled() {
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
        let span = super::context::with_current(|s| {
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
            Err(p) => super::context::resume_unwind(p),
        }
    }
}

/// Whether the runtime of `handle` has a hook (the spawn path wraps the
/// closure with [`observed`] then).
#[inline(always)]
pub(crate) fn on(shared: &Shared) -> bool {
    shared.events.is_some()
}

/// A strand yielded on `worker` (`worker.rs`); with a hook, its running
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

/// A strand parked on `worker` (`worker.rs`), for the reason its wait
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
