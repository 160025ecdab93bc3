//! The README's quickstart: one JSON secret mapped onto a struct, loaded through a cache.
//!
//! `cargo run -p asm-examples --bin quickstart`

use asm_examples::{Backend, Seed, step};
use asm_runtime::{AwsSecrets, ExposeSecret, SecretString};

/// One JSON secret, mapped key by key (the key defaults to the field name).
#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "quickstart/db", ttl = "10m", rotation = "30d")]
struct Db {
    username: SecretString,
    password: SecretString,
    #[aws_secrets(public)] // not sensitive: opt out of masking, visibly
    host: String,
    #[aws_secrets(public)]
    port: u16,
}

#[tokio::main]
async fn main() -> asm_examples::Result<()> {
    let backend = Backend::connect(&[Seed::text(
        "quickstart/db",
        r#"{"username":"app","password":"correct-horse","host":"db.internal","port":5432}"#,
    )])
    .await?;
    let cache = backend.cache(); // in a service: `SecretCache::from_env().await?`

    step("loading Db");
    let db = Db::load(cache).await?;
    println!("   {db:?}"); // password: SecretBox<str>([REDACTED])

    step("unwrapping at the point of use");
    let url = format!(
        "postgres://{}@{}:{}",
        db.username.expose_secret(),
        db.host,
        db.port
    );
    connect(&url, db.password.expose_secret());

    step("loading again: served from memory");
    Db::load(cache).await?;
    let stats = cache.stats();
    println!(
        "   {} API call(s), {} cache hit(s)",
        stats.api_calls(),
        stats.hits
    );
    Ok(())
}

/// Stands in for the database driver, which is where the values go.
fn connect(url: &str, password: &str) {
    println!(
        "   connecting: URL {} bytes, password {} bytes (neither printed)",
        url.len(),
        password.len()
    );
}
