//! Readiness through an outage, a failed first load and a live handle that falls behind,
//! under paused time against a mocked client.

use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use aws_smithy_mocks::{RuleMode, mock};
use secrecy::{ExposeSecret, SecretString};
use tokio::time::{advance, sleep};

use super::*;
use crate::AwsSecrets;
use crate::testing::{client, described, error_body, output, settle};

/// `testing::minute`, built.
fn built_minute(client: Client) -> SecretCache {
    crate::testing::minute(client)
        .build()
        .expect("valid settings")
}

fn only(health: &Health) -> &SecretState {
    assert_eq!(health.secrets.len(), 1, "{health:?}");
    &health.secrets[0].state
}

#[tokio::test(start_paused = true)]
async fn an_outage_turns_a_cache_degraded_then_not_ready_and_recovery_ready() {
    let get = mock!(Client::get_secret_value)
        .sequence()
        .output(|| output("v1", r#"{"password":"p1"}"#))
        .http_status(500, Some(error_body("InternalServiceError")))
        .times(4)
        .output(|| output("v2", r#"{"password":"p2"}"#))
        .repeatedly()
        .build();
    let cache = built_minute(client(RuleMode::Sequential, &[&get]));
    assert_eq!(cache.health().readiness(), Readiness::Ready, "nothing held");

    cache.get("prod/db").await.expect("first load");
    let health = cache.health();
    assert!(
        matches!(only(&health), SecretState::Fresh { .. }),
        "{health}"
    );
    assert_eq!(health.readiness(), Readiness::Ready);
    assert_eq!(health.secrets[0].secret_id, "prod/db");

    advance(Duration::from_secs(61)).await;
    let health = cache.health();
    assert!(
        matches!(only(&health), SecretState::Idle { .. }),
        "{health}"
    );
    assert!(health.is_ready());
    assert_eq!(health.oldest_unconfirmed(), None);

    // A read past the TTL refreshes in the background; the refresh fails.
    cache.get("prod/db").await.expect("served while refreshing");
    settle().await;
    let health = cache.health();
    match only(&health) {
        SecretState::Stale {
            age,
            failures,
            last_failure,
            fails_in,
            ..
        } => {
            assert_eq!(*failures, 1);
            assert_eq!(last_failure.kind(), "Service");
            assert_eq!(*age, Duration::from_secs(61));
            assert_eq!(*fails_in, Duration::from_secs(300 - 61));
        }
        other => panic!("expected Stale, got {other:?}"),
    }
    assert_eq!(health.readiness(), Readiness::Degraded);
    assert!(health.is_ready(), "a stale value is still served");
    assert_eq!(health.oldest_unconfirmed(), Some(Duration::from_secs(61)));
    let page = health.to_string();
    assert!(page.starts_with("degraded\n"), "{page}");
    assert!(page.contains("prod/db (stage AWSCURRENT): stale"), "{page}");
    assert!(page.contains("Service"), "{page}");

    // Past max_staleness, reading fails until a refresh succeeds.
    advance(Duration::from_secs(240)).await;
    let health = cache.health();
    assert!(
        matches!(only(&health), SecretState::Expired { last_failure, .. } if last_failure.kind() == "Service"),
        "{health}"
    );
    assert_eq!(health.readiness(), Readiness::NotReady);
    assert!(health.to_string().starts_with("not_ready\n"));

    // The service answers again: the next successful read brings the cache back.
    let mut recovered = false;
    for _ in 0..60 {
        advance(Duration::from_secs(10)).await;
        if let Ok(secret) = cache.get("prod/db").await {
            recovered |= secret.version_id() == "v2";
        }
        settle().await;
        if recovered {
            break;
        }
    }
    assert!(recovered, "{}", cache.health());
    let health = cache.health();
    assert!(
        matches!(only(&health), SecretState::Fresh { .. }),
        "{health}"
    );
    assert_eq!(health.readiness(), Readiness::Ready);
}

#[tokio::test(start_paused = true)]
async fn failed_first_loads_are_not_ready_and_say_why() {
    let missing = mock!(Client::get_secret_value)
        .match_requests(|r| r.secret_id() == Some("app/missing"))
        .sequence()
        .http_status(400, Some(error_body("ResourceNotFoundException")))
        .repeatedly()
        .build();
    let down = mock!(Client::get_secret_value)
        .match_requests(|r| r.secret_id() == Some("app/down"))
        .sequence()
        .http_status(500, Some(error_body("InternalServiceError")))
        .repeatedly()
        .build();
    let cache = built_minute(client(RuleMode::MatchAny, &[&missing, &down]));
    cache.get("app/missing").await.expect_err("not found");
    cache
        .get("app/down")
        .await
        .expect_err("5xx until the deadline");
    let health = cache.health();
    let kinds: Vec<(&str, &str, Option<&str>)> = (health.secrets.iter())
        .map(|s| {
            let kind = s.state.failure().map(Error::kind);
            (&*s.secret_id, s.state.name(), kind)
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("app/down", "failed", Some("Service")),
            ("app/missing", "failed", Some("NotFound")),
        ]
    );
    assert_eq!(health.readiness(), Readiness::NotReady);
    // Forgotten by `invalidate`, the secret no longer counts.
    cache.invalidate("app/missing");
    cache.invalidate("app/down");
    assert!(cache.health().is_ready());
}

#[cfg(feature = "testing")]
#[tokio::test(start_paused = true)]
async fn a_first_load_under_way_is_loading() {
    use crate::{MemoryFault, MemorySource};
    let source = MemorySource::new();
    source.text("prod/db", "p1");
    source.fail_for(None, MemoryFault::Hang, Duration::from_secs(1));
    let cache = SecretCache::new(source);
    let reader = cache.clone();
    let reading = tokio::spawn(async move { reader.get("prod/db").await.map(drop) });
    settle().await;
    let health = cache.health();
    assert!(matches!(only(&health), SecretState::Loading), "{health}");
    assert!(!health.is_ready());
    reading
        .await
        .expect("task")
        .expect_err("the hang ends at the call deadline");
    // The retry after the hang's end answers: a later read loads it.
    cache.get("prod/db").await.expect("loaded");
    assert!(cache.health().is_ready(), "{}", cache.health());
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(crate = "crate", name = "prod/db")]
struct Db {
    password: SecretString,
}

#[tokio::test(start_paused = true)]
async fn a_live_handle_that_cannot_rebuild_is_behind_and_one_past_max_staleness_stale() {
    let get = mock!(Client::get_secret_value)
        .sequence()
        .output(|| output("v1", r#"{"password":"p1"}"#))
        .output(|| output("v2", r#"{"user":"no password"}"#))
        .repeatedly()
        .build();
    let describe = mock!(Client::describe_secret)
        .sequence()
        .output(|| described("v1", None))
        .output(|| described("v2", None))
        .http_status(500, Some(error_body("InternalServiceError")))
        .repeatedly()
        .build();
    let cache = SecretCache::builder(client(RuleMode::MatchAny, &[&get, &describe]))
        .ttl(Duration::from_secs(60))
        .max_staleness(Duration::from_secs(600))
        .jitter(false)
        .build()
        .expect("valid settings");
    let live = Db::watch(&cache).await.expect("load");
    assert_eq!(live.current().password.expose_secret(), "p1");
    let health = live.health();
    assert_eq!(health.readiness(), Readiness::Ready, "{health}");
    assert!(matches!(health.live[0].state, LiveState::Current));
    assert!(health.live[0].settings.ends_with("Db"));
    assert_eq!(cache.health().live.len(), 1, "the cache lists its handle");

    // The rotation to v2 is adopted by the cache, but the struct cannot be built from it.
    sleep(Duration::from_secs(70)).await;
    let health = live.health();
    match &health.live[0].state {
        LiveState::Behind { last_error } => assert_eq!(last_error.kind(), "MissingKey"),
        other => panic!("expected Behind, got {other:?}"),
    }
    assert_eq!(health.readiness(), Readiness::Degraded, "{health}");

    // Then every version check fails; past max_staleness the snapshot is too old to serve.
    sleep(Duration::from_secs(700)).await;
    let health = live.health();
    assert!(
        matches!(
            &health.live[0].state,
            LiveState::Stale {
                error: Error::Stale { .. }
            }
        ),
        "{health}"
    );
    assert_eq!(health.readiness(), Readiness::NotReady);
    assert!(!cache.health().is_ready());

    drop(live);
    settle().await; // the aborted task lets go of what it published
    assert!(cache.health().live.is_empty(), "a dropped handle leaves");
}
