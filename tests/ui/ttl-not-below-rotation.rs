use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db", ttl = "30d", rotation = "7d")]
struct Db {
    password: SecretString,
}

fn main() {}
