//! What an attempt's strand hands the runner, the inbox it goes to, and
//! the guard that hands it in.

use crate::join::plan::{Body, Discard};
use crate::runtime::context;
use crate::spin::RawMutex;
use crate::strand::waiter::Waiter;
use crate::sync::Mutex;
use std::sync::Arc;
use std::time::Instant;

pub(super) type SharedHook<T> = Arc<Mutex<Discard<T>>>;
pub(super) type Hook<T> = Option<SharedHook<T>>;

pub(super) enum Raw<T, E> {
    Ok(T),
    Err(E),
    Panic(String),
    /// The body unwound with the runtime's cancellation.
    Cancelled,
    /// The strand was dropped before it ran.
    NotStarted,
}

/// The `part` of the report the token watcher sends (see
/// `Need::cancel_on`).
pub(super) const TOKEN: usize = usize::MAX;

pub(super) struct Report<T, E> {
    pub(super) part: usize,
    pub(super) attempt: usize,
    pub(super) raw: Raw<T, E>,
    pub(super) body: Option<Body<T, E>>,
}

/// Where the attempts' reports wait for the runner, in the order they
/// arrived: the runner's only input (with its timers), so every decision
/// is taken in the order the runner reads them.
///
/// Attempts push under a short lock and wake the runner if it is parked;
/// the runner takes everything there in one lock round. Once the runner is
/// gone (`close`), reports are refused: their senders deal with them.
pub(super) struct Inbox<T, E> {
    state: RawMutex<InboxState<T, E>>,
}

struct InboxState<T, E> {
    reports: Vec<Report<T, E>>,
    /// The runner, parked in `wait`.
    waiter: Option<Waiter>,
    closed: bool,
}

impl<T, E> Inbox<T, E> {
    /// Room for `n` reports before it grows.
    pub(super) fn new(n: usize) -> Inbox<T, E> {
        Inbox {
            state: RawMutex::new(InboxState {
                reports: Vec::with_capacity(n),
                waiter: None,
                closed: false,
            }),
        }
    }

    /// Hands a report in; gives it back if the runner is gone.
    pub(super) fn send(&self, r: Report<T, E>) -> Result<(), Report<T, E>> {
        let mut st = self.state.lock();
        if st.closed {
            return Err(r);
        }
        st.reports.push(r);
        let waiter = st.waiter.take();
        drop(st);
        if let Some(w) = waiter {
            w.wake(); // flags and queues the runner: no user code
        }
        Ok(())
    }

    /// For the runner: swaps the reports there into `batch` (empty; its
    /// room goes to the inbox), waiting for at least one until `deadline`.
    /// Returns `false` if the deadline passed first. Like a channel's
    /// receive, yields once before parking: the strands just woken or
    /// spawned often report meanwhile, which spares a park and a wake. A
    /// cancellation unwinds from the wait (the runner's strand was
    /// cancelled), leaving the reports in the inbox.
    pub(super) fn wait(&self, batch: &mut Vec<Report<T, E>>, deadline: Option<Instant>) -> bool {
        debug_assert!(batch.is_empty());
        /// Withdraws the waiter if a cancellation unwinds out of the wait.
        struct Withdraw<'a, T, E>(&'a Inbox<T, E>);
        impl<T, E> Drop for Withdraw<'_, T, E> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    let w = self.0.state.lock().waiter.take();
                    drop(w);
                }
            }
        }
        let _withdraw = Withdraw(self);
        // a plain thread has nothing to yield to
        let mut yielded = !context::may_switch();
        let mut expired = false;
        loop {
            let mut st = self.state.lock();
            if !st.reports.is_empty() {
                std::mem::swap(&mut st.reports, batch);
                let w = st.waiter.take();
                drop(st);
                drop(w);
                return true;
            }
            if !yielded {
                drop(st);
                yielded = true;
                context::yield_now();
                continue;
            }
            if expired {
                let w = st.waiter.take();
                drop(st);
                drop(w);
                return false;
            }
            st.waiter = Some(context::waiter());
            drop(st);
            let _recorded = context::waiting(crate::strand::WaitKind::Plan, 0);
            match deadline {
                None => context::block(),
                Some(d) => {
                    context::block_until(d);
                    expired = Instant::now() >= d;
                }
            }
        }
    }

    /// For the runner: like [`wait`](Inbox::wait), without waiting.
    pub(super) fn try_take(&self, batch: &mut Vec<Report<T, E>>) -> bool {
        debug_assert!(batch.is_empty());
        let mut st = self.state.lock();
        if st.reports.is_empty() {
            return false;
        }
        std::mem::swap(&mut st.reports, batch);
        true
    }

    /// The runner is gone: later reports are refused. Returns those not
    /// taken, for the caller to drop outside the lock.
    pub(super) fn close(&self) -> Vec<Report<T, E>> {
        let mut st = self.state.lock();
        st.closed = true;
        let waiter = st.waiter.take();
        let left = std::mem::take(&mut st.reports);
        drop(st);
        drop(waiter);
        left
    }
}

/// Lives in the attempt's strand; its `Drop` sends the report.
pub(super) struct Reporter<T: Send + 'static, E: Send + 'static> {
    pub(super) inbox: Arc<Inbox<T, E>>,
    pub(super) part: usize,
    pub(super) attempt: usize,
    /// The part's name and the plan's `on_discarded`, if it has one.
    pub(super) late: Option<(Arc<str>, SharedHook<T>)>,
    pub(super) body: Option<Body<T, E>>,
    pub(super) raw: Option<Raw<T, E>>,
}

impl<T: Send + 'static, E: Send + 'static> Drop for Reporter<T, E> {
    fn drop(&mut self) {
        let report = Report {
            part: self.part,
            attempt: self.attempt,
            raw: self.raw.take().unwrap_or(Raw::NotStarted),
            body: self.body.take(),
        };
        if let Err(r) = self.inbox.send(report) {
            // the runner is gone (this attempt was abandoned): the hook, if
            // any, still gets a value, else it is dropped here, once
            if let (Raw::Ok(v), Some((name, hook))) = (r.raw, &self.late) {
                let mut h = hook.lock().unwrap_or_else(|e| e.into_inner());
                h(name, v);
            }
        }
    }
}

/// Hands `v` to the hook; gives it back if there is none.
pub(super) fn discard<T>(hook: &Hook<T>, name: &str, v: T) -> Option<T> {
    match hook {
        Some(h) => {
            let mut h = h.lock().unwrap_or_else(|e| e.into_inner());
            h(name, v);
            None
        }
        None => Some(v),
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Reports racing the runner's wait: none is lost or read twice, the
    //! runner is woken whenever it parked before a report came, and a
    //! report after `close` is handed back to its sender.
    use super::*;
    use crate::loom::{thread, Arc};

    fn report(part: usize) -> Report<u32, ()> {
        Report {
            part,
            attempt: 0,
            raw: Raw::Ok(part as u32),
            body: None,
        }
    }

    #[test]
    fn loom_two_reports_race_the_runners_wait() {
        loom::model(|| {
            let inbox = Arc::new(Inbox::<u32, ()>::new(1));
            let senders: Vec<_> = (0..2)
                .map(|i| {
                    let inbox = Arc::clone(&inbox);
                    thread::spawn(move || assert!(inbox.send(report(i)).is_ok()))
                })
                .collect();
            let (mut got, mut batch) = (Vec::new(), Vec::new());
            while got.len() < 2 {
                assert!(inbox.wait(&mut batch, None), "no deadline: never times out");
                got.extend(batch.drain(..).map(|r| r.part));
            }
            senders.into_iter().for_each(|s| s.join().unwrap());
            got.sort_unstable();
            assert_eq!(got, [0, 1], "each report read once");
            assert!(!inbox.try_take(&mut batch));
            assert!(inbox.close().is_empty());
        });
    }

    #[test]
    fn loom_a_report_races_close() {
        loom::model(|| {
            let inbox = Arc::new(Inbox::<u32, ()>::new(1));
            let theirs = Arc::clone(&inbox);
            let sender = thread::spawn(move || theirs.send(report(7)).map_err(|r| r.part));
            let left: Vec<usize> = inbox.close().into_iter().map(|r| r.part).collect();
            let sent = sender.join().unwrap();
            // the report is either left in the inbox at close or refused,
            // never both, never lost
            match sent {
                Ok(()) => assert_eq!(left, [7]),
                Err(part) => assert_eq!((part, left.len()), (7, 0)),
            }
        });
    }
}
