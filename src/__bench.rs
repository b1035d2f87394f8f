//! Raw operations for benchmarks (`benches/switch.rs`, `benches/peers/`).
//! Not a public API: no stability, hidden from the docs.

use crate::arch::{self, RawContext};

/// The runtime's timer wheel, for `benches/timers.rs`.
pub use crate::runtime::time::wheel::{
    Wheel as TimerWheel, WheelKey as TimerWheelKey, RESOLUTION as TIMER_WHEEL_RESOLUTION,
};
use crate::stack::{Stack, StackGuard, StackPool};
use std::cell::UnsafeCell;
use std::io;

/// The context-switch backend in use.
pub fn backend() -> &'static str {
    crate::arch::BACKEND
}

struct Pair {
    main: UnsafeCell<RawContext>,
    co: UnsafeCell<RawContext>,
}

/// A context on a pooled stack that switches straight back whenever it is
/// switched to: `round_trip` measures two one-way switches.
pub struct PingPong {
    pair: Box<Pair>,
    _stack: Stack,
    _pool: StackPool,
}

unsafe extern "C" fn bounce(arg: *mut u8) {
    // SAFETY: `arg` is the boxed `Pair`, alive as long as the PingPong.
    let pair = unsafe { &*(arg as *const Pair) };
    loop {
        // SAFETY: `main` was saved by `round_trip`, which waits for us.
        unsafe { arch::switch(pair.co.get(), pair.main.get()) };
    }
}

impl PingPong {
    /// A bouncing context on a 64 KiB stack.
    pub fn new() -> io::Result<PingPong> {
        let pool = StackPool::new(StackGuard::Auto)?;
        let stack = pool.get(64 * 1024)?;
        let pair = Box::new(Pair {
            main: UnsafeCell::new(RawContext::empty()),
            co: UnsafeCell::new(RawContext::empty()),
        });
        let arg = &*pair as *const Pair as *mut u8;
        // SAFETY: the stack is ours and outlives the context (both live in
        // the returned struct); `bounce` never returns.
        let ctx = unsafe { arch::init(stack.top(), stack.base(), bounce, arg) };
        // SAFETY: nobody else sees `pair` yet.
        unsafe { *pair.co.get() = ctx };
        Ok(PingPong {
            pair,
            _stack: stack,
            _pool: pool,
        })
    }

    /// Switches into the context and back: two one-way switches.
    #[inline]
    pub fn round_trip(&mut self) {
        // SAFETY: `co` is fresh or suspended in `bounce`'s switch, not
        // resumed since; `main` is ours.
        unsafe { arch::switch(self.pair.main.get(), self.pair.co.get()) };
    }
}

/// Creates contexts on pooled stacks, runs each to completion and drops it:
/// the raw cost of a short-lived strand without the scheduler.
pub struct Oneshot {
    pool: StackPool,
    size: usize,
}

struct Run {
    main: UnsafeCell<RawContext>,
    co: UnsafeCell<RawContext>,
    f: Option<Box<dyn FnOnce()>>,
}

unsafe extern "C" fn run_once(arg: *mut u8) {
    // SAFETY: `arg` is the `Run` on `Oneshot::run`'s frame, which waits.
    let run = unsafe { &mut *(arg as *mut Run) };
    if let Some(f) = run.f.take() {
        f();
    }
    // SAFETY: back to `main`, for good.
    unsafe { arch::switch(run.co.get(), run.main.get()) };
}

impl Oneshot {
    /// Stacks of `size` bytes.
    pub fn new(size: usize) -> io::Result<Oneshot> {
        Ok(Oneshot {
            pool: StackPool::new(StackGuard::Auto)?,
            size,
        })
    }

    /// Takes a stack, runs `f` on it in a fresh context, returns the stack.
    pub fn run(&self, f: Box<dyn FnOnce()>) -> io::Result<()> {
        let stack = self.pool.get(self.size)?;
        let mut run = Run {
            main: UnsafeCell::new(RawContext::empty()),
            co: UnsafeCell::new(RawContext::empty()),
            f: Some(f),
        };
        let arg = &mut run as *mut Run as *mut u8;
        // SAFETY: the stack is ours until dropped below, after the context
        // finished; `run_once` never returns.
        let ctx = unsafe { arch::init(stack.top(), stack.base(), run_once, arg) };
        // SAFETY: nobody else sees `run` yet.
        unsafe { *run.co.get() = ctx };
        // SAFETY: `co` is fresh; `main` is ours.
        unsafe { arch::switch(run.main.get(), run.co.get()) };
        drop(stack);
        Ok(())
    }
}
