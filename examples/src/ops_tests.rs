//! The service's `/metrics` and `/healthz` scraped across a rotation and an outage of a local
//! Secrets Manager: the figures move as they should, and neither page holds a value.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::time::Duration;

use asm_runtime::{AwsSecrets, ExposeSecret, SecretCache, Vars};
use asm_testkit::{Moto, random_token};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, sleep};

use crate::ops;
use crate::service::OrdersDb;

const SECRET: &str = "opstest/orders-db";

fn login(password: &str) -> String {
    serde_json::json!({
        "username": "orders",
        "password": password,
        "host": "127.0.0.1",
        "port": 5432,
        "dbname": "orders",
    })
    .to_string()
}

/// `GET path` on `addr`: the status and the body.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: ops\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_default();
    (status, body.to_owned())
}

/// The value of the sample `series` (`name{labels}` exactly as rendered) on a page.
fn sample(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Polls `/healthz` until `want` holds for its status and JSON body, for at most `within`.
async fn wait_for_health(
    addr: SocketAddr,
    within: Duration,
    pages: &mut Vec<String>,
    want: impl Fn(u16, &serde_json::Value) -> bool,
) -> (u16, serde_json::Value) {
    let deadline = Instant::now() + within;
    loop {
        let (status, body) = get(addr, "/healthz").await;
        pages.push(body.clone());
        let json: serde_json::Value = serde_json::from_str(&body).expect("a JSON body");
        if want(status, &json) {
            return (status, json);
        }
        assert!(Instant::now() < deadline, "still {status} {json}");
        sleep(Duration::from_millis(100)).await;
    }
}

fn state_of(json: &serde_json::Value) -> (&str, &str) {
    let secret = &json["secrets"][0];
    (
        secret["state"].as_str().unwrap_or_default(),
        secret["error"].as_str().unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_health_follow_a_rotation_and_an_outage_and_show_no_value() {
    let passwords: Vec<String> = (0..3).map(|_| random_token(24)).collect();
    let mut moto = Moto::start();
    moto.create(SECRET, &login(&passwords[0])).await;
    let prometheus = ops::prometheus().expect("recorder");
    let cache = SecretCache::builder(moto.client())
        .ttl(Duration::from_secs(1))
        .max_staleness(Duration::from_secs(4))
        .max_backoff(Duration::from_secs(1))
        .attempt_timeout(Duration::from_secs(1))
        .call_timeout(Duration::from_secs(2))
        .build()
        .expect("cache");
    let vars = Vars::new().set("APP_ENV", "opstest");
    let mut live = OrdersDb::watch_with(&cache, vars).await.expect("watch");
    assert_eq!(live.current().password.expose_secret(), passwords[0]);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = ops::router(cache.clone(), prometheus);
    let server = tokio::spawn(axum::serve(listener, app).into_future());
    let mut pages = Vec::new();

    let (status, json) =
        wait_for_health(addr, Duration::from_secs(5), &mut pages, |s, _| s == 200).await;
    assert_eq!(json["status"], "ready", "{json}");
    assert_eq!(json["secrets"][0]["secret_id"], SECRET);
    assert_eq!(json["live"][0]["state"], "current", "{json}");
    assert_eq!(status, 200);
    for _ in 0..5 {
        cache.get(SECRET).await.expect("a hit");
    }
    let (_, before) = get(addr, "/metrics").await;
    pages.push(before.clone());
    let hits = "asm_cache_reads_total{asm_read_outcome=\"hit\"}";
    assert!(sample(&before, hits).is_some_and(|n| n >= 5.0), "{before}");
    let rotations =
        format!("asm_cache_rotations_total{{aws_secretsmanager_secret_id=\"{SECRET}\"}}");
    assert_eq!(sample(&before, &rotations), None, "no rotation yet");
    for series in [
        "asm_cache_secrets{asm_secret_state=\"fresh\"} 1",
        "asm_live_handles{asm_live_state=\"current\"} 1",
        "asm_cache_unconfirmed_age_seconds 0",
        "# TYPE asm_source_call_duration_seconds histogram",
        "asm_source_calls_total{asm_source=\"sdk\",rpc_method=\"GetSecretValue\"}",
    ] {
        assert!(before.contains(series), "`{series}` in\n{before}");
    }

    // A rotation: adopted by the live handle, counted once.
    moto.put(SECRET, &login(&passwords[1])).await;
    let rotated = tokio::time::timeout(Duration::from_secs(10), live.changed())
        .await
        .expect("adopted within 10 s")
        .expect("the task runs");
    assert_eq!(rotated.password.expose_secret(), passwords[1]);
    let (_, after) = get(addr, "/metrics").await;
    pages.push(after.clone());
    assert_eq!(sample(&after, &rotations), Some(1.0), "{after}");

    // An outage: served stale (ready, degraded), then past max_staleness (not ready).
    moto.stop();
    let (status, json) = wait_for_health(addr, Duration::from_secs(10), &mut pages, |_, json| {
        state_of(json).0 == "stale"
    })
    .await;
    assert_eq!(status, 200, "a stale value is still served: {json}");
    assert_eq!(json["status"], "degraded", "{json}");
    assert_eq!(state_of(&json).1, "Transport", "{json}");
    let (_, stale) = get(addr, "/metrics").await;
    pages.push(stale.clone());
    assert!(
        stale.contains("asm_cache_secrets{asm_secret_state=\"stale\"} 1"),
        "{stale}"
    );
    assert!(
        sample(&stale, "asm_cache_unconfirmed_age_seconds").is_some_and(|age| age > 0.0),
        "{stale}"
    );
    let failures = format!(
        "asm_cache_failures_total{{aws_secretsmanager_secret_id=\"{SECRET}\",error_type=\"Transport\"}}"
    );
    assert!(
        sample(&stale, &failures).is_some_and(|n| n >= 1.0),
        "{stale}"
    );
    let (status, json) =
        wait_for_health(addr, Duration::from_secs(10), &mut pages, |s, _| s == 503).await;
    assert_eq!(json["status"], "not_ready", "{json}");
    assert_eq!(state_of(&json), ("expired", "Transport"), "{json}");
    assert_eq!(status, 503);
    let (_, expired) = get(addr, "/metrics").await;
    pages.push(expired.clone());
    assert!(
        expired.contains("asm_cache_secrets{asm_secret_state=\"expired\"} 1"),
        "{expired}"
    );
    assert!(
        expired.contains("asm_live_handles{asm_live_state=\"stale\"} 1"),
        "{expired}"
    );

    // The service is back (empty: moto keeps secrets in memory) and the secret is put again.
    moto.restart();
    moto.create(SECRET, &login(&passwords[2])).await;
    let (_, json) = wait_for_health(addr, Duration::from_secs(15), &mut pages, |s, json| {
        s == 200 && json["status"] == "ready"
    })
    .await;
    assert_eq!(state_of(&json), ("fresh", ""), "{json}");
    let (_, back) = get(addr, "/metrics").await;
    pages.push(back.clone());
    assert!(
        back.contains("asm_cache_secrets{asm_secret_state=\"fresh\"} 1"),
        "{back}"
    );
    assert!(
        back.contains("asm_cache_unconfirmed_age_seconds 0"),
        "{back}"
    );
    assert_eq!(
        sample(&back, &rotations),
        Some(2.0),
        "the new secret's version: {back}"
    );

    for page in &pages {
        for password in &passwords {
            assert!(
                !page.contains(password.as_str()),
                "a value in a page:\n{page}"
            );
        }
    }
    server.abort();
}
