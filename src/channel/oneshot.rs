//! [`oneshot()`]: one value, from one sender to one receiver.

use super::{
    bounded, Receiver, RecvError, RecvTimeoutError, SendError, Sender, TryRecvError, TrySendError,
};
use std::fmt;
use std::time::{Duration, Instant};

/// A channel for a single value: [`OneshotSender::send`] consumes the
/// sender, so it never blocks; the receiver waits for the value, or learns
/// that the sender was dropped without sending.
///
/// (Built on a [`bounded`] channel of capacity one: the same wait queue,
/// hand-off and cancellation rules.)
///
/// ```
/// strands::run(|| {
///     let (tx, rx) = strands::channel::oneshot();
///     strands::spawn(move || tx.send(6 * 7).unwrap());
///     assert_eq!(rx.recv(), Ok(42));
///
///     let (tx, rx) = strands::channel::oneshot::<u8>();
///     drop(tx);
///     assert!(rx.recv().is_err());
/// });
/// ```
pub fn oneshot<T>() -> (OneshotSender<T>, OneshotReceiver<T>) {
    let (tx, rx) = bounded(1);
    (OneshotSender { tx }, OneshotReceiver { rx })
}

/// The sending half of a [`oneshot()`] channel.
///
/// ```
/// let (tx, rx) = strands::channel::oneshot();
/// tx.send(1).unwrap(); // consumes the sender; never blocks
/// assert_eq!(rx.recv(), Ok(1));
/// ```
pub struct OneshotSender<T> {
    tx: Sender<T>,
}

/// The receiving half of a [`oneshot()`] channel.
///
/// ```
/// use std::sync::mpsc::TryRecvError;
/// let (tx, rx) = strands::channel::oneshot::<u8>();
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// tx.send(2).unwrap();
/// assert_eq!(rx.recv(), Ok(2));
/// ```
pub struct OneshotReceiver<T> {
    rx: Receiver<T>,
}

impl<T> OneshotSender<T> {
    /// Sends the value (never blocks). Fails, giving it back, if the
    /// receiver is gone.
    ///
    /// ```
    /// strands::run(|| {
    ///     let (tx, rx) = strands::channel::oneshot();
    ///     strands::spawn(move || tx.send("reply").unwrap());
    ///     assert_eq!(rx.recv(), Ok("reply"));
    ///
    ///     let (tx, rx) = strands::channel::oneshot();
    ///     drop(rx);
    ///     assert_eq!(tx.send(1).unwrap_err().0, 1); // the receiver is gone
    /// });
    /// ```
    pub fn send(self, v: T) -> Result<(), SendError<T>> {
        // Capacity one and a single send: never full.
        self.tx.try_send(v).map_err(|e| match e {
            TrySendError::Full(v) | TrySendError::Disconnected(v) => SendError(v),
        })
    }
}

impl<T> OneshotReceiver<T> {
    /// Waits for the value; fails if the sender was dropped without
    /// sending.
    ///
    /// ```
    /// use strands::channel::OneshotSender;
    ///
    /// strands::run(|| {
    ///     // A request carries a oneshot sender for its reply.
    ///     let (req_tx, req_rx) = strands::channel::unbounded::<(u32, OneshotSender<u32>)>();
    ///     strands::spawn(move || {
    ///         for (n, reply) in req_rx.iter() {
    ///             let _ = reply.send(n * 2);
    ///         }
    ///     });
    ///     let (tx, rx) = strands::channel::oneshot();
    ///     req_tx.send((21, tx)).unwrap();
    ///     assert_eq!(rx.recv(), Ok(42));
    /// });
    /// ```
    pub fn recv(self) -> Result<T, RecvError> {
        self.rx.recv()
    }

    /// The value if it is there now.
    ///
    /// ```
    /// use std::sync::mpsc::TryRecvError;
    /// let (tx, rx) = strands::channel::oneshot();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send('x').unwrap();
    /// assert_eq!(rx.try_recv(), Ok('x'));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.rx.try_recv()
    }

    /// [`recv`](OneshotReceiver::recv), giving up after `timeout` (the
    /// receiver stays usable).
    ///
    /// ```
    /// use std::sync::mpsc::RecvTimeoutError;
    /// use std::time::Duration;
    /// let (tx, rx) = strands::channel::oneshot();
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
    /// tx.send(9).unwrap();
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Ok(9)); // still usable
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.rx.recv_timeout(timeout)
    }

    /// [`recv`](OneshotReceiver::recv), giving up at `deadline`.
    ///
    /// ```
    /// use std::sync::mpsc::RecvTimeoutError;
    /// use std::time::{Duration, Instant};
    /// let (tx, rx) = strands::channel::oneshot::<u8>();
    /// drop(tx);
    /// let deadline = Instant::now() + Duration::from_secs(60);
    /// // The sender is gone: no need to wait for the deadline.
    /// assert_eq!(rx.recv_deadline(deadline), Err(RecvTimeoutError::Disconnected));
    /// ```
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.rx.recv_deadline(deadline)
    }
}

impl<T> fmt::Debug for OneshotSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneshotSender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for OneshotReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneshotReceiver").finish_non_exhaustive()
    }
}
