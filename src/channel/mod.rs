//! Channels whose blocking operations park strands (and threads):
//! [`bounded`], [`unbounded`], [`oneshot()`], and [`Select`] (or
//! [`select!`]) over several operations with an optional timeout.
//!
//! Both ends of [`bounded`] and [`unbounded`] channels are `Clone`: many
//! producers, many consumers; each value goes to exactly one receiver.
//!
//! - **Rendezvous.** `bounded(0)` has no buffer: a send completes when a
//!   receiver takes the value (and `try_send` succeeds only if a receiver
//!   is waiting).
//! - **FIFO.** Blocked senders and receivers are served in arrival order; a
//!   send hands its value straight to the first waiting receiver.
//! - **Disconnection.** When every receiver is gone, sends fail and give the
//!   value back ([`SendError`]); buffered values are dropped. When every
//!   sender is gone, receives drain the buffer, then fail ([`RecvError`]).
//! - **Nothing lost or duplicated.** A value accepted by a send is received
//!   exactly once, or dropped with the channel.
//! - **Cancellation is exactly-once.** A strand cancelled while blocked in
//!   `send` whose value was taken (or handed to a receiver) gets `Ok`; one
//!   whose value was not unwinds, and the value drops with its frame. A
//!   strand cancelled in `recv` (or a [`Select`]) after a value was handed
//!   to it receives it. In both cases the cancellation then fires at the
//!   strand's next blocking point. So the values whose `send` returned `Ok`
//!   are exactly the values received.
//!
//! ```
//! use strands::channel;
//!
//! let sum = strands::run(|| {
//!     let (tx, rx) = channel::bounded(4);
//!     for p in 0..4u64 {
//!         let tx = tx.clone();
//!         strands::spawn(move || (0..100).for_each(|i| tx.send(p * 100 + i).unwrap()));
//!     }
//!     drop(tx); // the receiver sees the end once the producers are done
//!     rx.iter().sum::<u64>()
//! });
//! assert_eq!(sum, (0..400).sum());
//! ```

mod chan;
mod oneshot;
mod select;
mod select_macro;

use crate::loom::Arc;
use chan::{Chan, RecvFail, SendFail};
use std::fmt;
use std::time::{Duration, Instant};

pub use crate::select;
pub use oneshot::{oneshot, OneshotReceiver, OneshotSender};
pub use select::{Select, SelectTimeoutError};

pub use std::sync::mpsc::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};

/// A channel with room for `cap` values; `bounded(0)` is a rendezvous
/// channel. Sends park while it is full.
///
/// ```
/// let (tx, rx) = strands::channel::bounded(1);
/// tx.send(1).unwrap();
/// assert!(tx.try_send(2).is_err()); // full
/// assert_eq!(rx.recv(), Ok(1));
/// ```
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    pair(cap)
}

/// A channel without bound: sends never park.
///
/// ```
/// let (tx, rx) = strands::channel::unbounded();
/// (0..1000).for_each(|i| tx.send(i).unwrap());
/// drop(tx);
/// assert_eq!(rx.iter().count(), 1000);
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    pair(usize::MAX)
}

fn pair<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan::new(cap));
    (
        Sender {
            chan: Arc::clone(&chan),
        },
        Receiver { chan },
    )
}

/// Why [`Sender::send_timeout`] did not send: the value comes back.
///
/// ```
/// use std::time::Duration;
/// use strands::channel::{self, SendTimeoutError};
/// let (tx, _rx) = channel::bounded(0);
/// match tx.send_timeout("v", Duration::from_millis(1)) {
///     Err(SendTimeoutError::Timeout(v)) => assert_eq!(v, "v"),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum SendTimeoutError<T> {
    /// The channel stayed full until the deadline.
    Timeout(T),
    /// Every receiver is gone.
    Disconnected(T),
}

impl<T> SendTimeoutError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, rx) = strands::channel::bounded(1);
    /// tx.send("first").unwrap();
    /// let err = tx.send_timeout("second", Duration::from_millis(1)).unwrap_err();
    /// assert_eq!(err.into_inner(), "second"); // not lost: send it later
    /// drop(rx);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            SendTimeoutError::Timeout(v) | SendTimeoutError::Disconnected(v) => v,
        }
    }
}

impl<T> fmt::Debug for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(_) => f.write_str("Timeout(..)"),
            SendTimeoutError::Disconnected(_) => f.write_str("Disconnected(..)"),
        }
    }
}

impl<T> fmt::Display for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(_) => f.write_str("timed out waiting on send operation"),
            SendTimeoutError::Disconnected(_) => f.write_str("sending on a disconnected channel"),
        }
    }
}

impl<T> std::error::Error for SendTimeoutError<T> {}

/// The sending end of a channel; `Clone` for more producers. The channel
/// disconnects for receivers when the last sender is dropped.
///
/// ```
/// let (tx, rx) = strands::channel::unbounded();
/// let tx2 = tx.clone();
/// tx.send("a").unwrap();
/// tx2.send("b").unwrap();
/// drop((tx, tx2));
/// assert_eq!(rx.iter().collect::<Vec<_>>(), ["a", "b"]);
/// ```
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving end of a channel; `Clone` for more consumers (each value
/// goes to one of them). The channel disconnects for senders when the last
/// receiver is dropped.
///
/// ```
/// let (tx, rx) = strands::channel::bounded(0);
/// strands::run(move || {
///     strands::spawn(move || tx.send(7).unwrap());
///     assert_eq!(rx.recv(), Ok(7));
///     assert!(rx.recv().is_err()); // the sender is gone
/// });
/// ```
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

fn deadline(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

impl<T> Sender<T> {
    /// Sends `v`, parking while the channel is full (for a rendezvous
    /// channel: until a receiver takes it). Fails, giving `v` back, if every
    /// receiver is gone.
    ///
    /// ```
    /// strands::run(|| {
    ///     let (tx, rx) = strands::channel::bounded(2);
    ///     let producer = strands::spawn(move || {
    ///         for line in ["GET /", "GET /a", "GET /b"] {
    ///             tx.send(line).unwrap(); // parks while the channel is full
    ///         }
    ///     });
    ///     let got: Vec<_> = rx.iter().collect();
    ///     producer.join().unwrap();
    ///     assert_eq!(got, ["GET /", "GET /a", "GET /b"]);
    /// });
    /// ```
    pub fn send(&self, v: T) -> Result<(), SendError<T>> {
        self.chan.send(v, None).map_err(|e| match e {
            SendFail::Full(v) | SendFail::Disconnected(v) => SendError(v),
        })
    }

    /// Sends `v` if that needs no waiting.
    ///
    /// ```
    /// use std::sync::mpsc::TrySendError;
    /// let (tx, rx) = strands::channel::bounded(1);
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// drop(rx);
    /// assert_eq!(tx.try_send(3), Err(TrySendError::Disconnected(3)));
    /// ```
    pub fn try_send(&self, v: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(v).map_err(|e| match e {
            SendFail::Full(v) => TrySendError::Full(v),
            SendFail::Disconnected(v) => TrySendError::Disconnected(v),
        })
    }

    /// [`send`](Sender::send), giving up after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use strands::channel::{self, SendTimeoutError};
    /// let (tx, rx) = channel::bounded(1);
    /// tx.send_timeout(1, Duration::from_millis(1)).unwrap();
    /// // Full, and nobody receives: gives up, handing the value back.
    /// assert_eq!(tx.send_timeout(2, Duration::from_millis(1)), Err(SendTimeoutError::Timeout(2)));
    /// assert_eq!(rx.recv(), Ok(1));
    /// ```
    pub fn send_timeout(&self, v: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.send_opt_deadline(v, deadline(timeout))
    }

    /// [`send`](Sender::send), giving up at `deadline`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use strands::channel::{self, SendTimeoutError};
    /// let (tx, rx) = channel::bounded(0); // rendezvous: a send waits for a receiver
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// assert!(matches!(tx.send_deadline("x", deadline), Err(SendTimeoutError::Timeout("x"))));
    /// drop(rx);
    /// ```
    pub fn send_deadline(&self, v: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.send_opt_deadline(v, Some(deadline))
    }

    fn send_opt_deadline(&self, v: T, d: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        self.chan.send(v, d).map_err(|e| match e {
            SendFail::Full(v) => SendTimeoutError::Timeout(v),
            SendFail::Disconnected(v) => SendTimeoutError::Disconnected(v),
        })
    }

    /// Values buffered now.
    ///
    /// ```
    /// let (tx, _rx) = strands::channel::unbounded();
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(tx.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.lock().buf.len()
    }

    /// Whether no value is buffered now.
    ///
    /// ```
    /// let (tx, rx) = strands::channel::unbounded();
    /// assert!(tx.is_empty());
    /// tx.send(()).unwrap();
    /// assert!(!tx.is_empty());
    /// rx.recv().unwrap();
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer's capacity (`None`: unbounded).
    ///
    /// ```
    /// let (tx, _rx) = strands::channel::bounded::<u8>(8);
    /// assert_eq!(tx.capacity(), Some(8));
    /// let (tx, _rx) = strands::channel::unbounded::<u8>();
    /// assert_eq!(tx.capacity(), None);
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        (self.chan.cap != usize::MAX).then_some(self.chan.cap)
    }
}

impl<T> Receiver<T> {
    /// Receives a value, parking until one is there. Fails once the buffer
    /// is empty and every sender is gone.
    ///
    /// ```
    /// strands::run(|| {
    ///     let (tx, rx) = strands::channel::unbounded();
    ///     strands::spawn(move || {
    ///         tx.send(1).unwrap();
    ///         tx.send(2).unwrap();
    ///     }); // `tx` is dropped when the strand ends
    ///     assert_eq!(rx.recv(), Ok(1));
    ///     assert_eq!(rx.recv(), Ok(2));
    ///     assert!(rx.recv().is_err()); // empty and disconnected
    /// });
    /// ```
    pub fn recv(&self) -> Result<T, RecvError> {
        self.chan.recv(None).map_err(|_| RecvError)
    }

    /// Receives a value if one is there now.
    ///
    /// ```
    /// use std::sync::mpsc::TryRecvError;
    /// let (tx, rx) = strands::channel::unbounded();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(5).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Ok(5));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.chan.try_recv().map_err(|e| match e {
            RecvFail::Empty => TryRecvError::Empty,
            RecvFail::Disconnected => TryRecvError::Disconnected,
        })
    }

    /// [`recv`](Receiver::recv), giving up after `timeout`.
    ///
    /// ```
    /// use std::sync::mpsc::RecvTimeoutError;
    /// use std::time::Duration;
    /// let (_tx, rx) = strands::channel::bounded::<u8>(1);
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_opt_deadline(deadline(timeout))
    }

    /// [`recv`](Receiver::recv), giving up at `deadline`.
    ///
    /// ```
    /// use std::sync::mpsc::RecvTimeoutError;
    /// use std::time::{Duration, Instant};
    /// let (tx, rx) = strands::channel::bounded(1);
    /// tx.send("ready").unwrap();
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// assert_eq!(rx.recv_deadline(deadline), Ok("ready"));
    /// assert_eq!(rx.recv_deadline(deadline), Err(RecvTimeoutError::Timeout));
    /// ```
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.recv_opt_deadline(Some(deadline))
    }

    fn recv_opt_deadline(&self, d: Option<Instant>) -> Result<T, RecvTimeoutError> {
        self.chan.recv(d).map_err(|e| match e {
            RecvFail::Empty => RecvTimeoutError::Timeout,
            RecvFail::Disconnected => RecvTimeoutError::Disconnected,
        })
    }

    /// A blocking iterator: [`recv`](Receiver::recv) until disconnected.
    ///
    /// ```
    /// strands::run(|| {
    ///     let (tx, rx) = strands::channel::bounded(4);
    ///     for i in 0..3 {
    ///         let tx = tx.clone();
    ///         strands::spawn(move || tx.send(i * 10).unwrap());
    ///     }
    ///     drop(tx); // the loop ends when every sender is gone
    ///     let mut got: Vec<i32> = rx.iter().collect();
    ///     got.sort();
    ///     assert_eq!(got, [0, 10, 20]);
    /// });
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// An iterator over the values there now (never parks).
    ///
    /// ```
    /// let (tx, rx) = strands::channel::unbounded();
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// // Drains what is there, then stops (the sender is still alive).
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// assert_eq!(rx.try_iter().count(), 0);
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }

    /// Values buffered now.
    ///
    /// ```
    /// let (tx, rx) = strands::channel::bounded(4);
    /// tx.send('a').unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.lock().buf.len()
    }

    /// Whether no value is buffered now.
    ///
    /// ```
    /// let (tx, rx) = strands::channel::bounded(4);
    /// assert!(rx.is_empty());
    /// tx.send('a').unwrap();
    /// assert!(!rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer's capacity (`None`: unbounded).
    ///
    /// ```
    /// let (_tx, rx) = strands::channel::bounded::<u8>(0);
    /// assert_eq!(rx.capacity(), Some(0)); // a rendezvous channel
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        (self.chan.cap != usize::MAX).then_some(self.chan.cap)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.acquire(true);
        Sender {
            chan: Arc::clone(&self.chan),
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.chan.acquire(false);
        Receiver {
            chan: Arc::clone(&self.chan),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.release(true);
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.release(false);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

/// Blocking iterator of a [`Receiver`]; ends when the channel disconnects.
///
/// ```
/// let (tx, rx) = strands::channel::unbounded();
/// tx.send(1).unwrap();
/// drop(tx);
/// assert_eq!(rx.iter().collect::<Vec<_>>(), [1]);
/// ```
#[derive(Debug)]
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

/// Non-blocking iterator of a [`Receiver`]: the values there now.
///
/// ```
/// let (tx, rx) = strands::channel::unbounded();
/// tx.send(1).unwrap();
/// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1]); // does not wait for more
/// ```
#[derive(Debug)]
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

/// Owning blocking iterator of a [`Receiver`].
///
/// ```
/// let (tx, rx) = strands::channel::bounded(2);
/// tx.send('a').unwrap();
/// drop(tx);
/// assert_eq!(rx.into_iter().collect::<String>(), "a");
/// ```
#[derive(Debug)]
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}
