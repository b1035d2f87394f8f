//! `io::Registered` on pipes and other fds: strands and plain threads,
//! cancellation, bad fds, EMFILE.

mod common;

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;
use strands::io::Registered;

fn pipe() -> (std::fs::File, std::fs::File) {
    let (r, w) = std::io::pipe().unwrap(); // close-on-exec, on every Unix
    (OwnedFd::from(r).into(), OwnedFd::from(w).into())
}

#[test]
fn a_pipe_between_strands_and_into_inner_restores_blocking() {
    let rt = common::rt(2);
    rt.block_on(|| {
        let (r, w) = pipe();
        let mut r = Registered::new(r).unwrap();
        let mut w = Registered::new(w).unwrap();
        let reader = strands::spawn(move || {
            let mut s = String::new();
            r.read_to_string(&mut s).unwrap();
            let f = r.into_inner().unwrap();
            // SAFETY: F_GETFL on an open fd.
            let flags = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETFL) };
            assert_eq!(flags & libc::O_NONBLOCK, 0, "blocking mode not restored");
            s
        });
        // more than a pipe buffer, so the writer parks too
        let msg = "0123456789".repeat(20_000);
        w.write_all(msg.as_bytes()).unwrap();
        drop(w);
        assert_eq!(reader.join().unwrap(), msg);
    });
}

#[test]
fn a_plain_thread_waits_on_the_fallback_driver() {
    let (r, w) = pipe();
    let r = Registered::new(r).unwrap();
    let t = std::thread::spawn(move || {
        let mut buf = [0u8; 5];
        (&r).read_exact(&mut buf).unwrap();
        buf
    });
    std::thread::sleep(Duration::from_millis(10)); // either order passes
    (&w).write_all(b"hello").unwrap();
    assert_eq!(&t.join().unwrap(), b"hello");
}

#[test]
fn readable_and_a_cancelled_read() {
    let rt = common::rt(1);
    let (r, w) = pipe();
    let r = std::sync::Arc::new(Registered::new(r).unwrap());
    let r2 = std::sync::Arc::clone(&r);
    let parked = rt.spawn(move || (&*r2).read(&mut [0u8; 4]));
    std::thread::sleep(Duration::from_millis(20)); // either order passes
    parked.cancel();
    assert!(parked.join().unwrap_err().is_cancelled());
    // the fd still works for a new waiter
    let r3 = std::sync::Arc::clone(&r);
    let waiter = rt.spawn(move || {
        r3.readable().unwrap();
        let mut b = [0u8; 2];
        (&*r3).read_exact(&mut b).unwrap();
        b
    });
    (&w).write_all(b"ok").unwrap();
    assert_eq!(&waiter.join().unwrap(), b"ok");
}

#[test]
fn a_closed_fd_is_a_typed_error() {
    // SAFETY: deliberately an fd number no process can have open (far
    // above any fd limit): every call on it fails with EBADF.
    let closed = unsafe { BorrowedFd::borrow_raw(1 << 30) };
    let e = Registered::new(closed).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EBADF));
}

#[test]
fn a_regular_file_reads_without_the_driver() {
    let path = std::env::temp_dir().join(format!("strands-io-{}", std::process::id()));
    std::fs::write(&path, b"file contents").unwrap();
    let rt = common::rt(1);
    let got = rt.block_on(|| {
        let mut f = Registered::new(std::fs::File::open(&path).unwrap()).unwrap();
        let mut s = String::new();
        f.read_to_string(&mut s).unwrap();
        s
    });
    assert_eq!(got, "file contents");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn emfile_on_accept_is_an_error_and_the_driver_keeps_serving() {
    // own process: the fd limit is process-wide
    if std::env::var("STRANDS_TEST_EMFILE").is_err() {
        let out = common::this_binary()
            .args([
                "--exact",
                "emfile_on_accept_is_an_error_and_the_driver_keeps_serving",
            ])
            .env("STRANDS_TEST_EMFILE", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let rt = common::rt(2);
    rt.block_on(|| {
        let listener = strands::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // fill the fd table up to a low limit
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit into a local struct.
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) };
        let saved = l.rlim_cur;
        let mut fill = Vec::new();
        let c = std::net::TcpStream::connect(addr).unwrap(); // pending in the backlog
        loop {
            // SAFETY: dup of stdin; the result is owned below.
            let fd = unsafe { libc::dup(0) };
            if fd < 0 {
                break;
            }
            // SAFETY: a fresh fd we own.
            fill.push(unsafe { OwnedFd::from_raw_fd(fd) });
            if fill.len() > 100_000 {
                panic!("no fd limit");
            }
            let highest = fd as libc::rlim_t; // u64, or i64 on FreeBSD
            if highest + 1 >= saved.min(4096) {
                l.rlim_cur = highest + 1;
                // SAFETY: lowering our own soft limit.
                unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &l) };
            }
        }
        let e = listener.accept().unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e:?}");
        // free some fds: the pending connection is accepted, others are served
        fill.truncate(fill.len() - 10);
        let (mut s, _) = listener.accept().unwrap();
        (&c).write_all(b"still here").unwrap();
        let mut buf = [0u8; 10];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"still here");
        l.rlim_cur = saved;
        // SAFETY: restoring our own soft limit.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &l) };
    });
}
