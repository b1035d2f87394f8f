//! Deadlocks the watchdog can prove: strands that wait for each other in a
//! cycle of joins and lock holds, and a strand waiting for a lock it holds.
//!
//! **Edges.** A strand parked in a join without a deadline records the
//! strand it joins (its wait record: kind `Join`, detail the joined
//! strand's id). A [`Mutex`](crate::sync::Mutex) records its holder (the
//! holding strand's id, stored as it is taken and cleared as it is
//! released), an [`RwLock`](crate::sync::RwLock) its writer; a strand
//! parked waiting for either records where that word is, and the check
//! reads it through the record's handshake (`strand/wait.rs`), which keeps
//! the lock alive while it reads: it never dereferences anything else. So
//! each parked strand has at most one edge: to the strand it joins, or to
//! the strand holding the lock it waits for. Waits of both kinds are
//! counted while they last (`Shared::counted_waits`, from per-worker
//! counts).
//!
//! **The check.** The monitor looks only while that count is not zero, at
//! most once a second: it copies the registry, keeps the strands parked in
//! such a wait for longer than the threshold, and follows the edges. A
//! cycle (a strand waiting for a lock it holds is a cycle of one) can never
//! complete: each strand waits for the next, which waits in turn, and a
//! parked strand releases nothing. Before it reports, the check reads every
//! strand of the cycle again and wants the same wait (same kind, same
//! start) and the same edge: a cycle pieced together from waits that ended
//! in between is not reported. (A wait's start is read from the coarse
//! clock, a few milliseconds a tick: with a threshold below that, a strand
//! that ended its wait, let go, and began the same wait again with the same
//! edge within one tick would pass for still waiting.) Each cycle is
//! reported once, on stderr and to
//! [`Builder::on_deadlock`](crate::runtime::Builder::on_deadlock).
//!
//! **Not found:** cycles through an `RwLock` held for *reading* (readers
//! are not recorded: it would cost every `read` a list of readers to keep
//! up); cycles through locks held by plain threads, or through strands of
//! another runtime; waits with a deadline (they end by themselves); a
//! condition variable's waiter re-locking its mutex (its record says
//! "condvar"); and cycles through channels, semaphores, condition
//! variables and the other primitives that have no single holder: a value
//! that would unblock a receiver may come from any sender, a permit from
//! any strand, so there is no edge to follow that proves the wait endless.

use super::super::registry::Registry;
use super::super::shared::Shared;
use crate::loom::Arc;
use crate::strand::state::Phase;
use crate::strand::wait::elapsed;
use crate::strand::{Header, WaitKind};
use crate::StrandId;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::Duration;

/// The bit of a join's wait detail that marks a join with a deadline (it
/// ends by itself: never part of a deadlock).
pub(crate) const TIMED_JOIN: u64 = 1 << 63;

/// Strands that wait for each other forever: each waits for the next (it
/// joins it, or waits for a lock the next one holds), and the last waits
/// for the first; or a single strand waiting for a lock it holds itself.
/// Reported by the watchdog (see
/// [`Builder::on_deadlock`](crate::runtime::Builder::on_deadlock)).
///
/// Followed: joins without a deadline, and waits for a
/// [`Mutex`](crate::sync::Mutex) or an [`RwLock`](crate::sync::RwLock),
/// which record the strand holding them (for an `RwLock`, its writer).
/// Not named, because no wait of theirs has one strand that alone could
/// end it: cycles through an `RwLock` held for *reading* (readers are not
/// recorded), through a lock held by a plain thread or a strand of another
/// runtime, through waits with a deadline, and through channels,
/// semaphores, condition variables, barriers and the other primitives
/// without a holder (a value a receiver waits for may come from any
/// sender; a permit from any strand).
///
/// ```
/// let rt = strands::Runtime::builder()
///     .on_deadlock(|d: &strands::runtime::Deadlock| eprintln!("{d}"))
///     .build()?;
/// # drop(rt);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Deadlock {
    /// The strands of the cycle, each waiting for the next (the last for
    /// the first), with their names; starting at the lowest id. One strand:
    /// it waits for a lock it holds.
    pub strands: Vec<(StrandId, Option<String>)>,
    /// What each strand of [`strands`](Deadlock::strands) waits for, at the
    /// same index: [`WaitKind::Join`] (the end of the next strand),
    /// [`WaitKind::Mutex`] (a [`Mutex`](crate::sync::Mutex) the next strand
    /// holds), [`WaitKind::RwLockWrite`] or [`WaitKind::RwLockRead`] (to
    /// write or to read an [`RwLock`](crate::sync::RwLock) the next strand
    /// holds for writing).
    pub waits: Vec<WaitKind>,
}

impl fmt::Display for Deadlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.strands.len();
        let name = |i: usize| {
            let (id, name) = &self.strands[i % n];
            format!(
                "strand '{}' (id {id})",
                name.as_deref().unwrap_or("<unnamed>")
            )
        };
        let edge = |i: usize| {
            let next = if n == 1 {
                "it holds itself".to_string()
            } else {
                format!("held by {}", name(i + 1))
            };
            match self.waits.get(i).copied().unwrap_or(WaitKind::Join) {
                WaitKind::Mutex => format!("waits for a mutex {next}"),
                WaitKind::RwLockWrite => format!("waits to write an rwlock {next}"),
                WaitKind::RwLockRead => format!("waits to read an rwlock {next}"),
                _ => format!("joins {}", name(i + 1)),
            }
        };
        write!(f, "deadlock: {} {}", name(0), edge(0))?;
        for i in 1..n {
            write!(f, ", which {}", edge(i))?;
        }
        Ok(())
    }
}

/// A function the watchdog calls with every deadlock it reports.
///
/// ```
/// let hook: strands::runtime::DeadlockHook = std::sync::Arc::new(|d| eprintln!("{d}"));
/// # drop(hook);
/// ```
pub type DeadlockHook = Arc<dyn Fn(&Deadlock) + Send + Sync>;

/// One strand's edge: the strand it waits for, how, and its wait as read
/// (kind and start) to check that it has not changed.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Edge {
    to: u64,
    kind: WaitKind,
    since: u64,
}

/// The edge of `s`, if it has been parked for longer than `threshold` in a
/// wait the check follows: an untimed join, or a lock with a holder.
fn edge_of(s: &Header, threshold: Duration) -> Option<Edge> {
    let rec = s.wait.get();
    if s.state.phase() != Phase::Parked || elapsed(rec.since) < threshold {
        return None;
    }
    let to = match rec.kind {
        WaitKind::Join if rec.detail & TIMED_JOIN == 0 => rec.detail,
        WaitKind::Mutex | WaitKind::RwLockWrite | WaitKind::RwLockRead => s.wait.lock_holder()?,
        _ => return None,
    };
    // the record may have changed between the reads: read again
    let again = s.wait.get();
    (to != 0 && again.kind == rec.kind && again.since == rec.since).then_some(Edge {
        to,
        kind: rec.kind,
        since: rec.since,
    })
}

/// Looks for cycles of waits (joins and locks) among the strands of
/// `registry` (the runtime's live strands) parked in one for longer than
/// `threshold`; reports each cycle not in `reported` yet.
pub(super) fn check(
    registry: &Registry,
    threshold: Duration,
    hook: Option<&DeadlockHook>,
    reported: &mut HashSet<Vec<u64>>,
) {
    let live = registry.all();
    let mut edges: HashMap<u64, (Edge, &Header)> = HashMap::new();
    for s in &live {
        if let Some(e) = edge_of(s, threshold) {
            edges.insert(s.id.as_u64(), (e, s));
        }
    }
    let mut done: HashSet<u64> = HashSet::new();
    for &start in edges.keys() {
        let mut path: Vec<u64> = Vec::new();
        let mut at = start;
        while let Some(&(edge, _)) = edges.get(&at) {
            if done.contains(&at) {
                break;
            }
            if let Some(pos) = path.iter().position(|&p| p == at) {
                report_cycle(&path[pos..], &edges, threshold, hook, reported);
                break;
            }
            path.push(at);
            at = edge.to;
        }
        done.extend(path);
    }
}

fn report_cycle(
    cycle: &[u64],
    edges: &HashMap<u64, (Edge, &Header)>,
    threshold: Duration,
    hook: Option<&DeadlockHook>,
    reported: &mut HashSet<Vec<u64>>,
) {
    let low = (0..cycle.len()).min_by_key(|&i| cycle[i]).unwrap_or(0);
    let key: Vec<u64> = cycle[low..].iter().chain(&cycle[..low]).copied().collect();
    if reported.contains(&key) {
        return;
    }
    // every strand still in the same wait, with the same edge: the cycle
    // was not pieced together from waits that ended while we looked
    let members: Vec<(Edge, &Header)> =
        key.iter().filter_map(|id| edges.get(id).copied()).collect();
    if members.len() != key.len()
        || members
            .iter()
            .any(|&(e, s)| edge_of(s, threshold) != Some(e))
    {
        return;
    }
    reported.insert(key.clone());
    let deadlock = Deadlock {
        strands: members
            .iter()
            .map(|&(_, s)| (s.id, s.name.as_deref().map(str::to_string)))
            .collect(),
        waits: members.iter().map(|&(e, _)| e.kind).collect(),
    };
    eprintln!("strands watchdog: {deadlock}");
    if let Some(hook) = hook {
        hook(&deadlock);
    }
}

/// Whether a deadlock check may find something: a strand waits in an
/// untimed join or for a lock (`Shared::counted_waits`).
pub(super) fn worth_checking(shared: &Shared) -> bool {
    shared.counted_waits() > 0
}
