//! Retry delays: [`Backoff`] (constant, linear, exponential, Fibonacci),
//! with a cap, an attempt limit and [`Jitter`].
//!
//! [`Backoff::delay`] is the policy's exact, un-jittered delay and never
//! overflows or panics: every product saturates, at the cap if one is set,
//! else at [`Duration::MAX`]. Jitter needs randomness and, for
//! [`Jitter::Decorrelated`], the previous delay, so it is applied by a
//! [`Schedule`], which a plan makes per part (and tests make with a fixed
//! seed).

use std::time::Duration;

/// How the delay grows from one retry to the next.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Constant,
    Linear,
    Exponential(f64),
    Fibonacci,
}

/// Randomisation of retry delays, as in the AWS architecture blog's
/// "Exponential Backoff And Jitter": with `d` the policy's delay for this
/// retry, `base` its base and `cap` its [`max_delay`](Backoff::max_delay)
/// (or [`Duration::MAX`]):
///
/// - `None`: `d`;
/// - `Full`: uniform in `[0, d]`;
/// - `Equal`: `d / 2` plus uniform in `[0, d / 2]`;
/// - `Decorrelated`: `min(cap, uniform in [base, 3 * previous])`, where
///   `previous` is the delay this schedule gave last time (`base` at
///   first). As in AWS's formula this ignores the policy's growth kind: it
///   grows by its own randomised factor of up to 3.
///
/// ```
/// use std::time::Duration;
/// use strands::join::{Backoff, Jitter};
/// let b = Backoff::constant(Duration::from_millis(100)).jitter(Jitter::Full).seed(7);
/// let d = b.schedule().next_delay(1);
/// assert!(d <= Duration::from_millis(100));
/// assert_eq!(Backoff::constant(Duration::ZERO).jitter_kind(), Jitter::None); // the default
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Jitter {
    /// The exact delay.
    #[default]
    None,
    /// Uniform between zero and the delay.
    Full,
    /// Half the delay, plus uniform up to the other half.
    Equal,
    /// Uniform between the base and three times the previous delay, capped.
    Decorrelated,
}

/// A retry policy: how long to wait before each retry, and how many
/// attempts to make in all.
///
/// `attempt` counts retries: `delay(1)` is the wait before the second
/// attempt, `delay(0)` is zero (nothing waits before the first).
///
/// | kind | `delay(n)` for `n >= 1` |
/// |---|---|
/// | [`constant(b)`](Backoff::constant) | `b` |
/// | [`linear(b)`](Backoff::linear) | `b * n` |
/// | [`exponential(b, f)`](Backoff::exponential) | `b * f^(n-1)` |
/// | [`fibonacci(b)`](Backoff::fibonacci) | `b * F(n)`, with `F = 1, 1, 2, 3, 5, ...` |
///
/// then capped by [`max_delay`](Backoff::max_delay). All arithmetic
/// saturates: `delay(u32::MAX)` with a base of [`Duration::MAX`] and a
/// factor of `1e300` is the cap (or [`Duration::MAX`]), never a panic.
/// Integer factors are computed exactly in integers; other factors in `f64`
/// (exact to the nanosecond while the result stays below about 104 days).
///
/// A factor that is NaN, negative or below 1 is treated as 1 (a constant
/// delay: backoff never shrinks); an infinite factor saturates from the
/// second retry on.
///
/// The default limit is 3 attempts (the first and two retries);
/// [`max_attempts`](Backoff::max_attempts) changes it.
///
/// ```
/// use std::time::Duration;
/// use strands::join::Backoff;
///
/// let b = Backoff::exponential(Duration::from_millis(10), 2.0)
///     .max_delay(Duration::from_millis(50))
///     .max_attempts(6);
/// let delays: Vec<u64> = (0..6).map(|n| b.delay(n).as_millis() as u64).collect();
/// assert_eq!(delays, [0, 10, 20, 40, 50, 50]);
/// assert_eq!(b.delay(u32::MAX), Duration::from_millis(50));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Backoff {
    kind: Kind,
    base: Duration,
    max_attempts: u32,
    max_delay: Option<Duration>,
    jitter: Jitter,
    seed: Option<u64>,
}

const DEFAULT_ATTEMPTS: u32 = 3;

impl Backoff {
    fn with(kind: Kind, base: Duration) -> Backoff {
        Backoff {
            kind,
            base,
            max_attempts: DEFAULT_ATTEMPTS,
            max_delay: None,
            jitter: Jitter::None,
            seed: None,
        }
    }

    /// The same delay before every retry.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let b = strands::join::Backoff::constant(Duration::from_millis(5));
    /// assert_eq!(b.delay(7), Duration::from_millis(5));
    /// ```
    pub fn constant(delay: Duration) -> Backoff {
        Backoff::with(Kind::Constant, delay)
    }

    /// `base * n` before retry `n`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let b = strands::join::Backoff::linear(Duration::from_millis(5));
    /// assert_eq!(b.delay(3), Duration::from_millis(15));
    /// ```
    pub fn linear(base: Duration) -> Backoff {
        Backoff::with(Kind::Linear, base)
    }

    /// `base * factor^(n-1)` before retry `n` (see the type's docs for
    /// odd factors).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let b = strands::join::Backoff::exponential(Duration::from_millis(1), 3.0);
    /// assert_eq!(b.delay(4), Duration::from_millis(27));
    /// ```
    pub fn exponential(base: Duration, factor: f64) -> Backoff {
        let factor = if factor.is_nan() || factor < 1.0 {
            1.0
        } else {
            factor
        };
        Backoff::with(Kind::Exponential(factor), base)
    }

    /// `base * F(n)` before retry `n`, `F` the Fibonacci numbers 1, 1, 2,
    /// 3, 5, 8, ...
    ///
    /// ```
    /// # use std::time::Duration;
    /// let b = strands::join::Backoff::fibonacci(Duration::from_millis(10));
    /// assert_eq!(b.delay(6), Duration::from_millis(80));
    /// ```
    pub fn fibonacci(base: Duration) -> Backoff {
        Backoff::with(Kind::Fibonacci, base)
    }

    /// At most `n` attempts in all, the first included. `0` is taken as 1:
    /// a part always gets its first attempt.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let b = strands::join::Backoff::constant(Duration::ZERO).max_attempts(5);
    /// assert_eq!(b.attempts(), 5);
    /// ```
    pub fn max_attempts(mut self, n: u32) -> Backoff {
        self.max_attempts = n.max(1);
        self
    }

    /// No delay longer than `cap` (jitter included).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let b = strands::join::Backoff::linear(Duration::from_secs(1)).max_delay(Duration::from_secs(3));
    /// assert_eq!(b.delay(10), Duration::from_secs(3));
    /// ```
    pub fn max_delay(mut self, cap: Duration) -> Backoff {
        self.max_delay = Some(cap);
        self
    }

    /// Randomises the delays (see [`Jitter`]).
    ///
    /// ```
    /// # use std::time::Duration;
    /// use strands::join::{Backoff, Jitter};
    /// let b = Backoff::constant(Duration::from_millis(10)).jitter(Jitter::Full).seed(7);
    /// let d = b.schedule().next_delay(1);
    /// assert!(d <= Duration::from_millis(10));
    /// ```
    pub fn jitter(mut self, jitter: Jitter) -> Backoff {
        self.jitter = jitter;
        self
    }

    /// Seeds the jitter's random numbers, so that every [`Schedule`] made
    /// from this policy gives the same delays (for tests). Without a seed,
    /// each schedule gets a fresh one.
    ///
    /// ```
    /// # use std::time::Duration;
    /// use strands::join::{Backoff, Jitter};
    /// let b = Backoff::exponential(Duration::from_millis(1), 2.0).jitter(Jitter::Equal).seed(1);
    /// let (mut x, mut y) = (b.schedule(), b.schedule());
    /// assert_eq!(x.next_delay(3), y.next_delay(3));
    /// ```
    pub fn seed(mut self, seed: u64) -> Backoff {
        self.seed = Some(seed);
        self
    }

    /// The attempt limit, the first attempt included.
    ///
    /// ```
    /// use std::time::Duration;
    /// use strands::join::Backoff;
    /// assert_eq!(Backoff::constant(Duration::from_millis(5)).attempts(), 3); // the default
    /// assert_eq!(Backoff::constant(Duration::from_millis(5)).max_attempts(5).attempts(), 5);
    /// ```
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The configured jitter.
    ///
    /// ```
    /// use std::time::Duration;
    /// use strands::join::{Backoff, Jitter};
    /// let b = Backoff::linear(Duration::from_millis(5)).jitter(Jitter::Equal);
    /// assert_eq!(b.jitter_kind(), Jitter::Equal);
    /// ```
    pub fn jitter_kind(&self) -> Jitter {
        self.jitter
    }

    /// The exact delay before retry `attempt` (no jitter), capped by
    /// [`max_delay`](Backoff::max_delay) and saturating.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let b = strands::join::Backoff::exponential(Duration::MAX, f64::INFINITY);
    /// assert_eq!(b.delay(u32::MAX), Duration::MAX);
    /// assert_eq!(b.delay(0), Duration::ZERO);
    /// ```
    pub fn delay(&self, attempt: u32) -> Duration {
        if attempt == 0 {
            return Duration::ZERO;
        }
        let cap = self.cap();
        let base = self.base.as_nanos();
        let nanos: u128 = match self.kind {
            Kind::Constant => base,
            Kind::Linear => base.saturating_mul(attempt as u128),
            Kind::Fibonacci => base.saturating_mul(fibonacci(attempt)),
            Kind::Exponential(f) => exponential(base, f, attempt - 1),
        };
        from_nanos_saturating(nanos).min(cap)
    }

    /// A schedule of (jittered) delays for one sequence of retries.
    ///
    /// ```
    /// use std::time::Duration;
    /// use strands::join::{Backoff, Jitter};
    ///
    /// let policy = Backoff::exponential(Duration::from_millis(1), 2.0)
    ///     .jitter(Jitter::Full)
    ///     .max_attempts(4);
    /// // One schedule per sequence of retries (per request, say).
    /// let mut schedule = policy.schedule();
    /// let mut attempt = 0;
    /// let result = loop {
    ///     let r: Result<u32, &str> = if attempt < 2 { Err("busy") } else { Ok(7) };
    ///     attempt += 1;
    ///     match r {
    ///         Ok(v) => break Ok(v),
    ///         Err(e) if attempt >= policy.attempts() => break Err(e),
    ///         Err(_) => strands::sleep(schedule.next_delay(attempt)),
    ///     }
    /// };
    /// assert_eq!(result, Ok(7));
    /// ```
    pub fn schedule(&self) -> Schedule {
        let seed = self.seed.unwrap_or_else(fresh_seed);
        Schedule {
            policy: self.clone(),
            rng: Rng::new(seed),
            previous: self.base,
        }
    }

    fn cap(&self) -> Duration {
        self.max_delay.unwrap_or(Duration::MAX)
    }
}

/// `F(n)` (1, 1, 2, 3, ...), saturating once past any `Duration` in
/// nanoseconds (so at most ~140 steps, whatever `n`).
fn fibonacci(n: u32) -> u128 {
    let limit = Duration::MAX.as_nanos();
    let (mut a, mut b) = (0u128, 1u128);
    for _ in 1..n {
        let c = a.saturating_add(b);
        a = b;
        b = c;
        if b > limit {
            return u128::MAX;
        }
    }
    b
}

/// `base * f^k`, saturating; `f >= 1` (the constructor sees to it).
fn exponential(base: u128, f: f64, k: u32) -> u128 {
    if base == 0 || k == 0 || f == 1.0 {
        return base;
    }
    if f.fract() == 0.0 && f < 2f64.powi(64) {
        // exact: integer powers by squaring, saturating
        let mut result = base;
        let mut factor = f as u128;
        let mut k = k;
        while k > 0 {
            if k & 1 == 1 {
                result = result.saturating_mul(factor);
            }
            k >>= 1;
            if k > 0 {
                factor = factor.saturating_mul(factor);
            }
            if result == u128::MAX {
                break;
            }
        }
        return result;
    }
    let x = base as f64 * f.powf(k as f64);
    if !x.is_finite() || x >= u128::MAX as f64 {
        u128::MAX
    } else {
        x.round() as u128
    }
}

fn from_nanos_saturating(nanos: u128) -> Duration {
    const NANOS: u128 = 1_000_000_000;
    let secs = nanos / NANOS;
    if secs > u64::MAX as u128 {
        return Duration::MAX;
    }
    Duration::new(secs as u64, (nanos % NANOS) as u32)
}

/// The delays of one sequence of retries, with jitter applied.
///
/// ```
/// use std::time::Duration;
/// use strands::join::{Backoff, Jitter};
///
/// let b = Backoff::exponential(Duration::from_millis(10), 2.0).jitter(Jitter::Decorrelated).seed(42);
/// let mut s = b.schedule();
/// for n in 1..10 {
///     let d = s.next_delay(n);
///     assert!(d >= Duration::from_millis(10));
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Schedule {
    policy: Backoff,
    rng: Rng,
    previous: Duration,
}

impl Schedule {
    /// The delay before retry `attempt` (1 for the second attempt).
    ///
    /// ```
    /// use std::time::Duration;
    /// use strands::join::Backoff;
    /// let mut s = Backoff::linear(Duration::from_millis(10)).schedule(); // no jitter
    /// assert_eq!(s.next_delay(0), Duration::ZERO);
    /// assert_eq!(s.next_delay(1), Duration::from_millis(10));
    /// assert_eq!(s.next_delay(2), Duration::from_millis(20));
    /// ```
    pub fn next_delay(&mut self, attempt: u32) -> Duration {
        if attempt == 0 {
            return Duration::ZERO;
        }
        let d = self.policy.delay(attempt);
        let cap = self.policy.cap();
        let out = match self.policy.jitter {
            Jitter::None => d,
            Jitter::Full => self.uniform(Duration::ZERO, d),
            Jitter::Equal => {
                let half = d / 2;
                half.saturating_add(self.uniform(Duration::ZERO, d - half))
            }
            Jitter::Decorrelated => {
                let base = self.policy.base.min(cap);
                let hi = self.previous.saturating_mul(3).max(base);
                self.uniform(base, hi).min(cap)
            }
        };
        self.previous = out;
        out
    }

    /// Uniform in `[lo, hi]`, to the nanosecond.
    fn uniform(&mut self, lo: Duration, hi: Duration) -> Duration {
        let (lo_n, hi_n) = (lo.as_nanos(), hi.as_nanos());
        if hi_n <= lo_n {
            return lo;
        }
        let span = hi_n - lo_n;
        let r = ((self.rng.next() as u128) << 64) | self.rng.next() as u128;
        let off = if span == u128::MAX { r } else { r % (span + 1) };
        from_nanos_saturating(lo_n.saturating_add(off))
    }
}

/// splitmix64: small, fast, and good enough for jitter (not for secrets).
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A seed that differs between calls (a process-wide counter mixed with the
/// clock).
pub(crate) fn fresh_seed() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    Rng::new(t ^ n.rotate_left(32)).next()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn formulas() {
        let c = Backoff::constant(3 * MS);
        let l = Backoff::linear(3 * MS);
        let e = Backoff::exponential(3 * MS, 2.0);
        let f = Backoff::fibonacci(3 * MS);
        for n in 1..10u32 {
            assert_eq!(c.delay(n), 3 * MS);
            assert_eq!(l.delay(n), 3 * n * MS);
            assert_eq!(e.delay(n), 3 * (1 << (n - 1)) * MS);
        }
        let fib: Vec<u32> = (1..=8)
            .map(|n| (f.delay(n).as_millis() / 3) as u32)
            .collect();
        assert_eq!(fib, [1, 1, 2, 3, 5, 8, 13, 21]);
        assert_eq!(e.delay(0), Duration::ZERO);
    }

    #[test]
    fn fractional_factor_is_close() {
        let e = Backoff::exponential(Duration::from_millis(100), 1.5);
        assert_eq!(e.delay(3), Duration::from_millis(225));
    }

    #[test]
    fn saturates_everywhere() {
        let huge = [
            Backoff::constant(Duration::MAX),
            Backoff::linear(Duration::MAX),
            Backoff::fibonacci(Duration::MAX),
            Backoff::exponential(Duration::MAX, 1e300),
            Backoff::exponential(Duration::from_nanos(1), f64::INFINITY),
            Backoff::exponential(Duration::from_secs(1), u64::MAX as f64),
            Backoff::exponential(Duration::from_secs(1), 3.0),
        ];
        for b in huge {
            assert_eq!(b.delay(u32::MAX), Duration::MAX, "{b:?}");
            assert_eq!(b.clone().max_delay(MS).delay(u32::MAX), MS);
            let mut s = b.clone().jitter(Jitter::Decorrelated).seed(1).schedule();
            let _ = s.next_delay(u32::MAX);
            let _ = s.next_delay(u32::MAX);
            let mut s = b.jitter(Jitter::Full).seed(1).schedule();
            let _ = s.next_delay(u32::MAX);
        }
        assert_eq!(
            Backoff::fibonacci(Duration::from_nanos(1)).delay(u32::MAX),
            Duration::MAX
        );
    }

    #[test]
    fn odd_factors() {
        for f in [f64::NAN, -2.0, 0.0, 0.5, f64::NEG_INFINITY] {
            let b = Backoff::exponential(5 * MS, f);
            assert_eq!(b.delay(1), 5 * MS);
            assert_eq!(b.delay(1000), 5 * MS);
        }
        let inf = Backoff::exponential(5 * MS, f64::INFINITY);
        assert_eq!(inf.delay(1), 5 * MS);
        assert_eq!(inf.delay(2), Duration::MAX);
    }

    #[test]
    fn jitter_bounds_and_determinism() {
        let b = Backoff::exponential(10 * MS, 2.0)
            .max_delay(200 * MS)
            .max_attempts(20);
        for j in [
            Jitter::None,
            Jitter::Full,
            Jitter::Equal,
            Jitter::Decorrelated,
        ] {
            let b = b.clone().jitter(j).seed(99);
            let (mut s1, mut s2) = (b.schedule(), b.schedule());
            for n in 1..20 {
                let d = s1.next_delay(n);
                assert_eq!(d, s2.next_delay(n));
                let exact = b.delay(n);
                match j {
                    Jitter::None => assert_eq!(d, exact),
                    Jitter::Full => assert!(d <= exact),
                    Jitter::Equal => assert!(d >= exact / 2 && d <= exact),
                    Jitter::Decorrelated => assert!(d >= 10 * MS && d <= 200 * MS),
                }
            }
        }
    }

    #[test]
    fn full_jitter_spreads() {
        let mut s = Backoff::constant(100 * MS)
            .jitter(Jitter::Full)
            .seed(3)
            .schedule();
        let v: Vec<Duration> = (0..64).map(|_| s.next_delay(1)).collect();
        assert!(v.iter().any(|d| *d < 50 * MS) && v.iter().any(|d| *d > 50 * MS));
    }

    #[test]
    fn attempts_floor_is_one() {
        assert_eq!(Backoff::constant(MS).max_attempts(0).attempts(), 1);
        assert_eq!(Backoff::constant(MS).attempts(), 3);
    }
}
