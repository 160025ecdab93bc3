//! Loopback endpoints that fail the way networks do, for the deadline tests: one that accepts
//! connections and never answers (a blackholed VPC endpoint, a proxy that hangs), and a
//! keep-alive Secrets Manager stand-in whose connections go silent after a while (half-open
//! connections behind a NAT) while new ones are answered; and a stand-in that throttles every
//! request beyond a rate, as the account's quota does.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
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
    quota: Arc<Mutex<Quota>>,
    task: JoinHandle<()>,
}

/// The stand-in's quota: a token bucket of `rate` a second holding one second's worth (no
/// limit when `rate` is zero), and the requests of each second since the start.
#[derive(Debug)]
struct Quota {
    rate: u32,
    tokens: f64,
    at: Instant,
    per_second: Vec<u32>,
    throttled: u64,
}

impl Quota {
    /// Counts a request at `now`; whether the quota admits it.
    fn admit(&mut self, started: Instant, now: Instant) -> bool {
        let second = usize::try_from((now - started).as_secs()).unwrap_or(usize::MAX);
        if self.per_second.len() <= second {
            self.per_second.resize(second + 1, 0);
        }
        self.per_second[second] += 1;
        if self.rate == 0 {
            return true;
        }
        let rate = f64::from(self.rate);
        let refill = (now - self.at).as_secs_f64() * rate;
        self.tokens = (self.tokens + refill).min(rate);
        self.at = now;
        let admitted = self.tokens >= 1.0;
        if admitted {
            self.tokens -= 1.0;
        } else {
            self.throttled += 1;
        }
        admitted
    }
}

/// How a connection behaves.
#[derive(Debug, Clone, Copy)]
struct Behaviour {
    /// Answers requests on a connection for this long after accepting it, then reads and never
    /// answers (`ZERO`: never answers at all).
    answers_for: Duration,
    rotate_every: Duration,
    /// Requests a second beyond which the answer is `ThrottlingException` (0: no limit).
    limit: u32,
}

impl Endpoint {
    /// Accepts every connection, reads what is sent, and never answers.
    pub async fn silent() -> Self {
        Self::start(Behaviour {
            answers_for: Duration::ZERO,
            rotate_every: Duration::MAX,
            limit: 0,
        })
        .await
    }

    /// The Secrets Manager stand-in of [`going_silent`](Self::going_silent), answering for
    /// ever, that throttles every request beyond `limit` a second (a token bucket holding one
    /// second's worth, shared by every connection): HTTP 400 `ThrottlingException`.
    pub async fn throttling(limit: u32) -> Self {
        Self::start(Behaviour {
            answers_for: Duration::MAX,
            rotate_every: Duration::MAX,
            limit,
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
            limit: 0,
        })
        .await
    }

    async fn start(behaviour: Behaviour) -> Self {
        let (listener, addr) = crate::loopback_listener().await;
        let started = Instant::now();
        let requests = Arc::new(AtomicU64::new(0));
        let connections = Arc::new(AtomicU64::new(0));
        let quota = Arc::new(Mutex::new(Quota {
            rate: behaviour.limit,
            tokens: f64::from(behaviour.limit),
            at: started,
            per_second: Vec::new(),
            throttled: 0,
        }));
        let (r, c, q) = (
            Arc::clone(&requests),
            Arc::clone(&connections),
            Arc::clone(&quota),
        );
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                c.fetch_add(1, Relaxed);
                let counted = Counted {
                    started,
                    requests: Arc::clone(&r),
                    quota: Arc::clone(&q),
                };
                tokio::spawn(serve(stream, behaviour, counted));
            }
        });
        Self {
            addr,
            started,
            rotate_every: behaviour.rotate_every,
            requests,
            connections,
            quota,
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

    /// Requests that arrived in each second since the start (throttled or not).
    pub fn requests_per_second(&self) -> Vec<u32> {
        self.quota().per_second.clone()
    }

    /// Requests answered with `ThrottlingException`.
    pub fn throttled(&self) -> u64 {
        self.quota().throttled
    }

    fn quota(&self) -> std::sync::MutexGuard<'_, Quota> {
        self.quota.lock().unwrap_or_else(PoisonError::into_inner)
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

/// What a connection counts its requests in.
struct Counted {
    started: Instant,
    requests: Arc<AtomicU64>,
    quota: Arc<Mutex<Quota>>,
}

/// Serves one connection: answers each request while the connection is young (throttling
/// those beyond the quota), then reads on and never answers.
async fn serve(mut stream: TcpStream, behaviour: Behaviour, counted: Counted) {
    let accepted = Instant::now();
    let mut buffer = Vec::new();
    loop {
        let Some((target, body)) = read_request(&mut stream, &mut buffer).await else {
            return;
        };
        counted.requests.fetch_add(1, Relaxed);
        if accepted.elapsed() >= behaviour.answers_for {
            // Silent: hold the connection open, read and drop whatever comes.
            let mut sink = [0u8; 4096];
            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
            return;
        }
        let admitted = counted
            .quota
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .admit(counted.started, Instant::now());
        let response = if admitted {
            let n = version(counted.started, behaviour.rotate_every, Instant::now());
            answer(&target, &secret_id(&body), n)
        } else {
            error_response(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#)
        };
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// An HTTP 400 answer with the JSON error `body`.
fn error_response(body: &str) -> String {
    format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Reads one HTTP/1.1 request; returns its `X-Amz-Target` and body.
async fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<(String, String)> {
    let request = crate::http::read_request(stream, buffer).await?;
    Some((
        request.header("x-amz-target").unwrap_or_default(),
        request.body(),
    ))
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
        return error_response(r#"{"__type":"UnknownOperationException"}"#);
    }
    .to_string();
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}
