//! The wait/wake paths of the locks and channels under loom: lost
//! wake-ups (a waiter parked forever is a loom deadlock), hand-off racing
//! a withdrawal (a wait whose deadline has already passed registers, then
//! withdraws at once), and disconnection racing a send. Under loom there
//! are no strands: `context::waiter()` is a loom thread, so the models use
//! loom threads.

use crate::channel;
use crate::loom::{thread, Arc};
use crate::sync::{Condvar, Mutex, Semaphore};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

#[test]
fn loom_mutex_contended_hand_off_loses_no_wake_up() {
    loom::model(|| {
        let m = Arc::new(Mutex::new(0));
        let m2 = Arc::clone(&m);
        let t = thread::spawn(move || *m2.lock().unwrap() += 1);
        *m.lock().unwrap() += 1;
        t.join().unwrap();
        assert_eq!(*m.lock().unwrap(), 2);
    });
}

#[test]
fn loom_condvar_notify_races_wait() {
    loom::model(|| {
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        let p = Arc::clone(&pair);
        let t = thread::spawn(move || {
            *p.0.lock().unwrap() = true;
            p.1.notify_one();
        });
        let (m, cv) = &*pair;
        let g = cv.wait_while(m.lock().unwrap(), |r| !*r).unwrap();
        assert!(*g);
        drop(g);
        t.join().unwrap();
    });
}

#[test]
fn loom_semaphore_grant_races_withdrawal_and_no_permit_is_lost() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let s = Arc::clone(&sem);
        let t = thread::spawn(move || s.add_permits(1));
        // Registers, finds its deadline passed, withdraws: races the grant.
        let got = sem
            .acquire_timeout(Duration::ZERO)
            .map(|p| p.forget())
            .is_some();
        t.join().unwrap();
        assert_eq!(sem.available_permits() + got as usize, 1);
    });
}

#[test]
fn loom_rendezvous_send_meets_recv() {
    loom::model(|| {
        let (tx, rx) = channel::bounded::<u32>(0);
        let t = thread::spawn(move || tx.send(1).unwrap());
        assert_eq!(rx.recv(), Ok(1));
        t.join().unwrap();
    });
}

/// A value that counts its drops (std atomics: not part of the model).
struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn loom_hand_off_races_a_withdrawing_receiver() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = channel::bounded::<Counted>(0);
        let d = Arc::clone(&drops);
        let t = thread::spawn(move || tx.try_send(Counted(d)).is_ok());
        // Registers, then withdraws at once: the value is either ours or
        // was never accepted.
        let got = rx.recv_deadline(Instant::now()).is_ok();
        let sent = t.join().unwrap();
        assert_eq!(got, sent);
        assert_eq!(drops.load(SeqCst), 1, "received or refused, dropped once");
    });
}

#[test]
fn loom_disconnect_races_a_blocked_send() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = channel::bounded::<Counted>(0);
        let d = Arc::clone(&drops);
        let t = thread::spawn(move || {
            let r = tx.send(Counted(d));
            r.is_err()
        });
        drop(rx);
        assert!(
            t.join().unwrap(),
            "a send to a channel with no receiver fails"
        );
        assert_eq!(drops.load(SeqCst), 1, "and its value is dropped once");
    });
}

#[test]
fn loom_buffered_send_races_last_receiver_drop() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = channel::bounded::<Counted>(1);
        let d = Arc::clone(&drops);
        let t = thread::spawn(move || tx.send(Counted(d)).is_ok());
        drop(rx);
        t.join().unwrap();
        assert_eq!(
            drops.load(SeqCst),
            1,
            "buffered or refused, dropped exactly once"
        );
    });
}

#[test]
fn loom_rwlock_writer_hands_off_to_a_reader() {
    loom::model(|| {
        let l = Arc::new(crate::sync::RwLock::new(0));
        let l2 = Arc::clone(&l);
        let t = thread::spawn(move || *l2.write().unwrap() += 1);
        let seen = *l.read().unwrap();
        t.join().unwrap();
        assert!(seen <= 1);
        assert_eq!(*l.read().unwrap(), 1);
    });
}

#[test]
fn loom_barrier_of_two_releases_both() {
    loom::model(|| {
        let b = Arc::new(crate::sync::Barrier::new(2));
        let b2 = Arc::clone(&b);
        let t = thread::spawn(move || b2.wait().is_leader());
        let me = b.wait().is_leader();
        assert!(me ^ t.join().unwrap(), "exactly one leader");
    });
}

#[test]
fn loom_notify_one_races_wait_and_is_kept() {
    loom::model(|| {
        let n = Arc::new(crate::sync::Notify::new());
        let n2 = Arc::clone(&n);
        let t = thread::spawn(move || n2.notify_one());
        n.wait(); // a permit or a wake: never lost
        t.join().unwrap();
    });
}

#[test]
fn loom_notify_withdrawal_races_notify_one_and_keeps_it() {
    loom::model(|| {
        let n = Arc::new(crate::sync::Notify::new());
        let n2 = Arc::clone(&n);
        let t = thread::spawn(move || n2.notify_one());
        let got = n.wait_timeout(Duration::ZERO);
        t.join().unwrap();
        // either we got it, or it is stored as the permit
        assert!(got ^ n.wait_timeout(Duration::ZERO));
    });
}

#[test]
fn loom_once_lock_initialises_once() {
    loom::model(|| {
        let cell = Arc::new(crate::sync::OnceLock::new());
        let c = Arc::clone(&cell);
        let t = thread::spawn(move || *c.get_or_init(|| 1));
        let mine = *cell.get_or_init(|| 2);
        assert_eq!(mine, t.join().unwrap());
    });
}

#[test]
fn loom_waitgroup_done_races_wait() {
    loom::model(|| {
        let wg = Arc::new(crate::sync::WaitGroup::new());
        wg.add(1);
        let w = Arc::clone(&wg);
        let t = thread::spawn(move || w.done());
        wg.wait();
        t.join().unwrap();
    });
}

#[test]
fn loom_select_takes_exactly_one_of_two_offers() {
    loom::model(|| {
        let (tx1, rx1) = channel::bounded::<u32>(0);
        let (tx2, rx2) = channel::bounded::<u32>(0);
        let t1 = thread::spawn(move || tx1.send(1).unwrap());
        // (t2 hands its sender back: a dropped sender would make rx2 ready)
        let t2 = thread::spawn(move || (tx2.try_send(2).is_ok(), tx2));
        let first = channel::Select::new()
            .recv(&rx1, |r| r.unwrap())
            .recv(&rx2, |r| r.unwrap())
            .wait();
        if first == 2 {
            assert_eq!(rx1.recv(), Ok(1)); // let the blocking sender finish
        }
        t1.join().unwrap();
        // a rendezvous try_send succeeds only into a waiting receiver: us
        assert_eq!(t2.join().unwrap().0, first == 2);
    });
}

#[test]
fn loom_mutex_three_contenders_queue_and_hand_off() {
    loom::model(|| {
        let m = Arc::new(Mutex::new(0));
        let ts: Vec<_> = (0..2)
            .map(|_| {
                let m = Arc::clone(&m);
                thread::spawn(move || *m.lock().unwrap() += 1)
            })
            .collect();
        *m.lock().unwrap() += 1;
        ts.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(*m.lock().unwrap(), 3);
    });
}

#[test]
fn loom_two_receivers_one_withdrawing_get_each_value_once() {
    loom::model(|| {
        let (tx, rx) = channel::bounded::<u32>(0);
        let rx2 = rx.clone();
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        let other = thread::spawn(move || rx2.recv().unwrap());
        // registers, withdraws at once (racing a hand-off), then waits
        let mine = match rx.recv_deadline(Instant::now()) {
            Ok(v) => v,
            Err(_) => rx.recv().unwrap(),
        };
        let theirs = other.join().unwrap();
        sender.join().unwrap();
        let mut got = [mine, theirs];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    });
}

/// Runs `f` in a loom thread marked cancelled; `None` if it unwound with
/// the (simulated) cancellation.
fn cancelled<R>(f: impl FnOnce() -> R) -> Option<R> {
    crate::sync::waitlist::simulate_cancellation();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => Some(r),
        Err(p) => {
            assert!(
                p.is::<crate::sync::waitlist::SimulatedCancel>(),
                "only the cancellation unwinds"
            );
            None
        }
    }
}

/// A cancelled sender blocked on a rendezvous races a receiver that takes
/// its value: either the receiver got it and `send` returned `Ok`, or
/// neither happened and the value dropped with the unwinding sender. Never
/// "received, but the send unwound" (or returned an error).
#[test]
fn loom_a_send_claimed_while_cancelled_completes() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = channel::bounded::<Counted>(0);
        let d = Arc::clone(&drops);
        let t = thread::spawn(move || cancelled(|| tx.send(Counted(d)).is_ok()));
        let got = rx.try_recv().is_ok();
        let sent = t.join().unwrap();
        assert!(sent != Some(false), "a send to a live receiver cannot fail");
        assert_eq!(
            got,
            sent == Some(true),
            "received exactly when sent with Ok"
        );
        assert_eq!(drops.load(SeqCst), 1, "dropped once");
    });
}

/// A cancelled waiter that is handed the lock owns it: `lock` returns and
/// the guard releases it; one that withdrew first unwinds. Either way the
/// lock is free afterwards.
#[test]
fn loom_a_lock_handed_while_cancelled_is_owned() {
    loom::model(|| {
        let m = Arc::new(Mutex::new(0));
        let g = m.lock().unwrap();
        let m2 = Arc::clone(&m);
        let t = thread::spawn(move || cancelled(|| *m2.lock().unwrap() += 1));
        drop(g); // races the waiter's withdrawal (or comes before it queues)
        let locked = t.join().unwrap().is_some();
        assert_eq!(*m.lock().unwrap(), usize::from(locked));
        assert!(!m.is_poisoned());
    });
}
