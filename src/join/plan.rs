//! Building a plan: [`Need`], [`JoinMode`], [`Part`], [`HedgeDelay`].

use super::backoff::Backoff;
use super::budget::RetryBudget;
use crate::inline::InlineSlot;
use crate::runtime::Handle;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::time::{Duration, Instant};

/// When a plan is done, and whether it succeeded.
///
/// Required/optional matters only to `All` and `AllRequired`; `Any`,
/// `FirstSuccess` and `Quorum` treat every part alike.
///
/// ```
/// use strands::join::{JoinMode, Need, Part};
/// strands::run(|| {
///     // Two of three replicas must answer.
///     let outcome = Need::new(JoinMode::Quorum(2))
///         .part(Part::required("r1", || Ok::<u32, &str>(1)))
///         .part(Part::required("r2", || Err("down")))
///         .part(Part::required("r3", || Ok(1)))
///         .run();
///     assert!(outcome.is_success());
///     assert_eq!(outcome.mode(), JoinMode::Quorum(2));
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinMode {
    /// Every part runs to its end; a failure cancels nothing. Succeeds when
    /// every required part succeeded.
    All,
    /// Fail fast: the first required part to fail for good (retries spent,
    /// timed out, panicked) fails the plan and cancels the others. Once
    /// every required part succeeded, the plan succeeds and the optional
    /// parts still running are cancelled, at once or after the plan's
    /// [`grace`](Need::grace); optional parts not started yet never start.
    /// A plan without required parts runs like `All`.
    AllRequired,
    /// The first part to settle, success or failure, decides; the rest are
    /// cancelled.
    Any,
    /// The first success wins; the rest are cancelled and parts still
    /// queued never start. Fails only when every part failed (each failure
    /// is in the outcome).
    FirstSuccess,
    /// Succeeds as soon as `k` parts succeeded, fails as soon as `k`
    /// successes became impossible; the rest are cancelled. `Quorum(0)`
    /// succeeds at once with every part `NotRun`; more than the number of
    /// parts fails at once.
    Quorum(usize),
}

/// The delay after which [`Part::hedge`] starts another attempt.
///
/// ```
/// use std::time::Duration;
/// use strands::join::{HedgeDelay, Part};
/// // A fixed delay (a `Duration` converts into one) ...
/// let a = Part::required("a", || Ok::<u8, ()>(1)).hedge(Duration::from_millis(20), 1);
/// // ... or the p95 of this part's recorded latencies.
/// let fallback = Duration::from_millis(50);
/// let b = Part::required("b", || Ok::<u8, ()>(1)).hedge(HedgeDelay::P95 { fallback }, 1);
/// assert_eq!(HedgeDelay::from(fallback), HedgeDelay::Fixed(fallback));
/// # drop((a, b));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HedgeDelay {
    /// A fixed delay.
    Fixed(Duration),
    /// The p95 of the latencies recorded for this part's name (see
    /// [`latency_p95`](super::latency_p95)), or `fallback` until enough
    /// samples exist.
    P95 {
        /// The delay used while fewer than
        /// [`MIN_SAMPLES`](super::latency::MIN_SAMPLES) latencies are known.
        fallback: Duration,
    },
}

impl From<Duration> for HedgeDelay {
    fn from(d: Duration) -> HedgeDelay {
        HedgeDelay::Fixed(d)
    }
}

/// Words a part's closure may take to be stored inline in its [`Body`].
const BODY_WORDS: usize = 3;

/// A part's body with its type erased, stored inline when it fits in
/// [`BODY_WORDS`] words (most closures capture a few words), else as a
/// `Box` of it (an [`InlineSlot`]): no allocation per part in the common
/// case. A body made by [`hedge`](Part::hedge) can also copy itself
/// ([`fork`](Body::fork)).
///
/// Sent to the attempts' strands, never shared: `Send` (every closure it
/// stores is), not `Sync` (the slot is not), like the
/// `Box<dyn FnMut + Send>` it stands for.
pub(crate) struct Body<T, E> {
    /// The closure, a `G` of `vt`.
    slot: InlineSlot<BODY_WORDS>,
    /// Made for that `G`, and this `T` and `E`.
    vt: &'static BodyVt,
    _returns: PhantomData<fn() -> Result<T, E>>,
}

// SAFETY: `Body::plain` and `Body::forkable` (and `fork`, which copies one
// of theirs) only store closures that are `Send`; nothing else is reachable
// through a `Body`.
unsafe impl<T, E> Send for Body<T, E> {}

/// The functions of one `G` behind a [`Body`], with the types erased (the
/// results are written through a pointer) so that one static serves.
struct BodyVt {
    /// Calls the `G` in the slot and writes its `Result<T, E>` to the
    /// pointer.
    call: unsafe fn(&mut InlineSlot<BODY_WORDS>, *mut u8),
    /// For a forkable body: writes a copy of it (a `Body<T, E>`) to the
    /// pointer.
    fork: Option<unsafe fn(&InlineSlot<BODY_WORDS>, *mut u8)>,
    /// `InlineSlot::drop_in_place::<G>`.
    drop: unsafe fn(&mut InlineSlot<BODY_WORDS>),
}

/// # Safety
///
/// `slot` holds a `G`; `out` points to room for a `Result<T, E>`.
unsafe fn call_body<T, E, G: FnMut() -> Result<T, E>>(
    slot: &mut InlineSlot<BODY_WORDS>,
    out: *mut u8,
) {
    // SAFETY: by the contract (and `&mut`: the `G` is not used elsewhere
    // meanwhile).
    let r = unsafe { slot.get_mut::<G>()() };
    // SAFETY: by the contract.
    unsafe { out.cast::<Result<T, E>>().write(r) };
}

/// # Safety
///
/// `slot` holds a `G`; `out` points to room for a `Body<T, E>`.
unsafe fn fork_body<T, E, G>(slot: &InlineSlot<BODY_WORDS>, out: *mut u8)
where
    T: 'static,
    E: 'static,
    G: FnMut() -> Result<T, E> + Clone + Send + 'static,
{
    // SAFETY: by the contract.
    let g = unsafe { slot.get::<G>() };
    let copy = Body::<T, E>::store(g.clone(), Vt::<T, E, G>::FORKABLE);
    // SAFETY: by the contract.
    unsafe { out.cast::<Body<T, E>>().write(copy) };
}

impl<T: 'static, E: 'static> Body<T, E> {
    /// `f`, which [`fork`](Body::fork) cannot copy.
    fn plain<F: FnMut() -> Result<T, E> + Send + 'static>(f: F) -> Body<T, E> {
        Body::store(f, Vt::<T, E, F>::PLAIN)
    }

    /// `f`, which [`fork`](Body::fork) copies.
    fn forkable<F: FnMut() -> Result<T, E> + Clone + Send + 'static>(f: F) -> Body<T, E> {
        Body::store(f, Vt::<T, E, F>::FORKABLE)
    }

    /// `vt` must be one of `Vt<T, E, G>`.
    fn store<G: FnMut() -> Result<T, E> + Send + 'static>(g: G, vt: &'static BodyVt) -> Body<T, E> {
        Body {
            slot: InlineSlot::new(g),
            vt,
            _returns: PhantomData,
        }
    }
}

/// The vtables of a `G` returning `Result<T, E>` behind a [`Body`] (never
/// made: only its constants are used).
struct Vt<T, E, G>(PhantomData<Made<T, E, G>>);

/// What `Vt`'s parameters stand for.
type Made<T, E, G> = fn(G) -> Result<T, E>;

impl<T: 'static, E: 'static, G: FnMut() -> Result<T, E> + Send + 'static> Vt<T, E, G> {
    const PLAIN: &'static BodyVt = &BodyVt {
        call: call_body::<T, E, G>,
        fork: None,
        drop: InlineSlot::drop_in_place::<G>,
    };
}

impl<T: 'static, E: 'static, G: FnMut() -> Result<T, E> + Clone + Send + 'static> Vt<T, E, G> {
    const FORKABLE: &'static BodyVt = &BodyVt {
        call: call_body::<T, E, G>,
        fork: Some(fork_body::<T, E, G>),
        drop: InlineSlot::drop_in_place::<G>,
    };
}

impl<T, E> Body<T, E> {
    pub(crate) fn call(&mut self) -> Result<T, E> {
        let mut out = MaybeUninit::<Result<T, E>>::uninit();
        // SAFETY: `slot` holds the `G` `vt` was made for (returning a
        // `Result<T, E>`), and `&mut self` is its only use now.
        unsafe { (self.vt.call)(&mut self.slot, out.as_mut_ptr().cast()) };
        // SAFETY: `call` wrote it (a panic would have unwound past here).
        unsafe { out.assume_init() }
    }

    /// A copy of the body, if it was made forkable (by `Part::hedge`).
    pub(crate) fn fork(&self) -> Option<Body<T, E>> {
        let fork = self.vt.fork?;
        let mut out = MaybeUninit::<Body<T, E>>::uninit();
        // SAFETY: `slot` holds the `G` `vt` was made for (with this `T` and
        // `E`), and `out` is room for the copy.
        unsafe { fork(&self.slot, out.as_mut_ptr().cast()) };
        // SAFETY: `fork` wrote it (a panicking `clone` would have unwound).
        Some(unsafe { out.assume_init() })
    }
}

impl<T, E> Drop for Body<T, E> {
    fn drop(&mut self) {
        // SAFETY: `slot` holds the `G` `vt` was made for, never used again.
        unsafe { (self.vt.drop)(&mut self.slot) }
    }
}

pub(crate) type Pred<E> = Box<dyn Fn(&E) -> bool + Send>;
pub(crate) type After<E> = Box<dyn Fn(&E) -> Option<Duration> + Send>;
pub(crate) type Compensate<T, E> = Box<dyn FnOnce(&T) -> Result<(), E> + Send>;
pub(crate) type Discard<T> = Box<dyn FnMut(&str, T) + Send>;
type Erase<T, E, F> = fn(F) -> Body<T, E>;

/// The settings most parts do not use, boxed (and only when one is set) to
/// keep parts small; the runner keeps the state of those features here too.
pub(crate) struct Config<T, E> {
    pub(crate) timeout: Option<Duration>,
    pub(crate) attempt_timeout: Option<Duration>,
    pub(crate) retry: Option<Backoff>,
    pub(crate) retry_if: Option<Pred<E>>,
    pub(crate) retry_after: Option<After<E>>,
    pub(crate) retry_panics: bool,
    pub(crate) hedge: Option<(HedgeDelay, u32)>,
    pub(crate) compensate: Option<Compensate<T, E>>,
    // runner state
    pub(crate) schedule: Option<super::backoff::Schedule>,
    pub(crate) template: Option<Body<T, E>>,
    pub(crate) compensation: Option<super::outcome::Compensation<E>>,
    /// Attempts allowed (retries included).
    pub(crate) max_attempts: u32,
    /// Hedges started.
    pub(crate) hedges: u32,
    /// A retry due at this instant, after this backoff.
    pub(crate) pending: Option<(Instant, Duration)>,
    /// When the next hedge is due.
    pub(crate) next_hedge: Option<Instant>,
    /// The part's deadline (its timeout).
    pub(crate) deadline: Option<Instant>,
}

impl<T, E> Default for Config<T, E> {
    fn default() -> Self {
        Config {
            timeout: None,
            attempt_timeout: None,
            retry: None,
            retry_if: None,
            retry_after: None,
            retry_panics: false,
            hedge: None,
            compensate: None,
            schedule: None,
            template: None,
            compensation: None,
            max_attempts: 1,
            hedges: 0,
            pending: None,
            next_hedge: None,
            deadline: None,
        }
    }
}

/// One named piece of a plan: a closure run as a strand, returning
/// `Result<T, E>`, with its own timeout, retry policy, hedging and
/// compensation.
///
/// ```
/// use std::time::Duration;
/// use strands::join::{Backoff, Part};
///
/// let part = Part::required("primary", || Ok::<u32, String>(7))
///     .timeout(Duration::from_millis(50))
///     .retry(Backoff::constant(Duration::from_millis(1)).max_attempts(3))
///     .retry_if(|e: &String| e != "fatal");
/// assert_eq!(part.name(), "primary");
/// ```
#[must_use = "a part does nothing until it is added to a plan and run"]
pub struct Part<T, E, F> {
    pub(crate) name: Cow<'static, str>,
    pub(crate) required: bool,
    f: F,
    /// Set by `hedge`, whose bound knows `F: Clone`: erases the body as one
    /// that can copy itself.
    forkable: Option<Erase<T, E, F>>,
    pub(crate) cfg: Option<Box<Config<T, E>>>,
}

impl<T, E, F> Part<T, E, F>
where
    T: Send + 'static,
    E: Send + 'static,
    F: FnMut() -> Result<T, E> + Send + 'static,
{
    fn with(name: impl Into<Cow<'static, str>>, required: bool, f: F) -> Self {
        Part {
            name: name.into(),
            required,
            f,
            forkable: None,
            cfg: None,
        }
    }

    fn cfg(&mut self) -> &mut Config<T, E> {
        self.cfg.get_or_insert_with(|| Box::new(Config::default()))
    }

    /// A part the plan needs (see [`JoinMode`] for what that changes).
    /// The name is a `&'static str` (no allocation) or a `String`.
    ///
    /// ```
    /// let p = strands::join::Part::required("db", || Ok::<_, ()>(1));
    /// assert!(p.is_required());
    /// ```
    pub fn required(name: impl Into<Cow<'static, str>>, f: F) -> Self {
        Part::with(name, true, f)
    }

    /// A part the plan can do without.
    ///
    /// ```
    /// let p = strands::join::Part::optional("cache", || Ok::<_, ()>(1));
    /// assert!(!p.is_required());
    /// ```
    pub fn optional(name: impl Into<Cow<'static, str>>, f: F) -> Self {
        Part::with(name, false, f)
    }

    /// The part's name.
    ///
    /// ```
    /// let p = strands::join::Part::optional(format!("shard-{}", 3), || Ok::<u8, ()>(0));
    /// assert_eq!(p.name(), "shard-3");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the part is required.
    ///
    /// ```
    /// use strands::join::Part;
    /// assert!(Part::required("db", || Ok::<u8, ()>(0)).is_required());
    /// assert!(!Part::optional("cache", || Ok::<u8, ()>(0)).is_required());
    /// ```
    pub fn is_required(&self) -> bool {
        self.required
    }

    /// A deadline for the whole part, `d` after its first attempt starts:
    /// retries and their backoff included. Past it the running attempt is
    /// cancelled and the part is `TimedOut` (a failure for good); a value
    /// that the attempt still returned in the race counts. A zero timeout
    /// reports `TimedOut` without running the part.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let p = strands::join::Part::required("x", || Ok::<_, ()>(1)).timeout(Duration::from_secs(1));
    /// # drop(p);
    /// ```
    pub fn timeout(mut self, d: Duration) -> Self {
        self.cfg().timeout = Some(d);
        self
    }

    /// A deadline for each attempt, `d` after it starts; an attempt that
    /// times out is cancelled and may be retried.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let p = strands::join::Part::required("x", || Ok::<_, ()>(1)).attempt_timeout(Duration::from_millis(5));
    /// # drop(p);
    /// ```
    pub fn attempt_timeout(mut self, d: Duration) -> Self {
        self.cfg().attempt_timeout = Some(d);
        self
    }

    /// Retries failed attempts as `policy` says (attempt limit, delays).
    /// Without it the part makes one attempt.
    ///
    /// ```
    /// # use std::time::Duration;
    /// use strands::join::{Backoff, Jitter, Part};
    /// let p = Part::required("x", || Ok::<_, ()>(1))
    ///     .retry(Backoff::exponential(Duration::from_millis(1), 2.0).max_attempts(3).jitter(Jitter::Full));
    /// # drop(p);
    /// ```
    pub fn retry(mut self, policy: Backoff) -> Self {
        self.cfg().retry = Some(policy);
        self
    }

    /// Which errors are worth a retry (default: all); the others fail the
    /// part at once.
    ///
    /// ```
    /// let p = strands::join::Part::required("x", || Err::<u8, _>(404)).retry_if(|e| *e >= 500);
    /// # drop(p);
    /// ```
    pub fn retry_if(mut self, f: impl Fn(&E) -> bool + Send + 'static) -> Self {
        self.cfg().retry_if = Some(Box::new(f));
        self
    }

    /// A delay an error itself asks for (a "retry after" from a server):
    /// when `f` returns one, it replaces the policy's delay.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let p = strands::join::Part::required("x", || Err::<u8, _>(Some(3u64)))
    ///     .retry_after(|e| e.map(Duration::from_millis));
    /// # drop(p);
    /// ```
    pub fn retry_after(mut self, f: impl Fn(&E) -> Option<Duration> + Send + 'static) -> Self {
        self.cfg().retry_after = Some(Box::new(f));
        self
    }

    /// Retries panics too (by default a panic fails the part for good).
    ///
    /// ```
    /// let p = strands::join::Part::required("x", || Ok::<u8, ()>(1)).retry_panics();
    /// # drop(p);
    /// ```
    pub fn retry_panics(mut self) -> Self {
        self.cfg().retry_panics = true;
        self
    }

    /// When the part has succeeded and the plan then fails, runs `f` on its
    /// value (the plans' saga hook). Compensations run in the runner, in
    /// reverse order of completion, after every part ended; their results
    /// are in [`PartReport::compensation`](super::PartReport::compensation).
    ///
    /// ```
    /// let p = strands::join::Part::required("reserve", || Ok::<u32, String>(7))
    ///     .compensate(|seat| { println!("release {seat}"); Ok(()) });
    /// # drop(p);
    /// ```
    pub fn compensate(mut self, f: impl FnOnce(&T) -> Result<(), E> + Send + 'static) -> Self {
        self.cfg().compensate = Some(Box::new(f));
        self
    }
}

impl<T, E, F> Part<T, E, F>
where
    T: Send + 'static,
    E: Send + 'static,
    F: FnMut() -> Result<T, E> + Clone + Send + 'static,
{
    /// Hedging (`FirstSuccess` plans only; other modes ignore it): when an
    /// attempt has not answered `after` it started (a fixed delay, or the
    /// p95 latency recorded for the part's name), starts a copy of the body
    /// (the closure is cloned, hence `Clone`) as an extra attempt, up to
    /// `max_extra` of them, each after another `after`. The first attempt
    /// to succeed is the part's; the other attempts are cancelled. With a
    /// plan [`budget`](Need::budget), a hedge starts only when a retry could
    /// and takes a token.
    ///
    /// ```
    /// # use std::time::Duration;
    /// use strands::join::{HedgeDelay, Part};
    /// let p = Part::required("replica", || Ok::<u8, ()>(1)).hedge(Duration::from_millis(20), 1);
    /// let q = Part::required("replica", || Ok::<u8, ()>(1))
    ///     .hedge(HedgeDelay::P95 { fallback: Duration::from_millis(20) }, 2);
    /// # drop((p, q));
    /// ```
    pub fn hedge(mut self, after: impl Into<HedgeDelay>, max_extra: u32) -> Self {
        self.cfg().hedge = Some((after.into(), max_extra));
        self.forkable = Some(Body::forkable::<F>);
        self
    }
}

impl<T, E, F> Part<T, E, F>
where
    T: Send + 'static,
    E: Send + 'static,
    F: FnMut() -> Result<T, E> + Send + 'static,
{
    pub(crate) fn into_spec(self) -> Spec<T, E> {
        let body = match self.forkable {
            Some(erase) => erase(self.f),
            None => Body::plain(self.f),
        };
        Spec {
            name: self.name,
            required: self.required,
            body,
            cfg: self.cfg,
        }
    }
}

impl<T, E, F> fmt::Debug for Part<T, E, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Part")
            .field("name", &self.name)
            .field("required", &self.required)
            .field("timeout", &self.cfg.as_ref().and_then(|c| c.timeout))
            .field("retry", &self.cfg.as_ref().and_then(|c| c.retry.as_ref()))
            .field("hedge", &self.cfg.as_ref().and_then(|c| c.hedge))
            .finish_non_exhaustive()
    }
}

/// A part with its body erased, as the runner holds it.
pub(crate) struct Spec<T, E> {
    pub(crate) name: Cow<'static, str>,
    pub(crate) required: bool,
    pub(crate) body: Body<T, E>,
    pub(crate) cfg: Option<Box<Config<T, E>>>,
}

/// A plan: named parts and a [`JoinMode`] saying when the whole is done.
///
/// [`run`](Need::run) starts the parts as strands (in order, at most
/// [`limit`](Need::limit) at once), parks the caller until the plan is
/// decided and every part it cancelled has ended, and returns an
/// [`Outcome`](super::Outcome) accounting for every part and attempt.
///
/// ```
/// use std::time::Duration;
/// use strands::join::{Backoff, JoinMode, Need, Part, PartStatus};
///
/// strands::run(|| {
///     let outcome = Need::new(JoinMode::FirstSuccess)
///         .part(Part::required("primary", || Err::<u32, &str>("down"))
///             .retry(Backoff::constant(Duration::from_millis(1)).max_attempts(2)))
///         .part(Part::optional("replica", || Ok(42)))
///         .run();
///     assert!(outcome.is_success());
///     assert_eq!(outcome.value(), Some(&42));
///     assert!(matches!(outcome.part("replica").unwrap().status(), PartStatus::Succeeded(42)));
/// });
/// ```
///
/// # Edge cases
///
/// - **Empty plans**: `All` and `AllRequired` succeed, `Any` and
///   `FirstSuccess` fail, `Quorum(k)` succeeds iff `k == 0`; nothing runs.
/// - **Deadline zero or past**: no part starts; each is `NotRun` and the
///   plan is decided as at its deadline (only `All`/`AllRequired` without
///   required parts succeed).
/// - **`limit(0)`** panics at once (like `chunks(0)`).
/// - **A spawn that fails** (the runtime's strand limit, or its shutdown)
///   is that attempt's `Panicked("could not spawn: ...")`.
/// - **A part that panics** is that part's `Panicked(message)`, never the
///   caller's panic; it is not retried unless [`Part::retry_panics`].
/// - **A part that never returns** but parks (sleep, channel, lock, I/O) is
///   cancelled at its timeout or the plan's deadline, and unwinds at that
///   blocking point.
/// - **A part that swallows its cancellation** with `catch_unwind` is
///   cancelled again at its next blocking point; whatever it returns after
///   being cancelled is reported as `Cancelled` (or `Discarded` for a value).
/// - **A part that blocks its thread** in a non-strands call cannot be
///   interrupted: `run` waits for it, or with a [`grace`](Need::grace),
///   reports it `Abandoned` that long after cancelling it and detaches its
///   strand (a value it returns later goes to `on_discarded`, or is dropped).
///   Such a part also holds up every strand that started on its worker
///   thread (started strands do not move), the runner's included if it runs
///   there, and then even the deadline waits for it: run plans with such
///   parts with `run_on` from a plain thread.
pub struct Need<T, E> {
    pub(crate) mode: JoinMode,
    pub(crate) parts: Vec<Spec<T, E>>,
    pub(crate) deadline: Option<Instant>,
    pub(crate) limit: Option<usize>,
    pub(crate) grace: Option<Duration>,
    pub(crate) budget: Option<RetryBudget>,
    pub(crate) on_discarded: Option<Discard<T>>,
    pub(crate) handle: Option<Handle>,
    pub(crate) token: Option<crate::CancelToken>,
}

impl<T: Send + 'static, E: Send + 'static> Need<T, E> {
    /// An empty plan with this join mode.
    ///
    /// ```
    /// use strands::join::{JoinMode, Need};
    /// let outcome = strands::run(|| Need::<u8, ()>::new(JoinMode::All).run());
    /// assert!(outcome.is_success() && outcome.parts().is_empty());
    /// ```
    pub fn new(mode: JoinMode) -> Need<T, E> {
        Need {
            mode,
            parts: Vec::new(),
            deadline: None,
            limit: None,
            grace: None,
            budget: None,
            on_discarded: None,
            handle: None,
            token: None,
        }
    }

    /// Adds a part (parts start in the order they were added).
    ///
    /// ```
    /// use strands::join::{JoinMode, Need, Part};
    /// let plan = Need::new(JoinMode::All).part(Part::required("a", || Ok::<_, ()>(1)));
    /// assert_eq!(plan.len(), 1);
    /// ```
    pub fn part<F>(mut self, part: Part<T, E, F>) -> Need<T, E>
    where
        F: FnMut() -> Result<T, E> + Send + 'static,
    {
        if self.parts.capacity() == 0 {
            // as many as fit in 1 KiB (served from the allocator's
            // per-thread cache): most plans never grow
            self.parts
                .reserve((1024 / size_of::<Spec<T, E>>().max(1)).max(4));
        }
        self.parts.push(part.into_spec());
        self
    }

    /// The number of parts.
    ///
    /// ```
    /// use strands::join::{JoinMode, Need, Part};
    /// let plan = Need::new(JoinMode::All)
    ///     .part(Part::required("a", || Ok::<u8, ()>(1)))
    ///     .part(Part::optional("b", || Ok(2)));
    /// assert_eq!(plan.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.parts.len()
    }

    /// Whether the plan has no parts.
    ///
    /// ```
    /// use strands::join::{JoinMode, Need};
    /// assert!(Need::<u8, ()>::new(JoinMode::Any).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Ends the plan at `deadline`: undecided, it is decided then (see
    /// [`JoinMode`]); running parts are cancelled and reported `TimedOut`,
    /// queued ones `NotRun`. No retry starts whose backoff ends past it.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use strands::join::{JoinMode, Need, Part, PartStatus};
    /// strands::run(|| {
    ///     let outcome = Need::new(JoinMode::All)
    ///         .part(Part::required("slow", || { strands::sleep(Duration::from_secs(60)); Ok::<_, ()>(1) }))
    ///         .deadline(Instant::now() + Duration::from_millis(10))
    ///         .run();
    ///     assert!(!outcome.is_success());
    ///     assert!(matches!(outcome.parts()[0].status(), PartStatus::TimedOut));
    /// });
    /// ```
    pub fn deadline(mut self, deadline: Instant) -> Need<T, E> {
        self.deadline = Some(deadline);
        self
    }

    /// [`deadline`](Need::deadline) `d` from now (none if that overflows).
    ///
    /// ```
    /// use std::time::Duration;
    /// use strands::join::{JoinMode, Need, Part, PartStatus};
    /// strands::run(|| {
    ///     let outcome = Need::new(JoinMode::All)
    ///         .part(Part::required("fast", || Ok::<u8, ()>(1)))
    ///         .part(Part::optional("slow", || {
    ///             strands::sleep(Duration::from_secs(60));
    ///             Ok(2)
    ///         }))
    ///         .timeout(Duration::from_millis(10))
    ///         .run();
    ///     // The required part made it; the optional one was cut off.
    ///     assert!(outcome.is_success());
    ///     assert!(matches!(outcome.part("slow").unwrap().status(), PartStatus::TimedOut));
    /// });
    /// ```
    pub fn timeout(mut self, d: Duration) -> Need<T, E> {
        self.deadline = Instant::now().checked_add(d);
        self
    }

    /// At most `n` parts active at once (running, or waiting to retry); the
    /// others wait their turn in order. Hedges do not count.
    ///
    /// # Panics
    ///
    /// If `n` is 0.
    ///
    /// ```should_panic
    /// let _ = strands::join::Need::<u8, ()>::new(strands::join::JoinMode::All).limit(0);
    /// ```
    #[track_caller]
    pub fn limit(mut self, n: usize) -> Need<T, E> {
        assert!(
            n > 0,
            "Need::limit: the concurrency limit must be at least 1"
        );
        self.limit = Some(n);
        self
    }

    /// How long parts get after the plan no longer needs them: in
    /// `AllRequired`, the optional parts still running when the last
    /// required one succeeds run that much longer before being cancelled;
    /// and a cancelled part that has not ended that long after its
    /// cancellation (it blocks its thread outside strands) is reported
    /// `Abandoned` and its strand detached. Without a grace, optional parts
    /// are cancelled at once and `run` waits for every cancelled part.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let plan = strands::join::Need::<u8, ()>::new(strands::join::JoinMode::AllRequired)
    ///     .grace(Duration::from_millis(50));
    /// # drop(plan);
    /// ```
    pub fn grace(mut self, d: Duration) -> Need<T, E> {
        self.grace = Some(d);
        self
    }

    /// Ties the plan to a [`CancelToken`](crate::CancelToken): cancelling
    /// the token decides the plan as failed (unless it was decided
    /// already), cancels every part still running with
    /// [`CancelReason::Token`](super::CancelReason::Token), never starts the queued ones, and the
    /// token's cause shows in [`Outcome::cancel_cause`](super::Outcome::cancel_cause). `run` still
    /// returns only after the cancelled parts have ended (or been
    /// abandoned after the grace).
    ///
    /// ```
    /// use strands::join::{CancelReason, JoinMode, Need, Part, PartStatus};
    /// strands::run(|| {
    ///     let token = strands::CancelToken::new();
    ///     let t = token.clone();
    ///     let outcome = Need::<(), ()>::new(JoinMode::All)
    ///         .part(Part::required("slow", move || {
    ///             t.cancel_with("client went away");
    ///             strands::sleep(std::time::Duration::from_secs(3600));
    ///             Ok(())
    ///         }))
    ///         .cancel_on(&token)
    ///         .run();
    ///     assert!(!outcome.is_success());
    ///     assert_eq!(outcome.cancel_cause().unwrap().to_string(), "client went away");
    ///     assert!(matches!(outcome.parts()[0].status(), PartStatus::Cancelled(CancelReason::Token)));
    /// });
    /// ```
    pub fn cancel_on(mut self, token: &crate::CancelToken) -> Need<T, E> {
        self.token = Some(token.clone());
        self
    }

    /// Throttles retries and hedges with a shared [`RetryBudget`].
    ///
    /// ```
    /// let budget = strands::join::RetryBudget::new(10, 0.1);
    /// let plan = strands::join::Need::<u8, ()>::new(strands::join::JoinMode::All).budget(&budget);
    /// # drop(plan);
    /// ```
    pub fn budget(mut self, budget: &RetryBudget) -> Need<T, E> {
        self.budget = Some(budget.clone());
        self
    }

    /// Where values go that the plan no longer wants: a part (or hedge)
    /// that succeeded after it was cancelled. Called in the runner with the
    /// part's name (or, for a part abandoned and finishing after `run`
    /// returned, in that part's strand). Without it such values stay in the
    /// outcome ([`PartStatus::Discarded`](super::PartStatus::Discarded)),
    /// except a losing hedge's, which is dropped.
    ///
    /// ```
    /// let plan = strands::join::Need::<std::net::TcpStream, ()>::new(strands::join::JoinMode::FirstSuccess)
    ///     .on_discarded(|name, conn| { let _ = conn.shutdown(std::net::Shutdown::Both); println!("closed {name}"); });
    /// # drop(plan);
    /// ```
    pub fn on_discarded(mut self, f: impl FnMut(&str, T) + Send + 'static) -> Need<T, E> {
        self.on_discarded = Some(Box::new(f));
        self
    }
}

impl<T, E> fmt::Debug for Need<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Need")
            .field("mode", &self.mode)
            .field(
                "parts",
                &self.parts.iter().map(|p| &*p.name).collect::<Vec<_>>(),
            )
            .field("deadline", &self.deadline)
            .field("limit", &self.limit)
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}
