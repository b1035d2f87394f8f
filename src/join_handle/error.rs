//! [`JoinError`]: why a join has no value.

use std::any::Any;
use std::fmt;

/// Why [`JoinHandle::join`](crate::JoinHandle::join) has no value: the strand panicked or was
/// cancelled.
///
/// ```
/// strands::run(|| {
///     let panicked = strands::spawn(|| panic!("bad input")).join().unwrap_err();
///     assert!(panicked.is_panic());
///     assert_eq!(panicked.to_string(), "strand panicked: bad input");
///
///     let slow = strands::spawn(|| strands::sleep(std::time::Duration::from_secs(60)));
///     slow.cancel();
///     let cancelled = slow.join().unwrap_err();
///     assert!(cancelled.is_cancelled());
///     assert_eq!(cancelled.to_string(), "strand was cancelled");
/// });
/// ```
pub struct JoinError {
    repr: Repr,
}

enum Repr {
    Panic(Box<dyn Any + Send + 'static>),
    Cancelled(Option<crate::CancelCause>),
}

impl JoinError {
    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            repr: Repr::Panic(payload),
        }
    }

    pub(crate) fn cancelled() -> JoinError {
        JoinError {
            repr: Repr::Cancelled(None),
        }
    }

    /// The error for a strand's unwind payload: a cancellation (with the
    /// cause of the [`CancelToken`](crate::CancelToken) that cancelled it,
    /// if one did) or a panic.
    pub(crate) fn from_unwind(p: Box<dyn Any + Send + 'static>) -> JoinError {
        if p.is::<crate::runtime::context::Cancelled>() {
            return JoinError::cancelled();
        }
        match p.downcast::<crate::join::CancelUnwind>() {
            Ok(c) => JoinError {
                repr: Repr::Cancelled(Some(c.0)),
            },
            Err(p) => JoinError::panic(p),
        }
    }

    /// Whether the strand panicked.
    ///
    /// ```
    /// strands::run(|| {
    ///     let err = strands::spawn(|| panic!("oops")).join().unwrap_err();
    ///     assert!(err.is_panic() && !err.is_cancelled());
    /// });
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// Whether the strand was cancelled.
    ///
    /// ```
    /// strands::run(|| {
    ///     let h = strands::spawn(|| strands::sleep(std::time::Duration::from_secs(60)));
    ///     h.cancel();
    ///     let err = h.join().unwrap_err();
    ///     assert!(err.is_cancelled() && !err.is_panic());
    /// });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled(_))
    }

    /// Why the strand was cancelled, when a [`CancelToken`](crate::CancelToken)
    /// it was tied to did it (`None` for a panic, or a cancellation through
    /// [`JoinHandle::cancel`](crate::JoinHandle::cancel) or a runtime
    /// shutdown).
    ///
    /// ```
    /// use std::time::Duration;
    /// strands::run(|| {
    ///     let token = strands::CancelToken::new();
    ///     let h = token.spawn(|| strands::sleep(Duration::from_secs(60)));
    ///     token.cancel_with("client went away");
    ///     let err = h.join().unwrap_err();
    ///     assert_eq!(err.cancel_cause().unwrap().to_string(), "client went away");
    /// });
    /// ```
    pub fn cancel_cause(&self) -> Option<&crate::CancelCause> {
        match &self.repr {
            Repr::Cancelled(c) => c.as_ref(),
            Repr::Panic(_) => None,
        }
    }

    /// The panic payload, to inspect or to [`std::panic::resume_unwind`].
    ///
    /// # Panics
    ///
    /// If the strand was cancelled rather than panicking; check
    /// [`is_panic`](JoinError::is_panic) or use
    /// [`try_into_panic`](JoinError::try_into_panic).
    ///
    /// ```
    /// strands::run(|| {
    ///     let err = strands::spawn(|| panic!("oops")).join().unwrap_err();
    ///     let payload = err.into_panic();
    ///     assert_eq!(payload.downcast_ref::<&str>(), Some(&"oops"));
    ///     // or: std::panic::resume_unwind(payload) to pass the panic on
    /// });
    /// ```
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self.try_into_panic() {
            Ok(p) => p,
            Err(_) => panic!("JoinError::into_panic on a cancelled strand"),
        }
    }

    /// The panic payload, or the error back if the strand was cancelled.
    ///
    /// ```
    /// strands::run(|| {
    ///     let h = strands::spawn(|| strands::sleep(std::time::Duration::from_secs(60)));
    ///     h.cancel();
    ///     match h.join().unwrap_err().try_into_panic() {
    ///         Ok(payload) => std::panic::resume_unwind(payload),
    ///         Err(err) => assert!(err.is_cancelled()),
    ///     }
    /// });
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok(p),
            Repr::Cancelled(_) => Err(self),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Panic(p) => match panic_message(p.as_ref()) {
                Some(m) => write!(f, "JoinError::Panic({m:?})"),
                None => f.write_str("JoinError::Panic(..)"),
            },
            Repr::Cancelled(None) => f.write_str("JoinError::Cancelled"),
            Repr::Cancelled(Some(c)) => write!(f, "JoinError::Cancelled({c:?})"),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Panic(p) => match panic_message(p.as_ref()) {
                Some(m) => write!(f, "strand panicked: {m}"),
                None => f.write_str("strand panicked"),
            },
            Repr::Cancelled(None) => f.write_str("strand was cancelled"),
            Repr::Cancelled(Some(c)) => write!(f, "strand was cancelled: {c}"),
        }
    }
}

impl std::error::Error for JoinError {}

/// The message of a panic payload, when it is a string.
pub(crate) fn panic_message(p: &(dyn Any + Send)) -> Option<&str> {
    p.downcast_ref::<&'static str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
}
