//! A simulated AWS Secrets Manager Agent, one per node: the agent's HTTP API and its cache,
//! calling the simulated service through its own `aws-sdk-secretsmanager` client, so that the
//! quotas count its calls. Pods reach it through the real `AgentSource`, whose requests are
//! handed over in memory ([`asm_runtime::AgentTransport`]) instead of over loopback TCP.
//!
//! Modelled on the agent's source: crates `aws_secretsmanager_agent` and
//! `aws_secretsmanager_caching` 2.1.0 (what `scripts/test.sh` installs; paths below are the repository's),
//! the same in these respects as github.com/aws/aws-secretsmanager-agent at `4b1852d`:
//! - **HTTP** (`aws_secretsmanager_agent/src/server.rs`): the connection limit is checked first
//!   (`max_conn`, default 800: HTTP 429 "Connection limit exceeded"), then the token (a request
//!   with `X-Forwarded-For` is refused with 400 "Forwarded"; the token is looked for in
//!   `X-Aws-Parameters-Secrets-Token` and `X-Vault-Token`, else 403 "Bad Token"), then the
//!   method (GET, else 405). `/ping` answers "healthy"; `/secretsmanager/get?secretId=…` and
//!   the path style `/v1/{secretId}` answer; anything else is 404. Query parameters
//!   (`aws_secretsmanager_agent/src/parse.rs`): `secretId`, `versionId`, `versionStage`, `refreshNow` (`true`/`1`/`false`/
//!   `0`), `roleArn`; any other is 400 "unknown parameter: …". A connection is served for at
//!   most 61 s (`MAX_REQ_TIME_SEC`, `…agent/src/constants.rs`), then dropped.
//! - **Answers** (`aws_secretsmanager_agent/src/cache_manager.rs`, `aws_secretsmanager_caching/src/output.rs`):
//!   `GetSecretValue`'s JSON (`ARN`, `Name`, `VersionId`, `SecretString`, `VersionStages`,
//!   `CreatedDate`); a service error is passed on with the service's status, code and message
//!   (`{"__type": code, "message": …}`); an SDK timeout is 504 `TimeoutError`, a connection
//!   failure 502 `ConnectionError`, anything else 500 `InternalFailure`.
//! - **Cache** (`aws_secretsmanager_caching/src/lib.rs`, `secret_store/memory_store/`): one
//!   entry per (secret id, version id, version stage) as asked, at most `cache_size` (1,000)
//!   entries, the least recently written evicted; an entry is fresh for `ttl_seconds` (300 s)
//!   after it was written. **Concurrent misses are not coalesced**: the store's lock is
//!   released before the call, so every request that misses calls `GetSecretValue` itself. An
//!   expired entry is checked with `DescribeSecret` first (by its ARN): if the cached version
//!   still has the stage asked for (`AWSCURRENT` when none), it is written back (fresh again)
//!   and served; otherwise `GetSecretValue`. `refreshNow=true` skips the cache and calls
//!   `GetSecretValue`. With `ignore_transient_errors` (default on), a timeout, connection
//!   error or 5xx while refreshing an expired entry serves the cached value (and writes it
//!   back); a transient `DescribeSecret` failure counts as "still current".
//! - **Its SDK client** (`aws_secretsmanager_agent/src/utils.rs`, `validate_and_create_asm_client`):
//!   `aws_config::load_defaults(BehaviorVersion::latest())` with no retry or timeout override:
//!   standard retries, 3 attempts, throttling retried.
//!
//! Not modelled: the connection count is of requests in flight (the agent counts open
//! connections, which a client's pool keeps open between requests); credentials, STS
//! validation at start-up, logging; roles (`roleArn` is accepted and read with the agent's own
//! client: 2.1 keeps a caching client per role, up to `max_roles`, and the fleet uses none);
//! prefetching (2.1, `…agent/src/prefetch.rs`: `BatchGetSecretValue` of configured ids or tags at
//! start-up, off by default).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use asm_runtime::AgentTransport;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use http_body_util::{Empty, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Map, Value};
use tokio::time::Instant;

/// The token every pod of the fleet and every agent share (the agent reads it from
/// `AWS_TOKEN`; pods are given it).
pub const TOKEN: &str = "fleet-agent-token";

/// The agent's settings, with its defaults (`aws_secretsmanager_agent/src/config.rs`).
#[derive(Debug, Clone, Copy)]
pub struct AgentSettings {
    /// `ttl_seconds`: how long an entry is served without asking the service.
    pub ttl: Duration,
    /// `cache_size`: the most entries held.
    pub cache_size: usize,
    /// `max_conn`: the most connections served at once.
    pub max_conn: usize,
    /// `ignore_transient_errors`: serve an expired entry when its refresh fails transiently.
    pub ignore_transient_errors: bool,
    /// A request's round trip between a pod and the agent (loopback).
    pub loopback: Duration,
}

impl Default for AgentSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            cache_size: 1000,
            max_conn: 800,
            ignore_transient_errors: true,
            loopback: Duration::from_millis(1),
        }
    }
}

/// The longest a connection is served (`MAX_REQ_TIME_SEC`).
const MAX_REQUEST_TIME: Duration = Duration::from_secs(61);
/// The headers the token is looked for in.
const TOKEN_HEADERS: [&str; 2] = ["X-Aws-Parameters-Secrets-Token", "X-Vault-Token"];
/// The path style's prefix (`path_prefix`).
const PATH_PREFIX: &str = "/v1/";

/// What every agent of a run has answered, for the report.
#[derive(Debug, Default)]
pub struct AgentMeter {
    /// Requests answered (pings included).
    pub requests: AtomicU64,
    /// Of those, answered from the agent's cache without a call.
    pub hits: AtomicU64,
}

/// One node's agent: its cache and its own SDK client. Cheap to clone (one `Arc`).
#[derive(Clone, Debug)]
pub struct NodeAgent {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: aws_sdk_secretsmanager::Client,
    settings: AgentSettings,
    store: Mutex<Store>,
    /// Requests being served.
    in_flight: AtomicUsize,
    meter: Arc<AgentMeter>,
}

/// The cache's key: a request's secret id, version id and stage, as asked.
type Key = (String, Option<String>, Option<String>);

/// The agent's memory store: entries by key, evicted least recently written first.
#[derive(Debug, Default)]
struct Store {
    entries: HashMap<Key, Entry>,
    /// Writes so far: each entry remembers its own, to find the least recent.
    writes: u64,
}

#[derive(Debug, Clone)]
struct Entry {
    answer: Arc<Answer>,
    written_at: Instant,
    write: u64,
}

/// A `GetSecretValue` answer as the agent keeps it, and its JSON.
#[derive(Debug)]
struct Answer {
    arn: Option<String>,
    version_id: Option<String>,
    json: Bytes,
}

/// An answer the agent gives instead of a value: status and body.
type Refusal = (StatusCode, String);

/// What a lookup found.
enum Lookup {
    Fresh(Arc<Answer>),
    Expired(Arc<Answer>),
    Missing,
}

impl Store {
    fn lookup(&self, key: &Key, ttl: Duration) -> Lookup {
        match self.entries.get(key) {
            Some(e) if e.written_at.elapsed() > ttl => Lookup::Expired(Arc::clone(&e.answer)),
            Some(e) => Lookup::Fresh(Arc::clone(&e.answer)),
            None => Lookup::Missing,
        }
    }

    fn write(&mut self, key: Key, answer: Arc<Answer>, cache_size: usize) {
        self.writes += 1;
        let entry = Entry {
            answer,
            written_at: Instant::now(),
            write: self.writes,
        };
        self.entries.insert(key, entry);
        if self.entries.len() > cache_size {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.write)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
    }
}

impl NodeAgent {
    /// An agent calling the service through `client` (its own: its own retry partition, as
    /// in its own process), counting what it answers in `meter`.
    pub fn new(
        client: aws_sdk_secretsmanager::Client,
        settings: AgentSettings,
        meter: Arc<AgentMeter>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                settings,
                store: Mutex::new(Store::default()),
                in_flight: AtomicUsize::new(0),
                meter,
            }),
        }
    }

    /// Answers one HTTP request as the agent does (without the loopback latency).
    pub async fn answer(&self, request: &Request<Empty<Bytes>>) -> Response<Full<Bytes>> {
        let inner = &self.inner;
        inner.meter.requests.fetch_add(1, Relaxed);
        let serving = inner.in_flight.fetch_add(1, Relaxed) + 1;
        let _done = InFlight(&inner.in_flight);
        let (status, body) = match self.result(request, serving).await {
            Ok(body) => (StatusCode::OK, body),
            Err((status, message)) => (status, Bytes::from(message)),
        };
        let mut response = Response::new(Full::new(body));
        *response.status_mut() = status;
        response
    }

    async fn result(
        &self,
        request: &Request<Empty<Bytes>>,
        serving: usize,
    ) -> Result<Bytes, Refusal> {
        let path = request.uri().path();
        let ping = path == "/ping";
        // At most `max_conn` connections, this one included; two more for health checks.
        let limit = self.inner.settings.max_conn + if ping { 2 } else { 0 };
        if serving > limit {
            return Err(refusal(429, "Connection limit exceeded"));
        }
        if !ping {
            check_token(request)?;
        }
        if request.method() != Method::GET {
            return Err(refusal(405, "Not allowed"));
        }
        let query = match path {
            "/ping" => return Ok(Bytes::from_static(b"healthy")),
            "/secretsmanager/get" => Query::from_query(request.uri().query().unwrap_or(""))?,
            path if path.starts_with(PATH_PREFIX) => Query::from_path(
                &path[PATH_PREFIX.len()..],
                request.uri().query().unwrap_or(""),
            )?,
            _ => return Err(refusal(404, "Not found")),
        };
        self.fetch(&query).await.map(|answer| answer.json.clone())
    }

    /// The caching client's `get_secret_value`.
    async fn fetch(&self, query: &Query) -> Result<Arc<Answer>, Refusal> {
        let key = query.key();
        if query.refresh_now {
            return self.refresh(query, key, None).await;
        }
        let found = lock(&self.inner.store).lookup(&key, self.inner.settings.ttl);
        match found {
            Lookup::Fresh(answer) => {
                self.inner.meter.hits.fetch_add(1, Relaxed);
                Ok(answer)
            }
            Lookup::Expired(cached) => self.refresh(query, key, Some(cached)).await,
            Lookup::Missing => self.refresh(query, key, None).await,
        }
    }

    /// The caching client's `refresh_secret_value`: keep an expired entry that is still
    /// current, or call `GetSecretValue`.
    async fn refresh(
        &self,
        query: &Query,
        key: Key,
        cached: Option<Arc<Answer>>,
    ) -> Result<Arc<Answer>, Refusal> {
        let inner = &self.inner;
        if let Some(cached) = &cached
            && self.is_current(query, cached).await?
        {
            self.write(key, Arc::clone(cached));
            return Ok(Arc::clone(cached));
        }
        let called = inner
            .client
            .get_secret_value()
            .secret_id(&query.secret_id)
            .set_version_id(query.version_id.clone())
            .set_version_stage(query.version_stage.clone())
            .send()
            .await;
        let answer = match (called, cached) {
            (Ok(output), _) => Arc::new(Answer::of(&output)),
            (Err(e), Some(cached))
                if inner.settings.ignore_transient_errors && is_transient(&e) =>
            {
                cached
            }
            (Err(e), _) => return Err(service_refusal(&e)),
        };
        self.write(key, Arc::clone(&answer));
        Ok(answer)
    }

    /// The caching client's `is_current`: whether `cached`'s version still has the stage
    /// asked for, by `DescribeSecret`.
    async fn is_current(&self, query: &Query, cached: &Answer) -> Result<bool, Refusal> {
        let described = self
            .inner
            .client
            .describe_secret()
            .set_secret_id(cached.arn.clone())
            .send()
            .await;
        let described = match described {
            Ok(d) => d,
            Err(e) if self.inner.settings.ignore_transient_errors && is_transient(&e) => {
                return Ok(true);
            }
            Err(e) => return Err(service_refusal(&e)),
        };
        let Some(stages) = described.version_ids_to_stages() else {
            return Ok(false);
        };
        if let (Some(id), None) = (&query.version_id, &query.version_stage) {
            return Ok(stages.contains_key(id));
        }
        let Some(id) = query.version_id.as_ref().or(cached.version_id.as_ref()) else {
            return Err(internal_failure());
        };
        let stage = query.version_stage.as_deref().unwrap_or("AWSCURRENT");
        Ok(stages.get(id).is_some_and(|s| s.iter().any(|s| s == stage)))
    }

    fn write(&self, key: Key, answer: Arc<Answer>) {
        let size = self.inner.settings.cache_size;
        lock(&self.inner.store).write(key, answer, size);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Counts a request out of `in_flight` when it is answered or abandoned.
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

impl AgentTransport for NodeAgent {
    /// Half the loopback round trip on the way in, the agent's answer, half on the way out; a
    /// request not answered within 61 s has its connection dropped.
    fn send(
        &self,
        request: Request<Empty<Bytes>>,
    ) -> BoxFuture<'static, std::io::Result<Response<Full<Bytes>>>> {
        let agent = self.clone();
        async move {
            let half = agent.inner.settings.loopback / 2;
            tokio::time::sleep(half).await;
            let answered = tokio::time::timeout(MAX_REQUEST_TIME, agent.answer(&request)).await;
            let response = answered.map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection closed")
            })?;
            tokio::time::sleep(half).await;
            Ok(response)
        }
        .boxed()
    }
}

impl Answer {
    /// `GetSecretValueOutputDef` of the agent, serialised as the agent serialises it.
    fn of(output: &GetSecretValueOutput) -> Self {
        let text = |v: Option<&str>| v.map_or(Value::Null, |s| Value::String(s.to_owned()));
        let mut json = Map::new();
        json.insert("ARN".into(), text(output.arn()));
        json.insert("Name".into(), text(output.name()));
        json.insert("VersionId".into(), text(output.version_id()));
        if let Some(s) = output.secret_string() {
            json.insert("SecretString".into(), Value::String(s.to_owned()));
        }
        if let Some(b) = output.secret_binary() {
            let encoded = aws_smithy_types::base64::encode(b.as_ref());
            json.insert("SecretBinary".into(), Value::String(encoded));
        }
        if !output.version_stages().is_empty() {
            let stages = output.version_stages().iter().cloned().map(Value::String);
            json.insert("VersionStages".into(), Value::Array(stages.collect()));
        }
        let created = output.created_date().map_or(Value::Null, |d| {
            Value::String((d.as_secs_f64()).to_string())
        });
        json.insert("CreatedDate".into(), created);
        Self {
            arn: output.arn().map(str::to_owned),
            version_id: output.version_id().map(str::to_owned),
            json: Bytes::from(Value::Object(json).to_string()),
        }
    }
}

/// A request's parameters (`src/parse.rs`).
#[derive(Debug, PartialEq)]
struct Query {
    secret_id: String,
    version_id: Option<String>,
    version_stage: Option<String>,
    refresh_now: bool,
}

impl Query {
    /// `/secretsmanager/get?…`.
    fn from_query(query: &str) -> Result<Self, Refusal> {
        let parsed = Self::parse(String::new(), query, true)?;
        if parsed.secret_id.is_empty() {
            return Err(refusal(400, "missing parameter secretId"));
        }
        Ok(parsed)
    }

    /// `/v1/{secretId}?…`.
    fn from_path(id: &str, query: &str) -> Result<Self, Refusal> {
        if id.is_empty() {
            return Err(refusal(400, "missing secret ID"));
        }
        Self::parse(id.to_owned(), query, false)
    }

    fn parse(secret_id: String, query: &str, id_in_query: bool) -> Result<Self, Refusal> {
        let mut parsed = Self {
            secret_id,
            version_id: None,
            version_stage: None,
            refresh_now: false,
        };
        for (name, value) in query.split('&').filter(|p| !p.is_empty()).map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(name), form_decode(value))
        }) {
            match name.as_str() {
                "secretId" if id_in_query => parsed.secret_id = value,
                "versionId" => parsed.version_id = Some(value),
                "versionStage" => parsed.version_stage = Some(value),
                // The role's own caching client is not modelled (see the module's docs).
                "roleArn" => {}
                "refreshNow" => {
                    parsed.refresh_now = match value.to_lowercase().as_str() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => return Err(refusal(400, "invalid refreshNow value")),
                    }
                }
                other => {
                    return Err((
                        StatusCode::BAD_REQUEST,
                        format!("unknown parameter: {other}"),
                    ));
                }
            }
        }
        Ok(parsed)
    }

    fn key(&self) -> Key {
        (
            self.secret_id.clone(),
            self.version_id.clone(),
            self.version_stage.clone(),
        )
    }
}

/// `application/x-www-form-urlencoded` decoding, as `url`'s `query_pairs` does it: `+` is a
/// space, `%XX` a byte, invalid UTF-8 replaced.
fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn check_token(request: &Request<Empty<Bytes>>) -> Result<(), Refusal> {
    let headers = request.headers();
    if headers.contains_key("X-Forwarded-For") {
        return Err(refusal(400, "Forwarded"));
    }
    let sent = TOKEN_HEADERS.iter().any(|h| {
        headers
            .get(*h)
            .is_some_and(|v| v.as_bytes() == TOKEN.as_bytes())
    });
    if sent {
        Ok(())
    } else {
        Err(refusal(403, "Bad Token"))
    }
}

fn refusal(status: u16, message: &str) -> Refusal {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, message.to_owned())
}

/// The agent's error body (`err_response`): the code and message, or bare `InternalFailure`.
fn error_body(code: &str, message: &str) -> String {
    if message.is_empty() || code == "InternalFailure" {
        return r#"{"__type":"InternalFailure"}"#.to_owned();
    }
    serde_json::json!({ "__type": code, "message": message }).to_string()
}

fn internal_failure() -> Refusal {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        error_body("InternalFailure", ""),
    )
}

/// What the agent answers for a failed call (`svc_err`).
fn service_refusal<E>(e: &SdkError<E, HttpResponse>) -> Refusal
where
    E: ProvideErrorMetadata,
{
    match e {
        SdkError::ServiceError(service) => {
            let meta = service.err().meta();
            let status = StatusCode::from_u16(service.raw().status().as_u16());
            match (meta.code(), meta.message(), status) {
                (Some(code), Some(message), Ok(status)) => (status, error_body(code, message)),
                _ => internal_failure(),
            }
        }
        SdkError::TimeoutError(_) => timeout_refusal(),
        SdkError::DispatchFailure(d) if d.is_timeout() => timeout_refusal(),
        SdkError::DispatchFailure(d) if d.is_io() => (
            StatusCode::BAD_GATEWAY,
            error_body("ConnectionError", "Read Error"),
        ),
        SdkError::ResponseError(_) => (
            StatusCode::BAD_GATEWAY,
            error_body("ConnectionError", "Response Error"),
        ),
        _ => internal_failure(),
    }
}

fn timeout_refusal() -> Refusal {
    (
        StatusCode::GATEWAY_TIMEOUT,
        error_body("TimeoutError", "Timeout"),
    )
}

/// `is_transient_error`: timeouts, unreadable answers, dispatch timeouts and I/O errors, 5xx.
fn is_transient<E>(e: &SdkError<E, HttpResponse>) -> bool {
    match e {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        SdkError::DispatchFailure(d) => d.is_timeout() || d.is_io(),
        SdkError::ServiceError(s) => s.raw().status().is_server_error(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use asm_runtime::{AgentSource, Error, ExposeSecret, SecretCache, SecretString};

    use super::*;
    use crate::pod::node_agent;
    use crate::quota::{Action, ParameterQuota, QuotaModel};
    use crate::service::{Latency, Service};

    fn pod(agent: &NodeAgent, token: &str) -> SecretCache {
        let source = AgentSource::new()
            .token(SecretString::from(token))
            .in_memory(Arc::new(agent.clone()));
        SecretCache::new(source)
    }

    fn calls(service: &Service, action: Action) -> u64 {
        service.with_quotas(|q| q.seconds(action).iter().map(|s| u64::from(s.offered)).sum())
    }

    /// Through `AgentSource`: a value, from the agent's cache the second time; a wrong token
    /// refused (403), the service's errors passed on with their status; after the TTL, a
    /// version check instead of a fetch; `refresh_now` bypasses the agent's cache.
    #[tokio::test(start_paused = true)]
    async fn pods_read_through_the_agent_as_through_the_real_one() {
        let service = Service::new(
            3,
            QuotaModel::Current,
            ParameterQuota::Standard,
            Latency::IN_REGION,
            3,
        );
        let meter = Arc::new(AgentMeter::default());
        let agent = node_agent(&service, Arc::clone(&meter));
        let value = pod(&agent, TOKEN).get("fleet/s1").await.expect("a value");
        let text = value.string().expect("a string");
        assert_eq!(text.expose_secret(), Service::value(1, 1));
        assert_eq!((value.version_id(), value.name()), ("v1", "fleet/s1"));
        pod(&agent, TOKEN).get("fleet/s1").await.expect("cached");
        let gets = || calls(&service, Action::Get);
        assert_eq!((gets(), meter.hits.load(Relaxed)), (1, 1));
        let refused = pod(&agent, "wrong")
            .get("fleet/s1")
            .await
            .expect_err("bad token");
        assert!(matches!(refused, Error::Config { .. }), "{refused:?}");
        let missing = pod(&agent, TOKEN)
            .get("fleet/s7")
            .await
            .expect_err("no such secret");
        assert!(matches!(missing, Error::NotFound { .. }), "{missing:?}");
        tokio::time::advance(Duration::from_secs(301)).await;
        pod(&agent, TOKEN)
            .get("fleet/s1")
            .await
            .expect("still current");
        let described = calls(&service, Action::Describe);
        // Two fetches so far: `fleet/s1` and the missing `fleet/s7`.
        assert_eq!(
            (described, gets()),
            (1, 2),
            "a version check, no second fetch"
        );
        let fresh = pod(&agent, TOKEN);
        fresh.get("fleet/s0").await.expect("a value");
        fresh.refresh_now("fleet/s0").await.expect("refreshed");
        assert_eq!(gets(), 4, "refreshNow calls the service");
        service.set_outage(true);
        let down = pod(&agent, TOKEN).get("fleet/s1").await;
        assert!(
            down.is_ok(),
            "an expired entry would be served; this one is fresh"
        );
        let cold = pod(&agent, TOKEN)
            .get("fleet/s2")
            .await
            .expect_err("outage");
        assert!(cold.is_transient(), "503 passed on: {cold:?}");
    }

    #[test]
    fn queries_parse_as_the_agent_parses_them() {
        let q = Query::from_query("secretId=fleet%2Fs1&versionStage=AWSCURRENT&refreshNow=1")
            .expect("valid");
        assert_eq!(q.secret_id, "fleet/s1");
        assert_eq!(q.version_stage.as_deref(), Some("AWSCURRENT"));
        assert!(q.refresh_now);
        let refused = |q: &str| Query::from_query(q).expect_err(q);
        assert_eq!(
            refused("versionStage=AWSCURRENT").1,
            "missing parameter secretId"
        );
        assert_eq!(
            refused("secretId=a&versionid=x").1,
            "unknown parameter: versionid"
        );
        assert_eq!(
            refused("secretId=a&refreshNow=yes").1,
            "invalid refreshNow value"
        );
        let path = Query::from_path("fleet/s2", "versionId=v1").expect("path style");
        assert_eq!(
            (path.secret_id.as_str(), path.version_id.as_deref()),
            ("fleet/s2", Some("v1"))
        );
        assert_eq!(form_decode("a+b%2Fc%zz%4"), "a b/c%zz%4");
    }
}
