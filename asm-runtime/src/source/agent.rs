//! [`AgentSource`]: the AWS Secrets Manager Agent (EC2, ECS, EKS) or the AWS Parameters and
//! Secrets Lambda extension, a node-local cache answering `GET /secretsmanager/get` on
//! `localhost:2773` in `GetSecretValue`'s JSON shape.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::{Body, Bytes};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use zeroize::Zeroizing;

use super::{Backend, MAX_SECRET_BYTES, Parts, SecretSource, malformed, sealed};
use crate::error::{Operation, from_code, names_missing_value};
use crate::{Error, Secret, TransportKind, Version};

/// The variables the agent reads its token from, in its order. Each holds the token, or
/// `file://PATH` naming a file that does.
pub const TOKEN_VARIABLES: [&str; 3] = [
    "AWS_TOKEN",
    "AWS_SESSION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
];

/// The header the agent checks the token in.
const TOKEN_HEADER: &str = "X-Aws-Parameters-Secrets-Token";

/// The largest answer read: a 64 KiB secret, base64-encoded, with its metadata.
const MAX_BODY_BYTES: usize = 2 * MAX_SECRET_BYTES;

/// Reads secrets through the AWS Secrets Manager Agent or the Parameters and Secrets Lambda
/// extension, which cache them per node: with 20 pods on a node, the node makes one set of
/// calls instead of twenty.
///
/// The cache in front of it works as over the API (TTL, single flight, deadlines,
/// stale-if-error, live handles, typed errors), with two differences:
/// - **No version checks**: the agent answers only `GetSecretValue`, so a refresh fetches the
///   value (from the agent's cache) and compares version ids, and the rotation guardrail is
///   skipped. [`SecretCache::refresh_now`](crate::SecretCache::refresh_now) asks the agent to
///   bypass its cache (`refreshNow=true`).
/// - **TTLs stack**: a value can be the agent's TTL (`ttl_seconds`, default 300 s) plus this
///   cache's TTL old. Keep their sum below the rotation interval.
///
/// The agent (2.1) does not coalesce concurrent misses: pods of one node that start together
/// each send the service their own calls until the first answer is cached (FLEET.md measures
/// what that costs a fleet).
///
/// # Examples
/// ```no_run
/// # async fn f() -> Result<(), asm_runtime::Error> {
/// use asm_runtime::{AgentSource, SecretCache};
/// // http://localhost:2773, token from AWS_TOKEN, AWS_SESSION_TOKEN or
/// // AWS_CONTAINER_AUTHORIZATION_TOKEN (the agent's own order).
/// let cache = SecretCache::new(AgentSource::new());
/// let db = cache.get("prod/db").await?;
/// # let _ = db;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AgentSource {
    endpoint: Arc<str>,
    token: Token,
    /// The role the agent reads as (its `roleArn` parameter), for a cache's view of a role.
    role: Option<Arc<str>>,
    /// Where requests go instead of a TCP connection to `endpoint` (a simulator's agent).
    #[cfg(feature = "testing")]
    transport: Option<Arc<dyn AgentTransport>>,
}

/// An agent reached without TCP, for the fleet simulator (`asm-fleet`), which runs a million
/// pods against simulated agents in one process on tokio's paused clock, where sockets cannot
/// go: [`AgentSource::in_memory`] hands each request to `send` instead of opening a
/// connection to the endpoint.
///
/// Everything else is the agent source's own: the request (`GET
/// /secretsmanager/get?secretId=…&versionStage=…`, URL built from the endpoint, the token
/// header, `refreshNow`, `roleArn`) is built as for TCP, and the answer is read by the same
/// code (status, `GetSecretValue`'s JSON, the agent's error bodies, the 128 KiB bound). Only
/// the bytes on a socket and hyper's connection pool are skipped. Not part of the public API:
/// hidden, behind the `testing` feature, and free to change.
#[doc(hidden)]
#[cfg(feature = "testing")]
pub trait AgentTransport: Send + Sync + 'static {
    /// Answers `request` as the agent would, or fails as a connection would (an
    /// [`io::ErrorKind`](std::io::ErrorKind) of a refused or reset connection reads as
    /// [`TransportKind::Connection`], any other as [`TransportKind::Other`]).
    fn send(
        &self,
        request: Request<Empty<Bytes>>,
    ) -> BoxFuture<'static, std::io::Result<Response<http_body_util::Full<Bytes>>>>;
}

/// Where the token comes from: read at each request, so a rotated token file is followed.
#[derive(Clone)]
enum Token {
    Environment,
    Given(SecretString),
}

impl AgentSource {
    /// The agent's default address.
    pub const DEFAULT_ENDPOINT: &'static str = "http://localhost:2773";
    /// The variable that makes [`SecretCache::from_env`](crate::SecretCache::from_env) read
    /// through the agent: `1`/`true` (default address) or `http://HOST:PORT`.
    pub const ENDPOINT_VARIABLE: &'static str = "ASM_SECRETS_AGENT";

    /// The agent at [`DEFAULT_ENDPOINT`](Self::DEFAULT_ENDPOINT), its token read from
    /// [`TOKEN_VARIABLES`] at each request.
    pub fn new() -> Self {
        Self {
            endpoint: Self::DEFAULT_ENDPOINT.into(),
            token: Token::Environment,
            role: None,
            #[cfg(feature = "testing")]
            transport: None,
        }
    }

    /// Sends every request to `transport` instead of over TCP to the endpoint (see
    /// [`AgentTransport`]). Hidden: for the fleet simulator only.
    #[doc(hidden)]
    #[cfg(feature = "testing")]
    pub fn in_memory(mut self, transport: Arc<dyn AgentTransport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The agent at `endpoint` (`http://HOST:PORT`), on loopback: `localhost`, `127.0.0.0/8`
    /// or `[::1]`.
    ///
    /// The agent speaks plain HTTP and only ever listens on loopback; a remote address would
    /// receive the token and send the values back in clear text, so it is refused here. A
    /// sidecar in the same pod shares its loopback. For a remote agent on a network you
    /// trust, say so with [`remote_endpoint`](Self::remote_endpoint).
    ///
    /// # Errors
    /// [`Error::Config`] when `endpoint` is not an `http://` URL with a host, or its host is
    /// not on loopback.
    pub fn endpoint(self, endpoint: &str) -> Result<Self, Error> {
        let (trimmed, host) = parse_endpoint(endpoint)?;
        if !is_loopback(&host) {
            return Err(Error::Config {
                message: format!(
                    "agent endpoint `{endpoint}` is not on loopback: the agent listens on \
                     127.0.0.1 and speaks plain HTTP, so another host would receive the token \
                     and send secret values in clear text; use `http://localhost:PORT`, or \
                     `AgentSource::remote_endpoint` if the network to that host is trusted"
                ),
            });
        }
        Ok(self.at(trimmed))
    }

    /// The agent at `endpoint` (`http://HOST:PORT`) on any host: the token and every value
    /// cross the network between them in clear text. Only for a network you trust as you
    /// trust loopback; prefer an agent on each node.
    ///
    /// # Errors
    /// [`Error::Config`] when `endpoint` is not an `http://` URL with a host.
    pub fn remote_endpoint(self, endpoint: &str) -> Result<Self, Error> {
        let (trimmed, _) = parse_endpoint(endpoint)?;
        Ok(self.at(trimmed))
    }

    fn at(mut self, endpoint: &str) -> Self {
        self.endpoint = endpoint.into();
        self
    }

    /// The agent named by [`ENDPOINT_VARIABLE`](Self::ENDPOINT_VARIABLE), if it is set: `1` or
    /// `true` for [`DEFAULT_ENDPOINT`](Self::DEFAULT_ENDPOINT), or an `http://HOST:PORT` URL.
    ///
    /// # Errors
    /// [`Error::Config`] for a value that is neither.
    pub fn from_env() -> Result<Option<Self>, Error> {
        let Ok(value) = std::env::var(Self::ENDPOINT_VARIABLE) else {
            return Ok(None);
        };
        match value.trim() {
            "" | "0" | "false" => Ok(None),
            "1" | "true" => Ok(Some(Self::new())),
            url => Self::new().endpoint(url).map(Some),
        }
    }

    /// Sends `token` instead of reading it from the environment.
    pub fn token(mut self, token: SecretString) -> Self {
        self.token = Token::Given(token);
        self
    }

    /// The token to send: given, or read from the first of [`TOKEN_VARIABLES`] that is set.
    async fn resolve_token(&self) -> Result<SecretString, Error> {
        if let Token::Given(token) = &self.token {
            return Ok(token.clone());
        }
        let found = TOKEN_VARIABLES
            .iter()
            .find_map(|name| std::env::var(name).ok().map(|value| (*name, value)));
        let Some((name, value)) = found else {
            return Err(Error::Config {
                message: format!(
                    "no token for the Secrets Manager Agent: set one of {} (the agent reads \
                     the same variables), or pass it with `AgentSource::token`",
                    TOKEN_VARIABLES.join(", ")
                ),
            });
        };
        token_from(name, Zeroizing::new(value)).await
    }

    /// `GET /secretsmanager/get?secretId=…` for `id` at `version`.
    async fn request(
        &self,
        id: &str,
        version: &Version,
        refresh: bool,
    ) -> Result<Request<Empty<Bytes>>, Error> {
        let (key, value) = match version {
            Version::Stage(stage) => ("versionStage", &**stage),
            Version::Id(version_id) => ("versionId", &**version_id),
        };
        let mut uri = format!(
            "{}/secretsmanager/get?secretId={}&{key}={}",
            self.endpoint,
            encode(id),
            encode(value)
        );
        if refresh {
            uri.push_str("&refreshNow=true");
        }
        if let Some(role) = &self.role {
            uri.push_str("&roleArn=");
            uri.push_str(&encode(role));
        }
        let token = self.resolve_token().await?;
        Request::get(uri)
            .header(TOKEN_HEADER, token.expose_secret())
            .body(Empty::new())
            .map_err(|_| Error::Config {
                message: format!("cannot build an agent request for `{id}`"),
            })
    }
}

/// `endpoint` without a trailing `/`, and its host; an error unless it is `http://HOST[:PORT]`.
fn parse_endpoint(endpoint: &str) -> Result<(&str, String), Error> {
    let trimmed = endpoint.trim_end_matches('/');
    let uri: Uri = trimmed.parse().map_err(|_| Error::Config {
        message: format!("agent endpoint `{endpoint}` is not a URL"),
    })?;
    match uri.host() {
        Some(host) if uri.scheme_str() == Some("http") => Ok((trimmed, host.to_owned())),
        _ => Err(Error::Config {
            message: format!(
                "agent endpoint `{endpoint}` must be `http://HOST:PORT` (the agent listens on \
                 loopback without TLS)"
            ),
        }),
    }
}

/// Whether `host` (as a URI writes it: `[::1]` bracketed) names this machine's loopback.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Default for AgentSource {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for AgentSource {
    /// The endpoint and where the token comes from, never the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let token = match self.token {
            Token::Environment => "from the environment",
            Token::Given(_) => "given",
        };
        f.debug_struct("AgentSource")
            .field("endpoint", &self.endpoint)
            .field("token", &token)
            .field("role", &self.role)
            .finish()
    }
}

/// The agent source as the cache holds it: the settings and a pooled HTTP client.
struct Agent {
    source: AgentSource,
    http: Transport,
}

/// How requests reach the agent.
#[derive(Clone)]
#[cfg_attr(
    feature = "testing",
    expect(
        clippy::large_enum_variant,
        reason = "one per agent source, held behind its Arc: its size costs nothing"
    )
)]
enum Transport {
    /// Over TCP, through a pooled HTTP/1 client.
    Tcp(HttpClient<HttpConnector, Empty<Bytes>>),
    /// Handed to an in-memory agent (see [`AgentTransport`]).
    #[cfg(feature = "testing")]
    InMemory(Arc<dyn AgentTransport>),
}

impl fmt::Debug for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.source.fmt(f)
    }
}

impl SecretSource for AgentSource {}

impl sealed::Sealed for AgentSource {
    fn into_source(self, terms: sealed::Terms) -> sealed::Building {
        #[cfg(feature = "testing")]
        if let Some(transport) = &self.transport {
            let http = Transport::InMemory(Arc::clone(transport));
            return sealed::Building(Arc::new(Agent { source: self, http }));
        }
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(terms.deadlines.attempt));
        connector.set_nodelay(true);
        let http = HttpClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        let http = Transport::Tcp(http);
        sealed::Building(Arc::new(Agent { source: self, http }))
    }
}

impl Agent {
    async fn get(&self, id: &str, version: &Version, refresh: bool) -> Result<Secret, Error> {
        let request = self.source.request(id, version, refresh).await?;
        let failed = |kind, e: &dyn fmt::Display| Error::Transport {
            secret_id: id.to_owned(),
            kind,
            detail: Some(
                format!("the Secrets Manager Agent at {}: {e}", self.source.endpoint).into(),
            ),
        };
        let role = self.source.role.as_deref();
        match &self.http {
            Transport::Tcp(http) => {
                let response = http.request(request).await.map_err(|e| {
                    let kind = if e.is_connect() {
                        TransportKind::Connection
                    } else {
                        TransportKind::Other
                    };
                    failed(kind, &e)
                })?;
                read_answer(id, version, role, response).await
            }
            #[cfg(feature = "testing")]
            Transport::InMemory(transport) => {
                let response = transport.send(request).await.map_err(|e| {
                    use std::io::ErrorKind::{
                        ConnectionAborted, ConnectionRefused, ConnectionReset, NotConnected,
                    };
                    let kind = match e.kind() {
                        ConnectionRefused | ConnectionReset | ConnectionAborted | NotConnected => {
                            TransportKind::Connection
                        }
                        _ => TransportKind::Other,
                    };
                    failed(kind, &e)
                })?;
                read_answer(id, version, role, response).await
            }
        }
    }
}

/// The agent's answer to a request for `id` at `version` (made as `role`, if any) as a secret
/// or a typed error: the status, and the body (at most 128 KiB). Headers are not read.
pub(crate) async fn read_answer<B>(
    id: &str,
    version: &Version,
    role: Option<&str>,
    response: Response<B>,
) -> Result<Secret, Error>
where
    B: Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
        .map(|body| Zeroizing::new(body.to_bytes().to_vec()))
        .map_err(|_| {
            malformed(
                id,
                "the agent's answer could not be read, or is over 128 KiB",
            )
        })?;
    if status == StatusCode::OK {
        return parse_answer(id, &body);
    }
    let role_error = role.and_then(|role| role_error(id, role, &body));
    Err(role_error.unwrap_or_else(|| agent_error(id, version, status, &body)))
}

impl Backend for Agent {
    fn kind(&self) -> &'static str {
        "agent"
    }

    fn get<'a>(
        &'a self,
        id: &'a str,
        version: &'a Version,
        refresh: bool,
    ) -> BoxFuture<'a, Result<Secret, Error>> {
        Agent::get(self, id, version, refresh).boxed()
    }

    /// The agent reads as the role itself (Secrets Manager Agent 2.1: `roleArn`, up to its
    /// `max_roles`, 20 by default), from its own credentials.
    fn assume(&self, role: &Arc<str>) -> Result<Arc<dyn Backend>, Error> {
        let mut source = self.source.clone();
        source.role = Some(Arc::clone(role));
        Ok(Arc::new(Agent {
            source,
            http: self.http.clone(),
        }))
    }
}

/// The token the variable `name` holds: its value, or for `file://PATH` the file's content,
/// trimmed. The file is read on tokio's blocking pool: it may sit on a slow volume, and the
/// runtime's workers must not wait for it.
async fn token_from(name: &str, value: Zeroizing<String>) -> Result<SecretString, Error> {
    let Some(path) = value.strip_prefix("file://") else {
        return Ok(SecretString::from(value.as_str()));
    };
    let owned = path.to_owned();
    let read = tokio::task::spawn_blocking(move || std::fs::read_to_string(owned))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))
        .and_then(|read| read)
        .map(Zeroizing::new);
    let content = read.map_err(|e| Error::Config {
        message: format!("cannot read the agent token file named by {name} ({path}): {e}"),
    })?;
    Ok(SecretString::from(content.trim()))
}

/// Reads an answer in `GetSecretValue`'s JSON shape.
fn parse_answer(id: &str, body: &[u8]) -> Result<Secret, Error> {
    // serde_json's messages quote the input: never passed on.
    let mut answer: serde_json::Map<String, Value> = serde_json::from_slice(body)
        .map_err(|_| malformed(id, "the agent's answer is not GetSecretValue's JSON"))?;
    let mut text = |key: &str| match answer.remove(key) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    let binary = match text("SecretBinary").map(Zeroizing::new) {
        Some(encoded) => Some(
            aws_smithy_types::base64::decode(encoded.as_str())
                .map_err(|_| malformed(id, "SecretBinary is not base64"))?,
        ),
        None => None,
    };
    let parts = Parts {
        arn: text("ARN"),
        name: text("Name"),
        version_id: text("VersionId"),
        string: text("SecretString"),
        binary,
        version_stages: match answer.remove("VersionStages") {
            Some(Value::Array(stages)) => Some(
                stages
                    .into_iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect(),
            ),
            _ => None,
        },
    };
    parts.into_secret(id)
}

/// An agent error: `{"__type": code, "message": …}` (the message is dropped: the service's
/// text is not ours to repeat; only whether it names a missing value is looked at), or a bare
/// status.
fn agent_error(id: &str, version: &Version, status: StatusCode, body: &[u8]) -> Error {
    let answer = serde_json::from_slice::<Value>(body).ok();
    let field = |name: &str| answer.as_ref()?.get(name)?.as_str();
    let code = field("__type");
    let error = typed_agent_error(id, status, code);
    if names_missing_value(field("message")) {
        error.version_missing(version)
    } else {
        error
    }
}

/// The agent's errors about the role of a request (2.1): it could not assume the role (`403`,
/// `AccessDeniedException` "Failed to create caching client from role: …"), or it holds its
/// `max_roles` already (`400`, `MaxRolesExceeded`). Only the code and that fixed phrase are
/// looked at; the message is never kept.
fn role_error(id: &str, role: &str, body: &[u8]) -> Option<Error> {
    let answer = serde_json::from_slice::<Value>(body).ok()?;
    let field = |name: &str| answer.get(name)?.as_str();
    match field("__type")? {
        "MaxRolesExceeded" => Some(Error::Config {
            message: format!(
                "the Secrets Manager Agent holds its `max_roles` roles already (20 unless its \
                 configuration says more) and refuses to read `{id}` as `{role}`: raise \
                 `max_roles` in the agent's configuration, or read through fewer roles"
            ),
        }),
        "AccessDeniedException"
            if field("message").is_some_and(|m| m.contains("client from role")) =>
        {
            Some(Error::RoleDenied {
                secret_id: id.to_owned(),
                role: role.to_owned(),
            })
        }
        _ => None,
    }
}

/// [`agent_error`] by status and error code.
fn typed_agent_error(id: &str, status: StatusCode, code: Option<&str>) -> Error {
    match (status.as_u16(), code) {
        (504, _) | (_, Some("TimeoutError")) => Error::Transport {
            secret_id: id.to_owned(),
            kind: TransportKind::Timeout,
            detail: Some("the agent timed out calling Secrets Manager".into()),
        },
        (502, _) | (_, Some("ConnectionError")) => Error::Transport {
            secret_id: id.to_owned(),
            kind: TransportKind::Connection,
            detail: Some("the agent could not reach Secrets Manager".into()),
        },
        (_, Some(code)) => from_code(code, id, Operation::GetSecretValue),
        (403, None) | (400, None) => Error::Config {
            message: format!(
                "the Secrets Manager Agent refused the request for `{id}` (HTTP {status}): its \
                 token does not match (set {} to the agent's token) or a proxy added a \
                 forwarding header",
                TOKEN_VARIABLES.join(", ")
            ),
        },
        (429, None) => Error::Throttled {
            secret_id: id.to_owned(),
            action: "the agent's connection limit (max_conn)",
        },
        (status, None) => Error::Service {
            secret_id: id.to_owned(),
            code: format!("HTTP {status} from the Secrets Manager Agent"),
        },
    }
}

/// Percent-encodes a query value: everything but RFC 3986's unreserved characters.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            encode("arn:aws:secretsmanager:us-east-1:1:secret:prod/db+x=y@z"),
            "arn%3Aaws%3Asecretsmanager%3Aus-east-1%3A1%3Asecret%3Aprod%2Fdb%2Bx%3Dy%40z"
        );
    }

    /// Every error path of an agent answer carries the canary in the body; none repeats it.
    #[test]
    fn no_agent_error_repeats_the_answer() {
        const CANARY: &str = "Qz7!xK9#wL2%vT8";
        let clean = |err: &Error| {
            let shown = format!("{err} {err:?} {err:#?}");
            assert!(!shown.contains("Qz7!"), "{shown}");
        };
        for (status, body) in [
            (
                404,
                format!(r#"{{"__type":"ResourceNotFoundException","message":"{CANARY}"}}"#),
            ),
            (
                400,
                format!(r#"{{"__type":"AccessDeniedException","message":"{CANARY}"}}"#),
            ),
            (
                502,
                format!(r#"{{"__type":"ConnectionError","message":"{CANARY}"}}"#),
            ),
            (500, format!("<html>{CANARY}</html>")),
            (403, format!("Bad Token {CANARY}")),
        ] {
            let status = StatusCode::from_u16(status).expect("status");
            clean(&agent_error(
                "db",
                &Version::current(),
                status,
                body.as_bytes(),
            ));
        }
        for body in [
            format!("{{not json {CANARY}"),
            format!(r#"{{"SecretString": ["{CANARY}"]}}"#),
            format!(r#"{{"SecretBinary": "{CANARY}"}}"#),
            r#"{"Name": "db"}"#.to_owned(),
        ] {
            let err = parse_answer("db", body.as_bytes()).expect_err("malformed");
            assert!(matches!(
                err,
                Error::Transport {
                    kind: TransportKind::MalformedResponse,
                    ..
                }
            ));
            clean(&err);
        }
        let source = AgentSource::new().token(SecretString::from(CANARY));
        assert!(!format!("{source:?}").contains("Qz7!"));
    }

    /// `file://PATH` names a file holding the token (as the agent reads it): its content is
    /// sent, trimmed; a missing file is a `Config` error naming the variable and the path.
    #[tokio::test]
    async fn a_file_url_token_is_read_from_its_file() {
        let dir = std::env::temp_dir().join(format!("asm-agent-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("token");
        std::fs::write(&file, "tok-from-file\n").expect("write token");
        let url = |path: &std::path::Path| Zeroizing::new(format!("file://{}", path.display()));
        let token = token_from("AWS_TOKEN", url(&file)).await.expect("read");
        assert_eq!(token.expose_secret(), "tok-from-file");
        let plain = token_from("AWS_TOKEN", Zeroizing::new("tok".to_owned())).await;
        assert_eq!(plain.expect("value").expose_secret(), "tok");
        let missing = dir.join("absent");
        let err = token_from("AWS_SESSION_TOKEN", url(&missing))
            .await
            .expect_err("no file");
        assert!(matches!(err, Error::Config { .. }), "{err:?}");
        let shown = err.to_string();
        assert!(
            shown.contains("AWS_SESSION_TOKEN") && shown.contains("absent"),
            "{shown}"
        );
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn only_loopback_endpoints_are_taken_unless_remote_is_said() {
        for local in [
            "http://localhost:2773",
            "http://LOCALHOST:2773/",
            "http://127.0.0.1:2773",
            "http://127.1.2.3:9",
            "http://[::1]:2773",
        ] {
            let source = AgentSource::new().endpoint(local);
            assert!(source.is_ok(), "{local}: {source:?}");
        }
        for remote in [
            "http://10.0.0.5:2773",
            "http://agent.internal:2773",
            "http://localhost.example.com:2773",
            "http://[2001:db8::1]:2773",
            "http://0.0.0.0:2773",
        ] {
            let err = AgentSource::new().endpoint(remote).expect_err(remote);
            assert!(matches!(err, Error::Config { .. }), "{err:?}");
            assert!(err.to_string().contains("remote_endpoint"), "{err}");
            let source = AgentSource::new().remote_endpoint(remote).expect(remote);
            assert!(format!("{source:?}").contains(remote), "{source:?}");
        }
        assert!(
            AgentSource::new()
                .remote_endpoint("https://agent:2773")
                .is_err()
        );
    }

    /// Agent 2.1's answers about a request's `roleArn`: it could not assume the role, or it
    /// holds its `max_roles` already; other errors of a role's request map as any other.
    #[test]
    fn agent_role_errors_are_typed_without_the_message() {
        const CANARY: &str = "Qz7!xK9#wL2%vT8";
        let clean = |err: &Error| {
            let shown = format!("{err} {err:?} {err:#?}");
            assert!(!shown.contains("Qz7!"), "{shown}");
        };
        let role = "arn:aws:iam::999999999999:role/reader";
        let body = format!(
            r#"{{"__type":"AccessDeniedException","message":"Failed to create caching client from role: {role} {CANARY}"}}"#
        );
        let denied = role_error("db", role, body.as_bytes()).expect("typed");
        assert!(
            matches!(&denied, Error::RoleDenied { role: r, secret_id } if r == role && secret_id == "db"),
            "{denied:?}"
        );
        clean(&denied);
        let full = format!(r#"{{"__type":"MaxRolesExceeded","message":"{CANARY}"}}"#);
        let bound = role_error("db", role, full.as_bytes()).expect("typed");
        assert!(
            matches!(&bound, Error::Config { message } if message.contains("max_roles")),
            "{bound:?}"
        );
        clean(&bound);
        let plain = format!(r#"{{"__type":"AccessDeniedException","message":"{CANARY}"}}"#);
        assert!(
            role_error("db", role, plain.as_bytes()).is_none(),
            "the secret's own denial"
        );
        assert!(role_error("db", role, b"not json").is_none());
    }

    #[test]
    fn agent_errors_map_onto_the_catalogue() {
        let typed = |status: u16, body: &str| {
            agent_error(
                "db",
                &Version::current(),
                StatusCode::from_u16(status).expect("status"),
                body.as_bytes(),
            )
        };
        let not_found = typed(
            404,
            r#"{"__type":"ResourceNotFoundException", "message":"x"}"#,
        );
        assert!(matches!(not_found, Error::NotFound { .. }), "{not_found:?}");
        let no_value = typed(
            404,
            r#"{"__type":"ResourceNotFoundException", "message":"Secrets Manager can't find the specified secret value for staging label: AWSCURRENT"}"#,
        );
        assert!(
            matches!(&no_value, Error::VersionNotFound { version, .. } if version.is_current()),
            "{no_value:?}"
        );
        let denied = typed(400, r#"{"__type":"AccessDeniedException", "message":"x"}"#);
        assert!(matches!(denied, Error::AccessDenied { .. }), "{denied:?}");
        let timeout = typed(504, r#"{"__type":"TimeoutError", "message":"Timeout"}"#);
        assert!(
            timeout.is_transient()
                && matches!(
                    timeout,
                    Error::Transport {
                        kind: TransportKind::Timeout,
                        ..
                    }
                )
        );
        let gone = typed(
            502,
            r#"{"__type":"ConnectionError", "message":"Read Error"}"#,
        );
        assert!(gone.is_transient());
        assert!(matches!(typed(403, "Bad Token"), Error::Config { .. }));
        assert!(typed(500, r#"{"__type":"InternalFailure"}"#).is_transient());
        assert!(matches!(
            typed(429, "Connection limit exceeded"),
            Error::Throttled { .. }
        ));
    }
}
