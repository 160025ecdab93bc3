//! The AWS Secrets Manager Agent beyond what every source shares (that is the conformance suite
//! in `sources.rs`): its token, an agent that is not running, and many caches behind one agent.

use std::time::Duration;

use asm_runtime::{AgentSource, AwsSecrets, Error, ExposeSecret, SecretCache, SecretString};
use asm_testkit::{Agent, CountingProxy, Moto};
use tokio::time::{Instant, sleep};

/// A canary: never in an error, a `Debug` or a log line.
const CANARY: &str = "Qz7!xK9#wL2%vT8-agent";

fn builder(source: impl asm_runtime::SecretSource, ttl: Duration) -> SecretCache {
    SecretCache::builder(source)
        .ttl(ttl)
        .max_staleness(Duration::from_secs(600))
        .jitter(false)
        .build()
        .expect("valid settings")
}

fn login(user: &str, password: &str) -> String {
    format!(r#"{{"user":"{user}","password":"{password}"}}"#)
}

/// Through the agent: `refresh_now` bypasses the agent's cache (`refreshNow=true`); a bad token
/// is a configuration error naming the variables; no canary in any error.
#[tokio::test]
async fn agent_refresh_now_and_token_errors() {
    let moto = Moto::start();
    let agent = Agent::start(&moto.endpoint(), 300);
    moto.create("conf/db", &login("app", "first")).await;
    let cache = builder(
        AgentSource::new()
            .endpoint(&agent.endpoint())
            .expect("url")
            .token(SecretString::from(agent.token())),
        Duration::from_secs(600),
    );
    cache.get("conf/db").await.expect("first");
    moto.put("conf/db", &login("app", CANARY)).await;
    // The agent's TTL is 300 s: only refreshNow sees the rotation now.
    let fresh = cache.refresh_now("conf/db").await.expect("forced");
    assert_eq!(
        fresh.json_key("password").expect("key").expose_secret(),
        CANARY
    );

    let wrong = builder(
        AgentSource::new()
            .endpoint(&agent.endpoint())
            .expect("url")
            .token(SecretString::from(CANARY)),
        Duration::from_secs(600),
    );
    let err = wrong.get("conf/db").await.expect_err("bad token");
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    let shown = format!("{err} {err:?} {wrong:?}");
    assert!(shown.contains("AWS_TOKEN"), "{shown}");
    assert!(!shown.contains(&CANARY[..6]), "{shown}");
}

/// Nothing listens at the agent's address: a transient connection error, fast.
#[tokio::test]
async fn an_agent_that_is_not_running_is_a_connection_error() {
    let cache = agent_not_running();
    let started = Instant::now();
    let err = cache.get("conf/db").await.expect_err("nobody listens");
    assert!(err.is_transient(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(11));
    sleep(Duration::from_millis(1)).await;
}

/// A cache over an agent on a loopback port nobody listens on.
fn agent_not_running() -> SecretCache {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        listener.local_addr().expect("addr").port()
    };
    builder(
        AgentSource::new()
            .endpoint(&format!("http://127.0.0.1:{port}"))
            .expect("url")
            .token(SecretString::from("t")),
        Duration::from_secs(60),
    )
}

/// The Secrets Manager Agent 2.1 serves `/secretsmanager/get` only (no
/// `/systemsmanager/parameters/get`, which the Lambda extension has): a read of a parameter
/// through it is a configuration error at once, never a call (nobody listens here, so a call
/// would be a connection error).
#[tokio::test]
async fn an_agent_cache_reads_no_parameters() {
    let cache = agent_not_running();
    let err = cache
        .get("ssm:/prod/orders/db-host")
        .await
        .expect_err("no parameters");
    assert!(
        matches!(&err, Error::Config { message }
            if message.contains("(agent) serves no Parameter Store parameters")),
        "{err:?}"
    );
    assert!(!err.is_transient());
}

#[derive(AwsSecrets, Debug)]
struct Pair {
    #[aws_secrets(name = "fleet/a")]
    a: SecretString,
    #[aws_secrets(name = "fleet/b")]
    b: SecretString,
}

/// Twenty caches (pods) with a live handle on two secrets each, for 12 s with TTL 2 s, the
/// agent's own TTL 1 s: one simulated hour of a node at TTL 600 s / agent 300 s, scaled 300×.
/// Requests reaching the service are counted by a proxy in front of moto: each pod calling it
/// directly, against all twenty reading through one agent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_caches_on_one_agent_call_the_service_far_less_than_twenty_direct() {
    let moto = Moto::start();
    moto.create("fleet/a", "alpha").await;
    moto.create("fleet/b", "bravo").await;
    let direct = CountingProxy::start(moto.addr()).await;
    let behind_agent = CountingProxy::start(moto.addr()).await;
    let agent = Agent::start(&behind_agent.url(), 1);
    let ttl = Duration::from_secs(2);
    let pods = 20;
    let mut handles = Vec::new();
    for _ in 0..pods {
        let caches = [
            builder(moto.client_via(&direct.url()), ttl),
            builder(
                AgentSource::new()
                    .endpoint(&agent.endpoint())
                    .expect("url")
                    .token(SecretString::from(agent.token())),
                ttl,
            ),
        ];
        for cache in caches {
            handles.push(Pair::watch(&cache).await.expect("watch"));
        }
    }
    sleep(Duration::from_secs(12)).await;
    for live in &handles {
        let pair = live.current();
        assert_eq!(
            (pair.a.expose_secret(), pair.b.expose_secret()),
            ("alpha", "bravo")
        );
        assert!(live.last_error().is_none(), "{:?}", live.last_error());
    }
    let (direct, via) = (direct.total(), behind_agent.total());
    println!(
        "{pods} caches x 2 secrets, one scaled hour: {direct} calls direct, {via} through one agent"
    );
    assert!(
        via * 5 < direct,
        "{via} calls through the agent vs {direct} direct"
    );
}

/// What the fleet simulator's agent is built on (`fleet/src/agent.rs`): the agent 2.1 does not
/// coalesce concurrent misses. Twenty caches (a node's pods starting together) read one secret
/// the agent does not hold yet, at once: more than one `GetSecretValue` reaches the service (an
/// agent with single flight would send one). If this fails, the agent has learnt to coalesce,
/// and the simulated agent and FLEET.md's agent figures need to follow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_on_one_agent_each_call_the_service() {
    let moto = Moto::start();
    moto.create("fleet/a", "alpha").await;
    let behind_agent = CountingProxy::start(moto.addr()).await;
    let agent = Agent::start(&behind_agent.url(), 300);
    let pods: Vec<SecretCache> = (0..20)
        .map(|_| {
            let source = AgentSource::new()
                .endpoint(&agent.endpoint())
                .expect("url")
                .token(SecretString::from(agent.token()));
            builder(source, Duration::from_secs(600))
        })
        .collect();
    let reads: Vec<_> = pods
        .into_iter()
        .map(|pod| tokio::spawn(async move { pod.get("fleet/a").await }))
        .collect();
    for read in reads {
        let value = read.await.expect("joined").expect("a value");
        assert_eq!(value.string().expect("a string").expose_secret(), "alpha");
    }
    let calls = behind_agent.count("GetSecretValue");
    println!("20 concurrent misses on one agent: {calls} GetSecretValue");
    assert!(
        calls > 1,
        "the agent coalesced 20 concurrent misses into {calls} call"
    );
}
