//! [`Interval`]: ticks at a fixed period, without drift.

use std::time::{Duration, Instant};

/// Ticks every `period`, the first tick at once. See [`Interval`].
///
/// # Panics
///
/// If `period` is zero.
///
/// ```
/// use std::time::{Duration, Instant};
/// strands::run(|| {
///     let start = Instant::now();
///     let mut every = strands::time::interval(Duration::from_millis(10));
///     for _ in 0..3 {
///         every.tick();
///     }
///     // ticks at 0, 10 and 20 ms: no drift from the work between them
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// });
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks every `period`, the first tick at `start`.
///
/// # Panics
///
/// If `period` is zero.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "strands::time::interval: the period must be non-zero"
    );
    Interval {
        next: start,
        period,
    }
}

/// A schedule of ticks `start`, `start + period`, `start + 2 × period`, ...
/// [`tick`](Interval::tick) parks the strand (blocks a plain thread) until
/// the next one. Ticks stay on that grid however long the work between
/// them takes: there is no drift. A tick missed because the caller was
/// busy past it is returned at once by the next `tick` (as tokio's default
/// `Burst`); [`reset`](Interval::reset) starts the grid again from now.
#[derive(Debug, Clone)]
pub struct Interval {
    next: Instant,
    period: Duration,
}

impl Interval {
    /// Waits until the next tick and returns its scheduled instant.
    /// A cancellation point, like [`crate::sleep`].
    pub fn tick(&mut self) -> Instant {
        let at = self.next;
        crate::sleep_until(at);
        // a deadline past `Instant`'s range: the grid ends there
        self.next = at.checked_add(self.period).unwrap_or(at);
        at
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Starts the grid again: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.next = Instant::now() + self.period;
    }
}
