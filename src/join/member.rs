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
use crate::loom::{Arc, Mutex, MutexGuard, OnceLock};
use crate::runtime::Handle;
use crate::strand::waiter::Waiter;
use crate::{JoinError, Strand};
use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};

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
    pub(super) state: Mutex<State<T>>,
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
    Spawned(Strand),
}

pub(super) struct Queued<T> {
    pub(super) id: MemberId,
    pub(super) gen: u64,
    /// How to spawn it (name, priority, stack size, ...).
    pub(super) builder: crate::Builder,
    pub(super) f: Box<dyn FnOnce() -> T + Send>,
}

impl<T> Inner<T> {
    pub(super) fn lock(&self) -> MutexGuard<'_, State<T>> {
        // user code never runs under this lock
        self.state.lock().unwrap_or_else(|e| e.into_inner())
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
pub(super) fn register<T>(st: &mut State<T>, key: usize, id: MemberId, h: &crate::JoinHandle<()>) {
    if let Some((i, reg)) = st.started.get_mut(key) {
        if *i == id {
            if matches!(reg, Reg::CancelWhenSpawned) {
                h.cancel();
            }
            *reg = Reg::Spawned(h.strand().clone());
        }
    } // else it ended already, or was detached
}

/// The pumper's loop (see `slots.rs`): starts queued members while slots
/// are free; called with the lock held and `pumping` set.
fn hand_over<'a, T: Send + 'static>(inner: &'a Arc<Inner<T>>, mut st: MutexGuard<'a, State<T>>) {
    while let Some(q) = st.slots.next() {
        let key = st.started.insert((q.id, Reg::Spawning));
        drop(st);
        let h = start(inner, q.id, q.gen, key, q.builder, q.f);
        st = inner.lock();
        if let Some(h) = h {
            register(&mut st, key, q.id, &h);
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
        let mut st = self.inner.lock();
        // detach_all may have drained the slab and the key been reused
        if st
            .started
            .get(self.key)
            .is_some_and(|(id, _)| *id == self.id)
        {
            st.started.remove(self.key);
        }
        let (stale, waiter) = if self.gen >= st.detached_below {
            st.done.push_back((self.id, result));
            (None, st.waiter.take())
        } else {
            (Some(result), None) // nobody will join it
        };
        if st.slots.release() {
            // waking only flags and queues the owner (no user code): done
            // under the lock here, which the hand-over needs anyway
            if let Some(w) = waiter {
                w.wake();
            }
            hand_over(&self.inner, st);
        } else {
            drop(st); // the owner, woken, will want the lock
            if let Some(w) = waiter {
                w.wake();
            }
        }
        crate::abort::abort_on_unwind("a detached JoinSet member's result", move || drop(stale));
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
                Reg::Spawned(s) => strands.push(s.clone()),
            }
        }
        (strands, queued)
    }
}
