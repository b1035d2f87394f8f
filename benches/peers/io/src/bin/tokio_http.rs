//! A tokio HTTP/1.1 keep-alive hello server: `--port N --workers N`.
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
