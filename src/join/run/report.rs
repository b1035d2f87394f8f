//! What an attempt's strand sends the runner, and the guard that sends it.

use crate::channel::{self, Sender};
use crate::join::plan::{Body, Discard};
use crate::sync::Mutex;
use std::sync::Arc;

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
    pub(super) body: Option<Box<dyn Body<T, E>>>,
}

/// Lives in the attempt's strand; its `Drop` sends the report.
pub(super) struct Reporter<T: Send + 'static, E: Send + 'static> {
    pub(super) tx: Sender<Report<T, E>>,
    pub(super) part: usize,
    pub(super) attempt: usize,
    /// The part's name and the plan's `on_discarded`, if it has one.
    pub(super) late: Option<(Arc<str>, SharedHook<T>)>,
    pub(super) body: Option<Box<dyn Body<T, E>>>,
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
        if let Err(channel::SendError(r)) = self.tx.send(report) {
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
