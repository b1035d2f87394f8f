//! The reference model: plain Rust, no strands. Given the state after the
//! previous operations, [`Model::apply`] says what an operation must
//! produce: which actors complete (and with what), which one is left
//! blocked (and on what), or that the operation does not apply (an actor
//! that is busy, finished or not spawned; a plan on nobody), in which case
//! the interpreter skips it too.
//!
//! The rules are the documented ones: channels are FIFO with direct
//! hand-off (`channel` module docs and `channel/chan.rs`), a channel is
//! disconnected for receivers when every sender is gone and for senders
//! when every receiver is gone (buffered values are then dropped); mutexes
//! hand over in FIFO order, a guard dropped while its strand unwinds (a
//! panic or a cancellation) poisons, and locking a mutex one holds parks
//! forever; a cancelled strand that waits with nothing handed over
//! withdraws and unwinds; a join gives the joined strand's value, panic or
//! cancellation; `Need` plans decide as `JoinMode` says.
//!
//! An actor holds a clone of a channel's sender (or receiver) only while
//! it is inside `send` (or `recv`), so the live senders of a channel are
//! the driver's plus the actors blocked in `send` on it.

use super::program::{Mode, Op, PlanSpec, Script, CHANS, MAX_ACTORS, MUTEXES};
use std::collections::VecDeque;

/// What an actor waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    Send(usize, u64),
    Recv(usize),
    Lock(usize),
    Join(usize),
    Sleep,
}

/// How a strand ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Value(u64),
    Panicked,
    Cancelled,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Idle,
    Blocked(Wait),
    Done(End),
}

/// What an actor reports when an operation of it completes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Res {
    Unit,
    Sent,
    SendFailed(u64),
    NoSender,
    Got(u64),
    RecvFailed,
    NoReceiver,
    Locked {
        count: u64,
        poisoned: bool,
    },
    Joined(End),
    NoHandle,
    /// `success: None` in a prediction means either; `values[i]` is the
    /// value of part `i` if it succeeded (a prediction lists the value it
    /// would have).
    Plan {
        success: Option<bool>,
        values: Vec<Option<u64>>,
    },
    /// The actor's strand ended (exit, panic or cancellation).
    Gone,
}

impl Res {
    /// Whether `got` (from the runtime) fits this prediction.
    pub fn admits(&self, got: &Res) -> bool {
        match (self, got) {
            (
                Res::Plan { success, values },
                Res::Plan {
                    success: s2,
                    values: v2,
                },
            ) => {
                (success.is_none() || success == s2)
                    && values.len() == v2.len()
                    && values
                        .iter()
                        .zip(v2)
                        .all(|(want, got)| got.is_none() || got == want)
            }
            _ => self == got,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Chan {
    pub cap: usize,
    pub buf: VecDeque<u64>,
    /// Blocked senders, in arrival order, with their values.
    pub sendq: VecDeque<(usize, u64)>,
    pub recvq: VecDeque<usize>,
    pub driver_tx: bool,
    pub driver_rx: bool,
}

impl Chan {
    fn senders(&self) -> usize {
        usize::from(self.driver_tx) + self.sendq.len()
    }
    fn receivers(&self) -> usize {
        usize::from(self.driver_rx) + self.recvq.len()
    }
}

#[derive(Clone, Debug, Default)]
pub struct Lock {
    pub holder: Option<usize>,
    pub waiters: VecDeque<usize>,
    pub count: u64,
    pub poisoned: bool,
}

/// What one operation must produce.
#[derive(Debug, Default)]
pub struct Step {
    /// The operation does not apply; nothing happens.
    pub skipped: bool,
    /// Actors whose current operation completes, with their report.
    pub completes: Vec<(usize, Res)>,
    /// The actor this operation leaves blocked, and on what.
    pub blocks: Option<(usize, Wait)>,
}

#[derive(Clone, Debug)]
pub struct Model {
    pub actors: Vec<State>,
    /// Whether the actor's join handle is still there to take.
    pub handles: Vec<bool>,
    pub chans: Vec<Chan>,
    pub locks: Vec<Lock>,
}

impl Model {
    pub fn new(caps: &[Option<usize>; CHANS]) -> Model {
        Model {
            actors: Vec::new(),
            handles: Vec::new(),
            chans: caps
                .iter()
                .map(|c| Chan {
                    cap: c.unwrap_or(usize::MAX),
                    driver_tx: true,
                    driver_rx: true,
                    ..Chan::default()
                })
                .collect(),
            locks: vec![Lock::default(); MUTEXES],
        }
    }

    pub fn idle(&self, a: usize) -> bool {
        self.actors.get(a) == Some(&State::Idle)
    }

    /// Applies `op` and returns what it must produce.
    pub fn apply(&mut self, op: &Op) -> Step {
        let mut st = Step::default();
        let actor = match op {
            Op::Spawn | Op::Close(_) | Op::DropRx(_) | Op::Cancel(_) => None,
            Op::Yield(a, _)
            | Op::Sleep(a, _)
            | Op::Park(a)
            | Op::Exit(a, _)
            | Op::Panic(a)
            | Op::Join(a, _)
            | Op::Send(a, _, _)
            | Op::Recv(a, _)
            | Op::Lock(a, _)
            | Op::Unlock(a, _)
            | Op::Plan(a, _) => Some(*a),
        };
        if actor.is_some_and(|a| !self.idle(a)) {
            st.skipped = true;
            return st;
        }
        match op {
            Op::Spawn => {
                if self.actors.len() < MAX_ACTORS {
                    self.actors.push(State::Idle);
                    self.handles.push(true);
                } else {
                    st.skipped = true;
                }
            }
            Op::Yield(a, _) | Op::Sleep(a, _) => st.completes.push((*a, Res::Unit)),
            Op::Park(a) => self.block(&mut st, *a, Wait::Sleep),
            Op::Exit(a, v) => self.finish(&mut st, *a, End::Value(*v)),
            Op::Panic(a) => self.finish(&mut st, *a, End::Panicked),
            Op::Cancel(a) => match self.actors.get(*a) {
                Some(State::Idle) => self.finish(&mut st, *a, End::Cancelled),
                Some(State::Blocked(w)) => {
                    let w = *w;
                    self.withdraw(&mut st, *a, w);
                    self.finish(&mut st, *a, End::Cancelled);
                }
                _ => st.skipped = true,
            },
            Op::Join(a, b) => {
                if a == b || *b >= self.actors.len() {
                    st.skipped = true;
                } else if !self.handles[*b] {
                    st.completes.push((*a, Res::NoHandle));
                } else {
                    self.handles[*b] = false;
                    match self.actors[*b] {
                        State::Done(end) => st.completes.push((*a, Res::Joined(end))),
                        _ => self.block(&mut st, *a, Wait::Join(*b)),
                    }
                }
            }
            Op::Send(a, c, v) => self.send(&mut st, *a, *c, *v),
            Op::Recv(a, c) => self.recv(&mut st, *a, *c),
            Op::Close(c) => {
                let ch = &mut self.chans[*c];
                if !ch.driver_tx {
                    st.skipped = true;
                } else {
                    ch.driver_tx = false;
                    self.disconnect(&mut st, *c);
                }
            }
            Op::DropRx(c) => {
                let ch = &mut self.chans[*c];
                if !ch.driver_rx {
                    st.skipped = true;
                } else {
                    ch.driver_rx = false;
                    self.disconnect(&mut st, *c);
                }
            }
            Op::Lock(a, m) => {
                let l = &mut self.locks[*m];
                if l.holder.is_none() {
                    l.holder = Some(*a);
                    l.count += 1;
                    let res = Res::Locked {
                        count: l.count,
                        poisoned: l.poisoned,
                    };
                    st.completes.push((*a, res));
                } else {
                    // Also when `a` holds it: locking twice parks forever.
                    l.waiters.push_back(*a);
                    self.block(&mut st, *a, Wait::Lock(*m));
                }
            }
            Op::Unlock(a, m) => {
                if self.locks[*m].holder == Some(*a) {
                    self.release(&mut st, *m, false);
                }
                st.completes.push((*a, Res::Unit));
            }
            Op::Plan(a, spec) => st.completes.push((*a, plan_outcome(spec))),
        }
        st
    }

    fn block(&mut self, st: &mut Step, a: usize, w: Wait) {
        self.actors[a] = State::Blocked(w);
        st.blocks = Some((a, w));
    }

    /// `a`'s wait completes with `res`.
    fn wake(&mut self, st: &mut Step, a: usize, res: Res) {
        self.actors[a] = State::Idle;
        // An actor that blocks and completes within one step (a send to a
        // channel whose receiver is the sender itself cannot happen: the
        // driver waits) never needs both.
        if st.blocks.is_some_and(|(b, _)| b == a) {
            st.blocks = None;
        }
        st.completes.push((a, res));
    }

    fn send(&mut self, st: &mut Step, a: usize, c: usize, v: u64) {
        let ch = &mut self.chans[c];
        if !ch.driver_tx {
            st.completes.push((a, Res::NoSender));
        } else if ch.receivers() == 0 {
            st.completes.push((a, Res::SendFailed(v)));
        } else if let Some(r) = ch.recvq.pop_front() {
            st.completes.push((a, Res::Sent));
            self.wake(st, r, Res::Got(v));
        } else if ch.buf.len() < ch.cap {
            ch.buf.push_back(v);
            st.completes.push((a, Res::Sent));
        } else {
            ch.sendq.push_back((a, v));
            self.block(st, a, Wait::Send(c, v));
        }
    }

    fn recv(&mut self, st: &mut Step, a: usize, c: usize) {
        let ch = &mut self.chans[c];
        if !ch.driver_rx {
            st.completes.push((a, Res::NoReceiver));
        } else if let Some(v) = ch.buf.pop_front() {
            // Taking from a full buffer refills it from the first sender.
            if let Some((s, sv)) = ch.sendq.pop_front() {
                ch.buf.push_back(sv);
                st.completes.push((a, Res::Got(v)));
                self.wake(st, s, Res::Sent);
            } else {
                st.completes.push((a, Res::Got(v)));
            }
        } else if let Some((s, sv)) = ch.sendq.pop_front() {
            st.completes.push((a, Res::Got(sv)));
            self.wake(st, s, Res::Sent);
        } else if ch.senders() == 0 {
            st.completes.push((a, Res::RecvFailed));
        } else {
            ch.recvq.push_back(a);
            self.block(st, a, Wait::Recv(c));
        }
    }

    /// After a sender or receiver went away: wakes the other side if this
    /// one is now gone for good.
    fn disconnect(&mut self, st: &mut Step, c: usize) {
        let ch = &mut self.chans[c];
        if ch.senders() == 0 {
            let rs: Vec<usize> = ch.recvq.drain(..).collect();
            for r in rs {
                self.wake(st, r, Res::RecvFailed);
            }
        }
        let ch = &mut self.chans[c];
        if ch.receivers() == 0 {
            ch.buf.clear();
            let ss: Vec<(usize, u64)> = ch.sendq.drain(..).collect();
            for (s, v) in ss {
                self.wake(st, s, Res::SendFailed(v));
            }
        }
    }

    fn release(&mut self, st: &mut Step, m: usize, poison: bool) {
        let l = &mut self.locks[m];
        l.poisoned |= poison;
        l.holder = None;
        if let Some(w) = l.waiters.pop_front() {
            l.holder = Some(w);
            l.count += 1;
            let res = Res::Locked {
                count: l.count,
                poisoned: l.poisoned,
            };
            self.wake(st, w, res);
        }
    }

    /// A cancelled `a` stops waiting for `w`, with nothing handed over.
    fn withdraw(&mut self, st: &mut Step, a: usize, w: Wait) {
        match w {
            Wait::Send(c, _) => {
                self.chans[c].sendq.retain(|(s, _)| *s != a);
                self.disconnect(st, c);
            }
            Wait::Recv(c) => {
                self.chans[c].recvq.retain(|r| *r != a);
                self.disconnect(st, c);
            }
            Wait::Lock(m) => self.locks[m].waiters.retain(|x| *x != a),
            // The handle unwinds with the joiner: the joined actor is
            // detached.
            Wait::Join(_) | Wait::Sleep => {}
        }
    }

    fn finish(&mut self, st: &mut Step, a: usize, end: End) {
        self.actors[a] = State::Done(end);
        st.completes.push((a, Res::Gone));
        if st.blocks.is_some_and(|(b, _)| b == a) {
            st.blocks = None;
        }
        for m in 0..MUTEXES {
            if self.locks[m].holder == Some(a) {
                self.release(st, m, !matches!(end, End::Value(_)));
            }
        }
        let joiners: Vec<usize> = (0..self.actors.len())
            .filter(|&j| self.actors[j] == State::Blocked(Wait::Join(a)))
            .collect();
        for j in joiners {
            self.wake(st, j, Res::Joined(end));
        }
    }
}

/// What a plan whose parts never block must decide (see `JoinMode`).
pub fn plan_outcome(spec: &PlanSpec) -> Res {
    let ok = |s: &Script| matches!(s, Script::Ok(_));
    let n_ok = spec.parts.iter().filter(|(_, s)| ok(s)).count();
    let required_ok = spec.parts.iter().all(|(r, s)| !r || ok(s));
    let success = match spec.mode {
        Mode::All | Mode::AllRequired => Some(required_ok),
        Mode::Any if n_ok == spec.parts.len() => Some(true),
        Mode::Any if n_ok == 0 => Some(false),
        Mode::Any => None,
        Mode::FirstSuccess => Some(n_ok > 0),
        Mode::Quorum(k) => Some(n_ok >= usize::from(k)),
    };
    let values = spec
        .parts
        .iter()
        .map(|(_, s)| match s {
            Script::Ok(v) => Some(*v),
            _ => None,
        })
        .collect();
    Res::Plan { success, values }
}
