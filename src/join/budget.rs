//! [`RetryBudget`]: retry throttling shared by many plans.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Fixed-point scale of the token count (thousandths of a token).
const SCALE: u64 = 1000;

/// A token bucket that throttles retries, in the manner of gRPC's retry
/// throttling: the bucket starts full with `max_tokens`; every failed
/// attempt takes one token, every success gives back `token_ratio`; a retry
/// (or a hedge) may start only while more than half the tokens are left.
/// A hedge also takes a token when it starts.
///
/// Clones share one bucket, so handing the same budget to many plans keeps a
/// failing dependency from turning into a retry storm. Lock-free (one atomic
/// word, in thousandths of a token).
///
/// ```
/// use strands::join::RetryBudget;
/// let budget = RetryBudget::new(4, 0.5);
/// assert!(budget.can_retry());
/// budget.record_failure();
/// budget.record_failure(); // 2 of 4 left: not more than half
/// assert!(!budget.can_retry());
/// budget.record_success(); // 2.5
/// assert!(budget.can_retry());
/// ```
#[derive(Clone, Debug)]
pub struct RetryBudget {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    tokens: AtomicU64,
    max: u64,
    ratio: u64,
}

impl RetryBudget {
    /// A full bucket of `max_tokens`; each success gives back `token_ratio`
    /// tokens (rounded to thousandths; negative or NaN counts as 0).
    ///
    /// # Panics
    ///
    /// If `max_tokens` is 0 (such a budget would forbid every retry; do not
    /// set a retry policy instead).
    ///
    /// ```
    /// let b = strands::join::RetryBudget::new(10, 0.1);
    /// assert_eq!(b.tokens(), 10.0);
    /// ```
    #[track_caller]
    pub fn new(max_tokens: u32, token_ratio: f64) -> RetryBudget {
        assert!(
            max_tokens > 0,
            "RetryBudget::new: max_tokens must be at least 1"
        );
        let max = max_tokens as u64 * SCALE;
        let ratio = if token_ratio.is_nan() || token_ratio <= 0.0 {
            0
        } else {
            ((token_ratio * SCALE as f64).round() as u64).min(max)
        };
        RetryBudget {
            inner: Arc::new(Inner {
                tokens: AtomicU64::new(max),
                max,
                ratio,
            }),
        }
    }

    /// The tokens left.
    ///
    /// ```
    /// let b = strands::join::RetryBudget::new(5, 0.5);
    /// b.record_failure();
    /// assert_eq!(b.tokens(), 4.0);
    /// b.record_success();
    /// assert_eq!(b.tokens(), 4.5);
    /// ```
    pub fn tokens(&self) -> f64 {
        self.inner.tokens.load(Ordering::Relaxed) as f64 / SCALE as f64
    }

    /// Whether a retry may start now: more than half the tokens are left.
    ///
    /// ```
    /// use strands::join::RetryBudget;
    /// let budget = RetryBudget::new(2, 0.1);
    /// let mut retries = 0;
    /// // A dependency that keeps failing: the budget stops the retries early.
    /// while budget.can_retry() {
    ///     budget.record_failure();
    ///     retries += 1;
    /// }
    /// assert_eq!(retries, 1);
    /// ```
    pub fn can_retry(&self) -> bool {
        self.inner.tokens.load(Ordering::Relaxed) * 2 > self.inner.max
    }

    /// A failed attempt: takes one token (not below zero).
    ///
    /// ```
    /// let b = strands::join::RetryBudget::new(1, 1.0);
    /// b.record_failure();
    /// b.record_failure(); // not below zero
    /// assert_eq!(b.tokens(), 0.0);
    /// ```
    pub fn record_failure(&self) {
        let _ = self
            .inner
            .tokens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                Some(t.saturating_sub(SCALE))
            });
    }

    /// A successful attempt: gives back `token_ratio` (not above the max).
    ///
    /// ```
    /// let b = strands::join::RetryBudget::new(3, 1.0);
    /// b.record_success(); // already full: stays at the max
    /// assert_eq!(b.tokens(), 3.0);
    /// b.record_failure();
    /// b.record_success();
    /// assert_eq!(b.tokens(), 3.0);
    /// ```
    pub fn record_success(&self) {
        let (max, ratio) = (self.inner.max, self.inner.ratio);
        let _ = self
            .inner
            .tokens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                Some((t + ratio).min(max))
            });
    }

    /// Takes a token for a hedge if a retry may start now; whether it did.
    pub(crate) fn try_hedge(&self) -> bool {
        let max = self.inner.max;
        self.inner
            .tokens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                (t * 2 > max).then(|| t.saturating_sub(SCALE))
            })
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket() {
        let b = RetryBudget::new(10, 0.1);
        for _ in 0..5 {
            assert!(b.can_retry());
            b.record_failure();
        }
        assert!(!b.can_retry(), "5 of 10 is not above half");
        for _ in 0..20 {
            b.record_failure();
        }
        assert_eq!(b.tokens(), 0.0);
        for _ in 0..51 {
            b.record_success();
        }
        assert!(b.can_retry());
        for _ in 0..1000 {
            b.record_success();
        }
        assert_eq!(b.tokens(), 10.0);
        assert!(b.try_hedge());
        assert_eq!(b.tokens(), 9.0);
    }

    #[test]
    fn shared_across_threads() {
        let b = RetryBudget::new(1000, 1.0);
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let b = b.clone();
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        b.record_failure();
                    }
                })
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(b.tokens(), 600.0);
    }
}
