//! A load generator for echo servers: N connections, each making M round
//! trips of 64 bytes (write, then read the echo back), all at once.
//!
//! ```text
//! cargo run --release --example echo_load -- --port 7000 --conns 100 --rounds 2000
//! ```
//!
//! Runs on 2 worker threads (`--workers`), one strand per connection.
//! Connects every connection first, then starts the clock. Prints one line:
//!
//! ```text
//! conns=100 rounds=2000 round_trips=200000 secs=1.234 rt_per_sec=162000 p50_us=590 p99_us=1400
//! ```
//!
//! Options: `--host` (default 127.0.0.1), `--port` (required), `--conns`
//! (default 100), `--rounds` (default 1000), `--workers` (default 2).

use std::io::{Read, Write};
use std::time::Instant;
use strands::net::TcpStream;

fn main() {
    let mut host = "127.0.0.1".to_string();
    let (mut port, mut conns, mut rounds, mut workers) = (0u16, 100usize, 1000usize, 2usize);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let v = it.next().unwrap_or_default();
        match a.as_str() {
            "--host" => host = v,
            "--port" => port = v.parse().expect("--port N"),
            "--conns" => conns = v.parse().expect("--conns N"),
            "--rounds" => rounds = v.parse().expect("--rounds N"),
            "--workers" => workers = v.parse().expect("--workers N"),
            _ => panic!(
                "usage: echo_load --port N [--conns N] [--rounds N] [--workers N] [--host H]"
            ),
        }
    }
    assert!(port != 0, "--port is required");
    let rt = strands::Runtime::builder()
        .workers(workers)
        .build()
        .expect("runtime");
    let (secs, mut lat) = rt.block_on(|| {
        let streams: Vec<TcpStream> = (0..conns)
            .map(|_| {
                let s = TcpStream::connect((host.as_str(), port)).expect("connect");
                s.set_nodelay(true).unwrap();
                s
            })
            .collect();
        let start = Instant::now();
        let handles: Vec<_> = streams
            .into_iter()
            .map(|mut s| {
                strands::spawn(move || {
                    let msg = [7u8; 64];
                    let mut back = [0u8; 64];
                    let mut lat = Vec::with_capacity(rounds);
                    for _ in 0..rounds {
                        let t = Instant::now();
                        s.write_all(&msg).expect("write");
                        s.read_exact(&mut back).expect("read");
                        lat.push(t.elapsed().as_nanos() as u64);
                    }
                    lat
                })
            })
            .collect();
        let mut all = Vec::with_capacity(conns * rounds);
        for h in handles {
            all.extend(h.join().expect("a client failed"));
        }
        (start.elapsed().as_secs_f64(), all)
    });
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)] / 1000;
    let total = conns * rounds;
    println!(
        "conns={conns} rounds={rounds} round_trips={total} secs={secs:.3} rt_per_sec={:.0} p50_us={} p99_us={}",
        total as f64 / secs,
        pct(0.50),
        pct(0.99)
    );
}
