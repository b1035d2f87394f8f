//! Scoped strands: [`scope`], which may borrow from the caller's stack.

use crate::join_handle::{JoinError, JoinHandle, Owner};
use crate::loom::{Arc, AtomicBool, Mutex, Ordering};
use crate::runtime::{context, Handle, SpawnError};
use crate::strand::waiter::Waiter;
use crate::strand::Strand;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};

/// Runs `f` with a [`Scope`] whose strands may borrow anything that outlives
/// the call, like [`std::thread::scope`]: `scope` returns only after every
/// strand spawned in it has finished (and its result is gone), whether `f`
/// returns or panics, and whatever the handles' fate (joined, dropped or
/// forgotten with `mem::forget` -- a forgotten handle keeps its result, and
/// the scope waits for it forever, as std's does).
///
/// If `f` panics, or a strand panicked and was not joined, `scope` panics
/// after all its strands are done. If the calling strand is cancelled while
/// it waits, the scope's strands are cancelled too, and the cancellation
/// resumes once they are done.
///
/// # Panics
///
/// Outside a strand (there is no runtime to spawn on).
///
/// ```
/// let mut counts = vec![0u32; 4];
/// let words = ["a", "bb", "ccc", "dddd"];
/// strands::run(|| {
///     strands::scope(|s| {
///         for (count, word) in counts.iter_mut().zip(&words) {
///             s.spawn(move || *count = word.len() as u32);
///         }
///     });
/// });
/// assert_eq!(counts, [1, 2, 3, 4]);
/// ```
///
/// A scoped strand cannot borrow what lives shorter than the scope:
///
/// ```compile_fail
/// strands::run(|| {
///     strands::scope(|s| {
///         let local = 1;
///         s.spawn(|| println!("{local}")); // `local` dies before the scope ends
///     });
/// });
/// ```
#[track_caller]
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    let handle = Handle::try_current().expect("strands::scope called outside a strand");
    let scope = Scope {
        handle,
        data: Arc::new(ScopeData {
            state: Mutex::new(State {
                running: 0,
                waiter: None,
                strands: Vec::new(),
            }),
            a_strand_panicked: AtomicBool::new(false),
        }),
        _scope: PhantomData,
        _env: PhantomData,
    };
    let out = panic::catch_unwind(AssertUnwindSafe(|| f(&scope)));
    let cancelled = scope.data.wait_all();
    if let Err(p) = out {
        context::resume_unwind(p);
    }
    if cancelled {
        context::resume_unwind(Box::new(context::Cancelled));
    }
    if scope.data.a_strand_panicked.load(Ordering::Acquire) {
        panic!("a scoped strand panicked");
    }
    out.unwrap_or_else(|_| unreachable!())
}

/// A scope to spawn strands in; see [`scope`].
///
/// ```
/// strands::run(|| {
///     let data = vec![1, 2, 3, 4];
///     let (left, right) = data.split_at(2);
///     let sum = strands::scope(|s: &strands::Scope<'_, '_>| {
///         let a = s.spawn(|| left.iter().sum::<i32>());
///         let b = s.spawn(|| right.iter().sum::<i32>());
///         a.join().unwrap() + b.join().unwrap()
///     });
///     assert_eq!(sum, 10);
/// });
/// ```
pub struct Scope<'scope, 'env: 'scope> {
    handle: Handle,
    data: Arc<ScopeData>,
    _scope: PhantomData<&'scope mut &'scope ()>,
    _env: PhantomData<&'env mut &'env ()>,
}

impl std::fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope").finish_non_exhaustive()
    }
}

struct ScopeData {
    state: Mutex<State>,
    a_strand_panicked: AtomicBool,
}

struct State {
    running: usize,
    waiter: Option<Waiter>,
    strands: Vec<Strand>,
}

impl Owner for ScopeData {
    /// A strand of the scope panicked and nobody can join it.
    fn note_unhandled_panic(&self) {
        self.a_strand_panicked.store(true, Ordering::Release);
    }

    /// A strand's packet is gone (its result dropped or taken).
    fn strand_done(&self, unhandled_panic: bool) {
        if unhandled_panic {
            self.note_unhandled_panic();
        }
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.running -= 1;
        let w = if st.running == 0 {
            st.waiter.take()
        } else {
            None
        };
        drop(st);
        if let Some(w) = w {
            w.wake();
        }
    }
}

impl ScopeData {
    /// Waits, not cancellably, until every strand is done. Returns whether
    /// the waiting strand was cancelled meanwhile (its strands were then
    /// cancelled too).
    fn wait_all(&self) -> bool {
        let mut cancelled = false;
        loop {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if st.running == 0 {
                return cancelled;
            }
            if !cancelled && context::cancelled() {
                cancelled = true;
                for s in &st.strands {
                    s.cancel();
                }
            }
            st.waiter = Some(context::waiter());
            drop(st);
            context::block_with(false);
        }
    }
}

impl<'scope> Scope<'scope, '_> {
    /// Spawns a strand that may borrow from outside the scope.
    ///
    /// # Panics
    ///
    /// If the strand cannot be spawned; see [`Scope::spawn_with`].
    ///
    /// ```
    /// strands::run(|| {
    ///     let mut hits = 0;
    ///     let names = ["ann", "bob"];
    ///     strands::scope(|s| {
    ///         let h = s.spawn(|| names.len()); // borrows `names`
    ///         s.spawn(|| hits += 1); // borrows `hits` mutably
    ///         assert_eq!(h.join().unwrap(), 2);
    ///     });
    ///     assert_eq!(hits, 1);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        match self.spawn_with(crate::Builder::new(), f) {
            Ok(h) => h,
            Err(e) => panic!("strands::Scope::spawn failed: {e}"),
        }
    }

    /// Spawns a configured strand in the scope.
    ///
    /// ```
    /// strands::run(|| {
    ///     let input = String::from("config");
    ///     strands::scope(|s| {
    ///         let h = s
    ///             .spawn_with(strands::Builder::new().name("parse".into()), || input.len())
    ///             .unwrap();
    ///         assert_eq!(h.strand().name(), Some("parse"));
    ///         assert_eq!(h.join().unwrap(), 6);
    ///     });
    /// });
    /// ```
    #[track_caller]
    pub fn spawn_with<F, T>(
        &'scope self,
        mut builder: crate::Builder,
        f: F,
    ) -> Result<ScopedJoinHandle<'scope, T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        builder
            .spawned_at
            .get_or_insert(std::panic::Location::caller());
        self.data
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .running += 1;
        // SAFETY: `scope` does not return before the packet of this strand
        // -- the only place its body's borrows or its result can live -- is
        // dropped (`ScopeData::strand_done`, counted just above; a failed
        // spawn drops the packet too).
        let inner = unsafe {
            self.handle.spawn_unchecked_in(
                builder,
                f,
                Some(Arc::clone(&self.data) as Arc<dyn Owner>),
            )
        }?;
        self.data
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .strands
            .push(inner.strand().clone());
        Ok(ScopedJoinHandle {
            inner,
            _scope: PhantomData,
        })
    }
}

/// A handle to join a strand of a [`scope`].
///
/// ```
/// strands::run(|| {
///     let v = vec![10, 20];
///     strands::scope(|s| {
///         let h: strands::ScopedJoinHandle<'_, i32> = s.spawn(|| v[0] + v[1]);
///         assert_eq!(h.join().unwrap(), 30);
///     });
/// });
/// ```
pub struct ScopedJoinHandle<'scope, T> {
    inner: JoinHandle<T>,
    _scope: PhantomData<&'scope ()>,
}

impl<T> ScopedJoinHandle<'_, T> {
    /// Waits for the strand and returns its value or why there is none.
    ///
    /// ```
    /// strands::run(|| {
    ///     let text = "a b c";
    ///     strands::scope(|s| {
    ///         let h = s.spawn(|| text.split(' ').count());
    ///         assert_eq!(h.join().unwrap(), 3);
    ///         let bad = s.spawn(|| panic!("oops"));
    ///         assert!(bad.join().unwrap_err().is_panic()); // joined: the scope does not panic
    ///     });
    /// });
    /// ```
    pub fn join(self) -> Result<T, JoinError> {
        self.inner.join()
    }

    /// Whether the strand has finished.
    ///
    /// ```
    /// strands::run(|| {
    ///     let n = 5;
    ///     strands::scope(|s| {
    ///         let h = s.spawn(|| n * 2);
    ///         while !h.is_finished() {
    ///             strands::yield_now();
    ///         }
    ///         assert_eq!(h.join().unwrap(), 10);
    ///     });
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// The strand.
    ///
    /// ```
    /// strands::run(|| {
    ///     strands::scope(|s| {
    ///         let h = s.spawn(|| strands::current().id());
    ///         let id = h.strand().id();
    ///         assert_eq!(h.join().unwrap(), id);
    ///     });
    /// });
    /// ```
    pub fn strand(&self) -> &Strand {
        self.inner.strand()
    }

    /// Cancels the strand (see [`Strand::cancel`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// strands::run(|| {
    ///     strands::scope(|s| {
    ///         let h = s.spawn(|| strands::sleep(Duration::from_secs(60)));
    ///         h.cancel();
    ///         assert!(h.join().unwrap_err().is_cancelled());
    ///     });
    /// });
    /// ```
    pub fn cancel(&self) {
        self.inner.cancel()
    }
}

impl<T> std::fmt::Debug for ScopedJoinHandle<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScopedJoinHandle")
            .field("strand", self.inner.strand())
            .finish()
    }
}
