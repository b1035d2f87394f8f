//! JoinSet overhead: a `JoinSet::with_limit(10)` over N trivial parts
//! against N bare `spawn` + `join`, per part.
//!
//! ```text
//! cargo run --release --example join_bench -- [--parts 10000] [--rounds 15] [--workers 2] [--only K]
//! ```
//!
//! `--only K` runs case K alone (0-3, in the order below; for profiling).
//!
//! Every round runs each case once (interleaved, so a noisy neighbour hits
//! all of them alike); the figures are medians over the rounds, in ns per
//! part. Cases:
//!
//! - `bare spawn-all/join-all`: spawn N strands, then join them in order
//!   (no limit: up to N alive);
//! - `bare spawn+join`: spawn and join one at a time (at most one alive);
//! - `JoinSet unlimited`: spawn N members, `join_next` until `None`;
//! - `JoinSet limit 10`: the same with `with_limit(10)` (at most 10 alive,
//!   the rest queued and started as slots free).
//!
//! The ratio is against the faster of the two bare cases.

use std::hint::black_box;
use std::time::Instant;
use strands::join::JoinSet;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().expect("a number"))
}

fn bare_all(n: usize) -> u64 {
    let hs: Vec<_> = (0..n as u64)
        .map(|i| strands::spawn(move || black_box(i)))
        .collect();
    hs.into_iter().map(|h| h.join().unwrap()).sum()
}

fn bare_one(n: usize) -> u64 {
    (0..n as u64)
        .map(|i| strands::spawn(move || black_box(i)).join().unwrap())
        .sum()
}

fn set(n: usize, limit: Option<usize>) -> u64 {
    let mut set = match limit {
        Some(l) => JoinSet::with_limit(l),
        None => JoinSet::new(),
    };
    for i in 0..n as u64 {
        set.spawn(move || black_box(i));
    }
    let mut sum = 0;
    while let Some(r) = set.join_next() {
        sum += r.unwrap();
    }
    sum
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let parts = arg("--parts", 10_000);
    let rounds = arg("--rounds", 15);
    let workers = arg("--workers", 2);
    let only = arg("--only", usize::MAX);
    let rt = strands::Runtime::builder()
        .workers(workers)
        .watchdog(None) // the spawning loop holds its worker by design
        .build()
        .expect("runtime");
    let want = (parts as u64) * (parts as u64 - 1) / 2;
    type Case = (&'static str, fn(usize) -> u64);
    let cases: [Case; 4] = [
        ("bare spawn-all/join-all", bare_all),
        ("bare spawn+join", bare_one),
        ("JoinSet unlimited", |n| set(n, None)),
        ("JoinSet limit 10", |n| set(n, Some(10))),
    ];
    let mut times = vec![Vec::new(); cases.len()];
    rt.block_on(|| {
        for (_, f) in cases.iter().filter(|_| only == usize::MAX) {
            assert_eq!(f(parts), want); // warm-up: stacks pooled, code paged in
        }
        for _ in 0..rounds {
            for (i, (_, f)) in cases.iter().enumerate() {
                if only != usize::MAX && only != i {
                    continue;
                }
                let t = Instant::now();
                let sum = f(parts);
                let ns = t.elapsed().as_nanos() as f64 / parts as f64;
                assert_eq!(sum, want);
                times[i].push(ns);
            }
        }
    });
    if only != usize::MAX {
        println!(
            "{}: {:.0} ns per part",
            cases[only].0,
            median(&mut times[only])
        );
        return;
    }
    let medians: Vec<f64> = times.iter_mut().map(|t| median(t)).collect();
    let base = medians[0].min(medians[1]);
    println!("{parts} parts, {workers} workers, median of {rounds} rounds (ns per part)");
    for ((name, _), m) in cases.iter().zip(&medians) {
        println!("{name:<26} {m:>8.0} ns   {:.2}x", m / base);
    }
}
