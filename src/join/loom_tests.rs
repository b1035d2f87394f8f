//! JoinSet's limit hand-over under loom: members ending (each freeing its
//! slot and, if it becomes the pumper, starting queued ones) race the
//! owner spawning and cancelling. Checked: nothing starts twice, nothing
//! queued is lost (each queued member either starts or is taken by the
//! cancellation, exactly once), the limit holds, and no queued member is
//! left waiting for a free slot. The model drives the state machine the set
//! keeps under its lock (`slots.rs`), with loom's mutex around it.

use super::slots::Slots;
use loom::sync::{Arc, Mutex};
use loom::thread;

const LIMIT: usize = 2;

struct Model {
    slots: Slots<u32>,
    started: Vec<u32>,
    cancelled: Vec<u32>,
}

/// What a member's end does: free the slot, then pump if it must.
fn end_member(m: &Mutex<Model>) {
    let must_pump = m.lock().unwrap().slots.release();
    if must_pump {
        loop {
            let mut g = m.lock().unwrap();
            let Some(id) = g.slots.next() else { break };
            assert!(g.slots.running() <= LIMIT);
            g.started.push(id); // "spawned" outside the lock in the set
        }
    }
}

/// What `JoinSet::spawn` does with member `id`.
fn spawn(m: &Mutex<Model>, id: u32) {
    let mut g = m.lock().unwrap();
    if g.slots.try_start() {
        g.started.push(id);
    } else {
        g.slots.enqueue(id);
    }
}

fn setup() -> Arc<Mutex<Model>> {
    let mut m = Model {
        slots: Slots::new(LIMIT),
        started: Vec::new(),
        cancelled: Vec::new(),
    };
    for id in 0..4 {
        if m.slots.try_start() {
            m.started.push(id); // 0 and 1 run
        } else {
            m.slots.enqueue(id); // 2 and 3 wait
        }
    }
    Arc::new(Mutex::new(m))
}

fn check(m: &Model, all: &[u32]) {
    let mut seen: Vec<u32> = m.started.iter().chain(&m.cancelled).copied().collect();
    seen.sort();
    assert_eq!(seen, all, "each member started or cancelled exactly once");
    assert!(m.slots.running() <= LIMIT);
    if m.slots.queued() > 0 {
        assert_eq!(
            m.slots.running(),
            LIMIT,
            "a queued member waits for a free slot"
        );
    }
}

#[test]
fn loom_two_members_end_while_the_owner_cancels() {
    loom::model(|| {
        let m = setup();
        let ends: Vec<_> = (0..2)
            .map(|_| {
                let m = Arc::clone(&m);
                thread::spawn(move || end_member(&m))
            })
            .collect();
        {
            let mut g = m.lock().unwrap();
            let taken = g.slots.take_queued(|_| true);
            g.cancelled.extend(taken);
        }
        ends.into_iter().for_each(|t| t.join().unwrap());
        let g = m.lock().unwrap();
        check(&g, &[0, 1, 2, 3]);
        // members started by the pumpers are still running
        assert_eq!(g.slots.running(), g.started.len() - 2);
    });
}

#[test]
fn loom_members_end_while_the_owner_spawns_and_order_is_kept() {
    loom::model(|| {
        let m = setup();
        let ends: Vec<_> = (0..2)
            .map(|_| {
                let m = Arc::clone(&m);
                thread::spawn(move || end_member(&m))
            })
            .collect();
        spawn(&m, 4);
        ends.into_iter().for_each(|t| t.join().unwrap());
        let mut g = m.lock().unwrap();
        let left = g.slots.take_queued(|_| true);
        assert_eq!(left, [4], "both slots were taken by 2 and 3 first");
        assert_eq!(g.slots.running(), LIMIT);
        g.cancelled.extend(left);
        check(&g, &[0, 1, 2, 3, 4]);
        // no cancellation: the queue is served in spawn order
        let order: Vec<u32> = g.started.iter().copied().filter(|&i| i >= 2).collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted, "spawn order kept");
        assert_eq!(g.started.len(), 4, "both freed slots were handed over");
    });
}
