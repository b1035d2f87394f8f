//! Section 4: locks and channels, strands against tokio, may and OS threads
//! (std / crossbeam). Run alone with `-- sync`.
//!
//! - `lock`: uncontended lock + unlock, one task (per lock).
//! - `mutex100`: 100 tasks on 2 workers (std: 100 threads) each lock, bump a
//!   counter, unlock, `MUTEX_EACH` times (wall / locks).
//! - `pingpong`: two tasks bounce a value over two capacity-1 channels
//!   (per round trip), on 1 and 2 workers (threads: pinned to 1 CPU, free
//!   on 2).
//! - `mpmc`: 4 producers and 4 consumers on 2 workers over one channel of
//!   capacity 64 (per value). tokio has no multi-consumer channel: its 4
//!   consumers share the `mpsc::Receiver` behind a `tokio::sync::Mutex`.
//!   may has no bounded channel: its `mpmc` is unbounded.

use super::{fmt, may_inside, med, per, ratio, report, run_rounds, tokio_inside, tokio_rt, Case};
use std::sync::Arc;
use std::time::Instant;

const LOCK_N: usize = 2_000_000;
const MUTEX_TASKS: usize = 100;
const MUTEX_EACH: usize = 2_000;
const PING_N: usize = 200_000;
const PING_N_THREAD: usize = 20_000;
const MPMC_N: usize = 400_000;
const MPMC_CAP: usize = 64;
const ROUNDS: usize = 9;

pub(crate) const CASES: [&str; 4] = ["lock", "mutex100", "pingpong", "mpmc"];

pub(crate) fn child(case: &str, who: &str, workers: usize) {
    let ns = match (case, who) {
        ("lock", "strands") => lock_strands(),
        ("lock", "tokio") => lock_tokio(),
        ("lock", "may") => lock_may(),
        ("lock", "std") => lock_std(),
        ("mutex100", "strands") => mutex_strands(workers),
        ("mutex100", "tokio") => mutex_tokio(workers),
        ("mutex100", "may") => mutex_may(),
        ("mutex100", "std") => mutex_std(),
        ("pingpong", "strands") => ping_strands(workers),
        ("pingpong", "tokio") => ping_tokio(workers),
        ("pingpong", "may") => ping_may(),
        ("pingpong", "std") => ping_std(workers),
        ("pingpong", "crossbeam") => ping_crossbeam(workers),
        ("mpmc", "strands") => mpmc_strands(workers),
        ("mpmc", "tokio") => mpmc_tokio(workers),
        ("mpmc", "may") => mpmc_may(),
        ("mpmc", "crossbeam") => mpmc_crossbeam(),
        _ => panic!("unknown case {case} {who}"),
    };
    report(&[("ns", ns)]);
}

fn strands_rt(workers: usize) -> strands::Runtime {
    super::strands_rt(workers)
}

fn pin_to_one_cpu() {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes
    // inside it; sched_setaffinity(0, ..) only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        assert_eq!(
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set),
            0
        );
    }
}

// lock

fn lock_strands() -> f64 {
    strands_rt(1).block_on(|| {
        let m = strands::sync::Mutex::new(0u64);
        let t = Instant::now();
        for _ in 0..LOCK_N {
            *std::hint::black_box(&m).lock().unwrap() += 1;
        }
        per(t.elapsed(), LOCK_N)
    })
}

fn lock_tokio() -> f64 {
    tokio_inside(&tokio_rt(1), async {
        let m = tokio::sync::Mutex::new(0u64);
        let t = Instant::now();
        for _ in 0..LOCK_N {
            *std::hint::black_box(&m).lock().await += 1;
        }
        per(t.elapsed(), LOCK_N)
    })
}

fn lock_may() -> f64 {
    may_inside(|| {
        let m = may::sync::Mutex::new(0u64);
        let t = Instant::now();
        for _ in 0..LOCK_N {
            *std::hint::black_box(&m).lock().unwrap() += 1;
        }
        per(t.elapsed(), LOCK_N)
    })
}

fn lock_std() -> f64 {
    let m = std::sync::Mutex::new(0u64);
    let t = Instant::now();
    for _ in 0..LOCK_N {
        *std::hint::black_box(&m).lock().unwrap() += 1;
    }
    per(t.elapsed(), LOCK_N)
}

// mutex100

fn mutex_strands(workers: usize) -> f64 {
    strands_rt(workers).block_on(|| {
        let m = Arc::new(strands::sync::Mutex::new(0usize));
        let t = Instant::now();
        let hs: Vec<_> = (0..MUTEX_TASKS)
            .map(|_| {
                let m = Arc::clone(&m);
                strands::spawn(move || (0..MUTEX_EACH).for_each(|_| *m.lock().unwrap() += 1))
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(*m.lock().unwrap(), MUTEX_TASKS * MUTEX_EACH);
        per(t.elapsed(), MUTEX_TASKS * MUTEX_EACH)
    })
}

fn mutex_tokio(workers: usize) -> f64 {
    tokio_inside(&tokio_rt(workers), async {
        let m = Arc::new(tokio::sync::Mutex::new(0usize));
        let t = Instant::now();
        let hs: Vec<_> = (0..MUTEX_TASKS)
            .map(|_| {
                let m = Arc::clone(&m);
                tokio::spawn(async move {
                    for _ in 0..MUTEX_EACH {
                        *m.lock().await += 1;
                    }
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
        assert_eq!(*m.lock().await, MUTEX_TASKS * MUTEX_EACH);
        per(t.elapsed(), MUTEX_TASKS * MUTEX_EACH)
    })
}

fn mutex_may() -> f64 {
    may_inside(|| {
        let m = Arc::new(may::sync::Mutex::new(0usize));
        let t = Instant::now();
        let hs: Vec<_> = (0..MUTEX_TASKS)
            .map(|_| {
                let m = Arc::clone(&m);
                may::go!(move || (0..MUTEX_EACH).for_each(|_| *m.lock().unwrap() += 1))
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(*m.lock().unwrap(), MUTEX_TASKS * MUTEX_EACH);
        per(t.elapsed(), MUTEX_TASKS * MUTEX_EACH)
    })
}

fn mutex_std() -> f64 {
    let m = Arc::new(std::sync::Mutex::new(0usize));
    let start = Arc::new(std::sync::Barrier::new(MUTEX_TASKS + 1));
    let hs: Vec<_> = (0..MUTEX_TASKS)
        .map(|_| {
            let (m, start) = (Arc::clone(&m), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                (0..MUTEX_EACH).for_each(|_| *m.lock().unwrap() += 1)
            })
        })
        .collect();
    start.wait(); // thread creation is not timed
    let t = Instant::now();
    hs.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(*m.lock().unwrap(), MUTEX_TASKS * MUTEX_EACH);
    per(t.elapsed(), MUTEX_TASKS * MUTEX_EACH)
}

// pingpong

fn ping_strands(workers: usize) -> f64 {
    strands_rt(workers).block_on(|| {
        let (tx1, rx1) = strands::channel::bounded::<usize>(1);
        let (tx2, rx2) = strands::channel::bounded::<usize>(1);
        let echo = strands::spawn(move || rx1.iter().for_each(|v| tx2.send(v).unwrap()));
        for i in 0..PING_N / 10 {
            tx1.send(i).unwrap();
            rx2.recv().unwrap();
        }
        let t = Instant::now();
        for i in 0..PING_N {
            tx1.send(i).unwrap();
            rx2.recv().unwrap();
        }
        let ns = per(t.elapsed(), PING_N);
        drop(tx1);
        echo.join().unwrap();
        ns
    })
}

fn ping_tokio(workers: usize) -> f64 {
    tokio_inside(&tokio_rt(workers), async {
        let (tx1, mut rx1) = tokio::sync::mpsc::channel::<usize>(1);
        let (tx2, mut rx2) = tokio::sync::mpsc::channel::<usize>(1);
        let echo = tokio::spawn(async move {
            while let Some(v) = rx1.recv().await {
                tx2.send(v).await.unwrap();
            }
        });
        for i in 0..PING_N / 10 {
            tx1.send(i).await.unwrap();
            rx2.recv().await.unwrap();
        }
        let t = Instant::now();
        for i in 0..PING_N {
            tx1.send(i).await.unwrap();
            rx2.recv().await.unwrap();
        }
        let ns = per(t.elapsed(), PING_N);
        drop(tx1);
        echo.await.unwrap();
        ns
    })
}

fn ping_may() -> f64 {
    may_inside(|| {
        let (tx1, rx1) = may::sync::mpsc::channel::<usize>();
        let (tx2, rx2) = may::sync::mpsc::channel::<usize>();
        let echo = may::go!(move || rx1.iter().for_each(|v| tx2.send(v).unwrap()));
        for i in 0..PING_N / 10 {
            tx1.send(i).unwrap();
            rx2.recv().unwrap();
        }
        let t = Instant::now();
        for i in 0..PING_N {
            tx1.send(i).unwrap();
            rx2.recv().unwrap();
        }
        let ns = per(t.elapsed(), PING_N);
        drop(tx1);
        echo.join().unwrap();
        ns
    })
}

fn ping_std(workers: usize) -> f64 {
    if workers == 1 {
        pin_to_one_cpu();
    }
    let (tx1, rx1) = std::sync::mpsc::sync_channel::<usize>(1);
    let (tx2, rx2) = std::sync::mpsc::sync_channel::<usize>(1);
    let echo = std::thread::spawn(move || rx1.iter().for_each(|v| tx2.send(v).unwrap()));
    let t = Instant::now();
    for i in 0..PING_N_THREAD {
        tx1.send(i).unwrap();
        rx2.recv().unwrap();
    }
    let ns = per(t.elapsed(), PING_N_THREAD);
    drop(tx1);
    echo.join().unwrap();
    ns
}

fn ping_crossbeam(workers: usize) -> f64 {
    if workers == 1 {
        pin_to_one_cpu();
    }
    let (tx1, rx1) = crossbeam_channel::bounded::<usize>(1);
    let (tx2, rx2) = crossbeam_channel::bounded::<usize>(1);
    let echo = std::thread::spawn(move || rx1.iter().for_each(|v| tx2.send(v).unwrap()));
    let t = Instant::now();
    for i in 0..PING_N_THREAD {
        tx1.send(i).unwrap();
        rx2.recv().unwrap();
    }
    let ns = per(t.elapsed(), PING_N_THREAD);
    drop(tx1);
    echo.join().unwrap();
    ns
}

// mpmc

fn mpmc_strands(workers: usize) -> f64 {
    strands_rt(workers).block_on(|| {
        let (tx, rx) = strands::channel::bounded::<usize>(MPMC_CAP);
        let t = Instant::now();
        let ps: Vec<_> = (0..4)
            .map(|_| {
                let tx = tx.clone();
                strands::spawn(move || (0..MPMC_N / 4).for_each(|i| tx.send(i).unwrap()))
            })
            .collect();
        drop(tx);
        let cs: Vec<_> = (0..4)
            .map(|_| {
                let rx = rx.clone();
                strands::spawn(move || rx.iter().count())
            })
            .collect();
        ps.into_iter().for_each(|h| h.join().unwrap());
        let n: usize = cs.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(n, MPMC_N);
        per(t.elapsed(), MPMC_N)
    })
}

fn mpmc_tokio(workers: usize) -> f64 {
    tokio_inside(&tokio_rt(workers), async {
        let (tx, rx) = tokio::sync::mpsc::channel::<usize>(MPMC_CAP);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let t = Instant::now();
        let ps: Vec<_> = (0..4)
            .map(|_| {
                let tx = tx.clone();
                tokio::spawn(async move {
                    for i in 0..MPMC_N / 4 {
                        tx.send(i).await.unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let cs: Vec<_> = (0..4)
            .map(|_| {
                let rx = Arc::clone(&rx);
                tokio::spawn(async move {
                    let mut n = 0;
                    while rx.lock().await.recv().await.is_some() {
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        for p in ps {
            p.await.unwrap();
        }
        let mut n = 0;
        for c in cs {
            n += c.await.unwrap();
        }
        assert_eq!(n, MPMC_N);
        per(t.elapsed(), MPMC_N)
    })
}

fn mpmc_may() -> f64 {
    may_inside(|| {
        let (tx, rx) = may::sync::mpmc::channel::<usize>();
        let t = Instant::now();
        let ps: Vec<_> = (0..4)
            .map(|_| {
                let tx = tx.clone();
                may::go!(move || (0..MPMC_N / 4).for_each(|i| tx.send(i).unwrap()))
            })
            .collect();
        drop(tx);
        let cs: Vec<_> = (0..4)
            .map(|_| {
                let rx = rx.clone();
                may::go!(move || rx.iter().count())
            })
            .collect();
        ps.into_iter().for_each(|h| h.join().unwrap());
        let n: usize = cs.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(n, MPMC_N);
        per(t.elapsed(), MPMC_N)
    })
}

fn mpmc_crossbeam() -> f64 {
    let (tx, rx) = crossbeam_channel::bounded::<usize>(MPMC_CAP);
    let t = Instant::now();
    let ps: Vec<_> = (0..4)
        .map(|_| {
            let tx = tx.clone();
            std::thread::spawn(move || (0..MPMC_N / 4).for_each(|i| tx.send(i).unwrap()))
        })
        .collect();
    drop(tx);
    let cs: Vec<_> = (0..4)
        .map(|_| {
            let rx = rx.clone();
            std::thread::spawn(move || rx.iter().count())
        })
        .collect();
    ps.into_iter().for_each(|h| h.join().unwrap());
    let n: usize = cs.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(n, MPMC_N);
    per(t.elapsed(), MPMC_N)
}

// parent

pub(crate) fn parent_section() {
    let mut cases = Vec::new();
    let mut add = |case: &'static str, whos: &[&'static str], workers: usize| {
        for &who in whos {
            cases.push(Case::new(case, who, workers));
        }
    };
    add("lock", &["strands", "tokio", "may", "std"], 1);
    add("mutex100", &["strands", "tokio", "may", "std"], 2);
    for w in [1, 2] {
        add(
            "pingpong",
            &["strands", "tokio", "may", "std", "crossbeam"],
            w,
        );
    }
    add("mpmc", &["strands", "tokio", "may", "crossbeam"], 2);
    eprintln!(
        "locks and channels: {ROUNDS} rounds of {} cases",
        cases.len()
    );
    let res = run_rounds(&cases, ROUNDS);
    let get = |case: &str, who: &str, w: usize| {
        cases
            .iter()
            .position(|c| c.case == case && c.who == who && c.workers == w)
            .and_then(|i| med(&res[i], "ns"))
    };
    println!();
    println!("5. locks and channels (median ns per operation; ratio = strands / peer, < 1 means strands is faster)");
    println!(
        "   {:<22} {:>9} {:>9} {:>9} {:>9} {:>10}   {:>7} {:>7} {:>7} {:>7}",
        "", "strands", "tokio", "may", "std", "crossbeam", "s/tokio", "s/may", "s/std", "s/xbeam"
    );
    let rows: [(&str, &str, usize); 5] = [
        ("lock", "uncontended lock+unlock", 1),
        ("mutex100", "mutex, 100 tasks, 2 w", 2),
        ("pingpong", "ping-pong RTT, 1 w", 1),
        ("pingpong", "ping-pong RTT, 2 w", 2),
        ("mpmc", "bounded(64) 4x4, 2 w", 2),
    ];
    // "-": no such contender for this case; "failed": its child failed
    let cell = |case: &str, who: &str, w: usize| {
        let known = cases
            .iter()
            .any(|c| c.case == case && c.who == who && c.workers == w);
        if known {
            fmt(get(case, who, w), "ns")
        } else {
            "-".to_string()
        }
    };
    for (case, label, w) in rows {
        let s = get(case, "strands", w);
        let peers = ["tokio", "may", "std", "crossbeam"].map(|p| get(case, p, w));
        println!(
            "   {:<22} {:>9} {:>9} {:>9} {:>9} {:>10}   {:>7} {:>7} {:>7} {:>7}",
            label,
            cell(case, "strands", w),
            cell(case, "tokio", w),
            cell(case, "may", w),
            cell(case, "std", w),
            cell(case, "crossbeam", w),
            ratio(s, peers[0]),
            ratio(s, peers[1]),
            ratio(s, peers[2]),
            ratio(s, peers[3]),
        );
    }
    for (c, r) in cases.iter().zip(&res) {
        if let Err(e) = r {
            println!("   {} {} ({} w) failed: {e}", c.case, c.who, c.workers);
        }
    }
    println!("   (tokio: current_thread for 1 w, multi_thread for 2; its 4x4 consumers share one mpsc receiver behind a");
    println!("    tokio Mutex (tokio has no MPMC channel); may's mpmc channel is unbounded; std/crossbeam: OS threads,");
    println!("    1 w = process pinned to one CPU; capacity-1 channels for ping-pong, may's are unbounded;");
    println!(
        "    std's 100 threads mostly run their loops in separate time slices, barely contending)"
    );
}
