use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "${1ENV}/db")]
struct Db {
    password: SecretString,
}

fn main() {}
