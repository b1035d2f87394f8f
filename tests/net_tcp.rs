//! TCP through the I/O driver: many connections, bulk data, timeouts,
//! resets, half-close, and I/O while every worker is busy.

mod common;
use common::rt;

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use strands::net::{TcpListener, TcpStream};

/// Raises the soft fd limit to the hard one; returns the new soft limit.
fn raise_fd_limit() -> u64 {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut l), 0);
        l.rlim_cur = l.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut l);
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is i64 on FreeBSD
    let cur = l.rlim_cur as u64;
    cur
}

const CONNS: usize = 10_000;
const CLIENT_ENV: &str = "STRANDS_TEST_10K_SERVER";

/// 10,000 concurrent loopback connections, each served by its own strand.
/// The clients run in a child process (this same test binary, running
/// `ten_thousand_clients`), so each process needs about 10,000 fds rather
/// than one needing 20,000.
#[test]
fn ten_thousand_concurrent_connections() {
    let limit = raise_fd_limit();
    if limit < CONNS as u64 + 200 {
        eprintln!(
            "SKIPPED ten_thousand_concurrent_connections: the hard RLIMIT_NOFILE is {limit}, \
             below the {} this test needs",
            CONNS + 200
        );
        return;
    }
    let rt = rt(2);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut child = common::this_binary()
        .args([
            "--exact",
            "ten_thousand_clients",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CLIENT_ENV, addr.to_string())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let open = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (o, p) = (Arc::clone(&open), Arc::clone(&peak));
    let server = rt.spawn(move || {
        let handlers: Vec<_> = (0..CONNS)
            .map(|_| {
                let (mut s, _) = listener.accept().unwrap();
                let now = o.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                let open = Arc::clone(&o);
                strands::spawn(move || {
                    let mut buf = [0u8; 8];
                    s.read_exact(&mut buf).unwrap();
                    s.write_all(&buf).unwrap();
                    // hold the connection until the client closes it
                    let n = s.read(&mut buf).unwrap();
                    open.fetch_sub(1, Ordering::SeqCst);
                    assert_eq!(n, 0);
                })
            })
            .collect();
        let n = handlers.len();
        for h in handlers {
            h.join().unwrap();
        }
        n
    });
    let status = child.wait().unwrap();
    if !status.success() {
        server.cancel(); // it may wait for connections that never come
        panic!("the client process failed: {status}");
    }
    assert_eq!(server.join().unwrap(), CONNS);
    assert_eq!(
        peak.load(Ordering::SeqCst),
        CONNS,
        "not all connections were open at once"
    );
}

/// The client side of `ten_thousand_concurrent_connections` (does nothing
/// unless run by it).
#[test]
fn ten_thousand_clients() {
    let Ok(addr) = std::env::var(CLIENT_ENV) else {
        return;
    };
    assert!(raise_fd_limit() >= CONNS as u64 + 200);
    let rt = rt(2);
    rt.block_on(|| {
        // every client waits, connected, until the last one has done its
        // round trip: a byte on this pair releases them all at once
        let (release_tx, release_rx) = std::os::unix::net::UnixStream::pair().unwrap();
        let release_rx = Arc::new(strands::io::Registered::new(release_rx).unwrap());
        let release_tx = Arc::new(std::sync::Mutex::new(Some(release_tx)));
        let done = Arc::new(AtomicUsize::new(0));
        let clients: Vec<_> = (0..CONNS)
            .map(|i| {
                let addr = addr.clone();
                let (release_rx, release_tx, done) = (
                    Arc::clone(&release_rx),
                    Arc::clone(&release_tx),
                    Arc::clone(&done),
                );
                strands::spawn(move || {
                    // counts this client as done however it ends (a failed
                    // one too, so the others are released and the process
                    // exits with the failure instead of hanging)
                    struct Done(
                        Arc<AtomicUsize>,
                        Arc<std::sync::Mutex<Option<std::os::unix::net::UnixStream>>>,
                    );
                    impl Drop for Done {
                        fn drop(&mut self) {
                            if self.0.fetch_add(1, Ordering::SeqCst) + 1 == CONNS {
                                let tx = self.1.lock().unwrap().take().unwrap();
                                (&tx).write_all(b"!").unwrap();
                                std::mem::forget(tx); // keep the byte readable
                            }
                        }
                    }
                    let done = Done(done, release_tx);
                    let mut s = TcpStream::connect(addr.as_str()).unwrap();
                    let msg = (i as u64).to_le_bytes();
                    s.write_all(&msg).unwrap();
                    let mut back = [0u8; 8];
                    s.read_exact(&mut back).unwrap();
                    assert_eq!(back, msg);
                    drop(done);
                    // the byte stays unread, so every wait sees the fd readable
                    release_rx.readable().unwrap();
                    drop(s);
                })
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
    });
}

/// A cheap deterministic byte stream and a checksum over it.
fn pattern(seed: u64, buf: &mut [u8]) -> u64 {
    let mut x = seed;
    for chunk in buf.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = x.to_le_bytes();
        chunk.copy_from_slice(&b[..chunk.len()]);
    }
    x
}

fn checksum(mut sum: u64, data: &[u8]) -> u64 {
    for &b in data {
        sum = (sum ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    sum
}

#[test]
fn a_hundred_megabytes_through_one_connection_arrive_intact() {
    const TOTAL: usize = 100 << 20;
    const CHUNK: usize = 64 << 10;
    let rt = rt(2);
    rt.block_on(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let writer = strands::spawn(move || {
            let mut s = TcpStream::connect(addr).unwrap();
            let mut buf = vec![0u8; CHUNK];
            let (mut seed, mut sum) = (0x9e37_79b9_7f4a_7c15u64, 0xcbf2_9ce4_8422_2325u64);
            for _ in 0..TOTAL / CHUNK {
                seed = pattern(seed, &mut buf);
                sum = checksum(sum, &buf);
                s.write_all(&buf).unwrap();
            }
            sum
        });
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 100_000]; // not a multiple of the writes
        let (mut got, mut sum) = (0usize, 0xcbf2_9ce4_8422_2325u64);
        loop {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            sum = checksum(sum, &buf[..n]);
            got += n;
        }
        assert_eq!(got, TOTAL);
        assert_eq!(sum, writer.join().unwrap());
    });
}

fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (s, _) = listener.accept().unwrap();
    (c, s)
}

#[test]
fn read_timeout_fires_and_returns_timed_out() {
    rt(2).block_on(|| {
        let (mut c, _s) = pair();
        let t = Duration::from_millis(50);
        c.set_read_timeout(Some(t)).unwrap();
        assert_eq!(c.read_timeout().unwrap(), Some(t));
        let start = Instant::now();
        let e = c.read(&mut [0u8; 16]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TimedOut);
        assert!(
            start.elapsed() >= t,
            "returned early: {:?}",
            start.elapsed()
        );
        assert!(c.set_read_timeout(Some(Duration::ZERO)).is_err());
    });
}

#[test]
fn write_timeout_fires_when_the_peer_does_not_read() {
    rt(2).block_on(|| {
        let (mut c, _s) = pair();
        let t = Duration::from_millis(50);
        c.set_write_timeout(Some(t)).unwrap();
        let buf = vec![0u8; 1 << 20];
        let start = Instant::now();
        let e = loop {
            if let Err(e) = c.write(&buf) {
                break e;
            }
        };
        assert_eq!(e.kind(), ErrorKind::TimedOut);
        assert!(start.elapsed() >= t);
    });
}

#[test]
fn a_timed_out_read_from_a_plain_thread_too() {
    let _rt = rt(1);
    let (mut c, _s) = pair(); // on this thread: the fallback driver
    c.set_read_timeout(Some(Duration::from_millis(30))).unwrap();
    let start = Instant::now();
    assert_eq!(
        c.read(&mut [0u8; 4]).unwrap_err().kind(),
        ErrorKind::TimedOut
    );
    assert!(start.elapsed() >= Duration::from_millis(30));
}

#[test]
fn connect_timeout_fires_against_a_full_backlog() {
    rt(2).block_on(|| {
        // a listener that never accepts, with the smallest backlog: once
        // it is full, the kernel drops new SYNs and connects hang
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        use std::os::fd::AsRawFd;
        // SAFETY: listen(2) again on a listening socket changes its backlog.
        assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0);
        let addr = listener.local_addr().unwrap();
        let t = Duration::from_millis(100);
        let mut held = Vec::new();
        let timed_out = (0..16).any(|_| {
            let start = Instant::now();
            match TcpStream::connect_timeout(&addr, t) {
                Ok(s) => {
                    held.push(s);
                    false
                }
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e:?}");
                    assert!(start.elapsed() >= t, "returned early");
                    true
                }
            }
        });
        assert!(timed_out, "{} connects all went through", held.len());
        assert_eq!(
            TcpStream::connect_timeout(&addr, Duration::ZERO)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
    });
}

#[test]
fn bad_addresses_and_refusals_are_typed_errors() {
    rt(2).block_on(|| {
        assert_eq!(
            TcpStream::connect("not an address").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert!(TcpStream::connect("256.1.1.1:80").is_err());
        assert!(TcpListener::bind("127.0.0.1:99999").is_err());
        // a port nobody listens on
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = free.local_addr().unwrap();
        drop(free);
        assert_eq!(
            TcpStream::connect(addr).unwrap_err().kind(),
            ErrorKind::ConnectionRefused
        );
        // and the driver still serves others
        let (mut c, mut s) = pair();
        c.write_all(b"ok").unwrap();
        let mut b = [0u8; 2];
        s.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"ok");
    });
}

#[test]
fn a_peer_reset_is_an_error_not_a_panic() {
    rt(2).block_on(|| {
        let (mut c, s) = pair();
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        use std::os::fd::AsRawFd;
        // SAFETY: setsockopt on an open socket with a correctly sized value.
        let r = unsafe {
            libc::setsockopt(
                s.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        assert_eq!(r, 0);
        let reader = strands::spawn(move || {
            let mut buf = [0u8; 16];
            c.read(&mut buf)
        });
        strands::sleep(Duration::from_millis(10)); // let the reader park (either order passes)
        drop(s); // RST
        let e = reader.join().unwrap().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionReset);
    });
}

#[test]
fn writing_to_a_vanished_peer_is_an_error() {
    rt(2).block_on(|| {
        let (mut c, s) = pair();
        drop(s);
        let buf = [0u8; 4096];
        let e = loop {
            if let Err(e) = c.write(&buf) {
                break e;
            }
        };
        assert!(
            matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
            "{e:?}"
        );
    });
}

#[test]
fn half_close_delivers_eof_and_the_other_half_still_works() {
    rt(2).block_on(|| {
        let (mut c, mut s) = pair();
        let server = strands::spawn(move || {
            let mut got = Vec::new();
            s.read_to_end(&mut got).unwrap(); // ends at the client's shutdown
            s.write_all(b"xyz").unwrap();
            got
        });
        c.write_all(b"abc").unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut back = Vec::new();
        c.read_to_end(&mut back).unwrap();
        assert_eq!(back, b"xyz");
        assert_eq!(server.join().unwrap(), b"abc");
    });
}

#[test]
fn an_exchange_completes_while_100_strands_keep_every_worker_busy() {
    rt(2).block_on(|| {
        let stop = Arc::new(AtomicBool::new(false));
        let busy: Vec<_> = (0..100)
            .map(|_| {
                let stop = Arc::clone(&stop);
                strands::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        strands::yield_now();
                    }
                })
            })
            .collect();
        let (mut c, mut s) = pair();
        let echo = strands::spawn(move || {
            let mut buf = [0u8; 64];
            loop {
                match s.read(&mut buf).unwrap() {
                    0 => break,
                    n => s.write_all(&buf[..n]).unwrap(),
                }
            }
        });
        for i in 0..1000u32 {
            c.write_all(&i.to_le_bytes()).unwrap();
            let mut b = [0u8; 4];
            c.read_exact(&mut b).unwrap();
            assert_eq!(u32::from_le_bytes(b), i);
        }
        drop(c);
        echo.join().unwrap();
        stop.store(true, Ordering::Relaxed);
        for b in busy {
            b.join().unwrap();
        }
    });
}

#[test]
fn clones_share_the_connection_and_nodelay_sticks() {
    rt(2).block_on(|| {
        let (c, mut s) = pair();
        c.set_nodelay(true).unwrap();
        assert!(c.nodelay().unwrap());
        let mut c2 = c.try_clone().unwrap();
        c2.write_all(b"via clone").unwrap();
        let mut buf = [0u8; 9];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"via clone");
        assert_eq!(c.peer_addr().unwrap(), s.local_addr().unwrap());
    });
}

#[test]
fn incoming_and_a_cancelled_accept() {
    let rt = rt(2);
    let listener = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
    let addr = listener.local_addr().unwrap();
    let l = Arc::clone(&listener);
    let acceptor = rt.spawn(move || l.incoming().take(2).filter(|s| s.is_ok()).count());
    let _a = std::net::TcpStream::connect(addr).unwrap();
    let _b = std::net::TcpStream::connect(addr).unwrap();
    assert_eq!(acceptor.join().unwrap(), 2);
    // a strand parked in accept can be cancelled, and the listener still works
    let l = Arc::clone(&listener);
    let parked = rt.spawn(move || l.accept().map(|_| ()));
    std::thread::sleep(Duration::from_millis(20)); // either order passes
    parked.cancel();
    assert!(parked.join().unwrap_err().is_cancelled());
    let l = Arc::clone(&listener);
    let again = rt.spawn(move || l.accept().map(|(_, a)| a));
    let c = std::net::TcpStream::connect(addr).unwrap();
    assert_eq!(again.join().unwrap().unwrap(), c.local_addr().unwrap());
}
