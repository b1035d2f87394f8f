//! Every public function that panics reports the *caller's* line (as
//! `Option::unwrap` does), never a line inside the crate.

mod common;

use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;
use std::time::Duration;

static LOCATIONS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// A call that must panic, named for the report.
type Case = (&'static str, Box<dyn FnOnce()>);

/// Runs `f`, which must panic, and returns the file the panic reported.
fn panic_file(f: impl FnOnce()) -> String {
    LOCATIONS.lock().unwrap().clear();
    assert!(
        panic::catch_unwind(AssertUnwindSafe(f)).is_err(),
        "expected a panic"
    );
    let seen = LOCATIONS.lock().unwrap();
    // the first panic is the one the call made (a strand's panic may be
    // resumed on the caller, which reports no new location)
    seen.first().cloned().expect("the hook saw the panic")
}

#[test]
fn panics_report_the_callers_line() {
    let prev = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        let file = info
            .location()
            .map_or("?".to_string(), |l| l.file().to_string());
        LOCATIONS.lock().unwrap().push(file);
        let _ = &prev; // keep std's hook alive, quietly
    }));
    let here = file!();
    let cases: Vec<Case> = vec![
        (
            "spawn outside a runtime",
            Box::new(|| drop(strands::spawn(|| 1))),
        ),
        (
            "current outside a strand",
            Box::new(|| drop(strands::current())),
        ),
        (
            "scope outside a strand",
            Box::new(|| strands::scope(|_| {})),
        ),
        (
            "Handle::spawn after shutdown",
            Box::new(|| {
                let rt = common::rt(1);
                let h = rt.handle().clone();
                drop(rt);
                drop(h.spawn(|| 1));
            }),
        ),
        (
            "Runtime::spawn past max_strands",
            Box::new(|| {
                let rt = common::rt_with(1, |b| b.max_strands(1));
                let _parked = rt.spawn(|| strands::sleep(Duration::from_secs(3600)));
                drop(rt.spawn(|| 1));
            }),
        ),
        (
            "block_on from a strand of the same runtime",
            Box::new(|| {
                let rt = common::rt(1);
                let r = &rt;
                let outer = rt.handle().clone();
                drop(outer);
                r.block_on(|| r.block_on(|| 1));
            }),
        ),
        (
            "Scope::spawn past max_strands",
            Box::new(|| {
                let rt = common::rt_with(1, |b| b.max_strands(1));
                rt.block_on(|| strands::scope(|s| drop(s.spawn(|| 1))));
            }),
        ),
        (
            "into_panic on a cancelled strand",
            Box::new(|| {
                let rt = common::rt(1);
                let e = rt.block_on(|| {
                    let h = common::spawn_parked(|| strands::sleep(Duration::from_secs(3600)));
                    h.cancel();
                    h.join().unwrap_err()
                });
                drop(e.into_panic());
            }),
        ),
        (
            "grow with an invalid segment size",
            Box::new(|| {
                let rt = common::rt(1);
                rt.block_on(|| strands::grow(usize::MAX, 0, || ()));
            }),
        ),
    ];
    let mut wrong = Vec::new();
    for (what, f) in cases {
        let file = panic_file(f);
        if file != here {
            wrong.push(format!("{what}: reported {file}"));
        }
    }
    let _ = panic::take_hook();
    assert!(wrong.is_empty(), "panics located in the crate: {wrong:#?}");
}
