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

/// The runner's state of a part. Small (the state of timeouts, retries and
/// hedges is in its boxed [`Config`], made only for a part with settings;
/// rarer state in [`Extra`]): a plan's parts fit in one small allocation.
pub(crate) struct PartRt<T, E> {
    pub(super) required: bool,
    pub(super) phase: Phase,
    pub(super) abandoned: bool,
    pub(super) cut: Option<Cut>,
    /// Attempts (not hedges) started.
    pub(super) started: u32,
    /// Attempts running.
    pub(super) live: u32,
    pub(super) body: Option<Body<T, E>>,
    pub(super) cfg: Option<Box<Config<T, E>>>,
    pub(super) extra: Option<Box<Extra<T>>>,
}

/// What few parts need, made on first use.
pub(super) struct Extra<T> {
    /// The name for reporters, made once if the plan has a hook.
    pub(super) shared_name: Option<Arc<str>>,
    /// A value came after the part was cut ...
    pub(super) got_late: bool,
    /// ... kept here if no hook took it.
    pub(super) late: Option<T>,
}

impl<T, E> PartRt<T, E> {
    /// The runner's half of a part, and the report's (name and required
    /// moved there; no status yet: `NotRun`).
    pub(crate) fn new(s: Spec<T, E>, hedging: bool) -> (PartRt<T, E>, PartReport<T, E>) {
        let mut cfg = s.cfg;
        if let Some(c) = cfg.as_deref_mut() {
            if let Some(b) = &c.retry {
                c.max_attempts = b.attempts();
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
            required: s.required,
            phase: Phase::Queued,
            abandoned: false,
            cut: None,
            started: 0,
            live: 0,
            body: Some(s.body),
            cfg,
            extra: None,
        };
        let report = PartReport {
            name: s.name,
            required: s.required,
            status: PartStatus::NotRun,
            attempts: Attempts::Zero,
            end: None,
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

    pub(super) fn extra(&mut self) -> &mut Extra<T> {
        self.extra.get_or_insert_with(|| {
            Box::new(Extra {
                shared_name: None,
                got_late: false,
                late: None,
            })
        })
    }

    /// The part's deadline (from its timeout), once started.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.cfg.as_ref()?.deadline
    }

    /// A retry due, and its backoff.
    pub(super) fn pending(&self) -> Option<(Instant, Duration)> {
        self.cfg.as_ref()?.pending
    }

    pub(super) fn next_hedge(&self) -> Option<Instant> {
        self.cfg.as_ref()?.next_hedge
    }

    /// No retry or hedge is due any more.
    pub(super) fn clear_timers(&mut self) {
        if let Some(c) = self.cfg.as_deref_mut() {
            c.pending = None;
            c.next_hedge = None;
        }
    }

    pub(super) fn hedge_delay(&self, name: &str) -> Option<Duration> {
        let c = self.cfg.as_ref()?;
        let (after, max) = c.hedge?;
        if c.hedges >= max {
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
