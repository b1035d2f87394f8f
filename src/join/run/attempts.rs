//! Starting parts and attempts, and what a report or a cut does to them.

use crate::join::latency;
use crate::join::outcome::{Attempt, AttemptKind, AttemptResult, CancelReason, PartStatus};
use crate::Builder;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::part::{last_status, Cut, Live, Phase};
use super::report::{discard, Raw, Report, Reporter, TOKEN};
use super::Run;

impl<T: Send + 'static, E: Send + 'static> Run<T, E> {
    pub(super) fn fill(&mut self, now: Instant) {
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

    pub(super) fn start_part(&mut self, i: usize, now: Instant) {
        let p = &mut self.parts[i];
        p.phase = Phase::Active;
        self.active += 1;
        if let Some(c) = p.cfg.as_deref_mut() {
            if let Some(t) = c.timeout {
                if t.is_zero() {
                    p.cut = Some(Cut::PartTimeout);
                    self.finalize(i, PartStatus::TimedOut, now);
                    return;
                }
                c.deadline = now.checked_add(t);
            }
        }
        self.start_attempt(i, AttemptKind::First, Duration::ZERO, now);
    }

    pub(super) fn start_attempt(
        &mut self,
        i: usize,
        kind: AttemptKind,
        backoff: Duration,
        now: Instant,
    ) {
        let p = &mut self.parts[i];
        let rep = &mut self.reports[i];
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
            let status = last_status(rep);
            self.finalize(i, status, now);
            return;
        };
        match kind {
            AttemptKind::Hedge => {
                // forked from the template, in the part's config
                if let Some(c) = p.cfg.as_deref_mut() {
                    c.hedges += 1;
                }
            }
            _ => p.started += 1,
        }
        let attempt = rep.attempts.len();
        rep.attempts.push(Attempt {
            kind,
            backoff,
            start: now,
            end: None,
            result: AttemptResult::Cancelled(CancelReason::External),
        });
        let reporter = Reporter {
            inbox: Arc::clone(&self.inbox),
            part: i,
            attempt,
            late: self.hook.as_ref().map(|h| {
                let name = p
                    .extra()
                    .shared_name
                    .get_or_insert_with(|| Arc::from(&*rep.name));
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
                if kind != AttemptKind::Hedge && p.cfg.is_some() {
                    let next = p.hedge_delay(&rep.name).and_then(|d| now.checked_add(d));
                    if let Some(c) = p.cfg.as_deref_mut() {
                        c.next_hedge = next;
                    }
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
                rep.attempts[attempt].result =
                    AttemptResult::Panicked(format!("could not spawn: {e}"));
                self.after_attempt(i, now);
            }
        }
    }

    pub(super) fn on_report(&mut self, r: Report<T, E>, now: Instant) {
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
                let rep = &mut self.reports[r.part];
                if let Some(v) = discard(&self.hook, &rep.name, v) {
                    let kept_none = p.extra.as_ref().is_none_or(|x| x.late.is_none());
                    if kept_none && matches!(rep.status, PartStatus::Abandoned) {
                        rep.status = PartStatus::Discarded(Some(v));
                    }
                }
            }
            return;
        };
        let live = self.lives.swap_remove(pos);
        // the strand is ending: its report was its last act
        if live.handle.is_finished() {
            drop(live.handle);
        } else {
            self.ending.push(live.handle); // joined once the loop ends
        }
        let i = r.part;
        let p = &mut self.parts[i];
        let rep = &mut self.reports[i];
        p.live -= 1;
        if p.body.is_none() && rep.attempts[r.attempt].kind != AttemptKind::Hedge {
            p.body = r.body;
        }
        let a = &mut rep.attempts[r.attempt];
        a.end = Some(now);
        let part_cut = p.cut.filter(|c| !matches!(c, Cut::PartTimeout));
        let cut = live.cut.or(p.cut);
        match r.raw {
            Raw::Ok(v) => {
                if p.phase == Phase::Final || part_cut.is_some() {
                    // too late: the part already has a value, or was cancelled
                    a.result = AttemptResult::Discarded;
                    let kept = discard(&self.hook, &rep.name, v);
                    if p.phase != Phase::Final {
                        let x = p.extra();
                        x.got_late = true;
                        x.late = kept;
                    }
                } else {
                    a.result = AttemptResult::Succeeded;
                    if let Some(b) = &self.budget {
                        b.record_success();
                    }
                    if p.cfg.as_ref().is_some_and(|c| c.hedge.is_some()) {
                        latency::record(&rep.name, now.saturating_duration_since(a.start));
                    }
                    if p.live > 0 {
                        self.cut_part(i, Cut::Hedge, now);
                    }
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
    pub(super) fn after_attempt(&mut self, i: usize, now: Instant) {
        let p = &mut self.parts[i];
        let rep = &mut self.reports[i];
        if p.phase == Phase::Final || p.live > 0 {
            return;
        }
        if p.abandoned {
            return self.finalize(i, PartStatus::Abandoned, now);
        }
        if let Some(x) = p.extra.as_deref_mut().filter(|x| x.got_late) {
            let v = x.late.take();
            return self.finalize(i, PartStatus::Discarded(v), now);
        }
        match p.cut {
            Some(Cut::Plan(reason)) => return self.finalize(i, PartStatus::Cancelled(reason), now),
            Some(Cut::PartTimeout | Cut::Deadline) => {
                return self.finalize(i, PartStatus::TimedOut, now)
            }
            _ => {}
        }
        let Some(last) = rep.attempts.last() else {
            return self.finalize(i, PartStatus::NotRun, now);
        };
        let Some(cfg) = p.cfg.as_deref_mut() else {
            let status = last_status(rep);
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
            && p.started < cfg.max_attempts
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
                cfg.deadline.is_none_or(|d| due <= d) && self.deadline.is_none_or(|d| due <= d)
            });
            if fits {
                cfg.pending = due.map(|due| (due, delay));
                cfg.next_hedge = None;
                return;
            }
        }
        let status = last_status(rep);
        self.finalize(i, status, now);
    }

    pub(super) fn finalize(&mut self, i: usize, status: PartStatus<T, E>, now: Instant) {
        let p = &mut self.parts[i];
        // a part settles once (the decider counts on it)
        let again = p.phase == Phase::Final;
        debug_assert!(!again, "part {i} finalized twice");
        if p.phase == Phase::Active {
            self.active -= 1;
        }
        p.phase = Phase::Final;
        p.clear_timers();
        let ok = status.is_success();
        let rep = &mut self.reports[i];
        rep.end = Some(now);
        rep.status = status;
        if again {
            // (cannot happen) as the decider once did: the result is noted,
            // the decision unchanged
        } else if let Some(d) = self.decider.settle(i, p.required, ok) {
            self.apply(d, now);
        }
        self.fill(now);
    }

    /// Cancels the running attempts of part `i` (all of them, but for a
    /// `Hedge` cut, which spares none: the succeeding attempt has already
    /// reported).
    pub(super) fn cut_part(&mut self, i: usize, cut: Cut, now: Instant) {
        if cut != Cut::Hedge {
            let p = &mut self.parts[i];
            p.cut = Some(cut);
            p.clear_timers();
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
}
