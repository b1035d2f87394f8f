//! What a process prints and dies of when a strand overflows its stack, when
//! other faults happen around strands, and when a strand panics.
//!
//! Each scenario runs in a child process (this same binary, re-executed with
//! `child <scenario>`), because an overflow must abort the process. The
//! parent checks the child's stderr and the signal it died of.
//!
//! `harness = false`: so that the "main thread" scenario really runs on the
//! process's main thread. Ends with a `N passed, M failed` line.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::Output;
use strands::{Builder, StackGuard};

const SIZE: usize = 64 * 1024;

#[inline(never)]
#[allow(unconditional_recursion)] // it ends in a stack overflow, on purpose
fn recurse(depth: u64) -> u64 {
    let buf = [depth as u8; 512];
    std::hint::black_box(&buf);
    recurse(depth + 1).wrapping_add(buf[7] as u64)
}

fn overflow_in_strand(guard: StackGuard, name: &str) {
    let rt = common::rt_with(1, |b| b.stack_guard(guard));
    let name = name.to_string();
    rt.block_on(move || {
        Builder::new()
            .name(name)
            .stack_size(SIZE)
            .spawn(|| recurse(0))
            .unwrap()
            .join()
            .ok();
    });
    unreachable!("the overflow aborts");
}

/// Canary mode has no guard page to fault on: overflow into the unguarded
/// gap below the stack (clobbering the canary at its base) and switch out.
fn canary_overflow() {
    let rt = common::rt_with(1, |b| b.stack_guard(StackGuard::Canary));
    rt.block_on(|| {
        Builder::new()
            .name("canary-crusher".to_string())
            .stack_size(SIZE)
            .spawn(|| {
                #[inline(never)]
                fn down() {
                    if strands::remaining_stack().unwrap() > 256 {
                        let buf = [0x11u8; 128];
                        std::hint::black_box(&buf);
                        down();
                        std::hint::black_box(&buf); // no tail call: keep the frame
                        return;
                    }
                    // within 256 bytes of the base: this array covers the
                    // canary word and lies in the unguarded gap below
                    let big = [0xabu8; 2048];
                    std::hint::black_box(&big);
                    strands::yield_now(); // the worker checks the canary here
                }
                down()
            })
            .unwrap()
            .join()
            .ok();
    });
    unreachable!("the canary check aborts");
}

fn child(scenario: &str) {
    match scenario {
        "overflow_guard_install" => overflow_in_strand(StackGuard::Auto, "deep-diver"),
        "overflow_mprotect" => overflow_in_strand(StackGuard::Mprotect, "mprotected"),
        "overflow_canary" => canary_overflow(),
        "overflow_in_grow_segment" => {
            let rt = common::rt(1);
            rt.block_on(|| {
                Builder::new()
                    .name("grower".to_string())
                    .stack_size(SIZE)
                    // the red zone is larger than the stack: always a segment
                    .spawn(|| strands::grow(1 << 20, 128 * 1024, || recurse(0)))
                    .unwrap()
                    .join()
                    .ok();
            });
        }
        "overflow_main_thread" => {
            let _rt = common::rt(1); // our handler is installed
            recurse(0);
        }
        "null_deref_in_strand" => {
            let rt = common::rt(1);
            rt.block_on(|| {
                let p = std::hint::black_box(std::ptr::null::<u64>());
                // SAFETY: none: this scenario faults on purpose.
                unsafe { std::ptr::read_volatile(p) }
            });
        }
        "panic_names_strand" => {
            let rt = common::rt(1);
            let e = rt.block_on(|| {
                Builder::new()
                    .name("parser".to_string())
                    .spawn(|| panic!("unexpected token"))
                    .unwrap()
                    .join()
                    .unwrap_err()
            });
            assert!(e.is_panic());
            println!("survived");
        }
        "drop_panics_while_cancelled" => {
            struct PanicsInDrop;
            impl Drop for PanicsInDrop {
                fn drop(&mut self) {
                    panic!("cleanup failed");
                }
            }
            let rt = common::rt(1);
            rt.block_on(|| {
                let h = Builder::new()
                    .name("doomed-cleanup".to_string())
                    .spawn(|| {
                        let _p = PanicsInDrop;
                        strands::sleep(std::time::Duration::from_secs(3600));
                    })
                    .unwrap();
                strands::yield_now(); // it starts and parks in the sleep
                h.cancel();
                let _ = h.join();
            });
            unreachable!("a panic leaving a Drop during an unwind aborts");
        }
        "backtrace_panic_in_strand" => {
            let rt = common::rt(1);
            let e = rt.block_on(|| {
                strands::spawn(|| panic!("with a backtrace"))
                    .join()
                    .unwrap_err()
            });
            assert!(e.is_panic());
            println!("survived");
        }
        "user_hook_still_called" => {
            let prev = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                eprintln!("user hook saw: {}", info.payload_as_str().unwrap_or("?"));
                prev(info);
            }));
            let rt = common::rt(1);
            let e = rt.block_on(|| {
                Builder::new()
                    .name("reported".to_string())
                    .spawn(|| panic!("to the reporter"))
                    .unwrap()
                    .join()
                    .unwrap_err()
            });
            assert!(e.is_panic());
            println!("survived");
        }
        "backtrace_on_a_minimal_stack" => {
            let rt = common::rt(1);
            let e = rt.block_on(|| {
                Builder::new()
                    .stack_size(strands::MIN_STACK_SIZE)
                    .spawn(|| panic!("tiny stack, full backtrace"))
                    .unwrap()
                    .join()
                    .unwrap_err()
            });
            assert!(e.is_panic());
            println!("survived");
        }
        other => panic!("unknown scenario {other}"),
    }
}

fn run_child(scenario: &str, backtrace: bool) -> Output {
    let mut cmd = common::this_binary();
    cmd.args(["child", scenario])
        .env("RUST_BACKTRACE", if backtrace { "1" } else { "0" })
        .output()
        .expect("re-running the test binary")
}

fn expect_overflow(scenario: &str, who: &str) -> Result<(), String> {
    let out = run_child(scenario, false);
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.signal() != Some(libc::SIGABRT) {
        return Err(format!(
            "expected SIGABRT, got {:?}; stderr:\n{err}",
            out.status
        ));
    }
    if !err.contains(who) {
        return Err(format!("stderr lacks {who:?}:\n{err}"));
    }
    Ok(())
}

fn check(scenario: &str) -> Result<(), String> {
    match scenario {
        "overflow_guard_install" => {
            expect_overflow(scenario, "has overflowed its stack (64 KiB)")?;
            let err = String::from_utf8_lossy(&run_child(scenario, false).stderr).into_owned();
            let line = err
                .lines()
                .find(|l| l.contains("overflowed"))
                .unwrap_or_default();
            // "strand 'deep-diver' (id N) has overflowed its stack (64 KiB)"
            let ok = line.starts_with("strand 'deep-diver' (id ")
                && line
                    .trim_start_matches("strand 'deep-diver' (id ")
                    .split(')')
                    .next()
                    .is_some_and(|id| id.parse::<u64>().is_ok());
            ok.then_some(())
                .ok_or(format!("unexpected report line: {line:?}"))
        }
        "overflow_mprotect" => expect_overflow(scenario, "strand 'mprotected' (id "),
        "overflow_canary" => expect_overflow(scenario, "strand 'canary-crusher' (id "),
        "overflow_in_grow_segment" => expect_overflow(scenario, "strand 'grower' (id ")
            .and_then(|_| expect_overflow(scenario, "has overflowed its stack (128 KiB)")),
        "overflow_main_thread" => {
            expect_overflow(scenario, "thread 'main' (")?;
            expect_overflow(scenario, "has overflowed its stack")?;
            let err = String::from_utf8_lossy(&run_child(scenario, false).stderr).into_owned();
            (!err.contains("strand '"))
                .then_some(())
                .ok_or(format!("a thread overflow blamed a strand:\n{err}"))
        }
        "null_deref_in_strand" => {
            let out = run_child(scenario, false);
            let err = String::from_utf8_lossy(&out.stderr);
            if out.status.signal() != Some(libc::SIGSEGV) {
                return Err(format!(
                    "expected SIGSEGV, got {:?}; stderr:\n{err}",
                    out.status
                ));
            }
            (!err.contains("overflowed")).then_some(()).ok_or(format!(
                "a null dereference was reported as an overflow:\n{err}"
            ))
        }
        "panic_names_strand" => {
            let out = run_child(scenario, false);
            let err = String::from_utf8_lossy(&out.stderr);
            let ok = out.status.success()
                && String::from_utf8_lossy(&out.stdout).contains("survived")
                && err.contains("strand 'parser' (id ")
                && err.contains(") on thread 'strands-worker-")
                && err.contains("' panicked at tests/crash_reports.rs:")
                && err.contains("unexpected token");
            ok.then_some(())
                .ok_or(format!("status {:?}, stderr:\n{err}", out.status))
        }
        "one_report_per_panic" => {
            // the same child as panic_names_strand: one strand panics once
            let out = run_child("panic_names_strand", false);
            let err = String::from_utf8_lossy(&out.stderr);
            let reports: Vec<&str> = err.lines().filter(|l| l.contains("panicked at")).collect();
            let lines: Vec<&str> = err.lines().collect();
            let head = lines
                .iter()
                .position(|l| l.contains("panicked at"))
                .unwrap_or(0);
            let ok = out.status.success()
                && reports.len() == 1
                && reports[0].starts_with("strand 'parser' (id ")
                && reports[0].contains(" on thread 'strands-worker-")
                && reports[0].ends_with(':')
                // std's shape: the message on the next line, then the note
                && lines.get(head + 1) == Some(&"unexpected token")
                && lines
                    .get(head + 2)
                    .is_some_and(|l| l.starts_with("note: run with `RUST_BACKTRACE=1`"));
            ok.then_some(())
                .ok_or(format!("status {:?}, stderr:\n{err}", out.status))
        }
        "drop_panics_while_cancelled" => {
            let out = run_child(scenario, false);
            let err = String::from_utf8_lossy(&out.stderr);
            let ok = out.status.signal() == Some(libc::SIGABRT)
                && err.contains("strand 'doomed-cleanup' (id ")
                && err.contains(
                    "in a Drop while being cancelled (if it leaves the Drop, the process aborts)",
                );
            ok.then_some(())
                .ok_or(format!("status {:?}, stderr:\n{err}", out.status))
        }
        "backtrace_panic_in_strand" => {
            let out = run_child(scenario, true);
            let err = String::from_utf8_lossy(&out.stderr);
            let last_frame = err
                .lines()
                .rfind(|l| {
                    let t = l.trim_start();
                    t.split(':')
                        .next()
                        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
                })
                .unwrap_or_default()
                .to_string();
            let expected_last = if strands::BACKEND == "ucontext" {
                ""
            } else {
                "strands_trampoline"
            };
            let ok = out.status.success()
                && err.contains("stack backtrace:")
                && err.contains("strand_entry")
                && err.matches("panicked at").count() == 1
                && !err.contains("strands::panic::")
                && last_frame.contains(expected_last);
            ok.then_some(()).ok_or(format!(
                "status {:?}, last frame {last_frame:?}, stderr:\n{err}",
                out.status
            ))
        }
        "user_hook_still_called" => {
            let out = run_child(scenario, false);
            let err = String::from_utf8_lossy(&out.stderr);
            let ok = out.status.success()
                && err.contains("strand 'reported' (id ")
                && err.contains("user hook saw: to the reporter");
            ok.then_some(())
                .ok_or(format!("status {:?}, stderr:\n{err}", out.status))
        }
        "backtrace_on_a_minimal_stack" => {
            let out = run_child(scenario, true);
            let err = String::from_utf8_lossy(&out.stderr);
            let ok = out.status.success()
                && String::from_utf8_lossy(&out.stdout).contains("survived")
                && err.contains("stack backtrace:");
            ok.then_some(())
                .ok_or(format!("status {:?}, stderr:\n{err}", out.status))
        }
        _ => unreachable!(),
    }
}

const SCENARIOS: &[&str] = &[
    "overflow_guard_install",
    "overflow_mprotect",
    "overflow_canary",
    "overflow_in_grow_segment",
    "overflow_main_thread",
    "null_deref_in_strand",
    "panic_names_strand",
    "one_report_per_panic",
    "drop_panics_while_cancelled",
    "backtrace_panic_in_strand",
    "user_hook_still_called",
    "backtrace_on_a_minimal_stack",
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 3 && args[1] == "child" {
        return child(&args[2]);
    }
    let filter = args.iter().skip(1).find(|a| !a.starts_with('-')).cloned();
    let (mut passed, mut failed) = (0, 0);
    for s in SCENARIOS
        .iter()
        .filter(|s| filter.as_deref().is_none_or(|f| s.contains(f)))
    {
        match check(s) {
            Ok(()) => {
                println!("test {s} ... ok");
                passed += 1;
            }
            Err(e) => {
                println!("test {s} ... FAILED\n{e}");
                failed += 1;
            }
        }
    }
    println!("\n{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
