//! The strand's header: what the runtime keeps of one strand.
//!
//! # Fields
//!
//! | field | who touches it, and when |
//! |---|---|
//! | `id`, `name`, `priority`, `deadline`, `migratable`, `spawned_at` | anyone; fixed at spawn |
//! | `sched` | fixed at spawn; used only to schedule the strand after a wake (`SchedRef`) |
//! | `state` | anyone, through its protocol (`state.rs`) |
//! | `cancelled`, `unparked` | anyone sets them; the strand reads them at its blocking points |
//! | `wait` | the strand writes it as a wait begins and ends (`context::waiting`); anyone reads it (dumps, the watchdog) |
//! | `registry_slot` | the registry, under its shard's lock |
//! | `home` | the worker that installs the strand to run it |
//! | `unwinding` | the strand while it runs (and the panic hook on its thread); its worker reads it at a switch |
//! | `stay` | the worker, as the strand switches out; queues read it |
//! | `record` | the strand while it runs (and `grow`), and the overflow handler on its thread |
//! | `ctx` | the strand's *owner*: the worker switching into or out of it |
//! | `stack` | the owner, while the strand is suspended or switching out |
//! | `locals` | the strand itself while it runs; its first frame drops them |
//! | `join` | its own protocol (`job.rs`): the joiner and the worker that publishes the end |
//! | `payload` | its own protocol (`job.rs`): the spawner writes the body, the strand's first frame takes it and writes the result, the joiner (or the dropped handle, or the worker publishing a detached end) takes or drops what is left |
//! | `job`, `scope` | anyone; fixed at spawn |
//!
//! The *owner* of a strand is whoever holds its [`StrandRef`] as a run queue
//! entry, a running slot or a registered waiter (see `strand/mod.rs`):
//! exactly one party at a time, handed over through the run queues and the
//! state machine's acquire/release edges. The three cells are private; their
//! accessors are `unsafe fn`s whose contract is the row above.

use super::job::{Job, JoinSlot, Owner, Payload};
use super::locals::Locals;
use super::wait::WaitRecord;
use super::{Spec, State, StrandId};
use crate::arch::RawContext;
use crate::loom::cell::UnsafeCell;
use crate::loom::{Arc, AtomicBool, AtomicUsize, Ordering};
use crate::stack::overflow::StackRecord;
use crate::stack::Stack;

/// Something that can run a woken strand again (its runtime).
pub(crate) trait Schedule: Send + Sync {
    /// Makes `strand`, just woken from `Parked`, runnable on its home worker.
    ///
    /// It is called through the strand's [`SchedRef`], which promises only
    /// that the scheduler lives while the strand is unfinished. Once the
    /// strand is handed to a queue it can run and finish, and `self` may go
    /// with it: an implementation that still uses `self` after handing the
    /// strand over keeps itself alive until it is done.
    fn schedule(&self, strand: StrandRef);
}

/// The scheduler of a strand, as its header holds it: a plain pointer.
/// A counted reference (`Arc<dyn Schedule>`) cost every spawn two
/// read-modify-writes of the one counter all the runtime's workers share.
///
/// It is sound because a runtime outlives its unfinished strands: its
/// workers hold it, and they exit only once no strand is live
/// (`runtime/gate.rs`). The header uses it only to schedule a strand that
/// a wake took out of `Parked`, which is live until it runs again.
#[derive(Clone, Copy)]
pub(crate) struct SchedRef(std::ptr::NonNull<dyn Schedule>);

// SAFETY: a `Schedule` is `Send + Sync`; the pointer is only read.
unsafe impl Send for SchedRef {}
// SAFETY: as above.
unsafe impl Sync for SchedRef {}

impl SchedRef {
    /// # Safety
    ///
    /// `sched` stays alive while any strand given this reference is
    /// unfinished (it is only used to schedule such a strand).
    pub(crate) unsafe fn new<S: Schedule + 'static>(sched: &S) -> SchedRef {
        SchedRef(std::ptr::NonNull::from(sched as &dyn Schedule))
    }
}

/// The first frame of a strand: called by the architecture's trampoline
/// with the header's address (the runtime provides it, see
/// `runtime::worker`).
pub(crate) type Entry = unsafe extern "C" fn(*mut u8);

/// An owning reference to a strand: runnable, running, or registered with
/// what it waits for.
pub(crate) type StrandRef = Arc<Header>;

/// A strand, as the runtime sees it. See the module docs for who may touch
/// which field.
pub(crate) struct Header {
    pub(crate) id: StrandId,
    pub(crate) name: Option<Box<str>>,
    pub(crate) priority: crate::Priority,
    /// Earliest deadline first within its level (strands without one come
    /// after those with one).
    pub(crate) deadline: Option<std::time::Instant>,
    /// May be stolen by another worker while runnable, not only before it
    /// starts (see `Builder::migratable`).
    pub(crate) migratable: bool,
    /// Where it was spawned (the user's call), for reports.
    pub(crate) spawned_at: Option<&'static std::panic::Location<'static>>,
    pub(crate) state: State,
    /// Set by [`Header::cancel`]: the strand's next blocking point unwinds.
    pub(crate) cancelled: AtomicBool,
    /// The token of `strands::park` / `Strand::unpark` (std's semantics).
    pub(crate) unparked: AtomicBool,
    /// What it waits for, while it does (see `wait.rs`).
    pub(crate) wait: WaitRecord,
    /// Its slot in the runtime's registry of live strands.
    pub(crate) registry_slot: AtomicUsize,
    /// Worker the strand first ran on (where it stays); `usize::MAX` before.
    pub(crate) home: AtomicUsize,
    /// Whether the strand itself is unwinding (a panic or a cancellation
    /// that started in it and has not been caught), as far as the runtime
    /// can tell: see `runtime::context::refresh_unwinding`.
    pub(crate) unwinding: AtomicBool,
    /// Set as the strand switches out while its thread is unwinding: a
    /// migratable strand then stays on its worker until it switches out
    /// with no unwind in flight there (std counts panics per thread, so an
    /// unwind must end on the thread it began on).
    pub(crate) stay: AtomicBool,
    /// Switches, time running and parked, for dumps (`stats.rs`).
    pub(crate) stats: super::stats::Stats,
    /// Its runtime, while the strand is unfinished (see [`SchedRef`]).
    sched: SchedRef,
    /// Published to the overflow handler while the strand runs.
    pub(crate) record: StackRecord,
    /// Saved context while not running.
    ctx: UnsafeCell<RawContext>,
    /// The stack; taken by the worker when the strand is done.
    stack: UnsafeCell<Option<Stack>>,
    /// Strand-local values; dropped by the strand when its body is done.
    locals: UnsafeCell<Locals>,
    /// The join state and the joiner's waker (`job.rs`).
    pub(crate) join: JoinSlot,
    /// The body until it runs, then its result (`job.rs`).
    pub(crate) payload: Payload,
    /// What runs the body and drops what is left of the payload, for its
    /// types.
    pub(crate) job: &'static Job,
    /// The scope the strand belongs to, if any: told once the body and
    /// the result (which may borrow from it) are gone.
    pub(crate) scope: Option<Arc<dyn Owner>>,
}

// SAFETY: the three cells (`ctx`, `stack`, `locals`) are touched only by
// the strand's owner or by the strand itself while it runs (the table in the
// module docs); ownership passes between threads through the run queues and
// the state machine's acquire/release edges, which order every access before
// a hand-over with every access after it. The join slot's and the
// payload's cells have their own protocol (`job.rs`). `record` is written only by the thread running the
// strand (its fields are atomics the overflow handler reads). Everything
// else is immutable or atomic.
unsafe impl Send for Header {}
// SAFETY: as above; shared references (`Strand` handles, wakers that lost a
// race) read only the immutable fields and the atomics.
unsafe impl Sync for Header {}

impl Drop for Header {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: nobody else holds the strand; its payload
        // holds what its tag says, of `job`'s types.
        unsafe { self.payload.drop_with(self.job) };
    }
}

impl Header {
    /// A strand that will run the body in `payload` (put there for `job`'s
    /// types); it gets its stack from [`Header::attach`] and the context
    /// its first switch resumes from [`Header::prepare`].
    pub(crate) fn new(
        spec: Spec,
        payload: Payload,
        job: &'static Job,
        scope: Option<Arc<dyn Owner>>,
        sched: SchedRef,
    ) -> StrandRef {
        let id = StrandId::next();
        let name: Option<Box<str>> = spec.name.map(String::into_boxed_str);
        let record = StackRecord::new(id.as_u64(), name.as_deref());
        // Built in place: the header is a few hundred bytes, and moving it
        // through the stack into the `Arc` showed up as a memcpy per spawn.
        // (`Arc::get_mut` would do, but its uniqueness check is a
        // compare-and-swap per spawn; a fresh `Arc` is unique anyway.)
        let p = Arc::into_raw(Arc::<Header>::new_uninit())
            .cast::<Header>()
            .cast_mut();
        // SAFETY: `p` points to the fresh allocation, which nobody else can
        // name (its one `Arc` became `p`), so writing through it races
        // nothing; the whole header is written before `from_raw` turns it
        // back into the `Arc` (of the same allocation: `MaybeUninit<Header>`
        // and `Header` have one layout, as `from_raw` requires).
        unsafe {
            p.write(Header {
                id,
                name,
                priority: spec.priority,
                deadline: spec.deadline,
                migratable: spec.migratable,
                spawned_at: spec.spawned_at,
                state: State::new(),
                cancelled: AtomicBool::new(false),
                unparked: AtomicBool::new(false),
                wait: WaitRecord::new(),
                registry_slot: AtomicUsize::new(usize::MAX),
                home: AtomicUsize::new(usize::MAX),
                unwinding: AtomicBool::new(false),
                stay: AtomicBool::new(false),
                stats: super::stats::Stats::new(),
                sched,
                ctx: UnsafeCell::new(RawContext::empty()),
                stack: UnsafeCell::new(None),
                record,
                locals: UnsafeCell::new(Locals::default()),
                join: JoinSlot::new(),
                payload,
                job,
                scope,
            });
            Arc::from_raw(p)
        }
    }

    /// Asks the strand to stop: its next blocking point (or the one it is
    /// parked in) unwinds with a cancellation, so its `Drop`s run. A strand
    /// that has not started yet does not run its body at all.
    pub(crate) fn cancel(self: &Arc<Self>) {
        if !self.cancelled.swap(true, Ordering::AcqRel) {
            self.wake();
        }
    }

    /// Wakes the strand if it is parked; otherwise leaves a token so that its
    /// next park returns at once. The strand is scheduled exactly once.
    pub(crate) fn wake(self: &Arc<Self>) {
        if self.state.wake() {
            // SAFETY: the wake took the strand out of `Parked`: it is
            // unfinished until it runs again, so its runtime is alive.
            let sched = unsafe { self.sched.0.as_ref() };
            sched.schedule(Arc::clone(self));
        }
    }

    /// [`Header::wake`] through a reference the caller gives up (a
    /// registered waiter): the queue takes that reference instead of a
    /// clone of it, two reference-count updates fewer per wake.
    pub(crate) fn wake_owned(self: Arc<Self>) {
        if self.state.wake() {
            // SAFETY: as in `wake`; and `schedule` keeps the scheduler
            // alive for as long as it uses it after giving the strand away
            // (the trait's contract).
            let sched = unsafe { self.sched.0.as_ref() };
            sched.schedule(self);
        }
    }

    /// Publishes the strand's end to its joiner, and to its scope if the
    /// handle went first. Called once by the worker, after the strand is
    /// done, its stack is back and the runtime stopped counting it, so a
    /// joiner that returns sees the strand entirely gone.
    ///
    /// # Safety
    ///
    /// The caller is the worker that owns the finished strand.
    pub(crate) unsafe fn publish(&self) {
        if self.join.publish() == super::job::DETACHED {
            // The handle went first. The strand dropped its own result,
            // unless the handle went between the store and now: then the
            // result goes here, not with whoever drops the header last.
            // SAFETY: the handle is gone and the strand is done: the
            // caller is the payload's only user.
            let unhandled_panic = unsafe { self.payload.drop_with(self.job) };
            if let Some(scope) = &self.scope {
                scope.strand_done(unhandled_panic);
            }
        }
    }

    /// Gives the strand its stack. Its first context is made when it first
    /// runs ([`Header::prepare`]), not here: a spawn that wrote the first
    /// frame at the top of the stack brought that line in only for the
    /// strand to find it evicted when its turn came (thousands spawned at
    /// once), and paid the page fault on the spawner's side.
    ///
    /// # Safety
    ///
    /// Called once, before the strand is visible to anyone but its spawner
    /// (no queue, no registry).
    pub(crate) unsafe fn attach(&self, stack: Stack) {
        let (glo, ghi) = stack.guard_range();
        self.record.set(glo, ghi, stack.top() as usize);
        // SAFETY: by the contract, nobody else can see the strand yet.
        unsafe { self.stack.with_mut(|s| *s = Some(stack)) };
    }

    /// Makes the context the strand's first switch resumes: a frame at the
    /// top of its stack that calls `entry` with the header's address.
    ///
    /// # Safety
    ///
    /// The caller owns the strand, which has a stack ([`Header::attach`])
    /// and has never run; it is about to be switched into.
    pub(crate) unsafe fn prepare(&self, entry: Entry) {
        let arg = self as *const Header as *mut u8;
        // SAFETY: by the contract, the caller alone touches the cells now.
        unsafe {
            let (top, base) = self.stack.with_mut(|s| {
                let s = (*s).as_ref().expect("a strand about to run has its stack");
                (s.top(), s.base())
            });
            // SAFETY: the stack is owned by this strand and unused; `arg`
            // stays valid while the strand can run because the reference
            // that runs it holds an `Arc` to the header.
            let ctx = crate::arch::init(top, base, entry, arg);
            self.ctx.with_mut(|c| *c = ctx);
        }
    }

    /// Where the strand's context is saved while it does not run, for the
    /// switch (which writes it as the strand leaves and reads it as it
    /// resumes).
    ///
    /// # Safety
    ///
    /// The caller owns the strand (see the module docs) and uses the
    /// pointer only for a switch into or out of it, while it owns it.
    #[inline]
    pub(crate) unsafe fn context_slot(&self) -> *mut RawContext {
        // The pointer leaves the closure: the switch reads and writes it in
        // assembly, which no model checker sees anyway.
        self.ctx.with_mut(|c| c)
    }

    /// Runs `f` with the strand's stack slot (`None` once the stack is
    /// gone).
    ///
    /// # Safety
    ///
    /// The caller owns the strand and it is not running: suspended, or its
    /// context has just been saved by a switch out of it.
    #[inline]
    pub(crate) unsafe fn with_stack<R>(&self, f: impl FnOnce(&mut Option<Stack>) -> R) -> R {
        // SAFETY: by the contract, nobody else touches the slot now.
        self.stack.with_mut(|s| f(unsafe { &mut *s }))
    }

    /// Runs `f` with the strand's locals.
    ///
    /// # Safety
    ///
    /// Called by the strand itself while it runs, and not re-entered from
    /// `f` (no second `&mut` to the same map).
    #[inline]
    pub(crate) unsafe fn with_locals<R>(&self, f: impl FnOnce(&mut Locals) -> R) -> R {
        // SAFETY: by the contract, this is the only access.
        self.locals.with_mut(|l| f(unsafe { &mut *l }))
    }

    /// Whether the strand was asked to stop.
    #[inline]
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// Whether the runtime believes the strand is unwinding.
    #[inline]
    pub(crate) fn is_unwinding(&self) -> bool {
        self.unwinding.load(Ordering::Relaxed)
    }

    /// Whether an idle worker may take the strand now: it was spawned
    /// `migratable` and did not switch out mid-unwind.
    #[inline]
    pub(crate) fn may_move(&self) -> bool {
        self.migratable && !self.stay.load(Ordering::Relaxed)
    }
}
