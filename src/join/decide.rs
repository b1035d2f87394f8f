//! The plan's decision, as a pure state machine.
//!
//! The runner feeds it the parts' final results one at a time, in the order
//! they come off the completion channel, and the plan's deadline; the
//! decision is taken in that single thread, so "the first success wins" is
//! simply the first success the runner reads. The concurrent half -- parts
//! finishing while the deadline passes -- is the channel's, and
//! `loom_tests` below models it with this very state machine.

use super::JoinMode;

/// What the plan came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Success; `winner` is the deciding part for `Any` and `FirstSuccess`.
    Success { winner: Option<usize> },
    /// Failure; `by` is the part whose result decided (none: the deadline,
    /// or every part failed).
    Failure { by: Option<usize> },
}

impl Decision {
    pub(crate) fn is_success(self) -> bool {
        matches!(self, Decision::Success { .. })
    }
}

pub(crate) struct Decider {
    mode: JoinMode,
    /// The number of parts.
    parts: usize,
    has_required: bool,
    unsettled: usize,
    successes: usize,
    required_left: usize,
    decided: Option<Decision>,
}

impl Decider {
    /// A plan whose parts are required or not as `required` says.
    pub(crate) fn new(mode: JoinMode, required: impl IntoIterator<Item = bool>) -> Decider {
        let (mut parts, mut required_left) = (0, 0);
        for r in required {
            parts += 1;
            required_left += usize::from(r);
        }
        Decider {
            mode,
            unsettled: parts,
            has_required: required_left > 0,
            parts,
            successes: 0,
            required_left,
            decided: None,
        }
    }

    #[cfg_attr(not(test), allow(dead_code))] // the runner keeps its own copy
    pub(crate) fn decided(&self) -> Option<Decision> {
        self.decided
    }

    /// The decision before any part ran: empty plans and trivial quorums.
    pub(crate) fn start(&mut self) -> Option<Decision> {
        let n = self.parts;
        let d = match self.mode {
            JoinMode::Quorum(0) => Some(Decision::Success { winner: None }),
            JoinMode::Quorum(k) if k > n => Some(Decision::Failure { by: None }),
            _ if n == 0 => match self.mode {
                JoinMode::All | JoinMode::AllRequired => Some(Decision::Success { winner: None }),
                _ => Some(Decision::Failure { by: None }),
            },
            _ => None,
        };
        self.decided = self.decided.or(d);
        d
    }

    /// Part `i` (`required` or not, as given to `new`) reached its final
    /// result; returns the decision if this result took it. Results after
    /// the decision change nothing. Each part settles once (the runner's
    /// phases see to it).
    pub(crate) fn settle(&mut self, i: usize, required: bool, ok: bool) -> Option<Decision> {
        debug_assert!(i < self.parts && self.unsettled > 0);
        self.unsettled -= 1;
        if ok {
            self.successes += 1;
        }
        if required && ok {
            self.required_left -= 1;
        }
        if self.decided.is_some() {
            return None;
        }
        // `required_left` counts the required parts that have not succeeded
        let all_required_ok = self.required_left == 0;
        let has_required = self.has_required;
        let d = match self.mode {
            JoinMode::Any => Some(if ok {
                Decision::Success { winner: Some(i) }
            } else {
                Decision::Failure { by: Some(i) }
            }),
            JoinMode::FirstSuccess if ok => Some(Decision::Success { winner: Some(i) }),
            JoinMode::FirstSuccess if self.unsettled == 0 => Some(Decision::Failure { by: None }),
            JoinMode::FirstSuccess => None,
            JoinMode::Quorum(k) if self.successes >= k => Some(Decision::Success { winner: None }),
            JoinMode::Quorum(k) if self.successes + self.unsettled < k => {
                Some(Decision::Failure { by: Some(i) })
            }
            JoinMode::Quorum(_) => None,
            JoinMode::AllRequired if has_required && required && !ok => {
                Some(Decision::Failure { by: Some(i) })
            }
            JoinMode::AllRequired if has_required && self.required_left == 0 => {
                Some(Decision::Success { winner: None })
            }
            JoinMode::AllRequired if has_required => None,
            JoinMode::All | JoinMode::AllRequired => {
                (self.unsettled == 0).then_some(if all_required_ok {
                    Decision::Success { winner: None }
                } else {
                    Decision::Failure { by: None }
                })
            }
        };
        self.decided = d;
        d
    }

    /// The plan's token was cancelled before a decision: the plan fails.
    pub(crate) fn cancel(&mut self) -> Decision {
        if let Some(d) = self.decided {
            return d;
        }
        let d = Decision::Failure { by: None };
        self.decided = Some(d);
        d
    }

    /// The plan's deadline passed before a decision: `All` (and
    /// `AllRequired` without required parts) succeed if every required part
    /// already succeeded; every other mode fails.
    pub(crate) fn deadline(&mut self) -> Decision {
        if let Some(d) = self.decided {
            return d;
        }
        let required_ok = self.required_left == 0;
        let d = match self.mode {
            JoinMode::All | JoinMode::AllRequired if required_ok => {
                Decision::Success { winner: None }
            }
            _ => Decision::Failure { by: None },
        };
        self.decided = Some(d);
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(mode: JoinMode, req: &[bool], events: &[(usize, bool)]) -> Option<Decision> {
        let mut d = Decider::new(mode, req.iter().copied());
        d.start();
        for &(i, ok) in events {
            d.settle(i, req[i], ok);
        }
        d.decided()
    }

    #[test]
    fn modes() {
        use Decision::*;
        let r = [true, true, false];
        assert_eq!(run(JoinMode::All, &r, &[(0, true), (2, false)]), None);
        assert_eq!(
            run(JoinMode::All, &r, &[(0, true), (2, false), (1, true)]),
            Some(Success { winner: None })
        );
        assert_eq!(
            run(JoinMode::AllRequired, &r, &[(2, false), (1, false)]),
            Some(Failure { by: Some(1) })
        );
        assert_eq!(
            run(JoinMode::AllRequired, &r, &[(1, true), (0, true)]),
            Some(Success { winner: None })
        );
        assert_eq!(
            run(JoinMode::Any, &r, &[(2, false), (1, true)]),
            Some(Failure { by: Some(2) })
        );
        assert_eq!(
            run(JoinMode::FirstSuccess, &r, &[(2, false), (1, true)]),
            Some(Success { winner: Some(1) })
        );
        assert_eq!(
            run(
                JoinMode::FirstSuccess,
                &r,
                &[(2, false), (1, false), (0, false)]
            ),
            Some(Failure { by: None })
        );
        assert_eq!(run(JoinMode::Quorum(2), &r, &[(2, true), (1, false)]), None);
        assert_eq!(
            run(JoinMode::Quorum(2), &r, &[(2, true), (1, false), (0, true)]),
            Some(Success { winner: None })
        );
        assert_eq!(
            run(JoinMode::Quorum(2), &r, &[(2, false), (1, false)]),
            Some(Failure { by: Some(1) })
        );
        assert_eq!(
            run(JoinMode::Quorum(0), &r, &[]),
            Some(Success { winner: None })
        );
        assert_eq!(
            run(JoinMode::Quorum(4), &r, &[]),
            Some(Failure { by: None })
        );
        assert_eq!(
            run(JoinMode::AllRequired, &[false, false], &[(0, false)]),
            None
        );
        assert_eq!(
            run(
                JoinMode::AllRequired,
                &[false, false],
                &[(0, false), (1, true)]
            ),
            Some(Success { winner: None })
        );
    }

    #[test]
    fn empty_plans() {
        use Decision::*;
        assert_eq!(run(JoinMode::All, &[], &[]), Some(Success { winner: None }));
        assert_eq!(
            run(JoinMode::AllRequired, &[], &[]),
            Some(Success { winner: None })
        );
        assert_eq!(run(JoinMode::Any, &[], &[]), Some(Failure { by: None }));
        assert_eq!(
            run(JoinMode::FirstSuccess, &[], &[]),
            Some(Failure { by: None })
        );
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! A success racing a failure racing the deadline, through the crate's
    //! unbounded channel (the runner's completion channel; under loom its
    //! waiters are loom threads), read as the runner reads it (one blocking
    //! `recv`, then `try_recv` until empty): whatever the interleaving,
    //! exactly one decision is taken, it agrees with the order the runner
    //! read the events in, and no report is lost.
    use super::*;
    use crate::channel;
    use crate::loom::thread;

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Event {
        Part(usize, bool),
        Deadline,
    }

    fn model(mode: JoinMode) {
        loom::model(move || {
            let (tx, rx) = channel::unbounded::<Event>();
            let senders: Vec<_> = [Event::Part(0, true), Event::Part(1, false), Event::Deadline]
                .into_iter()
                .map(|e| {
                    let tx = tx.clone();
                    thread::spawn(move || tx.send(e).unwrap())
                })
                .collect();
            drop(tx);
            let mut d = Decider::new(mode, [true, true]);
            assert_eq!(d.start(), None);
            let mut seen = Vec::new();
            let mut decisions = 0;
            let mut first = None;
            let mut take = |e: Event, seen: &mut Vec<Event>| {
                seen.push(e);
                let took = match e {
                    Event::Part(i, ok) => d.settle(i, true, ok),
                    Event::Deadline if d.decided().is_none() => Some(d.deadline()),
                    Event::Deadline => None,
                };
                if let Some(t) = took {
                    decisions += 1;
                    first.get_or_insert((t, seen.len() - 1));
                }
            };
            while let Ok(e) = rx.recv() {
                take(e, &mut seen);
                while let Ok(e) = rx.try_recv() {
                    take(e, &mut seen);
                }
            }
            assert_eq!(seen.len(), 3, "no report lost");
            for s in senders {
                s.join().unwrap();
            }
            assert_eq!(decisions, 1, "exactly one decision: {seen:?}");
            let (decision, at) = first.unwrap();
            assert_eq!(d.decided(), Some(decision), "the decision never changes");
            let success_at = seen
                .iter()
                .position(|e| *e == Event::Part(0, true))
                .unwrap();
            let failure_at = seen
                .iter()
                .position(|e| *e == Event::Part(1, false))
                .unwrap();
            let deadline_at = seen.iter().position(|e| *e == Event::Deadline).unwrap();
            match mode {
                JoinMode::FirstSuccess => {
                    // the success wins iff the runner read it before the deadline
                    assert_eq!(decision.is_success(), success_at < deadline_at, "{seen:?}");
                    if decision.is_success() {
                        assert_eq!(decision, Decision::Success { winner: Some(0) });
                        assert_eq!(at, success_at);
                    }
                }
                JoinMode::Any => {
                    let first_at = success_at.min(failure_at).min(deadline_at);
                    assert_eq!(at, first_at);
                    assert_eq!(decision.is_success(), first_at == success_at, "{seen:?}");
                }
                JoinMode::AllRequired => {
                    // the failure of a required part or the deadline decides: never success
                    assert!(!decision.is_success());
                    assert_eq!(at, failure_at.min(deadline_at));
                }
                _ => unreachable!(),
            }
        });
    }

    #[test]
    fn loom_plan_first_success_races_failure_and_deadline() {
        model(JoinMode::FirstSuccess);
    }

    #[test]
    fn loom_plan_any_races_failure_and_deadline() {
        model(JoinMode::Any);
    }

    #[test]
    fn loom_plan_all_required_races_success_and_deadline() {
        model(JoinMode::AllRequired);
    }
}
