//! [`park`] and [`park_timeout`]: std's thread parking, for strands.

use crate::loom::Ordering;
use crate::runtime::context;
use std::time::{Duration, Instant};

/// Parks the running strand until its token is made available by
/// [`Strand::unpark`](crate::Strand::unpark), then consumes it, as
/// [`std::thread::park`] does for threads; its worker runs other strands
/// meanwhile. It may also return spuriously: wait in a loop on your
/// condition. A cancellation point. On a plain thread it is
/// [`std::thread::park`].
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// strands::run(|| {
///     let done = Arc::new(AtomicBool::new(false));
///     let d = Arc::clone(&done);
///     let waiter = strands::spawn(move || {
///         while !d.load(Ordering::Acquire) {
///             strands::park();
///         }
///     });
///     done.store(true, Ordering::Release);
///     waiter.strand().unpark();
///     waiter.join().unwrap();
/// });
/// ```
pub fn park() {
    park_until(None);
}

/// [`park`], giving up after `timeout` (as [`std::thread::park_timeout`]).
///
/// ```
/// use std::time::Duration;
/// strands::run(|| {
///     // no token: returns after the timeout (or spuriously)
///     strands::park_timeout(Duration::from_millis(1));
/// });
/// ```
pub fn park_timeout(timeout: Duration) {
    park_until(Instant::now().checked_add(timeout));
}

fn park_until(deadline: Option<Instant>) {
    let Some(me) = context::current() else {
        match deadline {
            None => std::thread::park(),
            Some(d) => std::thread::park_timeout(d.saturating_duration_since(Instant::now())),
        }
        return;
    };
    let _recorded = context::waiting(crate::strand::WaitKind::Park, 0);
    loop {
        if me.unparked.swap(false, Ordering::AcqRel) {
            return;
        }
        match deadline {
            None => context::block(),
            Some(d) if Instant::now() >= d => return,
            Some(d) => context::block_until(d),
        }
        // a wake meant for another wait of this strand is a spurious
        // return, which std allows too; a cancellation unwound above
        if me.unparked.swap(false, Ordering::AcqRel) || deadline.is_none() {
            return;
        }
    }
}
