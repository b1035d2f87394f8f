//! Join bookkeeping: running groups of strands and deciding when they are
//! done.
//!
//! - [`JoinSet`]: a set of strands joined in the order they finish, with an
//!   optional limit on how many run at once (the rest wait in spawn order).
//! - [`CancelToken`] (also at the crate root): a cancellation signal with a
//!   cause, children, and strands tied to it.
//! - [`timeout`](crate::timeout) (at the crate root): run a closure in a
//!   strand and cancel it at a deadline.

mod cancel;
#[cfg(all(test, loom))]
mod loom_tests;
mod member;
mod set;
mod slab;
mod slots;
mod timeout;

pub(crate) use cancel::CancelUnwind;
pub use cancel::{CancelCause, CancelToken};
pub use set::{JoinSet, MemberId};
pub use timeout::{timeout, timeout_on, Elapsed};
