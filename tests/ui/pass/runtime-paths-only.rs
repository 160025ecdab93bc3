//! Everything through `asm_runtime`: no direct tokio, AWS or secrecy dependency is named.
#![deny(warnings)]
#![allow(dead_code)]

use asm_runtime::{AwsSecrets, Error, SecretCache, SecretString, Vars};

#[derive(AwsSecrets)]
#[aws_secrets(name = "${APP_ENV}/db")]
struct Db {
    username: SecretString,
    password: SecretString,
}

/// The loaders are callable and their futures are `Send` (spawnable on a multi-threaded runtime).
fn load(cache: &SecretCache) -> impl Future<Output = Result<Db, Error>> + Send + '_ {
    Db::load(cache)
}

fn load_staging(cache: &SecretCache) -> impl Future<Output = Result<Db, Error>> + Send + '_ {
    Db::load_with(cache, Vars::new().set("APP_ENV", "staging"))
}

fn assert_send_sync<T: Send + Sync + 'static>() {}

fn main() {
    assert_send_sync::<Db>();
    assert_eq!(Db::SECRET_IDS, &["${APP_ENV}/db"]);
}
