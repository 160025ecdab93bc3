//! Fault injection: throttling storms, 5xx bursts, timeouts, the endpoint gone for simulated
//! minutes (scripted connector, paused time) and for real seconds (moto stopped and restarted
//! on its port). Readers keep the last good value within `max_staleness`, get `Error::Stale`
//! after it, recover fully when the endpoint is back; nothing panics; the cache's counters
//! match the requests the fake endpoint saw.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use asm_runtime::{
    AwsSecrets, Error, ExposeSecret, Secret, SecretCache, SecretCacheBuilder, SecretString,
    TransportKind,
};
use asm_testkit::Moto;
use aws_sdk_secretsmanager::Client;
use aws_smithy_mocks::{RuleMode, mock};
use tokio::time::Instant;

use crate::support::{Scripted, Step, cache, mocked, output, settle, value_body};

/// What a reader saw at one instant.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Value(String),
    Stale,
}

/// An endpoint that answers `v1` ("before") until t = 60 s, does `during` until t = 600 s
/// (counting those requests), and answers `v2` ("after") from then on.
fn outage_endpoint(during: Step) -> (Scripted, Arc<AtomicUsize>) {
    let start = Instant::now();
    let faults = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&faults);
    let scripted = Scripted::new(move |_| {
        let t = start.elapsed();
        if t < Duration::from_secs(60) {
            Step::Respond(200, value_body("v1", "before"))
        } else if t < Duration::from_secs(600) {
            counted.fetch_add(1, Ordering::SeqCst);
            during.clone()
        } else {
            Step::Respond(200, value_body("v2", "after"))
        }
    });
    (scripted, faults)
}

/// Drives readers every 5 s for 15 simulated minutes while the endpoint does `during` from
/// t = 60 s to t = 600 s (and answers normally outside that window: `v1` before, `v2` after).
/// The cache: TTL 60 s, `max_staleness` 300 s, backoff cap 8 s.
async fn outage(name: &str, during: Step, last_failure: fn(&Error) -> bool) {
    let start = Instant::now();
    let (scripted, faults) = outage_endpoint(during);
    let cache = cache(scripted.client());
    let mut timeline = Vec::new();
    loop {
        let t = start.elapsed();
        if t > Duration::from_secs(900) {
            break;
        }
        let seen = match cache.get("prod/db").await {
            Ok(secret) => Seen::Value(secret.version_id().to_owned()),
            Err(Error::Stale {
                age,
                last_failure: cause,
                ..
            }) => {
                assert!(
                    age >= Duration::from_secs(300),
                    "{name}: Stale before max_staleness ({age:?})"
                );
                assert!(last_failure(&cause), "{name}: last failure {cause:?}");
                Seen::Stale
            }
            Err(other) => panic!("{name}: at {t:?} an unexpected error: {other:?}"),
        };
        timeline.push((t, seen));
        settle().await;
        tokio::time::advance(Duration::from_secs(5)).await;
    }
    for (t, seen) in &timeline {
        let secs = t.as_secs();
        let ok = match secs {
            // Confirmed at t = 0; the outage starts at 60 s: served until 300 s.
            0..300 => *seen == Seen::Value("v1".into()),
            // Past max_staleness while every refresh fails.
            300..590 => *seen == Seen::Stale,
            // Back: within one backoff (≤ 8 s) plus one read interval, fresh values; a read
            // just before the end may wait for its paced turn (≤ 5 s) into the recovery.
            590..615 => *seen == Seen::Stale || *seen == Seen::Value("v2".into()),
            _ => *seen == Seen::Value("v2".into()),
        };
        assert!(ok, "{name}: at {secs}s saw {seen:?}");
    }
    let stats = cache.stats();
    let calls = scripted.calls() as u64;
    assert_eq!(
        stats.get_secret_value_calls, calls,
        "{name}: every request counted once"
    );
    // Every failed request is a failure; so is a paced refresh whose turn came too late (not
    // sent, answered as throttled).
    assert!(
        stats.failures >= faults.load(Ordering::SeqCst) as u64,
        "{name}: every failed request counted as a failure"
    );
    assert_eq!(stats.rotations, 1, "{name}: v1 -> v2 adopted once");
    assert!(
        calls < 180,
        "{name}: backoff spaces the retries ({calls} calls in 180 reads)"
    );
    assert!(
        stats.failures >= 10,
        "{name}: the outage was retried ({} failures)",
        stats.failures
    );
}

/// One whole secret, kept current by a live handle.
#[derive(AwsSecrets, Debug)]
struct Whole {
    #[aws_secrets(name = "prod/db")]
    value: SecretString,
}

/// A live handle's task retries a failing refresh on its own clock, with nobody reading: the
/// backoff (1 s doubling to the 8 s cap, full jitter) holds it to about one call per 4 s through
/// a 9-minute outage, some 135 calls. A constant 100 ms retry would make 5,400, a constant 1 s
/// one 540; never retrying, none.
#[tokio::test(start_paused = true)]
async fn a_live_handle_backs_off_through_an_outage() {
    let start = Instant::now();
    let (scripted, during) = outage_endpoint(Step::Respond(
        503,
        error_body("ServiceUnavailableException"),
    ));
    let cache = cache(scripted.client());
    let live = Whole::watch(&cache).await.expect("first load");
    tokio::time::sleep_until(start + Duration::from_secs(700)).await;
    let calls = during.load(Ordering::SeqCst);
    assert!(
        (60..=270).contains(&calls),
        "{calls} calls in the 540 s outage: expected about 135 (one per ~4 s of backoff)"
    );
    assert_eq!(live.current().value.expose_secret(), "after", "recovered");
}

fn error_body(code: &str) -> String {
    format!(r#"{{"__type":"{code}","message":"try later"}}"#)
}

#[tokio::test(start_paused = true)]
async fn throttling_storm_for_minutes() {
    outage(
        "throttling storm",
        Step::Respond(400, error_body("ThrottlingException")),
        |e| matches!(e, Error::Throttled { .. }),
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn service_5xx_for_minutes() {
    outage(
        "5xx",
        Step::Respond(503, error_body("ServiceUnavailable")),
        |e| matches!(e, Error::Service { .. }),
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn timeouts_for_minutes() {
    outage("timeouts", Step::Hang, |e| {
        matches!(
            e,
            Error::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        )
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn slow_answers_past_the_timeout_for_minutes() {
    let slow = Step::After(
        Duration::from_secs(30),
        Box::new(Step::Respond(200, value_body("v9", "late"))),
    );
    outage("slow answers", slow, |e| {
        matches!(
            e,
            Error::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        )
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn endpoint_gone_for_minutes() {
    outage("endpoint gone", Step::Refused, |e| {
        matches!(
            e,
            Error::Transport {
                kind: TransportKind::Connection,
                ..
            }
        )
    })
    .await;
}

/// Bursts of throttling and 5xx answers (aws-smithy-mocks), shorter than `max_staleness`:
/// readers never see an error, and the burst is counted exactly.
#[tokio::test(start_paused = true)]
async fn mocked_bursts_never_reach_readers() {
    let throttled = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
    let internal = r#"{"__type":"InternalServiceError","message":"boom"}"#;
    let rule = mock!(Client::get_secret_value)
        .sequence()
        .output(|| output("v1", "one"))
        .http_status(400, Some(throttled.into()))
        .times(6)
        .http_status(500, Some(internal.into()))
        .times(4)
        .http_status(503, None)
        .times(2)
        .output(|| output("v2", "two"))
        .repeatedly()
        .build();
    let cache = cache(mocked(RuleMode::Sequential, &[&rule]));
    let mut reads = 0u64;
    let mut last = String::new();
    for _ in 0..100 {
        let secret = cache
            .get("prod/db")
            .await
            .expect("within max_staleness, always a value");
        last = secret.version_id().to_owned();
        reads += 1;
        settle().await;
        tokio::time::advance(Duration::from_secs(3)).await;
    }
    assert_eq!(last, "v2", "recovered after the bursts");
    let stats = cache.stats();
    // 6 throttles + 4 500s + 2 503s, and any refresh not sent because its paced turn came
    // too late (answered as throttled without a request).
    assert!(stats.failures >= 12, "{} failures", stats.failures);
    assert_eq!(stats.get_secret_value_calls, rule.num_calls() as u64);
    assert_eq!(stats.rotations, 1);
    assert_eq!(
        stats.hits + stats.misses + stats.stale_served,
        reads,
        "every read counted once"
    );
}

/// A first load during an outage is retried (jittered) until the call deadline, then fails
/// with the typed error (no value to serve); a blip shorter than the deadline is ridden out;
/// loads succeed once the endpoint is back.
#[tokio::test(start_paused = true)]
async fn first_load_during_an_outage_fails_at_the_deadline_then_recovers() {
    let start = Instant::now();
    let scripted = Scripted::new(move |_| {
        if start.elapsed() < Duration::from_secs(40) {
            Step::Refused
        } else {
            Step::Respond(200, value_body("v1", "x"))
        }
    });
    let cache = cache(scripted.client());
    for _ in 0..3 {
        let before = Instant::now();
        let err = cache.get("prod/db").await.expect_err("down");
        assert!(matches!(err, Error::Transport { .. }), "{err:?}");
        assert!(
            before.elapsed() <= SecretCacheBuilder::DEFAULT_CALL_TIMEOUT,
            "answered by the call deadline, after {:?}",
            before.elapsed()
        );
    }
    let failed_calls = scripted.calls();
    assert!(
        failed_calls > 3 * 5,
        "each first load was retried: {failed_calls} calls"
    );
    // A read started 2 s before the endpoint comes back rides the rest of the outage out.
    let two_s_before = start + Duration::from_secs(38);
    assert!(Instant::now() < two_s_before);
    tokio::time::advance(two_s_before - Instant::now()).await;
    let secret = cache.get("prod/db").await.expect("retried past the outage");
    assert_eq!(secret.version_id(), "v1");
    assert!(start.elapsed() >= Duration::from_secs(40));
    let stats = cache.stats();
    assert_eq!(stats.misses, 4);
    assert_eq!(stats.get_secret_value_calls, scripted.calls() as u64);
}

async fn read_until(
    cache: &SecretCache,
    deadline: Duration,
    want: impl Fn(&Result<Arc<Secret>, Error>) -> bool,
) -> Result<Arc<Secret>, Error> {
    let started = std::time::Instant::now();
    loop {
        let got = cache.get("prod/db").await;
        if want(&got) {
            return got;
        }
        assert!(
            started.elapsed() < deadline,
            "not reached within {deadline:?}; last read {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A real `moto_server` stopped (connections refused), then restarted on the same port.
#[tokio::test]
async fn moto_stopped_then_restarted_on_the_same_port() {
    let mut moto = Moto::start();
    let port = moto.port();
    moto.create("prod/db", "first").await;
    let max_staleness = Duration::from_millis(1500);
    let cache = SecretCache::builder(moto.client())
        .ttl(Duration::from_millis(200))
        .max_staleness(max_staleness)
        .max_backoff(Duration::from_secs(1))
        .jitter(false)
        .build()
        .expect("valid");
    let v1 = cache
        .get("prod/db")
        .await
        .expect("load")
        .version_id()
        .to_owned();
    let confirmed = std::time::Instant::now();
    moto.stop();

    // Within max_staleness: the last good value, though every refresh fails.
    while confirmed.elapsed() < max_staleness - Duration::from_millis(300) {
        let secret = cache
            .get("prod/db")
            .await
            .expect("served within max_staleness");
        assert_eq!(secret.version_id(), v1);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        cache.stats().failures >= 1,
        "refreshes were tried and failed"
    );

    // Past it: Stale, naming the transport failure.
    tokio::time::sleep(
        max_staleness.saturating_sub(confirmed.elapsed()) + Duration::from_millis(50),
    )
    .await;
    let err = cache.get("prod/db").await.expect_err("past max_staleness");
    match &err {
        Error::Stale { last_failure, .. } => assert!(
            matches!(**last_failure, Error::Transport { .. }),
            "{last_failure:?}"
        ),
        other => panic!("expected Stale, got {other:?}"),
    }

    moto.restart();
    assert_eq!(moto.port(), port, "same port");
    moto.create("prod/db", "second").await;
    let back = read_until(&cache, Duration::from_secs(5), Result::is_ok)
        .await
        .expect("recovered");
    assert_ne!(back.version_id(), v1, "the new server's version");
    let hit = cache.get("prod/db").await.expect("fresh again");
    assert_eq!(hit.version_id(), back.version_id());

    let stats = cache.stats();
    assert_eq!(
        stats.get_secret_value_calls, 2,
        "the value was fetched at the first load and at the recovery only: {stats:?}"
    );
    assert_eq!(
        stats.describe_secret_calls,
        stats.failures + 1,
        "every version check failed but the one that found the new server's version: {stats:?}"
    );
    assert_eq!(stats.rotations, 1, "{stats:?}");
}
