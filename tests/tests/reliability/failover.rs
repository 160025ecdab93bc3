//! Failover regions on a real service: a primary that accepts and never answers (a loopback
//! listener) or a region taken down in front of moto, and the secret's replica on moto in
//! us-west-2. Real time: moto answers over real sockets, which paused time would outrun.

use std::time::{Duration, Instant};

use asm_runtime::{AwsSecrets, Error, ExposeSecret, SecretCache, SecretCacheBuilder, SecretString};
use asm_testkit::{Endpoint, Moto, RegionalOutage};

#[derive(AwsSecrets, Debug)]
struct Db {
    #[aws_secrets(name = "prod/db", key = "password")]
    password: SecretString,
}

const ATTEMPT: Duration = Duration::from_secs(1);
const CALL: Duration = Duration::from_secs(2);
/// Loopback round trips to moto, and a loaded CI machine.
const SLACK: Duration = Duration::from_millis(1_500);

fn password(db: &Db) -> String {
    db.password.expose_secret().to_owned()
}

/// A builder with 1 s attempts and 2 s calls (so the primary's share is 1 s) and a 3 s TTL.
fn short(builder: SecretCacheBuilder) -> SecretCacheBuilder {
    builder
        .attempt_timeout(ATTEMPT)
        .call_timeout(CALL)
        .ttl(Duration::from_secs(3))
        .jitter(false)
}

/// The issue's scenario: the primary endpoint accepts and never answers, the replica is on
/// moto. A first load and a live handle's refresh are answered from the replica, each call
/// within `call_timeout` (the primary's half, then the replica's round trip).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackholed_primary_is_answered_by_the_replica_on_moto() {
    let moto = Moto::start();
    let arn = moto
        .create_replicated("prod/db", r#"{"password":"p1"}"#, &["us-west-2"])
        .await;
    let silent = Endpoint::silent().await;
    let cache = short(SecretCache::builder(silent.client().await))
        .failover_client(moto.client_in("us-west-2"))
        .build()
        .expect("valid settings");

    let started = Instant::now();
    let mut live = Db::watch(&cache)
        .await
        .expect("first load from the replica");
    let first_load = started.elapsed();
    assert_eq!(password(&live.current()), "p1");
    assert!(
        first_load >= CALL / 2 && first_load <= CALL + SLACK,
        "the primary's half of the call deadline, then the replica: {first_load:?}"
    );
    let known = cache.known_arn("prod/db").expect("loaded");
    assert_eq!(
        known,
        arn.replace("us-east-1", "us-west-2"),
        "read in us-west-2"
    );
    let primary_before = silent.requests();
    assert!(primary_before >= 1, "the primary was asked first");

    // A rotation in the primary region reaches the replica; the handle's refresh (a version
    // check, then a fetch, each failing over) finds it.
    moto.put("prod/db", r#"{"password":"p2"}"#).await;
    let put_at = Instant::now();
    let refreshed = tokio::time::timeout(Duration::from_secs(3) + CALL * 2 + SLACK, live.changed())
        .await
        .expect("refreshed from the replica in time")
        .expect("the handle is live");
    let refresh = put_at.elapsed();
    assert_eq!(password(&refreshed), "p2");
    assert!(
        silent.requests() > primary_before,
        "the primary is asked first again at the refresh"
    );
    let stats = cache.stats();
    assert!(stats.replica_reads >= 3, "{stats:?}");
    assert_eq!(
        stats.failover_calls, stats.replica_reads,
        "every replica call answered"
    );
    println!(
        "blackholed primary, replica on moto: first load {first_load:?}, rotation seen \
         {refresh:?} after the put (TTL 3 s; attempt 1 s, call 2 s); {stats:?}"
    );
}

/// `failover_regions` builds the replica's client from the primary's: the same endpoint (moto
/// serves every region), the region replaced. While us-east-1 is down the replica answers;
/// once it is back, the primary answers the next refresh and the replica is asked no more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_regions_ride_out_a_regional_outage_on_moto() {
    let moto = Moto::start();
    let arn = moto
        .create_replicated("prod/db", r#"{"password":"p1"}"#, &["us-west-2"])
        .await;
    let outage = RegionalOutage::start(moto.addr()).await;
    let cache = short(SecretCache::builder(moto.client_via(&outage.url())))
        .failover_regions(["us-west-2"])
        .build()
        .expect("valid settings");

    outage.fail("us-east-1");
    let started = Instant::now();
    let secret = cache.get("prod/db").await.expect("from the replica");
    let took = started.elapsed();
    assert!(took <= CALL + SLACK, "{took:?}");
    assert_eq!(secret.arn(), arn.replace("us-east-1", "us-west-2"));
    assert!(outage.requests("us-east-1") >= 1, "the primary first");
    assert_eq!(outage.requests("us-west-2"), 1);
    let by_arn = cache
        .get(&arn)
        .await
        .expect("the primary's ARN finds the entry");
    assert_eq!(by_arn.version_id(), secret.version_id());
    assert_eq!(outage.requests("us-west-2"), 1, "one entry: no second call");

    outage.restore("us-east-1");
    let west = outage.requests("us-west-2");
    let deadline = Instant::now() + Duration::from_secs(10);
    let primary = outage.requests("us-east-1");
    while Instant::now() < deadline && outage.requests("us-east-1") < primary + 3 {
        cache.get("prod/db").await.expect("served");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        outage.requests("us-east-1") >= primary + 3,
        "refreshes go to the primary again"
    );
    assert_eq!(
        outage.requests("us-west-2"),
        west,
        "and never to the replica"
    );
    println!(
        "regional outage: first load from us-west-2 in {took:?}; {:?}",
        cache.stats()
    );
}

/// A secret the primary region does not have (it exists only in us-west-2): `NotFound`, and
/// not one call to the replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_in_the_primary_never_fails_over_on_moto() {
    let moto = Moto::start();
    moto.client_in("us-west-2")
        .create_secret()
        .name("west/only")
        .secret_string("x")
        .send()
        .await
        .expect("created in us-west-2");
    let outage = RegionalOutage::start(moto.addr()).await;
    let cache = short(SecretCache::builder(moto.client_via(&outage.url())))
        .failover_regions(["us-west-2"])
        .build()
        .expect("valid settings");
    let err = cache.get("west/only").await.expect_err("not in us-east-1");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert_eq!(outage.requests("us-west-2"), 0, "no replica call");
    assert_eq!(cache.stats().failover_calls, 0);
}

/// The issue's measurement, with the default deadlines (attempt 3 s, call 10 s) and a client
/// the way a new user builds one (SDK retries on): a first load against a primary that never
/// answers, with failover to a replica on moto and without.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_load_with_a_blackholed_primary_with_and_without_failover() {
    let moto = Moto::start();
    moto.create_replicated("prod/db", r#"{"password":"p1"}"#, &["us-west-2"])
        .await;
    let call = SecretCacheBuilder::DEFAULT_CALL_TIMEOUT;

    let silent = Endpoint::silent().await;
    let cache = SecretCache::builder(silent.client().await)
        .failover_client(moto.client_in("us-west-2"))
        .build()
        .expect("valid settings");
    let started = Instant::now();
    cache.get("prod/db").await.expect("from the replica");
    let with = started.elapsed();
    assert!(with >= call / 2 && with <= call / 2 + SLACK, "{with:?}");
    let (with_attempts, with_stats) = (silent.requests(), cache.stats());

    let silent = Endpoint::silent().await;
    let cache = SecretCache::builder(silent.client().await)
        .build()
        .expect("valid settings");
    let started = Instant::now();
    let err = cache.get("prod/db").await.expect_err("no replica to ask");
    let without = started.elapsed();
    assert!(err.is_transient(), "{err:?}");
    assert!(without <= call + SLACK, "{without:?}");
    println!(
        "blackholed primary, defaults: failover on: answered after {with:?}, {with_attempts} \
         HTTP attempts on the primary, {} GetSecretValue calls counted ({} to the replica); \
         failover off: Transport/Timeout after {without:?}, {} HTTP attempts, {} calls counted",
        with_stats.get_secret_value_calls,
        with_stats.failover_calls,
        silent.requests(),
        cache.stats().get_secret_value_calls,
    );
}
