//! What the cache records through the `metrics` facade, captured by a thread-local recorder
//! (a current-thread runtime runs the cache's fetch tasks on the test's thread).

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use aws_smithy_mocks::{RuleMode, mock};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use tokio::time::advance;

use super::names;
use crate::SecretCache;
use crate::cache::tests::failover::{replica_v1, silent_client_in, west};
use crate::testing::{client, error_body, output, settle, silent_client};

/// Everything recorded so far: counters summed over snapshots (a snapshot resets them), the
/// last value of each gauge, the samples of each histogram; keyed by `name{k=v,…}`.
#[derive(Default)]
struct Recorded {
    counters: BTreeMap<String, u64>,
    gauges: BTreeMap<String, f64>,
    histograms: BTreeMap<String, Vec<f64>>,
}

impl Recorded {
    fn take(&mut self, snapshotter: &Snapshotter) -> &Self {
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            let key = key.key();
            let mut labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            let name = format!("{}{{{}}}", key.name(), labels.join(","));
            match value {
                DebugValue::Counter(n) => *self.counters.entry(name).or_default() += n,
                DebugValue::Gauge(v) => {
                    self.gauges.insert(name, v.into_inner());
                }
                DebugValue::Histogram(samples) => self
                    .histograms
                    .entry(name)
                    .or_default()
                    .extend(samples.into_iter().map(|s| s.into_inner())),
            }
        }
        self
    }

    fn counter(&self, name: &str) -> u64 {
        self.counters.get(name).copied().unwrap_or_default()
    }
}

/// `testing::minute`, built.
fn built_minute(client: Client) -> SecretCache {
    crate::testing::minute(client)
        .build()
        .expect("valid settings")
}

#[tokio::test(start_paused = true)]
async fn hits_are_exported_from_the_counters_not_recorded_per_read() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let get = crate::testing::always_v1();
    let cache = built_minute(client(RuleMode::MatchAny, &[&get]));
    for _ in 0..3 {
        cache.get("prod/db").await.expect("read");
    }
    let mut recorded = Recorded::default();
    let hits = "asm.cache.reads{asm.read.outcome=hit}";
    recorded.take(&snapshotter);
    assert_eq!(recorded.counter(hits), 0, "a hit records nothing");
    cache.export_metrics();
    let after = recorded.take(&snapshotter);
    assert_eq!(after.counter(hits), 2);
    assert_eq!(after.counter("asm.cache.reads{asm.read.outcome=miss}"), 1);
    assert_eq!(
        after.counter("asm.source.calls{asm.source=sdk,rpc.method=GetSecretValue}"),
        1
    );
    assert_eq!(
        after.gauges["asm.cache.secrets{asm.secret.state=fresh}"], 1.0,
        "{:?}",
        after.gauges
    );
    // Only what was counted since the last export is added.
    cache.get("prod/db").await.expect("hit");
    cache.export_metrics();
    cache.export_metrics();
    assert_eq!(recorded.take(&snapshotter).counter(hits), 3);
}

#[tokio::test(start_paused = true)]
async fn calls_failures_rotations_and_staleness_are_recorded_with_bounded_labels() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let get = mock!(Client::get_secret_value)
        .sequence()
        .output(|| output("v1", r#"{"password":"p1"}"#))
        .http_status(500, Some(error_body("InternalServiceError")))
        .times(1)
        .output(|| output("v2", r#"{"password":"p2"}"#))
        .repeatedly()
        .build();
    let cache = built_minute(client(RuleMode::Sequential, &[&get]));
    cache.get("prod/db").await.expect("first load");
    advance(Duration::from_secs(61)).await;
    cache
        .get("prod/db")
        .await
        .expect("served stale while refreshing");
    settle().await;
    advance(Duration::from_secs(30)).await;
    cache.export_metrics();
    let mut recorded = Recorded::default();
    let seen = recorded.take(&snapshotter);
    assert_eq!(
        seen.counter(
            "asm.source.calls{asm.source=sdk,error.type=Service,rpc.method=GetSecretValue}"
        ),
        1
    );
    assert_eq!(
        seen.counter("asm.cache.failures{aws.secretsmanager.secret.id=prod/db,error.type=Service}"),
        1
    );
    assert_eq!(
        seen.gauges["asm.cache.secrets{asm.secret.state=stale}"],
        1.0
    );
    assert_eq!(seen.gauges["asm.cache.unconfirmed.age{}"], 91.0);
    assert_eq!(
        seen.counter("asm.cache.reads{asm.read.outcome=stale_served}"),
        1
    );
    let durations = &seen.histograms["asm.source.call.duration{asm.source=sdk,error.type=Service,rpc.method=GetSecretValue}"];
    assert_eq!(durations.len(), 1);

    // The backoff ends; the next read refreshes and finds v2: a rotation.
    advance(Duration::from_secs(300)).await;
    let _ = cache.get("prod/db").await;
    settle().await;
    cache.export_metrics();
    let seen = recorded.take(&snapshotter);
    assert_eq!(
        seen.counter("asm.cache.rotations{aws.secretsmanager.secret.id=prod/db}"),
        1
    );
    assert_eq!(
        seen.gauges["asm.cache.secrets{asm.secret.state=stale}"],
        0.0
    );
    assert_eq!(seen.gauges["asm.cache.unconfirmed.age{}"], 0.0);
    assert_eq!(
        seen.counter("asm.source.calls{asm.source=sdk,rpc.method=GetSecretValue}"),
        2
    );
    // Every series' labels come from closed sets, and the secret's id; never a value.
    for name in (seen.counters.keys())
        .chain(seen.gauges.keys())
        .chain(seen.histograms.keys())
    {
        assert!(!name.contains("p1") && !name.contains("p2"), "{name}");
        assert!(name.starts_with("asm."), "{name}");
    }
    for name in [
        names::CALLS,
        names::FAILURES,
        names::ROTATIONS,
        names::READS,
    ] {
        assert!(
            seen.counters.keys().any(|k| k.starts_with(name)),
            "{name} recorded"
        );
    }
}

/// Calls to failover regions are counted by region, method and outcome, as `Stats` counts
/// them, and appear among the source's calls with their region; the primary's calls keep
/// their labels.
#[tokio::test(start_paused = true)]
async fn failover_calls_and_replica_reads_are_recorded_by_region() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let replica = replica_v1();
    let cache = crate::testing::minute(silent_client())
        .failover_client(silent_client_in("eu-west-1"))
        .failover_client(west(&[&replica]))
        .build()
        .expect("valid settings");
    cache
        .get("prod/db")
        .await
        .expect("the second replica answers");
    let mut recorded = Recorded::default();
    let seen = recorded.take(&snapshotter);
    let failover = |labels: &str| seen.counter(&format!("asm.failover.calls{{{labels}}}"));
    let (failed, answered) = (
        failover("cloud.region=eu-west-1,error.type=Transport,rpc.method=GetSecretValue"),
        failover("cloud.region=us-west-2,rpc.method=GetSecretValue"),
    );
    assert_eq!((failed, answered), (1, 1), "{:?}", seen.counters);
    let stats = cache.stats();
    assert_eq!(
        (stats.failover_calls, stats.replica_reads),
        (failed + answered, answered)
    );
    let calls = |labels: &str| seen.counter(&format!("asm.source.calls{{{labels}}}"));
    assert_eq!(
        calls("asm.source=sdk,cloud.region=us-west-2,rpc.method=GetSecretValue"),
        1
    );
    assert_eq!(
        calls("asm.source=sdk,error.type=Transport,rpc.method=GetSecretValue"),
        1,
        "the primary's call, without a region label"
    );
    let replica_durations =
        "asm.source.call.duration{asm.source=sdk,cloud.region=us-west-2,rpc.method=GetSecretValue}";
    assert_eq!(seen.histograms[replica_durations].len(), 1);
    assert!(
        seen.counters
            .keys()
            .any(|k| k.starts_with(names::FAILOVER_CALLS))
    );
}

#[tokio::test(start_paused = true)]
async fn the_exporter_task_exports_on_its_timer_and_stops_with_its_handle() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let get = crate::testing::always_v1();
    let cache = built_minute(client(RuleMode::MatchAny, &[&get]));
    cache.get("prod/db").await.expect("miss");
    let hits = "asm.cache.reads{asm.read.outcome=hit}";
    let mut recorded = Recorded::default();
    let exporter = cache.export_metrics_every(Duration::from_secs(10));
    settle().await;
    cache.get("prod/db").await.expect("hit");
    assert_eq!(
        recorded.take(&snapshotter).counter(hits),
        0,
        "not yet exported"
    );
    advance(Duration::from_secs(10)).await;
    settle().await;
    assert_eq!(
        recorded.take(&snapshotter).counter(hits),
        1,
        "exported by the timer"
    );
    drop(exporter);
    cache.get("prod/db").await.expect("hit");
    advance(Duration::from_secs(30)).await;
    settle().await;
    assert_eq!(
        recorded.take(&snapshotter).counter(hits),
        1,
        "the task stopped"
    );
}
