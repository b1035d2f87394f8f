//! The plan's engine: one runner (the caller of `run`) and one strand per
//! attempt.
//!
//! Each attempt's strand runs the part's body under `catch_unwind` and, from
//! a drop guard (so also when the strand is dropped before it starts),
//! hands a report -- the part and attempt, the result, and the body back
//! for the next retry -- to the plan's inbox (`report.rs`). The runner is
//! its only reader: it waits there with the nearest timer as deadline
//! (attempt and part timeouts, the plan's deadline, due retries and hedges,
//! the grace; a plan with none of those has no timer to look for), applies
//! each report to its bookkeeping and to the [`Decider`] in the order it
//! reads them, and only then cancels what the decision no longer needs.
//! Every decision is taken in this one thread, which is what makes "the
//! first success wins" atomic.
//!
//! A report tells the runner the body has returned (and its `Drop`s have
//! run); the strand is then just ending. The runner lets go of the handle
//! of a strand already finished, and joins the others once no report is
//! left to wait for, so `run` returns only when every attempt's strand has
//! ended or been abandoned past the grace. If the runner itself unwinds
//! (its strand was cancelled), a guard cancels every attempt still running.
//!
//! What the outcome reports of each part is kept from the start in the
//! part's `PartReport` (`reports`), apart from the runner's own state
//! (`parts`), and handed over as it is.

mod attempts;
mod part;
mod report;
mod settle;

use crate::join::budget::RetryBudget;
use crate::join::decide::{Decider, Decision};
use crate::join::outcome::{Outcome, PartReport};
use crate::join::plan::{JoinMode, Need};
use crate::runtime::Handle;
use crate::sync::Mutex;
use crate::JoinHandle;
use std::sync::Arc;
use std::time::{Duration, Instant};

use part::{Live, PartRt};
use report::{Hook, Inbox, Raw, Report, TOKEN};

struct Run<T: Send + 'static, E: Send + 'static> {
    mode: JoinMode,
    parts: Vec<PartRt<T, E>>,
    /// What the outcome reports of each part, kept up to date.
    reports: Vec<PartReport<T, E>>,
    lives: Vec<Live>,
    /// Handles of attempts that reported before their strand finished:
    /// joined once the loop ends.
    ending: Vec<JoinHandle<()>>,
    decider: Decider,
    decision: Option<Decision>,
    deadline: Option<Instant>,
    limit: usize,
    grace: Option<Duration>,
    grace_end: Option<Instant>,
    /// Whether anything can set a timer (see `next_wake`).
    timed: bool,
    budget: Option<RetryBudget>,
    hook: Hook<T>,
    handle: Handle,
    inbox: Arc<Inbox<T, E>>,
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
    let n = need.parts.len();
    let decider = Decider::new(need.mode, need.parts.iter().map(|p| p.required));
    let hedging = need.mode == JoinMode::FirstSuccess;
    let mut parts = Vec::with_capacity(n);
    let mut reports = Vec::with_capacity(n);
    for s in need.parts {
        let (p, rep) = PartRt::new(s, hedging);
        parts.push(p);
        reports.push(rep);
    }
    let timed = need.deadline.is_some() || need.grace.is_some() || parts.iter().any(PartRt::timed);
    let limit = need.limit.unwrap_or(usize::MAX);
    let mut r = Run {
        mode: need.mode,
        parts,
        reports,
        lives: Vec::with_capacity(n.min(limit)),
        ending: Vec::new(),
        decider,
        decision: None,
        deadline: need.deadline,
        limit,
        grace: need.grace,
        grace_end: None,
        timed,
        budget: need.budget,
        hook: need.on_discarded.map(|h| Arc::new(Mutex::new(h))),
        handle,
        inbox: Arc::new(Inbox::new(n.min(limit))),
        next_queued: 0,
        active: 0,
        at_deadline: false,
        token: need.token,
        by_token: None,
    };
    // A token's cancellation reaches the runner as a report from a small
    // strand waiting on it (cancelled once the plan is done).
    let watcher = r.token.clone().and_then(|token| {
        let inbox = Arc::clone(&r.inbox);
        crate::Builder::new()
            .spawn_on(&r.handle, move || {
                token.wait();
                let _ = inbox.send(Report {
                    part: TOKEN,
                    attempt: 0,
                    raw: Raw::NotStarted,
                    body: None,
                });
            })
            .ok()
    });
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
    let mut batch = Vec::new();
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
        let got = r.inbox.wait(&mut batch, wake);
        // one clock read per wake-up: the reports' time and the timers'
        let now = Instant::now();
        if got {
            // and whatever came meanwhile, without going round the loop
            loop {
                for report in batch.drain(..) {
                    r.on_report(report, now);
                }
                if !r.inbox.try_take(&mut batch) {
                    break;
                }
            }
        }
        if r.next_wake().is_some_and(|t| t <= now) {
            r.on_timers(now);
        }
    }
    // the strands that reported before they finished: ending now
    for h in std::mem::take(&mut r.ending) {
        let _ = h.join();
    }
    if let Some(w) = watcher {
        w.cancel(); // detached: it ends at its wait
    }
    r.finish(began)
}
