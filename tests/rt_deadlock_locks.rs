//! The watchdog names deadlocks through locks: a strand locking a mutex it
//! holds, strands waiting for each other's mutexes, a cycle mixing a join
//! and a lock, an `RwLock` written twice; and it does not name a strand
//! that waits for a holder which will let go.

mod common;

use std::sync::mpsc;
use std::sync::Arc;
use strands::dump::{StrandState, WaitKind};
use strands::runtime::Deadlock;
use strands::sync::{Barrier, Mutex, RwLock};
use strands::{JoinHandle, Runtime, StrandId};

/// A runtime with `workers` workers whose deadlock reports arrive on the
/// returned receiver.
fn rt_reporting(workers: usize) -> (Runtime, mpsc::Receiver<Deadlock>) {
    let (found_tx, found_rx) = mpsc::channel();
    let found_tx = std::sync::Mutex::new(found_tx);
    let rt = common::rt_with(workers, |b| {
        b.on_deadlock(move |d| found_tx.lock().unwrap().send(d.clone()).unwrap())
    });
    (rt, found_rx)
}

fn spawn_named<T: Send + 'static>(
    rt: &Runtime,
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> JoinHandle<T> {
    strands::Builder::new()
        .name(name.into())
        .spawn_on(rt.handle(), f)
        .unwrap()
}

/// Waits until the strand `id` is parked waiting for `kind` (its record
/// is written before it parks).
fn parked_in(rt: &Runtime, id: StrandId, kind: WaitKind) {
    loop {
        let dump = rt.dump();
        let s = dump.strands().iter().find(|s| s.id() == id);
        if s.is_some_and(|s| s.state() == StrandState::Parked && s.waits_for() == Some(kind)) {
            return;
        }
        std::thread::yield_now();
    }
}

fn named(id: StrandId, name: &str) -> (StrandId, Option<String>) {
    (id, Some(name.to_string()))
}

#[test]
fn a_strand_locking_a_mutex_it_holds_is_named() {
    for workers in [1, 2] {
        let (rt, found) = rt_reporting(workers);
        let m = Arc::new(Mutex::new(0));
        let h = spawn_named(&rt, "relocker", move || {
            let _first = m.lock().unwrap();
            let _second = m.lock().unwrap(); // never returns
        });
        let d = found.recv().unwrap();
        let id = h.strand().id();
        assert_eq!(d.strands, vec![named(id, "relocker")]);
        assert_eq!(d.waits, vec![WaitKind::Mutex]);
        assert_eq!(
            d.to_string(),
            format!("deadlock: strand 'relocker' (id {id}) waits for a mutex it holds itself")
        );
        // a strand parked on a mutex can be cancelled
        h.cancel();
        assert!(h.join().unwrap_err().is_cancelled());
        drop(rt);
        assert!(
            found.try_recv().is_err(),
            "reported twice ({workers} workers)"
        );
    }
}

#[test]
fn two_strands_waiting_for_each_others_mutex_are_named() {
    for workers in [1, 2] {
        let (rt, found) = rt_reporting(workers);
        let (m1, m2) = (Arc::new(Mutex::new(())), Arc::new(Mutex::new(())));
        let both = Arc::new(Barrier::new(2));
        let (a_m1, a_m2, a_both) = (Arc::clone(&m1), Arc::clone(&m2), Arc::clone(&both));
        let a = spawn_named(&rt, "a", move || {
            let _g1 = a_m1.lock().unwrap();
            a_both.wait(); // both hold their first lock
            let _g2 = a_m2.lock().unwrap();
        });
        let b = spawn_named(&rt, "b", move || {
            let _g2 = m2.lock().unwrap();
            both.wait();
            let _g1 = m1.lock(); // poisoned: `a` was cancelled holding it
        });
        let d = found.recv().unwrap();
        let (a_id, b_id) = (a.strand().id(), b.strand().id());
        assert_eq!(d.strands, vec![named(a_id, "a"), named(b_id, "b")]);
        assert_eq!(d.waits, vec![WaitKind::Mutex, WaitKind::Mutex]);
        assert_eq!(
            d.to_string(),
            format!(
                "deadlock: strand 'a' (id {a_id}) waits for a mutex held by strand 'b' (id {b_id}), \
                 which waits for a mutex held by strand 'a' (id {a_id})"
            )
        );
        // cancelling `a` breaks the cycle: `b` gets m1 and finishes
        a.cancel();
        assert!(a.join().unwrap_err().is_cancelled());
        b.join().unwrap();
        drop(rt);
        assert!(
            found.try_recv().is_err(),
            "reported twice ({workers} workers)"
        );
    }
}

#[test]
fn a_cycle_of_a_join_and_a_mutex_is_named() {
    for workers in [1, 2] {
        let (rt, found) = rt_reporting(workers);
        let m = Arc::new(Mutex::new(()));
        let (handle_tx, handle_rx) = strands::channel::bounded::<JoinHandle<()>>(1);
        let (held_tx, held_rx) = strands::channel::bounded::<()>(1);
        let a_m = Arc::clone(&m);
        let a = spawn_named(&rt, "a", move || {
            let _g = a_m.lock().unwrap();
            held_tx.send(()).unwrap();
            let b = handle_rx.recv().unwrap();
            let _ = b.join(); // b waits for the mutex we hold
        });
        let b = spawn_named(&rt, "b", move || {
            held_rx.recv().unwrap();
            let _g = m.lock(); // poisoned: `a` was cancelled holding it
        });
        let (a_strand, b_id) = (a.strand().clone(), b.strand().id());
        handle_tx.send(b).unwrap();
        let d = found.recv().unwrap();
        let a_id = a_strand.id();
        assert_eq!(d.strands, vec![named(a_id, "a"), named(b_id, "b")]);
        assert_eq!(d.waits, vec![WaitKind::Join, WaitKind::Mutex]);
        assert_eq!(
            d.to_string(),
            format!(
                "deadlock: strand 'a' (id {a_id}) joins strand 'b' (id {b_id}), \
                 which waits for a mutex held by strand 'a' (id {a_id})"
            )
        );
        // cancelling `a` releases the mutex: `b` finishes, then `a`
        a.cancel();
        assert!(a.join().unwrap_err().is_cancelled());
        drop(rt);
        assert!(
            found.try_recv().is_err(),
            "reported twice ({workers} workers)"
        );
    }
}

#[test]
fn an_rwlock_held_for_writing_and_locked_again_is_named() {
    for workers in [1, 2] {
        let (rt, found) = rt_reporting(workers);
        let (l1, l2) = (Arc::new(RwLock::new(0)), Arc::new(RwLock::new(0)));
        let ww = spawn_named(&rt, "write-write", move || {
            let _w = l1.write().unwrap();
            let _again = l1.write().unwrap();
        });
        let wr = spawn_named(&rt, "write-read", move || {
            let _w = l2.write().unwrap();
            let _r = l2.read().unwrap();
        });
        let mut ds = [found.recv().unwrap(), found.recv().unwrap()];
        ds.sort_by_key(|d| d.strands[0].0);
        let (ww_id, wr_id) = (ww.strand().id(), wr.strand().id());
        assert_eq!(ds[0].strands, vec![named(ww_id, "write-write")]);
        assert_eq!(ds[0].waits, vec![WaitKind::RwLockWrite]);
        assert_eq!(
            ds[0].to_string(),
            format!("deadlock: strand 'write-write' (id {ww_id}) waits to write an rwlock it holds itself")
        );
        assert_eq!(ds[1].strands, vec![named(wr_id, "write-read")]);
        assert_eq!(ds[1].waits, vec![WaitKind::RwLockRead]);
        assert_eq!(
            ds[1].to_string(),
            format!("deadlock: strand 'write-read' (id {wr_id}) waits to read an rwlock it holds itself")
        );
        ww.cancel();
        wr.cancel();
        assert!(ww.join().unwrap_err().is_cancelled());
        assert!(wr.join().unwrap_err().is_cancelled());
        drop(rt);
        assert!(
            found.try_recv().is_err(),
            "reported twice ({workers} workers)"
        );
    }
}

/// Waits that end once their holder lets go are not deadlocks: a strand
/// waiting for a mutex whose holder waits on a channel, a strand joining
/// that holder, a strand waiting for a mutex a plain thread holds, and a
/// strand waiting to write an `RwLock` that another strand reads. They are
/// all parked in their waits before a real deadlock forms, so the check
/// that reports the real one saw them too, for as long.
#[test]
fn waits_for_holders_that_let_go_are_not_named() {
    for workers in [1, 2] {
        let (rt, found) = rt_reporting(workers);
        let m = Arc::new(Mutex::new(0));
        let (go_tx, go_rx) = strands::channel::bounded::<()>(1);
        let (held_tx, held_rx) = strands::channel::bounded::<()>(1);
        let holder_m = Arc::clone(&m);
        let holder = spawn_named(&rt, "holder", move || {
            let mut g = holder_m.lock().unwrap();
            held_tx.send(()).unwrap();
            go_rx.recv().unwrap();
            *g += 1;
        });
        held_rx.recv().unwrap();
        let waiter_m = Arc::clone(&m);
        let waiter = spawn_named(&rt, "waiter", move || *waiter_m.lock().unwrap() += 1);
        let holder_strand = holder.strand().clone();
        let (holder_tx, holder_rx) = strands::channel::bounded::<JoinHandle<()>>(1);
        let joiner = spawn_named(&rt, "joiner", move || {
            holder_rx.recv().unwrap().join().unwrap();
        });
        holder_tx.send(holder).unwrap();
        // a plain thread holds a mutex a strand waits for
        let t_m = Arc::new(Mutex::new(()));
        let (t_go_tx, t_go_rx) = mpsc::channel::<()>();
        let (t_held_tx, t_held_rx) = mpsc::channel::<()>();
        let thread_m = Arc::clone(&t_m);
        let thread = std::thread::spawn(move || {
            let _g = thread_m.lock().unwrap();
            t_held_tx.send(()).unwrap();
            t_go_rx.recv().unwrap();
        });
        t_held_rx.recv().unwrap();
        let t_waiter = spawn_named(&rt, "thread-waiter", move || drop(t_m.lock().unwrap()));
        // a reader holds an rwlock a writer waits for
        let l = Arc::new(RwLock::new(0));
        let (r_go_tx, r_go_rx) = strands::channel::bounded::<()>(1);
        let (r_held_tx, r_held_rx) = strands::channel::bounded::<()>(1);
        let reader_l = Arc::clone(&l);
        let reader = spawn_named(&rt, "reader", move || {
            let _r = reader_l.read().unwrap();
            r_held_tx.send(()).unwrap();
            r_go_rx.recv().unwrap();
        });
        r_held_rx.recv().unwrap();
        let writer = spawn_named(&rt, "writer", move || *l.write().unwrap() += 1);

        parked_in(&rt, waiter.strand().id(), WaitKind::Mutex);
        parked_in(&rt, joiner.strand().id(), WaitKind::Join);
        parked_in(&rt, t_waiter.strand().id(), WaitKind::Mutex);
        parked_in(&rt, writer.strand().id(), WaitKind::RwLockWrite);
        parked_in(&rt, holder_strand.id(), WaitKind::Recv);
        // now a real one
        let relock = Arc::new(Mutex::new(()));
        let relocker = spawn_named(&rt, "relocker", move || {
            let _first = relock.lock().unwrap();
            let _second = relock.lock().unwrap();
        });
        let d = found.recv().unwrap();
        assert_eq!(d.strands, vec![named(relocker.strand().id(), "relocker")]);

        // everyone else finishes once let go
        go_tx.send(()).unwrap();
        t_go_tx.send(()).unwrap();
        r_go_tx.send(()).unwrap();
        waiter.join().unwrap();
        joiner.join().unwrap();
        t_waiter.join().unwrap();
        thread.join().unwrap();
        reader.join().unwrap();
        writer.join().unwrap();
        assert_eq!(*m.lock().unwrap(), 2);
        relocker.cancel();
        assert!(relocker.join().unwrap_err().is_cancelled());
        drop(rt);
        assert!(
            found.try_recv().is_err(),
            "a wait that ends was named ({workers} workers)"
        );
    }
}

/// Strands that take two mutexes in the same order never deadlock, however
/// their waits interleave with the watchdog's reads: with a 1 ms threshold
/// the check reads their lock waits' holders while they come and go (the
/// handshake that keeps each lock alive while it is read), and never pieces
/// a cycle together from waits that ended in between. The churn goes on
/// until the check has reported two real deadlocks, one after the other,
/// that formed after it began.
#[test]
fn churning_lock_waits_are_not_named() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
    for workers in [1, 2] {
        let (found_tx, found) = mpsc::channel();
        let found_tx = std::sync::Mutex::new(found_tx);
        let rt = common::rt_with(workers, |b| {
            b.watchdog(Some(std::time::Duration::from_millis(1)))
                .on_stuck(|_| {})
                .on_deadlock(move |d| found_tx.lock().unwrap().send(d.clone()).unwrap())
        });
        let (m1, m2) = (Arc::new(Mutex::new(0u64)), Arc::new(Mutex::new(0u64)));
        let stop = Arc::new(AtomicBool::new(false));
        let rounds = Arc::new(AtomicU64::new(0));
        let churners: Vec<_> = (0..8)
            .map(|i| {
                let (m1, m2) = (Arc::clone(&m1), Arc::clone(&m2));
                let (stop, rounds) = (Arc::clone(&stop), Arc::clone(&rounds));
                spawn_named(&rt, &format!("churn-{i}"), move || {
                    while !stop.load(SeqCst) {
                        let mut a = m1.lock().unwrap();
                        strands::yield_now();
                        let mut b = m2.lock().unwrap();
                        strands::yield_now();
                        *a += 1;
                        *b += 1;
                        rounds.fetch_add(1, SeqCst);
                    }
                })
            })
            .collect();
        while rounds.load(SeqCst) < 100 {
            std::thread::yield_now();
        }
        // two checks at least: the second relocker starts after the first
        // was reported
        let mut relockers = Vec::new();
        for name in ["relocker-1", "relocker-2"] {
            let relock = Arc::new(Mutex::new(()));
            let relocker = spawn_named(&rt, name, move || {
                let _first = relock.lock().unwrap();
                let _second = relock.lock().unwrap();
            });
            let d = found.recv().unwrap();
            assert_eq!(d.strands, vec![named(relocker.strand().id(), name)]);
            relockers.push(relocker);
        }
        stop.store(true, SeqCst);
        for h in churners {
            h.join().unwrap();
        }
        assert_eq!(*m1.lock().unwrap(), rounds.load(SeqCst));
        for relocker in relockers {
            relocker.cancel();
            assert!(relocker.join().unwrap_err().is_cancelled());
        }
        drop(rt);
        assert!(
            found.try_recv().is_err(),
            "a churning wait was named ({workers} workers)"
        );
    }
}
