//! Context switches and short-lived strands, for the backend this build
//! uses (`cargo bench --bench switch`, and again with `--features ucontext`).
//!
//! - `raw/one_way_switch`: one switch between two contexts, no scheduler
//!   (half of a round trip).
//! - `raw/create_run_drop`: a stack from the pool, a fresh context on it,
//!   run to completion, stack returned.
//! - `runtime/yield_one_way`: two strands yielding to each other on one
//!   worker; the time per yield (each passes through the worker).
//! - `runtime/spawn_join`: spawn a strand and join it, one worker.

#![allow(missing_docs)] // criterion's macros generate undocumented items

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn raw(c: &mut Criterion) {
    let mut g = c.benchmark_group(format!("raw/{}", strands::BACKEND));
    let mut pp = strands::__bench::PingPong::new().unwrap();
    g.bench_function("one_way_switch", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            for _ in 0..iters.div_ceil(2) {
                pp.round_trip();
            }
            t.elapsed()
        })
    });
    let one = strands::__bench::Oneshot::new(64 * 1024).unwrap();
    g.bench_function("create_run_drop", |b| {
        b.iter(|| one.run(Box::new(|| black_box(()))).unwrap())
    });
    g.finish();
}

fn runtime(c: &mut Criterion) {
    let mut g = c.benchmark_group(format!("runtime/{}", strands::BACKEND));
    let rt = strands::Runtime::builder().workers(1).build().unwrap();
    g.bench_function("yield_one_way", |b| {
        b.iter_custom(|iters| {
            rt.block_on(|| {
                let per = iters / 2 + 1;
                let other = strands::spawn(move || {
                    for _ in 0..per {
                        strands::yield_now();
                    }
                });
                let t = Instant::now();
                for _ in 0..per {
                    strands::yield_now();
                }
                let d = t.elapsed();
                other.join().unwrap();
                // `per` yields from each side: 2 * per switches happened
                d.mul_f64(iters as f64 / (2 * per) as f64)
            })
        })
    });
    // one park and one wake per iteration: the parked side is woken by
    // `unpark` and parks again once the waker yields to it
    g.bench_function("park_wake", |b| {
        b.iter_custom(|iters| {
            rt.block_on(|| {
                let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
                let s = std::sync::Arc::clone(&stop);
                let parked = strands::spawn(move || {
                    while !s.load(std::sync::atomic::Ordering::Relaxed) {
                        strands::park();
                    }
                });
                strands::yield_now(); // it parks
                let t = Instant::now();
                for _ in 0..iters {
                    parked.strand().unpark();
                    strands::yield_now();
                }
                let d = t.elapsed();
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                parked.strand().unpark();
                parked.join().unwrap();
                d
            })
        })
    });
    g.bench_function("spawn_join", |b| {
        b.iter_custom(|iters| {
            rt.block_on(|| {
                let t = Instant::now();
                for i in 0..iters {
                    black_box(strands::spawn(move || i).join().unwrap());
                }
                t.elapsed()
            })
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = raw, runtime
}
criterion_main!(benches);
