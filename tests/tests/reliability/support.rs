//! Shared tools: the canary and its fragment check, a capturing `tracing` subscriber, mocked
//! clients, and a scripted HTTP connector for faults the mocks cannot make (timeouts, refused
//! connections, malformed bodies), which counts every request it sees.

use std::fmt;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asm_runtime::{Error, RotationGuardrail, SecretCache, SecretCacheBuilder};
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::retry::RetryConfig;
use aws_sdk_secretsmanager::config::timeout::TimeoutConfig;
use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock_client};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

/// The secret value planted on every path. Random-looking on purpose: no 4-character window of
/// it occurs in any message, type name or log field the library writes.
pub(crate) const CANARY: &str = "Qz7!xK9#wL2%vT8";

/// A number planted where a numeric value is the secret.
pub(crate) const NUMERIC_CANARY: &str = "73914.28";

pub(crate) const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf";

/// Every 4-character window of `needle`, and of its bytes as `Debug` prints a byte slice
/// (`81, 122, 55, 33`): any longer fragment contains one of them.
fn fragments(needle: &str) -> Vec<String> {
    fragments_where(needle, |_| true)
}

/// The 4-byte windows of `needle` that `keep` accepts, as text and as a byte list.
fn fragments_where(needle: &str, keep: impl Fn(&[u8]) -> bool) -> Vec<String> {
    let windows: Vec<&[u8]> = needle.as_bytes().windows(4).filter(|w| keep(w)).collect();
    let mut out: Vec<String> = (windows.iter())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    out.extend(
        (windows.iter()).map(|w| w.iter().map(u8::to_string).collect::<Vec<_>>().join(", ")),
    );
    out
}

/// Fails when `text` holds the canary or any 4-character fragment of it, or a fragment of the
/// numeric canary that holds its decimal point (four digits alone occur in any timestamp a
/// `Debug` prints: `Secret`'s `fetched_at` matched `3914` once).
pub(crate) fn assert_clean(surface: &str, text: &str) {
    let numeric = fragments_where(NUMERIC_CANARY, |w| w.contains(&b'.'));
    for fragment in fragments(CANARY).into_iter().chain(numeric) {
        assert!(
            !text.contains(&fragment),
            "{surface} leaks fragment {fragment:?} of a planted secret:\n{text}"
        );
    }
}

/// For log text, which is full of timestamps and timings: every fragment of the canary, and
/// the numeric canary whole (any four digits occur in a timestamp sooner or later).
pub(crate) fn assert_log_clean(surface: &str, text: &str) {
    for fragment in fragments(CANARY) {
        assert!(
            !text.contains(&fragment),
            "{surface} leaks fragment {fragment:?} of the canary:\n{text}"
        );
    }
    assert!(
        !text.contains(NUMERIC_CANARY),
        "{surface} leaks the numeric canary:\n{text}"
    );
}

/// Checks every surface of an error: `Display`, `{:?}`, `{:#?}`, its source chain, and the
/// panic message of `.expect()` on an `Err` holding it.
pub(crate) fn assert_error_clean(path: &str, err: &Error) {
    assert_clean(&format!("{path}: Display"), &err.to_string());
    assert_clean(&format!("{path}: Debug"), &format!("{err:?}"));
    assert_clean(&format!("{path}: pretty Debug"), &format!("{err:#?}"));
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        assert_clean(&format!("{path}: source"), &format!("{cause} {cause:?}"));
        source = cause.source();
    }
    let result: Result<(), Error> = Err(err.clone());
    assert_clean(&format!("{path}: Result Debug"), &format!("{result:?}"));
    let message = panic_message(|| result.expect("[caught] the secret must load"));
    assert!(
        message.contains("the secret must load"),
        "the panic was caught: {message}"
    );
    assert_clean(&format!("{path}: panic message"), &message);
}

/// Runs `f`, which must panic, and returns its panic message. The default hook would print the
/// message too; the payload is the same text.
pub(crate) fn panic_message<R>(f: impl FnOnce() -> R) -> String {
    quiet_caught_panics();
    let payload = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic"),
        Err(payload) => payload,
    };
    if let Some(s) = payload.downcast_ref::<String>() {
        return s.clone();
    }
    if let Some(s) = payload.downcast_ref::<&str>() {
        return (*s).to_owned();
    }
    panic!("panic payload is neither String nor &str")
}

/// Panics raised on purpose (their message starts with `[caught]`) are not printed; every
/// other panic goes to the default hook as usual.
fn quiet_caught_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or_default();
            if !message.starts_with("[caught]") {
                default(info);
            }
        }));
    });
}

/// Every log line written while it is installed (on this thread, at TRACE, every target).
#[derive(Clone, Default)]
pub(crate) struct Capture {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl fmt::Debug for Capture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Capture")
    }
}

pub(crate) struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = CaptureWriter;

    fn make_writer(&'a self) -> Self::Writer {
        CaptureWriter(Arc::clone(&self.buffer))
    }
}

impl Capture {
    /// Installs a TRACE subscriber for the current thread (a current-thread runtime runs the
    /// cache's spawned fetches here too) until the guard drops.
    pub(crate) fn start() -> (Self, tracing::dispatcher::DefaultGuard) {
        let capture = Self::default();
        let guard = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
            .with_ansi(false)
            .with_target(true)
            .with_writer(capture.clone())
            .finish()
            .set_default();
        (capture, guard)
    }

    pub(crate) fn text(&self) -> String {
        let bytes = self
            .buffer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The lines written by this project's crates.
    pub(crate) fn ours(&self) -> String {
        self.text()
            .lines()
            .filter(|l| l.contains("asm_runtime") || l.contains("asm_testkit"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Every captured line is clean, whatever crate wrote it.
    pub(crate) fn assert_all_clean(&self, what: &str) {
        let text = self.text();
        assert!(!text.is_empty(), "{what}: nothing was captured");
        assert_log_clean(&format!("{what}: log"), &text);
    }

    /// The lines of this project's crates are clean. Used where the canary is planted in what
    /// the *service* sends (an error message, a malformed body): the SDK's own TRACE lines print
    /// in-memory mock bodies, which a real connection never has.
    pub(crate) fn assert_ours_clean(&self, what: &str) {
        let ours = self.ours();
        assert!(
            !ours.is_empty(),
            "{what}: the library wrote no log line at all"
        );
        assert_log_clean(&format!("{what}: asm_runtime log"), &ours);
    }
}

pub(crate) fn output(version: &str, value: &str) -> GetSecretValueOutput {
    GetSecretValueOutput::builder()
        .arn(ARN)
        .name("prod/db")
        .version_id(version)
        .version_stages("AWSCURRENT")
        .secret_string(value)
        .build()
}

/// A client answering from aws-smithy-mocks rules, with retries off.
pub(crate) fn mocked(mode: RuleMode, rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_secretsmanager, mode, rules, |c| c
        .retry_config(RetryConfig::disabled()))
}

/// The fetch path: no `DescribeSecret` (version checks and the guardrail off), so each
/// refresh is one `GetSecretValue` and scripted or mocked counts map one to one onto reads.
/// The moto tests run the default path, version checks included.
pub(crate) fn fetching(client: Client) -> SecretCacheBuilder {
    SecretCache::builder(client)
        .version_checks(false)
        .rotation_guardrail(RotationGuardrail::Off)
}

/// The fetch path with TTL 60 s, `max_staleness` 300 s, backoff cap 8 s, no jitter.
fn minute(client: Client) -> SecretCacheBuilder {
    fetching(client)
        .ttl(Duration::from_secs(60))
        .max_staleness(Duration::from_secs(300))
        .max_backoff(Duration::from_secs(8))
        .jitter(false)
}

/// [`minute`]'s cache.
pub(crate) fn cache(client: Client) -> SecretCache {
    minute(client).build().expect("valid settings")
}

/// [`minute`]'s cache, fetching misses due together with `BatchGetSecretValue`.
pub(crate) fn batching(client: Client) -> SecretCache {
    minute(client).batch(true).build().expect("valid settings")
}

/// A service error response in the AWS JSON protocol, with the canary as its message.
pub(crate) fn service_error_body(code: &str) -> String {
    format!(r#"{{"__type":"{code}","message":"denied for value {CANARY}","Message":"{CANARY}"}}"#)
}

/// What the scripted connector does with one request.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    /// A status and a body.
    Respond(u16, String),
    /// Never answer (an operation timeout fires).
    Hang,
    /// The connection is refused.
    Refused,
    /// Wait, then do the inner step.
    After(Duration, Box<Step>),
}

type Script = dyn Fn(usize) -> Step + Send + Sync;

/// An `HttpClient` that answers the n-th request (from 0) with `script(n)`, and counts them.
#[derive(Clone)]
pub(crate) struct Scripted {
    calls: Arc<AtomicUsize>,
    script: Arc<Script>,
}

impl fmt::Debug for Scripted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scripted")
            .field("calls", &self.calls())
            .finish()
    }
}

impl Scripted {
    pub(crate) fn new(script: impl Fn(usize) -> Step + Send + Sync + 'static) -> Self {
        Self {
            calls: Arc::new(AtomicUsize::new(0)),
            script: Arc::new(script),
        }
    }

    /// Requests received so far.
    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// A client over this connector: test credentials, no retries, 2 s operation timeout.
    pub(crate) fn client(&self) -> Client {
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .http_client(self.clone())
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(2))
                    .build(),
            )
            .build();
        Client::from_conf(config)
    }
}

async fn perform(step: Step) -> Result<HttpResponse, ConnectorError> {
    let mut step = step;
    loop {
        match step {
            Step::Respond(status, body) => {
                let status = StatusCode::try_from(status).expect("valid status");
                let mut response = HttpResponse::new(status, SdkBody::from(body));
                response
                    .headers_mut()
                    .insert("content-type", "application/x-amz-json-1.1");
                return Ok(response);
            }
            Step::Hang => std::future::pending::<()>().await,
            Step::Refused => {
                return Err(ConnectorError::io(Box::new(std::io::Error::from(
                    std::io::ErrorKind::ConnectionRefused,
                ))));
            }
            Step::After(wait, next) => {
                tokio::time::sleep(wait).await;
                step = *next;
            }
        }
    }
}

impl HttpConnector for Scripted {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let step = (self.script)(n);
        HttpConnectorFuture::new(perform(step))
    }
}

impl HttpClient for Scripted {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

/// A `GetSecretValue` answer as the service sends it.
pub(crate) fn value_body(version: &str, value: &str) -> String {
    serde_json::json!({
        "ARN": ARN,
        "Name": "prod/db",
        "VersionId": version,
        "SecretString": value,
        "VersionStages": ["AWSCURRENT"],
        "CreatedDate": 1_700_000_000.0,
    })
    .to_string()
}

/// Lets spawned fetch tasks run to completion (current-thread, paused time).
pub(crate) async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}
