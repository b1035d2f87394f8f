//! Deadlocks the watchdog can prove: cycles of strands joining each other.
//!
//! A strand parked in a join without a deadline records the strand it
//! joins (its wait record: kind `Join`, detail the joined strand's id) and
//! counts itself in `Shared::join_waits` while it waits. The monitor looks
//! only while that count is not zero, at most once a second: it copies the
//! registry, keeps the strands parked in such a join for longer than the
//! threshold, and follows the "joins" edges. A cycle of them can never
//! complete (each waits for the end of the next, which waits in turn); it
//! is reported once, on stderr and to
//! [`Builder::on_deadlock`](crate::runtime::Builder::on_deadlock).
//!
//! Not found: cycles through locks or channels (a lock records no holder),
//! and cycles that involve a strand of another runtime.

use super::super::shared::Shared;
use crate::loom::{Arc, Ordering};
use crate::strand::state::Phase;
use crate::strand::wait::elapsed;
use crate::strand::WaitKind;
use crate::StrandId;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::Duration;

/// The bit of a join's wait detail that marks a join with a deadline (it
/// ends by itself: never part of a deadlock).
pub(crate) const TIMED_JOIN: u64 = 1 << 63;

/// Strands that wait for each other forever: each joins the next, and the
/// last joins the first. Reported by the watchdog (see
/// [`Builder::on_deadlock`](crate::runtime::Builder::on_deadlock)).
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
    /// The strands of the cycle, each joining the next (the last joins the
    /// first), with their names; starting at the lowest id.
    pub strands: Vec<(StrandId, Option<String>)>,
}

impl fmt::Display for Deadlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |i: usize| {
            let (id, name) = &self.strands[i % self.strands.len()];
            format!(
                "strand '{}' (id {id})",
                name.as_deref().unwrap_or("<unnamed>")
            )
        };
        write!(f, "deadlock: {} joins {}", name(0), name(1))?;
        for i in 1..self.strands.len() {
            write!(f, ", which joins {}", name(i + 1))?;
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

/// Looks for cycles of joins among the strands parked in one for longer
/// than `threshold`; reports each cycle not in `reported` yet.
pub(super) fn check(
    shared: &Shared,
    threshold: Duration,
    hook: Option<&DeadlockHook>,
    reported: &mut HashSet<Vec<u64>>,
) {
    let live = shared.registry.all();
    // joiner -> joined, with the joiner's name
    let mut joins: HashMap<u64, (u64, Option<&str>)> = HashMap::new();
    for s in &live {
        let rec = s.wait.get();
        if rec.kind == WaitKind::Join
            && rec.detail & TIMED_JOIN == 0
            && s.state.phase() == Phase::Parked
            && elapsed(rec.since) >= threshold
            // the record may have changed between the reads: read again
            && s.wait.kind() == WaitKind::Join
        {
            joins.insert(s.id.as_u64(), (rec.detail, s.name.as_deref()));
        }
    }
    let mut done: HashSet<u64> = HashSet::new();
    for &start in joins.keys() {
        let mut path: Vec<u64> = Vec::new();
        let mut at = start;
        while let Some(&(next, _)) = joins.get(&at) {
            if done.contains(&at) {
                break;
            }
            if let Some(pos) = path.iter().position(|&p| p == at) {
                report_cycle(&path[pos..], &joins, hook, reported);
                break;
            }
            path.push(at);
            at = next;
        }
        done.extend(path);
    }
}

fn report_cycle(
    cycle: &[u64],
    joins: &HashMap<u64, (u64, Option<&str>)>,
    hook: Option<&DeadlockHook>,
    reported: &mut HashSet<Vec<u64>>,
) {
    let low = (0..cycle.len()).min_by_key(|&i| cycle[i]).unwrap_or(0);
    let key: Vec<u64> = cycle[low..].iter().chain(&cycle[..low]).copied().collect();
    if !reported.insert(key.clone()) {
        return;
    }
    let deadlock = Deadlock {
        strands: key
            .iter()
            .filter_map(|&id| {
                let name = joins.get(&id).and_then(|j| j.1).map(str::to_string);
                StrandId::from_u64(id).map(|id| (id, name))
            })
            .collect(),
    };
    eprintln!("strands watchdog: {deadlock}");
    if let Some(hook) = hook {
        hook(&deadlock);
    }
}

/// Whether a deadlock check may find something: a strand waits in an
/// untimed join.
pub(super) fn worth_checking(shared: &Shared) -> bool {
    shared.join_waits.load(Ordering::Relaxed) > 0
}
