//! The decision applied, the timers served, and the outcome put together.

use crate::join::decide::Decision;
use crate::join::outcome::{
    AttemptKind, AttemptResult, CancelReason, Compensation, Outcome, PartStatus,
};
use crate::join::plan::JoinMode;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use super::part::{Cut, Phase};
use super::Run;

impl<T: Send + 'static, E: Send + 'static> Run<T, E> {
    /// The plan is decided: record it, then cut what it no longer needs.
    pub(super) fn apply(&mut self, d: Decision, now: Instant) {
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
                    // its report already says `NotRun`
                    self.parts[j].phase = Phase::Final;
                }
                Phase::Active if graceful && !self.parts[j].required => {
                    // runs on until the grace ends; no retry starts
                    let p = &mut self.parts[j];
                    let pending = p.cfg.as_deref_mut().and_then(|c| c.pending.take());
                    if pending.is_some() {
                        self.after_attempt(j, now);
                    }
                }
                Phase::Active => self.cut_part(j, cut, now),
            }
        }
    }

    pub(super) fn on_timers(&mut self, now: Instant) {
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
                let a = &mut self.reports[l.part].attempts[l.attempt];
                a.end = Some(now);
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
            let p = &mut self.parts[i];
            // the timers below are all in the part's config
            let Some(c) = p.cfg.as_deref_mut() else {
                continue;
            };
            if p.cut.is_none() && c.deadline.is_some_and(|d| d <= now) {
                self.cut_part(i, Cut::PartTimeout, now);
                continue;
            }
            if let Some((due, backoff)) = c.pending {
                if due <= now {
                    c.pending = None;
                    self.start_attempt(i, AttemptKind::Retry, backoff, now);
                    continue;
                }
            }
            if c.next_hedge.is_some_and(|t| t <= now) && p.live > 0 && p.phase != Phase::Final {
                c.next_hedge = None;
                let allowed = self.budget.as_ref().is_none_or(|b| b.try_hedge());
                if allowed && self.decision.is_none() {
                    self.start_attempt(i, AttemptKind::Hedge, Duration::ZERO, now);
                    let p = &mut self.parts[i];
                    let next = p
                        .hedge_delay(&self.reports[i].name)
                        .and_then(|d| now.checked_add(d));
                    if let Some(c) = p.cfg.as_deref_mut() {
                        c.next_hedge = next;
                    }
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

    /// The nearest timer (none in a plan without any: see `timed`).
    pub(super) fn next_wake(&self) -> Option<Instant> {
        if !self.timed {
            return None;
        }
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
                at(p.deadline());
            }
            at(p.pending().map(|(d, _)| d));
            if p.live > 0 {
                at(p.next_hedge());
            }
        }
        t
    }

    pub(super) fn finish(mut self, began: Instant) -> Outcome<T, E> {
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
                        && matches!(self.reports[i].status, PartStatus::Succeeded(_))
                })
                .collect();
            done.sort_by_key(|&i| std::cmp::Reverse(self.reports[i].end));
            for i in done {
                let p = &mut self.parts[i];
                let Some(cfg) = p.cfg.as_deref_mut() else {
                    continue;
                };
                let (Some(f), PartStatus::Succeeded(v)) =
                    (cfg.compensate.take(), &self.reports[i].status)
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
        let mut parts = std::mem::take(&mut self.reports);
        if !compensated.is_empty() {
            for (rep, p) in parts.iter_mut().zip(&mut self.parts) {
                rep.compensation = p.cfg.as_mut().and_then(|c| c.compensation.take());
            }
        }
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

impl<T: Send + 'static, E: Send + 'static> Drop for Run<T, E> {
    fn drop(&mut self) {
        // only non-empty if the runner unwinds (its strand was cancelled):
        // the attempts must not outlive the plan
        for l in &self.lives {
            l.handle.cancel();
        }
        // reports that came after the loop: nobody will read them
        drop(self.inbox.close());
    }
}
