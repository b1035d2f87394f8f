//! The members of a [`JoinSet`](super::JoinSet) and the state they share
//! with it.
//!
//! Every member is, from the set's point of view, a `Member` guard: it
//! holds a slot from the moment it is started until it is dropped, and its
//! drop -- whether the strand ran, was cancelled before it started, or could
//! not be spawned at all -- records the member's result, frees the slot and
//! hands it to the next queued member (see `slots.rs`). So nothing that
//! was started is lost, and nothing queued starts twice.
//!
//! Cancelling: a started member is in `started` from before its strand is
//! spawned until its guard drops; `cancel_all` cancels the strands there (a
//! strand cancelled before it runs never runs its closure), or, for a member
//! whose spawn is still under way, marks it to be cancelled as soon as its
//! strand is known.
//!
//! Detaching: `detach_all` opens a new generation; a member remembers the
//! generation it was spawned in, so at its end it can tell whether it was
//! detached meanwhile (and drop its result instead of handing it in).

use super::slab::Slab;
use super::slots::Slots;
use crate::inline::InlineSlot;
use crate::loom::{Arc, OnceLock};
use crate::runtime::Handle;
use crate::spin::{RawGuard, RawMutex};
use crate::strand::waiter::Waiter;
use crate::{JoinError, Strand};
use std::collections::VecDeque;
use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe, Location};

/// Identifies a member of a [`JoinSet`](super::JoinSet) (unique within its set), as
/// returned by [`JoinSet::spawn`](super::JoinSet::spawn) and
/// [`JoinSet::join_next_with_id`](super::JoinSet::join_next_with_id).
///
/// ```
/// strands::run(|| {
///     let mut set = strands::join::JoinSet::new();
///     let id = set.spawn(|| 5);
///     assert_eq!(set.join_next_with_id().map(|(m, r)| (m, r.unwrap())), Some((id, 5)));
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberId(pub(super) u64);

impl MemberId {
    /// The id as a number (members are numbered from 0 in spawn order).
    ///
    /// ```
    /// strands::run(|| {
    ///     let mut set = strands::join::JoinSet::new();
    ///     assert_eq!(set.spawn(|| ()).as_u64(), 0);
    ///     assert_eq!(set.spawn(|| ()).as_u64(), 1);
    /// });
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

pub(super) struct Inner<T> {
    /// The runtime members are spawned on (set by the first spawn).
    pub(super) handle: OnceLock<Handle>,
    /// The short internal lock (`src/spin.rs`): it guards a few dozen
    /// instructions at a time and never user code.
    pub(super) state: RawMutex<State<T>>,
}

pub(super) struct State<T> {
    pub(super) slots: Slots<Queued<T>>,
    pub(super) next_id: u64,
    /// The current generation (see the module docs).
    pub(super) gen: u64,
    /// Members of a generation below this are detached.
    pub(super) detached_below: u64,
    /// Members started and not ended, for `cancel_all` (not the detached
    /// ones).
    pub(super) started: Slab<(MemberId, Reg)>,
    /// Results not yet joined.
    pub(super) done: VecDeque<(MemberId, Result<T, JoinError>)>,
    /// Members not joined yet (running, queued or done), not detached.
    pub(super) len: usize,
    /// The owner waiting in `join_next`.
    pub(super) waiter: Option<Waiter>,
}

/// A started member's strand, as far as `cancel_all` is concerned.
pub(super) enum Reg {
    /// Being spawned: the strand is not known yet.
    Spawning,
    /// Being spawned, and cancelled meanwhile: cancel it once known.
    CancelWhenSpawned,
    /// Its handle (never joined: the member hands its result in itself;
    /// dropped, which detaches the strand, when the member ends).
    Spawned(crate::JoinHandle<()>),
}

pub(super) struct Queued<T> {
    pub(super) id: MemberId,
    pub(super) gen: u64,
    /// How to spawn it (name, priority, stack size, ...).
    pub(super) builder: Settings,
    pub(super) job: Job<T>,
}

/// A member's [`Builder`](crate::Builder), without a box for the usual
/// one (no settings but where it was spawned).
pub(super) enum Settings {
    /// `Builder::new()` spawned from here.
    Plain(Option<&'static Location<'static>>),
    Custom(Box<crate::Builder>),
}

impl Settings {
    pub(super) fn new(b: crate::Builder) -> Settings {
        // every field named: a new one must be considered here
        let crate::Builder {
            name,
            stack_size,
            priority,
            deadline,
            migratable,
            spawned_at,
        } = &b;
        let plain = name.is_none()
            && stack_size.is_none()
            && *priority == crate::Priority::default()
            && deadline.is_none()
            && !*migratable;
        if plain {
            Settings::Plain(*spawned_at)
        } else {
            Settings::Custom(Box::new(b))
        }
    }

    pub(super) fn into_builder(self) -> crate::Builder {
        match self {
            Settings::Plain(at) => {
                let mut b = crate::Builder::new();
                b.spawned_at = at;
                b
            }
            Settings::Custom(b) => *b,
        }
    }
}

/// Words a queued closure may take to be stored inline.
const JOB_WORDS: usize = 3;

/// A queued member's closure with its type erased, stored inline when it
/// fits in [`JOB_WORDS`] words (most closures capture a few words), else as
/// a `Box` of it (an [`InlineSlot`]): no allocation per queued member in the
/// common case.
pub(super) struct Job<T> {
    /// The closure, an `F` of `start` and `drop`.
    slot: InlineSlot<JOB_WORDS>,
    /// `start_job::<T, F>`: moves the `F` out of `slot` and starts it.
    start: unsafe fn(&mut InlineSlot<JOB_WORDS>, StartArgs<'_, T>) -> Option<crate::JoinHandle<()>>,
    /// `InlineSlot::drop_in_place::<F>`: drops the `F` in `slot`.
    drop: unsafe fn(&mut InlineSlot<JOB_WORDS>),
}

// SAFETY: `Job::new` only stores closures that are `Send`; nothing else is
// reachable through a `Job`.
unsafe impl<T> Send for Job<T> {}

/// What starting a queued member needs besides its closure.
pub(super) struct StartArgs<'a, T> {
    inner: &'a Arc<Inner<T>>,
    id: MemberId,
    gen: u64,
    key: usize,
    builder: crate::Builder,
}

/// # Safety
///
/// `slot` holds an `F`, which the caller never uses again.
unsafe fn start_job<T: Send + 'static, F: FnOnce() -> T + Send + 'static>(
    slot: &mut InlineSlot<JOB_WORDS>,
    a: StartArgs<'_, T>,
) -> Option<crate::JoinHandle<()>> {
    // SAFETY: by the contract, an `F` that is ours to move out.
    let f = unsafe { slot.take::<F>() };
    start(a.inner, a.id, a.gen, a.key, a.builder, f)
}

impl<T: Send + 'static> Job<T> {
    pub(super) fn new<F: FnOnce() -> T + Send + 'static>(f: F) -> Job<T> {
        Job {
            slot: InlineSlot::new(f),
            start: start_job::<T, F>,
            drop: InlineSlot::drop_in_place::<F>,
        }
    }
}

impl<T> Job<T> {
    /// Spawns the member (see [`start`]).
    fn start(self, a: StartArgs<'_, T>) -> Option<crate::JoinHandle<()>> {
        let mut job = ManuallyDrop::new(self);
        // SAFETY: `slot` holds the closure `start` was made for; `job` is
        // never dropped, so the closure is moved out exactly once.
        unsafe { (job.start)(&mut job.slot, a) }
    }
}

impl<T> Drop for Job<T> {
    fn drop(&mut self) {
        // SAFETY: `slot` holds the closure `drop` was made for (a started
        // job is never dropped: see `start`).
        unsafe { (self.drop)(&mut self.slot) }
    }
}

impl<T> Inner<T> {
    pub(super) fn lock(&self) -> RawGuard<'_, State<T>> {
        // user code never runs under this lock
        self.state.lock()
    }
}

/// A started member: frees its slot and records its result when dropped.
struct Member<T: Send + 'static> {
    inner: Arc<Inner<T>>,
    id: MemberId,
    gen: u64,
    /// Its key in `started`.
    key: usize,
    result: Option<Result<T, JoinError>>,
}

/// Spawns a member whose slot is taken; `None` if it could not be
/// spawned (then it has ended already: its guard was dropped).
pub(super) fn start<T: Send + 'static, F: FnOnce() -> T + Send + 'static>(
    inner: &Arc<Inner<T>>,
    id: MemberId,
    gen: u64,
    key: usize,
    builder: crate::Builder,
    f: F,
) -> Option<crate::JoinHandle<()>> {
    let member = Member {
        inner: Arc::clone(inner),
        id,
        gen,
        key,
        result: None,
    };
    let handle = inner.handle.get().expect("set by the first spawn");
    builder.spawn_on(handle, move || member.run(f)).ok()
}

/// Under the lock: records a started member's strand for `cancel_all`,
/// and cancels it at once if `cancel_all` came while it was being spawned.
/// (Cancelling only flags and wakes the strand: no user code runs.)
/// Gives the handle back if the member ended already, or was detached:
/// the caller drops it after unlocking.
#[must_use]
pub(super) fn register<T>(
    st: &mut State<T>,
    key: usize,
    id: MemberId,
    h: crate::JoinHandle<()>,
) -> Option<crate::JoinHandle<()>> {
    match st.started.get_mut(key) {
        Some((i, reg)) if *i == id => {
            if matches!(reg, Reg::CancelWhenSpawned) {
                h.cancel();
            }
            *reg = Reg::Spawned(h);
            None
        }
        _ => Some(h),
    }
}

/// For the pumper (see `slots.rs`), under the lock: the next queued member
/// to start, its slot taken and its entry in `started` made (with its
/// key); `None` ends the pumper's turn.
fn take_next<T>(st: &mut State<T>) -> Option<(Queued<T>, usize)> {
    let q = st.slots.next()?;
    let key = st.started.insert((q.id, Reg::Spawning));
    Some((q, key))
}

/// The pumper's loop: starts `q` (taken by [`take_next`]), then the next
/// ones while slots are free; called without the lock.
fn hand_over<T: Send + 'static>(inner: &Arc<Inner<T>>, (mut q, mut key): (Queued<T>, usize)) {
    loop {
        let Queued {
            id,
            gen,
            builder,
            job,
        } = q;
        let args = StartArgs {
            inner,
            id,
            gen,
            key,
            builder: builder.into_builder(),
        };
        let h = job.start(args);
        let mut st = inner.lock();
        let unregistered = h.and_then(|h| register(&mut st, key, id, h));
        let next = take_next(&mut st);
        drop(st);
        drop(unregistered);
        match next {
            Some(n) => (q, key) = n,
            None => return,
        }
    }
}

impl<T: Send + 'static> Member<T> {
    fn run<F: FnOnce() -> T>(mut self, f: F) {
        let r = panic::catch_unwind(AssertUnwindSafe(f)).map_err(JoinError::from_unwind);
        self.result = Some(r);
    }
}

impl<T: Send + 'static> Drop for Member<T> {
    fn drop(&mut self) {
        let result = self
            .result
            .take()
            .unwrap_or_else(|| Err(JoinError::cancelled()));
        // One lock round: out of `started`, the result handed in, the slot
        // freed and, if this member becomes the pumper, the first queued
        // member taken. Waking the owner and dropping the handle come after.
        let mut st = self.inner.lock();
        // detach_all may have drained the slab and the key been reused
        let reg = match st.started.get(self.key) {
            Some((id, _)) if *id == self.id => st.started.remove(self.key),
            _ => None,
        };
        let (stale, waiter) = if self.gen >= st.detached_below {
            st.done.push_back((self.id, result));
            (None, st.waiter.take())
        } else {
            (Some(result), None) // nobody will join it
        };
        let next = if st.slots.release() {
            take_next(&mut st)
        } else {
            None
        };
        drop(st);
        // waking only flags and queues the owner (no user code)
        if let Some(w) = waiter {
            w.wake();
        }
        drop(reg); // this strand's own handle: detaches it
        if let Some(first) = next {
            hand_over(&self.inner, first);
        }
        if stale.is_some() {
            crate::abort::abort_on_unwind("a detached JoinSet member's result", move || {
                drop(stale)
            });
        }
    }
}

impl<T> State<T> {
    /// Under the lock: takes the queued members that are not detached, and
    /// the strands of the started ones to cancel (marking those still
    /// being spawned).
    pub(super) fn cancel(&mut self) -> (Vec<Strand>, Vec<Queued<T>>) {
        let detached_below = self.detached_below;
        let queued = self.slots.take_queued(|q| q.gen >= detached_below);
        let mut strands = Vec::new();
        for (_, reg) in self.started.iter_mut() {
            match reg {
                Reg::Spawning => *reg = Reg::CancelWhenSpawned,
                Reg::CancelWhenSpawned => {}
                Reg::Spawned(h) => strands.push(h.strand().clone()),
            }
        }
        (strands, queued)
    }
}
