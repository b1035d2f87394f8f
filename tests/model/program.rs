//! The operations, a program (a runtime configuration and a list of
//! operations), and their text form: one operation per line, which is also
//! the corpus format (`tests/model/corpus/*.txt`).
//!
//! ```text
//! # anything after '#' is a comment
//! workers 2          # 1 or 2 (default 1)
//! chans 0 1 u        # the capacities of c0 c1 c2: a number, or u (unbounded)
//! spawn              # a new actor: a0, a1, ... (at most MAX_ACTORS)
//! send a0 c1 7       # a0 sends 7 on c1
//! recv a1 c1         # a1 receives from c1
//! close c1           # the driver drops its sender of c1
//! droprx c1          # the driver drops its receiver of c1
//! lock a0 m0         # a0 locks m0 and keeps the guard
//! unlock a0 m0       # a0 drops its guard of m0 (nothing if it holds none)
//! join a0 a1         # a0 joins a1 (takes a1's handle)
//! cancel a1          # the driver cancels a1
//! yield a0 3         # a0 yields three times
//! sleep a0 1         # a0 sleeps 1 ms
//! park a0            # a0 sleeps an hour: only a cancellation ends it
//! exit a0 5          # a0 returns 5
//! panic a0           # a0 panics
//! plan a0 quorum2 ok1 err ?ok3 panic   # a0 runs a Need plan ('?' = optional)
//! ```

use std::fmt;

/// At most this many actors per program.
pub const MAX_ACTORS: usize = 6;
/// Channels c0..c2.
pub const CHANS: usize = 3;
/// Mutexes m0..m1.
pub const MUTEXES: usize = 2;
/// At most this many parts in a plan.
pub const MAX_PARTS: usize = 4;

/// One operation. Actors, channels and mutexes are indices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Spawn,
    Yield(usize, u8),
    Sleep(usize, u8),
    Park(usize),
    Exit(usize, u64),
    Panic(usize),
    Join(usize, usize),
    Cancel(usize),
    Send(usize, usize, u64),
    Recv(usize, usize),
    Close(usize),
    DropRx(usize),
    Lock(usize, usize),
    Unlock(usize, usize),
    Plan(usize, PlanSpec),
}

/// A `Need` plan whose parts never block: each returns a value, an error
/// or panics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanSpec {
    pub mode: Mode,
    /// (required, script) per part.
    pub parts: Vec<(bool, Script)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    All,
    AllRequired,
    Any,
    FirstSuccess,
    Quorum(u8),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Script {
    Ok(u64),
    Err,
    Panic,
}

/// A runtime configuration and the operations to run on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    pub workers: usize,
    /// Capacity per channel; `None` is unbounded.
    pub caps: [Option<usize>; CHANS],
    pub ops: Vec<Op>,
}

impl Default for Program {
    fn default() -> Program {
        Program {
            workers: 1,
            caps: [Some(0), Some(1), None],
            ops: Vec::new(),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::All => write!(f, "all"),
            Mode::AllRequired => write!(f, "allreq"),
            Mode::Any => write!(f, "any"),
            Mode::FirstSuccess => write!(f, "first"),
            Mode::Quorum(k) => write!(f, "quorum{k}"),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Spawn => write!(f, "spawn"),
            Op::Yield(a, k) => write!(f, "yield a{a} {k}"),
            Op::Sleep(a, ms) => write!(f, "sleep a{a} {ms}"),
            Op::Park(a) => write!(f, "park a{a}"),
            Op::Exit(a, v) => write!(f, "exit a{a} {v}"),
            Op::Panic(a) => write!(f, "panic a{a}"),
            Op::Join(a, b) => write!(f, "join a{a} a{b}"),
            Op::Cancel(a) => write!(f, "cancel a{a}"),
            Op::Send(a, c, v) => write!(f, "send a{a} c{c} {v}"),
            Op::Recv(a, c) => write!(f, "recv a{a} c{c}"),
            Op::Close(c) => write!(f, "close c{c}"),
            Op::DropRx(c) => write!(f, "droprx c{c}"),
            Op::Lock(a, m) => write!(f, "lock a{a} m{m}"),
            Op::Unlock(a, m) => write!(f, "unlock a{a} m{m}"),
            Op::Plan(a, p) => {
                write!(f, "plan a{a} {}", p.mode)?;
                for (required, s) in &p.parts {
                    let opt = if *required { "" } else { "?" };
                    match s {
                        Script::Ok(v) => write!(f, " {opt}ok{v}")?,
                        Script::Err => write!(f, " {opt}err")?,
                        Script::Panic => write!(f, " {opt}panic")?,
                    }
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Program {
    /// The corpus form, which [`Program::parse`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "workers {}", self.workers)?;
        write!(f, "chans")?;
        for c in &self.caps {
            match c {
                Some(n) => write!(f, " {n}")?,
                None => write!(f, " u")?,
            }
        }
        writeln!(f)?;
        for op in &self.ops {
            writeln!(f, "{op}")?;
        }
        Ok(())
    }
}

fn index(word: Option<&str>, prefix: char, bound: usize, line: usize) -> Result<usize, String> {
    let w = word.ok_or_else(|| format!("line {line}: missing {prefix}<n>"))?;
    let n = w
        .strip_prefix(prefix)
        .and_then(|n| n.parse::<usize>().ok())
        .ok_or_else(|| format!("line {line}: expected {prefix}<n>, found {w:?}"))?;
    if n >= bound {
        return Err(format!(
            "line {line}: {w} is out of range (fewer than {bound})"
        ));
    }
    Ok(n)
}

fn number<T: std::str::FromStr>(word: Option<&str>, line: usize) -> Result<T, String> {
    let w = word.ok_or_else(|| format!("line {line}: missing a number"))?;
    w.parse()
        .map_err(|_| format!("line {line}: expected a number, found {w:?}"))
}

impl Program {
    /// Reads the text form (see the module docs).
    pub fn parse(text: &str) -> Result<Program, String> {
        let mut p = Program::default();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let code = raw.split('#').next().unwrap_or("").trim();
            if code.is_empty() {
                continue;
            }
            let mut w = code.split_whitespace();
            let head = w.next().unwrap_or_default();
            let actor = |w: Option<&str>| index(w, 'a', MAX_ACTORS, line);
            let chan = |w: Option<&str>| index(w, 'c', CHANS, line);
            let mutex = |w: Option<&str>| index(w, 'm', MUTEXES, line);
            let op = match head {
                "workers" => {
                    p.workers = number(w.next(), line)?;
                    if !(1..=2).contains(&p.workers) {
                        return Err(format!("line {line}: workers must be 1 or 2"));
                    }
                    continue;
                }
                "chans" => {
                    for c in &mut p.caps {
                        *c = match w.next() {
                            Some("u") => None,
                            other => Some(number(other, line)?),
                        };
                    }
                    continue;
                }
                "spawn" => Op::Spawn,
                "yield" => Op::Yield(actor(w.next())?, number(w.next(), line)?),
                "sleep" => Op::Sleep(actor(w.next())?, number(w.next(), line)?),
                "park" => Op::Park(actor(w.next())?),
                "exit" => Op::Exit(actor(w.next())?, number(w.next(), line)?),
                "panic" => Op::Panic(actor(w.next())?),
                "join" => Op::Join(actor(w.next())?, actor(w.next())?),
                "cancel" => Op::Cancel(actor(w.next())?),
                "send" => Op::Send(actor(w.next())?, chan(w.next())?, number(w.next(), line)?),
                "recv" => Op::Recv(actor(w.next())?, chan(w.next())?),
                "close" => Op::Close(chan(w.next())?),
                "droprx" => Op::DropRx(chan(w.next())?),
                "lock" => Op::Lock(actor(w.next())?, mutex(w.next())?),
                "unlock" => Op::Unlock(actor(w.next())?, mutex(w.next())?),
                "plan" => {
                    let a = actor(w.next())?;
                    let mode = match w.next() {
                        Some("all") => Mode::All,
                        Some("allreq") => Mode::AllRequired,
                        Some("any") => Mode::Any,
                        Some("first") => Mode::FirstSuccess,
                        Some(q) if q.starts_with("quorum") => {
                            Mode::Quorum(number(Some(&q[6..]), line)?)
                        }
                        other => return Err(format!("line {line}: unknown plan mode {other:?}")),
                    };
                    let mut parts = Vec::new();
                    for word in w.by_ref() {
                        let (required, s) = match word.strip_prefix('?') {
                            Some(rest) => (false, rest),
                            None => (true, word),
                        };
                        let script = match s {
                            "err" => Script::Err,
                            "panic" => Script::Panic,
                            _ if s.starts_with("ok") => Script::Ok(number(Some(&s[2..]), line)?),
                            _ => return Err(format!("line {line}: unknown part {word:?}")),
                        };
                        parts.push((required, script));
                    }
                    if parts.is_empty() || parts.len() > MAX_PARTS {
                        return Err(format!("line {line}: a plan has 1 to {MAX_PARTS} parts"));
                    }
                    Op::Plan(a, PlanSpec { mode, parts })
                }
                other => return Err(format!("line {line}: unknown operation {other:?}")),
            };
            if let Some(extra) = w.next() {
                return Err(format!("line {line}: unexpected {extra:?}"));
            }
            p.ops.push(op);
        }
        Ok(p)
    }
}
