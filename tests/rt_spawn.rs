//! Spawning, yielding, joining, naming, panics, and bad input.

mod common;
use common::rt;

use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use strands::{Builder, Runtime, SpawnError};

#[test]
fn spawn_and_join_return_values() {
    let v = rt(1).block_on(|| {
        let hs: Vec<_> = (0..100u64).map(|i| strands::spawn(move || i * i)).collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
    });
    assert_eq!(v, (0..100u64).map(|i| i * i).sum());
}

#[test]
fn yielding_strands_take_turns_on_one_worker() {
    let log = Arc::new(Mutex::new(Vec::new()));
    rt(1).block_on(|| {
        let hs: Vec<_> = (0..3)
            .map(|id| {
                let log = Arc::clone(&log);
                strands::spawn(move || {
                    for step in 0..3 {
                        log.lock().unwrap().push((id, step));
                        strands::yield_now();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    });
    let log = log.lock().unwrap().clone();
    // each strand's steps in order
    for id in 0..3 {
        let steps: Vec<_> = log.iter().filter(|e| e.0 == id).map(|e| e.1).collect();
        assert_eq!(steps, [0, 1, 2]);
    }
    // once all have started and until one finishes: round-robin, one step
    // per turn (fresh strands go first before that)
    let all_started = log.iter().position(|e| *e == (2, 0)).unwrap();
    let first_done = log.iter().position(|e| e.1 == 2).unwrap();
    for w in log[all_started.saturating_sub(2)..=first_done].windows(3) {
        assert!(
            w[0].0 != w[1].0 && w[1].0 != w[2].0 && w[0].0 != w[2].0,
            "{log:?}"
        );
    }
}

#[test]
fn names_ids_and_current() {
    rt(1).block_on(|| {
        let me = strands::current();
        assert_eq!(me.name(), None);
        let h = Builder::new()
            .name("parser".to_string())
            .spawn(|| {
                let s = strands::current();
                (s.id(), s.name().map(str::to_owned))
            })
            .unwrap();
        let id = h.strand().id();
        assert_eq!(h.strand().name(), Some("parser"));
        let (inner_id, name) = h.join().unwrap();
        assert_eq!(inner_id, id);
        assert_ne!(inner_id, me.id());
        assert_eq!(name.as_deref(), Some("parser"));
    });
    assert!(
        strands::try_current().is_none(),
        "a test thread is not a strand"
    );
}

#[test]
fn panic_is_handed_to_the_joiner_and_others_go_on() {
    let (msg, after) = rt(1).block_on(|| {
        let bad = Builder::new()
            .name("doomed".to_string())
            .spawn(|| -> u32 {
                let n = std::hint::black_box(7);
                panic!("boom {n}")
            })
            .unwrap();
        let good = strands::spawn(|| {
            strands::yield_now();
            5u32
        });
        let err = bad.join().unwrap_err();
        assert!(err.is_panic());
        assert!(!err.is_cancelled());
        let msg = *err.into_panic().downcast::<String>().unwrap();
        (msg, good.join().unwrap())
    });
    assert_eq!(msg, "boom 7");
    assert_eq!(after, 5);
}

#[test]
fn panic_payload_of_any_type_survives() {
    struct Custom(u8);
    let p = rt(1).block_on(|| {
        strands::spawn(|| std::panic::panic_any(Custom(9)))
            .join()
            .unwrap_err()
            .into_panic()
    });
    assert_eq!(p.downcast::<Custom>().unwrap().0, 9);
}

#[test]
fn block_on_resumes_the_panic_on_the_caller() {
    let rt = rt(1);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(|| panic!("inner"))
    }));
    assert_eq!(*r.unwrap_err().downcast::<&str>().unwrap(), "inner");
    assert_eq!(
        rt.block_on(|| 3),
        3,
        "the runtime survives a panicking block_on"
    );
}

#[test]
fn block_on_may_borrow_from_the_caller() {
    let mut data = vec![1, 2, 3];
    let sum: i32 = rt(1).block_on(|| {
        data.push(4);
        data.iter().sum()
    });
    assert_eq!(sum, 10);
    assert_eq!(data.len(), 4);
}

#[test]
fn join_from_a_plain_thread_and_from_strands_on_two_workers() {
    let rt = rt(2);
    let handles: Vec<_> = (0..200u64)
        .map(|i| {
            rt.spawn(move || {
                for _ in 0..10 {
                    strands::yield_now();
                }
                i
            })
        })
        .collect();
    // half joined from this thread, half from a strand
    let mut handles = handles;
    let second: Vec<_> = handles.split_off(100);
    let from_strand =
        rt.block_on(move || second.into_iter().map(|h| h.join().unwrap()).sum::<u64>());
    let from_thread: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(from_thread + from_strand, (0..200).sum());
}

#[test]
fn joining_a_strand_on_another_worker_parks_and_wakes() {
    // a chain of strands each joining the previous: every join parks
    let rt = rt(2);
    let v = rt.block_on(|| {
        let mut h = strands::spawn(|| 0u64);
        for i in 1..=500u64 {
            let prev = h;
            h = strands::spawn(move || prev.join().unwrap() + i);
        }
        h.join().unwrap()
    });
    assert_eq!(v, (1..=500).sum());
}

#[test]
fn detached_strands_run_without_being_joined() {
    let done = Arc::new(AtomicUsize::new(0));
    let rt = rt(2);
    for _ in 0..100 {
        let done = Arc::clone(&done);
        drop(rt.spawn(move || {
            strands::yield_now();
            done.fetch_add(1, Ordering::SeqCst);
        }));
    }
    while done.load(Ordering::SeqCst) < 100 {
        std::thread::yield_now();
    }
    drop(rt);
    assert_eq!(done.load(Ordering::SeqCst), 100);
}

#[test]
fn is_finished_turns_true_exactly_when_the_result_is_there() {
    rt(1).block_on(|| {
        let h = strands::spawn(|| {
            strands::yield_now();
            1
        });
        assert!(
            !h.is_finished(),
            "it has not run yet: one worker, we hold it"
        );
        while !h.is_finished() {
            strands::yield_now();
        }
        assert_eq!(h.join().unwrap(), 1);
    });
}

#[test]
fn stacks_return_to_the_pool() {
    let rt = rt(2);
    rt.block_on(|| {
        let hs: Vec<_> = (0..1000)
            .map(|_| strands::spawn(strands::yield_now))
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
    });
    let m = rt.metrics();
    assert_eq!(m.live_strands, 0);
    assert_eq!(m.stacks_live, 0);
    assert!(
        m.stacks_cached > 0,
        "returned stacks are kept for reuse: {m:?}"
    );
    assert_eq!(m.spawned, 1001);
}

#[test]
fn custom_stack_sizes_work() {
    rt(1).block_on(|| {
        for size in [strands::MIN_STACK_SIZE, 20_000, 1 << 20] {
            let h = Builder::new()
                .stack_size(size)
                .spawn(move || {
                    // use most of a 16 KiB stack
                    let buf = [7u8; 8 * 1024];
                    std::hint::black_box(&buf)
                        .iter()
                        .map(|&b| b as usize)
                        .sum::<usize>()
                })
                .unwrap();
            assert_eq!(h.join().unwrap(), 7 * 8 * 1024);
        }
    });
}

// ---- bad input ------------------------------------------------------------

#[test]
fn zero_workers_is_an_error() {
    let e = Runtime::builder().workers(0).build().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn bad_stack_sizes_are_errors_not_panics() {
    for size in [
        0,
        1,
        strands::MIN_STACK_SIZE - 1,
        strands::MAX_STACK_SIZE + 1,
        usize::MAX,
    ] {
        let e = Runtime::builder().stack_size(size).build().unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "size {size}");
        let r = rt(1).block_on(move || Builder::new().stack_size(size).spawn(|| ()).map(|_| ()));
        match r {
            Err(SpawnError::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput),
            other => panic!("size {size}: expected InvalidInput, got {other:?}"),
        }
    }
}

#[test]
fn spawning_outside_a_runtime_is_an_error() {
    match Builder::new().spawn(|| ()) {
        Err(SpawnError::NoRuntime) => {}
        other => panic!("expected NoRuntime, got {other:?}"),
    }
    let r = std::panic::catch_unwind(|| strands::spawn(|| ()));
    let msg = r.unwrap_err();
    assert!(msg
        .downcast_ref::<String>()
        .unwrap()
        .contains("not inside a strands runtime"));
}

#[test]
fn past_max_strands_spawn_answers_saturated() {
    let rt = common::rt_with(1, |b| b.max_strands(3));
    let r = rt.block_on(|| {
        // this strand is 1; two more fit, the fourth does not
        let a = strands::spawn(|| ());
        let b = strands::spawn(|| ());
        let c = Builder::new().spawn(|| ());
        let saturated = matches!(c, Err(SpawnError::Saturated));
        a.join().unwrap();
        b.join().unwrap();
        // room again once they are done
        let d = Builder::new().spawn(|| 4).unwrap().join().unwrap();
        (saturated, d)
    });
    assert_eq!(r, (true, 4));
}

#[test]
fn spawning_on_a_dropped_runtime_answers_shut_down() {
    let rt = rt(1);
    let handle = rt.handle().clone();
    drop(rt);
    match Builder::new().spawn_on(&handle, || ()) {
        Err(SpawnError::ShutDown) => {}
        other => panic!("expected ShutDown, got {other:?}"),
    }
}

#[test]
fn block_on_from_a_strand_of_the_same_runtime_panics_clearly() {
    let rt = rt(1);
    let msg = rt.block_on(|| {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(|| 1)));
        r.unwrap_err()
            .downcast::<&str>()
            .map(|s| s.to_string())
            .unwrap_or_default()
    });
    assert!(msg.contains("same runtime"), "{msg}");
}

#[test]
fn into_panic_on_a_panic_and_display() {
    let e = rt(1).block_on(|| strands::spawn(|| panic!("shown")).join().unwrap_err());
    assert_eq!(e.to_string(), "strand panicked: shown");
    assert_eq!(format!("{e:?}"), "JoinError::Panic(\"shown\")");
}

/// The bound counts strands spawned from everywhere: plain threads (whose
/// strands spread over the registry's shards) and strands; it is reached
/// exactly, and every admission comes back as the strands finish.
#[test]
fn max_strands_is_exact_across_threads_and_comes_back() {
    common::hang_guard();
    const MAX: usize = 300;
    let rt = common::rt_with(2, |b| b.max_strands(MAX));
    let release = Arc::new(AtomicBool::new(false));
    let filled = Arc::new(AtomicBool::new(false));
    let hold = || {
        let release = Arc::clone(&release);
        move || {
            while !release.load(SeqCst) {
                strands::yield_now();
            }
        }
    };
    // Spawns until the runtime says it is full; every other error fails.
    let fill = |handle: &strands::Handle| {
        let mut got = Vec::new();
        loop {
            match Builder::new().spawn_on(handle, hold()) {
                Ok(h) => got.push(h),
                Err(SpawnError::Saturated) => return got,
                Err(e) => panic!("unexpected: {e}"),
            }
        }
    };
    for round in 0..2 {
        release.store(false, SeqCst);
        filled.store(false, SeqCst);
        // a strand that spawns once the threads have filled the runtime:
        // it shares their bound
        let f = Arc::clone(&filled);
        let prober = rt.spawn(move || {
            while !f.load(SeqCst) {
                strands::yield_now();
            }
            matches!(Builder::new().spawn(|| ()), Err(SpawnError::Saturated))
        });
        let handles: Vec<_> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..4).map(|_| s.spawn(|| fill(rt.handle()))).collect();
            threads
                .into_iter()
                .flat_map(|t| t.join().unwrap())
                .collect()
        });
        assert_eq!(
            handles.len(),
            MAX - 1,
            "round {round}: the prober holds one"
        );
        assert_eq!(rt.metrics().live_strands, MAX, "round {round}");
        filled.store(true, SeqCst);
        assert!(
            prober.join().unwrap(),
            "round {round}: the prober was let in"
        );
        release.store(true, SeqCst);
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(rt.metrics().live_strands, 0, "round {round}");
    }
}
