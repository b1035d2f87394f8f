//! A minimal HTTP/1.1 "hello" server with keep-alive (and pipelining),
//! one strand per connection, that `wrk` can drive.
//!
//! ```text
//! cargo run --release --example http -- --port 8080 --workers 2
//! wrk -t2 -c100 -d10s http://127.0.0.1:8080/
//! ```
//!
//! Listens on 127.0.0.1 (`--port 0`, the default, picks a free port) and
//! prints `LISTENING <port>` on stdout once ready. Every request, whatever
//! its path, gets `200 OK` and `Hello, world!`. Request bodies are not
//! supported (a request with a `Content-Length` other than 0 closes the
//! connection); `Connection: close` is honoured.

use std::io::{Read, Write};
use strands::net::{TcpListener, TcpStream};

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nServer: strands\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!";

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
                Err(e) => eprintln!("accept: {e}"),
            }
        }
    });
}

fn serve(mut s: TcpStream) {
    let _ = s.set_nodelay(true);
    let mut buf = vec![0u8; 8192];
    let mut out = Vec::with_capacity(4096);
    let mut filled = 0;
    loop {
        match s.read(&mut buf[filled..]) {
            Ok(0) | Err(_) => return,
            Ok(n) => filled += n,
        }
        // answer every complete request in the buffer (pipelining)
        let mut start = 0;
        let mut close = false;
        while let Some(end) = find(&buf[start..filled], b"\r\n\r\n") {
            let head = &buf[start..start + end];
            match request_close(head) {
                Some(c) => close = c,
                None => return, // a body, or garbage
            }
            out.extend_from_slice(RESPONSE);
            start += end + 4;
            if close {
                break;
            }
        }
        if !out.is_empty() {
            if s.write_all(&out).is_err() {
                return;
            }
            out.clear();
        }
        if close {
            return;
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        if filled == buf.len() {
            return; // a header bigger than the buffer
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Whether the request asks to close the connection; `None` if it carries
/// a body (not supported).
fn request_close(head: &[u8]) -> Option<bool> {
    let mut close = false;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"connection") && value.eq_ignore_ascii_case(b"close") {
            close = true;
        }
        if name.eq_ignore_ascii_case(b"content-length") && value != b"0" {
            return None;
        }
        if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return None;
        }
    }
    Some(close)
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
            _ => panic!("usage: http [--port N] [--workers N]"),
        }
    }
    (port, workers)
}
