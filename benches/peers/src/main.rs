//! strands against its peers, in one process: corosensei and generator.
//!
//! Measures, for each library, the one-way context switch (a resume/yield
//! round trip halved) and the create + run to completion + drop of a
//! coroutine, plus a "limit": a call that saves and restores exactly the
//! state strands' x86_64 switch saves, without changing stacks.
//!
//! Method: every contender is calibrated to a batch of N iterations taking
//! about `TARGET` and warmed up; then `SAMPLES` rounds run every contender's
//! batch once, round-robin with a rotating start, so that noise on the
//! machine falls on all of them alike. The median per-operation time over
//! the rounds is reported, with the half interquartile range as a spread.
//!
//! See README.md beside Cargo.toml for how to run it.

use std::hint::black_box;
use std::io;
use std::time::{Duration, Instant};

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};
use generator::Gn;
use strands::__bench::{Oneshot, PingPong};

/// Stack size given to every library, so that they map and touch alike.
const STACK: usize = 64 * 1024;
/// The generator crate sizes stacks in machine words.
const GEN_WORDS: usize = STACK / std::mem::size_of::<usize>();
/// Rounds of samples; the median is reported.
const SAMPLES: usize = 21;
/// Wall time aimed at for one batch (one sample of one contender).
const TARGET: Duration = Duration::from_millis(25);

// ---------------------------------------------------------------------------
// The limit: saving and restoring the switch's state on one stack.

/// Pushes and pops the callee-saved registers, stores and reloads MXCSR and
/// the x87 control word, and stores the stack pointer to `*slot` and loads it
/// back: the work of `strands_switch` on x86_64 minus the change of stack.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
unsafe extern "C" fn limit_save_restore(slot: *mut usize) {
    core::arch::naked_asm!(
        "push rbp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "sub rsp, 8",
        "stmxcsr [rsp]",
        "fnstcw [rsp + 4]",
        "mov [rdi], rsp",
        "mov rsp, [rdi]",
        "ldmxcsr [rsp]",
        "fldcw [rsp + 4]",
        "add rsp, 8",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
    )
}

/// The same without MXCSR and the x87 control word, which neither
/// corosensei nor generator saves: shows what those two cost.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
unsafe extern "C" fn limit_gpr_only(slot: *mut usize) {
    core::arch::naked_asm!(
        "push rbp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "mov [rdi], rsp",
        "mov rsp, [rdi]",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
    )
}

// ---------------------------------------------------------------------------
// Contenders.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Switch,
    SwitchGprOnly,
    CreatePooled,
    CreateFresh,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lib {
    Strands,
    Corosensei,
    Generator,
    Limit,
}

const LIBS: [Lib; 4] = [Lib::Strands, Lib::Corosensei, Lib::Generator, Lib::Limit];

impl Lib {
    fn name(self) -> &'static str {
        match self {
            Lib::Strands => "strands",
            Lib::Corosensei => "corosensei",
            Lib::Generator => "generator",
            Lib::Limit => "limit",
        }
    }
}

struct Contender {
    op: Op,
    lib: Lib,
    /// Operations per iteration: a round trip is two one-way switches.
    ops_per_iter: u64,
    /// Runs `n` iterations and returns the wall time they took.
    batch: Box<dyn FnMut(u64) -> Duration>,
    iters: u64,
    samples: Vec<f64>,
}

impl Contender {
    fn new(op: Op, lib: Lib, ops_per_iter: u64, batch: Box<dyn FnMut(u64) -> Duration>) -> Self {
        Contender { op, lib, ops_per_iter, batch, iters: 1, samples: Vec::new() }
    }

    /// Finds N so that a batch takes about TARGET; this also warms up.
    fn calibrate(&mut self) {
        let mut n = 1u64;
        loop {
            let t = (self.batch)(n);
            if t >= TARGET / 8 || n >= 1 << 40 {
                let scale = TARGET.as_secs_f64() / t.as_secs_f64().max(1e-9);
                self.iters = ((n as f64 * scale) as u64).max(1);
                break;
            }
            n *= 2;
        }
        // One full-size batch more, to settle caches, TLB and the allocator.
        (self.batch)(self.iters);
    }

    fn sample(&mut self) {
        let t = (self.batch)(self.iters);
        self.samples.push(t.as_secs_f64() * 1e9 / (self.iters * self.ops_per_iter) as f64);
    }

    /// (median, half interquartile range) in ns per operation.
    fn stats(&self) -> (f64, f64) {
        let mut s = self.samples.clone();
        s.sort_by(|a, b| a.total_cmp(b));
        let q = |p: f64| s[((s.len() - 1) as f64 * p).round() as usize];
        (q(0.5), (q(0.75) - q(0.25)) / 2.0)
    }
}

fn timed(n: u64, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed()
}

fn contenders() -> io::Result<Vec<Contender>> {
    let mut v = Vec::new();

    // --- one-way switch: a resume/yield round trip, counted as 2 ---------

    let mut pp = PingPong::new()?;
    v.push(Contender::new(Op::Switch, Lib::Strands, 2, Box::new(move |n| {
        timed(n, || pp.round_trip())
    })));

    let mut co: Coroutine<(), (), (), DefaultStack> =
        Coroutine::with_stack(DefaultStack::new(STACK)?, |y: &Yielder<(), ()>, ()| loop {
            y.suspend(());
        });
    v.push(Contender::new(Op::Switch, Lib::Corosensei, 2, Box::new(move |n| {
        timed(n, || {
            black_box(co.resume(()));
        })
    })));

    let mut g = Gn::<()>::new_scoped_opt(GEN_WORDS, |mut s| loop {
        s.yield_(());
    });
    v.push(Contender::new(Op::Switch, Lib::Generator, 2, Box::new(move |n| {
        timed(n, || {
            black_box(g.resume());
        })
    })));

    #[cfg(target_arch = "x86_64")]
    {
        let mut slot = 0usize;
        v.push(Contender::new(Op::Switch, Lib::Limit, 1, Box::new(move |n| {
            // SAFETY: the function restores everything it touches; `slot`
            // is a live, writable word.
            timed(n, || unsafe { limit_save_restore(&mut slot) })
        })));
        let mut slot = 0usize;
        v.push(Contender::new(Op::SwitchGprOnly, Lib::Limit, 1, Box::new(move |n| {
            // SAFETY: as above.
            timed(n, || unsafe { limit_gpr_only(&mut slot) })
        })));
    }

    // --- create + run to completion + drop, stack pooled or reused -------

    let oneshot = Oneshot::new(STACK)?;
    v.push(Contender::new(Op::CreatePooled, Lib::Strands, 1, Box::new(move |n| {
        timed(n, || {
            oneshot
                .run(Box::new(|| {
                    black_box(());
                }))
                .expect("strands: no stack");
        })
    })));

    let mut kept = Some(DefaultStack::new(STACK)?);
    v.push(Contender::new(Op::CreatePooled, Lib::Corosensei, 1, Box::new(move |n| {
        timed(n, || {
            let stack = kept.take().expect("stack kept");
            let mut c = Coroutine::with_stack(stack, |_: &Yielder<(), ()>, ()| {
                black_box(());
            });
            let r = c.resume(());
            debug_assert!(matches!(r, CoroutineResult::Return(())));
            kept = Some(c.into_stack());
        })
    })));

    // --- create + run to completion + drop, a new mmapped stack each -----

    v.push(Contender::new(Op::CreateFresh, Lib::Corosensei, 1, Box::new(move |n| {
        timed(n, || {
            let stack = DefaultStack::new(STACK).expect("corosensei: mmap");
            let mut c = Coroutine::with_stack(stack, |_: &Yielder<(), ()>, ()| {
                black_box(());
            });
            black_box(c.resume(()));
            drop(c);
        })
    })));

    v.push(Contender::new(Op::CreateFresh, Lib::Generator, 1, Box::new(move |n| {
        timed(n, || {
            let mut g = Gn::<()>::new_scoped_opt(GEN_WORDS, |_s| {
                black_box(());
            });
            black_box(g.resume());
            debug_assert!(g.is_done());
            drop(g);
        })
    })));

    Ok(v)
}

/// Checks once that every create/run/drop contender really runs its body.
fn sanity() -> io::Result<()> {
    use std::cell::Cell;
    use std::rc::Rc;
    let hits = Rc::new(Cell::new(0));
    let h = hits.clone();
    Oneshot::new(STACK)?.run(Box::new(move || h.set(h.get() + 1)))?;
    assert_eq!(hits.get(), 1, "strands oneshot did not run");

    let mut c = Coroutine::with_stack(DefaultStack::new(STACK)?, |_: &Yielder<(), ()>, ()| 7);
    assert!(matches!(c.resume(()), CoroutineResult::Return(7)));
    let _reusable: DefaultStack = c.into_stack();

    // Every resume really goes round: the bodies count their laps.
    let laps = Rc::new(Cell::new(0u32));
    let l = laps.clone();
    let mut c = Coroutine::with_stack(DefaultStack::new(STACK)?, move |y: &Yielder<(), ()>, ()| loop {
        l.set(l.get() + 1);
        y.suspend(());
    });
    for _ in 0..1000 {
        c.resume(());
    }
    assert_eq!(laps.get(), 1000, "corosensei laps");
    let glaps = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let gl = glaps.clone();
    let mut g = Gn::<()>::new_scoped_opt(GEN_WORDS, move |mut s| loop {
        gl.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        s.yield_(());
    });
    for _ in 0..1000 {
        g.resume();
    }
    assert_eq!(glaps.load(std::sync::atomic::Ordering::Relaxed), 1000, "generator laps");
    drop(g);

    let mut g = Gn::<()>::new_scoped_opt(GEN_WORDS, |_s| 7u32);
    let _ = g.resume();
    assert!(g.is_done(), "generator did not finish in one resume");
    Ok(())
}

// ---------------------------------------------------------------------------
// Report.

fn op_label(op: Op) -> &'static str {
    match op {
        Op::Switch => "one-way switch",
        Op::SwitchGprOnly => "  limit without MXCSR/x87 CW",
        Op::CreatePooled => "create+run+drop, stack pooled/reused",
        Op::CreateFresh => "create+run+drop, new mmap stack each",
    }
}

fn main() -> io::Result<()> {
    sanity()?;
    let start = Instant::now();
    let mut all = contenders()?;
    for c in all.iter_mut() {
        c.calibrate();
    }
    for round in 0..SAMPLES {
        let k = all.len();
        for i in 0..k {
            all[(round + i) % k].sample();
        }
    }

    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "?".into());
    println!(
        "strands peers | backend: {} | {} | {} | cpus: {}",
        strands::__bench::backend(),
        std::env::consts::ARCH,
        cpu,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    println!(
        "median of {SAMPLES} interleaved samples (~{} ms each), ns per operation, ± half IQR as % of median",
        TARGET.as_millis()
    );
    println!("stack {} KiB for every library", STACK / 1024);
    println!();

    let find = |op: Op, lib: Lib| all.iter().find(|c| c.op == op && c.lib == lib);
    let med = |op: Op, lib: Lib| find(op, lib).map(|c| c.stats().0);
    let cell = |op: Op, lib: Lib| match find(op, lib) {
        Some(c) => {
            let (m, h) = c.stats();
            let pct = 100.0 * h / m;
            if m >= 1000.0 {
                format!("{m:.0} ±{pct:.0}%")
            } else if m >= 100.0 {
                format!("{m:.1} ±{pct:.0}%")
            } else {
                format!("{m:.2} ±{pct:.0}%")
            }
        }
        None => "n/a".to_string(),
    };
    print!("{:<38}", "operation (ns)");
    for lib in LIBS {
        print!("{:>17}", lib.name());
    }
    println!();
    for op in [Op::Switch, Op::SwitchGprOnly, Op::CreatePooled, Op::CreateFresh] {
        print!("{:<38}", op_label(op));
        for lib in LIBS {
            print!("{:>17}", cell(op, lib));
        }
        println!();
    }
    println!();
    println!("limit = call saving/restoring strands' switch state on one stack (no swap);");
    println!("neither corosensei nor generator saves MXCSR or the x87 control word.");
    println!("corosensei pooled/reused = one DefaultStack handed back by into_stack and reused;");
    println!("fresh = DefaultStack::new (mmap+mprotect, munmap on drop), as Coroutine::new does;");
    println!("generator has no stack reuse: every Gn::new_scoped_opt maps a stack.");
    println!();

    println!("ratios (strands / peer; < 1 means strands is faster)");
    let ratio = |label: &str, a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if a / b < 0.1 => println!("  {label:<58} {:>7.4}x", a / b),
        (Some(a), Some(b)) => println!("  {label:<58} {:>7.2}x", a / b),
        _ => println!("  {label:<58} {:>7}", "n/a"),
    };
    let s_sw = med(Op::Switch, Lib::Strands);
    let s_cr = med(Op::CreatePooled, Lib::Strands);
    ratio("switch:  strands vs corosensei", s_sw, med(Op::Switch, Lib::Corosensei));
    ratio("switch:  strands vs generator", s_sw, med(Op::Switch, Lib::Generator));
    ratio("switch:  strands vs limit (same state saved, no stack swap)", s_sw, med(Op::Switch, Lib::Limit));
    ratio("create:  strands pooled vs corosensei reused stack", s_cr, med(Op::CreatePooled, Lib::Corosensei));
    ratio("create:  strands pooled vs corosensei new stack", s_cr, med(Op::CreateFresh, Lib::Corosensei));
    ratio("create:  strands pooled vs generator new stack", s_cr, med(Op::CreateFresh, Lib::Generator));
    println!();
    println!("measured in {:.1} s", start.elapsed().as_secs_f64());

    // `--tsv <file>`: the medians as rows `chart<TAB>series<TAB>x<TAB>ns`
    // for `benches/peers/plot`.
    let args: Vec<String> = std::env::args().collect();
    if let Some(path) = args.iter().position(|a| a == "--tsv").and_then(|i| args.get(i + 1)) {
        let mut tsv = String::new();
        for (op, x) in [
            (Op::Switch, "one-way switch"),
            (Op::CreatePooled, "create+run+drop, pooled stack"),
            (Op::CreateFresh, "create+run+drop, new stack"),
        ] {
            for lib in LIBS {
                if let Some(m) = med(op, lib) {
                    tsv += &format!("switch\t{}\t{x}\t{m}\n", lib.name());
                }
            }
        }
        std::fs::write(path, tsv)?;
        eprintln!("wrote {path}");
    }
    Ok(())
}
