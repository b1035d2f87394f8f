//! Strand dumps: [`dump`], [`Dump`], [`StrandInfo`].
//!
//! A dump lists every live strand of a runtime: its id, name and priority,
//! whether it runs (and on which worker), is runnable or is parked, what a
//! parked strand waits for and since when, and where it was spawned. Like
//! a JVM thread dump, it is what to look at when something hangs;
//! [`Builder::dump_on_sigquit`](crate::runtime::Builder::dump_on_sigquit)
//! prints one on `SIGQUIT`.
//!
//! Taking a dump never stops the workers: it copies the registry of live
//! strands shard by shard (each shard's lock held while its entries are
//! copied, as a spawn or a finish would hold it) and reads each strand's
//! atomics. So it is a snapshot of a moving runtime: a strand may have
//! woken or finished by the time the dump is printed, and a wait record is
//! read one word at a time.

pub use crate::runtime::dump::{Dump, StrandInfo, StrandState};
pub use crate::strand::WaitKind;

/// The dump of the runtime running the current strand, or `None` when
/// called outside a runtime (use [`Runtime::dump`](crate::Runtime::dump)
/// or [`Handle::dump`](crate::Handle::dump) there).
///
/// ```
/// strands::run(|| {
///     let (tx, rx) = strands::channel::bounded::<()>(1);
///     let waiter = strands::Builder::new()
///         .name("waiter".into())
///         .spawn(move || rx.recv())
///         .unwrap();
///     // wait until it is parked in its receive
///     while !strands::dump()
///         .unwrap()
///         .strands()
///         .iter()
///         .any(|s| s.name() == Some("waiter") && s.waits_for() == Some(strands::dump::WaitKind::Recv))
///     {
///         strands::yield_now();
///     }
///     println!("{}", strands::dump().unwrap());
///     drop(tx);
///     waiter.join().unwrap().unwrap_err();
/// });
/// ```
pub fn dump() -> Option<Dump> {
    crate::runtime::context::dump()
}
