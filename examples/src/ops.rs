//! The service's operations port: `GET /metrics` (Prometheus text) and `GET /healthz` (the
//! cache's readiness, for a Kubernetes readiness probe), served apart from the API so that a
//! probe or a scrape never queues behind requests.
//!
//! - `/metrics`: [`SecretCache::export_metrics`] (the reads counted since the last scrape, hits
//!   included, and the gauges of [`SecretCache::health`]), then the page
//!   `metrics-exporter-prometheus` renders with Prometheus' recommended names
//!   (`asm.cache.reads` → `asm_cache_reads_total`, `.duration` in seconds → `_seconds`).
//! - `/healthz`: `200` when [`Health::is_ready`] (every value within `max_staleness`, no first
//!   load failed or under way; values served stale still count as ready, and say so), `503`
//!   otherwise; a small JSON body naming each secret's id, state, age and failure kind. Never
//!   a value: the body is built from ids, states, durations and [`Error::kind`](asm_runtime::Error::kind).

use std::sync::OnceLock;

use asm_runtime::{Health, LiveState, SecretCache, SecretState};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::{Value, json};

/// Call latencies' histogram buckets, in seconds: a healthy call takes tens of milliseconds, a
/// call at its deadline 10 s.
const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the process' Prometheus recorder (once; later calls return the same handle).
///
/// # Errors
/// Another recorder was installed first.
pub fn prometheus() -> Result<PrometheusHandle, String> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    HANDLE
        .get_or_init(|| install().map_err(|e| format!("installing the Prometheus recorder: {e}")))
        .clone()
}

fn install() -> Result<PrometheusHandle, BuildError> {
    PrometheusBuilder::new()
        .with_recommended_naming(true)
        .set_buckets_for_metric(Matcher::Suffix("duration".into()), DURATION_BUCKETS)?
        .install_recorder()
}

/// What the routes read.
#[derive(Clone, Debug)]
struct Ops {
    cache: SecretCache,
    prometheus: PrometheusHandle,
}

/// `GET /metrics` and `GET /healthz` over `cache`.
pub fn router(cache: SecretCache, prometheus: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .with_state(Ops { cache, prometheus })
}

async fn metrics(State(ops): State<Ops>) -> impl IntoResponse {
    ops.cache.export_metrics();
    ops.prometheus.run_upkeep();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        ops.prometheus.render(),
    )
}

async fn healthz(State(ops): State<Ops>) -> impl IntoResponse {
    let health = ops.cache.health();
    let status = if health.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        health_json(&health).to_string(),
    )
}

/// `{"status": "degraded", "secrets": [{"secret_id", "state", "age_s", "error"…}], "live": […]}`.
pub fn health_json(health: &Health) -> Value {
    let secrets: Vec<Value> = (health.secrets.iter())
        .map(|secret| {
            let mut line = json!({
                "secret_id": secret.secret_id,
                "version": secret.version.to_string(),
                "state": secret.state.name(),
            });
            match &secret.state {
                SecretState::Fresh { age } | SecretState::Idle { age } => {
                    line["age_s"] = json!(age.as_secs());
                }
                SecretState::Stale {
                    age,
                    failures,
                    fails_in,
                    ..
                } => {
                    line["age_s"] = json!(age.as_secs());
                    line["failures"] = json!(failures);
                    line["fails_in_s"] = json!(fails_in.as_secs());
                }
                SecretState::Expired { age, failures, .. } => {
                    line["age_s"] = json!(age.as_secs());
                    line["failures"] = json!(failures);
                }
                _ => {}
            }
            if let Some(error) = secret.state.failure() {
                line["error"] = json!(error.kind());
            }
            line
        })
        .collect();
    let live: Vec<Value> = (health.live.iter())
        .map(|handle| {
            let mut line = json!({"settings": handle.settings, "state": handle.state.name()});
            let error = match &handle.state {
                LiveState::Behind { last_error } => Some(last_error),
                LiveState::Stale { error } => Some(error),
                _ => None,
            };
            if let Some(error) = error {
                line["error"] = json!(error.kind());
            }
            line
        })
        .collect();
    json!({
        "status": health.readiness().name(),
        "secrets": secrets,
        "live": live,
    })
}
