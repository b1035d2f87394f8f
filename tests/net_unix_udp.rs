//! UDP and Unix domain sockets through the I/O driver.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};
use strands::net::UdpSocket;
use strands::os::unix::net::{UnixDatagram, UnixListener, UnixStream};

fn rt() -> strands::Runtime {
    common::rt(2)
}

fn temp_path(name: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("strands-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

#[test]
fn udp_round_trips_and_a_receive_timeout() {
    rt().block_on(|| {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        b.connect(a.local_addr().unwrap()).unwrap();
        let echo = strands::spawn(move || {
            let mut buf = [0u8; 64];
            for _ in 0..100 {
                let (n, from) = a.recv_from(&mut buf).unwrap();
                a.send_to(&buf[..n], from).unwrap();
            }
            a
        });
        for i in 0..100u32 {
            b.send(&i.to_le_bytes()).unwrap();
            let mut got = [0u8; 4];
            assert_eq!(b.recv(&mut got).unwrap(), 4);
            assert_eq!(u32::from_le_bytes(got), i);
        }
        let _a = echo.join().unwrap();
        let t = Duration::from_millis(30);
        b.set_read_timeout(Some(t)).unwrap();
        let start = Instant::now();
        assert_eq!(
            b.recv(&mut [0u8; 4]).unwrap_err().kind(),
            ErrorKind::TimedOut
        );
        assert!(start.elapsed() >= t);
    });
}

#[test]
fn unix_stream_server_and_clients() {
    let path = temp_path("stream.sock");
    rt().block_on(|| {
        let listener = UnixListener::bind(&path).unwrap();
        let server = strands::spawn(move || {
            let mut served = 0;
            for s in listener.incoming().take(20) {
                let mut s = s.unwrap();
                strands::spawn(move || {
                    let mut buf = Vec::new();
                    s.read_to_end(&mut buf).unwrap();
                    s.write_all(&buf).unwrap();
                });
                served += 1;
            }
            served
        });
        let clients: Vec<_> = (0..20)
            .map(|i| {
                let path = path.clone();
                strands::spawn(move || {
                    let mut c = UnixStream::connect(&path).unwrap();
                    let msg = format!("client {i}").repeat(1000);
                    c.write_all(msg.as_bytes()).unwrap();
                    c.shutdown(std::net::Shutdown::Write).unwrap();
                    let mut back = String::new();
                    c.read_to_string(&mut back).unwrap();
                    assert_eq!(back, msg);
                })
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
        assert_eq!(server.join().unwrap(), 20);
    });
    let _ = std::fs::remove_file(&path);
}

#[test]
fn unix_pair_timeout_and_datagrams() {
    rt().block_on(|| {
        let (a, mut b) = UnixStream::pair().unwrap();
        b.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        assert_eq!(
            b.read(&mut [0u8; 1]).unwrap_err().kind(),
            ErrorKind::TimedOut
        );
        (&a).write_all(b"x").unwrap();
        assert_eq!(b.read(&mut [0u8; 1]).unwrap(), 1);

        let (x, y) = UnixDatagram::pair().unwrap();
        let h = strands::spawn(move || {
            let mut buf = [0u8; 16];
            let n = y.recv(&mut buf).unwrap();
            buf[..n].to_vec()
        });
        x.send(b"dgram").unwrap();
        assert_eq!(h.join().unwrap(), b"dgram");
    });
}
