//! API economy, measured over one hand-made stub HTTP client with 20 ms simulated latency
//! (the same stub under our cache and AWS's `SecretsManagerCachingClient`):
//!
//! - `cold_1000`: 1,000 concurrent cold reads of one secret.
//! - `load_40`: a `#[derive(AwsSecrets)]` struct of 40 secrets, cold: batched
//!   (`BatchGetSecretValue`, ≤ 20 ids a call), our cache with the batch action denied, and the
//!   peer fetching the 40 secrets concurrently.
//! - `steady_state`: API calls per secret-hour, reading a secret every second (counts, not
//!   timings; printed as `counts:` lines).
//!
//! Timings are criterion's; API-call counts are printed as `counts:` lines before each group,
//! from the cache's own `stats()` and from the stub's counters.
//!
//! Run with every other bench: `cargo bench -p asm-runtime --benches` (see `BENCHMARKS.md`).

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use asm_runtime::{AwsSecrets, RotationGuardrail, SecretCache, SecretString, Stats};
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::retry::RetryConfig;
use aws_sdk_secretsmanager::config::{Credentials, Region};
use aws_secretsmanager_caching::SecretsManagerCachingClient;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use futures_util::future::join_all;
use serde_json::{Value, json};

/// Simulated round trip of one API call.
const LATENCY: Duration = Duration::from_millis(20);
const COLD_READERS: usize = 1000;
const ID: &str = "app/s01";

/// 40 whole-string secrets, `app/s01` … `app/s40`.
#[derive(AwsSecrets)]
#[allow(dead_code)]
struct Forty {
    #[aws_secrets(name = "app/s01")]
    s01: SecretString,
    #[aws_secrets(name = "app/s02")]
    s02: SecretString,
    #[aws_secrets(name = "app/s03")]
    s03: SecretString,
    #[aws_secrets(name = "app/s04")]
    s04: SecretString,
    #[aws_secrets(name = "app/s05")]
    s05: SecretString,
    #[aws_secrets(name = "app/s06")]
    s06: SecretString,
    #[aws_secrets(name = "app/s07")]
    s07: SecretString,
    #[aws_secrets(name = "app/s08")]
    s08: SecretString,
    #[aws_secrets(name = "app/s09")]
    s09: SecretString,
    #[aws_secrets(name = "app/s10")]
    s10: SecretString,
    #[aws_secrets(name = "app/s11")]
    s11: SecretString,
    #[aws_secrets(name = "app/s12")]
    s12: SecretString,
    #[aws_secrets(name = "app/s13")]
    s13: SecretString,
    #[aws_secrets(name = "app/s14")]
    s14: SecretString,
    #[aws_secrets(name = "app/s15")]
    s15: SecretString,
    #[aws_secrets(name = "app/s16")]
    s16: SecretString,
    #[aws_secrets(name = "app/s17")]
    s17: SecretString,
    #[aws_secrets(name = "app/s18")]
    s18: SecretString,
    #[aws_secrets(name = "app/s19")]
    s19: SecretString,
    #[aws_secrets(name = "app/s20")]
    s20: SecretString,
    #[aws_secrets(name = "app/s21")]
    s21: SecretString,
    #[aws_secrets(name = "app/s22")]
    s22: SecretString,
    #[aws_secrets(name = "app/s23")]
    s23: SecretString,
    #[aws_secrets(name = "app/s24")]
    s24: SecretString,
    #[aws_secrets(name = "app/s25")]
    s25: SecretString,
    #[aws_secrets(name = "app/s26")]
    s26: SecretString,
    #[aws_secrets(name = "app/s27")]
    s27: SecretString,
    #[aws_secrets(name = "app/s28")]
    s28: SecretString,
    #[aws_secrets(name = "app/s29")]
    s29: SecretString,
    #[aws_secrets(name = "app/s30")]
    s30: SecretString,
    #[aws_secrets(name = "app/s31")]
    s31: SecretString,
    #[aws_secrets(name = "app/s32")]
    s32: SecretString,
    #[aws_secrets(name = "app/s33")]
    s33: SecretString,
    #[aws_secrets(name = "app/s34")]
    s34: SecretString,
    #[aws_secrets(name = "app/s35")]
    s35: SecretString,
    #[aws_secrets(name = "app/s36")]
    s36: SecretString,
    #[aws_secrets(name = "app/s37")]
    s37: SecretString,
    #[aws_secrets(name = "app/s38")]
    s38: SecretString,
    #[aws_secrets(name = "app/s39")]
    s39: SecretString,
    #[aws_secrets(name = "app/s40")]
    s40: SecretString,
}

/// How the stub answers.
#[derive(Debug, Clone, Copy, Default)]
struct Policy {
    latency: Duration,
    deny_batch: bool,
    deny_describe: bool,
}

/// API calls the stub received, by operation (denied ones included).
#[derive(Debug, Default)]
struct Calls {
    get: AtomicU64,
    batch: AtomicU64,
    describe: AtomicU64,
}

impl Calls {
    fn total(&self) -> u64 {
        self.get.load(Relaxed) + self.batch.load(Relaxed) + self.describe.load(Relaxed)
    }
}

/// A Secrets Manager stand-in at the HTTP layer: every secret exists, at version `v1`, and its
/// value is `value:<name>`; each answer comes after `latency`.
#[derive(Debug, Clone)]
struct Stub {
    policy: Policy,
    calls: Arc<Calls>,
}

fn arn(name: &str) -> String {
    format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf")
}

fn entry(name: &str) -> Value {
    json!({
        "ARN": arn(name),
        "Name": name,
        "VersionId": "v1",
        "SecretString": format!("value:{name}"),
        "VersionStages": ["AWSCURRENT"],
        "CreatedDate": 1.7e9,
    })
}

impl Stub {
    fn answer(&self, target: &str, body: &Value) -> (u16, Value) {
        let op = target.rsplit('.').next().unwrap_or_default();
        let id = body["SecretId"].as_str().unwrap_or_default();
        let denied = json!({"__type": "AccessDeniedException", "Message": "denied by the bench"});
        match op {
            "GetSecretValue" => {
                self.calls.get.fetch_add(1, Relaxed);
                (200, entry(id))
            }
            "BatchGetSecretValue" => {
                self.calls.batch.fetch_add(1, Relaxed);
                if self.policy.deny_batch {
                    return (400, denied);
                }
                let values: Vec<Value> = body["SecretIdList"]
                    .as_array()
                    .map(|ids| ids.iter().filter_map(Value::as_str).map(entry).collect())
                    .unwrap_or_default();
                (200, json!({"SecretValues": values, "Errors": []}))
            }
            "DescribeSecret" => {
                self.calls.describe.fetch_add(1, Relaxed);
                if self.policy.deny_describe {
                    return (400, denied);
                }
                let name = id.rsplit_once(":secret:").map_or(id, |(_, n)| n);
                let name = name.strip_suffix("-AbCdEf").unwrap_or(name);
                (
                    200,
                    json!({"ARN": arn(name), "Name": name, "VersionIdsToStages": {"v1": ["AWSCURRENT"]}}),
                )
            }
            _ => (
                400,
                json!({"__type": "InvalidRequestException", "Message": op}),
            ),
        }
    }
}

impl HttpConnector for Stub {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let target = request
            .headers()
            .get("x-amz-target")
            .unwrap_or_default()
            .to_owned();
        let body: Value = request
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default();
        let (status, answer) = self.answer(&target, &body);
        let latency = self.policy.latency;
        HttpConnectorFuture::new(async move {
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            let status = StatusCode::try_from(status).expect("valid status");
            let mut response = HttpResponse::new(status, SdkBody::from(answer.to_string()));
            response
                .headers_mut()
                .insert("content-type", "application/x-amz-json-1.1");
            Ok(response)
        })
    }
}

impl HttpClient for Stub {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

/// A fresh stub and an SDK client over it (no retries, test credentials).
fn stub_client(policy: Policy) -> (Arc<Calls>, Client) {
    let stub = Stub {
        policy,
        calls: Arc::default(),
    };
    let calls = Arc::clone(&stub.calls);
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDBENCH", "bench", None, None, "bench"))
        .retry_config(RetryConfig::disabled())
        .http_client(stub)
        .build();
    (calls, Client::from_conf(config))
}

fn ours(client: Client) -> SecretCache {
    SecretCache::new(client)
}

fn peer(client: Client, ttl: Duration) -> SecretsManagerCachingClient {
    SecretsManagerCachingClient::new(
        client,
        NonZeroUsize::new(1000).expect("non-zero"),
        ttl,
        false,
    )
    .expect("peer cache")
}

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// One cold round: a fresh stub and cache, `COLD_READERS` concurrent reads of one secret.
async fn cold_ours() -> (Duration, u64, u64) {
    let (calls, client) = stub_client(Policy {
        latency: LATENCY,
        ..Policy::default()
    });
    let cache = ours(client);
    let began = Instant::now();
    for read in join_all((0..COLD_READERS).map(|_| cache.get(ID))).await {
        read.expect("cold read (ours)");
    }
    (began.elapsed(), cache.stats().api_calls(), calls.total())
}

async fn cold_peer() -> (Duration, u64) {
    let (calls, client) = stub_client(Policy {
        latency: LATENCY,
        ..Policy::default()
    });
    let cache = peer(client, Duration::from_secs(600));
    let began = Instant::now();
    for read in
        join_all((0..COLD_READERS).map(|_| cache.get_secret_value(ID, None, None, false))).await
    {
        read.expect("cold read (peer)");
    }
    (began.elapsed(), calls.total())
}

fn cold_1000(c: &mut Criterion) {
    let rt = multi_thread();
    let (wall, stats, stub) = rt.block_on(cold_ours());
    println!(
        "counts: cold_1000/ours: api calls {stats} (stats), {stub} (stub); one round {wall:.1?}"
    );
    let (wall, stub) = rt.block_on(cold_peer());
    println!("counts: cold_1000/peer: api calls {stub} (stub); one round {wall:.1?}");

    let mut group = c.benchmark_group("cold_1000");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.bench_function("SecretCache::get", |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += cold_ours().await.0;
            }
            total
        })
    });
    group.bench_function("aws_secretsmanager_caching::get_secret_value", |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += cold_peer().await.0;
            }
            total
        })
    });
    group.finish();
}

/// One cold load of `Forty` through our cache, batching (`.batch(true)`).
async fn forty_ours(deny_batch: bool, guardrail: RotationGuardrail) -> (Duration, Stats, u64) {
    let (calls, client) = stub_client(Policy {
        latency: LATENCY,
        deny_batch,
        ..Policy::default()
    });
    let cache = SecretCache::builder(client)
        .batch(true)
        .rotation_guardrail(guardrail)
        .build()
        .expect("cache");
    let began = Instant::now();
    Forty::load(&cache).await.expect("load Forty");
    (began.elapsed(), cache.stats(), calls.total())
}

/// The 40 secrets through the peer, fetched concurrently.
async fn forty_peer() -> (Duration, u64) {
    let (calls, client) = stub_client(Policy {
        latency: LATENCY,
        ..Policy::default()
    });
    let cache = peer(client, Duration::from_secs(600));
    let ids: Vec<String> = (1..=40).map(|i| format!("app/s{i:02}")).collect();
    let began = Instant::now();
    for read in join_all(
        ids.iter()
            .map(|id| cache.get_secret_value(id, None, None, false)),
    )
    .await
    {
        read.expect("read (peer)");
    }
    (began.elapsed(), calls.total())
}

fn load_40(c: &mut Criterion) {
    let rt = multi_thread();
    for (label, deny, guardrail) in [
        ("batched", false, RotationGuardrail::Warn),
        ("batched, guardrail off", false, RotationGuardrail::Off),
        ("batch denied", true, RotationGuardrail::Warn),
    ] {
        let (wall, stats, stub) = rt.block_on(forty_ours(deny, guardrail));
        println!(
            "counts: load_40/ours {label}: BatchGetSecretValue {} + GetSecretValue {} + \
             DescribeSecret {} (stats), {stub} (stub); one load {wall:.1?}",
            stats.batch_get_secret_value_calls,
            stats.get_secret_value_calls,
            stats.describe_secret_calls,
        );
    }
    let (wall, stub) = rt.block_on(forty_peer());
    println!("counts: load_40/peer: api calls {stub} (stub); one load {wall:.1?}");

    let mut group = c.benchmark_group("load_40");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    for (name, deny) in [
        ("SecretCache batched", false),
        ("SecretCache batch denied", true),
    ] {
        group.bench_function(name, |b| {
            b.to_async(&rt).iter_custom(|iters| async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += forty_ours(deny, RotationGuardrail::Warn).await.0;
                }
                total
            })
        });
    }
    group.bench_function("aws_secretsmanager_caching 40 concurrent gets", |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += forty_peer().await.0;
            }
            total
        })
    });
    group.finish();
}

/// Simulated hours read in the paused-time steady state.
const HOURS: u64 = 50;

/// One secret, `app/s01`, for the live handle's steady state.
#[derive(AwsSecrets)]
#[allow(dead_code)]
struct One {
    #[aws_secrets(name = "app/s01")]
    s01: SecretString,
}

/// How the steady state reads.
#[derive(Debug, Clone, Copy)]
struct Steady {
    jitter: bool,
    version_checks: bool,
    /// Through `One::watch` (refresh ahead by the live task) rather than `cache.get`.
    live: bool,
}

/// Our cache under paused time: a read every simulated second for `HOURS`, TTL 600 s.
/// Returns the calls counted by the stub.
fn steady_ours_paused(mode: Steady) -> Arc<Calls> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("paused runtime");
    rt.block_on(async {
        let (calls, client) = stub_client(Policy {
            latency: LATENCY,
            ..Policy::default()
        });
        let cache = SecretCache::builder(client)
            .ttl(Duration::from_secs(600))
            .jitter(mode.jitter)
            .version_checks(mode.version_checks)
            .build()
            .expect("cache");
        let live = if mode.live {
            Some(One::watch(&cache).await.expect("watch"))
        } else {
            None
        };
        for _ in 0..HOURS * 3600 {
            match &live {
                Some(live) => drop(live.current()),
                None => drop(cache.get(ID).await.expect("steady read (ours)")),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        assert_eq!(
            cache.stats().api_calls(),
            calls.total(),
            "stats match the stub"
        );
        calls
    })
}

/// Real time, scaled 1:1000 (TTL 600 ms, a read every millisecond for 3.6 s = one scaled
/// hour), because the peer's clock is `std::time::Instant`, which paused tokio time does not
/// move. Returns (API calls, failed reads).
fn steady_scaled(peer_cache: bool, deny_describe: bool) -> (Calls, u64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (calls, client) = stub_client(Policy {
            deny_describe,
            ..Policy::default()
        });
        let ttl = Duration::from_millis(600);
        let ours = SecretCache::builder(client.clone())
            .ttl(ttl)
            .build()
            .expect("cache");
        let peer = peer(client, ttl);
        let mut failed = 0;
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        let end = Instant::now() + Duration::from_millis(3600);
        while Instant::now() < end {
            tick.tick().await;
            let ok = if peer_cache {
                peer.get_secret_value(ID, None, None, false).await.is_ok()
            } else {
                ours.get(ID).await.is_ok()
            };
            failed += u64::from(!ok);
        }
        let calls = Calls {
            get: AtomicU64::new(calls.get.load(Relaxed)),
            batch: AtomicU64::new(calls.batch.load(Relaxed)),
            describe: AtomicU64::new(calls.describe.load(Relaxed)),
        };
        (calls, failed)
    })
}

fn steady_state(_c: &mut Criterion) {
    for mode in [
        Steady {
            jitter: true,
            version_checks: true,
            live: false,
        },
        Steady {
            jitter: true,
            version_checks: false,
            live: false,
        },
        Steady {
            jitter: false,
            version_checks: true,
            live: false,
        },
        Steady {
            jitter: true,
            version_checks: true,
            live: true,
        },
        Steady {
            jitter: true,
            version_checks: false,
            live: true,
        },
    ] {
        let calls = steady_ours_paused(mode);
        let per_hour = |n: &AtomicU64| n.load(Relaxed) as f64 / HOURS as f64;
        println!(
            "counts: steady_state/ours paused {mode:?}: in {HOURS} h, GetSecretValue {} + \
             BatchGetSecretValue {} + DescribeSecret {} = {:.2} calls per secret-hour \
             (GetSecretValue {:.2}, DescribeSecret {:.2})",
            calls.get.load(Relaxed),
            calls.batch.load(Relaxed),
            calls.describe.load(Relaxed),
            calls.total() as f64 / HOURS as f64,
            per_hour(&calls.get),
            per_hour(&calls.describe),
        );
    }
    for (label, peer_cache, deny) in [
        ("ours", false, false),
        ("peer", true, false),
        ("peer DescribeSecret denied", true, true),
    ] {
        let (calls, failed) = steady_scaled(peer_cache, deny);
        println!(
            "counts: steady_state/{label} scaled 1:1000: GetSecretValue {} + DescribeSecret {} \
             in one scaled hour; failed reads {failed}",
            calls.get.load(Relaxed),
            calls.describe.load(Relaxed),
        );
    }
}

/// Not a timing: whether `{:?}` of a warm cache prints the cached secret's value.
fn debug_output(_c: &mut Criterion) {
    let rt = multi_thread();
    let (_, client) = stub_client(Policy::default());
    let ours = ours(client.clone());
    let peer = peer(client, Duration::from_secs(600));
    let id = "app/canary";
    let value = format!("value:{id}");
    rt.block_on(ours.get(id)).expect("read (ours)");
    rt.block_on(peer.get_secret_value(id, None, None, false))
        .expect("read (peer)");
    let shows = |debug: String| debug.matches(value.as_str()).count();
    println!(
        "counts: debug_output: a cached secret value appears {} times in {{:?}} of our cache, {} \
         times in {{:?}} of the peer's",
        shows(format!("{ours:?}")),
        shows(format!("{peer:?}")),
    );
}

criterion_group!(benches, cold_1000, load_40, steady_state, debug_output);
criterion_main!(benches);
