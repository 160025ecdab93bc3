//! Live settings over real HTTP: rotation by `PutSecretValue` and `UpdateSecretVersionStage`
//! adopted without a redeploy, and a consumer that rebuilds its connection pool.

use std::time::Duration;

use asm_runtime::{AwsSecrets, ExposeSecret, SecretCache, SecretString};
use asm_testkit::Moto;
use tokio::sync::watch;
use tokio::time::{Instant, sleep, timeout};

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "test/db")]
struct Db {
    #[allow(
        dead_code,
        reason = "read by the loader; the tests look at the password"
    )]
    username: SecretString,
    password: SecretString,
}

fn login(password: &str) -> String {
    format!(r#"{{"username":"app","password":"{password}"}}"#)
}

/// A cache whose entries are due every `ttl` exactly (no jitter).
fn cache(moto: &Moto, ttl: Duration) -> SecretCache {
    SecretCache::builder(moto.client())
        .ttl(ttl)
        .max_staleness(Duration::from_secs(600))
        .jitter(false)
        .build()
        .expect("valid settings")
}

const TTL: Duration = Duration::from_secs(2);

/// Waits for the watcher's next snapshot and checks it came within one refresh period of the
/// rotation, then that neither the handle nor the cache ever serves the old password again.
async fn adopted_within_one_period(
    live: &mut asm_runtime::Live<Db>,
    cache: &SecretCache,
    rotated_at: Instant,
    new_password: &str,
) {
    let db = timeout(TTL * 2, live.changed())
        .await
        .expect("a new snapshot within one refresh period")
        .expect("the task runs");
    let waited = rotated_at.elapsed();
    assert!(
        waited <= TTL + Duration::from_millis(500),
        "took {waited:?}"
    );
    assert_eq!(db.password.expose_secret(), new_password);
    for _ in 0..30 {
        sleep(Duration::from_millis(100)).await;
        assert_eq!(live.current().password.expose_secret(), new_password);
        let read = cache.get("test/db").await.expect("read");
        let value = read.json_key("password").expect("password");
        assert_eq!(
            value.expose_secret(),
            new_password,
            "the old value came back"
        );
    }
}

#[tokio::test]
async fn a_watcher_adopts_a_put_secret_value_rotation_within_one_refresh_period() {
    let moto = Moto::start();
    moto.create("test/db", &login("pw-1")).await;
    let cache = cache(&moto, TTL);
    let mut live = Db::watch(&cache).await.expect("load");
    assert_eq!(live.current().password.expose_secret(), "pw-1");

    let rotated_at = Instant::now();
    moto.put("test/db", &login("pw-2")).await;
    adopted_within_one_period(&mut live, &cache, rotated_at, "pw-2").await;
    assert_eq!(cache.stats().rotations, 1);
    assert!(
        cache.stats().describe_secret_calls >= 1,
        "refreshes check the version first"
    );
}

#[tokio::test]
async fn a_watcher_adopts_a_staged_rotation_within_one_refresh_period() {
    let moto = Moto::start();
    moto.create("test/db", &login("pw-1")).await;
    let cache = cache(&moto, TTL);
    let mut live = Db::watch(&cache).await.expect("load");

    let rotated_at = Instant::now();
    let version = moto.rotate_staged("test/db", &login("pw-2")).await;
    adopted_within_one_period(&mut live, &cache, rotated_at, "pw-2").await;
    let read = cache.get("test/db").await.expect("read");
    assert_eq!(read.version_id(), version);
}

/// A connection-pool stand-in: built from one credential.
#[derive(Debug)]
struct Pool {
    password: SecretString,
    generation: u32,
}

/// The database's side: it accepts the password the rotation set, and no other.
struct Database(std::sync::Mutex<String>);

impl Database {
    fn accepts(&self, pool: &Pool) -> bool {
        let accepted = self.0.lock().unwrap_or_else(|e| e.into_inner());
        pool.password.expose_secret() == accepted.as_str()
    }

    fn rotate(&self, password: &str) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = password.to_owned();
    }
}

#[tokio::test]
async fn a_pool_rebuilds_itself_after_a_failed_login_without_waiting_for_the_ttl() {
    let moto = Moto::start();
    moto.create("test/db", &login("pw-1")).await;
    let database = Database(std::sync::Mutex::new("pw-1".to_owned()));
    // A TTL far beyond the test: only `refresh_now` can bring the rotation in.
    let cache = cache(&moto, Duration::from_secs(600));
    let live = Db::watch(&cache).await.expect("load");

    let (pools, mut pool) = watch::channel(Pool {
        password: live.current().password.clone(),
        generation: 1,
    });
    let mut updates = live.clone();
    let consumer = tokio::spawn(async move {
        let mut generation = 1;
        while let Some(db) = updates.changed().await {
            generation += 1;
            let rebuilt = Pool {
                password: db.password.clone(),
                generation,
            };
            if pools.send(rebuilt).is_err() {
                break;
            }
        }
    });
    assert!(database.accepts(&pool.borrow()));

    // The rotation function changes the database and the secret together.
    moto.put("test/db", &login("pw-2")).await;
    database.rotate("pw-2");
    let started = Instant::now();
    assert!(
        !database.accepts(&pool.borrow()),
        "the old pool's login fails"
    );
    cache
        .refresh_now("test/db")
        .await
        .expect("re-read after the failed login");
    timeout(Duration::from_secs(5), pool.changed())
        .await
        .expect("the pool is rebuilt")
        .expect("the consumer runs");
    assert!(database.accepts(&pool.borrow()), "the new pool logs in");
    assert_eq!(pool.borrow().generation, 2);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(cache.stats().rotations, 1);

    live.shutdown().await;
    timeout(Duration::from_secs(5), consumer)
        .await
        .expect("the consumer ends with the watch")
        .expect("no panic");
}

/// A struct over two secrets, both failing to refresh: `try_current`'s `Stale` names the
/// secret confirmed longest ago and carries *that* secret's last failure, never the other's
/// (which `last_error` may hold, being the struct's most recent).
#[tokio::test(start_paused = true)]
async fn stale_names_one_secret_and_its_own_failure() {
    use asm_runtime::{Error, MemoryFault, MemorySource};

    #[derive(AwsSecrets)]
    #[allow(
        dead_code,
        reason = "the test reads the handle's errors, not the values"
    )]
    struct Service {
        #[aws_secrets(name = "newcomer/db", key = "password")]
        db_password: SecretString,
        // Refreshed more often: its failures are the most recent ones.
        #[aws_secrets(name = "newcomer/api-key", ttl = "20s")]
        api_key: SecretString,
    }
    let secrets = MemorySource::new();
    secrets.text("newcomer/db", r#"{"password":"pw"}"#);
    secrets.text("newcomer/api-key", "key");
    let cache = SecretCache::builder(secrets.clone())
        .ttl(Duration::from_secs(60))
        .max_staleness(Duration::from_secs(120))
        .max_backoff(Duration::from_secs(2))
        .jitter(false)
        .build()
        .expect("cache");
    let live = Service::watch(&cache).await.expect("first load");
    let started = Instant::now();
    secrets.fail(Some("newcomer/db"), MemoryFault::Throttled);
    // The API key is confirmed once more (at 20 s), then fails too: the database password is
    // the secret confirmed longest ago.
    sleep(Duration::from_secs(30)).await;
    secrets.fail(Some("newcomer/api-key"), MemoryFault::Unavailable);
    // Past max_staleness, at a moment when the struct's most recent failure is the API key's.
    let last = loop {
        sleep(Duration::from_secs(1)).await;
        let last = live.last_error();
        let api_key_failed = last
            .as_ref()
            .is_some_and(|e| e.secret_id() == Some("newcomer/api-key"));
        if started.elapsed() > Duration::from_secs(130) && api_key_failed {
            break last.expect("checked");
        }
        assert!(started.elapsed() < Duration::from_secs(600), "{last:?}");
    };
    let Err(Error::Stale {
        secret_id,
        last_failure,
        ..
    }) = live.try_current().map(drop)
    else {
        panic!("past max_staleness");
    };
    let stale = format!("{secret_id}: {last_failure}");
    assert_eq!(
        last_failure.secret_id(),
        Some(secret_id.as_str()),
        "one secret: {stale} (the struct's last error: {last})"
    );
    assert_eq!(secret_id, "newcomer/db", "{stale}");
    assert!(matches!(*last_failure, Error::Throttled { .. }), "{stale}");
}

/// A rotated value the struct cannot be built from (a key gone) keeps the last snapshot; past
/// `max_staleness` its `Stale` carries that failure, the secret's own, not "no refresh has
/// run" (the entry itself refreshes fine).
#[tokio::test(start_paused = true)]
async fn stale_after_a_rotation_that_does_not_fit_says_why() {
    use asm_runtime::{Error, MemorySource};

    #[derive(AwsSecrets)]
    #[allow(
        dead_code,
        reason = "the test reads the handle's errors, not the values"
    )]
    struct Login {
        #[aws_secrets(name = "newcomer/db", key = "password")]
        password: SecretString,
    }
    let secrets = MemorySource::new();
    secrets.text("newcomer/db", r#"{"password":"pw"}"#);
    let cache = SecretCache::builder(secrets.clone())
        .ttl(Duration::from_secs(60))
        .max_staleness(Duration::from_secs(120))
        .jitter(false)
        .build()
        .expect("cache");
    let live = Login::watch(&cache).await.expect("first load");
    secrets.text("newcomer/db", r#"{"pass":"renamed"}"#);
    sleep(Duration::from_secs(200)).await;
    let Err(Error::Stale { last_failure, .. }) = live.try_current().map(drop) else {
        panic!("past max_staleness");
    };
    assert!(
        matches!(*last_failure, Error::MissingKey { .. }),
        "{last_failure}"
    );
}
