//! [`timeout`]: run a closure in a strand, cancel it at a deadline.

use crate::runtime::context;
use crate::runtime::Handle;
use std::fmt;
use std::time::{Duration, Instant};

/// The error of [`timeout`]: the deadline passed before the closure
/// returned.
///
/// ```
/// use std::time::Duration;
/// strands::run(|| {
///     let r = strands::timeout(Duration::ZERO, || 1);
///     let _: strands::Elapsed = r.unwrap_err();
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// Runs `f` in a new strand and waits at most `d` for its value.
///
/// At the deadline the strand is cancelled: it unwinds at its next
/// blocking point (or the one it is parked in), and `timeout` returns
/// `Err(Elapsed)` only once it has ended, so every `Drop` on its stack has
/// run (a `Drop` that itself blocks, on a lock say, is waited for). If `f`
/// returns in the moment between the deadline and the cancellation, its
/// value is returned rather than dropped. A strand that never reaches a
/// blocking point cannot be cancelled, and `timeout` waits for it.
///
/// A zero duration does not run `f` at all: it is dropped and
/// `Err(Elapsed)` returned at once. A duration too large for an
/// [`Instant`] means no deadline.
///
/// A panic in `f` is resumed on the caller. If the strand is cancelled by
/// someone else (a runtime shutdown), the caller, if it is a strand, is
/// unwound as cancelled too; a plain thread gets a panic.
///
/// From a strand the wait parks the strand. If the calling strand is
/// itself cancelled while waiting, it cancels `f`'s strand and unwinds
/// without waiting for it.
///
/// # Panics
///
/// Outside a strand (no current runtime; use [`timeout_on`] from a plain
/// thread), naming the caller's location; and if the strand cannot be
/// spawned.
///
/// ```
/// use std::time::Duration;
/// strands::run(|| {
///     assert_eq!(strands::timeout(Duration::from_secs(10), || 7), Ok(7));
///     let slow = strands::timeout(Duration::from_millis(5), || {
///         strands::sleep(Duration::from_secs(3600));
///     });
///     assert!(slow.is_err());
/// });
/// ```
#[track_caller]
pub fn timeout<F, T>(d: Duration, f: F) -> Result<T, Elapsed>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match Handle::try_current() {
        Some(h) => timeout_on(&h, d, f),
        None => panic!(
            "strands::timeout called outside a strand: \
             use strands::timeout_on with a runtime Handle"
        ),
    }
}

/// [`timeout`] on the runtime of `handle`, from any thread (a plain thread
/// blocks while it waits).
///
/// ```
/// use std::time::Duration;
/// let rt = strands::Runtime::new()?;
/// let r = strands::timeout_on(rt.handle(), Duration::from_secs(10), || 1 + 1);
/// assert_eq!(r, Ok(2));
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn timeout_on<F, T>(handle: &Handle, d: Duration, f: F) -> Result<T, Elapsed>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    if d.is_zero() {
        drop(f);
        return Err(Elapsed(()));
    }
    let h = crate::Builder::new()
        .spawn_on(handle, f)
        .unwrap_or_else(|e| panic!("strands::timeout could not spawn its strand: {e}"));
    let _cancel_on_unwind = CancelOnUnwind(h.strand().clone());
    let in_time = match Instant::now().checked_add(d) {
        Some(deadline) => h.join_deadline(deadline),
        None => Ok(h.join()),
    };
    match in_time {
        Ok(r) => Ok(settle(r)),
        Err(h) => {
            h.cancel();
            match h.join() {
                Ok(v) => Ok(v), // it returned before the cancellation hit
                Err(e) if e.is_panic() => context::resume_unwind(e.into_panic()),
                Err(_) => Err(Elapsed(())),
            }
        }
    }
}

/// The value of a strand that ended before the deadline; a panic is
/// resumed, a cancellation by someone else passed on.
fn settle<T>(r: Result<T, crate::JoinError>) -> T {
    match r {
        Ok(v) => v,
        Err(e) if e.is_panic() => context::resume_unwind(e.into_panic()),
        Err(_) if context::may_switch() => context::resume_unwind(Box::new(context::Cancelled)),
        Err(_) => panic!(
            "strands::timeout: the strand running the closure was cancelled \
             (is the runtime shutting down?)"
        ),
    }
}

/// Cancels the strand if the caller unwinds out of the wait (it is
/// cancelled itself): the strand is not left running unobserved.
struct CancelOnUnwind(crate::Strand);

impl Drop for CancelOnUnwind {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.cancel();
        }
    }
}
