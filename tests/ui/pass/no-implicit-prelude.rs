//! The expansion names nothing from the prelude: it compiles where there is none.
#![no_implicit_prelude]
#![deny(warnings)]
#![allow(dead_code)]

use ::asm_runtime::{AwsSecrets, SecretSlice, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db", ttl = "5m", rotation = "30d", version_stage = "AWSCURRENT")]
struct Db {
    username: SecretString,
    #[aws_secrets(public)]
    port: u16,
    #[aws_secrets(public, key = "host")]
    host: ::std::string::String,
    replica: ::std::option::Option<SecretString>,
    #[aws_secrets(key = "password", version_stage = "AWSPREVIOUS")]
    previous_password: SecretString,
}

#[derive(AwsSecrets)]
struct App {
    #[aws_secrets(nested)]
    db: Db,
    #[aws_secrets(name = "prod/tls", binary, version_id = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111")]
    tls: ::std::option::Option<SecretSlice<u8>>,
}

fn main() {
    ::std::assert_eq!(<App as AwsSecrets>::SECRET_IDS, &["prod/tls", "prod/db"]);
}
