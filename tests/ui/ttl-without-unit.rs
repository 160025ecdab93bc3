use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db", ttl = "600")]
struct Db {
    password: SecretString,
}

fn main() {}
