//! Concurrency stress on a multi-thread runtime: readers (`get`, derived `load`), refreshers
//! (`refresh_now`), invalidators and a rotator at once. A timeout fails the test on deadlock;
//! every snapshot must be one version (`{"user":"uN","password":"pN"}` with version `vN`);
//! calls are counted on the mock side.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use asm_runtime::{AwsSecrets, ExposeSecret, SecretCache, SecretString, Vars};
use aws_sdk_secretsmanager::Client;
use aws_smithy_mocks::{RuleMode, mock};
use tokio::sync::Barrier;

use crate::support::{Scripted, Step, fetching, mocked, output, value_body};

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db")]
struct Login {
    user: SecretString,
    password: SecretString,
}

fn document(n: u64) -> String {
    format!(r#"{{"user":"u{n}","password":"p{n}"}}"#)
}

/// The N of a snapshot, checked to be one version throughout.
fn generation(version_id: &str, user: &SecretString, password: &SecretString) -> u64 {
    let n: u64 = version_id
        .strip_prefix('v')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("version id {version_id}"));
    assert_eq!(user.expose_secret(), format!("u{n}"), "torn snapshot");
    assert_eq!(password.expose_secret(), format!("p{n}"), "torn snapshot");
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_refreshers_invalidators_and_a_rotator_at_once() {
    let version = Arc::new(AtomicU64::new(1));
    let served = Arc::clone(&version);
    let rule = mock!(Client::get_secret_value)
        .sequence()
        .output(move || {
            let n = served.load(Ordering::SeqCst);
            output(&format!("v{n}"), &document(n))
        })
        .repeatedly()
        .build();
    let cache = fetching(mocked(RuleMode::MatchAny, &[&rule]))
        .ttl(Duration::from_millis(5))
        .max_staleness(Duration::from_secs(60))
        .refresh_now_interval(Duration::from_millis(1))
        .build()
        .expect("valid");
    let forced = Arc::new(AtomicUsize::new(0));
    let work = async {
        let mut tasks = tokio::task::JoinSet::new();
        for reader in 0..12 {
            let cache = cache.clone();
            tasks.spawn(async move {
                let mut last = 0;
                for i in 0..400 {
                    let n = if (i + reader) % 3 == 0 {
                        let login = Login::load_with(&cache, Vars::new())
                            .await
                            .expect("derived load");
                        // The version is not in the struct: its two fields must agree.
                        let user = login.user.expose_secret().trim_start_matches('u');
                        let n: u64 = user.parse().expect("generation");
                        assert_eq!(login.password.expose_secret(), format!("p{n}"), "torn");
                        n
                    } else {
                        let secret = cache.get("prod/db").await.expect("get");
                        let user = secret.json_key("user").expect("user");
                        let password = secret.json_key("password").expect("password");
                        generation(secret.version_id(), &user, &password)
                    };
                    assert!(n >= last, "reader went back from v{last} to v{n}");
                    last = n;
                    if i % 50 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            });
        }
        for _ in 0..2 {
            let cache = cache.clone();
            let forced = Arc::clone(&forced);
            tasks.spawn(async move {
                for _ in 0..200 {
                    let secret = cache.refresh_now("prod/db").await.expect("refresh_now");
                    let user = secret.json_key("user").expect("user");
                    let password = secret.json_key("password").expect("password");
                    generation(secret.version_id(), &user, &password);
                    forced.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_micros(500)).await;
                }
            });
        }
        {
            let cache = cache.clone();
            tasks.spawn(async move {
                for _ in 0..200 {
                    cache.invalidate("prod/db");
                    tokio::time::sleep(Duration::from_micros(700)).await;
                }
            });
        }
        {
            let version = Arc::clone(&version);
            tasks.spawn(async move {
                for _ in 0..200 {
                    version.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_micros(300)).await;
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("no task panicked");
        }
    };
    tokio::time::timeout(Duration::from_secs(60), work)
        .await
        .expect("no deadlock: every task finished within 60 s");

    let stats = cache.stats();
    assert_eq!(
        stats.api_calls(),
        rule.num_calls() as u64,
        "the counters match the calls the mock saw"
    );
    assert!(
        stats.api_calls()
            <= stats.misses + stats.stale_served + forced.load(Ordering::SeqCst) as u64,
        "every call was caused by a miss, a refresh-ahead or a refresh_now: {stats:?}"
    );
    assert!(stats.rotations >= 1, "rotations were adopted: {stats:?}");
    let last = cache.refresh_now("prod/db").await.expect("final");
    assert_eq!(
        last.version_id(),
        format!("v{}", version.load(Ordering::SeqCst)),
        "ends on the newest version"
    );
}

/// 64 readers released together on a cold entry, 20 rounds with an invalidation between:
/// exactly one fetch per round, and one guardrail check for the 32 loads, whatever the
/// interleaving, while the requests are slow.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn single_flight_holds_under_contention() {
    let scripted = Scripted::new(|n| {
        Step::After(
            Duration::from_millis(20),
            Box::new(Step::Respond(
                200,
                value_body(&format!("v{n}"), &document(0)),
            )),
        )
    });
    let cache = SecretCache::new(scripted.client());
    let work = async {
        for round in 0..20 {
            cache.invalidate("prod/db");
            let barrier = Arc::new(Barrier::new(64));
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..64 {
                let cache = cache.clone();
                let barrier = Arc::clone(&barrier);
                tasks.spawn(async move {
                    barrier.wait().await;
                    if i % 2 == 0 {
                        cache
                            .get("prod/db")
                            .await
                            .map(|s| s.version_id().to_owned())
                    } else {
                        Login::load_with(&cache, Vars::new())
                            .await
                            .map(|_| String::new())
                    }
                });
            }
            while let Some(done) = tasks.join_next().await {
                done.expect("task").expect("value");
            }
            assert_eq!(
                scripted.calls(),
                2 * (round + 1),
                "one GetSecretValue and one DescribeSecret (the guardrail) in round {round}"
            );
        }
    };
    tokio::time::timeout(Duration::from_secs(30), work)
        .await
        .expect("no deadlock");
    let stats = cache.stats();
    assert_eq!(stats.get_secret_value_calls, 20);
    assert_eq!(stats.describe_secret_calls, 20);
    assert_eq!(
        stats.hits + stats.misses,
        20 * 64,
        "every read counted once: {stats:?}"
    );
}
