//! A socket's registration follows the driver that can wake its waiter:
//! after its runtime is dropped (read from a plain thread, then from a
//! strand of another runtime), while its runtime lives but cannot poll
//! (read from another runtime), and while a plain thread already waits on
//! it when its runtime goes away.
//!
//! Every read here waits for real: the data is written only once the
//! reader is seen parked (a strand: its runtime's park count; a thread:
//! its state in `/proc`). Each wait for the reader is bounded: a reader
//! that is never woken fails the test instead of hanging it.
#![cfg(target_os = "linux")] // gettid and /proc/self/task: Linux only

mod common;

use common::{rt, rt_with};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream as StdUnix;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use strands::io::Registered;
use strands::Runtime;

/// How long a woken reader may take before the test calls it lost.
const LIMIT: Duration = Duration::from_secs(10);

/// Polls `cond` until it holds, failing the test after [`LIMIT`].
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < LIMIT, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A stream a test reads one byte from.
trait ReadOne: Send + 'static {
    fn read_one(&self) -> u8;
}

impl ReadOne for strands::net::TcpStream {
    fn read_one(&self) -> u8 {
        let mut buf = [0u8; 1];
        let mut s = self;
        s.read_exact(&mut buf).unwrap();
        buf[0]
    }
}

impl ReadOne for Registered<StdUnix> {
    fn read_one(&self) -> u8 {
        let mut buf = [0u8; 1];
        let mut s = self;
        s.read_exact(&mut buf).unwrap();
        buf[0]
    }
}

fn parks(rt: &Runtime) -> u64 {
    rt.metrics().parks.iter().sum()
}

/// A connected TCP pair on loopback: the strands end and the plain end.
fn tcp_pair() -> (strands::net::TcpStream, std::net::TcpStream) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let a = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (b, _) = l.accept().unwrap();
    (strands::net::TcpStream::from_std(a).unwrap(), b)
}

/// Reads one byte on a strand of `rt`, writing it through `peer` only once
/// the strand has parked: so the stream waited (and registered) in `rt`.
/// Returns the stream.
fn read_in_strand<S: ReadOne, P: Write>(rt: &Runtime, stream: S, peer: &mut P, byte: u8) -> S {
    let before = parks(rt);
    let (tx, rx) = mpsc::channel();
    rt.spawn(move || {
        tx.send((stream.read_one(), stream)).unwrap();
    });
    wait_until("the reading strand parked", || parks(rt) > before);
    peer.write_all(&[byte]).unwrap();
    let (got, stream) = rx
        .recv_timeout(LIMIT)
        .expect("a strand reading a moved socket was never woken");
    assert_eq!(got, byte);
    stream
}

/// The state letter of thread `tid` of this process (`S`: sleeping).
fn thread_state(tid: i32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap_or_default();
    // "tid (comm) S ...": the state follows the last ')'
    stat.rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next())
        .unwrap_or('?')
}

/// Reads one byte on a plain thread, writing it through `peer` only once
/// the thread sleeps (parked in the wait). Returns the stream.
fn read_in_thread<S: ReadOne, P: Write>(stream: S, peer: &mut P, byte: u8) -> S {
    let (tid_tx, tid_rx) = mpsc::channel();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // SAFETY: gettid has no preconditions.
        tid_tx.send(unsafe { libc::gettid() }).unwrap();
        tx.send((stream.read_one(), stream)).unwrap();
    });
    let tid = tid_rx.recv().unwrap();
    wait_until("the reading thread sleeps", || thread_state(tid) == 'S');
    peer.write_all(&[byte]).unwrap();
    let (got, stream) = rx
        .recv_timeout(LIMIT)
        .expect("a plain thread reading a moved socket was never woken");
    assert_eq!(got, byte);
    stream
}

#[test]
fn a_tcp_stream_outlives_its_runtime_then_serves_a_thread_then_another_runtime() {
    let (s, mut peer) = tcp_pair();
    let a = rt(1);
    let s = read_in_strand(&a, s, &mut peer, 1);
    drop(a); // the driver `s` is registered with is gone
    let s = read_in_thread(s, &mut peer, 2); // moves to the fallback driver
    let b = rt(2);
    let s = read_in_strand(&b, s, &mut peer, 3); // moves to b
    let s = read_in_strand(&b, s, &mut peer, 4); // stays (the fast path)
    drop(b);
    let s = read_in_thread(s, &mut peer, 5); // back to the fallback
    let c = rt(1);
    read_in_strand(&c, s, &mut peer, 6);
}

#[test]
fn a_unix_stream_outlives_its_runtime_then_serves_another_runtime() {
    let (s, mut peer) = StdUnix::pair().unwrap();
    let s: Registered<StdUnix> = Registered::new(s).unwrap();
    let a = rt(1);
    let s = read_in_strand(&a, s, &mut peer, 1);
    drop(a);
    let b = rt(1);
    let s = read_in_strand(&b, s, &mut peer, 2); // straight from dead a to b
    drop(b);
    read_in_thread(s, &mut peer, 3);
}

#[test]
fn a_stream_moves_to_the_runtime_that_waits_on_it_while_its_first_still_runs() {
    let (s, mut peer) = tcp_pair();
    // a's only worker will be held by a strand blocked in a std channel
    // (watchdog off, so no spare polls for it): a cannot poll its driver
    let a = rt_with(1, |b| b.watchdog(None));
    let s = read_in_strand(&a, s, &mut peer, 1);
    let (release, held) = mpsc::channel::<()>();
    let (holding_tx, holding) = mpsc::channel();
    a.spawn(move || {
        holding_tx.send(()).unwrap();
        let _ = held.recv(); // blocks a's worker
    });
    holding.recv_timeout(LIMIT).unwrap();
    let b = rt(1);
    let s = read_in_strand(&b, s, &mut peer, 2); // woken by b's driver
    release.send(()).unwrap();
    // and back: a polls again, b is still alive
    read_in_strand(&a, s, &mut peer, 3);
}

#[test]
fn a_thread_waiting_when_the_runtime_goes_away_moves_and_is_woken() {
    let (s, mut peer) = StdUnix::pair().unwrap();
    let s: Registered<StdUnix> = Registered::new(s).unwrap();
    let a = rt(1);
    let s = read_in_strand(&a, s, &mut peer, 1);
    // a plain thread waits on the registration with a (alive: it polls)
    let (tid_tx, tid_rx) = mpsc::channel();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // SAFETY: gettid has no preconditions.
        tid_tx.send(unsafe { libc::gettid() }).unwrap();
        tx.send(s.read_one()).unwrap();
    });
    let tid = tid_rx.recv().unwrap();
    wait_until("the reading thread sleeps", || thread_state(tid) == 'S');
    drop(a); // its driver dies under the waiting thread
    peer.write_all(&[2]).unwrap();
    assert_eq!(
        rx.recv_timeout(LIMIT)
            .expect("the thread waiting on a dead driver was never woken"),
        2
    );
}
