//! The `mprotect` guard budget: past `vm.max_map_count`, spawning answers a
//! typed error instead of the process dying at some later `mmap`.
//!
//! Its own test binary: the budget is process-wide.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use strands::{Builder, SpawnError, StackGuard};

#[test]
fn spending_the_mapping_budget_is_an_error_then_recovers() {
    let rt = common::rt_with(1, |b| {
        b.stack_guard(StackGuard::Mprotect)
            .stack_size(strands::MIN_STACK_SIZE)
    });
    let release = Arc::new(AtomicBool::new(false));
    let (spawned, err, handles) = rt.block_on(|| {
        let mut handles = Vec::new();
        loop {
            let release = Arc::clone(&release);
            match Builder::new().spawn(move || {
                while !release.load(Ordering::Relaxed) {
                    strands::yield_now();
                }
            }) {
                Ok(h) => handles.push(h),
                Err(e) => return (handles.len(), e, handles),
            }
            assert!(handles.len() < 1_000_000, "the budget never ran out");
        }
    });
    let max_maps: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    match &err {
        SpawnError::Io(e) => {
            assert_eq!(e.kind(), std::io::ErrorKind::OutOfMemory);
            assert!(e.to_string().contains("vm.max_map_count"), "{e}");
        }
        other => panic!("expected an Io error, got {other:?}"),
    }
    // two mappings a stack, with a reserve for the rest of the program
    assert!(spawned * 2 < max_maps, "{spawned} stacks");
    assert!(
        spawned * 2 > max_maps / 2,
        "the budget stopped far too early: {spawned} stacks"
    );
    // the process can still map memory: the reserve was kept
    let v = vec![1u8; 64 << 20];
    assert_eq!(v[v.len() - 1], 1);
    release.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().unwrap();
    }
    // stacks are reused: spawning works again
    assert_eq!(rt.block_on(|| strands::spawn(|| 7).join().unwrap()), 7);
}
