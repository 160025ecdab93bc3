//! Version checks by `DescribeSecret`, their fallback, and the rotation guardrail.

use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_smithy_types::DateTime;

use super::*;
use crate::testing::described;

fn describe_always(current: &str, rotation_days: Option<i64>) -> Rule {
    let current = current.to_owned();
    mock!(Client::describe_secret)
        .sequence()
        .output(move || described(&current, rotation_days))
        .repeatedly()
        .build()
}

/// `DescribeSecret` refused by IAM, every time.
fn describe_denied() -> Rule {
    mock!(Client::describe_secret)
        .sequence()
        .http_status(400, Some(error_body("AccessDeniedException")))
        .repeatedly()
        .build()
}

fn checking(client: Client) -> SecretCache {
    SecretCache::builder(client)
        .ttl(Duration::from_secs(60))
        .max_staleness(Duration::from_secs(300))
        .jitter(false)
        .build()
        .expect("valid settings")
}

/// Reads past the TTL and lets the refresh it starts finish.
async fn refresh(cache: &SecretCache) {
    tokio::time::advance(Duration::from_secs(61)).await;
    cache.get("prod/db").await.expect("served while refreshing");
    settle().await;
}

#[tokio::test(start_paused = true)]
async fn an_unchanged_version_is_confirmed_without_fetching_the_value() {
    let get = always_v1();
    let describe = describe_always("v1", None);
    let cache = checking(client(RuleMode::MatchAny, &[&get, &describe]));
    let first = cache.get("prod/db").await.expect("load");
    refresh(&cache).await;
    refresh(&cache).await;
    let now = cache.get("prod/db").await.expect("hit");
    assert!(Arc::ptr_eq(&first, &now), "the same value, confirmed");
    assert_eq!((get.num_calls(), describe.num_calls()), (1, 2));
    let stats = cache.stats();
    assert_eq!(
        (stats.get_secret_value_calls, stats.describe_secret_calls),
        (1, 2)
    );
    assert_eq!((stats.rotations, stats.failures), (0, 0));
    assert_eq!(stats.hits, 1, "the confirmed value is fresh again");
}

#[tokio::test(start_paused = true)]
async fn a_new_version_seen_by_describe_is_fetched_and_adopted() {
    let get = rotating("old", "new");
    let describe = describe_always("v2", None);
    let cache = checking(client(RuleMode::MatchAny, &[&get, &describe]));
    cache.get("prod/db").await.expect("load");
    refresh(&cache).await;
    let now = cache.get("prod/db").await.expect("hit");
    assert_eq!(now.version_id(), "v2");
    assert_eq!((get.num_calls(), describe.num_calls()), (2, 1));
    assert_eq!(cache.stats().rotations, 1);
}

#[tokio::test(start_paused = true)]
async fn a_denied_describe_falls_back_to_fetching_until_retried() {
    let get = rotating("old", "new");
    let describe = describe_denied();
    let cache = checking(client(RuleMode::MatchAny, &[&get, &describe]));
    cache.get("prod/db").await.expect("load");
    refresh(&cache).await;
    assert_eq!(
        cache.get("prod/db").await.expect("hit").version_id(),
        "v2",
        "the first refresh after the denial still adopts the rotation"
    );
    refresh(&cache).await;
    assert_eq!((get.num_calls(), describe.num_calls()), (3, 1));
    assert_eq!(cache.stats().failures, 0, "a denied check is not a failure");
}

#[tokio::test(start_paused = true)]
async fn a_secret_scheduled_for_deletion_is_reported_and_served_until_stale() {
    let get = always_v1();
    let describe = mock!(Client::describe_secret)
        .sequence()
        .output(|| {
            let mut out = described("v1", None);
            out.deleted_date = Some(DateTime::from_secs(1_700_000_000));
            out
        })
        .repeatedly()
        .build();
    let cache = checking(client(RuleMode::MatchAny, &[&get, &describe]));
    cache.get("prod/db").await.expect("load");
    refresh(&cache).await;
    assert_eq!(
        cache
            .get("prod/db")
            .await
            .expect("still served")
            .version_id(),
        "v1"
    );
    let stats = cache.stats();
    assert_eq!((stats.failures, stats.persistent_failures), (1, 1));
    tokio::time::advance(Duration::from_secs(300)).await;
    match cache.get("prod/db").await {
        Err(Error::Stale { last_failure, .. }) => assert!(
            matches!(&*last_failure, Error::InvalidRequest { code, .. } if code == "ScheduledForDeletion"),
            "{last_failure:?}"
        ),
        other => panic!("expected Stale, got {other:?}"),
    }
}

fn long_ttl(client: Client, guardrail: RotationGuardrail) -> SecretCache {
    let day = Duration::from_secs(86_400);
    SecretCache::builder(client)
        .ttl(day * 2)
        .max_staleness(day * 3)
        .rotation_guardrail(guardrail)
        .build()
        .expect("valid settings")
}

#[tokio::test(start_paused = true)]
async fn the_guardrail_fails_a_strict_load_whose_ttl_reaches_the_rotation_interval() {
    let get = always_v1();
    let describe = describe_always("v1", Some(1));
    let rules = [&get, &describe];
    let strict = long_ttl(
        client(RuleMode::MatchAny, &rules),
        RotationGuardrail::Strict,
    );
    match strict.get_many(&requests(&["prod/db"])).await {
        Err(Error::TtlNotBelowRotation { ttl, rotation, .. }) => {
            assert_eq!((ttl.as_secs(), rotation.as_secs()), (172_800, 86_400));
        }
        other => panic!("expected TtlNotBelowRotation, got {other:?}"),
    }

    let warn = long_ttl(client(RuleMode::MatchAny, &rules), RotationGuardrail::Warn);
    warn.get_many(&requests(&["prod/db"]))
        .await
        .expect("a warning only");
    warn.get_many(&requests(&["prod/db"])).await.expect("hit");
    assert_eq!(
        warn.stats().describe_secret_calls,
        1,
        "the interval is asked once per secret"
    );

    let off = long_ttl(client(RuleMode::MatchAny, &rules), RotationGuardrail::Off);
    off.get_many(&requests(&["prod/db"]))
        .await
        .expect("no check");
    assert_eq!(off.stats().describe_secret_calls, 0);
}

#[tokio::test(start_paused = true)]
async fn a_strict_guardrail_fails_when_it_cannot_read_the_rotation_rules() {
    let get = always_v1();
    let describe = describe_denied();
    let rules = [&get, &describe];
    let strict = long_ttl(
        client(RuleMode::MatchAny, &rules),
        RotationGuardrail::Strict,
    );
    let err = strict
        .get_many(&requests(&["prod/db"]))
        .await
        .expect_err("unverifiable");
    assert!(
        matches!(
            err,
            Error::AccessDenied {
                action: "secretsmanager:DescribeSecret",
                ..
            }
        ),
        "{err:?}"
    );
    let warn = long_ttl(client(RuleMode::MatchAny, &rules), RotationGuardrail::Warn);
    warn.get_many(&requests(&["prod/db"]))
        .await
        .expect("skipped with a warning");
}

/// `GetSecretValue` of secret `name`, version `v1`, for ever.
fn get_named(name: &'static str) -> Rule {
    mock!(Client::get_secret_value)
        .match_requests(move |r| r.secret_id() == Some(name))
        .sequence()
        .output(move || {
            GetSecretValueOutput::builder()
                .arn(format!(
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf"
                ))
                .name(name)
                .version_id("v1")
                .version_stages("AWSCURRENT")
                .secret_string("value")
                .build()
        })
        .repeatedly()
        .build()
}

/// `DescribeSecret` of secret `name`: denied `denials` times, then `v1` is current.
fn describe_named(name: &'static str, denials: usize) -> Rule {
    let described = move || {
        let mut out = described("v1", None);
        out.name = Some(name.to_owned());
        out.arn = Some(format!(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf"
        ));
        out
    };
    let rule = mock!(Client::describe_secret)
        .match_requests(move |r| r.secret_id() == Some(name))
        .sequence();
    let rule = if denials > 0 {
        rule.http_status(400, Some(error_body("AccessDeniedException")))
            .times(denials)
    } else {
        rule
    };
    rule.output(described).repeatedly().build()
}

#[tokio::test(start_paused = true)]
async fn a_denial_for_one_secret_leaves_the_other_checked_and_is_retried_after_the_period() {
    let (get_a, get_b) = (get_named("a"), get_named("b"));
    // IAM denies DescribeSecret on `a` until a policy change: the first call is refused.
    let (describe_a, describe_b) = (describe_named("a", 1), describe_named("b", 0));
    let rules = [&get_a, &get_b, &describe_a, &describe_b];
    let cache = SecretCache::builder(client(RuleMode::MatchAny, &rules))
        .ttl(Duration::from_secs(600))
        .max_staleness(Duration::from_secs(7_200))
        .jitter(false)
        .rotation_guardrail(RotationGuardrail::Off)
        .build()
        .expect("settings");
    let read_both = || async {
        cache.get("a").await.expect("a");
        cache.get("b").await.expect("b");
        settle().await;
    };
    read_both().await;
    let period = SecretCacheBuilder::DEFAULT_DENIAL_RETRY;
    let started = Instant::now();
    let mut refreshes = 0;
    while started.elapsed() + Duration::from_secs(601) < period {
        tokio::time::advance(Duration::from_secs(601)).await;
        read_both().await;
        refreshes += 1;
    }
    assert_eq!(refreshes, 5);
    // Within the period: `a` fetched at each refresh after one denied check; `b` checked.
    assert_eq!(
        (describe_a.num_calls(), get_a.num_calls()),
        (1, 1 + refreshes)
    );
    assert_eq!((describe_b.num_calls(), get_b.num_calls()), (refreshes, 1));
    // After it, `a`'s check is tried again; the denial has lifted, so `a` is checked too.
    for _ in 0..2 {
        tokio::time::advance(Duration::from_secs(601)).await;
        read_both().await;
    }
    assert_eq!(
        describe_a.num_calls(),
        2,
        "retried once the period was over"
    );
    assert_eq!(
        get_a.num_calls(),
        1 + refreshes + 1,
        "then confirmed by checks"
    );
    let stats = cache.stats();
    println!(
        "DescribeSecret denied on one of two secrets for an hour: {} calls ({} DescribeSecret, \
         {} GetSecretValue) over {} refreshes",
        stats.api_calls(),
        stats.describe_secret_calls,
        stats.get_secret_value_calls,
        refreshes + 2
    );
}

#[tokio::test(start_paused = true)]
async fn a_throttled_guardrail_check_never_fails_a_strict_load_and_is_asked_once_per_window() {
    let get = always_v1();
    let describe = mock!(Client::describe_secret)
        .sequence()
        .http_status(400, Some(error_body("ThrottlingException")))
        .repeatedly()
        .build();
    let cache = SecretCache::builder(client(RuleMode::MatchAny, &[&get, &describe]))
        .ttl(Duration::from_secs(60))
        .rotation_guardrail(RotationGuardrail::Strict)
        .version_checks(false)
        .build()
        .expect("settings");
    let requests = requests(&["prod/db"]);
    let loads = (0..32).map(|_| cache.get_many(&requests));
    for loaded in join_all(loads).await {
        loaded.expect("a throttled check does not fail a strict load");
    }
    assert_eq!(describe.num_calls(), 1, "32 loads, one check");
    tokio::time::advance(Duration::from_millis(400)).await;
    cache.get_many(&requests).await.expect("hit");
    assert_eq!(describe.num_calls(), 1, "remembered for at least 0.5 s");
    tokio::time::advance(Duration::from_millis(700)).await;
    cache.get_many(&requests).await.expect("hit");
    assert_eq!(describe.num_calls(), 2, "checked again after the window");
}
