use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
struct Db {
    #[aws_secrets(name = "prod/db?")]
    password: SecretString,
}

fn main() {}
