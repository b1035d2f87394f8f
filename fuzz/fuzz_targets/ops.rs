//! Differential fuzzing of the strands runtime against a plain-Rust model.
//!
//! The input decodes (through `arbitrary`) into a runtime configuration and a
//! flat list of operations, which are parsed into a small tree-shaped
//! program: `Spawn` opens the body of a new strand and `Grow` the body of a
//! `strands::grow` call, `End` closes the innermost open body (returning a
//! value or panicking), and `Yield`, `Join`, `Detach` and `WaitFinished` act
//! on the handles the current strand holds. Bodies still open at the end of
//! the input return 0.
//!
//! Before anything runs, a reference model (`eval_body`, plain Rust, no
//! strands) predicts every strand's outcome (its value, or which panic), which
//! spawns fail (exactly those with a stack size outside
//! `MIN_STACK_SIZE..=MAX_STACK_SIZE`) and how many strands get spawned. The
//! program then runs on a runtime with 1 or 2 workers, and every observation
//! is checked against the prediction:
//!
//! - each `join` returns the predicted value, or the predicted panic payload;
//! - `Builder::spawn` fails with `SpawnError::Io(InvalidInput)` exactly for
//!   invalid stack sizes, and the names of strands are what was asked for;
//! - `grow` panics exactly when a segment is needed and its size is invalid;
//! - `is_finished` becomes true while the waiter yields;
//! - once everything is joined (or detached and finished), the runtime's
//!   metrics show no live strand, no live stack, and the predicted number of
//!   spawns; and dropping the runtime returns.
//!
//! Each spawn also picks a priority, a deadline (none, passed, soon, far)
//! and whether the strand is migratable: they change the order strands run
//! in (and, on two workers, where), never what they compute.
//!
//! With `drop_early` the runtime is dropped while detached strands may still
//! run; their spawns may then answer `SpawnError::ShutDown` (documented), and
//! a strand spawned by a strand meanwhile is cancelled before it starts
//! (documented too). A strand that saw either (or joined one that did) is
//! *tainted*: its value is no longer checked, only whether it panicked,
//! which stays deterministic.
//!
//! Panics are expected, so a panic hook silences exactly the payloads the
//! program asks for (`FuzzPanic` and grow's "no stack segment"); any other
//! panic still reaches libFuzzer's hook and aborts.
//!
//! Bounds: at most 64 spawns, 16 yields per operation, 6 nested bodies and
//! 256 operations, so an input runs in about a millisecond.

#![no_main]
// Only to know whether AddressSanitizer is on (see `asan` below); cargo-fuzz
// needs nightly flags anyway (RUSTC_BOOTSTRAP=1 on stable).
#![feature(cfg_sanitize)]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};
use strands::{Builder, Handle, JoinError, JoinHandle, Priority, Runtime, SpawnError, StackGuard};
use strands::{DEFAULT_STACK_SIZE, MAX_STACK_SIZE, MIN_STACK_SIZE};

const MAX_SPAWNS: usize = 64;
const MAX_YIELDS: u8 = 16;
const MAX_DEPTH: usize = 6;
const MAX_OPS: usize = 256;
/// How long a wait for something the runtime must eventually do may take
/// before it counts as a failure.
const PATIENCE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------- input

#[derive(Arbitrary, Debug)]
struct Input {
    config: Config,
    ops: Vec<RawOp>,
}

#[derive(Arbitrary, Debug)]
struct Config {
    two_workers: bool,
    guard: GuardSel,
    stack: RtStackSel,
    /// Run the root body on the fuzzer's own thread, spawning onto the
    /// runtime through its handle, instead of in `block_on`.
    root_on_thread: bool,
    /// Drop the runtime as soon as the root body is done, while detached
    /// strands may still run (shutdown must let them finish).
    drop_early: bool,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum GuardSel {
    Auto,
    GuardInstall,
    Mprotect,
    Canary,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum RtStackSel {
    Min,
    K64,
    Default,
    Zero,
    AboveMax,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum StackSel {
    Inherit,
    Zero,
    One,
    BelowMin,
    Min,
    MinPlusOne,
    K64,
    K256,
    M1,
    Max,
    AboveMax,
    Huge,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum RedZone {
    Zero,
    K1,
    K8,
    K32,
    K128,
    Always,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum RawOp {
    Spawn { name: Option<u8>, stack: StackSel, sched: u8 },
    End { panic: bool, value: u16 },
    Yield(u8),
    Join(u8),
    Detach(u8),
    WaitFinished(u8),
    Grow { red_zone: RedZone, size: StackSel },
}

impl StackSel {
    fn bytes(self) -> Option<usize> {
        Some(match self {
            StackSel::Inherit => return None,
            StackSel::Zero => 0,
            StackSel::One => 1,
            StackSel::BelowMin => MIN_STACK_SIZE - 1,
            StackSel::Min => MIN_STACK_SIZE,
            StackSel::MinPlusOne => MIN_STACK_SIZE + 1,
            StackSel::K64 => 64 << 10,
            StackSel::K256 => 256 << 10,
            StackSel::M1 => 1 << 20,
            StackSel::Max => MAX_STACK_SIZE,
            StackSel::AboveMax => MAX_STACK_SIZE + 1,
            StackSel::Huge => usize::MAX,
        })
    }
}

fn valid_size(bytes: usize) -> bool {
    (MIN_STACK_SIZE..=MAX_STACK_SIZE).contains(&bytes)
}

// ---------------------------------------------------------------- program

/// A strand (or grow segment) body: steps, then an ending.
#[derive(Debug)]
struct Body {
    /// Initial accumulator, distinct per body.
    seed: u64,
    steps: Vec<Step>,
    end: End,
}

#[derive(Debug, Clone, Copy)]
enum End {
    Return(u16),
    Panic(u32),
}

#[derive(Debug)]
enum Step {
    Spawn(Arc<Child>),
    Yield(u8),
    Join(u8),
    Detach(u8),
    WaitFinished(u8),
    Grow { red_zone: usize, size: usize, body: Body },
}

/// A strand to spawn, with what the model predicts for it.
#[derive(Debug)]
struct Child {
    name: Option<String>,
    stack: Option<usize>,
    /// Priority, deadline and migratability (see `spawn_child`): they
    /// change the order strands run in, never their outcomes.
    sched: u8,
    /// Whether spawning must succeed.
    valid: bool,
    body: Body,
    /// The outcome of running `body` as a strand.
    expect: Outcome,
    /// Successful spawns `body` makes, transitively.
    spawns: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Value(u64),
    Panic(PanicKind),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PanicKind {
    /// `panic_any(FuzzPanic(id))` from an `End { panic: true }`.
    Fuzz(u32),
    /// `grow` could not get a segment.
    GrowFailed,
    /// Anything else: never expected.
    Other(String),
}

/// The payload of the panics the program asks for.
#[derive(Debug)]
struct FuzzPanic(u32);

const GROW_FAILED: &str = "strands::grow: no stack segment";

fn mix(acc: u64, x: u64) -> u64 {
    (acc ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29)
}

fn outcome_word(o: &Outcome) -> u64 {
    match o {
        Outcome::Value(v) => *v,
        Outcome::Panic(PanicKind::Fuzz(id)) => 0xDEAD_0000_0000 | u64::from(*id),
        Outcome::Panic(PanicKind::GrowFailed) => 0xBAD_6,
        Outcome::Panic(PanicKind::Other(_)) => 0xFFFF,
    }
}

fn strand_name(n: u8, index: usize) -> String {
    match n {
        0 => String::new(),
        1 => "nul\0inside".to_string(),
        2 => "ünïcødé-strand".to_string(),
        255 => "x".repeat(300),
        _ => format!("s{n}-{index}"),
    }
}

enum FrameKind {
    Root,
    Strand { name: Option<String>, stack: Option<usize>, sched: u8 },
    Grow { red_zone: usize, size: usize },
}

struct Frame {
    kind: FrameKind,
    seed: u64,
    steps: Vec<Step>,
}

/// Parses the flat operations into the root body, evaluating each strand
/// with the model as soon as its body is complete.
fn parse(ops: &[RawOp]) -> Body {
    let mut frames = vec![Frame {
        kind: FrameKind::Root,
        seed: 0x5EED,
        steps: Vec::new(),
    }];
    let mut spawns = 0usize;
    let mut ends = 0u32;
    let mut grows = 0u64;
    for op in ops.iter().take(MAX_OPS) {
        let depth_ok = frames.len() <= MAX_DEPTH;
        let top = frames.last_mut().unwrap();
        match *op {
            RawOp::Spawn { name, stack, sched } => {
                if spawns < MAX_SPAWNS && depth_ok {
                    spawns += 1;
                    frames.push(Frame {
                        kind: FrameKind::Strand {
                            name: name.map(|n| strand_name(n, spawns)),
                            stack: stack.bytes(),
                            sched,
                        },
                        seed: spawns as u64,
                        steps: Vec::new(),
                    });
                }
            }
            RawOp::Grow { red_zone, size } => {
                if depth_ok {
                    let size = size.bytes().unwrap_or(DEFAULT_STACK_SIZE);
                    let mut red_zone = match red_zone {
                        RedZone::Zero => 0,
                        RedZone::K1 => 1 << 10,
                        RedZone::K8 => 8 << 10,
                        RedZone::K32 => 32 << 10,
                        RedZone::K128 => 128 << 10,
                        RedZone::Always => usize::MAX,
                    };
                    // Whether an intermediate red zone needs a segment
                    // depends on the stack depth, which the model does not
                    // know: with a size that fails, make it need one.
                    if !valid_size(size) && red_zone != 0 {
                        red_zone = usize::MAX;
                    }
                    grows += 1;
                    frames.push(Frame {
                        kind: FrameKind::Grow { red_zone, size },
                        seed: 0x6_0000 + grows,
                        steps: Vec::new(),
                    });
                }
            }
            RawOp::End { panic, value } => {
                if frames.len() > 1 {
                    ends += 1;
                    let end = if panic { End::Panic(ends) } else { End::Return(value) };
                    close(&mut frames, end);
                }
            }
            RawOp::Yield(k) => top.steps.push(Step::Yield(k % (MAX_YIELDS + 1))),
            RawOp::Join(i) => top.steps.push(Step::Join(i)),
            RawOp::Detach(i) => top.steps.push(Step::Detach(i)),
            RawOp::WaitFinished(i) => top.steps.push(Step::WaitFinished(i)),
        }
    }
    while frames.len() > 1 {
        close(&mut frames, End::Return(0));
    }
    let root = frames.pop().unwrap();
    Body {
        seed: root.seed,
        steps: root.steps,
        end: End::Return(0),
    }
}

fn close(frames: &mut Vec<Frame>, end: End) {
    let f = frames.pop().unwrap();
    let body = Body {
        seed: f.seed,
        steps: f.steps,
        end,
    };
    let step = match f.kind {
        FrameKind::Root => unreachable!("the root is never closed here"),
        FrameKind::Strand { name, stack, sched } => {
            let mut spawns = 0;
            let expect = eval_body(&body, &mut Vec::new(), true, &mut spawns);
            Step::Spawn(Arc::new(Child {
                name,
                stack,
                sched,
                valid: stack.is_none_or(valid_size),
                body,
                expect,
                spawns,
            }))
        }
        FrameKind::Grow { red_zone, size } => Step::Grow { red_zone, size, body },
    };
    frames.last_mut().unwrap().steps.push(step);
}

fn slot<T>(handles: &mut [Option<T>], i: u8) -> Option<&mut Option<T>> {
    if handles.is_empty() {
        return None;
    }
    let n = handles.len();
    handles.get_mut(usize::from(i) % n)
}

// ---------------------------------------------------------------- model

/// Predicts the outcome of running `body` with the strand's `handles`
/// (the predicted outcomes of the strands it holds), counting successful
/// spawns into `spawns`.
fn eval_body(body: &Body, handles: &mut Vec<Option<Outcome>>, in_strand: bool, spawns: &mut u64) -> Outcome {
    let mut acc = body.seed;
    for step in &body.steps {
        match step {
            Step::Spawn(c) => {
                if c.valid {
                    *spawns += 1 + c.spawns;
                    handles.push(Some(c.expect.clone()));
                }
            }
            Step::Yield(_) | Step::WaitFinished(_) => {}
            Step::Join(i) => {
                if let Some(o) = slot(handles, *i).and_then(Option::take) {
                    acc = mix(acc, outcome_word(&o));
                }
            }
            Step::Detach(i) => {
                slot(handles, *i).map(Option::take);
            }
            Step::Grow { red_zone, size, body } => {
                // Outside a strand `grow` just calls; inside, a red zone of
                // usize::MAX always needs a segment and 0 never does.
                let needs_segment = in_strand && *red_zone == usize::MAX;
                if needs_segment && !valid_size(*size) {
                    return Outcome::Panic(PanicKind::GrowFailed);
                }
                match eval_body(body, handles, in_strand, spawns) {
                    Outcome::Value(v) => acc = mix(acc, v),
                    panicked => return panicked,
                }
            }
        }
    }
    match body.end {
        End::Return(v) => Outcome::Value(mix(acc, u64::from(v))),
        End::Panic(id) => Outcome::Panic(PanicKind::Fuzz(id)),
    }
}

// ---------------------------------------------------------------- execution

/// Mismatches seen while running; checked on the fuzzer's thread at the end.
#[derive(Default)]
struct Ctx {
    failures: Mutex<Vec<String>>,
    /// Set just before the runtime is dropped early: from then on, spawns
    /// from strands still running answer `ShutDown`, as documented.
    dropping: AtomicBool,
}

impl Ctx {
    fn fail(&self, msg: String) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).push(msg);
    }
}

/// A strand's value, and whether it is *tainted*: some spawn in it (or in a
/// strand it joined) was refused because the runtime was shutting down, so
/// its value is no longer the model's (whether it panics still is).
type Ret = (u64, bool);

type Held = Option<(JoinHandle<Ret>, Arc<Child>)>;

fn classify(e: JoinError) -> PanicKind {
    if !e.is_panic() {
        return PanicKind::Other(format!("not a panic: {e:?}"));
    }
    classify_payload(e.into_panic())
}

fn classify_payload(p: Box<dyn Any + Send>) -> PanicKind {
    if let Some(FuzzPanic(id)) = p.downcast_ref::<FuzzPanic>() {
        return PanicKind::Fuzz(*id);
    }
    let msg = p
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
    match msg {
        Some(m) if m.starts_with(GROW_FAILED) => PanicKind::GrowFailed,
        Some(m) => PanicKind::Other(m),
        None => PanicKind::Other("<non-string payload>".to_string()),
    }
}

/// Runs `body` for real. `spawn_on` is the runtime's handle when running on
/// a plain thread (spawning needs it there). Sets `tainted` as described at
/// [`Ret`].
///
/// Nested grow bodies recurse through here, possibly on a 16 KiB stack, so
/// the bulky steps live in functions of their own to keep this frame small.
fn exec_body(
    body: &Body,
    handles: &mut Vec<Held>,
    ctx: &Arc<Ctx>,
    spawn_on: Option<&Handle>,
    tainted: &mut bool,
) -> u64 {
    let mut acc = body.seed;
    for step in &body.steps {
        match step {
            Step::Spawn(c) => exec_spawn(c, handles, ctx, spawn_on, tainted),
            Step::Yield(k) => {
                for _ in 0..*k {
                    strands::yield_now();
                }
            }
            Step::Join(i) => {
                if let Some((h, c)) = slot(handles, *i).and_then(Option::take) {
                    acc = mix(acc, exec_join(h, &c, ctx, tainted));
                }
            }
            Step::Detach(i) => drop(slot(handles, *i).and_then(Option::take)),
            Step::WaitFinished(i) => {
                if let Some(Some((h, c))) = slot(handles, *i) {
                    exec_wait(h, c, ctx);
                }
            }
            Step::Grow { red_zone, size, body } => {
                let v = strands::grow(*red_zone, *size, || {
                    asan::clear_below_sp();
                    let _clear = asan::ClearOnExit;
                    exec_body(body, handles, ctx, spawn_on, tainted)
                });
                acc = mix(acc, v);
            }
        }
    }
    match body.end {
        End::Return(v) => mix(acc, u64::from(v)),
        End::Panic(id) => panic::panic_any(FuzzPanic(id)),
    }
}

#[inline(never)]
fn exec_spawn(c: &Arc<Child>, handles: &mut Vec<Held>, ctx: &Arc<Ctx>, spawn_on: Option<&Handle>, tainted: &mut bool) {
    let mut b = Builder::new();
    if let Some(n) = &c.name {
        b = b.name(n.clone());
    }
    if let Some(s) = c.stack {
        b = b.stack_size(s);
    }
    b = b.priority([Priority::High, Priority::Normal, Priority::Low][usize::from(c.sched % 3)]);
    let now = Instant::now();
    match (c.sched >> 2) % 4 {
        1 => b = b.deadline(now.checked_sub(Duration::from_millis(5)).unwrap_or(now)),
        2 => b = b.deadline(now + Duration::from_millis(1)),
        3 => b = b.deadline(now + Duration::from_secs(3600)),
        _ => {}
    }
    if c.sched & 0x80 != 0 {
        // SAFETY: the program's bodies keep no thread-local state across
        // their blocking points (they only use their own values and the
        // shared, `Sync` context).
        b = unsafe { b.migratable() };
    }
    let (c2, ctx2) = (Arc::clone(c), Arc::clone(ctx));
    let f = move || run_child(&c2, &ctx2);
    let r = match spawn_on {
        Some(h) => b.spawn_on(h, f),
        None => b.spawn(f),
    };
    match r {
        Ok(h) if c.valid => {
            if h.strand().name() != c.name.as_deref() {
                ctx.fail(format!(
                    "handle names strand {:?}, asked for {:?}",
                    h.strand().name(),
                    c.name
                ));
            }
            handles.push(Some((h, Arc::clone(c))));
        }
        Ok(_) => ctx.fail(format!("spawn with stack size {:?} succeeded", c.stack)),
        Err(SpawnError::Io(e)) if !c.valid && e.kind() == std::io::ErrorKind::InvalidInput => {}
        // After the runtime began to shut down (checked before the size).
        Err(SpawnError::ShutDown) if ctx.dropping.load(Ordering::SeqCst) => {
            if c.valid {
                handles.push(None); // keep the slots aligned with the model's
                *tainted = true;
            }
        }
        Err(e) => ctx.fail(format!(
            "spawn with stack size {:?} (valid: {}) failed: {e:?}",
            c.stack, c.valid
        )),
    }
}

/// Joins `h` and checks the outcome; returns the word to mix in.
#[inline(never)]
fn exec_join(h: JoinHandle<Ret>, c: &Child, ctx: &Ctx, tainted: &mut bool) -> u64 {
    let (got, child_tainted) = match h.join() {
        Ok((v, t)) => (Outcome::Value(v), t),
        // A strand spawned by a strand while the runtime shuts down is
        // cancelled before it starts (documented): it tells nothing about
        // the model, and whoever joined it is tainted.
        Err(e) if e.is_cancelled() && ctx.dropping.load(Ordering::SeqCst) => {
            *tainted = true;
            return 0;
        }
        Err(e) => (Outcome::Panic(classify(e)), false),
    };
    *tainted |= child_tainted;
    let agrees = if child_tainted {
        matches!((&got, &c.expect), (Outcome::Value(_), Outcome::Value(_)))
    } else {
        got == c.expect
    };
    if !agrees {
        ctx.fail(format!(
            "strand {:?} (seed {}) joined with {got:?}, model says {:?}",
            c.name, c.body.seed, c.expect
        ));
    }
    outcome_word(&got)
}

/// Yields until `h` reports its strand finished.
#[inline(never)]
fn exec_wait(h: &JoinHandle<Ret>, c: &Child, ctx: &Ctx) {
    let start = Instant::now();
    while !h.is_finished() {
        if start.elapsed() > PATIENCE {
            ctx.fail(format!("strand seed {} never finished", c.body.seed));
            break;
        }
        strands::yield_now();
    }
}

/// Works around AddressSanitizer not knowing about strands' stacks.
///
/// strands switches stacks without telling ASan (no
/// `__sanitizer_start_switch_fiber`), so ASan ignores the
/// `__asan_handle_no_return` before each unwind ("ASan is ignoring requested
/// __asan_handle_no_return") and the redzones of frames that were unwound, or
/// abandoned when a strand finished, stay poisoned on the pooled stack. The
/// next strand or grow segment to use that memory then trips over them: a
/// false `stack-buffer-overflow` (google/sanitizers#189). So each strand
/// body and grow body clears the shadow of the dead region just below its
/// stack pointer when it starts and when it ends (returning or unwinding).
/// This only ever unpoisons memory no live frame uses.
mod asan {
    #[cfg(all(sanitize = "address", any(target_arch = "x86_64", target_arch = "aarch64")))]
    #[inline(never)]
    pub fn clear_below_sp() {
        extern "C" {
            fn __asan_unpoison_memory_region(addr: *const u8, size: usize);
        }
        /// Deeper than any frames of this program get.
        const WINDOW: usize = 64 << 10;
        let sp: usize;
        // SAFETY: reads the stack pointer, nothing else.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            std::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack))
        };
        // SAFETY: as above.
        #[cfg(target_arch = "aarch64")]
        unsafe {
            std::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack))
        };
        let lo = sp.saturating_sub(WINDOW) & !7;
        // SAFETY: only changes ASan's shadow for memory below the stack
        // pointer, where nothing live is.
        unsafe { __asan_unpoison_memory_region(lo as *const u8, (sp & !7) - lo) };
    }

    #[cfg(not(all(sanitize = "address", any(target_arch = "x86_64", target_arch = "aarch64"))))]
    pub fn clear_below_sp() {}

    /// Clears on drop: at the end of a body, also when it unwinds.
    pub struct ClearOnExit;

    impl Drop for ClearOnExit {
        fn drop(&mut self) {
            clear_below_sp();
        }
    }
}

/// The body of a spawned strand.
fn run_child(c: &Child, ctx: &Arc<Ctx>) -> Ret {
    asan::clear_below_sp();
    let _clear = asan::ClearOnExit;
    if let Some(name) = &c.name {
        let me = strands::current();
        if me.name() != Some(name.as_str()) {
            ctx.fail(format!("strand sees its name as {:?}, asked for {name:?}", me.name()));
        }
    }
    let mut handles = Vec::new();
    let mut tainted = false;
    let v = exec_body(&c.body, &mut handles, ctx, None, &mut tainted);
    (v, tainted)
}

/// Silences the panics the program asks for (libfuzzer-sys's hook would
/// abort on them); everything else goes to the previous hooks. Installed
/// after a runtime was built, so that it wraps strands' own hook.
fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let prev = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let expected = info.payload().is::<FuzzPanic>()
                || info.payload_as_str().is_some_and(|m| m.starts_with(GROW_FAILED));
            if !expected {
                prev(info);
            }
        }));
    });
}

fn wait_for(what: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    while !what() {
        if start.elapsed() > PATIENCE {
            return false;
        }
        std::thread::sleep(Duration::from_micros(50));
    }
    true
}

fn run(input: Input) {
    let cfg = &input.config;
    let rt_stack = match cfg.stack {
        RtStackSel::Min => MIN_STACK_SIZE,
        RtStackSel::K64 => 64 << 10,
        RtStackSel::Default => DEFAULT_STACK_SIZE,
        RtStackSel::Zero => 0,
        RtStackSel::AboveMax => MAX_STACK_SIZE + 1,
    };
    let guard = match cfg.guard {
        GuardSel::Auto => StackGuard::Auto,
        GuardSel::GuardInstall => StackGuard::GuardInstall,
        GuardSel::Mprotect => StackGuard::Mprotect,
        GuardSel::Canary => StackGuard::Canary,
    };
    let built = Runtime::builder()
        .workers(if cfg.two_workers { 2 } else { 1 })
        .stack_size(rt_stack)
        .stack_guard(guard)
        .max_strands(4 * MAX_SPAWNS)
        .build();
    let rt = match built {
        Ok(rt) => {
            assert!(valid_size(rt_stack), "runtime built with stack size {rt_stack}");
            rt
        }
        Err(e) if !valid_size(rt_stack) => {
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}");
            return;
        }
        // The kernel may lack MADV_GUARD_INSTALL.
        Err(e) if matches!(guard, StackGuard::GuardInstall) && e.kind() == std::io::ErrorKind::Unsupported => return,
        Err(e) => panic!("runtime with stack size {rt_stack} and guard {guard:?} failed to build: {e}"),
    };
    install_quiet_hook();

    let root = parse(&input.ops);
    let ctx = Arc::new(Ctx::default());
    let mut spawns = 0;
    let (expect, got) = if cfg.root_on_thread {
        let expect = eval_body(&root, &mut Vec::new(), false, &mut spawns);
        let got = panic::catch_unwind(AssertUnwindSafe(|| {
            let mut handles = Vec::new();
            exec_body(&root, &mut handles, &ctx, Some(rt.handle()), &mut false)
        }));
        let got = match got {
            Ok(v) => Outcome::Value(v),
            Err(p) => Outcome::Panic(classify_payload(p)),
        };
        (expect, got)
    } else {
        let root = Arc::new(Child {
            name: None,
            stack: None,
            sched: 0,
            valid: true,
            expect: eval_body(&root, &mut Vec::new(), true, &mut spawns),
            body: root,
            spawns: 0,
        });
        spawns += 2; // the block_on strand and the root strand
        let got = rt.block_on(|| {
            let (r2, ctx2) = (Arc::clone(&root), Arc::clone(&ctx));
            match Builder::new().spawn(move || run_child(&r2, &ctx2)) {
                Ok(h) => match h.join() {
                    Ok((v, _)) => Outcome::Value(v),
                    Err(e) => Outcome::Panic(classify(e)),
                },
                Err(e) => Outcome::Panic(PanicKind::Other(format!("root spawn failed: {e}"))),
            }
        });
        (root.expect.clone(), got)
    };
    if got != expect {
        ctx.fail(format!("root finished with {got:?}, model says {expect:?}"));
    }

    if !cfg.drop_early {
        // Detached strands may still be running: they must all finish, and
        // give back their stacks (a strand counts as live until its worker
        // has switched away from it, a moment after its join completed).
        if !wait_for(|| rt.metrics().live_strands == 0) {
            ctx.fail(format!("strands still live after {PATIENCE:?}: {:?}", rt.metrics()));
        }
        let m = rt.metrics();
        if m.stacks_live != 0 {
            ctx.fail(format!("no strand is live but {} stacks are: {m:?}", m.stacks_live));
        }
        if m.spawned != spawns {
            ctx.fail(format!("runtime spawned {} strands, model says {spawns}: {m:?}", m.spawned));
        }
    }
    ctx.dropping.store(true, Ordering::SeqCst);
    drop(rt); // waits for every strand still alive

    let failures = std::mem::take(&mut *ctx.failures.lock().unwrap());
    assert!(failures.is_empty(), "mismatches with the model:\n{}", failures.join("\n"));
}

fuzz_target!(|input: Input| run(input));
