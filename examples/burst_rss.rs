//! Memory after a burst: how much of it the runtime gives back.
//!
//! ```text
//! cargo run --release --example burst_rss -- [--strands 50000] [--idle-secs 3] [--workers 2]
//! ```
//!
//! Prints the process's resident set (`VmRSS` from `/proc/self/status`) and
//! the stack pool's figures at four points: at the baseline (the runtime
//! built, a small warm-up burst done), with `--strands` strands alive and
//! parked (default 50,000; each has touched a page or two of its stack),
//! once they have all finished, and after `--idle-secs` seconds of idleness
//! (default 3). Then what share of the burst's growth above the baseline is
//! still resident.

use std::sync::Arc;
use std::time::{Duration, Instant};
use strands::sync::RwLock;
use strands::Runtime;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn show(what: &str, rt: &Runtime) -> u64 {
    let rss = rss_kib();
    let m = rt.metrics();
    println!(
        "{what:<28} rss {:>8.1} MiB  live {:>6}  cached {:>6}  slabs {:>3}  reserved {:>7.1} MiB  workers {}",
        rss as f64 / 1024.0,
        m.live_strands,
        m.stacks_cached,
        m.stack_slabs,
        m.stack_reserved_bytes as f64 / (1 << 20) as f64,
        m.workers,
    );
    rss
}

/// Spawns `n` strands that each touch some stack and park on `gate`
/// (held for writing by the caller), and waits until all have parked.
fn burst(rt: &Runtime, n: usize, gate: &Arc<RwLock<()>>) -> Vec<strands::JoinHandle<()>> {
    let parks = |rt: &Runtime| rt.metrics().parks.iter().sum::<u64>();
    let before = parks(rt);
    let hs: Vec<_> = (0..n)
        .map(|_| {
            let gate = Arc::clone(gate);
            rt.spawn(move || {
                let buf = std::hint::black_box([1u8; 2048]); // a page or so of stack
                let _r = gate.read().unwrap();
                std::hint::black_box(&buf);
            })
        })
        .collect();
    let start = Instant::now();
    while parks(rt) < before + n as u64 && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    hs
}

fn main() {
    let mut strands = 50_000usize;
    let mut idle = 3u64;
    let mut workers = 2usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || {
            args.next()
                .and_then(|v| v.parse::<u64>().ok())
                .expect("a number")
        };
        match a.as_str() {
            "--strands" => strands = val() as usize,
            "--idle-secs" => idle = val(),
            "--workers" => workers = val() as usize,
            _ => panic!("unknown option {a}"),
        }
    }
    let rt = Runtime::builder().workers(workers).build().unwrap();
    // warm-up: a small burst, so the baseline has the runtime's usual state
    let gate = Arc::new(RwLock::new(()));
    {
        let w = gate.write().unwrap();
        let hs = burst(&rt, 100, &gate);
        drop(w);
        hs.into_iter().for_each(|h| h.join().unwrap());
    }
    std::thread::sleep(Duration::from_millis(200));
    let base = show("baseline", &rt);
    let w = gate.write().unwrap();
    let hs = burst(&rt, strands, &gate);
    let peak = show(&format!("{strands} strands parked"), &rt);
    drop(w);
    hs.into_iter().for_each(|h| h.join().unwrap());
    show("all finished", &rt);
    let t = Instant::now();
    for s in 1..=idle {
        std::thread::sleep(Duration::from_secs(s).saturating_sub(t.elapsed()));
        show(&format!("after {s} s idle"), &rt);
    }
    let end = rss_kib();
    let growth = peak.saturating_sub(base).max(1);
    println!(
        "burst growth {:.1} MiB; {:.1} MiB still resident above the baseline after {idle} s ({:.0}%)",
        growth as f64 / 1024.0,
        end.saturating_sub(base) as f64 / 1024.0,
        100.0 * end.saturating_sub(base) as f64 / growth as f64
    );
}
