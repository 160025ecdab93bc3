//! A loopback TCP proxy in front of a Secrets Manager endpoint that counts the API requests
//! passing through it, by action (`X-Amz-Target`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// Requests seen, by action.
type Counts = Arc<Mutex<HashMap<String, u64>>>;

/// A counting proxy served by a task of the current runtime; stopped when dropped.
#[derive(Debug)]
pub struct CountingProxy {
    addr: SocketAddr,
    counts: Counts,
    task: JoinHandle<()>,
}

impl CountingProxy {
    /// Proxies a free loopback port to `upstream` (`host:port`).
    pub async fn start(upstream: SocketAddr) -> Self {
        let (listener, addr) = crate::loopback_listener().await;
        let counts = Counts::default();
        let seen = Arc::clone(&counts);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        relay(client, server, seen).await;
                    }
                });
            }
        });
        Self { addr, counts, task }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests of `action` (e.g. `GetSecretValue`) seen so far.
    pub fn count(&self, action: &str) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.get(action).copied().unwrap_or(0)
    }

    /// Requests seen so far, every action.
    pub fn total(&self) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.values().sum()
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies both ways, counting the `X-Amz-Target` headers going upstream.
async fn relay(client: TcpStream, server: TcpStream, seen: Counts) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream = async move {
        let mut buffer = [0u8; 16 * 1024];
        let mut tail = String::new();
        loop {
            let n = match client_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            // Only whole lines are counted; the unterminated rest is carried to the next read.
            let text = format!("{tail}{}", String::from_utf8_lossy(&buffer[..n]));
            let (complete, rest) = text.rsplit_once("\r\n").unwrap_or(("", &text));
            count_targets(complete, &seen);
            tail = rest
                .chars()
                .rev()
                .take(256)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            if server_write.write_all(&buffer[..n]).await.is_err() {
                break;
            }
        }
    };
    let downstream = async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    };
    tokio::join!(upstream, downstream);
}

/// Counts complete `X-Amz-Target: secretsmanager.<Action>` lines in `text`.
fn count_targets(text: &str, seen: &Counts) {
    for line in text.split("\r\n").filter(|l| l.len() < 200) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if !name.eq_ignore_ascii_case("x-amz-target") {
            continue;
        }
        if let Some(action) = value.trim().strip_prefix("secretsmanager.") {
            let mut counts = seen.lock().unwrap_or_else(PoisonError::into_inner);
            *counts.entry(action.to_owned()).or_default() += 1;
        }
    }
}
