//! One conformance suite, run against every source the cache can read from: the Secrets
//! Manager API (SDK over a local `moto_server`), the AWS Secrets Manager Agent (the real agent
//! in front of moto), and `MemorySource`. Each must give the same values, versions, rotations,
//! typed errors and counters; the cache's semantics live in the cache, not in the sources.

use std::time::Duration;

use asm_runtime::{
    AgentSource, AwsSecrets, Error, ExposeSecret, MemorySource, SecretCache, SecretSlice,
    SecretString, Version,
};
use asm_testkit::{Agent, CountingProxy, Moto};
use tokio::time::{Instant, sleep, timeout};

/// A canary: never in an error, a `Debug` or a log line.
const CANARY: &str = "Qz7!xK9#wL2%vT8-sources";

/// What the suite needs of a source under test.
trait Fixture {
    /// Stores `value` as the new `AWSCURRENT` version of `name` (creating it or rotating it).
    async fn put(&self, name: &str, value: &str);
    /// Creates a binary secret.
    async fn put_binary(&self, name: &str, value: &[u8]);
    /// A cache over the source with TTL `ttl`, no jitter.
    fn cache(&self, ttl: Duration) -> SecretCache;
    /// How much older than the cache's TTL a value can be (a node agent's own TTL).
    fn extra_staleness(&self) -> Duration {
        Duration::ZERO
    }
}

struct ViaSdk(Moto);

impl Fixture for ViaSdk {
    async fn put(&self, name: &str, value: &str) {
        if self
            .0
            .client()
            .describe_secret()
            .secret_id(name)
            .send()
            .await
            .is_ok()
        {
            self.0.put(name, value).await;
        } else {
            self.0.create(name, value).await;
        }
    }
    async fn put_binary(&self, name: &str, value: &[u8]) {
        self.0.create_binary(name, value).await;
    }
    fn cache(&self, ttl: Duration) -> SecretCache {
        builder(self.0.client(), ttl)
    }
}

struct ViaAgent {
    moto: ViaSdk,
    agent: Agent,
}

/// The agent's own TTL in these tests.
const AGENT_TTL: Duration = Duration::from_secs(1);

impl Fixture for ViaAgent {
    async fn put(&self, name: &str, value: &str) {
        self.moto.put(name, value).await;
    }
    async fn put_binary(&self, name: &str, value: &[u8]) {
        self.moto.put_binary(name, value).await;
    }
    fn cache(&self, ttl: Duration) -> SecretCache {
        let source = AgentSource::new()
            .endpoint(&self.agent.endpoint())
            .expect("a loopback URL")
            .token(SecretString::from(self.agent.token()));
        builder(source, ttl)
    }
    fn extra_staleness(&self) -> Duration {
        AGENT_TTL
    }
}

struct InMemory(MemorySource);

impl Fixture for InMemory {
    async fn put(&self, name: &str, value: &str) {
        self.0.text(name, value);
    }
    async fn put_binary(&self, name: &str, value: &[u8]) {
        self.0.binary(name, value);
    }
    fn cache(&self, ttl: Duration) -> SecretCache {
        builder(self.0.clone(), ttl)
    }
}

fn builder(source: impl asm_runtime::SecretSource, ttl: Duration) -> SecretCache {
    SecretCache::builder(source)
        .ttl(ttl)
        .max_staleness(Duration::from_secs(600))
        .jitter(false)
        .build()
        .expect("valid settings")
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "conf/db")]
struct Db {
    #[aws_secrets(public)]
    user: String,
    password: SecretString,
}

#[derive(AwsSecrets, Debug)]
struct Key {
    #[aws_secrets(name = "conf/key", binary)]
    key: SecretSlice<u8>,
}

fn login(user: &str, password: &str) -> String {
    format!(r#"{{"user":"{user}","password":"{password}"}}"#)
}

/// Values, binary values, hits, a missing secret (typed, remembered), a missing key (typed),
/// no canary anywhere.
async fn reads(fixture: &impl Fixture) {
    fixture.put("conf/db", &login("app", CANARY)).await;
    fixture.put_binary("conf/key", &[0, 159, 146, 150]).await;
    let cache = fixture.cache(Duration::from_secs(60));
    let db = Db::load(&cache).await.expect("load");
    assert_eq!(
        (db.user.as_str(), db.password.expose_secret()),
        ("app", CANARY)
    );
    let key = Key::load(&cache).await.expect("binary");
    assert_eq!(key.key.expose_secret(), &[0, 159, 146, 150]);
    let secret = cache.get("conf/db").await.expect("hit");
    assert_eq!(secret.name(), "conf/db");
    assert!(secret.version_stages().any(|s| s == "AWSCURRENT"));
    let stats = cache.stats();
    assert_eq!((stats.misses, stats.get_secret_value_calls), (2, 2));
    assert!(stats.hits >= 1);

    for _ in 0..3 {
        let err = cache.get("conf/missing").await.expect_err("missing");
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    }
    assert_eq!(
        cache.stats().failures_remembered,
        2,
        "the failure is remembered"
    );
    let err = cache
        .get("conf/db")
        .await
        .and_then(|s| s.json_key("nope"))
        .expect_err("no such key");
    assert!(matches!(err, Error::MissingKey { .. }), "{err:?}");
    let shown = format!("{db:?} {err} {err:?} {cache:?}");
    assert!(!shown.contains(&CANARY[..6]), "{shown}");
}

/// A rotation is adopted by a live handle within the cache's TTL plus the source's own, and an
/// older version stays readable by stage.
async fn rotation(fixture: &impl Fixture) {
    fixture.put("conf/db", &login("app", "first")).await;
    // A node agent may serve the value `reads` left for its own TTL.
    sleep(fixture.extra_staleness()).await;
    let ttl = Duration::from_secs(1);
    let cache = fixture.cache(ttl);
    let mut live = Db::watch(&cache).await.expect("watch");
    assert_eq!(live.current().password.expose_secret(), "first");
    fixture.put("conf/db", &login("app", "second")).await;
    let rotated = Instant::now();
    let bound = ttl + fixture.extra_staleness() + Duration::from_millis(1_500);
    let next = timeout(bound, live.changed())
        .await
        .unwrap_or_else(|_| panic!("not adopted within {bound:?}"))
        .expect("task running");
    assert_eq!(next.password.expose_secret(), "second");
    println!("rotation adopted after {:?}", rotated.elapsed());
    let previous = cache
        .get_version("conf/db", &Version::stage("AWSPREVIOUS"))
        .await
        .expect("previous version");
    assert_eq!(
        previous.json_key("password").expect("key").expose_secret(),
        "first"
    );
}

#[tokio::test]
async fn sdk_source_conforms() {
    let fixture = ViaSdk(Moto::start());
    reads(&fixture).await;
    rotation(&fixture).await;
}

#[tokio::test]
async fn agent_source_conforms() {
    let moto = Moto::start();
    let agent = Agent::start(&moto.endpoint(), AGENT_TTL.as_secs() as u32);
    let fixture = ViaAgent {
        moto: ViaSdk(moto),
        agent,
    };
    reads(&fixture).await;
    rotation(&fixture).await;
}

#[tokio::test]
async fn memory_source_conforms() {
    let fixture = InMemory(MemorySource::new());
    reads(&fixture).await;
    rotation(&fixture).await;
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
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        listener.local_addr().expect("addr").port()
    };
    let cache = builder(
        AgentSource::new()
            .endpoint(&format!("http://127.0.0.1:{port}"))
            .expect("url")
            .token(SecretString::from("t")),
        Duration::from_secs(60),
    );
    let started = Instant::now();
    let err = cache.get("conf/db").await.expect_err("nobody listens");
    assert!(err.is_transient(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(11));
    sleep(Duration::from_millis(1)).await;
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
