//! [`wait`]: the one blocking routine of the locks and signals (the
//! channels' `Select` drives the same [`Ticket`] and nodes itself).

use super::{lock, Node, Parked, Queue, Ticket, Wakes};
use crate::loom::AtomicU64;
use crate::runtime::context;
use crate::spin::{RawGuard, RawMutex};
use crate::strand::WaitKind;
use std::time::Instant;

/// How a primitive waits in one of its queues; see [`wait`].
pub(crate) struct WaitSpec<'a, S, Q, W, A, R>
where
    Q: Fn(&mut S) -> &mut Queue,
    W: FnOnce(&mut S) -> Wakes,
    A: FnOnce(usize),
    R: FnOnce(),
{
    /// The primitive's lock, held by the caller (`guard`).
    pub(crate) lock: &'a RawMutex<S>,
    /// Which queue of the state to wait in.
    pub(crate) queue: Q,
    pub(crate) tag: usize,
    pub(crate) data: *mut (),
    /// What a dump says the strand waits for.
    pub(crate) kind: WaitKind,
    pub(crate) deadline: Option<Instant>,
    /// Whether a cancellation of the waiting strand ends the wait (if
    /// nothing was handed over yet). `false` for waits that must complete
    /// (a condition variable re-locking its mutex).
    pub(crate) cancellable: bool,
    /// Run once the node is published and the lock released, before
    /// parking (a condition variable unlocks its mutex here).
    pub(crate) registered: R,
    /// Under the lock, after the node left without being served: fix the
    /// state (a flag for "someone waits", a FIFO head that now can go).
    pub(crate) withdrawn: W,
    /// An unexpected unwind (a panic in `registered`) left the wait after
    /// `token` was handed over: pass it on (no lock held). A cancellation
    /// never comes here: a wait whose hand-over happened completes.
    pub(crate) abandoned: A,
}

/// Waits in a queue of the primitive whose lock `guard` holds: publishes a
/// node, releases the lock, parks. Returns the token handed over, or `None`
/// if the deadline passed first (the node is then withdrawn). A
/// cancellation of the waiting strand (if `spec.cancellable`) withdraws the
/// node and unwinds out of here, unless something was handed over first:
/// then the wait returns that token as usual, and the cancellation fires at
/// the strand's next blocking point (see the module docs).
pub(crate) fn wait<S, Q, W, A, R>(
    guard: RawGuard<'_, S>,
    spec: WaitSpec<'_, S, Q, W, A, R>,
) -> Option<usize>
where
    Q: Fn(&mut S) -> &mut Queue,
    W: FnOnce(&mut S) -> Wakes,
    A: FnOnce(usize),
    R: FnOnce(),
{
    wait_recorded(guard, spec, None)
}

/// [`wait`] for a lock that keeps its holder (a strand id) in `holder`:
/// the strand's wait record points at that word while it waits, for the
/// watchdog's deadlock check (see `strand/wait.rs`).
pub(crate) fn wait_for_lock<S, Q, W, A, R>(
    guard: RawGuard<'_, S>,
    spec: WaitSpec<'_, S, Q, W, A, R>,
    holder: &AtomicU64,
) -> Option<usize>
where
    Q: Fn(&mut S) -> &mut Queue,
    W: FnOnce(&mut S) -> Wakes,
    A: FnOnce(usize),
    R: FnOnce(),
{
    wait_recorded(guard, spec, Some(holder))
}

fn wait_recorded<S, Q, W, A, R>(
    mut guard: RawGuard<'_, S>,
    spec: WaitSpec<'_, S, Q, W, A, R>,
    holder: Option<&AtomicU64>,
) -> Option<usize>
where
    Q: Fn(&mut S) -> &mut Queue,
    W: FnOnce(&mut S) -> Wakes,
    A: FnOnce(usize),
    R: FnOnce(),
{
    let ticket = Ticket::current();
    let node = Node::new(&ticket, spec.tag, spec.data);
    // SAFETY: `leave` below unlinks the node (or a claim did) before this
    // frame ends, on every path including unwinding; `ticket` outlives `node`.
    unsafe { (spec.queue)(&mut guard).push_back(&node) };
    drop(guard);
    let mut leave = Leave {
        ticket: &ticket,
        node: &node,
        lock: spec.lock,
        queue: spec.queue,
        withdrawn: Some(spec.withdrawn),
        abandoned: Some(spec.abandoned),
        armed: true,
    };
    let recorded = match holder {
        Some(holder) => context::waiting_for_lock(spec.kind, holder),
        None => context::waiting(spec.kind, 0),
    };
    (spec.registered)();
    let got = ticket.park(spec.deadline, spec.cancellable);
    drop(recorded);
    leave.armed = false;
    match got {
        Parked::Token(t) => Some(t),
        Parked::Deadline => leave.withdraw().err(),
        Parked::Cancelled => match leave.withdraw() {
            // Claimed before we could withdraw: it happened; complete.
            Err(t) => Some(t),
            Ok(()) => {
                super::cancellation_point();
                unreachable!("a pending cancellation unwinds")
            }
        },
    }
}

/// Leaves a wait early (deadline, cancellation, or an unexpected unwind).
pub(super) struct Leave<'a, S, Q, W, A>
where
    Q: Fn(&mut S) -> &mut Queue,
    W: FnOnce(&mut S) -> Wakes,
    A: FnOnce(usize),
{
    ticket: &'a Ticket,
    node: &'a Node,
    lock: &'a RawMutex<S>,
    queue: Q,
    withdrawn: Option<W>,
    abandoned: Option<A>,
    armed: bool,
}

impl<S, Q, W, A> Leave<'_, S, Q, W, A>
where
    Q: Fn(&mut S) -> &mut Queue,
    W: FnOnce(&mut S) -> Wakes,
    A: FnOnce(usize),
{
    /// `Ok` if withdrawn, else the token that was handed over.
    fn withdraw(&mut self) -> Result<(), usize> {
        self.ticket.abort()?;
        let mut st = lock(self.lock);
        // SAFETY: `wait` pushed the node onto this same queue (`self.queue`
        // picks it from the state under `self.lock`).
        unsafe { (self.queue)(&mut st).remove(self.node) };
        let wakes = (self.withdrawn.take().expect("withdrawn once"))(&mut st);
        drop(st);
        wakes.wake();
        Ok(())
    }
}

impl<S, Q, W, A> Drop for Leave<'_, S, Q, W, A>
where
    Q: Fn(&mut S) -> &mut Queue,
    W: FnOnce(&mut S) -> Wakes,
    A: FnOnce(usize),
{
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Err(token) = self.withdraw() {
            (self.abandoned.take().expect("abandoned once"))(token);
        }
    }
}
