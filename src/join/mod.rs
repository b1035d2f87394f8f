//! Join bookkeeping: running groups of strands, deciding when they are
//! done, and accounting for each of them.
//!
//! - [`Need`]: a plan of named [`Part`]s -- closures run as strands, each
//!   required or optional, each with its own timeout, retries ([`Backoff`],
//!   a shared [`RetryBudget`]), hedging and compensation -- and a
//!   [`JoinMode`] saying when the whole is done: `All`, `AllRequired` (fail
//!   fast), `Any`, `FirstSuccess` or `Quorum(k)`. [`Need::run`] parks the
//!   caller until the plan is decided and every part it cancelled has
//!   ended, and returns an [`Outcome`] listing every part, every attempt,
//!   and why anything was cancelled.
//! - [`JoinSet`]: a set of strands joined in the order they finish, with an
//!   optional limit on how many run at once (the rest wait in spawn order).
//! - [`CancelToken`] (also at the crate root): a cancellation signal with a
//!   cause, children, and strands tied to it.
//! - [`timeout`](crate::timeout) (at the crate root): run a closure in a
//!   strand and cancel it at a deadline.
//! - [`KeyedMutex`]: one holder per key, different keys in parallel
//!   (serialising mutations per file path, per account, per row); an entry
//!   lives only while someone holds or waits for its key.
//! - [`Coalesce`]: concurrent calls for the same key share one execution
//!   (Go's `singleflight`), run in a strand of its own so that no caller's
//!   cancellation ends it for the others.
//!
//! Every waiting call here parks a strand (its worker runs others
//! meanwhile) or blocks a plain thread, like the types in
//! [`sync`](crate::sync), and a strand cancelled while waiting leaves
//! nothing behind.
//!
//! ```
//! use std::time::Duration;
//! use strands::join::{Backoff, Jitter, JoinMode, Need, Part};
//!
//! strands::run(|| {
//!     let outcome = Need::new(JoinMode::FirstSuccess)
//!         .part(Part::required("primary", || Err::<&str, _>("busy"))
//!             .timeout(Duration::from_millis(50))
//!             .retry(Backoff::exponential(Duration::from_millis(1), 2.0)
//!                 .max_attempts(3)
//!                 .jitter(Jitter::Full)))
//!         .part(Part::optional("replica", || {
//!             strands::sleep(Duration::from_millis(1));
//!             Ok("from the replica")
//!         }))
//!         .run();
//!     assert_eq!(outcome.value(), Some(&"from the replica"));
//!     for p in outcome.parts() {
//!         println!("{} {} {} {:?}", p.name(), p.status().label(), p.attempts().len(), p.elapsed());
//!     }
//! });
//! ```

mod backoff;
mod budget;
mod cancel;
mod coalesce;
mod decide;
mod keyed;
pub mod latency;
#[cfg(all(test, loom))]
mod loom_tests;
mod member;
mod outcome;
mod plan;
mod run;
mod set;
mod slab;
mod slots;
mod timeout;

pub use backoff::{Backoff, Jitter, Schedule};
pub use budget::RetryBudget;
pub(crate) use cancel::CancelUnwind;
pub use cancel::{CancelCause, CancelToken};
pub use coalesce::{Coalesce, CoalesceError};
pub use keyed::{KeyedGuard, KeyedMutex};
pub use latency::{forget_latencies, latency_p95};
pub use outcome::{
    Attempt, AttemptKind, AttemptResult, CancelReason, Compensation, Outcome, PartReport,
    PartStatus,
};
pub use plan::{HedgeDelay, JoinMode, Need, Part};
pub use set::{JoinSet, MemberId};
pub use timeout::{timeout, timeout_on, Elapsed};
