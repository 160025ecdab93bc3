use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db", ttl = "10 minutes")]
struct Db {
    password: SecretString,
}

fn main() {}
