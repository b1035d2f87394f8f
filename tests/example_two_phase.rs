//! `examples/two_phase`: bounded parallel fetches, a barrier, mutations
//! serialised per path; every item's fate reported, a panicking item is
//! that item's error. Runs the example's binary (built by `cargo test` with
//! the tests) in a child process.

use std::path::PathBuf;
use std::process::Output;

mod common;

fn run_example(args: &[&str]) -> (String, Output) {
    let out = common::example("two_phase")
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        out.status.success(),
        "{}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (stdout, out)
}

fn line<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{out}"))
}

/// The temporary tree the example names on its first line, which must be
/// gone when it exits.
fn assert_tree_removed(out: &str) {
    let first = out.lines().next().unwrap();
    let tree = PathBuf::from(first.rsplit_once(", tree ").unwrap().1);
    assert!(!tree.exists(), "{} left behind", tree.display());
}

#[test]
fn the_default_run_reports_every_item_and_loses_no_update() {
    let (out, full) = run_example(&[]);
    assert!(
        line(&out, "phase A:").starts_with("phase A: 37 fetched, 2 failed, 1 panicked;"),
        "{out}"
    );
    assert_eq!(
        line(&out, "phase B:"),
        "phase B: 37 items applied to 9 paths, index has 37 lines, 0 lost updates, 0 keyed entries left"
    );
    for i in 0..40 {
        let l = line(&out, &format!("item {i:02}:"));
        match i {
            7 | 19 => assert!(l.starts_with(&format!("item {i:02}: failed: ")), "{l}"),
            23 => assert_eq!(l, "item 23: panicked: corrupt archive in item 23"),
            _ => assert_eq!(l, format!("item {i:02}: fetched (19 bytes)")),
        }
    }
    assert_eq!(
        line(&out, "DONE"),
        "DONE: 37 of 40 items applied, 3 not applied"
    );
    // the panic was reported by the hook, naming the item's strand, and
    // did not bring anything down
    let stderr = String::from_utf8_lossy(&full.stderr);
    assert!(stderr.contains("strand 'fetch-23'"), "{stderr}");
    assert_tree_removed(&out);
}

#[test]
fn the_limit_bounds_the_fetches_in_flight() {
    let (out, _) = run_example(&[
        "--items", "30", "--limit", "3", "--fail", "0,29", "--panic", "none",
    ]);
    let a = line(&out, "phase A:");
    assert!(
        a.starts_with("phase A: 28 fetched, 2 failed, 0 panicked;"),
        "{a}"
    );
    let peak: usize = a
        .rsplit_once("peak in flight ")
        .and_then(|(_, r)| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{a}"));
    assert!((1..=3).contains(&peak), "{a}");
    assert!(line(&out, "phase B:").contains(", 0 lost updates, 0 keyed entries left"));
    assert_eq!(
        line(&out, "DONE"),
        "DONE: 28 of 30 items applied, 2 not applied"
    );
    assert_tree_removed(&out);
}
