//! [`Barrier`]: a rendezvous point for a fixed number of parties.

use super::waitlist::{self, Queue, WaitSpec, Wakes};
use crate::spin::RawMutex;
use std::fmt;
use std::ptr;

const RELEASED: usize = 0;

/// Lets `n` strands (or threads) wait until all of them have arrived, like
/// [`std::sync::Barrier`]; it can be reused for round after round.
///
/// `Barrier::new(0)` and `Barrier::new(1)` never block: every `wait`
/// returns at once and is the leader (as in std). A strand cancelled while
/// waiting withdraws its arrival, so the round still waits for `n` parties
/// that are really there; if the round had completed first, its `wait`
/// returns as usual (nobody else is affected) and the cancellation fires
/// at its next blocking point.
///
/// ```
/// use std::sync::Arc;
/// use strands::sync::Barrier;
///
/// strands::run(|| {
///     let b = Arc::new(Barrier::new(3));
///     let hs: Vec<_> = (0..3)
///         .map(|_| {
///             let b = Arc::clone(&b);
///             strands::spawn(move || b.wait().is_leader())
///         })
///         .collect();
///     let leaders = hs.into_iter().map(|h| h.join().unwrap() as u32).sum::<u32>();
///     assert_eq!(leaders, 1);
/// });
/// ```
pub struct Barrier {
    n: usize,
    inner: RawMutex<State>,
}

struct State {
    arrived: usize,
    queue: Queue,
}

/// What [`Barrier::wait`] returns: whether this party was the leader (the
/// last to arrive; exactly one per round).
///
/// ```
/// let b = strands::sync::Barrier::new(1);
/// assert!(b.wait().is_leader());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// Whether this party completed the round.
    ///
    /// ```
    /// let b = strands::sync::Barrier::new(1);
    /// assert!(b.wait().is_leader());
    /// ```
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for `n` parties.
    ///
    /// ```
    /// let b = strands::sync::Barrier::new(0); // 0 and 1 never block
    /// assert!(b.wait().is_leader());
    /// ```
    pub fn new(n: usize) -> Barrier {
        Barrier {
            n,
            inner: RawMutex::new(State {
                arrived: 0,
                queue: Queue::new(),
            }),
        }
    }

    /// Arrives and parks until all `n` parties have arrived.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use strands::sync::{Barrier, Mutex};
    ///
    /// strands::run(|| {
    ///     let b = Arc::new(Barrier::new(2));
    ///     let log = Arc::new(Mutex::new(Vec::new()));
    ///     let (b2, log2) = (Arc::clone(&b), Arc::clone(&log));
    ///     let h = strands::spawn(move || {
    ///         log2.lock().unwrap().push("a1");
    ///         b2.wait();
    ///         log2.lock().unwrap().push("a2");
    ///     });
    ///     log.lock().unwrap().push("b1");
    ///     b.wait();
    ///     h.join().unwrap();
    ///     // Both first steps happen before either second step.
    ///     let log = log.lock().unwrap();
    ///     assert!(log[..2].contains(&"a1") && log[..2].contains(&"b1"));
    /// });
    /// ```
    pub fn wait(&self) -> BarrierWaitResult {
        let mut st = waitlist::lock(&self.inner);
        st.arrived += 1;
        if st.arrived >= self.n {
            st.arrived = 0;
            let mut wakes = Wakes::none();
            while let Some(c) = st.queue.claim_first(ptr::null()) {
                wakes.push(c.complete(RELEASED));
            }
            drop(st);
            wakes.wake();
            return BarrierWaitResult(true);
        }
        let token = waitlist::wait(
            st,
            WaitSpec {
                lock: &self.inner,
                queue: |s: &mut State| &mut s.queue,
                tag: 0,
                kind: crate::strand::WaitKind::Barrier,
                data: ptr::null_mut(),
                deadline: None,
                cancellable: true,
                registered: || {},
                withdrawn: |s: &mut State| {
                    s.arrived -= 1;
                    Wakes::none()
                },
                abandoned: |_| {},
            },
        );
        debug_assert_eq!(token, Some(RELEASED));
        BarrierWaitResult(false)
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("n", &self.n)
            .finish_non_exhaustive()
    }
}
