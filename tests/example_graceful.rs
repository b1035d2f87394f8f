//! `examples/graceful`: on SIGINT it stops accepting, lets the open
//! connection finish, and exits cleanly. Runs the example's binary (built
//! by `cargo test` with the tests) in a child process.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::Duration;

mod common;

/// Kills the child if the test fails before it exits.
struct Reap(Child);
impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn echo(s: &mut TcpStream, msg: &[u8]) {
    s.write_all(msg).unwrap();
    let mut got = vec![0u8; msg.len()];
    s.read_exact(&mut got).unwrap();
    assert_eq!(got, msg);
}

#[test]
fn sigint_stops_accepting_and_lets_the_open_connection_finish() {
    let mut cmd = common::example("graceful");
    let child = cmd
        .args(["--port", "0", "--grace", "60"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Reap(child);
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let port: u16 = line
        .strip_prefix("LISTENING ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("expected LISTENING <port>, got {line:?}"));

    let mut open = TcpStream::connect(("127.0.0.1", port)).unwrap();
    open.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    echo(&mut open, b"before");

    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.0.id() as i32, libc::SIGINT) }, 0);
    line.clear();
    out.read_line(&mut line).unwrap();
    assert!(
        line.starts_with("SHUTDOWN: signal 2, 1 connections open"),
        "{line:?}"
    );
    // the listener is gone: new connections are refused
    let refused = TcpStream::connect(("127.0.0.1", port));
    assert!(refused.is_err(), "a connection after shutdown was accepted");
    // the open one is still served
    echo(&mut open, b"after");
    drop(open); // the server sees end-of-file, and nothing is left open
    line.clear();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "BYE (0 connections cut)");
    let status = child.0.wait().unwrap();
    assert!(status.success(), "{status}");
}
