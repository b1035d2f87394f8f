//! The per-name latency record behind p95 hedging.
//!
//! It lives here, process-wide: one small ring of the latest
//! [`SAMPLES`] successful attempt latencies per part name, behind one mutex
//! (touched once per successful attempt of a plan whose parts hedge, and
//! once per hedged part start). Names are shared by every plan in the
//! process, so give parts that call different things different names.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// How many latencies are kept per part name.
pub const SAMPLES: usize = 64;
/// The fewest samples a p95 is computed from; below it hedging uses the
/// fallback delay.
pub const MIN_SAMPLES: usize = 10;

#[derive(Default)]
struct Ring {
    buf: Vec<Duration>,
    next: usize,
}

// A process-wide table, not part of any protocol: std's Mutex, also under
// loom (see src/loom.rs on statics).
fn table() -> &'static Mutex<HashMap<String, Ring>> {
    static TABLE: OnceLock<Mutex<HashMap<String, Ring>>> = OnceLock::new();
    TABLE.get_or_init(|| Mutex::new(HashMap::new()))
}

pub(crate) fn record(name: &str, d: Duration) {
    let mut t = table().lock().unwrap_or_else(|e| e.into_inner());
    let ring = match t.get_mut(name) {
        Some(r) => r,
        None => t.entry(name.to_string()).or_default(),
    };
    if ring.buf.len() < SAMPLES {
        ring.buf.push(d);
    } else {
        ring.buf[ring.next] = d;
    }
    ring.next = (ring.next + 1) % SAMPLES;
}

/// The 95th percentile of the latest successful attempt latencies recorded
/// for parts named `name` (by plans whose parts hedge), or `None` with fewer
/// than [`MIN_SAMPLES`] samples.
///
/// ```
/// assert_eq!(strands::join::latency_p95("never-seen"), None);
/// ```
pub fn latency_p95(name: &str) -> Option<Duration> {
    let t = table().lock().unwrap_or_else(|e| e.into_inner());
    let ring = t.get(name)?;
    if ring.buf.len() < MIN_SAMPLES {
        return None;
    }
    let mut v = ring.buf.clone();
    v.sort_unstable();
    let idx = (v.len() * 95).div_ceil(100) - 1;
    Some(v[idx])
}

/// Forgets the latencies recorded for `name` (for tests, or after a
/// dependency changed).
///
/// ```
/// strands::join::forget_latencies("db");
/// assert_eq!(strands::join::latency_p95("db"), None);
/// ```
pub fn forget_latencies(name: &str) {
    table()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(name);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p95_of_a_ring() {
        let name = "latency::tests::p95";
        for i in 1..=9u64 {
            record(name, Duration::from_millis(i));
        }
        assert_eq!(latency_p95(name), None);
        for i in 10..=100u64 {
            record(name, Duration::from_millis(i));
        }
        // the ring holds 37..=100: the 95th percentile of 64 samples is the 61st
        assert_eq!(latency_p95(name), Some(Duration::from_millis(97)));
        forget_latencies(name);
        assert_eq!(latency_p95(name), None);
    }
}
