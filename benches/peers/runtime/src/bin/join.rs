//! JoinSet with a limit of 10 over N trivial parts: strands' `JoinSet`
//! against tokio's `JoinSet` with a `Semaphore` for the limit, each next to
//! its own bare spawn + join, in ns per part (medians, interleaved rounds).
//!
//! `cargo run --release --manifest-path benches/peers/runtime/Cargo.toml --bin join -- [parts] [rounds]`
//!
//! Both runtimes have 2 workers. tokio's loop runs in a spawned task (not
//! in `block_on`); its members are all spawned up front and each acquires a
//! permit first, so at most 10 run and the rest wait, as queued members of
//! a strands `JoinSet::with_limit(10)` do.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

fn strands_bare_all(n: u64) -> u64 {
    let hs: Vec<_> = (0..n)
        .map(|i| strands::spawn(move || black_box(i)))
        .collect();
    hs.into_iter().map(|h| h.join().unwrap()).sum()
}

fn strands_bare_one(n: u64) -> u64 {
    (0..n)
        .map(|i| strands::spawn(move || black_box(i)).join().unwrap())
        .sum()
}

fn strands_set(n: u64) -> u64 {
    let mut set = strands::join::JoinSet::with_limit(10);
    for i in 0..n {
        set.spawn(move || black_box(i));
    }
    let mut sum = 0;
    while let Some(r) = set.join_next() {
        sum += r.unwrap();
    }
    sum
}

async fn tokio_bare_all(n: u64) -> u64 {
    let hs: Vec<_> = (0..n)
        .map(|i| tokio::spawn(async move { black_box(i) }))
        .collect();
    let mut sum = 0;
    for h in hs {
        sum += h.await.unwrap();
    }
    sum
}

async fn tokio_bare_one(n: u64) -> u64 {
    let mut sum = 0;
    for i in 0..n {
        sum += tokio::spawn(async move { black_box(i) }).await.unwrap();
    }
    sum
}

async fn tokio_set(n: u64) -> u64 {
    let sem = Arc::new(tokio::sync::Semaphore::new(10));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let sem = Arc::clone(&sem);
        set.spawn(async move {
            let _permit = sem.acquire().await.unwrap();
            black_box(i)
        });
    }
    let mut sum = 0;
    while let Some(r) = set.join_next().await {
        sum += r.unwrap();
    }
    sum
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args.get(1).map_or(10_000, |a| a.parse().expect("parts"));
    let rounds: usize = args.get(2).map_or(15, |a| a.parse().expect("rounds"));
    let want = n * (n - 1) / 2;
    let srt = strands::Runtime::builder()
        .workers(2)
        .watchdog(None)
        .build()
        .unwrap();
    let trt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let names = [
        "strands bare spawn-all/join-all",
        "strands bare spawn+join",
        "strands JoinSet limit 10",
        "tokio bare spawn-all/await-all",
        "tokio bare spawn+await",
        "tokio JoinSet + Semaphore(10)",
    ];
    let mut times = vec![Vec::new(); names.len()];
    let time = |f: &dyn Fn() -> u64| {
        let t = Instant::now();
        assert_eq!(f(), want);
        t.elapsed().as_nanos() as f64 / n as f64
    };
    let tokio_run = |k: usize| {
        trt.block_on(async move {
            tokio::spawn(async move {
                match k {
                    0 => tokio_bare_all(n).await,
                    1 => tokio_bare_one(n).await,
                    _ => tokio_set(n).await,
                }
            })
            .await
            .unwrap()
        })
    };
    for round in 0..=rounds {
        let r = [
            srt.block_on(|| time(&|| strands_bare_all(n))),
            srt.block_on(|| time(&|| strands_bare_one(n))),
            srt.block_on(|| time(&|| strands_set(n))),
            time(&|| tokio_run(0)),
            time(&|| tokio_run(1)),
            time(&|| tokio_run(2)),
        ];
        if round > 0 {
            // round 0 warms up
            for (t, x) in times.iter_mut().zip(r) {
                t.push(x);
            }
        }
    }
    println!("{n} parts, 2 workers, median of {rounds} rounds (ns per part)");
    for (name, t) in names.iter().zip(times.iter_mut()) {
        println!("{name:<34} {:>8.0}", median(t));
    }
}
