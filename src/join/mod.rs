//! Join bookkeeping: running groups of strands, deciding when they are
//! done, and accounting for each of them.
//!
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

mod cancel;
mod coalesce;
mod keyed;
#[cfg(all(test, loom))]
mod loom_tests;
mod member;
mod set;
mod slab;
mod slots;
mod timeout;

pub(crate) use cancel::CancelUnwind;
pub use cancel::{CancelCause, CancelToken};
pub use coalesce::{Coalesce, CoalesceError};
pub use keyed::{KeyedGuard, KeyedMutex};
pub use set::{JoinSet, MemberId};
pub use timeout::{timeout, timeout_on, Elapsed};
