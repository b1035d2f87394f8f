//! One part as the runner tracks it: its phase, attempts and timers.

use crate::join::latency;
use crate::join::outcome::{AttemptResult, Attempts, CancelReason, PartStatus};
use crate::join::plan::{Body, Config, HedgeDelay, Spec};
use crate::JoinHandle;
use std::borrow::Cow;
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
    Final,
}

pub(crate) struct PartRt<T, E> {
    pub(super) name: Cow<'static, str>,
    /// The name for reporters, made once if the plan has a hook.
    pub(super) shared_name: Option<Arc<str>>,
    pub(super) required: bool,
    pub(super) body: Option<Box<dyn Body<T, E>>>,
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
    pub(super) attempts: Attempts<E>,
    pub(super) status: Option<PartStatus<T, E>>,
    pub(super) cut: Option<Cut>,
    pub(super) late: Option<T>,
    pub(super) got_late: bool,
    pub(super) abandoned: bool,
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

    pub(super) fn hedge_delay(&self) -> Option<Duration> {
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

/// The part's final status from its last attempt (moving the error out).
pub(super) fn last_status<T, E>(p: &mut PartRt<T, E>) -> PartStatus<T, E> {
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
