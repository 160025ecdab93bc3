use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db")]
struct Db {
    #[aws_secrets(name = "prod/db-v2", key = "password")]
    password: SecretString,
}

fn main() {}
