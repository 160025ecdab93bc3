//! Deadlines and remembered failures against endpoints that fail the way networks do: a
//! loopback listener that accepts and never answers, a keep-alive endpoint whose connections go
//! silent, and a secret that does not exist (moto), read again and again.

use std::time::Duration;

use asm_runtime::{
    AwsSecrets, Error, ExposeSecret, SecretCache, SecretCacheBuilder, SecretString, TransportKind,
};
use asm_testkit::{Endpoint, Moto};
use aws_sdk_secretsmanager::config::retry::RetryConfig;
use tokio::time::Instant;

#[derive(AwsSecrets, Debug)]
struct Db {
    #[aws_secrets(name = "prod/db", key = "password")]
    password: SecretString,
}

/// The one wording of a read that got no answer in time, whichever deadline passed first.
fn timed_out(secret_id: &str) -> String {
    Error::Transport {
        secret_id: secret_id.to_owned(),
        kind: TransportKind::Timeout,
        detail: None,
    }
    .to_string()
}

fn is_timeout(err: &Error) -> bool {
    matches!(
        err,
        Error::Transport {
            kind: TransportKind::Timeout,
            ..
        }
    )
}

/// `get`, a derived `load` and `watch` against a silent endpoint, with the default settings,
/// on a client built the way a new user builds one (no timeouts of its own): each fails with a
/// transient timeout by the cache's 10 s call deadline (simulated time), not never.
#[tokio::test(start_paused = true)]
async fn a_silent_endpoint_times_out_at_the_call_deadline() {
    let silent = Endpoint::silent().await;
    let cache = SecretCache::builder(silent.client().await)
        .build()
        .expect("default settings");
    let deadline = SecretCacheBuilder::DEFAULT_CALL_TIMEOUT;
    for what in ["get", "load", "watch"] {
        // Each read is of a new secret: a failure of the last is not answered from memory.
        cache.invalidate("prod/db");
        let started = Instant::now();
        let result = match what {
            "get" => cache.get("prod/db").await.map(drop),
            "load" => Db::load(&cache).await.map(drop),
            _ => Db::watch(&cache).await.map(drop),
        };
        let took = started.elapsed();
        let err = result.expect_err(what);
        assert!(is_timeout(&err), "{what}: {err:?}");
        assert_eq!(
            err.to_string(),
            timed_out("prod/db"),
            "{what}: one cause, one wording"
        );
        assert!(err.is_transient(), "{what}");
        // By the call deadline: the SDK's three 3 s attempts, or the deadline itself, whichever
        // ends first (the guardrail's DescribeSecret runs beside the load, not after it).
        let three_attempts = SecretCacheBuilder::DEFAULT_ATTEMPT_TIMEOUT * 3;
        assert!(
            took >= three_attempts && took <= deadline,
            "{what}: answered after {took:?}"
        );
        println!("{what}: Transport/Timeout after {took:?} (simulated)");
    }
    assert!(silent.requests() >= 3, "the calls reached the endpoint");
}

/// The same through `SecretCache::from_env()`, in a child process whose environment names the
/// silent endpoint (the test binary runs `from_env_child` alone).
#[tokio::test]
async fn from_env_times_out_against_a_silent_endpoint() {
    let silent = Endpoint::silent().await;
    run_child("deadlines::from_env_child", &child_env(&silent.url(), true)).await;
    assert!(
        silent.requests() >= 1,
        "the child called the silent endpoint"
    );
}

#[tokio::test(start_paused = true)]
#[ignore = "a child process of `from_env_times_out_against_a_silent_endpoint`, which sets its \
            environment"]
async fn from_env_child() {
    let cache = SecretCache::from_env().await.expect("AWS_REGION is set");
    let started = Instant::now();
    let err = cache.get("prod/db").await.expect_err("silent endpoint");
    let took = started.elapsed();
    assert!(is_timeout(&err), "{err:?}");
    assert_eq!(
        err.to_string(),
        timed_out("prod/db"),
        "the builder's wording"
    );
    assert!(took <= Duration::from_secs(11), "answered after {took:?}");
    println!("from_env get: Transport/Timeout after {took:?} (simulated)");
}

/// A child's environment: the endpoint, a region, no shared configuration and no instance
/// metadata; static test credentials when `credentials`.
pub(crate) fn child_env(endpoint: &str, credentials: bool) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_CONFIG_FILE", "/nonexistent".to_owned()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ];
    if credentials {
        env.push(("AWS_ACCESS_KEY_ID", "testing".to_owned()));
        env.push(("AWS_SECRET_ACCESS_KEY", "testing".to_owned()));
    }
    env
}

/// Runs this test binary's ignored test `name` alone, in a child process with `env` (and no
/// AWS variable of the parent's), and asserts it passed.
pub(crate) async fn run_child(name: &str, env: &[(&str, String)]) {
    let exe = std::env::current_exe().expect("the test binary");
    let mut command = tokio::process::Command::new(exe);
    command.args(["--exact", name, "--ignored", "--nocapture"]);
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("AWS_") || k.starts_with("ASM_"))
    {
        command.env_remove(key);
    }
    let output = command
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .await
        .expect("the child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{stdout}");
}

/// A newcomer's first run without credentials: `from_env()` with no provider of the default
/// chain configured fails the first read at once with `Error::Credentials`, which names the
/// providers tried, instead of a network error after the retries of a transient failure.
#[tokio::test]
async fn no_credentials_is_said_at_once_and_named() {
    let silent = Endpoint::silent().await;
    run_child(
        "deadlines::no_credentials_child",
        &child_env(&silent.url(), false),
    )
    .await;
    assert_eq!(silent.requests(), 0, "nothing is sent without credentials");
}

#[tokio::test(start_paused = true)]
#[ignore = "a child process of `no_credentials_is_said_at_once_and_named`, which sets its \
            environment"]
async fn no_credentials_child() {
    let cache = SecretCache::from_env().await.expect("AWS_REGION is set");
    let started = Instant::now();
    let err = cache.get("prod/db").await.expect_err("no credentials");
    let took = started.elapsed();
    assert!(matches!(err, Error::Credentials { .. }), "{err:?}");
    assert!(!err.is_transient(), "no provider is configured: {err}");
    assert!(took < Duration::from_secs(1), "answered after {took:?}");
    let shown = err.to_string();
    for tried in [
        "Environment",
        "Profile",
        "WebIdentityToken",
        "EcsContainer",
        "Ec2InstanceMetadata",
    ] {
        assert!(shown.contains(tried), "names the provider {tried}: {shown}");
    }
    let again = cache.get("prod/db").await.expect_err("remembered");
    assert!(matches!(again, Error::Credentials { .. }), "{again:?}");
    assert_eq!(
        cache.stats().get_secret_value_calls,
        1,
        "the second read is remembered"
    );
    println!("no credentials, after {took:?} (simulated): {shown}");
}

/// A keep-alive endpoint whose connections stop answering 2 s after they open (new ones are
/// answered), its secret rotating every 1.5 s; a live handle with TTL 1 s on a client without
/// retries. The handle follows every rotation within TTL + call deadline + one backoff, and
/// `last_error()` reports the timeouts while it is behind. Real time, 10 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_handle_follows_rotations_through_connections_that_go_silent() {
    let rotate_every = Duration::from_millis(1_500);
    let endpoint = Endpoint::going_silent(Duration::from_secs(2), rotate_every).await;
    let client = endpoint.client().await;
    let client = aws_sdk_secretsmanager::Client::from_conf(
        client
            .config()
            .to_builder()
            .retry_config(RetryConfig::disabled())
            .build(),
    );
    let (ttl, call, backoff) = (
        Duration::from_secs(1),
        Duration::from_millis(800),
        Duration::from_secs(1),
    );
    let cache = SecretCache::builder(client)
        .ttl(ttl)
        .max_staleness(Duration::from_secs(60))
        .attempt_timeout(Duration::from_millis(300))
        .call_timeout(call)
        .max_backoff(backoff)
        .build()
        .expect("settings");
    let live = Db::watch(&cache).await.expect("first load");
    let run = Duration::from_secs(10);
    let started = Instant::now();
    let mut adopted: Vec<(u64, Instant)> = Vec::new();
    let mut timeouts_reported = 0;
    while started.elapsed() < run {
        let db = live.current();
        let password = db.password.expose_secret();
        let n: u64 = password
            .strip_prefix('p')
            .and_then(|n| n.parse().ok())
            .expect("p{n}");
        if adopted.last().is_none_or(|(last, _)| *last < n) {
            adopted.push((n, Instant::now()));
        }
        if live.last_error().as_ref().is_some_and(is_timeout) {
            timeouts_reported += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let bound = ttl + call + backoff + Duration::from_millis(300);
    let last = endpoint.version_at(started + run - bound);
    let first = adopted.first().map_or(0, |(n, _)| *n);
    for n in first + 1..=last {
        let rotated = endpoint.rotated_at(n);
        let seen = adopted
            .iter()
            .find(|(v, _)| *v >= n)
            .map(|(_, at)| *at)
            .unwrap_or_else(|| panic!("version {n} never adopted: {adopted:?}"));
        assert!(
            seen <= rotated + bound,
            "version {n} adopted {:?} after its rotation (bound {bound:?})",
            seen - rotated
        );
    }
    assert!(last >= first + 4, "the run covered several rotations");
    assert!(
        timeouts_reported > 0,
        "last_error() reported the silent connections"
    );
    assert!(
        endpoint.connections() > 2,
        "fresh connections replaced silent ones"
    );
}

/// 200 reads of a secret that does not exist make a handful of calls: the failure is
/// remembered (at least 0.5 s the first time, then 1 s, 2 s…). Once the secret is created it is
/// read within the remembered window. Real moto, real time.
#[tokio::test]
async fn a_missing_secret_read_200_times_makes_a_handful_of_calls() {
    let moto = Moto::start();
    let cache = moto.cache();
    let started = Instant::now();
    for _ in 0..200 {
        let err = cache.get("app/missing").await.expect_err("missing");
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    }
    let elapsed = started.elapsed();
    let stats = cache.stats();
    // One call, then at most one per window of at least 0.5 s.
    let bound = 1 + (elapsed.as_millis() / 500) as u64;
    assert!(
        stats.get_secret_value_calls <= bound,
        "{} calls in {elapsed:?}",
        stats.get_secret_value_calls
    );
    assert_eq!(
        stats.failures_remembered + stats.get_secret_value_calls,
        200,
        "every read either called or was answered from memory"
    );
    println!(
        "200 reads of a missing secret: {} GetSecretValue, {} DescribeSecret in {elapsed:?}",
        stats.get_secret_value_calls, stats.describe_secret_calls
    );
    moto.create("app/missing", "now-here").await;
    let created = Instant::now();
    loop {
        match cache.get("app/missing").await {
            Ok(secret) => {
                assert_eq!(
                    secret.string().map(|s| s.expose_secret().len()).ok(),
                    Some(8)
                );
                break;
            }
            Err(err) => assert!(matches!(err, Error::NotFound { .. }), "{err:?}"),
        }
        // The window after `calls` failures is at most 2^(calls-1) s.
        let window = Duration::from_secs(1 << (stats.get_secret_value_calls.min(8) - 1));
        assert!(
            created.elapsed() <= window + Duration::from_millis(500),
            "not read {:?} after it was created",
            created.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `builder_from_env()` keeps what `from_env()` chooses (here the endpoint of
/// `AWS_ENDPOINT_URL`) and takes settings on top: the child's TTL of 1 s is the one in force,
/// and its `attempt_timeout` of 2 s is the client's connect and read timeout.
#[tokio::test]
async fn builder_from_env_keeps_the_environments_source_and_takes_settings() {
    let moto = Moto::start();
    moto.create("prod/db", r#"{"password":"pw"}"#).await;
    run_child(
        "deadlines::builder_from_env_child",
        &child_env(&moto.endpoint(), true),
    )
    .await;
}

#[tokio::test]
#[ignore = "a child process of `builder_from_env_keeps_the_environments_source_and_takes_settings`"]
async fn builder_from_env_child() {
    let cache = SecretCache::builder_from_env()
        .await
        .expect("AWS_REGION is set")
        .ttl(Duration::from_secs(1))
        .attempt_timeout(Duration::from_secs(2))
        .jitter(false)
        .version_checks(false)
        .build()
        .expect("settings");
    let timeouts = cache
        .client()
        .expect("the API source")
        .config()
        .timeout_config()
        .cloned()
        .expect("timeouts");
    // The client's timeouts follow the builder's final attempt_timeout.
    assert_eq!(timeouts.read_timeout(), Some(Duration::from_secs(2)));
    assert_eq!(timeouts.connect_timeout(), Some(Duration::from_secs(2)));
    cache.get("prod/db").await.expect("from moto");
    cache.get("prod/db").await.expect("a hit");
    assert_eq!(cache.stats().get_secret_value_calls, 1);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    cache.get("prod/db").await.expect("served while refreshing");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        cache.stats().get_secret_value_calls,
        2,
        "refreshed after the builder's TTL"
    );
}

/// The SDK's per-attempt limit holds: with `attempt_timeout` 1 s and `call_timeout` 5 s, a
/// silent connection is given up after 1 s and the call tries again on a fresh one, so more
/// than one request reaches the endpoint before the call fails (one request would mean a
/// single attempt waited out the whole call).
#[tokio::test(start_paused = true)]
async fn each_attempt_against_a_silent_endpoint_ends_at_the_attempt_timeout() {
    let silent = Endpoint::silent().await;
    let (attempt, call) = (Duration::from_secs(1), Duration::from_secs(5));
    let cache = SecretCache::builder(silent.client().await)
        .attempt_timeout(attempt)
        .call_timeout(call)
        .build()
        .expect("settings");
    let started = Instant::now();
    let err = cache.get("prod/db").await.expect_err("silent endpoint");
    let took = started.elapsed();
    assert!(is_timeout(&err), "{err:?}");
    assert!(took <= call, "answered after {took:?}");
    let requests = silent.requests();
    assert!(
        requests >= 2,
        "{requests} request(s) in {took:?}: each attempt must end after {attempt:?}"
    );
    println!("{requests} attempts of {attempt:?} in {took:?} (simulated)");
}

#[derive(AwsSecrets, Debug)]
#[expect(dead_code, reason = "only when the load fails is checked")]
struct TwoSecrets {
    #[aws_secrets(name = "prod/db", key = "password")]
    password: SecretString,
    #[aws_secrets(name = "prod/api", key = "key")]
    api_key: SecretString,
}

/// A cold load of two secrets against a silent endpoint fails by the call deadline, with
/// `batch(true)` as without, paced or not: the one-by-one fallback after a batch that got no
/// answer, and a call waiting behind the slow start's first one, end by the deadline of the
/// first load (they took 13 s batched without pacing, 22-23 s with it, 19-20 s unbatched).
#[tokio::test(start_paused = true)]
async fn a_cold_load_of_two_secrets_times_out_at_the_call_deadline() {
    let deadline = SecretCacheBuilder::DEFAULT_CALL_TIMEOUT;
    for (batch, pacing) in [(true, true), (true, false), (false, true)] {
        let silent = Endpoint::silent().await;
        let cache = SecretCache::builder(silent.client().await)
            .batch(batch)
            .throttle_pacing(pacing)
            .build()
            .expect("settings");
        let started = Instant::now();
        let err = TwoSecrets::load(&cache).await.expect_err("silent endpoint");
        let took = started.elapsed();
        let stats = cache.stats();
        let what = format!("batch {batch}, pacing {pacing}: {stats:?}");
        assert!(is_timeout(&err), "{what}: {err:?}");
        assert!(err.is_transient(), "{what}");
        assert_eq!(stats.batch_get_secret_value_calls > 0, batch, "{what}");
        assert!(took <= deadline, "{what}: answered after {took:?}");
        println!("{what}: Transport/Timeout after {took:?} (simulated)");
    }
}
