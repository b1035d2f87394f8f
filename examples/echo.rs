//! An echo server: every connection is served by its own strand, written
//! as plain blocking code.
//!
//! ```text
//! cargo run --release --example echo -- --port 7000 --workers 2
//! ```
//!
//! Listens on 127.0.0.1 (`--port 0`, the default, picks a free port),
//! prints `LISTENING <port>` on stdout once ready, and echoes whatever each
//! connection sends until it closes. `--workers N` sets the runtime's
//! worker threads (default: one per core).

use std::io::{Read, Write};
use std::net::Shutdown;
use strands::net::{TcpListener, TcpStream};

fn main() {
    let (port, workers) = args();
    let mut b = strands::Runtime::builder();
    if let Some(w) = workers {
        b = b.workers(w);
    }
    let rt = b.build().expect("cannot start the runtime");
    rt.block_on(|| {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind");
        println!("LISTENING {}", listener.local_addr().unwrap().port());
        std::io::stdout().flush().unwrap();
        for stream in listener.incoming() {
            match stream {
                Ok(s) => {
                    strands::spawn(move || serve(s));
                }
                Err(e) => eprintln!("accept: {e}"), // EMFILE and the like: keep going
            }
        }
    });
}

fn serve(mut s: TcpStream) {
    let _ = s.set_nodelay(true);
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if s.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = s.shutdown(Shutdown::Both);
}

/// `--port N` (default 0) and `--workers N`.
fn args() -> (u16, Option<usize>) {
    let (mut port, mut workers) = (0, None);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let v = it.next().unwrap_or_default();
        match a.as_str() {
            "--port" => port = v.parse().expect("--port N"),
            "--workers" => workers = Some(v.parse().expect("--workers N")),
            _ => panic!("usage: echo [--port N] [--workers N]"),
        }
    }
    (port, workers)
}
