//! Raw identifiers, optional fields, several attributes, public deserializable types,
//! one secret read at several versions, and an empty struct.
#![deny(warnings)]
#![allow(dead_code)]

use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db")]
#[aws_secrets(ttl = "1h30m", rotation = "7d")]
struct Db {
    /// Reads the JSON key `type`.
    r#type: SecretString,
    #[aws_secrets(key = "password")]
    password: SecretString,
    #[aws_secrets(key = "password")]
    #[aws_secrets(version_stage = "AWSPENDING")]
    pending_password: Option<SecretString>,
    #[aws_secrets(key = "password", version_stage = "AWSPREVIOUS", ttl = "90s")]
    previous_password: Option<SecretString>,
    #[aws_secrets(public)]
    replicas: Vec<String>,
    #[aws_secrets(public)]
    tls: Option<bool>,
    /// A whole plain-text secret, public.
    #[aws_secrets(name = "prod/db-host", public)]
    host: String,
}

#[derive(AwsSecrets)]
struct Nothing {}

fn main() {
    assert_eq!(Db::SECRET_IDS, &["prod/db", "prod/db-host"]);
    assert!(Nothing::SECRET_IDS.is_empty());
}
