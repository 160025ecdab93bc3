use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db", endpoint = "http://localhost")]
struct Db {
    password: SecretString,
}

fn main() {}
