//! Joining a strand: [`JoinHandle`] and [`JoinError`], and the packet
//! between a strand and its joiner (`packet.rs`).
//!
//! Below the public spawn API (`spawn.rs`), above the runtime: the runtime
//! sees a packet only as the strand's payload and its `Job` table.

mod error;
mod packet;

pub(crate) use crate::strand::job::Owner;
pub(crate) use error::panic_message;
pub use error::JoinError;
pub(crate) use packet::Packet;

use crate::strand::StrandRef;
use crate::Strand;
use std::fmt;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

/// An owned permission to join a strand (wait for it and take its result).
///
/// Dropping the handle detaches the strand: it runs on, and its result is
/// dropped when it finishes.
///
/// A handle can be sent to another strand or thread (when `T: Send`), but
/// not shared: joining consumes it.
///
/// ```compile_fail
/// fn shared<T: Sync>() {}
/// shared::<strands::JoinHandle<u32>>();
/// ```
pub struct JoinHandle<T> {
    /// The strand; its header's payload holds the result.
    strand: Strand,
    _result: PhantomData<T>,
    _not_sync: PhantomData<*const ()>,
}

impl<T> JoinHandle<T> {
    /// The handle of a freshly spawned strand.
    ///
    /// # Safety
    ///
    /// The strand's result type is `T` (its job is a [`Packet`]'s for `T`),
    /// and no other handle to it exists.
    pub(crate) unsafe fn from_strand(strand: StrandRef) -> JoinHandle<T> {
        JoinHandle {
            strand: Strand { inner: strand },
            _result: PhantomData,
            _not_sync: PhantomData,
        }
    }

    fn wait(&self, deadline: Option<Instant>) -> bool {
        packet::wait(&self.strand.inner, deadline)
    }

    /// Takes the result; called once, after [`Self::wait`] returned `true`.
    fn take(&self) -> Result<T, JoinError> {
        // SAFETY: this handle is the single joiner (`from_strand`), the end
        // is published, and the job stores a `T` (`from_strand`).
        unsafe { packet::take_result(&self.strand.inner) }
    }
}

// SAFETY: sending the handle sends the right to take a `T` from the strand;
// fine when `T: Send`. (It is deliberately not `Sync`: joining needs `self`.)
unsafe impl<T: Send> Send for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// Waits for the strand to finish and returns its value, or why there is
    /// none.
    ///
    /// From a strand this parks the strand (its worker runs others
    /// meanwhile); from a plain thread it blocks the thread.
    ///
    /// # Panics
    ///
    /// If called by the strand it joins (it would wait for itself forever).
    ///
    /// ```
    /// strands::run(|| {
    ///     let h = strands::spawn(|| panic!("oops"));
    ///     let err = h.join().unwrap_err();
    ///     assert!(err.is_panic());
    ///     assert_eq!(err.to_string(), "strand panicked: oops");
    /// });
    /// ```
    #[track_caller]
    pub fn join(self) -> Result<T, JoinError> {
        self.not_self();
        self.wait(None);
        self.take()
        // `self` drops here: `detach` finds DONE and changes nothing
    }

    /// Like [`join`](JoinHandle::join), but gives up after `timeout`,
    /// handing the handle back (to join again later, or to cancel).
    ///
    /// ```
    /// use std::time::Duration;
    /// strands::run(|| {
    ///     let slow = strands::spawn(|| strands::sleep(Duration::from_secs(60)));
    ///     let slow = slow.join_timeout(Duration::from_millis(10)).unwrap_err();
    ///     slow.cancel();
    ///     assert!(slow.join().unwrap_err().is_cancelled());
    ///     let quick = strands::spawn(|| 5);
    ///     assert_eq!(quick.join_timeout(Duration::from_secs(60)).unwrap().unwrap(), 5);
    /// });
    /// ```
    #[track_caller]
    pub fn join_timeout(self, timeout: Duration) -> Result<Result<T, JoinError>, JoinHandle<T>> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.join_deadline(deadline),
            None => Ok(self.join()),
        }
    }

    /// Like [`join_timeout`](JoinHandle::join_timeout), with a deadline.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// strands::run(|| {
    ///     let deadline = Instant::now() + Duration::from_secs(60);
    ///     let h = strands::spawn(|| 2 + 2);
    ///     match h.join_deadline(deadline) {
    ///         Ok(result) => assert_eq!(result.unwrap(), 4),
    ///         Err(h) => h.cancel(), // still running at the deadline
    ///     }
    /// });
    /// ```
    #[track_caller]
    pub fn join_deadline(self, deadline: Instant) -> Result<Result<T, JoinError>, JoinHandle<T>> {
        self.not_self();
        if self.wait(Some(deadline)) {
            Ok(self.take())
        } else {
            Err(self)
        }
    }

    /// Waits at most `timeout` for the strand to finish; returns whether it
    /// has (then [`join`](JoinHandle::join) returns at once). Reads better
    /// than matching [`join_timeout`](JoinHandle::join_timeout)'s nested
    /// result:
    ///
    /// ```
    /// use std::time::Duration;
    /// strands::run(|| {
    ///     let h = strands::spawn(|| strands::sleep(Duration::from_secs(60)));
    ///     if !h.wait_timeout(Duration::from_millis(5)) {
    ///         h.cancel();
    ///     }
    ///     assert!(h.join().unwrap_err().is_cancelled());
    /// });
    /// ```
    #[track_caller]
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.not_self();
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.wait_deadline(deadline),
            None => self.wait(None),
        }
    }

    /// [`wait_timeout`](JoinHandle::wait_timeout) with a deadline.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// strands::run(|| {
    ///     let h = strands::spawn(|| strands::sleep(Duration::from_secs(60)));
    ///     assert!(!h.wait_deadline(Instant::now() + Duration::from_millis(5)));
    ///     h.cancel();
    ///     assert!(h.wait_deadline(Instant::now() + Duration::from_secs(60)));
    /// });
    /// ```
    #[track_caller]
    pub fn wait_deadline(&self, deadline: Instant) -> bool {
        self.not_self();
        self.wait(Some(deadline))
    }

    /// Panics if the running strand is the one this handle joins: it would
    /// wait for itself forever (std's `JoinHandle::join` reports the same
    /// deadlock as an error of the platform).
    #[track_caller]
    fn not_self(&self) {
        let me = crate::runtime::context::with_current(|s| {
            s.is_some_and(|s| std::ptr::eq(s, &*self.strand.inner))
        });
        if me {
            panic!("a strand cannot join itself: it would wait forever");
        }
    }

    /// Cancels the strand: see [`Strand::cancel`]. Joining it then reports
    /// [`JoinError::is_cancelled`] (unless it finished first).
    ///
    /// ```
    /// use std::time::Duration;
    /// strands::run(|| {
    ///     let h = strands::spawn(|| strands::sleep(Duration::from_secs(60)));
    ///     h.cancel();
    ///     assert!(h.join().unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn cancel(&self) {
        self.strand.cancel();
    }

    /// Whether the strand has finished (its result is ready).
    ///
    /// ```
    /// strands::run(|| {
    ///     let h = strands::spawn(|| 1);
    ///     while !h.is_finished() {
    ///         strands::yield_now();
    ///     }
    ///     assert_eq!(h.join().unwrap(), 1); // returns at once
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.strand.inner.join.is_done()
    }

    /// The strand this handle joins.
    ///
    /// ```
    /// strands::run(|| {
    ///     let h = strands::Builder::new().name("worker".into()).spawn(|| ()).unwrap();
    ///     assert_eq!(h.strand().name(), Some("worker"));
    ///     h.join().unwrap();
    /// });
    /// ```
    pub fn strand(&self) -> &Strand {
        &self.strand
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let strand = &self.strand.inner;
        if strand.join.detach() {
            // ended: what is left of the result is ours to drop
            // SAFETY: once (the handle is being dropped), after the end; the
            // result type is `T` (`from_strand`).
            unsafe { packet::release::<T>(strand) };
        }
        // else: detached; the strand drops its own result
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("strand", &self.strand)
            .field("finished", &self.is_finished())
            .finish()
    }
}
