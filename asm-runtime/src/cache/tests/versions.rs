//! Version checks by `DescribeSecret`, their fallback, and the rotation guardrail.

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
async fn a_denied_describe_falls_back_to_fetching_once_and_for_all() {
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
