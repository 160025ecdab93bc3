//! The whole story in one command: `cargo run -p asm-examples --bin demo`.
//!
//! Loads three secrets and a Parameter Store parameter into one struct, prints what it may
//! (redacted), the IAM policy for exactly those secrets and that parameter, then rotates one
//! secret and shows the live handle adopt the new version without a restart.
//!
//! Starts a local Secrets Manager (moto) on loopback, unless `AWS_ENDPOINT_URL` names one or
//! `ASM_DEMO_AWS=1` asks for real AWS, where it reads (never writes) the secrets named by
//! `APP_ENV` (default `demo`).

use std::time::Duration;

use asm_examples::{Backend, Seed, step};
use asm_runtime::{AwsSecrets, ExposeSecret, SecretSlice, SecretString, Vars};
use tokio::time::timeout;

/// The database credentials, one JSON secret mapped key by key.
#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "${APP_ENV}/db", ttl = "10m", rotation = "30d")]
struct Db {
    username: SecretString,
    password: SecretString,
    #[aws_secrets(public)]
    host: String,
    #[aws_secrets(public)]
    port: u16,
    #[aws_secrets(key = "dbname", public)]
    database: String,
    replica_host: Option<SecretString>,
}

/// Everything the service reads, from three secrets and one parameter.
#[derive(AwsSecrets, Debug)]
struct AppSecrets {
    /// A plain `String` parameter of Parameter Store, beside the secrets.
    #[aws_secrets(parameter = "/${APP_ENV}/orders/feature-flags", public)]
    feature_flags: String,
    #[aws_secrets(nested)]
    db: Db,
    #[aws_secrets(name = "${APP_ENV}/stripe", key = "api_key")]
    stripe_key: SecretString,
    #[aws_secrets(name = "${APP_ENV}/tls", binary)]
    tls_key: SecretSlice<u8>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = std::env::var("APP_ENV").unwrap_or_else(|_| "demo".to_owned());
    let vars = Vars::from_env().set("APP_ENV", env.clone());

    let (db_id, stripe_id, tls_id) = (
        format!("{env}/db"),
        format!("{env}/stripe"),
        format!("{env}/tls"),
    );
    let backend = Backend::connect(&[
        Seed::text(
            &db_id,
            r#"{"username":"app","password":"first-password","host":"db.internal","port":5432,"dbname":"orders"}"#,
        ),
        Seed::text(&stripe_id, r#"{"api_key":"sk_test_demo"}"#),
        Seed::binary(&tls_id, b"-----BEGIN PRIVATE KEY-----demo"),
    ])
    .await?;
    let flags = format!("/{env}/orders/feature-flags");
    if let Some(version) = (backend.put_parameter(&flags, "checkout-v2,fast-refunds")).await? {
        step(&format!("put parameter {flags} (version {version})"));
    }
    let cache = backend.cache();

    step(
        "watching AppSecrets: three secrets and a parameter fetched at once, one call each; a task keeps them fresh",
    );
    let mut live = AppSecrets::watch_with(cache, vars.clone()).await?;
    let secrets = live.current();
    println!("{secrets:#?}");
    let stats = cache.stats();
    println!(
        "   API calls: {} BatchGetSecretValue, {} GetSecretValue, {} DescribeSecret (rotation guardrail), {} GetParameter",
        stats.batch_get_secret_value_calls,
        stats.get_secret_value_calls,
        stats.describe_secret_calls,
        stats.get_parameter_calls
    );
    println!(
        "   feature flags (a public parameter): {}",
        secrets.feature_flags
    );

    step("unwrapping one value at its point of use");
    let (user, password) = (
        secrets.db.username.expose_secret(),
        secrets.db.password.expose_secret(),
    );
    println!(
        "   postgres://***:***@{}:{}/{} (user: {} bytes, password: {} bytes)",
        secrets.db.host,
        secrets.db.port,
        secrets.db.database,
        user.len(),
        password.len()
    );
    println!(
        "   replica configured: {}; Stripe key: {} chars; TLS key: {} bytes",
        secrets.db.replica_host.is_some(),
        secrets.stripe_key.expose_secret().len(),
        secrets.tls_key.expose_secret().len()
    );

    step("the least-privilege IAM policy for exactly these secrets");
    println!("{}", AppSecrets::iam_policy_with(cache, vars.clone())?);

    step(&format!(
        "rotating {env}/db (PutSecretValue moves AWSCURRENT)"
    ));
    let Some(rotated) = backend
        .rotate(
            &db_id,
            r#"{"username":"app","password":"second-password","host":"db.internal","port":5432,"dbname":"orders"}"#,
        )
        .await?
    else {
        return Ok(());
    };
    println!("   new version {rotated}");

    step("the database refuses the old password: refresh_now re-reads it at once");
    cache.refresh_now(&db_id).await?;
    let adopted = timeout(Duration::from_secs(10), live.changed())
        .await?
        .ok_or("the live handle stopped")?;
    println!(
        "   the live handle rebuilt AppSecrets without a redeploy; the password changed: {}",
        adopted.db.password.expose_secret() != secrets.db.password.expose_secret()
    );
    live.shutdown().await;
    step("done");
    Ok(())
}
