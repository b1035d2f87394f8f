//! Skynet: a 10-ary tree of 1,111,111 strands, each leaf returning its
//! number and each inner strand spawning its ten children and joining them
//! in order. Prints every round's wall time, the best and the median, and
//! the peak resident memory of the process.
//!
//! ```text
//! cargo run --release --example skynet [workers] [rounds]
//! ```
//!
//! Run it with 1 and then 2 workers to see how the tree scales; the peers
//! harness (`benches/peers/runtime`, `-- skynet`) runs it next to tokio
//! and Go in one interleaved run.

use std::time::Instant;

fn skynet(num: u64, size: u64) -> u64 {
    if size == 1 {
        return num;
    }
    let step = size / 10;
    let children: Vec<_> = (0..10)
        .map(|i| strands::spawn(move || skynet(num + i * step, step)))
        .collect();
    children.into_iter().map(|h| h.join().unwrap()).sum()
}

/// Peak resident set of this process in KiB (`VmHWM`), where `/proc` has it.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let workers: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(2);
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let rt = strands::Runtime::builder()
        .workers(workers)
        .build()
        .expect("runtime");
    let mut ms: Vec<f64> = (0..rounds.max(1))
        .map(|round| {
            let (sum, ms) = rt.block_on(|| {
                let t = Instant::now();
                let sum = skynet(0, 1_000_000);
                (sum, t.elapsed().as_secs_f64() * 1e3)
            });
            assert_eq!(sum, 499_999_500_000);
            println!("round {round}: {ms:.0} ms");
            ms
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    let peak = peak_rss_kib().map_or("n/a".to_string(), |k| format!("{} MiB", k / 1024));
    println!(
        "skynet, {workers} worker(s): best {:.0} ms, median {:.0} ms, peak RSS {peak}",
        ms[0],
        ms[ms.len() / 2]
    );
}
