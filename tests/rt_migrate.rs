//! Migration: started strands stay on their worker unless they were
//! spawned `migratable`, in which case an idle worker may take them.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::ThreadId;
use std::time::{Duration, Instant};
use strands::Builder;

/// Read afresh on every call (not inlined, so no thread-local address is
/// kept across a yield in the caller).
#[inline(never)]
fn thread_now() -> ThreadId {
    std::thread::current().id()
}

/// On a two-worker runtime: holds the other worker with a strand that spins
/// (pinned by being started there), starts `n` strands built by `builder`
/// on this worker, then lets the other worker go idle. Each strand records
/// its first thread and yields until `until(moved so far)` says stop, or
/// 30 s pass. Returns how many strands ran on a second thread.
fn scenario(n: usize, builder: fn() -> Builder, yields: Option<usize>) -> usize {
    let rt = common::rt(2);
    rt.block_on(move || {
        let me = thread_now();
        let release = Arc::new(AtomicBool::new(false));
        // 1. a hog on the other worker: two fresh strands wake the idle
        //    worker, which steals one; the one that lands here returns
        loop {
            let rel = Arc::clone(&release);
            let (elsewhere, reported) =
                (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
            let hogs: Vec<_> = (0..2)
                .map(|_| {
                    let (rel, elsewhere, reported) = (
                        Arc::clone(&rel),
                        Arc::clone(&elsewhere),
                        Arc::clone(&reported),
                    );
                    strands::spawn(move || {
                        if thread_now() == me || elsewhere.fetch_add(1, Ordering::SeqCst) > 0 {
                            reported.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                        reported.fetch_add(1, Ordering::SeqCst);
                        let t = Instant::now();
                        while !rel.load(Ordering::SeqCst) && t.elapsed() < Duration::from_secs(30) {
                            std::hint::spin_loop();
                        }
                    })
                })
                .collect();
            while reported.load(Ordering::SeqCst) < 2 {
                strands::yield_now();
            }
            if elsewhere.load(Ordering::SeqCst) > 0 {
                // 2. the strands start here: the other worker is held
                let started = Arc::new(AtomicUsize::new(0));
                let moved = Arc::new(AtomicUsize::new(0));
                let hs: Vec<_> = (0..n)
                    .map(|_| {
                        let (started, moved) = (Arc::clone(&started), Arc::clone(&moved));
                        builder()
                            .spawn(move || {
                                let first = thread_now();
                                started.fetch_add(1, Ordering::SeqCst);
                                let t = Instant::now();
                                let mut i = 0;
                                loop {
                                    strands::yield_now();
                                    i += 1;
                                    if thread_now() != first {
                                        moved.fetch_add(1, Ordering::SeqCst);
                                        return;
                                    }
                                    let done = match yields {
                                        Some(y) => i >= y,
                                        None => moved.load(Ordering::SeqCst) > 0,
                                    };
                                    if done || t.elapsed() > Duration::from_secs(30) {
                                        return;
                                    }
                                }
                            })
                            .unwrap()
                    })
                    .collect();
                while started.load(Ordering::SeqCst) < n {
                    strands::yield_now();
                }
                // 3. the other worker goes idle
                release.store(true, Ordering::SeqCst);
                hogs.into_iter().for_each(|h| h.join().unwrap());
                hs.into_iter().for_each(|h| h.join().unwrap());
                return moved.load(Ordering::SeqCst);
            }
            hogs.into_iter().for_each(|h| h.join().unwrap());
        }
    })
}

#[test]
fn an_idle_worker_takes_a_started_migratable_strand() {
    // SAFETY: the bodies keep no thread-local state across their yields
    // (`thread_now` reads the thread afresh each time).
    let moved = scenario(8, || unsafe { Builder::new().migratable() }, None);
    assert!(moved >= 1, "no started migratable strand moved");
}

#[test]
fn started_strands_never_change_threads_by_default() {
    let moved = scenario(8, Builder::new, Some(2000));
    assert_eq!(moved, 0);
}

#[test]
fn a_migratable_strand_keeps_its_locals_and_can_be_cancelled() {
    strands::strand_local!(static TAG: std::cell::Cell<u32> = std::cell::Cell::new(0));
    let rt = common::rt(2);
    rt.block_on(|| {
        // SAFETY: strand-locals follow the strand; nothing thread-local is
        // kept across the yields.
        let b = || unsafe { Builder::new().migratable() };
        let h = b()
            .spawn(|| {
                TAG.with(|t| t.set(7));
                for _ in 0..1000 {
                    strands::yield_now();
                }
                TAG.with(|t| t.get())
            })
            .unwrap();
        assert_eq!(h.join().unwrap(), 7);
        let dropped = Arc::new(AtomicBool::new(false));
        struct OnDrop(Arc<AtomicBool>);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let d = OnDrop(Arc::clone(&dropped));
        let h = b()
            .spawn(move || {
                let _d = d;
                loop {
                    strands::yield_now();
                }
            })
            .unwrap();
        h.cancel();
        assert!(h.join().unwrap_err().is_cancelled());
        assert!(dropped.load(Ordering::SeqCst));
    });
}
