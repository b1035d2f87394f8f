//! Picks the platform backends and builds the context-switch assembly.
//!
//! Every platform decision that depends on the *target* is made here, once,
//! and announced to the crate as a `cfg` (docs/platforms.md has the table):
//!
//! - `strands_asm`: the assembly context switch is built and used. The file
//!   is picked by architecture (`asm/x86_64.S`, `asm/aarch64.S`); the object
//!   format by OS, through `asm/common.h` (ELF on Linux and the BSDs,
//!   Mach-O on Apple's systems). Absent: the `ucontext` fallback (any other
//!   architecture or object format, or the `ucontext` feature), which
//!   exists only where the libc crate binds `getcontext` & co. (glibc
//!   Linux); elsewhere, and for `ucontext` on Apple's systems, the build
//!   stops with an error that says so.
//! - `strands_epoll`: the I/O driver's poller is the epoll backend (Linux
//!   and Android, unless the `polling-driver` feature asks for the other).
//!   Absent: the `polling` backend (kqueue on macOS and the BSDs).
//! - `linux_like`: the kernel is Linux's (Linux, Android): `/proc`,
//!   `MAP_NORESERVE`, `MAP_STACK`, `MADV_GUARD_INSTALL`, `MADV_DONTNEED`
//!   that frees, `vm.max_map_count`. Only `src/os/sys.rs` looks at it.
//!
//! A cross build for an Apple target assembles with `clang` unless a C
//! compiler for the target is named (`CC_<target>` or `TARGET_CC`): that
//! is the compiler that can write Mach-O objects on a Linux host.

use std::env;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(strands_asm)");
    println!("cargo::rustc-check-cfg=cfg(strands_epoll)");
    println!("cargo::rustc-check-cfg=cfg(linux_like)");
    println!("cargo:rerun-if-changed=asm");
    println!("cargo:rerun-if-changed=build.rs");

    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let feature = |name: &str| env::var_os(format!("CARGO_FEATURE_{name}")).is_some();

    let linux_like = matches!(os.as_str(), "linux" | "android");
    if linux_like {
        println!("cargo:rustc-cfg=linux_like");
    }
    if linux_like && !feature("POLLING_DRIVER") {
        println!("cargo:rustc-cfg=strands_epoll");
    }

    let apple = matches!(
        os.as_str(),
        "macos" | "ios" | "tvos" | "watchos" | "visionos"
    );
    if apple && feature("UCONTEXT") {
        // getcontext & co. are deprecated on Apple's systems (and absent from
        // their arm64 SDKs' supported API); the assembly covers both of
        // their architectures, so there is nothing to fall back to.
        println!(
            "cargo::error=the `ucontext` feature is not supported on {os}: ucontext is \
             deprecated there; the assembly switch is used on both x86_64 and aarch64 \
             (see docs/platforms.md)"
        );
        return;
    }

    let file = match arch.as_str() {
        "x86_64" => Some("asm/x86_64.S"),
        "aarch64" => Some("asm/aarch64.S"),
        _ => None,
    };
    // The object formats asm/common.h can spell: ELF, and Mach-O.
    let elf = matches!(
        os.as_str(),
        "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly" | "illumos"
    );
    let file = match file {
        Some(file) if !feature("UCONTEXT") && (elf || apple) => file,
        _ => {
            // the ucontext fallback: getcontext & co. as the libc crate
            // binds them, which it does for glibc on these architectures
            let env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
            let bound = os == "linux"
                && env == "gnu"
                && matches!(
                    arch.as_str(),
                    "x86" | "x86_64" | "aarch64" | "powerpc64" | "s390x"
                );
            if !bound {
                let why = if file.is_some() && (elf || apple) {
                    "the `ucontext` feature is not available on"
                } else {
                    "no context switch for"
                };
                println!(
                    "cargo::error={why} {arch}-{os}: the assembly covers x86_64 and aarch64 \
                     (ELF and Mach-O), and the ucontext fallback needs getcontext, makecontext \
                     and swapcontext, which the libc crate binds for glibc Linux only \
                     (see docs/platforms.md)"
                );
            }
            return;
        }
    };
    let mut build = cc::Build::new();
    build.file(file).include("asm");
    if apple && env::var("HOST") != env::var("TARGET") && !names_a_compiler() {
        build.compiler("clang");
    }
    build.compile("strands_switch");
    println!("cargo:rustc-cfg=strands_asm");
}

/// Whether the environment names a C compiler for the target (as the `cc`
/// crate reads it).
fn names_a_compiler() -> bool {
    let target = env::var("TARGET").unwrap_or_default();
    [
        format!("CC_{target}"),
        format!("CC_{}", target.replace('-', "_")),
        "TARGET_CC".to_string(),
    ]
    .iter()
    .any(|v| {
        println!("cargo:rerun-if-env-changed={v}");
        env::var_os(v).is_some()
    })
}
