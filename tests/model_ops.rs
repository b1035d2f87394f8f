//! The runtime against a reference model, on stable: the checked-in
//! corpus (`tests/model/corpus/*.txt`) and seeded random programs, each
//! checked after every operation (see `tests/model/mod.rs`). The nightly
//! fuzz target `fuzz/fuzz_targets/model.rs` runs the same programs from
//! the fuzzer's bytes.
//!
//! - `STRANDS_MODEL_RUNS=<n>`: how many seeded programs (default 1000,
//!   about 11 s in release on a 2-CPU machine).
//! - `STRANDS_MODEL_SEED=<s>`: the first seed (default 1); a failure names
//!   the seed, so `STRANDS_MODEL_SEED=<s> STRANDS_MODEL_RUNS=1` replays it.
//!
//! A failure prints the seed (or corpus file), the program, and the
//! shortest program that still fails, ready to save as a corpus entry.

mod common;
mod model;

use model::{Program, Rng};
use std::time::Instant;

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?}: expected a whole number")),
        Err(_) => default,
    }
}

/// Runs `p`; on a divergence, shrinks it and panics with the report.
fn check(origin: &str, p: &Program) {
    if let Err(d) = model::run(p) {
        let mut last = None;
        let (small, tries) = model::shrink(p, &mut |cand| match model::run(cand) {
            Ok(()) => false,
            Err(e) => {
                last = Some((cand.clone(), e));
                true
            }
        });
        // `last` is the last failing candidate, which is `small` unless the
        // one-worker try failed to fail.
        let small_div = match last {
            Some((c, e)) if c == small => e,
            _ => model::run(&small).err().unwrap_or(Divergence {
                step: None,
                what: "(did not fail again: flaky)".into(),
            }),
        };
        panic!(
            "{}\n({tries} shrinking runs)",
            model::report(origin, p, &d, Some((&small, &small_div)))
        );
    }
}

use model::Divergence;

#[test]
fn corpus_agrees_with_the_model() {
    common::hang_guard();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/model/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "the corpus has {} entries", files.len());
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let p = Program::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        // As written, then on the other number of workers.
        check(&name, &p);
        let mut other = p.clone();
        other.workers = 3 - p.workers;
        check(&format!("{name} on {} workers", other.workers), &other);
    }
}

#[test]
fn seeded_programs_agree_with_the_model() {
    common::hang_guard();
    let runs = env_u64("STRANDS_MODEL_RUNS", 1000);
    let first = env_u64("STRANDS_MODEL_SEED", 1);
    let (mut ops, start) = (0usize, Instant::now());
    for seed in first..first + runs {
        let p = model::seeded(seed);
        ops += p.ops.len();
        check(
            &format!("seed {seed}: STRANDS_MODEL_SEED={seed} STRANDS_MODEL_RUNS=1"),
            &p,
        );
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "model: {runs} seeded programs, {ops} operations in {secs:.2} s: {:.0} programs/s, {:.0} operations/s",
        runs as f64 / secs,
        ops as f64 / secs
    );
}

#[test]
fn text_form_reads_back() {
    for seed in 0..300 {
        let p = model::seeded(seed);
        let text = p.to_string();
        assert_eq!(Program::parse(&text).as_ref(), Ok(&p), "{text}");
    }
    let e = Program::parse("spawn\nsend a0 c9 1\n").unwrap_err();
    assert!(e.contains("line 2"), "{e}");
}

#[test]
fn every_byte_string_decodes() {
    let mut rng = Rng::new(7);
    for _ in 0..2000 {
        let bytes = rng.bytes();
        let p = model::decode(&bytes);
        assert!(p.ops.len() <= model::MAX_OPS);
        assert!((1..=2).contains(&p.workers));
    }
    assert!(model::decode(&[]).ops.is_empty());
}

/// The shrinker finds the shortest program that makes a stand-in
/// predicate fail: a cancel of an actor after it sent something.
#[test]
fn shrinking_finds_a_short_program() {
    use model::Op;
    let fails = |p: &Program| {
        p.ops
            .iter()
            .enumerate()
            .any(|(i, op)| matches!(op, Op::Send(a, ..) if p.ops[i..].contains(&Op::Cancel(*a))))
    };
    let p = (1..200)
        .map(model::seeded)
        .find(|p| p.ops.len() > 20 && fails(p))
        .expect("some seed sends and then cancels the sender");
    let (small, _) = model::shrink(&p, &mut |c| fails(c));
    assert_eq!(small.ops.len(), 2, "{small}");
    assert_eq!(small.workers, 1);
}
