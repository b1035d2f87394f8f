//! Unwinding inside strands: backtraces resolve and stop at the strand's
//! first frame, many times over, without reading past the stack.

mod common;

use std::backtrace::Backtrace;

/// The numbered frame lines of a formatted backtrace.
fn frames(bt: &str) -> Vec<String> {
    bt.lines()
        .map(str::trim_start)
        .filter(|l| {
            l.split(':')
                .next()
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn thousand_backtraces_in_a_strand_end_at_the_trampoline() {
    let rt = common::rt(1);
    let last_frames = rt.block_on(|| {
        strands::spawn(|| {
            let mut last = Vec::new();
            for i in 0..1000 {
                let bt = Backtrace::force_capture();
                if i % 100 == 0 {
                    // resolving symbols is the slow part: check every 100th
                    let text = bt.to_string();
                    let f = frames(&text);
                    // symbols resolve (inlining may fold the test's own
                    // closure away in release builds; the entry stays)
                    assert!(text.contains("strand_entry"), "frames resolve: {text}");
                    // (under ucontext the outermost frame is glibc's
                    // __start_context, whose symbol is local to libc)
                    let inner = if strands::BACKEND == "ucontext" {
                        &f[..f.len() - 1]
                    } else {
                        &f[..]
                    };
                    assert!(
                        inner.iter().all(|l| !l.contains("<unknown>")),
                        "unresolved frames: {text}"
                    );
                    last.push(f.last().cloned().unwrap_or_default());
                }
                if i % 10 == 0 {
                    strands::yield_now();
                }
            }
            last
        })
        .join()
        .unwrap()
    });
    assert_eq!(last_frames.len(), 10);
    for f in last_frames {
        if strands::BACKEND == "ucontext" {
            // glibc's __start_context ends the chain (its symbol may not
            // resolve); our entry must be at most one frame above it
            assert!(!f.contains("main"), "the chain ran on past the strand: {f}");
        } else {
            assert!(f.contains("strands_trampoline"), "last frame: {f}");
        }
    }
}

#[test]
fn backtraces_in_nested_strands_and_grow_segments_stop_cleanly() {
    let rt = common::rt(2);
    let n = rt.block_on(|| {
        let hs: Vec<_> = (0..20)
            .map(|_| {
                strands::spawn(|| {
                    strands::grow(usize::MAX, 256 * 1024, || {
                        let text = Backtrace::force_capture().to_string();
                        frames(&text).last().cloned().unwrap_or_default()
                    })
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    assert_eq!(n.len(), 20);
    if strands::BACKEND != "ucontext" {
        for last in n {
            assert!(
                last.contains("strands_trampoline"),
                "a segment's trace ends at its trampoline: {last}"
            );
        }
    }
}
