//! Runs the peers harnesses and draws their measurements as SVG plots.
//!
//! ```text
//! cargo run --release --manifest-path benches/peers/plot/Cargo.toml -- [--quick] [--out docs/img] [--data DIR] [--no-measure]
//! ```
//!
//! 1. builds strands' `echo`, `echo_load` and `http` examples (the I/O
//!    harness drives them);
//! 2. runs `benches/peers` (raw switch, create+run+drop) with `--tsv`,
//!    `benches/peers/runtime` with `plot-data` (spawn + join; yields against
//!    the number of tasks; RSS per parked task against their number) and
//!    `benches/peers/io` with `--tsv` (echo round trips/s and p99 at 100 and
//!    1,000 connections; HTTP with `wrk`, if installed), each writing
//!    `chart<TAB>series<TAB>x<TAB>value` rows into the data directory
//!    (`benches/peers/plot/target/data` by default);
//! 3. draws every chart found in the data as `<chart>.svg` in the output
//!    directory (`docs/img` by default), the median of repeated rows.
//!
//! `--quick` runs fewer rounds, task counts and load (about two minutes of
//! measuring on a 2-CPU machine, plus the first build); `--no-measure`
//! only draws what the data directory already holds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

mod svg;

use svg::{Chart, Kind, Series};

/// How each chart is drawn: file stem, title, y label, log y, and for
/// lines the x label (`None`: grouped bars).
struct Spec {
    chart: &'static str,
    title: &'static str,
    subtitle: &'static str,
    y_label: &'static str,
    log_y: bool,
    log_x: Option<&'static str>,
}

const SPECS: &[Spec] = &[
    Spec {
        chart: "switch",
        title: "Raw context operations",
        subtitle: "benches/peers: ns per operation, median of 21 interleaved samples (lower is better)",
        y_label: "ns per operation (log)",
        log_y: true,
        log_x: None,
    },
    Spec {
        chart: "spawn_join",
        title: "Spawn + join one empty task, sequentially",
        subtitle: "benches/peers/runtime: ns per spawn+join, medians of child processes (lower is better)",
        y_label: "ns per spawn + join (log)",
        log_y: true,
        log_x: None,
    },
    Spec {
        chart: "yields",
        title: "Yields against the number of tasks (2 workers)",
        subtitle: "benches/peers/runtime: 1,000,000 yields shared by N tasks, wall time incl. spawns / yields",
        y_label: "ns per yield",
        log_y: false,
        log_x: Some("tasks sharing the yields"),
    },
    Spec {
        chart: "parked_rss",
        title: "Memory per parked task against their number (2 workers)",
        subtitle: "benches/peers/runtime: VmRSS growth / N, tasks sleeping for an hour",
        y_label: "bytes of RSS per parked task",
        log_y: false,
        log_x: Some("parked tasks"),
    },
    Spec {
        chart: "echo_rps",
        title: "TCP echo throughput",
        subtitle: "benches/peers/io: 64-byte round trips/s, load from examples/echo_load (higher is better)",
        y_label: "round trips per second",
        log_y: false,
        log_x: None,
    },
    Spec {
        chart: "echo_p99",
        title: "TCP echo p99 latency",
        subtitle: "benches/peers/io: 99th percentile round trip, microseconds (lower is better)",
        y_label: "p99 round trip (us)",
        log_y: false,
        log_x: None,
    },
    Spec {
        chart: "http_rps",
        title: "HTTP hello throughput",
        subtitle: "benches/peers/io: wrk -t2 -c100, requests/s (higher is better)",
        y_label: "requests per second",
        log_y: false,
        log_x: None,
    },
    Spec {
        chart: "http_p99",
        title: "HTTP hello p99 latency",
        subtitle: "benches/peers/io: wrk -t2 -c100 --latency, 99th percentile, ms (lower is better)",
        y_label: "p99 latency (ms)",
        log_y: false,
        log_x: None,
    },
];

fn run(cmd: &mut Command) {
    eprintln!("+ {cmd:?}");
    let st = cmd.status().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(st.success(), "{cmd:?}: {st}");
}

fn measure(root: &Path, data: &Path, quick: bool) {
    std::fs::create_dir_all(data).unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = |rel: &str| root.join(rel).join("Cargo.toml");
    run(Command::new(&cargo).current_dir(root).args([
        "build",
        "--release",
        "--example",
        "echo",
        "--example",
        "echo_load",
        "--example",
        "http",
    ]));
    run(Command::new(&cargo)
        .args(["run", "--release", "--manifest-path"])
        .arg(manifest("benches/peers"))
        .arg("--")
        .arg("--tsv")
        .arg(data.join("switch.tsv")));
    let mut rt = Command::new(&cargo);
    rt.args(["run", "--release", "--manifest-path"])
        .arg(manifest("benches/peers/runtime"))
        .args(["--bin", "strands-peers-runtime", "--", "plot-data"]);
    if quick {
        rt.arg("--quick");
    }
    run(rt.arg(data.join("runtime.tsv")));
    // The I/O harness runs its own server binaries (built here with it) and
    // finds strands' examples relative to its own directory.
    let io = root.join("benches/peers/io");
    run(Command::new(&cargo)
        .current_dir(&io)
        .args(["build", "--release", "--bins"]));
    let (runs, total, wrk) = if quick {
        ("1", "50000", "3")
    } else {
        ("3", "200000", "10")
    };
    run(Command::new(io.join("target/release/strands-peers-io"))
        .current_dir(&io)
        .args([
            "--conns",
            "100,1000",
            "--runs",
            runs,
            "--rounds-total",
            total,
            "--wrk-secs",
            wrk,
        ])
        .arg("--tsv")
        .arg(data.join("io.tsv")));
}

/// One series: its name and, per x (in first-seen order), its values.
type SeriesData = (String, Vec<(String, Vec<f64>)>);
/// chart -> its series, in first-seen order.
type Data = BTreeMap<String, Vec<SeriesData>>;

fn load(data: &Path) -> Data {
    let mut out = Data::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(data)
        .unwrap_or_else(|e| panic!("{}: {e}", data.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
        .collect();
    files.sort();
    for f in files {
        for line in std::fs::read_to_string(&f).unwrap().lines() {
            let cols: Vec<&str> = line.split('\t').collect();
            let [chart, series, x, v] = cols[..] else {
                continue;
            };
            let Ok(v) = v.parse::<f64>() else { continue };
            let series_list = out.entry(chart.to_string()).or_default();
            let si = match series_list.iter().position(|(s, _)| s == series) {
                Some(i) => i,
                None => {
                    series_list.push((series.to_string(), Vec::new()));
                    series_list.len() - 1
                }
            };
            let xs = &mut series_list[si].1;
            match xs.iter_mut().find(|(xx, _)| xx == x) {
                Some((_, vals)) => vals.push(v),
                None => xs.push((x.to_string(), vec![v])),
            }
        }
    }
    out
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn chart(spec: &Spec, series: &[SeriesData]) -> Chart {
    // strands first, the peers after it in first-seen order
    let mut order: Vec<usize> = (0..series.len()).collect();
    order.sort_by_key(|&i| !series[i].0.starts_with("strands"));
    let kind = match spec.log_x {
        Some(label) => Kind::LogXLines(label.to_string()),
        None => {
            let mut groups: Vec<String> = Vec::new();
            for (_, xs) in series {
                for (x, _) in xs {
                    if !groups.contains(x) {
                        groups.push(x.clone());
                    }
                }
            }
            Kind::Bars(groups)
        }
    };
    let series = order
        .into_iter()
        .map(|i| {
            let (name, xs) = &series[i];
            let points = xs
                .iter()
                .map(|(x, vals)| {
                    let xv = match &kind {
                        Kind::Bars(groups) => groups.iter().position(|g| g == x).unwrap() as f64,
                        Kind::LogXLines(_) => x.parse().unwrap_or(f64::NAN),
                    };
                    (xv, median(vals))
                })
                .collect();
            Series {
                name: name.clone(),
                points,
            }
        })
        .collect();
    Chart {
        title: spec.title.to_string(),
        subtitle: spec.subtitle.to_string(),
        y_label: spec.y_label.to_string(),
        log_y: spec.log_y,
        kind,
        series,
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let root = root.canonicalize().unwrap_or(root);
    let mut quick = false;
    let mut measure_first = true;
    let mut out = root.join("docs/img");
    let mut data = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/data");
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--no-measure" => measure_first = false,
            "--out" => out = PathBuf::from(it.next().expect("--out DIR")),
            "--data" => data = PathBuf::from(it.next().expect("--data DIR")),
            _ => panic!("unknown option {a}; see the top of benches/peers/plot/src/main.rs"),
        }
    }
    if measure_first {
        measure(&root, &data, quick);
    }
    let all = load(&data);
    std::fs::create_dir_all(&out).unwrap();
    for spec in SPECS {
        let Some(series) = all.get(spec.chart) else {
            eprintln!("no data for {}: skipped", spec.chart);
            continue;
        };
        let path = out.join(format!("{}.svg", spec.chart));
        std::fs::write(&path, svg::render(&chart(spec, series))).unwrap();
        eprintln!("wrote {}", path.display());
    }
}
