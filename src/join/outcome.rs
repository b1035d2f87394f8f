//! What a plan came to: [`Outcome`], [`PartReport`], [`PartStatus`],
//! [`Attempt`].

use super::JoinMode;
use std::fmt;
use std::time::{Duration, Instant};

/// Why the runner cancelled a part or an attempt.
///
/// ```
/// use strands::join::{CancelReason, JoinMode, Need, Part, PartStatus};
/// strands::run(|| {
///     let outcome = Need::new(JoinMode::Any)
///         .part(Part::required("fast", || Ok::<u8, ()>(1)))
///         .part(Part::required("slow", || {
///             strands::sleep(std::time::Duration::from_secs(60));
///             Ok(2)
///         }))
///         .run();
///     // "fast" decided the plan; "slow" was cancelled (or never started).
///     assert!(matches!(
///         outcome.part("slow").unwrap().status(),
///         PartStatus::Cancelled(CancelReason::Decided) | PartStatus::NotRun
///     ));
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelReason {
    /// Another part's result decided the plan (`Any`, `FirstSuccess`,
    /// `Quorum`).
    Decided,
    /// `AllRequired`: a required part failed for good.
    FailFast,
    /// `AllRequired`: every required part succeeded; this optional part was
    /// still running (past the plan's grace, if any).
    RequiredDone,
    /// Another attempt of the same part (a hedge, or the attempt a hedge
    /// raced) succeeded first. Only on attempts.
    HedgeLost,
    /// The strand was cancelled by someone other than the plan (for
    /// example, the plan's own caller was cancelled).
    External,
    /// The plan's [`CancelToken`](crate::CancelToken) (see
    /// [`Need::cancel_on`](super::Need::cancel_on)) was cancelled; its
    /// cause is [`Outcome::cancel_cause`].
    Token,
}

/// How one part ended.
///
/// ```
/// use strands::join::{JoinMode, Need, Part, PartStatus};
/// strands::run(|| {
///     let outcome = Need::new(JoinMode::All)
///         .part(Part::required("ok", || Ok::<u8, String>(1)))
///         .part(Part::optional("err", || Err("refused".to_string())))
///         .part(Part::optional("boom", || panic!("bug")))
///         .run();
///     for p in outcome.parts() {
///         match p.status() {
///             PartStatus::Succeeded(v) => assert_eq!(*v, 1),
///             PartStatus::Failed(e) => assert_eq!(e, "refused"),
///             PartStatus::Panicked(msg) => assert_eq!(msg, "bug"),
///             other => panic!("{}: {}", p.name(), other.label()),
///         }
///     }
/// });
/// ```
#[derive(Debug)]
pub enum PartStatus<T, E> {
    /// It succeeded with this value (the winner's, for `Any` and
    /// `FirstSuccess`, is also [`Outcome::value`]).
    Succeeded(T),
    /// Its last attempt returned this error (retries spent, or not
    /// retryable). Earlier attempts' errors are in its [`Attempt`]s.
    Failed(E),
    /// Its last attempt panicked with this message.
    Panicked(String),
    /// Its timeout, or the plan's deadline, passed first.
    TimedOut,
    /// The plan cancelled it (its error, if the cancellation caused one, is
    /// not reported as a failure).
    Cancelled(CancelReason),
    /// It never started: the plan was decided first (or its deadline had
    /// passed).
    NotRun,
    /// It succeeded after it had been cancelled. The value is here, or
    /// `None` if it went to [`Need::on_discarded`](super::Need::on_discarded).
    Discarded(Option<T>),
    /// It did not end within the plan's grace after its cancellation (it
    /// blocked its thread); its strand was detached.
    Abandoned,
}

impl<T, E> PartStatus<T, E> {
    /// Whether the part succeeded.
    ///
    /// ```
    /// use strands::join::PartStatus;
    /// assert!(PartStatus::<u8, ()>::Succeeded(1).is_success());
    /// assert!(!PartStatus::<u8, ()>::TimedOut.is_success());
    /// ```
    pub fn is_success(&self) -> bool {
        matches!(self, PartStatus::Succeeded(_))
    }

    /// Whether the part failed on its own: `Failed`, `Panicked` or
    /// `TimedOut`.
    ///
    /// ```
    /// use strands::join::{CancelReason, PartStatus};
    /// assert!(PartStatus::<u8, &str>::Failed("no").is_failure());
    /// assert!(PartStatus::<u8, &str>::TimedOut.is_failure());
    /// // Cancelled by the plan is not a failure of the part's own.
    /// assert!(!PartStatus::<u8, &str>::Cancelled(CancelReason::Decided).is_failure());
    /// ```
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            PartStatus::Failed(_) | PartStatus::Panicked(_) | PartStatus::TimedOut
        )
    }

    /// A short name for tables: `succeeded`, `failed`, `panicked`,
    /// `timed out`, `cancelled`, `not run`, `discarded`, `abandoned`.
    ///
    /// ```
    /// use strands::join::PartStatus;
    /// assert_eq!(PartStatus::<u8, ()>::TimedOut.label(), "timed out");
    /// assert_eq!(PartStatus::<u8, ()>::Succeeded(1).label(), "succeeded");
    /// ```
    pub fn label(&self) -> &'static str {
        match self {
            PartStatus::Succeeded(_) => "succeeded",
            PartStatus::Failed(_) => "failed",
            PartStatus::Panicked(_) => "panicked",
            PartStatus::TimedOut => "timed out",
            PartStatus::Cancelled(_) => "cancelled",
            PartStatus::NotRun => "not run",
            PartStatus::Discarded(_) => "discarded",
            PartStatus::Abandoned => "abandoned",
        }
    }
}

/// Why an attempt started.
///
/// ```
/// use std::time::Duration;
/// use strands::join::{AttemptKind, Backoff, JoinMode, Need, Part};
/// strands::run(|| {
///     let mut calls = 0;
///     let outcome = Need::new(JoinMode::All)
///         .part(Part::required("flaky", move || {
///             calls += 1;
///             if calls < 2 { Err("busy") } else { Ok(calls) }
///         })
///         .retry(Backoff::constant(Duration::from_millis(1))))
///         .run();
///     let kinds: Vec<AttemptKind> = outcome.parts()[0].attempts().iter().map(|a| a.kind()).collect();
///     assert_eq!(kinds, [AttemptKind::First, AttemptKind::Retry]);
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptKind {
    /// The part's first attempt.
    First,
    /// A retry after a failed attempt.
    Retry,
    /// A hedge started while another attempt was still running.
    Hedge,
}

/// How one attempt ended.
///
/// ```
/// use std::time::Duration;
/// use strands::join::{AttemptResult, Backoff, JoinMode, Need, Part};
/// strands::run(|| {
///     let mut calls = 0;
///     let outcome = Need::new(JoinMode::All)
///         .part(Part::required("flaky", move || {
///             calls += 1;
///             if calls < 2 { Err("busy") } else { Ok(calls) }
///         })
///         .retry(Backoff::constant(Duration::from_millis(1))))
///         .run();
///     let attempts = outcome.parts()[0].attempts();
///     assert!(matches!(attempts[0].result(), AttemptResult::Failed(Some("busy"))));
///     assert!(matches!(attempts[1].result(), AttemptResult::Succeeded));
/// });
/// ```
#[derive(Debug)]
pub enum AttemptResult<E> {
    /// It returned a value (now in the part's status).
    Succeeded,
    /// It returned an error: here, or `None` when it is the part's final
    /// error (moved to [`PartStatus::Failed`]).
    Failed(Option<E>),
    /// It panicked with this message.
    Panicked(String),
    /// Its attempt timeout, the part's timeout or the plan's deadline passed.
    TimedOut,
    /// It was cancelled.
    Cancelled(CancelReason),
    /// It returned a value after being cancelled.
    Discarded,
    /// It never ended within the grace; its strand was detached.
    Abandoned,
}

/// One attempt of a part.
///
/// ```
/// use std::time::Duration;
/// use strands::join::{Backoff, JoinMode, Need, Part};
/// strands::run(|| {
///     let outcome = Need::new(JoinMode::All)
///         .part(Part::required("down", || Err::<u8, _>("refused"))
///             .retry(Backoff::constant(Duration::from_millis(2)).max_attempts(3)))
///         .run();
///     for a in outcome.parts()[0].attempts() {
///         println!("{:?} after {:?}: {:?} in {:?}", a.kind(), a.backoff(), a.result(), a.elapsed());
///     }
///     assert_eq!(outcome.parts()[0].attempts().len(), 3);
/// });
/// ```
pub struct Attempt<E> {
    pub(crate) kind: AttemptKind,
    pub(crate) backoff: Duration,
    pub(crate) start: Instant,
    /// When its result reached the runner (or it was abandoned); `None`
    /// while it has not (its elapsed time is then zero). The runner keeps
    /// the instant, not the duration: the subtraction is made only when
    /// asked for.
    pub(crate) end: Option<Instant>,
    pub(crate) result: AttemptResult<E>,
}

impl<E: fmt::Debug> fmt::Debug for Attempt<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attempt")
            .field("kind", &self.kind)
            .field("backoff", &self.backoff)
            .field("start", &self.start)
            .field("elapsed", &self.elapsed())
            .field("result", &self.result)
            .finish()
    }
}

impl<E> Attempt<E> {
    /// Why it started.
    ///
    /// ```
    /// use strands::join::{AttemptKind, JoinMode, Need, Part};
    /// let outcome = strands::run(|| Need::new(JoinMode::All).part(Part::required("a", || Ok::<u8, ()>(1))).run());
    /// assert_eq!(outcome.parts()[0].attempts()[0].kind(), AttemptKind::First);
    /// ```
    pub fn kind(&self) -> AttemptKind {
        self.kind
    }
    /// The backoff waited before it (zero for first attempts and hedges).
    ///
    /// ```
    /// use std::time::Duration;
    /// use strands::join::{Backoff, JoinMode, Need, Part};
    /// let outcome = strands::run(|| {
    ///     Need::new(JoinMode::All)
    ///         .part(Part::required("a", || Err::<u8, ()>(()))
    ///             .retry(Backoff::constant(Duration::from_millis(3)).max_attempts(2)))
    ///         .run()
    /// });
    /// let attempts = outcome.parts()[0].attempts();
    /// assert_eq!(attempts[0].backoff(), Duration::ZERO);
    /// assert_eq!(attempts[1].backoff(), Duration::from_millis(3));
    /// ```
    pub fn backoff(&self) -> Duration {
        self.backoff
    }
    /// When it started.
    ///
    /// ```
    /// use std::time::Instant;
    /// use strands::join::{JoinMode, Need, Part};
    /// let before = Instant::now();
    /// let outcome = strands::run(|| Need::new(JoinMode::All).part(Part::required("a", || Ok::<u8, ()>(1))).run());
    /// assert!(outcome.parts()[0].attempts()[0].start() >= before);
    /// ```
    pub fn start(&self) -> Instant {
        self.start
    }
    /// How long it ran (until its result reached the runner).
    ///
    /// ```
    /// use std::time::Duration;
    /// use strands::join::{JoinMode, Need, Part};
    /// let outcome = strands::run(|| Need::new(JoinMode::All).part(Part::required("a", || Ok::<u8, ()>(1))).run());
    /// let a = &outcome.parts()[0].attempts()[0];
    /// assert!(a.elapsed() < Duration::from_secs(60));
    /// ```
    pub fn elapsed(&self) -> Duration {
        self.end
            .map_or(Duration::ZERO, |e| e.saturating_duration_since(self.start))
    }
    /// How it ended.
    ///
    /// ```
    /// use strands::join::{AttemptResult, JoinMode, Need, Part};
    /// let outcome = strands::run(|| {
    ///     Need::new(JoinMode::All)
    ///         .part(Part::optional("a", || -> Result<u8, ()> { panic!("bug") }))
    ///         .run()
    /// });
    /// assert!(matches!(outcome.parts()[0].attempts()[0].result(), AttemptResult::Panicked(m) if m == "bug"));
    /// ```
    pub fn result(&self) -> &AttemptResult<E> {
        &self.result
    }
}

/// A part's attempts: most parts make one, which needs no allocation.
#[derive(Debug)]
pub(crate) enum Attempts<E> {
    Zero,
    One(Attempt<E>),
    Many(Vec<Attempt<E>>),
}

impl<E> Attempts<E> {
    pub(crate) fn push(&mut self, a: Attempt<E>) {
        if let Attempts::Zero = self {
            *self = Attempts::One(a); // the usual case: one move
            return;
        }
        *self = match std::mem::replace(self, Attempts::Zero) {
            Attempts::Zero => Attempts::One(a),
            Attempts::One(first) => Attempts::Many(vec![first, a]),
            Attempts::Many(mut v) => {
                v.push(a);
                Attempts::Many(v)
            }
        };
    }
}

impl<E> std::ops::Deref for Attempts<E> {
    type Target = [Attempt<E>];
    fn deref(&self) -> &[Attempt<E>] {
        match self {
            Attempts::Zero => &[],
            Attempts::One(a) => std::slice::from_ref(a),
            Attempts::Many(v) => v,
        }
    }
}

impl<E> std::ops::DerefMut for Attempts<E> {
    fn deref_mut(&mut self) -> &mut [Attempt<E>] {
        match self {
            Attempts::Zero => &mut [],
            Attempts::One(a) => std::slice::from_mut(a),
            Attempts::Many(v) => v,
        }
    }
}

/// The result of a part's compensation.
///
/// ```
/// use strands::join::{Compensation, JoinMode, Need, Part};
/// strands::run(|| {
///     let outcome = Need::new(JoinMode::AllRequired)
///         .part(Part::required("reserve seat", || Ok::<u32, String>(12))
///             .compensate(|seat| { println!("releasing seat {seat}"); Ok(()) }))
///         .part(Part::required("charge card", || Err("declined".to_string())))
///         .limit(1) // one after the other: the seat is reserved before the charge fails
///         .run();
///     assert!(!outcome.is_success());
///     let seat = outcome.part("reserve seat").unwrap();
///     assert!(matches!(seat.compensation(), Some(Compensation::Done)));
/// });
/// ```
#[derive(Debug)]
pub enum Compensation<E> {
    /// It returned `Ok(())`.
    Done,
    /// It returned this error.
    Failed(E),
    /// It panicked with this message.
    Panicked(String),
}

/// What happened to one part.
///
/// ```
/// use strands::join::{JoinMode, Need, Part};
/// strands::run(|| {
///     let outcome = Need::new(JoinMode::All)
///         .part(Part::required("db", || Ok::<u8, ()>(1)))
///         .part(Part::optional("cache", || Err(())))
///         .run();
///     for p in outcome.parts() {
///         println!(
///             "{:<6} {:<9} {} attempt(s) in {:?}{}",
///             p.name(),
///             p.status().label(),
///             p.attempts().len(),
///             p.elapsed(),
///             if p.is_required() { "" } else { " (optional)" },
///         );
///     }
/// });
/// ```
pub struct PartReport<T, E> {
    pub(crate) name: std::borrow::Cow<'static, str>,
    pub(crate) required: bool,
    pub(crate) status: PartStatus<T, E>,
    pub(crate) attempts: Attempts<E>,
    /// When its status became final, if it started (its elapsed time runs
    /// from its first attempt's start to here, computed when asked for).
    pub(crate) end: Option<Instant>,
    pub(crate) compensation: Option<Compensation<E>>,
}

impl<T: fmt::Debug, E: fmt::Debug> fmt::Debug for PartReport<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartReport")
            .field("name", &self.name)
            .field("required", &self.required)
            .field("status", &self.status)
            .field("attempts", &self.attempts)
            .field("elapsed", &self.elapsed())
            .field("compensation", &self.compensation)
            .finish()
    }
}

impl<T, E> PartReport<T, E> {
    /// The part's name.
    ///
    /// ```
    /// use strands::join::{JoinMode, Need, Part};
    /// let outcome = strands::run(|| Need::new(JoinMode::All).part(Part::required("db", || Ok::<u8, ()>(1))).run());
    /// assert_eq!(outcome.parts()[0].name(), "db");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Whether it was required.
    ///
    /// ```
    /// use strands::join::{JoinMode, Need, Part};
    /// let outcome = strands::run(|| Need::new(JoinMode::All).part(Part::optional("cache", || Ok::<u8, ()>(1))).run());
    /// assert!(!outcome.parts()[0].is_required());
    /// ```
    pub fn is_required(&self) -> bool {
        self.required
    }
    /// How it ended.
    ///
    /// ```
    /// use strands::join::{JoinMode, Need, Part, PartStatus};
    /// let outcome = strands::run(|| Need::new(JoinMode::All).part(Part::required("db", || Ok::<u8, ()>(1))).run());
    /// assert!(matches!(outcome.parts()[0].status(), PartStatus::Succeeded(1)));
    /// ```
    pub fn status(&self) -> &PartStatus<T, E> {
        &self.status
    }
    /// Takes the status out (leaving `NotRun`), to own a value.
    ///
    /// ```
    /// use strands::join::{JoinMode, Need, Part, PartStatus};
    /// let outcome = strands::run(|| {
    ///     Need::new(JoinMode::All).part(Part::required("body", || Ok::<_, ()>(vec![1u8, 2]))).run()
    /// });
    /// let mut parts = outcome.into_parts();
    /// let PartStatus::Succeeded(body) = parts[0].take_status() else { panic!() };
    /// assert_eq!(body, [1, 2]); // owned, no clone
    /// assert!(matches!(parts[0].status(), PartStatus::NotRun));
    /// ```
    pub fn take_status(&mut self) -> PartStatus<T, E> {
        std::mem::replace(&mut self.status, PartStatus::NotRun)
    }
    /// Every attempt, in the order they started.
    ///
    /// ```
    /// use std::time::Duration;
    /// use strands::join::{Backoff, JoinMode, Need, Part};
    /// let outcome = strands::run(|| {
    ///     Need::new(JoinMode::All)
    ///         .part(Part::required("a", || Err::<u8, _>("no"))
    ///             .retry(Backoff::constant(Duration::from_millis(1)).max_attempts(2)))
    ///         .run()
    /// });
    /// assert_eq!(outcome.parts()[0].attempts().len(), 2);
    /// ```
    pub fn attempts(&self) -> &[Attempt<E>] {
        &self.attempts
    }
    /// From its first attempt's start to its end (zero if it never ran).
    ///
    /// ```
    /// use std::time::Duration;
    /// use strands::join::{JoinMode, Need, Part};
    /// let outcome = strands::run(|| {
    ///     Need::new(JoinMode::All)
    ///         .part(Part::required("work", || { strands::sleep(Duration::from_millis(2)); Ok::<u8, ()>(1) }))
    ///         .run()
    /// });
    /// println!("work took {:?}", outcome.parts()[0].elapsed());
    /// ```
    pub fn elapsed(&self) -> Duration {
        match (self.attempts.first(), self.end) {
            (Some(first), Some(end)) => end.saturating_duration_since(first.start),
            _ => Duration::ZERO,
        }
    }
    /// Its compensation's result, if it ran one (the plan failed after this
    /// part succeeded).
    ///
    /// ```
    /// use strands::join::{JoinMode, Need, Part};
    /// let outcome = strands::run(|| {
    ///     Need::new(JoinMode::All)
    ///         .part(Part::required("a", || Ok::<u8, ()>(1)).compensate(|_| Ok(())))
    ///         .run()
    /// });
    /// // The plan succeeded: nothing to undo.
    /// assert!(outcome.parts()[0].compensation().is_none());
    /// ```
    pub fn compensation(&self) -> Option<&Compensation<E>> {
        self.compensation.as_ref()
    }
}

/// What a plan came to: whether it succeeded, and a report for every part
/// in the order they were added.
///
/// ```
/// use strands::join::{JoinMode, Need, Part, PartStatus};
/// strands::run(|| {
///     let outcome = Need::new(JoinMode::All)
///         .part(Part::required("a", || Ok::<u8, &str>(1)))
///         .part(Part::optional("b", || Err("no")))
///         .run();
///     assert!(outcome.is_success()); // b is optional
///     assert_eq!(outcome.value(), None); // `All` has no single winner
///     let b = outcome.part("b").unwrap();
///     assert!(matches!(b.status(), PartStatus::Failed("no")));
///     assert_eq!(b.attempts().len(), 1);
///     assert_eq!(outcome.failures().count(), 1);
/// });
/// ```
#[derive(Debug)]
pub struct Outcome<T, E> {
    pub(crate) mode: JoinMode,
    pub(crate) success: bool,
    pub(crate) winner: Option<usize>,
    pub(crate) parts: Vec<PartReport<T, E>>,
    pub(crate) elapsed: Duration,
    pub(crate) compensated: Vec<usize>,
    pub(crate) cancel_cause: Option<crate::CancelCause>,
}

impl<T, E> Outcome<T, E> {
    /// The cause of the [`CancelToken`](crate::CancelToken) that cancelled
    /// the plan (see [`Need::cancel_on`](super::Need::cancel_on)), if one
    /// did before the plan was decided.
    ///
    /// ```
    /// use strands::join::{JoinMode, Need, Part};
    /// strands::run(|| {
    ///     let token = strands::CancelToken::new();
    ///     token.cancel_with("shutting down"); // before the plan even runs
    ///     let outcome = Need::new(JoinMode::All)
    ///         .part(Part::required("a", || Ok::<u8, ()>(1)))
    ///         .cancel_on(&token)
    ///         .run();
    ///     assert!(!outcome.is_success());
    ///     assert_eq!(outcome.cancel_cause().unwrap().to_string(), "shutting down");
    /// });
    /// ```
    pub fn cancel_cause(&self) -> Option<&crate::CancelCause> {
        self.cancel_cause.as_ref()
    }

    /// Whether the plan succeeded.
    ///
    /// ```
    /// use strands::join::{JoinMode, Need, Part};
    /// let outcome = strands::run(|| {
    ///     Need::new(JoinMode::AllRequired)
    ///         .part(Part::required("a", || Err::<u8, _>("down")))
    ///         .run()
    /// });
    /// assert!(!outcome.is_success());
    /// ```
    pub fn is_success(&self) -> bool {
        self.success
    }
    /// The plan's mode.
    ///
    /// ```
    /// use strands::join::{JoinMode, Need};
    /// let outcome = strands::run(|| Need::<u8, ()>::new(JoinMode::Any).run());
    /// assert_eq!(outcome.mode(), JoinMode::Any);
    /// ```
    pub fn mode(&self) -> JoinMode {
        self.mode
    }
    /// The winner's value (`Any` and `FirstSuccess`, on success); `None`
    /// otherwise.
    ///
    /// ```
    /// use strands::join::{JoinMode, Need, Part};
    /// let outcome = strands::run(|| {
    ///     Need::new(JoinMode::FirstSuccess)
    ///         .part(Part::required("primary", || Err::<&str, _>("down")))
    ///         .part(Part::required("replica", || Ok("data")))
    ///         .run()
    /// });
    /// assert_eq!(outcome.value(), Some(&"data"));
    /// ```
    pub fn value(&self) -> Option<&T> {
        match &self.parts[self.winner?].status {
            PartStatus::Succeeded(v) => Some(v),
            _ => None,
        }
    }
    /// The deciding part: the winner (`Any`, `FirstSuccess`), or the part
    /// whose failure failed the plan (`Any`, `AllRequired`, `Quorum`).
    ///
    /// ```
    /// use strands::join::{JoinMode, Need, Part};
    /// let outcome = strands::run(|| {
    ///     Need::new(JoinMode::FirstSuccess)
    ///         .part(Part::required("primary", || Err::<u8, _>("down")))
    ///         .part(Part::required("replica", || Ok(1)))
    ///         .run()
    /// });
    /// assert_eq!(outcome.decided_by().unwrap().name(), "replica");
    /// ```
    pub fn decided_by(&self) -> Option<&PartReport<T, E>> {
        self.winner.map(|i| &self.parts[i])
    }
    /// Every part, in the order they were added.
    ///
    /// ```
    /// use strands::join::{JoinMode, Need, Part};
    /// let outcome = strands::run(|| {
    ///     Need::new(JoinMode::All)
    ///         .part(Part::required("a", || Ok::<u8, ()>(1)))
    ///         .part(Part::required("b", || Ok(2)))
    ///         .run()
    /// });
    /// let names: Vec<&str> = outcome.parts().iter().map(|p| p.name()).collect();
    /// assert_eq!(names, ["a", "b"]);
    /// ```
    pub fn parts(&self) -> &[PartReport<T, E>] {
        &self.parts
    }
    /// The first part with this name.
    ///
    /// ```
    /// use strands::join::{JoinMode, Need, Part};
    /// let outcome = strands::run(|| Need::new(JoinMode::All).part(Part::required("db", || Ok::<u8, ()>(1))).run());
    /// assert!(outcome.part("db").unwrap().status().is_success());
    /// assert!(outcome.part("nope").is_none());
    /// ```
    pub fn part(&self, name: &str) -> Option<&PartReport<T, E>> {
        self.parts.iter().find(|p| p.name == name)
    }
    /// The parts that failed on their own (`Failed`, `Panicked`,
    /// `TimedOut`).
    ///
    /// ```
    /// use strands::join::{JoinMode, Need, Part};
    /// let outcome = strands::run(|| {
    ///     Need::new(JoinMode::All)
    ///         .part(Part::optional("a", || Err::<u8, _>("refused")))
    ///         .part(Part::optional("b", || Ok(1)))
    ///         .run()
    /// });
    /// let failed: Vec<&str> = outcome.failures().map(|p| p.name()).collect();
    /// assert_eq!(failed, ["a"]);
    /// ```
    pub fn failures(&self) -> impl Iterator<Item = &PartReport<T, E>> {
        self.parts.iter().filter(|p| p.status.is_failure())
    }
    /// The indices of the parts compensated, in the order their
    /// compensations ran.
    ///
    /// ```
    /// use strands::join::{JoinMode, Need, Part};
    /// let outcome = strands::run(|| {
    ///     Need::new(JoinMode::AllRequired)
    ///         .part(Part::required("a", || Ok::<u8, ()>(1)).compensate(|_| Ok(())))
    ///         .part(Part::required("b", || Err(())))
    ///         .limit(1) // "a" succeeds before "b" fails
    ///         .run()
    /// });
    /// assert_eq!(outcome.compensated(), [0]);
    /// ```
    pub fn compensated(&self) -> &[usize] {
        &self.compensated
    }
    /// How long `run` took.
    ///
    /// ```
    /// use std::time::Duration;
    /// use strands::join::{JoinMode, Need, Part};
    /// let outcome = strands::run(|| Need::new(JoinMode::All).part(Part::required("a", || Ok::<u8, ()>(1))).run());
    /// assert!(outcome.elapsed() < Duration::from_secs(60));
    /// ```
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
    /// The reports, to own the values.
    ///
    /// ```
    /// use strands::join::{JoinMode, Need, Part, PartStatus};
    /// let outcome = strands::run(|| {
    ///     Need::new(JoinMode::All)
    ///         .part(Part::required("a", || Ok::<_, ()>(String::from("x"))))
    ///         .part(Part::required("b", || Ok(String::from("y"))))
    ///         .run()
    /// });
    /// let owned: Vec<String> = outcome
    ///     .into_parts()
    ///     .into_iter()
    ///     .filter_map(|mut p| match p.take_status() {
    ///         PartStatus::Succeeded(v) => Some(v),
    ///         _ => None,
    ///     })
    ///     .collect();
    /// assert_eq!(owned, ["x", "y"]);
    /// ```
    pub fn into_parts(self) -> Vec<PartReport<T, E>> {
        self.parts
    }
    /// The winner's value, owned.
    ///
    /// ```
    /// use strands::join::{JoinMode, Need, Part};
    /// let outcome = strands::run(|| {
    ///     Need::new(JoinMode::Any)
    ///         .part(Part::required("only", || Ok::<_, ()>(String::from("body"))))
    ///         .run()
    /// });
    /// assert_eq!(outcome.into_value().as_deref(), Some("body"));
    /// ```
    pub fn into_value(mut self) -> Option<T> {
        match self.parts[self.winner?].take_status() {
            PartStatus::Succeeded(v) => Some(v),
            _ => None,
        }
    }
}
