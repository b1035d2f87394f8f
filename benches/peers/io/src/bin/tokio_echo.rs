//! A tokio echo server: `--port N --workers N` (1: current-thread runtime).
#[path = "../args.rs"]
mod args;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn main() {
    let (port, workers) = args::args();
    let rt = args::tokio_runtime(workers);
    rt.block_on(async {
        let l = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        args::announce(l.local_addr().unwrap().port());
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                continue;
            };
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
