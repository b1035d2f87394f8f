//! The channel itself: a buffer and two wait queues behind one short lock.
//!
//! Invariants, all under the lock:
//!
//! - receivers wait only while the buffer is empty and no sender waits;
//! - senders wait only while the buffer is full (for a rendezvous channel,
//!   always) and no receiver waits.
//!
//! So a send first hands its value straight to the first waiting receiver
//! (written into the receiver's slot on its stack), else buffers it, else
//! waits with the value in a slot of its own, from which a receiver takes
//! it. A receiver that takes from a full buffer refills it from the first
//! waiting sender. A receiver (or sender) cancelled while waiting completes
//! its operation if the hand-off happened first (see `sync::waitlist`);
//! only an unexpected unwind out of a wait gives a delivered value back (to
//! the next receiver, or the front of the buffer): a value accepted by a
//! send is received or dropped with the channel, never lost or duplicated.

use crate::loom::cell::UnsafeCell;
use crate::loom::{AtomicUsize, Ordering};
use crate::runtime::context;
use crate::spin::{RawGuard, RawMutex};
use crate::sync::waitlist::{self, Queue, Ticket, WaitSpec, Wakes};
use std::collections::VecDeque;
use std::ptr;
use std::time::Instant;

/// A receiver's token: a value is in its slot.
pub(crate) const DELIVERED: usize = 0;
/// A sender's token: its value was taken.
pub(crate) const TAKEN: usize = 0;
/// Either side's token: the other side is gone.
pub(crate) const DISCONNECTED: usize = 1;

pub(crate) struct Chan<T> {
    pub(crate) state: RawMutex<State<T>>,
    /// `buf.len()` as of the last unlock that changed it: a hint read
    /// without the lock (a receiver that sees 0 yields before locking).
    len_hint: AtomicUsize,
    /// `usize::MAX` for unbounded, 0 for a rendezvous.
    pub(crate) cap: usize,
}

pub(crate) struct State<T> {
    pub(crate) buf: VecDeque<T>,
    pub(crate) senders: usize,
    pub(crate) receivers: usize,
    pub(crate) sendq: Queue,
    pub(crate) recvq: Queue,
}

/// Why a send did not happen now.
pub(crate) enum SendFail<T> {
    Full(T),
    Disconnected(T),
}

/// Why a receive did not happen now.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RecvFail {
    Empty,
    Disconnected,
}

/// Where a waiting sender keeps its value, or a waiting receiver gets
/// one: a cell in the waiter's own frame, reached by a claimant through the
/// node's data pointer. A loom cell, so the models check that the claim's
/// and the token's orderings make each hand-over visible.
pub(crate) struct Slot<T>(UnsafeCell<Option<T>>);

impl<T> Slot<T> {
    pub(crate) fn new(v: Option<T>) -> Slot<T> {
        Slot(UnsafeCell::new(v))
    }

    /// The pointer a node carries (see [`put`] and [`take`]).
    pub(crate) fn as_data(&self) -> *mut () {
        (self as *const Slot<T>).cast_mut().cast()
    }

    /// The owner's access: takes the value.
    ///
    /// # Safety
    ///
    /// No claimant can touch the slot now: it is not linked, or its wait
    /// has ended (a token was seen, or the withdrawal won).
    pub(crate) unsafe fn take(&self) -> Option<T> {
        // SAFETY: by the contract, this is the only access.
        self.0.with_mut(|p| unsafe { (*p).take() })
    }

    /// The owner's access: puts a value back.
    ///
    /// # Safety
    ///
    /// As for [`take`](Slot::take).
    pub(crate) unsafe fn put(&self, v: T) {
        // SAFETY: by the contract, this is the only access.
        self.0.with_mut(|p| unsafe { *p = Some(v) });
    }
}

/// Writes `v` into the slot of a claimed receiver.
///
/// # Safety
///
/// `data` is the data pointer of a claimed receiver node: a [`Slot<T>`]
/// the claim keeps alive, which its owner does not touch until the claim
/// completes.
unsafe fn put<T>(data: *mut (), v: T) {
    // SAFETY: by the contract.
    unsafe { (*data.cast::<Slot<T>>()).put(v) };
}

/// Takes the value from the slot of a claimed sender.
///
/// # Safety
///
/// As for [`put`], for a sender node (whose slot holds its value).
unsafe fn take<T>(data: *mut ()) -> T {
    // SAFETY: by the contract.
    unsafe { (*data.cast::<Slot<T>>()).take() }.expect("a waiting sender holds its value")
}

impl<T> State<T> {
    /// Sends without waiting; `skip` is the caller's own ticket in a
    /// `select` (never served by itself).
    pub(crate) fn try_send(
        &mut self,
        v: T,
        cap: usize,
        skip: *const Ticket,
    ) -> Result<Wakes, SendFail<T>> {
        if self.receivers == 0 {
            return Err(SendFail::Disconnected(v));
        }
        if let Some(c) = self.recvq.claim_first(skip) {
            // SAFETY: a claimed receiver's slot.
            unsafe { put(c.data(), v) };
            return Ok(c.complete(DELIVERED).into());
        }
        if self.buf.len() < cap {
            self.buf.push_back(v);
            return Ok(Wakes::none());
        }
        Err(SendFail::Full(v))
    }

    /// Receives without waiting.
    pub(crate) fn try_recv(
        &mut self,
        cap: usize,
        skip: *const Ticket,
    ) -> Result<(T, Wakes), RecvFail> {
        if let Some(v) = self.buf.pop_front() {
            let mut wakes = Wakes::none();
            if self.buf.len() < cap {
                if let Some(c) = self.sendq.claim_first(skip) {
                    // SAFETY: a claimed sender's slot.
                    self.buf.push_back(unsafe { take(c.data()) });
                    wakes.push(c.complete(TAKEN));
                }
            }
            return Ok((v, wakes));
        }
        if let Some(c) = self.sendq.claim_first(skip) {
            // SAFETY: a claimed sender's slot.
            let v = unsafe { take(c.data()) };
            return Ok((v, c.complete(TAKEN).into()));
        }
        if self.senders == 0 {
            Err(RecvFail::Disconnected)
        } else {
            Err(RecvFail::Empty)
        }
    }

    /// A value handed to a receiver that is not taking it (cancelled): to
    /// the next receiver, or back to the front of the buffer (even past the
    /// capacity: it was accepted already).
    pub(crate) fn give_back(&mut self, v: T) -> Wakes {
        if let Some(c) = self.recvq.claim_first(ptr::null()) {
            // SAFETY: a claimed receiver's slot.
            unsafe { put(c.data(), v) };
            return c.complete(DELIVERED).into();
        }
        self.buf.push_front(v);
        Wakes::none()
    }
}

/// Wakes every waiter of `q` with `DISCONNECTED`.
pub(crate) fn disconnect_all(q: &mut Queue) -> Wakes {
    let mut wakes = Wakes::none();
    while let Some(c) = q.claim_first(ptr::null()) {
        wakes.push(c.complete(DISCONNECTED));
    }
    wakes
}

impl<T> Chan<T> {
    pub(crate) fn new(cap: usize) -> Chan<T> {
        Chan {
            state: RawMutex::new(State {
                buf: VecDeque::new(),
                senders: 1,
                receivers: 1,
                sendq: Queue::new(),
                recvq: Queue::new(),
            }),
            len_hint: AtomicUsize::new(0),
            cap,
        }
    }

    /// Unlocks after the buffer may have changed, publishing its length.
    fn unlock(&self, st: RawGuard<'_, State<T>>) {
        self.len_hint.store(st.buf.len(), Ordering::Relaxed);
        drop(st);
    }

    pub(crate) fn lock(&self) -> RawGuard<'_, State<T>> {
        waitlist::lock(&self.state)
    }

    pub(crate) fn try_send(&self, v: T) -> Result<(), SendFail<T>> {
        let mut st = self.lock();
        let wakes = st.try_send(v, self.cap, ptr::null())?;
        self.unlock(st);
        wakes.wake();
        Ok(())
    }

    pub(crate) fn try_recv(&self) -> Result<T, RecvFail> {
        let mut st = self.lock();
        let (v, wakes) = st.try_recv(self.cap, ptr::null())?;
        self.unlock(st);
        wakes.wake();
        Ok(v)
    }

    /// Sends, waiting until `deadline` (`None`: for as long as it takes)
    /// for room or a receiver. `Full` means the deadline passed.
    pub(crate) fn send(&self, mut v: T, deadline: Option<Instant>) -> Result<(), SendFail<T>> {
        let mut yielded = false;
        let st = loop {
            let mut st = self.lock();
            match st.try_send(v, self.cap, ptr::null()) {
                Ok(wakes) => {
                    self.unlock(st);
                    wakes.wake();
                    return Ok(());
                }
                Err(SendFail::Full(back)) => {
                    v = back;
                    if yielded || !context::may_switch() {
                        break st;
                    }
                }
                Err(e) => return Err(e),
            }
            drop(st);
            yielded = true;
            context::yield_now(); // see `recv`
        };
        let slot = Slot::new(Some(v));
        let token = waitlist::wait(
            st,
            WaitSpec {
                lock: &self.state,
                queue: |s: &mut State<T>| &mut s.sendq,
                tag: 0,
                kind: crate::strand::WaitKind::Send,
                data: slot.as_data(),
                deadline,
                cancellable: true,
                registered: || {},
                withdrawn: |_: &mut State<T>| Wakes::none(),
                // Taken: it was sent. Disconnected: the value is still in
                // `slot` and drops with this frame as it unwinds.
                abandoned: |_| {},
            },
        );
        if token == Some(TAKEN) {
            return Ok(());
        }
        // SAFETY: the wait has ended, so no claimant holds the slot.
        let v = unsafe { slot.take() }.expect("returned");
        match token {
            Some(_) => Err(SendFail::Disconnected(v)),
            None => Err(SendFail::Full(v)),
        }
    }

    /// Receives, waiting until `deadline` (`None`: for as long as it
    /// takes). `Empty` means the deadline passed.
    pub(crate) fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvFail> {
        // Nothing buffered (as far as we can tell without the lock): yield
        // before even locking (see below).
        let mut yielded = context::may_switch() && self.len_hint.load(Ordering::Relaxed) == 0;
        if yielded {
            context::yield_now();
        }
        let st = loop {
            let mut st = self.lock();
            match st.try_recv(self.cap, ptr::null()) {
                Ok((v, wakes)) => {
                    self.unlock(st);
                    wakes.wake();
                    return Ok(v);
                }
                Err(RecvFail::Empty) if yielded || !context::may_switch() => break st,
                Err(RecvFail::Empty) => {}
                Err(e) => return Err(e),
            }
            drop(st);
            // Yield once before parking: the strand we just woke (or any
            // other on this worker) runs first, and often makes the
            // channel ready, which spares both sides a park and a wake
            // (a ping-pong then parks neither side).
            yielded = true;
            context::yield_now();
        };
        let slot = Slot::new(None);
        let token = waitlist::wait(
            st,
            WaitSpec {
                lock: &self.state,
                queue: |s: &mut State<T>| &mut s.recvq,
                tag: 0,
                kind: crate::strand::WaitKind::Recv,
                data: slot.as_data(),
                deadline,
                cancellable: true,
                registered: || {},
                withdrawn: |_: &mut State<T>| Wakes::none(),
                abandoned: |token| {
                    if token == DELIVERED {
                        // SAFETY: the claim that delivered is complete; the
                        // slot is ours again.
                        if let Some(v) = unsafe { slot.take() } {
                            self.give_back(v);
                        }
                    }
                },
            },
        );
        match token {
            // SAFETY: the token was seen: the delivering claim is complete.
            Some(DELIVERED) => Ok(unsafe { slot.take() }.expect("a delivered value")),
            Some(_) => Err(RecvFail::Disconnected),
            None => Err(RecvFail::Empty),
        }
    }

    pub(crate) fn give_back(&self, v: T) {
        let mut st = self.lock();
        let wakes = st.give_back(v);
        self.unlock(st);
        wakes.wake();
    }

    /// One more sender or receiver handle.
    pub(crate) fn acquire(&self, sender: bool) {
        let mut st = self.lock();
        if sender {
            st.senders += 1;
        } else {
            st.receivers += 1;
        }
    }

    /// A sender or receiver handle is gone; the last one of a side
    /// disconnects the channel. The last receiver also drops the buffered
    /// values (nobody can receive them), outside the lock.
    pub(crate) fn release(&self, sender: bool) {
        let mut st = self.lock();
        let (wakes, drained) = if sender {
            st.senders -= 1;
            if st.senders > 0 {
                return;
            }
            (disconnect_all(&mut st.recvq), VecDeque::new())
        } else {
            st.receivers -= 1;
            if st.receivers > 0 {
                return;
            }
            (disconnect_all(&mut st.sendq), std::mem::take(&mut st.buf))
        };
        self.unlock(st);
        wakes.wake();
        drop(drained);
    }
}
