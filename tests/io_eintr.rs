//! EINTR: signals landing on the runtime's threads (the poller in
//! `epoll_wait`, workers, parked threads) while strands wait for I/O and
//! timers. Handlers are installed without `SA_RESTART`, so every blocking
//! system call they interrupt fails with `EINTR`; nothing may surface as an
//! error, be lost, or wake a sleeper early. Its own test binary: signal
//! dispositions are process-wide.
#![cfg(target_os = "linux")] // tgkill and /proc/self/task: Linux only

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use strands::io::Registered;

static HANDLED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_signal(_: libc::c_int) {
    HANDLED.fetch_add(1, Ordering::Relaxed);
}

/// A SIGUSR1 handler without `SA_RESTART`.
fn install_interrupting_handler() {
    // SAFETY: a plain sigaction with an async-signal-safe handler (one
    // atomic add); the struct is zeroed, then filled.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = 0; // no SA_RESTART: interrupted calls fail with EINTR
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
}

#[test]
fn io_and_timers_ride_out_a_storm_of_interrupting_signals() {
    install_interrupting_handler();
    let rt = common::rt(2);
    let (a, b) = UnixStream::pair().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    // signals at every thread of the process in turn (the workers too,
    // whichever of them waits in epoll), not just whichever one the kernel
    // picks for a process-wide kill
    let storm = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            // SAFETY: plain system calls on our own process and threads.
            let (pid, me) = unsafe { (libc::getpid(), libc::syscall(libc::SYS_gettid)) };
            let mut sent = 0u32;
            while !stop.load(Ordering::SeqCst) {
                for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
                    let Some(tid) = task
                        .file_name()
                        .to_str()
                        .and_then(|t| t.parse::<i64>().ok())
                    else {
                        continue;
                    };
                    if tid != me {
                        // SAFETY: tgkill(2) on a thread of our own process
                        // with a handled signal (a thread that exited in
                        // between just makes it fail with ESRCH).
                        unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, libc::SIGUSR1) };
                        sent += 1;
                    }
                }
                std::thread::sleep(Duration::from_micros(300));
            }
            sent
        })
    };
    let (read, slept) = rt.block_on(move || {
        let sleeper = strands::spawn(|| {
            let t = Instant::now();
            strands::sleep(Duration::from_millis(50));
            t.elapsed()
        });
        let reader = strands::spawn(move || {
            let mut r = Registered::new(a).unwrap();
            let mut buf = [0u8; 5];
            r.read_exact(&mut buf).unwrap(); // parks until the writer writes
            buf
        });
        // let signals land while both wait, then write
        let t = Instant::now();
        while HANDLED.load(Ordering::Relaxed) < 20 && t.elapsed() < Duration::from_secs(30) {
            strands::sleep(Duration::from_millis(1));
        }
        let mut w = Registered::new(b).unwrap();
        w.write_all(b"hello").unwrap();
        (reader.join().unwrap(), sleeper.join().unwrap())
    });
    stop.store(true, Ordering::SeqCst);
    let sent = storm.join().unwrap();
    assert_eq!(&read, b"hello");
    assert!(slept >= Duration::from_millis(50), "woke early: {slept:?}");
    assert!(
        HANDLED.load(Ordering::Relaxed) >= 20,
        "the storm did not land ({sent} sent)"
    );
}
