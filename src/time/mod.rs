//! Time: [`sleep`], [`sleep_until`], [`timeout`] and [`interval`] (the
//! first three are also at the crate root).

mod interval;

pub use crate::join::{timeout, timeout_on, Elapsed};
pub use interval::{interval, interval_at, Interval};

use crate::runtime::context;
use std::time::{Duration, Instant};

/// Puts the running strand to sleep for at least `d`; its worker runs other
/// strands meanwhile. On a plain thread it calls [`std::thread::sleep`].
///
/// Never returns early. A cancelled strand unwinds out of its sleep at once.
///
/// ```
/// use std::time::{Duration, Instant};
/// strands::run(|| {
///     let t = Instant::now();
///     strands::sleep(Duration::from_millis(20));
///     assert!(t.elapsed() >= Duration::from_millis(20));
/// });
/// ```
pub fn sleep(d: Duration) {
    match Instant::now().checked_add(d) {
        Some(deadline) => sleep_until(deadline),
        None => loop {
            // "forever": sleep in long steps (each one cancellable)
            sleep(Duration::from_secs(1 << 20));
        },
    }
}

/// Puts the running strand to sleep until `deadline` (at least). On a plain
/// thread it sleeps the thread.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// strands::run(|| {
///     let deadline = Instant::now() + Duration::from_millis(5);
///     strands::time::sleep_until(deadline); // parks the strand, not the worker
///     assert!(Instant::now() >= deadline);
/// });
/// ```
pub fn sleep_until(deadline: Instant) {
    loop {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        if context::with_current(|s| s.is_none()) {
            std::thread::sleep(deadline - now);
            continue;
        }
        let _recorded = context::waiting(crate::strand::WaitKind::Sleep, 0);
        context::block_until(deadline);
    }
}
