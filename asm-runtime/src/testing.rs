//! Shared pieces of the unit tests: canned SDK outputs and a mocked client.

use std::collections::HashMap;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::retry::RetryConfig;
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_sdk_secretsmanager::types::RotationRulesType;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

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

/// Lets spawned fetch tasks run to completion.
pub(crate) async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}
