//! Need plans: retries (policies, retry_if, retry-after, deadlines, the
//! shared budget), hedging and compensation.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use strands::join::{
    AttemptKind, AttemptResult, Backoff, CancelReason, Compensation, HedgeDelay, JoinMode, Need,
    Part, PartStatus, RetryBudget,
};

const MS: Duration = Duration::from_millis(1);
const LONG: Duration = Duration::from_secs(60);

/// A body failing its first `fails` calls, then returning the call number.
fn flaky(
    fails: usize,
    calls: &Arc<AtomicUsize>,
) -> impl FnMut() -> Result<usize, String> + Clone + Send + 'static {
    let calls = calls.clone();
    move || {
        let n = calls.fetch_add(1, SeqCst) + 1;
        if n <= fails {
            Err(format!("fail {n}"))
        } else {
            Ok(n)
        }
    }
}

#[test]
fn retries_until_success_and_records_each_attempt_and_backoff() {
    common::rt(1).block_on(|| {
        let calls = Arc::new(AtomicUsize::new(0));
        let o = Need::new(JoinMode::All)
            .part(
                Part::required("flaky", flaky(2, &calls))
                    .retry(Backoff::linear(MS).max_attempts(5)),
            )
            .run();
        assert!(matches!(o.parts()[0].status(), PartStatus::Succeeded(3)));
        let a = o.parts()[0].attempts();
        assert_eq!(a.len(), 3);
        assert_eq!(
            a.iter()
                .map(|a| (a.kind(), a.backoff()))
                .collect::<Vec<_>>(),
            [
                (AttemptKind::First, Duration::ZERO),
                (AttemptKind::Retry, MS),
                (AttemptKind::Retry, 2 * MS)
            ]
        );
        assert!(matches!(a[0].result(), AttemptResult::Failed(Some(e)) if e == "fail 1"));
        assert!(matches!(a[2].result(), AttemptResult::Succeeded));
        assert!(a[1].start() >= a[0].start() + MS);
    });
}

#[test]
fn retries_stop_at_max_attempts_with_the_last_error() {
    common::rt(1).block_on(|| {
        let calls = Arc::new(AtomicUsize::new(0));
        let o = Need::new(JoinMode::All)
            .part(
                Part::required("flaky", flaky(10, &calls))
                    .retry(Backoff::constant(Duration::ZERO).max_attempts(4)),
            )
            .run();
        assert_eq!(calls.load(SeqCst), 4);
        assert!(matches!(o.parts()[0].status(), PartStatus::Failed(e) if e == "fail 4"));
        assert!(matches!(
            o.parts()[0].attempts()[3].result(),
            AttemptResult::Failed(None)
        ));
    });
}

#[test]
fn retry_if_separates_fatal_errors() {
    common::rt(1).block_on(|| {
        let calls = Arc::new(AtomicUsize::new(0));
        let o = Need::new(JoinMode::All)
            .part(
                Part::required("fatal", flaky(10, &calls))
                    .retry(Backoff::constant(Duration::ZERO).max_attempts(5))
                    .retry_if(|e| e != "fail 2"),
            )
            .run();
        assert_eq!(calls.load(SeqCst), 2, "retried once, then a fatal error");
        assert!(matches!(o.parts()[0].status(), PartStatus::Failed(e) if e == "fail 2"));
    });
}

#[test]
fn a_retry_after_from_the_error_overrides_the_policy() {
    common::rt(1).block_on(|| {
        let calls = Arc::new(AtomicUsize::new(0));
        let t = Instant::now();
        let o = Need::new(JoinMode::All)
            .part(
                Part::required("throttled", flaky(1, &calls))
                    .retry(Backoff::constant(LONG).max_attempts(2))
                    .retry_after(|_| Some(2 * MS)),
            )
            .run();
        assert!(t.elapsed() < Duration::from_secs(10));
        assert!(matches!(o.parts()[0].status(), PartStatus::Succeeded(2)));
        assert_eq!(o.parts()[0].attempts()[1].backoff(), 2 * MS);
    });
}

#[test]
fn no_retry_starts_whose_backoff_ends_past_a_deadline() {
    common::rt(1).block_on(|| {
        // the part's own timeout
        let calls = Arc::new(AtomicUsize::new(0));
        let t = Instant::now();
        let o = Need::new(JoinMode::All)
            .part(
                Part::required("p", flaky(10, &calls))
                    .retry(Backoff::constant(Duration::from_secs(5)).max_attempts(3))
                    .timeout(Duration::from_secs(1)),
            )
            .run();
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "no waiting for a retry that cannot start"
        );
        assert_eq!(calls.load(SeqCst), 1);
        assert!(matches!(o.parts()[0].status(), PartStatus::Failed(e) if e == "fail 1"));
        // the plan's deadline
        let calls = Arc::new(AtomicUsize::new(0));
        let o = Need::new(JoinMode::All)
            .part(
                Part::required("p", flaky(10, &calls))
                    .retry(Backoff::constant(Duration::from_secs(5)).max_attempts(3)),
            )
            .timeout(Duration::from_secs(1))
            .run();
        assert_eq!(calls.load(SeqCst), 1);
        assert!(matches!(o.parts()[0].status(), PartStatus::Failed(_)));
    });
}

#[test]
fn panics_are_retried_only_when_asked() {
    common::rt(1).block_on(|| {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let o = Need::new(JoinMode::All)
            .part(
                Part::required("p", move || -> Result<u32, ()> {
                    if c.fetch_add(1, SeqCst) < 2 {
                        panic!("transient");
                    }
                    Ok(1)
                })
                .retry(Backoff::constant(Duration::ZERO).max_attempts(3))
                .retry_panics(),
            )
            .run();
        assert!(matches!(o.parts()[0].status(), PartStatus::Succeeded(1)));
        assert!(matches!(o.parts()[0].attempts()[0].result(), AttemptResult::Panicked(m) if m == "transient"));
    });
}

#[test]
fn an_attempt_timeout_cancels_that_attempt_and_the_retry_runs() {
    common::rt(2).block_on(|| {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let o = Need::new(JoinMode::All)
            .part(
                Part::required("p", move || -> Result<u32, ()> {
                    if c.fetch_add(1, SeqCst) == 0 {
                        strands::sleep(LONG);
                    }
                    Ok(2)
                })
                .attempt_timeout(Duration::from_millis(20))
                .retry(Backoff::constant(Duration::ZERO).max_attempts(2)),
            )
            .run();
        assert!(matches!(o.parts()[0].status(), PartStatus::Succeeded(2)));
        let a = o.parts()[0].attempts();
        assert!(matches!(a[0].result(), AttemptResult::TimedOut));
        assert!(matches!(a[1].result(), AttemptResult::Succeeded));
    });
}

#[test]
fn a_shared_budget_stops_retry_storms_across_plans() {
    common::rt(1).block_on(|| {
        let budget = RetryBudget::new(4, 0.1);
        let calls = Arc::new(AtomicUsize::new(0));
        let plan = |calls: &Arc<AtomicUsize>| {
            Need::new(JoinMode::All)
                .part(
                    Part::required("dep", flaky(1000, calls))
                        .retry(Backoff::constant(Duration::ZERO).max_attempts(10)),
                )
                .budget(&budget)
                .run()
        };
        // 4 tokens: failure 1 -> 3 (retry), failure 2 -> 2 (not above half)
        let o = plan(&calls);
        assert_eq!(o.parts()[0].attempts().len(), 2);
        let o = plan(&calls);
        assert_eq!(
            o.parts()[0].attempts().len(),
            1,
            "the second plan gets no retry at all"
        );
        assert_eq!(budget.tokens(), 1.0);
    });
}

#[test]
fn a_hedge_starts_after_the_delay_and_the_loser_is_cancelled() {
    common::rt(2).block_on(|| {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let o = Need::new(JoinMode::FirstSuccess)
            .part(
                Part::required("replica", move || -> Result<usize, ()> {
                    let n = c.fetch_add(1, SeqCst);
                    if n == 0 {
                        strands::sleep(LONG); // the first attempt hangs
                    }
                    Ok(n)
                })
                .hedge(Duration::from_millis(10), 2),
            )
            .run();
        assert_eq!(o.value(), Some(&1));
        let a = o.parts()[0].attempts();
        assert_eq!(a.len(), 2);
        assert_eq!(a[1].kind(), AttemptKind::Hedge);
        assert!(a[1].start() >= a[0].start() + Duration::from_millis(10));
        assert!(matches!(
            a[0].result(),
            AttemptResult::Cancelled(CancelReason::HedgeLost)
        ));
        assert!(matches!(a[1].result(), AttemptResult::Succeeded));
    });
}

#[test]
fn hedges_draw_on_the_budget() {
    common::rt(2).block_on(|| {
        let budget = RetryBudget::new(2, 0.0);
        let o = Need::new(JoinMode::FirstSuccess)
            .part(
                Part::required("hangs", || -> Result<u32, ()> {
                    strands::sleep(LONG);
                    Ok(0)
                })
                .hedge(Duration::from_millis(2), 5),
            )
            .budget(&budget)
            .timeout(Duration::from_millis(60))
            .run();
        assert!(!o.is_success());
        let hedges = o.parts()[0]
            .attempts()
            .iter()
            .filter(|a| a.kind() == AttemptKind::Hedge)
            .count();
        assert_eq!(
            hedges, 1,
            "2 tokens: one hedge takes one, then none is above half"
        );
        assert!(matches!(o.parts()[0].status(), PartStatus::TimedOut));
    });
}

#[test]
fn p95_hedging_uses_the_latencies_recorded_for_the_name() {
    common::rt(2).block_on(|| {
        let name = "join_plan_retry::p95";
        strands::join::forget_latencies(name);
        let fast = || -> Result<u32, ()> { Ok(1) };
        for _ in 0..12 {
            let o = Need::new(JoinMode::FirstSuccess)
                .part(Part::required(name, fast).hedge(HedgeDelay::P95 { fallback: LONG }, 1))
                .run();
            assert!(o.is_success());
        }
        let p95 = strands::join::latency_p95(name).expect("12 samples");
        assert!(p95 < Duration::from_secs(5));
        // now the first attempt hangs; the hedge comes after ~p95, not a minute
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let t = Instant::now();
        let o = Need::new(JoinMode::FirstSuccess)
            .part(
                Part::required(name, move || -> Result<u32, ()> {
                    if c.fetch_add(1, SeqCst) == 0 {
                        strands::sleep(LONG);
                    }
                    Ok(2)
                })
                .hedge(HedgeDelay::P95 { fallback: LONG }, 1),
            )
            .run();
        assert!(t.elapsed() < Duration::from_secs(30));
        assert_eq!(o.value(), Some(&2));
        strands::join::forget_latencies(name);
    });
}

#[test]
fn hedging_is_ignored_outside_first_success() {
    common::rt(2).block_on(|| {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let o = Need::new(JoinMode::All)
            .part(
                Part::required("p", move || -> Result<u32, ()> {
                    c.fetch_add(1, SeqCst);
                    strands::sleep(Duration::from_millis(30));
                    Ok(1)
                })
                .hedge(MS, 3),
            )
            .run();
        assert!(o.is_success());
        assert_eq!(calls.load(SeqCst), 1);
    });
}

#[test]
fn compensations_run_in_reverse_order_of_completion_when_the_plan_fails() {
    common::rt(2).block_on(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx_ab, rx_ab) = strands::channel::unbounded::<()>();
        let (tx_bc, rx_bc) = strands::channel::unbounded::<()>();
        let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
        let o = Need::new(JoinMode::AllRequired)
            // completes first
            .part(
                Part::required("a", move || {
                    tx_ab.send(()).unwrap();
                    Ok::<&str, String>("seat")
                })
                .compensate(move |v| {
                    l1.lock().unwrap().push(format!("undo a {v}"));
                    Ok(())
                }),
            )
            // completes second
            .part(
                Part::required("b", move || {
                    rx_ab.recv().unwrap();
                    strands::sleep(MS);
                    tx_bc.send(()).unwrap();
                    Ok("card")
                })
                .compensate(move |v| {
                    l2.lock().unwrap().push(format!("undo b {v}"));
                    Err("refund failed".to_string())
                }),
            )
            // fails after both
            .part(
                Part::required("c", move || {
                    rx_bc.recv().unwrap();
                    strands::sleep(MS);
                    Err("no hotel".to_string())
                })
                .compensate(move |_| {
                    l3.lock().unwrap().push("never".into());
                    Ok(())
                }),
            )
            .run();
        assert!(!o.is_success());
        assert_eq!(*log.lock().unwrap(), ["undo b card", "undo a seat"]);
        assert_eq!(o.compensated(), [1, 0]);
        assert!(matches!(o.part("a").unwrap().compensation(), Some(Compensation::Done)));
        assert!(matches!(o.part("b").unwrap().compensation(), Some(Compensation::Failed(e)) if e == "refund failed"));
        assert!(o.part("c").unwrap().compensation().is_none());
    });
}

#[test]
fn compensations_do_not_run_when_the_plan_succeeds_and_a_panicking_one_is_reported() {
    common::rt(1).block_on(|| {
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        let o = Need::new(JoinMode::All)
            .part(Part::required("a", || Ok::<u32, ()>(1)).compensate(move |_| {
                r.fetch_add(1, SeqCst);
                Ok(())
            }))
            .run();
        assert!(o.is_success());
        assert_eq!(ran.load(SeqCst), 0);
        let o = Need::new(JoinMode::All)
            .part(Part::required("a", || Ok::<u32, ()>(1)).compensate(|_| panic!("undo broke")))
            .part(Part::required("b", || Err(())))
            .run();
        assert!(!o.is_success());
        assert!(matches!(o.part("a").unwrap().compensation(), Some(Compensation::Panicked(m)) if m == "undo broke"));
    });
}

#[test]
fn an_overflowing_retry_policy_neither_panics_nor_waits_forever() {
    common::rt(1).block_on(|| {
        let calls = Arc::new(AtomicUsize::new(0));
        let t = Instant::now();
        let o = Need::new(JoinMode::All)
            .part(
                Part::required("p", flaky(usize::MAX, &calls))
                    .retry(Backoff::exponential(Duration::MAX, 1e300).max_attempts(u32::MAX))
                    .retry_after(|_| Some(Duration::MAX)),
            )
            .run();
        // the first retry's backoff ends past any instant: not started
        assert!(t.elapsed() < Duration::from_secs(10));
        assert_eq!(calls.load(SeqCst), 1);
        assert!(matches!(o.parts()[0].status(), PartStatus::Failed(e) if e == "fail 1"));

        // without a retry-after, delays saturate at the cap and retries run
        let calls = Arc::new(AtomicUsize::new(0));
        let o = Need::new(JoinMode::All)
            .part(
                Part::required("p", flaky(3, &calls)).retry(
                    Backoff::exponential(Duration::from_nanos(1), f64::INFINITY)
                        .max_delay(MS)
                        .max_attempts(u32::MAX),
                ),
            )
            .run();
        assert!(matches!(o.parts()[0].status(), PartStatus::Succeeded(4)));
        assert_eq!(o.parts()[0].attempts()[3].backoff(), MS);
    });
}

/// Over-aligned: a part's closure holding it is boxed.
#[derive(Clone)]
#[repr(align(64))]
struct Aligned([usize; 2]);

#[test]
fn bodies_of_every_size_are_retried_and_hedged() {
    // closures of three words (stored inline in the part), ten words and
    // an over-aligned one (boxed): each comes back for its retry, and is
    // copied for its hedge, with its captures intact
    common::rt(2).block_on(|| {
        let calls = Arc::new(AtomicUsize::new(0));
        let retry = || Backoff::constant(Duration::ZERO).max_attempts(3);
        let (c3, small, mut t3) = (calls.clone(), [1u32, 2], 0usize);
        let (c9, nine, mut t9) = (calls.clone(), [3usize; 8], 0usize);
        let (ca, al, mut ta) = (calls.clone(), Aligned([4, 5]), 0usize);
        let o = Need::new(JoinMode::All)
            .part(
                Part::required("three", move || {
                    c3.fetch_add(1, SeqCst);
                    t3 += 1;
                    match t3 {
                        1 => Err("again"),
                        _ => Ok((small[0] + small[1]) as usize),
                    }
                })
                .retry(retry()),
            )
            .part(
                Part::required("nine", move || {
                    c9.fetch_add(1, SeqCst);
                    t9 += 1;
                    match t9 {
                        1 => Err("again"),
                        _ => Ok(nine.iter().sum::<usize>()),
                    }
                })
                .retry(retry()),
            )
            .part(
                Part::required("aligned", move || {
                    ca.fetch_add(1, SeqCst);
                    ta += 1;
                    match ta {
                        1 => Err("again"),
                        _ => Ok(al.0[0] * al.0[1]),
                    }
                })
                .retry(retry()),
            )
            .run();
        assert!(o.is_success());
        let values: Vec<_> = o
            .parts()
            .iter()
            .map(|p| match p.status() {
                PartStatus::Succeeded(v) => (*v, p.attempts().len()),
                s => panic!("{}: {}", p.name(), s.label()),
            })
            .collect();
        assert_eq!(values, [(3, 2), (24, 2), (20, 2)]);
        assert_eq!(calls.load(SeqCst), 6);

        for big in [false, true] {
            let calls = Arc::new(AtomicUsize::new(0));
            let c = calls.clone();
            let (nine, al) = ([1usize; 9], Aligned([2, 3]));
            let o = Need::new(JoinMode::FirstSuccess)
                .part(
                    Part::required("replica", move || -> Result<usize, ()> {
                        if c.fetch_add(1, SeqCst) == 0 {
                            strands::sleep(LONG); // the first attempt hangs
                        }
                        Ok(if big {
                            nine.iter().sum()
                        } else {
                            al.0[0] * al.0[1]
                        })
                    })
                    .hedge(Duration::from_millis(5), 1),
                )
                .run();
            assert_eq!(o.value(), Some(if big { &9 } else { &6 }));
            let kinds: Vec<_> = o.parts()[0].attempts().iter().map(|a| a.kind()).collect();
            assert_eq!(kinds, [AttemptKind::First, AttemptKind::Hedge]);
        }
    });
}
