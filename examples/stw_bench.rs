//! How long stopping the world takes: the time from the call until the
//! closure starts (every worker halted), and until the call returns (the
//! workers released), with the workers idle and with them busy.
//!
//! ```text
//! cargo run --release --example stw_bench -- [--workers 2] [--strands 1000] [--stops 200]
//! ```
//!
//! Busy: `--strands` strands count in a loop with yields on all workers;
//! the stops come from the main thread, then from a strand of the runtime.
//! Between two stops the main thread waits until the count has moved (the
//! workers run again). Prints the median, 90th percentile and maximum of
//! each, in microseconds.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use strands::{Handle, Runtime};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().expect("a number"))
        .unwrap_or(default)
}

/// Stops the world `stops` times through `h`, waiting for `count` to move
/// in between (if it moves at all); returns (to closure start, to return).
fn measure(
    h: &Handle,
    stops: usize,
    count: &AtomicU64,
    busy: bool,
) -> (Vec<Duration>, Vec<Duration>) {
    let mut halt = Vec::with_capacity(stops);
    let mut total = Vec::with_capacity(stops);
    for _ in 0..stops {
        let before = count.load(Relaxed);
        let t = Instant::now();
        let in_closure = h.stop_the_world(|| t.elapsed());
        total.push(t.elapsed());
        halt.push(in_closure);
        if !busy {
            // let the workers go back to sleep (else they are still halted
            // from the previous stop when the next one comes)
            std::thread::sleep(Duration::from_millis(1));
        }
        while busy && count.load(Relaxed) <= before + 1000 {
            std::hint::spin_loop();
            if strands::try_current().is_some() {
                strands::yield_now();
            } else {
                std::thread::yield_now();
            }
        }
    }
    (halt, total)
}

fn print(what: &str, mut v: Vec<Duration>) {
    v.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "  {what:<28} median {:>8.1} us   p90 {:>8.1} us   max {:>8.1} us",
        us(v[v.len() / 2]),
        us(v[v.len() * 9 / 10]),
        us(v[v.len() - 1])
    );
}

fn main() {
    let workers = arg("--workers", 2);
    let n = arg("--strands", 1000);
    let stops = arg("--stops", 200);
    let rt = Runtime::builder().workers(workers).build().unwrap();
    let count = Arc::new(AtomicU64::new(0));

    println!("{workers} workers idle, {stops} stops from the main thread:");
    let (halt, total) = measure(rt.handle(), stops, &count, false);
    print("until the closure starts", halt);
    print("until the call returns", total);

    let stop = Arc::new(AtomicBool::new(false));
    let (c, s) = (Arc::clone(&count), Arc::clone(&stop));
    // spawned from a strand: a busy worker serves the injector only when
    // its own queues are empty
    let busy = rt.block_on(move || {
        let started = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..n)
            .map(|_| {
                let (c, s, started) = (Arc::clone(&c), Arc::clone(&s), Arc::clone(&started));
                strands::spawn(move || {
                    started.fetch_add(1, Relaxed);
                    while !s.load(Relaxed) {
                        c.fetch_add(1, Relaxed);
                        strands::yield_now();
                    }
                })
            })
            .collect();
        while started.load(Relaxed) < n {
            strands::yield_now();
        }
        hs
    });
    println!("{workers} workers busy ({n} strands counting with yields), {stops} stops from the main thread:");
    let (halt, total) = measure(rt.handle(), stops, &count, true);
    print("until the closure starts", halt);
    print("until the call returns", total);

    // from a strand: spawned by one of the busy ones' peers, so it starts
    let c = Arc::clone(&count);
    let from_strand = rt.block_on(move || {
        strands::spawn(move || measure(&Handle::current(), stops, &c, true))
            .join()
            .unwrap()
    });
    println!("{workers} workers busy, {stops} stops from a strand:");
    print("until the closure starts", from_strand.0);
    print("until the call returns", from_strand.1);

    stop.store(true, Relaxed);
    for h in busy {
        h.join().unwrap();
    }
}
