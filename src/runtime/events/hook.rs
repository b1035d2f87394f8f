//! The event hook table a runtime holds (`Shared::events`): the public
//! [`Event`] and [`Outcome`], the [`EventHook`] type, and [`Events`], which
//! calls the hook and contains its panics. Below the shared state: it
//! imports nothing of the runtime but the watchdog's report type, so
//! `shared.rs` can hold it (the emitting points are in `points.rs` and
//! `events.rs`).

use crate::loom::process::AtomicBool;
use crate::loom::{Arc, Ordering};
use crate::runtime::watchdog::Stuck;
use crate::strand::WaitKind;
use crate::{Priority, StrandId};
use std::cell::Cell;
use std::fmt;
use std::panic::{AssertUnwindSafe, Location};

/// Something that happened in a runtime, as a hook set with
/// [`Builder::on_event`](crate::runtime::Builder::on_event) receives it.
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
/// [`Builder::on_event`](crate::runtime::Builder::on_event)).
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
    pub(crate) fn deliver<'a>(&self, make: impl FnOnce() -> Event<'a>) {
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
