//! The one wait-list primitive every lock, signal and channel is built on.
//!
//! A primitive keeps its state and one or more [`Queue`]s behind a short
//! internal lock (`spin::RawMutex`, never held across a park). A caller
//! that must wait puts a [`Node`] on its own stack into a queue, releases the
//! lock and parks ([`wait`]). Whoever makes progress possible (an unlock, a
//! send, a release) *claims* the first node under the lock, hands it
//! something (the lock itself, a permit, a value written into the waiter's
//! slot), completes the claim with a token, and wakes the waiter after
//! releasing the lock. So waiters are served in FIFO order and what is handed
//! over is never up for grabs in between (no barging).
//!
//! # The ticket: one status word per wait
//!
//! Each wait has a [`Ticket`] with a status word:
//!
//! | status        | meaning                                            |
//! |---------------|----------------------------------------------------|
//! | `WAITING`     | queued; may be claimed or aborted                  |
//! | `CLAIMING`    | a claimant won it and is handing something over    |
//! | `ABORTED`     | the waiter withdrew (timeout, cancellation)        |
//! | `DONE + t`    | handed over, with token `t`; final                 |
//!
//! Claiming is a compare-and-swap `WAITING → CLAIMING`; withdrawing is a
//! compare-and-swap `WAITING → ABORTED`. Exactly one of them wins, so a
//! hand-off and a withdrawal never both happen. A claimant takes the waiter's
//! [`Waiter`] while `CLAIMING`, stores the final token (release), and only
//! then wakes the waiter: the waiter may return (and free its stack frame,
//! node and ticket) as soon as it sees the token, so the claimant touches
//! nothing of it afterwards. A `select` registers several nodes, in several
//! queues, that share one ticket: the first claim wins and the others find
//! the ticket no longer `WAITING` and skip the node.
//!
//! # Leaving early
//!
//! A wait ends in one of three ways: a token (handed over), a deadline, or a
//! cancellation of the waiting strand. The park itself is *not* a
//! cancellation point ([`Ticket::park`] parks with
//! `context::block_with(false)` and looks at the ticket first): the last
//! two run the same code (`Leave`): abort the ticket; if that
//! wins, unlink the node under the lock and let the primitive fix its
//! state, then return the timeout or unwind with the cancellation
//! (`context::cancellation_point`); if it loses, something was already
//! handed over, and the wait **completes normally** with that token: the
//! send returns `Ok`, the lock or permit is the caller's, the value is
//! received. A cancellation then fires at the strand's next blocking
//! point. So a cancelled operation is exactly-once: it either happened
//! (and says so) or did not (and unwinds). Nothing is lost.
//!
//! Only an unexpected unwind out of the wait (a panic in a primitive's
//! `registered` callback) still leaves through `Leave`'s `Drop`,
//! which passes on what was handed over (`WaitSpec::abandoned`: the next
//! waiter gets the lock, the permit is given back, the value goes back to
//! the channel).
//!
//! # Lost wake-ups
//!
//! The node is published (under the lock) before the caller re-checks
//! nothing more and parks; a wake that comes between publishing and parking
//! leaves a token in the strand's (or thread's) park state, so the park
//! returns at once. Parks may return spuriously: the status word is what
//! the waiter loops on.

mod wait;

pub(crate) use wait::{wait, wait_for_lock, WaitSpec};

use crate::loom::cell::UnsafeCell;
use crate::loom::{AtomicUsize, Ordering};
use crate::runtime::context;
use crate::spin::{RawGuard, RawMutex};
use crate::strand::waiter::Waiter;
use std::cell::Cell;
use std::ptr;
use std::time::Instant;

const WAITING: usize = 0;
const CLAIMING: usize = 1;
const ABORTED: usize = 2;
const DONE: usize = 3;

/// Locks a primitive's internal lock.
#[inline]
pub(crate) fn lock<S>(m: &RawMutex<S>) -> RawGuard<'_, S> {
    m.lock()
}

/// One blocking wait: who waits, and how it ended.
pub(crate) struct Ticket {
    status: AtomicUsize,
    /// The index of the node a claimant served (a `select`'s operation),
    /// written before the final status.
    selected: AtomicUsize,
    /// Taken by the claimant while `CLAIMING`.
    waiter: UnsafeCell<Option<Waiter>>,
}

impl Ticket {
    /// A ticket for the code running now (a strand, or a thread).
    pub(crate) fn current() -> Ticket {
        Ticket {
            status: AtomicUsize::new(WAITING),
            selected: AtomicUsize::new(0),
            waiter: UnsafeCell::new(Some(context::waiter())),
        }
    }

    /// The index of the node that was served (valid once a token is seen).
    pub(crate) fn selected(&self) -> usize {
        self.selected.load(Ordering::Relaxed)
    }

    /// The token, once handed over.
    fn token(&self) -> Option<usize> {
        match self.status.load(Ordering::Acquire) {
            s if s >= DONE => Some(s - DONE),
            _ => None,
        }
    }

    /// Parks until a token arrives ([`Parked::Token`]), `deadline` passes
    /// ([`Parked::Deadline`]), or, if `cancellable`, the strand is found
    /// cancelled with nothing handed over yet ([`Parked::Cancelled`]). In
    /// the last two cases the ticket may still be `WAITING`, or may have
    /// been claimed meanwhile: [`abort`](Ticket::abort) tells. Never
    /// unwinds: the park itself is not a cancellation point, so a wait
    /// whose claim completed returns its token even if the strand was
    /// cancelled meanwhile (the cancellation then fires at its next
    /// blocking point). The caller that gets `Cancelled` withdraws and, if
    /// the withdrawal wins, unwinds with [`context::cancellation_point`].
    pub(crate) fn park(&self, deadline: Option<Instant>, cancellable: bool) -> Parked {
        loop {
            if let Some(t) = self.token() {
                return Parked::Token(t);
            }
            if cancellable && cancellation_pending() {
                return Parked::Cancelled;
            }
            match deadline {
                None => context::block_with(false),
                Some(d) if Instant::now() >= d => return Parked::Deadline,
                Some(d) => context::block_until_with(d, false),
            }
        }
    }

    /// Withdraws: `Ok` if nothing was or will be handed over, else the
    /// token of what was (waiting out a claim in progress).
    pub(crate) fn abort(&self) -> Result<(), usize> {
        match self
            .status
            .compare_exchange(WAITING, ABORTED, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Ok(()),
            Err(ABORTED) => Ok(()),
            Err(_) => loop {
                if let Some(t) = self.token() {
                    return Err(t);
                }
                // The claimant wakes us once it has stored the token. Not a
                // cancellation point: we may be unwinding from one already.
                context::block_with(false);
            },
        }
    }
}

/// Whether a wait that parks now should end as cancelled:
/// [`context::cancellation_pending`] (and, under loom, which has no strands,
/// a loom thread's simulated cancellation: see [`simulate_cancellation`]).
fn cancellation_pending() -> bool {
    #[cfg(loom)]
    if SIMULATED.with(Cell::get) {
        return true;
    }
    context::cancellation_pending()
}

/// Unwinds with the pending cancellation, as a blocking point would
/// ([`context::cancellation_point`]; under loom, a simulated one unwinds
/// with [`SimulatedCancel`]).
pub(crate) fn cancellation_point() {
    #[cfg(loom)]
    if SIMULATED.with(Cell::get) {
        std::panic::resume_unwind(Box::new(SimulatedCancel));
    }
    context::cancellation_point();
}

#[cfg(loom)]
loom::thread_local! {
    static SIMULATED: Cell<bool> = Cell::new(false);
}

/// Under loom: marks the calling loom thread as cancelled, so that its
/// waits end as a cancelled strand's do (the models of the rule "a wait
/// whose hand-off happened completes; one whose hand-off did not unwinds").
#[cfg(loom)]
pub(crate) fn simulate_cancellation() {
    SIMULATED.with(|c| c.set(true));
}

/// The payload a simulated cancellation unwinds with (under loom).
#[cfg(loom)]
pub(crate) struct SimulatedCancel;

/// How [`Ticket::park`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parked {
    /// Handed over, with this token.
    Token(usize),
    /// The deadline passed first.
    Deadline,
    /// The strand was cancelled first (and is not unwinding already).
    Cancelled,
}

/// A waiter's entry in a [`Queue`]; lives on the waiter's stack.
pub(crate) struct Node {
    ticket: *const Ticket,
    /// What the waiter asks for (permits, reader or writer, an operation
    /// index): read by claimants.
    pub(crate) tag: usize,
    /// Where a value goes to or comes from (a channel slot in the waiter's
    /// frame); valid while the node is linked.
    pub(crate) data: *mut (),
    /// Which of its ticket's nodes this is (a `select`'s operation index).
    index: usize,
    prev: Cell<*const Node>,
    next: Cell<*const Node>,
    linked: Cell<bool>,
}

impl Node {
    pub(crate) fn new(ticket: &Ticket, tag: usize, data: *mut ()) -> Node {
        Node::with_index(ticket, tag, data, 0)
    }

    /// A node that tells its ticket which one it is when served.
    pub(crate) fn with_index(ticket: &Ticket, tag: usize, data: *mut (), index: usize) -> Node {
        Node {
            ticket,
            tag,
            data,
            index,
            prev: Cell::new(ptr::null()),
            next: Cell::new(ptr::null()),
            linked: Cell::new(false),
        }
    }
}

/// A FIFO of waiting [`Node`]s. Not synchronised itself: it lives inside a
/// primitive's internal lock and is touched only with that lock held.
pub(crate) struct Queue {
    head: *const Node,
    tail: *const Node,
}

// SAFETY: the nodes a queue points to are only touched with the lock that
// owns the queue held, from whichever thread holds it; the tickets they
// point to are synchronised by their atomic status.
unsafe impl Send for Queue {}

impl Default for Queue {
    fn default() -> Queue {
        Queue::new()
    }
}

impl Queue {
    pub(crate) const fn new() -> Queue {
        Queue {
            head: ptr::null(),
            tail: ptr::null(),
        }
    }

    /// Whether no node is linked (some linked nodes may be withdrawn
    /// already: [`claim_first`](Queue::claim_first) skips those).
    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_null()
    }

    /// Links `node` at the back.
    ///
    /// # Safety
    ///
    /// `node` stays where it is until it is unlinked (by
    /// [`remove`](Queue::remove) or a claim), and its ticket outlives it.
    pub(crate) unsafe fn push_back(&mut self, node: &Node) {
        debug_assert!(!node.linked.get());
        node.prev.set(self.tail);
        node.next.set(ptr::null());
        if self.tail.is_null() {
            self.head = node;
        } else {
            // SAFETY: linked nodes are alive (the contract of `push_back`).
            unsafe { (*self.tail).next.set(node) };
        }
        self.tail = node;
        node.linked.set(true);
    }

    /// Unlinks `node` if it is linked; returns whether it was.
    ///
    /// # Safety
    ///
    /// If `node` is linked, it is linked in *this* queue (unlinking it from
    /// another would rewrite this queue's ends with that queue's nodes).
    /// Callers pass the queue they pushed the node onto, under the lock that
    /// owns it.
    pub(crate) unsafe fn remove(&mut self, node: &Node) -> bool {
        if !node.linked.get() {
            return false;
        }
        let (prev, next) = (node.prev.get(), node.next.get());
        if prev.is_null() {
            self.head = next;
        } else {
            // SAFETY: linked nodes are alive.
            unsafe { (*prev).next.set(next) };
        }
        if next.is_null() {
            self.tail = prev;
        } else {
            // SAFETY: linked nodes are alive.
            unsafe { (*next).prev.set(prev) };
        }
        node.linked.set(false);
        true
    }

    /// Claims the first node that is still waiting, is not waiting on
    /// `skip` (a `select` must not serve itself), and satisfies `accept`;
    /// unlinks withdrawn nodes on the way. A node that is first and still
    /// waiting but not accepted stops the search (FIFO: nobody overtakes
    /// it).
    pub(crate) fn claim_first_if(
        &mut self,
        skip: *const Ticket,
        accept: impl Fn(&Node) -> bool,
    ) -> Option<Claim> {
        let mut cur = self.head;
        while !cur.is_null() {
            // SAFETY: linked nodes are alive.
            let node = unsafe { &*cur };
            cur = node.next.get();
            if node.ticket == skip {
                continue;
            }
            // SAFETY: a linked node's ticket outlives it.
            let ticket = unsafe { &*node.ticket };
            if ticket.status.load(Ordering::Acquire) != WAITING {
                // SAFETY: `node` was reached through this queue's links.
                unsafe { self.remove(node) }; // withdrawn, or served through another node
                continue;
            }
            if !accept(node) {
                return None;
            }
            // SAFETY: as above.
            unsafe { self.remove(node) };
            if ticket
                .status
                .compare_exchange(WAITING, CLAIMING, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                // SAFETY: `CLAIMING` gives us the waiter; the owner does not
                // touch it, and cannot return, until the token is stored.
                let waiter = ticket.waiter.with_mut(|w| unsafe { (*w).take() });
                return Some(Claim {
                    node,
                    waiter: waiter.expect("a ticket is claimed once"),
                });
            }
        }
        None
    }

    /// Whether a node not of `skip` is still waiting (a hint: it may
    /// withdraw at any time).
    pub(crate) fn has_waiter_except(&self, skip: *const Ticket) -> bool {
        let mut cur = self.head;
        while !cur.is_null() {
            // SAFETY: linked nodes are alive.
            let node = unsafe { &*cur };
            if node.ticket != skip
                // SAFETY: a linked node's ticket outlives it.
                && unsafe { (*node.ticket).status.load(Ordering::Acquire) } == WAITING
            {
                return true;
            }
            cur = node.next.get();
        }
        false
    }

    /// [`claim_first_if`](Queue::claim_first_if) accepting any node.
    pub(crate) fn claim_first(&mut self, skip: *const Ticket) -> Option<Claim> {
        self.claim_first_if(skip, |_| true)
    }
}

/// The right, won by a claimant, to hand something to one waiter. Must be
/// [completed](Claim::complete).
#[must_use = "a claimed waiter stays blocked until the claim is completed"]
pub(crate) struct Claim {
    node: *const Node,
    waiter: Waiter,
}

impl Claim {
    /// The node's tag.
    pub(crate) fn tag(&self) -> usize {
        // SAFETY: the owner cannot leave before the claim completes.
        unsafe { (*self.node).tag }
    }

    /// The node's data pointer (valid until [`complete`](Claim::complete)).
    pub(crate) fn data(&self) -> *mut () {
        // SAFETY: as in `tag`.
        unsafe { (*self.node).data }
    }

    /// Publishes `token` to the waiter. Returns the waiter, to wake once the
    /// primitive's lock is released.
    pub(crate) fn complete(self, token: usize) -> Waiter {
        // SAFETY: as in `tag`; after the status store the node may be gone.
        let (ticket, index) = unsafe { (&*(*self.node).ticket, (*self.node).index) };
        ticket.selected.store(index, Ordering::Relaxed);
        ticket.status.store(DONE + token, Ordering::Release);
        self.waiter
    }
}

/// Waiters to wake once a primitive's lock is released.
#[derive(Default)]
#[must_use = "wakes nobody unless `wake` is called"]
pub(crate) struct Wakes {
    first: Option<Waiter>,
    more: Vec<Waiter>,
}

impl Wakes {
    pub(crate) fn none() -> Wakes {
        Wakes::default()
    }

    pub(crate) fn push(&mut self, w: Waiter) {
        if self.first.is_none() {
            self.first = Some(w);
        } else {
            self.more.push(w);
        }
    }

    /// Wakes them all (call without holding any lock).
    #[inline]
    pub(crate) fn wake(self) {
        if let Some(w) = self.first {
            w.wake();
            if !self.more.is_empty() {
                self.more.into_iter().for_each(Waiter::wake);
            }
        }
    }
}

impl From<Waiter> for Wakes {
    fn from(w: Waiter) -> Wakes {
        Wakes {
            first: Some(w),
            more: Vec::new(),
        }
    }
}
