//! Shared by the echo and http binaries; each uses part.
#![allow(dead_code)]
/// `--port N` (default 0) and `--workers N` (default 2; for tokio, 1 means
/// the current-thread runtime).
pub fn args() -> (u16, usize) {
    let (mut port, mut workers) = (0, 2);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let v = it.next().unwrap_or_default();
        match a.as_str() {
            "--port" => port = v.parse().expect("--port N"),
            "--workers" => workers = v.parse().expect("--workers N"),
            _ => panic!("usage: [--port N] [--workers N]"),
        }
    }
    (port, workers)
}

/// Prints `LISTENING <port>` for the runner, at once.
pub fn announce(port: u16) {
    use std::io::Write;
    println!("LISTENING {port}");
    std::io::stdout().flush().unwrap();
}

/// A tokio runtime with `workers` threads (1: the current-thread runtime).
pub fn tokio_runtime(workers: usize) -> tokio::runtime::Runtime {
    if workers == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_io()
            .build()
    }
    .unwrap()
}

pub const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nServer: peer\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!";

/// Counts the complete requests at the front of `buf` (same parsing as
/// strands' `examples/http.rs`, minus the header checks); returns
/// (requests, bytes consumed).
pub fn requests(buf: &[u8]) -> (usize, usize) {
    let (mut n, mut start) = (0, 0);
    while let Some(end) = buf[start..].windows(4).position(|w| w == b"\r\n\r\n") {
        n += 1;
        start += end + 4;
    }
    (n, start)
}
