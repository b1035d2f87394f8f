//! Runs every echo server (strands' `examples/echo`, tokio with 2 workers
//! and current-thread, may with 2 workers) in turn, each as a child
//! process, and drives each with strands' `examples/echo_load` at every
//! connection count asked for; then `wrk` against every HTTP server if
//! `wrk` is installed. Prints one table per benchmark.
//!
//! ```text
//! cargo build --release --examples            # in the strands crate
//! cd benches/peers/io && cargo run --release -- [--rounds-total 200000] [--conns 100,1000] [--runs 3] [--wrk-secs 10]
//! ```

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Server {
    name: &'static str,
    exe: String,
    args: Vec<&'static str>,
}

fn start(s: &Server) -> (Child, u16) {
    let mut child = Command::new(&s.exe)
        .args(&s.args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", s.exe));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .strip_prefix("LISTENING ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("{}: no LISTENING line: {line:?}", s.name));
    (child, port)
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
        .unwrap_or("?")
}

fn main() {
    let mut total = 200_000usize;
    let mut conns = vec![100usize, 1000];
    let mut runs = 3;
    let mut wrk_secs = 10;
    // `--tsv <file>`: every run's figures as rows `chart<TAB>series<TAB>x<TAB>value`
    // for `benches/peers/plot` (which takes the median of repeated rows).
    let mut tsv_path: Option<String> = None;
    let mut tsv = String::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let v = it.next().unwrap_or_default();
        match a.as_str() {
            "--rounds-total" => total = v.parse().unwrap(),
            "--conns" => conns = v.split(',').map(|c| c.parse().unwrap()).collect(),
            "--runs" => runs = v.parse().unwrap(),
            "--wrk-secs" => wrk_secs = v.parse().unwrap(),
            "--tsv" => tsv_path = Some(v),
            _ => panic!("unknown option {a}"),
        }
    }
    let here = env!("CARGO_MANIFEST_DIR");
    let strands_ex = format!("{here}/../../../target/release/examples");
    let own = format!("{here}/target/release");
    let echo = [
        Server {
            name: "strands 2 workers",
            exe: format!("{strands_ex}/echo"),
            args: vec!["--workers", "2"],
        },
        Server {
            name: "tokio 2 workers",
            exe: format!("{own}/tokio_echo"),
            args: vec!["--workers", "2"],
        },
        Server {
            name: "tokio current-thread",
            exe: format!("{own}/tokio_echo"),
            args: vec!["--workers", "1"],
        },
        Server {
            name: "may 2 workers",
            exe: format!("{own}/may_echo"),
            args: vec!["--workers", "2"],
        },
    ];
    let load = format!("{strands_ex}/echo_load");
    println!("echo: 64-byte round trips, load generator examples/echo_load (2 workers), {runs} runs each, interleaved");
    println!(
        "{:<22} {:>6} {:>12} {:>9} {:>9}",
        "server", "conns", "rt/s", "p50 us", "p99 us"
    );
    for &c in &conns {
        for run in 0..runs {
            for s in &echo {
                let (mut child, port) = start(s);
                let out = Command::new(&load)
                    .args(["--port", &port.to_string(), "--conns", &c.to_string()])
                    .args(["--rounds", &(total / c).to_string()])
                    .output()
                    .expect("echo_load");
                let line = String::from_utf8_lossy(&out.stdout).to_string();
                let _ = child.kill();
                let _ = child.wait();
                for (chart, key) in [("echo_rps", "rt_per_sec"), ("echo_p99", "p99_us")] {
                    if let Ok(v) = field(&line, key).parse::<f64>() {
                        tsv += &format!("{chart}\t{}\t{c} conns\t{v}\n", s.name);
                    }
                }
                println!(
                    "{:<22} {:>6} {:>12} {:>9} {:>9}   (run {})",
                    s.name,
                    c,
                    field(&line, "rt_per_sec"),
                    field(&line, "p50_us"),
                    field(&line, "p99_us"),
                    run + 1
                );
            }
        }
    }
    let write_tsv = |tsv: &str| {
        if let Some(p) = &tsv_path {
            std::fs::write(p, tsv).unwrap_or_else(|e| panic!("{p}: {e}"));
            eprintln!("wrote {p}");
        }
    };
    if Command::new("wrk").arg("--version").output().is_err() {
        println!("wrk not installed: skipping the HTTP table");
        write_tsv(&tsv);
        return;
    }
    let http = [
        Server {
            name: "strands 2 workers",
            exe: format!("{strands_ex}/http"),
            args: vec!["--workers", "2"],
        },
        Server {
            name: "tokio 2 workers",
            exe: format!("{own}/tokio_http"),
            args: vec!["--workers", "2"],
        },
        Server {
            name: "tokio current-thread",
            exe: format!("{own}/tokio_http"),
            args: vec!["--workers", "1"],
        },
        Server {
            name: "may 2 workers",
            exe: format!("{own}/may_http"),
            args: vec!["--workers", "2"],
        },
    ];
    println!("\nhttp hello: wrk -t2 -c100 -d{wrk_secs}s, {runs} runs each, interleaved");
    println!("{:<22} {:>12} {:>12}", "server", "req/s", "p99 latency");
    for run in 0..runs {
        for s in &http {
            let (mut child, port) = start(s);
            let out = Command::new("wrk")
                .args(["-t2", "-c100", &format!("-d{wrk_secs}s"), "--latency"])
                .arg(format!("http://127.0.0.1:{port}/"))
                .output()
                .expect("wrk");
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            let _ = child.kill();
            let _ = child.wait();
            let rps = text
                .lines()
                .find_map(|l| l.strip_prefix("Requests/sec:"))
                .map(|v| v.trim().to_string())
                .unwrap_or_else(|| "?".into());
            let p99 = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("99%"))
                .map(|v| v.trim().to_string())
                .unwrap_or_else(|| "?".into());
            if let Ok(v) = rps.parse::<f64>() {
                tsv += &format!("http_rps\t{}\twrk -c100\t{v}\n", s.name);
            }
            if let Some(ms) = wrk_ms(&p99) {
                tsv += &format!("http_p99\t{}\twrk -c100\t{ms}\n", s.name);
            }
            println!("{:<22} {:>12} {:>12}   (run {})", s.name, rps, p99, run + 1);
        }
    }
    write_tsv(&tsv);
}

/// A wrk latency ("950.00us", "3.27ms", "1.02s") in milliseconds.
fn wrk_ms(s: &str) -> Option<f64> {
    let (num, scale) = if let Some(n) = s.strip_suffix("us") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1e3)
    } else {
        return None;
    };
    num.parse::<f64>().ok().map(|v| v * scale)
}
