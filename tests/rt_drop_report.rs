//! Dropping a runtime while a strand sits in a std blocking call waits for
//! it (it cannot be interrupted), but after a second says on stderr, once,
//! which strand it waits for and where it was spawned.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::Stdio;

const CHILD_ENV: &str = "STRANDS_TEST_DROP_REPORT_CHILD";

/// The child: a strand named `blocked-reader` reads a std socket (blocking
/// its worker); the runtime is dropped; a thread unblocks the read when the
/// parent writes a line to stdin, so the drop then returns.
#[test]
fn drop_report_child() {
    if std::env::var(CHILD_ENV).is_err() {
        return;
    }
    let (mut a, b) = UnixStream::pair().unwrap();
    let rt = common::rt_with(1, |b| b.watchdog(None));
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let reader = strands::Builder::new()
        .name("blocked-reader".to_string())
        .spawn_on(rt.handle(), move || {
            started_tx.send(()).unwrap();
            let mut b = b;
            let mut buf = [0u8; 1];
            let _ = b.read(&mut buf); // std: holds the worker
        })
        .unwrap();
    drop(reader);
    started_rx.recv().unwrap();
    std::thread::spawn(move || {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).unwrap(); // the parent saw the report
        a.write_all(b"x").unwrap();
    });
    drop(rt);
    println!("dropped");
}

#[test]
fn a_drop_that_waits_on_a_blocking_call_names_the_strand() {
    let mut child = common::this_binary()
        .args([
            "--exact",
            "drop_report_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut report = String::new();
    let mut line = String::new();
    while !line.contains("shutdown_timeout bounds this wait") {
        line.clear();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "child ended: {report}"
        );
        report.push_str(&line);
    }
    writeln!(child.stdin.take().unwrap()).unwrap();
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert!(out.contains("dropped"), "{out}");
    assert!(
        report.contains("still waiting after 1 s for 1 strand"),
        "{report}"
    );
    assert!(report.contains("strand 'blocked-reader' (id "), "{report}");
    assert!(
        report.contains("spawned at tests/rt_drop_report.rs:"),
        "{report}"
    );
    assert!(report.contains("running on worker 0"), "{report}");
    assert!(!rest.contains("still waiting"), "reported once: {rest}");
}
