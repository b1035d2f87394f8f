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
///
/// ```
/// use std::time::{Duration, Instant};
///
/// strands::run(|| {
///     let start = Instant::now() + Duration::from_millis(5);
///     let mut every = strands::time::interval_at(start, Duration::from_millis(5));
///     assert_eq!(every.tick(), start); // the first tick is at `start`
///     assert_eq!(every.tick(), start + Duration::from_millis(5));
/// });
/// ```
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
///
/// ```
/// use std::time::Duration;
///
/// strands::run(|| {
///     let mut heartbeat = strands::time::interval(Duration::from_millis(2));
///     let first = heartbeat.tick();
///     let second = heartbeat.tick();
///     assert_eq!(second - first, Duration::from_millis(2)); // on the grid
/// });
/// ```
#[derive(Debug, Clone)]
pub struct Interval {
    next: Instant,
    period: Duration,
}

impl Interval {
    /// Waits until the next tick and returns its scheduled instant.
    /// A cancellation point, like [`crate::sleep`].
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// strands::run(|| {
    ///     let mut every = strands::time::interval(Duration::from_millis(1));
    ///     let at = every.tick(); // the first tick: at once
    ///     assert!(at <= Instant::now());
    /// });
    /// ```
    pub fn tick(&mut self) -> Instant {
        let at = self.next;
        crate::sleep_until(at);
        // a deadline past `Instant`'s range: the grid ends there
        self.next = at.checked_add(self.period).unwrap_or(at);
        at
    }

    /// The period.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let every = strands::time::interval(Duration::from_secs(1));
    /// assert_eq!(every.period(), Duration::from_secs(1));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Starts the grid again: the next tick is one period from now.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// strands::run(|| {
    ///     let mut every = strands::time::interval(Duration::from_millis(2));
    ///     every.tick();
    ///     every.reset();
    ///     let before = Instant::now();
    ///     let next = every.tick(); // one period after the reset
    ///     assert!(next >= before);
    /// });
    /// ```
    pub fn reset(&mut self) {
        self.next = Instant::now() + self.period;
    }
}
