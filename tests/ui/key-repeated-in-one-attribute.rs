use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db")]
struct Db {
    #[aws_secrets(key = "password", key = "pw")]
    password: SecretString,
}

fn main() {}
