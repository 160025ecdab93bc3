//! The rotation guardrail under `Warn` on a hot path: a finding is logged once, not at every
//! load (a service that loads per request would otherwise log per request).

use std::time::Duration;

use asm_runtime::aws_sdk_secretsmanager::Client;
use asm_runtime::aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use asm_runtime::aws_sdk_secretsmanager::types::RotationRulesType;
use asm_runtime::{AwsSecrets, ExposeSecret, SecretCache, SecretString};
use aws_smithy_mocks::{RuleMode, mock};

use crate::support::{ARN, Capture, mocked, output};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db")]
struct Cached {
    password: SecretString,
}

/// The same secret with a TTL of its own: still above the one-day rotation.
#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db", ttl = "36h")]
struct Declared {
    password: SecretString,
}

/// The same secret with a rotation interval of its own, also at or below the TTL in force,
/// and other than the one `DescribeSecret` reports.
#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db", rotation = "30h")]
struct Rotating {
    password: SecretString,
}

#[tokio::test(start_paused = true)]
async fn a_warn_finding_is_logged_once_per_ttl_not_at_every_load() {
    let (capture, _guard) = Capture::start();
    let describe = mock!(Client::describe_secret)
        .sequence()
        .output(|| {
            DescribeSecretOutput::builder()
                .arn(ARN)
                .name("prod/db")
                .version_ids_to_stages("v1", vec!["AWSCURRENT".to_owned()])
                .rotation_enabled(true)
                .rotation_rules(
                    RotationRulesType::builder()
                        .automatically_after_days(1)
                        .build(),
                )
                .build()
        })
        .repeatedly()
        .build();
    let value = mock!(Client::get_secret_value)
        .sequence()
        .output(|| output("v1", r#"{"password":"pw"}"#))
        .repeatedly()
        .build();
    let cache = SecretCache::builder(mocked(RuleMode::MatchAny, &[&describe, &value]))
        .ttl(Duration::from_secs(48 * 3_600))
        .max_staleness(Duration::from_secs(72 * 3_600))
        .build()
        .expect("valid settings");
    let findings = || capture.text().matches("rotation guardrail").count();

    for _ in 0..100 {
        let cached = Cached::load(&cache).await.expect("Warn loads anyway");
        assert_eq!(cached.password.expose_secret(), "pw");
    }
    assert_eq!(findings(), 1, "one line for 100 loads:\n{}", capture.text());
    for _ in 0..100 {
        let declared = Declared::load(&cache).await.expect("Warn loads anyway");
        assert_eq!(declared.password.expose_secret(), "pw");
        Cached::load(&cache).await.expect("Warn loads anyway");
    }
    assert_eq!(
        findings(),
        2,
        "one more for the declared TTL, the TTL now in force:\n{}",
        capture.text()
    );
    for _ in 0..100 {
        let rotating = Rotating::load(&cache).await.expect("Warn loads anyway");
        assert_eq!(rotating.password.expose_secret(), "pw");
    }
    assert_eq!(
        findings(),
        3,
        "one more for the declared interval, none again for the reported one:\n{}",
        capture.text()
    );
    assert_eq!(describe.num_calls(), 1, "the interval is asked once");
}
