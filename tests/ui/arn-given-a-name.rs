use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(arn = "prod/db")]
struct Db {
    password: SecretString,
}

fn main() {}
