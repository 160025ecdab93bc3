//! The simulated Secrets Manager and Parameter Store: answers the SDK's JSON requests for
//! Secrets Manager's three read actions and Parameter Store's `GetParameter`, enforces the
//! quotas, adds a network latency, and can be switched into an outage. It is
//! plugged into real SDK clients as their HTTP client, so everything above the socket (signing,
//! serialisation, retries, the cache) is the production code.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::quota::{Action, ParameterQuota, QuotaModel, Quotas};
use crate::rng::Rng;

/// The account of every simulated secret.
const ACCOUNT: &str = "123456789012";
/// The region the fleet's clients call first.
pub const PRIMARY_REGION: &str = "us-east-1";
/// The region of the secrets' replicas (`--failover`).
pub const REPLICA_REGION: &str = "us-west-2";
/// The ARN of a simulated parameter (in the primary region), before its name without the
/// leading `/`.
const PARAMETER_ARN_PREFIX: &str = "arn:aws:ssm:us-east-1:123456789012:parameter/";

/// Round-trip latency of one request: uniform in `[min, max]`.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    /// The fastest answer.
    pub min: Duration,
    /// The slowest answer.
    pub max: Duration,
}

impl Latency {
    /// 15 to 40 ms, an in-region call through a VPC endpoint.
    pub const IN_REGION: Self = Self {
        min: Duration::from_millis(15),
        max: Duration::from_millis(40),
    };
}

/// One region's mutable state.
#[derive(Debug)]
struct State {
    quotas: Quotas,
    /// While set, every call fails with HTTP 503.
    outage: bool,
}

/// A simulated Secrets Manager and Parameter Store in one region, shared by every client of
/// the fleet. Its
/// [`replica`](Self::replica) in another region holds the same secrets (a rotation reaches
/// both at once) under its own quotas and outages.
#[derive(Clone)]
pub struct Service {
    region: &'static str,
    state: Arc<Mutex<State>>,
    /// Current version number of each secret `fleet/s{i}` and parameter `/fleet/p{i}`, shared
    /// with the replicas.
    versions: Arc<Mutex<Vec<u64>>>,
    latency: Latency,
    rng: Arc<Rng>,
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("region", &self.region)
            .field("latency", &self.latency)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Service {
    /// A service holding `secrets` secrets (`fleet/s0`…) and as many `SecureString`
    /// parameters (`/fleet/p0`…), each at version 1, enforcing `model` (and Parameter Store's
    /// `parameters`) from now on.
    pub fn new(
        secrets: usize,
        model: QuotaModel,
        parameters: ParameterQuota,
        latency: Latency,
        seed: u64,
    ) -> Self {
        Self {
            region: PRIMARY_REGION,
            state: Self::fresh_state(model, parameters),
            versions: Arc::new(Mutex::new(vec![1; secrets])),
            latency,
            rng: Arc::new(Rng::new(seed)),
        }
    }

    /// The same secrets replicated to `region`: its own quotas (`model`) and outages.
    pub fn replica(&self, region: &'static str, model: QuotaModel) -> Self {
        Self {
            region,
            state: Self::fresh_state(model, ParameterQuota::default()),
            versions: Arc::clone(&self.versions),
            latency: self.latency,
            rng: Arc::clone(&self.rng),
        }
    }

    fn fresh_state(model: QuotaModel, parameters: ParameterQuota) -> Arc<Mutex<State>> {
        Arc::new(Mutex::new(State {
            quotas: Quotas::new(model, parameters, Instant::now()),
            outage: false,
        }))
    }

    /// The region this service answers in.
    pub fn region(&self) -> &'static str {
        self.region
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The HTTP client to hand an SDK config.
    pub fn http_client(&self) -> SharedHttpClient {
        SharedHttpClient::new(self.clone())
    }

    /// Rotates secret `index`: a new version becomes `AWSCURRENT`.
    pub fn rotate(&self, index: usize) {
        if let Some(version) = lock(&self.versions).get_mut(index) {
            *version += 1;
        }
    }

    /// The current version number of secret `index`.
    pub fn version(&self, index: usize) -> u64 {
        lock(&self.versions).get(index).copied().unwrap_or(0)
    }

    /// Starts or ends an outage: while on, every call fails with HTTP 503.
    pub fn set_outage(&self, on: bool) {
        self.state().outage = on;
    }

    /// Offers `n` `GetSecretValue` requests of the account's other services now.
    pub fn offer_background(&self, n: u32) -> u32 {
        let now = Instant::now();
        self.state().quotas.admit_background(n, now)
    }

    /// Reads the per-second meter.
    pub fn with_quotas<R>(&self, f: impl FnOnce(&Quotas) -> R) -> R {
        f(&self.state().quotas)
    }

    /// The value of secret `index` at `version` (what the fleet should end up holding).
    pub fn value(index: usize, version: u64) -> String {
        format!("value-{index}-v{version}")
    }

    /// The decrypted value of parameter `index` at `version`.
    pub fn parameter_value(index: usize, version: u64) -> String {
        format!("parameter-{index}-v{version}")
    }

    /// Answers one request: admitted by the quota or throttled, after the network latency.
    async fn answer(self, request: HttpRequest) -> HttpResponse {
        let spread = self.latency.max.saturating_sub(self.latency.min);
        let latency = self.latency.min + spread.mul_f64(self.rng.unit());
        // Half the latency on the way in, half on the way out.
        tokio::time::sleep(latency / 2).await;
        let (status, body) = self.respond(&request);
        tokio::time::sleep(latency / 2).await;
        let mut response = HttpResponse::new(
            StatusCode::try_from(status).unwrap_or_else(|_| unreachable!("a valid status")),
            SdkBody::from(body.to_string()),
        );
        response
            .headers_mut()
            .insert("content-type", "application/x-amz-json-1.1");
        response
    }

    fn respond(&self, request: &HttpRequest) -> (u16, Value) {
        let action = request
            .headers()
            .get("x-amz-target")
            .and_then(Action::from_target);
        let Some(action) = action else {
            return error(400, "UnknownOperationException", "not simulated");
        };
        let body: Value = request
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Value::Null);
        let now = Instant::now();
        let mut state = self.state();
        if state.outage {
            state.quotas.record_failed(action, now);
            return error(503, "ServiceUnavailableException", "simulated outage");
        }
        if !state.quotas.admit(action, now) {
            return error(400, "ThrottlingException", "Rate exceeded");
        }
        drop(state);
        let versions = lock(&self.versions);
        let region = self.region;
        match action {
            Action::Get => match secret_index(region, &body["SecretId"], versions.len()) {
                Some(i) => (200, secret_value(region, i, versions[i])),
                None => not_found(),
            },
            Action::Describe => match secret_index(region, &body["SecretId"], versions.len()) {
                Some(i) => (200, description(region, i, versions[i])),
                None => not_found(),
            },
            Action::GetParameter => match parameter_index(&body["Name"], versions.len()) {
                Some(i) if body["WithDecryption"] == json!(true) => {
                    (200, parameter(i, versions[i]))
                }
                Some(_) => error(
                    400,
                    "ValidationException",
                    "the fleet's parameters are SecureStrings read decrypted",
                ),
                None => error(400, "ParameterNotFound", ""),
            },
            Action::GetParameters if body["WithDecryption"] != json!(true) => error(
                400,
                "ValidationException",
                "the fleet's parameters are SecureStrings read decrypted",
            ),
            Action::GetParameters
                if body["Names"]
                    .as_array()
                    .is_none_or(|n| n.is_empty() || n.len() > 10) =>
            {
                error(
                    400,
                    "ValidationException",
                    "GetParameters takes 1 to 10 names",
                )
            }
            Action::GetParameters => {
                let names = body["Names"].as_array().cloned().unwrap_or_default();
                let (mut found, mut invalid) = (Vec::new(), Vec::new());
                for name in names {
                    match parameter_index(&name, versions.len()) {
                        Some(i) => found.push(parameter(i, versions[i])["Parameter"].take()),
                        None => invalid.push(name),
                    }
                }
                (
                    200,
                    json!({ "Parameters": found, "InvalidParameters": invalid }),
                )
            }
            Action::Batch => {
                let ids = body["SecretIdList"].as_array().cloned().unwrap_or_default();
                let mut values = Vec::new();
                let mut errors = Vec::new();
                for id in &ids {
                    match secret_index(region, id, versions.len()) {
                        Some(i) => values.push(secret_value(region, i, versions[i])),
                        None => errors.push(json!({
                            "SecretId": id,
                            "ErrorCode": "ResourceNotFoundException",
                            "Message": "not found",
                        })),
                    }
                }
                (200, json!({ "SecretValues": values, "Errors": errors }))
            }
        }
    }
}

/// The ARN of `fleet/s…` secrets in `region` up to the name.
fn arn_prefix(region: &str) -> String {
    format!("arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:")
}

/// The index of `fleet/s{i}` named by `id` (a name or an ARN in `region`), if it exists.
fn secret_index(region: &str, id: &Value, secrets: usize) -> Option<usize> {
    let id = id.as_str()?;
    let name = match id.strip_prefix("arn:") {
        Some(_) => id.strip_prefix(&arn_prefix(region))?,
        None => id,
    };
    let digits = name.strip_prefix("fleet/s")?;
    let digits = digits.split('-').next()?;
    digits.parse().ok().filter(|i| *i < secrets)
}

/// The index of `/fleet/p{i}` named by `name` (a name or an ARN), if it exists.
fn parameter_index(name: &Value, parameters: usize) -> Option<usize> {
    let name = name.as_str()?;
    let name = match name.strip_prefix(PARAMETER_ARN_PREFIX) {
        Some(path) => path,
        None => name.strip_prefix('/')?,
    };
    let digits = name.strip_prefix("fleet/p")?;
    digits.parse().ok().filter(|i| *i < parameters)
}

/// `GetParameter`'s answer for parameter `index` at `version`, decrypted.
fn parameter(index: usize, version: u64) -> Value {
    json!({
        "Parameter": {
            "Name": format!("/fleet/p{index}"),
            "Type": "SecureString",
            "Value": Service::parameter_value(index, version),
            "Version": version,
            "LastModifiedDate": 1_700_000_000,
            "ARN": format!("{PARAMETER_ARN_PREFIX}fleet/p{index}"),
            "DataType": "text",
        }
    })
}

fn arn(region: &str, index: usize) -> String {
    format!("{}fleet/s{index}-AbCdEf", arn_prefix(region))
}

fn secret_value(region: &str, index: usize, version: u64) -> Value {
    json!({
        "ARN": arn(region, index),
        "Name": format!("fleet/s{index}"),
        "VersionId": format!("v{version}"),
        "SecretString": Service::value(index, version),
        "VersionStages": ["AWSCURRENT"],
        "CreatedDate": 1_700_000_000,
    })
}

fn description(region: &str, index: usize, version: u64) -> Value {
    let mut stages = serde_json::Map::new();
    stages.insert(format!("v{version}"), json!(["AWSCURRENT"]));
    if version > 1 {
        stages.insert(format!("v{}", version - 1), json!(["AWSPREVIOUS"]));
    }
    json!({
        "ARN": arn(region, index),
        "Name": format!("fleet/s{index}"),
        "RotationEnabled": true,
        "RotationRules": { "AutomaticallyAfterDays": 30 },
        "VersionIdsToStages": stages,
    })
}

fn not_found() -> (u16, Value) {
    error(
        400,
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret.",
    )
}

fn error(status: u16, code: &str, message: &str) -> (u16, Value) {
    (status, json!({ "__type": code, "message": message }))
}

impl HttpConnector for Service {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let service = self.clone();
        HttpConnectorFuture::new(async move { Ok(service.answer(request).await) })
    }
}

impl HttpClient for Service {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_resolve_by_name_and_arn_of_the_region() {
        let east = PRIMARY_REGION;
        assert_eq!(secret_index(east, &json!("fleet/s3"), 10), Some(3));
        assert_eq!(secret_index(east, &json!(arn(east, 7)), 10), Some(7));
        assert_eq!(secret_index(east, &json!(arn(REPLICA_REGION, 7)), 10), None);
        assert_eq!(secret_index(east, &json!("fleet/s10"), 10), None);
        assert_eq!(secret_index(east, &json!("other"), 10), None);
    }

    #[test]
    fn parameters_resolve_by_name_and_arn() {
        assert_eq!(parameter_index(&json!("/fleet/p3"), 10), Some(3));
        let arn = format!("{PARAMETER_ARN_PREFIX}fleet/p7");
        assert_eq!(parameter_index(&json!(arn), 10), Some(7));
        assert_eq!(parameter_index(&json!("/fleet/p10"), 10), None);
        assert_eq!(parameter_index(&json!("fleet/p1"), 10), None);
        assert_eq!(parameter_index(&json!("/fleet/s1"), 10), None);
    }
}
