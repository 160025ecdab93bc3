//! Metrics (feature `metrics`) and the spans of fetch rounds and source calls.
//!
//! **Why the `metrics` crate.** A library should emit through a facade and let the application
//! pick the exporter. `metrics` (0.24) is the Rust ecosystem's facade for that: a dependency
//! of a few kilobytes, no exporter, a stable macro API, and until the application installs a
//! recorder (Prometheus through `metrics-exporter-prometheus`, StatsD, or OpenTelemetry through
//! a bridge) what is recorded goes to a no-op. OpenTelemetry's
//! own API (`opentelemetry` 0.x) would tie every user to its release train, which breaks its
//! API every few months, and pull its SDK's types into a secrets library; its *names* are what
//! this module takes from it instead (semantic conventions: dotted lowercase names, `.duration`
//! histograms in seconds, `rpc.method` and `error.type` attributes).
//!
//! **The hit path does not change.** Reads are counted by the sharded counters the cache
//! always keeps ([`Stats`](crate::Stats)); [`SecretCache::export_metrics`] turns what they
//! counted since the last export into counter increments, on scrape or on a timer
//! ([`SecretCache::export_metrics_every`]). Calls, failures and rotations are rare (one per TTL
//! per secret at most) and are recorded where they happen. Gauges are set at export from
//! [`SecretCache::health`].
//!
//! | metric | kind (unit) | attributes | what it says |
//! |---|---|---|---|
//! | `asm.cache.reads` | counter | `asm.read.outcome`: `hit`, `miss`, `stale_served`, `failure_remembered` | reads by what answered them |
//! | `asm.source.calls` | counter | `asm.source`, `rpc.method`, `error.type` (failures only) | calls made to the source, by outcome |
//! | `asm.source.call.duration` | histogram (s) | as `asm.source.calls` | each call's latency, its SDK retries included |
//! | `asm.failover.calls` | counter | `cloud.region`, `rpc.method`, `error.type` (failures only) | calls sent to a failover region after the primary failed ([`Stats::failover_calls`](crate::Stats::failover_calls)); those without `error.type` are the replicas' answers ([`Stats::replica_reads`](crate::Stats::replica_reads)) |
//! | `asm.cache.failures` | counter | `aws.secretsmanager.secret.id`, `error.type` | failed first loads and refreshes, by secret and kind |
//! | `asm.cache.rotations` | counter | `aws.secretsmanager.secret.id` | new versions adopted |
//! | `asm.cache.secrets` | gauge | `asm.secret.state`: `fresh`, `idle`, `stale`, `expired`, `failed`, `loading` | entries by state (see `health`) |
//! | `asm.cache.unconfirmed.age` | gauge (s) | — | how long the oldest value whose refresh failed has gone unconfirmed; 0 when none |
//! | `asm.live.handles` | gauge | `asm.live.state`: `current`, `behind`, `stale` | live handles by state |
//!
//! **Bounded label sets.** No attribute holds a value. `asm.source`, `rpc.method`,
//! `error.type` and the states are closed sets (4 sources × 3 methods × at most 20 error kinds);
//! `cloud.region` takes the failover regions the cache was built with, and is present only on
//! the calls sent to them (on `asm.source.calls` and its duration, and on `asm.failover.calls`).
//! Secret ids appear only on the two event counters, `asm.cache.failures` and
//! `asm.cache.rotations`: one series per secret the application reads (ids come from its
//! configuration, and the cache holds at most `capacity` of them at once), times the error kinds
//! it met. Gauges describe the exporting cache: a process with several caches should export one
//! of them (the counters of all of them add up).
//!
//! **Spans** (always on, through `tracing`): `asm.fetch_round` (INFO) per attempt of a fetch
//! round, with `asm.round.attempt`, `asm.round.secrets`, the ids
//! (`aws.secretsmanager.secret.id`), then `asm.outcome` (`ok`, `partial`, `error`),
//! `asm.round.failures` and `asm.duration_ms`; and `asm.source.call` (INFO) per call sent, with
//! `aws.secretsmanager.secret.id`, `asm.source`, `rpc.method`, `asm.call.attempt`,
//! `cloud.region` (the region the call went to, when the source has one) and, on a call to a
//! failover region, `asm.failover = true`; then
//! `asm.outcome` (`ok`, `error`), `error.type` and `asm.duration_ms`. INFO, because a production
//! filter keeps INFO and these are rare: a round per TTL per secret when all is well (the hit
//! path has no span), and exactly what an incident needs when it is not.

use std::time::Duration;

use tokio::time::Instant;
use tracing::Span;
use tracing::field::Empty;

use super::Core;
use crate::Error;
use crate::error::Operation;

/// The metric names and attribute keys, in OpenTelemetry's style (a Prometheus exporter with
/// its recommended naming renders `asm.cache.reads` as `asm_cache_reads_total`).
#[cfg(feature = "metrics")]
pub(crate) mod names {
    /// Reads by outcome (counter).
    pub(crate) const READS: &str = "asm.cache.reads";
    /// Calls to the source (counter).
    pub(crate) const CALLS: &str = "asm.source.calls";
    /// Call latency (histogram, seconds).
    pub(crate) const CALL_DURATION: &str = "asm.source.call.duration";
    /// Failed first loads and refreshes (counter).
    pub(crate) const FAILURES: &str = "asm.cache.failures";
    /// Rotations adopted (counter).
    pub(crate) const ROTATIONS: &str = "asm.cache.rotations";
    /// Entries by state (gauge).
    pub(crate) const SECRETS: &str = "asm.cache.secrets";
    /// The oldest unconfirmed value's age (gauge, seconds).
    pub(crate) const UNCONFIRMED_AGE: &str = "asm.cache.unconfirmed.age";
    /// Live handles by state (gauge).
    pub(crate) const LIVE_HANDLES: &str = "asm.live.handles";
    /// Calls sent to a failover region (counter).
    pub(crate) const FAILOVER_CALLS: &str = "asm.failover.calls";

    /// The secret id as the application asked for it (name or ARN), after the semantic
    /// conventions' `aws.secretsmanager.secret.arn`.
    pub(crate) const SECRET_ID: &str = "aws.secretsmanager.secret.id";
    /// The region a call was sent to, on the calls to a failover region (semantic
    /// conventions).
    pub(crate) const REGION: &str = "cloud.region";
    /// `sdk`, `agent`, `files`, `memory`.
    pub(crate) const SOURCE: &str = "asm.source";
    /// `GetSecretValue`, `BatchGetSecretValue`, `DescribeSecret` (semantic conventions).
    pub(crate) const METHOD: &str = "rpc.method";
    /// The failure's kind, [`Error::kind`](crate::Error::kind) (semantic conventions).
    pub(crate) const ERROR_TYPE: &str = "error.type";
    /// What answered a read.
    pub(crate) const READ_OUTCOME: &str = "asm.read.outcome";
    /// A secret's state in `health`.
    pub(crate) const SECRET_STATE: &str = "asm.secret.state";
    /// A live handle's state in `health`.
    pub(crate) const LIVE_STATE: &str = "asm.live.state";
}

/// The action's name: `GetSecretValue`, `BatchGetSecretValue`, `DescribeSecret`,
/// `GetParameter`.
pub(crate) fn method(op: Operation) -> &'static str {
    let action = op.iam_action();
    let service = action.find(':').map_or(0, |at| at + 1);
    &action[service..]
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Where a call was sent: the primary source (in its region, when it has one), or a failover
/// region.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CallTo<'a> {
    /// The cache's own source.
    Primary(Option<&'a str>),
    /// The replica in this failover region.
    Failover(&'a str),
}

/// The span of one call sent to the source (its fields filled by [`Core::call_done`]).
pub(crate) fn call_span(
    source: &'static str,
    op: Operation,
    secret_id: &str,
    attempt: u32,
    to: CallTo<'_>,
) -> Span {
    let (region, failover) = match to {
        CallTo::Primary(region) => (region, None),
        CallTo::Failover(region) => (Some(region), Some(true)),
    };
    tracing::info_span!(
        "asm.source.call",
        aws.secretsmanager.secret.id = secret_id,
        asm.source = source,
        rpc.method = method(op),
        asm.call.attempt = attempt,
        cloud.region = region,
        asm.failover = failover,
        asm.outcome = Empty,
        "error.type" = Empty,
        asm.duration_ms = Empty,
    )
}

/// The span of one attempt of a fetch round over `ids` (its outcome filled by
/// [`round_done`]).
pub(crate) fn round_span<'a>(attempt: u32, ids: impl ExactSizeIterator<Item = &'a str>) -> Span {
    const SHOWN: usize = 20;
    let secrets = ids.len();
    let mut shown: String = ids.take(SHOWN).collect::<Vec<_>>().join(",");
    if secrets > SHOWN {
        shown.push_str(",…");
    }
    tracing::info_span!(
        "asm.fetch_round",
        asm.round.attempt = attempt,
        asm.round.secrets = secrets,
        aws.secretsmanager.secret.id = shown,
        asm.outcome = Empty,
        asm.round.failures = Empty,
        asm.duration_ms = Empty,
    )
}

/// Records a round attempt's outcome on its span: `failures` of `secrets` failed.
pub(crate) fn round_done(span: &Span, secrets: usize, failures: usize, started: Instant) {
    let outcome = match failures {
        0 => "ok",
        n if n < secrets => "partial",
        _ => "error",
    };
    span.record("asm.outcome", outcome);
    span.record("asm.round.failures", failures);
    span.record("asm.duration_ms", millis(started.elapsed()));
}

impl Core {
    /// Records one call's outcome: on its span, and, with the feature `metrics`, as
    /// `asm.source.calls` and `asm.source.call.duration` (with `cloud.region` for a call to a
    /// failover region, also counted in `asm.failover.calls`).
    pub(crate) fn call_done(
        &self,
        op: Operation,
        to: CallTo<'_>,
        span: &Span,
        started: Instant,
        error: Option<&Error>,
    ) {
        let elapsed = started.elapsed();
        span.record("asm.outcome", if error.is_some() { "error" } else { "ok" });
        if let Some(error) = error {
            span.record("error.type", error.kind());
        }
        span.record("asm.duration_ms", millis(elapsed));
        #[cfg(feature = "metrics")]
        {
            use ::metrics::Label;
            // Labels in the order the docs give them: an exporter prints them so.
            let method = Label::new(names::METHOD, method(op));
            let error_type = error.map(|error| Label::new(names::ERROR_TYPE, error.kind()));
            let source = Label::new(names::SOURCE, self.source.kind());
            let mut labels = vec![source, method.clone()];
            labels.extend(error_type.clone());
            if let CallTo::Failover(region) = to {
                let region = Label::new(names::REGION, region.to_owned());
                let mut outcome = vec![region.clone(), method];
                outcome.extend(error_type);
                labels.push(region);
                ::metrics::counter!(names::FAILOVER_CALLS, outcome).increment(1);
            }
            ::metrics::histogram!(names::CALL_DURATION, labels.clone())
                .record(elapsed.as_secs_f64());
            ::metrics::counter!(names::CALLS, labels).increment(1);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (op, to);
    }
}

/// Counts a failed first load or refresh of `secret_id` (feature `metrics`).
pub(crate) fn failure(secret_id: &str, error: &Error) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(
        names::FAILURES,
        names::SECRET_ID => secret_id.to_owned(),
        names::ERROR_TYPE => error.kind()
    )
    .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (secret_id, error);
}

/// Counts a rotation of `secret_id` adopted (feature `metrics`).
pub(crate) fn rotation(secret_id: &str) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(names::ROTATIONS, names::SECRET_ID => secret_id.to_owned()).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = secret_id;
}

#[cfg(feature = "metrics")]
pub use export::MetricsExporter;

/// What a cache has exported so far: the read counters at the last export.
#[derive(Default)]
pub(crate) struct Exported {
    #[cfg(feature = "metrics")]
    stats: std::sync::Mutex<crate::Stats>,
}

#[cfg(feature = "metrics")]
mod export {
    use std::sync::{Arc, PoisonError, Weak};
    use std::time::Duration;

    use ::metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};
    use tokio::task::JoinHandle;

    use super::names;
    use crate::cache::{Core, Principals, SecretCache};

    impl SecretCache {
        /// Records the cache's metrics through the `metrics` facade (feature `metrics`): the
        /// reads counted since the last export (hits included: the hit path keeps only its
        /// per-thread counters, and they are read here), and the gauges of
        /// [`health`](Self::health). Call it before rendering a scrape (a `/metrics` handler),
        /// or let [`export_metrics_every`](Self::export_metrics_every) call it on a timer.
        /// Without a recorder installed it costs the walk over the entries and nothing else.
        ///
        /// The names, kinds and attributes are listed in the README's "Operating it"; calls,
        /// failures and rotations are recorded when they happen, not here.
        ///
        /// # Examples
        /// ```no_run
        /// # fn f(cache: &asm_runtime::SecretCache) {
        /// // GET /metrics, with `metrics-exporter-prometheus` installed as the recorder:
        /// cache.export_metrics();
        /// // let page = prometheus_handle.render();
        /// # }
        /// ```
        pub fn export_metrics(&self) {
            self.core.export_metrics(&self.health());
        }

        /// Calls [`export_metrics`](Self::export_metrics) every `period` from a task of the
        /// current tokio runtime, for push exporters (OpenTelemetry, StatsD). The task stops
        /// when the returned handle is dropped or when the cache is.
        ///
        /// # Panics
        /// Outside a tokio runtime.
        pub fn export_metrics_every(&self, period: Duration) -> MetricsExporter {
            let core = Arc::downgrade(&self.core);
            let principals = Arc::downgrade(&self.principals);
            let period = period.max(Duration::from_millis(100));
            MetricsExporter(tokio::spawn(export_every(core, principals, period)))
        }
    }

    /// Exports every `period` while the cache lives (the task holds it weakly).
    async fn export_every(core: Weak<Core>, principals: Weak<Principals>, period: Duration) {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let (Some(core), Some(principals)) = (core.upgrade(), principals.upgrade()) else {
                return;
            };
            SecretCache { core, principals }.export_metrics();
        }
    }

    /// The task [`SecretCache::export_metrics_every`] started; dropping it stops the task.
    #[derive(Debug)]
    pub struct MetricsExporter(JoinHandle<()>);

    impl Drop for MetricsExporter {
        fn drop(&mut self) {
            self.0.abort();
        }
    }

    impl Core {
        /// Exports the counters' increments since the last export, and `health` (every
        /// principal's secrets and the live handles) as gauges.
        pub(crate) fn export_metrics(&self, health: &crate::Health) {
            describe();
            let now = self.counters.snapshot();
            let before = {
                let mut exported =
                    (self.exported.stats.lock()).unwrap_or_else(PoisonError::into_inner);
                std::mem::replace(&mut *exported, now)
            };
            let reads = [
                ("hit", now.hits.wrapping_sub(before.hits)),
                ("miss", now.misses.wrapping_sub(before.misses)),
                (
                    "stale_served",
                    now.stale_served.wrapping_sub(before.stale_served),
                ),
                (
                    "failure_remembered",
                    now.failures_remembered
                        .wrapping_sub(before.failures_remembered),
                ),
            ];
            for (outcome, delta) in reads {
                counter!(names::READS, names::READ_OUTCOME => outcome).increment(delta);
            }

            let states = ["fresh", "idle", "stale", "expired", "failed", "loading"];
            for state in states {
                let n = (health.secrets.iter())
                    .filter(|s| s.state.name() == state)
                    .count();
                gauge!(names::SECRETS, names::SECRET_STATE => state).set(n as f64);
            }
            let unconfirmed = health.oldest_unconfirmed().unwrap_or_default();
            gauge!(names::UNCONFIRMED_AGE).set(unconfirmed.as_secs_f64());
            for state in ["current", "behind", "stale"] {
                let n = (health.live.iter())
                    .filter(|l| l.state.name() == state)
                    .count();
                gauge!(names::LIVE_HANDLES, names::LIVE_STATE => state).set(n as f64);
            }
        }
    }

    /// Describes every metric to the recorder (units and help texts).
    fn describe() {
        describe_counter!(
            names::READS,
            Unit::Count,
            "Reads of the secret cache, by what answered them: a fresh value (hit), the service (miss), a value past its TTL while it refreshes (stale_served), a remembered failure."
        );
        describe_counter!(
            names::CALLS,
            Unit::Count,
            "Calls made to the secrets source, by source, method and error type (absent on success)."
        );
        describe_counter!(
            names::FAILOVER_CALLS,
            Unit::Count,
            "Calls sent to a failover region after the primary region failed, by region, method and error type (absent when the replica answered)."
        );
        describe_histogram!(
            names::CALL_DURATION,
            Unit::Seconds,
            "Latency of calls to the secrets source, the SDK's own retries included."
        );
        describe_counter!(
            names::FAILURES,
            Unit::Count,
            "Failed first loads and refreshes, by secret id and error type."
        );
        describe_counter!(
            names::ROTATIONS,
            Unit::Count,
            "New secret versions adopted, by secret id."
        );
        describe_gauge!(
            names::SECRETS,
            Unit::Count,
            "Cached secrets by state: fresh, idle, stale (served while refreshes fail), expired (past max_staleness: reads fail), failed, loading."
        );
        describe_gauge!(
            names::UNCONFIRMED_AGE,
            Unit::Seconds,
            "How long the oldest value whose refresh failed has gone unconfirmed by the source; 0 when every refresh succeeds."
        );
        describe_gauge!(
            names::LIVE_HANDLES,
            Unit::Count,
            "Live handles by state: current, behind (serving the last good snapshot), stale (past max_staleness)."
        );
    }
}

#[cfg(all(test, feature = "metrics"))]
mod tests;
