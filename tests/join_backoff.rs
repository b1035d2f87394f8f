//! Backoff policies and the retry budget through the public API.

use std::time::Duration;
use strands::join::{Backoff, Jitter, RetryBudget};

const MS: Duration = Duration::from_millis(1);

#[test]
fn each_kind_follows_its_formula_and_the_cap() {
    let cap = 100 * MS;
    let table: [(Backoff, [u64; 7]); 4] = [
        (Backoff::constant(7 * MS), [0, 7, 7, 7, 7, 7, 7]),
        (Backoff::linear(7 * MS), [0, 7, 14, 21, 28, 35, 42]),
        (
            Backoff::exponential(7 * MS, 2.0),
            [0, 7, 14, 28, 56, 100, 100],
        ),
        (Backoff::fibonacci(7 * MS), [0, 7, 7, 14, 21, 35, 56]),
    ];
    for (b, want) in table {
        let b = b.max_delay(cap);
        let got: Vec<u64> = (0..7).map(|n| b.delay(n).as_millis() as u64).collect();
        assert_eq!(got, want, "{b:?}");
    }
}

#[test]
fn delays_saturate_instead_of_overflowing() {
    for b in [
        Backoff::linear(Duration::MAX),
        Backoff::fibonacci(Duration::from_secs(u64::MAX / 2)),
        Backoff::exponential(Duration::from_secs(1), 1e308),
        Backoff::exponential(Duration::MAX, f64::INFINITY),
        Backoff::exponential(Duration::from_nanos(1), 2.0),
    ] {
        for n in [128, 1000, u32::MAX - 1, u32::MAX] {
            assert_eq!(b.delay(n), Duration::MAX, "{b:?} at {n}");
        }
        let mut s = b.clone().jitter(Jitter::Equal).schedule();
        assert!(s.next_delay(u32::MAX) >= Duration::MAX / 2);
    }
}

#[test]
fn nan_negative_and_small_factors_mean_constant() {
    for f in [f64::NAN, -1.0, 0.0, 0.99] {
        let b = Backoff::exponential(3 * MS, f);
        assert_eq!(b.delay(1), 3 * MS);
        assert_eq!(b.delay(u32::MAX), 3 * MS);
    }
}

#[test]
fn seeded_jitter_is_reproducible_and_within_the_formulas() {
    let b = Backoff::exponential(4 * MS, 3.0).max_delay(500 * MS);
    for j in [Jitter::Full, Jitter::Equal, Jitter::Decorrelated] {
        let seeded = b.clone().jitter(j).seed(2024);
        let a: Vec<Duration> = {
            let mut s = seeded.schedule();
            (1..30).map(|n| s.next_delay(n)).collect()
        };
        let mut s = seeded.schedule();
        let again: Vec<Duration> = (1..30).map(|n| s.next_delay(n)).collect();
        assert_eq!(a, again, "{j:?}");
        let mut prev = 4 * MS;
        for (k, d) in a.iter().enumerate() {
            let exact = b.delay(k as u32 + 1);
            match j {
                Jitter::Full => assert!(*d <= exact),
                Jitter::Equal => assert!(*d >= exact / 2 && *d <= exact),
                Jitter::Decorrelated => {
                    assert!(*d >= 4 * MS && *d <= (prev * 3).min(500 * MS).max(4 * MS));
                    prev = *d;
                }
                Jitter::None => unreachable!(),
            }
        }
    }
}

#[test]
fn unseeded_schedules_differ() {
    let b = Backoff::constant(Duration::from_secs(1)).jitter(Jitter::Full);
    let draws: std::collections::HashSet<Duration> =
        (0..16).map(|_| b.schedule().next_delay(1)).collect();
    assert!(draws.len() > 1);
}

#[test]
fn the_budget_is_shared_and_thread_safe() {
    let budget = RetryBudget::new(100, 0.5);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let b = budget.clone();
            std::thread::spawn(move || {
                for _ in 0..10 {
                    b.record_failure();
                }
                for _ in 0..10 {
                    b.record_success();
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(budget.tokens(), 100.0 - 40.0 + 20.0);
    assert!(budget.can_retry());
}

#[test]
#[should_panic(expected = "max_tokens must be at least 1")]
fn an_empty_budget_is_refused() {
    let _ = RetryBudget::new(0, 0.1);
}
