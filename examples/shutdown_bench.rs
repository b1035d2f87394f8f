//! What a shutdown costs per parked strand, next to its floor: one Rust
//! unwind (a cancelled strand unwinds its stack so its `Drop`s run).
//!
//! ```text
//! cargo run --release --example shutdown_bench [strands] [workers] [rounds]
//! ```
//!
//! Per round: spawns the strands (each parks a few frames deep, holding a
//! value with a `Drop`), then `shutdown_timeout`, and prints wall time and
//! process CPU time (user + system, `getrusage`) per strand; then, on a
//! plain thread, `catch_unwind` around `resume_unwind` through 0 and 5
//! frames, each frame dropping a value. Medians over the rounds.

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

struct Dropped(Arc<AtomicUsize>);
impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[inline(never)]
fn park_deep(depth: u32, started: &AtomicUsize) {
    if depth == 0 {
        started.fetch_add(1, Ordering::Relaxed);
        loop {
            strands::park();
        }
    }
    park_deep(depth - 1, black_box(started));
}

#[inline(never)]
fn unwind_deep(depth: u32, drops: &Arc<AtomicUsize>) {
    let _d = Dropped(Arc::clone(drops));
    if depth == 0 {
        std::panic::resume_unwind(Box::new(()));
    }
    unwind_deep(depth - 1, black_box(drops));
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let workers: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(2);
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let rt = strands::Runtime::builder()
            .workers(workers)
            .build()
            .expect("runtime");
        let started = Arc::new(AtomicUsize::new(0));
        let drops = Arc::new(AtomicUsize::new(0));
        for _ in 0..n {
            let (s, d) = (Arc::clone(&started), Dropped(Arc::clone(&drops)));
            rt.spawn(move || {
                let _d = d;
                park_deep(3, &s);
            });
        }
        while started.load(Ordering::Relaxed) < n {
            std::thread::sleep(Duration::from_millis(1));
        }
        let (t, c) = (Instant::now(), cpu_seconds());
        assert!(rt.shutdown_timeout(Duration::from_secs(300)));
        wall.push(t.elapsed().as_nanos() as f64 / n as f64);
        cpu.push((cpu_seconds() - c) * 1e9 / n as f64);
        assert_eq!(drops.load(Ordering::Relaxed), n, "every Drop ran");
    }
    println!(
        "shutdown of {n} parked strands, {workers} worker(s): {:.0} ns wall, {:.0} ns CPU per strand (medians of {rounds})",
        median(&mut wall),
        median(&mut cpu)
    );
    let drops = Arc::new(AtomicUsize::new(0));
    for depth in [0, 5] {
        let reps = 100_000;
        let t = Instant::now();
        for _ in 0..reps {
            let d = Arc::clone(&drops);
            let _ = std::panic::catch_unwind(move || unwind_deep(depth, &d));
        }
        println!(
            "floor: catch_unwind(resume_unwind) on a plain thread through {} frame(s) with a Drop each: {:.0} ns",
            depth + 1,
            t.elapsed().as_nanos() as f64 / reps as f64
        );
    }
}
