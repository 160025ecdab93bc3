//! [`FakeAws`]: STS and Secrets Manager played by an SDK HTTP client, for what `moto_server`
//! cannot do (deny or throttle `AssumeRole`, hang in STS) under paused time.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use aws_config::SdkConfig;
use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;

/// The account of the base credentials [`FakeAws::sdk_config`] gives (access key `AKIDBASE`).
pub const BASE_ACCOUNT: &str = "123456789012";

/// What STS answers one `AssumeRole` with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StsAnswer {
    /// Credentials acting in the role's account (access key `ASIA` + the account).
    Grant,
    /// `AccessDenied` (HTTP 403), its message holding the fake's message.
    Deny,
    /// `Throttling` (HTTP 400), its message holding the fake's message.
    Throttle,
    /// No answer at all.
    Hang,
}

/// STS and Secrets Manager behind one SDK HTTP client. Secrets Manager answers
/// `GetSecretValue` and `DescribeSecret` with the secrets of the account whose credentials
/// signed the request (`AKIDBASE`: [`BASE_ACCOUNT`]; a role's: the role's account), so a read
/// as a role sees that account's secrets, as on AWS. STS answers `AssumeRole` as scripted
/// ([`Grant`](StsAnswer::Grant) once the script is spent).
#[derive(Clone, Default)]
pub struct FakeAws {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    /// (account, name) → value.
    secrets: HashMap<(String, String), String>,
    sts: VecDeque<StsAnswer>,
    /// Planted in every error message, for the leak suite.
    message: String,
    sts_calls: u64,
    /// `GetSecretValue` and `DescribeSecret` calls, by account.
    calls: HashMap<String, u64>,
}

impl FakeAws {
    /// A fake holding no secret, granting every `AssumeRole`.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores `value` as secret `name` of `account` (version `v1`).
    pub fn secret(&self, account: &str, name: &str, value: &str) -> &Self {
        self.state()
            .secrets
            .insert((account.to_owned(), name.to_owned()), value.to_owned());
        self
    }

    /// Answers the next `AssumeRole` calls with `answers`, in order (then grants).
    pub fn sts(&self, answers: impl IntoIterator<Item = StsAnswer>) -> &Self {
        self.state().sts.extend(answers);
        self
    }

    /// Makes every error message hold `message` (a canary).
    pub fn message(&self, message: &str) -> &Self {
        message.clone_into(&mut self.state().message);
        self
    }

    /// `AssumeRole` calls so far.
    pub fn sts_calls(&self) -> u64 {
        self.state().sts_calls
    }

    /// Secrets Manager calls so far signed with the credentials of `account`.
    pub fn calls_in(&self, account: &str) -> u64 {
        self.state().calls.get(account).copied().unwrap_or(0)
    }

    /// An `SdkConfig` whose requests this fake answers: region `us-east-1`, base credentials
    /// `AKIDBASE` (account [`BASE_ACCOUNT`]), SDK retries off.
    pub fn sdk_config(&self) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                    "AKIDBASE",
                    "base-secret",
                    None,
                    None,
                    "fake",
                )),
            )
            .http_client(SharedHttpClient::new(self.clone()))
            .retry_config(RetryConfig::disabled())
            .time_source(aws_smithy_async::time::SystemTimeSource::new())
            .build()
    }

    fn answer(&self, request: &HttpRequest) -> Option<HttpResponse> {
        let body = request
            .body()
            .bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        if body.contains("Action=AssumeRole") {
            return self.assume_role(&body);
        }
        let account = signing_account(request);
        let target = request.headers().get("x-amz-target").unwrap_or_default();
        let mut state = self.state();
        *state.calls.entry(account.clone()).or_default() += 1;
        let id = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("SecretId")?.as_str().map(str::to_owned))
            .unwrap_or_default();
        let name = id.rsplit(":secret:").next().unwrap_or_default().to_owned();
        let Some(value) = state.secrets.get(&(account.clone(), name.clone())) else {
            let message = state.message.clone();
            return Some(json(
                400,
                serde_json::json!({"__type": "ResourceNotFoundException", "message": message}),
            ));
        };
        let arn = format!("arn:aws:secretsmanager:us-east-1:{account}:secret:{name}-AbCdEf");
        Some(if target.ends_with("DescribeSecret") {
            json(
                200,
                serde_json::json!({"ARN": arn, "Name": name,
                    "VersionIdsToStages": {"v1": ["AWSCURRENT"]}}),
            )
        } else {
            json(
                200,
                serde_json::json!({"ARN": arn, "Name": name, "VersionId": "v1",
                    "VersionStages": ["AWSCURRENT"], "SecretString": value}),
            )
        })
    }

    fn assume_role(&self, body: &str) -> Option<HttpResponse> {
        let mut state = self.state();
        state.sts_calls += 1;
        let answer = state.sts.pop_front().unwrap_or(StsAnswer::Grant);
        let message = state.message.clone();
        drop(state);
        let role = form_value(body, "RoleArn");
        let account = role.split(':').nth(4).unwrap_or_default();
        let error = |status: u16, code: &str| {
            xml(
                status,
                format!(
                    "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
                     <Type>Sender</Type><Code>{code}</Code><Message>not authorized to assume \
                     {role}: {message}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
                ),
            )
        };
        match answer {
            StsAnswer::Hang => None,
            StsAnswer::Deny => Some(error(403, "AccessDenied")),
            StsAnswer::Throttle => Some(error(400, "Throttling")),
            StsAnswer::Grant => Some(xml(
                200,
                format!(
                    "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                     <AssumeRoleResult><AssumedRoleUser><AssumedRoleId>AROA:asm</AssumedRoleId>\
                     <Arn>arn:aws:sts::{account}:assumed-role/r/asm-runtime</Arn>\
                     </AssumedRoleUser><Credentials><AccessKeyId>ASIA{account}</AccessKeyId>\
                     <SecretAccessKey>role-secret</SecretAccessKey><SessionToken>session\
                     </SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>\
                     </AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId>\
                     </ResponseMetadata></AssumeRoleResponse>"
                ),
            )),
        }
    }
}

/// The account whose credentials signed `request`: `ASIA<account>` for a role's, else the
/// base account.
fn signing_account(request: &HttpRequest) -> String {
    let authorization = request.headers().get("authorization").unwrap_or_default();
    let key = authorization
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').next())
        .unwrap_or_default();
    match key.strip_prefix("ASIA") {
        Some(account) => account.to_owned(),
        None => BASE_ACCOUNT.to_owned(),
    }
}

/// The percent-decoded value of `key` in a form body.
fn form_value(body: &str, key: &str) -> String {
    let raw = body
        .split('&')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_default();
    let mut out = Vec::new();
    let bytes = raw.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let hex = bytes
            .get(at + 1..at + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[at], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                at += 3;
            }
            (byte, _) => {
                out.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn response(status: u16, content_type: &str, body: String) -> HttpResponse {
    let status = StatusCode::try_from(status).unwrap_or_else(|_| panic!("status {status}"));
    let mut response = HttpResponse::new(status, SdkBody::from(body));
    response
        .headers_mut()
        .insert("content-type", content_type.to_owned());
    response
}

fn json(status: u16, body: serde_json::Value) -> HttpResponse {
    response(status, "application/x-amz-json-1.1", body.to_string())
}

fn xml(status: u16, body: String) -> HttpResponse {
    response(status, "text/xml", body)
}

impl HttpConnector for FakeAws {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        match self.answer(&request) {
            Some(response) => HttpConnectorFuture::ready(Ok(response)),
            None => HttpConnectorFuture::new(std::future::pending()),
        }
    }
}

impl HttpClient for FakeAws {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl fmt::Debug for FakeAws {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("FakeAws")
            .field("secrets", &state.secrets.len())
            .field("sts_calls", &state.sts_calls)
            .finish_non_exhaustive()
    }
}
