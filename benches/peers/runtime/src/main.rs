//! Runtime-level comparison of strands with tokio, may and std::thread.
//!
//! `cargo run --release --manifest-path benches/peers/runtime/Cargo.toml`
//! (all sections), or `... -- sync` (section 5 only: locks and channels).
//!
//! The parent process never builds a runtime: every measurement runs in a
//! fresh child (this same binary, re-executed with
//! `child <case> <who> <workers> <n>`),
//! because may's scheduler is process-global (its worker count is fixed at
//! first use) and RSS is process-wide. The parent interleaves the contenders
//! (each case once per round, several rounds) and prints medians.
//!
//! Part 4 (1,000,000 parked tasks, one round, about 40 s) is skipped
//! with `-- --quick` (or `STRANDS_PEERS_QUICK=1`).

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod skynet;
mod sync;

const SPAWN_N: usize = 20_000; // green spawns per measurement
const SPAWN_N_THREAD: usize = 2_000; // std::thread spawns per measurement
const YIELD_TASKS: usize = 10_000;
const YIELDS_EACH: usize = 100;
/// Yields per measurement in the plot's sweep over task counts.
const YIELD_TOTAL: usize = YIELD_TASKS * YIELDS_EACH;
const PARKED: usize = 100_000;
/// Part 4: the parked measurement at a million tasks.
const PARKED_BIG: usize = 1_000_000;
/// may's default stack size, in machine words (its `config.rs`); set
/// explicitly so the figure below is the one used.
const MAY_STACK_WORDS: usize = 0x1000;
const ROUNDS: usize = 5;
const PARKED_ROUNDS: usize = 3;
const PARKED_BIG_ROUNDS: usize = 1;
const CHILD_TIMEOUT: Duration = Duration::from_secs(20);
/// strands spawns 1M parked tasks in ~10-15 s here and needs several
/// seconds to cancel them at shutdown.
const CHILD_TIMEOUT_BIG: Duration = Duration::from_secs(120);
/// A may child whose count of started coroutines stands still this long has
/// hung (it does when it runs out of mappings); it exits, reported failed.
const MAY_STALL: Duration = Duration::from_secs(5);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("child") => {
            let workers: usize = args[4].parse().expect("workers");
            let n: usize = args.get(5).map_or(PARKED, |a| a.parse().expect("n"));
            child(&args[2], &args[3], workers, n);
        }
        Some("sync") => {
            header("-- sync");
            sync::parent_section();
        }
        Some("skynet") => {
            header("-- skynet");
            skynet::parent_section();
        }
        Some("plot-data") => {
            let quick = args[2..].iter().any(|a| a == "--quick");
            let out = args[2..]
                .iter()
                .find(|a| !a.starts_with("--"))
                .expect("plot-data [--quick] <file.tsv>");
            plot_data(out, quick);
        }
        _ => {
            let quick = args[1..].iter().any(|a| a == "--quick")
                || std::env::var_os("STRANDS_PEERS_QUICK")
                    .is_some_and(|v| !v.is_empty() && v != "0");
            header(if quick { "-- --quick" } else { "" });
            parent(quick);
            sync::parent_section();
            skynet::parent_section();
        }
    }
}

// ---------------------------------------------------------------- child side

fn report(pairs: &[(&str, f64)]) {
    let s: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("RESULT {}", s.join(" "));
}

fn child(case: &str, who: &str, workers: usize, n: usize) {
    if who == "may" {
        may::config()
            .set_workers(workers)
            .set_stack_size(MAY_STACK_WORDS);
    }
    if case == "skynet" {
        return skynet::child(who, workers);
    }
    if sync::CASES.contains(&case) {
        return sync::child(case, who, workers);
    }
    match (case, who) {
        ("spawn", "strands") => report(&[("ns", spawn_strands(workers))]),
        ("spawn", "tokio") => report(&[("ns", spawn_tokio(workers))]),
        ("spawn", "may") => report(&[("ns", spawn_may())]),
        ("spawn", "thread") => report(&[("ns", spawn_thread(workers))]),
        ("yield", "strands") => report(&[("ns", yield_strands(workers, YIELD_TASKS))]),
        ("yield", "tokio") => report(&[("ns", yield_tokio(workers, YIELD_TASKS))]),
        ("yield", "may") => report(&[("ns", yield_may(YIELD_TASKS))]),
        // The plot's sweep: `n` tasks sharing YIELD_TOTAL yields.
        ("yieldn", "strands") => report(&[("ns", yield_strands(workers, n))]),
        ("yieldn", "tokio") => report(&[("ns", yield_tokio(workers, n))]),
        ("yieldn", "may") => report(&[("ns", yield_may(n))]),
        ("parked", "strands") => parked_strands(workers, n),
        ("parked", "tokio") => parked_tokio(workers, n),
        ("parked", "may") => parked_may(n),
        _ => panic!("unknown case {case} {who}"),
    }
}

fn per(d: Duration, n: usize) -> f64 {
    d.as_nanos() as f64 / n as f64
}

fn strands_rt(workers: usize) -> strands::Runtime {
    strands::Runtime::builder()
        .workers(workers)
        .build()
        .expect("strands runtime")
}

fn tokio_rt(workers: usize) -> tokio::runtime::Runtime {
    if workers == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("tokio runtime")
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_time()
            .build()
            .expect("tokio runtime")
    }
}

/// Runs `fut` as a task on the runtime (on a worker thread for
/// multi_thread, not on the thread calling `block_on`).
fn tokio_inside<T: Send + 'static>(
    rt: &tokio::runtime::Runtime,
    fut: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    rt.block_on(rt.spawn(fut)).expect("tokio task")
}

fn may_inside<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    may::go!(f).join().expect("may coroutine")
}

// 1. spawn + join, sequentially, from inside the runtime.

fn spawn_strands(workers: usize) -> f64 {
    let rt = strands_rt(workers);
    let ns = rt.block_on(|| {
        for _ in 0..SPAWN_N / 10 {
            strands::spawn(|| ()).join().unwrap();
        }
        let t = Instant::now();
        for _ in 0..SPAWN_N {
            strands::spawn(|| ()).join().unwrap();
        }
        per(t.elapsed(), SPAWN_N)
    });
    drop(rt);
    ns
}

fn spawn_tokio(workers: usize) -> f64 {
    let rt = tokio_rt(workers);
    tokio_inside(&rt, async {
        for _ in 0..SPAWN_N / 10 {
            tokio::spawn(async {}).await.unwrap();
        }
        let t = Instant::now();
        for _ in 0..SPAWN_N {
            tokio::spawn(async {}).await.unwrap();
        }
        per(t.elapsed(), SPAWN_N)
    })
}

fn spawn_may() -> f64 {
    may_inside(|| {
        for _ in 0..SPAWN_N / 10 {
            may::go!(|| ()).join().unwrap();
        }
        let t = Instant::now();
        for _ in 0..SPAWN_N {
            may::go!(|| ()).join().unwrap();
        }
        per(t.elapsed(), SPAWN_N)
    })
}

/// std::thread has no workers: the "1 worker" row pins the process to one
/// CPU, the "2 workers" row leaves it free on both.
fn spawn_thread(workers: usize) -> f64 {
    if workers == 1 {
        // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes
        // inside it; sched_setaffinity(0, ..) only reads it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(0, &mut set);
            assert_eq!(
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set),
                0
            );
        }
    }
    for _ in 0..SPAWN_N_THREAD / 10 {
        std::thread::spawn(|| ()).join().unwrap();
    }
    let t = Instant::now();
    for _ in 0..SPAWN_N_THREAD {
        std::thread::spawn(|| ()).join().unwrap();
    }
    per(t.elapsed(), SPAWN_N_THREAD)
}

// 2. YIELD_TASKS tasks x YIELDS_EACH yields; wall time (spawn to last join)
// per yield.

fn yield_strands(workers: usize, tasks: usize) -> f64 {
    let each = YIELD_TOTAL / tasks;
    let rt = strands_rt(workers);
    rt.block_on(|| {
        let t = Instant::now();
        let hs: Vec<_> = (0..tasks)
            .map(|_| {
                strands::spawn(move || {
                    for _ in 0..each {
                        strands::yield_now();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        per(t.elapsed(), tasks * each)
    })
}

fn yield_tokio(workers: usize, tasks: usize) -> f64 {
    let each = YIELD_TOTAL / tasks;
    let rt = tokio_rt(workers);
    tokio_inside(&rt, async move {
        let t = Instant::now();
        let hs: Vec<_> = (0..tasks)
            .map(|_| {
                tokio::spawn(async move {
                    for _ in 0..each {
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
        per(t.elapsed(), tasks * each)
    })
}

fn yield_may(tasks: usize) -> f64 {
    let each = YIELD_TOTAL / tasks;
    may_inside(move || {
        let t = Instant::now();
        let hs: Vec<_> = (0..tasks)
            .map(|_| {
                may::go!(move || {
                    for _ in 0..each {
                        may::coroutine::yield_now();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        per(t.elapsed(), tasks * each)
    })
}

// 3, 4. n (PARKED, PARKED_BIG) tasks that wait forever: spawn time, RSS
// growth per task, shutdown time.

fn rss_kib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = s.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn map_count() -> f64 {
    std::fs::read_to_string("/proc/self/maps")
        .map(|s| s.lines().count() as f64)
        .unwrap_or(f64::NAN)
}

/// How long a parked child may wait for its tasks to start, or for its
/// runtime to shut down.
fn parked_limit(n: usize) -> Duration {
    if n > PARKED {
        Duration::from_secs(90)
    } else {
        Duration::from_secs(10)
    }
}

/// Waits (from outside the runtime) until `n` tasks have started.
fn wait_started(started: &AtomicUsize, n: usize) -> Duration {
    let t = Instant::now();
    while started.load(Ordering::Acquire) < n {
        assert!(
            t.elapsed() < parked_limit(n).max(Duration::from_secs(30)),
            "tasks never all started ({} of {n})",
            started.load(Ordering::Relaxed)
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    t.elapsed()
}

fn report_parked(
    n: usize,
    spawn: Duration,
    settle: Duration,
    before: f64,
    after: f64,
    maps: f64,
    shutdown: f64,
) {
    report(&[
        ("spawn_ns", per(spawn, n)),
        ("settle_ms", settle.as_secs_f64() * 1e3),
        ("rss_b", (after - before) * 1024.0 / n as f64),
        ("shutdown_ms", shutdown),
        ("maps", maps),
    ]);
}

fn parked_strands(workers: usize, n: usize) {
    let rt = strands_rt(workers);
    rt.block_on(|| strands::spawn(|| ()).join().unwrap()); // workers up
    let started = Arc::new(AtomicUsize::new(0));
    let before = rss_kib();
    let s = started.clone();
    let spawn = rt.block_on(move || {
        let t = Instant::now();
        for _ in 0..n {
            let s = s.clone();
            // dropping the handle detaches the strand
            drop(strands::spawn(move || {
                s.fetch_add(1, Ordering::Release);
                strands::sleep(Duration::from_secs(3600));
            }));
        }
        t.elapsed()
    });
    let settle = wait_started(&started, n);
    let after = rss_kib();
    let maps = map_count();
    let t = Instant::now();
    let clean = rt.shutdown_timeout(parked_limit(n));
    let shutdown = if clean {
        t.elapsed().as_secs_f64() * 1e3
    } else {
        f64::NAN
    };
    report_parked(n, spawn, settle, before, after, maps, shutdown);
}

fn parked_tokio(workers: usize, n: usize) {
    let rt = tokio_rt(workers);
    tokio_inside(&rt, async {}); // workers up
    let started = Arc::new(AtomicUsize::new(0));
    let before = rss_kib();
    let s = started.clone();
    let spawn = tokio_inside(&rt, async move {
        let t = Instant::now();
        for _ in 0..n {
            let s = s.clone();
            drop(tokio::spawn(async move {
                s.fetch_add(1, Ordering::Release);
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }));
        }
        t.elapsed()
    });
    let settle = wait_started(&started, n);
    let after = rss_kib();
    let maps = map_count();
    let t = Instant::now();
    rt.shutdown_timeout(parked_limit(n));
    let shutdown = t.elapsed().as_secs_f64() * 1e3;
    report_parked(n, spawn, settle, before, after, maps, shutdown);
}

fn parked_may(n: usize) {
    may_inside(|| ()); // scheduler up
    let started = Arc::new(AtomicUsize::new(0));
    // may aborts (or hangs) when it runs out of mappings: say how far it got,
    // and give up once nothing has started for MAY_STALL.
    let watch = started.clone();
    std::thread::spawn(move || {
        let (mut last, mut since) = (0, Instant::now());
        loop {
            std::thread::sleep(Duration::from_millis(200));
            let now = watch.load(Ordering::Relaxed);
            eprintln!("progress: {now} started, {} mappings", map_count());
            if now >= n {
                return;
            }
            if now != last {
                (last, since) = (now, Instant::now());
            } else if since.elapsed() >= MAY_STALL {
                eprintln!(
                    "may: stalled, {now} of {n} started, none for {} s ({} mappings)",
                    MAY_STALL.as_secs(),
                    map_count()
                );
                std::process::exit(4);
            }
        }
    });
    let before = rss_kib();
    let s = started.clone();
    let spawned = may_inside(move || {
        let t = Instant::now();
        for i in 0..n {
            let s = s.clone();
            // SAFETY (may's contract): the body touches no thread-locals and
            // stays far inside its stack.
            let r = unsafe {
                may::coroutine::Builder::new().spawn(move || {
                    s.fetch_add(1, Ordering::Release);
                    may::coroutine::sleep(Duration::from_secs(3600));
                })
            };
            if let Err(e) = r {
                return Err(format!("spawn #{i} failed: {e}"));
            }
        }
        Ok(t.elapsed())
    });
    let spawn = match spawned {
        Ok(d) => d,
        Err(e) => {
            eprintln!("may: {e} (maps={})", map_count());
            std::process::exit(3);
        }
    };
    let settle = wait_started(&started, n);
    let after = rss_kib();
    // may has no runtime to shut down: the process just exits.
    report_parked(n, spawn, settle, before, after, map_count(), f64::NAN);
    std::process::exit(0);
}

// --------------------------------------------------------------- parent side

struct Case {
    case: &'static str,
    who: &'static str,
    workers: usize,
    /// Task count (parked cases; passed to the child as its fifth argument).
    n: usize,
    /// The child is killed after this long.
    timeout: Duration,
}

impl Case {
    fn new(case: &'static str, who: &'static str, workers: usize) -> Case {
        Case {
            case,
            who,
            workers,
            n: PARKED,
            timeout: CHILD_TIMEOUT,
        }
    }
}

/// Runs one child, killing it after its timeout; its `RESULT` pairs, or why
/// it failed (exit status and the last lines of its stderr).
fn run_child(c: &Case) -> Result<Vec<(String, f64)>, String> {
    use std::io::Read;
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new(exe)
        .args([
            "child",
            c.case,
            c.who,
            &c.workers.to_string(),
            &c.n.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let ro = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = so.read_to_string(&mut s);
        s
    });
    let re = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    let t = Instant::now();
    let (status, timed_out) = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break (st, false);
        }
        if t.elapsed() > c.timeout {
            let _ = child.kill(); // this child only, by its own handle
            break (child.wait().map_err(|e| e.to_string())?, true);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = ro.join().unwrap_or_default();
    let stderr = re.join().unwrap_or_default();
    let line = stdout.lines().find(|l| l.starts_with("RESULT "));
    match (status.success(), line) {
        (true, Some(line)) => Ok(line[7..]
            .split_whitespace()
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_string(), v.parse().unwrap())
            })
            .collect()),
        _ => {
            let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
            let tail = lines[lines.len().saturating_sub(2)..].join(" | ");
            let how = if timed_out {
                format!("killed after {} s", c.timeout.as_secs())
            } else {
                status.to_string()
            };
            Err(format!("{how}: {tail}"))
        }
    }
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

type Samples = std::collections::BTreeMap<String, Vec<f64>>;

/// Runs `cases` interleaved for `rounds` rounds; per case, its samples (key
/// -> values) or the first failure.
fn run_rounds(cases: &[Case], rounds: usize) -> Vec<Result<Samples, String>> {
    let mut res: Vec<Result<Samples, String>> = cases.iter().map(|_| Ok(Samples::new())).collect();
    for r in 0..rounds {
        eprint!("  round {}/{rounds}\r", r + 1);
        for (c, slot) in cases.iter().zip(res.iter_mut()) {
            let Ok(samples) = slot else { continue };
            match run_child(c) {
                Ok(kv) => {
                    for (k, v) in kv {
                        samples.entry(k).or_default().push(v);
                    }
                }
                Err(e) => *slot = Err(e),
            }
        }
    }
    eprintln!();
    res
}

fn med(r: &Result<Samples, String>, key: &str) -> Option<f64> {
    let s = r.as_ref().ok()?;
    let mut v = s.get(key)?.clone();
    Some(median(&mut v))
}

fn fmt(x: Option<f64>, unit: &str) -> String {
    match x {
        Some(x) if x.is_nan() => "n/a".into(),
        Some(x) if x >= 100.0 => format!("{x:.0} {unit}"),
        Some(x) => format!("{x:.1} {unit}"),
        None => "failed".into(),
    }
}

fn ratio(strands: Option<f64>, peer: Option<f64>) -> String {
    match (strands, peer) {
        (Some(s), Some(p)) if s.is_finite() && p.is_finite() && p > 0.0 => format!("{:.2}", s / p),
        _ => "-".into(),
    }
}

fn header(args: &str) {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "command: cargo run --release --manifest-path benches/peers/runtime/Cargo.toml {args}"
    );
    println!(
        "machine: {cpus} CPUs; strands backend {}; each figure a median over rounds, one fresh child process per sample",
        strands::BACKEND
    );
    println!(
        "stacks: strands {} KiB (default), may {} KiB (its default, {MAY_STACK_WORDS:#x} words); tokio tasks are stackless",
        strands::DEFAULT_STACK_SIZE / 1024,
        MAY_STACK_WORDS * std::mem::size_of::<usize>() / 1024
    );
}

fn parent(quick: bool) {
    // 1 + 2, interleaved.
    let mut cases = Vec::new();
    for w in [1, 2] {
        for who in ["strands", "tokio", "may", "thread"] {
            cases.push(Case::new("spawn", who, w));
        }
    }
    for who in ["strands", "tokio", "may"] {
        cases.push(Case::new("yield", who, 2));
    }
    eprintln!(
        "spawn+join and yield: {ROUNDS} rounds of {} cases",
        cases.len()
    );
    let res = run_rounds(&cases, ROUNDS);
    let find = |case: &str, who: &str, w: usize| {
        let i = cases
            .iter()
            .position(|c| c.case == case && c.who == who && c.workers == w)
            .unwrap();
        &res[i]
    };

    println!();
    println!(
        "1. spawn + join one empty task, sequentially from inside the runtime ({SPAWN_N} per sample; std::thread {SPAWN_N_THREAD})"
    );
    println!(
        "   {:<9} {:>11} {:>11} {:>11} {:>12}   {:>8} {:>8} {:>8}",
        "workers", "strands", "tokio", "may", "std::thread", "s/tokio", "s/may", "s/thread"
    );
    for w in [1, 2] {
        let s = med(find("spawn", "strands", w), "ns");
        let t = med(find("spawn", "tokio", w), "ns");
        let m = med(find("spawn", "may", w), "ns");
        let th = med(find("spawn", "thread", w), "ns");
        println!(
            "   {:<9} {:>11} {:>11} {:>11} {:>12}   {:>8} {:>8} {:>8}",
            w,
            fmt(s, "ns"),
            fmt(t, "ns"),
            fmt(m, "ns"),
            fmt(th, "ns"),
            ratio(s, t),
            ratio(s, m),
            ratio(s, th)
        );
    }
    println!("   (tokio: current_thread for 1, multi_thread(2) for 2; std::thread row 1 = process pinned to one CPU)");

    println!();
    println!("2. {YIELD_TASKS} tasks x {YIELDS_EACH} yields on 2 workers: wall (spawn..last join) / 1,000,000");
    let s = med(find("yield", "strands", 2), "ns");
    let t = med(find("yield", "tokio", 2), "ns");
    let m = med(find("yield", "may", 2), "ns");
    println!(
        "   {:>11} {:>11} {:>11}   {:>8} {:>8}",
        "strands", "tokio", "may", "s/tokio", "s/may"
    );
    println!(
        "   {:>11} {:>11} {:>11}   {:>8} {:>8}",
        fmt(s, "ns"),
        fmt(t, "ns"),
        fmt(m, "ns"),
        ratio(s, t),
        ratio(s, m)
    );

    // 3, each contender in its own child.
    parked_section(3, PARKED, PARKED_ROUNDS, CHILD_TIMEOUT);
    // 4, the same at a million tasks.
    if quick {
        println!();
        println!("4. {PARKED_BIG} parked tasks: skipped (--quick)");
    } else {
        parked_section(4, PARKED_BIG, PARKED_BIG_ROUNDS, CHILD_TIMEOUT_BIG);
    }
}

/// `n` tasks parked forever, strands vs tokio vs may: runs the children and
/// prints the table numbered `part`.
fn parked_section(part: usize, n: usize, rounds: usize, timeout: Duration) {
    let pcases: Vec<Case> = ["strands", "tokio", "may"]
        .into_iter()
        .map(|who| Case {
            n,
            timeout,
            ..Case::new("parked", who, 2)
        })
        .collect();
    eprintln!("parked x {n}: {rounds} round(s) of {} cases", pcases.len());
    let pres = run_rounds(&pcases, rounds);
    println!();
    let how = if rounds == 1 {
        "one round".to_string()
    } else {
        format!("medians of {rounds} rounds")
    };
    println!(
        "{part}. {n} tasks parked forever (sleep 3600 s), 2 workers, own child process each, {how}"
    );
    println!(
        "   {:<9} {:>12} {:>12} {:>12} {:>12} {:>8}",
        "", "spawn/task", "all started", "RSS/task", "shutdown", "maps"
    );
    for (c, r) in pcases.iter().zip(&pres) {
        match r {
            Ok(_) => println!(
                "   {:<9} {:>12} {:>12} {:>12} {:>12} {:>8}",
                c.who,
                fmt(med(r, "spawn_ns"), "ns"),
                fmt(med(r, "settle_ms"), "ms"),
                fmt(med(r, "rss_b"), "B"),
                fmt(med(r, "shutdown_ms"), "ms"),
                fmt(med(r, "maps"), "")
            ),
            Err(e) => println!("   {:<9} failed: {e}", c.who),
        }
    }
    let s = &pres[0];
    for (i, peer) in [(1, "tokio"), (2, "may")] {
        println!(
            "   strands/{peer}: spawn {}, RSS {}",
            ratio(med(s, "spawn_ns"), med(&pres[i], "spawn_ns")),
            ratio(med(s, "rss_b"), med(&pres[i], "rss_b"))
        );
    }
    println!("   (RSS/task = VmRSS growth from before the first spawn to all started, / {n};");
    println!("    shutdown: strands shutdown_timeout cancels them, tokio shutdown_timeout drops them, may has none)");
}

// ------------------------------------------------------- data for the plots

/// The measurements `benches/peers/plot` draws, as TSV rows
/// `chart<TAB>series<TAB>x<TAB>value` written to `path`: spawn + join on 1
/// and 2 workers; yields against the number of tasks sharing
/// `YIELD_TOTAL` yields; RSS per parked task against the number of parked
/// tasks. Medians over interleaved rounds of child processes, as in the
/// tables. `quick`: fewer rounds and counts.
fn plot_data(path: &str, quick: bool) {
    use std::fmt::Write;
    let rounds = if quick { 3 } else { ROUNDS };
    let mut tsv = String::new();
    let mut row = |chart: &str, series: &str, x: &str, v: Option<f64>| {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            writeln!(tsv, "{chart}\t{series}\t{x}\t{v}").unwrap();
        }
    };

    let mut cases = Vec::new();
    for w in [1, 2] {
        for who in ["strands", "tokio", "may", "thread"] {
            cases.push(Case::new("spawn", who, w));
        }
    }
    let counts: &[usize] = if quick {
        &[10, 100, 1_000, 10_000]
    } else {
        &[1, 10, 100, 1_000, 10_000, 100_000]
    };
    for &n in counts {
        for who in ["strands", "tokio", "may"] {
            cases.push(Case {
                n,
                ..Case::new("yieldn", who, 2)
            });
        }
    }
    eprintln!(
        "plot data: spawn+join and yields, {rounds} rounds of {} cases",
        cases.len()
    );
    let res = run_rounds(&cases, rounds);
    for (c, r) in cases.iter().zip(&res) {
        let who = if c.who == "thread" {
            "std::thread"
        } else {
            c.who
        };
        match c.case {
            "spawn" => row(
                "spawn_join",
                who,
                &format!(
                    "{} worker{}",
                    c.workers,
                    if c.workers == 1 { "" } else { "s" }
                ),
                med(r, "ns"),
            ),
            _ => row("yields", who, &c.n.to_string(), med(r, "ns")),
        }
        if let Err(e) = r {
            eprintln!("  {} {} {} failed: {e}", c.case, c.who, c.n);
        }
    }

    let parked: &[usize] = if quick {
        &[1_000, 10_000, 100_000]
    } else {
        &[1_000, 10_000, 100_000, 1_000_000]
    };
    let prounds = if quick { 1 } else { PARKED_ROUNDS };
    let mut pcases = Vec::new();
    for &n in parked {
        for who in ["strands", "tokio", "may"] {
            let timeout = if n > PARKED {
                CHILD_TIMEOUT_BIG
            } else {
                CHILD_TIMEOUT
            };
            pcases.push(Case {
                n,
                timeout,
                ..Case::new("parked", who, 2)
            });
        }
    }
    eprintln!(
        "plot data: parked tasks, {prounds} round(s) of {} cases",
        pcases.len()
    );
    let pres = run_rounds(&pcases, prounds);
    for (c, r) in pcases.iter().zip(&pres) {
        row("parked_rss", c.who, &c.n.to_string(), med(r, "rss_b"));
        if let Err(e) = r {
            eprintln!("  parked {} {} failed: {e}", c.who, c.n);
        }
    }
    std::fs::write(path, tsv).unwrap_or_else(|e| panic!("{path}: {e}"));
    eprintln!("wrote {path}");
}
