use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db", ttl = "10m")]
#[aws_secrets(ttl = "5m")]
struct Db {
    password: SecretString,
}

fn main() {}
