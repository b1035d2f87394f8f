//! The runtime: worker threads, run queues, the stack pool, and lifecycle.
//!
//! A [`Runtime`] owns its worker threads. Strands spawned from outside go to
//! the runtime's injector queue, from which any idle worker takes them;
//! strands spawned or woken on a worker go to that worker's local queue. A
//! strand that has started stays on its worker (see the crate docs on
//! migration), so a strand woken from another thread goes to its home
//! worker's remote queue.
//!
//! Shutdown (dropping the runtime, or [`Runtime::shutdown_timeout`]) stops
//! new spawns, cancels the strands still alive (each unwinds at its next
//! blocking point, so its `Drop`s run), waits until they are gone, then
//! joins the worker threads and returns every stack to the system.
//!
//! # Modules
//!
//! - `builder.rs`: [`Builder`], starting the workers;
//! - `handle.rs`: [`Runtime`], its shutdown, [`Handle`] and the spawn path;
//! - `shared.rs`: what handles, workers and strands share, and the idle
//!   protocol; `queue.rs`: where a fresh or woken strand is queued;
//! - `worker.rs`, `worker/`: the worker loop, switching into strands and a
//!   strand's first frame;
//! - `context.rs`: the one way code above the runtime reaches the running
//!   strand (current, park, yield, block, cancelled);
//! - `agenda/`, `priority.rs`: the queues of one worker and the picking
//!   order; `registry.rs`, `gate.rs`: live strands and admission;
//!   `idle.rs`: an idle worker's thread; `watchdog/`: stuck workers (the
//!   reports and state; `monitor.rs`, the thread);
//!   `metrics.rs`: the counters' snapshot; `reclaim.rs`: giving idle
//!   stacks and spare workers back;
//! - `io/`: the I/O driver (epoll or `polling`, registrations, readiness);
//!   `time/`: the timer wheel and the runtime's timers;
//! - `dump/`: collecting a dump (`Runtime::dump`, `Handle::dump`; the
//!   `SIGQUIT` watcher is above the runtime, in `src/dump.rs`);
//! - `events.rs`: the emitting points that look up the running strand
//!   (spawned, woken, started, finished); `events/points.rs`: those a
//!   worker and the watchdog call with what they know; `events/hook.rs`:
//!   [`Event`] and the hook table `Shared` holds;
//! - `stw.rs`: stop-the-world requests; `stw/state.rs`: the state
//!   `Shared` holds; `stw/member.rs`: a worker thread counted as a member.
//!
//! Each file imports only files below it (`docs/architecture.md` draws
//! the layers and names the one exception left): where a low file holds data a higher one acts on (the
//! stop-the-world state, the event hook table, the reclaim tick's state),
//! the data has a small file of its own.

pub(crate) mod agenda;
pub(crate) mod blocking;
mod builder;
pub(crate) mod context;
pub(crate) mod dump;
mod error;
pub(crate) mod events;
mod gate;
mod handle;
mod idle;
pub(crate) mod io;
mod metrics;
mod priority;
mod queue;
mod reclaim;
mod registry;
mod shared;
mod stw;
pub(crate) mod time;
mod watchdog;
mod worker;

pub use builder::{Builder, DEFAULT_RECLAIM_AFTER};
pub use error::SpawnError;
pub use events::{Event, EventHook, Outcome};
pub use handle::{Handle, Runtime};
pub use priority::Priority;
pub use stw::{RunningStrand, StopTheWorldError};
pub(crate) use watchdog::TIMED_JOIN;
pub use watchdog::{Deadlock, DeadlockHook, Stuck, StuckHook};
