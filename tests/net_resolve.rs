//! Name resolution off the workers: host names go to the blocking pool
//! while the strand parks, numeric addresses never touch it.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use strands::channel::unbounded;
use strands::net::{TcpListener, TcpStream, UdpSocket};

const KEEP: Duration = Duration::from_secs(3600); // pool threads stay countable

#[test]
fn numeric_addresses_do_not_touch_the_pool() {
    let rt = common::rt_with(1, |b| b.blocking_keep_alive(KEEP));
    rt.block_on(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let port = addr.port();
        let _a = TcpStream::connect(addr).unwrap();
        let _b = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
        let _c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let _d = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
        let _e = TcpStream::connect(&[addr][..]).unwrap();
        let u = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let v = UdpSocket::bind("127.0.0.1:0").unwrap();
        u.connect(v.local_addr().unwrap().to_string()).unwrap();
        v.send_to(b"x", u.local_addr().unwrap()).unwrap();
        let mut buf = [0; 1];
        assert_eq!(u.recv(&mut buf).unwrap(), 1);
    });
    assert_eq!(rt.handle().blocking_threads(), 0);
}

#[test]
fn a_host_name_is_resolved_on_the_pool() {
    let rt = common::rt_with(1, |b| b.blocking_keep_alive(KEEP));
    rt.block_on(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let s = TcpStream::connect(format!("localhost:{port}")).unwrap();
        assert!(s.peer_addr().unwrap().ip().is_loopback());
        let u = UdpSocket::bind(("localhost", 0)).unwrap();
        assert!(u.local_addr().unwrap().ip().is_loopback());
    });
    // Each lookup ran on a pool thread. The second may start a second
    // thread: the first hands its answer over before it counts itself idle.
    let threads = rt.handle().blocking_threads();
    assert!((1..=2).contains(&threads), "{threads} pool threads");
}

/// One worker, one pool thread held by a gated job: the lookup for
/// "localhost" queues behind it, so the connect can finish only after
/// another strand of the same worker has run and opened the gate.
#[test]
fn the_worker_runs_other_strands_during_a_lookup() {
    let rt = common::rt_with(1, |b| b.max_blocking_threads(1).blocking_keep_alive(KEEP));
    let order = rt.block_on(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
        let gate = strands::spawn_blocking(move || gate_rx.recv().is_ok());
        let (ev_tx, ev_rx) = unbounded::<&'static str>();
        let (ready_tx, ready_rx) = unbounded::<()>();
        let ev = ev_tx.clone();
        let connecting = strands::spawn(move || {
            ready_tx.send(()).unwrap();
            let s = TcpStream::connect(("localhost", port));
            ev.send("connected").unwrap();
            s.map(drop)
        });
        let other = strands::spawn(move || {
            ready_rx.recv().unwrap(); // the connecting strand is on its way
            ev_tx.send("other strand ran").unwrap();
            gate_tx.send(()).unwrap();
        });
        let order = [ev_rx.recv().unwrap(), ev_rx.recv().unwrap()];
        connecting.join().unwrap().unwrap();
        other.join().unwrap();
        assert!(gate.join().unwrap());
        order
    });
    assert_eq!(order, ["other strand ran", "connected"]);
}

#[test]
fn resolve_on_a_plain_thread_and_in_a_strand() {
    let want: SocketAddr = "127.0.0.1:9".parse().unwrap();
    assert_eq!(strands::net::resolve("127.0.0.1:9").unwrap(), [want]);
    assert!(strands::net::resolve(("localhost", 9))
        .unwrap()
        .iter()
        .all(|a| a.ip().is_loopback() && a.port() == 9));
    let rt = common::rt(1);
    rt.block_on(|| {
        assert!(strands::net::resolve("localhost:9")
            .unwrap()
            .iter()
            .all(|a| a.ip().is_loopback()));
        assert!(strands::net::resolve("no port here").is_err());
        assert!(strands::net::resolve(("localhost", 9)).is_ok());
    });
}

/// The wait for a lookup is a cancellation point: the job owns its copy of
/// the name, so the strand may leave while the lookup is still queued.
#[test]
fn a_strand_waiting_for_a_lookup_can_be_cancelled() {
    let rt = common::rt_with(1, |b| b.max_blocking_threads(1).blocking_keep_alive(KEEP));
    rt.block_on(|| {
        let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
        let gate = strands::spawn_blocking(move || gate_rx.recv().is_ok());
        let (ready_tx, ready_rx) = unbounded::<()>();
        let h = strands::spawn(move || {
            ready_tx.send(()).unwrap();
            // queued behind the gated job: parks until cancelled
            let _ = TcpStream::connect("localhost:9");
            unreachable!("the connect returned while its lookup was queued");
        });
        ready_rx.recv().unwrap(); // it runs; it parks at its next blocking point
        h.cancel();
        assert!(h.join().unwrap_err().is_cancelled());
        gate_tx.send(()).unwrap(); // now the orphaned lookup runs, its answer dropped
        assert!(gate.join().unwrap());
    });
}
