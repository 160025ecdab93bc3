//! A role per secret against STS faults moto cannot make (`FakeAws`: STS and Secrets Manager
//! played by the SDK's HTTP client, under paused time): an `AssumeRole` denial is typed,
//! remembered for `denial_retry` and tried again after it; throttling is transient and the
//! first load waits it out; an STS call that never answers ends by the call deadline; each
//! role reads its own account's secrets with its own credentials.

use std::time::Duration;

use asm_runtime::{AwsSecrets, Error, ExposeSecret, SecretCache, SecretCacheBuilder, SecretString};
use asm_testkit::{BASE_ACCOUNT, FakeAws, StsAnswer};
use tokio::time::Instant;

use crate::support::{CANARY, Capture, assert_error_clean};

const READER: &str = "arn:aws:iam::999999999999:role/reader";
const AUDITOR: &str = "arn:aws:iam::888888888888:role/auditor";

/// `prod/db` in the base account, the reader's and the auditor's, each its own value.
fn three_accounts() -> FakeAws {
    let aws = FakeAws::new();
    aws.secret(BASE_ACCOUNT, "prod/db", r#"{"password":"ours"}"#)
        .secret("999999999999", "prod/db", r#"{"password":"theirs"}"#)
        .secret("888888888888", "prod/db", r#"{"password":"audited"}"#);
    aws
}

fn builder(aws: &FakeAws) -> SecretCacheBuilder {
    SecretCache::builder_from_conf(&aws.sdk_config()).expect("a region")
}

fn password(secret: &asm_runtime::Secret) -> String {
    let password = secret.json_key("password").expect("a password");
    password.expose_secret().to_owned()
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db")]
struct Ours {
    password: SecretString,
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db", role = "arn:aws:iam::999999999999:role/reader")]
struct Theirs {
    password: SecretString,
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db", role = "arn:aws:iam::888888888888:role/auditor")]
struct Audited {
    password: SecretString,
}

#[tokio::test(start_paused = true)]
async fn each_role_reads_its_own_accounts_secret_with_its_own_credentials() {
    let aws = three_accounts();
    let cache = builder(&aws).build().expect("cache");
    let (ours, theirs, audited) = tokio::join!(
        Ours::watch(&cache),
        Theirs::watch(&cache),
        Audited::load(&cache)
    );
    assert_eq!(
        ours.expect("ours").current().password.expose_secret(),
        "ours"
    );
    assert_eq!(
        theirs.expect("theirs").current().password.expose_secret(),
        "theirs"
    );
    assert_eq!(
        audited.expect("audited").password.expose_secret(),
        "audited"
    );
    assert_eq!(aws.sts_calls(), 2, "one AssumeRole per role");
    for account in [BASE_ACCOUNT, "999999999999", "888888888888"] {
        // `GetSecretValue`, and `DescribeSecret` for the rotation guardrail.
        assert_eq!(
            aws.calls_in(account),
            2,
            "{account}: signed as its own principal"
        );
    }
    let reader = cache.as_role(READER).expect("the reader's view");
    assert_eq!(
        password(&reader.get("prod/db").await.expect("hit")),
        "theirs"
    );
    assert_eq!(
        aws.calls_in("999999999999"),
        2,
        "the struct's entry, shared"
    );
    assert_eq!(cache.roles(), [AUDITOR, READER]);
}

#[tokio::test(start_paused = true)]
async fn an_assume_role_denial_is_typed_remembered_and_tried_again_after_denial_retry() {
    let aws = three_accounts();
    aws.sts([StsAnswer::Deny]);
    let retry = Duration::from_secs(600);
    let cache = builder(&aws).denial_retry(retry).build().expect("cache");
    let reader = cache.as_role(READER).expect("view");
    let err = reader.get("prod/db").await.expect_err("denied");
    assert!(
        matches!(&err, Error::RoleDenied { role, secret_id } if role == READER && secret_id == "prod/db"),
        "{err:?}"
    );
    assert!(!err.is_transient(), "a denial is persistent: {err}");
    assert!(err.to_string().contains("sts:AssumeRole"), "{err}");
    assert_eq!((aws.sts_calls(), aws.calls_in("999999999999")), (1, 0));
    // Remembered for the role: another secret, a struct, the same secret again, no call.
    let other = reader.get("prod/api").await.expect_err("remembered");
    assert!(matches!(&other, Error::RoleDenied { secret_id, .. } if secret_id == "prod/api"));
    let derived = Theirs::load(&cache).await.expect_err("remembered");
    assert!(matches!(derived, Error::RoleDenied { .. }), "{derived:?}");
    assert_eq!(
        aws.sts_calls(),
        1,
        "no AssumeRole while the denial is remembered"
    );
    // The cache's own reads and another role's are untouched.
    assert_eq!(password(&cache.get("prod/db").await.expect("ours")), "ours");
    assert_eq!(
        Audited::load(&cache)
            .await
            .expect("audited")
            .password
            .expose_secret(),
        "audited"
    );
    assert!(cache.stats().persistent_failures >= 1);
    // After `denial_retry`, the role is asked again (and now granted).
    tokio::time::advance(retry).await;
    let theirs = reader.get("prod/db").await.expect("granted now");
    assert_eq!(password(&theirs), "theirs");
    assert_eq!(aws.sts_calls(), 3, "the reader again, and the auditor once");
}

#[tokio::test(start_paused = true)]
async fn refresh_now_through_a_denied_role_asks_again_at_once() {
    let aws = three_accounts();
    aws.sts([StsAnswer::Deny]);
    let cache = builder(&aws).build().expect("cache");
    let reader = cache.as_role(READER).expect("view");
    reader.get("prod/db").await.expect_err("denied");
    let theirs = reader
        .refresh_now("prod/db")
        .await
        .expect("the trust policy was fixed");
    assert_eq!(password(&theirs), "theirs");
    assert_eq!(aws.sts_calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_throttled_assume_role_is_transient_and_a_first_load_waits_it_out() {
    let aws = three_accounts();
    aws.sts([StsAnswer::Throttle, StsAnswer::Throttle]);
    let cache = builder(&aws).build().expect("cache");
    let theirs = Theirs::load(&cache).await.expect("loaded once STS answers");
    assert_eq!(theirs.password.expose_secret(), "theirs");
    assert_eq!(aws.sts_calls(), 3);
    // Throttled past the first load's retries, the error is typed and transient.
    let impatient_aws = three_accounts();
    impatient_aws.sts([StsAnswer::Throttle; 50]);
    let impatient = builder(&impatient_aws)
        .throttle_pacing(false)
        .build()
        .expect("cache");
    let err = impatient
        .as_role(READER)
        .expect("view")
        .get("prod/db")
        .await
        .expect_err("throttled");
    assert!(
        matches!(
            err,
            Error::Throttled {
                action: "sts:AssumeRole",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
}

#[tokio::test(start_paused = true)]
async fn an_sts_call_that_never_answers_ends_by_the_call_deadline() {
    let aws = three_accounts();
    aws.sts([StsAnswer::Hang; 20]);
    let cache = builder(&aws).build().expect("cache");
    let reader = cache.as_role(READER).expect("view");
    let started = Instant::now();
    let err = reader.get("prod/db").await.expect_err("no credentials");
    assert!(err.is_transient(), "{err:?}");
    assert!(
        started.elapsed() <= SecretCacheBuilder::DEFAULT_CALL_TIMEOUT,
        "the STS call counts against the call deadline: {:?}",
        started.elapsed()
    );
    assert_eq!(aws.calls_in("999999999999"), 0);
}

/// STS's refusal messages (the canary) reach neither an error nor the library's log lines.
/// aws-config's `AssumeRoleProvider` logs STS's message itself (a warning naming the
/// principals; STS never sees a secret value), so the check is on this project's lines.
#[tokio::test(start_paused = true)]
async fn leak_assume_role_failures() {
    let (capture, _guard) = Capture::start();
    let aws = three_accounts();
    aws.message(CANARY)
        .sts([StsAnswer::Grant, StsAnswer::Deny])
        .sts([StsAnswer::Throttle; 50]);
    let cache = builder(&aws).throttle_pacing(false).build().expect("cache");
    let missing = cache
        .as_role(AUDITOR)
        .expect("view")
        .get("absent")
        .await
        .expect_err("not found in the auditor's account");
    assert!(matches!(missing, Error::NotFound { .. }), "{missing:?}");
    assert_error_clean("not found through a role", &missing);
    let reader = cache.as_role(READER).expect("view");
    let denied = reader.get("prod/db").await.expect_err("denied");
    assert!(matches!(denied, Error::RoleDenied { .. }), "{denied:?}");
    assert_error_clean("AssumeRole denied", &denied);
    let remembered = Theirs::load(&cache).await.expect_err("remembered");
    assert_error_clean("AssumeRole denial remembered", &remembered);
    let throttled = reader.refresh_now("prod/db").await.expect_err("throttled");
    assert!(
        matches!(throttled, Error::Throttled { .. }),
        "{throttled:?}"
    );
    assert_error_clean("AssumeRole throttled", &throttled);
    capture.assert_ours_clean("AssumeRole failures");
}

/// 3 roles × 100 secrets in one process: four clients (the cache's own and one per role),
/// three role sessions (one `AssumeRole` each, cached by the SDK until they expire), 300
/// entries, one `GetSecretValue` per secret. Printed for the README:
/// `cargo test -p asm-tests --test reliability three_roles -- --nocapture`.
#[tokio::test(start_paused = true)]
async fn three_roles_of_a_hundred_secrets_hold_four_clients_and_three_sessions() {
    const BILLING: &str = "arn:aws:iam::777777777777:role/billing";
    let aws = FakeAws::new();
    let roles = [READER, AUDITOR, BILLING];
    for role in roles {
        let account = role.split(':').nth(4).expect("an account");
        for n in 0..100 {
            aws.secret(account, &format!("app/s{n}"), r#"{"password":"p"}"#);
        }
    }
    let cache = builder(&aws).build().expect("cache");
    for role in roles {
        let view = cache.as_role(role).expect("view");
        for n in 0..100 {
            view.get(&format!("app/s{n}")).await.expect("read");
        }
    }
    let stats = cache.stats();
    assert_eq!(cache.roles().len(), 3);
    assert_eq!(
        aws.sts_calls(),
        3,
        "one session per role, shared by its 100 secrets"
    );
    assert_eq!(stats.get_secret_value_calls, 300);
    // An hour of reads at the default TTL: version checks, and no new session.
    for _ in 0..60 {
        tokio::time::advance(Duration::from_secs(60)).await;
        for role in roles {
            cache
                .as_role(role)
                .expect("view")
                .get("app/s0")
                .await
                .expect("read");
        }
    }
    println!(
        "3 roles x 100 secrets: {} SDK clients (own + {} roles), {} AssumeRole calls, {} \
         GetSecretValue, then an hour of reads: {} DescribeSecret, {} AssumeRole",
        cache.roles().len() + 1,
        cache.roles().len(),
        aws.sts_calls(),
        stats.get_secret_value_calls,
        cache.stats().describe_secret_calls,
        aws.sts_calls(),
    );
    assert_eq!(aws.sts_calls(), 3);
}

/// With failover regions, a role's view fails over too, and its policy grants the replicas.
#[tokio::test(start_paused = true)]
async fn a_roles_view_fails_over_to_the_caches_regions() {
    let aws = three_accounts();
    let cache = builder(&aws)
        .failover_regions(["us-west-2"])
        .build()
        .expect("cache");
    let reader = cache.as_role(READER).expect("view");
    assert!(format!("{reader:?}").contains("us-west-2"), "{reader:?}");
    Theirs::load(&cache).await.expect("theirs");
    let policies = Theirs::iam_policies(&cache).expect("policies");
    let granted = policies.role(READER).expect("the reader's").resources();
    assert_eq!(
        granted,
        [
            "arn:aws:secretsmanager:us-east-1:999999999999:secret:prod/db-AbCdEf",
            "arn:aws:secretsmanager:us-west-2:999999999999:secret:prod/db-AbCdEf",
        ]
    );
}
