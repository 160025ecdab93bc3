//! Watch + rotation: a service keeps its connection pool in step with Secrets Manager.
//!
//! `cargo run -p asm-examples --bin rotation` rotates the database secret twice on a local
//! Secrets Manager and shows the pool rebuilt each time without a redeploy: once by the
//! background refresh, once at once after a failed login (`refresh_now`). Against real AWS
//! (`ASM_DEMO_AWS=1`) it only watches, as it never writes there.

use std::time::Duration;

use asm_examples::{Backend, Result, Seed, step};
use asm_runtime::{AwsSecrets, ExposeSecret, Live, SecretCache, SecretEq, SecretString};
use tokio::time::{Instant, timeout};

const SECRET: &str = "demo/orders-db";

/// The credential the pool is built from.
#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "demo/orders-db")]
struct DbLogin {
    username: SecretString,
    password: SecretString,
    #[aws_secrets(public)]
    host: String,
}

/// Stands in for a real pool (`sqlx::PgPool`, `deadpool`…): built from one credential.
struct Pool {
    generation: u32,
    password: SecretString,
}

impl Pool {
    fn connect(login: &DbLogin, generation: u32) -> Self {
        println!(
            "   pool #{generation}: connected to {} as {} (password: {} bytes)",
            login.host,
            login.username.expose_secret(),
            login.password.expose_secret().len()
        );
        Self {
            generation,
            password: login.password.clone(),
        }
    }

    /// The database's answer: it accepts only the password the last rotation set.
    fn login(&self, accepted: &str) -> bool {
        self.password.secret_eq(accepted)
    }
}

fn credential(password: &str) -> String {
    format!(r#"{{"username":"orders","password":"{password}","host":"db.internal"}}"#)
}

#[tokio::main]
async fn main() -> Result<()> {
    let first = credential("first-password");
    let backend = Backend::connect(&[Seed::text(SECRET, &first)]).await?;
    // A short TTL so the timed refresh shows within seconds; production keeps minutes.
    let ttl = Duration::from_secs(3);
    let client = backend.cache().client().cloned();
    let cache = SecretCache::builder(client.ok_or("the backend is the Secrets Manager API")?)
        .ttl(ttl)
        .build()?;
    step("watching DbLogin: a background task renews it before each TTL");
    let mut live = DbLogin::watch(&cache).await?;
    let mut pool = Pool::connect(&live.current(), 1);

    step("rotation 1: PutSecretValue; the next refresh adopts it");
    let started = Instant::now();
    if backend
        .rotate(SECRET, &credential("second-password"))
        .await?
        .is_none()
    {
        step("real AWS is never written: rotate the secret yourself to see the pool rebuilt");
        pool = rebuild(&mut live, pool, Duration::from_secs(3_600)).await?;
        println!("   pool #{} in use", pool.generation);
        return Ok(());
    }
    pool = rebuild(&mut live, pool, ttl * 2).await?;
    println!("   adopted after {:.1?} (TTL {ttl:?})", started.elapsed());
    println!(
        "   login with the new pool: {}",
        pool.login("second-password")
    );

    step("rotation 2: the database refuses the old password before any refresh");
    backend
        .rotate(SECRET, &credential("third-password"))
        .await?;
    let started = Instant::now();
    if !pool.login("third-password") {
        println!("   login failed: re-reading the struct's secrets now (live.refresh_now)");
        live.refresh_now().await?;
    }
    pool = rebuild(&mut live, pool, ttl).await?;
    println!("   adopted after {:.1?}", started.elapsed());
    println!(
        "   login with the new pool: {}",
        pool.login("third-password")
    );

    let stats = cache.stats();
    println!(
        "   API calls: {} GetSecretValue, {} DescribeSecret; rotations adopted: {}",
        stats.get_secret_value_calls, stats.describe_secret_calls, stats.rotations
    );
    live.shutdown().await;
    step("done: the background task is stopped");
    Ok(())
}

/// Waits for the watcher's next snapshot and builds a new pool from it.
async fn rebuild(live: &mut Live<DbLogin>, pool: Pool, within: Duration) -> Result<Pool> {
    let login = timeout(within, live.changed())
        .await?
        .ok_or("the watch task stopped")?;
    Ok(Pool::connect(&login, pool.generation + 1))
}
