//! Differential fuzzing of `strands::join::Need` plans against a reference.
//!
//! The input decodes into a plan: a join mode (`All`, `AllRequired`, `Any`,
//! `FirstSuccess`, `Quorum(k)` with `k` up to one more than the number of
//! parts), an optional concurrency limit and deadline, and up to 8 parts.
//! Each part is required or optional, may have a timeout and up to 3
//! retries (panics retried or not), and follows a script, one step per
//! attempt (the last step repeats): return a value, return an error, panic,
//! sleep a few milliseconds and then return, or park until cancelled.
//! Parking is only scripted where something will cancel it (the part has a
//! timeout, or the plan a deadline); otherwise it becomes a short sleep, so
//! no input can hang.
//!
//! Values are counted: each carries (part, attempt) and bumps a counter
//! when made and another when dropped. After the run the target checks:
//!
//! - every part is reported once, in order, and never made more attempts
//!   than its policy allows (hedging is not used here);
//! - a `Succeeded` value, a `Failed` error and a `Panicked` status each
//!   match the script step of that part's last attempt;
//! - the decision agrees with the mode: `All` succeeds exactly when every
//!   required part succeeded (a part cut by the deadline did not);
//!   `AllRequired` success means every required part succeeded and a
//!   failure means one did not; `Any` and `FirstSuccess` succeed exactly
//!   when they have a value, which is the winner's, and `FirstSuccess`
//!   without a deadline fails only when every part failed on its own;
//!   `Quorum(k)` succeeds with exactly `k` succeeded parts, and fails with
//!   fewer;
//! - parts not started are `NotRun` with no attempts;
//! - once the outcome is dropped, every value made was dropped exactly once
//!   (none lost in a channel, none dropped twice): values discarded after
//!   the decision go through `on_discarded` for half the inputs, and stay
//!   in the outcome for the other half.
//!
//! In `FirstSuccess` plans a part may also hedge (up to 2 extra attempts
//! after 0-4 ms; the body is cloned, so its script is followed per call);
//! a plan may have a small retry budget (1-8 tokens), which only ever
//! removes retries and hedges.
//!
//! Plans run either from a strand (`block_on`) or from the fuzzer's thread
//! (`run_on`), on one shared two-worker runtime.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::panic;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Once, OnceLock};
use std::time::Duration;
use strands::join::{Backoff, JoinMode, Need, Part, PartStatus, RetryBudget};
use strands::Runtime;

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Step {
    Ok,
    Err(u8),
    Panic,
    SleepThenOk(u8),
    Park,
}

#[derive(Arbitrary, Debug)]
struct PartIn {
    required: bool,
    timeout_ms: Option<u8>,
    retries: u8,
    retry_panics: bool,
    hedge: Option<u8>,
    script: Vec<Step>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    mode: u8,
    k: u8,
    limit: Option<u8>,
    deadline_ms: Option<u8>,
    from_thread: bool,
    hook: bool,
    budget: Option<u8>,
    parts: Vec<PartIn>,
}

/// The payload of scripted panics (silenced by the hook below).
struct PlanPanic;

static MADE: AtomicUsize = AtomicUsize::new(0);
static DROPPED: AtomicUsize = AtomicUsize::new(0);

#[derive(Debug)]
struct Val {
    part: usize,
    attempt: usize,
}

impl Val {
    fn new(part: usize, attempt: usize) -> Val {
        MADE.fetch_add(1, SeqCst);
        Val { part, attempt }
    }
}

impl Drop for Val {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, SeqCst);
    }
}

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        // PLAN_FUZZ_WORKERS=1 sidesteps runtime bugs that need two workers
        let workers = std::env::var("PLAN_FUZZ_WORKERS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2);
        let rt = Runtime::builder()
            .workers(workers)
            .build()
            .expect("runtime");
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            let prev = panic::take_hook();
            panic::set_hook(Box::new(move |info| {
                if !info.payload().is::<PlanPanic>() {
                    prev(info);
                }
            }));
        });
        rt
    })
}

fn step_of(script: &[Step], attempt: usize) -> Step {
    script[attempt.min(script.len() - 1)]
}

fn check(input: Input) {
    if std::env::var_os("PLAN_FUZZ_DEBUG").is_some() {
        eprintln!("{input:#?}");
    }
    let n = input.parts.len().min(8);
    let parts: Vec<PartIn> = input.parts.into_iter().take(n).collect();
    let mode = match input.mode % 5 {
        0 => JoinMode::All,
        1 => JoinMode::AllRequired,
        2 => JoinMode::Any,
        3 => JoinMode::FirstSuccess,
        _ => JoinMode::Quorum(input.k as usize % (n + 2)),
    };
    let deadline = input
        .deadline_ms
        .map(|ms| Duration::from_millis(ms as u64 % 40));
    let mut scripts = Vec::new();
    let mut plan: Need<Val, (usize, usize, u8)> = Need::new(mode);
    if let Some(l) = input.limit {
        plan = plan.limit(l as usize % 4 + 1);
    }
    if let Some(d) = deadline {
        plan = plan.timeout(d);
    }
    let hook = input.hook;
    if hook {
        plan = plan.on_discarded(|_, v| drop(v));
    }
    if let Some(t) = input.budget {
        plan = plan.budget(&RetryBudget::new(t as u32 % 8 + 1, 0.5));
    }
    let mut max_attempts = Vec::new();
    let mut hedged = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let cancellable = p.timeout_ms.is_some() || deadline.is_some();
        let mut script: Vec<Step> = p.script.iter().take(4).copied().collect();
        if script.is_empty() {
            script.push(Step::Ok);
        }
        for s in &mut script {
            if matches!(s, Step::Park) && !cancellable {
                *s = Step::SleepThenOk(1);
            }
        }
        scripts.push(script.clone());
        let calls = Arc::new(AtomicUsize::new(0));
        let body = move || {
            let a = calls.fetch_add(1, SeqCst);
            match step_of(&script, a) {
                Step::Ok => Ok(Val::new(i, a)),
                Step::Err(e) => Err((i, a, e)),
                Step::Panic => panic::panic_any(PlanPanic),
                Step::SleepThenOk(ms) => {
                    strands::sleep(Duration::from_millis(ms as u64 % 5));
                    Ok(Val::new(i, a))
                }
                Step::Park => {
                    strands::sleep(Duration::from_secs(3600));
                    unreachable!("parked for an hour")
                }
            }
        };
        let name = format!("p{i}");
        let mut part = if p.required {
            Part::required(name, body)
        } else {
            Part::optional(name, body)
        };
        if let Some(ms) = p.timeout_ms {
            part = part.timeout(Duration::from_millis(ms as u64 % 30 + 1));
        }
        let attempts = p.retries as u32 % 4 + 1;
        max_attempts.push(attempts as usize);
        if attempts > 1 {
            part = part.retry(Backoff::constant(Duration::from_micros(100)).max_attempts(attempts));
            if p.retry_panics {
                part = part.retry_panics();
            }
        }
        // hedging: FirstSuccess only (other modes ignore it); the body is
        // cloned, so "per attempt" becomes "per call" for this part
        let extra = match p.hedge {
            Some(h) if mode == JoinMode::FirstSuccess => {
                part = part.hedge(Duration::from_millis(h as u64 % 5), h as u32 % 3);
                h as usize % 3
            }
            _ => 0,
        };
        *max_attempts.last_mut().unwrap() += extra;
        hedged.push(extra > 0);
        plan = plan.part(part);
    }

    let rt = runtime();
    let outcome = if input.from_thread {
        plan.run_on(rt.handle())
    } else {
        rt.block_on(move || plan.run())
    };

    // every part once, in order, within its attempt budget
    assert_eq!(outcome.parts().len(), n);
    let mut succeeded = 0;
    let mut own_failures = 0;
    for (i, r) in outcome.parts().iter().enumerate() {
        assert_eq!(r.name(), format!("p{i}"));
        assert!(
            r.attempts().len() <= max_attempts[i],
            "{i}: {:?}",
            r.attempts().len()
        );
        let last = r.attempts().len().wrapping_sub(1);
        let calls = r.attempts().len();
        match r.status() {
            PartStatus::Succeeded(v) => {
                succeeded += 1;
                assert_eq!(v.part, i);
                if !hedged[i] {
                    assert_eq!(v.attempt, last);
                }
                assert!(v.attempt < calls);
                assert!(matches!(
                    step_of(&scripts[i], v.attempt),
                    Step::Ok | Step::SleepThenOk(_)
                ));
            }
            PartStatus::Failed(e) => {
                own_failures += 1;
                assert_eq!(e.0, i);
                if !hedged[i] {
                    assert_eq!(e.1, last);
                }
                assert!(e.1 < calls);
                assert!(matches!(step_of(&scripts[i], e.1), Step::Err(x) if x == e.2));
            }
            PartStatus::Panicked(_) => {
                own_failures += 1;
                if hedged[i] {
                    assert!(scripts[i].iter().any(|s| matches!(s, Step::Panic)));
                } else {
                    assert!(matches!(step_of(&scripts[i], last), Step::Panic));
                }
            }
            PartStatus::TimedOut => own_failures += 1,
            PartStatus::NotRun => assert!(r.attempts().is_empty()),
            PartStatus::Discarded(v) => {
                assert_eq!(
                    v.is_none(),
                    hook,
                    "discarded values go to the hook, or stay here"
                );
            }
            PartStatus::Cancelled(_) => {}
            PartStatus::Abandoned => panic!("no part blocks its thread here"),
        }
    }
    let required_ok = outcome
        .parts()
        .iter()
        .all(|p| !p.is_required() || p.status().is_success());
    match mode {
        JoinMode::All => assert_eq!(outcome.is_success(), required_ok),
        JoinMode::AllRequired => {
            if outcome.is_success() {
                assert!(required_ok);
            } else {
                assert!(!required_ok);
            }
        }
        JoinMode::Any | JoinMode::FirstSuccess => {
            assert_eq!(outcome.is_success(), outcome.value().is_some());
            if let Some(v) = outcome.value() {
                assert_eq!(outcome.decided_by().unwrap().name(), format!("p{}", v.part));
                if mode == JoinMode::FirstSuccess {
                    assert_eq!(succeeded, 1);
                }
            } else if mode == JoinMode::FirstSuccess && deadline.is_none() {
                assert_eq!(
                    own_failures, n,
                    "FirstSuccess fails only when every part failed"
                );
            }
        }
        JoinMode::Quorum(k) => {
            if outcome.is_success() {
                assert_eq!(succeeded, k);
            } else {
                assert!(succeeded < k);
            }
        }
    }
    drop(outcome);
    assert_eq!(
        MADE.load(SeqCst),
        DROPPED.load(SeqCst),
        "a value was lost or dropped twice"
    );
}

fuzz_target!(|input: Input| {
    check(input);
});
