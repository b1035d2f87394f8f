//! Differential testing of the runtime against a small reference model,
//! shared by the stable test `tests/model_ops.rs` and the nightly fuzz
//! target `fuzz/fuzz_targets/model.rs` (which includes this directory with
//! `#[path]`, so there is one copy).
//!
//! A [`Program`] is a runtime configuration and a list of operations on
//! actors (strands the test drives), channels and mutexes: spawn, yield,
//! sleep, park, exit, panic, join, cancel, send, recv, close, lock, unlock
//! and `Need` plans (`program.rs`, which also gives the text form the
//! corpus is written in). [`reference::Model`] says what each operation
//! must produce; [`interp::run`] runs the program on a real runtime and
//! checks every step against it.
//!
//! Programs come from three places: the checked-in corpus
//! (`tests/model/corpus/*.txt`), seeded random bytes ([`Rng`], [`decode`])
//! and the fuzzer's bytes (also [`decode`]). A failing program is shrunk
//! ([`shrink`]) and printed in the corpus form.

#![allow(dead_code)] // the fuzz target and the test each use a part

pub mod interp;
pub mod program;
pub mod reference;

pub use interp::{run, Divergence};
pub use program::{Mode, Op, PlanSpec, Program, Script, CHANS, MAX_ACTORS, MAX_PARTS, MUTEXES};
use reference::{Model, State};

/// At most this many operations come out of [`decode`].
pub const MAX_OPS: usize = 64;

/// splitmix64: a seeded source of bytes for random programs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Between 8 and 120 random bytes: a program of up to ~40 operations.
    pub fn bytes(&mut self) -> Vec<u8> {
        let n = 8 + (self.next_u64() % 113) as usize;
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// The program `seed` stands for.
pub fn seeded(seed: u64) -> Program {
    decode(&Rng::new(seed).bytes())
}

/// Decodes bytes into a program. The first byte picks the workers, the
/// second the channel capacities; then each operation takes a byte for its
/// kind and one per argument. Arguments are chosen with the model's help
/// (an operation for an actor goes to an idle one), so that most
/// operations do something. Every byte string decodes to some program.
pub fn decode(bytes: &[u8]) -> Program {
    let mut it = bytes.iter().copied();
    let mut p = Program::default();
    let Some(b0) = it.next() else { return p };
    p.workers = 1 + usize::from(b0 & 1);
    let b1 = it.next().unwrap_or(0b10_01_00);
    for (i, cap) in p.caps.iter_mut().enumerate() {
        *cap = [Some(0), Some(1), Some(2), None][usize::from(b1 >> (2 * i)) & 3];
    }
    let mut model = Model::new(&p.caps);
    while p.ops.len() < MAX_OPS {
        let Some(k) = it.next() else { break };
        let mut arg = || it.next().unwrap_or(0);
        let Some(op) = choose(k, &mut arg, &model) else {
            break;
        };
        model.apply(&op);
        p.ops.push(op);
    }
    p
}

fn choose(k: u8, arg: &mut dyn FnMut() -> u8, m: &Model) -> Option<Op> {
    let n = m.actors.len();
    let idle: Vec<usize> = (0..n).filter(|&a| m.idle(a)).collect();
    let live: Vec<usize> = (0..n)
        .filter(|&a| !matches!(m.actors[a], State::Done(_)))
        .collect();
    let can_spawn = n < MAX_ACTORS;
    let pick = |v: &[usize], b: u8| v[usize::from(b) % v.len()];
    // Weights out of 32.
    let kind = k % 32;
    if kind < 4 || idle.is_empty() {
        if can_spawn && (kind < 4 || live.is_empty() || k & 0x20 != 0) {
            return Some(Op::Spawn);
        }
        if live.is_empty() {
            return None; // everything ended and nothing more may spawn
        }
        if idle.is_empty() {
            return Some(Op::Cancel(pick(&live, arg())));
        }
    }
    let a = pick(&idle, arg());
    Some(match kind {
        0..=3 => Op::Yield(a, arg() % 4),
        4 => Op::Yield(a, arg() % 4),
        5 => Op::Sleep(a, arg() % 3),
        6 => Op::Park(a),
        7 => Op::Exit(a, u64::from(arg())),
        8 => Op::Panic(a),
        9 | 10 => Op::Join(a, usize::from(arg()) % n),
        11 | 12 => Op::Cancel(usize::from(arg()) % n),
        13..=17 => Op::Send(a, usize::from(arg()) % CHANS, u64::from(arg())),
        18..=22 => Op::Recv(a, usize::from(arg()) % CHANS),
        23 => Op::Close(usize::from(arg()) % CHANS),
        24 => Op::DropRx(usize::from(arg()) % CHANS),
        25..=27 => Op::Lock(a, usize::from(arg()) % MUTEXES),
        28 | 29 => {
            // Preferably the holder: an unlock by anyone else does nothing.
            let mx = usize::from(arg()) % MUTEXES;
            match m.locks[mx].holder {
                Some(h) if m.idle(h) => Op::Unlock(h, mx),
                _ => Op::Unlock(a, mx),
            }
        }
        _ => {
            let b = arg();
            let mode = match b % 5 {
                0 => Mode::All,
                1 => Mode::AllRequired,
                2 => Mode::Any,
                3 => Mode::FirstSuccess,
                _ => Mode::Quorum(b / 5 % (MAX_PARTS as u8 + 2)),
            };
            let count = 1 + usize::from(arg()) % MAX_PARTS;
            let parts = (0..count)
                .map(|_| {
                    let s = arg();
                    let script = match s % 4 {
                        0 | 1 => Script::Ok(u64::from(s / 4)),
                        2 => Script::Err,
                        _ => Script::Panic,
                    };
                    (s & 0x80 == 0, script)
                })
                .collect();
            Op::Plan(a, PlanSpec { mode, parts })
        }
    })
}

/// Delta debugging: drops chunks of operations (halves, quarters, ... single
/// operations) while `fails` still holds, then tries one worker. Returns
/// the smallest failing program found and how many candidates it ran.
pub fn shrink(p: &Program, fails: &mut dyn FnMut(&Program) -> bool) -> (Program, usize) {
    let mut best = p.clone();
    let mut tries = 0;
    let mut chunk = best.ops.len().div_ceil(2).max(1);
    loop {
        let mut i = 0;
        let mut progress = false;
        while i < best.ops.len() {
            let mut cand = best.clone();
            let end = (i + chunk).min(cand.ops.len());
            cand.ops.drain(i..end);
            tries += 1;
            if fails(&cand) {
                best = cand;
                progress = true;
            } else {
                i += chunk;
            }
        }
        if chunk == 1 && !progress {
            break;
        }
        if !progress {
            chunk = chunk.div_ceil(2);
        }
    }
    if best.workers != 1 {
        let mut cand = best.clone();
        cand.workers = 1;
        tries += 1;
        if fails(&cand) {
            best = cand;
        }
    }
    (best, tries)
}

/// The failure message: where it diverged, the seed if there is one, and
/// the shortest failing program in the corpus form.
pub fn report(
    origin: &str,
    p: &Program,
    d: &Divergence,
    shrunk: Option<(&Program, &Divergence)>,
) -> String {
    let at = match d.step {
        Some(i) => format!("operation {i}"),
        None => "the wind-down".to_string(),
    };
    let mut msg = format!(
        "runtime and model disagree ({origin}) at {at}: {}\nprogram ({} operations):\n{p}",
        d.what,
        p.ops.len()
    );
    if let Some((s, sd)) = shrunk {
        msg += &format!(
            "\nshortest failing program ({} operations; save as tests/model/corpus/<name>.txt), fails with: {}\n{s}",
            s.ops.len(),
            sd.what
        );
    }
    msg
}
