//! Cache behaviour against a mocked SDK client, under paused tokio time.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::operation::batch_get_secret_value::BatchGetSecretValueOutput;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_sdk_secretsmanager::types::SecretValueEntry;
use aws_smithy_mocks::{Rule, RuleMode, mock};
use futures_util::FutureExt;
use secrecy::ExposeSecret;

use super::*;
use crate::TransportKind;
use crate::plan::Request;
use crate::testing::{ARN, always_v1, client, error_body, minute, output, rotating, settle};
use futures_util::future::join_all;

#[cfg(feature = "testing")]
mod capacity;
pub(super) mod failover;
mod identity;
mod memory;
#[cfg(all(feature = "testing", feature = "ssm"))]
mod parameter_batch;
#[cfg(feature = "testing")]
mod parameters;
#[cfg(all(feature = "testing", feature = "files"))]
mod roles;
mod versions;

/// A builder whose refreshes fetch (no `DescribeSecret`), for tests of the fetch path.
fn fetching(client: Client) -> SecretCacheBuilder {
    SecretCache::builder(client)
        .version_checks(false)
        .rotation_guardrail(RotationGuardrail::Off)
}

fn cache(client: Client) -> SecretCache {
    minute(client).build().expect("valid settings")
}

/// As [`cache`], fetching misses due together with `BatchGetSecretValue`.
fn batching(client: Client) -> SecretCache {
    minute(client).batch(true).build().expect("valid settings")
}

#[tokio::test(start_paused = true)]
async fn second_read_is_a_hit() {
    let rule = always_v1();
    let cache = cache(client(RuleMode::MatchAny, &[&rule]));
    let first = cache.get("prod/db").await.expect("first load");
    let second = cache.get("prod/db").await.expect("hit");
    assert!(Arc::ptr_eq(&first, &second));
    assert_eq!(rule.num_calls(), 1);
    let stats = cache.stats();
    assert_eq!(
        (stats.hits, stats.misses, stats.get_secret_value_calls),
        (1, 1, 1)
    );
}

/// Secrets loaded one after another at one instant (each `get` its own fetch round, so its own
/// jitter draw) refresh at different instants. With a constant soft TTL (jitter off, or the
/// fraction fixed at 0) all twenty are due together at 600 s: a fleet's secrets would be too.
#[tokio::test(start_paused = true)]
async fn secrets_loaded_in_separate_rounds_refresh_at_different_instants() {
    let start = Instant::now();
    let fetched = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let log = Arc::clone(&fetched);
    let rule = mock!(Client::get_secret_value).then_compute_output(move |request| {
        log.lock().expect("not poisoned").push(start.elapsed());
        let id = request.secret_id().unwrap_or_default();
        GetSecretValueOutput::builder()
            .arn(format!(
                "{}{id}-AbCdEf",
                &ARN[..ARN.len() - "prod/db-AbCdEf".len()]
            ))
            .name(id)
            .version_id("v1")
            .secret_string("value")
            .build()
    });
    let ttl = Duration::from_secs(600);
    let cache = fetching(client(RuleMode::MatchAny, &[&rule]))
        .ttl(ttl)
        .build()
        .expect("valid settings");
    let ids: Vec<String> = (0..20).map(|i| format!("app/s{i}")).collect();
    for id in &ids {
        cache.get(id).await.expect("first load");
    }
    // A read every 10 s for one TTL: a read past an entry's soft TTL starts its refresh.
    for _ in 0..60 {
        tokio::time::advance(Duration::from_secs(10)).await;
        for id in &ids {
            cache.get(id).await.expect("served");
        }
        settle().await;
    }
    let refreshes: Vec<Duration> = fetched
        .lock()
        .expect("not poisoned")
        .iter()
        .copied()
        .filter(|at| !at.is_zero())
        .collect();
    assert_eq!(
        refreshes.len(),
        ids.len(),
        "one refresh each: {refreshes:?}"
    );
    assert!(
        refreshes.iter().all(|at| *at >= ttl / 2 && *at <= ttl),
        "inside [ttl/2, ttl]: {refreshes:?}"
    );
    let instants: std::collections::HashSet<u64> =
        refreshes.iter().map(Duration::as_secs).collect();
    assert!(
        instants.len() >= 5,
        "20 secrets refreshed at only {} distinct instants: {refreshes:?}",
        instants.len()
    );
}

#[tokio::test(start_paused = true)]
async fn a_name_and_its_arn_share_one_entry() {
    let rule = always_v1();
    let cache = cache(client(RuleMode::MatchAny, &[&rule]));
    cache.get("prod/db").await.expect("by name");
    let by_arn = cache.get(ARN).await.expect("by arn");
    assert_eq!(by_arn.name(), "prod/db");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn soft_expiry_serves_the_old_value_and_refreshes_once() {
    let rule = rotating("old", "new");
    let cache = cache(client(RuleMode::Sequential, &[&rule]));
    cache.get("prod/db").await.expect("load");
    tokio::time::advance(Duration::from_secs(59)).await;
    assert_eq!(
        cache.get("prod/db").await.expect("fresh").version_id(),
        "v1"
    );
    assert_eq!(rule.num_calls(), 1, "no call before the TTL");

    tokio::time::advance(Duration::from_secs(2)).await;
    let served = cache.get("prod/db").await.expect("stale but served");
    assert_eq!(
        served.version_id(),
        "v1",
        "the read past soft expiry does not wait"
    );
    let again = cache.get("prod/db").await.expect("still served");
    assert_eq!(again.version_id(), "v1");
    settle().await;
    assert_eq!(rule.num_calls(), 2, "one background refresh for both reads");
    assert_eq!(
        cache.get("prod/db").await.expect("refreshed").version_id(),
        "v2"
    );
    assert_eq!(cache.stats().rotations, 1);
}

#[tokio::test(start_paused = true)]
async fn jittered_ttl_expires_between_half_and_full_ttl() {
    let rule = always_v1();
    let cache = fetching(client(RuleMode::MatchAny, &[&rule]))
        .ttl(Duration::from_secs(600))
        .build()
        .expect("valid");
    cache.get("prod/db").await.expect("load");
    tokio::time::advance(Duration::from_secs(299)).await;
    cache.get("prod/db").await.expect("hit");
    settle().await;
    assert_eq!(rule.num_calls(), 1, "never refreshed before ttl/2");
    tokio::time::advance(Duration::from_secs(302)).await;
    cache.get("prod/db").await.expect("served");
    settle().await;
    assert_eq!(rule.num_calls(), 2, "always refreshed after ttl");
}

#[tokio::test(start_paused = true)]
async fn a_thousand_concurrent_cold_reads_make_one_call() {
    let rule = always_v1();
    let cache = cache(client(RuleMode::MatchAny, &[&rule]));
    let readers: Vec<_> = (0..1000)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .get("prod/db")
                    .await
                    .map(|s| s.version_id().to_owned())
            })
        })
        .collect();
    for reader in readers {
        assert_eq!(reader.await.expect("task").expect("value"), "v1");
    }
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(cache.stats().get_secret_value_calls, 1);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_reader_strands_nobody() {
    let rule = always_v1();
    let cache = cache(client(RuleMode::MatchAny, &[&rule]));
    {
        let read = cache.get("prod/db");
        tokio::pin!(read);
        // Poll once (which starts the fetch), then drop the read.
        assert!(read.as_mut().now_or_never().is_none());
    }
    settle().await;
    assert_eq!(rule.num_calls(), 1);
    cache
        .get("prod/db")
        .await
        .expect("the abandoned fetch filled the entry");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn failing_refreshes_serve_the_last_value_until_max_staleness() {
    let rule = mock!(Client::get_secret_value)
        .sequence()
        .output(|| output("v1", "good"))
        .http_status(
            400,
            Some(r#"{"__type":"ThrottlingException","message":"slow down"}"#.into()),
        )
        .repeatedly()
        .build();
    let cache = cache(client(RuleMode::Sequential, &[&rule]));
    cache.get("prod/db").await.expect("load");
    for _ in 0..29 {
        tokio::time::advance(Duration::from_secs(10)).await;
        let value = cache
            .get("prod/db")
            .await
            .expect("served within max_staleness");
        assert_eq!(value.version_id(), "v1");
        settle().await;
    }
    assert!(cache.stats().failures >= 1);
    let calls_within = rule.num_calls();
    assert!(
        calls_within < 29,
        "backoff spaces the retries ({calls_within} calls)"
    );

    tokio::time::advance(Duration::from_secs(20)).await;
    match cache.get("prod/db").await {
        Err(Error::Stale {
            age, last_failure, ..
        }) => {
            assert!(age >= Duration::from_secs(300), "{age:?}");
            assert!(matches!(*last_failure, Error::Throttled { .. }));
        }
        other => panic!("expected Stale, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn recovery_after_failures_serves_fresh_values_again() {
    let rule = mock!(Client::get_secret_value)
        .sequence()
        .output(|| output("v1", "good"))
        .http_status(
            500,
            Some(r#"{"__type":"InternalServiceError","message":"boom"}"#.into()),
        )
        .times(3)
        .output(|| output("v2", "better"))
        .repeatedly()
        .build();
    let cache = cache(client(RuleMode::Sequential, &[&rule]));
    cache.get("prod/db").await.expect("load");
    let mut seen_v2 = false;
    for _ in 0..60 {
        tokio::time::advance(Duration::from_secs(5)).await;
        let value = cache
            .get("prod/db")
            .await
            .expect("never an error within max_staleness");
        seen_v2 |= value.version_id() == "v2";
        settle().await;
    }
    assert!(seen_v2, "recovered after the 5xx burst");
    assert_eq!(cache.stats().failures, 3);
}

async fn first_load_error(rule: Rule) -> Error {
    let cache = cache(client(RuleMode::Sequential, &[&rule]));
    cache
        .get("prod/db")
        .await
        .expect_err("the first load fails fast")
}

fn http_error(status: u16, code: &str) -> Rule {
    mock!(Client::get_secret_value)
        .sequence()
        .http_status(status, Some(error_body(code)))
        .repeatedly()
        .build()
}

#[tokio::test(start_paused = true)]
async fn service_errors_map_to_typed_errors() {
    let denied = first_load_error(http_error(400, "AccessDeniedException")).await;
    assert!(matches!(
        denied,
        Error::AccessDenied {
            action: "secretsmanager:GetSecretValue",
            ..
        }
    ));
    assert!(matches!(
        first_load_error(http_error(400, "ThrottlingException")).await,
        Error::Throttled { .. }
    ));
    assert!(matches!(
        first_load_error(http_error(400, "DecryptionFailure")).await,
        Error::Decryption { .. }
    ));
    assert!(matches!(
        first_load_error(http_error(400, "InvalidRequestException")).await,
        Error::InvalidRequest { .. }
    ));
    assert!(matches!(
        first_load_error(http_error(500, "InternalServiceError")).await,
        Error::Service { .. }
    ));
    assert!(matches!(
        first_load_error(http_error(400, "ResourceNotFoundException")).await,
        Error::NotFound { .. }
    ));
    let malformed = mock!(Client::get_secret_value)
        .sequence()
        .http_status(200, Some("{not json canary-hunter2".into()))
        .repeatedly()
        .build();
    let malformed = first_load_error(malformed).await;
    assert!(matches!(
        malformed,
        Error::Transport {
            kind: TransportKind::MalformedResponse,
            ..
        }
    ));
}

#[tokio::test(start_paused = true)]
async fn no_error_carries_the_service_message() {
    for code in [
        "AccessDeniedException",
        "ThrottlingException",
        "InvalidRequestException",
        "Nope",
    ] {
        let err = first_load_error(http_error(400, code)).await;
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("prod/db"), "names the secret: {shown}");
    }
}

#[tokio::test(start_paused = true)]
async fn oversize_secrets_are_refused() {
    let huge = "x".repeat(crate::source::MAX_SECRET_BYTES + 1);
    let rule = mock!(Client::get_secret_value).then_output(move || output("v1", &huge));
    assert!(
        matches!(first_load_error(rule).await, Error::TooLarge { bytes, .. } if bytes == 65537)
    );
}

#[tokio::test(start_paused = true)]
async fn json_keys_are_read_without_exposing_the_rest() {
    let rule = always_v1();
    let cache = cache(client(RuleMode::MatchAny, &[&rule]));
    let secret = cache.get("prod/db").await.expect("load");
    assert_eq!(
        secret.json_key("password").expect("key").expose_secret(),
        "p1"
    );
    assert!(matches!(
        secret.json_key("user"),
        Err(Error::MissingKey { .. })
    ));
    assert!(!format!("{secret:?}").contains("p1"));
}

#[tokio::test(start_paused = true)]
async fn refresh_now_is_coalesced_and_rate_limited() {
    let rule = rotating("old", "rotated");
    let cache = cache(client(RuleMode::Sequential, &[&rule]));
    cache.get("prod/db").await.expect("load");
    let (a, b) = tokio::join!(cache.refresh_now("prod/db"), cache.refresh_now("prod/db"));
    assert_eq!(a.expect("a").version_id(), "v2");
    assert_eq!(b.expect("b").version_id(), "v2");
    assert_eq!(rule.num_calls(), 2);
    cache.refresh_now("prod/db").await.expect("rate limited");
    assert_eq!(rule.num_calls(), 2, "within the interval, no call");
    tokio::time::advance(Duration::from_secs(2)).await;
    cache
        .refresh_now("prod/db")
        .await
        .expect("after the interval");
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn invalidate_forgets_every_alias() {
    let rule = always_v1();
    let cache = cache(client(RuleMode::MatchAny, &[&rule]));
    cache.get("prod/db").await.expect("load");
    cache.invalidate("prod/db");
    cache.get(ARN).await.expect("reload by arn");
    assert_eq!(rule.num_calls(), 2);
}

fn entry(name: &str) -> SecretValueEntry {
    SecretValueEntry::builder()
        .arn(format!(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf"
        ))
        .name(name)
        .version_id("v1")
        .secret_string("value")
        .build()
}

fn requests(names: &[&str]) -> Vec<Request> {
    names
        .iter()
        .map(|n| Request {
            id: Arc::from(*n),
            version: Version::current(),
            role: None,
            ttl: None,
            rotation: None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn many_misses_share_one_batch_call() {
    let batch = mock!(Client::batch_get_secret_value).then_output(|| {
        BatchGetSecretValueOutput::builder()
            .secret_values(entry("a"))
            .secret_values(entry("b"))
            .secret_values(entry("c"))
            .build()
    });
    let cache = batching(client(RuleMode::MatchAny, &[&batch]));
    let got = cache
        .get_many(&requests(&["a", "b", "c"]))
        .await
        .expect("batch");
    let names: Vec<&str> = got.iter().map(|s| s.name()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    let stats = cache.stats();
    assert_eq!(
        (
            stats.batch_get_secret_value_calls,
            stats.get_secret_value_calls
        ),
        (1, 0)
    );
}

/// Answers every `BatchGetSecretValue` with the service error `code` (HTTP 400).
fn failing_batch(code: &str) -> Rule {
    mock!(Client::batch_get_secret_value)
        .sequence()
        .http_status(400, Some(error_body(code)))
        .repeatedly()
        .build()
}

/// A batching cache whose `BatchGetSecretValue` fails with `code` and whose `GetSecretValue`
/// answers `v1`.
fn batching_over_a_failing_batch(code: &str) -> SecretCache {
    batching(client(
        RuleMode::MatchAny,
        &[&failing_batch(code), &always_v1()],
    ))
}

#[tokio::test(start_paused = true)]
async fn a_denied_batch_falls_back_to_one_call_per_secret_until_retried() {
    let cache = batching_over_a_failing_batch("AccessDeniedException");
    cache
        .get_many(&requests(&["a", "b"]))
        .await
        .expect("fallback");
    cache
        .get_many(&requests(&["c", "d"]))
        .await
        .expect("fallback again");
    let stats = cache.stats();
    assert_eq!(
        stats.batch_get_secret_value_calls, 1,
        "the batch action is not retried within the period"
    );
    assert_eq!(stats.get_secret_value_calls, 4);
    tokio::time::advance(SecretCacheBuilder::DEFAULT_DENIAL_RETRY).await;
    cache
        .get_many(&requests(&["e", "f"]))
        .await
        .expect("fallback after the retry");
    assert_eq!(
        cache.stats().batch_get_secret_value_calls,
        2,
        "tried again after the denial period"
    );
}

/// A throttled batch is not retried against its 100/s quota: its secrets are fetched one by one
/// at once, and the next round tries the batch again.
#[tokio::test(start_paused = true)]
async fn a_throttled_batch_falls_back_to_one_call_per_secret() {
    let batch = failing_batch("ThrottlingException");
    let single = always_v1();
    // The SDK's standard retries on: the batch alone opts out of them.
    let client = aws_smithy_mocks::mock_client!(
        aws_sdk_secretsmanager,
        RuleMode::MatchAny,
        &[&batch, &single],
        |c| c.retry_config(aws_sdk_secretsmanager::config::retry::RetryConfig::standard())
    );
    let cache = batching(client);
    let started = Instant::now();
    cache
        .get_many(&requests(&["a", "b"]))
        .await
        .expect("fallback");
    assert_eq!(started.elapsed(), Duration::ZERO, "no retry waits");
    cache
        .get_many(&requests(&["c", "d"]))
        .await
        .expect("fallback again");
    assert_eq!(
        batch.num_calls(),
        2,
        "one attempt a round, tried again next round"
    );
    let stats = cache.stats();
    assert_eq!(
        (
            stats.batch_get_secret_value_calls,
            stats.get_secret_value_calls
        ),
        (2, 4)
    );
}

#[tokio::test(start_paused = true)]
async fn batching_off_fetches_one_secret_a_call() {
    let rule = always_v1();
    let cache = fetching(client(RuleMode::MatchAny, &[&rule]))
        .batch(false)
        .build()
        .expect("valid settings");
    cache
        .get_many(&requests(&["a", "b", "c"]))
        .await
        .expect("singles");
    let stats = cache.stats();
    assert_eq!(
        (
            stats.batch_get_secret_value_calls,
            stats.get_secret_value_calls
        ),
        (0, 3)
    );
}

#[test]
fn invalid_settings_are_typed_errors() {
    let rule = always_v1();
    let client = client(RuleMode::MatchAny, &[&rule]);
    let zero = SecretCache::builder(client.clone())
        .ttl(Duration::ZERO)
        .build();
    assert!(matches!(zero, Err(Error::Config { .. })));
    let short = SecretCache::builder(client.clone())
        .ttl(Duration::from_secs(600))
        .max_staleness(Duration::from_secs(60))
        .build();
    assert!(matches!(short, Err(Error::Config { .. })));
    let forever = SecretCache::builder(client)
        .max_staleness(Duration::MAX)
        .build();
    match forever {
        Err(Error::Config { message }) => assert!(message.contains("max_staleness"), "{message}"),
        other => panic!("expected Config, got {other:?}"),
    }
}

#[test]
fn a_fetch_task_that_dies_unanswered_does_not_poison_its_entry() {
    let rule = always_v1();
    let cache = cache(client(RuleMode::MatchAny, &[&rule]));
    let doomed = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    doomed.block_on(async {
        // The first poll starts the fetch task; the runtime is dropped before it runs.
        assert!(
            cache.get("prod/db").now_or_never().is_none(),
            "a miss waits"
        );
    });
    drop(doomed);
    assert_eq!(rule.num_calls(), 0, "the fetch never ran");
    let next = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let secret = next
        .block_on(cache.get("prod/db"))
        .expect("a new fetch, not the dead one");
    assert_eq!(secret.version_id(), "v1");
}

#[tokio::test(start_paused = true)]
async fn an_invalidation_is_not_undone_by_a_fetch_in_flight() {
    let rule = mock!(Client::get_secret_value)
        .sequence()
        .output(|| output("v1", "one"))
        .output(|| output("v2", "two"))
        .output(|| output("v3", "three"))
        .build();
    let cache = cache(client(RuleMode::Sequential, &[&rule]));
    cache.get("prod/db").await.expect("load");
    tokio::time::advance(Duration::from_secs(61)).await;
    // Past the TTL: served, and a refresh starts (but has not run yet).
    cache.get("prod/db").await.expect("served");
    cache.invalidate("prod/db");
    settle().await;
    assert_eq!(rule.num_calls(), 2, "the refresh in flight completed");
    let after = cache.get("prod/db").await.expect("fetched again");
    assert_eq!(
        after.version_id(),
        "v3",
        "the refresh did not put the entry back"
    );
    assert_eq!(cache.get(ARN).await.expect("by ARN").version_id(), "v3");
}

#[test]
fn public_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let rule = always_v1();
    let cache = cache(client(RuleMode::MatchAny, &[&rule]));
    assert_send(&cache.get("x"));
    assert_send(&cache.refresh_now("x"));
    assert_send(&SecretCache::from_env());
    assert_send(&crate::global());
}

#[tokio::test(start_paused = true)]
async fn a_hit_allocates_nothing_and_completes_on_first_poll() {
    let rule = always_v1();
    let cache = cache(client(RuleMode::MatchAny, &[&rule]));
    cache.get("prod/db").await.expect("warm-up");
    let mut answered = false;
    let counted = allocation_counter::measure(|| {
        for _ in 0..100 {
            answered = cache
                .get("prod/db")
                .now_or_never()
                .is_some_and(|r| r.is_ok());
        }
    });
    assert!(answered, "a hit is ready on its first poll");
    assert_eq!(counted.count_total, 0, "allocations on the hit path");
}

/// One request for `prod/db` declaring `ttl` and `rotation`.
fn declaring(ttl: Option<u64>, rotation: Option<u64>) -> Vec<Request> {
    vec![Request {
        id: Arc::from("prod/db"),
        version: Version::current(),
        role: None,
        ttl: ttl.map(Duration::from_secs),
        rotation: rotation.map(Duration::from_secs),
    }]
}

#[tokio::test(start_paused = true)]
async fn a_declared_ttl_is_that_secrets_ttl_even_above_the_caches() {
    let rule = always_v1();
    // The cache's TTL is 60 s, its max_staleness 300 s.
    let cache = cache(client(RuleMode::MatchAny, &[&rule]));
    cache
        .get_many(&declaring(Some(240), None))
        .await
        .expect("load");
    tokio::time::advance(Duration::from_secs(200)).await;
    cache
        .get_many(&declaring(Some(240), None))
        .await
        .expect("hit");
    settle().await;
    assert_eq!(
        rule.num_calls(),
        1,
        "`ttl = \"4m\"` is 240 s, not the cache's 60 s"
    );
    assert_eq!(cache.stats().stale_served, 0);
}

#[tokio::test(start_paused = true)]
async fn when_two_structs_declare_ttls_for_one_secret_the_shortest_applies() {
    let rule = always_v1();
    let cache = cache(client(RuleMode::MatchAny, &[&rule]));
    cache
        .get_many(&declaring(Some(240), None))
        .await
        .expect("load");
    cache
        .get_many(&declaring(Some(120), None))
        .await
        .expect("hit");
    cache
        .get("prod/db")
        .await
        .expect("an undeclared read changes nothing");
    let entry = cache.core.entry("prod/db", &Version::current(), None);
    assert_eq!(entry.ttl(), Duration::from_secs(120));
}

#[tokio::test(start_paused = true)]
async fn a_declared_rotation_is_checked_against_the_ttl_in_force() {
    let rule = always_v1();
    // The service knows no rotation rules for it: only the declared interval is checked.
    let describe =
        mock!(Client::describe_secret).then_output(|| crate::testing::described("v1", None));
    let rules = [&rule, &describe];
    // No `ttl` declared: the cache's 600 s is in force, and the secret rotates every 300 s.
    let strict = SecretCache::builder(client(RuleMode::MatchAny, &rules))
        .version_checks(false)
        .rotation_guardrail(RotationGuardrail::Strict)
        .build()
        .expect("cache");
    match strict.get_many(&declaring(None, Some(300))).await {
        Err(Error::TtlNotBelowRotation { ttl, rotation, .. }) => {
            assert_eq!((ttl.as_secs(), rotation.as_secs()), (600, 300));
        }
        other => panic!("expected TtlNotBelowRotation, got {other:?}"),
    }
    // The values are cached now; a warm load of the same struct is refused too.
    match strict.hits(&declaring(None, Some(300))) {
        Some(Err(Error::TtlNotBelowRotation { .. })) => {}
        other => panic!("the warm path skipped the declared rotation: {other:?}"),
    }
    let off = SecretCache::builder(client(RuleMode::MatchAny, &[&rule]))
        .rotation_guardrail(RotationGuardrail::Off)
        .build()
        .expect("cache");
    off.get_many(&declaring(None, Some(300)))
        .await
        .expect("no check when off");
    let warn = SecretCache::builder(client(RuleMode::MatchAny, &rules))
        .version_checks(false)
        .build()
        .expect("cache");
    warn.get_many(&declaring(Some(60), Some(300)))
        .await
        .expect("below: fine");
}

#[test]
fn library_code_pins_its_behavior_version() {
    let unpinned = ["BehaviorVersion", "::latest()"].concat();
    let mut files = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src"
    ))];
    let mut checked = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            let entries = std::fs::read_dir(&path).expect("read src");
            files.extend(entries.map(|e| e.expect("dir entry").path()));
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read source");
        checked += 1;
        assert!(
            !text.contains(&unpinned),
            "{}: an SDK upgrade would change this library's behaviour; use \
             `SecretCache::behavior_version()`",
            path.display()
        );
    }
    assert!(checked > 10, "walked the sources: {checked} files");
    // SDK releases deprecate a behavior version when they add the next; the pin is on
    // purpose, so its one use says so and a user's build against a newer SDK stays quiet.
    let sdk_rs = include_str!("../source/sdk.rs");
    let pin = sdk_rs
        .find("pub(crate) fn behavior_version()")
        .expect("the pin's function");
    assert!(
        sdk_rs[..pin].trim_end().ends_with("#[allow(deprecated)]"),
        "the pinned behavior version silences its deprecation where it is pinned, only there"
    );
    assert_eq!(
        SecretCache::behavior_version(),
        aws_config::BehaviorVersion::v2026_01_12(),
        "the version the docs name"
    );
}

#[tokio::test(start_paused = true)]
async fn a_persistent_batch_error_is_not_every_secrets_failure() {
    let cache = batching_over_a_failing_batch("InvalidParameterException");
    cache
        .get_many(&requests(&["a", "b"]))
        .await
        .expect("each secret answered by its own call");
    let stats = cache.stats();
    assert_eq!(
        (
            stats.batch_get_secret_value_calls,
            stats.get_secret_value_calls
        ),
        (1, 2)
    );
}

#[tokio::test(start_paused = true)]
async fn forced_refreshes_of_a_missing_secret_are_rate_limited_too() {
    let rule = http_error(400, "ResourceNotFoundException");
    let cache = cache(client(RuleMode::MatchAny, &[&rule]));
    for _ in 0..10 {
        let err = cache.refresh_now("app/missing").await.expect_err("missing");
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    }
    assert_eq!(rule.num_calls(), 1, "within refresh_now_interval: one call");
}

#[tokio::test(start_paused = true)]
async fn a_declared_ttl_above_max_staleness_refreshes_before_the_value_turns_stale() {
    let rule = always_v1();
    let cache = cache(client(RuleMode::MatchAny, &[&rule]));
    let mut long = requests(&["prod/db"]);
    long[0].ttl = Some(Duration::from_secs(3_600));
    cache.get_many(&long).await.expect("load");
    let entry = &cache.entries(&long).expect("entries")[0];
    let loaded = entry.state.load_full().expect("held");
    assert!(
        loaded.refresh_at <= loaded.stale_at,
        "refreshed {:?} after it turned stale",
        loaded.refresh_at - loaded.stale_at
    );
}

/// Another account's `prod/db`, shared by resource policy and read by its ARN.
const FOREIGN: &str = "arn:aws:secretsmanager:us-east-1:999999999999:secret:prod/db-XyZ123";

/// `GetSecretValue` answering the foreign ARN with the foreign secret, anything else with
/// ours (`ARN`), both named `prod/db`.
fn two_accounts() -> (Rule, Rule) {
    let foreign = mock!(Client::get_secret_value)
        .match_requests(|r| r.secret_id() == Some(FOREIGN))
        .then_output(|| {
            GetSecretValueOutput::builder()
                .arn(FOREIGN)
                .name("prod/db")
                .version_id("f1")
                .secret_string("foreign")
                .build()
        });
    let ours = mock!(Client::get_secret_value)
        .match_requests(|r| r.secret_id() != Some(FOREIGN))
        .then_output(|| output("v1", "ours"));
    (foreign, ours)
}

/// A bare name means a secret of the caller's own account: another account's secret of the
/// same name, read first by its ARN, never answers it (it did, with one call in all).
#[tokio::test]
async fn a_foreign_arn_never_answers_our_own_name() {
    let (foreign, ours) = two_accounts();
    let cache = SecretCache::builder(client(RuleMode::MatchAny, &[&foreign, &ours]))
        .version_checks(false)
        .build()
        .expect("cache");
    let theirs = cache.get(FOREIGN).await.expect("foreign");
    assert_eq!(theirs.string().expect("text").expose_secret(), "foreign");
    let mine = cache.get("prod/db").await.expect("ours");
    assert_eq!(mine.string().expect("text").expose_secret(), "ours");
    assert_eq!((foreign.num_calls(), ours.num_calls()), (1, 1));
    assert_eq!(cache.known_arn("prod/db").as_deref(), Some(ARN));
    // Read again in the other order: each id keeps its own secret.
    let again = cache.get(FOREIGN).await.expect("foreign, a hit");
    assert_eq!(again.string().expect("text").expose_secret(), "foreign");
}

/// In the caller's own account and region, a secret read by ARN is found by its name (one
/// entry, one call) once a read by name has shown which account and region names resolve in.
#[tokio::test]
async fn our_own_arn_and_name_share_one_entry() {
    let (foreign, ours) = two_accounts();
    let other = mock!(Client::get_secret_value)
        .match_requests(|r| r.secret_id() == Some("prod/other"))
        .then_output(|| {
            GetSecretValueOutput::builder()
                .arn("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/other-QwErTy")
                .name("prod/other")
                .version_id("o1")
                .secret_string("other")
                .build()
        });
    let cache = SecretCache::builder(client(RuleMode::MatchAny, &[&other, &foreign, &ours]))
        .version_checks(false)
        .build()
        .expect("cache");
    cache.get("prod/other").await.expect("a read by name");
    cache.get(ARN).await.expect("ours by ARN");
    let mine = cache.get("prod/db").await.expect("ours by name: a hit");
    assert_eq!(mine.string().expect("text").expose_secret(), "ours");
    assert_eq!((other.num_calls(), ours.num_calls()), (1, 1));
}
