//! *The* way code above the scheduler reaches the strand running now and
//! its worker: who is running ([`current`]), parking and yielding it
//! ([`park`], [`yield_now`], [`block`], [`block_until`]), whether it was
//! cancelled ([`cancelled`], [`cancellation_pending`]), a cancellation
//! point without a park ([`cancellation_point`]), and the runtime parts it
//! may use (its stack pool, its I/O driver). `sync/`, `channel/`, `io/`,
//! `net/`, `time/`, `local.rs`,
//! `panic.rs`, `grow.rs`, `spawn.rs` and `scope.rs` call these and never a
//! worker's internals.
//!
//! Every function here also works on a plain thread (no strand running):
//! the answers are "none", and the blocking calls block the thread.
//!
//! **After a switch, look nothing up again.** A migratable strand may
//! resume on another thread than it left, so code that runs after a park or
//! a yield goes by the strand's own header, never by a worker reference or
//! a thread-local computed before the switch (the compiler may have kept
//! its address).

use super::worker::{with_worker, Action, Worker};
use crate::loom::{thread, Arc, Ordering};
use crate::stack::StackPool;
use crate::strand::waiter::Waiter;
use crate::strand::WaitKind;
use crate::strand::{Header, StrandRef};
use std::time::Instant;

/// The strand running on this thread, if this thread runs a strand now.
pub(crate) fn current() -> Option<StrandRef> {
    with_worker(|w| w.and_then(|w| w.running().cloned()))
}

/// Runs `f` with the running strand's header, without touching its
/// reference count.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Header>) -> R) -> R {
    with_worker(|w| f(w.and_then(|w| w.running()).map(|s| &**s)))
}

/// Whether the code running now is a strand (which may switch out: parks
/// and yields switch even while it unwinds; see [`refresh_unwinding`]).
#[inline]
pub(crate) fn may_switch() -> bool {
    with_worker(|w| w.is_some_and(|w| w.running().is_some()))
}

/// Updates the running strand's own unwinding state from what this thread
/// shows. std counts panics per OS thread: while no other strand of this
/// worker is switched out mid-unwind, `std::thread::panicking()` is exactly
/// the running strand's own state. Otherwise it is true whatever this
/// strand does, and the strand's flag stands as the panic hook and the
/// runtime's own unwinds (cancellations, re-raised payloads) left it. A
/// thread that is not panicking clears it in any case.
#[inline]
fn refresh_unwinding(strand: &Header, w: &Worker) {
    let thread = std::thread::panicking();
    if !thread {
        if strand.is_unwinding() {
            strand.unwinding.store(false, Ordering::Relaxed);
        }
    } else if w.unwinding_out() == 0 && !strand.is_unwinding() {
        strand.unwinding.store(true, Ordering::Relaxed);
    }
}

/// Whether the strand running now is unwinding (a panic or a cancellation
/// of its own, not one of another strand that shares its thread); on a
/// plain thread, [`std::thread::panicking`].
pub(crate) fn panicking() -> bool {
    with_worker(|w| match w.and_then(|w| w.running().map(|s| (w, s))) {
        Some((w, s)) => {
            refresh_unwinding(s, w);
            s.is_unwinding()
        }
        None => std::thread::panicking(),
    })
}

/// Lets the other runnable strands run, then continues. Returns `false`
/// (without doing anything) if not called from a strand.
pub(crate) fn yield_now() -> bool {
    yield_with(true)
}

/// [`yield_now`], optionally not a cancellation point (for yields the
/// runtime makes on the strand's behalf, like the spawn path's).
pub(crate) fn yield_with(cancellable: bool) -> bool {
    switch_out(Action::Yield, cancellable)
}

/// Parks the running strand until woken (see `strand::state`); may return
/// spuriously. A cancellation unwinds from here. Returns `false` (without
/// waiting) if not called from a strand.
pub(crate) fn park() -> bool {
    park_with(true)
}

/// [`park`], optionally not a cancellation point (for waits that must
/// complete for soundness, like a scope waiting for its strands).
pub(crate) fn park_with(cancellable: bool) -> bool {
    switch_out(Action::Park, cancellable)
}

/// A yield or a park of the running strand: its unwinding state refreshed,
/// a cancellation checked before (if `cancellable`) and after the switch.
/// A park with a wake token waiting does not switch; a yield goes straight
/// to the next local strand when it can. Returns `false` (doing nothing)
/// if no strand runs here.
fn switch_out(action: Action, cancellable: bool) -> bool {
    #[cfg(feature = "tracing")] // the strand's span: exited now, entered on resume
    let _span = crate::observe::trace::Suspended::new();
    let me = with_worker(|w| {
        let w = w?;
        let strand = w.running()?;
        refresh_unwinding(strand, w);
        if cancellable {
            unwind_if_cancelled(strand);
        }
        let me: *const Header = &**strand;
        match action {
            Action::Yield => {
                // SAFETY: we are the running strand of `w`.
                let direct = unsafe { w.yield_direct() };
                if !direct {
                    // SAFETY: as above.
                    unsafe { w.switch_out(Action::Yield) };
                }
            }
            Action::Park => {
                if !strand.state.take_token() {
                    // SAFETY: we are the running strand of `w`.
                    unsafe { w.switch_out(Action::Park) };
                }
            }
            Action::Done => unreachable!("a strand finishes in its first frame"),
        }
        // `w` is not touched again: see `resumed`
        Some(me)
    });
    match me {
        Some(me) => {
            resumed(me, cancellable);
            true
        }
        None => false,
    }
}

/// What a strand does once it runs again after a switch: unwinds if it was
/// cancelled meanwhile. It goes by its own header, not by the worker (see
/// the module docs).
#[inline]
fn resumed(me: *const Header, cancellable: bool) {
    if cancellable {
        // SAFETY: `me` is the running strand's header, kept alive by the
        // running slot of whichever worker resumed it.
        unwind_if_cancelled(unsafe { &*me });
    }
}

/// The payload a cancelled strand unwinds with (through
/// [`std::panic::resume_unwind`], so no panic hook runs).
pub(crate) struct Cancelled;

/// Unwinds the running strand if it was cancelled. Not while it is already
/// unwinding: a second unwind leaving a `Drop` would abort the process.
#[inline]
fn unwind_if_cancelled(strand: &Header) {
    if strand.is_cancelled() && !strand.is_unwinding() {
        strand.unwinding.store(true, Ordering::Relaxed);
        std::panic::resume_unwind(Box::new(Cancelled));
    }
}

/// [`std::panic::resume_unwind`] for the runtime's own re-raises (a
/// scope's, `grow`'s, `block_on`'s): the running strand, if any, is marked
/// unwinding first, since no panic hook runs for a re-raise.
pub(crate) fn resume_unwind(payload: Box<dyn std::any::Any + Send>) -> ! {
    mark_unwinding();
    std::panic::resume_unwind(payload)
}

/// Marks the running strand, if any, as unwinding (the panic hook calls
/// this as a panic begins in it).
pub(crate) fn mark_unwinding() {
    with_current(|s| {
        if let Some(s) = s {
            s.unwinding.store(true, Ordering::Relaxed);
        }
    });
}

/// Whether a blocking point would unwind now: the running strand was
/// cancelled and is not unwinding already (a plain thread: never). For
/// waits that park without the check ([`block_with`]`(false)`) and decide
/// themselves, once they know whether something was handed to them.
pub(crate) fn cancellation_pending() -> bool {
    with_worker(|w| match w.and_then(|w| w.running().map(|s| (w, s))) {
        Some((w, s)) => {
            refresh_unwinding(s, w);
            s.is_cancelled() && !s.is_unwinding()
        }
        None => false,
    })
}

/// A blocking point without the block: unwinds the running strand with a
/// cancellation if [`cancellation_pending`] (exactly as [`park`] would),
/// else returns.
pub(crate) fn cancellation_point() {
    if cancellation_pending() {
        resume_unwind(Box::new(Cancelled)); // marks the strand unwinding
    }
}

/// Whether the running strand has been cancelled.
pub(crate) fn cancelled() -> bool {
    with_current(|s| s.is_some_and(|s| s.is_cancelled()))
}

/// Records what the running strand is about to wait for (its wait
/// record, read by dumps and the watchdog) until the returned guard drops,
/// which clears it. Called by a blocking primitive on its slow path, right
/// before it parks. A wait within a wait (a condition variable re-locking
/// its mutex, a signal wait reading its pipe) keeps the outer record. On
/// a plain thread it does nothing.
#[inline]
pub(crate) fn waiting(kind: WaitKind, detail: u64) -> WaitGuard {
    begin_wait(kind, detail, None, false)
}

/// [`waiting`] for a join of the strand with id `strand`; a join without a
/// deadline is also counted for the watchdog's deadlock check
/// (`watchdog/deadlock.rs`) while it lasts.
#[inline]
pub(crate) fn joining(strand: u64, timed: bool) -> WaitGuard {
    if timed {
        begin_wait(
            WaitKind::Join,
            strand | super::watchdog::TIMED_JOIN,
            None,
            false,
        )
    } else {
        begin_wait(WaitKind::Join, strand, None, true)
    }
}

/// [`waiting`] for a lock whose holder word (the holding strand's id, 0
/// for none or a plain thread) is `holder`: the record points at it for
/// the watchdog's deadlock check (`strand/wait.rs`), and the wait is
/// counted like an untimed join while it lasts.
pub(crate) fn waiting_for_lock(kind: WaitKind, holder: &crate::loom::AtomicU64) -> WaitGuard {
    begin_wait(kind, 0, Some(holder), true)
}

/// The three above, in one look-up of the worker: records the wait (and
/// the lock's holder word, if any), and counts it among the waits the
/// watchdog's deadlock check follows (`WorkerShared::waits`) if `counted`.
#[inline(always)] // each caller's constant arguments fold away
fn begin_wait(
    kind: WaitKind,
    detail: u64,
    holder: Option<&crate::loom::AtomicU64>,
    counted: bool,
) -> WaitGuard {
    with_worker(|w| {
        let Some((w, s)) = w.and_then(|w| w.running().map(|s| (w, s))) else {
            return WaitGuard::NONE;
        };
        if s.wait.kind() != WaitKind::Unknown {
            return WaitGuard::NONE; // an outer wait keeps its record
        }
        s.wait.set(kind, detail);
        if let Some(holder) = holder {
            s.wait.set_lock(holder);
        }
        if counted {
            w.slot().waits.begin();
        }
        WaitGuard {
            strand: &**s,
            counted,
        }
    })
}

/// The running strand's id (0 on a plain thread): what a lock records as
/// its holder.
#[inline]
pub(crate) fn current_id() -> u64 {
    with_current(|s| s.map_or(0, |s| s.id.as_u64()))
}

/// Clears a strand's wait record as the wait ends (see [`waiting`]).
pub(crate) struct WaitGuard {
    /// The strand's header (null on a plain thread, or if an outer wait
    /// keeps its record): a wait ends on the strand it began on, whatever
    /// thread resumes it, so the guard goes by the header, never by the
    /// worker (see the module docs).
    strand: *const Header,
    /// Whether this wait is counted among the untimed joins and lock waits
    /// (`WorkerShared::waits`).
    counted: bool,
}

impl WaitGuard {
    /// A guard of no wait (a plain thread, or an outer wait keeps the
    /// record).
    const NONE: WaitGuard = WaitGuard {
        strand: std::ptr::null(),
        counted: false,
    };
}

impl Drop for WaitGuard {
    #[inline]
    fn drop(&mut self) {
        if !self.strand.is_null() {
            // SAFETY: the guard lives in a frame of the strand whose header
            // this is, and the running slot of whichever worker runs the
            // strand keeps the header alive while the frame exists.
            unsafe { (*self.strand).wait.clear() };
        }
        if self.counted {
            // counted as ended by the worker running the strand now, which
            // may not be the one that counted the start (each worker writes
            // only its own counts)
            with_worker(|w| {
                if let Some(w) = w {
                    w.slot().waits.end();
                }
            });
        }
    }
}

/// The waiter for the code running now: the strand, or on a plain thread
/// the thread.
pub(crate) fn waiter() -> Waiter {
    pinned_waiter().0
}

/// [`waiter`], and where the waiter is pinned: its worker's mark
/// (`Worker::mark`) for a strand that may not move, 0 for a plain thread or
/// a strand that may. A join hands the pair to the joined strand's slot, so
/// that the strand can switch straight to its joiner as it finishes
/// (`strand::job`, "Hand-off").
pub(crate) fn pinned_waiter() -> (Waiter, u32) {
    with_worker(|w| match w.and_then(|w| w.running().map(|s| (w, s))) {
        Some((w, s)) => {
            let at = if s.migratable { 0 } else { w.mark() };
            (Waiter::Strand(s.clone()), at)
        }
        None => (Waiter::Thread(thread::current()), 0),
    })
}

/// Blocks the caller until some waker registered with [`waiter`] wakes it,
/// or spuriously: callers wait in a loop on their condition. In a strand, a
/// cancellation unwinds from here (see [`park`]).
pub(crate) fn block() {
    block_with(true);
}

/// [`block`], optionally not a cancellation point.
pub(crate) fn block_with(cancellable: bool) {
    if !park_with(cancellable) {
        thread::park();
    }
}

/// Like [`block`] but gives up at `deadline` (the caller rechecks the time).
pub(crate) fn block_until(deadline: Instant) {
    block_until_with(deadline, true);
}

/// [`block_until`], optionally not a cancellation point.
pub(crate) fn block_until_with(deadline: Instant, cancellable: bool) {
    if may_switch() {
        park_until(deadline, cancellable);
    } else {
        let now = Instant::now();
        if deadline > now {
            #[cfg(not(loom))]
            thread::park_timeout(deadline - now);
            #[cfg(loom)]
            thread::yield_now(); // loom has no timed park; callers loop
        }
    }
}

/// Parks the running strand until `deadline` or an earlier wake. The timer
/// entry is removed however this returns (including by a cancellation
/// unwinding through it).
fn park_until(deadline: Instant, cancellable: bool) {
    let shared = with_worker(|w| Arc::clone(&w.expect("a strand runs on a worker").shared));
    let key = shared.insert_timer(deadline, waiter());
    struct Deregister<'a>(&'a super::shared::Shared, super::time::Key);
    impl Drop for Deregister<'_> {
        fn drop(&mut self) {
            self.0.timers.cancel(self.1);
        }
    }
    let _deregister = Deregister(&shared, key);
    if cancellable {
        park();
    } else {
        park_with(false);
    }
}

/// Notifies an idle worker of the running strand's runtime, if any (so it
/// takes the strands queued here that may move, while this one holds its
/// worker: `block_in_place`).
#[cfg_attr(loom, allow(dead_code))] // the blocking pool is not built under loom
pub(crate) fn notify_idle_worker() {
    with_worker(|w| {
        if let Some(w) = w.filter(|w| w.running().is_some()) {
            w.shared.notify_idle();
        }
    });
}

/// The stack pool of the runtime running this strand, if any.
pub(crate) fn stack_pool() -> Option<StackPool> {
    with_worker(|w| w.map(|w| w.shared.pool.clone()))
}

/// The id of the I/O driver of the runtime whose worker this thread is
/// (`None` on a plain thread). The fast path of every I/O wait: a
/// thread-local read and two loads.
#[cfg(not(loom))]
#[inline]
pub(crate) fn driver_id() -> Option<u64> {
    with_worker(|w| w.map(|w| w.shared.driver.id()))
}

/// The driver an fd waited on from here should be registered with: the
/// driver of the runtime whose worker this thread is, or on any other
/// thread the process-wide fallback driver (which has a thread of its own).
#[cfg(not(loom))]
pub(crate) fn driver() -> std::io::Result<Arc<super::io::Driver>> {
    let driver: Option<Arc<super::io::Driver>> =
        with_worker(|w| w.map(|w| Arc::clone(&w.shared.driver)));
    match driver {
        Some(d) => Ok(d),
        None => super::io::fallback().map(Arc::clone),
    }
}
