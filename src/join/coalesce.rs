//! [`Coalesce`]: concurrent calls for one key share one execution.
//!
//! # Invariants
//!
//! - A key is in the map exactly while its execution has not published a
//!   result: the executor removes the key and then publishes, both in
//!   `Publish::finish`, which runs once (on success, on a panic, on a
//!   cancellation, and from `Drop` if the body never ran).
//! - Callers that found the key joined its flight and wait for the one
//!   result; a caller that leaves (cancelled) changes nothing for the
//!   others. Only the executor starts or ends a flight.

use crate::join_handle::panic_message;
use crate::loom::{Arc, AtomicUsize, Ordering};
use crate::runtime::{context, Handle};
use crate::spin::RawMutex;
use crate::sync::waitlist::{self, Queue, WaitSpec, Wakes};
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::panic::{self, AssertUnwindSafe};
use std::ptr;

/// Concurrent calls for the same key share one execution: Go's
/// `singleflight`, with its sharp edges taken off.
///
/// [`run(key, f)`](Coalesce::run) starts `f` if no execution for `key` is in
/// flight, else joins the one that is; every caller gets a clone of the
/// same result. Once the execution has finished, the key is forgotten: the
/// next call executes again (this is not a cache).
///
/// - **The execution runs in a strand of its own**, not in the first
///   caller's. So a caller that is [cancelled](crate::JoinHandle::cancel)
///   while waiting (the first one included) just leaves: the execution goes
///   on for the others, and a later caller joins it instead of starting a
///   second one. If every caller leaves, the execution still finishes and
///   its result is dropped.
/// - **A panic in `f`** reaches every caller as a [`CoalesceError`] carrying
///   the message ([`is_panic`](CoalesceError::is_panic)), never as a panic of
///   theirs and never as a hang.
/// - **If the execution's strand is cancelled** (its runtime shuts down) or
///   cannot be spawned (the runtime is
///   [saturated](crate::SpawnError::Saturated) or shut down), every caller
///   gets a [`CoalesceError`] for which
///   [`is_cancelled`](CoalesceError::is_cancelled) is true.
/// - **From a plain thread outside any runtime** the first caller runs `f`
///   itself (a thread cannot be cancelled); callers on other threads wait
///   for it as usual.
/// - **Re-entry deadlocks:** an `f` that calls `run` for its own key waits
///   for itself forever, as a recursive lock would.
/// - **Bounded.** The map holds one entry per execution in flight
///   ([`len`](Coalesce::len)), removed when it finishes.
/// - `K`'s `Hash` and `Eq` (and `Clone`, for the first caller of a flight)
///   run under a short internal lock: they must not block or panic. `V` is cloned once per caller, outside any lock,
///   from the callers' own strands (hence `V: Sync`).
///
/// Cloning a `Coalesce` gives another handle to the same map.
///
/// ```
/// use strands::join::Coalesce;
///
/// strands::run(|| {
///     let group = Coalesce::new();
///     let (tx, rx) = strands::channel::bounded::<u32>(1);
///     let g = group.clone();
///     let first = strands::spawn(move || g.run("answer", move || rx.recv().unwrap()));
///     while group.is_empty() {
///         strands::yield_now(); // until the first call is in flight
///     }
///     // a call for "answer" made now would share that execution
///     tx.send(42).unwrap();
///     assert_eq!(first.join().unwrap().unwrap(), 42);
///     assert!(group.is_empty()); // forgotten: the next call runs again
///     assert_eq!(group.run("answer", || 43).unwrap(), 43);
/// });
/// ```
pub struct Coalesce<K, V> {
    inner: Arc<Inner<K, V>>,
}

struct Inner<K, V> {
    flights: RawMutex<HashMap<K, Arc<Flight<V>>>>,
}

/// One execution in flight and the callers waiting for its result.
struct Flight<V> {
    state: RawMutex<FlightState<V>>,
    /// How many callers joined (the first included): for tests.
    callers: AtomicUsize,
}

struct FlightState<V> {
    /// Set once, by the executor.
    result: Option<Arc<Result<V, CoalesceError>>>,
    waiters: Queue,
}

/// Why [`Coalesce::run`] has no value: the shared execution panicked, or
/// was cancelled (or could not start). Every caller that shared the
/// execution gets a clone of the same error.
///
/// ```
/// use strands::join::{Coalesce, CoalesceError};
/// let group = Coalesce::<&str, u32>::new();
/// let err: CoalesceError = group.run("cfg", || panic!("parse error")).unwrap_err();
/// assert!(err.is_panic());
/// assert_eq!(err.to_string(), "the shared execution panicked: parse error");
/// ```
#[derive(Clone)]
pub struct CoalesceError {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Panic(Option<Arc<str>>),
    Cancelled,
}

impl<K, V> Coalesce<K, V> {
    /// An empty group: nothing in flight.
    ///
    /// ```
    /// use strands::join::Coalesce;
    /// let users: Coalesce<u64, String> = Coalesce::new();
    /// assert!(users.is_empty());
    /// assert_eq!(users.run(7, || "ann".to_string()).unwrap(), "ann");
    /// ```
    pub fn new() -> Coalesce<K, V> {
        Coalesce {
            inner: Arc::new(Inner {
                flights: RawMutex::new(HashMap::new()),
            }),
        }
    }

    /// How many executions are in flight (keys in the map). A snapshot.
    ///
    /// ```
    /// let group = strands::join::Coalesce::<u32, u32>::new();
    /// assert_eq!(group.run(1, || 2).unwrap(), 2);
    /// assert_eq!(group.len(), 0); // forgotten once finished
    /// ```
    pub fn len(&self) -> usize {
        waitlist::lock(&self.inner.flights).len()
    }

    /// Whether nothing is in flight.
    ///
    /// ```
    /// assert!(strands::join::Coalesce::<u8, u8>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K, V> Coalesce<K, V>
where
    K: Eq + Hash + Clone + Send + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Runs `f` for `key`, or joins the execution for `key` already in
    /// flight, and returns a clone of its result. Parks the caller (blocks a
    /// plain thread) until the result is there.
    ///
    /// `f` runs in a strand of its own on the current runtime (see the
    /// [type's docs](Coalesce) for why, and for a caller outside any
    /// runtime).
    ///
    /// ```
    /// let group = strands::join::Coalesce::new();
    /// strands::run(move || {
    ///     assert_eq!(group.run("k", || 42).unwrap(), 42);
    ///     let e = group.run("k", || -> i32 { panic!("boom") }).unwrap_err();
    ///     assert_eq!(e.panic_message(), Some("boom"));
    /// });
    /// ```
    pub fn run<F>(&self, key: K, f: F) -> Result<V, CoalesceError>
    where
        F: FnOnce() -> V + Send + 'static,
    {
        let mut flights = waitlist::lock(&self.inner.flights);
        let (flight, first) = match flights.get(&key) {
            Some(fl) => (Arc::clone(fl), false),
            None => {
                let fl = Arc::new(Flight {
                    state: RawMutex::new(FlightState {
                        result: None,
                        waiters: Queue::new(),
                    }),
                    callers: AtomicUsize::new(0),
                });
                flights.insert(key.clone(), Arc::clone(&fl));
                (fl, true)
            }
        };
        flight.callers.fetch_add(1, Ordering::Relaxed);
        drop(flights);
        if first {
            self.start(key, Arc::clone(&flight), f);
        }
        flight.wait()
    }

    /// How many callers have joined the execution for `key` now in flight
    /// (0 if none is): lets tests wait until every caller has arrived.
    #[doc(hidden)]
    pub fn __callers(&self, key: &K) -> usize {
        let flights = waitlist::lock(&self.inner.flights);
        flights
            .get(key)
            .map_or(0, |fl| fl.callers.load(Ordering::Relaxed))
    }

    /// Starts the execution: in a strand of its own, or, outside any
    /// runtime, right here.
    fn start<F>(&self, key: K, flight: Arc<Flight<V>>, f: F)
    where
        F: FnOnce() -> V + Send + 'static,
    {
        let publish = Publish {
            inner: Arc::clone(&self.inner),
            key,
            flight,
            done: false,
        };
        let body = move || publish.execute(f);
        Handle::with_current(|h| match h {
            Some(h) => {
                // On failure the body is dropped unrun: its `Publish` tells
                // every caller (as cancelled).
                let _detached = crate::Builder::new()
                    .name("coalesce".to_string())
                    .spawn_on(h, body);
            }
            None => body(),
        });
    }
}

/// The executor's duty to remove the key and publish a result, once.
struct Publish<K: Eq + Hash, V> {
    inner: Arc<Inner<K, V>>,
    key: K,
    flight: Arc<Flight<V>>,
    done: bool,
}

impl<K: Eq + Hash, V> Publish<K, V> {
    fn execute(mut self, f: impl FnOnce() -> V) {
        match panic::catch_unwind(AssertUnwindSafe(f)) {
            Ok(v) => self.finish(Ok(v)),
            Err(p) if p.is::<context::Cancelled>() => {
                self.finish(Err(CoalesceError::cancelled()));
                context::resume_unwind(p);
            }
            Err(p) => {
                let msg = panic_message(p.as_ref()).map(Arc::from);
                self.finish(Err(CoalesceError {
                    repr: Repr::Panic(msg),
                }));
            }
        }
    }

    fn finish(&mut self, result: Result<V, CoalesceError>) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let mut flights = waitlist::lock(&self.inner.flights);
        let ours = flights
            .get(&self.key)
            .is_some_and(|fl| Arc::ptr_eq(fl, &self.flight));
        debug_assert!(ours, "a flight's key is removed by its executor only");
        let entry = if ours {
            flights.remove_entry(&self.key)
        } else {
            None
        };
        drop(flights);
        drop(entry); // the map's key: dropped outside the lock
        self.flight.complete(result);
    }
}

impl<K: Eq + Hash, V> Drop for Publish<K, V> {
    fn drop(&mut self) {
        // The body never ran (cancelled before it started, or the spawn
        // failed).
        self.finish(Err(CoalesceError::cancelled()));
    }
}

impl<V> Flight<V> {
    /// Publishes the result and wakes every caller waiting.
    fn complete(&self, result: Result<V, CoalesceError>) {
        let mut st = waitlist::lock(&self.state);
        debug_assert!(st.result.is_none());
        st.result = Some(Arc::new(result));
        let mut wakes = Wakes::none();
        while let Some(c) = st.waiters.claim_first(ptr::null()) {
            wakes.push(c.complete(0));
        }
        drop(st);
        wakes.wake();
    }

    /// Parks until the result is published; a clone of it. A cancellation
    /// unwinds from here, leaving the flight as it was.
    fn wait(&self) -> Result<V, CoalesceError>
    where
        V: Clone,
    {
        let st = waitlist::lock(&self.state);
        if st.result.is_none() {
            waitlist::wait(
                st,
                WaitSpec {
                    lock: &self.state,
                    queue: |s: &mut FlightState<V>| &mut s.waiters,
                    tag: 0,
                    kind: crate::strand::WaitKind::Plan,
                    data: ptr::null_mut(),
                    deadline: None,
                    cancellable: true,
                    registered: || {},
                    withdrawn: |_: &mut FlightState<V>| Wakes::none(),
                    abandoned: |_| {},
                },
            );
        } else {
            drop(st);
        }
        let result = waitlist::lock(&self.state)
            .result
            .clone()
            .expect("woken once the result is published");
        // Cloned outside the lock: `V::clone` is the caller's code.
        (*result).clone()
    }
}

impl<K, V> Clone for Coalesce<K, V> {
    fn clone(&self) -> Coalesce<K, V> {
        Coalesce {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K, V> Default for Coalesce<K, V> {
    fn default() -> Coalesce<K, V> {
        Coalesce::new()
    }
}

impl<K, V> fmt::Debug for Coalesce<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Coalesce")
            .field("in_flight", &self.len())
            .finish_non_exhaustive()
    }
}

impl CoalesceError {
    fn cancelled() -> CoalesceError {
        CoalesceError {
            repr: Repr::Cancelled,
        }
    }

    /// Whether the shared execution panicked.
    ///
    /// ```
    /// let group = strands::join::Coalesce::<u8, u8>::new();
    /// let e = group.run(0, || panic!("no")).unwrap_err();
    /// assert!(e.is_panic() && !e.is_cancelled());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// Whether the shared execution was cancelled (its runtime shut down)
    /// or could not start.
    ///
    /// ```
    /// use strands::join::Coalesce;
    /// // One strand at most: the shared execution cannot get a strand of its own.
    /// let rt = strands::Runtime::builder().workers(1).max_strands(1).build()?;
    /// let group = Coalesce::<u8, u8>::new();
    /// let e = rt.block_on(|| group.run(0, || 1)).unwrap_err();
    /// assert!(e.is_cancelled() && !e.is_panic());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// The panic's message, when it panicked with a string.
    ///
    /// ```
    /// let group = strands::join::Coalesce::<u8, u8>::new();
    /// let e = group.run(0, || panic!("disk {} gone", 3)).unwrap_err();
    /// assert_eq!(e.panic_message(), Some("disk 3 gone"));
    /// assert_eq!(e.to_string(), "the shared execution panicked: disk 3 gone");
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match &self.repr {
            Repr::Panic(m) => m.as_deref(),
            Repr::Cancelled => None,
        }
    }
}

impl fmt::Debug for CoalesceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Panic(Some(m)) => write!(f, "CoalesceError::Panic({m:?})"),
            Repr::Panic(None) => f.write_str("CoalesceError::Panic(..)"),
            Repr::Cancelled => f.write_str("CoalesceError::Cancelled"),
        }
    }
}

impl fmt::Display for CoalesceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Panic(Some(m)) => write!(f, "the shared execution panicked: {m}"),
            Repr::Panic(None) => f.write_str("the shared execution panicked"),
            Repr::Cancelled => f.write_str("the shared execution was cancelled"),
        }
    }
}

impl std::error::Error for CoalesceError {}
