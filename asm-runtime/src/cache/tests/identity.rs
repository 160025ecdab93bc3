//! One secret read by name and by ARN: one entry, one flight, and `invalidate`/`refresh_now`
//! by either id reaching every reader.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use super::*;

/// `prod/db` of our account (`ARN`), whichever id it is asked by; its version is `v{n}` where
/// `n` is what `version` holds.
fn ours_at(version: &Arc<AtomicUsize>) -> Rule {
    let version = Arc::clone(version);
    mock!(Client::get_secret_value).then_compute_output(move |_| {
        let v = version.load(Relaxed);
        output(&format!("v{v}"), &format!("value {v}"))
    })
}

fn over(rule: &Rule) -> SecretCache {
    SecretCache::builder(client(RuleMode::MatchAny, &[rule]))
        .version_checks(false)
        .build()
        .expect("cache")
}

fn text(secret: &Secret) -> String {
    secret.string().expect("text").expose_secret().to_owned()
}

#[tokio::test]
async fn concurrent_first_loads_by_name_and_by_arn_share_one_call() {
    let version = Arc::new(AtomicUsize::new(1));
    let rule = ours_at(&version);
    let cache = over(&rule);
    let (by_name, by_arn) = tokio::join!(cache.get("prod/db"), cache.get(ARN));
    assert_eq!(text(&by_name.expect("by name")), "value 1");
    assert_eq!(text(&by_arn.expect("by ARN")), "value 1");
    assert_eq!(rule.num_calls(), 1, "one flight for both ids");
    // …and one entry: invalidating the name reaches the ARN's readers.
    version.store(2, Relaxed);
    cache.invalidate("prod/db");
    assert_eq!(text(&cache.get(ARN).await.expect("by ARN")), "value 2");
    assert_eq!(
        text(&cache.get("prod/db").await.expect("by name")),
        "value 2"
    );
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn a_read_by_name_after_one_by_arn_merges_their_entries() {
    let version = Arc::new(AtomicUsize::new(1));
    let rule = ours_at(&version);
    let cache = over(&rule);
    cache.get(ARN).await.expect("by ARN first");
    // Which account names resolve in is not known yet: the name costs its own call…
    cache.get("prod/db").await.expect("then by name");
    assert_eq!(rule.num_calls(), 2);
    // …after which the two ids share one entry: a refresh by name reaches the ARN's readers.
    version.store(2, Relaxed);
    let refreshed = cache.refresh_now("prod/db").await.expect("refresh by name");
    assert_eq!(text(&refreshed), "value 2");
    assert_eq!(
        text(&cache.get(ARN).await.expect("by ARN: a hit")),
        "value 2"
    );
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn invalidating_a_name_reaches_an_arn_read_before_any_read_by_name() {
    let version = Arc::new(AtomicUsize::new(1));
    let rule = ours_at(&version);
    let cache = over(&rule);
    cache.get(ARN).await.expect("by ARN");
    version.store(2, Relaxed);
    // No read by name yet: the name may mean this secret, so its entry goes too.
    cache.invalidate("prod/db");
    assert_eq!(text(&cache.get(ARN).await.expect("reloaded")), "value 2");
    assert_eq!(rule.num_calls(), 2);
}

#[cfg(feature = "testing")]
/// `MemorySource`'s ARN of `name` (account 111122223333, us-east-1).
fn memory_arn(name: &str) -> String {
    format!("arn:aws:secretsmanager:us-east-1:111122223333:secret:{name}-memory")
}

#[cfg(feature = "testing")]
/// A cache over `source` holding ten other secrets: new entries then wait in the map's side
/// table before they are published, where a read by ARN must still find a first load by name.
async fn busy(source: &crate::MemorySource) -> SecretCache {
    let cache = SecretCache::builder(source.clone()).build().expect("cache");
    for n in 0..10 {
        let name = format!("other/{n}");
        source.text(&name, "other");
        cache.get(&name).await.expect("another secret");
    }
    cache
}

#[cfg(feature = "testing")]
#[tokio::test]
async fn a_read_by_arn_shares_a_first_load_by_name_in_a_busy_cache() {
    let source = crate::MemorySource::new();
    source.text("prod/db", "value");
    let cache = busy(&source).await;
    let before = source.calls();
    let arn = memory_arn("prod/db");
    let (by_name, by_arn) = tokio::join!(cache.get("prod/db"), cache.get(&arn));
    assert_eq!(text(&by_name.expect("by name")), "value");
    assert_eq!(text(&by_arn.expect("by ARN")), "value");
    assert_eq!(source.calls() - before, 1, "one call for both ids");
}

#[cfg(feature = "testing")]
#[tokio::test]
async fn a_read_by_partial_arn_shares_a_first_load_by_name_and_then_hits() {
    let source = crate::MemorySource::new();
    source.text("prod/db", "value");
    let cache = busy(&source).await;
    let before = source.calls();
    let partial = "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db";
    let (by_name, by_partial) = tokio::join!(cache.get("prod/db"), cache.get(partial));
    assert_eq!(text(&by_name.expect("by name")), "value");
    assert_eq!(text(&by_partial.expect("by partial ARN")), "value");
    cache.get(partial).await.expect("again: a hit");
    assert_eq!(source.calls() - before, 1, "one call for all three reads");
    let stats = cache.stats();
    assert_eq!(
        stats.misses, 12,
        "ten others, the name, and the partial ARN that waited"
    );
}

#[tokio::test]
async fn invalidating_an_arn_reaches_a_first_load_of_its_name() {
    let version = Arc::new(AtomicUsize::new(1));
    let rule = ours_at(&version);
    let cache = over(&rule);
    // A read by name has taken its entry and not been answered yet.
    let loading = cache.core.entry("prod/db", &Version::current(), None);
    cache.invalidate(ARN);
    assert!(loading.is_removed(), "its answer predates the invalidation");
}
