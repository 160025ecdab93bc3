//! Failures of first loads: persistent ones remembered (reads get them without a call),
//! transient ones retried within the call deadline.

use super::*;

/// `GetSecretValue` fails with `code` every time.
fn failing(code: &str) -> Rule {
    mock!(Client::get_secret_value)
        .sequence()
        .http_status(400, Some(error_body(code)))
        .repeatedly()
        .build()
}

/// `GetSecretValue` is throttled `times` times, then answers `v1`.
fn throttled_then_v1(times: usize) -> Rule {
    mock!(Client::get_secret_value)
        .sequence()
        .http_status(400, Some(error_body("ThrottlingException")))
        .times(times)
        .output(|| output("v1", "value"))
        .repeatedly()
        .build()
}

/// The cache of these tests with throttle pacing off: a throttled first load is then retried
/// like any transient failure, within the call deadline.
fn unpaced(client: Client) -> SecretCache {
    minute(client)
        .throttle_pacing(false)
        .build()
        .expect("valid settings")
}

fn not_found(err: Result<Arc<Secret>, Error>) {
    assert!(matches!(err, Err(Error::NotFound { .. })), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn a_missing_secret_is_remembered_with_a_doubling_window() {
    let rule = failing("ResourceNotFoundException");
    let cache = cache(client(RuleMode::MatchAny, &[&rule]));
    for _ in 0..200 {
        not_found(cache.get("app/missing").await);
    }
    assert_eq!(rule.num_calls(), 1, "199 reads answered from memory");
    let stats = cache.stats();
    assert_eq!(
        (stats.failures_remembered, stats.persistent_failures),
        (199, 1)
    );
    // The first window lasts between 0.5 s and 1 s, the second between 1 s and 2 s.
    tokio::time::advance(Duration::from_millis(490)).await;
    not_found(cache.get("app/missing").await);
    assert_eq!(rule.num_calls(), 1);
    tokio::time::advance(Duration::from_millis(520)).await;
    not_found(cache.get("app/missing").await);
    assert_eq!(rule.num_calls(), 2, "asked again after the first window");
    tokio::time::advance(Duration::from_millis(990)).await;
    not_found(cache.get("app/missing").await);
    assert_eq!(rule.num_calls(), 2, "the second window is at least 1 s");
    tokio::time::advance(Duration::from_millis(1_020)).await;
    not_found(cache.get("app/missing").await);
    assert_eq!(rule.num_calls(), 3);
    // `refresh_now` and `invalidate` forget it.
    not_found(cache.refresh_now("app/missing").await);
    assert_eq!(rule.num_calls(), 4);
    cache.invalidate("app/missing");
    not_found(cache.get("app/missing").await);
    assert_eq!(rule.num_calls(), 5);
}

#[tokio::test(start_paused = true)]
async fn remembered_failures_are_capped() {
    let rule = failing("AccessDeniedException");
    let cap = Duration::from_secs(4);
    let cache = fetching(client(RuleMode::MatchAny, &[&rule]))
        .max_failure_memory(cap)
        .build()
        .expect("settings");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        let err = cache.get("prod/db").await.expect_err("denied");
        assert!(matches!(err, Error::AccessDenied { .. }), "{err:?}");
        tokio::time::advance(Duration::from_millis(100)).await;
    }
    // Windows of 1, 2, then 4 s (each at least half that): at most 3 + 56 / 2 calls, and at
    // least 60 / 4 once the cap is reached.
    let calls = rule.num_calls();
    assert!((15..=31).contains(&calls), "{calls} calls in 60 s");
}

#[tokio::test(start_paused = true)]
async fn a_transient_first_load_failure_is_retried_within_the_call_deadline() {
    let rule = throttled_then_v1(2);
    let cache = unpaced(client(RuleMode::Sequential, &[&rule]));
    let started = Instant::now();
    let secret = cache.get("prod/db").await.expect("retried until it worked");
    assert_eq!(secret.version_id(), "v1");
    assert_eq!(rule.num_calls(), 3);
    // Waits of 100-200 ms, then 200-400 ms.
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took <= Duration::from_millis(600),
        "{took:?}"
    );
    assert_eq!(cache.stats().failures, 2);
}

#[tokio::test(start_paused = true)]
async fn a_first_load_that_keeps_failing_transiently_gives_up_at_the_call_deadline() {
    let rule = failing("ThrottlingException");
    let cache = unpaced(client(RuleMode::MatchAny, &[&rule]));
    let started = Instant::now();
    let err = cache.get("prod/db").await.expect_err("still throttled");
    assert!(matches!(err, Error::Throttled { .. }), "{err:?}");
    let took = started.elapsed();
    assert!(
        took <= SecretCacheBuilder::DEFAULT_CALL_TIMEOUT,
        "answered after {took:?}"
    );
    // Waits of 0.1-0.2, 0.2-0.4, 0.4-0.8, 0.8-1.6, then 1-2 s each, inside 10 s.
    let calls = rule.num_calls();
    assert!((6..=14).contains(&calls), "{calls} calls");
    // A transient failure is not remembered: the next read asks again.
    let _ = cache.get("prod/db").await;
    assert!(rule.num_calls() > calls);
}

/// With pacing (the default) a throttled first load waits its turn past the call deadline: gaps
/// of about 2, 4, 8, 12 and 12 s, one call at a time.
#[tokio::test(start_paused = true)]
async fn a_throttled_first_load_waits_its_turn_past_the_call_deadline() {
    let rule = throttled_then_v1(5);
    let cache = cache(client(RuleMode::Sequential, &[&rule]));
    let started = Instant::now();
    let secret = cache.get("prod/db").await.expect("waited its turn");
    assert_eq!(secret.version_id(), "v1");
    assert_eq!(rule.num_calls(), 6);
    let took = started.elapsed();
    assert!(
        took > SecretCacheBuilder::DEFAULT_CALL_TIMEOUT && took < Duration::from_secs(60),
        "{took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_throttled_first_load_gives_up_when_its_patience_runs_out() {
    let rule = failing("ThrottlingException");
    let patience = Duration::from_secs(60);
    let cache = minute(client(RuleMode::MatchAny, &[&rule]))
        .startup_patience(patience)
        .build()
        .expect("valid settings");
    let started = Instant::now();
    let err = cache
        .get("prod/db")
        .await
        .expect_err("throttled throughout");
    assert!(matches!(err, Error::Throttled { .. }), "{err:?}");
    let took = started.elapsed();
    assert!(took >= patience / 4 && took <= patience, "{took:?}");
    // Gaps doubling from about 2 s to 12 s: a handful of calls, not one per 200 ms.
    let calls = rule.num_calls();
    assert!((4..=14).contains(&calls), "{calls} calls");
}

/// The SDK's own retries stay on for other failures, but never for throttling: the cache
/// paces a throttled call, so each attempt the service sees is one the cache counted.
#[tokio::test(start_paused = true)]
async fn the_sdk_does_not_retry_a_throttled_call_the_cache_paces() {
    let rule = throttled_then_v1(2);
    let client = aws_smithy_mocks::mock_client!(
        aws_sdk_secretsmanager,
        RuleMode::Sequential,
        &[&rule],
        |c| c.retry_config(aws_sdk_secretsmanager::config::retry::RetryConfig::standard())
    );
    let cache = cache(client);
    cache.get("prod/db").await.expect("waited its turn");
    assert_eq!(rule.num_calls(), 3);
    assert_eq!(cache.stats().get_secret_value_calls, 3, "no SDK retry");
}
