//! One part as the runner tracks it: its phase, attempts and timers. What
//! the outcome reports of it (name, status, attempts) is kept apart, in the
//! part's `PartReport`, which the outcome takes as it is.

use crate::join::latency;
use crate::join::outcome::{AttemptResult, Attempts, CancelReason, PartReport, PartStatus};
use crate::join::plan::{Body, Config, HedgeDelay, Spec};
use crate::JoinHandle;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why the runner cut an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cut {
    AttemptTimeout,
    PartTimeout,
    Deadline,
    Hedge,
    Plan(CancelReason),
}

pub(super) struct Live {
    pub(super) part: usize,
    pub(super) attempt: usize,
    pub(super) handle: JoinHandle<()>,
    pub(super) deadline: Option<Instant>,
    pub(super) cut: Option<Cut>,
    pub(super) abandon_at: Option<Instant>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Queued,
    Active,
    /// Its status is final (in its report).
    Final,
}

pub(crate) struct PartRt<T, E> {
    /// The name for reporters, made once if the plan has a hook.
    pub(super) shared_name: Option<Arc<str>>,
    pub(super) required: bool,
    pub(super) body: Option<Body<T, E>>,
    pub(super) cfg: Option<Box<Config<T, E>>>,
    pub(super) max_attempts: u32,

    pub(super) phase: Phase,
    pub(super) live: usize,
    pub(super) started: u32,
    pub(super) hedges: u32,
    pub(super) pending: Option<(Instant, Duration)>,
    pub(super) next_hedge: Option<Instant>,
    pub(super) deadline: Option<Instant>,
    pub(super) first_start: Option<Instant>,
    pub(super) end: Option<Instant>,
    pub(super) cut: Option<Cut>,
    pub(super) late: Option<T>,
    pub(super) got_late: bool,
    pub(super) abandoned: bool,
}

impl<T, E> PartRt<T, E> {
    /// The runner's half of a part, and the report's (name and required
    /// moved there; no status yet: `NotRun`).
    pub(crate) fn new(s: Spec<T, E>, hedging: bool) -> (PartRt<T, E>, PartReport<T, E>) {
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
        let rt = PartRt {
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
            cut: None,
            late: None,
            got_late: false,
            abandoned: false,
        };
        let report = PartReport {
            name: s.name,
            required: s.required,
            status: PartStatus::NotRun,
            attempts: Attempts::Zero,
            span: None,
            compensation: None,
        };
        (rt, report)
    }

    /// Whether the part can start a timer: a timeout, an attempt timeout,
    /// a retry policy (its backoffs) or hedging.
    pub(super) fn timed(&self) -> bool {
        self.cfg.as_ref().is_some_and(|c| {
            c.timeout.is_some()
                || c.attempt_timeout.is_some()
                || c.retry.is_some()
                || c.hedge.is_some()
        })
    }

    pub(super) fn hedge_delay(&self, name: &str) -> Option<Duration> {
        let (after, max) = self.cfg.as_ref()?.hedge?;
        if self.hedges >= max {
            return None;
        }
        Some(match after {
            HedgeDelay::Fixed(d) => d,
            HedgeDelay::P95 { fallback } => latency::latency_p95(name).unwrap_or(fallback),
        })
    }
}

/// The part's final status from its last attempt (moving the error out).
pub(super) fn last_status<T, E>(rep: &mut PartReport<T, E>) -> PartStatus<T, E> {
    let Some(last) = rep.attempts.last_mut() else {
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
