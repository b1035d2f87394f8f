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
    pub fn recv(self) -> Result<T, RecvError> {
        self.rx.recv()
    }

    /// The value if it is there now.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.rx.try_recv()
    }

    /// [`recv`](OneshotReceiver::recv), giving up after `timeout` (the
    /// receiver stays usable).
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.rx.recv_timeout(timeout)
    }

    /// [`recv`](OneshotReceiver::recv), giving up at `deadline`.
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
