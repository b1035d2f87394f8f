//! Switching into and out of strands: a worker running one
//! ([`Worker::run_strand`]: install, switch, and what it asked for as it
//! came back), a strand switching back to its worker or straight to the
//! next strand of the worker's queues, a finished strand retired, and the
//! first frame of every strand.

use super::{with_worker, Action, Worker, MAINTAIN_EVERY};
use crate::arch;
use crate::loom::{Arc, Ordering};
use crate::stack::overflow;
use crate::strand::locals::Locals;
use crate::strand::{Header, StrandRef};
use std::ptr;

impl Worker {
    /// Switches from the running strand back to this worker, asking for
    /// `action`. Returns when the strand is resumed (never for `Done`).
    ///
    /// # Safety
    ///
    /// Must be called from strand code running on this worker.
    pub(crate) unsafe fn switch_out(&self, action: Action) {
        self.action.set(action);
        let strand = self.running().expect("a strand is running");
        let pinned = !strand.migratable;
        // SAFETY: this worker owns the running strand; the caller is it.
        let save = unsafe { strand.context_slot() };
        // SAFETY: [1] `save` is the running strand's context slot, valid
        // until it is resumed (the slot's `Arc` keeps the header alive).
        // [2] the worker's context was saved by `run_strand` when it
        // switched into this strand and not resumed since.
        unsafe { arch::switch(save, self.ctx.get()) };
        if pinned {
            // Resumed on this worker (a pinned strand runs nowhere else), so
            // `self` is still this thread's worker: perhaps by a strand that
            // finished and handed off to us (see `exit`).
            if let Some(done) = self.handed_off.take() {
                self.retire(done, true);
            }
        }
    }

    /// The running strand finished (its body, its locals): it leaves this
    /// worker for good. Straight to its joiner when the joiner is parked
    /// on this worker and pinned to it, and the agenda would pick it next
    /// anyway (woken here, it would go into the `next` slot, which is free,
    /// its streak not spent, and no other level waits): one switch replaces
    /// two, a wake's queue push and the worker's pick. The hand-off counts
    /// as a pick from `next` (its streak) and for maintenance (the ticks).
    /// The joiner retires the strand as it resumes, before its join returns
    /// (`switch_out`), so it still sees the strand entirely gone. Otherwise
    /// through the worker, which retires it and wakes the joiner.
    ///
    /// # Safety
    ///
    /// Must be called from the running strand of this worker, finished,
    /// in its first frame: it is never resumed.
    pub(crate) unsafe fn exit(&self) {
        if let Some(joiner) = self.joiner_to_run_next() {
            let done = self.take_running().expect("a strand is running");
            check_stack_here(&done);
            // SAFETY: this worker owns `done`, which is switching out now.
            let save = unsafe { done.context_slot() };
            // kept alive (and `save` valid) until the joiner retires it,
            // after this switch has completed
            debug_assert!(self.handed_off.take().is_none());
            self.handed_off.set(Some(done));
            let header = self.install(joiner);
            // SAFETY: this worker owns the joiner, installed to run.
            let load = unsafe { header.context_slot() };
            // SAFETY: [1] `save` is the finished strand's slot, alive in
            // `handed_off` until after the switch (see above); it is never
            // resumed. [2] the joiner was parked (we took it out of its
            // park, so nobody else runs it): its context is saved and not
            // resumed since.
            unsafe { arch::switch(save, load) };
            unreachable!("a finished strand was resumed");
        }
        // SAFETY: by the contract.
        unsafe { self.switch_out(Action::Done) };
    }

    /// The joiner of the running (finished) strand, taken out of its park
    /// to run next, with the strand's end published to it; `None` (nothing
    /// done) unless the hand-off of [`exit`](Self::exit) applies.
    fn joiner_to_run_next(&self) -> Option<StrandRef> {
        let done = self.running()?;
        if !done.join.has_waiter() {
            return None; // the common exit: nobody joins yet
        }
        if self.maintenance_due() {
            return None;
        }
        // SAFETY: `done` is the finished strand, running on this worker.
        let joiner = unsafe { done.join.joiner_pinned_at(self.mark()) }?;
        // SAFETY: the waker holds the joiner until it is taken below.
        let joiner = unsafe { &*joiner };
        if !self.queues.next_is_free_for(joiner.priority) {
            // woken the ordinary way it would wait in `next` behind a
            // strand of a more urgent turn, or its streak is spent
            return None;
        }
        if !joiner.state.claim_parked() {
            return None; // woken meanwhile (a timer, a cancel): queued here
        }
        self.queues.ran_next();
        self.ticks.set(self.ticks.get() + 1);
        // SAFETY: `joiner_pinned_at` returned the joiner just now.
        Some(unsafe { done.join.publish_to_pinned() })
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
    pub(crate) unsafe fn yield_direct(&self) -> bool {
        if self.running().is_some_and(|s| s.migratable) {
            // pushed before its context is saved, it could be stolen and
            // resumed half-saved: it goes through the worker instead
            return false;
        }
        if self.maintenance_due() {
            return false;
        }
        self.ticks.set(self.ticks.get() + 1);
        self.drain_remote();
        if self.queues.surely_empty() {
            return false;
        }
        // (queues that only look occupied give the yielding strand back
        // below, which is fine)
        let cur = self.take_running().expect("a strand is running");
        self.switched_out(&cur);
        check_stack_here(&cur);
        // SAFETY: this worker owns `cur`, which is switching out now.
        let save = unsafe { cur.context_slot() };
        let cur_ptr = Arc::as_ptr(&cur);
        // back in line first, so the agenda picks exactly as it would
        // through the worker
        self.queues.push_yielded(cur); // the queue's Arc keeps `save` valid
        let next = self
            .queues
            .pop()
            .expect("the queues hold at least the yielding strand");
        if std::ptr::eq(Arc::as_ptr(&next), cur_ptr) {
            // the agenda picked the yielding strand itself: it never left
            if next.is_unwinding() {
                self.unwinding_out.set(self.unwinding_out.get() - 1);
            }
            let alone = self.queues.settle_if_empty();
            if !alone {
                crate::runtime::events::points::yielded(&self.shared, &next, self.index);
            }
            self.set_running(next);
            // alone: the queues only looked occupied; the caller yields
            // through the worker, which looks further
            return !alone;
        }
        // SAFETY: the yielding strand is queued again on this worker, whose
        // queue's Arc keeps it alive; only this worker (busy here) takes
        // from that queue.
        crate::runtime::events::points::yielded(&self.shared, unsafe { &*cur_ptr }, self.index);
        let header = self.install(next);
        if self.switches.get().is_multiple_of(64) {
            self.publish_metrics();
        }
        // SAFETY: this worker owns `next`, installed to run.
        let load = unsafe { header.context_slot() };
        // SAFETY: [1] `save` is our own context slot, kept alive by the
        // queue's Arc, resumed only after this switch completes (see above).
        // [2] `next` was runnable and owned by this worker: its context is
        // saved or fresh and not resumed since.
        unsafe { arch::switch(save, load) };
        true
    }

    /// Whether the next switch must go through the worker, which fires
    /// timers and polls (every `MAINTAIN_EVERY` picks) or halts for a
    /// stop-the-world, rather than straight from strand to strand (a
    /// direct yield, a hand-off).
    #[inline]
    fn maintenance_due(&self) -> bool {
        self.ticks.get() >= MAINTAIN_EVERY || self.shared.stw.requested()
    }

    /// Bookkeeping for a strand that just switched out (to yield or park):
    /// counted if it is unwinding, and kept on this worker for now if
    /// anything on this thread is (an unwind must end on the thread it
    /// began on).
    fn switched_out(&self, strand: &Header) {
        if strand.is_unwinding() {
            self.unwinding_out.set(self.unwinding_out.get() + 1);
        }
        if strand.migratable {
            // only a strand that may move needs telling to stay (no store
            // to the header on the common path)
            strand
                .stay
                .store(std::thread::panicking(), Ordering::Relaxed);
        }
    }

    /// Makes `strand` the running strand of this worker (its home if it had
    /// none, its overflow record published, the switch counted), ready to
    /// be switched into. The header stays alive while it is running.
    fn install(&self, strand: StrandRef) -> &Header {
        let first_run = strand.home.load(Ordering::Relaxed) == usize::MAX;
        if first_run {
            // SAFETY: this worker owns the strand, which never ran (it has
            // no home yet) and is switched into next.
            unsafe { strand.prepare(strand_entry) };
        }
        if first_run || strand.may_move() {
            strand.home.store(self.index, Ordering::Relaxed);
        }
        if strand.is_unwinding() {
            // it switched out mid-unwind on this worker (and stayed here)
            self.unwinding_out.set(self.unwinding_out.get() - 1);
        }
        strand.state.start_running();
        self.spawns.set(0);
        self.set_running(strand);
        self.switches.set(self.switches.get() + 1);
        let header: &Header = self.running().expect("just installed");
        header.stats.switched_in(self.shared.events.is_some()); // a counter; a clock if observed
        let me = self.slot();
        self.note_progress();
        me.watch_current
            .store(header.id.as_u64(), Ordering::Relaxed);
        overflow::set_current(&header.record);
        header
    }

    /// Switches into `strand` and, once it switches back, carries out what
    /// it asked for.
    pub(super) fn run_strand(&self, strand: StrandRef) {
        let header = self.install(strand);
        // SAFETY: this worker owns the strand it installed.
        let load = unsafe { header.context_slot() };
        // SAFETY: [1] the worker's context slot lives as long as the worker.
        // [2] the strand's context is saved or fresh and not resumed since:
        // the strand was runnable and we own it.
        unsafe { arch::switch(self.ctx.get(), load) };
        overflow::set_current(ptr::null());
        self.slot().watch_current.store(0, Ordering::Relaxed);
        let strand = self.take_running().expect("the strand we ran");
        // SAFETY: the switch just saved the context; the worker owns it.
        check_stack(&strand, unsafe { (*strand.context_slot()).stack_pointer() });
        match self.action.get() {
            Action::Yield | Action::Park => self.switched_out(&strand),
            Action::Done => {}
        }
        match self.action.get() {
            Action::Yield => {
                crate::runtime::events::points::yielded(&self.shared, &strand, self.index);
                strand.state.yielded();
                self.push_yielded(strand);
            }
            Action::Park => {
                crate::runtime::events::points::parked(&self.shared, &strand, self.index);
                self.count_park();
                if !strand.state.park() {
                    self.push_local(strand); // woken while switching out
                }
                // else: the waker owns it now (through its Arc)
            }
            Action::Done => self.retire(strand, false),
        }
    }

    /// A strand finished: its stack back, its count down, then its joiner
    /// told (unless `published`: the strand told its joiner itself, as it
    /// handed off to it).
    #[inline]
    fn retire(&self, strand: StrandRef, published: bool) {
        strand.state.done();
        // SAFETY: the strand is finished and this worker owns it.
        let stack = unsafe { strand.with_stack(Option::take) };
        if let Some(s) = stack {
            self.cache_stack(s); // or back to the pool
        }
        let p = strand.priority;
        self.finished[p].set(self.finished[p].get() + 1);
        // published before the joiner hears of it
        self.slot().finished[p].store(self.finished[p].get(), Ordering::Relaxed);
        self.shared.strand_finished(&strand);
        // The joiner sees the strand entirely gone. Publishing may drop a
        // detached strand's result (user code, outside any strand), which
        // must not unwind through the worker loop.
        crate::abort::abort_on_unwind("a strand's result", move || {
            if !published {
                // SAFETY: this worker owns the finished strand.
                unsafe { strand.publish() };
            }
            drop(strand);
        });
    }
}

/// [`check_stack`] for a strand switching straight to another (a direct
/// yield, a hand-off), from its own stack: what `run_strand` checks after a
/// switch-out, checked now, at the current stack pointer.
#[inline]
fn check_stack_here(strand: &Header) {
    let here = 0u8;
    check_stack(strand, std::hint::black_box(&here) as *const u8 as usize);
}

/// After a strand stops running (or as it yields directly): aborts with the
/// overflow report if its canary was hit, and notes how deep its stack
/// pointer `sp` went.
fn check_stack(strand: &Header, sp: usize) {
    // SAFETY: the strand is not running on another thread: it is switching
    // out (or suspended), and only its worker (the caller) owns it.
    unsafe {
        strand.with_stack(|stack| {
            if let Some(stack) = stack {
                if !stack.canary_intact() {
                    overflow::report_and_abort(&strand.record);
                }
                stack.note_sp(sp);
            }
        })
    }
}

/// The first Rust frame of every strand, called by the architecture's
/// trampoline (the entry `install` hands to `Header::prepare` for a
/// strand's first run). Runs the body, drops the strand's locals, then switches
/// back to the worker for good.
unsafe extern "C" fn strand_entry(arg: *mut u8) {
    // SAFETY: `arg` is the header pointer `Header::prepare` passed; the
    // running slot's `Arc` keeps it alive.
    let header = unsafe { &*(arg as *const Header) };
    // SAFETY: this is the strand's first frame. The job catches the body's
    // panics (see `join_handle::packet`); nothing unwinds here.
    unsafe { (header.job.run)(header) };
    // Strand-locals go in strand context, like a thread's at its exit.
    // SAFETY: the running strand owns its locals; no `with` is active.
    let locals = unsafe { header.with_locals(Locals::take) };
    if let Some(locals) = locals {
        crate::abort::abort_on_unwind("a strand-local value", move || drop(locals));
    }
    with_worker(|w| {
        let w = w.expect("a strand runs on a worker");
        // SAFETY: we are the running strand of `w`, finished.
        unsafe { w.exit() };
    });
    unreachable!("a finished strand was resumed");
}
