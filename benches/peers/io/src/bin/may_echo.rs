//! A may echo server: `--port N --workers N`.
#[path = "../args.rs"]
mod args;
use std::io::{Read, Write};

fn main() {
    let (port, workers) = args::args();
    may::config().set_workers(workers);
    let l = may::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    args::announce(l.local_addr().unwrap().port());
    for s in l.incoming() {
        let Ok(mut s) = s else { continue };
        let _ = s.set_nodelay(true);
        // SAFETY: the coroutine keeps no thread-local state across blocking
        // calls (may's contract for `go!`).
        may::go!(move || {
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
        });
    }
}
