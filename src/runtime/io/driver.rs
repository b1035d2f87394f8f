//! The I/O driver: one poller per runtime (from the backend `mod.rs`
//! picks: `epoll.rs` or `polling.rs`), and the registrations of the file
//! descriptors strands wait on.
//!
//! Every registered fd is added once, edge-triggered, for both directions,
//! under a key made of a slab index and a generation (so an event still in
//! flight for an fd that was removed, and whose slot was reused, is
//! ignored). Each slot holds an `Arc<IoState>`: the read and write
//! [`Direction`]s, whose protocol (`readiness.rs`) makes a wait and an event
//! meet without losing a wake-up.
//!
//! Nobody owns the poller for good. An idle worker tries to take the
//! *poller role* (a `try_lock` on the event buffer); the one that gets it
//! waits in `Poller::wait` with the next timer deadline as the timeout, the
//! others go idle (see `Shared::idle`). A worker that pushes work for a
//! worker sitting in `wait` calls `Poller::notify`. Busy workers poll
//! without blocking now and then (`Shared::maintain`), so I/O is not
//! starved while every worker runs strands.
//!
//! A registration made on a thread that is not a worker of any runtime
//! goes to a process-wide fallback driver with a thread of its own, so
//! sockets work from plain threads too.
//!
//! **Drivers die; registrations move.** Every driver has a process-unique
//! id. When its runtime's workers exit, the driver is marked dead
//! ([`Driver::shut_down`]): the process-wide death count goes up, and every
//! waiter of every fd still registered with it is woken (as by a spurious
//! event), so it looks again and moves its fd to a driver that polls (see
//! `io::Registered`). The fd's [`IoState`] (its waiters and event counts)
//! belongs to the fd's owner, not to the driver, so it moves unchanged.

use super::backend::{Events, Poller};
use super::readiness::Direction;
use crate::loom::process::AtomicU64 as ProcessU64;
use crate::loom::{Arc, AtomicBool, AtomicUsize, Mutex, MutexGuard, OnceLock, Ordering};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

/// Events taken from the kernel per `wait`.
const EVENTS: usize = 1024;

/// The read and write sides of one registered fd. Owned by the fd's owner
/// (and shared with the driver's slot while registered), so it survives a
/// move from one driver to another.
pub(crate) struct IoState {
    pub(crate) read: Direction,
    pub(crate) write: Direction,
}

impl IoState {
    pub(crate) fn new() -> IoState {
        IoState {
            read: Direction::new(),
            write: Direction::new(),
        }
    }
}

/// The next driver id (0 is never used: it means "no driver").
static NEXT_ID: ProcessU64 = ProcessU64::new(1);

/// Drivers marked dead so far, process-wide.
static DEATHS: ProcessU64 = ProcessU64::new(0);

/// How many drivers have died so far. A registration checked alive when
/// this read `n` is still alive while it reads `n`.
#[inline]
pub(crate) fn deaths() -> u64 {
    DEATHS.load(Ordering::Acquire)
}

struct Slot {
    generation: u32,
    state: Option<Arc<IoState>>,
}

#[derive(Default)]
struct Slab {
    slots: Vec<Slot>,
    free: Vec<u32>,
}

pub(crate) struct Driver {
    /// Process-unique, never 0.
    id: u64,
    /// Set once the runtime's workers stopped polling (see `shut_down`).
    dead: AtomicBool,
    poller: Poller,
    /// The poller role: whoever holds this lock may `wait` (with this
    /// buffer).
    events: Mutex<Events>,
    /// Whether the role is held (read without locking, by timers that must
    /// notify a waiting poller of an earlier deadline, and by sleepers).
    role: AtomicBool,
    slab: Mutex<Slab>,
    registered: AtomicUsize,
}

/// Holding the poller role; released on drop.
pub(crate) struct Role<'a> {
    driver: &'a Driver,
    events: MutexGuard<'a, Events>,
}

impl Driver {
    pub(crate) fn new() -> io::Result<Driver> {
        Ok(Driver {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            dead: AtomicBool::new(false),
            poller: Poller::new()?,
            events: Mutex::new(Events::with_capacity(EVENTS)),
            role: AtomicBool::new(false),
            slab: Mutex::new(Slab::default()),
            registered: AtomicUsize::new(0),
        })
    }

    /// This driver's process-unique id (never 0).
    #[inline]
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Whether nobody polls this driver any more.
    pub(crate) fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    /// Marks the driver dead (its runtime's workers are exiting: nobody
    /// will poll it again), counts the death, then wakes every waiter of
    /// every fd still registered here, so each looks again, sees the
    /// death and moves its fd to a driver that polls. A waiter that checked
    /// the death count before the count went up and registers after the
    /// wake-ups finds its direction's `seq` moved (the wake-up bumps it
    /// under the same lock it registers under) and retries: no waiter is
    /// left behind. Idempotent.
    pub(crate) fn shut_down(&self) {
        if self.dead.swap(true, Ordering::AcqRel) {
            return;
        }
        DEATHS.fetch_add(1, Ordering::AcqRel);
        let states: Vec<Arc<IoState>> = {
            let slab = self.slab.lock().unwrap_or_else(|e| e.into_inner());
            slab.slots.iter().filter_map(|s| s.state.clone()).collect()
        };
        for state in states {
            state.read.fire(false);
            state.write.fire(false);
        }
    }

    /// Adds `fd` to the poller (both directions, edge-triggered); its
    /// events go to `state`'s waiters.
    pub(crate) fn register(
        self: &Arc<Self>,
        fd: BorrowedFd<'_>,
        state: Arc<IoState>,
    ) -> io::Result<Registration> {
        let key = {
            let mut slab = self.slab.lock().unwrap_or_else(|e| e.into_inner());
            let index = match slab.free.pop() {
                Some(i) => i,
                None => {
                    let i = u32::try_from(slab.slots.len())
                        .map_err(|_| io::Error::other("too many registered fds"))?;
                    slab.slots.push(Slot {
                        generation: 0,
                        state: None,
                    });
                    i
                }
            };
            let slot = &mut slab.slots[index as usize];
            slot.state = Some(Arc::clone(&state));
            key_of(index, slot.generation)
        };
        // The fd stays open while it is registered: `Registration` is owned
        // by the wrapper that owns the fd, and deletes it from the poller in
        // its `Drop`, before the fd is closed.
        if let Err(e) = self.poller.add(fd.as_raw_fd(), key) {
            self.free(key);
            return Err(e);
        }
        self.registered.fetch_add(1, Ordering::Relaxed);
        Ok(Registration {
            driver: Arc::clone(self),
            key,
            fd: fd.as_raw_fd(),
        })
    }

    fn free(&self, key: u64) {
        let (index, generation) = split_key(key);
        let mut slab = self.slab.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = slab.slots.get_mut(index as usize) {
            if slot.generation == generation {
                slot.state = None;
                slot.generation = (slot.generation + 1) & 0x7fff_ffff;
                slab.free.push(index);
            }
        }
    }

    /// Takes the poller role if nobody holds it.
    pub(crate) fn try_role(&self) -> Option<Role<'_>> {
        let events = self.events.try_lock().ok()?;
        self.role.store(true, Ordering::SeqCst);
        Some(Role {
            driver: self,
            events,
        })
    }

    /// Whether some thread holds the poller role.
    pub(crate) fn role_taken(&self) -> bool {
        self.role.load(Ordering::SeqCst)
    }

    /// Whether the poller role waits for a taker (an idle worker must not
    /// leave it free while all others are idle too).
    pub(crate) fn role_vacant(&self) -> bool {
        !self.role_taken()
    }

    /// Whether any fd is registered (busy workers skip polling if not).
    pub(crate) fn has_registrations(&self) -> bool {
        self.registered.load(Ordering::Relaxed) > 0
    }

    /// Wakes the thread waiting in the poller, or makes the next wait
    /// return at once.
    pub(crate) fn notify(&self) {
        let _ = self.poller.notify(); // fails only if the wake-up fd is gone
    }

    /// Wakes the waiters of every event in `events`.
    fn dispatch(&self, events: &Events) {
        for ev in events.iter() {
            let (index, generation) = split_key(ev.key);
            let state = {
                let slab = self.slab.lock().unwrap_or_else(|e| e.into_inner());
                match slab.slots.get(index as usize) {
                    Some(s) if s.generation == generation => s.state.clone(),
                    _ => None, // removed (and maybe reused) since: stale
                }
            };
            if let Some(state) = state {
                // polling reports errors and hang-ups as both directions
                if ev.readable {
                    state.read.fire(ev.closed);
                }
                if ev.writable {
                    state.write.fire(ev.closed);
                }
            }
        }
    }
}

impl Role<'_> {
    /// Waits for events (at most `timeout`) and wakes their waiters.
    /// Returns how many events there were.
    pub(crate) fn poll(&mut self, timeout: Option<Duration>) -> usize {
        match self.driver.poller.wait(&mut self.events, timeout) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return 0,
            Err(e) => {
                // Nothing a caller can do about it; keep serving rather
                // than spin: the next poll tries again.
                eprintln!("strands: poller wait failed ({}): {e}", super::BACKEND);
                std::thread::sleep(Duration::from_millis(1));
                return 0;
            }
        }
        self.driver.dispatch(&self.events);
        self.events.len()
    }
}

impl Drop for Role<'_> {
    fn drop(&mut self) {
        self.driver.role.store(false, Ordering::SeqCst);
    }
}

fn key_of(index: u32, generation: u32) -> u64 {
    ((generation as u64) << 32) | index as u64
}

fn split_key(key: u64) -> (u32, u32) {
    (key as u32, (key >> 32) as u32)
}

/// An fd registered with a driver; removed from its poller on drop.
pub(crate) struct Registration {
    driver: Arc<Driver>,
    key: u64,
    fd: RawFd,
}

impl Registration {
    /// The driver that watches the fd.
    pub(crate) fn driver(&self) -> &Driver {
        &self.driver
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // The owner of the registration still owns the fd (it drops the
        // registration first), so `fd` is open and is the one that was
        // added.
        let _ = self.driver.poller.delete(self.fd); // fails only for a closed fd
        self.driver.free(self.key);
        self.driver.registered.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The driver for registrations made outside any runtime, polled by a
/// thread of its own (started on first use).
pub(crate) fn fallback() -> io::Result<&'static Arc<Driver>> {
    static FALLBACK: OnceLock<Result<Arc<Driver>, io::ErrorKind>> = OnceLock::new();
    let d = FALLBACK.get_or_init(|| {
        let driver = Arc::new(Driver::new().map_err(|e| e.kind())?);
        let d = Arc::clone(&driver);
        crate::loom::thread::Builder::new()
            .name("strands-io".to_string())
            .spawn(move || loop {
                if let Some(mut role) = d.try_role() {
                    role.poll(None);
                }
            })
            .map_err(|e| e.kind())?;
        Ok(driver)
    });
    d.as_ref()
        .map_err(|&k| io::Error::new(k, "strands: cannot start the fallback I/O driver"))
}
