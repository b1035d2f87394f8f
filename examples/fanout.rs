//! A request fanned out to three simulated replicas with `FirstSuccess`
//! and hedging, printing each plan's outcome table.
//!
//! - `replica-a` is slow (80-120 ms);
//! - `replica-b` fails fast ("503"), retried twice with jittered backoff;
//! - `replica-c` is usually fine (5-25 ms) but has a long tail (one call in
//!   three takes 200 ms), so it is hedged after 30 ms.
//!
//! All three share one retry budget (10 tokens, 0.2 back per success), so
//! the failing replica's retries dry up after a few requests. The first
//! success answers; the other replicas are cancelled; a replica
//! that still answered after the decision has its response handed to
//! `on_discarded`. Latencies are random-ish (seeded from the clock, or from
//! the first argument for a reproducible run).
//!
//! ```text
//! cargo run --example fanout [seed]
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use strands::join::{AttemptKind, Backoff, Jitter, JoinMode, Need, Part, PartStatus, RetryBudget};

/// A tiny shared splitmix64 for the simulated latencies.
#[derive(Clone)]
struct Dice(Arc<AtomicU64>);

impl Dice {
    fn roll(&self, lo: u64, hi: u64) -> u64 {
        let mut z = self
            .0
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        lo + (z ^ (z >> 31)) % (hi - lo + 1)
    }
}

#[derive(Debug)]
struct Response {
    replica: &'static str,
    body: String,
}

fn main() {
    let seed = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    println!("seed {seed}");
    let dice = Dice(Arc::new(AtomicU64::new(seed)));
    let budget = RetryBudget::new(10, 0.2);

    strands::run(move || {
        for request in 1..=4 {
            let (a, b, c) = (dice.clone(), dice.clone(), dice.clone());
            let outcome = Need::new(JoinMode::FirstSuccess)
                .part(Part::required("replica-a", move || {
                    strands::sleep(Duration::from_millis(a.roll(80, 120)));
                    Ok::<_, String>(Response {
                        replica: "a",
                        body: format!("row {request}"),
                    })
                }))
                .part(
                    Part::required("replica-b", move || {
                        strands::sleep(Duration::from_millis(b.roll(2, 6)));
                        Err("503 unavailable".to_string())
                    })
                    .retry(
                        Backoff::exponential(Duration::from_millis(5), 2.0)
                            .max_attempts(3)
                            .jitter(Jitter::Full),
                    ),
                )
                .part(
                    Part::required("replica-c", move || {
                        let ms = if c.roll(1, 3) == 1 {
                            200
                        } else {
                            c.roll(5, 25)
                        };
                        strands::sleep(Duration::from_millis(ms));
                        Ok(Response {
                            replica: "c",
                            body: format!("row {request}"),
                        })
                    })
                    .hedge(Duration::from_millis(30), 1),
                )
                .budget(&budget)
                .timeout(Duration::from_secs(2))
                .on_discarded(|name, r| println!("  (discarded a late answer from {name}: {r:?})"))
                .run();
            print_table(request, &outcome);
            println!(
                "  retry budget: {:.1} of 10 tokens (retries and hedges need more than 5)",
                budget.tokens()
            );
        }
    });
}

fn print_table(request: u32, o: &strands::join::Outcome<Response, String>) {
    match (o.value(), o.decided_by()) {
        (Some(v), Some(p)) => println!(
            "\nrequest {request}: {:?} from {} ({}) in {:.1?}",
            v.body,
            p.name(),
            v.replica,
            o.elapsed()
        ),
        _ => println!("\nrequest {request}: failed in {:.1?}", o.elapsed()),
    }
    println!(
        "  {:<10} {:<26} {:<24} {:>9}",
        "part", "status", "attempts", "elapsed"
    );
    for p in o.parts() {
        let attempts: Vec<String> = p
            .attempts()
            .iter()
            .map(|a| {
                let kind = match a.kind() {
                    AttemptKind::First => "1st",
                    AttemptKind::Retry => "retry",
                    AttemptKind::Hedge => "hedge",
                };
                format!("{kind}:{}", short(a.result()))
            })
            .collect();
        let status = match p.status() {
            PartStatus::Failed(e) => format!("failed ({e})"),
            s => s.label().to_string(),
        };
        println!(
            "  {:<10} {:<26} {:<24} {:>9.1?}",
            p.name(),
            status,
            attempts.join(" "),
            p.elapsed()
        );
    }
}

fn short<E>(r: &strands::join::AttemptResult<E>) -> &'static str {
    use strands::join::AttemptResult::*;
    match r {
        Succeeded => "ok",
        Failed(_) => "err",
        Panicked(_) => "panic",
        TimedOut => "timeout",
        Cancelled(_) => "cancel",
        Discarded => "late",
        Abandoned => "abandon",
    }
}
