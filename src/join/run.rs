//! The plan's engine: one runner (the caller of `run`) and one strand per
//! attempt.
//!
//! Each attempt's strand runs the part's body under `catch_unwind` and, from
//! a drop guard (so also when the strand is dropped before it starts),
//! sends a report -- the part and attempt, the result, and the body back for
//! the next retry -- on an unbounded channel. The runner is the only reader:
//! it waits on that channel with the nearest timer as deadline (attempt and
//! part timeouts, the plan's deadline, due retries and hedges, the grace),
//! applies each report to its bookkeeping and to the [`Decider`] in the
//! order it reads them, and only then cancels what the decision no longer
//! needs. Every decision is taken in this one thread, which is what makes
//! "the first success wins" atomic.
//!
//! A report tells the runner the body has returned (and its `Drop`s have
//! run); the runner then joins that strand, which is just ending. `run`
//! returns once every attempt has reported or been abandoned past the
//! grace. If the runner itself unwinds (its strand was cancelled), a guard
//! cancels every attempt still running.

use super::budget::RetryBudget;
use super::decide::{Decider, Decision};
use super::latency;
use super::outcome::{
    Attempt, AttemptKind, AttemptResult, Attempts, CancelReason, Compensation, Outcome, PartReport,
    PartStatus,
};
use super::plan::{Body, Config, Discard, HedgeDelay, JoinMode, Need, Spec};
use crate::channel::{self, RecvTimeoutError, Sender};
use crate::runtime::Handle;
use crate::sync::Mutex;
use crate::{Builder, JoinHandle};
use std::borrow::Cow;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

type SharedHook<T> = Arc<Mutex<Discard<T>>>;
type Hook<T> = Option<SharedHook<T>>;

enum Raw<T, E> {
    Ok(T),
    Err(E),
    Panic(String),
    /// The body unwound with the runtime's cancellation.
    Cancelled,
    /// The strand was dropped before it ran.
    NotStarted,
}

/// The `part` of the report the token watcher sends (see
/// `Need::cancel_on`).
const TOKEN: usize = usize::MAX;

struct Report<T, E> {
    part: usize,
    attempt: usize,
    raw: Raw<T, E>,
    body: Option<Box<dyn Body<T, E>>>,
}

/// Lives in the attempt's strand; its `Drop` sends the report.
struct Reporter<T: Send + 'static, E: Send + 'static> {
    tx: Sender<Report<T, E>>,
    part: usize,
    attempt: usize,
    /// The part's name and the plan's `on_discarded`, if it has one.
    late: Option<(Arc<str>, SharedHook<T>)>,
    body: Option<Box<dyn Body<T, E>>>,
    raw: Option<Raw<T, E>>,
}

impl<T: Send + 'static, E: Send + 'static> Drop for Reporter<T, E> {
    fn drop(&mut self) {
        let report = Report {
            part: self.part,
            attempt: self.attempt,
            raw: self.raw.take().unwrap_or(Raw::NotStarted),
            body: self.body.take(),
        };
        if let Err(channel::SendError(r)) = self.tx.send(report) {
            // the runner is gone (this attempt was abandoned): the hook, if
            // any, still gets a value, else it is dropped here, once
            if let (Raw::Ok(v), Some((name, hook))) = (r.raw, &self.late) {
                let mut h = hook.lock().unwrap_or_else(|e| e.into_inner());
                h(name, v);
            }
        }
    }
}

/// Hands `v` to the hook; gives it back if there is none.
fn discard<T>(hook: &Hook<T>, name: &str, v: T) -> Option<T> {
    match hook {
        Some(h) => {
            let mut h = h.lock().unwrap_or_else(|e| e.into_inner());
            h(name, v);
            None
        }
        None => Some(v),
    }
}

/// Why the runner cut an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cut {
    AttemptTimeout,
    PartTimeout,
    Deadline,
    Hedge,
    Plan(CancelReason),
}

struct Live {
    part: usize,
    attempt: usize,
    handle: JoinHandle<()>,
    deadline: Option<Instant>,
    cut: Option<Cut>,
    abandon_at: Option<Instant>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Queued,
    Active,
    Final,
}

pub(crate) struct PartRt<T, E> {
    name: Cow<'static, str>,
    /// The name for reporters, made once if the plan has a hook.
    shared_name: Option<Arc<str>>,
    required: bool,
    body: Option<Box<dyn Body<T, E>>>,
    cfg: Option<Box<Config<T, E>>>,
    max_attempts: u32,

    phase: Phase,
    live: usize,
    started: u32,
    hedges: u32,
    pending: Option<(Instant, Duration)>,
    next_hedge: Option<Instant>,
    deadline: Option<Instant>,
    first_start: Option<Instant>,
    end: Option<Instant>,
    attempts: Attempts<E>,
    status: Option<PartStatus<T, E>>,
    cut: Option<Cut>,
    late: Option<T>,
    got_late: bool,
    abandoned: bool,
}

impl<T, E> PartRt<T, E> {
    pub(crate) fn new(s: Spec<T, E>, hedging: bool) -> PartRt<T, E> {
        let mut cfg = s.cfg;
        let mut max_attempts = 1;
        if let Some(c) = cfg.as_deref_mut() {
            if let Some(b) = &c.retry {
                max_attempts = b.attempts();
                c.schedule = Some(b.schedule());
            }
            if !hedging {
                c.hedge = None;
            }
            if c.hedge.is_some() {
                c.template = s.body.fork();
            }
        }
        PartRt {
            name: s.name,
            shared_name: None,
            required: s.required,
            body: Some(s.body),
            cfg,
            max_attempts,
            phase: Phase::Queued,
            live: 0,
            started: 0,
            hedges: 0,
            pending: None,
            next_hedge: None,
            deadline: None,
            first_start: None,
            end: None,
            attempts: Attempts::Zero,
            status: None,
            cut: None,
            late: None,
            got_late: false,
            abandoned: false,
        }
    }

    fn hedge_delay(&self) -> Option<Duration> {
        let (after, max) = self.cfg.as_ref()?.hedge?;
        if self.hedges >= max {
            return None;
        }
        Some(match after {
            HedgeDelay::Fixed(d) => d,
            HedgeDelay::P95 { fallback } => latency::latency_p95(&self.name).unwrap_or(fallback),
        })
    }
}

struct Run<T: Send + 'static, E: Send + 'static> {
    mode: JoinMode,
    parts: Vec<PartRt<T, E>>,
    lives: Vec<Live>,
    decider: Decider,
    decision: Option<Decision>,
    deadline: Option<Instant>,
    limit: usize,
    grace: Option<Duration>,
    grace_end: Option<Instant>,
    budget: Option<RetryBudget>,
    hook: Hook<T>,
    handle: Handle,
    tx: Sender<Report<T, E>>,
    next_queued: usize,
    active: usize,
    /// The decision was taken by the plan's deadline.
    at_deadline: bool,
    /// The plan's token, and whether its cancellation decided the plan.
    token: Option<crate::CancelToken>,
    by_token: Option<crate::CancelCause>,
}

impl<T: Send + 'static, E: Send + 'static> Need<T, E> {
    /// Runs the plan (see [`Need`]). From a strand, parks it; from a plain
    /// thread, use [`run_on`](Need::run_on).
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// ```
    /// use strands::join::{JoinMode, Need, Part, PartStatus};
    /// strands::run(|| {
    ///     let outcome = Need::new(JoinMode::AllRequired)
    ///         .part(Part::required("user", || Ok::<_, String>("ann".to_string())))
    ///         .part(Part::required("orders", || Ok("3 orders".to_string())))
    ///         .run();
    ///     assert!(outcome.is_success());
    ///     let values: Vec<String> = outcome
    ///         .into_parts()
    ///         .into_iter()
    ///         .filter_map(|mut p| match p.take_status() {
    ///             PartStatus::Succeeded(v) => Some(v),
    ///             _ => None,
    ///         })
    ///         .collect();
    ///     assert_eq!(values, ["ann", "3 orders"]); // in the order the parts were added
    /// });
    /// ```
    #[track_caller]
    pub fn run(self) -> Outcome<T, E> {
        let handle = match self.handle.clone().or_else(Handle::try_current) {
            Some(h) => h,
            None => panic!(
                "Need::run called outside a runtime: call it from a strand, or use Need::run_on"
            ),
        };
        run(self, handle)
    }

    /// Runs the plan with its parts on `handle`'s runtime; works from a
    /// plain thread (which blocks) as well as from a strand.
    ///
    /// ```
    /// use strands::join::{JoinMode, Need, Part};
    /// let rt = strands::Runtime::new().unwrap();
    /// let outcome = Need::new(JoinMode::All)
    ///     .part(Part::required("a", || Ok::<_, ()>(2)))
    ///     .run_on(rt.handle());
    /// assert!(outcome.is_success());
    /// ```
    pub fn run_on(self, handle: &Handle) -> Outcome<T, E> {
        run(self, handle.clone())
    }
}

fn run<T: Send + 'static, E: Send + 'static>(need: Need<T, E>, handle: Handle) -> Outcome<T, E> {
    let began = Instant::now();
    let (tx, rx) = channel::unbounded();
    let decider = Decider::new(need.mode, need.parts.iter().map(|p| p.required));
    let hedging = need.mode == JoinMode::FirstSuccess;
    let mut r = Run {
        mode: need.mode,
        parts: need
            .parts
            .into_iter()
            .map(|s| PartRt::new(s, hedging))
            .collect(),
        lives: Vec::new(),
        decider,
        decision: None,
        deadline: need.deadline,
        limit: need.limit.unwrap_or(usize::MAX),
        grace: need.grace,
        grace_end: None,
        budget: need.budget,
        hook: need.on_discarded.map(|h| Arc::new(Mutex::new(h))),
        handle,
        tx,
        next_queued: 0,
        active: 0,
        at_deadline: false,
        token: need.token,
        by_token: None,
    };
    // A token's cancellation reaches the runner as a report from a small
    // strand waiting on it (cancelled once the plan is done).
    let watcher = r.token.clone().and_then(|token| {
        let tx = r.tx.clone();
        crate::Builder::new()
            .spawn_on(&r.handle, move || {
                token.wait();
                let _ = tx.send(Report {
                    part: TOKEN,
                    attempt: 0,
                    raw: Raw::NotStarted,
                    body: None,
                });
            })
            .ok()
    });
    r.lives.reserve(r.parts.len().min(r.limit));
    let cancelled_before = r.token.as_ref().and_then(|t| t.cause());
    if let Some(cause) = cancelled_before {
        // cancelled before the plan began: decided now, no part starts
        // (whichever strand the scheduler ran first)
        r.by_token = Some(cause);
        let d = r.decider.cancel();
        r.apply(d, began);
    } else if let Some(d) = r.decider.start() {
        r.apply(d, began);
    } else if r.deadline.is_some_and(|d| d <= began) {
        let d = r.decider.deadline();
        r.at_deadline = true;
        r.apply(d, began);
    } else {
        r.fill(began);
    }
    loop {
        let wake = r.next_wake();
        if r.lives.is_empty() && (r.decision.is_some() || wake.is_none()) {
            if r.decision.is_none() {
                // cannot happen (every part settles and every mode decides
                // once all settled); end as at a deadline rather than hang
                debug_assert!(false, "plan undecided with nothing left to wait for");
                let d = r.decider.deadline();
                r.at_deadline = true;
                r.apply(d, Instant::now());
            }
            break;
        }
        let got = match wake {
            Some(t) => rx.recv_deadline(t),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        // one clock read per wake-up: the report's time and the timers'
        let now = Instant::now();
        match got {
            Ok(report) => {
                r.on_report(report, now);
                // take whatever else is there without going round the loop
                while let Ok(report) = rx.try_recv() {
                    r.on_report(report, now);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => unreachable!("the runner holds a sender"),
        }
        if r.next_wake().is_some_and(|t| t <= now) {
            r.on_timers(now);
        }
    }
    if let Some(w) = watcher {
        w.cancel(); // detached: it ends at its wait
    }
    r.finish(began)
}

impl<T: Send + 'static, E: Send + 'static> Run<T, E> {
    fn fill(&mut self, now: Instant) {
        while self.decision.is_none()
            && self.active < self.limit
            && self.next_queued < self.parts.len()
        {
            let i = self.next_queued;
            self.next_queued += 1;
            if self.parts[i].phase == Phase::Queued {
                self.start_part(i, now);
            }
        }
    }

    fn start_part(&mut self, i: usize, now: Instant) {
        let p = &mut self.parts[i];
        p.phase = Phase::Active;
        self.active += 1;
        p.first_start = Some(now);
        if let Some(t) = p.cfg.as_ref().and_then(|c| c.timeout) {
            if t.is_zero() {
                p.cut = Some(Cut::PartTimeout);
                self.finalize(i, PartStatus::TimedOut, now);
                return;
            }
            p.deadline = now.checked_add(t);
        }
        self.start_attempt(i, AttemptKind::First, Duration::ZERO, now);
    }

    fn start_attempt(&mut self, i: usize, kind: AttemptKind, backoff: Duration, now: Instant) {
        let p = &mut self.parts[i];
        let body = match kind {
            AttemptKind::Hedge => p
                .cfg
                .as_ref()
                .and_then(|c| c.template.as_ref())
                .and_then(|t| t.fork()),
            _ => p.body.take(),
        };
        let Some(body) = body else {
            // only after a strand that could not even start lost it
            let status = last_status(p);
            self.finalize(i, status, now);
            return;
        };
        match kind {
            AttemptKind::Hedge => p.hedges += 1,
            _ => p.started += 1,
        }
        let attempt = p.attempts.len();
        p.attempts.push(Attempt {
            kind,
            backoff,
            start: now,
            elapsed: Duration::ZERO,
            result: AttemptResult::Cancelled(CancelReason::External),
        });
        let reporter = Reporter {
            tx: self.tx.clone(),
            part: i,
            attempt,
            late: self.hook.as_ref().map(|h| {
                let name = p.shared_name.get_or_insert_with(|| Arc::from(&*p.name));
                (Arc::clone(name), Arc::clone(h))
            }),
            body: Some(body),
            raw: None,
        };
        let spawned = Builder::new().spawn_on(&self.handle, move || {
            let mut r = reporter;
            let mut body = r.body.take().expect("the body is there until it runs");
            let res = panic::catch_unwind(AssertUnwindSafe(|| body.call()));
            r.body = Some(body);
            r.raw = Some(match res {
                Ok(Ok(v)) => Raw::Ok(v),
                Ok(Err(e)) => Raw::Err(e),
                Err(p) if p.is::<crate::runtime::context::Cancelled>() => Raw::Cancelled,
                Err(p) => Raw::Panic(
                    crate::join_handle::panic_message(p.as_ref())
                        .unwrap_or("(a panic payload that is not a string)")
                        .to_string(),
                ),
            });
            // `r` drops here and reports
        });
        match spawned {
            Ok(handle) => {
                p.live += 1;
                if kind != AttemptKind::Hedge {
                    p.next_hedge = p.hedge_delay().and_then(|d| now.checked_add(d));
                }
                let deadline = p
                    .cfg
                    .as_ref()
                    .and_then(|c| c.attempt_timeout)
                    .and_then(|t| now.checked_add(t));
                self.lives.push(Live {
                    part: i,
                    attempt,
                    handle,
                    deadline,
                    cut: None,
                    abandon_at: None,
                });
            }
            Err(e) => {
                // the closure was dropped: its report (`NotStarted`, with the
                // body) arrives later and finds no live attempt
                p.attempts[attempt].result =
                    AttemptResult::Panicked(format!("could not spawn: {e}"));
                self.after_attempt(i, now);
            }
        }
    }

    fn on_report(&mut self, r: Report<T, E>, now: Instant) {
        if r.part == TOKEN {
            if self.decision.is_none() {
                self.by_token = self.token.as_ref().and_then(|t| t.cause());
                let d = self.decider.cancel();
                self.apply(d, now);
            }
            return;
        }
        let Some(pos) = self
            .lives
            .iter()
            .position(|l| l.part == r.part && l.attempt == r.attempt)
        else {
            // an abandoned attempt (or one that never spawned) ended late
            if let Raw::Ok(v) = r.raw {
                let p = &mut self.parts[r.part];
                if let Some(v) = discard(&self.hook, &p.name, v) {
                    if p.late.is_none() && matches!(p.status, Some(PartStatus::Abandoned)) {
                        p.status = Some(PartStatus::Discarded(Some(v)));
                    }
                }
            }
            return;
        };
        let live = self.lives.swap_remove(pos);
        let _ = live.handle.join(); // the strand is ending: its report was its last act
        let i = r.part;
        let p = &mut self.parts[i];
        p.live -= 1;
        if p.body.is_none() && p.attempts[r.attempt].kind != AttemptKind::Hedge {
            p.body = r.body;
        }
        let a = &mut p.attempts[r.attempt];
        a.elapsed = now.saturating_duration_since(a.start);
        let kind = a.kind;
        let elapsed = a.elapsed;
        let part_cut = p.cut.filter(|c| !matches!(c, Cut::PartTimeout));
        let cut = live.cut.or(p.cut);
        match r.raw {
            Raw::Ok(v) => {
                if p.status.is_some() || part_cut.is_some() {
                    // too late: the part already has a value, or was cancelled
                    a.result = AttemptResult::Discarded;
                    let kept = discard(&self.hook, &p.name, v);
                    if p.status.is_none() {
                        p.got_late = true;
                        p.late = kept;
                    }
                } else {
                    a.result = AttemptResult::Succeeded;
                    if let Some(b) = &self.budget {
                        b.record_success();
                    }
                    if p.cfg.as_ref().is_some_and(|c| c.hedge.is_some()) {
                        latency::record(&p.name, elapsed);
                    }
                    let _ = kind;
                    self.cut_part(i, Cut::Hedge, now);
                    self.finalize(i, PartStatus::Succeeded(v), now);
                    return;
                }
            }
            raw => {
                a.result = match (raw, cut) {
                    (_, Some(Cut::Plan(reason))) => AttemptResult::Cancelled(reason),
                    (_, Some(Cut::Hedge)) => AttemptResult::Cancelled(CancelReason::HedgeLost),
                    (_, Some(Cut::AttemptTimeout | Cut::PartTimeout | Cut::Deadline)) => {
                        AttemptResult::TimedOut
                    }
                    (Raw::Err(e), None) => AttemptResult::Failed(Some(e)),
                    (Raw::Panic(m), None) => AttemptResult::Panicked(m),
                    (_, None) => AttemptResult::Cancelled(CancelReason::External),
                };
                let failed = matches!(
                    a.result,
                    AttemptResult::Failed(_) | AttemptResult::Panicked(_)
                ) || live.cut == Some(Cut::AttemptTimeout);
                if failed {
                    if let Some(b) = &self.budget {
                        b.record_failure();
                    }
                }
            }
        }
        self.after_attempt(i, now);
    }

    /// An attempt of part `i` ended without making it a success.
    fn after_attempt(&mut self, i: usize, now: Instant) {
        let p = &mut self.parts[i];
        if p.status.is_some() || p.live > 0 {
            return;
        }
        if p.abandoned {
            return self.finalize(i, PartStatus::Abandoned, now);
        }
        if p.got_late {
            let v = p.late.take();
            return self.finalize(i, PartStatus::Discarded(v), now);
        }
        match p.cut {
            Some(Cut::Plan(reason)) => return self.finalize(i, PartStatus::Cancelled(reason), now),
            Some(Cut::PartTimeout | Cut::Deadline) => {
                return self.finalize(i, PartStatus::TimedOut, now)
            }
            _ => {}
        }
        let Some(last) = p.attempts.last() else {
            return self.finalize(i, PartStatus::NotRun, now);
        };
        let Some(cfg) = p.cfg.as_deref_mut() else {
            let status = last_status(p);
            return self.finalize(i, status, now);
        };
        let retryable = match &last.result {
            AttemptResult::Failed(Some(e)) => cfg.retry_if.as_ref().is_none_or(|f| f(e)),
            AttemptResult::Panicked(_) => cfg.retry_panics,
            AttemptResult::TimedOut => true,
            _ => false,
        };
        let allowed = retryable
            && self.decision.is_none()
            && p.started < p.max_attempts
            && cfg.schedule.is_some()
            && self.budget.as_ref().is_none_or(|b| b.can_retry());
        if allowed {
            let asked = match (&last.result, &cfg.retry_after) {
                (AttemptResult::Failed(Some(e)), Some(f)) => f(e),
                _ => None,
            };
            let retry_no = p.started;
            let delay = match asked {
                Some(d) => d,
                None => cfg
                    .schedule
                    .as_mut()
                    .map_or(Duration::ZERO, |s| s.next_delay(retry_no)),
            };
            let due = now.checked_add(delay);
            let fits = due.is_some_and(|due| {
                p.deadline.is_none_or(|d| due <= d) && self.deadline.is_none_or(|d| due <= d)
            });
            if fits {
                p.pending = due.map(|due| (due, delay));
                p.next_hedge = None;
                return;
            }
        }
        let status = last_status(p);
        self.finalize(i, status, now);
    }

    fn finalize(&mut self, i: usize, status: PartStatus<T, E>, now: Instant) {
        let p = &mut self.parts[i];
        if p.phase == Phase::Active {
            self.active -= 1;
        }
        p.phase = Phase::Final;
        p.pending = None;
        p.next_hedge = None;
        p.end = Some(now);
        let ok = status.is_success();
        p.status = Some(status);
        if let Some(d) = self.decider.settle(i, ok) {
            self.apply(d, now);
        }
        self.fill(now);
    }

    /// Cancels the running attempts of part `i` (all of them, but for a
    /// `Hedge` cut, which spares none: the succeeding attempt has already
    /// reported).
    fn cut_part(&mut self, i: usize, cut: Cut, now: Instant) {
        if cut != Cut::Hedge {
            let p = &mut self.parts[i];
            p.cut = Some(cut);
            p.pending = None;
            p.next_hedge = None;
        }
        let abandon_at = self.grace.and_then(|g| now.checked_add(g));
        for l in self.lives.iter_mut().filter(|l| l.part == i) {
            if l.cut.is_none() || matches!(cut, Cut::Plan(_) | Cut::Deadline) {
                if l.cut.is_none() {
                    l.handle.cancel();
                    l.abandon_at = abandon_at;
                }
                l.cut = Some(cut);
            }
        }
        if cut != Cut::Hedge && self.parts[i].live == 0 && self.parts[i].phase == Phase::Active {
            self.after_attempt(i, now);
        }
    }

    /// The plan is decided: record it, then cut what it no longer needs.
    fn apply(&mut self, d: Decision, now: Instant) {
        if self.decision.is_some() {
            return;
        }
        self.decision = Some(d);
        // the deciding part (if any) is already final: every part still
        // active is cut
        let cut = if self.at_deadline {
            Cut::Deadline
        } else if self.by_token.is_some() {
            Cut::Plan(CancelReason::Token)
        } else {
            Cut::Plan(match (self.mode, d.is_success()) {
                (JoinMode::AllRequired, false) => CancelReason::FailFast,
                (JoinMode::AllRequired, true) => CancelReason::RequiredDone,
                _ => CancelReason::Decided,
            })
        };
        let graceful = self.mode == JoinMode::AllRequired && d.is_success() && self.grace.is_some();
        if graceful {
            self.grace_end = self.grace.and_then(|g| now.checked_add(g));
        }
        for j in 0..self.parts.len() {
            match self.parts[j].phase {
                Phase::Final => {}
                Phase::Queued => {
                    let p = &mut self.parts[j];
                    p.phase = Phase::Final;
                    p.status = Some(PartStatus::NotRun);
                }
                Phase::Active if graceful && !self.parts[j].required => {
                    // runs on until the grace ends; no retry starts
                    let p = &mut self.parts[j];
                    if p.pending.take().is_some() {
                        self.after_attempt(j, now);
                    }
                }
                Phase::Active => self.cut_part(j, cut, now),
            }
        }
    }

    fn on_timers(&mut self, now: Instant) {
        if self.decision.is_none() && self.deadline.is_some_and(|d| d <= now) {
            let d = self.decider.deadline();
            self.at_deadline = true;
            self.apply(d, now);
        }
        // attempt timeouts and abandonment
        let mut k = 0;
        while k < self.lives.len() {
            let l = &mut self.lives[k];
            if l.cut.is_none() && l.deadline.is_some_and(|d| d <= now) {
                l.handle.cancel();
                l.cut = Some(Cut::AttemptTimeout);
                l.abandon_at = self.grace.and_then(|g| now.checked_add(g));
            }
            if l.abandon_at.is_some_and(|a| a <= now) {
                let l = self.lives.swap_remove(k);
                drop(l.handle); // detached: it reports into the void, or to the hook
                let p = &mut self.parts[l.part];
                p.live -= 1;
                p.abandoned = true;
                let a = &mut p.attempts[l.attempt];
                a.elapsed = now.saturating_duration_since(a.start);
                a.result = AttemptResult::Abandoned;
                self.after_attempt(l.part, now);
                continue;
            }
            k += 1;
        }
        for i in 0..self.parts.len() {
            if self.parts[i].phase != Phase::Active {
                continue;
            }
            let p = &self.parts[i];
            if p.cut.is_none() && p.deadline.is_some_and(|d| d <= now) {
                self.cut_part(i, Cut::PartTimeout, now);
                continue;
            }
            if let Some((due, backoff)) = p.pending {
                if due <= now {
                    self.parts[i].pending = None;
                    self.start_attempt(i, AttemptKind::Retry, backoff, now);
                    continue;
                }
            }
            let p = &mut self.parts[i];
            if p.next_hedge.is_some_and(|t| t <= now) && p.live > 0 && p.status.is_none() {
                p.next_hedge = None;
                let allowed = self.budget.as_ref().is_none_or(|b| b.try_hedge());
                if allowed && self.decision.is_none() {
                    self.start_attempt(i, AttemptKind::Hedge, Duration::ZERO, now);
                    let p = &mut self.parts[i];
                    p.next_hedge = p.hedge_delay().and_then(|d| now.checked_add(d));
                }
            }
        }
        if self.grace_end.is_some_and(|g| g <= now) {
            self.grace_end = None;
            for j in 0..self.parts.len() {
                if self.parts[j].phase == Phase::Active {
                    self.cut_part(j, Cut::Plan(CancelReason::RequiredDone), now);
                }
            }
        }
        self.fill(now);
    }

    fn next_wake(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut at = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        if self.decision.is_none() {
            at(self.deadline);
        }
        at(self.grace_end);
        for l in &self.lives {
            if l.cut.is_none() {
                at(l.deadline);
            }
            at(l.abandon_at);
        }
        for p in self.parts.iter().filter(|p| p.phase == Phase::Active) {
            if p.cut.is_none() {
                at(p.deadline);
            }
            at(p.pending.map(|(d, _)| d));
            if p.live > 0 {
                at(p.next_hedge);
            }
        }
        t
    }

    fn finish(mut self, began: Instant) -> Outcome<T, E> {
        let decision = self.decision.unwrap_or(Decision::Failure { by: None });
        let success = decision.is_success();
        let winner = match decision {
            Decision::Success { winner } => winner,
            Decision::Failure { by } => by,
        };
        let mut compensated = Vec::new();
        if !success {
            let mut done: Vec<usize> = (0..self.parts.len())
                .filter(|&i| {
                    let p = &self.parts[i];
                    p.cfg.as_ref().is_some_and(|c| c.compensate.is_some())
                        && matches!(p.status, Some(PartStatus::Succeeded(_)))
                })
                .collect();
            done.sort_by_key(|&i| std::cmp::Reverse(self.parts[i].end));
            for i in done {
                let p = &mut self.parts[i];
                let Some(cfg) = p.cfg.as_deref_mut() else {
                    continue;
                };
                let (Some(f), Some(PartStatus::Succeeded(v))) = (cfg.compensate.take(), &p.status)
                else {
                    continue;
                };
                let res = panic::catch_unwind(AssertUnwindSafe(|| f(v)));
                cfg.compensation = Some(match res {
                    Ok(Ok(())) => Compensation::Done,
                    Ok(Err(e)) => Compensation::Failed(e),
                    Err(pl) => Compensation::Panicked(
                        crate::join_handle::panic_message(pl.as_ref())
                            .unwrap_or("(a panic payload that is not a string)")
                            .to_string(),
                    ),
                });
                compensated.push(i);
            }
        }
        let parts = std::mem::take(&mut self.parts)
            .into_iter()
            .map(|p| PartReport {
                name: p.name,
                required: p.required,
                status: p.status.unwrap_or(PartStatus::NotRun),
                elapsed: match (p.first_start, p.end) {
                    (Some(s), Some(e)) => e.saturating_duration_since(s),
                    _ => Duration::ZERO,
                },
                attempts: p.attempts,
                compensation: p.cfg.and_then(|c| c.compensation),
            })
            .collect();
        Outcome {
            mode: self.mode,
            success,
            winner,
            parts,
            elapsed: began.elapsed(),
            compensated,
            cancel_cause: self.by_token.take(),
        }
    }
}

/// The part's final status from its last attempt (moving the error out).
fn last_status<T, E>(p: &mut PartRt<T, E>) -> PartStatus<T, E> {
    let Some(last) = p.attempts.last_mut() else {
        return PartStatus::NotRun;
    };
    match &mut last.result {
        AttemptResult::Failed(e) => match e.take() {
            Some(e) => PartStatus::Failed(e),
            None => PartStatus::Cancelled(CancelReason::External),
        },
        AttemptResult::Panicked(m) => PartStatus::Panicked(m.clone()),
        AttemptResult::TimedOut => PartStatus::TimedOut,
        AttemptResult::Cancelled(r) => PartStatus::Cancelled(*r),
        AttemptResult::Abandoned => PartStatus::Abandoned,
        AttemptResult::Succeeded | AttemptResult::Discarded => {
            PartStatus::Cancelled(CancelReason::External)
        }
    }
}

impl<T: Send + 'static, E: Send + 'static> Drop for Run<T, E> {
    fn drop(&mut self) {
        // only non-empty if the runner unwinds (its strand was cancelled):
        // the attempts must not outlive the plan
        for l in &self.lives {
            l.handle.cancel();
        }
    }
}
