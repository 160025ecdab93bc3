//! Failover regions: a primary that fails transiently is answered by the replica within the
//! primary's share of the call deadline; persistent failures never fail over; a healthy
//! primary makes no replica call; the primary is asked first again at every call.

use super::*;
use crate::iam::IamPolicy;
use crate::testing::{client_in, described, silent_client};

const REPLICA_ARN: &str = "arn:aws:secretsmanager:us-west-2:123456789012:secret:prod/db-AbCdEf";

/// A `GetSecretValue` answer from the us-west-2 replica of `prod/db`.
fn replica_output(version: &str, value: &str) -> GetSecretValueOutput {
    GetSecretValueOutput::builder()
        .arn(REPLICA_ARN)
        .name("prod/db")
        .version_id(version)
        .version_stages("AWSCURRENT")
        .secret_string(value)
        .build()
}

/// The us-west-2 replica, answering `v1` for ever.
pub(in crate::cache) fn replica_v1() -> Rule {
    mock!(Client::get_secret_value)
        .sequence()
        .output(|| replica_output("v1", "from the replica"))
        .repeatedly()
        .build()
}

pub(in crate::cache) fn west(rules: &[&Rule]) -> Client {
    client_in("us-west-2", RuleMode::MatchAny, rules)
}

/// The fetch path (TTL 60 s, no jitter) over `primary`, failing over to `replica`.
fn failing_over(primary: Client, replica: Client) -> SecretCache {
    minute(primary)
        .failover_client(replica)
        .build()
        .expect("valid settings")
}

fn text(secret: &Secret) -> String {
    secret.string().expect("text").expose_secret().to_owned()
}

#[tokio::test(start_paused = true)]
async fn a_blackholed_primary_is_answered_by_the_replica_within_half_the_call_deadline() {
    let call = SecretCacheBuilder::DEFAULT_CALL_TIMEOUT;
    // The primary's one attempt (SDK retries are off here) ends by `attempt_timeout`, 3 s;
    // with attempts as long as the call, by the primary's share of the call deadline, 5 s.
    for (attempt, expected) in [
        (Duration::from_secs(3), Duration::from_secs(3)),
        (call, call / 2),
    ] {
        let replica = replica_v1();
        let cache = minute(silent_client())
            .attempt_timeout(attempt)
            .failover_client(west(&[&replica]))
            .build()
            .expect("valid settings");
        let started = Instant::now();
        cache.get("prod/db").await.expect("answered by the replica");
        assert_eq!(started.elapsed(), expected, "attempt_timeout {attempt:?}");
    }
    let replica = replica_v1();
    let cache = failing_over(silent_client(), west(&[&replica]));
    let secret = cache.get("prod/db").await.expect("answered by the replica");
    assert_eq!(text(&secret), "from the replica");
    assert_eq!(
        secret.arn(),
        REPLICA_ARN,
        "the value names the region that answered"
    );
    let stats = cache.stats();
    assert_eq!(
        (
            stats.get_secret_value_calls,
            stats.failover_calls,
            stats.replica_reads
        ),
        (2, 1, 1)
    );
    // The same without failover: the whole call deadline, then a timeout.
    let alone = minute(silent_client()).build().expect("valid settings");
    let started = Instant::now();
    let err = alone.get("prod/db").await.expect_err("no replica to ask");
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        ),
        "{err:?}"
    );
    let took = started.elapsed();
    assert!(
        took > call / 2 && took <= call,
        "{took:?}: tried until the call deadline"
    );
}

#[tokio::test(start_paused = true)]
async fn replicas_share_what_the_primary_left_in_order() {
    let replica = replica_v1();
    let cache = minute(silent_client())
        .failover_client(silent_client_in("eu-west-1"))
        .failover_client(west(&[&replica]))
        .build()
        .expect("valid settings");
    let started = Instant::now();
    cache
        .get("prod/db")
        .await
        .expect("the second replica answers");
    // The primary's attempt (3 s), then the first replica's even share of the 5 s left to
    // the replicas.
    assert_eq!(started.elapsed(), Duration::from_millis(5_500));
    let stats = cache.stats();
    assert_eq!((stats.failover_calls, stats.replica_reads), (2, 1));
}

/// A silent client whose configuration names `region`.
pub(in crate::cache) fn silent_client_in(region: &'static str) -> Client {
    let config = silent_client()
        .config()
        .to_builder()
        .region(aws_sdk_secretsmanager::config::Region::new(region))
        .build();
    Client::from_conf(config)
}

#[tokio::test(start_paused = true)]
async fn persistent_failures_never_fail_over() {
    for (status, code) in [
        (400, "ResourceNotFoundException"),
        (400, "AccessDeniedException"),
        (400, "DecryptionFailure"),
        (400, "InvalidRequestException"),
    ] {
        let (primary, replica) = (http_error(status, code), replica_v1());
        let cache = failing_over(client(RuleMode::MatchAny, &[&primary]), west(&[&replica]));
        let err = cache.get("prod/db").await.expect_err(code);
        assert!(!err.is_transient(), "{code}: {err:?}");
        assert_eq!(replica.num_calls(), 0, "{code}: no replica call");
        assert_eq!(cache.stats().failover_calls, 0, "{code}");
    }
}

#[tokio::test(start_paused = true)]
async fn transient_failures_fail_over_and_the_primary_is_asked_first_again() {
    // The first load, a refresh failing with a 503, then healthy again.
    let primary = mock!(Client::get_secret_value)
        .sequence()
        .output(|| output("v1", "from the primary"))
        .http_status(503, Some(error_body("ServiceUnavailable")))
        .output(|| output("v1", "from the primary"))
        .repeatedly()
        .build();
    let replica = replica_v1();
    let cache = failing_over(client(RuleMode::Sequential, &[&primary]), west(&[&replica]));
    let first = cache.get("prod/db").await.expect("first load");
    assert_eq!(text(&first), "from the primary");
    for round in 1..=3 {
        tokio::time::advance(Duration::from_secs(61)).await;
        cache.get("prod/db").await.expect("served while refreshing");
        settle().await;
        let now = cache.get("prod/db").await.expect("refreshed");
        let expected = if round == 1 {
            "from the replica"
        } else {
            "from the primary"
        };
        assert_eq!(text(&now), expected, "refresh {round}");
    }
    assert_eq!(primary.num_calls(), 4, "the primary first at every refresh");
    assert_eq!(
        replica.num_calls(),
        1,
        "the replica only when the primary failed"
    );
    assert_eq!(cache.stats().replica_reads, 1);
    assert_eq!(cache.stats().rotations, 0, "one version in both regions");
}

#[tokio::test(start_paused = true)]
async fn version_checks_fail_over_too() {
    let primary_describe = mock!(Client::describe_secret)
        .sequence()
        .http_status(500, Some(error_body("InternalServiceError")))
        .repeatedly()
        .build();
    let primary_get = always_v1();
    let replica_describe = mock!(Client::describe_secret).then_output(|| {
        let mut out = described("v1", None);
        out.arn = Some(REPLICA_ARN.to_owned());
        out
    });
    let cache = SecretCache::builder(client(
        RuleMode::MatchAny,
        &[&primary_describe, &primary_get],
    ))
    .ttl(Duration::from_secs(60))
    .jitter(false)
    .failover_client(west(&[&replica_describe]))
    .build()
    .expect("valid settings");
    cache.get("prod/db").await.expect("first load");
    tokio::time::advance(Duration::from_secs(61)).await;
    cache.get("prod/db").await.expect("served while checking");
    settle().await;
    let stats = cache.stats();
    assert_eq!(
        (stats.describe_secret_calls, stats.replica_reads),
        (2, 1),
        "the primary's failed check, then the replica's"
    );
    assert_eq!(
        primary_get.num_calls(),
        1,
        "the version is unchanged: no fetch"
    );
}

#[tokio::test(start_paused = true)]
async fn when_every_region_fails_the_primarys_failure_is_the_answer() {
    let primary = http_error(500, "InternalServiceError");
    let missing = http_error(400, "ResourceNotFoundException");
    let cache = failing_over(client(RuleMode::MatchAny, &[&primary]), west(&[&missing]));
    let err = cache.get("prod/db").await.expect_err("no region answers");
    assert!(
        matches!(&err, Error::Service { code, .. } if code == "InternalServiceError"),
        "a replica's not-found is not the secret's: {err:?}"
    );
    assert!(
        missing.num_calls() > 1,
        "transient: the first load was retried, each try failing over"
    );
    assert_eq!(cache.stats().replica_reads, 0);
    assert_eq!(cache.stats().failures_remembered, 0);
}

/// An hour of reads, one a second, with the default settings (version checks, jitter) but
/// failover; the calls it took.
async fn an_hour_of_reads(failover: bool) -> Stats {
    let primary_get = always_v1();
    let primary_describe = mock!(Client::describe_secret).then_output(|| described("v1", Some(30)));
    let mut builder = SecretCache::builder(client(
        RuleMode::MatchAny,
        &[&primary_get, &primary_describe],
    ));
    if failover {
        // The us-west-2 client shares the primary's mocked rules, the eu-west-1 one never
        // answers: neither may be asked.
        builder = builder
            .failover_regions(["us-west-2"])
            .failover_client(silent_client_in("eu-west-1"));
    }
    let cache = builder.build().expect("valid settings");
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3_600) {
        cache.get("prod/db").await.expect("served");
        tokio::time::advance(Duration::from_secs(1)).await;
    }
    settle().await;
    cache.stats()
}

#[tokio::test(start_paused = true)]
async fn a_healthy_primary_makes_no_replica_call_in_an_hour() {
    let on = an_hour_of_reads(true).await;
    assert_eq!((on.failover_calls, on.replica_reads), (0, 0), "{on:?}");
    let off = an_hour_of_reads(false).await;
    assert!(on.api_calls() > 2, "the primary was asked: {on:?}");
    assert!(
        on.api_calls().abs_diff(off.api_calls()) <= 1,
        "failover costs no call while the primary is healthy (jitter aside): {on:?} {off:?}"
    );
    println!(
        "one secret read every second for an hour, healthy primary: {} calls with failover \
         ({} GetSecretValue, {} DescribeSecret, {} to a replica), {} without",
        on.api_calls(),
        on.get_secret_value_calls,
        on.describe_secret_calls,
        on.failover_calls,
        off.api_calls()
    );
}

#[tokio::test(start_paused = true)]
async fn failover_regions_build_a_client_per_region_from_the_primarys() {
    // The replicas' clients are the mocked client with the region replaced: they share its
    // rules, answered in order (primary, us-west-2, eu-west-1).
    let rule = mock!(Client::get_secret_value)
        .sequence()
        .http_status(503, Some(error_body("ServiceUnavailable")))
        .times(2)
        .output(|| replica_output("v1", "from the replica"))
        .build();
    let cache = minute(client(RuleMode::Sequential, &[&rule]))
        .failover_regions(["us-west-2", "eu-west-1"])
        .build()
        .expect("valid settings");
    let debug = format!("{cache:?}");
    assert!(
        debug.contains(r#"failover_regions: ["us-west-2", "eu-west-1"]"#),
        "{debug}"
    );
    let builder = SecretCache::builder(client(RuleMode::MatchAny, &[]))
        .failover_regions(["us-west-2"])
        .failover_client(silent_client_in("eu-west-1"));
    let debug = format!("{builder:?}");
    assert!(
        debug.contains(r#"failover: ["us-west-2", Client(Some("eu-west-1"))]"#),
        "{debug}"
    );
    cache
        .get("prod/db")
        .await
        .expect("the second replica answers");
    let stats = cache.stats();
    assert_eq!((stats.failover_calls, stats.replica_reads), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn a_replicas_answer_is_one_entry_with_the_primarys() {
    let primary = http_error(503, "ServiceUnavailable");
    let replica = replica_v1();
    let cache = failing_over(client(RuleMode::MatchAny, &[&primary]), west(&[&replica]));
    cache.get("prod/db").await.expect("from the replica");
    let by_arn = cache.get(ARN).await.expect("the primary's ARN finds it");
    assert_eq!(text(&by_arn), "from the replica");
    assert_eq!(replica.num_calls(), 1, "one entry, one call");
    let policy = IamPolicy::for_ids(&cache, ["prod/db"].into_iter()).expect("policy");
    assert_eq!(policy.resources(), [ARN, REPLICA_ARN]);
    cache.invalidate("prod/db");
    assert!(cache.known_arn(ARN).is_none(), "invalidated under every id");
}

#[tokio::test(start_paused = true)]
async fn the_policy_grants_every_secret_in_every_failover_region() {
    let rule = always_v1();
    let cache = minute(client(RuleMode::MatchAny, &[&rule]))
        .failover_regions(["us-west-2", "eu-west-1"])
        .build()
        .expect("valid settings");
    cache.get("prod/db").await.expect("load");
    let other = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/api";
    let policy = IamPolicy::for_ids(&cache, ["prod/db", other].into_iter()).expect("policy");
    let mut expected = vec![
        ARN.to_owned(),
        ARN.replace("us-east-1", "us-west-2"),
        ARN.replace("us-east-1", "eu-west-1"),
        format!("{other}-??????"),
        format!("{other}-??????").replace("us-east-1", "us-west-2"),
        format!("{other}-??????").replace("us-east-1", "eu-west-1"),
    ];
    expected.sort();
    assert_eq!(policy.resources(), expected);
}

#[test]
fn failover_settings_are_checked_at_build() {
    let refused = |builder: SecretCacheBuilder, why: &str| match builder.build() {
        Err(Error::Config { message }) => assert!(message.contains(why), "{why}: {message}"),
        other => panic!("{why}: {other:?}"),
    };
    let sdk = || SecretCache::builder(client(RuleMode::MatchAny, &[]));
    refused(sdk().failover_regions([""]), "not a region name");
    refused(sdk().failover_regions(["US-WEST-2"]), "not a region name");
    refused(
        sdk().failover_regions(["us-east-1"]),
        "is the primary region",
    );
    refused(
        sdk().failover_regions(["us-west-2", "us-west-2"]),
        "given twice",
    );
    refused(
        sdk()
            .failover_regions(["us-west-2"])
            .failover_client(silent_client_in("us-west-2")),
        "given twice",
    );
    refused(sdk().failover_regions(["cn-north-1"]), "another partition");
    let no_region = Client::from_conf(silent_client().config().to_builder().region(None).build());
    refused(sdk().failover_client(no_region), "has no region");
    refused(
        SecretCache::builder(crate::AgentSource::new()).failover_regions(["us-west-2"]),
        "need the Secrets Manager API",
    );
    assert!(sdk().failover_regions(Vec::<String>::new()).build().is_ok());
    assert!(
        sdk()
            .failover_regions(["us-west-2", "eu-west-1"])
            .build()
            .is_ok()
    );
}

/// A struct's first load with batching on, against a blackholed primary: the batch is the
/// primary's call for its secrets, so when it times out they are read from the replica at
/// once, not asked of the primary again (which would spend the rest of the call deadline).
#[tokio::test(start_paused = true)]
async fn a_batch_that_times_out_sends_its_secrets_to_the_replica() {
    let replica = mock!(Client::get_secret_value).then_compute_output(|input| {
        let name = input.secret_id().unwrap_or_default().to_owned();
        GetSecretValueOutput::builder()
            .arn(format!(
                "arn:aws:secretsmanager:us-west-2:123456789012:secret:{name}-AbCdEf"
            ))
            .name(name)
            .version_id("v1")
            .secret_string("from the replica")
            .build()
    });
    let cache = minute(silent_client())
        .batch(true)
        .attempt_timeout(SecretCacheBuilder::DEFAULT_CALL_TIMEOUT)
        .failover_client(west(&[&replica]))
        .build()
        .expect("valid settings");
    let started = Instant::now();
    let secrets = cache
        .get_many(&requests(&["prod/a", "prod/b"]))
        .await
        .expect("both from the replica");
    assert_eq!(secrets.len(), 2);
    assert_eq!(
        started.elapsed(),
        SecretCacheBuilder::DEFAULT_CALL_TIMEOUT / 2,
        "the batch's half of the call deadline, then the replica"
    );
    let stats = cache.stats();
    assert_eq!(
        (
            stats.batch_get_secret_value_calls,
            stats.get_secret_value_calls,
            stats.replica_reads
        ),
        (1, 2, 2),
        "one batch to the primary, one replica call per secret"
    );
}

/// A throttled batch says nothing of the primary's health (its quota is a hundredth of
/// `GetSecretValue`'s): its secrets are read from the primary one by one, as without failover.
#[tokio::test(start_paused = true)]
async fn a_throttled_batch_falls_back_to_the_primary_not_the_replica() {
    let batch = mock!(Client::batch_get_secret_value)
        .sequence()
        .http_status(400, Some(error_body("ThrottlingException")))
        .repeatedly()
        .build();
    let single = always_v1();
    let replica = replica_v1();
    let cache = minute(client(RuleMode::MatchAny, &[&batch, &single]))
        .batch(true)
        .failover_client(west(&[&replica]))
        .build()
        .expect("valid settings");
    cache
        .get_many(&requests(&["prod/a", "prod/b"]))
        .await
        .expect("from the primary");
    assert_eq!(single.num_calls(), 2);
    assert_eq!(replica.num_calls(), 0);
}
