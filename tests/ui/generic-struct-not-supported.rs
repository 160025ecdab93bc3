use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db")]
struct Db<T> {
    password: SecretString,
    extra: T,
}

fn main() {}
