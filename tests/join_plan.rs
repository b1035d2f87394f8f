//! Need plans: every join mode and its edge cases, cancellation, deadlines,
//! limits, discarded values, abandoned parts, nesting.

mod common;

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use strands::channel;
use strands::join::{AttemptResult, CancelReason, JoinMode, Need, Part, PartStatus};

const LONG: Duration = Duration::from_secs(60);

/// Counts values made and dropped.
#[derive(Clone, Default)]
struct Tally {
    made: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
}

impl Tally {
    fn make(&self, n: u32) -> Counted {
        self.made.fetch_add(1, SeqCst);
        Counted(n, self.dropped.clone())
    }
    fn balanced(&self) -> bool {
        self.made.load(SeqCst) == self.dropped.load(SeqCst)
    }
}

#[derive(Debug)]
struct Counted(u32, Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_add(1, SeqCst);
    }
}

/// Sets a flag when dropped: shows a part's `Drop`s ran.
struct Guard(Arc<AtomicUsize>);
impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A part body that parks until cancelled (the test never sends).
fn park_forever<T>(
    drops: &Arc<AtomicUsize>,
) -> impl FnMut() -> Result<T, &'static str> + Send + 'static {
    let drops = drops.clone();
    move || {
        let _g = Guard(drops.clone());
        strands::sleep(LONG);
        unreachable!("parked for a minute")
    }
}

fn status<T, E>(o: &strands::join::Outcome<T, E>, name: &str) -> String {
    o.part(name).unwrap().status().label().to_string()
}

#[test]
fn all_runs_every_part_and_a_failure_cancels_nothing() {
    common::rt(2).block_on(|| {
        let (tx, rx) = channel::unbounded::<()>();
        let o = Need::new(JoinMode::All)
            .part(Part::required("a", || Ok::<u32, &str>(1)))
            .part(Part::required("b", move || {
                tx.send(()).unwrap();
                Err("b failed")
            }))
            // finishes only after b failed
            .part(Part::optional("c", move || {
                rx.recv().unwrap();
                Ok(3)
            }))
            .run();
        assert!(!o.is_success(), "a required part failed");
        assert!(matches!(
            o.part("a").unwrap().status(),
            PartStatus::Succeeded(1)
        ));
        assert!(matches!(
            o.part("b").unwrap().status(),
            PartStatus::Failed("b failed")
        ));
        assert!(matches!(
            o.part("c").unwrap().status(),
            PartStatus::Succeeded(3)
        ));
        assert_eq!(o.value(), None);
    });
}

#[test]
fn all_succeeds_when_only_optional_parts_fail() {
    common::rt(1).block_on(|| {
        let o = Need::new(JoinMode::All)
            .part(Part::required("a", || Ok::<u32, &str>(1)))
            .part(Part::optional("b", || Err("meh")))
            .part(Part::optional("c", || panic!("optional boom")))
            .run();
        assert!(o.is_success());
        assert!(
            matches!(o.part("c").unwrap().status(), PartStatus::Panicked(m) if m == "optional boom")
        );
        assert_eq!(o.failures().count(), 2);
    });
}

#[test]
fn all_required_fails_fast_and_cancelled_parts_have_ended() {
    common::rt(2).block_on(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let o = Need::new(JoinMode::AllRequired)
            .part(Part::required("slow", park_forever::<u32>(&drops)))
            .part(Part::optional("slow-opt", park_forever::<u32>(&drops)))
            .part(Part::required("bad", || Err("bad")))
            .run();
        assert_eq!(
            drops.load(SeqCst),
            2,
            "run returned after the cancelled parts' Drops ran"
        );
        assert!(!o.is_success());
        assert_eq!(o.decided_by().unwrap().name(), "bad");
        for n in ["slow", "slow-opt"] {
            assert!(matches!(
                o.part(n).unwrap().status(),
                PartStatus::Cancelled(CancelReason::FailFast)
            ));
            assert!(matches!(
                o.part(n).unwrap().attempts()[0].result(),
                AttemptResult::Cancelled(CancelReason::FailFast)
            ));
        }
    });
}

#[test]
fn all_required_cancels_optional_parts_once_required_ones_succeeded() {
    common::rt(1).block_on(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let o = Need::new(JoinMode::AllRequired)
            .part(Part::optional("opt", park_forever::<u32>(&drops)))
            .part(Part::required("a", || Ok(1)))
            .part(Part::required("b", || Ok(2)))
            .run();
        assert!(o.is_success());
        assert_eq!(drops.load(SeqCst), 1);
        assert!(matches!(
            o.part("opt").unwrap().status(),
            PartStatus::Cancelled(CancelReason::RequiredDone)
        ));
    });
}

#[test]
fn all_required_grace_lets_optional_parts_finish_then_cancels_the_rest() {
    common::rt(2).block_on(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = channel::unbounded::<()>();
        let o = Need::new(JoinMode::AllRequired)
            // finishes only after the required part has succeeded
            .part(Part::optional("late-but-in-grace", move || {
                rx.recv().unwrap();
                Ok(7)
            }))
            .part(Part::optional("never", park_forever::<u32>(&drops)))
            .part(Part::required("req", move || {
                tx.send(()).unwrap();
                Ok(1)
            }))
            .grace(Duration::from_millis(100))
            .run();
        assert!(o.is_success());
        assert!(matches!(
            o.part("late-but-in-grace").unwrap().status(),
            PartStatus::Succeeded(7)
        ));
        assert!(matches!(
            o.part("never").unwrap().status(),
            PartStatus::Cancelled(CancelReason::RequiredDone)
        ));
        assert_eq!(drops.load(SeqCst), 1);
    });
}

#[test]
fn all_required_without_required_parts_runs_like_all() {
    common::rt(1).block_on(|| {
        let o = Need::new(JoinMode::AllRequired)
            .part(Part::optional("a", || Err::<u32, _>("x")))
            .part(Part::optional("b", || Ok(2)))
            .run();
        assert!(o.is_success());
        assert_eq!(status(&o, "a"), "failed");
        assert_eq!(status(&o, "b"), "succeeded");
    });
}

#[test]
fn any_first_settled_part_decides_even_a_failure() {
    common::rt(1).block_on(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let o = Need::new(JoinMode::Any)
            .part(Part::required("slow", park_forever::<u32>(&drops)))
            .part(Part::optional("fails", || Err("no")))
            .run();
        assert!(!o.is_success());
        assert_eq!(o.decided_by().unwrap().name(), "fails");
        assert_eq!(o.value(), None);
        assert!(matches!(
            o.part("slow").unwrap().status(),
            PartStatus::Cancelled(CancelReason::Decided)
        ));
        assert_eq!(drops.load(SeqCst), 1);

        let o = Need::new(JoinMode::Any)
            .part(Part::required("slow", park_forever::<u32>(&drops)))
            .part(Part::optional("ok", || Ok(5)))
            .run();
        assert!(o.is_success());
        assert_eq!(o.value(), Some(&5));
    });
}

#[test]
fn first_success_wins_and_losers_are_cancelled() {
    common::rt(2).block_on(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = channel::unbounded::<()>();
        // "wins" answers once "fails-first" has failed and "slow" has
        // started (so "slow" is cancelled running, and its Drop counts)
        let slow_started = tx.clone();
        let mut slow = park_forever::<u32>(&drops);
        let o = Need::new(JoinMode::FirstSuccess)
            .part(Part::required("fails-first", move || {
                tx.send(()).unwrap();
                Err("down")
            }))
            .part(Part::optional("wins", move || {
                rx.recv().unwrap();
                rx.recv().unwrap();
                Ok(42)
            }))
            .part(Part::optional("slow", move || {
                slow_started.send(()).unwrap();
                slow()
            }))
            .run();
        assert!(o.is_success());
        assert_eq!(o.value(), Some(&42));
        assert_eq!(o.decided_by().unwrap().name(), "wins");
        // its report may reach the runner after the winner's: then it was
        // cut by the decision while it returned, and an error of a cut part
        // reads as its cancellation
        assert!(
            matches!(
                o.part("fails-first").unwrap().status(),
                PartStatus::Failed("down") | PartStatus::Cancelled(CancelReason::Decided)
            ),
            "{}",
            status(&o, "fails-first")
        );
        assert!(matches!(
            o.part("slow").unwrap().status(),
            PartStatus::Cancelled(CancelReason::Decided)
        ));
        assert_eq!(drops.load(SeqCst), 1);
        assert_eq!(o.into_value(), Some(42));
    });
}

#[test]
fn first_success_fails_only_when_every_part_failed_and_reports_each() {
    common::rt(2).block_on(|| {
        let o = Need::new(JoinMode::FirstSuccess)
            .part(Part::required("a", || Err::<u32, String>("a".into())))
            .part(Part::required("b", || panic!("b blew up")))
            .part(Part::required("c", || {
                strands::sleep(Duration::from_millis(2));
                Err("c".into())
            }))
            .run();
        assert!(!o.is_success());
        assert_eq!(o.failures().count(), 3);
        assert!(matches!(o.part("a").unwrap().status(), PartStatus::Failed(e) if e == "a"));
        assert!(
            matches!(o.part("b").unwrap().status(), PartStatus::Panicked(m) if m == "b blew up")
        );
        assert!(matches!(o.part("c").unwrap().status(), PartStatus::Failed(e) if e == "c"));
    });
}

#[test]
fn first_success_queued_parts_never_start() {
    common::rt(2).block_on(|| {
        let calls = Arc::new(AtomicUsize::new(0));
        let mut plan = Need::new(JoinMode::FirstSuccess)
            .limit(1)
            .part(Part::required("first", || Ok::<u32, ()>(1)));
        for i in 0..5 {
            let calls = calls.clone();
            plan = plan.part(Part::required(format!("queued-{i}"), move || {
                calls.fetch_add(1, SeqCst);
                Ok(2)
            }));
        }
        let o = plan.run();
        assert_eq!(o.value(), Some(&1));
        assert_eq!(calls.load(SeqCst), 0);
        for p in &o.parts()[1..] {
            assert!(matches!(p.status(), PartStatus::NotRun));
            assert!(p.attempts().is_empty());
        }
    });
}

#[test]
fn limit_bounds_parts_running_at_once() {
    common::rt(2).block_on(|| {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut plan = Need::new(JoinMode::All).limit(3);
        for i in 0..12 {
            let (running, peak) = (running.clone(), peak.clone());
            plan = plan.part(Part::required(format!("p{i}"), move || {
                let now = running.fetch_add(1, SeqCst) + 1;
                peak.fetch_max(now, SeqCst);
                strands::sleep(Duration::from_millis(1));
                running.fetch_sub(1, SeqCst);
                Ok::<_, ()>(i)
            }));
        }
        let o = plan.run();
        assert!(o.is_success());
        assert!(peak.load(SeqCst) <= 3, "peak {}", peak.load(SeqCst));
        assert!(o.parts().iter().all(|p| p.status().is_success()));
    });
}

#[test]
#[should_panic(expected = "Need::limit: the concurrency limit must be at least 1")]
fn limit_zero_is_refused_at_construction() {
    let _ = Need::<u32, ()>::new(JoinMode::All).limit(0);
}

#[test]
fn quorum_succeeds_at_k_and_cancels_the_rest() {
    common::rt(2).block_on(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let o = Need::new(JoinMode::Quorum(2))
            .part(Part::optional("a", || Ok::<u32, &str>(1)))
            .part(Part::optional("slow", park_forever::<u32>(&drops)))
            .part(Part::optional("b", || Ok(2)))
            .run();
        assert!(o.is_success());
        assert_eq!(drops.load(SeqCst), 1);
        assert!(matches!(
            o.part("slow").unwrap().status(),
            PartStatus::Cancelled(CancelReason::Decided)
        ));
    });
}

#[test]
fn quorum_fails_as_soon_as_it_became_impossible() {
    common::rt(2).block_on(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let o = Need::new(JoinMode::Quorum(2))
            .part(Part::optional("x", || Err::<u32, &str>("x")))
            .part(Part::optional("slow", park_forever::<u32>(&drops)))
            .part(Part::optional("y", || Err("y")))
            .run();
        assert!(!o.is_success());
        assert_eq!(drops.load(SeqCst), 1);
        assert!(matches!(
            o.part("slow").unwrap().status(),
            PartStatus::Cancelled(CancelReason::Decided)
        ));
        // trivial quorums
        let o = Need::new(JoinMode::Quorum(0))
            .part(Part::required("a", || Ok::<u32, ()>(1)))
            .run();
        assert!(o.is_success());
        assert!(matches!(o.parts()[0].status(), PartStatus::NotRun));
        let o = Need::new(JoinMode::Quorum(3))
            .part(Part::required("a", || Ok::<u32, ()>(1)))
            .run();
        assert!(!o.is_success());
        assert!(matches!(o.parts()[0].status(), PartStatus::NotRun));
    });
}

#[test]
fn empty_plans_have_a_defined_outcome() {
    common::rt(1).block_on(|| {
        let ok = |m| Need::<u32, ()>::new(m).run().is_success();
        assert!(ok(JoinMode::All));
        assert!(ok(JoinMode::AllRequired));
        assert!(!ok(JoinMode::Any));
        assert!(!ok(JoinMode::FirstSuccess));
        assert!(ok(JoinMode::Quorum(0)));
        assert!(!ok(JoinMode::Quorum(1)));
        assert_eq!(Need::<u32, ()>::new(JoinMode::Any).run().value(), None);
    });
}

#[test]
fn the_deadline_ends_a_plan_whose_parts_never_return() {
    common::rt(2).block_on(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let t = Instant::now();
        let o = Need::new(JoinMode::All)
            .part(Part::required("stuck", park_forever::<u32>(&drops)))
            .part(Part::required("spins", || loop {
                strands::yield_now(); // never returns, but yields: a blocking point
            }))
            .part(Part::required("quick", || Ok(1)))
            .timeout(Duration::from_millis(30))
            .run();
        assert!(t.elapsed() < Duration::from_secs(30));
        assert!(!o.is_success());
        assert_eq!(drops.load(SeqCst), 1);
        assert!(matches!(
            o.part("stuck").unwrap().status(),
            PartStatus::TimedOut
        ));
        assert!(matches!(
            o.part("spins").unwrap().status(),
            PartStatus::TimedOut
        ));
        assert!(matches!(
            o.part("quick").unwrap().status(),
            PartStatus::Succeeded(1)
        ));
    });
}

#[test]
fn a_past_or_zero_deadline_starts_nothing() {
    common::rt(1).block_on(|| {
        let calls = Arc::new(AtomicUsize::new(0));
        for deadline in [Instant::now(), Instant::now() - Duration::from_secs(1)] {
            let c = calls.clone();
            let o = Need::new(JoinMode::FirstSuccess)
                .part(Part::required("a", move || {
                    c.fetch_add(1, SeqCst);
                    Ok::<u32, ()>(1)
                }))
                .deadline(deadline)
                .run();
            assert!(!o.is_success());
            assert!(matches!(o.parts()[0].status(), PartStatus::NotRun));
        }
        let o = Need::new(JoinMode::All)
            .part(Part::optional("a", || Ok::<u32, ()>(1)))
            .timeout(Duration::ZERO)
            .run();
        assert!(
            o.is_success(),
            "All with only optional parts succeeds at its deadline"
        );
        assert_eq!(calls.load(SeqCst), 0);
    });
}

#[test]
fn a_panicking_part_is_that_parts_error_and_is_not_retried() {
    common::rt(1).block_on(|| {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let o = Need::new(JoinMode::All)
            .part(
                Part::required("boom", move || -> Result<u32, ()> {
                    c.fetch_add(1, SeqCst);
                    panic!("boom {}", 7)
                })
                .retry(strands::join::Backoff::constant(Duration::ZERO).max_attempts(5)),
            )
            .run();
        assert!(matches!(o.parts()[0].status(), PartStatus::Panicked(m) if m == "boom 7"));
        assert_eq!(calls.load(SeqCst), 1);
    });
}

#[test]
fn a_part_that_swallows_its_cancellation_is_cancelled_again_and_reported() {
    common::rt(2).block_on(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let d = drops.clone();
        let o = Need::new(JoinMode::FirstSuccess)
            .part(Part::required("stubborn", move || -> Result<u32, &str> {
                let _g = Guard(d.clone());
                let first = panic::catch_unwind(AssertUnwindSafe(|| strands::sleep(LONG)));
                assert!(first.is_err(), "the first cancellation unwinds the sleep");
                strands::sleep(LONG); // cancelled again here
                Ok(1)
            }))
            .part(Part::required("swallow-then-err", || {
                let _ = panic::catch_unwind(AssertUnwindSafe(|| strands::sleep(LONG)));
                Err("my own error after being cancelled")
            }))
            .part(Part::required("winner", || {
                strands::sleep(Duration::from_millis(5));
                Ok(3)
            }))
            .run();
        assert_eq!(o.value(), Some(&3));
        assert_eq!(drops.load(SeqCst), 1);
        assert!(matches!(
            o.part("stubborn").unwrap().status(),
            PartStatus::Cancelled(CancelReason::Decided)
        ));
        assert!(
            matches!(
                o.part("swallow-then-err").unwrap().status(),
                PartStatus::Cancelled(CancelReason::Decided)
            ),
            "an error caused by the cancellation is not a failure"
        );
    });
}

#[test]
fn a_loser_that_succeeds_after_the_decision_is_discarded_to_the_hook_once() {
    common::rt(2).block_on(|| {
        let tally = Tally::default();
        let hooked = Arc::new(Mutex::new(Vec::new()));
        let (t1, t2) = (tally.clone(), tally.clone());
        let h = hooked.clone();
        // the winner wins only once "late" runs (not before it started:
        // then it would never run, and be cancelled rather than discarded)
        let (started, is_started) = strands::channel::bounded::<()>(1);
        let o = Need::new(JoinMode::FirstSuccess)
            .part(Part::required("late", move || -> Result<Counted, ()> {
                let _ = started.send(());
                let _ = panic::catch_unwind(AssertUnwindSafe(|| strands::sleep(LONG)));
                Ok(t1.make(1)) // made after its cancellation
            }))
            .part(Part::required("winner", move || {
                let _ = is_started.recv();
                Ok(t2.make(2))
            }))
            .on_discarded(move |name, v: Counted| h.lock().unwrap().push((name.to_string(), v)))
            .run();
        assert_eq!(o.value().map(|c| c.0), Some(2));
        assert!(matches!(
            o.part("late").unwrap().status(),
            PartStatus::Discarded(None)
        ));
        assert!(matches!(
            o.part("late").unwrap().attempts()[0].result(),
            AttemptResult::Discarded
        ));
        {
            let got = hooked.lock().unwrap();
            assert_eq!(got.len(), 1);
            assert_eq!((got[0].0.as_str(), got[0].1 .0), ("late", 1));
        }
        drop(o);
        hooked.lock().unwrap().clear();
        assert!(tally.balanced(), "every value dropped exactly once");
        assert_eq!(tally.made.load(SeqCst), 2);
    });
}

#[test]
fn without_a_hook_a_discarded_value_stays_in_the_outcome() {
    common::rt(2).block_on(|| {
        let tally = Tally::default();
        let (t1, t2) = (tally.clone(), tally.clone());
        // "first" settles only once "late" runs (a part cancelled before it
        // started never runs, and is cancelled rather than discarded)
        let (started, is_started) = strands::channel::bounded::<()>(1);
        let o = Need::new(JoinMode::Any)
            .part(Part::required("late", move || -> Result<Counted, ()> {
                let _ = started.send(());
                let _ = panic::catch_unwind(AssertUnwindSafe(|| strands::sleep(LONG)));
                Ok(t1.make(1))
            }))
            .part(Part::required("first", move || {
                let _ = is_started.recv();
                Ok(t2.make(2))
            }))
            .run();
        match o.part("late").unwrap().status() {
            PartStatus::Discarded(Some(c)) => assert_eq!(c.0, 1),
            s => panic!("{s:?}"),
        }
        assert_eq!(tally.dropped.load(SeqCst), 0);
        drop(o);
        assert!(tally.balanced());
    });
}

#[test]
fn values_are_never_lost_or_dropped_twice_in_any_mode() {
    common::rt(2).block_on(|| {
        let tally = Tally::default();
        for mode in [
            JoinMode::All,
            JoinMode::AllRequired,
            JoinMode::Any,
            JoinMode::FirstSuccess,
            JoinMode::Quorum(2),
        ] {
            let mut plan = Need::new(mode).on_discarded(|_, v: Counted| drop(v));
            for i in 0..6u32 {
                let t = tally.clone();
                plan = plan.part(Part::required(format!("p{i}"), move || {
                    if i % 3 == 2 {
                        let _ = panic::catch_unwind(AssertUnwindSafe(|| {
                            strands::sleep(Duration::from_millis(2))
                        }));
                    }
                    strands::yield_now();
                    if i == 4 {
                        return Err("four");
                    }
                    Ok(t.make(i))
                }));
            }
            let o = plan.timeout(Duration::from_secs(30)).run();
            assert_eq!(o.parts().len(), 6);
            drop(o);
            assert!(tally.balanced(), "{mode:?}");
        }
    });
}

#[test]
fn an_uncooperative_part_is_abandoned_after_the_grace() {
    // The runner is a plain thread here: a part that blocks its worker
    // thread also holds up every strand that started on that worker, and
    // the runner could be one of them (see `Need`'s docs).
    let rt = common::rt(2);
    // blocks its worker thread in a std call until the test lets it go,
    // which is only after `run` returned: so `run` did not wait for it
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let o = Need::new(JoinMode::FirstSuccess)
        .part(Part::required("blocks-its-thread", move || {
            release_rx.recv().unwrap(); // not a strands call
            Ok::<u32, ()>(1)
        }))
        .part(Part::required("winner", || {
            strands::sleep(Duration::from_millis(20));
            Ok(2)
        }))
        .grace(Duration::from_millis(20))
        .run_on(rt.handle());
    release_tx.send(()).unwrap();
    assert_eq!(o.value(), Some(&2));
    assert!(matches!(
        o.part("blocks-its-thread").unwrap().status(),
        PartStatus::Abandoned
    ));
    assert!(matches!(
        o.part("blocks-its-thread").unwrap().attempts()[0].result(),
        AttemptResult::Abandoned
    ));
}

#[test]
fn plans_nest_and_cancelling_the_outer_part_cancels_the_inner_plan() {
    common::rt(2).block_on(|| {
        let inner_drops = Arc::new(AtomicUsize::new(0));
        let (done_tx, done_rx) = channel::unbounded::<()>();
        let d = inner_drops.clone();
        let o = Need::new(JoinMode::FirstSuccess)
            .part(Part::required("nested", move || {
                let d = d.clone();
                let done = done_tx.clone();
                let inner = Need::new(JoinMode::All)
                    .part(Part::required("inner", move || -> Result<u32, &str> {
                        struct Tell(Arc<AtomicUsize>, channel::Sender<()>);
                        impl Drop for Tell {
                            fn drop(&mut self) {
                                self.0.fetch_add(1, SeqCst);
                                let _ = self.1.send(());
                            }
                        }
                        let _t = Tell(d.clone(), done.clone());
                        strands::sleep(LONG);
                        Ok(1)
                    }))
                    .run();
                Ok::<u32, &str>(inner.parts().len() as u32)
            }))
            .part(Part::required("quick", || {
                strands::sleep(Duration::from_millis(5));
                Ok(9)
            }))
            .run();
        assert_eq!(o.value(), Some(&9));
        assert!(matches!(
            o.part("nested").unwrap().status(),
            PartStatus::Cancelled(CancelReason::Decided)
        ));
        done_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the inner part was cancelled");
        assert_eq!(inner_drops.load(SeqCst), 1);

        // and a plain nested plan gives its value
        let o = Need::new(JoinMode::All)
            .part(Part::required("outer", || {
                let inner = Need::new(JoinMode::FirstSuccess)
                    .part(Part::required("i1", || Err::<u32, ()>(())))
                    .part(Part::required("i2", || Ok(5)))
                    .run();
                inner.into_value().ok_or(())
            }))
            .run();
        assert!(matches!(o.parts()[0].status(), PartStatus::Succeeded(5)));
    });
}

#[test]
fn run_on_works_from_a_plain_thread() {
    let rt = common::rt(2);
    let o = Need::new(JoinMode::All)
        .part(Part::required("a", || {
            strands::sleep(Duration::from_millis(1));
            Ok::<u32, ()>(1)
        }))
        .part(Part::required("b", || Ok(2)))
        .run_on(rt.handle());
    assert!(o.is_success());
}

#[test]
#[should_panic(expected = "Need::run called outside a runtime")]
fn run_outside_a_runtime_panics_clearly() {
    let _ = Need::new(JoinMode::All)
        .part(Part::required("a", || Ok::<u32, ()>(1)))
        .run();
}

#[test]
fn a_part_timeout_cancels_it_and_counts_as_a_failure_for_good() {
    common::rt(2).block_on(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let o = Need::new(JoinMode::AllRequired)
            .part(
                Part::required("slow", park_forever::<u32>(&drops))
                    .timeout(Duration::from_millis(20)),
            )
            .part(Part::optional("other", park_forever::<u32>(&drops)))
            .run();
        assert!(!o.is_success());
        assert_eq!(o.decided_by().unwrap().name(), "slow");
        assert!(matches!(
            o.part("slow").unwrap().status(),
            PartStatus::TimedOut
        ));
        assert!(matches!(
            o.part("other").unwrap().status(),
            PartStatus::Cancelled(CancelReason::FailFast)
        ));
        assert_eq!(drops.load(SeqCst), 2);
        // zero: reported without running
        let o = Need::new(JoinMode::All)
            .part(
                Part::required("zero", || -> Result<u32, ()> { unreachable!() })
                    .timeout(Duration::ZERO),
            )
            .run();
        assert!(matches!(o.parts()[0].status(), PartStatus::TimedOut));
        assert!(o.parts()[0].attempts().is_empty());
    });
}

#[test]
fn the_outcome_lists_every_part_with_its_attempts() {
    common::rt(1).block_on(|| {
        let o = Need::new(JoinMode::All)
            .part(Part::required("a", || {
                strands::sleep(Duration::from_millis(3));
                Ok::<u32, ()>(1)
            }))
            .part(Part::optional("b", || Ok(2)))
            .run();
        let a = o.part("a").unwrap();
        assert_eq!(a.attempts().len(), 1);
        assert!(a.attempts()[0].elapsed() >= Duration::from_millis(3));
        assert!(a.elapsed() >= a.attempts()[0].elapsed());
        assert!(a.is_required() && !o.part("b").unwrap().is_required());
        assert!(o.elapsed() >= a.elapsed());
    });
}

#[test]
fn any_is_decided_by_a_panic_too() {
    common::rt(1).block_on(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let o = Need::new(JoinMode::Any)
            .part(Part::required("slow", park_forever::<u32>(&drops)))
            .part(Part::required("boom", || -> Result<u32, &str> {
                panic!("any boom")
            }))
            .run();
        assert!(!o.is_success());
        assert_eq!(o.decided_by().unwrap().name(), "boom");
        assert!(
            matches!(o.decided_by().unwrap().status(), PartStatus::Panicked(m) if m == "any boom")
        );
        assert_eq!(drops.load(SeqCst), 1);
    });
}

#[test]
fn first_success_counts_a_success_on_retry() {
    common::rt(1).block_on(|| {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let drops = Arc::new(AtomicUsize::new(0));
        let o = Need::new(JoinMode::FirstSuccess)
            .part(
                Part::required("flaky", move || {
                    if c.fetch_add(1, SeqCst) == 0 {
                        Err("first try")
                    } else {
                        Ok(11)
                    }
                })
                .retry(strands::join::Backoff::constant(Duration::ZERO).max_attempts(2)),
            )
            .part(Part::required("slow", park_forever::<u32>(&drops)))
            .run();
        assert_eq!(o.value(), Some(&11));
        assert_eq!(o.part("flaky").unwrap().attempts().len(), 2);
        assert_eq!(drops.load(SeqCst), 1);
    });
}

#[test]
fn a_part_waiting_to_retry_keeps_its_slot_under_the_limit() {
    common::rt(1).block_on(|| {
        let order = Arc::new(Mutex::new(Vec::new()));
        let (o1, o2) = (order.clone(), order.clone());
        let calls = Arc::new(AtomicUsize::new(0));
        let o = Need::new(JoinMode::All)
            .limit(1)
            .part(
                Part::required("retrying", move || {
                    let n = calls.fetch_add(1, SeqCst);
                    o1.lock().unwrap().push(format!("retrying {n}"));
                    if n == 0 {
                        Err("again")
                    } else {
                        Ok(1)
                    }
                })
                .retry(strands::join::Backoff::constant(Duration::from_millis(2)).max_attempts(2)),
            )
            .part(Part::required("next", move || {
                o2.lock().unwrap().push("next".to_string());
                Ok(2)
            }))
            .run();
        assert!(o.is_success());
        assert_eq!(*order.lock().unwrap(), ["retrying 0", "retrying 1", "next"]);
    });
}

#[test]
fn a_losing_hedge_that_still_answers_goes_to_the_hook() {
    common::rt(2).block_on(|| {
        let tally = Tally::default();
        let hooked = Arc::new(AtomicUsize::new(0));
        let calls = Arc::new(AtomicUsize::new(0));
        let (t, c, h) = (tally.clone(), calls.clone(), hooked.clone());
        let o = Need::new(JoinMode::FirstSuccess)
            .part(
                Part::required("hedged", move || -> Result<Counted, ()> {
                    let n = c.fetch_add(1, SeqCst);
                    if n == 0 {
                        // cancelled when the hedge wins, answers anyway
                        let _ = panic::catch_unwind(AssertUnwindSafe(|| strands::sleep(LONG)));
                    }
                    Ok(t.make(n as u32))
                })
                .hedge(Duration::from_millis(5), 1),
            )
            .on_discarded(move |name, v: Counted| {
                assert_eq!((name, v.0), ("hedged", 0));
                h.fetch_add(1, SeqCst);
            })
            .run();
        assert_eq!(o.value().map(|v| v.0), Some(1));
        let a = o.parts()[0].attempts();
        assert!(matches!(a[0].result(), AttemptResult::Discarded));
        assert_eq!(hooked.load(SeqCst), 1);
        drop(o);
        assert!(tally.balanced());
        assert_eq!(tally.made.load(SeqCst), 2);
    });
}

#[test]
fn an_abandoned_part_that_answers_after_run_returned_reaches_the_hook() {
    let rt = common::rt(2);
    let (tx, rx) = std::sync::mpsc::channel();
    let tally = Tally::default();
    let t = tally.clone();
    let o = Need::new(JoinMode::FirstSuccess)
        .part(Part::required(
            "blocks-its-thread",
            move || -> Result<Counted, ()> {
                std::thread::sleep(Duration::from_millis(100));
                Ok(t.make(1))
            },
        ))
        .part(Part::required("winner", || {
            strands::sleep(Duration::from_millis(10));
            Err(())
        }))
        .part(Part::required("winner-2", {
            let t = tally.clone();
            move || {
                strands::sleep(Duration::from_millis(10));
                Ok(t.make(2))
            }
        }))
        .grace(Duration::from_millis(5))
        .on_discarded(move |name, v: Counted| {
            let n = v.0;
            drop(v); // before telling the test, which then counts the drops
            tx.send((name.to_string(), n)).unwrap();
        })
        .run_on(rt.handle());
    assert_eq!(o.value().map(|v| v.0), Some(2));
    assert!(matches!(
        o.part("blocks-its-thread").unwrap().status(),
        PartStatus::Abandoned
    ));
    let late = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the late value reached the hook");
    assert_eq!(late, ("blocks-its-thread".to_string(), 1));
    drop(o);
    assert!(tally.balanced());
}

#[test]
fn many_short_plans_with_timers_on_two_workers_finish() {
    // Regression: a cancelled timer left the timer cache stale and a later
    // insert did not wake the poller, so a plan (a part sleeping while the
    // runner waits with its timeout) hung with every worker idle. Aborts
    // with a message instead of hanging if it comes back.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if done_rx.recv_timeout(Duration::from_secs(120)).is_err() {
            eprintln!(
                "many_short_plans_with_timers_on_two_workers_finish: stuck (lost timer wake-up?)"
            );
            std::process::abort();
        }
    });
    let rt = common::rt(2);
    for _ in 0..3000 {
        // the runner waits with the part's short timeout, which the part's
        // answer then cancels; the next round's timers come after it
        let o = rt.block_on(|| {
            Need::new(JoinMode::All)
                .part(
                    Part::required("p", || {
                        strands::sleep(Duration::from_millis(1));
                        Ok::<u32, ()>(1)
                    })
                    .timeout(Duration::from_millis(25)),
                )
                .run()
        });
        // a loaded machine may time the part out: only finishing matters
        assert_eq!(o.parts().len(), 1);
    }
    done_tx.send(()).unwrap();
}

#[test]
fn a_plan_tied_to_a_token_is_cancelled_with_its_cause() {
    common::rt(2).block_on(|| {
        let token = strands::CancelToken::new();
        let child = token.child();
        let drops = Arc::new(AtomicUsize::new(0));
        let (started_tx, started_rx) = channel::bounded::<()>(2);
        let part = |name: &'static str| {
            let (drops, started) = (Arc::clone(&drops), started_tx.clone());
            Part::required(name, move || -> Result<u32, ()> {
                struct Counts(Arc<AtomicUsize>);
                impl Drop for Counts {
                    fn drop(&mut self) {
                        self.0.fetch_add(1, SeqCst);
                    }
                }
                let _c = Counts(Arc::clone(&drops));
                started.send(()).unwrap();
                strands::sleep(Duration::from_secs(3600));
                Ok(1)
            })
        };
        let plan = Need::new(JoinMode::All)
            .part(part("a"))
            .part(part("b"))
            .part(part("queued"))
            .limit(2)
            .cancel_on(&child);
        let runner = strands::spawn(move || plan.run());
        started_rx.recv().unwrap();
        started_rx.recv().unwrap();
        token.cancel_with("shutting down"); // the parent: children inherit
        let o = runner.join().unwrap();
        assert!(!o.is_success());
        assert_eq!(
            o.cancel_cause().map(|c| c.to_string()).as_deref(),
            Some("shutting down")
        );
        for name in ["a", "b"] {
            assert!(
                matches!(
                    o.part(name).unwrap().status(),
                    PartStatus::Cancelled(CancelReason::Token)
                ),
                "{name}"
            );
        }
        assert!(matches!(
            o.part("queued").unwrap().status(),
            PartStatus::NotRun
        ));
        assert_eq!(
            drops.load(SeqCst),
            2,
            "run returned after the cancelled parts' Drops ran"
        );
    });
}

#[test]
fn a_token_cancelled_after_the_decision_changes_nothing() {
    common::rt(1).block_on(|| {
        let token = strands::CancelToken::new();
        let o = Need::<u32, ()>::new(JoinMode::All)
            .part(Part::required("quick", || Ok(7)))
            .cancel_on(&token)
            .run();
        token.cancel();
        assert!(o.is_success());
        assert!(o.cancel_cause().is_none());
    });
}

#[test]
fn reports_time_parts_from_their_first_attempt_to_their_end() {
    common::rt(2).block_on(|| {
        let o = Need::new(JoinMode::FirstSuccess)
            .limit(1)
            .part(Part::required("slow", || {
                strands::sleep(Duration::from_millis(3));
                Ok::<u32, ()>(1)
            }))
            .part(Part::required("queued", || Ok(2)))
            .run();
        let (slow, queued) = (&o.parts()[0], &o.parts()[1]);
        let attempt = &slow.attempts()[0];
        assert!(attempt.elapsed() >= Duration::from_millis(3));
        assert!(slow.elapsed() >= attempt.elapsed());
        assert!(o.elapsed() >= slow.elapsed());
        assert!(matches!(queued.status(), PartStatus::NotRun));
        assert_eq!(queued.elapsed(), Duration::ZERO);
        // Debug shows the same fields as the accessors
        let shown = format!("{slow:?}");
        assert!(
            shown.contains(&format!("elapsed: {:?}", slow.elapsed())),
            "{shown}"
        );
        assert!(
            shown.contains(&format!("elapsed: {:?}", attempt.elapsed())),
            "{shown}"
        );
    });
}
