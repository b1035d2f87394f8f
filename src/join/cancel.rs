//! [`CancelToken`]: a cancellation signal with a cause, shared by a tree of
//! tokens and tied to strands.
//!
//! Invariants:
//!
//! - A token's cause is set once (the first `cancel` wins) and never
//!   cleared; `cancelled` mirrors "the cause is set" for lock-free reads.
//! - Whatever is registered with a token (tied strands, child tokens,
//!   waiters) sits in a slab under the token's lock until it unregisters or
//!   the token is cancelled; cancelling drains the slabs, and after that
//!   nothing registers again (a late registration finds the cause and
//!   answers at once). A registration therefore unregisters only while the
//!   token is not cancelled, so a key is never used after the drain.
//! - A tied strand registers itself when it *starts* (not at spawn), so the
//!   token never cancels a strand that has not started: one that starts
//!   after the token was cancelled unwinds at once with the token's cause.

use super::slab::Slab;
use crate::loom::{Arc, AtomicBool, Mutex, MutexGuard, Ordering, Weak};
use crate::runtime::context;
use crate::strand::waiter::Waiter;
use crate::{Builder, JoinHandle, SpawnError, Strand};
use std::fmt;
use std::panic::{self, AssertUnwindSafe};

/// Why a [`CancelToken`] was cancelled; shown by
/// [`JoinError::cancel_cause`](crate::JoinError::cancel_cause) for the
/// strands it cancelled.
///
/// ```
/// use strands::CancelCause;
/// let c = CancelCause::from("client went away");
/// assert_eq!(c.to_string(), "client went away");
/// assert_eq!(CancelCause::Requested.to_string(), "cancelled");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CancelCause {
    /// [`CancelToken::cancel`] without a reason.
    Requested,
    /// The reason given to [`CancelToken::cancel_with`].
    Reason(Arc<str>),
}

impl fmt::Display for CancelCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CancelCause::Requested => f.write_str("cancelled"),
            CancelCause::Reason(r) => f.write_str(r),
        }
    }
}

impl From<&str> for CancelCause {
    fn from(s: &str) -> CancelCause {
        CancelCause::Reason(s.into())
    }
}

impl From<String> for CancelCause {
    fn from(s: String) -> CancelCause {
        CancelCause::Reason(s.into())
    }
}

impl From<Arc<str>> for CancelCause {
    fn from(s: Arc<str>) -> CancelCause {
        CancelCause::Reason(s)
    }
}

/// The payload a strand tied to a cancelled token unwinds with out of its
/// body; the spawn machinery turns it into a cancelled `JoinError` that
/// carries the cause.
pub(crate) struct CancelUnwind(pub(crate) CancelCause);

/// A cancellation signal that strands and threads can wait for, with a
/// cause, children, and strands tied to it.
///
/// Clones share one token. [`child`](CancelToken::child) makes a token that
/// is cancelled with its parent (and inherits the parent's cause), while
/// cancelling the child leaves the parent alone. Strands spawned with
/// [`spawn`](CancelToken::spawn) are cancelled with the token: they unwind
/// at their next blocking point, and joining them reports the cause.
///
/// ```
/// use strands::CancelToken;
/// strands::run(|| {
///     let token = CancelToken::new();
///     let child = token.child();
///     let h = child.spawn(|| strands::sleep(std::time::Duration::from_secs(3600)));
///     token.cancel_with("shutting down");
///     assert!(child.is_cancelled());
///     let err = h.join().unwrap_err();
///     assert!(err.is_cancelled());
///     assert_eq!(err.cancel_cause().unwrap().to_string(), "shutting down");
/// });
/// ```
#[derive(Clone)]
pub struct CancelToken {
    node: Arc<Node>,
}

struct Node {
    cancelled: AtomicBool,
    state: Mutex<NodeState>,
    /// The parent, and this node's key among its children (`None` if the
    /// parent was already cancelled when this child was made).
    parent: Option<(Arc<Node>, Option<usize>)>,
}

struct NodeState {
    cause: Option<CancelCause>,
    strands: Slab<Strand>,
    children: Slab<Weak<Node>>,
    waiters: Slab<Waiter>,
}

impl Node {
    fn new(cause: Option<CancelCause>, parent: Option<(Arc<Node>, Option<usize>)>) -> Node {
        Node {
            cancelled: AtomicBool::new(cause.is_some()),
            state: Mutex::new(NodeState {
                cause,
                strands: Slab::new(),
                children: Slab::new(),
                waiters: Slab::new(),
            }),
            parent,
        }
    }

    fn lock(&self) -> MutexGuard<'_, NodeState> {
        // no user code runs under this lock: poisoning cannot mean much
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Cancels this node and, iteratively, its children.
    fn cancel(self: &Arc<Node>, cause: CancelCause) {
        let mut work = vec![(Arc::clone(self), cause)];
        while let Some((node, cause)) = work.pop() {
            let mut st = node.lock();
            if st.cause.is_some() {
                continue; // the first cause wins
            }
            st.cause = Some(cause.clone());
            node.cancelled.store(true, Ordering::Release);
            let strands: Vec<Strand> = st.strands.drain().collect();
            let children: Vec<Weak<Node>> = st.children.drain().collect();
            let waiters: Vec<Waiter> = st.waiters.drain().collect();
            drop(st);
            strands.iter().for_each(Strand::cancel);
            waiters.into_iter().for_each(Waiter::wake);
            work.extend(
                children
                    .iter()
                    .filter_map(Weak::upgrade)
                    .map(|c| (c, cause.clone())),
            );
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some((parent, Some(key))) = &self.parent {
            let mut st = parent.lock();
            if st.cause.is_none() {
                st.children.remove(*key);
            }
        }
    }
}

/// Unregisters on drop, unless the token was cancelled (which drained the
/// slab the key points into).
struct Registration<'a> {
    node: &'a Node,
    key: usize,
    slab: fn(&mut NodeState) -> &mut dyn Unregister,
}

trait Unregister {
    fn unregister(&mut self, key: usize);
}

impl<T> Unregister for Slab<T> {
    fn unregister(&mut self, key: usize) {
        self.remove(key);
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut st = self.node.lock();
        if st.cause.is_none() {
            (self.slab)(&mut st).unregister(self.key);
        }
    }
}

impl CancelToken {
    /// A token that is not cancelled.
    ///
    /// ```
    /// let t = strands::CancelToken::new();
    /// assert!(!t.is_cancelled() && t.cause().is_none());
    /// t.cancel();
    /// assert!(t.is_cancelled());
    /// assert_eq!(t.cause(), Some(strands::CancelCause::Requested));
    /// ```
    pub fn new() -> CancelToken {
        CancelToken {
            node: Arc::new(Node::new(None, None)),
        }
    }

    /// A child token: cancelled (with the same cause) when this one is;
    /// cancelling the child does not cancel this one. A child of a
    /// cancelled token starts cancelled. The child unregisters from its
    /// parent when its last clone is dropped.
    ///
    /// ```
    /// let parent = strands::CancelToken::new();
    /// let child = parent.child();
    /// child.cancel();
    /// assert!(!parent.is_cancelled());
    /// let other = parent.child();
    /// parent.cancel_with("bye");
    /// assert_eq!(other.cause().unwrap().to_string(), "bye");
    /// ```
    pub fn child(&self) -> CancelToken {
        let node = Arc::new_cyclic(|me| {
            let mut st = self.node.lock();
            match &st.cause {
                Some(c) => Node::new(Some(c.clone()), Some((Arc::clone(&self.node), None))),
                None => {
                    let key = st.children.insert(me.clone());
                    Node::new(None, Some((Arc::clone(&self.node), Some(key))))
                }
            }
        });
        CancelToken { node }
    }

    /// Cancels the token with [`CancelCause::Requested`] (unless it was
    /// cancelled already: the first cause wins).
    ///
    /// ```
    /// use std::time::Duration;
    /// strands::run(|| {
    ///     let token = strands::CancelToken::new();
    ///     let h = token.spawn(|| strands::sleep(Duration::from_secs(60)));
    ///     token.cancel();
    ///     let err = h.join().unwrap_err();
    ///     assert_eq!(err.cancel_cause(), Some(&strands::CancelCause::Requested));
    /// });
    /// ```
    pub fn cancel(&self) {
        self.node.cancel(CancelCause::Requested);
    }

    /// Cancels the token with `cause` (unless it was cancelled already: the
    /// first cause wins). Its children get the same cause; its tied strands
    /// are cancelled and its waiters woken.
    ///
    /// ```
    /// use std::time::Duration;
    /// strands::run(|| {
    ///     let request = strands::CancelToken::new();
    ///     let db = request.child();
    ///     let h = db.spawn(|| strands::sleep(Duration::from_secs(60)));
    ///     request.cancel_with("client went away"); // reaches the child and its strand
    ///     assert_eq!(db.cause().unwrap().to_string(), "client went away");
    ///     let err = h.join().unwrap_err();
    ///     assert_eq!(err.cancel_cause().unwrap().to_string(), "client went away");
    /// });
    /// ```
    pub fn cancel_with(&self, cause: impl Into<CancelCause>) {
        self.node.cancel(cause.into());
    }

    /// Whether the token has been cancelled.
    ///
    /// ```
    /// let t = strands::CancelToken::new();
    /// assert!(!t.is_cancelled());
    /// t.clone().cancel(); // clones share the state
    /// assert!(t.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.node.cancelled.load(Ordering::Acquire)
    }

    /// Why the token was cancelled, or `None` if it was not.
    ///
    /// ```
    /// use strands::{CancelCause, CancelToken};
    /// let t = CancelToken::new();
    /// assert_eq!(t.cause(), None);
    /// t.cancel_with("timeout");
    /// t.cancel(); // the first cause wins
    /// assert_eq!(t.cause(), Some(CancelCause::from("timeout")));
    /// ```
    pub fn cause(&self) -> Option<CancelCause> {
        if !self.is_cancelled() {
            return None;
        }
        self.node.lock().cause.clone()
    }

    /// Waits until the token is cancelled: parks the calling strand, or
    /// blocks a plain thread. A strand cancelled while waiting unwinds out
    /// of the wait, as from any blocking point.
    ///
    /// ```
    /// strands::run(|| {
    ///     let token = strands::CancelToken::new();
    ///     let t = token.clone();
    ///     let h = strands::spawn(move || { t.wait(); t.cause() });
    ///     token.cancel_with("done");
    ///     assert_eq!(h.join().unwrap(), Some("done".into()));
    /// });
    /// ```
    pub fn wait(&self) {
        loop {
            let key = {
                let mut st = self.node.lock();
                if st.cause.is_some() {
                    return;
                }
                st.waiters.insert(context::waiter())
            };
            let _registered = Registration {
                node: &self.node,
                key,
                slab: |st| &mut st.waiters,
            };
            let _recorded = context::waiting(crate::strand::WaitKind::Plan, 0);
            context::block();
        }
    }

    /// Spawns `f` as a strand tied to this token: cancelling the token
    /// cancels it (it unwinds at its next blocking point, its `Drop`s run),
    /// and joining it then reports the token's cause. A strand that starts
    /// after the token was cancelled never runs `f`.
    ///
    /// The strand is registered with the token only while it runs: the
    /// token's memory does not grow with the number of strands it has seen.
    ///
    /// # Panics
    ///
    /// As [`strands::spawn`](crate::spawn) does: outside a runtime, or if
    /// the strand cannot be spawned ([`spawn_with`](CancelToken::spawn_with)
    /// returns those as errors).
    ///
    /// ```
    /// use std::time::Duration;
    /// strands::run(|| {
    ///     let token = strands::CancelToken::new();
    ///     let workers: Vec<_> = (0..3)
    ///         .map(|_| token.spawn(|| loop {
    ///             strands::sleep(Duration::from_millis(1)); // a blocking point
    ///         }))
    ///         .collect();
    ///     token.cancel_with("shutting down");
    ///     for w in workers {
    ///         assert!(w.join().unwrap_err().is_cancelled());
    ///     }
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_with(Builder::new(), f)
            .unwrap_or_else(|e| panic!("CancelToken::spawn failed: {e}"))
    }

    /// [`spawn`](CancelToken::spawn) with a [`Builder`] (name, priority,
    /// stack size...), returning spawn errors.
    ///
    /// ```
    /// strands::run(|| {
    ///     let token = strands::CancelToken::new();
    ///     let h = token
    ///         .spawn_with(strands::Builder::new().name("tied".into()), || 7)
    ///         .unwrap();
    ///     assert_eq!(h.join().unwrap(), 7);
    /// });
    /// ```
    pub fn spawn_with<F, T>(&self, builder: Builder, f: F) -> Result<JoinHandle<T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let node = Arc::clone(&self.node);
        builder.spawn(move || run_tied(&node, f))
    }

    /// How many strands are tied to this token and running now (not its
    /// children's). Drops back as they finish; 0 once it is cancelled.
    ///
    /// ```
    /// strands::run(|| {
    ///     let token = strands::CancelToken::new();
    ///     let t = token.clone();
    ///     let h = token.spawn(move || t.tied_strands());
    ///     assert_eq!(h.join().unwrap(), 1); // itself, while it ran
    ///     assert_eq!(token.tied_strands(), 0);
    /// });
    /// ```
    pub fn tied_strands(&self) -> usize {
        self.node.lock().strands.len()
    }

    /// How many live child tokens are registered with this one; 0 once it
    /// is cancelled.
    ///
    /// ```
    /// let parent = strands::CancelToken::new();
    /// let child = parent.child();
    /// assert_eq!(parent.children(), 1);
    /// drop(child);
    /// assert_eq!(parent.children(), 0);
    /// ```
    pub fn children(&self) -> usize {
        self.node.lock().children.len()
    }
}

/// The body of a tied strand: registers, runs `f`, unregisters; a
/// cancellation caught while the token is cancelled leaves as a
/// [`CancelUnwind`] carrying the cause.
fn run_tied<F: FnOnce() -> T, T>(node: &Node, f: F) -> T {
    let key = {
        let mut st = node.lock();
        if let Some(c) = &st.cause {
            let c = c.clone();
            drop(st);
            drop(f);
            panic::resume_unwind(Box::new(CancelUnwind(c)));
        }
        st.strands.insert(crate::current())
    };
    let registered = Registration {
        node,
        key,
        slab: |st| &mut st.strands,
    };
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(p) => {
            drop(registered);
            if p.is::<context::Cancelled>() {
                if let Some(c) = node.lock().cause.clone() {
                    context::resume_unwind(Box::new(CancelUnwind(c)));
                }
            }
            context::resume_unwind(p)
        }
    }
}

impl Default for CancelToken {
    fn default() -> CancelToken {
        CancelToken::new()
    }
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken")
            .field("cause", &self.cause())
            .finish_non_exhaustive()
    }
}
