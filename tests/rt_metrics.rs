//! Metrics: counters per worker and per priority match what ran.

mod common;

use std::time::Duration;
use strands::{Builder, Priority};

#[test]
fn spawned_finished_and_parks_are_counted_per_priority() {
    let rt = common::rt(2);
    rt.block_on(|| {
        let mut hs = Vec::new();
        for (p, n) in [
            (Priority::High, 7),
            (Priority::Normal, 5),
            (Priority::Low, 3),
        ] {
            for _ in 0..n {
                hs.push(
                    Builder::new()
                        .priority(p)
                        .spawn(strands::yield_now)
                        .unwrap(),
                );
            }
        }
        for h in hs {
            h.join().unwrap();
        }
        // a strand that certainly parks: a sleep that only a cancel ends;
        // it is counted as it parks (or this test times out)
        let handle = strands::runtime::Handle::try_current().unwrap();
        let parks = || handle.metrics().parks.iter().sum::<u64>();
        let before = parks();
        let sleeper = strands::spawn(|| strands::sleep(Duration::from_secs(3600)));
        let t = std::time::Instant::now();
        while parks() == before {
            assert!(t.elapsed() < Duration::from_secs(30), "no park counted");
            strands::yield_now();
        }
        assert_eq!(handle.metrics().timers_pending, 1);
        sleeper.cancel();
        assert!(sleeper.join().unwrap_err().is_cancelled());
    });
    let m = rt.metrics();
    // Normal: block_on's strand, the five, the sleeper
    assert_eq!(m.spawned_by_priority, [7, 7, 3]);
    assert_eq!(m.spawned, 17);
    let finished: [u64; 3] = std::array::from_fn(|p| m.finished.iter().map(|w| w[p]).sum::<u64>());
    // block_on's own strand may not be counted yet when block_on returns
    assert_eq!((finished[0], finished[2]), (7, 3), "{finished:?}");
    assert!((6..=7).contains(&finished[1]), "{finished:?}");
    assert_eq!(m.finished.len(), 2);
    assert_eq!(m.parks.len(), 2);
    assert_eq!(m.timers_pending, 0);
}
