//! A tokio echo server: `--port N --workers N` (1: current-thread runtime).
#[path = "../args.rs"]
mod args;
use std::io::Write;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn main() {
    let (port, workers) = args::args();
    let rt = if workers == 1 {
        tokio::runtime::Builder::new_current_thread().enable_io().build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_io()
            .build()
    }
    .unwrap();
    rt.block_on(async {
        let l = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        println!("LISTENING {}", l.local_addr().unwrap().port());
        std::io::stdout().flush().unwrap();
        loop {
            let Ok((mut s, _)) = l.accept().await else { continue };
            let _ = s.set_nodelay(true);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if s.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
    });
}
