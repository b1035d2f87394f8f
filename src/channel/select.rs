//! [`Select`]: wait for the first of several channel operations.
//!
//! The algorithm, on the shared wait list:
//!
//! 1. Try every operation without waiting (from a rotating start, so no
//!    operation is always preferred); the first that can complete does, and
//!    its handler runs.
//! 2. Otherwise make one [`Ticket`] and, channel by channel under each
//!    channel's lock, check again whether the operation could complete (a
//!    hint that does not change the channel); if not, queue a node of the
//!    ticket (tagged with the operation's index). If one could, withdraw
//!    the ticket and go back to 1 (or, if a claim won the ticket
//!    meanwhile, finish that operation).
//! 3. Park. The first channel to claim the ticket completes that
//!    operation (hands a value into its slot, or takes its value); the
//!    other nodes are then skipped by their channels and unlinked by us.
//!
//! A deadline or a cancellation withdraws the ticket; one claimed in the
//! meantime is finished as if it had been seen first (a cancellation then
//! fires at the strand's next blocking point). Only an unexpected unwind
//! out of the wait passes a claimed operation on (a received value goes
//! back to its channel).
//!
//! A `Select` without operations and with a deadline just waits until the
//! deadline (`select!` with only a `default(t)` arm).

use super::chan::{Chan, RecvFail, SendFail, Slot, State, DISCONNECTED};
use super::{Receiver, RecvError, SendError, Sender};
use crate::runtime::context;
use crate::sync::waitlist::{self, Node, Parked, Ticket};
use std::cell::Cell;
use std::fmt;
use std::time::{Duration, Instant};

/// Waits for the first of several channel operations to complete, runs
/// that operation's handler, and returns its result.
///
/// Each operation is added with its handler: [`recv`](Select::recv) gets
/// `Result<T, RecvError>`, [`send`](Select::send) gets
/// `Result<(), SendError<T>>` (the value back if every receiver is gone).
/// Exactly one operation completes; the values of the send operations that
/// did not are dropped with the `Select`. A disconnected channel counts as
/// ready (its handler gets the error).
///
/// The builder is the primitive: its handlers are ordinary closures, so
/// types, borrows and errors read like any other Rust code, and the
/// type-erased operations need no macro-generated plumbing. All handlers
/// return the same type `R` (an enum when the arms produce different
/// things). [`select!`](crate::select!) is a thin macro on top whose arm
/// bodies run in the caller's frame (for `break`, `continue`, `?`, and arms
/// that touch the same variables).
///
/// Waiting parks the strand (or thread). A strand cancelled while waiting
/// leaves every channel's queue and unwinds, unless an operation completed
/// first: then that operation's handler runs as usual (a value sent was
/// sent, a value received is passed to the handler), and the cancellation
/// fires at the strand's next blocking point.
///
/// [`wait_timeout`](Select::wait_timeout) and
/// [`wait_deadline`](Select::wait_deadline) on a `Select` without
/// operations wait until the deadline, then fail.
///
/// # Panics
///
/// [`wait`](Select::wait) on a `Select` without operations (it would park
/// forever).
///
/// ```
/// use std::time::Duration;
/// use strands::channel::{self, Select};
///
/// strands::run(|| {
///     let (tx1, rx1) = channel::bounded::<u32>(0);
///     let (_tx2, rx2) = channel::bounded::<String>(0);
///     strands::spawn(move || tx1.send(7).unwrap());
///     let got = Select::new()
///         .recv(&rx1, |r| format!("number {}", r.unwrap()))
///         .recv(&rx2, |r| format!("text {}", r.unwrap()))
///         .wait_timeout(Duration::from_secs(10))
///         .unwrap();
///     assert_eq!(got, "number 7");
/// });
/// ```
pub struct Select<'a, R> {
    ops: Vec<Box<dyn Op<R> + 'a>>,
}

/// [`Select::wait_timeout`] (or [`try_wait`](Select::try_wait)): no
/// operation could complete in time.
///
/// ```
/// use strands::channel::{self, Select, SelectTimeoutError};
/// let (_tx, rx) = channel::bounded::<u8>(1);
/// assert_eq!(Select::new().recv(&rx, |_| ()).try_wait(), Err(SelectTimeoutError));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelectTimeoutError;

impl fmt::Display for SelectTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no channel operation was ready in time")
    }
}

impl std::error::Error for SelectTimeoutError {}

/// One type-erased operation.
trait Op<R> {
    /// Completes now if it can (phase 1), running the handler.
    fn attempt(&mut self) -> Option<R>;
    /// Under the channel's lock: `true` if it could complete now (nothing
    /// registered), else queues a node of `ticket`.
    fn register(&mut self, ticket: &Ticket, index: usize) -> bool;
    /// Unlinks the node, if queued.
    fn unregister(&mut self);
    /// The node was served with `token`: finish and run the handler.
    fn finish(&mut self, token: usize) -> R;
    /// The node was served, but we are unwinding: pass it on.
    fn abandon(&mut self, token: usize);
}

struct RecvOp<'a, T, F> {
    chan: &'a Chan<T>,
    handler: Option<F>,
    slot: Slot<T>,
    node: Option<Node>,
}

struct SendOp<'a, T, F> {
    chan: &'a Chan<T>,
    handler: Option<F>,
    slot: Slot<T>,
    node: Option<Node>,
}

impl<'a, T, R, F: FnOnce(Result<T, RecvError>) -> R> RecvOp<'a, T, F> {
    fn run(&mut self, r: Result<T, RecvError>) -> R {
        (self.handler.take().expect("one handler runs"))(r)
    }
}

impl<'a, T, R, F: FnOnce(Result<T, RecvError>) -> R> Op<R> for RecvOp<'a, T, F> {
    fn attempt(&mut self) -> Option<R> {
        match self.chan.try_recv() {
            Ok(v) => Some(self.run(Ok(v))),
            Err(RecvFail::Disconnected) => Some(self.run(Err(RecvError))),
            Err(RecvFail::Empty) => None,
        }
    }

    fn register(&mut self, ticket: &Ticket, index: usize) -> bool {
        let mut st = self.chan.lock();
        if !st.buf.is_empty() || st.senders == 0 || st.sendq.has_waiter_except(ticket) {
            return true;
        }
        let data = self.slot.as_data();
        let node = self.node.insert(Node::with_index(ticket, 0, data, index));
        // SAFETY: the node lives in this boxed op, which the `Select` keeps
        // until `unregister` has run (on every path, see `Unregister`).
        unsafe { st.recvq.push_back(node) };
        false
    }

    fn unregister(&mut self) {
        if let Some(node) = &self.node {
            // SAFETY: `register` pushed the node onto this channel's `recvq`.
            unsafe { self.chan.lock().recvq.remove(node) };
        }
    }

    fn finish(&mut self, token: usize) -> R {
        if token == DISCONNECTED {
            self.run(Err(RecvError))
        } else {
            // SAFETY: the token was seen: the delivering claim is complete.
            let v = unsafe { self.slot.take() }.expect("a delivered value");
            self.run(Ok(v))
        }
    }

    fn abandon(&mut self, token: usize) {
        if token != DISCONNECTED {
            // SAFETY: the claim that delivered is complete.
            if let Some(v) = unsafe { self.slot.take() } {
                self.chan.give_back(v);
            }
        }
    }
}

impl<'a, T, R, F: FnOnce(Result<(), SendError<T>>) -> R> SendOp<'a, T, F> {
    fn run(&mut self, r: Result<(), SendError<T>>) -> R {
        (self.handler.take().expect("one handler runs"))(r)
    }
}

impl<'a, T, R, F: FnOnce(Result<(), SendError<T>>) -> R> Op<R> for SendOp<'a, T, F> {
    fn attempt(&mut self) -> Option<R> {
        // SAFETY: not registered (an attempt comes before `register`, or
        // after `unregister`): no claimant can reach the slot.
        let v = unsafe { self.slot.take() }.expect("the value to send");
        match self.chan.try_send(v) {
            Ok(()) => Some(self.run(Ok(()))),
            Err(SendFail::Disconnected(v)) => Some(self.run(Err(SendError(v)))),
            Err(SendFail::Full(v)) => {
                // SAFETY: as above.
                unsafe { self.slot.put(v) };
                None
            }
        }
    }

    fn register(&mut self, ticket: &Ticket, index: usize) -> bool {
        let mut st = self.chan.lock();
        if send_ready(&st, self.chan.cap, ticket) {
            return true;
        }
        let data = self.slot.as_data();
        let node = self.node.insert(Node::with_index(ticket, 0, data, index));
        // SAFETY: as for `RecvOp::register`.
        unsafe { st.sendq.push_back(node) };
        false
    }

    fn unregister(&mut self) {
        if let Some(node) = &self.node {
            // SAFETY: `register` pushed the node onto this channel's `sendq`.
            unsafe { self.chan.lock().sendq.remove(node) };
        }
    }

    fn finish(&mut self, token: usize) -> R {
        if token == DISCONNECTED {
            // SAFETY: the token was seen: no claim holds the slot.
            let v = unsafe { self.slot.take() }.expect("an unsent value");
            self.run(Err(SendError(v)))
        } else {
            self.run(Ok(()))
        }
    }

    fn abandon(&mut self, _token: usize) {
        // Taken: it was sent. Disconnected: the value drops with the op.
    }
}

fn send_ready<T>(st: &State<T>, cap: usize, ticket: &Ticket) -> bool {
    st.receivers == 0 || st.buf.len() < cap || st.recvq.has_waiter_except(ticket)
}

thread_local! {
    static ROTATE: Cell<usize> = const { Cell::new(0) };
}

/// A start index that moves on at every select (fairness between
/// operations that are ready together).
/// (Always 0 under loom, whose models must be deterministic.) Out of line:
/// a migratable strand's thread may change between two selects (see
/// `runtime::worker::this_worker`).
#[inline(never)]
fn start(n: usize) -> usize {
    if cfg!(loom) {
        return 0;
    }
    ROTATE.with(|r| {
        let s = r.get().wrapping_add(1);
        r.set(s);
        s % n
    })
}

/// Unlinks every node on every exit of the blocking phase; if unwinding
/// after a claim, passes the claimed operation's hand-off on.
struct Unregister<'s, 'a, R> {
    ops: &'s mut [Box<dyn Op<R> + 'a>],
    ticket: &'s Ticket,
    armed: bool,
}

impl<R> Unregister<'_, '_, R> {
    fn all(&mut self) {
        for op in self.ops.iter_mut() {
            op.unregister();
        }
    }
}

impl<R> Drop for Unregister<'_, '_, R> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let claimed = self.ticket.abort();
        self.all();
        if let Err(token) = claimed {
            self.ops[self.ticket.selected()].abandon(token);
        }
    }
}

impl<'a, R> Select<'a, R> {
    /// A `Select` without operations.
    ///
    /// ```
    /// use strands::channel::{self, Select};
    /// let (tx, rx) = channel::bounded(1);
    /// tx.send(1).unwrap();
    /// let sel: Select<'_, i32> = Select::new();
    /// assert_eq!(sel.recv(&rx, |r| r.unwrap()).wait(), 1);
    /// ```
    pub fn new() -> Select<'a, R> {
        Select { ops: Vec::new() }
    }

    /// Adds a receive from `rx`; `f` gets what it received (or
    /// `Err(RecvError)` if the channel is empty and disconnected).
    ///
    /// ```
    /// use strands::channel::{self, Select};
    /// let (data_tx, data) = channel::unbounded::<u32>();
    /// let (stop_tx, stop) = channel::unbounded::<()>();
    /// drop(stop_tx); // a disconnected channel counts as ready
    /// data_tx.send(1).unwrap();
    /// // Either may be picked; both are handled.
    /// let got = Select::new()
    ///     .recv(&data, |r| r.ok())
    ///     .recv(&stop, |_| None)
    ///     .wait();
    /// assert!(got == Some(1) || got.is_none());
    /// ```
    pub fn recv<T: 'a>(
        mut self,
        rx: &'a Receiver<T>,
        f: impl FnOnce(Result<T, RecvError>) -> R + 'a,
    ) -> Self {
        self.ops.push(Box::new(RecvOp {
            chan: &*rx.chan,
            handler: Some(f),
            slot: Slot::new(None),
            node: None,
        }));
        self
    }

    /// Adds a send of `v` on `tx`; `f` gets `Ok(())` once it is sent, or
    /// the value back if every receiver is gone.
    ///
    /// ```
    /// use strands::channel::{self, Select};
    /// let (tx, rx) = channel::bounded(1);
    /// let sent = Select::new()
    ///     .send(&tx, "job", |r| r.is_ok())
    ///     .wait();
    /// assert!(sent);
    /// assert_eq!(rx.recv(), Ok("job"));
    /// ```
    pub fn send<T: 'a>(
        mut self,
        tx: &'a Sender<T>,
        v: T,
        f: impl FnOnce(Result<(), SendError<T>>) -> R + 'a,
    ) -> Self {
        self.ops.push(Box::new(SendOp {
            chan: &*tx.chan,
            handler: Some(f),
            slot: Slot::new(Some(v)),
            node: None,
        }));
        self
    }

    /// Parks until one operation completes; returns its handler's result.
    ///
    /// # Panics
    ///
    /// If there are no operations.
    ///
    /// ```
    /// use strands::channel::{self, Select};
    ///
    /// enum Event {
    ///     Msg(String),
    ///     Tick,
    /// }
    /// strands::run(|| {
    ///     let (msg_tx, msgs) = channel::unbounded();
    ///     let (_tick_tx, ticks) = channel::unbounded::<()>();
    ///     strands::spawn(move || msg_tx.send("hello".to_string()).unwrap());
    ///     let ev = Select::new()
    ///         .recv(&msgs, |r| Event::Msg(r.unwrap()))
    ///         .recv(&ticks, |_| Event::Tick)
    ///         .wait();
    ///     assert!(matches!(ev, Event::Msg(m) if m == "hello"));
    /// });
    /// ```
    #[track_caller]
    pub fn wait(self) -> R {
        assert!(
            !self.ops.is_empty(),
            "Select::wait without operations would park forever"
        );
        self.run(None)
            .unwrap_or_else(|_| unreachable!("no deadline"))
    }

    /// Like [`wait`](Select::wait), giving up after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use strands::channel::{self, Select, SelectTimeoutError};
    /// let (_tx, rx) = channel::bounded::<u8>(0);
    /// let r = Select::new()
    ///     .recv(&rx, |r| r.unwrap())
    ///     .wait_timeout(Duration::from_millis(5));
    /// assert_eq!(r, Err(SelectTimeoutError));
    /// ```
    pub fn wait_timeout(self, timeout: Duration) -> Result<R, SelectTimeoutError> {
        match Instant::now().checked_add(timeout) {
            Some(d) => self.run(Some(d)),
            None => Ok(self.wait()),
        }
    }

    /// Like [`wait`](Select::wait), giving up at `deadline`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use strands::channel::{self, Select};
    /// let (tx, rx) = channel::bounded(1);
    /// tx.send(4).unwrap();
    /// let deadline = Instant::now() + Duration::from_secs(60);
    /// let r = Select::new().recv(&rx, |r| r.unwrap()).wait_deadline(deadline);
    /// assert_eq!(r, Ok(4));
    /// ```
    pub fn wait_deadline(self, deadline: Instant) -> Result<R, SelectTimeoutError> {
        self.run(Some(deadline))
    }

    /// Completes an operation that is ready now, or fails without waiting
    /// (a `default` arm).
    ///
    /// ```
    /// use strands::channel::{self, Select};
    /// let (tx, rx) = channel::bounded::<u8>(1);
    /// assert!(Select::new().recv(&rx, |r| r.unwrap()).try_wait().is_err());
    /// tx.send(3).unwrap();
    /// assert_eq!(Select::new().recv(&rx, |r| r.unwrap()).try_wait(), Ok(3));
    /// ```
    pub fn try_wait(mut self) -> Result<R, SelectTimeoutError> {
        // Two passes before giving up. One pass tries the operations one
        // after another, each at its own instant, so it can miss a state
        // in which some operation was ready at every moment: A tried (not
        // ready), then B becomes ready, then A's value leaves, then B
        // tried (not ready). Seen from the caller, `default` ran although
        // a channel held a value all along. Whatever made the operations
        // fail in the first pass must then have made another one ready in
        // between, and that one is still ready for the second pass unless
        // yet another hand-over happened meanwhile; so a chain of such
        // hand-overs, each racing us exactly, is needed to fool two passes
        // (the same reasoning as crossbeam's second pass). The unit test
        // below forces the interleaving that one pass loses;
        // `select_default_is_linearizable` (tests/channel_select.rs) races
        // it for real.
        match self.attempt_all() {
            Some(r) => Ok(r),
            None => self.attempt_all().ok_or(SelectTimeoutError),
        }
    }

    fn attempt_all(&mut self) -> Option<R> {
        let n = self.ops.len();
        if n == 0 {
            return None;
        }
        let s = start(n);
        (0..n).find_map(|k| {
            #[cfg(all(test, not(loom)))]
            tests::before_attempt(k, (s + k) % n);
            self.ops[(s + k) % n].attempt()
        })
    }

    fn run(mut self, deadline: Option<Instant>) -> Result<R, SelectTimeoutError> {
        if self.ops.is_empty() {
            // Nothing can complete: wait out the deadline (a cancellation
            // point, like any wait).
            let Some(d) = deadline else {
                unreachable!("`wait` refuses a Select without operations")
            };
            loop {
                context::cancellation_point();
                if Instant::now() >= d {
                    return Err(SelectTimeoutError);
                }
                let _recorded = context::waiting(crate::strand::WaitKind::Sleep, 0);
                context::block_until(d);
            }
        }
        loop {
            if let Some(r) = self.attempt_all() {
                return Ok(r);
            }
            if self.ops.is_empty() || deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(SelectTimeoutError);
            }
            let ticket = Ticket::current();
            let mut guard = Unregister {
                ops: &mut self.ops,
                ticket: &ticket,
                armed: true,
            };
            let ready = (0..guard.ops.len()).any(|i| guard.ops[i].register(&ticket, i));
            let parked = if ready {
                None // something became ready: withdraw and attempt again
            } else {
                // Not a cancellation point itself: a cancelled strand whose
                // ticket was claimed first completes that operation.
                let _recorded = context::waiting(crate::strand::WaitKind::Select, 0);
                Some(ticket.park(deadline, true))
            };
            guard.armed = false;
            // `Err(token)`: an operation was served (maybe while we
            // withdrew); `Ok`: withdrawn, nothing was.
            let served = match parked {
                Some(Parked::Token(t)) => Err(t),
                _ => ticket.abort(),
            };
            guard.all();
            match served {
                Err(t) => return Ok(guard.ops[ticket.selected()].finish(t)),
                Ok(()) if ready => continue,
                Ok(()) if parked == Some(Parked::Cancelled) => {
                    // Withdrawn before anything was handed over: the
                    // values to send drop with the operations as we unwind.
                    waitlist::cancellation_point();
                    unreachable!("a pending cancellation unwinds")
                }
                Ok(()) => return Err(SelectTimeoutError),
            }
        }
    }
}

impl<R> Default for Select<'_, R> {
    fn default() -> Self {
        Select::new()
    }
}

impl<R> fmt::Debug for Select<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("operations", &self.ops.len())
            .finish()
    }
}

/// A deterministic check of the second pass of [`Select::try_wait`]: a
/// hook that runs before each attempt moves the value from the channel
/// that is about to be tried second into the one that was tried first,
/// right between the two tries, so one pass misses it every time.
#[cfg(all(test, not(loom)))]
mod tests {
    use super::Select;
    use crate::channel;
    use std::cell::RefCell;

    type Hook = Box<dyn FnMut(usize, usize)>;

    thread_local! {
        static BEFORE_ATTEMPT: RefCell<Option<Hook>> = const { RefCell::new(None) };
    }

    /// Called by `attempt_all` before its `k`-th try, on operation `index`.
    pub(super) fn before_attempt(k: usize, index: usize) {
        BEFORE_ATTEMPT.with(|h| {
            if let Some(h) = h.borrow_mut().as_mut() {
                h(k, index);
            }
        });
    }

    #[test]
    fn try_wait_does_not_miss_a_value_that_moves_between_its_tries() {
        for round in 0..4 {
            let (txs, rxs): (Vec<_>, Vec<_>) = (0..2).map(|_| channel::bounded::<u32>(1)).unzip();
            let (hook_txs, hook_rxs) = (txs.clone(), rxs.clone());
            let mut first = None;
            BEFORE_ATTEMPT.with(|h| {
                *h.borrow_mut() = Some(Box::new(move |k, index| match (k, first) {
                    // Before the first try: the other channel holds the value.
                    (0, None) => {
                        first = Some(index);
                        hook_txs[1 - index].send(7).unwrap();
                    }
                    // Between the tries: into the first, then out of the
                    // second (one of them holds it at every instant).
                    (1, Some(f)) if f != usize::MAX => {
                        hook_txs[f].send(7).unwrap();
                        assert_eq!(hook_rxs[1 - f].try_recv(), Ok(7));
                        first = Some(usize::MAX); // once
                    }
                    _ => {}
                }));
            });
            let got = Select::new()
                .recv(&rxs[0], |r| r.unwrap())
                .recv(&rxs[1], |r| r.unwrap())
                .try_wait();
            BEFORE_ATTEMPT.with(|h| h.borrow_mut().take());
            assert_eq!(
                got,
                Ok(7),
                "round {round}: `default` although a value was there"
            );
            drop(txs);
        }
    }
}
