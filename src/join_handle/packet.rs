//! The join packet: where a strand's result goes, and who waits for it;
//! and wrapping a closure into a strand body that fills it.

use super::{JoinError, JoinHandle};
use crate::loom::cell::UnsafeCell;
use crate::loom::{Arc, AtomicU8, Ordering};
use crate::runtime::context;
use crate::strand::waiter::Waiter;
use crate::strand::{Exit, Strand, StrandRef};
use std::panic::{self, AssertUnwindSafe};
use std::time::Instant;

/// What a packet tells the owner of a group of strands (a scope) when it is
/// gone, so the owner can wait for every result that may borrow from it.
pub(crate) trait Owner: Send + Sync {
    /// One strand's packet is gone; `unhandled_panic` if it held a panic
    /// nobody took.
    fn strand_done(&self, unhandled_panic: bool);
    /// A strand whose handle was dropped panicked (nobody will join it).
    fn note_unhandled_panic(&self);
}

/// Where a strand's result goes, and who waits for it.
///
/// `state` goes `EMPTY → WAITING` (a joiner installed its waker) and then to
/// `DONE` (the result is written), or straight `EMPTY → DONE`; a handle
/// dropped unjoined moves `EMPTY → DETACHED`, after which the strand drops
/// its own result (and still moves to `DONE` when it is published). The strand
/// writes the result *before* swapping in `DONE` (release) and wakes the
/// waiter it finds; the joiner reads the result only after seeing `DONE`
/// (acquire).
pub(super) struct Packet<T> {
    state: AtomicU8,
    result: UnsafeCell<Option<Result<T, JoinError>>>,
    waiter: UnsafeCell<Option<Waiter>>,
    /// The scope this strand belongs to, told when the packet (and with it
    /// any result that may borrow from the scope) is gone.
    scope: Option<Arc<dyn Owner>>,
}

impl<T> Drop for Packet<T> {
    fn drop(&mut self) {
        let Some(scope) = self.scope.take() else {
            return;
        };
        // SAFETY: `&mut self`: nobody else holds the packet.
        let result = self.result.with_mut(|r| unsafe { (*r).take() });
        let unhandled_panic = matches!(&result, Some(Err(e)) if e.is_panic());
        // The result may borrow from the scope: drop it before the scope can
        // end.
        crate::abort::abort_on_unwind("a scoped strand's result", move || drop(result));
        scope.strand_done(unhandled_panic);
    }
}

const EMPTY: u8 = 0;
const WAITING: u8 = 1;
const DONE: u8 = 2;
/// The handle was dropped before the strand finished: nobody will take the
/// result, so the strand drops it itself (in strand context) instead of
/// leaving that to its worker.
const DETACHED: u8 = 3;

// SAFETY: `result` is written once by the strand before `DONE` is published
// and read by the single joiner after it observes `DONE`; `waiter` is written
// by the joiner before it publishes `WAITING` and taken by the strand after
// it observes `WAITING`. The state's acquire/release edges order each pair.
unsafe impl<T: Send> Sync for Packet<T> {}
// SAFETY: as above; the packet only carries `T` between threads.
unsafe impl<T: Send> Send for Packet<T> {}

impl<T: Send> Exit for Packet<T> {
    fn publish(&self) {
        if self.state.swap(DONE, Ordering::AcqRel) == WAITING {
            // SAFETY: WAITING was published after the joiner wrote `waiter`.
            if let Some(w) = self.waiter.with_mut(|w| unsafe { (*w).take() }) {
                w.wake();
            }
        }
    }
}

impl<T> Packet<T> {
    /// Stores the strand's outcome; published later by [`Exit::publish`].
    /// If the handle is gone, drops it here instead: the strand's own
    /// context is the right place for user `Drop` code to run.
    fn store(&self, r: Result<T, JoinError>) {
        if self.state.load(Ordering::Acquire) == DETACHED {
            if let (Some(scope), Err(e)) = (&self.scope, &r) {
                if e.is_panic() {
                    scope.note_unhandled_panic(); // nobody will join it
                }
            }
            crate::abort::abort_on_unwind("a strand's result", move || drop(r));
            return;
        }
        // SAFETY: only the strand writes `result`, once, before DONE.
        self.result.with_mut(|p| unsafe { *p = Some(r) });
    }

    /// The handle is being dropped without joining.
    pub(super) fn detach(&self) {
        // Only EMPTY moves to DETACHED: once DONE, the result is dropped
        // with the packet by whoever lets go of it last. (A joined handle
        // finds DONE with a plain load: no read-modify-write.)
        if self.state.load(Ordering::Acquire) == EMPTY {
            let _ =
                self.state
                    .compare_exchange(EMPTY, DETACHED, Ordering::AcqRel, Ordering::Acquire);
        }
    }

    pub(super) fn is_done(&self) -> bool {
        self.state.load(Ordering::Acquire) == DONE
    }

    /// Blocks (parks the strand, or the thread) until the result is there,
    /// or until `deadline`. Returns whether the result is there. `strand`
    /// is the id of the strand joined (for the wait record).
    pub(super) fn wait(&self, strand: u64, deadline: Option<Instant>) -> bool {
        if self.is_done() {
            return true;
        }
        let _recorded = context::joining(strand, deadline.is_some());
        // SAFETY: the joiner (us) is the only writer of `waiter`, and the
        // strand reads it only after we publish WAITING below.
        self.waiter
            .with_mut(|w| unsafe { *w = Some(context::waiter()) });
        if self
            .state
            .compare_exchange(EMPTY, WAITING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return true; // DONE meanwhile: the strand never saw our waiter
        }
        // Withdraws the waiter if we leave without the result: on a timeout,
        // or when a cancellation unwinds through the wait.
        struct Withdraw<'a, T>(&'a Packet<T>);
        impl<T> Drop for Withdraw<'_, T> {
            fn drop(&mut self) {
                let p = self.0;
                // after a successful wait the state is DONE: a load tells
                if p.state.load(Ordering::Acquire) == WAITING
                    && p.state
                        .compare_exchange(WAITING, EMPTY, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                {
                    // SAFETY: back in EMPTY, the strand will not touch the
                    // waiter; we are its only user again.
                    drop(p.waiter.with_mut(|w| unsafe { (*w).take() }));
                }
            }
        }
        let _withdraw = Withdraw(self);
        loop {
            if self.is_done() {
                return true;
            }
            match deadline {
                None => context::block(),
                Some(d) if Instant::now() >= d => return false,
                Some(d) => context::block_until(d),
            }
        }
    }

    pub(super) fn take(&self) -> Result<T, JoinError> {
        // SAFETY: called by the single joiner after observing DONE.
        self.result
            .with_mut(|r| unsafe { (*r).take() })
            .expect("a strand's result is taken once")
    }
}

/// The pieces `spawn` builds before it knows the strand.
pub(crate) struct HandleParts<T> {
    pub(super) packet: Arc<Packet<T>>,
}

impl<T> HandleParts<T> {
    pub(crate) fn finish(self, strand: StrandRef) -> JoinHandle<T> {
        JoinHandle::new(Strand { inner: strand }, self.packet)
    }
}

/// A strand body built by [`package_in`].
pub(crate) type Packaged<'a, T> = (
    Box<dyn FnOnce() + Send + 'a>,
    Arc<dyn Exit + 'a>,
    HandleParts<T>,
);

/// Wraps `f` into a strand body that catches its panic and stores the
/// outcome in a packet, the exit that publishes it, and the parts of the
/// handle that joins it.
pub(crate) fn package_in<'a, F, T>(f: F, scope: Option<Arc<dyn Owner>>) -> Packaged<'a, T>
where
    F: FnOnce() -> T + Send + 'a,
    T: Send + 'a,
{
    let packet = Arc::new(Packet {
        state: AtomicU8::new(EMPTY),
        result: UnsafeCell::new(None),
        waiter: UnsafeCell::new(None),
        scope,
    });
    let theirs = Arc::clone(&packet);
    let body = Box::new(move || {
        let r = if context::cancelled() {
            drop(f); // cancelled before it started: never runs
            Err(JoinError::cancelled())
        } else {
            panic::catch_unwind(AssertUnwindSafe(f)).map_err(JoinError::from_unwind)
        };
        theirs.store(r);
    });
    let exit: Arc<dyn Exit + 'a> = packet.clone();
    (body, exit, HandleParts { packet })
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Join vs finish: the result is neither lost nor read early, and the
    //! joiner is woken exactly when it waits.
    use super::*;
    use crate::loom::Arc;

    #[test]
    fn loom_join_races_finish() {
        loom::model(|| {
            let (body, exit, parts) = package_in(|| 42u32, None);
            let packet = Arc::clone(&parts.packet);
            let finisher = loom::thread::spawn(move || {
                body();
                exit.publish();
            });
            packet.wait(1, None); // parks this (loom) thread until published
            assert_eq!(packet.take().unwrap(), 42);
            finisher.join().unwrap();
        });
    }

    #[test]
    fn loom_is_finished_only_after_the_result_is_stored() {
        loom::model(|| {
            let (body, exit, parts) = package_in(|| String::from("done"), None);
            let packet = Arc::clone(&parts.packet);
            let finisher = loom::thread::spawn(move || {
                body();
                exit.publish();
            });
            if packet.is_done() {
                assert_eq!(packet.take().unwrap(), "done");
            }
            finisher.join().unwrap();
        });
    }

    #[test]
    fn loom_detach_races_finish_and_drops_the_result_once() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        struct Counted(Arc<AtomicUsize>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_add(1, SeqCst);
            }
        }
        loom::model(|| {
            let drops = Arc::new(AtomicUsize::new(0));
            let d = Arc::clone(&drops);
            let (body, exit, parts) = package_in(move || Counted(d), None);
            let finisher = loom::thread::spawn(move || {
                body();
                exit.publish();
                drop(exit);
            });
            // what dropping the JoinHandle does
            parts.packet.detach();
            drop(parts);
            finisher.join().unwrap();
            assert_eq!(drops.load(SeqCst), 1, "the result is dropped exactly once");
        });
    }
}
