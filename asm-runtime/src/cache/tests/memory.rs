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
    let rule = mock!(Client::get_secret_value)
        .sequence()
        .http_status(400, Some(error_body("ThrottlingException")))
        .times(2)
        .output(|| output("v1", "value"))
        .repeatedly()
        .build();
    let cache = cache(client(RuleMode::Sequential, &[&rule]));
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
    let cache = cache(client(RuleMode::MatchAny, &[&rule]));
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
