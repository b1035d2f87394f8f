//! The blocking pool: OS threads started on demand, retired when idle.
//!
//! State, all under one lock:
//!
//! - `queue`: jobs not yet taken by a thread, oldest first.
//! - `threads`: threads alive (at most `max_threads`).
//! - `idle`: threads waiting for a job and not yet woken for one.
//! - `notified`: wake-ups sent and not yet consumed; a waking thread that
//!   finds one consumes it, any other wake-up is a time-out or spurious.
//! - `claims`: jobs in `queue` that a woken or newly started thread is on
//!   its way to take; `queue.len() - claims` jobs are *waiting*, and that
//!   number is what the queue limit bounds.
//!
//! Threads are never joined: at shutdown the idle ones exit at once, a busy
//! one after its job, so a job that blocks forever cannot hang the
//! runtime's drop (it keeps its own thread, and nothing else).

use super::error::SpawnError;
use crate::loom::{thread, Arc, Condvar, Mutex, MutexGuard};
use std::collections::VecDeque;
use std::time::Duration;

/// A job: runs the caller's closure and hands its result over itself.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// The pool's bounds, from the runtime builder.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) max_threads: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) queue_limit: usize,
    pub(crate) thread_name: String,
}

pub(crate) struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    state: Mutex<State>,
    cv: Condvar,
}

struct State {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
    notified: usize,
    claims: usize,
    closed: bool,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // jobs never run under the lock
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Pool {
    pub(crate) fn new(config: Config) -> Pool {
        Pool {
            inner: Arc::new(Inner {
                config,
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    notified: 0,
                    claims: 0,
                    closed: false,
                }),
                cv: Condvar::new(),
            }),
        }
    }

    /// Hands `job` to an idle thread, a new one, or the queue; answers
    /// `Saturated` when all threads are busy and the queue is full, and
    /// `ShutDown` after [`shutdown`](Pool::shutdown).
    pub(crate) fn submit(&self, job: Job) -> Result<(), SpawnError> {
        let inner = &self.inner;
        let mut st = inner.lock();
        if st.closed {
            return Err(SpawnError::ShutDown);
        }
        if st.idle > 0 {
            st.idle -= 1;
            st.notified += 1;
            st.claims += 1;
            st.queue.push_back(job);
            drop(st);
            inner.cv.notify_one();
            return Ok(());
        }
        if st.threads < inner.config.max_threads {
            let theirs = Arc::clone(inner);
            let started = thread::Builder::new()
                .name(inner.config.thread_name.clone())
                .spawn(move || theirs.work());
            if started.is_ok() {
                st.threads += 1;
                st.claims += 1;
                st.queue.push_back(job);
                return Ok(());
            }
            // no new thread: queue it if there is room
        }
        if st.queue.len() - st.claims >= inner.config.queue_limit {
            return Err(SpawnError::Saturated);
        }
        st.queue.push_back(job);
        Ok(())
    }

    /// Refuses new jobs, drops the queued ones (their waiters see them
    /// gone), and lets every thread exit once it is idle.
    pub(crate) fn shutdown(&self) {
        let mut st = self.inner.lock();
        st.closed = true;
        let queued = std::mem::take(&mut st.queue);
        st.claims = 0;
        drop(st);
        self.inner.cv.notify_all();
        drop(queued);
    }

    /// Threads alive now (busy or idle).
    pub(crate) fn threads(&self) -> usize {
        self.inner.lock().threads
    }
}

impl Inner {
    /// A pool thread: takes jobs until it has been idle for the
    /// keep-alive or the pool shuts down.
    fn work(&self) {
        let mut st = self.lock();
        loop {
            if let Some(job) = st.queue.pop_front() {
                st.claims = st.claims.saturating_sub(1);
                drop(st);
                job(); // catches its own panic
                st = self.lock();
                continue;
            }
            if st.closed {
                break;
            }
            st.idle += 1;
            let (guard, waited) = self
                .cv
                .wait_timeout(st, self.config.keep_alive)
                .unwrap_or_else(|e| e.into_inner());
            st = guard;
            if st.notified > 0 {
                st.notified -= 1; // `submit` took us off `idle`
                continue;
            }
            st.idle -= 1;
            if waited.timed_out() && st.queue.is_empty() {
                break; // idle for the keep-alive: retire
            }
        }
        st.threads -= 1;
    }
}
