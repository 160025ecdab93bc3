//! The service example's parts against a real PostgreSQL and a local Secrets Manager: the
//! rotation function's two strategies as the database sees them, one `refresh_now` for a burst
//! of refused logins, and no password in anything the parts print.

use std::sync::Arc;
use std::time::Duration;

use asm_runtime::{AwsSecrets, ExposeSecret, SecretCache, Vars};
use asm_testkit::{Moto, Postgres};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection};

use crate::database::{Deployment, provision};
use crate::rotation_function::{Rotated, RotationFunction, Strategy};
use crate::service::{OrdersDb, RotatingPool, Settings, is_refused_login};

/// A cluster, a Secrets Manager, and `strategy`'s deployment provisioned on them.
async fn deployed(strategy: Strategy) -> (Postgres, Moto, Deployment) {
    let postgres = Postgres::start();
    let moto = Moto::start();
    let deployment = Deployment::of(strategy);
    provision(&postgres, &moto.client(), &deployment)
        .await
        .unwrap_or_else(|e| panic!("provision: {e}"));
    (postgres, moto, deployment)
}

/// The options of the version `rotated` made current.
fn options_of(postgres: &Postgres, rotated: &Rotated) -> PgConnectOptions {
    PgConnectOptions::new_without_pgpass()
        .host(postgres.host())
        .port(postgres.port())
        .database("postgres")
        .username(&rotated.username)
        .password(rotated.password.expose_secret())
}

async fn current(moto: &Moto, deployment: &Deployment) -> OrdersDb {
    let vars = Vars::new().set("APP_ENV", deployment.app_env);
    OrdersDb::load_with(&moto.cache(), vars)
        .await
        .unwrap_or_else(|e| panic!("load: {e}"))
}

async fn login(options: &PgConnectOptions) -> Result<PgConnection, sqlx::Error> {
    PgConnection::connect_with(options).await
}

/// Asserts that `text` holds none of `passwords`.
fn assert_no_password(text: &str, passwords: &[&str]) {
    for password in passwords {
        assert!(!text.contains(password), "a password leaked into: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_user_rotation_refuses_the_old_password_and_keeps_open_connections() {
    let (postgres, moto, deployment) = deployed(Strategy::SingleUser).await;
    let before = current(&moto, &deployment).await;
    let mut open = login(&before.connect_options()).await.expect("first login");

    let function =
        RotationFunction::new(moto.client(), &deployment.secret_id, Strategy::SingleUser);
    let rotated = function.rotate().await.expect("rotation");

    let after = current(&moto, &deployment).await;
    assert_eq!(after.username.expose_secret(), deployment.role);
    assert_eq!(
        after.password.expose_secret(),
        rotated.password.expose_secret()
    );
    assert_ne!(
        after.password.expose_secret(),
        before.password.expose_secret()
    );
    let refused = login(&before.connect_options())
        .await
        .expect_err("the old password still logs in");
    assert!(is_refused_login(&refused), "{refused}");
    open.execute("SELECT 1")
        .await
        .expect("the open connection stopped working");
    login(&options_of(&postgres, &rotated))
        .await
        .expect("the new password is refused");

    let passwords = [
        before.password.expose_secret(),
        rotated.password.expose_secret(),
    ];
    assert_no_password(&format!("{refused} {refused:?}"), &passwords);
    assert_no_password(&format!("{rotated:?} {after:?} {function:?}"), &passwords);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alternating_users_rotation_switches_users_and_the_old_one_keeps_working() {
    let (postgres, moto, deployment) = deployed(Strategy::AlternatingUsers).await;
    let first = current(&moto, &deployment).await;
    let function = RotationFunction::new(
        moto.client(),
        &deployment.secret_id,
        Strategy::AlternatingUsers,
    );

    let second = function.rotate().await.expect("rotation 1");
    let clone = format!("{}_clone", deployment.role);
    assert_eq!(
        second.username, clone,
        "the first rotation creates the clone"
    );
    login(&first.connect_options())
        .await
        .expect("the previous user stopped working");
    let mut as_clone = login(&options_of(&postgres, &second))
        .await
        .expect("clone login");
    // The clone has the role's privileges.
    as_clone
        .execute("SELECT item FROM orders")
        .await
        .expect("clone cannot read orders");

    let third = function.rotate().await.expect("rotation 2");
    assert_eq!(
        third.username, deployment.role,
        "the second rotation switches back"
    );
    assert_ne!(
        third.password.expose_secret(),
        first.password.expose_secret()
    );
    let refused = login(&first.connect_options())
        .await
        .expect_err("the role's password was not changed");
    assert!(is_refused_login(&refused), "{refused}");
    login(&options_of(&postgres, &second))
        .await
        .expect("the previous user (the clone) stopped working");
    let now = current(&moto, &deployment).await;
    assert_eq!(now.username.expose_secret(), deployment.role);
    assert_eq!(now.password.expose_secret(), third.password.expose_secret());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_logins_share_one_refresh_now_and_retry() {
    let (_postgres, moto, deployment) = deployed(Strategy::SingleUser).await;
    // An hour's TTL: only the refused logins can bring the rotation in.
    let cache = SecretCache::builder(moto.client())
        .ttl(Duration::from_secs(3600))
        .build()
        .expect("cache");
    let vars = Vars::new().set("APP_ENV", deployment.app_env);
    let live = OrdersDb::watch_with(&cache, vars).await.expect("watch");
    let settings = Settings {
        max_connections: 20,
        ..Settings::default()
    };
    let pool = RotatingPool::connect(cache.clone(), live, &deployment.secret_id, settings)
        .await
        .expect("pool");
    let old = pool.adopted().db;

    let function =
        RotationFunction::new(moto.client(), &deployment.secret_id, Strategy::SingleUser);
    let rotated = function.rotate().await.expect("rotation");
    // 20 requests at once, each holding its connection: the pool opens new ones, and the
    // database refuses the old password to each.
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let requests: Vec<_> = (0..20)
        .map(|_| {
            let pool = pool.clone();
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                let mut conn = pool.acquire().await?;
                conn.execute("SELECT pg_sleep(0.2)").await?;
                Ok::<_, sqlx::Error>(())
            })
        })
        .collect();
    for request in requests {
        request.await.expect("task").expect("a request failed");
    }

    let stats = pool.stats();
    assert!(stats.refused_logins >= 2, "{stats:?}");
    assert_eq!(stats.refresh_now_calls, 1, "{stats:?}");
    assert_eq!(stats.generation, 2, "{stats:?}");
    let adopted = pool.adopted().db;
    assert_eq!(
        adopted.password.expose_secret(),
        rotated.password.expose_secret()
    );
    assert!(
        stats.opened.keys().any(|(generation, _)| *generation == 2),
        "no connection opened with the new password: {stats:?}"
    );
    let passwords = [
        old.password.expose_secret(),
        rotated.password.expose_secret(),
    ];
    assert_no_password(
        &format!("{pool:?} {:?} {stats:?}", pool.adopted()),
        &passwords,
    );
    pool.close().await;
}

/// The README's "Database credentials that rotate" blocks are verbatim (up to indentation)
/// excerpts of this example, so the recipe is the code that runs in `scripts/test.sh`.
#[test]
fn readme_recipe_is_the_example_code() {
    let readme_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let readme = std::fs::read_to_string(readme_path).expect("README.md");
    let section = readme
        .split("\n## Database credentials that rotate\n")
        .nth(1)
        .expect("the README has the recipe")
        .split("\n## ")
        .next()
        .unwrap_or_default();
    let sources: Vec<Vec<&str>> = [include_str!("service.rs"), include_str!("bin/service.rs")]
        .iter()
        .map(|s| s.lines().map(str::trim).collect())
        .collect();
    let blocks: Vec<Vec<&str>> = section
        .split("```rust,ignore\n")
        .skip(1)
        .map(|b| {
            b.split("```")
                .next()
                .unwrap_or_default()
                .lines()
                .map(str::trim)
                .collect()
        })
        .collect();
    assert!(blocks.len() >= 5, "{} blocks", blocks.len());
    for block in blocks {
        let found = sources
            .iter()
            .any(|source| source.windows(block.len()).any(|w| w == block.as_slice()));
        assert!(
            found,
            "not in examples/src/service.rs:\n{}",
            block.join("\n")
        );
    }
}
