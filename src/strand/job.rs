//! What a strand runs and where its end is announced, all inside its
//! header: the [`Payload`] (its body, then its result), the [`Job`] table
//! that knows their types, and the [`JoinSlot`] (the join state and the
//! joiner's waker).
//!
//! One allocation per strand: a body and a result of up to
//! [`PAYLOAD_WORDS`] words live in the header itself (bigger or more
//! aligned ones are boxed: an [`InlineSlot`]), and the joiner reaches the
//! result through the `StrandRef` its handle holds anyway.
//!
//! # The join state
//!
//! `EMPTY → WAITING` (a joiner installed its waker) and then `DONE` (the
//! worker published the strand's end), or straight `EMPTY → DONE`; a handle
//! dropped unjoined moves `EMPTY → DETACHED`, after which the strand drops
//! its own result (and the state still moves to `DONE` when it is
//! published). The strand writes its result *before* the worker swaps in
//! `DONE` (release), and the worker wakes the waiter it finds; the joiner
//! reads the result only after seeing `DONE` (acquire).
//!
//! **Hand-off.** A strand that finishes while its joiner is parked on the
//! same worker, and pinned there, publishes its end itself and switches
//! straight to the joiner, which retires it as it resumes (before its join
//! reads anything: `runtime/worker/switch.rs`). The joiner says where it is
//! pinned as it installs its waker ([`JoinSlot::install`]); the finishing
//! strand reads the waker only when that is its own worker, where the
//! joiner cannot be running.

use super::waiter::Waiter;
use super::Header;
use crate::inline::InlineSlot;
use crate::loom::cell::UnsafeCell;
use crate::loom::{AtomicU32, AtomicU8, Ordering};

/// What a strand's payload is, for its types: the functions the typed
/// spawn path (`join_handle::packet`) provides, one static table per body
/// and result type.
pub(crate) struct Job {
    /// Runs the body and stores its outcome in the payload (or drops it,
    /// when the handle is gone: see [`JoinSlot::is_detached`]).
    ///
    /// Safety: called once, by the strand itself, in its first frame.
    pub(crate) run: unsafe fn(&Header),
    /// Drops a body that never ran. Safety: the payload holds the body.
    pub(crate) drop_body: unsafe fn(&mut PayloadSlot),
    /// Drops a result nobody took; returns whether it was a panic.
    /// Safety: the payload holds the result.
    pub(crate) drop_result: unsafe fn(&mut PayloadSlot) -> bool,
}

/// What a strand tells the owner of a group of strands (a scope) when it
/// is done, so the owner can wait for every body and result that may borrow
/// from it.
pub(crate) trait Owner: Send + Sync {
    /// One strand's body and result are gone; `unhandled_panic` if the
    /// result was a panic nobody took.
    fn strand_done(&self, unhandled_panic: bool);
    /// A strand whose handle was dropped panicked (nobody will join it).
    fn note_unhandled_panic(&self);
}

/// Words of the payload kept in the header itself; a body or a result
/// that does not fit (or is more aligned) is boxed, and the payload holds
/// the box.
pub(crate) const PAYLOAD_WORDS: usize = 6;

/// The payload's space: the body or the result, in place or boxed.
pub(crate) type PayloadSlot = InlineSlot<PAYLOAD_WORDS>;

/// What the payload holds now.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Held {
    Nothing,
    Body,
    Result,
}

/// The strand's body until it runs, then its result until the joiner takes
/// it: never both, so they share the space. Written by the spawner before
/// anyone sees the strand (the body); taken by the strand in its first
/// frame, which then writes the result before its end is published; read
/// by the joiner (or by whoever drops the handle) after the end is
/// published, or dropped with the header. The join state's edges order
/// these accesses (`JoinSlot`).
pub(crate) struct Payload {
    inner: UnsafeCell<PayloadInner>,
}

struct PayloadInner {
    held: Held,
    slot: PayloadSlot,
}

// SAFETY: the slot is not `Send` because it does not know what it holds
// (`inline.rs`); a payload holds only what the typed spawn path
// (`join_handle::packet`) puts there: a body that is `Send` and a
// `Result` of a `Send` value.
unsafe impl Send for PayloadInner {}

impl Payload {
    /// A payload holding a body, put into `body` by the typed spawn path
    /// (which makes the job table that knows its type).
    #[inline]
    pub(crate) fn with_body(body: PayloadSlot) -> Payload {
        Payload {
            inner: UnsafeCell::new(PayloadInner {
                held: Held::Body,
                slot: body,
            }),
        }
    }

    /// Runs `f` with what the payload holds and its space; `f` returns what
    /// it holds afterwards.
    ///
    /// # Safety
    ///
    /// The caller is the payload's user of the moment (see the type's docs)
    /// and `f` uses the slot as holding what it holds (the body's or the
    /// result's type, as the job table knows them).
    #[inline]
    pub(crate) unsafe fn with<R>(&self, f: impl FnOnce(Held, &mut PayloadSlot) -> (Held, R)) -> R {
        self.inner.with_mut(|p| {
            // SAFETY: by the contract, nobody else touches it now.
            let p = unsafe { &mut *p };
            let (held, r) = f(p.held, &mut p.slot);
            p.held = held;
            r
        })
    }

    /// Drops whatever is left, with `job`'s functions; returns whether it
    /// was a panic's result.
    ///
    /// # Safety
    ///
    /// The caller is the payload's only user (see the type's docs), and
    /// `job` is the strand's.
    pub(crate) unsafe fn drop_with(&self, job: &Job) -> bool {
        // SAFETY: by the contract.
        unsafe {
            self.with(|held, slot| {
                let panicked = match held {
                    Held::Body => {
                        (job.drop_body)(slot);
                        false
                    }
                    Held::Result => (job.drop_result)(slot),
                    Held::Nothing => false,
                };
                (Held::Nothing, panicked)
            })
        }
    }
}

pub(crate) const EMPTY: u8 = 0;
pub(crate) const WAITING: u8 = 1;
pub(crate) const DONE: u8 = 2;
/// The handle was dropped before the strand finished: nobody will take the
/// result, so the strand drops it itself (in strand context) instead of
/// leaving that to its worker.
pub(crate) const DETACHED: u8 = 3;

/// The join state and the joiner's waker (see the module docs).
pub(crate) struct JoinSlot {
    state: AtomicU8,
    /// Where the installed joiner is pinned (a worker's mark, see
    /// `Worker::mark`), or 0: a plain thread, or a strand that may move.
    /// Read only with `WAITING`. (Four bytes beside `state`: the header
    /// keeps its size.)
    pinned_at: AtomicU32,
    waiter: UnsafeCell<Option<Waiter>>,
}

impl JoinSlot {
    pub(crate) fn new() -> JoinSlot {
        JoinSlot {
            state: AtomicU8::new(EMPTY),
            pinned_at: AtomicU32::new(0),
            waiter: UnsafeCell::new(None),
        }
    }

    /// Whether the end is published (the result, if any, can be read).
    #[inline]
    pub(crate) fn is_done(&self) -> bool {
        self.state.load(Ordering::Acquire) == DONE
    }

    /// Whether a joiner's waker is installed (a hint: only the strand's
    /// own side, finishing, may act on it, through
    /// [`joiner_pinned_at`](Self::joiner_pinned_at)).
    #[inline]
    pub(crate) fn has_waiter(&self) -> bool {
        self.state.load(Ordering::Relaxed) == WAITING
    }

    /// Whether the handle was dropped before the end (the strand drops its
    /// own result).
    #[inline]
    pub(crate) fn is_detached(&self) -> bool {
        self.state.load(Ordering::Acquire) == DETACHED
    }

    /// Publishes the end and wakes the joiner, if one waits. Returns the
    /// state it replaced (`DETACHED`: nobody will ever look).
    pub(crate) fn publish(&self) -> u8 {
        let (was, waiter) = self.publish_taking();
        if let Some(w) = waiter {
            w.wake();
        }
        was
    }

    /// Publishes the end and hands back the joiner's waker, if one waits,
    /// without waking it. Returns the state it replaced too.
    fn publish_taking(&self) -> (u8, Option<Waiter>) {
        let was = self.state.swap(DONE, Ordering::AcqRel);
        if was != WAITING {
            return (was, None);
        }
        // SAFETY: WAITING was published after the joiner wrote `waiter`, and
        // the joiner touches it again only after moving the state back to
        // EMPTY, which our swap has made impossible.
        (was, self.waiter.with_mut(|w| unsafe { (*w).take() }))
    }

    /// The joiner, if it waits and is a strand pinned to the worker whose
    /// mark is `here` (parked, or queued there after a wake). The pointer
    /// is valid until the waker is taken.
    ///
    /// # Safety
    ///
    /// Called by the strand itself, finished and still running on that
    /// worker: a joiner pinned there cannot run meanwhile, so it cannot
    /// withdraw or reinstall its waker, and its handle (which it borrows
    /// while it waits) cannot detach.
    #[inline]
    pub(crate) unsafe fn joiner_pinned_at(&self, here: u32) -> Option<*const Header> {
        // Acquire: the waker the joiner wrote before its WAITING, and its
        // `pinned_at` (a later installer could only be another worker's
        // strand, whose mark is not `here`).
        if self.state.load(Ordering::Acquire) != WAITING
            || self.pinned_at.load(Ordering::Relaxed) != here
        {
            return None;
        }
        // SAFETY: by the contract, nobody writes `waiter` now: the joiner
        // cannot run, and only we publish.
        self.waiter.with(|w| match unsafe { &*w } {
            Some(Waiter::Strand(s)) => Some(&**s as *const Header),
            _ => None,
        })
    }

    /// Publishes the end and takes the joiner `joiner_pinned_at` found,
    /// which the caller took out of its park itself
    /// (`State::claim_parked`) to run it next.
    ///
    /// # Safety
    ///
    /// [`joiner_pinned_at`](Self::joiner_pinned_at)'s, and it returned the
    /// joiner since.
    pub(crate) unsafe fn publish_to_pinned(&self) -> super::StrandRef {
        match self.publish_taking() {
            (WAITING, Some(Waiter::Strand(s))) => s,
            _ => unreachable!("a pinned joiner withdrew while its worker was busy"),
        }
    }

    /// The handle is being dropped. Returns `true` if the end was already
    /// published (the dropper then owns whatever is left in the result
    /// slot); otherwise the state is now `DETACHED`.
    pub(crate) fn detach(&self) -> bool {
        // Only EMPTY moves to DETACHED (a joined handle finds DONE with a
        // plain load: no read-modify-write).
        match self.state.load(Ordering::Acquire) {
            DONE => true,
            _ => self
                .state
                .compare_exchange(EMPTY, DETACHED, Ordering::AcqRel, Ordering::Acquire)
                .is_err(),
        }
    }

    /// Installs the joiner's waker, and where the joiner is pinned (the
    /// mark of its worker, or 0: see [`joiner_pinned_at`](Self::joiner_pinned_at)).
    /// Returns `false` if the end was published meanwhile (the waker was
    /// not installed and is dropped).
    ///
    /// # Safety
    ///
    /// Only the single joiner calls this, and not again before
    /// [`withdraw`](Self::withdraw) or the end.
    pub(crate) unsafe fn install(&self, waiter: Waiter, pinned_at: u32) -> bool {
        // SAFETY: the joiner (us) is the only writer of `waiter` while the
        // state is EMPTY, and the strand's side reads it only after we
        // publish WAITING below.
        self.waiter.with_mut(|w| unsafe { *w = Some(waiter) });
        self.pinned_at.store(pinned_at, Ordering::Relaxed);
        if self
            .state
            .compare_exchange(EMPTY, WAITING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            return true;
        }
        // DONE meanwhile: the publisher never saw our waiter
        // SAFETY: as above; nobody reads `waiter` once DONE.
        drop(self.waiter.with_mut(|w| unsafe { (*w).take() }));
        false
    }

    /// Withdraws the joiner's waker if the end is not published yet (a
    /// timeout, or a cancellation unwinding through the wait).
    ///
    /// # Safety
    ///
    /// Only the joiner that installed it calls this.
    pub(crate) unsafe fn withdraw(&self) {
        if self.state.load(Ordering::Acquire) == WAITING
            && self
                .state
                .compare_exchange(WAITING, EMPTY, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            // SAFETY: back in EMPTY, the publisher will not touch the
            // waiter; we are its only user again.
            drop(self.waiter.with_mut(|w| unsafe { (*w).take() }));
        }
    }
}
