//! What a plan came to: [`Outcome`], [`PartReport`], [`PartStatus`],
//! [`Attempt`].

use super::JoinMode;
use std::time::{Duration, Instant};

/// Why the runner cancelled a part or an attempt.
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
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            PartStatus::Failed(_) | PartStatus::Panicked(_) | PartStatus::TimedOut
        )
    }

    /// A short name for tables: `succeeded`, `failed`, `panicked`,
    /// `timed out`, `cancelled`, `not run`, `discarded`, `abandoned`.
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
#[derive(Debug)]
pub struct Attempt<E> {
    pub(crate) kind: AttemptKind,
    pub(crate) backoff: Duration,
    pub(crate) start: Instant,
    pub(crate) elapsed: Duration,
    pub(crate) result: AttemptResult<E>,
}

impl<E> Attempt<E> {
    /// Why it started.
    pub fn kind(&self) -> AttemptKind {
        self.kind
    }
    /// The backoff waited before it (zero for first attempts and hedges).
    pub fn backoff(&self) -> Duration {
        self.backoff
    }
    /// When it started.
    pub fn start(&self) -> Instant {
        self.start
    }
    /// How long it ran (until its result reached the runner).
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
    /// How it ended.
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
#[derive(Debug)]
pub struct PartReport<T, E> {
    pub(crate) name: std::borrow::Cow<'static, str>,
    pub(crate) required: bool,
    pub(crate) status: PartStatus<T, E>,
    pub(crate) attempts: Attempts<E>,
    pub(crate) elapsed: Duration,
    pub(crate) compensation: Option<Compensation<E>>,
}

impl<T, E> PartReport<T, E> {
    /// The part's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Whether it was required.
    pub fn is_required(&self) -> bool {
        self.required
    }
    /// How it ended.
    pub fn status(&self) -> &PartStatus<T, E> {
        &self.status
    }
    /// Takes the status out (leaving `NotRun`), to own a value.
    pub fn take_status(&mut self) -> PartStatus<T, E> {
        std::mem::replace(&mut self.status, PartStatus::NotRun)
    }
    /// Every attempt, in the order they started.
    pub fn attempts(&self) -> &[Attempt<E>] {
        &self.attempts
    }
    /// From its first attempt's start to its end (zero if it never ran).
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
    /// Its compensation's result, if it ran one (the plan failed after this
    /// part succeeded).
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
    pub fn cancel_cause(&self) -> Option<&crate::CancelCause> {
        self.cancel_cause.as_ref()
    }

    /// Whether the plan succeeded.
    pub fn is_success(&self) -> bool {
        self.success
    }
    /// The plan's mode.
    pub fn mode(&self) -> JoinMode {
        self.mode
    }
    /// The winner's value (`Any` and `FirstSuccess`, on success); `None`
    /// otherwise.
    pub fn value(&self) -> Option<&T> {
        match &self.parts[self.winner?].status {
            PartStatus::Succeeded(v) => Some(v),
            _ => None,
        }
    }
    /// The deciding part: the winner (`Any`, `FirstSuccess`), or the part
    /// whose failure failed the plan (`Any`, `AllRequired`, `Quorum`).
    pub fn decided_by(&self) -> Option<&PartReport<T, E>> {
        self.winner.map(|i| &self.parts[i])
    }
    /// Every part, in the order they were added.
    pub fn parts(&self) -> &[PartReport<T, E>] {
        &self.parts
    }
    /// The first part with this name.
    pub fn part(&self, name: &str) -> Option<&PartReport<T, E>> {
        self.parts.iter().find(|p| p.name == name)
    }
    /// The parts that failed on their own (`Failed`, `Panicked`,
    /// `TimedOut`).
    pub fn failures(&self) -> impl Iterator<Item = &PartReport<T, E>> {
        self.parts.iter().filter(|p| p.status.is_failure())
    }
    /// The indices of the parts compensated, in the order their
    /// compensations ran.
    pub fn compensated(&self) -> &[usize] {
        &self.compensated
    }
    /// How long `run` took.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
    /// The reports, to own the values.
    pub fn into_parts(self) -> Vec<PartReport<T, E>> {
        self.parts
    }
    /// The winner's value, owned.
    pub fn into_value(mut self) -> Option<T> {
        match self.parts[self.winner?].take_status() {
            PartStatus::Succeeded(v) => Some(v),
            _ => None,
        }
    }
}
