//! Shared pieces of the unit tests: canned SDK outputs, a mocked client, and one that never
//! answers.

use std::collections::HashMap;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::retry::RetryConfig;
use aws_sdk_secretsmanager::config::{Credentials, Region};
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_sdk_secretsmanager::types::RotationRulesType;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

pub(crate) const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf";

/// A `GetSecretValue` answer for `prod/db` at `version`.
pub(crate) fn output(version: &str, value: &str) -> GetSecretValueOutput {
    GetSecretValueOutput::builder()
        .arn(ARN)
        .name("prod/db")
        .version_id(version)
        .version_stages("AWSCURRENT")
        .secret_string(value)
        .build()
}

/// `GetSecretValue` answers `v1` holding `old` once, then `v2` holding `new` for ever: a
/// rotation between the first fetch and the next.
pub(crate) fn rotating(old: &str, new: &str) -> Rule {
    let (old, new) = (old.to_owned(), new.to_owned());
    mock!(Client::get_secret_value)
        .sequence()
        .output(move || output("v1", &old))
        .output(move || output("v2", &new))
        .repeatedly()
        .build()
}

/// A `DescribeSecret` answer for `prod/db` whose `AWSCURRENT` is `current`, rotating every
/// `rotation_days` if given.
pub(crate) fn described(current: &str, rotation_days: Option<i64>) -> DescribeSecretOutput {
    DescribeSecretOutput::builder()
        .arn(ARN)
        .name("prod/db")
        .set_version_ids_to_stages(Some(HashMap::from([(
            current.to_owned(),
            vec!["AWSCURRENT".to_owned()],
        )])))
        .set_rotation_enabled(rotation_days.map(|_| true))
        .set_rotation_rules(rotation_days.map(|days| {
            RotationRulesType::builder()
                .automatically_after_days(days)
                .build()
        }))
        .build()
}

/// A JSON error body with service error `code` and a message holding a canary.
pub(crate) fn error_body(code: &str) -> String {
    format!(r#"{{"__type":"{code}","message":"canary-hunter2"}}"#)
}

/// A client answering from `rules`, with SDK retries off.
pub(crate) fn client(mode: RuleMode, rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_secretsmanager, mode, rules, |c| c
        .retry_config(RetryConfig::disabled()))
}

/// A client in `region` answering from `rules`, with SDK retries off.
pub(crate) fn client_in(region: &'static str, mode: RuleMode, rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_secretsmanager, mode, rules, |c| c
        .retry_config(RetryConfig::disabled())
        .region(Region::new(region)))
}

/// An HTTP client whose every request is sent and never answered: an endpoint that accepts
/// connections and stays silent (a blackholed region).
#[derive(Debug, Clone)]
struct Silent;

impl HttpConnector for Silent {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        HttpConnectorFuture::new(std::future::pending::<Result<HttpResponse, ConnectorError>>())
    }
}

impl HttpClient for Silent {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

/// The configuration of a client in us-east-1 whose every call hangs, with SDK retries off.
fn silent_config() -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(crate::source::behavior_version())
        .region(Region::new("us-east-1"))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                "testing", "testing", None, None, "test",
            )),
        )
        .http_client(Silent)
        .retry_config(RetryConfig::disabled())
        .build()
}

/// A client in us-east-1 whose every call hangs, with SDK retries off.
pub(crate) fn silent_client() -> Client {
    Client::new(&silent_config())
}

/// A Parameter Store client in us-east-1 whose every call hangs, with SDK retries off.
#[cfg(all(feature = "ssm", feature = "testing"))]
pub(crate) fn silent_ssm_client() -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&silent_config())
}

/// Lets spawned fetch tasks run to completion.
pub(crate) async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

/// Answers every `GetSecretValue` with version `v1`, forever.
pub(crate) fn always_v1() -> Rule {
    mock!(Client::get_secret_value)
        .sequence()
        .output(|| output("v1", r#"{"password":"p1"}"#))
        .repeatedly()
        .build()
}

/// A builder whose refreshes fetch (no `DescribeSecret`), with TTL 60 s, `max_staleness`
/// 300 s, no jitter, no rotation guardrail.
pub(crate) fn minute(client: Client) -> crate::SecretCacheBuilder {
    crate::SecretCache::builder(client)
        .version_checks(false)
        .rotation_guardrail(crate::RotationGuardrail::Off)
        .ttl(std::time::Duration::from_secs(60))
        .max_staleness(std::time::Duration::from_secs(300))
        .jitter(false)
}
