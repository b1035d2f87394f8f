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

use crate::runtime::{Builder, Handle};
#[cfg(not(loom))] // the `SIGQUIT` watcher (no signals under loom)
use {crate::runtime::Runtime, std::io};

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
    Handle::with_current(|h| h.map(Handle::dump))
}

// The `SIGQUIT` watcher lives here, above the runtime, because it is built
// from the public API (a `Signals`, a spawned strand): the runtime's
// builder only calls the function `dump_on_sigquit` hands it, so the
// runtime never imports `signal.rs`, which sits above it.
impl Builder {
    /// Prints a dump of the runtime's strands (see [`crate::dump`](mod@crate::dump)) on
    /// stderr whenever the process receives `SIGQUIT` (`kill -QUIT`, or
    /// `Ctrl-\` in a terminal), and keeps running, as a JVM prints its
    /// thread dump. Default: off (`SIGQUIT` then keeps its default action,
    /// which ends the process).
    ///
    /// The signal goes the way of [`crate::signal::Signals`]: its handler
    /// only writes a byte to a socket the I/O driver watches, and a strand
    /// of the runtime (named `strands-sigquit`, high priority, free to move
    /// between workers so that one held worker does not keep it from
    /// running) collects and prints the dump. That strand is live like any
    /// other: it shows in dumps and metrics, and shutdown cancels it. The
    /// handler is installed when `build` returns.
    ///
    /// ```no_run
    /// let rt = strands::Runtime::builder().dump_on_sigquit(true).build().unwrap();
    /// rt.block_on(|| strands::sleep(std::time::Duration::from_secs(3600)));
    /// // kill -QUIT <pid> prints the dump and the runtime runs on
    /// ```
    #[cfg_attr(loom, allow(unused_mut, unused_variables))]
    pub fn dump_on_sigquit(mut self, on: bool) -> Builder {
        #[cfg(not(loom))] // no signals under loom
        {
            self.sigquit_watcher = on.then_some(sigquit_watcher as fn(&Runtime) -> io::Result<()>);
        }
        self
    }
}

/// Starts `rt`'s `SIGQUIT` watcher (see [`Builder::dump_on_sigquit`]): the
/// handler is installed now; a strand of the runtime waits for the signal
/// and prints the dump.
#[cfg(not(loom))]
fn sigquit_watcher(rt: &Runtime) -> io::Result<()> {
    let mut signals = crate::signal::Signals::new([crate::signal::SIGQUIT])?;
    let handle = rt.handle().clone();
    // SAFETY: `migratable` asks that the strand keep no thread-local state
    // across a switch: it parks only in `Signals::wait`, and collects and
    // prints a dump without parking.
    let builder = unsafe { crate::Builder::new().migratable() };
    let watcher = builder
        .name("strands-sigquit".to_string())
        .priority(crate::Priority::High)
        .spawn_on(rt.handle(), move || {
            while signals.wait().is_ok() {
                let text = handle.dump().to_string();
                let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), text.as_bytes());
            }
        })
        .map_err(io::Error::other)?;
    drop(watcher); // detached: shutdown cancels it
    Ok(())
}
