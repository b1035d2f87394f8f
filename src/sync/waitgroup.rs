//! [`WaitGroup`]: wait until a count of outstanding tasks reaches zero.

use super::waitlist::{self, Queue, WaitSpec, Wakes};
use crate::spin::RawMutex;
use std::fmt;
use std::ptr;
use std::time::{Duration, Instant};

const ZERO: usize = 0;

/// A counter of outstanding work, as in Go's `sync.WaitGroup`:
/// [`add`](WaitGroup::add) before starting work, [`done`](WaitGroup::done)
/// when a piece finishes, [`wait`](WaitGroup::wait) parks until the count is
/// zero. Any number of strands and threads may wait; all are released when
/// it reaches zero. A waiter that is cancelled simply leaves.
///
/// # Panics
///
/// [`done`](WaitGroup::done) more often than [`add`](WaitGroup::add)ed
/// panics (the count would go below zero), as in Go.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use strands::sync::WaitGroup;
///
/// strands::run(|| {
///     let wg = Arc::new(WaitGroup::new());
///     let hits = Arc::new(AtomicU32::new(0));
///     for _ in 0..10 {
///         wg.add(1);
///         let (wg, hits) = (Arc::clone(&wg), Arc::clone(&hits));
///         strands::spawn(move || {
///             hits.fetch_add(1, Ordering::SeqCst);
///             wg.done();
///         });
///     }
///     wg.wait();
///     assert_eq!(hits.load(Ordering::SeqCst), 10);
/// });
/// ```
pub struct WaitGroup {
    inner: RawMutex<State>,
}

struct State {
    count: usize,
    queue: Queue,
}

impl WaitGroup {
    /// A wait group with a count of zero.
    ///
    /// ```
    /// let wg = strands::sync::WaitGroup::new();
    /// assert_eq!(wg.count(), 0);
    /// wg.wait(); // returns at once
    /// ```
    pub fn new() -> WaitGroup {
        WaitGroup {
            inner: RawMutex::new(State {
                count: 0,
                queue: Queue::new(),
            }),
        }
    }

    /// Adds `n` to the count.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use strands::sync::WaitGroup;
    ///
    /// strands::run(|| {
    ///     let wg = Arc::new(WaitGroup::new());
    ///     wg.add(3); // before starting the work
    ///     for _ in 0..3 {
    ///         let wg = Arc::clone(&wg);
    ///         strands::spawn(move || wg.done());
    ///     }
    ///     wg.wait();
    ///     assert_eq!(wg.count(), 0);
    /// });
    /// ```
    pub fn add(&self, n: usize) {
        let mut st = waitlist::lock(&self.inner);
        st.count = st.count.checked_add(n).expect("WaitGroup count overflowed");
    }

    /// Takes one from the count; at zero, releases every waiter.
    ///
    /// ```
    /// let wg = strands::sync::WaitGroup::new();
    /// wg.add(2);
    /// wg.done();
    /// assert_eq!(wg.count(), 1);
    /// ```
    #[track_caller]
    pub fn done(&self) {
        let mut st = waitlist::lock(&self.inner);
        st.count = match st.count.checked_sub(1) {
            Some(c) => c,
            None => {
                drop(st);
                panic!("WaitGroup::done called more often than add");
            }
        };
        if st.count > 0 {
            return;
        }
        let mut wakes = Wakes::none();
        while let Some(c) = st.queue.claim_first(ptr::null()) {
            wakes.push(c.complete(ZERO));
        }
        drop(st);
        wakes.wake();
    }

    /// The count now.
    ///
    /// ```
    /// let wg = strands::sync::WaitGroup::new();
    /// wg.add(4);
    /// assert_eq!(wg.count(), 4);
    /// ```
    pub fn count(&self) -> usize {
        waitlist::lock(&self.inner).count
    }

    /// Parks until the count is zero (returns at once if it is).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use strands::sync::WaitGroup;
    ///
    /// strands::run(|| {
    ///     let (wg, saved) = (Arc::new(WaitGroup::new()), Arc::new(AtomicBool::new(false)));
    ///     wg.add(1);
    ///     let (wg2, saved2) = (Arc::clone(&wg), Arc::clone(&saved));
    ///     strands::spawn(move || {
    ///         saved2.store(true, Ordering::SeqCst);
    ///         wg2.done();
    ///     });
    ///     wg.wait();
    ///     assert!(saved.load(Ordering::SeqCst));
    /// });
    /// ```
    pub fn wait(&self) {
        self.wait_opt_deadline(None);
    }

    /// Like [`wait`](WaitGroup::wait), giving up after `timeout`; returns
    /// whether the count reached zero.
    ///
    /// ```
    /// use std::time::Duration;
    /// let wg = strands::sync::WaitGroup::new();
    /// wg.add(1);
    /// assert!(!wg.wait_timeout(Duration::from_millis(1)));
    /// wg.done();
    /// assert!(wg.wait_timeout(Duration::from_millis(1)));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_opt_deadline(Instant::now().checked_add(timeout))
    }

    fn wait_opt_deadline(&self, deadline: Option<Instant>) -> bool {
        let st = waitlist::lock(&self.inner);
        if st.count == 0 {
            return true;
        }
        waitlist::wait(
            st,
            WaitSpec {
                lock: &self.inner,
                queue: |s: &mut State| &mut s.queue,
                tag: 0,
                kind: crate::strand::WaitKind::WaitGroup,
                data: ptr::null_mut(),
                deadline,
                cancellable: true,
                registered: || {},
                withdrawn: |_: &mut State| Wakes::none(),
                abandoned: |_| {},
            },
        )
        .is_some()
    }
}

impl Default for WaitGroup {
    fn default() -> WaitGroup {
        WaitGroup::new()
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroup")
            .field("count", &self.count())
            .finish()
    }
}
