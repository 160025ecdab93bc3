//! The whole story in one command: `cargo run -p asm-examples --bin demo`.
//!
//! Starts a local Secrets Manager (moto) on loopback unless `ASM_DEMO_AWS=1` is set, in which
//! case it uses real AWS through the default credential chain and reads (never writes) the
//! secrets named by `APP_ENV` (default `demo`).

use asm_runtime::{AwsSecrets, ExposeSecret, SecretCache, SecretSlice, SecretString, Vars};
use asm_tests::Moto;

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

/// Everything the service reads, from three secrets.
#[derive(AwsSecrets, Debug)]
struct AppSecrets {
    #[aws_secrets(nested)]
    db: Db,
    #[aws_secrets(name = "${APP_ENV}/stripe", key = "api_key")]
    stripe_key: SecretString,
    #[aws_secrets(name = "${APP_ENV}/tls", binary)]
    tls_key: SecretSlice<u8>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let real_aws = std::env::var("ASM_DEMO_AWS").is_ok_and(|v| v == "1");
    let env = std::env::var("APP_ENV").unwrap_or_else(|_| "demo".to_owned());
    let vars = Vars::from_env().set("APP_ENV", env.clone());

    let (cache, moto) = if real_aws {
        step("using real AWS through the default credential chain");
        (SecretCache::from_env().await?, None)
    } else {
        step("starting a local Secrets Manager (moto_server) on 127.0.0.1");
        let moto = Moto::start();
        step(&format!(
            "creating {env}/db, {env}/stripe and {env}/tls at {}",
            moto.endpoint()
        ));
        moto.create(
            &format!("{env}/db"),
            r#"{"username":"app","password":"first-password","host":"db.internal","port":5432,"dbname":"orders"}"#,
        )
        .await;
        moto.create(&format!("{env}/stripe"), r#"{"api_key":"sk_test_demo"}"#)
            .await;
        moto.create_binary(&format!("{env}/tls"), b"-----BEGIN PRIVATE KEY-----demo")
            .await;
        (moto.cache(), Some(moto))
    };

    step("loading AppSecrets (one batched call for three secrets)");
    let secrets = AppSecrets::load_with(&cache, vars.clone()).await?;
    println!("{secrets:#?}");
    let stats = cache.stats();
    println!(
        "   API calls: {} BatchGetSecretValue, {} GetSecretValue",
        stats.batch_get_secret_value_calls, stats.get_secret_value_calls
    );

    step("unwrapping one value at its point of use");
    let dsn = format!(
        "postgres://{}:***@{}:{}/{}",
        secrets.db.username.expose_secret(),
        secrets.db.host,
        secrets.db.port,
        secrets.db.database
    );
    println!(
        "   {dsn} (password is {} bytes)",
        secrets.db.password.expose_secret().len()
    );
    println!(
        "   replica configured: {}; Stripe key: {} chars; TLS key: {} bytes",
        secrets.db.replica_host.is_some(),
        secrets.stripe_key.expose_secret().len(),
        secrets.tls_key.expose_secret().len()
    );

    step("the least-privilege IAM policy for exactly these secrets");
    println!("{}", AppSecrets::iam_policy_with(&cache, vars.clone())?);

    let Some(moto) = moto else { return Ok(()) };
    step(&format!(
        "rotating {env}/db (PutSecretValue moves AWSCURRENT)"
    ));
    let rotated = moto
        .put(
            &format!("{env}/db"),
            r#"{"username":"app","password":"second-password","host":"db.internal","port":5432,"dbname":"orders"}"#,
        )
        .await;
    println!("   new version {rotated}");

    step("the database refuses the old password: refresh_now re-reads at once");
    let fresh = cache.refresh_now(&format!("{env}/db")).await?;
    let db = Db::load_with(&cache, vars).await?;
    println!(
        "   adopted version {} without a redeploy; the password changed: {}",
        fresh.version_id(),
        db.password.expose_secret() != secrets.db.password.expose_secret()
    );
    step("done");
    Ok(())
}

fn step(what: &str) {
    println!("==> {what}");
}
