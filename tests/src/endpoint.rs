//! Loopback endpoints that fail the way networks do, for the deadline tests: one that accepts
//! connections and never answers (a blackholed VPC endpoint, a proxy that hangs), and a
//! keep-alive Secrets Manager stand-in whose connections go silent after a while (half-open
//! connections behind a NAT) while new ones are answered.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// A loopback endpoint served by a task of the current runtime; stopped when dropped.
#[derive(Debug)]
pub struct Endpoint {
    addr: SocketAddr,
    started: Instant,
    rotate_every: Duration,
    requests: Arc<AtomicU64>,
    connections: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

/// How a connection behaves.
#[derive(Debug, Clone, Copy)]
struct Behaviour {
    /// Answers requests on a connection for this long after accepting it, then reads and never
    /// answers (`ZERO`: never answers at all).
    answers_for: Duration,
    rotate_every: Duration,
}

impl Endpoint {
    /// Accepts every connection, reads what is sent, and never answers.
    pub async fn silent() -> Self {
        Self::start(Behaviour {
            answers_for: Duration::ZERO,
            rotate_every: Duration::MAX,
        })
        .await
    }

    /// A Secrets Manager stand-in (`GetSecretValue`, `DescribeSecret`, any secret id) over
    /// HTTP/1.1 keep-alive. Every secret rotates every `rotate_every`: version `v{n}` holds
    /// `{"password":"p{n}"}`, `n` counting periods since the start. Each connection answers for
    /// `answers_for` after it is accepted, then goes silent; new connections are answered.
    pub async fn going_silent(answers_for: Duration, rotate_every: Duration) -> Self {
        Self::start(Behaviour {
            answers_for,
            rotate_every,
        })
        .await
    }

    async fn start(behaviour: Behaviour) -> Self {
        let (listener, addr) = crate::loopback_listener().await;
        let started = Instant::now();
        let requests = Arc::new(AtomicU64::new(0));
        let connections = Arc::new(AtomicU64::new(0));
        let (r, c) = (Arc::clone(&requests), Arc::clone(&connections));
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                c.fetch_add(1, Relaxed);
                tokio::spawn(serve(stream, behaviour, started, Arc::clone(&r)));
            }
        });
        Self {
            addr,
            started,
            rotate_every: behaviour.rotate_every,
            requests,
            connections,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests received (answered or not).
    pub fn requests(&self) -> u64 {
        self.requests.load(Relaxed)
    }

    /// Connections accepted.
    pub fn connections(&self) -> u64 {
        self.connections.load(Relaxed)
    }

    /// The version number current at `at`.
    pub fn version_at(&self, at: Instant) -> u64 {
        version(self.started, self.rotate_every, at)
    }

    /// When version `n` became current.
    pub fn rotated_at(&self, n: u64) -> Instant {
        self.started + self.rotate_every * u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// A client the way a new user builds one: `aws_config::defaults`, pointed here, with test
    /// credentials and nothing else set (no operation or read timeout).
    pub async fn client(&self) -> Client {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(self.url())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .load()
            .await;
        Client::new(&config)
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn version(started: Instant, every: Duration, at: Instant) -> u64 {
    let elapsed = at.saturating_duration_since(started).as_nanos();
    u64::try_from(elapsed / every.as_nanos().max(1)).unwrap_or(u64::MAX)
}

/// Serves one connection: answers each request while the connection is young, then reads on
/// and never answers.
async fn serve(
    mut stream: TcpStream,
    behaviour: Behaviour,
    started: Instant,
    requests: Arc<AtomicU64>,
) {
    let accepted = Instant::now();
    let mut buffer = Vec::new();
    loop {
        let Some((target, body)) = read_request(&mut stream, &mut buffer).await else {
            return;
        };
        requests.fetch_add(1, Relaxed);
        if accepted.elapsed() >= behaviour.answers_for {
            // Silent: hold the connection open, read and drop whatever comes.
            let mut sink = [0u8; 4096];
            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
            return;
        }
        let n = version(started, behaviour.rotate_every, Instant::now());
        let response = answer(&target, &secret_id(&body), n);
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Reads one HTTP/1.1 request; returns its `X-Amz-Target` and body.
async fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<(String, String)> {
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let header = |name: &str| {
        head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let target = header("x-amz-target").unwrap_or_default();
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buffer[head_end..head_end + length]).into_owned();
    buffer.drain(..head_end + length);
    Some((target, body))
}

/// The `SecretId` of a JSON request body.
fn secret_id(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("SecretId")?.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The response to `target` about secret `id` at version `n`.
fn answer(target: &str, id: &str, n: u64) -> String {
    let arn = format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{id}-AbCdEf");
    let body = if target.ends_with("DescribeSecret") {
        serde_json::json!({
            "ARN": arn, "Name": id,
            "VersionIdsToStages": { format!("v{n}"): ["AWSCURRENT"] },
        })
    } else if target.ends_with("GetSecretValue") {
        serde_json::json!({
            "ARN": arn, "Name": id, "VersionId": format!("v{n}"),
            "VersionStages": ["AWSCURRENT"],
            "SecretString": format!(r#"{{"password":"p{n}"}}"#),
        })
    } else {
        let body = r#"{"__type":"UnknownOperationException"}"#;
        return format!(
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
    }
    .to_string();
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}
