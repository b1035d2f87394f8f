//! A plan of 10 trivial parts against 10 bare spawn + join: median time per
//! round over many rounds, interleaved, on one runtime.
//!
//! ```text
//! cargo run --release --example plan_bench [rounds] [workers]
//! ```

use std::time::{Duration, Instant};
use strands::join::{JoinMode, Need, Part};

const PARTS: usize = 10;

fn median(v: &mut [Duration]) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let workers: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(2);
    let rt = strands::Runtime::builder()
        .workers(workers)
        .build()
        .unwrap();
    rt.block_on(|| {
        let bare = || {
            let hs: Vec<_> = (0..PARTS)
                .map(|i| strands::spawn(move || std::hint::black_box(i)))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum::<usize>()
        };
        // the plan's skeleton by hand: each strand reports on a channel,
        // the caller reads the reports and joins (the floor of this design)
        let reported = || {
            let (tx, rx) = strands::channel::unbounded();
            let mut hs: Vec<_> = (0..PARTS)
                .map(|i| {
                    let tx = tx.clone();
                    Some(strands::spawn(move || {
                        let _ = tx.send((i, std::hint::black_box(i)));
                    }))
                })
                .collect();
            let mut sum = 0;
            for _ in 0..PARTS {
                let (i, v) = rx.recv().unwrap();
                hs[i].take().unwrap().join().unwrap();
                sum += v;
            }
            sum
        };
        let plan = || {
            let mut need = Need::new(JoinMode::All);
            for i in 0..PARTS {
                need = need.part(Part::required("p", move || {
                    Ok::<_, ()>(std::hint::black_box(i))
                }));
            }
            let o = need.run();
            assert!(o.is_success());
            o.parts().len()
        };
        let plan_limited = || {
            let mut need = Need::new(JoinMode::FirstSuccess).limit(10);
            for i in 0..PARTS {
                need = need.part(Part::required("p", move || {
                    Ok::<_, ()>(std::hint::black_box(i))
                }));
            }
            need.run().parts().len()
        };
        // warm up (stacks pooled, allocator warm)
        for _ in 0..1000 {
            bare();
            plan();
        }
        if std::env::var_os("PLAN_ONLY").is_some() {
            for _ in 0..rounds {
                std::hint::black_box(plan());
            }
            return;
        }
        let (mut tb, mut tp, mut tf, mut tr) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let t = Instant::now();
            std::hint::black_box(bare());
            tb.push(t.elapsed());
            let t = Instant::now();
            std::hint::black_box(reported());
            tr.push(t.elapsed());
            let t = Instant::now();
            std::hint::black_box(plan());
            tp.push(t.elapsed());
            let t = Instant::now();
            std::hint::black_box(plan_limited());
            tf.push(t.elapsed());
        }
        let (b, p, f, r) = (
            median(&mut tb),
            median(&mut tp),
            median(&mut tf),
            median(&mut tr),
        );
        println!("{rounds} rounds, {workers} workers, {PARTS} trivial parts, medians per round:");
        println!("  10 x spawn + join          {:>10.2?}", b);
        println!(
            "  by hand: channel reports   {:>10.2?}  ({:.2}x)",
            r,
            r.as_secs_f64() / b.as_secs_f64()
        );
        println!(
            "  Need::All, 10 parts        {:>10.2?}  ({:.2}x)",
            p,
            p.as_secs_f64() / b.as_secs_f64()
        );
        println!(
            "  Need::FirstSuccess, limit  {:>10.2?}  ({:.2}x)",
            f,
            f.as_secs_f64() / b.as_secs_f64()
        );
    });
}
