//! Reads one secret through asm-runtime's cache.

use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db")]
struct Db {
    #[allow(dead_code, reason = "a service would connect with it")]
    password: SecretString,
}

#[tokio::main]
async fn main() -> Result<(), asm_runtime::Error> {
    let cache = asm_runtime::SecretCache::from_env().await?;
    let _db = Db::load(&cache).await?;
    println!("loaded");
    Ok(())
}
