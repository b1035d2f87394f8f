//! Section 6: skynet, a 10-ary tree of 1,111,111 tasks (each leaf returns
//! its number, each inner task spawns its ten children and sums what they
//! return), on 1 and 2 workers: strands and tokio (spawn + join), and Go
//! (goroutines and a channel per inner goroutine, the benchmark's
//! original form) when `go` is on the PATH. Each child process runs the
//! tree `TREES` times and reports the best time and its peak RSS (VmHWM);
//! the parent interleaves the contenders over `ROUNDS` rounds and prints
//! medians.
//!
//! may is left out: it starts every coroutine of the tree before the first
//! finishes, and its two mappings per stack stop it near 32,700 coroutines
//! under `vm.max_map_count = 65530` (see part 3).

use crate::{fmt, med, ratio, report, run_rounds, Case};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::Command;
use std::time::{Duration, Instant};

const TREES: usize = 3;
const ROUNDS: usize = 3;
const LEAVES: u64 = 1_000_000;
const SUM: u64 = LEAVES * (LEAVES - 1) / 2;

fn peak_kib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_string();
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(f64::NAN)
}

fn best_of(mut tree: impl FnMut() -> u64) -> f64 {
    (0..TREES)
        .map(|_| {
            let t = Instant::now();
            assert_eq!(tree(), SUM);
            t.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::INFINITY, f64::min)
}

fn strands_tree(num: u64, size: u64) -> u64 {
    if size == 1 {
        return num;
    }
    let step = size / 10;
    let hs: Vec<_> = (0..10)
        .map(|i| strands::spawn(move || strands_tree(num + i * step, step)))
        .collect();
    hs.into_iter().map(|h| h.join().unwrap()).sum()
}

fn tokio_tree(num: u64, size: u64) -> Pin<Box<dyn Future<Output = u64> + Send>> {
    Box::pin(async move {
        if size == 1 {
            return num;
        }
        let step = size / 10;
        let hs: Vec<_> = (0..10)
            .map(|i| tokio::spawn(tokio_tree(num + i * step, step)))
            .collect();
        let mut sum = 0;
        for h in hs {
            sum += h.await.unwrap();
        }
        sum
    })
}

/// Where the parent builds the Go program.
fn go_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.with_file_name("skynet-go")
}

pub(crate) fn child(who: &str, workers: usize) {
    let ms = match who {
        "strands" => {
            let rt = crate::strands_rt(workers);
            rt.block_on(|| best_of(|| strands_tree(0, LEAVES)))
        }
        "tokio" => {
            let rt = crate::tokio_rt(workers);
            crate::tokio_inside(&rt, async {
                let mut best = f64::INFINITY;
                for _ in 0..TREES {
                    let t = Instant::now();
                    assert_eq!(tokio_tree(0, LEAVES).await, SUM);
                    best = best.min(t.elapsed().as_secs_f64() * 1e3);
                }
                best
            })
        }
        "go" => {
            let out = Command::new(go_binary())
                .arg(TREES.to_string())
                .env("GOMAXPROCS", workers.to_string())
                .output()
                .expect("the Go skynet binary");
            assert!(out.status.success(), "go skynet: {}", out.status);
            print!("{}", String::from_utf8_lossy(&out.stdout));
            return;
        }
        _ => panic!("unknown skynet contender {who}"),
    };
    report(&[("ms", ms), ("peak_kib", peak_kib())]);
}

/// Builds the Go program; whether it could.
fn build_go() -> bool {
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/go/skynet.go");
    Command::new("go")
        .args(["build", "-o"])
        .arg(go_binary())
        .arg(src)
        .env("GO111MODULE", "off")
        .env(
            "GOCACHE",
            std::env::temp_dir().join("strands-peers-gocache"),
        )
        .status()
        .is_ok_and(|s| s.success())
}

pub(crate) fn parent_section() {
    let go = build_go();
    let whos: &[&'static str] = if go {
        &["strands", "tokio", "go"]
    } else {
        &["strands", "tokio"]
    };
    let mut cases = Vec::new();
    for w in [1, 2] {
        for &who in whos {
            let mut c = Case::new("skynet", who, w);
            c.timeout = Duration::from_secs(60);
            cases.push(c);
        }
    }
    eprintln!("skynet: {ROUNDS} rounds of {} cases", cases.len());
    let res = run_rounds(&cases, ROUNDS);
    let get = |who: &str, w: usize, key: &str| {
        cases
            .iter()
            .position(|c| c.who == who && c.workers == w)
            .and_then(|i| med(&res[i], key))
    };
    println!();
    println!(
        "6. skynet: 1,111,111 tasks in a 10-ary tree, best of {TREES} trees per child, medians of {ROUNDS} rounds{}",
        if go { "" } else { " (Go: `go` not on the PATH)" }
    );
    println!(
        "   {:<8} {:>10} {:>10} {:>10}   {:>12} {:>12} {:>12}   {:>7} {:>7}",
        "workers",
        "strands",
        "tokio",
        "go",
        "strands RSS",
        "tokio RSS",
        "go RSS",
        "s/tokio",
        "s/go"
    );
    for w in [1, 2] {
        let (s, t, g) = (
            get("strands", w, "ms"),
            get("tokio", w, "ms"),
            get("go", w, "ms"),
        );
        let mib = |who| get(who, w, "peak_kib").map(|k| k / 1024.0);
        println!(
            "   {:<8} {:>10} {:>10} {:>10}   {:>12} {:>12} {:>12}   {:>7} {:>7}",
            w,
            fmt(s, "ms"),
            fmt(t, "ms"),
            if go { fmt(g, "ms") } else { "n/a".into() },
            fmt(mib("strands"), "MiB"),
            fmt(mib("tokio"), "MiB"),
            if go {
                fmt(mib("go"), "MiB")
            } else {
                "n/a".into()
            },
            ratio(s, t),
            ratio(s, g),
        );
    }
    for who in whos {
        let (one, two) = (get(who, 1, "ms"), get(who, 2, "ms"));
        println!("   {who}: 2 workers / 1 worker = {}", ratio(two, one));
    }
}
