//! Join bookkeeping: plans of parts with a join mode ([`Need`]), retry
//! policies ([`Backoff`], [`RetryBudget`]) and the outcome of a plan
//! ([`Outcome`]).
//!
//! A [`Need`] is a set of named [`Part`]s -- closures run as strands, each
//! required or optional, each with its own timeout, retries, hedging and
//! compensation -- and a [`JoinMode`] saying when the whole is done:
//! `All`, `AllRequired` (fail fast), `Any`, `FirstSuccess` or `Quorum(k)`.
//! [`Need::run`] parks the caller until the plan is decided and every part
//! it cancelled has ended, and returns an [`Outcome`] listing every part,
//! every attempt, and why anything was cancelled.
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
mod decide;
pub mod latency;
mod outcome;
mod plan;
mod run;

pub use backoff::{Backoff, Jitter, Schedule};
pub use budget::RetryBudget;
pub use latency::{forget_latencies, latency_p95};
pub use outcome::{
    Attempt, AttemptKind, AttemptResult, CancelReason, Compensation, Outcome, PartReport,
    PartStatus,
};
pub use plan::{HedgeDelay, JoinMode, Need, Part};
