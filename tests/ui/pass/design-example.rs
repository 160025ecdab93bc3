//! The sketch from the design document, as a user writes it.
#![deny(warnings)]
#![allow(dead_code)]

use asm_runtime::{AwsSecrets, SecretSlice, SecretString};

/// One JSON secret, mapped key by key (key defaults to the field name).
#[derive(AwsSecrets, Debug)]
#[aws_secrets(arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf")]
struct DbCredentials {
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

/// Several secrets; ids may vary by deployment without recompiling.
#[derive(AwsSecrets)]
#[aws_secrets(ttl = "10m")]
struct AppSecrets {
    #[aws_secrets(nested)]
    db: DbCredentials,
    #[aws_secrets(name = "${APP_ENV}/stripe", key = "api_key")]
    stripe_key: SecretString,
    #[aws_secrets(name = "${APP_ENV}/tls", binary)]
    tls_key: SecretSlice<u8>,
}

const DB: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf";

fn main() {
    assert_eq!(DbCredentials::SECRET_IDS, &[DB]);
    assert_eq!(AppSecrets::SECRET_IDS, &["${APP_ENV}/stripe", "${APP_ENV}/tls", DB]);
}
