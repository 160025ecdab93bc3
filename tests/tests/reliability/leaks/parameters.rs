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
