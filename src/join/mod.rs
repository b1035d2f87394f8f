//! Join bookkeeping: tools for running many pieces of work and accounting
//! for each of them.
//!
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

mod coalesce;
mod keyed;

pub use coalesce::{Coalesce, CoalesceError};
pub use keyed::{KeyedGuard, KeyedMutex};
