//! The runtime against the reference model of `tests/model/` (the same
//! code the stable test `tests/model_ops.rs` runs, included here with
//! `#[path]`): the fuzzer's bytes decode into a program of operations on
//! strands, channels, mutexes and plans (`model::decode`), which runs on a
//! fresh runtime and is checked after every operation. An input that is a
//! program in the text form (a file of `tests/model/corpus/`) runs as
//! written, so that directory seeds the fuzzer's corpus.
//!
//! A divergence panics with the program and the shortest failing program
//! (shrunk as in the stable test), in the corpus form.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/model/mod.rs"]
mod model;

fn program(data: &[u8]) -> model::Program {
    std::str::from_utf8(data)
        .ok()
        .and_then(|text| model::Program::parse(text).ok())
        .filter(|p| !p.ops.is_empty())
        .unwrap_or_else(|| model::decode(data))
}

fuzz_target!(|data: &[u8]| {
    let p = program(data);
    if let Err(d) = model::run(&p) {
        let (small, _) = model::shrink(&p, &mut |c| model::run(c).is_err());
        let again = model::run(&small).err().unwrap_or(model::Divergence {
            step: None,
            what: "(did not fail again: flaky)".into(),
        });
        panic!(
            "{}",
            model::report("fuzz input", &p, &d, Some((&small, &again)))
        );
    }
});
