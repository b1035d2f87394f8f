//! `strands::io::stdin()` parks the reading strand, not its worker.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

const CHILD_ENV: &str = "STRANDS_TEST_STDIN_CHILD";

/// The child: one worker; one strand reads stdin while another prints
/// `ready`. If the read blocked the worker, `ready` would never come and the
/// parent would never write the line.
#[test]
fn stdin_child() {
    if std::env::var(CHILD_ENV).is_err() {
        return;
    }
    let rt = common::rt_with(1, |b| b.watchdog(None));
    rt.block_on(|| {
        let reader = strands::spawn(|| {
            let mut line = String::new();
            let n = strands::io::stdin().read_line(&mut line).unwrap();
            (n, line)
        });
        strands::yield_now(); // let the reader reach its wait first
        let other = strands::spawn(|| {
            println!("ready");
            std::io::stdout().flush().unwrap();
        });
        other.join().unwrap();
        let (n, line) = reader.join().unwrap();
        println!("got {n} {line}");
        let mut rest = String::new();
        assert_eq!(strands::io::stdin().read_line(&mut rest).unwrap(), 0); // EOF
        println!("eof");
    });
}

#[test]
fn read_line_parks_only_the_strand() {
    let mut child = common::this_binary()
        .args(["--exact", "stdin_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut stdin = child.stdin.take().unwrap();
    let mut line = String::new();
    loop {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "child ended early");
        if line.trim_end().ends_with("ready") {
            break; // the other strand ran while the reader waited (the
                   // test harness prints its name on the same line)
        }
    }
    stdin.write_all(b"hello strands\n").unwrap();
    drop(stdin); // then end of input
    let mut rest = String::new();
    while out.read_line(&mut line).unwrap() > 0 {
        rest.push_str(&line);
        line.clear();
    }
    assert!(child.wait().unwrap().success());
    assert!(rest.contains("got 14 hello strands"), "{rest}");
    assert!(rest.contains("eof"), "{rest}");
}
