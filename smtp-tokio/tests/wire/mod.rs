//! The socket tests' client: whole replies over any stream (plain TCP,
//! TLS), shared by `server.rs` and `server_proxy.rs`.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A line-oriented client over any stream.
pub struct Wire<T> {
    pub s: T,
    pub buf: Vec<u8>,
}

impl<T: AsyncRead + AsyncWrite + Unpin> Wire<T> {
    /// The next whole reply, or what was left at EOF.
    pub async fn reply(&mut self) -> String {
        loop {
            let mut start = 0;
            while let Some(i) = self.buf[start..].windows(2).position(|w| w == b"\r\n") {
                let end = start + i + 2;
                if self.buf.get(start + 3) != Some(&b'-') {
                    let r: Vec<u8> = self.buf.drain(..end).collect();
                    return String::from_utf8_lossy(&r).into_owned();
                }
                start = end;
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(Duration::from_secs(15), self.s.read(&mut chunk))
                .await
                .expect("reply within 15 s")
                .unwrap_or(0);
            if n == 0 {
                return String::from_utf8_lossy(&std::mem::take(&mut self.buf)).into_owned();
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).await.expect("write");
    }

    pub async fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }

    /// Reads to EOF (bounded) and returns what came.
    pub async fn rest(&mut self) -> String {
        let mut all = std::mem::take(&mut self.buf);
        let _ = tokio::time::timeout(Duration::from_secs(15), self.s.read_to_end(&mut all))
            .await
            .expect("closed within 15 s");
        String::from_utf8_lossy(&all).into_owned()
    }
}
