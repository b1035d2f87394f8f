//! The dump's public types (re-exported as `strands::dump`): what the
//! runtime collects, in the layer that collects it.

use crate::strand::WaitKind;
use crate::{Priority, StrandId};
use std::fmt;
use std::panic::Location;
use std::time::Duration;

/// A snapshot of a runtime's live strands; its `Display` is the readable
/// dump (one line a strand), [`strands`](Dump::strands) the same as data.
///
/// ```
/// strands::run(|| {
///     let dump = strands::dump().unwrap();
///     assert!(!dump.strands().is_empty()); // this strand at least
///     println!("{dump}");
/// });
/// ```
#[derive(Clone, Debug)]
pub struct Dump {
    pub(crate) strands: Vec<StrandInfo>,
    pub(crate) workers: usize,
    pub(crate) took: Duration,
}

impl Dump {
    /// Every strand that was live, by id.
    ///
    /// ```
    /// strands::run(|| {
    ///     let me = strands::current().id();
    ///     let dump = strands::dump().unwrap();
    ///     let info = dump.strands().iter().find(|s| s.id() == me).unwrap();
    ///     assert_eq!(info.id(), me);
    /// });
    /// ```
    pub fn strands(&self) -> &[StrandInfo] {
        &self.strands
    }

    /// The workers running when the dump was taken (spares included).
    ///
    /// ```
    /// let rt = strands::Runtime::builder().workers(2).build()?;
    /// assert_eq!(rt.dump().workers(), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// How long collecting the dump took.
    ///
    /// ```
    /// let rt = strands::Runtime::new()?;
    /// let dump = rt.dump();
    /// println!("{} strands in {:?}", dump.strands().len(), dump.took());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn took(&self) -> Duration {
        self.took
    }
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "strands dump: {} live strand{}, {} worker{} (collected in {} us)",
            self.strands.len(),
            if self.strands.len() == 1 { "" } else { "s" },
            self.workers,
            if self.workers == 1 { "" } else { "s" },
            self.took.as_micros()
        )?;
        for s in &self.strands {
            writeln!(f, "  {s}")?;
        }
        Ok(())
    }
}

/// What a strand was doing when a dump was taken.
///
/// ```
/// strands::run(|| {
///     let me = strands::current().id();
///     let dump = strands::dump().unwrap();
///     let info = dump.strands().iter().find(|s| s.id() == me).unwrap();
///     assert!(matches!(info.state(), strands::dump::StrandState::Running(_)));
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StrandState {
    /// Running on the worker with this index.
    Running(usize),
    /// Ready to run, in a queue (or just woken).
    Runnable,
    /// Parked, waiting for something ([`StrandInfo::waits_for`]).
    Parked,
    /// Parked in [`crate::sleep`] or another timed wait on nothing else.
    Sleeping,
    /// Finished, its end not yet announced to its joiner.
    Finished,
}

/// One strand of a [`Dump`].
///
/// ```
/// strands::run(|| {
///     let me = strands::current().id();
///     let dump = strands::dump().unwrap();
///     let info = dump.strands().iter().find(|s| s.id() == me).unwrap();
///     println!("{info}");
/// });
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StrandInfo {
    pub(crate) id: StrandId,
    pub(crate) name: Option<String>,
    pub(crate) priority: Priority,
    pub(crate) state: StrandState,
    pub(crate) wait: Option<(WaitKind, u64)>,
    pub(crate) waited: Option<Duration>,
    pub(crate) spawned_at: Option<&'static Location<'static>>,
    pub(crate) cancelled: bool,
    pub(crate) switches: u64,
    /// Time running and parked, when the runtime measures them.
    pub(crate) times: Option<(Duration, Duration)>,
}

impl StrandInfo {
    /// Its id.
    ///
    /// ```
    /// strands::run(|| {
    ///     let me = strands::current().id();
    ///     let dump = strands::dump().unwrap();
    ///     let info = dump.strands().iter().find(|s| s.id() == me).unwrap();
    ///     assert_eq!(info.id(), me);
    /// });
    /// ```
    pub fn id(&self) -> StrandId {
        self.id
    }

    /// Its name, if it has one.
    ///
    /// ```
    /// strands::run(|| {
    ///     let me = strands::current().id();
    ///     let dump = strands::dump().unwrap();
    ///     let info = dump.strands().iter().find(|s| s.id() == me).unwrap();
    ///     assert_eq!(info.name(), strands::current().name());
    /// });
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Its priority.
    ///
    /// ```
    /// strands::run(|| {
    ///     let me = strands::current().id();
    ///     let dump = strands::dump().unwrap();
    ///     let info = dump.strands().iter().find(|s| s.id() == me).unwrap();
    ///     assert_eq!(info.priority(), strands::Priority::Normal);
    /// });
    /// ```
    pub fn priority(&self) -> Priority {
        self.priority
    }

    /// Running, runnable, parked...
    ///
    /// ```
    /// strands::run(|| {
    ///     let me = strands::current().id();
    ///     let dump = strands::dump().unwrap();
    ///     let info = dump.strands().iter().find(|s| s.id() == me).unwrap();
    ///     assert!(matches!(info.state(), strands::dump::StrandState::Running(_)));
    /// });
    /// ```
    pub fn state(&self) -> StrandState {
        self.state
    }

    /// What it waits for, if it is parked (or sleeping) in a wait the
    /// runtime recorded.
    ///
    /// ```
    /// strands::run(|| {
    ///     let me = strands::current().id();
    ///     let dump = strands::dump().unwrap();
    ///     let info = dump.strands().iter().find(|s| s.id() == me).unwrap();
    ///     assert_eq!(info.waits_for(), None); // it runs
    /// });
    /// ```
    pub fn waits_for(&self) -> Option<WaitKind> {
        self.wait.map(|w| w.0)
    }

    /// The strand it joins, if it is parked in a join.
    ///
    /// ```
    /// strands::run(|| {
    ///     let me = strands::current().id();
    ///     let dump = strands::dump().unwrap();
    ///     let info = dump.strands().iter().find(|s| s.id() == me).unwrap();
    ///     assert_eq!(info.joins(), None);
    /// });
    /// ```
    pub fn joins(&self) -> Option<StrandId> {
        match self.wait {
            Some((WaitKind::Join, id)) => StrandId::from_u64(id & !crate::runtime::TIMED_JOIN),
            _ => None,
        }
    }

    /// How long it had been waiting (coarse: a few milliseconds of
    /// resolution), if it is parked in a recorded wait.
    ///
    /// ```
    /// strands::run(|| {
    ///     let me = strands::current().id();
    ///     let dump = strands::dump().unwrap();
    ///     let info = dump.strands().iter().find(|s| s.id() == me).unwrap();
    ///     assert_eq!(info.waited(), None);
    /// });
    /// ```
    pub fn waited(&self) -> Option<Duration> {
        self.waited
    }

    /// Where it was spawned, if the spawn path knew.
    ///
    /// ```
    /// strands::run(|| {
    ///     let me = strands::current().id();
    ///     let dump = strands::dump().unwrap();
    ///     let info = dump.strands().iter().find(|s| s.id() == me).unwrap();
    ///     assert!(info.spawned_at().is_some()); // where `run` was called
    /// });
    /// ```
    pub fn spawned_at(&self) -> Option<&'static Location<'static>> {
        self.spawned_at
    }

    /// Whether it was cancelled (it unwinds at its next blocking point).
    ///
    /// ```
    /// strands::run(|| {
    ///     let me = strands::current().id();
    ///     let dump = strands::dump().unwrap();
    ///     let info = dump.strands().iter().find(|s| s.id() == me).unwrap();
    ///     assert!(!info.is_cancelled());
    /// });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.cancelled
    }

    /// How many times a worker switched into the strand.
    ///
    /// ```
    /// strands::run(|| {
    ///     strands::yield_now();
    ///     let me = strands::current().id();
    ///     let dump = strands::dump().unwrap();
    ///     let info = dump.strands().iter().find(|s| s.id() == me).unwrap();
    ///     assert!(info.switches() >= 2);
    /// });
    /// ```
    pub fn switches(&self) -> u64 {
        self.switches
    }

    /// Time the strand spent running, over its finished runs (not the one
    /// going on). Measured only while the runtime has an event hook
    /// ([`Builder::on_event`](crate::runtime::Builder::on_event): a clock
    /// read at every switch), else `None`.
    ///
    /// ```
    /// let rt = strands::Runtime::builder().on_event(|_| {}).build()?;
    /// rt.block_on(|| {
    ///     strands::yield_now();
    ///     let me = strands::current().id();
    ///     let dump = strands::dump().unwrap();
    ///     let info = dump.strands().iter().find(|s| s.id() == me).unwrap();
    ///     assert!(info.time_running().is_some());
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn time_running(&self) -> Option<Duration> {
        self.times.map(|t| t.0)
    }

    /// Time the strand spent parked, from each park to the run after its
    /// wake (the wait in the run queue included), over its finished parks.
    /// Measured only while the runtime has an event hook, else `None`.
    ///
    /// ```
    /// let rt = strands::Runtime::builder().on_event(|_| {}).build()?;
    /// rt.block_on(|| {
    ///     strands::sleep(std::time::Duration::from_millis(2));
    ///     let me = strands::current().id();
    ///     let dump = strands::dump().unwrap();
    ///     let info = dump.strands().iter().find(|s| s.id() == me).unwrap();
    ///     assert!(info.time_parked().unwrap() >= std::time::Duration::from_millis(2));
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn time_parked(&self) -> Option<Duration> {
        self.times.map(|t| t.1)
    }
}

impl fmt::Display for StrandInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "strand '{}' (id {}, {:?}): ",
            self.name().unwrap_or("<unnamed>"),
            self.id,
            self.priority
        )?;
        match self.state {
            StrandState::Running(w) => write!(f, "running on worker {w}")?,
            StrandState::Runnable => write!(f, "runnable")?,
            StrandState::Parked => write!(f, "parked")?,
            StrandState::Sleeping => write!(f, "sleeping")?,
            StrandState::Finished => write!(f, "finished")?,
        }
        if let Some((kind, detail)) = self.wait {
            match kind {
                WaitKind::Join => match self.joins() {
                    Some(id) => write!(f, " in join of strand {id}")?,
                    None => write!(f, " in join")?,
                },
                WaitKind::Sleep => {}
                WaitKind::Read | WaitKind::Write => {
                    write!(f, " in {} (fd {detail})", kind.as_str())?
                }
                k => write!(f, " in {}", k.as_str())?,
            }
        }
        if let Some(d) = self.waited {
            write!(f, " for {} ms", d.as_millis())?;
        }
        if self.cancelled {
            write!(f, " (cancelled)")?;
        }
        if let Some(at) = self.spawned_at {
            write!(f, "; spawned at {at}")?;
        }
        write!(f, "; {} switches", self.switches)?;
        if let Some((run, parked)) = self.times {
            write!(
                f,
                ", ran {} us, parked {} us",
                run.as_micros(),
                parked.as_micros()
            )?;
        }
        Ok(())
    }
}
