//! Builds the context-switch assembly for the target architecture.
//!
//! `asm/x86_64.S` and `asm/aarch64.S` are compiled with `cc`; any other
//! architecture, or the `ucontext` feature, uses the libc fallback and
//! compiles no assembly at all. The chosen backend is announced to the crate
//! as `cfg(strands_asm)` so the selection lives in exactly one place.

use std::env;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(strands_asm)");
    println!("cargo:rerun-if-changed=asm");
    println!("cargo:rerun-if-changed=build.rs");

    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let ucontext = env::var_os("CARGO_FEATURE_UCONTEXT").is_some();
    let file = match arch.as_str() {
        "x86_64" => "asm/x86_64.S",
        "aarch64" => "asm/aarch64.S",
        _ => return, // no assembly backend: the ucontext fallback is used
    };
    if ucontext {
        return;
    }
    cc::Build::new()
        .file(file)
        .include("asm")
        .compile("strands_switch");
    println!("cargo:rustc-cfg=strands_asm");
}
