//! How long a strand dump takes on a busy runtime with many strands.
//!
//! ```text
//! cargo run --release --example dump_100k -- [--strands 100000] [--workers 2] [--dumps 10]
//! ```
//!
//! Parks `--strands` strands (half in a channel receive, half asleep) while
//! one busy strand per worker counts in a loop with yields, then takes
//! `--dumps` dumps from the main thread and prints, for each, how long
//! collecting it took, how long formatting it took, and how far the busy
//! strands counted meanwhile (they keep running: a dump stops no worker).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().expect("a number"))
        .unwrap_or(default)
}

fn main() {
    let n = arg("--strands", 100_000);
    let workers = arg("--workers", 2);
    let dumps = arg("--dumps", 10);
    let rt = strands::Runtime::builder()
        .workers(workers)
        .stack_size(16 * 1024)
        .build()
        .unwrap();
    let (tx, rx) = strands::channel::unbounded::<()>();
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        let rx = rx.clone();
        handles.push(rt.spawn(move || {
            if i % 2 == 0 {
                let _ = rx.recv();
            } else {
                strands::sleep(Duration::from_secs(3600));
            }
        }));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let busy: Vec<_> = (0..workers)
        .map(|_| {
            let (stop, count) = (Arc::clone(&stop), Arc::clone(&count));
            rt.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    count.fetch_add(1, Ordering::Relaxed);
                    strands::yield_now();
                }
            })
        })
        .collect();
    // every strand parked
    loop {
        let d = rt.dump();
        let parked = d
            .strands()
            .iter()
            .filter(|s| s.waits_for().is_some())
            .count();
        if parked >= n {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("{n} parked strands, {workers} workers, {workers} busy strands yielding");
    for i in 0..dumps {
        let before = count.load(Ordering::Relaxed);
        let t = Instant::now();
        let dump = rt.dump();
        let collect = t.elapsed();
        let t = Instant::now();
        let text = dump.to_string();
        let format = t.elapsed();
        let during = count.load(Ordering::Relaxed) - before;
        println!(
            "dump {i}: {} strands collected in {:.2} ms (Dump::took {:.2} ms), \
             formatted ({} MB) in {:.2} ms; busy strands counted {during} meanwhile",
            dump.strands().len(),
            collect.as_secs_f64() * 1e3,
            dump.took().as_secs_f64() * 1e3,
            text.len() / 1_000_000,
            format.as_secs_f64() * 1e3,
        );
    }
    stop.store(true, Ordering::Relaxed);
    for b in busy {
        b.join().unwrap();
    }
    drop(tx);
    for h in &handles {
        h.cancel();
    }
    drop(rt);
}
