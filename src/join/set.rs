//! [`JoinSet`]: strands joined in the order they finish, with an optional
//! limit on how many run at once. The members' side (their guards, the
//! hand-over of slots, the shared state) is in `member.rs`.

pub use super::member::MemberId;
use super::member::{register, start, Inner, Job, Queued, Reg, Settings, State};
use super::slab::Slab;
use super::slots::Slots;
use crate::loom::{Arc, OnceLock};
use crate::runtime::context;
use crate::runtime::Handle;
use crate::spin::RawMutex;
use crate::{JoinError, Strand};
use std::collections::VecDeque;
use std::fmt;

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
    /// Results moved out of the shared queue in one lock round (no longer
    /// counted in its `len`), handed out by `join_next` without the lock.
    ready: Ready<T>,
}

/// The owner's queue of results (see [`JoinSet::join_next_with_id`]).
struct Ready<T>(VecDeque<(MemberId, Result<T, JoinError>)>);

// SAFETY: through a shared `&Ready` only the queue's length is read
// (`JoinSet::len`, `Debug`); its values are reached only through `&mut
// JoinSet`. So sharing a `JoinSet` shares no `T`, and the set stays `Sync`
// for any `T: Send`, as when every result waited behind its lock.
unsafe impl<T: Send> Sync for Ready<T> {}

impl<T: Send + 'static> JoinSet<T> {
    /// An empty set with no limit.
    ///
    /// ```
    /// use strands::join::JoinSet;
    /// strands::run(|| {
    ///     let mut set = JoinSet::new();
    ///     for url in ["/a", "/b", "/c"] {
    ///         set.spawn(move || url.len());
    ///     }
    ///     let mut total = 0;
    ///     while let Some(r) = set.join_next() {
    ///         total += r.unwrap();
    ///     }
    ///     assert_eq!(total, 6);
    /// });
    /// ```
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
            ready: Ready(VecDeque::new()),
            inner: Arc::new(Inner {
                handle: OnceLock::new(),
                state: RawMutex::new(State {
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
    ///
    /// ```
    /// use strands::join::JoinSet;
    /// strands::run(|| {
    ///     let mut set = JoinSet::with_limit(1);
    ///     let a = set.spawn(|| 'a');
    ///     let b = set.spawn(|| 'b'); // queued until `a` ends
    ///     assert!(a < b);
    ///     assert_eq!(set.len(), 2);
    ///     let mut got: Vec<_> = std::iter::from_fn(|| set.join_next_with_id()).collect();
    ///     got.sort_by_key(|(id, _)| *id);
    ///     assert_eq!(got.into_iter().map(|(_, r)| r.unwrap()).collect::<String>(), "ab");
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&mut self, f: F) -> MemberId
    where
        F: FnOnce() -> T + Send + 'static,
    {
        self.add(Settings::Plain(Some(std::panic::Location::caller())), f)
    }

    /// [`spawn`](JoinSet::spawn) with a [`Builder`](crate::Builder): the
    /// member's name (shown in its panic report), priority, deadline or
    /// stack size. A member that cannot be spawned when its turn comes (a
    /// stack size out of range, the runtime saturated or shut down) ends
    /// as cancelled.
    ///
    /// # Panics
    ///
    /// As [`spawn`](JoinSet::spawn).
    ///
    /// ```
    /// use strands::join::JoinSet;
    /// strands::run(|| {
    ///     let mut set = JoinSet::with_limit(4);
    ///     for i in 0..8 {
    ///         let b = strands::Builder::new().name(format!("fetch-{i}"));
    ///         set.spawn_with(b, || strands::current().name().unwrap().to_string());
    ///     }
    ///     let mut names: Vec<_> = std::iter::from_fn(|| set.join_next()).map(Result::unwrap).collect();
    ///     names.sort();
    ///     assert_eq!(names[0], "fetch-0");
    /// });
    /// ```
    #[track_caller]
    pub fn spawn_with<F>(&mut self, builder: crate::Builder, f: F) -> MemberId
    where
        F: FnOnce() -> T + Send + 'static,
    {
        let mut builder = builder;
        builder
            .spawned_at
            .get_or_insert(std::panic::Location::caller());
        // made before locking (it may allocate), in case the member waits
        self.add(Settings::new(builder), f)
    }

    /// Starts or queues a member (see `spawn`).
    #[track_caller]
    fn add<F>(&mut self, settings: Settings, f: F) -> MemberId
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
            if let Some(h) = start(&self.inner, id, gen, key, settings.into_builder(), f) {
                let mut st = self.inner.lock();
                let unregistered = register(&mut st, key, id, h);
                drop(st);
                drop(unregistered);
            }
        } else {
            st.slots.enqueue(Queued {
                id,
                gen,
                builder: settings,
                job: Job::new(f),
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

impl<T> JoinSet<T> {
    /// Waits for the next member to finish and returns its result; `None`
    /// if the set is empty (nothing running, queued or unjoined).
    ///
    /// From a strand this parks the strand; from a plain thread it blocks
    /// the thread. A strand cancelled while waiting unwinds out of it (the
    /// set is unchanged).
    ///
    /// ```
    /// use strands::join::JoinSet;
    /// strands::run(|| {
    ///     let mut set = JoinSet::new();
    ///     set.spawn(|| panic!("bad shard"));
    ///     set.spawn(|| 1);
    ///     let (mut ok, mut failed) = (0, 0);
    ///     // In completion order; `None` once every member is joined.
    ///     while let Some(r) = set.join_next() {
    ///         match r {
    ///             Ok(_) => ok += 1,
    ///             Err(e) => {
    ///                 assert!(e.is_panic());
    ///                 failed += 1;
    ///             }
    ///         }
    ///     }
    ///     assert_eq!((ok, failed), (1, 1));
    /// });
    /// ```
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
        // results taken with an earlier one: no lock
        if let Some(r) = self.ready.0.pop_front() {
            return Some(r);
        }
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
        // A strand yields once before it parks, like a channel's receive:
        // the members runnable on its worker then run first and often hand
        // in several results, which spares a park and a wake per member.
        let mut yielded = !context::may_switch();
        loop {
            {
                let mut st = self.inner.lock();
                if !st.done.is_empty() {
                    // every result there, in one round (`ready` is empty)
                    std::mem::swap(&mut st.done, &mut self.ready.0);
                    st.len -= self.ready.0.len();
                    let w = st.waiter.take();
                    drop(st);
                    drop(w);
                    return self.ready.0.pop_front();
                }
                if st.len == 0 {
                    let w = st.waiter.take();
                    drop(st);
                    drop(w);
                    return None;
                }
                if yielded {
                    st.waiter = Some(context::waiter());
                }
            }
            if !yielded {
                yielded = true;
                context::yield_now();
                continue;
            }
            let _recorded = context::waiting(crate::strand::WaitKind::Plan, 0);
            context::block();
        }
    }

    /// The next finished member's result if there is one, without waiting.
    ///
    /// ```
    /// let mut set = strands::join::JoinSet::<u8>::new();
    /// assert!(set.try_join_next().is_none());
    /// ```
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        if let Some((_, r)) = self.ready.0.pop_front() {
            return Some(r);
        }
        let mut st = self.inner.lock();
        let (_, r) = st.done.pop_front()?;
        st.len -= 1;
        Some(r)
    }

    /// Members not joined yet: running, queued, or finished and waiting
    /// to be joined.
    ///
    /// ```
    /// strands::run(|| {
    ///     let mut set = strands::join::JoinSet::new();
    ///     assert!(set.is_empty());
    ///     set.spawn(|| ());
    ///     assert_eq!(set.len(), 1);
    ///     set.join_next().unwrap().unwrap();
    ///     assert_eq!(set.len(), 0);
    /// });
    /// ```
    pub fn len(&self) -> usize {
        self.inner.lock().len + self.ready.0.len()
    }

    /// Whether [`len`](JoinSet::len) is 0.
    ///
    /// ```
    /// strands::run(|| {
    ///     let mut set = strands::join::JoinSet::new();
    ///     assert!(set.is_empty());
    ///     set.spawn(|| 5);
    ///     assert!(!set.is_empty());
    ///     set.join_next();
    ///     assert!(set.is_empty());
    /// });
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Cancels every member: running ones unwind at their next blocking
    /// point, queued ones never start (their closures are dropped here).
    /// They stay in the set: `join_next` reports each as cancelled (or with
    /// its value, if it finished first).
    ///
    /// ```
    /// use std::time::Duration;
    /// strands::run(|| {
    ///     let mut set = strands::join::JoinSet::with_limit(1);
    ///     set.spawn(|| strands::sleep(Duration::from_secs(3600)));
    ///     set.spawn(|| unreachable!("queued: never starts"));
    ///     set.cancel_all();
    ///     while let Some(r) = set.join_next() {
    ///         assert!(r.unwrap_err().is_cancelled());
    ///     }
    /// });
    /// ```
    pub fn cancel_all(&mut self) {
        let mut st = self.inner.lock();
        let (strands, queued) = st.cancel();
        for q in &queued {
            st.done.push_back((q.id, Err(JoinError::cancelled())));
        }
        drop(st);
        strands.iter().for_each(Strand::cancel);
        drop(queued); // their closures: outside the lock
    }

    /// Lets every member go: running ones run on, queued ones still start
    /// in order as slots free up (the limit still holds); their results are
    /// dropped. Unjoined results are dropped here. The set is empty after.
    ///
    /// ```
    /// strands::run(|| {
    ///     let (tx, rx) = strands::channel::unbounded();
    ///     let mut set = strands::join::JoinSet::new();
    ///     set.spawn(move || tx.send("still ran").unwrap());
    ///     set.detach_all();
    ///     drop(set); // detached members are not cancelled
    ///     assert_eq!(rx.recv().unwrap(), "still ran");
    /// });
    /// ```
    pub fn detach_all(&mut self) {
        let mut st = self.inner.lock();
        st.gen += 1;
        st.detached_below = st.gen;
        st.len = 0;
        let done = std::mem::take(&mut st.done);
        let started = std::mem::replace(&mut st.started, Slab::new());
        drop(st);
        drop(started);
        drop(done);
        self.ready.0.clear();
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
        let started = std::mem::replace(&mut st.started, Slab::new());
        let done = std::mem::take(&mut st.done);
        let waiter = st.waiter.take();
        drop(st);
        drop(waiter);
        strands.iter().for_each(Strand::cancel);
        drop(started);
        drop(queued);
        drop(done);
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.lock();
        let ready = self.ready.0.len();
        f.debug_struct("JoinSet")
            .field("len", &(st.len + ready))
            .field("running", &st.started.len())
            .field("queued", &st.slots.queued())
            .field("done", &(st.done.len() + ready))
            .finish()
    }
}
