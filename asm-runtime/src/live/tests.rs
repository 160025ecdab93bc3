//! The live handle against a mocked SDK client, under paused tokio time.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretError;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_sdk_secretsmanager::types::error::InternalServiceError;
use aws_smithy_mocks::{Rule, RuleMode, mock};
use aws_smithy_types::error::ErrorMetadata;
use futures_util::FutureExt;
use secrecy::{ExposeSecret, SecretString};
use tokio::time::{Instant, sleep, timeout};

use crate::testing::{client, described, error_body, output, rotating};
use crate::{AwsSecrets, Error, SecretCache};

#[derive(crate::AwsSecrets, Debug)]
#[aws_secrets(crate = "crate", name = "prod/db")]
struct Db {
    user: SecretString,
    password: SecretString,
}

fn login(version: &str) -> String {
    format!(r#"{{"user":"user-{version}","password":"pw-{version}"}}"#)
}

/// `GetSecretValue` answers `v1`, then `v2` for ever.
fn get_v1_then_v2() -> Rule {
    rotating(&login("v1"), &login("v2"))
}

/// `DescribeSecret` reports each of `versions` current in turn, one call each, then the last
/// for ever. A watched struct's load asks once (the guardrail), then each refresh once.
fn describe_in_turn(versions: &[&'static str]) -> Rule {
    let mut sequence = mock!(Client::describe_secret).sequence();
    for &version in versions {
        sequence = sequence.output(move || described(version, None));
    }
    sequence.repeatedly().build()
}

fn describe_always(current: &'static str) -> Rule {
    describe_in_turn(&[current])
}

fn cache(client: Client, ttl: Duration, jitter: bool) -> SecretCache {
    SecretCache::builder(client)
        .ttl(ttl)
        .max_staleness(Duration::from_secs(3_600))
        .jitter(jitter)
        .build()
        .expect("valid settings")
}

fn minute(client: Client) -> SecretCache {
    cache(client, Duration::from_secs(60), false)
}

/// Both fields of one snapshot come from the same version.
fn version_of(db: &Db) -> String {
    let user = db.user.expose_secret().trim_start_matches("user-");
    let password = db.password.expose_secret().trim_start_matches("pw-");
    assert_eq!(user, password, "a snapshot mixes two versions");
    user.to_owned()
}

#[tokio::test(start_paused = true)]
async fn a_rotation_rebuilds_the_whole_struct_and_wakes_watchers() {
    let get = get_v1_then_v2();
    let describe = describe_in_turn(&["v1", "v1", "v2"]);
    let cache = minute(client(RuleMode::MatchAny, &[&get, &describe]));
    let mut live = Db::watch(&cache).await.expect("load");
    assert_eq!(version_of(&live.current()), "v1");
    let reader = live.clone();
    let before = reader.read();

    let start = Instant::now();
    let rotated = timeout(Duration::from_secs(600), live.changed())
        .await
        .expect("woken within the timeout")
        .expect("the task runs");
    assert_eq!(version_of(&rotated), "v2");
    let waited = start.elapsed();
    // Refreshes run 5 s ahead of each 60 s deadline: at 55 s (still v1), then at 110 s.
    assert_eq!(
        waited,
        Duration::from_secs(110),
        "adopted at the second refresh"
    );
    assert_eq!(get.num_calls(), 2, "fetched only when the version changed");
    assert_eq!(version_of(&before), "v1", "a borrow keeps its snapshot");
    drop(before);

    for _ in 0..30 {
        sleep(Duration::from_secs(7)).await;
        assert_eq!(
            version_of(&live.current()),
            "v2",
            "the old value never returns"
        );
        assert_eq!(version_of(&live.read()), "v2");
        let read = cache.get("prod/db").now_or_never().expect("a hit");
        assert_eq!(read.expect("value").version_id(), "v2");
    }
    assert_eq!(cache.stats().rotations, 1);
    assert!(live.last_error().is_none());
}

#[tokio::test(start_paused = true)]
async fn refresh_ahead_keeps_every_read_off_the_network_for_a_day() {
    const DAY: u64 = 86_400;
    const TTL: u64 = 600;
    let get = mock!(Client::get_secret_value)
        .sequence()
        .output(|| output("v1", &login("v1")))
        .repeatedly()
        .build();
    let describe = describe_always("v1");
    let cache = cache(
        client(RuleMode::MatchAny, &[&get, &describe]),
        Duration::from_secs(TTL),
        true,
    );
    let live = Db::watch(&cache).await.expect("load");
    for _ in 0..DAY / 7 {
        sleep(Duration::from_secs(7)).await;
        let read = cache.get("prod/db").now_or_never();
        assert!(
            matches!(read, Some(Ok(_))),
            "a read waited or failed: {read:?}"
        );
        assert_eq!(version_of(&live.current()), "v1");
    }
    let stats = cache.stats();
    assert_eq!(stats.misses, 1, "only the first load waited");
    assert_eq!(
        stats.stale_served, 0,
        "no read found a value past its soft TTL"
    );
    let calls = stats.api_calls();
    assert_eq!(calls, (get.num_calls() + describe.num_calls()) as u64);
    // The issue's bound is ceil(24 h / (ttl/2)) + 1 = 289. Refreshes are at least
    // 3/4·ttl − 5 s = 445 s apart, plus the load's fetch and guardrail check.
    let tight = DAY.div_ceil(TTL * 3 / 4 - 5) + 2;
    assert!(calls <= tight, "{calls} calls > {tight}");
    assert!(
        calls >= DAY / TTL,
        "{calls} calls: the task did not refresh"
    );
    assert_eq!(get.num_calls(), 1, "the value was never fetched again");
}

#[tokio::test(start_paused = true)]
async fn shutdown_and_drop_stop_every_call() {
    let get = get_v1_then_v2();
    let describe = describe_always("v1");
    let cache = minute(client(RuleMode::MatchAny, &[&get, &describe]));

    let live = Db::watch(&cache).await.expect("load");
    let mut other = live.clone();
    sleep(Duration::from_secs(200)).await;
    let before = cache.stats().api_calls();
    assert!(before > 2, "the task was refreshing");
    live.shutdown().await;
    assert!(other.changed().await.is_none(), "clones see the task stop");
    sleep(Duration::from_secs(86_400)).await;
    assert_eq!(cache.stats().api_calls(), before, "no call after shutdown");
    assert_eq!(
        version_of(&other.current()),
        "v1",
        "the last snapshot stays"
    );

    let dropped = Db::watch(&cache).await.expect("load");
    drop(dropped);
    tokio::task::yield_now().await;
    let before = cache.stats().api_calls();
    sleep(Duration::from_secs(86_400)).await;
    assert_eq!(cache.stats().api_calls(), before, "no call after drop");
}

#[tokio::test(start_paused = true)]
async fn a_refresh_that_cannot_recover_is_reported_and_the_snapshot_kept_until_stale() {
    let get = get_v1_then_v2();
    let describe = mock!(Client::describe_secret)
        .sequence()
        .output(|| described("v1", None))
        .http_status(400, Some(error_body("ResourceNotFoundException")))
        .repeatedly()
        .build();
    let cache = minute(client(RuleMode::MatchAny, &[&get, &describe]));
    let live = Db::watch(&cache).await.expect("load");
    sleep(Duration::from_secs(120)).await;
    assert!(
        matches!(live.last_error(), Some(Error::NotFound { .. })),
        "{:?}",
        live.last_error()
    );
    assert_eq!(
        version_of(&live.try_current().expect("within max_staleness")),
        "v1"
    );
    assert!(cache.stats().persistent_failures >= 1);

    sleep(Duration::from_secs(3_600)).await;
    match live.try_current() {
        Err(Error::Stale {
            last_failure, age, ..
        }) => {
            assert!(matches!(*last_failure, Error::NotFound { .. }));
            assert!(age >= Duration::from_secs(3_600), "{age:?}");
        }
        other => panic!("expected Stale, got {other:?}"),
    }
    assert_eq!(version_of(&live.current()), "v1", "current() still serves");
}

#[tokio::test(start_paused = true)]
async fn a_rotated_secret_that_no_longer_fits_keeps_the_old_snapshot() {
    let get = mock!(Client::get_secret_value)
        .sequence()
        .output(|| output("v1", &login("v1")))
        .output(|| output("v2", r#"{"user":"user-v2"}"#))
        .repeatedly()
        .build();
    let describe = describe_in_turn(&["v1", "v2"]);
    let cache = minute(client(RuleMode::MatchAny, &[&get, &describe]));
    let mut live = Db::watch(&cache).await.expect("load");
    let woken = timeout(Duration::from_secs(300), live.changed()).await;
    assert!(woken.is_err(), "no snapshot was published");
    assert_eq!(version_of(&live.current()), "v1");
    match live.last_error() {
        Some(Error::MissingKey { key, .. }) => assert_eq!(key, "password"),
        other => panic!("expected MissingKey, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn failed_refreshes_back_off_exponentially_with_full_jitter() {
    let calls: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let recorded = Arc::clone(&calls);
    let get = get_v1_then_v2();
    let describe = mock!(Client::describe_secret)
        .sequence()
        .output(|| described("v1", None))
        .error(move || {
            recorded
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Instant::now());
            let meta = ErrorMetadata::builder()
                .code("InternalServiceError")
                .build();
            DescribeSecretError::InternalServiceError(
                InternalServiceError::builder().meta(meta).build(),
            )
        })
        .repeatedly()
        .build();
    let cap = Duration::from_secs(16);
    let cache = SecretCache::builder(client(RuleMode::MatchAny, &[&get, &describe]))
        .ttl(Duration::from_secs(60))
        .max_backoff(cap)
        .jitter(false)
        .build()
        .expect("valid");
    let live = Db::watch(&cache).await.expect("load");
    sleep(Duration::from_secs(600)).await;
    let calls = calls.lock().unwrap_or_else(PoisonError::into_inner).clone();
    assert!(calls.len() > 12, "{} retries", calls.len());
    let gaps: Vec<Duration> = calls.windows(2).map(|w| w[1] - w[0]).collect();
    for (n, gap) in gaps.iter().enumerate() {
        // After the (n+1)-th consecutive failure the wait is at most 2^n s, capped.
        let ceiling = Duration::from_secs(1 << n.min(10)).min(cap);
        assert!(
            *gap >= ceiling / 16 && *gap <= ceiling,
            "retry {n}: waited {gap:?}, ceiling {ceiling:?}"
        );
    }
    assert!(
        gaps.iter().skip(4).any(|g| *g < cap * 15 / 16),
        "the waits are jittered: {gaps:?}"
    );
    assert_eq!(version_of(&live.current()), "v1", "served throughout");
    assert!(matches!(live.last_error(), Some(Error::Service { .. })));
}

#[tokio::test(start_paused = true)]
async fn after_an_invalidation_the_task_reloads_at_once_and_backs_off_while_that_fails() {
    let get = mock!(Client::get_secret_value)
        .sequence()
        .output(|| output("v1", &login("v1")))
        .http_status(400, Some(error_body("ResourceNotFoundException")))
        .repeatedly()
        .build();
    let describe = describe_always("v1");
    let cache = minute(client(RuleMode::MatchAny, &[&get, &describe]));
    let live = Db::watch(&cache).await.expect("load");
    cache.invalidate("prod/db");
    sleep(Duration::from_secs(1)).await;
    assert!(
        get.num_calls() >= 2,
        "reloaded at once, not at the old 55 s deadline"
    );
    sleep(Duration::from_secs(600)).await;
    let calls = get.num_calls();
    // Backoff from 1 s to the 128 s cap, each wait at least 1/16 of its ceiling: far fewer
    // calls than a loop that retried at once.
    assert!((5..100).contains(&calls), "{calls} reloads in 10 minutes");
    assert_eq!(version_of(&live.current()), "v1", "the last snapshot stays");
    assert!(matches!(live.last_error(), Some(Error::NotFound { .. })));
}

/// A field whose own code panics on one value: a stand-in for a user's `Deserialize`.
#[derive(Debug)]
struct Fragile(String);

impl<'de> serde::Deserialize<'de> for Fragile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = String::deserialize(d)?;
        assert!(value != "pw-v2", "cannot take {value}");
        Ok(Self(value))
    }
}

#[derive(crate::AwsSecrets, Debug)]
#[aws_secrets(crate = "crate", name = "prod/db")]
struct FragileDb {
    #[aws_secrets(public)]
    password: Fragile,
}

#[tokio::test(start_paused = true)]
async fn a_panic_in_field_code_is_reported_and_the_task_keeps_serving() {
    let get = mock!(Client::get_secret_value)
        .sequence()
        .output(|| output("v1", &login("v1")))
        .output(|| output("v2", &login("v2")))
        .output(|| output("v3", &login("v3")))
        .repeatedly()
        .build();
    let describe = describe_in_turn(&["v1", "v2", "v3"]);
    let cache = minute(client(RuleMode::MatchAny, &[&get, &describe]));
    let mut live = FragileDb::watch(&cache).await.expect("load");
    // v2 makes the field's code panic: the old snapshot stays, the error says why.
    let woken = timeout(Duration::from_secs(100), live.changed()).await;
    assert!(woken.is_err(), "nothing published from v2");
    assert_eq!(live.current().password.0, "pw-v1");
    match live.last_error() {
        Some(err @ Error::Panicked { settings }) => {
            assert!(settings.ends_with("FragileDb"), "{settings}");
            assert!(
                !format!("{err} {err:?}").contains("pw-v2"),
                "no value: {err}"
            );
        }
        other => panic!("expected Panicked, got {other:?}"),
    }
    // The task lives on: v3 is adopted.
    let next = timeout(Duration::from_secs(100), live.changed())
        .await
        .expect("the task still refreshes")
        .expect("still running");
    assert_eq!(next.password.0, "pw-v3");
}

#[tokio::test(start_paused = true)]
async fn an_invalidate_racing_a_watch_is_reported_as_an_invalidation() {
    let (get, describe) = (get_v1_then_v2(), describe_always("v1"));
    let cache = minute(client(RuleMode::MatchAny, &[&get, &describe]));
    let requests = [crate::plan::Request {
        id: Arc::from("prod/db"),
        version: crate::Version::current(),
        role: None,
        ttl: None,
        rotation: None,
    }];
    cache.get_many(&requests).await.expect("load");
    // What `Live::start` does after loading, with an `invalidate` in between.
    cache.invalidate("prod/db");
    let entries = cache.entries(&requests).expect("entries");
    let Err(err) = super::held_or_invalidated(&entries) else {
        panic!("the value is gone");
    };
    assert!(
        matches!(&err, Error::Invalidated { secret_id } if secret_id == "prod/db"),
        "{err:?}"
    );
    assert!(err.is_transient(), "loading again fixes it");
}

#[tokio::test(start_paused = true)]
async fn refresh_now_re_reads_every_secret_and_publishes_a_rotation() {
    let (get, describe) = (get_v1_then_v2(), describe_always("v2"));
    let cache = minute(client(RuleMode::MatchAny, &[&get, &describe]));
    let mut live = Db::watch(&cache).await.expect("watch");
    assert_eq!(version_of(&live.current()), "v1");
    live.refresh_now().await.expect("re-read");
    assert_eq!(get.num_calls(), 2, "the struct's secret was fetched again");
    let next = timeout(Duration::from_secs(1), live.changed())
        .await
        .expect("published without waiting for the TTL")
        .expect("the task runs");
    assert_eq!(version_of(&next), "v2");
    assert_eq!(version_of(&live.current()), "v2");
}

#[tokio::test(start_paused = true)]
async fn a_read_borrows_the_snapshot_without_allocating() {
    let get = get_v1_then_v2();
    let describe = describe_always("v1");
    let cache = minute(client(RuleMode::MatchAny, &[&get, &describe]));
    let live = Db::watch(&cache).await.expect("load");
    let owned = live.current();
    let mut versions = Vec::with_capacity(100);
    let counted = allocation_counter::measure(|| {
        for _ in 0..100 {
            let db = live.read();
            versions.push(Arc::ptr_eq(&owned, &live.current()) && std::ptr::eq(&*db, &*owned));
        }
    });
    assert!(versions.iter().all(|same| *same), "the published snapshot");
    assert_eq!(counted.count_total, 0, "allocations on the read path");
    assert_eq!(format!("{:?}", live.read()), format!("{owned:?}"));
}

#[tokio::test(start_paused = true)]
async fn a_reader_reads_without_allocating_and_keeps_following_rotations_alone() {
    let get = get_v1_then_v2();
    let describe = describe_in_turn(&["v1", "v1", "v2"]);
    let cache = minute(client(RuleMode::MatchAny, &[&get, &describe]));
    let live = Db::watch(&cache).await.expect("load");
    let mut reader = live.reader();
    assert_eq!(version_of(reader.read()), "v1");
    let counted = allocation_counter::measure(|| {
        for _ in 0..100 {
            assert_eq!(reader.read().user.expose_secret(), "user-v1");
        }
    });
    assert_eq!(counted.count_total, 0, "allocations on the read path");
    assert_eq!(format!("{reader:?}"), "LiveReader { .. }");

    let v1 = Arc::downgrade(&live.current());
    drop(live);
    sleep(Duration::from_secs(120)).await;
    assert_eq!(
        version_of(reader.read()),
        "v2",
        "the task runs for the reader"
    );
    assert!(v1.upgrade().is_none(), "the rotated-out snapshot is freed");
}

#[derive(crate::AwsSecrets)]
#[aws_secrets(crate = "crate", name = "other")]
struct Other {
    token: SecretString,
}

/// `GetSecretValue` of `other` answers a new version at every fetch: every refresh of it is a
/// rotation, which wakes every live task of its cache.
fn other_rotating_at_every_fetch() -> Rule {
    let versions = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    mock!(Client::get_secret_value)
        .match_requests(|r| r.secret_id() == Some("other"))
        .then_compute_output(move |_| {
            let n = versions.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            GetSecretValueOutput::builder()
                .arn("arn:aws:secretsmanager:us-east-1:123456789012:secret:other-XyZ123")
                .name("other")
                .version_id(format!("o{n}"))
                .version_stages("AWSCURRENT")
                .secret_string(r#"{"token":"t"}"#)
                .build()
        })
}

/// TTL 2 s (so `other` rotates every 2 s), backoff capped at 64 s, refreshes that fetch.
fn every_two_seconds(rules: &[&Rule]) -> crate::SecretCacheBuilder {
    SecretCache::builder(client(RuleMode::MatchAny, rules))
        .ttl(Duration::from_secs(2))
        .max_staleness(Duration::from_secs(3_600))
        .max_backoff(Duration::from_secs(64))
        .version_checks(false)
        .rotation_guardrail(crate::RotationGuardrail::Off)
        .jitter(false)
}

/// A live task backing off from a failed reload is woken by every rotation the cache adopts
/// (here `other`'s, every 2 s): such a wake must not clear `last_error`. Both kinds of
/// failure: a persistent one (remembered by the cache, so the entry is not due until the
/// memory expires: the task used to record "no error" then) and a transient one (the task's
/// own backoff: a wake inside it used to count as a failed round, recording no error).
#[tokio::test(start_paused = true)]
async fn a_rotation_elsewhere_during_a_backoff_keeps_the_error_reported() {
    for (status, code) in [
        (400, "ResourceNotFoundException"),
        (500, "InternalServiceError"),
    ] {
        let db = mock!(Client::get_secret_value)
            .match_requests(|r| r.secret_id() == Some("prod/db"))
            .sequence()
            .output(|| output("v1", &login("v1")))
            .http_status(status, Some(error_body(code)))
            .repeatedly()
            .build();
        let other = other_rotating_at_every_fetch();
        let cache = every_two_seconds(&[&db, &other])
            .build()
            .expect("valid settings");
        let live = Db::watch(&cache).await.expect("load");
        let other = Other::watch(&cache).await.expect("load");
        cache.invalidate("prod/db");
        // The first reload ends by the call deadline (10 s of retries for a transient failure).
        sleep(Duration::from_secs(12)).await;
        for second in 12..600 {
            sleep(Duration::from_secs(1)).await;
            assert!(
                live.last_error().is_some(),
                "{code}: no failure reported at {second} s"
            );
        }
        assert!(
            db.num_calls() > 3,
            "{code}: reloads go on while the error is reported"
        );
        assert_eq!(version_of(&live.current()), "v1", "the last snapshot stays");
        assert!(other.current().token.expose_secret() == "t");
    }
}

/// A wake during a backoff after the struct's secrets recovered by other means (here
/// `refresh_now`) ends the backoff and clears `last_error`, instead of reporting a failure
/// that is over until the backoff would have ended.
#[tokio::test(start_paused = true)]
async fn a_recovery_seen_during_a_backoff_clears_the_error_at_once() {
    use aws_smithy_mocks::MockResponse;
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

    let failing = Arc::new(AtomicBool::new(false));
    let switch = Arc::clone(&failing);
    let db = mock!(Client::get_secret_value)
        .match_requests(|r| r.secret_id() == Some("prod/db"))
        .then_compute_response(move |_| {
            if switch.load(Relaxed) {
                let status = StatusCode::try_from(500).expect("status");
                let body = SdkBody::from(error_body("InternalServiceError"));
                MockResponse::Http(Response::new(status, body))
            } else {
                MockResponse::Output(output("v1", &login("v1")))
            }
        });
    let other = other_rotating_at_every_fetch();
    let cache = every_two_seconds(&[&db, &other])
        .attempt_timeout(Duration::from_secs(1))
        .call_timeout(Duration::from_secs(1))
        .build()
        .expect("valid settings");
    let live = Db::watch(&cache).await.expect("load");
    let _other = Other::watch(&cache).await.expect("load");
    failing.store(true, Relaxed);
    cache.invalidate("prod/db");
    // Reloads fail and back off 1, 2 … 64 s: at 80 s the task is in a long backoff.
    sleep(Duration::from_secs(80)).await;
    assert!(live.last_error().is_some(), "the failure is reported");
    failing.store(false, Relaxed);
    live.refresh_now().await.expect("the service answers again");
    // `other` rotates every 2 s and wakes the task.
    sleep(Duration::from_secs(5)).await;
    assert!(
        live.last_error().is_none(),
        "recovered 5 s ago: {:?}",
        live.last_error()
    );
}

#[cfg(feature = "testing")]
/// Two secrets of one struct, read from memory.
#[derive(crate::AwsSecrets, Debug)]
#[aws_secrets(crate = "crate")]
struct Pair {
    #[aws_secrets(name = "pair/a")]
    a: SecretString,
    #[aws_secrets(name = "pair/b")]
    b: SecretString,
}

/// After an outage of the whole source, both secrets back off on their own jittered schedules;
/// the first round that finds the source back re-reads the other at once, so `last_error`
/// stops reporting the outage then (it used to report the other secret's old failure until
/// that secret's own backoff ended, up to `max_backoff` later).
#[cfg(feature = "testing")]
#[tokio::test(start_paused = true)]
async fn the_first_answer_after_an_outage_brings_every_secret_back() {
    use crate::{MemoryFault, MemorySource};
    let source = MemorySource::new();
    source.text("pair/a", "a1");
    source.text("pair/b", "b1");
    let cache = SecretCache::builder(source.clone())
        .ttl(Duration::from_secs(10))
        .max_staleness(Duration::from_secs(7_200))
        .max_backoff(Duration::from_secs(3_600))
        .jitter(false)
        .build()
        .expect("valid settings");
    let live = Pair::watch(&cache).await.expect("load");
    source.fail(None, MemoryFault::Unavailable);
    sleep(Duration::from_secs(1_800)).await;
    assert!(live.last_error().is_some(), "the outage is reported");
    source.clear_failures();
    let before = source.calls();
    let mut waited = Duration::ZERO;
    while source.calls() == before {
        sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
        assert!(
            waited < Duration::from_secs(7_200),
            "no attempt after the outage"
        );
    }
    sleep(Duration::from_millis(100)).await;
    assert!(
        live.last_error().is_none(),
        "the source answered {waited:?} after the outage: {:?}",
        live.last_error()
    );
    assert_eq!(source.calls(), before + 2, "each secret read once more");
    let pair = live.current();
    assert_eq!(
        (pair.a.expose_secret(), pair.b.expose_secret()),
        ("a1", "b1")
    );
}
