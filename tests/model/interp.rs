//! Runs a [`Program`] on a real runtime, one operation at a time, and
//! checks after every operation that the runtime did what the
//! [`Model`](super::reference::Model) says.
//!
//! The driver is the calling (plain) thread. Each actor is a strand that
//! takes commands from an inbox (a strands channel) and reports each
//! completed command, and its own end, on a std channel the driver reads.
//! After an operation the driver waits for exactly the reports the model
//! predicts (a report the model does not predict is a divergence; one that
//! does not come within [`PATIENCE`] is a hang, also a divergence), and for
//! the actor the model says is now blocked, until a dump shows it parked
//! on the predicted kind of wait. Nothing waits for time to pass: every
//! wait is for an event, and real time only bounds how long a missing
//! event is waited for. Then it compares what it can see without changing
//! anything: every channel's length, every mutex's poison flag, and the
//! cancelled flag of a strand it just cancelled.
//!
//! At the end the driver lets idle actors return and cancels blocked ones
//! (as operations, checked the same way), joins the handles nobody took,
//! and waits for the runtime to have no live strand.

use super::program::{Mode, Op, PlanSpec, Program, Script, CHANS, MUTEXES};
use super::reference::{End, Model, Res, State, Wait};
use std::panic;
use std::sync::{mpsc, Arc, Mutex as StdMutex, Once};
use std::time::{Duration, Instant};
use strands::channel::{self, Receiver, Sender};
use strands::dump::{StrandState, WaitKind};
use strands::join::{JoinMode, Need, Part, PartStatus};
use strands::{JoinError, JoinHandle, Runtime, Strand};

/// How long an event the model predicts may take before it counts as
/// missing.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The payload of the panics programs ask for (silenced by the hook).
pub struct ModelPanic;

/// Where runtime and model first disagreed.
#[derive(Debug)]
pub struct Divergence {
    /// The index of the operation in the program, or `None` in the
    /// wind-down after the last one.
    pub step: Option<usize>,
    pub what: String,
}

enum Cmd {
    Yield(u8),
    Sleep(u8),
    Park,
    Exit(u64),
    Panic,
    Join(usize),
    Send(usize, u64),
    Recv(usize),
    Lock(usize),
    Unlock(usize),
    Plan(PlanSpec),
}

type Report = (usize, Res);

/// The driver's sender and receiver of one channel (`None` once dropped).
type Ends = (Option<Sender<u64>>, Option<Receiver<u64>>);

struct World {
    chans: Vec<StdMutex<Ends>>,
    locks: Vec<strands::sync::Mutex<u64>>,
    handles: StdMutex<Vec<Option<JoinHandle<u64>>>>,
    reports: mpsc::Sender<Report>,
}

/// Reports the actor's end when its strand's body returns or unwinds:
/// a parameter of the body, so it drops after the guards the actor holds.
struct Gone(usize, mpsc::Sender<Report>);

impl Drop for Gone {
    fn drop(&mut self) {
        let _ = self.1.send((self.0, Res::Gone));
    }
}

fn end_of(r: Result<u64, JoinError>) -> End {
    match r {
        Ok(v) => End::Value(v),
        Err(e) if e.is_cancelled() => End::Cancelled,
        // Some other panic: no prediction has this value.
        Err(e) => match e.try_into_panic() {
            Ok(p) if p.is::<ModelPanic>() => End::Panicked,
            _ => End::Value(u64::MAX),
        },
    }
}

/// The body of actor `me`. `_gone` is made by the spawner and moved in
/// with the closure, so that it also reports a strand cancelled before it
/// started (its closure is dropped without running).
fn actor(me: usize, inbox: Receiver<Cmd>, w: Arc<World>, _gone: Gone) -> u64 {
    let mut held: Vec<Option<strands::sync::MutexGuard<'_, u64>>> =
        (0..MUTEXES).map(|_| None).collect();
    loop {
        let Ok(cmd) = inbox.recv() else { return 0 };
        let res = match cmd {
            Cmd::Yield(k) => {
                for _ in 0..k {
                    strands::yield_now();
                }
                Res::Unit
            }
            Cmd::Sleep(ms) => {
                strands::sleep(Duration::from_millis(u64::from(ms)));
                Res::Unit
            }
            Cmd::Park => {
                strands::sleep(Duration::from_secs(3600));
                Res::Unit
            }
            Cmd::Exit(v) => return v,
            Cmd::Panic => panic::panic_any(ModelPanic),
            Cmd::Join(b) => {
                let h = w.handles.lock().unwrap()[b].take();
                match h {
                    Some(h) => Res::Joined(end_of(h.join())),
                    None => Res::NoHandle,
                }
            }
            Cmd::Send(c, v) => {
                let tx = w.chans[c].lock().unwrap().0.clone();
                match tx {
                    // The clone is dropped before the report: the driver
                    // may close the channel next.
                    Some(tx) => match tx.send(v) {
                        Ok(()) => Res::Sent,
                        Err(e) => Res::SendFailed(e.0),
                    },
                    None => Res::NoSender,
                }
            }
            Cmd::Recv(c) => {
                let rx = w.chans[c].lock().unwrap().1.clone();
                match rx {
                    Some(rx) => match rx.recv() {
                        Ok(v) => Res::Got(v),
                        Err(_) => Res::RecvFailed,
                    },
                    None => Res::NoReceiver,
                }
            }
            Cmd::Lock(m) => {
                let (mut g, poisoned) = match w.locks[m].lock() {
                    Ok(g) => (g, false),
                    Err(e) => (e.into_inner(), true),
                };
                *g += 1;
                let count = *g;
                held[m] = Some(g);
                Res::Locked { count, poisoned }
            }
            Cmd::Unlock(m) => {
                held[m] = None;
                Res::Unit
            }
            Cmd::Plan(spec) => run_plan(&spec),
        };
        let _ = w.reports.send((me, res));
    }
}

fn run_plan(spec: &PlanSpec) -> Res {
    let mode = match spec.mode {
        Mode::All => JoinMode::All,
        Mode::AllRequired => JoinMode::AllRequired,
        Mode::Any => JoinMode::Any,
        Mode::FirstSuccess => JoinMode::FirstSuccess,
        Mode::Quorum(k) => JoinMode::Quorum(usize::from(k)),
    };
    let mut need: Need<u64, ()> = Need::new(mode);
    for (i, &(required, script)) in spec.parts.iter().enumerate() {
        let body = move || match script {
            Script::Ok(v) => Ok(v),
            Script::Err => Err(()),
            Script::Panic => panic::panic_any(ModelPanic),
        };
        let name = format!("p{i}");
        need = need.part(if required {
            Part::required(name, body)
        } else {
            Part::optional(name, body)
        });
    }
    let out = need.run();
    let values = out
        .parts()
        .iter()
        .map(|p| match p.status() {
            PartStatus::Succeeded(v) => Some(*v),
            _ => None,
        })
        .collect();
    Res::Plan {
        success: Some(out.is_success()),
        values,
    }
}

/// Silences the panics programs ask for; everything else goes to the
/// previous hook. Installed after the first spawn (which is when strands
/// installs its own hook, once per process), so that it wraps strands'
/// hook: wrapped by it, the strand's `panicked at` line would still print.
fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let prev = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<ModelPanic>() {
                prev(info);
            }
        }));
    });
}

struct Driver<'a> {
    rt: &'a Runtime,
    world: Arc<World>,
    reports: mpsc::Receiver<Report>,
    inboxes: Vec<Sender<Cmd>>,
    strands: Vec<Strand>,
    model: Model,
}

fn kind_of(w: Wait) -> WaitKind {
    match w {
        Wait::Send(..) => WaitKind::Send,
        Wait::Recv(_) => WaitKind::Recv,
        Wait::Lock(_) => WaitKind::Mutex,
        Wait::Join(_) => WaitKind::Join,
        Wait::Sleep => WaitKind::Sleep,
    }
}

impl Driver<'_> {
    fn step(&mut self, op: &Op) -> Result<(), String> {
        let before = self.model.clone();
        let st = self.model.apply(op);
        if st.skipped {
            return Ok(());
        }
        let cmd = |c: Cmd, a: usize, d: &Driver| {
            d.inboxes[a]
                .send(c)
                .map_err(|_| format!("a{a}'s inbox is closed"))
        };
        match op {
            Op::Spawn => {
                let me = self.inboxes.len();
                let (tx, rx) = channel::unbounded();
                let w = Arc::clone(&self.world);
                let gone = Gone(me, self.world.reports.clone());
                let h = self.rt.spawn(move || actor(me, rx, w, gone));
                install_quiet_hook();
                self.strands.push(h.strand().clone());
                self.world.handles.lock().unwrap().push(Some(h));
                self.inboxes.push(tx);
            }
            Op::Yield(a, k) => cmd(Cmd::Yield(*k), *a, self)?,
            Op::Sleep(a, ms) => cmd(Cmd::Sleep(*ms), *a, self)?,
            Op::Park(a) => cmd(Cmd::Park, *a, self)?,
            Op::Exit(a, v) => cmd(Cmd::Exit(*v), *a, self)?,
            Op::Panic(a) => cmd(Cmd::Panic, *a, self)?,
            Op::Join(a, b) => cmd(Cmd::Join(*b), *a, self)?,
            Op::Cancel(a) => self.strands[*a].cancel(),
            Op::Send(a, c, v) => cmd(Cmd::Send(*c, *v), *a, self)?,
            Op::Recv(a, c) => cmd(Cmd::Recv(*c), *a, self)?,
            Op::Close(c) => drop(self.world.chans[*c].lock().unwrap().0.take()),
            Op::DropRx(c) => drop(self.world.chans[*c].lock().unwrap().1.take()),
            Op::Lock(a, m) => cmd(Cmd::Lock(*m), *a, self)?,
            Op::Unlock(a, m) => cmd(Cmd::Unlock(*m), *a, self)?,
            Op::Plan(a, spec) => cmd(Cmd::Plan(spec.clone()), *a, self)?,
        }

        let deadline = Instant::now() + PATIENCE;
        let mut pending = st.completes;
        while !pending.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            let (a, got) = self.reports.recv_timeout(left).map_err(|_| {
                format!("no report within {PATIENCE:?}; the model expects {pending:?}")
            })?;
            let Some(i) = pending.iter().position(|(x, _)| *x == a) else {
                return Err(unexpected(&before, a, &got));
            };
            let (_, want) = pending.swap_remove(i);
            if !want.admits(&got) {
                return Err(format!("a{a} reported {got:?}, the model says {want:?}"));
            }
        }
        if let Some((a, w)) = st.blocks {
            self.wait_parked(a, w, deadline)?;
        }
        if let Ok((a, got)) = self.reports.try_recv() {
            return Err(unexpected(&before, a, &got));
        }
        self.compare(op)
    }

    /// Waits until a dump shows actor `a` parked on `w`'s kind of wait.
    fn wait_parked(&self, a: usize, w: Wait, deadline: Instant) -> Result<(), String> {
        let id = self.strands[a].id();
        let want = kind_of(w);
        let mut spins = 0u32;
        loop {
            if let Ok((x, got)) = self.reports.try_recv() {
                return Err(format!(
                    "a{x} reported {got:?}, the model says it blocks on {w:?}"
                ));
            }
            let dump = self.rt.dump();
            let info = dump.strands().iter().find(|s| s.id() == id);
            let seen = info.map(|s| (s.state(), s.waits_for()));
            if let Some((StrandState::Parked | StrandState::Sleeping, Some(k))) = seen {
                if k == want {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "a{a} should be parked on {w:?}, after {PATIENCE:?} a dump shows {seen:?}"
                ));
            }
            // Polling for the park: yield the CPU to the workers first,
            // then back off a little.
            spins += 1;
            if spins < 16 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(Duration::from_micros(20));
            }
        }
    }

    /// What can be read without changing anything.
    fn compare(&self, op: &Op) -> Result<(), String> {
        for c in 0..CHANS {
            let ends = self.world.chans[c].lock().unwrap();
            let len = match &*ends {
                (Some(tx), _) => Some(tx.len()),
                (None, Some(rx)) => Some(rx.len()),
                (None, None) => None,
            };
            let want = self.model.chans[c].buf.len();
            if len.is_some_and(|n| n != want) {
                return Err(format!("c{c} holds {len:?} values, the model says {want}"));
            }
        }
        for (m, lock) in self.world.locks.iter().enumerate() {
            if lock.is_poisoned() != self.model.locks[m].poisoned {
                return Err(format!(
                    "m{m} poisoned: {}, the model says {}",
                    lock.is_poisoned(),
                    self.model.locks[m].poisoned
                ));
            }
        }
        if let Op::Cancel(a) = op {
            if !self.strands[*a].is_cancelled() {
                return Err(format!("a{a} was cancelled but does not say so"));
            }
        }
        Ok(())
    }

    /// Lets every actor end (idle ones return, blocked ones are cancelled),
    /// joins what nobody joined, and waits for no live strand.
    fn wind_down(&mut self) -> Result<(), String> {
        while let Some(a) = self
            .model
            .actors
            .iter()
            .position(|s| !matches!(s, State::Done(_)))
        {
            let op = match self.model.actors[a] {
                State::Idle => Op::Exit(a, 1000 + a as u64),
                _ => Op::Cancel(a),
            };
            self.step(&op).map_err(|e| format!("{op}: {e}"))?;
        }
        let left: Vec<(usize, JoinHandle<u64>)> = {
            let mut hs = self.world.handles.lock().unwrap();
            hs.iter_mut()
                .enumerate()
                .filter_map(|(i, h)| h.take().map(|h| (i, h)))
                .collect()
        };
        for (a, h) in left {
            let got = match h.join_timeout(PATIENCE) {
                Ok(r) => end_of(r),
                Err(_) => return Err(format!("a{a} did not end within {PATIENCE:?}")),
            };
            let State::Done(want) = self.model.actors[a] else {
                unreachable!("every actor is done")
            };
            if got != want {
                return Err(format!(
                    "joining a{a} gave {got:?}, the model says {want:?}"
                ));
            }
        }
        let deadline = Instant::now() + PATIENCE;
        while self.rt.metrics().live_strands != 0 {
            if Instant::now() > deadline {
                return Err(format!("strands still live: {}", self.rt.dump()));
            }
            std::thread::sleep(Duration::from_micros(50));
        }
        if let Ok((a, got)) = self.reports.try_recv() {
            return Err(format!("a{a} reported {got:?} after it ended"));
        }
        Ok(())
    }
}

fn unexpected(before: &Model, a: usize, got: &Res) -> String {
    format!(
        "a{a} reported {got:?}, the model expects nothing of it (it was {:?})",
        before.actors.get(a)
    )
}

/// Runs `p` on a fresh runtime and checks it against the model.
///
/// After a divergence the runtime is leaked rather than dropped: it may
/// hold strands that never end, and dropping it would wait for them.
pub fn run(p: &Program) -> Result<(), Divergence> {
    let rt = Runtime::builder()
        .workers(p.workers)
        .on_deadlock(|_| {}) // join cycles are programs' business here
        .build()
        .expect("build a runtime");
    let (report_tx, reports) = mpsc::channel();
    let world = Arc::new(World {
        chans: p
            .caps
            .iter()
            .map(|c| {
                let (tx, rx) = match c {
                    Some(n) => channel::bounded(*n),
                    None => channel::unbounded(),
                };
                StdMutex::new((Some(tx), Some(rx)))
            })
            .collect(),
        locks: (0..MUTEXES).map(|_| strands::sync::Mutex::new(0)).collect(),
        handles: StdMutex::new(Vec::new()),
        reports: report_tx,
    });
    let mut d = Driver {
        rt: &rt,
        world,
        reports,
        inboxes: Vec::new(),
        strands: Vec::new(),
        model: Model::new(&p.caps),
    };
    let mut result = Ok(());
    for (i, op) in p.ops.iter().enumerate() {
        if let Err(what) = d.step(op) {
            result = Err(Divergence {
                step: Some(i),
                what: format!("{op}: {what}"),
            });
            break;
        }
    }
    if result.is_ok() {
        result = d
            .wind_down()
            .map_err(|what| Divergence { step: None, what });
    }
    if result.is_err() {
        for s in &d.strands {
            s.cancel();
        }
        drop(d);
        std::mem::forget(rt);
    }
    result
}
