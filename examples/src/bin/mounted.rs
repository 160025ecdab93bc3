//! On Kubernetes: the same struct over secrets the Secrets Store CSI driver (AWS provider)
//! mounts as files, followed through the driver's rotations.
//!
//! `cargo run -p asm-examples --bin mounted` lays out a directory exactly as the driver does
//! (`..data` → `..2026_11_26_…` generation, one link per file), watches a struct over it, and
//! rotates it the driver's way (a new generation, then an atomic rename of `..data`): the live
//! handle wakes with the new credentials, read whole from one generation. No AWS call is made;
//! in a pod, `ASM_SECRETS_DIR=/mnt/secrets-store` makes `SecretCache::from_env()` do the same.

use std::time::Duration;

use asm_examples::{Result, step};
use asm_runtime::{AwsSecrets, ExposeSecret, FileSource, SecretCache, SecretString};
use asm_testkit::DriverDir;
use tokio::time::{Instant, timeout};

/// Mounted by this `SecretProviderClass` (see the README's "On Kubernetes"):
/// `objectName: "prod/orders-db"` → file `prod_orders-db`, and
/// `objectName: "prod/stripe"` with `objectAlias: "stripe-key"`.
#[derive(AwsSecrets, Debug)]
struct Orders {
    #[aws_secrets(name = "prod/orders-db", key = "username")]
    db_user: SecretString,
    #[aws_secrets(name = "prod/orders-db", key = "password")]
    db_password: SecretString,
    #[aws_secrets(name = "prod/orders-db", key = "port", public)]
    db_port: u16,
    #[aws_secrets(name = "prod/stripe")]
    stripe_key: SecretString,
}

fn mount(generation: u32) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "prod_orders-db",
            format!(r#"{{"username":"orders","password":"pw-{generation}","port":5432}}"#)
                .into_bytes(),
        ),
        ("stripe-key", format!("sk_live_{generation}").into_bytes()),
    ]
}

fn files<'a>(generation: &'a [(&'static str, Vec<u8>)]) -> Vec<(&'static str, &'a [u8])> {
    generation.iter().map(|(n, c)| (*n, c.as_slice())).collect()
}

#[tokio::main]
async fn main() -> Result<()> {
    step("a directory laid out as the CSI driver lays it out");
    let mut dir = DriverDir::new(&files(&mount(1)))?;
    println!(
        "   {} (..data -> {})",
        dir.path().display(),
        dir.generation()?
    );

    let source = FileSource::new(dir.path()).alias("prod/stripe", "stripe-key");
    println!(
        "   prod/orders-db is read from `{}`",
        source.file_name("prod/orders-db")
    );
    let cache = SecretCache::builder(source).build()?;
    let mut live = Orders::watch(&cache).await?;
    let now = live.current();
    println!(
        "   loaded: user {}, port {} (password {} bytes), stripe key {} bytes",
        now.db_user.expose_secret(),
        now.db_port,
        now.db_password.expose_secret().len(),
        now.stripe_key.expose_secret().len()
    );

    step("the driver rotates: a new generation, then an atomic rename of ..data");
    let swapped = Instant::now();
    dir.rotate(&files(&mount(2)))?;
    let rotated = timeout(Duration::from_secs(10), live.changed())
        .await?
        .ok_or("the live task stopped")?;
    println!(
        "   changed() woke {:?} after the swap (..data -> {})",
        swapped.elapsed(),
        dir.generation()?
    );
    if rotated.db_password.expose_secret() != "pw-2"
        || rotated.stripe_key.expose_secret() != "sk_live_2"
    {
        return Err("the rotated values were not adopted together".into());
    }
    println!(
        "   both secrets adopted from one generation; last error: {:?}",
        live.last_error()
    );
    let stats = cache.stats();
    println!(
        "   {} reads of the mount, {} rotations adopted, no AWS call",
        stats.api_calls(),
        stats.rotations
    );
    Ok(())
}
