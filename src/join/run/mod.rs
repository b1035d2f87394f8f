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

mod attempts;
mod part;
mod report;
mod settle;

use crate::channel::{self, RecvTimeoutError, Sender};
use crate::join::budget::RetryBudget;
use crate::join::decide::{Decider, Decision};
use crate::join::outcome::Outcome;
use crate::join::plan::{JoinMode, Need};
use crate::runtime::Handle;
use crate::sync::Mutex;
use std::sync::Arc;
use std::time::{Duration, Instant};

use part::{Live, PartRt};
use report::{Hook, Raw, Report, TOKEN};

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
