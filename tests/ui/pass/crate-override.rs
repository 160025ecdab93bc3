//! A crate that re-exports the runtime points the derive at its re-export.
#![deny(warnings)]
#![allow(dead_code)]

mod vendored {
    pub use asm_runtime as secrets;
}

use vendored::secrets::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db", crate = "crate::vendored::secrets")]
struct Db {
    password: SecretString,
}

#[derive(AwsSecrets)]
#[aws_secrets(crate = "vendored::secrets")]
struct App {
    #[aws_secrets(nested)]
    db: Db,
}

fn main() {
    assert_eq!(App::SECRET_IDS, &["prod/db"]);
}
