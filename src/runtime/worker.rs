//! A worker thread: runs strands from its queues, one at a time.
//!
//! A strand that parks or finishes switches back to the worker's own
//! context, which carries out what the strand asked for (its [`Action`])
//! *after* the switch has completed (rule 1 of [`crate::strand::state`]) and
//! then switches into the next runnable strand. A yield goes straight to
//! the next strand of the worker's own queues when there is one
//! ([`Worker::yield_direct`]), otherwise through the worker too.
//!
//! What a worker serves, in order: its own queues by the agenda (see
//! [`super::agenda`]), after moving in the strands woken for it on other
//! threads (its remote queue); then the runtime's injectors (fresh strands
//! spawned from outside); then other workers' stealable strands, a batch at
//! a time. With nothing to do it parks its thread until something is pushed
//! for it (no spinning).

use super::agenda::LocalQueues;
use super::Shared;
use crate::arch::{self, RawContext};
use crate::loom::{Arc, Ordering};
use crate::stack::overflow::{self, AltStack};
use crate::strand::{Header, Task};
use std::cell::{Cell, UnsafeCell};
use std::ptr;

/// Most stacks a worker keeps for reuse.
const STACK_CACHE: usize = 64;

/// Every this many picks a busy worker fires due timers and polls for I/O
/// (`Shared::maintain`); a prime, so it does not fall into step with the
/// agenda's 4- and 16-pick cycles.
const MAINTAIN_EVERY: u32 = 61;

/// What a strand asked for when it switched back to its worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Run me again later.
    Yield,
    /// I wait for a wake (see `strand::state`).
    Park,
    /// I am finished; free my stack.
    Done,
}

/// Thread-local state of one worker thread.
pub(crate) struct Worker {
    pub(crate) shared: Arc<Shared>,
    pub(crate) index: usize,
    /// The worker's own context, saved while a strand runs.
    ctx: UnsafeCell<RawContext>,
    /// The strand running now.
    running: UnsafeCell<Option<Task>>,
    action: Cell<Action>,
    queues: LocalQueues,
    /// Stacks of the default size kept by this worker for its next spawns,
    /// so that most spawns and exits skip the pool's lock.
    stack_cache: std::cell::RefCell<Vec<crate::stack::Stack>>,
    /// Switches into strands, published to metrics.
    switches: Cell<u64>,
    /// Parks of strands on this worker, published to metrics.
    parks: Cell<u64>,
    /// Strands finished on this worker, per priority, published to metrics.
    finished: [Cell<u64>; 3],
    /// Picks since the last `Shared::maintain` (direct yields included).
    ticks: Cell<u32>,
}

thread_local! {
    /// The worker this thread is, or null.
    static WORKER: Cell<*const Worker> = const { Cell::new(ptr::null()) };
}

/// Runs `f` with the worker of this thread, if it is one.
#[inline]
pub(crate) fn with_worker<R>(f: impl FnOnce(Option<&Worker>) -> R) -> R {
    let w = WORKER.try_with(|w| w.get()).unwrap_or(ptr::null());
    // SAFETY: a non-null WORKER points to the worker living on this thread's
    // stack frame in `run_worker`, for as long as it is published.
    f(unsafe { w.as_ref() })
}

/// The task running on this thread, if this thread runs a strand now.
pub(crate) fn current_task() -> Option<Task> {
    with_worker(|w| {
        // SAFETY: `running` is only written by this thread's worker loop,
        // which is suspended while strand code (our caller) runs.
        w.and_then(|w| unsafe { (*w.running.get()).clone() })
    })
}

impl Worker {
    /// Switches from the running strand back to this worker, asking for
    /// `action`. Returns when the strand is resumed (never for `Done`).
    ///
    /// # Safety
    ///
    /// Must be called from strand code running on this worker.
    unsafe fn switch_out(&self, action: Action) {
        self.action.set(action);
        // SAFETY: the running task is owned by this worker while the strand
        // runs (the caller is that strand); its header outlives the switch.
        let task = unsafe { (*self.running.get()).as_ref().expect("a strand is running") };
        let save = task.ctx.get();
        // SAFETY: [1] `save` is the running strand's context slot, valid
        // until it is resumed. [2] the worker's context was saved by
        // `run_task` when it switched into this strand and not resumed since.
        unsafe { arch::switch(save, self.ctx.get()) };
    }

    /// Pushes a strand that lives on this worker (started here) back onto
    /// its queue.
    pub(crate) fn push_local(&self, task: Task) {
        let stealable = self.queues.push_started(task);
        self.pushed(stealable);
    }

    /// Pushes a strand of this worker that yielded (see
    /// `LocalQueues::push_yielded`).
    fn push_yielded(&self, task: Task) {
        let stealable = self.queues.push_yielded(task);
        self.pushed(stealable);
    }

    fn pushed(&self, stealable: bool) {
        if stealable && self.queues.depths().iter().sum::<usize>() > 1 {
            // a migratable strand waits behind others: another worker may
            // take it
            self.shared.wake_sleeper();
        }
    }

    /// Pushes a fresh strand spawned on this worker; wakes a sleeping
    /// worker to steal when more than one waits (one is this worker's own
    /// next pick: waking a thread for it would only cost a context switch).
    pub(crate) fn push_fresh(&self, task: Task) {
        if self.queues.push_fresh(task) > 1 {
            self.shared.wake_sleeper();
        }
    }

    /// Moves strands woken on other threads into the local queues.
    fn drain_remote(&self) {
        let me = &self.shared.workers[self.index];
        while !me.remote.is_empty() {
            match me.remote.steal() {
                crossbeam_deque::Steal::Success(t) => self.push_local(t),
                crossbeam_deque::Steal::Empty => break,
                crossbeam_deque::Steal::Retry => {}
            }
        }
    }

    /// A yield that hands this worker straight to the next strand of its
    /// own queues, without passing through the worker's context: one switch
    /// instead of two. Returns `false` (without switching) when no other
    /// local strand is queued; the caller then yields the ordinary way (and
    /// the worker looks further: injectors, stealing, timers).
    ///
    /// Sound for a yield (not for a park): the yielding strand is pushed
    /// back onto this worker's started queue *before* its context is saved,
    /// but only this worker ever takes from that queue, and it is busy
    /// running us until the switch below has completed.
    ///
    /// # Safety
    ///
    /// Must be called from strand code running on this worker.
    unsafe fn yield_direct(&self) -> bool {
        // SAFETY: `running` is owned by this worker; the caller is its strand.
        if unsafe { (*self.running.get()).as_ref() }.is_some_and(|t| t.migratable) {
            // pushed before its context is saved, it could be stolen and
            // resumed half-saved: it goes through the worker instead
            return false;
        }
        if self.ticks.get() >= MAINTAIN_EVERY {
            return false; // through the worker, which fires timers and polls
        }
        self.ticks.set(self.ticks.get() + 1);
        self.drain_remote();
        if self.queues.is_empty() {
            return false;
        }
        // SAFETY: the running strand (the caller) is owned by this worker.
        let cur = unsafe { (*self.running.get()).take() }.expect("a strand is running");
        // what `run_task` checks after a switch-out, checked now
        let here = 0u8;
        check_stack(&cur, std::hint::black_box(&here) as *const u8 as usize);
        let save = cur.ctx.get();
        let cur_ptr = Arc::as_ptr(&cur);
        // back in line first, so the agenda picks exactly as it would
        // through the worker
        self.queues.push_yielded(cur); // the queue's Arc keeps `save` valid
        let next = self
            .queues
            .pop()
            .expect("the queues hold at least the yielding strand");
        if std::ptr::eq(Arc::as_ptr(&next), cur_ptr) {
            // the agenda picked the yielding strand itself
            // SAFETY: `running` belongs to this worker; emptied above.
            unsafe { *self.running.get() = Some(next) };
            return true;
        }
        let header = self.install(next);
        if self.switches.get().is_multiple_of(64) {
            self.publish_metrics();
        }
        // SAFETY: [1] `save` is our own context slot, kept alive by the
        // queue's Arc, resumed only after this switch completes (see above).
        // [2] `next` was runnable and owned by this worker: its context is
        // saved or fresh and not resumed since.
        unsafe { arch::switch(save, header.ctx.get()) };
        true
    }

    fn next_task(&self) -> Option<Task> {
        self.drain_remote();
        if let Some(t) = self.queues.pop() {
            return Some(t);
        }
        let n = self.shared.workers.len();
        let others = (1..n).map(|k| &self.shared.workers[(self.index + k) % n].stealers);
        let task = self.queues.take_from(&self.shared.injectors, others);
        // published at once, so a stolen strand's joiner sees it counted
        self.shared.workers[self.index]
            .steals
            .store(self.queues.steals.get(), Ordering::Relaxed);
        if task.is_some() && self.shared.injectors.iter().any(|i| !i.is_empty()) {
            self.shared.wake_sleeper(); // there is work for another worker too
        }
        task
    }

    /// Whether any queue this worker serves holds a strand (checked before
    /// it goes to sleep).
    fn has_work(&self) -> bool {
        !self.queues.is_empty()
            || !self.shared.workers[self.index].remote.is_empty()
            || self.shared.injectors.iter().any(|i| !i.is_empty())
            || self.shared.workers.iter().any(|w| !w.stealers.is_empty())
    }

    /// Keeps a finished strand's stack for this worker's next spawn, or
    /// returns it to the pool.
    fn cache_stack(&self, mut stack: crate::stack::Stack) {
        let mut cache = self.stack_cache.borrow_mut();
        if stack.size() == self.shared.stack_size && cache.len() < STACK_CACHE {
            stack.recycle();
            cache.push(stack);
            self.shared.stacks_in_caches.fetch_add(1, Ordering::Relaxed);
        }
        // else: dropped, back to the pool
    }

    /// A cached stack of the runtime's default size, if this worker has one.
    pub(crate) fn cached_stack(&self) -> Option<crate::stack::Stack> {
        let s = self.stack_cache.borrow_mut().pop();
        if s.is_some() {
            self.shared.stacks_in_caches.fetch_sub(1, Ordering::Relaxed);
        }
        s
    }

    /// Publishes this worker's counters for `Runtime::metrics`.
    fn publish_metrics(&self) {
        let me = &self.shared.workers[self.index];
        me.switches.store(self.switches.get(), Ordering::Relaxed);
        me.parks.store(self.parks.get(), Ordering::Relaxed);
        for p in 0..3 {
            me.finished[p].store(self.finished[p].get(), Ordering::Relaxed);
        }
        for p in 0..3 {
            me.picks[p].store(self.queues.picks[p].get(), Ordering::Relaxed);
        }
        me.steals.store(self.queues.steals.get(), Ordering::Relaxed);
        for (slot, depth) in me.depths.iter().zip(self.queues.depths()) {
            slot.store(depth, Ordering::Relaxed);
        }
    }

    /// Makes `task` the running strand of this worker (its home if it had
    /// none, its overflow record published, the switch counted), ready to
    /// be switched into. The header stays alive while it is `running`.
    fn install(&self, task: Task) -> &Header {
        if task.migratable || task.home.load(Ordering::Relaxed) == usize::MAX {
            task.home.store(self.index, Ordering::Relaxed);
        }
        task.state.start_running();
        let header: *const Header = Arc::as_ptr(&task);
        // SAFETY: `running` is this worker's; the previous strand was taken
        // out of it by the caller.
        unsafe { *self.running.get() = Some(task) };
        self.switches.set(self.switches.get() + 1);
        // SAFETY: kept alive by `running` until the strand switches out.
        let header = unsafe { &*header };
        let me = &self.shared.workers[self.index];
        me.watch_seq.store(self.switches.get(), Ordering::Relaxed);
        me.watch_current
            .store(header.id.as_u64(), Ordering::Relaxed);
        overflow::set_current(&header.record);
        header
    }

    /// Switches into `task` and, once it switches back, carries out what it
    /// asked for.
    fn run_task(&self, task: Task) {
        let header = self.install(task);
        // SAFETY: [1] the worker's context slot lives as long as the worker.
        // [2] the strand's context is saved or fresh and not resumed since:
        // the task was runnable and we own it.
        unsafe { arch::switch(self.ctx.get(), header.ctx.get()) };
        overflow::set_current(ptr::null());
        self.shared.workers[self.index]
            .watch_current
            .store(0, Ordering::Relaxed);
        // SAFETY: the strand has switched out; the worker owns it again.
        let task = unsafe { (*self.running.get()).take() }.expect("the strand we ran");
        // SAFETY: the context was just saved by the switch.
        check_stack(&task, unsafe { (*task.ctx.get()).stack_pointer() });
        // SAFETY: the strand is suspended (or finished): its stack is ours.
        let stack = unsafe { &mut *task.stack.get() };
        match self.action.get() {
            Action::Yield => {
                task.state.yielded();
                self.push_yielded(task);
            }
            Action::Park => {
                self.parks.set(self.parks.get() + 1);
                // published at once (a plain store to this worker's line)
                self.shared.workers[self.index]
                    .parks
                    .store(self.parks.get(), Ordering::Relaxed);
                if !task.state.park() {
                    self.push_local(task); // woken while switching out
                }
                // else: the waker owns it now (through its Arc)
            }
            Action::Done => {
                task.state.done();
                if let Some(s) = stack.take() {
                    self.cache_stack(s); // or back to the pool
                }
                // SAFETY: the strand is finished; the worker owns its task.
                let exit = unsafe { (*task.exit.get()).take() };
                self.shared.registry.remove(&task);
                let p = task.priority.index();
                self.finished[p].set(self.finished[p].get() + 1);
                // published before the joiner hears of it
                self.shared.workers[self.index].finished[p]
                    .store(self.finished[p].get(), Ordering::Relaxed);
                drop(task);
                self.shared.strand_finished();
                if let Some(exit) = exit {
                    // The joiner sees the strand entirely gone. Dropping the
                    // packet here may drop a detached strand's result (user
                    // code, outside any strand), which must not unwind
                    // through the worker loop.
                    crate::panic::abort_on_unwind("a strand's result", || {
                        exit.publish();
                        drop(exit);
                    });
                }
            }
        }
    }
}

/// After a strand stops running (or as it yields directly): aborts with the
/// overflow report if its canary was hit, and notes how deep its stack
/// pointer `sp` went.
fn check_stack(task: &Header, sp: usize) {
    // SAFETY: the strand is not running on another thread: it is switching
    // out (or suspended), and only its worker touches its stack slot.
    if let Some(stack) = unsafe { &mut *task.stack.get() } {
        if !stack.canary_intact() {
            overflow::report_and_abort(&task.record);
        }
        stack.note_sp(sp);
    }
}

/// Runs the worker loop on the current thread until the runtime shuts down
/// and no strand is left.
pub(crate) fn run_worker(shared: Arc<Shared>, index: usize, deques: super::agenda::Deques) {
    let _alt = AltStack::ensure();
    let worker = Worker {
        shared,
        index,
        ctx: UnsafeCell::new(RawContext::empty()),
        running: UnsafeCell::new(None),
        action: Cell::new(Action::Yield),
        queues: LocalQueues::new(deques),
        stack_cache: std::cell::RefCell::new(Vec::new()),
        switches: Cell::new(0),
        parks: Cell::new(0),
        finished: Default::default(),
        ticks: Cell::new(0),
    };
    WORKER.with(|w| w.set(&worker));
    /// Unpublishes the worker however this frame is left.
    struct Unpublish;
    impl Drop for Unpublish {
        fn drop(&mut self) {
            let _ = WORKER.try_with(|w| w.set(ptr::null()));
        }
    }
    let _unpublish = Unpublish;
    loop {
        let ticks = worker.ticks.get() + 1;
        if ticks >= MAINTAIN_EVERY {
            worker.ticks.set(0);
            worker.shared.maintain();
        } else {
            worker.ticks.set(ticks);
        }
        if let Some(task) = worker.next_task() {
            worker.run_task(task);
            if worker.switches.get().is_multiple_of(64) {
                worker.publish_metrics(); // and whenever the worker runs dry
            }
            continue;
        }
        worker.publish_metrics();
        if worker.shared.is_finished() {
            break;
        }
        worker.shared.sleep(index, || worker.has_work());
    }
    // give the cached stacks back to the pool before the runtime unmaps it
    while worker.cached_stack().is_some() {}
}

/// Whether the code running now is a strand that may switch out: it runs
/// on a worker and is not unwinding. std counts panics per OS thread, so a
/// strand that switched out mid-unwind would make `thread::panicking()` true
/// for the next strand on this thread (and poison every std mutex it
/// unlocks); such a strand blocks its worker in place instead.
#[inline]
pub(crate) fn may_switch() -> bool {
    // SAFETY: `running` is only written by this thread's worker loop, which
    // is suspended while strand code (our caller) runs.
    with_worker(|w| w.is_some_and(|w| unsafe { (*w.running.get()).is_some() }))
        && !std::thread::panicking()
}

/// Called by a strand that wants to run again later.
pub(crate) fn yield_current() -> bool {
    if std::thread::panicking() {
        return false; // see `may_switch`
    }
    let me = with_worker(|w| match w {
        // SAFETY: `in_strand` is implied: the caller runs on this worker
        // as a strand only if `running` is set, checked first.
        Some(w) if unsafe { (*w.running.get()).is_some() } => {
            // SAFETY: `running` is set and owned by this worker.
            let task = unsafe { (*w.running.get()).as_ref().expect("running") };
            unwind_if_cancelled(task);
            let me = Arc::as_ptr(task);
            // SAFETY: we are the running strand of `w`.
            if !unsafe { w.yield_direct() } {
                // SAFETY: as above.
                unsafe { w.switch_out(Action::Yield) };
            }
            // `w` is not touched again: see `resumed`
            Some(me)
        }
        _ => None,
    });
    match me {
        Some(me) => {
            resumed(me, true);
            true
        }
        None => false,
    }
}

/// Parks the running strand until woken (see `strand::state`); may return
/// spuriously. Returns `false` (without waiting) if not called from a
/// strand.
pub(crate) fn park_current() -> bool {
    park_current_with(true)
}

/// [`park_current`], optionally not a cancellation point (for waits that
/// must complete for soundness, like a scope waiting for its strands).
pub(crate) fn park_current_with(cancellable: bool) -> bool {
    if std::thread::panicking() {
        return false; // see `may_switch`: the caller parks the thread
    }
    let me = with_worker(|w| match w {
        // SAFETY: checked that a strand runs on this worker.
        Some(w) if unsafe { (*w.running.get()).is_some() } => {
            // SAFETY: `running` is set and owned by this worker.
            let task = unsafe { (*w.running.get()).as_ref().expect("running") };
            if cancellable {
                unwind_if_cancelled(task);
            }
            let me = Arc::as_ptr(task);
            if !task.state.take_token() {
                // SAFETY: we are the running strand of `w`.
                unsafe { w.switch_out(Action::Park) };
            }
            Some(me)
        }
        _ => None,
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
/// cancelled meanwhile. It goes by its own header, not by the worker: a
/// migratable strand may resume on another thread than it left, so the
/// worker (a thread-local, whose address the compiler may have kept from
/// before the switch) is not looked at after a switch.
#[inline]
fn resumed(me: *const Header, cancellable: bool) {
    if cancellable {
        // SAFETY: `me` is the running strand's header, kept alive by the
        // `running` slot of whichever worker resumed it.
        unwind_if_cancelled(unsafe { &*me });
    }
}

/// The payload a cancelled strand unwinds with (through
/// [`std::panic::resume_unwind`], so no panic hook runs).
pub(crate) struct Cancelled;

/// Unwinds the running strand if it was cancelled. Not while it is already
/// unwinding: a second unwind would abort the process.
#[inline]
fn unwind_if_cancelled(task: &Header) {
    if task.cancelled.load(Ordering::Acquire) && !std::thread::panicking() {
        std::panic::resume_unwind(Box::new(Cancelled));
    }
}

/// Whether the running strand has been cancelled.
pub(crate) fn current_cancelled() -> bool {
    with_worker(|w| {
        // SAFETY: `running` is only written by this thread's worker loop,
        // which is suspended while strand code (our caller) runs.
        w.and_then(|w| unsafe { (*w.running.get()).as_ref() })
            .is_some_and(|t| t.cancelled.load(Ordering::Acquire))
    })
}

/// The last thing a strand does: switch back to its worker, which frees its
/// stack. Never returns.
pub(crate) fn finish_current() -> ! {
    with_worker(|w| {
        let w = w.expect("a strand runs on a worker");
        // SAFETY: we are the running strand of `w`.
        unsafe { w.switch_out(Action::Done) };
    });
    unreachable!("a finished strand was resumed");
}
