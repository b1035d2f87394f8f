//! The watchdog names strands that join each other in a cycle.

mod common;

use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;
use strands::dump::StrandState;
use strands::JoinHandle;

#[test]
fn two_strands_joining_each_other_are_a_deadlock() {
    let (found_tx, found_rx) = mpsc::channel();
    let found_tx = Mutex::new(found_tx);
    let rt = common::rt_with(2, |b| {
        b.on_deadlock(move |d| found_tx.lock().unwrap().send(d.clone()).unwrap())
    });
    let [a_strand, b_strand] = cycle(&rt, "a", "b", false);
    let d = found_rx.recv().unwrap();
    let (a_id, b_id) = (a_strand.id(), b_strand.id());
    assert_eq!(
        d.strands,
        vec![(a_id, Some("a".to_string())), (b_id, Some("b".to_string()))]
    );
    assert_eq!(
        d.to_string(),
        format!("deadlock: strand 'a' (id {a_id}) joins strand 'b' (id {b_id}), which joins strand 'a' (id {a_id})")
    );
    // the dump shows the same edges
    let dump = rt.dump();
    let joins = |id| {
        dump.strands()
            .iter()
            .find(|s| s.id() == id)
            .unwrap()
            .joins()
    };
    assert_eq!(joins(a_id), Some(b_id));
    assert_eq!(joins(b_id), Some(a_id));
    // cancelling one breaks the cycle; the runtime drops cleanly
    a_strand.cancel();
    b_strand.cancel();
    drop(rt);
    // reported once
    assert!(found_rx.try_recv().is_err());
}

/// Spawns two strands named `a` and `b` that join each other (`a` with a
/// deadline if `timed`); returns their handles' strands.
fn cycle(rt: &strands::Runtime, a: &str, b: &str, timed: bool) -> [strands::Strand; 2] {
    let (tx, rx) = strands::channel::bounded::<JoinHandle<()>>(1);
    let first = strands::Builder::new()
        .name(a.into())
        .spawn_on(rt.handle(), move || {
            let other = rx.recv().unwrap();
            if timed {
                let _ = other.join_timeout(Duration::from_secs(3600));
            } else {
                let _ = other.join();
            }
        })
        .unwrap();
    let first_strand = first.strand().clone();
    let second = strands::Builder::new()
        .name(b.into())
        .spawn_on(rt.handle(), move || {
            let _ = first.join();
        })
        .unwrap();
    let second_strand = second.strand().clone();
    tx.send(second).unwrap();
    [first_strand, second_strand]
}

#[test]
fn a_cycle_through_a_join_with_a_deadline_is_no_deadlock() {
    let (found_tx, found_rx) = mpsc::channel();
    let found_tx = Mutex::new(found_tx);
    let rt = common::rt_with(2, |b| {
        b.on_deadlock(move |d| found_tx.lock().unwrap().send(d.clone()).unwrap())
    });
    let timed = cycle(&rt, "timed-a", "timed-b", true);
    // both parked in their joins before the second cycle forms: any check
    // that sees the second cycle saw the first one too
    while rt
        .dump()
        .strands()
        .iter()
        .filter(|s| s.joins().is_some() && s.state() == StrandState::Parked)
        .count()
        < 2
    {
        std::thread::yield_now();
    }
    let untimed = cycle(&rt, "a", "b", false);
    let d = found_rx.recv().unwrap();
    let names: Vec<_> = d.strands.iter().map(|s| s.1.clone().unwrap()).collect();
    assert_eq!(names, ["a", "b"]);
    for s in timed.iter().chain(&untimed) {
        s.cancel();
    }
    drop(rt);
    assert!(found_rx.try_recv().is_err(), "the timed cycle was reported");
}
