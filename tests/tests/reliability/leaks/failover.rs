//! Canary runs over failover: the primary region fails with the canary in its error body, the
//! replica answers the canary as the value, or fails with the canary too. The warnings for a
//! replica's answer and a replica's failure, the primary's error handed to readers, a
//! persistent failure that does not fail over, and the settings errors are checked clean.

use asm_runtime::{AwsSecrets, Error, SecretCache, SecretString, Vars};
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::Region;
use aws_sdk_secretsmanager::config::retry::RetryConfig;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

use super::{check, json_doc};
use crate::support::{Capture, fetching, mocked, service_error_body};

const REPLICA_ARN: &str = "arn:aws:secretsmanager:us-west-2:123456789012:secret:prod/db-AbCdEf";

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db")]
struct Creds {
    #[allow(dead_code, reason = "read by the loader only")]
    password: SecretString,
}

/// `GetSecretValue` fails with `code` (HTTP `status`), the canary in the body, every time.
fn failing(status: u16, code: &str) -> Rule {
    mock!(Client::get_secret_value)
        .sequence()
        .http_status(status, Some(service_error_body(code)))
        .repeatedly()
        .build()
}

/// A us-west-2 client answering from `rules`, with retries off.
fn west(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, rules, |c| c
        .retry_config(RetryConfig::disabled())
        .region(Region::new("us-west-2")))
}

fn over(primary: &Rule, replica: &Rule) -> SecretCache {
    fetching(mocked(RuleMode::MatchAny, &[primary]))
        .failover_client(west(&[replica]))
        .build()
        .expect("valid settings")
}

#[tokio::test(start_paused = true)]
async fn leak_failover_answers_and_failures() {
    let (capture, _guard) = Capture::start();
    // The replica answers the canary document: the warning names the region, not the value.
    let primary = failing(500, "InternalServiceError");
    let replica = mock!(Client::get_secret_value)
        .sequence()
        .output(|| {
            GetSecretValueOutput::builder()
                .arn(REPLICA_ARN)
                .name("prod/db")
                .version_id("v1")
                .secret_string(json_doc())
                .build()
        })
        .repeatedly()
        .build();
    let cache = over(&primary, &replica);
    Creds::load_with(&cache, Vars::new())
        .await
        .expect("from the replica");
    assert_eq!(cache.stats().replica_reads, 1);
    assert!(
        capture.ours().contains("answered from a failover region"),
        "{}",
        capture.ours()
    );
    // The primary's call and the replica's, each a span naming its region, closed with its
    // outcome.
    let text = capture.text();
    for expected in [
        "cloud.region=\"us-east-1\" asm.outcome=\"error\" error.type=\"Service\"",
        "asm.call.attempt=1 cloud.region=\"us-west-2\" asm.failover=true asm.outcome=\"ok\"",
    ] {
        assert!(text.contains(expected), "captured `{expected}`:\n{text}");
    }

    // Both regions fail with the canary in their bodies: the primary's error is the answer, the
    // replica's is logged.
    let replica_failing = failing(503, "ServiceUnavailable");
    let cache = over(&primary, &replica_failing);
    let err = cache.get("prod/db").await.expect_err("no region answers");
    check("failover: both regions fail", &err, |e| {
        matches!(e, Error::Service { .. })
    });
    assert!(
        capture.ours().contains("the failover region failed too"),
        "{}",
        capture.ours()
    );

    // A persistent failure in the primary is the answer, without a replica call.
    let denied = failing(400, "AccessDeniedException");
    let cache = over(&denied, &replica);
    let err = cache.get("prod/db").await.expect_err("denied");
    check("failover: denied in the primary", &err, |e| {
        matches!(e, Error::AccessDenied { .. })
    });
    assert_eq!(cache.stats().failover_calls, 0);

    // Settings refused at build say why, and hold nothing of a value.
    for builder in [
        fetching(mocked(RuleMode::MatchAny, &[])).failover_regions(["us-east-1"]),
        SecretCache::builder(asm_runtime::MemorySource::new()).failover_regions(["us-west-2"]),
    ] {
        let err = builder.build().expect_err("refused");
        check("failover: settings", &err, |e| {
            matches!(e, Error::Config { .. })
        });
    }
    capture.assert_ours_clean("failover");
}
