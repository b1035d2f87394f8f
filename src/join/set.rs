//! [`JoinSet`]: strands joined in the order they finish, with an optional
//! limit on how many run at once.
//!
//! Every member is, from the set's point of view, a [`Member`] guard: it
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
use crate::strand::waiter::{self, Waiter};
use crate::{JoinError, Strand};
use std::collections::VecDeque;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};

/// Identifies a member of a [`JoinSet`] (unique within its set), as
/// returned by [`JoinSet::spawn`] and [`JoinSet::join_next_with_id`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberId(u64);

impl MemberId {
    /// The id as a number (members are numbered from 0 in spawn order).
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

/// A set of strands, joined in the order they finish.
///
/// [`join_next`](JoinSet::join_next) waits for the next member to finish
/// (parking the calling strand, or blocking a plain thread) and returns its
/// result, `None` once the set is empty. A member's panic is that member's
/// error ([`JoinError::is_panic`]), never the caller's.
///
/// With [`with_limit(n)`](JoinSet::with_limit), at most `n` members run at
/// once; the others wait in spawn order and are started as running ones
/// end, whether or not anyone is calling `join_next`.
///
/// Dropping the set cancels every member still running (each unwinds at its
/// next blocking point, running its `Drop`s) and drops the closures of the
/// queued ones, which never start. It does not wait for them: use
/// [`shutdown`](JoinSet::shutdown) for that.
///
/// ```
/// use strands::join::JoinSet;
/// strands::run(|| {
///     let mut set = JoinSet::with_limit(2);
///     for i in 0..10u64 {
///         set.spawn(move || i * i);
///     }
///     let mut sum = 0;
///     while let Some(r) = set.join_next() {
///         sum += r.unwrap();
///     }
///     assert_eq!(sum, 285);
/// });
/// ```
pub struct JoinSet<T> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    /// The runtime members are spawned on (set by the first spawn).
    handle: OnceLock<Handle>,
    state: Mutex<State<T>>,
}

struct State<T> {
    slots: Slots<Queued<T>>,
    next_id: u64,
    /// The current generation (see the module docs).
    gen: u64,
    /// Members of a generation below this are detached.
    detached_below: u64,
    /// Members started and not ended, for `cancel_all` (not the detached
    /// ones).
    started: Slab<(MemberId, Reg)>,
    /// Results not yet joined.
    done: VecDeque<(MemberId, Result<T, JoinError>)>,
    /// Members not joined yet (running, queued or done), not detached.
    len: usize,
    /// The owner waiting in `join_next`.
    waiter: Option<Waiter>,
}

/// A started member's strand, as far as `cancel_all` is concerned.
enum Reg {
    /// Being spawned: the strand is not known yet.
    Spawning,
    /// Being spawned, and cancelled meanwhile: cancel it once known.
    CancelWhenSpawned,
    Spawned(Strand),
}

struct Queued<T> {
    id: MemberId,
    gen: u64,
    f: Box<dyn FnOnce() -> T + Send>,
}

impl<T> Inner<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // user code never runs under this lock
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<T: Send + 'static> JoinSet<T> {
    /// An empty set with no limit.
    pub fn new() -> JoinSet<T> {
        JoinSet::with_slots(Slots::new(usize::MAX))
    }

    /// An empty set that runs at most `limit` members at once; the others
    /// wait in spawn order.
    ///
    /// # Panics
    ///
    /// If `limit` is 0 (nothing could ever run).
    ///
    /// ```should_panic
    /// let _ = strands::join::JoinSet::<()>::with_limit(0);
    /// ```
    #[track_caller]
    pub fn with_limit(limit: usize) -> JoinSet<T> {
        assert!(
            limit > 0,
            "JoinSet::with_limit: the limit must be at least 1"
        );
        JoinSet::with_slots(Slots::new(limit))
    }

    fn with_slots(slots: Slots<Queued<T>>) -> JoinSet<T> {
        JoinSet {
            inner: Arc::new(Inner {
                handle: OnceLock::new(),
                state: Mutex::new(State {
                    slots,
                    next_id: 0,
                    gen: 0,
                    detached_below: 0,
                    started: Slab::new(),
                    done: VecDeque::new(),
                    len: 0,
                    waiter: None,
                }),
            }),
        }
    }

    /// Adds a member running `f`: started now if the limit allows, else
    /// queued behind the members waiting already. Returns its id.
    ///
    /// Members run on the runtime of the first spawn. A member that cannot
    /// be spawned when its turn comes (the runtime is saturated or shutting
    /// down) is reported by `join_next` as cancelled.
    ///
    /// # Panics
    ///
    /// If the set has never spawned and this is not called from a strand
    /// (there is no runtime to spawn on).
    #[track_caller]
    pub fn spawn<F>(&mut self, f: F) -> MemberId
    where
        F: FnOnce() -> T + Send + 'static,
    {
        if self.inner.handle.get().is_none() {
            let h = Handle::try_current()
                .expect("JoinSet::spawn: the first spawn must be made from a strand");
            let _ = self.inner.handle.set(h);
        }
        let mut st = self.inner.lock();
        let id = MemberId(st.next_id);
        st.next_id += 1;
        st.len += 1;
        let gen = st.gen;
        if st.slots.try_start() {
            let key = st.started.insert((id, Reg::Spawning));
            drop(st);
            if let Some(h) = start(&self.inner, id, gen, key, f) {
                register(&mut self.inner.lock(), key, id, &h);
            }
        } else {
            st.slots.enqueue(Queued {
                id,
                gen,
                f: Box::new(f),
            });
        }
        id
    }
}

impl<T: Send + 'static> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
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
fn start<T: Send + 'static, F: FnOnce() -> T + Send + 'static>(
    inner: &Arc<Inner<T>>,
    id: MemberId,
    gen: u64,
    key: usize,
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
    crate::Builder::new()
        .spawn_on(handle, move || member.run(f))
        .ok()
}

/// Under the lock: records a started member's strand for `cancel_all`,
/// and cancels it at once if `cancel_all` came while it was being spawned.
/// (Cancelling only flags and wakes the strand: no user code runs.)
fn register<T>(st: &mut State<T>, key: usize, id: MemberId, h: &crate::JoinHandle<()>) {
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
        let h = start(inner, q.id, q.gen, key, q.f);
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
        // waking only flags and queues the owner: fine under the lock
        if let Some(w) = waiter {
            w.wake();
        }
        if st.slots.release() {
            hand_over(&self.inner, st);
        } else {
            drop(st);
        }
        crate::panic::abort_on_unwind("a detached JoinSet member's result", move || drop(stale));
    }
}

impl<T> JoinSet<T> {
    /// Waits for the next member to finish and returns its result; `None`
    /// if the set is empty (nothing running, queued or unjoined).
    ///
    /// From a strand this parks the strand; from a plain thread it blocks
    /// the thread. A strand cancelled while waiting unwinds out of it (the
    /// set is unchanged).
    pub fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.join_next_with_id().map(|(_, r)| r)
    }

    /// Like [`join_next`](JoinSet::join_next), with the member's id.
    ///
    /// ```
    /// use strands::join::JoinSet;
    /// strands::run(|| {
    ///     let mut set = JoinSet::new();
    ///     let id = set.spawn(|| "hi");
    ///     assert_eq!(set.join_next_with_id().map(|(i, r)| (i, r.unwrap())), Some((id, "hi")));
    ///     assert!(set.join_next_with_id().is_none());
    /// });
    /// ```
    pub fn join_next_with_id(&mut self) -> Option<(MemberId, Result<T, JoinError>)> {
        /// Withdraws the waiter if a cancellation unwinds out of the wait.
        struct Withdraw<'a, T>(&'a Inner<T>);
        impl<T> Drop for Withdraw<'_, T> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    drop(self.0.lock().waiter.take());
                }
            }
        }
        let _withdraw = Withdraw(&self.inner);
        loop {
            {
                let mut st = self.inner.lock();
                if let Some(r) = st.done.pop_front() {
                    st.len -= 1;
                    st.waiter = None;
                    return Some(r);
                }
                if st.len == 0 {
                    st.waiter = None;
                    return None;
                }
                st.waiter = Some(Waiter::current());
            }
            waiter::block();
        }
    }

    /// The next finished member's result if there is one, without waiting.
    ///
    /// ```
    /// let mut set = strands::join::JoinSet::<u8>::new();
    /// assert!(set.try_join_next().is_none());
    /// ```
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        let mut st = self.inner.lock();
        let (_, r) = st.done.pop_front()?;
        st.len -= 1;
        Some(r)
    }

    /// Members not joined yet: running, queued, or finished and waiting
    /// to be joined.
    pub fn len(&self) -> usize {
        self.inner.lock().len
    }

    /// Whether [`len`](JoinSet::len) is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Cancels every member: running ones unwind at their next blocking
    /// point, queued ones never start (their closures are dropped here).
    /// They stay in the set: `join_next` reports each as cancelled (or with
    /// its value, if it finished first).
    pub fn cancel_all(&mut self) {
        let mut st = self.inner.lock();
        let (strands, queued) = st.cancel();
        let mut closures = Vec::with_capacity(queued.len());
        for q in queued {
            st.done.push_back((q.id, Err(JoinError::cancelled())));
            closures.push(q.f);
        }
        drop(st);
        strands.iter().for_each(Strand::cancel);
        drop(closures);
    }

    /// Lets every member go: running ones run on, queued ones still start
    /// in order as slots free up (the limit still holds); their results are
    /// dropped. Unjoined results are dropped here. The set is empty after.
    pub fn detach_all(&mut self) {
        let mut st = self.inner.lock();
        st.gen += 1;
        st.detached_below = st.gen;
        st.len = 0;
        let done = std::mem::take(&mut st.done);
        let started: Vec<_> = st.started.drain().collect();
        drop(st);
        drop(started);
        drop(done);
    }

    /// Cancels every member and waits until all have ended (their `Drop`s
    /// ran), dropping their results. A member that never reaches a
    /// blocking point keeps this waiting.
    ///
    /// ```
    /// use strands::join::JoinSet;
    /// strands::run(|| {
    ///     let mut set = JoinSet::new();
    ///     set.spawn(|| strands::sleep(std::time::Duration::from_secs(3600)));
    ///     set.shutdown();
    ///     assert!(set.is_empty());
    /// });
    /// ```
    pub fn shutdown(&mut self) {
        self.cancel_all();
        while self.join_next().is_some() {}
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        let mut st = self.inner.lock();
        // members detached before keep going; the others end
        let (strands, queued) = st.cancel();
        st.gen += 1;
        st.detached_below = st.gen;
        st.len = 0;
        let started: Vec<_> = st.started.drain().collect();
        let done = std::mem::take(&mut st.done);
        st.waiter = None;
        drop(st);
        strands.iter().for_each(Strand::cancel);
        drop(started);
        drop(queued);
        drop(done);
    }
}

impl<T> State<T> {
    /// Under the lock: takes the queued members that are not detached, and
    /// the strands of the started ones to cancel (marking those still
    /// being spawned).
    fn cancel(&mut self) -> (Vec<Strand>, Vec<Queued<T>>) {
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

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.lock();
        f.debug_struct("JoinSet")
            .field("len", &st.len)
            .field("running", &st.started.len())
            .field("queued", &st.slots.queued())
            .field("done", &st.done.len())
            .finish()
    }
}
