//! The main job: many strands alive at once, each yielding many times.
//!
//! ```text
//! cargo run --release --example stress -- --strands 100000 --yields 10
//! ```
//!
//! Spawns `--strands` strands (default 100,000) that each yield `--yields`
//! times (default 10), so all of them are alive together, then reports each
//! phase on its own: spawning (per strand), running (per switch, counted
//! from the first switch after the last spawn to the last join), shutdown;
//! then peak RSS, KiB per strand and the memory mappings the stacks added.
//!
//! Options: `--mode yield|pingpong|sleep|tree|mixed` (default `yield`),
//! `--workers N` (default 1), `--stack-size BYTES` (default the runtime's),
//! `--guard auto|guard-install|mprotect|canary`, `--no-watchdog` (the
//! watchdog is on, with the runtime's default 100 ms: the spawning strand's
//! loop yields every slice of spawns, so it reports nothing), `--floor`
//! (afterwards, also
//! time the kernel's first touch of as many fresh pages, one per stack-sized
//! stride: the floor under the spawn time of strands that each touch one
//! stack page), `--events none|empty|json` (default `none`: no event hook;
//! `empty`: a hook that does nothing; `json`: `observe::JsonLines` writing
//! to `/dev/null`), to measure what the event points cost.
//!
//! Modes: `yield` — every strand yields K times; `pingpong` — pairs of
//! strands take K turns each (a shared turn counter, waited on by
//! yielding); `sleep` — every strand sleeps 1 ms K times (parked on timers);
//! `tree` — a binary tree of N strands, each spawning its children and
//! joining them (parked on joins); `mixed` — a third each of yield, sleep and
//! tree.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use strands::{Runtime, StackGuard};

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Yield,
    PingPong,
    Sleep,
    Tree,
    Mixed,
}

struct Args {
    mode: Mode,
    strands: usize,
    yields: usize,
    workers: usize,
    stack_size: usize,
    guard: StackGuard,
    floor: bool,
    watchdog: bool,
    events: Events,
}

#[derive(Clone, Copy, PartialEq)]
enum Events {
    None,
    Empty,
    Json,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        mode: Mode::Yield,
        strands: 100_000,
        yields: 10,
        workers: 1,
        stack_size: strands::DEFAULT_STACK_SIZE,
        guard: StackGuard::Auto,
        floor: false,
        watchdog: true,
        events: Events::None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or(format!("{flag} needs a value"));
        let num = |s: String| {
            s.replace('_', "")
                .parse::<usize>()
                .map_err(|e| format!("{flag}: {e}"))
        };
        match flag.as_str() {
            "--strands" => a.strands = num(val()?)?,
            "--mode" => {
                a.mode = match val()?.as_str() {
                    "yield" => Mode::Yield,
                    "pingpong" => Mode::PingPong,
                    "sleep" => Mode::Sleep,
                    "tree" => Mode::Tree,
                    "mixed" => Mode::Mixed,
                    other => return Err(format!("unknown mode {other}")),
                }
            }
            "--yields" => a.yields = num(val()?)?,
            "--workers" => a.workers = num(val()?)?,
            "--stack-size" => a.stack_size = num(val()?)?,
            "--guard" => {
                a.guard = match val()?.as_str() {
                    "auto" => StackGuard::Auto,
                    "guard-install" => StackGuard::GuardInstall,
                    "mprotect" => StackGuard::Mprotect,
                    "canary" => StackGuard::Canary,
                    other => return Err(format!("unknown guard kind {other}")),
                }
            }
            "--floor" => a.floor = true,
            // On by default, as in any runtime: the spawn loop yields every
            // slice of spawns, so the watchdog has nothing to report.
            "--watchdog" => a.watchdog = true,
            "--no-watchdog" => a.watchdog = false,
            "--events" => {
                a.events = match val()?.as_str() {
                    "none" => Events::None,
                    "empty" => Events::Empty,
                    "json" => Events::Json,
                    other => return Err(format!("unknown --events {other}")),
                }
            }
            "-h" | "--help" => {
                println!(
                    "usage: stress [--mode yield|pingpong|sleep|tree|mixed] [--strands N] \
                     [--yields K] [--workers W] [--stack-size BYTES] \
                     [--guard auto|guard-install|mprotect|canary] [--floor] [--no-watchdog] \
                     [--events none|empty|json]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other} (try --help)")),
        }
    }
    Ok(a)
}

/// Seconds the kernel takes to hand out `n` fresh pages, touched one per
/// `stride` bytes of a fresh mapping (as first stack pages are).
fn page_touch_floor(n: usize, stride: usize) -> f64 {
    let len = n * stride;
    // SAFETY: a fresh private anonymous mapping, touched only below and
    // unmapped at the end; nothing else refers to it.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | NORESERVE,
            -1,
            0,
        );
        assert_ne!(p, libc::MAP_FAILED, "mmap of {len} bytes failed");
        #[cfg(target_os = "linux")]
        libc::madvise(p, len, libc::MADV_NOHUGEPAGE);
        let t = Instant::now();
        for i in 0..n {
            let top = (p as *mut u8).add((i + 1) * stride - 64);
            std::ptr::write_volatile(top, 1);
        }
        let secs = t.elapsed().as_secs_f64();
        libc::munmap(p, len);
        secs
    }
}

/// `MAP_NORESERVE` where the system has it (Linux); macOS and the BSDs
/// commit anonymous memory lazily without it.
#[cfg(target_os = "linux")]
const NORESERVE: libc::c_int = libc::MAP_NORESERVE;
#[cfg(not(target_os = "linux"))]
const NORESERVE: libc::c_int = 0;

/// The resident set now, in KiB: `VmRSS` from /proc on Linux. Elsewhere
/// the peak so far (`getrusage`), which before the strands exist is close
/// to the resident set, and never below it.
fn rss_now_kib() -> usize {
    if cfg!(target_os = "linux") {
        status_kib("VmRSS:")
    } else {
        rss_peak_kib()
    }
}

/// The peak resident set, in KiB: `VmHWM` from /proc on Linux, else
/// `getrusage`'s `ru_maxrss` (KiB on the BSDs, bytes on macOS).
fn rss_peak_kib() -> usize {
    if cfg!(target_os = "linux") {
        return status_kib("VmHWM:");
    }
    // SAFETY: getrusage fills the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0;
    }
    let max = ru.ru_maxrss.max(0) as usize;
    if cfg!(target_vendor = "apple") {
        max / 1024
    } else {
        max
    }
}

/// A field of /proc/self/status, in KiB (0 without /proc).
fn status_kib(field: &str) -> usize {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The process's memory mappings (`None` without /proc: macOS, the BSDs).
fn mappings() -> Option<usize> {
    std::fs::read_to_string("/proc/self/maps")
        .ok()
        .map(|s| s.lines().count())
}

fn yield_k(k: usize) {
    for _ in 0..k {
        strands::yield_now();
    }
}

fn sleep_k(k: usize) {
    for _ in 0..k {
        strands::sleep(Duration::from_millis(1));
    }
}

/// Takes `k` turns against a partner: waits (yielding) until the shared
/// counter says it is this side's turn, then passes the turn on.
fn ping(turn: &AtomicU64, side: u64, k: u64) {
    for round in 0..k {
        while turn.load(Ordering::Acquire) != 2 * round + side {
            strands::yield_now();
        }
        turn.fetch_add(1, Ordering::Release);
    }
}

/// A binary tree of `below` more strands under this one: spawn the two
/// subtrees, join them.
fn tree(below: usize) {
    if below == 0 {
        return;
    }
    let children = below.min(2);
    let left = (below - children) / 2;
    let right = below - children - left;
    let l = strands::spawn(move || tree(left));
    if children == 2 {
        let r = strands::spawn(move || tree(right));
        r.join().unwrap();
    }
    l.join().unwrap();
}

fn main() {
    let args = parse().unwrap_or_else(|e| {
        eprintln!("stress: {e}");
        std::process::exit(2);
    });
    let mut builder = Runtime::builder();
    match args.events {
        Events::None => {}
        Events::Empty => builder = builder.on_event(|_| {}),
        Events::Json => {
            let null = std::fs::File::create("/dev/null").expect("open /dev/null");
            builder = builder.on_event(strands::observe::JsonLines::new(null));
        }
    }
    let rt = builder
        .workers(args.workers)
        .stack_size(args.stack_size)
        .stack_guard(args.guard)
        .watchdog(
            args.watchdog
                .then_some(std::time::Duration::from_millis(100)),
        )
        .build()
        .unwrap_or_else(|e| {
            eprintln!("stress: cannot build the runtime: {e}");
            std::process::exit(1);
        });
    let rss_before = rss_now_kib();
    let maps_before = mappings();
    let (n, k) = (args.strands, args.yields);
    let start = Instant::now();
    let mode = args.mode;
    let (maps_peak, spawn_time, run_time, switches_at_spawn) = rt.block_on(|| {
        let mut handles = Vec::with_capacity(n);
        let mut spawn =
            |i: usize, body: Box<dyn FnOnce() + Send>| match strands::Builder::new().spawn(body) {
                Ok(h) => handles.push(h),
                Err(e) => {
                    eprintln!("stress: spawn failed after {i} strands: {e}");
                    std::process::exit(1);
                }
            };
        let mut i = 0;
        while i < n {
            let m = match mode {
                Mode::Mixed => [Mode::Yield, Mode::Sleep, Mode::Tree][i % 3],
                m => m,
            };
            match m {
                Mode::Yield => spawn(i, Box::new(move || yield_k(k))),
                Mode::Sleep => spawn(i, Box::new(move || sleep_k(k))),
                Mode::PingPong => {
                    let turn = Arc::new(AtomicU64::new(0));
                    for side in 0..2u64 {
                        let turn = Arc::clone(&turn);
                        spawn(i, Box::new(move || ping(&turn, side, k as u64)));
                    }
                    i += 1;
                }
                Mode::Tree => {
                    // trees of up to 1,000 strands (7 in mixed mode)
                    let size = (n - i).min(if mode == Mode::Mixed { 7 } else { 1000 });
                    spawn(i, Box::new(move || tree(size - 1)));
                    i += size - 1;
                }
                Mode::Mixed => unreachable!(),
            }
            i += 1;
        }
        let spawn_time = start.elapsed();
        let switched = |h: strands::Handle| h.metrics().switches.iter().sum::<u64>();
        let switches_at_spawn = switched(strands::Handle::try_current().expect("a strand"));
        let run_start = Instant::now();
        strands::yield_now(); // let the strands start
        let maps_peak = mappings();
        for h in handles {
            h.join().expect("a stress strand panicked");
        }
        (
            maps_peak,
            spawn_time,
            run_start.elapsed(),
            switches_at_spawn,
        )
    });
    let m = rt.metrics();
    let switches: u64 = m.switches.iter().sum();
    let run_switches = switches.saturating_sub(switches_at_spawn);
    let rss_peak = rss_peak_kib();
    let guard = m.stack_guard;
    let shutdown_start = Instant::now();
    drop(rt);
    let shutdown = shutdown_start.elapsed();
    let mode = std::env::args()
        .skip_while(|a| a != "--mode")
        .nth(1)
        .unwrap_or_else(|| "yield".into());
    let what = match args.mode {
        Mode::Yield => format!("{n} strands x {k} yields each"),
        Mode::PingPong => format!("{} pairs of strands x {k} turns each", n / 2),
        Mode::Sleep => format!("{n} strands x {k} sleeps of 1 ms each"),
        Mode::Tree => format!("{n} strands in trees of up to 1,000 (spawn children, join them)"),
        Mode::Mixed => format!("{n} strands: a third each of yield x {k}, sleep x {k}, trees of 7"),
    };
    let together = if matches!(args.mode, Mode::Tree | Mode::Mixed) {
        ""
    } else {
        ", all alive at once"
    };
    println!(
        "stress: {what}{together}, on {} worker{} (mode {mode}, backend {}, guard {guard:?})",
        args.workers,
        if args.workers == 1 { "" } else { "s" },
        strands::BACKEND,
    );
    println!(
        "spawn     {:>9.3} s   {:>8.1} ns per strand   (spawning every strand, from one strand)",
        spawn_time.as_secs_f64(),
        spawn_time.as_nanos() as f64 / n as f64
    );
    println!(
        "run       {:>9.3} s   {:>8.1} ns per switch   ({run_switches} switches into strands after the last spawn, first runs included)",
        run_time.as_secs_f64(),
        run_time.as_nanos() as f64 / run_switches.max(1) as f64
    );
    println!(
        "shutdown  {:>9.3} s                            (dropping the runtime: workers joined, stacks unmapped)",
        shutdown.as_secs_f64()
    );
    println!("peak RSS          {:.1} MiB", rss_peak as f64 / 1024.0);
    println!(
        "KiB per strand    {:.2}",
        rss_peak.saturating_sub(rss_before) as f64 / n as f64
    );
    match (maps_before, maps_peak) {
        (Some(before), Some(peak)) => {
            println!("mappings added    {}", peak.saturating_sub(before))
        }
        _ => println!("mappings added    n/a (no /proc/self/maps here)"),
    }
    if args.floor {
        let secs = page_touch_floor(n, args.stack_size);
        println!("page-touch floor  {secs:.3} s ({n} fresh pages, one per stack stride)");
    }
}
