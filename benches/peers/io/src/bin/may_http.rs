//! A may HTTP/1.1 keep-alive hello server: `--port N --workers N`.
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
        // SAFETY: as in may_echo.
        may::go!(move || {
            let mut buf = vec![0u8; 8192];
            let mut out = Vec::with_capacity(4096);
            let mut filled = 0;
            loop {
                match s.read(&mut buf[filled..]) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => filled += n,
                }
                let (n, used) = args::requests(&buf[..filled]);
                for _ in 0..n {
                    out.extend_from_slice(args::RESPONSE);
                }
                if !out.is_empty() {
                    if s.write_all(&out).is_err() {
                        return;
                    }
                    out.clear();
                }
                buf.copy_within(used..filled, 0);
                filled -= used;
            }
        });
    }
}
