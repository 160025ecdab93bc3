//! Canary runs over every error of Parameter Store parameters: the canary in the service's
//! error messages (KMS's included) and in the parameter's value, through each typed error a
//! read of a parameter can give, with every log line captured at TRACE.

use std::time::Duration;

use asm_runtime::{
    AwsSecrets, Error, MemoryFault, MemorySource, SecretCache, SecretString, Version,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_types::retry::RetryConfig;

use super::check;
use crate::support::{CANARY, Capture, cache, mocked, settle};

const HOST: &str = "ssm:/prod/orders/db-host";

#[derive(AwsSecrets, Debug)]
struct PortFromText {
    #[allow(dead_code, reason = "read by the loader only")]
    #[aws_secrets(parameter = "/prod/orders/db-host", public)]
    port: u16,
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(parameter = "/prod/orders/db-host")]
struct KeyOfText {
    #[allow(dead_code, reason = "read by the loader only")]
    password: SecretString,
}

/// `GetParameter` fails with `code`, its message holding the canary (and `extra`).
fn failing(code: &str, extra: &str) -> Rule {
    let body = format!(r#"{{"__type":"{code}","message":"{extra} {CANARY}"}}"#);
    mock!(aws_sdk_ssm::Client::get_parameter)
        .sequence()
        .http_status(400, Some(body))
        .repeatedly()
        .build()
}

/// A cache reading parameters through an SSM client answering from `rule`.
fn over_ssm(rule: &Rule) -> SecretCache {
    let ssm = mock_client!(aws_sdk_ssm, RuleMode::MatchAny, &[rule], |c| c
        .retry_config(RetryConfig::disabled()));
    SecretCache::builder(mocked(RuleMode::MatchAny, &[]))
        .parameter_client(ssm)
        .build()
        .expect("valid settings")
}

#[tokio::test(start_paused = true)]
async fn leak_parameter_store_errors() {
    let (capture, _guard) = Capture::start();
    let kms = "not authorized to perform: kms:Decrypt for";
    type Shape = fn(&Error) -> bool;
    let cases: [(&str, &str, Version, Shape); 7] = [
        ("AccessDeniedException", "denied", Version::current(), |e| {
            matches!(
                e,
                Error::AccessDenied {
                    action: "ssm:GetParameter",
                    ..
                }
            )
        }),
        ("AccessDeniedException", kms, Version::current(), |e| {
            matches!(e, Error::Decryption { .. })
        }),
        ("InvalidKeyId", "key", Version::current(), |e| {
            matches!(e, Error::Decryption { .. })
        }),
        ("ParameterNotFound", "none", Version::current(), |e| {
            matches!(e, Error::NotFound { .. })
        }),
        ("ParameterVersionNotFound", "none", Version::id("3"), |e| {
            matches!(e, Error::VersionNotFound { .. })
        }),
        ("ThrottlingException", "slow", Version::current(), |e| {
            matches!(e, Error::Throttled { .. })
        }),
        ("InternalServerError", "oops", Version::current(), |e| {
            matches!(e, Error::Service { .. })
        }),
    ];
    for (code, extra, version, shape) in cases {
        let rule = failing(code, extra);
        let err = over_ssm(&rule).get_version(HOST, &version).await;
        check(code, &err.expect_err("a failure"), shape);
    }
    capture.assert_ours_clean("parameter store errors");
}

#[tokio::test(start_paused = true)]
async fn leak_parameter_values_and_sources() {
    let (capture, _guard) = Capture::start();
    let store = MemorySource::new();
    store.parameter("/prod/orders/db-host", CANARY);
    let memory = SecretCache::builder(store.clone())
        .ttl(Duration::from_secs(60))
        .max_staleness(Duration::from_secs(120))
        .build()
        .expect("valid settings");
    let err = PortFromText::load(&memory)
        .await
        .expect_err("text into u16");
    check("parameter text into u16", &err, |e| {
        matches!(e, Error::WrongType { .. })
    });
    let err = KeyOfText::load(&memory).await.expect_err("a key of text");
    check("a key of a parameter's text", &err, |e| {
        matches!(e, Error::NotJson { .. })
    });
    store.fail(Some(HOST), MemoryFault::Unavailable);
    tokio::time::advance(Duration::from_secs(130)).await;
    settle().await;
    let err = memory.get(HOST).await.expect_err("stale");
    check("stale parameter", &err, |e| {
        matches!(e, Error::Stale { .. })
    });
    let without = cache(mocked(RuleMode::MatchAny, &[]));
    let err = without.get(HOST).await.expect_err("no parameter source");
    check("no parameter source", &err, |e| {
        matches!(e, Error::Config { .. })
    });
    let err = without
        .get("ssm:/prod/orders/db host")
        .await
        .expect_err("malformed");
    check("malformed parameter", &err, |e| {
        matches!(e, Error::Config { .. })
    });
    capture.assert_all_clean("parameter values and sources");
}

#[derive(AwsSecrets, Debug)]
#[allow(dead_code, reason = "only the load's errors are read")]
struct TwoParameters {
    #[aws_secrets(parameter = "/prod/orders/db-host", public)]
    host: String,
    #[aws_secrets(parameter = "/prod/orders/db-port", public)]
    port: u16,
}

/// `GetParameters` fails with `code`, its message holding the canary.
fn batch_failing(code: &str, status: u16) -> Rule {
    let body = format!(r#"{{"__type":"{code}","message":"batch {CANARY}"}}"#);
    mock!(aws_sdk_ssm::Client::get_parameters)
        .sequence()
        .http_status(status, Some(body))
        .repeatedly()
        .build()
}

/// `GetParameters` answering a parameter that was not asked for (its value the canary) and
/// listing both asked as invalid: the stray value is dropped, each asked one read alone.
fn batch_answering_a_stray() -> Rule {
    use aws_sdk_ssm::operation::get_parameters::GetParametersOutput;
    use aws_sdk_ssm::types::Parameter;
    mock!(aws_sdk_ssm::Client::get_parameters).then_output(|| {
        let stray = Parameter::builder()
            .name("/prod/other")
            .value(CANARY)
            .version(1)
            .build();
        (GetParametersOutput::builder().parameters(stray))
            .invalid_parameters("/prod/orders/db-host")
            .invalid_parameters("/prod/orders/db-port")
            .build()
    })
}

/// The batch's own failures (denied, throttled, failing, a stray answer), each ending in a
/// typed error about one parameter, with the canary in every service message.
#[tokio::test(start_paused = true)]
async fn leak_get_parameters_errors() {
    let (capture, _guard) = Capture::start();
    let single = failing("ParameterNotFound", "none");
    type Shape = fn(&Error) -> bool;
    let cases: [(Rule, &str, Shape); 4] = [
        (batch_failing("AccessDeniedException", 400), "denied", |e| {
            matches!(e, Error::NotFound { .. })
        }),
        (
            batch_failing("ThrottlingException", 400),
            "throttled",
            |e| matches!(e, Error::Throttled { .. } | Error::Transport { .. }),
        ),
        (batch_failing("InternalServerError", 500), "failing", |e| {
            matches!(e, Error::Service { .. })
        }),
        (batch_answering_a_stray(), "stray", |e| {
            matches!(e, Error::NotFound { .. })
        }),
    ];
    for (batch, what, shape) in cases {
        let ssm = mock_client!(aws_sdk_ssm, RuleMode::MatchAny, &[&batch, &single], |c| c
            .retry_config(RetryConfig::disabled()));
        let cache = SecretCache::builder(mocked(RuleMode::MatchAny, &[]))
            .parameter_client(ssm)
            .startup_patience(Duration::from_secs(30))
            .build()
            .expect("valid settings");
        let err = TwoParameters::load(&cache).await.expect_err(what);
        check(what, &err, shape);
        assert!(
            err.secret_id()
                .is_some_and(|id| id.starts_with("ssm:/prod/orders/")),
            "{what}: names a parameter, not the batch: {err:?}"
        );
    }
    capture.assert_ours_clean("GetParameters errors");
}
