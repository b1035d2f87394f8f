//! A tokio HTTP/1.1 keep-alive hello server: `--port N --workers N`.
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
                let mut buf = vec![0u8; 8192];
                let mut out = Vec::with_capacity(4096);
                let mut filled = 0;
                loop {
                    match s.read(&mut buf[filled..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => filled += n,
                    }
                    let (n, used) = args::requests(&buf[..filled]);
                    for _ in 0..n {
                        out.extend_from_slice(args::RESPONSE);
                    }
                    if !out.is_empty() {
                        if s.write_all(&out).await.is_err() {
                            return;
                        }
                        out.clear();
                    }
                    buf.copy_within(used..filled, 0);
                    filled -= used;
                }
            });
        }
    });
}
