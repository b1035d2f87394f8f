//! The join packet: a strand's typed job (its body, then its result), and
//! the joiner's side of the join protocol (whose state every header holds:
//! `strand/job.rs`).

use super::JoinError;
use crate::runtime::context;
use crate::strand::job::{Held, Job, JoinSlot, Payload, PayloadSlot};
use crate::strand::Header;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};
use std::time::Instant;

/// The job table for a body of type `F` returning `T` (one static table
/// per pair of types).
pub(crate) struct Packet<F, T>(PhantomData<(F, T)>);

impl<F, T> Packet<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    const JOB: Job = Job {
        run: Self::run,
        drop_body: PayloadSlot::drop_in_place::<F>,
        drop_result: drop_result::<T>,
    };

    /// The payload holding `f`, and the table that knows its types.
    ///
    /// # Safety
    ///
    /// The payload no longer carries `F`'s and `T`'s lifetimes: the caller
    /// makes sure the body is run or dropped, and the result taken or
    /// dropped, before anything they borrow goes away.
    pub(crate) unsafe fn package(f: F) -> (Payload, &'static Job) {
        (Payload::with_body(PayloadSlot::new(f)), &Self::JOB)
    }

    /// The strand's first frame: takes the body, runs it (catching its
    /// panic), and stores the outcome, or drops it if the handle is gone
    /// (the strand's own context is the right place for user `Drop` code
    /// to run).
    ///
    /// # Safety
    ///
    /// [`Job::run`]'s: once, by the strand itself; its payload holds an `F`.
    unsafe fn run(strand: &Header) {
        // SAFETY: by the contract, the payload holds the body and the
        // strand's first frame is its only user now.
        let f: F = unsafe {
            strand.payload.with(|held, slot| {
                debug_assert_eq!(held, Held::Body);
                (Held::Nothing, slot.take::<F>())
            })
        };
        // (the strand's own header: no look-up of the running strand)
        let r = if strand.is_cancelled() {
            drop(f); // cancelled before it started: never runs
            Err(JoinError::cancelled())
        } else {
            panic::catch_unwind(AssertUnwindSafe(f)).map_err(JoinError::from_unwind)
        };
        if strand.join.is_detached() {
            if let (Some(scope), Err(e)) = (&strand.scope, &r) {
                if e.is_panic() {
                    scope.note_unhandled_panic(); // nobody will join it
                }
            }
            crate::abort::abort_on_unwind("a strand's result", move || drop(r));
            return;
        }
        // SAFETY: only the strand writes the result, once, before DONE,
        // into the payload it emptied above.
        unsafe {
            strand.payload.with(|_, slot| {
                slot.put(r);
                (Held::Result, ())
            })
        }
    }
}

/// Drops the result in `slot`; returns whether it was a panic.
///
/// # Safety
///
/// `slot` holds a `Result<T, JoinError>` (see [`PayloadSlot::take`]).
unsafe fn drop_result<T>(slot: &mut PayloadSlot) -> bool {
    // SAFETY: by the contract.
    let r = unsafe { slot.take::<Result<T, JoinError>>() };
    let panicked = matches!(&r, Err(e) if e.is_panic());
    drop(r);
    panicked
}

/// The handle let go after the end was published: drops what is left of
/// the result here (in the handle's context) and tells the scope.
///
/// # Safety
///
/// Called once, by the strand's handle, after [`JoinSlot::detach`]
/// returned `true`; the strand's result type is `T`.
pub(super) unsafe fn release<T>(strand: &Header) {
    // SAFETY: by the contract, the strand is done with the payload and the
    // handle is its only user.
    let left = unsafe {
        strand.payload.with(|held, slot| match held {
            Held::Result => (Held::Nothing, Some(slot.take::<Result<T, JoinError>>())),
            other => (other, None),
        })
    };
    let unhandled_panic = matches!(&left, Some(Err(e)) if e.is_panic());
    drop(left);
    if let Some(scope) = &strand.scope {
        scope.strand_done(unhandled_panic);
    }
}

/// Blocks (parks the strand, or the thread) until `strand` has ended, or
/// until `deadline`. Returns whether it has.
pub(super) fn wait(strand: &Header, deadline: Option<Instant>) -> bool {
    let join = &strand.join;
    if join.is_done() {
        return true;
    }
    let _recorded = context::joining(strand.id.as_u64(), deadline.is_some());
    let (waiter, pinned_at) = context::pinned_waiter();
    // SAFETY: the handle is the single joiner, and it withdraws (below)
    // before it could install again.
    if !unsafe { join.install(waiter, pinned_at) } {
        return true; // DONE meanwhile
    }
    // Withdraws the waiter if we leave without the end: on a timeout, or
    // when a cancellation unwinds through the wait.
    struct Withdraw<'a>(&'a JoinSlot);
    impl Drop for Withdraw<'_> {
        fn drop(&mut self) {
            // SAFETY: we installed it.
            unsafe { self.0.withdraw() };
        }
    }
    let _withdraw = Withdraw(join);
    loop {
        if join.is_done() {
            return true;
        }
        match deadline {
            None => context::block(),
            Some(d) if Instant::now() >= d => return false,
            Some(d) => context::block_until(d),
        }
    }
}

/// Takes the result of `strand`, whose result type is `T`.
///
/// # Safety
///
/// The caller is the strand's single joiner, it has seen the end published
/// ([`wait`] returned `true`), and the strand's result type is `T`.
pub(super) unsafe fn take_result<T>(strand: &Header) -> Result<T, JoinError> {
    // SAFETY: by the contract, the strand is done with the payload, which
    // holds a `T` result, and we are its only reader.
    unsafe {
        strand.payload.with(|held, slot| {
            assert_eq!(held, Held::Result, "a strand's result is taken once");
            (Held::Nothing, slot.take::<Result<T, JoinError>>())
        })
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Join vs finish: the result is neither lost nor read early, and the
    //! joiner is woken exactly when it waits.
    use super::*;
    use crate::loom::Arc;
    use crate::strand::{SchedRef, Schedule, Spec, StrandRef};
    use crate::JoinHandle;

    /// The strands here never park: nothing schedules them.
    struct NoSchedule;
    static NO_SCHEDULE: NoSchedule = NoSchedule;
    impl Schedule for NoSchedule {
        fn schedule(&self, _: StrandRef) {
            unreachable!("these strands never park")
        }
    }

    /// A strand with no stack (its job is run by hand, as its first frame
    /// would) and the handle that joins it.
    fn strand<F, T>(f: F) -> (StrandRef, JoinHandle<T>)
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // SAFETY: `F` and `T` are `'static`.
        let (payload, job) = unsafe { Packet::package(f) };
        // SAFETY: a `static` outlives every strand.
        let s = Header::new(Spec::default(), payload, job, None, unsafe {
            SchedRef::new(&NO_SCHEDULE)
        });
        // SAFETY: its result type is `T`, and this is its only handle.
        let h = unsafe { JoinHandle::from_strand(Arc::clone(&s)) };
        (s, h)
    }

    /// What the strand and then its worker do: run the body, publish.
    fn finish(s: StrandRef) {
        // SAFETY: once, as the strand's first frame and then its worker
        // would.
        unsafe {
            (s.job.run)(&s);
            s.publish();
        }
    }

    #[test]
    fn loom_join_races_finish() {
        loom::model(|| {
            let (s, h) = strand(|| 42u32);
            let finisher = loom::thread::spawn(move || finish(s));
            assert_eq!(h.join().unwrap(), 42); // parks this (loom) thread until published
            finisher.join().unwrap();
        });
    }

    #[test]
    fn loom_is_finished_only_after_the_result_is_stored() {
        loom::model(|| {
            let (s, h) = strand(|| String::from("done"));
            let finisher = loom::thread::spawn(move || finish(s));
            if h.is_finished() {
                assert_eq!(h.join().unwrap(), "done");
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
            let (s, h) = strand(move || Counted(d));
            let finisher = loom::thread::spawn(move || finish(s));
            drop(h); // detaches, or releases the result if it came first
            finisher.join().unwrap();
            assert_eq!(drops.load(SeqCst), 1, "the result is dropped exactly once");
        });
    }
}
