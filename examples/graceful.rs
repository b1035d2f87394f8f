//! An echo server that shuts down gracefully on Ctrl-C (or `SIGTERM`):
//! it stops accepting, lets the open connections finish (at most
//! `--grace` seconds, default 5), then exits.
//!
//! ```text
//! cargo run --release --example graceful -- --port 7000
//! ```
//!
//! Prints `LISTENING <port>` once ready, and on a signal
//! `SHUTDOWN: <n> connections open`, then `BYE` when done.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use strands::net::TcpListener;
use strands::signal::{Signals, SIGINT, SIGTERM};

fn main() {
    let (mut port, mut grace) = (0u16, 5u64);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let v = it.next().unwrap_or_default();
        match a.as_str() {
            "--port" => port = v.parse().expect("--port N"),
            "--grace" => grace = v.parse().expect("--grace SECS"),
            _ => panic!("usage: graceful [--port N] [--grace SECS]"),
        }
    }
    strands::run(move || {
        // catch the signals before announcing the port
        let mut signals = Signals::new([SIGINT, SIGTERM]).expect("signals");
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind");
        println!("LISTENING {}", listener.local_addr().unwrap().port());
        std::io::stdout().flush().unwrap();
        let open = Arc::new(AtomicUsize::new(0));
        let conns = Arc::clone(&open);
        let acceptor = strands::spawn(move || {
            for s in listener.incoming() {
                let Ok(mut s) = s else { continue };
                let open = Arc::clone(&conns);
                open.fetch_add(1, Ordering::SeqCst);
                strands::spawn(move || {
                    let mut buf = [0u8; 4096];
                    while let Ok(n @ 1..) = s.read(&mut buf) {
                        if s.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        let sig = signals.wait().expect("signal");
        // stop accepting: the acceptor unwinds out of `accept` and drops
        // the listener, so new connects are refused from here on
        acceptor.cancel();
        let _ = acceptor.join();
        println!(
            "SHUTDOWN: signal {sig}, {} connections open",
            open.load(Ordering::SeqCst)
        );
        let deadline = Instant::now() + Duration::from_secs(grace);
        while open.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            strands::sleep(Duration::from_millis(10));
        }
        println!("BYE ({} connections cut)", open.load(Ordering::SeqCst));
        // leaving `run` shuts the runtime down, cancelling what is left
    });
}
