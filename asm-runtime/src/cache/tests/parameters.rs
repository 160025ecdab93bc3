//! Parameter Store parameters through the cache: one more (id, version), keyed apart from
//! secrets, a new version adopted as a rotation, versions and labels as `Version`s.

use super::*;
use crate::{MemorySource, Version};

const HOST: &str = "ssm:/prod/orders/db-host";
const HOST_ARN: &str = "arn:aws:ssm:us-east-1:111122223333:parameter/prod/orders/db-host";

fn over(store: &MemorySource) -> SecretCache {
    SecretCache::builder(store.clone())
        .ttl(Duration::from_secs(60))
        .max_staleness(Duration::from_secs(300))
        .jitter(false)
        .build()
        .expect("valid settings")
}

fn text(secret: &Secret) -> &str {
    secret.string().expect("text").expose_secret()
}

#[tokio::test(start_paused = true)]
async fn a_parameter_is_cached_and_its_new_version_adopted_as_a_rotation() {
    let store = MemorySource::new();
    store.parameter("/prod/orders/db-host", "db-1");
    let cache = over(&store);
    let first = cache.get(HOST).await.expect("loaded");
    assert_eq!((text(&first), first.version_id()), ("db-1", "1"));
    assert_eq!(
        (first.name(), first.arn()),
        ("/prod/orders/db-host", HOST_ARN)
    );
    assert!(cache.get(HOST).now_or_never().is_some(), "a hit");
    store.parameter("/prod/orders/db-host", "db-2");
    tokio::time::advance(Duration::from_secs(61)).await;
    let served = cache.get(HOST).await.expect("served while refreshing");
    assert_eq!(text(&served), "db-1");
    settle().await;
    let rotated = cache.get(HOST).await.expect("rotated");
    assert_eq!((text(&rotated), rotated.version_id()), ("db-2", "2"));
    let stats = cache.stats();
    assert_eq!(stats.get_parameter_calls, 2, "{stats:?}");
    assert_eq!(stats.rotations, 1);
    assert_eq!(
        stats.get_secret_value_calls + stats.describe_secret_calls,
        0
    );
    assert_eq!(stats.api_calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_secret_and_a_parameter_of_one_name_are_two_entries() {
    let store = MemorySource::new();
    store.text("/prod/orders/db-host", "the secret");
    store.parameter("/prod/orders/db-host", "the parameter");
    let cache = over(&store);
    let parameter = cache.get(HOST).await.expect("parameter");
    let secret = cache.get("/prod/orders/db-host").await.expect("secret");
    assert_eq!(text(&parameter), "the parameter");
    assert_eq!(text(&secret), "the secret");
    // Read by ARN once loaded by name: the same entry, no call.
    let by_arn = cache.get(HOST_ARN).await.expect("by ARN");
    assert!(Arc::ptr_eq(&by_arn, &parameter));
    assert_eq!(cache.stats().get_parameter_calls, 1);
}

#[tokio::test(start_paused = true)]
async fn versions_and_labels_select_and_missing_ones_are_typed_and_remembered() {
    let store = MemorySource::new();
    store.parameter("/prod/orders/db-host", "db-1");
    store.parameter("/prod/orders/db-host", "db-2");
    store.label_parameter("/prod/orders/db-host", 1, "blue");
    let cache = over(&store);
    let first = cache
        .get_version(HOST, &Version::id("1"))
        .await
        .expect("v1");
    let blue = cache
        .get_version(HOST, &Version::stage("blue"))
        .await
        .expect("blue");
    assert_eq!((text(&first), text(&blue)), ("db-1", "db-1"));
    let missing = cache.get_version(HOST, &Version::id("9")).await;
    assert!(
        matches!(&missing, Err(Error::VersionNotFound { version, .. }) if *version == Version::id("9")),
        "{missing:?}"
    );
    let absent = cache.get("ssm:/prod/orders/nothing").await;
    assert!(matches!(absent, Err(Error::NotFound { .. })), "{absent:?}");
    let again = cache.get("ssm:/prod/orders/nothing").await;
    assert!(matches!(again, Err(Error::NotFound { .. })));
    assert_eq!(cache.stats().failures_remembered, 1);
}

#[tokio::test(start_paused = true)]
async fn a_cache_without_a_parameter_source_says_how_to_get_one_and_calls_nothing() {
    let rule = always_v1();
    let cache = minute(client(RuleMode::MatchAny, &[&rule]))
        .build()
        .expect("valid settings");
    let err = cache.get(HOST).await.expect_err("no parameter source");
    assert!(
        matches!(&err, Error::Config { message } if message.contains("parameter_client")),
        "{err}"
    );
    let malformed = cache.get("ssm:/aws/private").await.expect_err("reserved");
    assert!(
        malformed.to_string().contains("cannot start with `aws`"),
        "{malformed}"
    );
    assert_eq!(
        cache.stats().get_secret_value_calls,
        0,
        "nothing asked of Secrets Manager"
    );
    assert_eq!(rule.num_calls(), 0);
}
