//! `strands::grow`: deep recursion on small stacks.

mod common;

use strands::Runtime;

fn depth(n: u64) -> u64 {
    strands::grow(16 * 1024, 1 << 20, || {
        let pad = [n as u8; 64];
        std::hint::black_box(&pad);
        if n == 0 {
            0
        } else {
            let below = depth(n - 1);
            std::hint::black_box(&pad); // keep the frame alive across the call
            1 + below
        }
    })
}

fn rt() -> Runtime {
    common::rt_with(1, |b| b.stack_size(32 * 1024))
}

#[test]
fn recursion_far_deeper_than_the_stack() {
    let rt = rt();
    assert_eq!(rt.block_on(|| depth(200_000)), 200_000);
    let m = rt.metrics();
    assert_eq!(
        m.stacks_live, 0,
        "every segment went back to the pool: {m:?}"
    );
}

#[test]
fn with_room_left_grow_runs_in_place() {
    rt().block_on(|| {
        let before = strands::remaining_stack().unwrap();
        let inside = strands::grow(1024, 1 << 20, || strands::remaining_stack().unwrap());
        assert!(
            inside <= before && before - inside < 4096,
            "no new segment: {before} vs {inside}"
        );
    });
}

#[test]
fn short_of_room_grow_moves_to_a_fresh_segment() {
    rt().block_on(|| {
        let inside = strands::grow(usize::MAX, 1 << 20, || strands::remaining_stack().unwrap());
        assert!(
            inside > 900 * 1024,
            "on the 1 MiB segment: {inside} bytes left"
        );
    });
}

#[test]
fn panics_propagate_out_of_a_segment() {
    let rt = rt();
    let r = rt.block_on(|| {
        std::panic::catch_unwind(|| {
            strands::grow(usize::MAX, 64 * 1024, || -> u8 { panic!("deep trouble") })
        })
    });
    assert_eq!(*r.unwrap_err().downcast::<&str>().unwrap(), "deep trouble");
    assert_eq!(rt.metrics().stacks_live, 0);
}

#[test]
fn strands_may_yield_and_join_on_a_segment() {
    let rt = common::rt_with(2, |b| b.stack_size(32 * 1024));
    let v = rt.block_on(|| {
        let hs: Vec<_> = (0..50u64)
            .map(|i| {
                strands::spawn(move || {
                    strands::grow(usize::MAX, 128 * 1024, || {
                        strands::yield_now();
                        let inner = strands::spawn(move || i * 2);
                        strands::yield_now();
                        inner.join().unwrap()
                    })
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
    });
    assert_eq!(v, (0..50).map(|i| i * 2).sum());
}

#[test]
fn outside_a_strand_grow_just_calls() {
    assert_eq!(strands::grow(usize::MAX, 1 << 20, || 5), 5);
}

#[test]
#[should_panic(expected = "no stack segment")]
fn a_bad_segment_size_panics_with_a_clear_message() {
    let rt = rt();
    let r = rt.block_on(|| std::panic::catch_unwind(|| strands::grow(usize::MAX, 0, || ())));
    std::panic::resume_unwind(r.unwrap_err());
}
