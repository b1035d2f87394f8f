//! Locks and channels (`cargo bench --bench sync`). The comparison with
//! tokio, may and std/crossbeam is `benches/peers/runtime` (`-- sync`).
//!
//! - `mutex/uncontended`: lock + unlock, one caller (a plain thread).
//! - `mutex/uncontended_strand`: the same in a strand (which records
//!   itself as the holder, for the watchdog's deadlock check).
//! - `mutex/contended_100x2`: 100 strands on 2 workers each lock, bump a
//!   counter, unlock; time per lock.
//! - `channel/ping_pong_w1`, `_w2`: two strands bounce a value over two
//!   `bounded(1)` channels on 1 (and 2) workers; time per round trip.
//! - `channel/throughput_4x4`: 4 producer and 4 consumer strands on 2
//!   workers over one `bounded(64)`; time per value.

#![allow(missing_docs)] // criterion's macros generate undocumented items

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};
use strands::channel;
use strands::sync::Mutex;

fn rt(workers: usize) -> strands::Runtime {
    strands::Runtime::builder()
        .workers(workers)
        .build()
        .unwrap()
}

fn mutex(c: &mut Criterion) {
    let mut g = c.benchmark_group("mutex");
    let m = Mutex::new(0u64);
    g.bench_function("uncontended", |b| {
        b.iter(|| *black_box(&m).lock().unwrap() += 1)
    });
    // no watchdog: the loop holds its worker for the whole measurement
    let rt1 = strands::Runtime::builder()
        .workers(1)
        .watchdog(None)
        .build()
        .unwrap();
    g.bench_function("uncontended_strand", |b| {
        b.iter_custom(|iters| {
            rt1.block_on(move || {
                let m = Mutex::new(0u64);
                let t = Instant::now();
                for _ in 0..iters {
                    *black_box(&m).lock().unwrap() += 1;
                }
                t.elapsed()
            })
        })
    });
    let rt2 = rt(2);
    g.bench_function("contended_100x2", |b| {
        b.iter_custom(|iters| {
            rt2.block_on(move || {
                let per = iters.div_ceil(100);
                let m = Arc::new(Mutex::new(0u64));
                let t = Instant::now();
                let hs: Vec<_> = (0..100)
                    .map(|_| {
                        let m = Arc::clone(&m);
                        strands::spawn(move || {
                            for _ in 0..per {
                                *m.lock().unwrap() += 1;
                            }
                        })
                    })
                    .collect();
                hs.into_iter().for_each(|h| h.join().unwrap());
                t.elapsed().mul_f64(iters as f64 / (per * 100) as f64)
            })
        })
    });
    g.finish();
}

fn ping_pong(rt: &strands::Runtime, iters: u64) -> Duration {
    rt.block_on(move || {
        let (tx1, rx1) = channel::bounded::<u64>(1);
        let (tx2, rx2) = channel::bounded::<u64>(1);
        let echo = strands::spawn(move || {
            for v in rx1.iter() {
                tx2.send(v).unwrap();
            }
        });
        let t = Instant::now();
        for i in 0..iters {
            tx1.send(i).unwrap();
            black_box(rx2.recv().unwrap());
        }
        let d = t.elapsed();
        drop(tx1);
        echo.join().unwrap();
        d
    })
}

fn channels(c: &mut Criterion) {
    let mut g = c.benchmark_group("channel");
    let (rt1, rt2) = (rt(1), rt(2));
    g.bench_function("ping_pong_w1", |b| b.iter_custom(|n| ping_pong(&rt1, n)));
    g.bench_function("ping_pong_w2", |b| b.iter_custom(|n| ping_pong(&rt2, n)));
    g.bench_function("throughput_4x4", |b| {
        b.iter_custom(|iters| {
            rt2.block_on(move || {
                let per = iters.div_ceil(4);
                let (tx, rx) = channel::bounded::<u64>(64);
                let t = Instant::now();
                let ps: Vec<_> = (0..4)
                    .map(|_| {
                        let tx = tx.clone();
                        strands::spawn(move || (0..per).for_each(|i| tx.send(i).unwrap()))
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
                assert_eq!(n as u64, per * 4);
                t.elapsed().mul_f64(iters as f64 / (per * 4) as f64)
            })
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = mutex, channels
}
criterion_main!(benches);
